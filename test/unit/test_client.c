/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libparsec-client against a scripted fake service (fake_server.c):
 * exact request bytes, response parsing, timeouts, truncated and oversized
 * responses, error statuses sent before the service parsed a header.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_server.h"
#include "list_keys.pb-c.h"
#include "parsec_client.h"
#include "parsec_psa_pb.h"
#include "parsec_wire.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_sign_hash.pb-c.h"

/* parsec-mock vectors (docs/wire-protocol.md §1.1). */
#define PING_REQ "10a7c05e1e00010000000000000000000000000000000000000000000100000000000000"
#define PING_RESP "10a7c05e1e000100000000000000000000000000000002000000000001000000000000000801"
#define LIST_PROVIDERS_REQ                                                                         \
    "10a7c05e1e00010000000000000000000000000000000000000000000800000000000000"
#define LIST_PROVIDERS_RESP                                                                        \
    "10a7c05e1e00010000000000000000000000000000004f000000000008000000000000000a4d0a2465653837"     \
    "306535612d636534612d343137662d383534332d3866626438346234396362651213536f6d6520656d7074"       \
    "792070726f76696465721a0841726d204c74642e2009280830073802"
#define LIST_AUTHENTICATORS_RESP                                                                   \
    "10a7c05e1e00010000000000000000000000000000001500000000000e000000000000000a130a0b646972"       \
    "6563742061757468100c182a2801"
#define LIST_CLIENTS_RESP                                                                          \
    "10a7c05e1e00010000000000000000000000000000000a00000000001b000000000000000a036a696d0a03"       \
    "626f62"
#define LIST_CLIENTS_ADMIN_ERR_RESP                                                                \
    "10a7c05e1e00010000000000000000000000000000000000000000001b00000015000000"
/* docs/wire-protocol.md §1.1 PsaSignHash request without the 4 auth bytes (uid 1000 there). */
#define SIGN_HASH_REQ_NO_AUTH                                                                      \
    "10a7c05e1e00010000000100000000000000000000032d00000004000400000000000000"                     \
    "0a016b12061a040a0210071a20"                                                                   \
    "0000000000000000000000000000000000000000000000000000000000000000"

/* Test-owned bytes live here so fake_reply can point at them. */
struct vec {
    uint8_t *data;
    size_t len;
};

static struct vec vec_hex(const char *hex)
{
    struct vec v;
    v.data = hex_decode_alloc(hex, &v.len);
    return v;
}

/* Response header + body for a request the client will send. */
static struct vec vec_response(uint8_t provider, uint32_t opcode, uint16_t status,
                               const ProtobufCMessage *body)
{
    parsec_wire_header req, resp;
    struct vec v;
    size_t body_len = body ? protobuf_c_message_get_packed_size(body) : 0;

    parsec_wire_request_init(&req, provider, opcode, 0, 0, 0);
    parsec_wire_response_init(&resp, &req, status, (uint32_t)body_len);
    v.len = PARSEC_WIRE_HEADER_SIZE + body_len;
    v.data = malloc(v.len);
    assert_non_null(v.data);
    parsec_wire_header_encode(&resp, v.data);
    if (body != NULL)
        protobuf_c_message_pack(body, v.data + PARSEC_WIRE_HEADER_SIZE);
    return v;
}

static parsec_client *client_for(const fake_server *s)
{
    parsec_client *c = parsec_client_new();
    assert_non_null(c);
    assert_int_equal(parsec_client_set_endpoint(c, fake_server_uri(s)), PARSEC_SUCCESS);
    parsec_client_set_timeout(c, 5000);
    return c;
}

static void assert_request_hex(const fake_server *s, size_t i, const char *hex)
{
    size_t len, elen;
    const uint8_t *got = fake_server_request(s, i, &len);
    uint8_t *expect = hex_decode_alloc(hex, &elen);
    assert_non_null(got);
    assert_int_equal(len, elen);
    assert_memory_equal(got, expect, len);
    free(expect);
}

/* ---- endpoint ---- */

