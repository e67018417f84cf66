/* SPDX-License-Identifier: Apache-2.0 */
/*
 * psd_probe: crafts raw Parsec requests (well-formed or deliberately broken)
 * against $PARSEC_SERVICE_ENDPOINT and checks the status parsecd answers
 * against the reference service's (docs/wire-protocol.md §1.2-§1.3, §5.7).
 *
 *   psd_probe --list [GROUP]   names of the cases (groups: wire, route, keys, admin)
 *   psd_probe CASE...          run cases; exit 0 if every one got its expected answer
 *
 * Identity: $PROBE_APP set -> direct authentication with that name;
 * otherwise unix-peer-credentials with getuid(). $PROBE_OTHER_AUTH names the
 * authenticator that is NOT configured (for AuthenticatorNotRegistered).
 */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "delete_client.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "parsec_psa_pb.h"
#include "parsec_types.h"
#include "parsec_wire.h"
#include "prepare_key_attestation.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_verify_hash.pb-c.h"

typedef struct probe_resp {
    parsec_wire_header h;
    uint8_t *body;
    int ok; /* a full response header arrived */
} probe_resp;

static uint8_t g_auth_type;
static uint8_t g_auth[256];
static size_t g_auth_len;
static char g_prefix[64];

/* ---- transport ---- */

static int probe_connect(void)
{
    const char *ep = getenv("PARSEC_SERVICE_ENDPOINT");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (ep == NULL || strncmp(ep, "unix:", 5) != 0) {
        fprintf(stderr, "PARSEC_SERVICE_ENDPOINT must be unix:PATH\n");
        exit(2);
    }
    ep += 5;
    while (ep[0] == '/' && ep[1] == '/')
        ep++;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ep);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "connect %s: %s\n", sa.sun_path, strerror(errno));
        exit(2);
    }
    return fd;
}

static int probe_read_full(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t r = recv(fd, buf + got, len - got, 0);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Send raw bytes (optionally half-closing), read one response. */
static void probe_exchange(const uint8_t *req, size_t len, int shut_wr, probe_resp *r)
{
    uint8_t hdr[PARSEC_WIRE_HEADER_SIZE];
    int fd = probe_connect();
    size_t off = 0;

    memset(r, 0, sizeof(*r));
    while (off < len) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

        if (w <= 0)
            break; /* the service may answer and close before taking everything */
        off += (size_t)w;
    }
    if (shut_wr)
        shutdown(fd, SHUT_WR);
    if (probe_read_full(fd, hdr, sizeof(hdr)) == 0) {
        parsec_wire_header_decode(hdr, &r->h);
        r->ok = 1;
        if (r->h.body_len > 0 && r->h.body_len < (1u << 26)) {
            r->body = malloc(r->h.body_len);
            if (r->body == NULL || probe_read_full(fd, r->body, r->h.body_len) != 0)
                r->ok = 0;
        }
    }
    close(fd);
}

static void probe_free(probe_resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* A full request with our identity unless auth_type says otherwise. */
static void probe_request(uint8_t provider, uint32_t opcode, uint8_t auth_type, const uint8_t *auth,
                          size_t auth_len, const uint8_t *body, size_t body_len, probe_resp *r)
{
    size_t len = PARSEC_WIRE_HEADER_SIZE + body_len + auth_len;
    uint8_t *req = malloc(len);
    parsec_wire_header h;

    parsec_wire_request_init(&h, provider, opcode, auth_type, (uint32_t)body_len,
                             (uint16_t)auth_len);
    parsec_wire_header_encode(&h, req);
    if (body_len > 0)
        memcpy(req + PARSEC_WIRE_HEADER_SIZE, body, body_len);
    if (auth_len > 0)
        memcpy(req + PARSEC_WIRE_HEADER_SIZE + body_len, auth, auth_len);
    probe_exchange(req, len, 0, r);
    free(req);
}

static void probe_me(uint8_t provider, uint32_t opcode, const uint8_t *body, size_t body_len,
                     probe_resp *r)
{
    probe_request(provider, opcode, g_auth_type, g_auth, g_auth_len, body, body_len, r);
}

static int probe_expect(const char *what, const probe_resp *r, parsec_status want)
{
    if (!r->ok) {
        fprintf(stderr, "%s: no response (connection closed), expected %s (%u)\n", what,
                parsec_status_name(want), (unsigned int)want);
        return 1;
    }
    if (r->h.status != want) {
        fprintf(stderr, "%s: got %s (%u), expected %s (%u)\n", what,
                parsec_status_name(r->h.status), r->h.status, parsec_status_name(want),
                (unsigned int)want);
        return 1;
    }
    return 0;
}

/* Send a header built from h (fields may be broken on purpose) + body + auth bytes. */
static void probe_raw(const parsec_wire_header *h, const uint8_t *tail, size_t tail_len,
                      int shut_wr, probe_resp *r)
{
    uint8_t buf[PARSEC_WIRE_HEADER_SIZE + 256];

    parsec_wire_header_encode(h, buf);
    if (tail_len > 0)
        memcpy(buf + PARSEC_WIRE_HEADER_SIZE, tail, tail_len);
    probe_exchange(buf, PARSEC_WIRE_HEADER_SIZE + tail_len, shut_wr, r);
}

static void probe_ping_header(parsec_wire_header *h)
{
    parsec_wire_request_init(h, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_NONE, 0, 0);
}

/* One broken header field -> expected status. */
static int probe_header_case(const char *what, void (*mutate)(parsec_wire_header *),
                             parsec_status want)
{
    parsec_wire_header h;
    probe_resp r;
    int fail;

    probe_ping_header(&h);
    mutate(&h);
    probe_raw(&h, NULL, 0, 0, &r);
    fail = probe_expect(what, &r, want);
    /* Errors found before a header exists come back as provider 0, opcode Ping. */
    if (!fail && want != PARSEC_SUCCESS && (r.h.provider != 0 || r.h.opcode != PARSEC_OP_PING)) {
        fprintf(stderr, "%s: response header provider %u opcode %u, expected 0/1\n", what,
                r.h.provider, r.h.opcode);
        fail = 1;
    }
    probe_free(&r);
    return fail;
}

/* ---- protobuf bodies ---- */

typedef struct probe_body {
    uint8_t *data;
    size_t len;
} probe_body;

static probe_body probe_pack(const ProtobufCMessage *m)
{
    probe_body b;

    b.len = protobuf_c_message_get_packed_size(m);
    b.data = malloc(b.len + 1);
    protobuf_c_message_pack(m, b.data);
    return b;
}

static void probe_key_name(char *out, size_t n, const char *suffix)
{
    snprintf(out, n, "%s-%s", g_prefix, suffix);
}

static parsec_key_attributes probe_ecc_attrs(uint32_t usage, uint8_t scheme, uint8_t hash)
{
    parsec_key_attributes a = {.type = PARSEC_KEY_TYPE_ECC_KEY_PAIR,
                               .ecc_family = PARSEC_ECC_FAMILY_SECP_R1,
                               .bits = 256,
                               .usage = usage,
                               .alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, scheme, hash}};
    return a;
}

static parsec_key_attributes probe_rsa_attrs(uint32_t bits, uint32_t usage, parsec_alg alg)
{
    parsec_key_attributes a = {
        .type = PARSEC_KEY_TYPE_RSA_KEY_PAIR, .bits = bits, .usage = usage, .alg = alg};
    return a;
}

static uint16_t probe_generate(uint8_t provider, const char *name, const parsec_key_attributes *a)
{
    PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
    probe_body b;
    probe_resp r;
    uint16_t st;

    op.key_name = (char *)name;
    op.attributes = parsec_pb_key_attributes_from_c(a);
    b = probe_pack(&op.base);
    psa_key_attributes__key_attributes__free_unpacked(op.attributes, NULL);
    probe_me(provider, PARSEC_OP_PSA_GENERATE_KEY, b.data, b.len, &r);
    free(b.data);
    st = r.ok ? r.h.status : 0xFFFF;
    probe_free(&r);
    return st;
}

static void probe_destroy(const char *name)
{
    PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;
    probe_body b;
    probe_resp r;

    op.key_name = (char *)name;
    b = probe_pack(&op.base);
    probe_me(PARSEC_PROVIDER_MBED_CRYPTO, PARSEC_OP_PSA_DESTROY_KEY, b.data, b.len, &r);
    free(b.data);
    probe_free(&r);
}

static void probe_sign(uint8_t provider, const char *name, const parsec_alg *alg,
                       const uint8_t *hash, size_t hashlen, probe_resp *r)
{
    PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
    parsec_pb_sign_alg_storage storage;
    probe_body b;

    op.key_name = (char *)name;
    op.alg = alg != NULL ? parsec_pb_sign_alg_fill(&storage, alg) : NULL;
    op.hash.data = (uint8_t *)hash;
    op.hash.len = hashlen;
    b = probe_pack(&op.base);
    probe_me(provider, PARSEC_OP_PSA_SIGN_HASH, b.data, b.len, r);
    free(b.data);
}

/* ---- cases: wire (steps 1-7) ---- */

