/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wire header codec and validation against the reference vectors and the
 * reference validation order (docs/wire-protocol.md §1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_server.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_providers.pb-c.h"
#include "parsec_psa_pb.h"
#include "parsec_wire.h"
#include "ping.pb-c.h"
#include "psa_sign_hash.pb-c.h"

/* parsec-mock generator_output vectors (docs/wire-protocol.md §1.1). */
#define PING_REQ "10a7c05e1e00010000000000000000000000000000000000000000000100000000000000"
#define PING_RESP "10a7c05e1e000100000000000000000000000000000002000000000001000000000000000801"
#define LIST_PROVIDERS_REQ                                                                         \
    "10a7c05e1e00010000000000000000000000000000000000000000000800000000000000"
#define LIST_PROVIDERS_BODY                                                                        \
    "0a4d0a2465653837306535612d636534612d343137662d383534332d3866626438346234396362651213"         \
    "536f6d6520656d7074792070726f76696465721a0841726d204c74642e2009280830073802"
#define LIST_AUTHENTICATORS_BODY "0a130a0b6469726563742061757468100c182a2801"
#define LIST_CLIENTS_BODY "0a036a696d0a03626f62"
#define LIST_CLIENTS_ADMIN_ERR_RESP                                                                \
    "10a7c05e1e00010000000000000000000000000000000000000000001b00000015000000"
/* docs/wire-protocol.md §1.1 PsaSignHash, provider 1, uid 1000, "k", RsaPss(SHA-256), 32 x 00. */
#define SIGN_HASH_REQ                                                                              \
    "10a7c05e1e0001000000010000000000000000000003"                                                 \
    "2d000000"                                                                                     \
    "0400"                                                                                         \
    "04000000"                                                                                     \
    "0000"                                                                                         \
    "0000"                                                                                         \
    "0a016b12061a040a0210071a20"                                                                   \
    "0000000000000000000000000000000000000000000000000000000000000000"                             \
    "e8030000"

static parsec_wire_header decode_hex_header(const char *hex)
{
    uint8_t buf[PARSEC_WIRE_HEADER_SIZE + 64];
    parsec_wire_header h;
    size_t n = hex_decode(hex, buf, sizeof(buf));
    assert_true(n >= PARSEC_WIRE_HEADER_SIZE);
    parsec_wire_header_decode(buf, &h);
    return h;
}

static void test_header_round_trip(void **state)
{
    parsec_wire_header h, back;
    uint8_t buf[PARSEC_WIRE_HEADER_SIZE];

    memset(&h, 0, sizeof(h));
    h.magic = PARSEC_WIRE_MAGIC;
    h.hdr_size = 30;
    h.version_maj = 1;
    h.version_min = 0;
    h.flags = 0xA1B2;
    h.provider = 3;
    h.session = 0x0102030405060708ull;
    h.content_type = 0x11;
    h.accept_type = 0x22;
    h.auth_type = 4;
    h.body_len = 0xDEADBEEF;
    h.auth_len = 0x1234;
    h.opcode = 0x00010020;
    h.status = 1149;
    h.reserved1 = 0x5A;
    h.reserved2 = 0xA5;
    parsec_wire_header_encode(&h, buf);
    /* Little-endian, packed, at the documented offsets. */
    assert_memory_equal(buf, "\x10\xa7\xc0\x5e\x1e\x00\x01\x00\xb2\xa1\x03", 11);
    assert_memory_equal(buf + 11, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    assert_memory_equal(buf + 19, "\x11\x22\x04\xef\xbe\xad\xde\x34\x12", 9);
    assert_memory_equal(buf + 28, "\x20\x00\x01\x00\x7d\x04\x5a\xa5", 8);
    memset(&back, 0, sizeof(back));
    parsec_wire_header_decode(buf, &back);
    assert_memory_equal(&h, &back, sizeof(h)); /* both zeroed first: padding compares equal */
}

static void test_ping_request_vector(void **state)
{
    parsec_wire_header h;
    uint8_t buf[PARSEC_WIRE_HEADER_SIZE], expect[PARSEC_WIRE_HEADER_SIZE];

    assert_int_equal(hex_decode(PING_REQ, expect, sizeof(expect)), PARSEC_WIRE_HEADER_SIZE);
    parsec_wire_request_init(&h, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_NONE, 0, 0);
    parsec_wire_header_encode(&h, buf);
    assert_memory_equal(buf, expect, sizeof(buf));
    assert_int_equal(parsec_wire_header_validate(&h, PARSEC_DEFAULT_BODY_LIMIT), PARSEC_SUCCESS);
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_SUCCESS);
}

static void test_ping_response_vector(void **state)
{
    uint8_t buf[64];
    parsec_wire_header h, req, built;
    uint8_t enc[PARSEC_WIRE_HEADER_SIZE];
    Ping__Result *r;
    size_t n = hex_decode(PING_RESP, buf, sizeof(buf));

    parsec_wire_header_decode(buf, &h);
    assert_int_equal(parsec_wire_response_validate(&h), PARSEC_SUCCESS);
    assert_int_equal(h.opcode, PARSEC_OP_PING);
    assert_int_equal(h.status, PARSEC_SUCCESS);
    assert_int_equal(h.body_len, 2);
    assert_int_equal(n, PARSEC_WIRE_HEADER_SIZE + 2);
    r = ping__result__unpack(NULL, 2, buf + PARSEC_WIRE_HEADER_SIZE);
    assert_non_null(r);
    assert_int_equal(r->wire_protocol_version_maj, 1);
    assert_int_equal(r->wire_protocol_version_min, 0);
    ping__result__free_unpacked(r, NULL);

    /* A service answering the Ping request produces exactly these header bytes. */
    req = decode_hex_header(PING_REQ);
    parsec_wire_response_init(&built, &req, PARSEC_SUCCESS, 2);
    parsec_wire_header_encode(&built, enc);
    assert_memory_equal(enc, buf, PARSEC_WIRE_HEADER_SIZE);
}

static void test_sign_hash_request_vector(void **state)
{
    PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
    parsec_pb_sign_alg_storage st;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256};
    uint8_t hash[32] = {0};
    uint8_t expect[256], got[256];
    const uint8_t uid[4] = {0xe8, 0x03, 0x00, 0x00};
    parsec_wire_header h;
    size_t n = hex_decode(SIGN_HASH_REQ, expect, sizeof(expect));
    size_t body_len;

    op.key_name = "k";
    op.alg = parsec_pb_sign_alg_fill(&st, &alg);
    assert_non_null(op.alg);
    op.hash.data = hash;
    op.hash.len = sizeof(hash);
    body_len = protobuf_c_message_get_packed_size(&op.base);
    assert_int_equal(body_len, 45);
    parsec_wire_request_init(&h, PARSEC_PROVIDER_MBED_CRYPTO, PARSEC_OP_PSA_SIGN_HASH,
                             PARSEC_AUTH_UNIX_PEER, (uint32_t)body_len, sizeof(uid));
    parsec_wire_header_encode(&h, got);
    protobuf_c_message_pack(&op.base, got + PARSEC_WIRE_HEADER_SIZE);
    memcpy(got + PARSEC_WIRE_HEADER_SIZE + body_len, uid, sizeof(uid));
    assert_int_equal(n, PARSEC_WIRE_HEADER_SIZE + body_len + sizeof(uid));
    assert_memory_equal(got, expect, n);
}