static void test_endpoint_parsing(void **state)
{
    parsec_client *c = parsec_client_new();
    char longuri[200];

    assert_non_null(c);
    assert_int_equal(parsec_client_set_endpoint(c, "unix:/tmp/a.sock"), PARSEC_SUCCESS);
    assert_string_equal(parsec_client_get_endpoint(c), "/tmp/a.sock");
    assert_int_equal(parsec_client_set_endpoint(c, "unix:///run/p/x.sock"), PARSEC_SUCCESS);
    assert_string_equal(parsec_client_get_endpoint(c), "/run/p/x.sock");
    static const char *const bad[] = {
        "unix:",         "unix:/",  "unix:relative.sock",
        "unix://host/p", "unix://", "tcp://1.2.3.4:5",
        "/tmp/a.sock",   "",        "http:/x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parsec_client_set_endpoint(c, bad[i]), PARSEC_CLIENT_ERROR_ENDPOINT);
        /* A rejected URI leaves the previous endpoint in place. */
        assert_string_equal(parsec_client_get_endpoint(c), "/run/p/x.sock");
    }
    assert_int_equal(parsec_client_set_endpoint(c, NULL), PARSEC_CLIENT_ERROR_ENDPOINT);
    memset(longuri, 'a', sizeof(longuri));
    memcpy(longuri, "unix:/", 6);
    longuri[sizeof(longuri) - 1] = '\0';
    assert_int_equal(parsec_client_set_endpoint(c, longuri), PARSEC_CLIENT_ERROR_ENDPOINT);
    parsec_client_free(c);
}

static void test_endpoint_environment(void **state)
{
    parsec_client *c;
    uint8_t maj;

    unsetenv(PARSEC_ENDPOINT_ENV);
    c = parsec_client_new();
    assert_string_equal(parsec_client_get_endpoint(c), "/run/parsec/parsec.sock");
    assert_int_equal(parsec_client_get_auth(c), PARSEC_AUTH_NONE);
    assert_int_equal(parsec_client_get_provider(c), PARSEC_PROVIDER_DEFAULT);
    parsec_client_free(c);

    setenv(PARSEC_ENDPOINT_ENV, "unix:///tmp/env.sock", 1);
    c = parsec_client_new();
    assert_string_equal(parsec_client_get_endpoint(c), "/tmp/env.sock");
    parsec_client_free(c);

    /* A bad variable is reported by every call, not silently replaced. */
    setenv(PARSEC_ENDPOINT_ENV, "tcp://localhost:1", 1);
    c = parsec_client_new();
    assert_non_null(c);
    assert_int_equal(parsec_ping(c, &maj, NULL), PARSEC_CLIENT_ERROR_ENDPOINT);
    parsec_client_free(c);
    unsetenv(PARSEC_ENDPOINT_ENV);
}

static void test_connect_refused(void **state)
{
    parsec_client *c = parsec_client_new();
    char path[64];

    snprintf(path, sizeof(path), "unix:/tmp/parsec-absent-%d.sock", (int)getpid());
    assert_int_equal(parsec_client_set_endpoint(c, path), PARSEC_SUCCESS);
    assert_int_equal(parsec_ping(c, NULL, NULL), PARSEC_CLIENT_ERROR_CONNECT);
    parsec_client_free(c);
}

/* The detail of a failed connect names the path and errno, for this client only. */
static void test_connect_error_detail(void **state)
{
    parsec_client *c = parsec_client_new(), *other = parsec_client_new();
    char uri[80], expect[160];
    const char *detail;

    snprintf(uri, sizeof(uri), "unix:/tmp/parsec-absent-%d.sock", (int)getpid());
    assert_int_equal(parsec_client_set_endpoint(c, uri), PARSEC_SUCCESS);
    assert_null(parsec_client_last_error(c));
    assert_int_equal(parsec_ping(c, NULL, NULL), PARSEC_CLIENT_ERROR_CONNECT);
    detail = parsec_client_last_error(c);
    assert_non_null(detail);
    snprintf(expect, sizeof(expect), "cannot connect to %s: No such file or directory (ENOENT)",
             uri + 5);
    assert_non_null(strstr(detail, expect));
    assert_null(parsec_client_last_error(other));
    assert_null(parsec_client_last_error(NULL));
    parsec_client_free(other);
    parsec_client_free(c);
}

/* ---- reference vectors through the client ---- */