static void m_magic(parsec_wire_header *h)
{
    h->magic = 0x5EC0A711;
}
static void m_hdr_size(parsec_wire_header *h)
{
    h->hdr_size = 31;
}
static void m_version_maj(parsec_wire_header *h)
{
    h->version_maj = 2;
}
static void m_version_min(parsec_wire_header *h)
{
    h->version_min = 1;
}
static void m_reserved1(parsec_wire_header *h)
{
    h->reserved1 = 1;
}
static void m_reserved2(parsec_wire_header *h)
{
    h->reserved2 = 0x80;
}
static void m_flags(parsec_wire_header *h)
{
    h->flags = 0xFFFF;
}
static void m_status(parsec_wire_header *h)
{
    h->status = 1133;
}
static void m_content(parsec_wire_header *h)
{
    h->content_type = 1;
}
static void m_accept(parsec_wire_header *h)
{
    h->accept_type = 2;
}
static void m_auth_type(parsec_wire_header *h)
{
    h->auth_type = 5;
}
static void m_opcode_mac(parsec_wire_header *h)
{
    h->opcode = 0x16;
}
static void m_opcode_zero(parsec_wire_header *h)
{
    h->opcode = 0;
}
static void m_opcode_big(parsec_wire_header *h)
{
    h->opcode = 0x10001;
}
static void m_provider(parsec_wire_header *h)
{
    h->provider = 6;
}
static void m_body_huge(parsec_wire_header *h)
{
    h->body_len = 0xFFFFFFFF;
}
static void m_body_limit(parsec_wire_header *h)
{
    h->body_len = (1u << 20) + 1;
}
/* Two faults: the earlier check in the reference order must win. */
static void m_version_reserved(parsec_wire_header *h)
{
    h->version_maj = 0;
    h->reserved1 = 1;
}
static void m_reserved_body(parsec_wire_header *h)
{
    h->reserved2 = 1;
    h->body_len = 0xFFFFFFFF;
}
static void m_body_content(parsec_wire_header *h)
{
    h->body_len = 0xFFFFFFFF;
    h->content_type = 9;
}
static void m_content_accept(parsec_wire_header *h)
{
    h->content_type = 1;
    h->accept_type = 1;
}
static void m_accept_auth(parsec_wire_header *h)
{
    h->accept_type = 1;
    h->auth_type = 9;
}
static void m_auth_opcode(parsec_wire_header *h)
{
    h->auth_type = 9;
    h->opcode = 0x17;
}
static void m_opcode_provider(parsec_wire_header *h)
{
    h->opcode = 0x1D;
    h->provider = 7;
}

static int c_bad_magic(void)
{
    return probe_header_case("bad magic", m_magic, PARSEC_INVALID_HEADER);
}
static int c_version_major(void)
{
    return probe_header_case("version 2.0", m_version_maj,
                             PARSEC_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED);
}
static int c_version_minor(void)
{
    return probe_header_case("version 1.1", m_version_min,
                             PARSEC_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED);
}
static int c_reserved1(void)
{
    return probe_header_case("reserved1", m_reserved1, PARSEC_INVALID_HEADER);
}
static int c_reserved2(void)
{
    return probe_header_case("reserved2", m_reserved2, PARSEC_INVALID_HEADER);
}
static int c_flags_ignored(void)
{
    return probe_header_case("flags", m_flags, PARSEC_SUCCESS);
}
static int c_status_ignored(void)
{
    return probe_header_case("status", m_status, PARSEC_SUCCESS);
}
static int c_content_type(void)
{
    return probe_header_case("content type", m_content, PARSEC_CONTENT_TYPE_NOT_SUPPORTED);
}
static int c_accept_type(void)
{
    return probe_header_case("accept type", m_accept, PARSEC_ACCEPT_TYPE_NOT_SUPPORTED);
}
static int c_auth_type(void)
{
    return probe_header_case("auth type 5", m_auth_type, PARSEC_AUTHENTICATOR_DOES_NOT_EXIST);
}
static int c_opcode_mac(void)
{
    return probe_header_case("opcode 0x16", m_opcode_mac, PARSEC_OPCODE_DOES_NOT_EXIST);
}
static int c_opcode_zero(void)
{
    return probe_header_case("opcode 0", m_opcode_zero, PARSEC_OPCODE_DOES_NOT_EXIST);
}
static int c_opcode_big(void)
{
    return probe_header_case("opcode 0x10001", m_opcode_big, PARSEC_OPCODE_DOES_NOT_EXIST);
}
static int c_provider_unknown(void)
{
    return probe_header_case("provider 6", m_provider, PARSEC_PROVIDER_DOES_NOT_EXIST);
}
/* Only the header is sent: an answer of 20 proves the body was never waited for. */
static int c_body_huge(void)
{
    return probe_header_case("body_len 4 GiB", m_body_huge, PARSEC_BODY_SIZE_EXCEEDS_LIMIT);
}
static int c_body_limit(void)
{
    return probe_header_case("body_len limit+1", m_body_limit, PARSEC_BODY_SIZE_EXCEEDS_LIMIT);
}
static int c_order_version(void)
{
    return probe_header_case("version before reserved", m_version_reserved,
                             PARSEC_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED);
}
static int c_order_reserved(void)
{
    return probe_header_case("reserved before body_len", m_reserved_body, PARSEC_INVALID_HEADER);
}
static int c_order_body(void)
{
    return probe_header_case("body_len before content type", m_body_content,
                             PARSEC_BODY_SIZE_EXCEEDS_LIMIT);
}
static int c_order_content(void)
{
    return probe_header_case("content before accept", m_content_accept,
                             PARSEC_CONTENT_TYPE_NOT_SUPPORTED);
}
static int c_order_accept(void)
{
    return probe_header_case("accept before auth type", m_accept_auth,
                             PARSEC_ACCEPT_TYPE_NOT_SUPPORTED);
}
static int c_order_auth(void)
{
    return probe_header_case("auth type before opcode", m_auth_opcode,
                             PARSEC_AUTHENTICATOR_DOES_NOT_EXIST);
}
static int c_order_opcode(void)
{
    return probe_header_case("opcode before provider", m_opcode_provider,
                             PARSEC_OPCODE_DOES_NOT_EXIST);
}

static int c_hdr_size(void)
{
    /* hdr_size 31: the service reads 31 bytes, then refuses the size. */
    uint8_t buf[PARSEC_WIRE_HEADER_SIZE + 1] = {0};
    parsec_wire_header h;
    probe_resp r;
    int fail;

    probe_ping_header(&h);
    m_hdr_size(&h);
    parsec_wire_header_encode(&h, buf);
    probe_exchange(buf, sizeof(buf), 0, &r);
    fail = probe_expect("hdr_size 31", &r, PARSEC_INVALID_HEADER);
    probe_free(&r);
    return fail;
}

static int c_hdr_size_small(void)
{
    uint8_t buf[6 + 20] = {0x10, 0xA7, 0xC0, 0x5E, 20, 0};
    probe_resp r;
    int fail;

    probe_exchange(buf, sizeof(buf), 0, &r);
    fail = probe_expect("hdr_size 20", &r, PARSEC_INVALID_HEADER);
    probe_free(&r);
    return fail;
}

/* body_len/auth_len promise more than arrives; the peer half-closes. */
static int c_truncated_body(void)
{
    parsec_wire_header h;
    probe_resp r;
    int fail;

    parsec_wire_request_init(&h, 0, PARSEC_OP_LIST_PROVIDERS, 0, 10, 0);
    probe_raw(&h, (const uint8_t *)"abcde", 5, 1, &r);
    fail = probe_expect("body shorter than body_len", &r, PARSEC_CONNECTION_ERROR);
    probe_free(&r);
    return fail;
}

static int c_truncated_auth(void)
{
    parsec_wire_header h;
    probe_resp r;
    int fail;

    parsec_wire_request_init(&h, 0, PARSEC_OP_PING, PARSEC_AUTH_DIRECT, 0, 8);
    probe_raw(&h, (const uint8_t *)"app", 3, 1, &r);
    fail = probe_expect("auth shorter than auth_len", &r, PARSEC_CONNECTION_ERROR);
    probe_free(&r);
    return fail;
}

/* The peer stays connected but never sends the rest: the read timeout ends it. */
static int c_stalled_body(void)
{
    parsec_wire_header h;
    probe_resp r;
    int fail;

    parsec_wire_request_init(&h, 0, PARSEC_OP_PING, 0, 4, 0);
    probe_raw(&h, (const uint8_t *)"\x08", 1, 0, &r);
    fail = probe_expect("stalled body", &r, PARSEC_CONNECTION_ERROR);
    probe_free(&r);
    return fail;
}

static int c_stalled_header(void)
{
    uint8_t buf[10] = {0x10, 0xA7, 0xC0, 0x5E, 30, 0, 1, 0, 0, 0};
    probe_resp r;
    int fail;

    probe_exchange(buf, sizeof(buf), 0, &r);
    fail = probe_expect("stalled header", &r, PARSEC_CONNECTION_ERROR);
    probe_free(&r);
    return fail;
}

/* A client that connects and leaves must not disturb anything (checked by the next ping). */
static int c_connect_close(void)
{
    close(probe_connect());
    return 0;
}

static int c_garbage(void)
{
    uint8_t junk[64];
    probe_resp r;
    int fail;

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    probe_exchange(junk, sizeof(junk), 1, &r);
    fail = probe_expect("64 bytes of garbage", &r, PARSEC_INVALID_HEADER);
    probe_free(&r);
    return fail;
}

static int c_ping(void)
{
    probe_resp r;
    int fail;

    probe_request(0, PARSEC_OP_PING, 0, NULL, 0, NULL, 0, &r);
    fail = probe_expect("ping", &r, PARSEC_SUCCESS);
    if (!fail && !(r.h.body_len == 2 && r.body[0] == 0x08 && r.body[1] == 0x01)) {
        fprintf(stderr, "ping: body is not Ping.Result{1, 0}\n");
        fail = 1;
    }
    probe_free(&r);
    return fail;
}