static void test_list_vectors(void **state)
{
    uint8_t body[256];
    size_t n;
    parsec_wire_header h;
    ListProviders__Result *lp;
    ListAuthenticators__Result *la;
    ListClients__Result *lc;
    uint8_t enc[PARSEC_WIRE_HEADER_SIZE], expect[PARSEC_WIRE_HEADER_SIZE];

    parsec_wire_request_init(&h, 0, PARSEC_OP_LIST_PROVIDERS, 0, 0, 0);
    parsec_wire_header_encode(&h, enc);
    hex_decode(LIST_PROVIDERS_REQ, expect, sizeof(expect));
    assert_memory_equal(enc, expect, sizeof(enc));

    n = hex_decode(LIST_PROVIDERS_BODY, body, sizeof(body));
    lp = list_providers__result__unpack(NULL, n, body);
    assert_non_null(lp);
    assert_int_equal(lp->n_providers, 1);
    assert_string_equal(lp->providers[0]->uuid, "ee870e5a-ce4a-417f-8543-8fbd84b49cbe");
    assert_string_equal(lp->providers[0]->description, "Some empty provider");
    assert_string_equal(lp->providers[0]->vendor, "Arm Ltd.");
    assert_int_equal(lp->providers[0]->version_maj, 9);
    assert_int_equal(lp->providers[0]->version_min, 8);
    assert_int_equal(lp->providers[0]->version_rev, 7);
    assert_int_equal(lp->providers[0]->id, 2);
    /* And our encoder produces the same bytes back. */
    {
        uint8_t again[256];
        assert_int_equal(list_providers__result__pack(lp, again), n);
        assert_memory_equal(again, body, n);
    }
    list_providers__result__free_unpacked(lp, NULL);

    n = hex_decode(LIST_AUTHENTICATORS_BODY, body, sizeof(body));
    la = list_authenticators__result__unpack(NULL, n, body);
    assert_non_null(la);
    assert_int_equal(la->n_authenticators, 1);
    assert_string_equal(la->authenticators[0]->description, "direct auth");
    assert_int_equal(la->authenticators[0]->version_maj, 12);
    assert_int_equal(la->authenticators[0]->version_min, 42);
    assert_int_equal(la->authenticators[0]->version_rev, 0);
    assert_int_equal(la->authenticators[0]->id, PARSEC_AUTH_DIRECT);
    list_authenticators__result__free_unpacked(la, NULL);

    n = hex_decode(LIST_CLIENTS_BODY, body, sizeof(body));
    lc = list_clients__result__unpack(NULL, n, body);
    assert_non_null(lc);
    assert_int_equal(lc->n_clients, 2);
    assert_string_equal(lc->clients[0], "jim");
    assert_string_equal(lc->clients[1], "bob");
    list_clients__result__free_unpacked(lc, NULL);

    h = decode_hex_header(LIST_CLIENTS_ADMIN_ERR_RESP);
    assert_int_equal(parsec_wire_response_validate(&h), PARSEC_SUCCESS);
    assert_int_equal(h.status, PARSEC_ADMIN_OPERATION);
    assert_int_equal(h.opcode, PARSEC_OP_LIST_CLIENTS);
    assert_int_equal(h.body_len, 0);
}

