/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny scripted Parsec "service" on a Unix socket, run in a thread: it
 * captures each request and answers with canned bytes (or a mirrored empty
 * success), so client behaviour can be tested without parsecd.
 */
#ifndef FAKE_SERVER_H
#define FAKE_SERVER_H

#include <stddef.h>
#include <stdint.h>

typedef struct fake_reply {
    const uint8_t *bytes;  /* raw response (header + body) to send; NULL: see mirror */
    size_t len;            /* bytes to send, then close (less than promised = truncation) */
    unsigned int delay_ms; /* wait before answering */
    int mirror;            /* bytes == NULL: answer Success, empty body, mirroring the request */
} fake_reply;

typedef struct fake_server fake_server;

/*
 * Serves n_conns connections (0 = until fake_server_stop), connection i
 * answered with replies[i % n_replies]. Returns NULL on failure.
 */
fake_server *fake_server_start(const fake_reply *replies, size_t n_replies, size_t n_conns);
/* "unix:/tmp/.../parsec.sock" */
const char *fake_server_uri(const fake_server *s);
/* Stops (after the scripted connections when n_conns > 0); returns how many were served. */
size_t fake_server_stop(fake_server *s);
/* Request bytes captured on connection i (valid until fake_server_free). */
const uint8_t *fake_server_request(const fake_server *s, size_t i, size_t *len);
void fake_server_free(fake_server *s);

/* Hex helpers for test vectors ("10a7c05e..."); abort on malformed input. */
size_t hex_decode(const char *hex, uint8_t *out, size_t cap);
uint8_t *hex_decode_alloc(const char *hex, size_t *len);

#endif