/* The response mirrors provider, session and opcode; content type = accept type. */
static int c_mirror(void)
{
    parsec_wire_header h;
    probe_resp r;
    int fail;

    parsec_wire_request_init(&h, PARSEC_PROVIDER_MBED_CRYPTO, PARSEC_OP_PSA_GENERATE_RANDOM, 0, 2,
                             0);
    h.session = 0x1122334455667788ull;
    probe_raw(&h, (const uint8_t *)"\x08\x10", 2, 0, &r);
    fail = probe_expect("GenerateRandom 16", &r, PARSEC_SUCCESS);
    if (!fail && (r.h.session != h.session || r.h.provider != 1 ||
                  r.h.opcode != PARSEC_OP_PSA_GENERATE_RANDOM || r.h.content_type != 0 ||
                  r.h.auth_type != 0 || r.h.auth_len != 0 || r.h.body_len != 18)) {
        fprintf(stderr, "response header does not mirror the request\n");
        fail = 1;
    }
    probe_free(&r);
    return fail;
}

/* ---- cases: routing and authentication (steps 8-13) ---- */

static int c_auth_jwt(void)
{
    probe_resp r;
    int fail;

    probe_request(0, PARSEC_OP_PING, PARSEC_AUTH_JWT, (const uint8_t *)"x.y.z", 5, NULL, 0, &r);
    fail = probe_expect("JWT auth", &r, PARSEC_AUTHENTICATOR_NOT_REGISTERED);
    /* From here on responses mirror the request header. */
    if (!fail && r.h.opcode != PARSEC_OP_PING)
        fail = 1;
    probe_free(&r);
    return fail;
}

static int c_auth_other(void)
{
    uint8_t uid[4] = {0};
    probe_resp r;
    int fail;

    if (g_auth_type == PARSEC_AUTH_DIRECT)
        probe_request(0, PARSEC_OP_PING, PARSEC_AUTH_UNIX_PEER, uid, 4, NULL, 0, &r);
    else
        probe_request(0, PARSEC_OP_PING, PARSEC_AUTH_DIRECT, (const uint8_t *)"app", 3, NULL, 0,
                      &r);
    fail =
        probe_expect("the authenticator not configured", &r, PARSEC_AUTHENTICATOR_NOT_REGISTERED);
    probe_free(&r);
    return fail;
}

/* Step 8 before 9: an unregistered authenticator wins over an unregistered provider. */
static int c_auth_before_provider(void)
{
    probe_resp r;
    int fail;

    probe_request(4, PARSEC_OP_PSA_GENERATE_RANDOM, PARSEC_AUTH_JWT_SVID, (const uint8_t *)"t", 1,
                  NULL, 0, &r);
    fail = probe_expect("JWT-SVID + provider 4", &r, PARSEC_AUTHENTICATOR_NOT_REGISTERED);
    probe_free(&r);
    return fail;
}

static int c_unix_wrong_uid(void)
{
    uint32_t uid = getuid() + 1;
    uint8_t a[4] = {(uint8_t)uid, (uint8_t)(uid >> 8), (uint8_t)(uid >> 16), (uint8_t)(uid >> 24)};
    probe_resp r;
    int fail;

    probe_request(0, PARSEC_OP_PING, PARSEC_AUTH_UNIX_PEER, a, 4, NULL, 0, &r);
    fail = probe_expect("someone else's uid", &r, PARSEC_AUTHENTICATION_ERROR);
    probe_free(&r);
    return fail;
}

static int c_unix_short(void)
{
    uint32_t uid = getuid();
    uint8_t a[3] = {(uint8_t)uid, (uint8_t)(uid >> 8), (uint8_t)(uid >> 16)};
    probe_resp r;
    int fail;

    probe_request(0, PARSEC_OP_PING, PARSEC_AUTH_UNIX_PEER, a, 3, NULL, 0, &r);
    fail = probe_expect("3-byte uid", &r, PARSEC_AUTHENTICATION_ERROR);
    probe_free(&r);
    return fail;
}

static int c_direct_empty(void)
{
    probe_resp r;
    int fail;

    probe_request(0, PARSEC_OP_PING, PARSEC_AUTH_DIRECT, NULL, 0, NULL, 0, &r);
    fail = probe_expect("empty application name", &r, PARSEC_AUTHENTICATION_ERROR);
    probe_free(&r);
    return fail;
}

static int c_direct_utf8(void)
{
    probe_resp r;
    int fail;

    probe_request(0, PARSEC_OP_PING, PARSEC_AUTH_DIRECT, (const uint8_t *)"ab\xC3\x28", 4, NULL, 0,
                  &r);
    fail = probe_expect("invalid UTF-8 name", &r, PARSEC_AUTHENTICATION_ERROR);
    probe_free(&r);
    return fail;
}

static int c_direct_nul(void)
{
    probe_resp r;
    int fail;

    probe_request(0, PARSEC_OP_PING, PARSEC_AUTH_DIRECT, (const uint8_t *)"ab\0cd", 5, NULL, 0, &r);
    fail = probe_expect("name with NUL", &r, PARSEC_AUTHENTICATION_ERROR);
    probe_free(&r);
    return fail;
}

static int c_auth_ping(void)
{
    probe_resp r;
    int fail;

    probe_me(0, PARSEC_OP_PING, NULL, 0, &r);
    fail = probe_expect("authenticated ping", &r, PARSEC_SUCCESS);
    probe_free(&r);
    return fail;
}

static int c_provider_not_registered(void)
{
    probe_resp r;
    int fail;

    probe_me(PARSEC_PROVIDER_TRUSTED_SERVICE, PARSEC_OP_PSA_GENERATE_RANDOM,
             (const uint8_t *)"\x08\x01", 2, &r);
    fail = probe_expect("provider 4", &r, PARSEC_PROVIDER_NOT_REGISTERED);
    probe_free(&r);
    return fail;
}

/* Step 9 before 10: a core opcode to an unregistered provider is 5, not 1134. */
static int c_not_registered_before_capable(void)
{
    probe_resp r;
    int fail;

    probe_me(PARSEC_PROVIDER_CRYPTOAUTHLIB, PARSEC_OP_LIST_KEYS, NULL, 0, &r);
    fail = probe_expect("ListKeys to provider 5", &r, PARSEC_PROVIDER_NOT_REGISTERED);
    probe_free(&r);
    return fail;
}

static int c_core_op_to_crypto(void)
{
    probe_resp r;
    int fail;

    probe_me(PARSEC_PROVIDER_MBED_CRYPTO, PARSEC_OP_LIST_KEYS, NULL, 0, &r);
    fail = probe_expect("ListKeys to provider 1", &r, PARSEC_PSA_ERROR_NOT_SUPPORTED);
    probe_free(&r);
    return fail;
}

static int c_crypto_op_to_core(void)
{
    probe_resp r;
    int fail;

    probe_me(PARSEC_PROVIDER_CORE, PARSEC_OP_PSA_GENERATE_RANDOM, (const uint8_t *)"\x08\x01", 2,
             &r);
    fail = probe_expect("GenerateRandom to the core", &r, PARSEC_PSA_ERROR_NOT_SUPPORTED);
    probe_free(&r);
    return fail;
}

static int c_mangled_body(void)
{
    probe_resp r;
    int fail;

    probe_me(0, PARSEC_OP_LIST_PROVIDERS, (const uint8_t *)"\xFF\xFF\xFF\xFF", 4, &r);
    fail = probe_expect("mangled ListProviders body", &r, PARSEC_DESERIALIZING_BODY_FAILED);
    probe_free(&r);
    return fail;
}

/* Step 12 before 13: an undecodable body wins over a missing identity. */
static int c_decode_before_auth(void)
{
    probe_resp r;
    int fail;

    probe_request(1, PARSEC_OP_PSA_GENERATE_KEY, 0, NULL, 0, (const uint8_t *)"\x0a\x05zz", 4, &r);
    fail = probe_expect("garbage GenerateKey, no auth", &r, PARSEC_DESERIALIZING_BODY_FAILED);
    probe_free(&r);
    return fail;
}

static int c_not_authenticated(void)
{
    parsec_key_attributes a =
        probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
    probe_body b;
    probe_resp r;
    int fail;

    op.key_name = "anonymous";
    op.attributes = parsec_pb_key_attributes_from_c(&a);
    b = probe_pack(&op.base);
    psa_key_attributes__key_attributes__free_unpacked(op.attributes, NULL);
    probe_request(1, PARSEC_OP_PSA_GENERATE_KEY, 0, NULL, 0, b.data, b.len, &r);
    fail = probe_expect("GenerateKey without auth", &r, PARSEC_NOT_AUTHENTICATED);
    probe_free(&r);
    probe_request(0, PARSEC_OP_LIST_KEYS, 0, NULL, 0, NULL, 0, &r);
    fail |= probe_expect("ListKeys without auth", &r, PARSEC_NOT_AUTHENTICATED);
    probe_free(&r);
    free(b.data);
    return fail;
}