/* A valid request header to mutate. */
static parsec_wire_header good_request(void)
{
    parsec_wire_header h;
    parsec_wire_request_init(&h, PARSEC_PROVIDER_MBED_CRYPTO, PARSEC_OP_PSA_SIGN_HASH,
                             PARSEC_AUTH_DIRECT, 100, 4);
    return h;
}

static void test_malformed_headers(void **state)
{
    parsec_wire_header h;

    h = good_request();
    assert_int_equal(parsec_wire_header_validate(&h, 1024), PARSEC_SUCCESS);

    h = good_request();
    h.magic = 0x5EC0A711;
    assert_int_equal(parsec_wire_header_validate(&h, 1024), PARSEC_INVALID_HEADER);
    h = good_request();
    h.hdr_size = 29;
    assert_int_equal(parsec_wire_header_validate(&h, 1024), PARSEC_INVALID_HEADER);
    h.hdr_size = 31;
    assert_int_equal(parsec_wire_header_validate(&h, 1024), PARSEC_INVALID_HEADER);
    h = good_request();
    h.version_maj = 2;
    assert_int_equal(parsec_wire_header_validate(&h, 1024),
                     PARSEC_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED);
    h = good_request();
    h.version_min = 1;
    assert_int_equal(parsec_wire_header_validate(&h, 1024),
                     PARSEC_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED);
    h = good_request();
    h.reserved1 = 1;
    assert_int_equal(parsec_wire_header_validate(&h, 1024), PARSEC_INVALID_HEADER);
    h = good_request();
    h.reserved2 = 0x80;
    assert_int_equal(parsec_wire_header_validate(&h, 1024), PARSEC_INVALID_HEADER);

    /* flags and status are ignored, as the reference service does. */
    h = good_request();
    h.flags = 0xFFFF;
    h.status = 1132;
    assert_int_equal(parsec_wire_header_validate(&h, 1024), PARSEC_SUCCESS);

    /* Body limit: strictly greater fails; 0 means no limit. */
    h = good_request();
    assert_int_equal(parsec_wire_header_validate(&h, 99), PARSEC_BODY_SIZE_EXCEEDS_LIMIT);
    assert_int_equal(parsec_wire_header_validate(&h, 100), PARSEC_SUCCESS);
    h.body_len = 0xFFFFFFFF;
    assert_int_equal(parsec_wire_header_validate(&h, 0), PARSEC_SUCCESS);

    /* Reference order: magic, size, version, reserved, body length. */
    h = good_request();
    h.magic = 0;
    h.version_maj = 9;
    assert_int_equal(parsec_wire_header_validate(&h, 1024), PARSEC_INVALID_HEADER);
    h = good_request();
    h.hdr_size = 0;
    h.version_maj = 9;
    assert_int_equal(parsec_wire_header_validate(&h, 1024), PARSEC_INVALID_HEADER);
    h = good_request();
    h.version_maj = 9;
    h.reserved1 = 1;
    assert_int_equal(parsec_wire_header_validate(&h, 1024),
                     PARSEC_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED);
    h = good_request();
    h.reserved2 = 1;
    h.body_len = 5000;
    assert_int_equal(parsec_wire_header_validate(&h, 1024), PARSEC_INVALID_HEADER);
}