static void test_ping_vector(void **state)
{
    struct vec resp = vec_hex(PING_RESP);
    fake_reply r = {resp.data, resp.len, 0, 0};
    fake_server *s = fake_server_start(&r, 1, 1);
    parsec_client *c;
    uint8_t maj = 9, min = 9;

    assert_non_null(s);
    c = client_for(s);
    /* Ping goes unauthenticated even when the client has an authenticator. */
    assert_int_equal(parsec_client_set_auth(c, PARSEC_AUTH_DIRECT, "app"), PARSEC_SUCCESS);
    assert_int_equal(parsec_ping(c, &maj, &min), PARSEC_SUCCESS);
    assert_int_equal(maj, 1);
    assert_int_equal(min, 0);
    assert_int_equal(fake_server_stop(s), 1);
    assert_request_hex(s, 0, PING_REQ);
    parsec_client_free(c);
    fake_server_free(s);
    free(resp.data);
}

static void test_list_vectors(void **state)
{
    struct vec lp = vec_hex(LIST_PROVIDERS_RESP), la = vec_hex(LIST_AUTHENTICATORS_RESP);
    fake_reply r[2] = {{lp.data, lp.len, 0, 0}, {la.data, la.len, 0, 0}};
    fake_server *s = fake_server_start(r, 2, 2);
    parsec_provider_info *p = NULL;
    parsec_authenticator_info *a = NULL;
    size_t np = 0, na = 0;
    parsec_client *c;

    assert_non_null(s);
    c = client_for(s);
    assert_int_equal(parsec_list_providers(c, &p, &np), PARSEC_SUCCESS);
    assert_int_equal(np, 1);
    assert_string_equal(p[0].uuid, "ee870e5a-ce4a-417f-8543-8fbd84b49cbe");
    assert_string_equal(p[0].description, "Some empty provider");
    assert_string_equal(p[0].vendor, "Arm Ltd.");
    assert_int_equal(p[0].version_maj, 9);
    assert_int_equal(p[0].version_min, 8);
    assert_int_equal(p[0].version_rev, 7);
    assert_int_equal(p[0].id, PARSEC_PROVIDER_PKCS11);
    assert_int_equal(parsec_list_authenticators(c, &a, &na), PARSEC_SUCCESS);
    assert_int_equal(na, 1);
    assert_string_equal(a[0].description, "direct auth");
    assert_int_equal(a[0].version_maj, 12);
    assert_int_equal(a[0].version_min, 42);
    assert_int_equal(a[0].id, PARSEC_AUTH_DIRECT);
    fake_server_stop(s);
    assert_request_hex(s, 0, LIST_PROVIDERS_REQ);
    parsec_provider_info_free(p, np);
    parsec_authenticator_info_free(a, na);
    parsec_client_free(c);
    fake_server_free(s);
    free(lp.data);
    free(la.data);
}

static void test_list_clients_direct_auth(void **state)
{
    struct vec ok = vec_hex(LIST_CLIENTS_RESP), err = vec_hex(LIST_CLIENTS_ADMIN_ERR_RESP);
    fake_reply r[2] = {{ok.data, ok.len, 0, 0}, {err.data, err.len, 0, 0}};
    fake_server *s = fake_server_start(r, 2, 2);
    parsec_wire_header h;
    const uint8_t *req;
    char **clients = NULL;
    size_t n = 0, len;
    parsec_client *c;

    assert_non_null(s);
    c = client_for(s);
    assert_int_equal(parsec_client_set_auth(c, PARSEC_AUTH_DIRECT, "admin_priv"), PARSEC_SUCCESS);
    assert_int_equal(parsec_list_clients(c, &clients, &n), PARSEC_SUCCESS);
    assert_int_equal(n, 2);
    assert_string_equal(clients[0], "jim");
    assert_string_equal(clients[1], "bob");
    parsec_string_list_free(clients, n);
    /* Non-admin: the service's AdminOperation status comes back as is. */
    assert_int_equal(parsec_list_clients(c, &clients, &n), PARSEC_ADMIN_OPERATION);
    assert_null(clients);
    fake_server_stop(s);
    req = fake_server_request(s, 0, &len);
    assert_int_equal(len, PARSEC_WIRE_HEADER_SIZE + 10);
    parsec_wire_header_decode(req, &h);
    assert_int_equal(h.provider, PARSEC_PROVIDER_CORE);
    assert_int_equal(h.opcode, PARSEC_OP_LIST_CLIENTS);
    assert_int_equal(h.auth_type, PARSEC_AUTH_DIRECT);
    assert_int_equal(h.auth_len, 10);
    assert_int_equal(h.body_len, 0);
    assert_memory_equal(req + PARSEC_WIRE_HEADER_SIZE, "admin_priv", 10);
    parsec_client_free(c);
    fake_server_free(s);
    free(ok.data);
    free(err.data);
}