/* Keyless operations need no identity. */
static int c_anonymous_keyless(void)
{
    probe_resp r;
    int fail;

    probe_request(1, PARSEC_OP_PSA_GENERATE_RANDOM, 0, NULL, 0, (const uint8_t *)"\x08\x20", 2, &r);
    fail = probe_expect("anonymous GenerateRandom", &r, PARSEC_SUCCESS);
    probe_free(&r);
    probe_request(1, PARSEC_OP_PSA_HASH_COMPUTE, 0, NULL, 0,
                  (const uint8_t *)"\x08\x07\x12\x03"
                                   "abc",
                  7, &r);
    fail |= probe_expect("anonymous HashCompute", &r, PARSEC_SUCCESS);
    /* SHA-256("abc") starts ba 78 16 bf */
    if (!fail && (r.h.body_len != 34 || r.body[2] != 0xba || r.body[3] != 0x78)) {
        fprintf(stderr, "HashCompute: wrong digest\n");
        fail = 1;
    }
    probe_free(&r);
    return fail;
}

static int c_list_opcodes(void)
{
    probe_resp r;
    int fail;

    probe_request(0, PARSEC_OP_LIST_OPCODES, 0, NULL, 0, (const uint8_t *)"\x08\x04", 2, &r);
    fail = probe_expect("ListOpcodes provider 4", &r, PARSEC_PROVIDER_NOT_REGISTERED);
    probe_free(&r);
    probe_request(0, PARSEC_OP_LIST_OPCODES, 0, NULL, 0, (const uint8_t *)"\x08\x06", 2, &r);
    fail |= probe_expect("ListOpcodes provider 6", &r, PARSEC_PROVIDER_DOES_NOT_EXIST);
    probe_free(&r);
    probe_request(0, PARSEC_OP_LIST_OPCODES, 0, NULL, 0, (const uint8_t *)"\x08\x00", 2, &r);
    fail |= probe_expect("ListOpcodes core", &r, PARSEC_SUCCESS);
    /* {ListProviders, ListOpcodes, Ping, ListAuthenticators, ListKeys}, packed */
    if (!fail && !(r.h.body_len == 7 && r.body[0] == 0x0a && r.body[1] == 5)) {
        fprintf(stderr, "ListOpcodes core: unexpected body\n");
        fail = 1;
    }
    probe_free(&r);
    return fail;
}

/* An operation the software backend does not offer: key attestation (the TPM's). */
static int c_unsupported_op(void)
{
    PrepareKeyAttestation__Operation op = PREPARE_KEY_ATTESTATION__OPERATION__INIT;
    PrepareKeyAttestation__PrepareKeyAttestationParams params =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__INIT;
    PrepareKeyAttestation__PrepareKeyAttestationParams__ActivateCredential ac =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__ACTIVATE_CREDENTIAL__INIT;
    probe_body b;
    probe_resp r;
    int fail;

    ac.attested_key_name = (char *)"some-key";
    params.mechanism_case =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL;
    params.activate_credential = &ac;
    op.parameters = &params;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PREPARE_KEY_ATTESTATION, b.data, b.len, &r);
    fail = probe_expect("PrepareKeyAttestation", &r, PARSEC_PSA_ERROR_NOT_SUPPORTED);
    probe_free(&r);
    probe_request(1, PARSEC_OP_PREPARE_KEY_ATTESTATION, 0, NULL, 0, b.data, b.len, &r);
    fail |= probe_expect("PrepareKeyAttestation without auth", &r, PARSEC_NOT_AUTHENTICATED);
    probe_free(&r);
    free(b.data);
    return fail;
}

/* ---- cases: admin ---- */

static int c_admin_anonymous(void)
{
    probe_resp r;
    int fail;

    probe_request(0, PARSEC_OP_LIST_CLIENTS, 0, NULL, 0, NULL, 0, &r);
    fail = probe_expect("ListClients without auth", &r, PARSEC_NOT_AUTHENTICATED);
    probe_free(&r);
    probe_request(0, PARSEC_OP_DELETE_CLIENT, 0, NULL, 0, NULL, 0, &r);
    fail |= probe_expect("DeleteClient without auth", &r, PARSEC_NOT_AUTHENTICATED);
    probe_free(&r);
    return fail;
}

/* Admin check (step 11) comes before the body decode (step 12). */
static int c_admin_denied(void)
{
    probe_resp r;
    int fail;

    probe_me(0, PARSEC_OP_LIST_CLIENTS, NULL, 0, &r);
    fail = probe_expect("ListClients as a non-admin", &r, PARSEC_ADMIN_OPERATION);
    probe_free(&r);
    probe_me(0, PARSEC_OP_DELETE_CLIENT, (const uint8_t *)"\xFF\xFF", 2, &r);
    fail |= probe_expect("DeleteClient (mangled) as a non-admin", &r, PARSEC_ADMIN_OPERATION);
    probe_free(&r);
    return fail;
}

static int c_admin_allowed(void)
{
    DeleteClient__Operation op = DELETE_CLIENT__OPERATION__INIT;
    probe_body b;
    probe_resp r;
    int fail;

    probe_me(0, PARSEC_OP_LIST_CLIENTS, NULL, 0, &r);
    fail = probe_expect("ListClients as an admin", &r, PARSEC_SUCCESS);
    probe_free(&r);
    op.client = "no-such-client-anywhere";
    b = probe_pack(&op.base);
    probe_me(0, PARSEC_OP_DELETE_CLIENT, b.data, b.len, &r);
    fail |= probe_expect("DeleteClient of an unknown client", &r, PARSEC_SUCCESS);
    probe_free(&r);
    free(b.data);
    return fail;
}

/* ---- cases: keys and policy ---- */

static const uint8_t probe_hash48[48] = {
    1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
    25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48};
/* The first 32 bytes serve as a SHA-256-sized hash. */
#define probe_hash32 probe_hash48

static int c_key_unknown(void)
{
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    char name[96];
    probe_resp r;
    int fail;

    probe_key_name(name, sizeof(name), "never-created");
    probe_sign(1, name, &alg, probe_hash32, 32, &r);
    fail = probe_expect("sign with an unknown key", &r, PARSEC_PSA_ERROR_DOES_NOT_EXIST);
    probe_free(&r);
    return fail;
}

static int c_key_exists(void)
{
    parsec_key_attributes a =
        probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    parsec_key_attributes dep =
        probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_1);
    char name[96];
    uint16_t st1, st2, st3;

    probe_key_name(name, sizeof(name), "exists");
    st1 = probe_generate(1, name, &a);
    st2 = probe_generate(1, name, &a);
    st3 = probe_generate(1, name, &dep); /* deprecated (22) is checked before the name (1139) */
    probe_destroy(name);
    if (st1 != 0 || st2 != PARSEC_PSA_ERROR_ALREADY_EXISTS || st3 != PARSEC_DEPRECATED_PRIMITIVE) {
        fprintf(stderr, "generate twice: %u then %u, deprecated on top: %u\n", st1, st2, st3);
        return 1;
    }
    return 0;
}

static int c_key_deprecated(void)
{
    parsec_key_attributes sha1 =
        probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_1);
    parsec_key_attributes md5 = probe_rsa_attrs(
        2048, PARSEC_USAGE_SIGN_HASH,
        (parsec_alg){PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_MD5});
    parsec_key_attributes oaep = probe_rsa_attrs(
        2048, PARSEC_USAGE_DECRYPT,
        (parsec_alg){PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_1});
    char name[96];
    uint16_t s1, s2, s3;

    probe_key_name(name, sizeof(name), "deprecated");
    s1 = probe_generate(1, name, &sha1);
    s2 = probe_generate(1, name, &md5);
    s3 = probe_generate(1, name, &oaep);
    if (s1 != PARSEC_DEPRECATED_PRIMITIVE || s2 != PARSEC_DEPRECATED_PRIMITIVE ||
        s3 != PARSEC_DEPRECATED_PRIMITIVE) {
        fprintf(stderr, "deprecated: ECDSA-SHA1 %u, RSA-MD5 %u, OAEP-SHA1 %u (want 22)\n", s1, s2,
                s3);
        probe_destroy(name);
        return 1;
    }
    return 0;
}

static int c_key_unsupported(void)
{
    parsec_key_attributes rsa1024 = probe_rsa_attrs(
        1024, PARSEC_USAGE_SIGN_HASH,
        (parsec_alg){PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256});
    parsec_key_attributes mismatch =
        probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256);
    char name[96];
    uint16_t s1, s2;

    probe_key_name(name, sizeof(name), "unsupported");
    s1 = probe_generate(1, name, &rsa1024);
    s2 = probe_generate(1, name, &mismatch);
    if (s1 != PARSEC_PSA_ERROR_NOT_SUPPORTED || s2 != PARSEC_PSA_ERROR_NOT_SUPPORTED) {
        fprintf(stderr, "RSA-1024 %u, ECC key with RSA-PSS policy %u (want 1134)\n", s1, s2);
        probe_destroy(name);
        return 1;
    }
    return 0;
}

static int c_key_invalid_encoding(void)
{
    PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
    probe_body b;
    probe_resp r;
    int fail;

    op.key_name = "no-attributes";
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_GENERATE_KEY, b.data, b.len, &r);
    fail = probe_expect("GenerateKey without attributes", &r, PARSEC_INVALID_ENCODING);
    probe_free(&r);
    free(b.data);
    probe_sign(1, "no-alg", NULL, probe_hash32, 32, &r);
    fail |= probe_expect("SignHash without alg", &r, PARSEC_INVALID_ENCODING);
    probe_free(&r);
    probe_request(1, PARSEC_OP_PSA_HASH_COMPUTE, 0, NULL, 0, (const uint8_t *)"\x12\x01x", 3, &r);
    fail |= probe_expect("HashCompute with hash 0", &r, PARSEC_INVALID_ENCODING);
    probe_free(&r);
    return fail;
}

