/*
 * Arbitrary bytes as one client connection to parsecd's request handler
 * (psd_handle_connection) with the software backend and a key store in a
 * temporary directory (see fuzz_service_env.h: direct authentication, the
 * "fuzz" application owns preset keys, "admin" is an administrator).
 * The input is exactly what a client would write to the socket, so a
 * finding replays against a real parsecd with e.g. `socat - UNIX:sock < file`.
 * Oracles besides the sanitizers, from the wire protocol reference:
 *  - an empty connection gets no answer; anything else exactly one
 *    well-formed response (36-byte header the client accepts + body_len bytes);
 *  - errors carry no body; a success body decodes as the operation's Result;
 *  - a request that passes the header steps (1.2 steps 1-7) is answered
 *    with its opcode, provider and session, anything else as Ping/provider 0;
 *  - no success without authentication where the reference requires it,
 *    and admin operations succeed only for the admin application.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_bodies.h"
#include "fuzz_service_env.h"
#include "parsec_wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *resp = NULL;
    size_t resp_len = 0;

    if (size > FUZZ_MAX_REQUEST)
        return 0;
    parsec_fuzz_service_exchange(data, size, &resp, &resp_len);
    fuzz_check_response(data, size, resp, resp_len);
    free(resp);
    parsec_fuzz_service_reset();
    return 0;
}