static void test_sign_hash_unix_peer(void **state)
{
    PsaSignHash__Result res = PSA_SIGN_HASH__RESULT__INIT;
    uint8_t sigbytes[256];
    struct vec resp;
    fake_reply r;
    fake_server *s;
    parsec_client *c;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256};
    uint8_t hash[32] = {0};
    uint8_t *sig = NULL;
    size_t siglen = 0, len, elen;
    const uint8_t *req;
    uint8_t *expect;
    uint32_t uid = (uint32_t)getuid();
    uint8_t uid_le[4] = {(uint8_t)uid, (uint8_t)(uid >> 8), (uint8_t)(uid >> 16),
                         (uint8_t)(uid >> 24)};

    for (size_t i = 0; i < sizeof(sigbytes); i++)
        sigbytes[i] = (uint8_t)(i * 7 + 1);
    res.signature.data = sigbytes;
    res.signature.len = sizeof(sigbytes);
    resp = vec_response(PARSEC_PROVIDER_MBED_CRYPTO, PARSEC_OP_PSA_SIGN_HASH, 0, &res.base);
    r = (fake_reply){resp.data, resp.len, 0, 0};
    s = fake_server_start(&r, 1, 1);
    assert_non_null(s);
    c = client_for(s);
    assert_int_equal(parsec_client_set_auth(c, PARSEC_AUTH_UNIX_PEER, NULL), PARSEC_SUCCESS);
    parsec_client_set_provider(c, PARSEC_PROVIDER_MBED_CRYPTO);
    assert_int_equal(
        parsec_sign_hash(c, PARSEC_PROVIDER_DEFAULT, "k", &alg, hash, sizeof(hash), &sig, &siglen),
        PARSEC_SUCCESS);
    assert_int_equal(siglen, sizeof(sigbytes));
    assert_memory_equal(sig, sigbytes, siglen);
    parsec_free(sig);
    fake_server_stop(s);

    /* Byte-exact against docs/wire-protocol.md §1.1; the auth field is our uid (1000 there). */
    req = fake_server_request(s, 0, &len);
    expect = hex_decode_alloc(SIGN_HASH_REQ_NO_AUTH, &elen);
    assert_int_equal(len, elen + 4);
    assert_memory_equal(req, expect, elen);
    assert_memory_equal(req + elen, uid_le, 4);
    free(expect);
    parsec_client_free(c);
    fake_server_free(s);
    free(resp.data);
}

/* ---- failure handling ---- */

static void test_error_before_header(void **state)
{
    /* What a service answers to an unparseable request: opcode Ping, provider 0. */
    parsec_wire_header h;
    uint8_t bytes[PARSEC_WIRE_HEADER_SIZE];
    fake_reply r = {bytes, sizeof(bytes), 0, 0};
    fake_server *s;
    parsec_client *c;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    uint8_t hash[32] = {0}, *sig = NULL;
    size_t siglen = 0;

    parsec_wire_response_for_status(&h, PARSEC_INVALID_HEADER);
    parsec_wire_header_encode(&h, bytes);
    s = fake_server_start(&r, 1, 2);
    assert_non_null(s);
    c = client_for(s);
    parsec_client_set_provider(c, PARSEC_PROVIDER_MBED_CRYPTO);
    assert_int_equal(parsec_sign_hash(c, 0, "k", &alg, hash, 32, &sig, &siglen),
                     PARSEC_INVALID_HEADER);
    assert_null(sig);
    assert_int_equal(parsec_destroy_key(c, 0, "k"), PARSEC_INVALID_HEADER);
    fake_server_free(s);
    parsec_client_free(c);
}

