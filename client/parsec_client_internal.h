/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libparsec-client internals: the client object and the one-request
 * transport shared by the operation files.
 */
#ifndef PARSEC_CLIENT_INTERNAL_H
#define PARSEC_CLIENT_INTERNAL_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "parsec_client.h"

/* Hard ceiling on a response body, whatever the caller configures. */
#define PARSEC_CLIENT_MAX_RESPONSE_CAP (64u << 20)
/* Longest Direct-authentication application name the header can carry. */
#define PARSEC_CLIENT_MAX_APP_NAME 65535u

struct parsec_client {
    char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    uint8_t auth_type;
    uint8_t auth_explicit; /* set by parsec_client_set_auth: discovery leaves it alone */
    uint8_t provider;      /* PARSEC_PROVIDER_DEFAULT until set or discovered */
    uint8_t provider_explicit;
    char *app_name; /* Direct authentication */
    size_t app_name_len;
    unsigned int timeout_ms;
    size_t max_body;
    uint8_t keepalive;         /* ask for a kept connection (PARSEC_WIRE_FLAG_KEEPALIVE) */
    unsigned int busy_poll_us; /* on kept connections: poll for the answer up to this long */
    uint8_t shm_handoff;       /* on kept connections: ask for a shared-memory hand-off */
};

/* Flags of parsec_call. */
#define PARSEC_CALL_NO_AUTH 0x1u         /* send without authentication (Ping, discovery) */
#define PARSEC_CALL_SECRET_REQUEST 0x2u  /* cleanse the encoded request after sending */
#define PARSEC_CALL_SECRET_RESPONSE 0x4u /* cleanse everything the response touched */

/*
 * A received response. The body and the unpacked message live in a single
 * allocation: [arena | body]; protobuf-c unpacks into the arena and only
 * falls back to malloc if the arena is exhausted.
 */
typedef struct parsec_resp {
    uint8_t *block;
    size_t block_len;
    size_t arena_len;
    size_t arena_used;
    unsigned int fallbacks;
    int secret;
    ProtobufCAllocator allocator;
    ProtobufCMessage *msg;
} parsec_resp;

/*
 * One request/response exchange: on a fresh connection, or with keep-alive
 * on this thread's kept connection (retried once on a fresh one if the
 * service had closed it before answering). `op` may be NULL for
 * an empty body. With result_desc NULL the response body is not read (the
 * operation's result is empty); otherwise resp->msg holds the unpacked
 * result and resp must be released with parsec_resp_release.
 */
parsec_status parsec_call(const parsec_client *c, uint8_t provider, uint32_t opcode,
                          const ProtobufCMessage *op, unsigned int flags,
                          const ProtobufCMessageDescriptor *result_desc, parsec_resp *resp);
void parsec_resp_release(parsec_resp *resp);
/*
 * Hands one bytes field of resp->msg to the caller as a buffer for
 * parsec_free/parsec_clear_free, normally without copying (the field is
 * moved to the start of the response block). Always releases resp.
 */
parsec_status parsec_resp_take_bytes(parsec_resp *resp, const ProtobufCBinaryData *field,
                                     uint8_t **out, size_t *outlen);

/* Records the detail parsec_client_last_error(c) returns on this thread. */
void parsec_last_error_set(const parsec_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void parsec_last_error_clear(void);
/*
 * After the service refused our authenticator: asks ListAuthenticators and
 * records which one the service uses (the detail of that status).
 */
void parsec_last_error_explain_auth(const parsec_client *c);

/* PARSEC_PROVIDER_DEFAULT -> the client's provider; 0 if none is known. */
uint8_t parsec_provider_resolve(const parsec_client *c, uint8_t provider);

#endif
