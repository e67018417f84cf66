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
void parsec_fuzz_service_exchange(const uint8_t *req, size_t len, uint8_t **resp,
                                  size_t *resp_len);
/* Remove every key but the presets, re-create presets that are gone. */
void parsec_fuzz_service_reset(void);

#endif