static void test_every_status_passes_through(void **state)
{
    static const uint16_t statuses[] = {1,  5,    6,    9,    11,   13,   16,   19,   20,   21,
                                        22, 1132, 1133, 1135, 1139, 1140, 1143, 1145, 1149, 1153};
    struct vec v[sizeof(statuses) / sizeof(statuses[0])];
    fake_reply r[sizeof(statuses) / sizeof(statuses[0])];
    size_t n = sizeof(statuses) / sizeof(statuses[0]);
    fake_server *s;
    parsec_client *c;

    for (size_t i = 0; i < n; i++) {
        v[i] = vec_response(PARSEC_PROVIDER_TPM, PARSEC_OP_PSA_DESTROY_KEY, statuses[i], NULL);
        r[i] = (fake_reply){v[i].data, v[i].len, 0, 0};
    }
    s = fake_server_start(r, n, n);
    assert_non_null(s);
    c = client_for(s);
    for (size_t i = 0; i < n; i++) {
        parsec_status st = parsec_destroy_key(c, PARSEC_PROVIDER_TPM, "k");
        assert_int_equal(st, statuses[i]);
        assert_string_not_equal(parsec_status_name(st), "UnknownStatus");
    }
    fake_server_free(s);
    parsec_client_free(c);
    for (size_t i = 0; i < n; i++)
        free(v[i].data);
}

static void test_malformed_responses(void **state)
{
    struct vec good = vec_response(PARSEC_PROVIDER_CORE, PARSEC_OP_PING, 0, NULL);
    uint8_t bad_magic[PARSEC_WIRE_HEADER_SIZE], bad_version[PARSEC_WIRE_HEADER_SIZE];
    uint8_t bad_status[PARSEC_WIRE_HEADER_SIZE], wrong_opcode[PARSEC_WIRE_HEADER_SIZE];
    uint8_t bad_body[PARSEC_WIRE_HEADER_SIZE + 2];
    parsec_wire_header h;
    fake_reply r[6];
    fake_server *s;
    parsec_client *c;

    memcpy(bad_magic, good.data, sizeof(bad_magic));
    bad_magic[0] ^= 1;
    memcpy(bad_version, good.data, sizeof(bad_version));
    bad_version[6] = 2;
    memcpy(bad_status, good.data, sizeof(bad_status));
    bad_status[32] = 0x78; /* 1144: not a status */
    bad_status[33] = 0x04;
    /* Success for another operation than the one asked. */
    parsec_wire_header_decode(good.data, &h);
    h.opcode = PARSEC_OP_LIST_KEYS;
    parsec_wire_header_encode(&h, wrong_opcode);
    /* Body that is not a protobuf Ping.Result (truncated varint). */
    h.opcode = PARSEC_OP_PING;
    h.body_len = 2;
    parsec_wire_header_encode(&h, bad_body);
    bad_body[PARSEC_WIRE_HEADER_SIZE] = 0x08;
    bad_body[PARSEC_WIRE_HEADER_SIZE + 1] = 0x80;
    r[0] = (fake_reply){bad_magic, sizeof(bad_magic), 0, 0};
    r[1] = (fake_reply){bad_version, sizeof(bad_version), 0, 0};
    r[2] = (fake_reply){bad_status, sizeof(bad_status), 0, 0};
    r[3] = (fake_reply){wrong_opcode, sizeof(wrong_opcode), 0, 0};
    r[4] = (fake_reply){bad_body, sizeof(bad_body), 0, 0};
    /* Closes without answering. */
    r[5] = (fake_reply){NULL, 0, 0, 0};
    s = fake_server_start(r, 6, 6);
    assert_non_null(s);
    c = client_for(s);
    for (int i = 0; i < 5; i++)
        assert_int_equal(parsec_ping(c, NULL, NULL), PARSEC_CLIENT_ERROR_PROTOCOL);
    assert_int_equal(parsec_ping(c, NULL, NULL), PARSEC_CLIENT_ERROR_IO);
    fake_server_free(s);
    parsec_client_free(c);
    free(good.data);
}

static void test_truncated_response(void **state)
{
    PsaExportPublicKey__Result res = PSA_EXPORT_PUBLIC_KEY__RESULT__INIT;
    uint8_t key[65];
    struct vec v;
    fake_reply r[2];
    fake_server *s;
    parsec_client *c;
    uint8_t *out = NULL;
    size_t outlen = 0;

    memset(key, 4, sizeof(key));
    res.data.data = key;
    res.data.len = sizeof(key);
    v = vec_response(PARSEC_PROVIDER_MBED_CRYPTO, PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, 0, &res.base);
    r[0] = (fake_reply){v.data, v.len - 10, 0, 0};                  /* body cut short */
    r[1] = (fake_reply){v.data, PARSEC_WIRE_HEADER_SIZE - 5, 0, 0}; /* header cut short */
    s = fake_server_start(r, 2, 2);
    assert_non_null(s);
    c = client_for(s);
    assert_int_equal(parsec_export_public_key(c, 1, "k", &out, &outlen), PARSEC_CLIENT_ERROR_IO);
    assert_null(out);
    assert_int_equal(outlen, 0);
    assert_int_equal(parsec_export_public_key(c, 1, "k", &out, &outlen), PARSEC_CLIENT_ERROR_IO);
    fake_server_free(s);
    parsec_client_free(c);
    free(v.data);
}