static void test_request_field_checks(void **state)
{
    parsec_wire_header h;
    static const uint32_t bad_opcodes[] = {0, 0x16, 0x17, 0x1D, 0x21, 0xFFFF, 0x10001};

    h = good_request();
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_SUCCESS);
    h.content_type = 1;
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_CONTENT_TYPE_NOT_SUPPORTED);
    h = good_request();
    h.accept_type = 1;
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_ACCEPT_TYPE_NOT_SUPPORTED);
    h = good_request();
    h.auth_type = 5;
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_AUTHENTICATOR_DOES_NOT_EXIST);
    for (size_t i = 0; i < sizeof(bad_opcodes) / sizeof(bad_opcodes[0]); i++) {
        h = good_request();
        h.opcode = bad_opcodes[i];
        assert_int_equal(parsec_wire_request_check(&h), PARSEC_OPCODE_DOES_NOT_EXIST);
    }
    h = good_request();
    h.provider = 6;
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_PROVIDER_DOES_NOT_EXIST);
    /* JWT (2) is a known type: its rejection (not registered) is the service's job. */
    h = good_request();
    h.auth_type = PARSEC_AUTH_JWT;
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_SUCCESS);

    /* Order: content, accept, auth, opcode, provider. */
    h = good_request();
    h.content_type = 3;
    h.accept_type = 3;
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_CONTENT_TYPE_NOT_SUPPORTED);
    h.content_type = 0;
    h.auth_type = 200;
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_ACCEPT_TYPE_NOT_SUPPORTED);
    h.accept_type = 0;
    h.opcode = 0;
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_AUTHENTICATOR_DOES_NOT_EXIST);
    h.auth_type = 0;
    h.provider = 77;
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_OPCODE_DOES_NOT_EXIST);
    h.opcode = PARSEC_OP_PING;
    assert_int_equal(parsec_wire_request_check(&h), PARSEC_PROVIDER_DOES_NOT_EXIST);
}

static void test_response_headers(void **state)
{
    parsec_wire_header req, resp;
    uint8_t enc[PARSEC_WIRE_HEADER_SIZE], expect[PARSEC_WIRE_HEADER_SIZE];

    req = good_request();
    req.session = 0x1122334455667788ull;
    req.flags = 7;
    parsec_wire_response_init(&resp, &req, PARSEC_PSA_ERROR_DOES_NOT_EXIST, 0);
    assert_int_equal(resp.provider, PARSEC_PROVIDER_MBED_CRYPTO);
    assert_true(resp.session == 0x1122334455667788ull);
    assert_int_equal(resp.content_type, req.accept_type);
    assert_int_equal(resp.opcode, PARSEC_OP_PSA_SIGN_HASH);
    assert_int_equal(resp.status, PARSEC_PSA_ERROR_DOES_NOT_EXIST);
    assert_int_equal(resp.flags, 0);
    assert_int_equal(resp.accept_type, 0);
    assert_int_equal(resp.auth_type, 0);
    assert_int_equal(resp.auth_len, 0);
    assert_int_equal(parsec_wire_response_validate(&resp), PARSEC_SUCCESS);

    /* Pre-header errors: provider 0, session 0, opcode Ping, empty body. */
    parsec_wire_response_for_status(&resp, PARSEC_INVALID_HEADER);
    parsec_wire_header_encode(&resp, enc);
    hex_decode("10a7c05e1e00010000000000000000000000000000000000000000000100000011000000", expect,
               sizeof(expect));
    assert_memory_equal(enc, expect, sizeof(enc));
    assert_int_equal(parsec_wire_response_validate(&resp), PARSEC_SUCCESS);

    /* Client-side validation, reference order: provider, content, opcode, status. */
    resp.provider = 6;
    resp.content_type = 1;
    assert_int_equal(parsec_wire_response_validate(&resp), PARSEC_PROVIDER_DOES_NOT_EXIST);
    resp.provider = 0;
    resp.opcode = 0x16;
    assert_int_equal(parsec_wire_response_validate(&resp), PARSEC_CONTENT_TYPE_NOT_SUPPORTED);
    resp.content_type = 0;
    resp.status = 1144;
    assert_int_equal(parsec_wire_response_validate(&resp), PARSEC_OPCODE_DOES_NOT_EXIST);
    resp.opcode = PARSEC_OP_PING;
    assert_int_equal(parsec_wire_response_validate(&resp), PARSEC_INVALID_ENCODING);
    resp.status = 23;
    assert_int_equal(parsec_wire_response_validate(&resp), PARSEC_INVALID_ENCODING);
    resp.status = 1153;
    assert_int_equal(parsec_wire_response_validate(&resp), PARSEC_SUCCESS);
    resp.magic = 1;
    assert_int_equal(parsec_wire_response_validate(&resp), PARSEC_INVALID_HEADER);
}

