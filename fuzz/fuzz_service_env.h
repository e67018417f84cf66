/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An in-process parsecd for fuzzing: the real configuration loader, software
 * backend, SQLite key store and request handler (psd_handle_connection),
 * fed one request at a time through a socketpair instead of the listener.
 * Direct authentication; application "admin" is an administrator.
 * Application "fuzz" owns a fixed set of keys (FUZZ_PRESET_*), restored
 * after every request so each input runs against the same state.
 */
#ifndef PARSEC_FUZZ_SERVICE_ENV_H
#define PARSEC_FUZZ_SERVICE_ENV_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_APP "fuzz"
#define FUZZ_ADMIN_APP "admin"
/* Responses stay below the socket buffer (see fuzz_service_env.c). */
#define FUZZ_BUFFER_LIMIT 32768
/* Longest request fed to the handler. */
#define FUZZ_MAX_REQUEST (128u * 1024)

/* Name of preset key i of FUZZ_APP; NULL past the last. */
const char *parsec_fuzz_preset_name(size_t i);

/* Start once (aborts on failure); the state is removed at exit. */
void parsec_fuzz_service_start(void);
/*
 * One connection: req (truncated to FUZZ_MAX_REQUEST) is written and the
 * write side shut, then the handler runs and the answer is read until the
 * handler closes. *resp is malloc'd (NULL if nothing was answered).
 */
void parsec_fuzz_service_exchange(const uint8_t *req, size_t len, uint8_t **resp, size_t *resp_len);
/* One request and its answer on a connection (resp malloc'd, NULL if none). */
typedef struct fuzz_exchange {
    const uint8_t *req;
    size_t req_len;
    uint8_t *resp;
    size_t resp_len;
} fuzz_exchange;

#define FUZZ_MAX_EXCHANGES 8

/*
 * A client session on one connection, as a keep-alive client runs it:
 * data is cut into requests by their headers (36 + body_len + auth_len
 * bytes; the last one takes whatever is left, and so does anything that
 * does not start with a valid magic and header size). Each request is
 * written, then served with psd_serve_request (which may keep the
 * connection: the keep-alive extension), and its answer read. The session
 * ends when the service closes the connection, or after the last request
 * (the write side is then shut: a kept connection must then close without
 * an answer, recorded as an exchange with req_len 0). Returns the number
 * of exchanges (at most FUZZ_MAX_EXCHANGES); free them with
 * parsec_fuzz_exchanges_free.
 */
size_t parsec_fuzz_service_session(const uint8_t *data, size_t len, fuzz_exchange *out);
void parsec_fuzz_exchanges_free(fuzz_exchange *ex, size_t n);

/* Remove every key but the presets, re-create presets that are gone. */
void parsec_fuzz_service_reset(void);

#endif