static int c_key_policy(void)
{
    parsec_key_attributes a = probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH,
                                              PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    parsec_key_attributes vo =
        probe_ecc_attrs(PARSEC_USAGE_VERIFY_HASH, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    parsec_alg ok = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    parsec_alg other_hash = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA,
                             PARSEC_HASH_SHA_384};
    parsec_alg pss = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256};
    parsec_alg any = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY};
    PsaExportKey__Operation ex = PSA_EXPORT_KEY__OPERATION__INIT;
    char name[96], vname[96];
    probe_body b;
    probe_resp r;
    int fail = 0;

    probe_key_name(name, sizeof(name), "policy");
    probe_key_name(vname, sizeof(vname), "verify-only");
    if (probe_generate(1, name, &a) != 0 || probe_generate(1, vname, &vo) != 0) {
        fprintf(stderr, "cannot create the keys\n");
        fail = 1;
        goto done;
    }
    probe_sign(1, name, &ok, probe_hash32, 32, &r);
    fail |= probe_expect("sign within policy", &r, PARSEC_SUCCESS);
    if (!fail && r.h.body_len != 2 + 64) {
        fprintf(stderr, "ECDSA P-256 signature is not 64 bytes r||s\n");
        fail = 1;
    }
    probe_free(&r);
    probe_sign(1, name, &other_hash, probe_hash48, 48, &r);
    fail |= probe_expect("sign with another hash", &r, PARSEC_PSA_ERROR_NOT_PERMITTED);
    probe_free(&r);
    probe_sign(1, name, &pss, probe_hash32, 32, &r);
    fail |= probe_expect("sign with another scheme", &r, PARSEC_PSA_ERROR_NOT_PERMITTED);
    probe_free(&r);
    probe_sign(1, name, &any, probe_hash32, 32, &r);
    fail |= probe_expect("sign with the ANY wildcard", &r, PARSEC_PSA_ERROR_NOT_PERMITTED);
    probe_free(&r);
    probe_sign(1, name, &ok, probe_hash32, 20, &r);
    fail |= probe_expect("sign a 20-byte hash as SHA-256", &r, PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    probe_free(&r);
    probe_sign(1, vname, &ok, probe_hash32, 32, &r);
    fail |= probe_expect("sign with a verify-only key", &r, PARSEC_PSA_ERROR_NOT_PERMITTED);
    probe_free(&r);
    ex.key_name = name;
    b = probe_pack(&ex.base);
    probe_me(1, PARSEC_OP_PSA_EXPORT_KEY, b.data, b.len, &r);
    fail |= probe_expect("export without the export flag", &r, PARSEC_PSA_ERROR_NOT_PERMITTED);
    probe_free(&r);
    probe_me(1, PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, b.data, b.len, &r);
    fail |= probe_expect("export the public key (always allowed)", &r, PARSEC_SUCCESS);
    if (!fail && (r.h.body_len != 2 + 65 || r.body[2] != 0x04)) {
        fprintf(stderr, "public key is not a 65-byte uncompressed point\n");
        fail = 1;
    }
    probe_free(&r);
    free(b.data);
done:
    probe_destroy(name);
    probe_destroy(vname);
    return fail;
}

static int c_key_wildcard(void)
{
    parsec_key_attributes a =
        probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH, PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY);
    parsec_alg s384 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_384};
    uint8_t h48[48] = {0};
    char name[96];
    probe_resp r;
    int fail;

    probe_key_name(name, sizeof(name), "wildcard");
    if (probe_generate(1, name, &a) != 0) {
        fprintf(stderr, "cannot create an ECDSA(any) key\n");
        return 1;
    }
    probe_sign(1, name, &s384, h48, 48, &r);
    fail = probe_expect("ECDSA(any) key signs a SHA-384 hash", &r, PARSEC_SUCCESS);
    probe_free(&r);
    probe_destroy(name);
    return fail;
}

static int c_key_verify_bad(void)
{
    parsec_key_attributes a = probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH,
                                              PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    PsaVerifyHash__Operation op = PSA_VERIFY_HASH__OPERATION__INIT;
    parsec_pb_sign_alg_storage storage;
    uint8_t sig[64] = {0};
    char name[96];
    probe_body b;
    probe_resp r;
    int fail;

    probe_key_name(name, sizeof(name), "verify");
    if (probe_generate(1, name, &a) != 0) {
        fprintf(stderr, "cannot create the key\n");
        return 1;
    }
    probe_sign(1, name, &alg, probe_hash32, 32, &r);
    fail = probe_expect("sign", &r, PARSEC_SUCCESS);
    if (!fail)
        memcpy(sig, r.body + 2, 64);
    probe_free(&r);
    op.key_name = name;
    op.alg = parsec_pb_sign_alg_fill(&storage, &alg);
    op.hash.data = (uint8_t *)probe_hash32;
    op.hash.len = 32;
    op.signature.data = sig;
    op.signature.len = 64;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_VERIFY_HASH, b.data, b.len, &r);
    fail |= probe_expect("verify a good signature", &r, PARSEC_SUCCESS);
    probe_free(&r);
    free(b.data);
    sig[10] ^= 1;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_VERIFY_HASH, b.data, b.len, &r);
    fail |= probe_expect("verify a damaged signature", &r, PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    probe_free(&r);
    free(b.data);
    probe_destroy(name);
    return fail;
}

static int c_key_encrypt_args(void)
{
    parsec_alg v15 = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_PKCS1V15, 0};
    parsec_key_attributes a =
        probe_rsa_attrs(2048, PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, v15);
    PsaAsymmetricEncrypt__Operation op = PSA_ASYMMETRIC_ENCRYPT__OPERATION__INIT;
    parsec_pb_encrypt_alg_storage storage;
    char name[96];
    probe_body b;
    probe_resp r;
    int fail;

    probe_key_name(name, sizeof(name), "encrypt");
    if (probe_generate(1, name, &a) != 0) {
        fprintf(stderr, "cannot create the key\n");
        return 1;
    }
    op.key_name = name;
    op.alg = parsec_pb_encrypt_alg_fill(&storage, &v15);
    op.plaintext.data = (uint8_t *)"hello";
    op.plaintext.len = 5;
    op.salt.data = (uint8_t *)"salt";
    op.salt.len = 4;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT, b.data, b.len, &r);
    fail = probe_expect("PKCS#1 v1.5 with a salt", &r, PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    probe_free(&r);
    free(b.data);
    op.salt.len = 0;
    op.plaintext.len = 0;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT, b.data, b.len, &r);
    fail |= probe_expect("empty plaintext", &r, PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    probe_free(&r);
    free(b.data);
    op.plaintext.len = 5;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT, b.data, b.len, &r);
    fail |= probe_expect("encrypt", &r, PARSEC_SUCCESS);
    probe_free(&r);
    free(b.data);
    probe_destroy(name);
    return fail;
}

static int c_random_limit(void)
{
    PsaGenerateRandom__Operation op = PSA_GENERATE_RANDOM__OPERATION__INIT;
    const char *limit = getenv("PROBE_BUFFER_LIMIT");
    probe_body b;
    probe_resp r;
    int fail;

    op.size = (limit != NULL ? strtoull(limit, NULL, 10) : 1048576) + 1;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_GENERATE_RANDOM, b.data, b.len, &r);
    fail = probe_expect("GenerateRandom over buffer_size_limit", &r, PARSEC_RESPONSE_TOO_LARGE);
    probe_free(&r);
    free(b.data);
    return fail;
}

static int c_hash_compare(void)
{
    PsaHashCompare__Operation op = PSA_HASH_COMPARE__OPERATION__INIT;
    static const uint8_t abc256[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                       0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                       0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                       0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t wrong[32];
    probe_body b;
    probe_resp r;
    int fail;

    op.alg = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
    op.input.data = (uint8_t *)"abc";
    op.input.len = 3;
    op.hash.data = (uint8_t *)abc256;
    op.hash.len = 32;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_HASH_COMPARE, b.data, b.len, &r);
    fail = probe_expect("HashCompare equal", &r, PARSEC_SUCCESS);
    probe_free(&r);
    free(b.data);
    memcpy(wrong, abc256, 32);
    wrong[31] ^= 0x80;
    op.hash.data = wrong;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_HASH_COMPARE, b.data, b.len, &r);
    fail |= probe_expect("HashCompare different", &r, PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    probe_free(&r);
    free(b.data);
    return fail;
}