static void test_oversized_response(void **state)
{
    PsaExportPublicKey__Result res = PSA_EXPORT_PUBLIC_KEY__RESULT__INIT;
    uint8_t *key = calloc(1, 4096);
    struct vec v;
    fake_reply r;
    fake_server *s;
    parsec_client *c;
    uint8_t *out = NULL;
    size_t outlen = 0;

    res.data.data = key;
    res.data.len = 4096;
    v = vec_response(PARSEC_PROVIDER_MBED_CRYPTO, PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, 0, &res.base);
    r = (fake_reply){v.data, v.len, 0, 0};
    s = fake_server_start(&r, 1, 2);
    assert_non_null(s);
    c = client_for(s);
    parsec_client_set_max_response(c, 1024);
    assert_int_equal(parsec_export_public_key(c, 1, "k", &out, &outlen),
                     PARSEC_CLIENT_ERROR_TOO_LARGE);
    assert_null(out);
    /* Within the limit (0 = default cap), the same response is accepted. */
    parsec_client_set_max_response(c, 0);
    assert_int_equal(parsec_export_public_key(c, 1, "k", &out, &outlen), PARSEC_SUCCESS);
    assert_int_equal(outlen, 4096);
    assert_memory_equal(out, key, 4096);
    parsec_free(out);
    fake_server_free(s);
    parsec_client_free(c);
    free(v.data);
    free(key);
}

static void test_read_timeout(void **state)
{
    struct vec resp = vec_hex(PING_RESP);
    fake_reply r = {resp.data, resp.len, 600, 0};
    fake_server *s = fake_server_start(&r, 1, 1);
    parsec_client *c;

    assert_non_null(s);
    c = client_for(s);
    parsec_client_set_timeout(c, 100);
    assert_int_equal(parsec_ping(c, NULL, NULL), PARSEC_CLIENT_ERROR_TIMEOUT);
    fake_server_free(s);
    parsec_client_free(c);
    free(resp.data);
}

static void test_large_body_and_arena_overflow(void **state)
{
    /* Many small keys: the unpacked tree outgrows the response arena. */
    enum { NKEYS = 300 };
    parsec_key_attributes attrs = {
        PARSEC_KEY_TYPE_ECC_KEY_PAIR,
        PARSEC_ECC_FAMILY_SECP_R1,
        256,
        PARSEC_USAGE_SIGN_HASH,
        {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY}};
    ListKeys__Result res = LIST_KEYS__RESULT__INIT;
    ListKeys__KeyInfo *infos = calloc(NKEYS, sizeof(*infos));
    ListKeys__KeyInfo **ptrs = calloc(NKEYS, sizeof(*ptrs));
    char(*names)[16] = calloc(NKEYS, 16);
    parsec_key_info *keys = NULL;
    parsec_key_attributes got;
    uint8_t prov = 0;
    size_t n = 0;
    struct vec v;
    fake_reply r;
    fake_server *s;
    parsec_client *c;

    for (int i = 0; i < NKEYS; i++) {
        list_keys__key_info__init(&infos[i]);
        snprintf(names[i], 16, "key-%d", i);
        infos[i].name = names[i];
        infos[i].provider_id = 1 + i % 3;
        infos[i].attributes = parsec_pb_key_attributes_from_c(&attrs);
        ptrs[i] = &infos[i];
    }
    res.n_keys = NKEYS;
    res.keys = ptrs;
    v = vec_response(PARSEC_PROVIDER_CORE, PARSEC_OP_LIST_KEYS, 0, &res.base);
    r = (fake_reply){v.data, v.len, 0, 0};
    s = fake_server_start(&r, 1, 2);
    assert_non_null(s);
    c = client_for(s);
    assert_int_equal(parsec_list_keys(c, &keys, &n), PARSEC_SUCCESS);
    assert_int_equal(n, NKEYS);
    for (int i = 0; i < NKEYS; i++) {
        assert_string_equal(keys[i].name, names[i]);
        assert_int_equal(keys[i].provider_id, 1 + i % 3);
        assert_int_equal(keys[i].attributes.alg.hash, PARSEC_HASH_ANY);
        assert_int_equal(keys[i].attributes.bits, 256);
    }
    parsec_key_info_free(keys, n);
    /* Key lookup is ListKeys + name match. */
    assert_int_equal(parsec_key_attributes_get(c, "key-200", &prov, &got), PARSEC_SUCCESS);
    assert_int_equal(prov, 1 + 200 % 3);
    assert_int_equal(got.type, PARSEC_KEY_TYPE_ECC_KEY_PAIR);
    fake_server_free(s);
    parsec_client_free(c);
    for (int i = 0; i < NKEYS; i++)
        psa_key_attributes__key_attributes__free_unpacked(infos[i].attributes, NULL);
    free(infos);
    free(ptrs);
    free(names);
    free(v.data);
}

