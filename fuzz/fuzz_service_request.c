/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Arbitrary bytes as what a client writes on one connection to parsecd's
 * request handler (psd_serve_request, as the listener calls it, with room
 * for kept connections), with the software backend and a key store in a
 * temporary directory (see fuzz_service_env.h: direct authentication, the
 * "fuzz" application owns preset keys, "admin" is an administrator). The
 * input is cut into requests by their headers and each is sent once the
 * previous one is answered, as a keep-alive client does; one request is
 * the common case. A finding replays against a real parsecd with e.g.
 * `socat - UNIX-CONNECT:sock < file` (the first request, or all of them if
 * they ask for keep-alive).
 * Oracles besides the sanitizers, from docs/wire-protocol.md and
 * docs/protocol-extensions.md:
 *  - an empty connection gets no answer; anything else exactly one
 *    well-formed response (36-byte header the client accepts + body_len bytes);
 *  - errors carry no body; a success body decodes as the operation's Result;
 *  - a request that passes the header steps (1.2 steps 1-7) is answered
 *    with its opcode, provider and session, anything else as Ping/provider 0;
 *  - no success without authentication where the reference requires it,
 *    and admin operations succeed only for the admin application;
 *  - response flags are 0, or the keep-alive flag when the request had it;
 *    the service reads a next request only after it echoed that flag.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_bodies.h"
#include "fuzz_service_env.h"
#include "parsec_wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    parsec_fuzz_service_start();
    return 0;
}

/* Did the request get through the header steps (1.2 steps 1-7) intact? */
static int fuzz_request_well_formed(const uint8_t *data, size_t size, parsec_wire_header *h)
{
    if (size < PARSEC_WIRE_HEADER_SIZE)
        return 0;
    parsec_wire_header_decode(data, h);
    if (parsec_wire_header_validate(h, PARSEC_DEFAULT_BODY_LIMIT) != PARSEC_SUCCESS)
        return 0;
    if (size - PARSEC_WIRE_HEADER_SIZE < (size_t)h->body_len + h->auth_len)
        return 0;
    return parsec_wire_request_check(h) == PARSEC_SUCCESS;
}

static void fuzz_check_response(const uint8_t *data, size_t size, const uint8_t *resp,
                                size_t resp_len)
{
    parsec_wire_header req, r;
    const fuzz_body_kind *kind;

    if (size == 0) {
        FUZZ_ASSERT(resp_len == 0);
        return;
    }
    FUZZ_ASSERT(resp_len >= PARSEC_WIRE_HEADER_SIZE);
    parsec_wire_header_decode(resp, &r);
    FUZZ_ASSERT(parsec_wire_response_validate(&r) == PARSEC_SUCCESS);
    FUZZ_ASSERT(resp_len == PARSEC_WIRE_HEADER_SIZE + (size_t)r.body_len);
    FUZZ_ASSERT(r.status == PARSEC_SUCCESS || r.body_len == 0);

    if (!fuzz_request_well_formed(data, size, &req)) {
        FUZZ_ASSERT(r.status != PARSEC_SUCCESS);
        FUZZ_ASSERT(r.opcode == PARSEC_OP_PING && r.provider == 0 && r.session == 0);
        return;
    }
    FUZZ_ASSERT(r.opcode == req.opcode && r.provider == req.provider && r.session == req.session);
    if (r.status != PARSEC_SUCCESS)
        return;
    if (parsec_opcode_needs_auth(req.opcode))
        FUZZ_ASSERT(req.auth_type == PARSEC_AUTH_DIRECT);
    if (parsec_opcode_is_admin(req.opcode))
        FUZZ_ASSERT(req.auth_len == strlen(FUZZ_ADMIN_APP) &&
                    memcmp(data + PARSEC_WIRE_HEADER_SIZE + req.body_len, FUZZ_ADMIN_APP,
                           req.auth_len) == 0);
    kind = parsec_fuzz_body_kind(req.opcode);
    FUZZ_ASSERT(kind != NULL);
    if (kind->result != NULL) {
        ProtobufCMessage *m = protobuf_c_message_unpack(kind->result, NULL, r.body_len,
                                                        resp + PARSEC_WIRE_HEADER_SIZE);

        FUZZ_ASSERT(m != NULL);
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

/* Flags of an answer: 0, or keep-alive echoed to a request that asked for it. */
static int fuzz_check_flags(const fuzz_exchange *ex)
{
    parsec_wire_header req, r;

    if (ex->resp_len < PARSEC_WIRE_HEADER_SIZE)
        return 0;
    parsec_wire_header_decode(ex->resp, &r);
    if (r.flags == 0)
        return 0;
    FUZZ_ASSERT(r.flags == PARSEC_WIRE_FLAG_KEEPALIVE);
    FUZZ_ASSERT(ex->req_len >= PARSEC_WIRE_HEADER_SIZE);
    parsec_wire_header_decode(ex->req, &req);
    FUZZ_ASSERT(req.flags & PARSEC_WIRE_FLAG_KEEPALIVE);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_exchange ex[FUZZ_MAX_EXCHANGES];
    size_t n;
    int kept = 0;

    if (size > FUZZ_MAX_REQUEST)
        return 0;
    n = parsec_fuzz_service_session(data, size, ex);
    FUZZ_ASSERT(n >= 1);
    for (size_t i = 0; i < n; i++) {
        /* Only a connection the service said it keeps is read again. */
        FUZZ_ASSERT(i == 0 || kept);
        fuzz_check_response(ex[i].req, ex[i].req_len, ex[i].resp, ex[i].resp_len);
        kept = fuzz_check_flags(&ex[i]);
    }
    parsec_fuzz_exchanges_free(ex, n);
    parsec_fuzz_service_reset();
    return 0;
}