/* ListKeys returns the caller's key with provider 1 and full attributes. */
static int c_list_keys(void)
{
    parsec_key_attributes a = probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH,
                                              PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_384);
    ListKeys__Result *res = NULL;
    char name[96];
    probe_resp r;
    int found = 0, fail;

    a.bits = 384;
    probe_key_name(name, sizeof(name), "listed");
    if (probe_generate(1, name, &a) != 0) {
        fprintf(stderr, "cannot create the key\n");
        return 1;
    }
    probe_me(0, PARSEC_OP_LIST_KEYS, NULL, 0, &r);
    fail = probe_expect("ListKeys", &r, PARSEC_SUCCESS);
    if (!fail)
        res = list_keys__result__unpack(NULL, r.h.body_len, r.body);
    for (size_t i = 0; res != NULL && i < res->n_keys; i++) {
        parsec_key_attributes got;

        if (strcmp(res->keys[i]->name, name) != 0)
            continue;
        found = res->keys[i]->provider_id == 1 &&
                parsec_pb_key_attributes_to_c(res->keys[i]->attributes, &got) == PARSEC_SUCCESS &&
                got.type == a.type && got.ecc_family == a.ecc_family && got.bits == a.bits &&
                /* sign-hash/verify-hash imply the message flags (PSA 1.0.1) */
                got.usage == (a.usage | PARSEC_USAGE_SIGN_MESSAGE | PARSEC_USAGE_VERIFY_MESSAGE) &&
                got.alg.kind == a.alg.kind && got.alg.scheme == a.alg.scheme &&
                got.alg.hash == a.alg.hash;
    }
    if (!fail && !found) {
        fprintf(stderr, "ListKeys: key missing or attributes differ\n");
        fail = 1;
    }
    if (res != NULL)
        list_keys__result__free_unpacked(res, NULL);
    probe_free(&r);
    probe_destroy(name);
    probe_me(0, PARSEC_OP_LIST_KEYS, NULL, 0, &r);
    res = r.ok && r.h.status == 0 ? list_keys__result__unpack(NULL, r.h.body_len, r.body) : NULL;
    for (size_t i = 0; res != NULL && i < res->n_keys; i++)
        if (strcmp(res->keys[i]->name, name) == 0) {
            fprintf(stderr, "ListKeys: destroyed key still listed\n");
            fail = 1;
        }
    if (res != NULL)
        list_keys__result__free_unpacked(res, NULL);
    probe_free(&r);
    return fail;
}

/* ---- cases: key names (NUL, UTF-8, length) ---- */

/*
 * A packed body whose key name is name with the byte at offset `at`
 * replaced by `byte` (the name is packed as given, then patched on the wire).
 */
static probe_body probe_patched_name_body(const ProtobufCMessage *m, const char *name, size_t at,
                                          uint8_t byte)
{
    probe_body b = probe_pack(m);
    size_t nlen = strlen(name);

    for (size_t i = 0; i + nlen <= b.len; i++)
        if (memcmp(b.data + i, name, nlen) == 0) {
            b.data[i + at] = byte;
            break;
        }
    return b;
}

/* Send m with its name patched (probe_patched_name_body); 1 if the status is not want. */
static int probe_patched_expect(const char *what, uint32_t opcode, const ProtobufCMessage *m,
                                const char *name, size_t at, uint8_t byte, parsec_status want)
{
    probe_body b = probe_patched_name_body(m, name, at, byte);
    probe_resp r;
    int fail;

    probe_me(1, opcode, b.data, b.len, &r);
    free(b.data);
    fail = probe_expect(what, &r, want);
    probe_free(&r);
    return fail;
}

static int probe_key_usable(const char *name)
{
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    probe_resp r;
    int usable;

    probe_sign(1, name, &alg, probe_hash32, 32, &r);
    usable = r.ok && r.h.status == PARSEC_SUCCESS;
    probe_free(&r);
    return usable;
}

/* ListKeys lists exactly the name given (compared with its full length). */
static int probe_listed(const char *name, size_t len)
{
    ListKeys__Result *res = NULL;
    probe_resp r;
    int found = 0;

    probe_me(0, PARSEC_OP_LIST_KEYS, NULL, 0, &r);
    if (r.ok && r.h.status == PARSEC_SUCCESS)
        res = list_keys__result__unpack(NULL, r.h.body_len, r.body);
    for (size_t i = 0; res != NULL && i < res->n_keys; i++)
        if (strlen(res->keys[i]->name) == len && memcmp(res->keys[i]->name, name, len) == 0)
            found = 1;
    if (res != NULL)
        list_keys__result__free_unpacked(res, NULL);
    probe_free(&r);
    return found;
}

/* DestroyKey("K\0zzz") must not destroy "K" (the name used to be cut at the NUL). */
static int c_key_name_nul(void)
{
    parsec_key_attributes a =
        probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;
    char name[96], longer[128];
    int fail;

    probe_key_name(name, sizeof(name), "nul");
    if (probe_generate(1, name, &a) != 0) {
        fprintf(stderr, "cannot create the key\n");
        return 1;
    }
    snprintf(longer, sizeof(longer), "%sXzzz", name);
    op.key_name = longer;
    fail =
        probe_patched_expect("DestroyKey with a NUL inside the name", PARSEC_OP_PSA_DESTROY_KEY,
                             &op.base, longer, strlen(name), 0, PARSEC_DESERIALIZING_BODY_FAILED);
    if (!probe_key_usable(name)) {
        fprintf(stderr, "the key before the NUL was destroyed\n");
        fail = 1;
    }
    probe_destroy(name);
    return fail;
}

static int c_key_name_utf8(void)
{
    parsec_key_attributes a =
        probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
    char name[96];
    int fail;

    probe_key_name(name, sizeof(name), "utf8-X");
    op.key_name = name;
    op.attributes = parsec_pb_key_attributes_from_c(&a);
    fail = probe_patched_expect("GenerateKey with an invalid UTF-8 name",
                                PARSEC_OP_PSA_GENERATE_KEY, &op.base, name, strlen(name) - 1, 0xFF,
                                PARSEC_DESERIALIZING_BODY_FAILED);
    psa_key_attributes__key_attributes__free_unpacked(op.attributes, NULL);
    name[strlen(name) - 1] = (char)0xFF;
    if (probe_listed(name, strlen(name))) {
        fprintf(stderr, "the invalid UTF-8 name is listed\n");
        fail = 1;
    }
    /* A valid multi-byte name is fine. */
    probe_key_name(name, sizeof(name), "utf8-\xC3\xA9t\xC3\xA9");
    if (probe_generate(1, name, &a) != 0 || !probe_key_usable(name)) {
        fprintf(stderr, "a valid UTF-8 name was refused\n");
        fail = 1;
    }
    probe_destroy(name);
    return fail;
}

static int c_key_name_long(void)
{
    parsec_key_attributes a =
        probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    char name[258];
    size_t plen;
    uint16_t st;
    int fail = 0;

    probe_key_name(name, sizeof(name), "");
    plen = strlen(name);
    memset(name + plen, 'n', 257 - plen);
    name[257] = '\0';
    st = probe_generate(1, name, &a);
    if (st != PARSEC_PSA_ERROR_INVALID_ARGUMENT) {
        fprintf(stderr, "257-byte name: got %s (%u), expected PsaErrorInvalidArgument\n",
                parsec_status_name(st), st);
        fail = 1;
        probe_destroy(name);
    }
    name[256] = '\0';
    st = probe_generate(1, name, &a);
    if (st != PARSEC_SUCCESS || !probe_key_usable(name)) {
        fprintf(stderr, "256-byte name: got %s (%u), expected Success\n", parsec_status_name(st),
                st);
        fail = 1;
    }
    probe_destroy(name);
    return fail;
}

/* ---- cases: import, export, ECDH against OpenSSL ---- */

static uint16_t probe_import(const char *name, const parsec_key_attributes *a, const uint8_t *data,
                             size_t len)
{
    PsaImportKey__Operation op = PSA_IMPORT_KEY__OPERATION__INIT;
    probe_body b;
    probe_resp r;
    uint16_t st;

    op.key_name = (char *)name;
    op.attributes = parsec_pb_key_attributes_from_c(a);
    op.data.data = (uint8_t *)data;
    op.data.len = len;
    b = probe_pack(&op.base);
    psa_key_attributes__key_attributes__free_unpacked(op.attributes, NULL);
    probe_me(1, PARSEC_OP_PSA_IMPORT_KEY, b.data, b.len, &r);
    free(b.data);
    st = r.ok ? r.h.status : 0xFFFF;
    probe_free(&r);
    return st;
}

/* ExportKey / ExportPublicKey result body (field 1, bytes) into out; returns its length or -1. */
static long probe_export(uint32_t opcode, const char *name, uint8_t *out, size_t max)
{
    PsaExportKey__Operation op = PSA_EXPORT_KEY__OPERATION__INIT;
    PsaExportKey__Result *res;
    probe_body b;
    probe_resp r;
    long n = -1;

    op.key_name = (char *)name;
    b = probe_pack(&op.base);
    probe_me(1, opcode, b.data, b.len, &r);
    free(b.data);
    if (r.ok && r.h.status == 0) {
        /* Export and ExportPublicKey results have the same shape. */
        res = psa_export_key__result__unpack(NULL, r.h.body_len, r.body);
        if (res != NULL && res->data.len <= max) {
            memcpy(out, res->data.data, res->data.len);
            n = (long)res->data.len;
        }
        if (res != NULL)
            psa_export_key__result__free_unpacked(res, NULL);
    } else {
        fprintf(stderr, "export %s: status %u\n", name, r.ok ? r.h.status : 0xFFFF);
    }
    probe_free(&r);
    return n;
}

static int probe_sign_body(const probe_resp *r, uint8_t *sig, size_t *siglen)
{
    PsaSignHash__Result *res;

    if (!r->ok || r->h.status != 0)
        return -1;
    res = psa_sign_hash__result__unpack(NULL, r->h.body_len, r->body);
    if (res == NULL || res->signature.len > *siglen) {
        if (res != NULL)
            psa_sign_hash__result__free_unpacked(res, NULL);
        return -1;
    }
    memcpy(sig, res->signature.data, res->signature.len);
    *siglen = res->signature.len;
    psa_sign_hash__result__free_unpacked(res, NULL);
    return 0;
}