static void test_secret_response(void **state)
{
    PsaAsymmetricDecrypt__Result res = PSA_ASYMMETRIC_DECRYPT__RESULT__INIT;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP,
                      PARSEC_HASH_SHA_256};
    uint8_t ct[256] = {1};
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    struct vec v;
    fake_reply r;
    fake_server *s;
    parsec_client *c;

    res.plaintext.data = (uint8_t *)"attack at dawn";
    res.plaintext.len = 14;
    v = vec_response(PARSEC_PROVIDER_PKCS11, PARSEC_OP_PSA_ASYMMETRIC_DECRYPT, 0, &res.base);
    r = (fake_reply){v.data, v.len, 0, 0};
    s = fake_server_start(&r, 1, 1);
    assert_non_null(s);
    c = client_for(s);
    assert_int_equal(parsec_asymmetric_decrypt(c, PARSEC_PROVIDER_PKCS11, "k", &alg, ct, sizeof(ct),
                                               NULL, 0, &pt, &ptlen),
                     PARSEC_SUCCESS);
    assert_int_equal(ptlen, 14);
    assert_memory_equal(pt, "attack at dawn", 14);
    parsec_clear_free(pt, ptlen);
    fake_server_free(s);
    parsec_client_free(c);
    free(v.data);
}

static void test_discovery(void **state)
{
    struct vec lp = vec_hex(LIST_PROVIDERS_RESP), la = vec_hex(LIST_AUTHENTICATORS_RESP);
    fake_reply r[3] = {{lp.data, lp.len, 0, 0}, {la.data, la.len, 0, 0}, {NULL, 0, 0, 1}};
    fake_server *s = fake_server_start(r, 3, 3);
    parsec_client *c;
    parsec_wire_header h;
    const uint8_t *req;
    size_t len;

    assert_non_null(s);
    c = client_for(s);
    /* Direct is the only authenticator offered: it needs an application name. */
    assert_int_equal(parsec_client_discover(c, "myapp"), PARSEC_SUCCESS);
    assert_int_equal(parsec_client_get_provider(c), PARSEC_PROVIDER_PKCS11);
    assert_int_equal(parsec_client_get_auth(c), PARSEC_AUTH_DIRECT);
    /* Crypto calls now go to the discovered provider with the discovered auth. */
    assert_int_equal(parsec_destroy_key(c, PARSEC_PROVIDER_DEFAULT, "k"), PARSEC_SUCCESS);
    fake_server_stop(s);
    /* Discovery itself is unauthenticated. */
    req = fake_server_request(s, 1, &len);
    parsec_wire_header_decode(req, &h);
    assert_int_equal(h.opcode, PARSEC_OP_LIST_AUTHENTICATORS);
    assert_int_equal(h.auth_type, PARSEC_AUTH_NONE);
    req = fake_server_request(s, 2, &len);
    parsec_wire_header_decode(req, &h);
    assert_int_equal(h.provider, PARSEC_PROVIDER_PKCS11);
    assert_int_equal(h.opcode, PARSEC_OP_PSA_DESTROY_KEY);
    assert_int_equal(h.auth_type, PARSEC_AUTH_DIRECT);
    assert_int_equal(h.auth_len, 5);
    assert_memory_equal(req + len - 5, "myapp", 5);
    parsec_client_free(c);
    fake_server_free(s);

    /* Without an app name, a Direct-only service offers nothing usable. */
    r[0] = (fake_reply){lp.data, lp.len, 0, 0};
    s = fake_server_start(r, 2, 2);
    c = client_for(s);
    assert_int_equal(parsec_client_discover(c, NULL), PARSEC_CLIENT_ERROR_NO_AUTHENTICATOR);
    parsec_client_free(c);
    fake_server_free(s);
    free(lp.data);
    free(la.data);
}

