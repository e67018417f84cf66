/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The 36-byte wire header: decode, the service's validation (header, then
 * field values) and the client's response validation on arbitrary bytes.
 * Input: 36 header bytes, optionally 4 more giving the body limit (LE).
 * Oracles besides the sanitizers: encode(decode(x)) == x, the validators
 * answer only statuses the reference service can send for that step, and a
 * header that passes request_check names a known opcode and provider.
 */
#include <string.h>

#include "fuzz.h"
#include "parsec_types.h"
#include "parsec_wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static int fuzz_header_status_ok(parsec_status st)
{
    return st == PARSEC_SUCCESS || st == PARSEC_INVALID_HEADER ||
           st == PARSEC_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED || st == PARSEC_BODY_SIZE_EXCEEDS_LIMIT;
}

static int fuzz_check_status_ok(parsec_status st)
{
    return st == PARSEC_SUCCESS || st == PARSEC_CONTENT_TYPE_NOT_SUPPORTED ||
           st == PARSEC_ACCEPT_TYPE_NOT_SUPPORTED || st == PARSEC_AUTHENTICATOR_DOES_NOT_EXIST ||
           st == PARSEC_OPCODE_DOES_NOT_EXIST || st == PARSEC_PROVIDER_DOES_NOT_EXIST;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t again[PARSEC_WIRE_HEADER_SIZE];
    parsec_wire_header h, resp, dec;
    uint32_t limit = PARSEC_DEFAULT_BODY_LIMIT;
    parsec_status st, check, rst;

    if (size < PARSEC_WIRE_HEADER_SIZE)
        return 0;
    if (size >= PARSEC_WIRE_HEADER_SIZE + 4)
        limit = (uint32_t)data[36] | (uint32_t)data[37] << 8 | (uint32_t)data[38] << 16 |
                (uint32_t)data[39] << 24;

    parsec_wire_header_decode(data, &h);
    parsec_wire_header_encode(&h, again);
    FUZZ_ASSERT(memcmp(again, data, PARSEC_WIRE_HEADER_SIZE) == 0);

    st = parsec_wire_header_validate(&h, limit);
    FUZZ_ASSERT(fuzz_header_status_ok(st));
    if (st == PARSEC_SUCCESS) {
        FUZZ_ASSERT(h.magic == PARSEC_WIRE_MAGIC && h.hdr_size == PARSEC_WIRE_HDR_SIZE_FIELD);
        FUZZ_ASSERT(limit == 0 || h.body_len <= limit);
    }
    check = parsec_wire_request_check(&h);
    FUZZ_ASSERT(fuzz_check_status_ok(check));
    if (check == PARSEC_SUCCESS) {
        FUZZ_ASSERT(parsec_opcode_is_known(h.opcode));
        FUZZ_ASSERT(h.provider <= PARSEC_PROVIDER_MAX && h.auth_type <= PARSEC_AUTH_MAX);
        FUZZ_ASSERT(strcmp(parsec_opcode_name(h.opcode), "Unknown") != 0);
        /* Admin operations are core operations. */
        FUZZ_ASSERT(!parsec_opcode_is_admin(h.opcode) || parsec_opcode_is_core(h.opcode));
    }

    /* The same bytes read as a response by the client. */
    rst = parsec_wire_response_validate(&h);
    if (rst == PARSEC_SUCCESS) {
        FUZZ_ASSERT(parsec_status_is_known(h.status));
        FUZZ_ASSERT(parsec_status_name((parsec_status)h.status) != NULL);
        FUZZ_ASSERT(parsec_status_message((parsec_status)h.status) != NULL);
    }

    /* What the service would answer: it must decode back and pass the client's checks. */
    if (st == PARSEC_SUCCESS && check == PARSEC_SUCCESS) {
        parsec_wire_response_init(&resp, &h, PARSEC_SUCCESS, h.body_len);
        parsec_wire_header_encode(&resp, again);
        parsec_wire_header_decode(again, &dec);
        FUZZ_ASSERT(parsec_wire_response_validate(&dec) == PARSEC_SUCCESS);
        FUZZ_ASSERT(dec.opcode == h.opcode && dec.session == h.session);
    }
    if (st != PARSEC_SUCCESS) {
        parsec_wire_response_for_status(&resp, (uint16_t)st);
        parsec_wire_header_encode(&resp, again);
        parsec_wire_header_decode(again, &dec);
        FUZZ_ASSERT(parsec_wire_response_validate(&dec) == PARSEC_SUCCESS);
        FUZZ_ASSERT(dec.status == (uint16_t)st && dec.opcode == PARSEC_OP_PING);
    }
    (void)parsec_opcode_needs_auth(h.opcode);
    (void)parsec_status_name((parsec_status)h.status);
    return 0;
}