/* The public half as a DER RSAPublicKey: the service verifies sig (made over probe_hash32) with it. */
static int probe_import_rsa_public(EVP_PKEY *pkey, const uint8_t *sig, size_t siglen)
{
    parsec_alg pkcs1 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15,
                        PARSEC_HASH_SHA_256};
    parsec_key_attributes a = probe_rsa_attrs(2048, PARSEC_USAGE_VERIFY_HASH, pkcs1);
    PsaVerifyHash__Operation op = PSA_VERIFY_HASH__OPERATION__INIT;
    parsec_pb_sign_alg_storage storage;
    uint8_t exported[1024];
    unsigned char *der = NULL;
    int derlen = i2d_PublicKey(pkey, &der), fail = 0;
    char name[96];
    probe_body b;
    probe_resp r;
    long n;

    a.type = PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
    probe_key_name(name, sizeof(name), "import-rsa-pub");
    if (derlen <= 0 || probe_import(name, &a, der, (size_t)derlen) != 0) {
        fprintf(stderr, "import of an RSAPublicKey failed\n");
        OPENSSL_free(der);
        return 1;
    }
    n = probe_export(PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, name, exported, sizeof(exported));
    if (n != derlen || memcmp(exported, der, (size_t)derlen) != 0) {
        fprintf(stderr, "ExportPublicKey does not return the imported RSAPublicKey\n");
        fail = 1;
    }
    op.key_name = name;
    op.alg = parsec_pb_sign_alg_fill(&storage, &pkcs1);
    op.hash.data = (uint8_t *)probe_hash32;
    op.hash.len = 32;
    op.signature.data = (uint8_t *)sig;
    op.signature.len = siglen;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_VERIFY_HASH, b.data, b.len, &r);
    fail |= probe_expect("verify with an imported RSA public key", &r, PARSEC_SUCCESS);
    probe_free(&r);
    free(b.data);
    probe_destroy(name);
    OPENSSL_free(der);
    return fail;
}

/* An RSA key made by OpenSSL, imported as PKCS#1 DER: signatures verify with OpenSSL, export round-trips. */
static int c_import_rsa(void)
{
    parsec_alg pkcs1 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15,
                        PARSEC_HASH_SHA_256};
    parsec_key_attributes a =
        probe_rsa_attrs(0, PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_EXPORT, pkcs1);
    parsec_key_attributes wrong = probe_rsa_attrs(3072, PARSEC_USAGE_SIGN_HASH, pkcs1);
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    unsigned char *der = NULL;
    uint8_t exported[4096], sig[512];
    size_t siglen = sizeof(sig);
    EVP_PKEY_CTX *ctx = NULL;
    char name[96];
    probe_resp r;
    int derlen, fail = 0;
    long n;

    probe_key_name(name, sizeof(name), "import-rsa");
    derlen = pkey != NULL ? i2d_PrivateKey(pkey, &der) : -1;
    if (derlen <= 0) {
        fprintf(stderr, "OpenSSL could not make an RSA key\n");
        fail = 1;
        goto done;
    }
    if (probe_import(name, &wrong, der, (size_t)derlen) != PARSEC_PSA_ERROR_INVALID_ARGUMENT) {
        fprintf(stderr, "import with key_bits 3072 of a 2048-bit key was not refused with 1135\n");
        fail = 1;
    }
    if (probe_import(name, &a, (const uint8_t *)"\x30\x03\x02\x01\x01", 5) !=
        PARSEC_PSA_ERROR_INVALID_ARGUMENT) {
        fprintf(stderr, "import of a malformed RSAPrivateKey was not refused with 1135\n");
        fail = 1;
    }
    if (probe_import(name, &a, der, (size_t)derlen) != 0) {
        fprintf(stderr, "import of an OpenSSL RSA key failed\n");
        fail = 1;
        goto done;
    }
    n = probe_export(PARSEC_OP_PSA_EXPORT_KEY, name, exported, sizeof(exported));
    if (n != derlen || memcmp(exported, der, (size_t)derlen) != 0) {
        fprintf(stderr, "ExportKey does not return the imported RSAPrivateKey\n");
        fail = 1;
    }
    probe_sign(1, name, &pkcs1, probe_hash32, 32, &r);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (probe_sign_body(&r, sig, &siglen) != 0 || ctx == NULL || EVP_PKEY_verify_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0 ||
        EVP_PKEY_verify(ctx, sig, siglen, probe_hash32, 32) != 1) {
        fprintf(stderr, "OpenSSL does not verify the service's PKCS#1 signature\n");
        fail = 1;
    }
    probe_free(&r);
    /* ListKeys reports the real size even though key_bits was 0. */
    probe_me(0, PARSEC_OP_LIST_KEYS, NULL, 0, &r);
    if (r.ok && r.h.status == 0) {
        ListKeys__Result *res = list_keys__result__unpack(NULL, r.h.body_len, r.body);

        for (size_t i = 0; res != NULL && i < res->n_keys; i++)
            if (strcmp(res->keys[i]->name, name) == 0 &&
                res->keys[i]->attributes->key_bits != 2048) {
                fprintf(stderr, "imported key listed with %u bits\n",
                        res->keys[i]->attributes->key_bits);
                fail = 1;
            }
        if (res != NULL)
            list_keys__result__free_unpacked(res, NULL);
    }
    probe_free(&r);
    fail |= probe_import_rsa_public(pkey, sig, siglen);
done:
    probe_destroy(name);
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_clear_free(der, derlen > 0 ? (size_t)derlen : 0);
    EVP_PKEY_free(pkey);
    return fail;
}

/* An OpenSSL EC key pair: the service derives the same public point from the scalar. */
static int c_import_ecc(void)
{
    parsec_key_attributes pair = probe_ecc_attrs(PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_EXPORT,
                                                 PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    parsec_key_attributes pub =
        probe_ecc_attrs(PARSEC_USAGE_VERIFY_HASH, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t point[65], scalar[32], got[128];
    size_t pointlen = 0;
    BIGNUM *d = NULL;
    char name[96], pname[96];
    int fail = 0;
    long n;

    pair.bits = 0;
    pub.type = PARSEC_KEY_TYPE_ECC_PUBLIC_KEY;
    probe_key_name(name, sizeof(name), "import-ec");
    probe_key_name(pname, sizeof(pname), "import-ec-pub");
    if (pkey == NULL ||
        EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                        sizeof(point), &pointlen) != 1 ||
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
        BN_bn2binpad(d, scalar, 32) != 32) {
        fprintf(stderr, "OpenSSL could not make a P-256 key\n");
        fail = 1;
        goto done;
    }
    if (probe_import(name, &pair, scalar, 32) != 0 ||
        probe_import(pname, &pub, point, pointlen) != 0) {
        fprintf(stderr, "import of the scalar or the point failed\n");
        fail = 1;
        goto done;
    }
    n = probe_export(PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, name, got, sizeof(got));
    if (n != (long)pointlen || memcmp(got, point, pointlen) != 0) {
        fprintf(stderr, "public point derived from the imported scalar differs from OpenSSL's\n");
        fail = 1;
    }
    n = probe_export(PARSEC_OP_PSA_EXPORT_KEY, name, got, sizeof(got));
    if (n != 32 || memcmp(got, scalar, 32) != 0) {
        fprintf(stderr, "ExportKey does not return the imported scalar\n");
        fail = 1;
    }
    point[64] ^= 1; /* off the curve */
    if (probe_import("off-curve", &pub, point, pointlen) != PARSEC_PSA_ERROR_INVALID_ARGUMENT) {
        fprintf(stderr, "a point off the curve was not refused with 1135\n");
        fail = 1;
        probe_destroy("off-curve");
    }
done:
    probe_destroy(name);
    probe_destroy(pname);
    OPENSSL_cleanse(scalar, sizeof(scalar));
    BN_clear_free(d);
    EVP_PKEY_free(pkey);
    return fail;
}

/* An ECDH key made in the service, with its public key as OpenSSL sees it. */
typedef struct probe_ecdh_key {
    char name[96];
    const char *curve; /* OpenSSL's name */
    EVP_PKEY *pub;
} probe_ecdh_key;

static int probe_ecdh_key_make(probe_ecdh_key *k, const char *curve, uint32_t bits,
                               const char *suffix)
{
    parsec_key_attributes a = {.type = PARSEC_KEY_TYPE_ECC_KEY_PAIR,
                               .ecc_family = PARSEC_ECC_FAMILY_SECP_R1,
                               .bits = bits,
                               .usage = PARSEC_USAGE_DERIVE,
                               .alg = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0}};
    uint8_t point[160];
    EVP_PKEY_CTX *fctx = NULL;
    OSSL_PARAM params[3];
    long n;
    int fail = 1;

    k->curve = curve;
    k->pub = NULL;
    probe_key_name(k->name, sizeof(k->name), suffix);
    if (probe_generate(1, k->name, &a) != 0) {
        fprintf(stderr, "cannot create the %s ECDH key\n", curve);
        return 1;
    }
    n = probe_export(PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, k->name, point, sizeof(point));
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
    params[1] =
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, n > 0 ? (size_t)n : 0);
    params[2] = OSSL_PARAM_construct_end();
    fctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (n != 1 + 2 * (long)((bits + 7) / 8) || fctx == NULL || EVP_PKEY_fromdata_init(fctx) != 1 ||
        EVP_PKEY_fromdata(fctx, &k->pub, EVP_PKEY_PUBLIC_KEY, params) != 1)
        fprintf(stderr, "the service's %s public key is unusable\n", curve);
    else
        fail = 0;
    EVP_PKEY_CTX_free(fctx);
    return fail;
}

