/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes the seed corpora of every fuzz target:
 *  - real traffic: libparsec-client runs a session of every operation
 *    against the in-process parsecd of fuzz_service_env.c through a
 *    recording proxy; each request and each answer becomes seeds of the
 *    targets that parse it (named after the call: "sign_hash-rsa-pss");
 *  - the byte vectors of docs/wire-protocol.md (§1.1, §5.5), named "ref-*";
 *  - a few malformed requests for the header steps of the service, and
 *    sessions of several requests on a kept connection (keep-alive).
 *   fuzz_make_seeds OUTDIR    (OUTDIR/<target>/<name>; run.sh --seeds uses fuzz/corpus)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_bodies.h"
#include "fuzz_client_calls.h"
#include "fuzz_service_env.h"
#include "list_keys.pb-c.h"
#include "parsec_client.h"
#include "parsec_psa_pb.h"
#include "parsec_wire.h"
#include "ping.pb-c.h"
#include "psa_sign_hash.pb-c.h"

#define SEED_MAX_PAIRS 8

typedef struct seed_pair {
    uint8_t *req, *resp;
    size_t req_len, resp_len;
} seed_pair;

static struct {
    const char *outdir;
    char sock_dir[108];
    char sock_path[112];
    int listen_fd;
    pthread_mutex_t mu;
    seed_pair pairs[SEED_MAX_PAIRS]; /* connections of the call being recorded */
    size_t n_pairs;
    size_t written;
} seeds = {.listen_fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

__attribute__((noreturn)) static void seed_die(const char *what)
{
    fprintf(stderr, "fuzz_make_seeds: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void seed_write(const char *target, const char *name, const uint8_t *prefix,
                       size_t prefix_len, const uint8_t *data, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", seeds.outdir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        seed_die(path);
    snprintf(path, sizeof(path), "%s/%s/%s", seeds.outdir, target, name);
    f = fopen(path, "wb");
    if (f == NULL || (prefix_len > 0 && fwrite(prefix, 1, prefix_len, f) != prefix_len) ||
        (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        seed_die(path);
    seeds.written++;
}

/* ---- the recording proxy between the client and the in-process service ---- */

static int seed_read_exact(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);

        if (n > 0)
            got += (size_t)n;
        else if (!(n < 0 && errno == EINTR))
            return -1;
    }
    return 0;
}

static void *seed_proxy(void *arg)
{
    for (;;) {
        int fd = accept4(seeds.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        parsec_wire_header h;
        seed_pair p = {0};

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        p.req = malloc(PARSEC_WIRE_HEADER_SIZE);
        if (p.req == NULL || seed_read_exact(fd, p.req, PARSEC_WIRE_HEADER_SIZE) != 0)
            goto next;
        parsec_wire_header_decode(p.req, &h);
        p.req_len = PARSEC_WIRE_HEADER_SIZE + (size_t)h.body_len + h.auth_len;
        p.req = realloc(p.req, p.req_len);
        if (p.req == NULL || seed_read_exact(fd, p.req + PARSEC_WIRE_HEADER_SIZE,
                                             p.req_len - PARSEC_WIRE_HEADER_SIZE) != 0)
            goto next;
        parsec_fuzz_service_exchange(p.req, p.req_len, &p.resp, &p.resp_len);
        /* Recorded before answering: the client's call returns once it has the answer. */
        pthread_mutex_lock(&seeds.mu);
        if (seeds.n_pairs < SEED_MAX_PAIRS) {
            seed_pair *rec = &seeds.pairs[seeds.n_pairs++];

            rec->req = malloc(p.req_len);
            rec->resp = malloc(p.resp_len > 0 ? p.resp_len : 1);
            if (rec->req == NULL || rec->resp == NULL)
                seed_die("malloc");
            memcpy(rec->req, p.req, p.req_len);
            memcpy(rec->resp, p.resp, p.resp_len);
            rec->req_len = p.req_len;
            rec->resp_len = p.resp_len;
        }
        pthread_mutex_unlock(&seeds.mu);
        if (p.resp_len > 0)
            send(fd, p.resp, p.resp_len, MSG_NOSIGNAL);
    next:
        free(p.req);
        free(p.resp);
        close(fd);
        parsec_fuzz_service_reset();
    }
}

/*
 * Files for the connections of the call just made, named after it:
 * fuzz_service_request gets the request, fuzz_wire_header both headers,
 * fuzz_request_body both bodies, fuzz_client_response (call >= 0) the answer.
 */
static void seed_flush(const char *name, int call)
{
    pthread_mutex_lock(&seeds.mu);
    for (size_t i = 0; i < seeds.n_pairs; i++) {
        seed_pair *p = &seeds.pairs[i];
        parsec_wire_header h;
        char n[160];
        int kind;

        snprintf(n, sizeof(n), i == 0 ? "%s" : "%s-%zu", name, i + 1);
        parsec_wire_header_decode(p->req, &h);
        kind = parsec_fuzz_body_index(h.opcode);
        seed_write("fuzz_service_request", n, NULL, 0, p->req, p->req_len);
        {
            char hn[176];

            snprintf(hn, sizeof(hn), "%s-request", n);
            seed_write("fuzz_wire_header", hn, NULL, 0, p->req, PARSEC_WIRE_HEADER_SIZE);
            if (kind >= 0 && h.body_len > 0) {
                uint8_t b = (uint8_t)kind;

                snprintf(hn, sizeof(hn), "%s-operation", n);
                seed_write("fuzz_request_body", hn, &b, 1, p->req + PARSEC_WIRE_HEADER_SIZE,
                           h.body_len);
            }
            if (p->resp_len >= PARSEC_WIRE_HEADER_SIZE) {
                snprintf(hn, sizeof(hn), "%s-response", n);
                seed_write("fuzz_wire_header", hn, NULL, 0, p->resp, PARSEC_WIRE_HEADER_SIZE);
                if (kind >= 0 && p->resp_len > PARSEC_WIRE_HEADER_SIZE) {
                    uint8_t b = (uint8_t)(kind | 0x80);

                    snprintf(hn, sizeof(hn), "%s-result", n);
                    seed_write("fuzz_request_body", hn, &b, 1, p->resp + PARSEC_WIRE_HEADER_SIZE,
                               p->resp_len - PARSEC_WIRE_HEADER_SIZE);
                }
            }
        }
        if (call >= 0) {
            uint8_t b = (uint8_t)call;
            char kn[176];

            seed_write("fuzz_client_response", n, &b, 1, p->resp, p->resp_len);
            /* The same answer to a keep-alive client, from a service that keeps the connection. */
            if (p->resp_len >= PARSEC_WIRE_HEADER_SIZE) {
                p->resp[8] = (uint8_t)PARSEC_WIRE_FLAG_KEEPALIVE;
                p->resp[9] = (uint8_t)(PARSEC_WIRE_FLAG_KEEPALIVE >> 8);
                b |= 0x80;
                snprintf(kn, sizeof(kn), "%s-keepalive", n);
                seed_write("fuzz_client_response", kn, &b, 1, p->resp, p->resp_len);
            }
        }
        free(p->req);
        free(p->resp);
    }
    seeds.n_pairs = 0;
    pthread_mutex_unlock(&seeds.mu);
}

static void seed_proxy_start(void)
{
    struct sockaddr_un sa;
    pthread_t t;

    const char *tmp = getenv("TMPDIR");

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    snprintf(seeds.sock_dir, sizeof(seeds.sock_dir), "%s/fuzz-seeds-XXXXXX", tmp);
    if (strlen(seeds.sock_dir) + 2 >= sizeof(((struct sockaddr_un *)0)->sun_path))
        seed_die("TMPDIR is too long for a Unix socket path");
    if (mkdtemp(seeds.sock_dir) == NULL)
        seed_die("mkdtemp");
    snprintf(seeds.sock_path, sizeof(seeds.sock_path), "%s/s", seeds.sock_dir);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, seeds.sock_path, strlen(seeds.sock_path) + 1);
    seeds.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (seeds.listen_fd < 0 || bind(seeds.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(seeds.listen_fd, 8) != 0)
        seed_die("proxy socket");
    if (pthread_create(&t, NULL, seed_proxy, NULL) != 0)
        seed_die("pthread_create");
    pthread_detach(t);
}

static parsec_client *seed_client(const char *app)
{
    parsec_client *c = parsec_client_new();
    char uri[128];

    snprintf(uri, sizeof(uri), "unix:%s", seeds.sock_path);
    if (c == NULL || parsec_client_set_endpoint(c, uri) != PARSEC_SUCCESS ||
        parsec_client_set_auth(c, app != NULL ? PARSEC_AUTH_DIRECT : PARSEC_AUTH_NONE, app) !=
            PARSEC_SUCCESS)
        seed_die("client");
    parsec_client_set_provider(c, PARSEC_PROVIDER_MBED_CRYPTO);
    return c;
}

/* ---- a session of every operation ---- */

static const parsec_alg seed_sign_algs[] = {
    {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256},
    {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_SHA_256},
    {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15_RAW, 0},
    {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256},
    {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA_ANY, 0},
};
static const char *const seed_sign_keys[] = {"rsa-pss", "rsa-pkcs1", "rsa-raw", "ec-sign",
                                             "ec-any"};
/* Public keys that verify what the key above them signed (NULL: the key itself). */
static const char *const seed_verify_keys[] = {NULL, "rsa-pub", NULL, "ec-pub", NULL};

static void seed_session(void)
{
    parsec_client *c = seed_client(FUZZ_APP), *admin = seed_client(FUZZ_ADMIN_APP);
    parsec_client *anon = seed_client(NULL);
    static const uint8_t hash[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                     0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                     0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                     0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    const parsec_alg oaep = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP,
                             PARSEC_HASH_SHA_256};
    const parsec_alg pkcs1 = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_PKCS1V15, 0};
    const parsec_alg ecdh = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0};
    parsec_key_attributes ec = {
        PARSEC_KEY_TYPE_ECC_KEY_PAIR,
        PARSEC_ECC_FAMILY_SECP_R1,
        256,
        PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH,
        {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256}};
    parsec_key_attributes rsa = {
        PARSEC_KEY_TYPE_RSA_KEY_PAIR,
        0,
        2048,
        PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT,
        {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_384}};
    parsec_provider_info *provs = NULL;
    parsec_authenticator_info *auths = NULL;
    parsec_key_info *keys = NULL;
    uint32_t *ops = NULL;
    char **clients = NULL;
    uint8_t *buf = NULL, *ct = NULL, *pub = NULL, maj, min;
    size_t n = 0, len = 0, ctlen = 0, publen = 0;
    char name[64];

    parsec_ping(c, &maj, &min);
    seed_flush("ping", FUZZ_PING);
    parsec_list_providers(c, &provs, &n);
    parsec_provider_info_free(provs, n);
    seed_flush("list_providers", FUZZ_LIST_PROVIDERS);
    parsec_list_authenticators(c, &auths, &n);
    parsec_authenticator_info_free(auths, n);
    seed_flush("list_authenticators", FUZZ_LIST_AUTHENTICATORS);
    parsec_list_opcodes(c, PARSEC_PROVIDER_MBED_CRYPTO, &ops, &n);
    parsec_free(ops);
    seed_flush("list_opcodes-software", FUZZ_LIST_OPCODES);
    parsec_list_opcodes(c, PARSEC_PROVIDER_CORE, &ops, &n);
    parsec_free(ops);
    seed_flush("list_opcodes-core", FUZZ_LIST_OPCODES);
    parsec_list_keys(c, &keys, &n);
    parsec_key_info_free(keys, n);
    seed_flush("list_keys", FUZZ_LIST_KEYS);
    parsec_list_keys(anon, &keys, &n);
    parsec_key_info_free(keys, n);
    seed_flush("list_keys-unauthenticated", FUZZ_LIST_KEYS);
    parsec_list_clients(admin, &clients, &n);
    parsec_string_list_free(clients, n);
    seed_flush("list_clients-admin", FUZZ_LIST_CLIENTS);
    parsec_list_clients(c, &clients, &n);
    parsec_string_list_free(clients, n);
    seed_flush("list_clients-not-admin", FUZZ_LIST_CLIENTS);
    parsec_delete_client(admin, "nobody");
    seed_flush("delete_client", FUZZ_DELETE_CLIENT);
    {
        /* Nothing set but the endpoint: discovery asks for providers and authenticators. */
        parsec_client *d = parsec_client_new();
        char uri[128];

        snprintf(uri, sizeof(uri), "unix:%s", seeds.sock_path);
        if (d == NULL || parsec_client_set_endpoint(d, uri) != PARSEC_SUCCESS)
            seed_die("client");
        parsec_client_discover(d, "fuzz");
        parsec_client_free(d);
        seed_flush("discover", FUZZ_DISCOVER);
    }

    for (size_t i = 0; i < sizeof(seed_sign_algs) / sizeof(seed_sign_algs[0]); i++) {
        const char *vk = seed_verify_keys[i] != NULL ? seed_verify_keys[i] : seed_sign_keys[i];
        size_t hl = seed_sign_algs[i].scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW ? 19 : 32;

        snprintf(name, sizeof(name), "sign_hash-%s", seed_sign_keys[i]);
        parsec_sign_hash(c, 0, seed_sign_keys[i], &seed_sign_algs[i], hash, hl, &buf, &len);
        seed_flush(name, FUZZ_SIGN_HASH);
        snprintf(name, sizeof(name), "verify_hash-%s", vk);
        parsec_verify_hash(c, 0, vk, &seed_sign_algs[i], hash, hl, buf, len);
        seed_flush(name, FUZZ_VERIFY_HASH);
        parsec_free(buf);
        buf = NULL;
    }
    parsec_sign_hash(c, 0, "no-such-key", &seed_sign_algs[0], hash, 32, &buf, &len);
    seed_flush("sign_hash-missing-key", FUZZ_SIGN_HASH);
    parsec_sign_hash(c, 0, "rsa-pkcs1", &seed_sign_algs[0], hash, 32, &buf, &len);
    seed_flush("sign_hash-not-permitted", FUZZ_SIGN_HASH);

    parsec_asymmetric_encrypt(c, 0, "rsa-oaep", &oaep, hash, 16, (const uint8_t *)"label", 5, &ct,
                              &ctlen);
    seed_flush("asymmetric_encrypt-oaep", FUZZ_ASYMMETRIC_ENCRYPT);
    parsec_asymmetric_decrypt(c, 0, "rsa-oaep", &oaep, ct, ctlen, (const uint8_t *)"label", 5, &buf,
                              &len);
    seed_flush("asymmetric_decrypt-oaep", FUZZ_ASYMMETRIC_DECRYPT);
    parsec_clear_free(buf, len);
    parsec_free(ct);
    parsec_asymmetric_encrypt(c, 0, "rsa-crypt", &pkcs1, hash, 16, NULL, 0, &ct, &ctlen);
    seed_flush("asymmetric_encrypt-pkcs1", FUZZ_ASYMMETRIC_ENCRYPT);
    parsec_asymmetric_decrypt(c, 0, "rsa-crypt", &pkcs1, ct, ctlen, NULL, 0, &buf, &len);
    seed_flush("asymmetric_decrypt-pkcs1", FUZZ_ASYMMETRIC_DECRYPT);
    parsec_clear_free(buf, len);
    parsec_free(ct);

    parsec_export_public_key(c, 0, "rsa-pss", &buf, &len);
    seed_flush("export_public_key-rsa", FUZZ_EXPORT_PUBLIC_KEY);
    parsec_free(buf);
    parsec_export_public_key(c, 0, "ec-sign", &pub, &publen);
    seed_flush("export_public_key-ec", FUZZ_EXPORT_PUBLIC_KEY);
    parsec_export_key(c, 0, "rsa-pkcs1", &buf, &len);
    seed_flush("export_key-rsa", FUZZ_EXPORT_KEY);
    parsec_clear_free(buf, len);
    parsec_export_key(c, 0, "ec-sign", &buf, &len);
    seed_flush("export_key-ec", FUZZ_EXPORT_KEY);
    parsec_clear_free(buf, len);
    parsec_raw_key_agreement(c, 0, &ecdh, "ecdh", pub, publen, &buf, &len);
    seed_flush("raw_key_agreement", FUZZ_RAW_KEY_AGREEMENT);
    parsec_clear_free(buf, len);

    parsec_generate_random(c, 0, 32, &buf);
    seed_flush("generate_random", FUZZ_GENERATE_RANDOM);
    parsec_clear_free(buf, 32);
    buf = NULL;
    parsec_generate_random(c, 0, 1u << 20, &buf);
    seed_flush("generate_random-too-large", FUZZ_GENERATE_RANDOM);
    parsec_hash_compute(c, 0, PARSEC_HASH_SHA_256, (const uint8_t *)"abc", 3, &buf, &len);
    seed_flush("hash_compute", FUZZ_HASH_COMPUTE);
    parsec_free(buf);
    parsec_hash_compare(c, 0, PARSEC_HASH_SHA_256, (const uint8_t *)"abc", 3, hash, 32);
    seed_flush("hash_compare", FUZZ_HASH_COMPARE);
    parsec_can_do_crypto(c, 0, 2, &ec);
    seed_flush("can_do_crypto", FUZZ_CAN_DO_CRYPTO);
    {
        const parsec_alg gcm = {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0};
        const parsec_alg ccm = {PARSEC_ALG_AEAD, PARSEC_AEAD_CCM, 8};
        const parsec_alg cbc = {PARSEC_ALG_CIPHER, PARSEC_CIPHER_CBC_PKCS7, 0};
        uint8_t *sealed = NULL, *nm = NULL, *pb = NULL, *ek = NULL;
        size_t sealedlen = 0, nl = 0, pl = 0, el = 0;

        parsec_aead_encrypt(c, 0, "aes-gcm", &gcm, hash, 12, hash, 7, hash, 32, &sealed,
                            &sealedlen);
        seed_flush("aead_encrypt-gcm", FUZZ_AEAD_ENCRYPT);
        parsec_aead_decrypt(c, 0, "aes-gcm", &gcm, hash, 12, hash, 7, sealed, sealedlen, &buf,
                            &len);
        seed_flush("aead_decrypt-gcm", FUZZ_AEAD_DECRYPT);
        parsec_clear_free(buf, len);
        buf = NULL;
        if (sealed != NULL && sealedlen > 0)
            sealed[sealedlen - 1] ^= 1;
        parsec_aead_decrypt(c, 0, "aes-gcm", &gcm, hash, 12, hash, 7, sealed, sealedlen, &buf,
                            &len);
        seed_flush("aead_decrypt-bad-tag", FUZZ_AEAD_DECRYPT);
        parsec_free(sealed);
        sealed = NULL;
        parsec_aead_encrypt(c, 0, "aes-gcm", &ccm, hash, 13, NULL, 0, hash, 16, &sealed,
                            &sealedlen);
        seed_flush("aead_encrypt-not-permitted", FUZZ_AEAD_ENCRYPT);
        parsec_free(sealed);
        sealed = NULL;
        parsec_sign_message(c, 0, "rsa-pkcs1", &seed_sign_algs[1], hash, 20, &sealed, &sealedlen);
        seed_flush("sign_message-rsa-pkcs1", FUZZ_SIGN_MESSAGE);
        parsec_verify_message(c, 0, "rsa-pkcs1", &seed_sign_algs[1], hash, 20, sealed, sealedlen);
        seed_flush("verify_message-rsa-pkcs1", FUZZ_VERIFY_MESSAGE);
        parsec_free(sealed);
        sealed = NULL;
        parsec_prepare_key_attestation(c, 0, "ec-sign", NULL, &nm, &nl, &pb, &pl, &ek, &el);
        seed_flush("prepare_key_attestation", FUZZ_PREPARE_KEY_ATTESTATION);
        parsec_free(nm);
        parsec_free(pb);
        parsec_free(ek);
        parsec_attest_key(c, 0, "ec-sign", NULL, hash, 16, hash + 16, 16, &buf, &len);
        seed_flush("attest_key", FUZZ_ATTEST_KEY);
        parsec_clear_free(buf, len);
        buf = NULL;
        parsec_cipher_encrypt(c, 0, "aes-cbc", &cbc, hash, 20, &sealed, &sealedlen);
        seed_flush("cipher_encrypt-cbc-pkcs7", FUZZ_CIPHER_ENCRYPT);
        parsec_cipher_decrypt(c, 0, "aes-cbc", &cbc, sealed, sealedlen, &buf, &len);
        seed_flush("cipher_decrypt-cbc-pkcs7", FUZZ_CIPHER_DECRYPT);
        parsec_clear_free(buf, len);
        parsec_free(sealed);
    }

    /* The proxy resets the store after every request: each seed runs against the presets. */
    parsec_generate_key(c, 0, "new-ec", &ec);
    seed_flush("generate_key-ec", FUZZ_GENERATE_KEY);
    parsec_generate_key(c, 0, "new-rsa", &rsa);
    seed_flush("generate_key-rsa", FUZZ_GENERATE_KEY);
    parsec_generate_key(c, 0, "ec-sign", &ec);
    seed_flush("generate_key-exists", FUZZ_GENERATE_KEY);
    parsec_import_key(c, 0, "new-ec-pub",
                      &(parsec_key_attributes){PARSEC_KEY_TYPE_ECC_PUBLIC_KEY,
                                               PARSEC_ECC_FAMILY_SECP_R1, 256,
                                               PARSEC_USAGE_VERIFY_HASH, seed_sign_algs[3]},
                      pub, publen);
    seed_flush("import_key-ec-public", FUZZ_IMPORT_KEY);
    parsec_destroy_key(c, 0, "ec-any");
    seed_flush("destroy_key", FUZZ_DESTROY_KEY);
    parsec_key_attributes_get(c, "ec-sign", NULL, &ec);
    seed_flush("key_attributes_get", FUZZ_KEY_ATTRIBUTES_GET);
    parsec_free(pub);
    parsec_client_free(c);
    parsec_client_free(admin);
    parsec_client_free(anon);
}

/* ---- reference vectors and malformed requests ---- */

static size_t seed_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;

    for (; hex[0] != '\0' && hex[1] != '\0' && n < cap; hex += 2) {
        unsigned int v;

        if (sscanf(hex, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* A request around body (direct auth "fuzz"): for the service and wire header targets. */
static void seed_request(const char *name, uint32_t opcode, uint8_t provider, const uint8_t *body,
                         size_t body_len)
{
    uint8_t req[PARSEC_WIRE_HEADER_SIZE + 256];
    parsec_wire_header h;
    size_t app = strlen(FUZZ_APP);

    parsec_wire_request_init(&h, provider, opcode, PARSEC_AUTH_DIRECT, (uint32_t)body_len,
                             (uint16_t)app);
    parsec_wire_header_encode(&h, req);
    memcpy(req + PARSEC_WIRE_HEADER_SIZE, body, body_len);
    memcpy(req + PARSEC_WIRE_HEADER_SIZE + body_len, FUZZ_APP, app);
    seed_write("fuzz_service_request", name, NULL, 0, req,
               PARSEC_WIRE_HEADER_SIZE + body_len + app);
}

/* A success response around body: for the client target. */
static void seed_response(const char *name, int call, uint32_t opcode, const uint8_t *body,
                          size_t body_len)
{
    uint8_t *resp = malloc(PARSEC_WIRE_HEADER_SIZE + body_len);
    parsec_wire_header req, h;
    uint8_t b = (uint8_t)call;

    if (resp == NULL)
        seed_die("malloc");

    parsec_wire_request_init(&req,
                             opcode == PARSEC_OP_LIST_KEYS || opcode == PARSEC_OP_PING
                                 ? PARSEC_PROVIDER_CORE
                                 : PARSEC_PROVIDER_MBED_CRYPTO,
                             opcode, 0, 0, 0);
    parsec_wire_response_init(&h, &req, PARSEC_SUCCESS, (uint32_t)body_len);
    parsec_wire_header_encode(&h, resp);
    memcpy(resp + PARSEC_WIRE_HEADER_SIZE, body, body_len);
    seed_write("fuzz_client_response", name, &b, 1, resp, PARSEC_WIRE_HEADER_SIZE + body_len);
    free(resp);
}

/*
 * Answers real traffic does not produce but the client must handle: a body
 * longer than the client's first read, and bodies that unpack into more
 * memory than the client's arena holds (its malloc fallback).
 */
static void seed_client_synthetic(void)
{
    static const char key_info[] =
        "0a270801120265631a1f0a045a0208021080021a140a0830013801400148011208320622040a021007";
    uint8_t *body = malloc(8192);
    size_t n = 0;

    if (body == NULL)
        seed_die("malloc");
    /* PsaExportPublicKey.Result{data: 3000 bytes} */
    body[n++] = 0x0a;
    body[n++] = 0xb8; /* 3000 = 0x0bb8, varint b8 17 */
    body[n++] = 0x17;
    for (size_t i = 0; i < 3000; i++)
        body[n++] = (uint8_t)i;
    seed_response("synthetic-export_public_key-large", FUZZ_EXPORT_PUBLIC_KEY,
                  PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, body, n);
    /* 1500 unknown varint fields (field 15) before the data: the arena runs out first. */
    n = 0;
    for (size_t i = 0; i < 1500; i++) {
        body[n++] = 0x78;
        body[n++] = 0x01;
    }
    body[n++] = 0x0a;
    body[n++] = 0x04;
    memcpy(body + n, "abcd", 4);
    n += 4;
    seed_response("synthetic-export_public_key-arena-overflow", FUZZ_EXPORT_PUBLIC_KEY,
                  PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, body, n);
    /* ListKeys.Result: 60 keys (2460 bytes), and 1000 empty KeyInfo entries. */
    n = 0;
    for (size_t i = 0; i < 60; i++)
        n += seed_hex(key_info, body + n, 8192 - n);
    seed_response("synthetic-list_keys-60-keys", FUZZ_LIST_KEYS, PARSEC_OP_LIST_KEYS, body, n);
    n = 0;
    for (size_t i = 0; i < 1000; i++) {
        body[n++] = 0x0a;
        body[n++] = 0x00;
    }
    seed_response("synthetic-list_keys-empty-entries", FUZZ_LIST_KEYS, PARSEC_OP_LIST_KEYS, body,
                  n);
    free(body);
}

static void seed_reference(void)
{
    /* docs/wire-protocol.md §5.5: opcode, result?, client call (-1: none), name, hex. */
    static const struct {
        uint32_t opcode;
        int result;
        int call;
        const char *name;
        const char *hex;
    } bodies[] = {
        {PARSEC_OP_PSA_GENERATE_KEY, 0, -1, "ref-5.5-generate_key-rsa-pss",
         "0a016b121d0a0252001080101a140a083001380140014801120832061a040a021007"},
        {PARSEC_OP_PSA_GENERATE_KEY, 0, -1, "ref-5.5-generate_key-ec-ecdsa",
         "0a016b121f0a045a0208021080021a140a0830013801400148011208320622040a021007"},
        {PARSEC_OP_PSA_GENERATE_KEY, 0, -1, "ref-5.5-generate_key-rsa-crypt",
         "0a016b12150a0252001080101a0c0a042001280112043a020a00"},
        {PARSEC_OP_PSA_GENERATE_KEY, 0, -1, "ref-5.5-generate_key-rsa-none",
         "0a016b120f0a0252001080101a060a0012020a00"},
        {PARSEC_OP_PSA_SIGN_HASH, 0, -1, "ref-5.5-sign_hash-pkcs1",
         "0a016b12060a040a0210071a020102"},
        {PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT, 0, -1, "ref-5.5-asymmetric_encrypt-oaep",
         "0a016b1204120208071a026869"},
        {PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT, 0, -1, "ref-5.5-asymmetric_encrypt-pkcs1",
         "0a016b12020a001a026869"},
        {PARSEC_OP_PSA_RAW_KEY_AGREEMENT, 0, -1, "ref-5.5-raw_key_agreement", "080212016b1a0104"},
        {PARSEC_OP_PSA_GENERATE_RANDOM, 0, -1, "ref-5.5-generate_random", "0820"},
        {PARSEC_OP_LIST_OPCODES, 0, -1, "ref-5.5-list_opcodes", "0801"},
        {PARSEC_OP_PSA_HASH_COMPUTE, 0, -1, "ref-5.5-hash_compute", "08071203616263"},
        {PARSEC_OP_DELETE_CLIENT, 0, -1, "ref-5.5-delete_client", "0a0431303030"},
        {PARSEC_OP_LIST_KEYS, 1, FUZZ_LIST_KEYS, "ref-5.5-list_keys-result",
         "0a270801120265631a1f0a045a0208021080021a140a0830013801400148011208320622040a021007"},
        {PARSEC_OP_PING, 1, FUZZ_PING, "ref-5.5-ping-result", "0801"},
        {PARSEC_OP_LIST_AUTHENTICATORS, 1, FUZZ_LIST_AUTHENTICATORS,
         "ref-1.1-list_authenticators-result", "0a130a0b6469726563742061757468100c182a2801"},
        {PARSEC_OP_LIST_CLIENTS, 1, FUZZ_LIST_CLIENTS, "ref-1.1-list_clients-result",
         "0a036a696d0a03626f62"},
    };
    /* docs/wire-protocol.md §1.1: PsaSignHash to provider 1, "k", RsaPss(SHA-256), 32 x 00. */
    static const char sign_hash_req[] =
        "10a7c05e"
        "1e00"
        "01"
        "00"
        "0000"
        "01"
        "0000000000000000"
        "00"
        "00"
        "03"
        "2d000000"
        "0400"
        "04000000"
        "0000"
        "00"
        "00"
        "0a016b"
        "1206"
        "1a04"
        "0a02"
        "1007"
        "1a20"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "e8030000";
    static const char ping_req[] =
        "10a7c05e1e00010000000000000000000000000000000000000000000100000000000000";
    static const char ping_resp[] =
        "10a7c05e1e000100000000000000000000000000000002000000000001000000000000000801";
    /* ListClients refused with AdminOperation (21). */
    static const char list_clients_not_admin[] = "10a7c05e"
                                                 "1e00"
                                                 "01"
                                                 "00"
                                                 "0000"
                                                 "00"
                                                 "0000000000000000"
                                                 "00"
                                                 "00"
                                                 "00"
                                                 "00000000"
                                                 "0000"
                                                 "1b000000"
                                                 "1500"
                                                 "00"
                                                 "00";
    uint8_t buf[512];
    size_t n;

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        uint8_t b =
            (uint8_t)(parsec_fuzz_body_index(bodies[i].opcode) | (bodies[i].result ? 0x80 : 0));

        n = seed_hex(bodies[i].hex, buf, sizeof(buf));
        seed_write("fuzz_request_body", bodies[i].name, &b, 1, buf, n);
        if (!bodies[i].result)
            seed_request(bodies[i].name, bodies[i].opcode,
                         parsec_opcode_is_core(bodies[i].opcode) ? PARSEC_PROVIDER_CORE
                                                                 : PARSEC_PROVIDER_MBED_CRYPTO,
                         buf, n);
        else if (bodies[i].call >= 0)
            seed_response(bodies[i].name, bodies[i].call, bodies[i].opcode, buf, n);
    }
    n = seed_hex(sign_hash_req, buf, sizeof(buf));
    seed_write("fuzz_service_request", "ref-1.1-sign_hash-unix-peer", NULL, 0, buf, n);
    seed_write("fuzz_wire_header", "ref-1.1-sign_hash-request", NULL, 0, buf,
               PARSEC_WIRE_HEADER_SIZE);
    {
        uint8_t b = (uint8_t)parsec_fuzz_body_index(PARSEC_OP_PSA_SIGN_HASH);

        seed_write("fuzz_request_body", "ref-1.1-sign_hash-operation", &b, 1,
                   buf + PARSEC_WIRE_HEADER_SIZE, 45);
    }
    n = seed_hex(ping_req, buf, sizeof(buf));
    seed_write("fuzz_service_request", "ref-1.1-ping", NULL, 0, buf, n);
    seed_write("fuzz_wire_header", "ref-1.1-ping-request", NULL, 0, buf, n);
    n = seed_hex(ping_resp, buf, sizeof(buf));
    seed_write("fuzz_wire_header", "ref-1.1-ping-response", NULL, 0, buf, PARSEC_WIRE_HEADER_SIZE);
    {
        uint8_t b = FUZZ_PING;

        seed_write("fuzz_client_response", "ref-1.1-ping", &b, 1, buf, n);
    }
    n = seed_hex(list_clients_not_admin, buf, sizeof(buf));
    seed_write("fuzz_wire_header", "ref-1.1-list_clients-status-21", NULL, 0, buf, n);
    {
        uint8_t b = FUZZ_LIST_CLIENTS;

        seed_write("fuzz_client_response", "ref-1.1-list_clients-status-21", &b, 1, buf, n);
    }
}

/* Appends one request (packed body, direct auth app unless NULL) to buf at *len. */
static void seed_append(uint8_t *buf, size_t cap, size_t *len, uint32_t opcode, uint8_t provider,
                        const char *app, const ProtobufCMessage *body, uint16_t flags)
{
    size_t body_len = protobuf_c_message_get_packed_size(body);
    size_t app_len = app != NULL ? strlen(app) : 0;
    parsec_wire_header h;

    if (*len + PARSEC_WIRE_HEADER_SIZE + body_len + app_len > cap) {
        errno = ENOBUFS;
        seed_die("keep-alive seed");
    }
    parsec_wire_request_init(&h, provider, opcode,
                             app != NULL ? PARSEC_AUTH_DIRECT : PARSEC_AUTH_NONE,
                             (uint32_t)body_len, (uint16_t)app_len);
    h.flags = flags;
    parsec_wire_header_encode(&h, buf + *len);
    *len += PARSEC_WIRE_HEADER_SIZE;
    *len += protobuf_c_message_pack(body, buf + *len);
    memcpy(buf + *len, app, app_len);
    *len += app_len;
}

/* Sessions of several requests on one kept connection (keep-alive extension). */
static void seed_keepalive(void)
{
    static const uint8_t hash[32] = {7};
    const uint16_t ka = PARSEC_WIRE_FLAG_KEEPALIVE;
    const parsec_alg pss = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS,
                            PARSEC_HASH_SHA_256};
    Ping__Operation ping = PING__OPERATION__INIT;
    ListKeys__Operation list = LIST_KEYS__OPERATION__INIT;
    PsaSignHash__Operation sign = PSA_SIGN_HASH__OPERATION__INIT;
    PsaSignHash__Operation missing = PSA_SIGN_HASH__OPERATION__INIT;
    parsec_pb_sign_alg_storage st;
    uint8_t buf[2048];
    size_t n;

    sign.key_name = "rsa-pss";
    sign.alg = parsec_pb_sign_alg_fill(&st, &pss);
    sign.hash.data = (uint8_t *)hash;
    sign.hash.len = sizeof(hash);
    missing = sign;
    missing.key_name = "no-such-key";

    n = 0;
    seed_append(buf, sizeof(buf), &n, PARSEC_OP_PING, 0, NULL, &ping.base, ka);
    seed_append(buf, sizeof(buf), &n, PARSEC_OP_PING, 0, NULL, &ping.base, ka);
    seed_write("fuzz_service_request", "keepalive-ping-ping", NULL, 0, buf, n);
    n = 0;
    seed_append(buf, sizeof(buf), &n, PARSEC_OP_PSA_SIGN_HASH, PARSEC_PROVIDER_MBED_CRYPTO,
                FUZZ_APP, &sign.base, ka);
    seed_append(buf, sizeof(buf), &n, PARSEC_OP_LIST_KEYS, 0, FUZZ_APP, &list.base, ka);
    seed_append(buf, sizeof(buf), &n, PARSEC_OP_PING, 0, NULL, &ping.base, 0);
    seed_append(buf, sizeof(buf), &n, PARSEC_OP_PING, 0, NULL, &ping.base, ka);
    seed_write("fuzz_service_request", "keepalive-sign-list-ping-closed", NULL, 0, buf, n);
    n = 0;
    seed_append(buf, sizeof(buf), &n, PARSEC_OP_PSA_SIGN_HASH, PARSEC_PROVIDER_MBED_CRYPTO,
                FUZZ_APP, &missing.base, ka);
    seed_append(buf, sizeof(buf), &n, PARSEC_OP_LIST_KEYS, 0, "another-app", &list.base, ka);
    seed_write("fuzz_service_request", "keepalive-error-then-other-app", NULL, 0, buf, n);
    n = 0;
    seed_append(buf, sizeof(buf), &n, PARSEC_OP_PING, 0, NULL, &ping.base, ka);
    memcpy(buf + n, "garbage after a kept request", 28);
    n += 28;
    seed_write("fuzz_service_request", "keepalive-then-garbage", NULL, 0, buf, n);
}

/* Requests that stop at each header step (docs/wire-protocol.md §1.2 steps 1-7). */
static void seed_malformed(void)
{
    uint8_t req[PARSEC_WIRE_HEADER_SIZE + 8];
    parsec_wire_header h;
    static const struct {
        const char *name;
        int field;
        uint32_t value;
    } cases[] = {
        {"bad-magic", 0, 0x5EC0A711},
        {"bad-hdr-size", 1, 29},
        {"long-hdr-size", 1, 40},
        {"bad-version", 2, 2},
        {"reserved-set", 3, 1},
        {"body-over-limit", 4, 0x7FFFFFFF},
        {"body-truncated", 4, 100},
        {"content-type", 5, 1},
        {"accept-type", 6, 1},
        {"auth-type-unknown", 7, 9},
        {"opcode-unknown", 8, 0x99},
        {"provider-unknown", 9, 7},
        {"auth-jwt", 7, PARSEC_AUTH_JWT},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[64];

        parsec_wire_request_init(&h, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_NONE, 0, 0);
        switch (cases[i].field) {
        case 0:
            h.magic = cases[i].value;
            break;
        case 1:
            h.hdr_size = (uint16_t)cases[i].value;
            break;
        case 2:
            h.version_maj = (uint8_t)cases[i].value;
            break;
        case 3:
            h.reserved1 = (uint8_t)cases[i].value;
            break;
        case 4:
            h.body_len = cases[i].value;
            break;
        case 5:
            h.content_type = (uint8_t)cases[i].value;
            break;
        case 6:
            h.accept_type = (uint8_t)cases[i].value;
            break;
        case 7:
            h.auth_type = (uint8_t)cases[i].value;
            break;
        case 8:
            h.opcode = cases[i].value;
            break;
        default:
            h.provider = (uint8_t)cases[i].value;
            break;
        }
        parsec_wire_header_encode(&h, req);
        snprintf(name, sizeof(name), "header-%s", cases[i].name);
        seed_write("fuzz_service_request", name, NULL, 0, req, PARSEC_WIRE_HEADER_SIZE);
        seed_write("fuzz_wire_header", name, NULL, 0, req, PARSEC_WIRE_HEADER_SIZE);
    }
    /* Cut short inside the magic and inside the header. */
    parsec_wire_request_init(&h, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_NONE, 0, 0);
    parsec_wire_header_encode(&h, req);
    seed_write("fuzz_service_request", "header-truncated-magic", NULL, 0, req, 2);
    seed_write("fuzz_service_request", "header-truncated", NULL, 0, req, 20);
    seed_write("fuzz_service_request", "empty", NULL, 0, req, 0);
    /* Direct auth with an invalid UTF-8 name, and an empty one. */
    parsec_wire_request_init(&h, PARSEC_PROVIDER_CORE, PARSEC_OP_LIST_KEYS, PARSEC_AUTH_DIRECT, 0,
                             2);
    parsec_wire_header_encode(&h, req);
    req[PARSEC_WIRE_HEADER_SIZE] = 0xC0;
    req[PARSEC_WIRE_HEADER_SIZE + 1] = 0x80;
    seed_write("fuzz_service_request", "auth-direct-bad-utf8", NULL, 0, req,
               PARSEC_WIRE_HEADER_SIZE + 2);
    parsec_wire_request_init(&h, PARSEC_PROVIDER_CORE, PARSEC_OP_LIST_KEYS, PARSEC_AUTH_DIRECT, 0,
                             0);
    parsec_wire_header_encode(&h, req);
    seed_write("fuzz_service_request", "auth-direct-empty", NULL, 0, req, PARSEC_WIRE_HEADER_SIZE);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    seeds.outdir = argv[1];
    if (mkdir(seeds.outdir, 0755) != 0 && errno != EEXIST)
        seed_die(seeds.outdir);
    parsec_fuzz_service_start();
    seed_proxy_start();
    seed_session();
    seed_reference();
    seed_client_synthetic();
    seed_malformed();
    seed_keepalive();
    shutdown(seeds.listen_fd, SHUT_RDWR);
    unlink(seeds.sock_path);
    rmdir(seeds.sock_dir);
    printf("wrote %zu seed files under %s\n", seeds.written, seeds.outdir);
    return 0;
}