static void test_opcode_properties(void **state)
{
    assert_string_equal(parsec_opcode_name(PARSEC_OP_PSA_SIGN_HASH), "PsaSignHash");
    assert_string_equal(parsec_opcode_name(PARSEC_OP_CAN_DO_CRYPTO), "CanDoCrypto");
    assert_string_equal(parsec_opcode_name(0x16), "Unknown");
    for (uint32_t op = 0; op <= 0x21; op++) {
        int known = op >= 1 && op <= 0x20 && op != 0x16 && op != 0x17 && op != 0x1D;
        assert_int_equal(parsec_opcode_is_known(op), known);
    }
    /* Core: Ping, ListProviders, ListOpcodes, ListAuthenticators, ListKeys, ListClients, DeleteClient. */
    assert_true(parsec_opcode_is_core(PARSEC_OP_PING));
    assert_true(parsec_opcode_is_core(PARSEC_OP_LIST_KEYS));
    assert_true(parsec_opcode_is_core(PARSEC_OP_DELETE_CLIENT));
    assert_false(parsec_opcode_is_core(PARSEC_OP_PSA_GENERATE_RANDOM));
    assert_true(parsec_opcode_is_admin(PARSEC_OP_LIST_CLIENTS));
    assert_true(parsec_opcode_is_admin(PARSEC_OP_DELETE_CLIENT));
    assert_false(parsec_opcode_is_admin(PARSEC_OP_LIST_KEYS));
    /* docs/wire-protocol.md §1.2 step 13: no identity needed for these. */
    assert_false(parsec_opcode_needs_auth(PARSEC_OP_PING));
    assert_false(parsec_opcode_needs_auth(PARSEC_OP_LIST_PROVIDERS));
    assert_false(parsec_opcode_needs_auth(PARSEC_OP_LIST_OPCODES));
    assert_false(parsec_opcode_needs_auth(PARSEC_OP_LIST_AUTHENTICATORS));
    assert_false(parsec_opcode_needs_auth(PARSEC_OP_LIST_CLIENTS));
    assert_false(parsec_opcode_needs_auth(PARSEC_OP_PSA_HASH_COMPUTE));
    assert_false(parsec_opcode_needs_auth(PARSEC_OP_PSA_HASH_COMPARE));
    assert_false(parsec_opcode_needs_auth(PARSEC_OP_PSA_GENERATE_RANDOM));
    assert_true(parsec_opcode_needs_auth(PARSEC_OP_LIST_KEYS));
    assert_true(parsec_opcode_needs_auth(PARSEC_OP_DELETE_CLIENT));
    assert_true(parsec_opcode_needs_auth(PARSEC_OP_PSA_SIGN_HASH));
    assert_true(parsec_opcode_needs_auth(PARSEC_OP_PSA_GENERATE_KEY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_ping_request_vector),
        cmocka_unit_test(test_ping_response_vector),
        cmocka_unit_test(test_sign_hash_request_vector),
        cmocka_unit_test(test_list_vectors),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_request_field_checks),
        cmocka_unit_test(test_response_headers),
        cmocka_unit_test(test_opcode_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