/*
 * One RawKeyAgreement with a fresh peer key: the service's shared secret
 * must equal OpenSSL's from the other side; with off_curve, the peer point
 * is moved off the curve and must be refused.
 */
static int probe_ecdh_round(const probe_ecdh_key *k, int off_curve)
{
    PsaRawKeyAgreement__Operation op = PSA_RAW_KEY_AGREEMENT__OPERATION__INIT;
    PsaRawKeyAgreement__Result *res = NULL;
    EVP_PKEY *mine = EVP_PKEY_Q_keygen(NULL, NULL, "EC", k->curve);
    uint8_t mypoint[160], secret[72];
    size_t mylen = 0, seclen = sizeof(secret);
    EVP_PKEY_CTX *ctx = NULL;
    probe_body b;
    probe_resp r = {0};
    int fail = 1;

    if (mine == NULL || EVP_PKEY_get_octet_string_param(mine, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                        mypoint, sizeof(mypoint), &mylen) != 1) {
        fprintf(stderr, "cannot make a %s peer key\n", k->curve);
        goto done;
    }
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer(ctx, k->pub) != 1 || EVP_PKEY_derive(ctx, secret, &seclen) != 1)
        goto done;
    if (off_curve)
        mypoint[mylen - 1] ^= 1;
    op.alg = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH;
    op.private_key_name = (char *)k->name;
    op.peer_key.data = mypoint;
    op.peer_key.len = mylen;
    b = probe_pack(&op.base);
    probe_me(1, PARSEC_OP_PSA_RAW_KEY_AGREEMENT, b.data, b.len, &r);
    free(b.data);
    if (off_curve) {
        fail = probe_expect("ECDH with a point off the curve", &r,
                            PARSEC_PSA_ERROR_INVALID_ARGUMENT) != 0;
        goto done;
    }
    if (probe_expect("RawKeyAgreement", &r, PARSEC_SUCCESS) != 0)
        goto done;
    res = psa_raw_key_agreement__result__unpack(NULL, r.h.body_len, r.body);
    if (res == NULL || res->shared_secret.len != seclen ||
        memcmp(res->shared_secret.data, secret, seclen) != 0) {
        fprintf(stderr, "%s: shared secrets differ\n", k->curve);
        goto done;
    }
    fail = 0;
done:
    if (res != NULL)
        psa_raw_key_agreement__result__free_unpacked(res, NULL);
    probe_free(&r);
    OPENSSL_cleanse(secret, sizeof(secret));
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(mine);
    return fail;
}

/*
 * Raw ECDH: the service's shared secret equals OpenSSL's from the other
 * side. Rounds switch peers and curves, with refused points among them:
 * whatever the service reuses between requests, each round must get its
 * own secret, and a refused point must not spoil the next one.
 */
static int c_key_ecdh(void)
{
    probe_ecdh_key p384, p256;
    int fail;

    fail = probe_ecdh_key_make(&p384, "P-384", 384, "ecdh");
    fail |= probe_ecdh_key_make(&p256, "P-256", 256, "ecdh256");
    for (int i = 0; i < 24 && !fail; i++)
        fail = probe_ecdh_round(i % 3 == 2 ? &p256 : &p384, i % 8 == 4);
    probe_destroy(p384.name);
    probe_destroy(p256.name);
    EVP_PKEY_free(p384.pub);
    EVP_PKEY_free(p256.pub);
    return fail;
}

/* ---- driver ---- */

typedef struct probe_case {
    const char *group;
    const char *name;
    int (*run)(void);
} probe_case;

static const probe_case probe_cases[] = {
    {"wire", "bad-magic", c_bad_magic},
    {"wire", "hdr-size", c_hdr_size},
    {"wire", "hdr-size-small", c_hdr_size_small},
    {"wire", "version-major", c_version_major},
    {"wire", "version-minor", c_version_minor},
    {"wire", "reserved1", c_reserved1},
    {"wire", "reserved2", c_reserved2},
    {"wire", "flags-ignored", c_flags_ignored},
    {"wire", "status-ignored", c_status_ignored},
    {"wire", "body-huge", c_body_huge},
    {"wire", "body-limit", c_body_limit},
    {"wire", "truncated-body", c_truncated_body},
    {"wire", "truncated-auth", c_truncated_auth},
    {"wire", "stalled-body", c_stalled_body},
    {"wire", "stalled-header", c_stalled_header},
    {"wire", "content-type", c_content_type},
    {"wire", "accept-type", c_accept_type},
    {"wire", "auth-type", c_auth_type},
    {"wire", "opcode-mac", c_opcode_mac},
    {"wire", "opcode-zero", c_opcode_zero},
    {"wire", "opcode-big", c_opcode_big},
    {"wire", "provider-unknown", c_provider_unknown},
    {"wire", "order-version", c_order_version},
    {"wire", "order-reserved", c_order_reserved},
    {"wire", "order-body", c_order_body},
    {"wire", "order-content", c_order_content},
    {"wire", "order-accept", c_order_accept},
    {"wire", "order-auth", c_order_auth},
    {"wire", "order-opcode", c_order_opcode},
    {"wire", "connect-close", c_connect_close},
    {"wire", "garbage", c_garbage},
    {"wire", "mirror", c_mirror},
    {"route", "auth-jwt", c_auth_jwt},
    {"route", "auth-other", c_auth_other},
    {"route", "auth-before-provider", c_auth_before_provider},
    {"route", "auth-ping", c_auth_ping},
    {"route", "provider-not-registered", c_provider_not_registered},
    {"route", "not-registered-before-capable", c_not_registered_before_capable},
    {"route", "core-op-to-crypto", c_core_op_to_crypto},
    {"route", "crypto-op-to-core", c_crypto_op_to_core},
    {"route", "mangled-body", c_mangled_body},
    {"route", "decode-before-auth", c_decode_before_auth},
    {"route", "not-authenticated", c_not_authenticated},
    {"route", "anonymous-keyless", c_anonymous_keyless},
    {"route", "list-opcodes", c_list_opcodes},
    {"route", "unsupported-op", c_unsupported_op},
    {"route", "admin-anonymous", c_admin_anonymous},
    {"unix", "unix-wrong-uid", c_unix_wrong_uid},
    {"unix", "unix-short", c_unix_short},
    {"direct", "direct-empty", c_direct_empty},
    {"direct", "direct-utf8", c_direct_utf8},
    {"direct", "direct-nul", c_direct_nul},
    {"keys", "key-unknown", c_key_unknown},
    {"keys", "key-exists", c_key_exists},
    {"keys", "key-deprecated", c_key_deprecated},
    {"keys", "key-unsupported", c_key_unsupported},
    {"keys", "key-invalid-encoding", c_key_invalid_encoding},
    {"keys", "key-policy", c_key_policy},
    {"keys", "key-wildcard", c_key_wildcard},
    {"keys", "key-verify-bad", c_key_verify_bad},
    {"keys", "key-encrypt-args", c_key_encrypt_args},
    {"keys", "random-limit", c_random_limit},
    {"keys", "hash-compare", c_hash_compare},
    {"keys", "list-keys", c_list_keys},
    {"keys", "key-name-nul", c_key_name_nul},
    {"keys", "key-name-utf8", c_key_name_utf8},
    {"keys", "key-name-long", c_key_name_long},
    {"keys", "import-rsa", c_import_rsa},
    {"keys", "import-ecc", c_import_ecc},
    {"keys", "key-ecdh", c_key_ecdh},
    {"admin-denied", "admin-denied", c_admin_denied},
    {"admin-allowed", "admin-allowed", c_admin_allowed},
    {"ping", "ping", c_ping},
};

int main(int argc, char **argv)
{
    const char *app = getenv("PROBE_APP");
    int fail = 0;

    if (app != NULL && app[0] != '\0') {
        g_auth_type = PARSEC_AUTH_DIRECT;
        g_auth_len = strlen(app) < sizeof(g_auth) ? strlen(app) : sizeof(g_auth);
        memcpy(g_auth, app, g_auth_len);
    } else {
        uint32_t uid = getuid();

        g_auth_type = PARSEC_AUTH_UNIX_PEER;
        g_auth[0] = (uint8_t)uid;
        g_auth[1] = (uint8_t)(uid >> 8);
        g_auth[2] = (uint8_t)(uid >> 16);
        g_auth[3] = (uint8_t)(uid >> 24);
        g_auth_len = 4;
    }
    snprintf(g_prefix, sizeof(g_prefix), "probe-%ld", (long)getpid());
    if (argc >= 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof(probe_cases) / sizeof(probe_cases[0]); i++)
            if (argc < 3 || strcmp(argv[2], probe_cases[i].group) == 0)
                printf("%s\n", probe_cases[i].name);
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: psd_probe --list [GROUP] | CASE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        size_t k;

        for (k = 0; k < sizeof(probe_cases) / sizeof(probe_cases[0]); k++)
            if (strcmp(argv[i], probe_cases[k].name) == 0)
                break;
        if (k == sizeof(probe_cases) / sizeof(probe_cases[0])) {
            fprintf(stderr, "unknown case '%s'\n", argv[i]);
            return 2;
        }
        fail |= probe_cases[k].run();
    }
    return fail ? 1 : 0;
}