static void test_no_provider_and_arguments(void **state)
{
    parsec_client *c = parsec_client_new();
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    parsec_alg bad = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_NONE};
    uint8_t hash[32] = {0}, *sig = NULL, *rnd = NULL;
    size_t siglen = 0;

    assert_int_equal(
        parsec_sign_hash(c, PARSEC_PROVIDER_DEFAULT, "k", &alg, hash, 32, &sig, &siglen),
        PARSEC_CLIENT_ERROR_NO_PROVIDER);
    assert_int_equal(parsec_generate_random(c, PARSEC_PROVIDER_DEFAULT, 8, &rnd),
                     PARSEC_CLIENT_ERROR_NO_PROVIDER);
    assert_int_equal(parsec_sign_hash(c, 1, "k", &bad, hash, 32, &sig, &siglen),
                     PARSEC_CLIENT_ERROR_ARGUMENT);
    assert_int_equal(parsec_sign_hash(c, 1, NULL, &alg, hash, 32, &sig, &siglen),
                     PARSEC_CLIENT_ERROR_ARGUMENT);
    assert_int_equal(parsec_client_set_auth(c, PARSEC_AUTH_DIRECT, NULL),
                     PARSEC_CLIENT_ERROR_ARGUMENT);
    assert_int_equal(parsec_client_set_auth(c, PARSEC_AUTH_DIRECT, ""),
                     PARSEC_CLIENT_ERROR_ARGUMENT);
    assert_int_equal(parsec_client_set_auth(c, PARSEC_AUTH_JWT, NULL),
                     PARSEC_CLIENT_ERROR_ARGUMENT);
    assert_int_equal(parsec_client_get_auth(c), PARSEC_AUTH_NONE);
    parsec_client_free(c);
    parsec_client_free(NULL);
    parsec_free(NULL);
    parsec_clear_free(NULL, 10);
}

struct ping_thread {
    parsec_client *c;
    int failures;
};

static void *ping_many(void *arg)
{
    struct ping_thread *t = arg;
    for (int i = 0; i < 25; i++) {
        uint8_t maj = 0;
        if (parsec_ping(t->c, &maj, NULL) != PARSEC_SUCCESS || maj != 1)
            t->failures++;
    }
    return NULL;
}

static void test_shared_between_threads(void **state)
{
    struct vec resp = vec_hex(PING_RESP);
    fake_reply r = {resp.data, resp.len, 0, 0};
    fake_server *s = fake_server_start(&r, 1, 100);
    pthread_t th[4];
    struct ping_thread t[4];
    parsec_client *c;

    assert_non_null(s);
    c = client_for(s);
    for (int i = 0; i < 4; i++) {
        t[i] = (struct ping_thread){c, 0};
        assert_int_equal(pthread_create(&th[i], NULL, ping_many, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].failures, 0);
    }
    assert_int_equal(fake_server_stop(s), 100);
    parsec_client_free(c);
    fake_server_free(s);
    free(resp.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoint_parsing),
        cmocka_unit_test(test_endpoint_environment),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_connect_error_detail),
        cmocka_unit_test(test_ping_vector),
        cmocka_unit_test(test_list_vectors),
        cmocka_unit_test(test_list_clients_direct_auth),
        cmocka_unit_test(test_sign_hash_unix_peer),
        cmocka_unit_test(test_error_before_header),
        cmocka_unit_test(test_every_status_passes_through),
        cmocka_unit_test(test_malformed_responses),
        cmocka_unit_test(test_truncated_response),
        cmocka_unit_test(test_oversized_response),
        cmocka_unit_test(test_read_timeout),
        cmocka_unit_test(test_large_body_and_arena_overflow),
        cmocka_unit_test(test_secret_response),
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_no_provider_and_arguments),
        cmocka_unit_test(test_shared_between_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
