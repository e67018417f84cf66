/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TPM backend driven directly through psd_tpm_backend's functions,
 * against a real swtpm started in a temporary directory. Results are
 * checked with OpenSSL (signatures, ciphertexts, ECDH) and against the
 * TPM's own behaviour (restart with state kept, a killed user's leftovers).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

#include "psd_backend.h"

/* tss2's TPM2_*_FIRST macros shift a signed int into the sign bit (UBSan). */
#define PSD_TEST_TRANSIENT_FIRST ((TPM2_HANDLE)0x80000000u)
#define PSD_TEST_LOADED_SESSION_FIRST ((TPM2_HANDLE)0x02000000u)

/* ---- swtpm in a temporary directory ---- */

static char sim_dir[256];
static int sim_port;
static pid_t sim_pid = -1;
static char sim_tcti[128];

static int port_free(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, ok;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static int port_accepts(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Start swtpm on sim_port (keeping its state); 0 when it accepts connections. */
static int sim_start(void)
{
    char server[96], ctrl[96], state[300];
    pid_t pid;

    snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", sim_port);
    snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", sim_port + 1);
    snprintf(state, sizeof(state), "dir=%s", sim_dir);
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execlp("swtpm", "swtpm", "socket", "--tpm2", "--server", server, "--ctrl", ctrl,
               "--tpmstate", state, "--flags", "not-need-init,startup-clear", (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    for (int i = 0; i < 100; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return -1; /* exited: port taken, or swtpm missing */
        if (port_accepts(sim_port)) {
            sim_pid = pid;
            return 0;
        }
        sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void sim_stop(void)
{
    if (sim_pid > 0) {
        kill(sim_pid, SIGTERM);
        waitpid(sim_pid, NULL, 0);
        sim_pid = -1;
    }
}

static int sim_setup(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(sim_dir, sizeof(sim_dir), "%s/tpm-backend-test.XXXXXX", tmp ? tmp : "/tmp");
    if (!mkdtemp(sim_dir))
        return -1;
    srand((unsigned)(getpid() ^ time(NULL)));
    for (int attempt = 0; attempt < 20; attempt++) {
        sim_port = 20000 + 2 * (rand() % 15000);
        if (port_free(sim_port) && port_free(sim_port + 1) && sim_start() == 0) {
            snprintf(sim_tcti, sizeof(sim_tcti), "swtpm:host=127.0.0.1,port=%d", sim_port);
            return 0;
        }
    }
    fprintf(stderr, "could not start swtpm (is it installed?)\n");
    return -1;
}

static void sim_teardown(void)
{
    char cmd[300];

    sim_stop();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sim_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", sim_dir);
}

/* ---- backend helpers ---- */

static const psd_backend_ops *B = &psd_tpm_backend;
static void *S; /* the shared backend instance */

static int backend_init(void **state, const char *tcti, const psd_setting *extra, size_t n,
                        char *err, size_t errlen)
{
    psd_setting items[8] = {{"tcti", tcti}};
    psd_settings s = {.items = items, .count = 1, .config_dir = "/"};

    for (size_t i = 0; i < n; i++)
        items[s.count++] = extra[i];
    err[0] = '\0';
    return B->init(state, &s, err, errlen);
}

typedef struct tkey {
    parsec_key_attributes attrs;
    psd_buf blob;
    psd_key key;
} tkey;

static uint64_t next_id = 1;

static parsec_alg alg_of(uint8_t kind, uint8_t scheme, uint8_t hash)
{
    parsec_alg a = {.kind = kind, .scheme = scheme, .hash = hash};
    return a;
}

static parsec_status tkey_generate(tkey *k, uint8_t type, uint32_t bits, uint32_t usage,
                                   parsec_alg alg)
{
    parsec_status st;

    memset(k, 0, sizeof(*k));
    k->attrs.type = type;
    k->attrs.ecc_family = type == PARSEC_KEY_TYPE_ECC_KEY_PAIR ? PARSEC_ECC_FAMILY_SECP_R1 : 0;
    k->attrs.bits = bits;
    k->attrs.usage = usage;
    k->attrs.alg = alg;
    k->key.id = next_id++;
    k->key.name = "k";
    k->key.attrs = &k->attrs;
    st = B->check_attributes(S, &k->attrs);
    if (st != PARSEC_SUCCESS)
        return st;
    st = B->generate_key(S, k->key.id, "k", &k->attrs, &k->blob);
    k->key.blob = k->blob.data;
    k->key.blob_len = k->blob.len;
    return st;
}

static parsec_status tkey_import(tkey *k, uint8_t type, uint32_t bits, uint32_t usage,
                                 parsec_alg alg, const uint8_t *data, size_t len)
{
    parsec_status st;

    memset(k, 0, sizeof(*k));
    k->attrs.type = type;
    k->attrs.ecc_family = type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY ? PARSEC_ECC_FAMILY_SECP_R1 : 0;
    k->attrs.bits = bits;
    k->attrs.usage = usage;
    k->attrs.alg = alg;
    k->key.id = next_id++;
    k->key.name = "imported";
    k->key.attrs = &k->attrs;
    st = B->import_key(S, k->key.id, "imported", &k->attrs, data, len, &k->blob);
    k->key.blob = k->blob.data;
    k->key.blob_len = k->blob.len;
    return st;
}

static void tkey_free(tkey *k)
{
    B->destroy_key(S, &k->key);
    psd_buf_clear(&k->blob);
}

/* The key's public part as OpenSSL sees it, from ExportPublicKey. */
static EVP_PKEY *exported_pkey(tkey *k)
{
    psd_buf out = {0};
    EVP_PKEY *pkey = NULL;

    assert_int_equal(B->export_public_key(S, &k->key, &out), PARSEC_SUCCESS);
    if (k->attrs.type == PARSEC_KEY_TYPE_RSA_KEY_PAIR ||
        k->attrs.type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY) {
        const unsigned char *p = out.data;
        pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)out.len);
        assert_ptr_equal(p, out.data + out.len);
    } else {
        const char *group = k->attrs.bits == 256   ? "prime256v1"
                            : k->attrs.bits == 384 ? "secp384r1"
                                                   : "secp521r1";
        OSSL_PARAM params[] = {OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
                               OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, out.data, out.len),
                               OSSL_PARAM_END};
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        assert_int_equal(out.data[0], 0x04);
        assert_int_equal(out.len, 1 + 2 * ((k->attrs.bits + 7) / 8));
        assert_true(EVP_PKEY_fromdata_init(ctx) > 0);
        assert_true(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) > 0);
        EVP_PKEY_CTX_free(ctx);
    }
    assert_non_null(pkey);
    psd_buf_clear(&out);
    return pkey;
}

static void digest(const char *md, const char *msg, uint8_t *out, size_t *len)
{
    assert_true(EVP_Q_digest(NULL, md, NULL, msg, strlen(msg), out, len));
}

/* OpenSSL's verdict on a signature from the backend. */
static int openssl_verify(EVP_PKEY *pkey, const char *md, int padding, const uint8_t *hash,
                          size_t hlen, const uint8_t *sig, size_t siglen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    unsigned char *der = NULL;
    int rc, derlen;

    assert_true(EVP_PKEY_verify_init(ctx) > 0);
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, padding) > 0);
        assert_true(EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(md)) > 0);
        if (padding == RSA_PKCS1_PSS_PADDING)
            assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0);
        rc = EVP_PKEY_verify(ctx, sig, siglen, hash, hlen);
    } else {
        ECDSA_SIG *es = ECDSA_SIG_new();
        size_t n = siglen / 2;
        ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)n, NULL), BN_bin2bn(sig + n, (int)n, NULL));
        derlen = i2d_ECDSA_SIG(es, &der);
        rc = EVP_PKEY_verify(ctx, der, (size_t)derlen, hash, hlen);
        ECDSA_SIG_free(es);
        OPENSSL_free(der);
    }
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* ---- start-up and configuration ---- */

static void test_unreachable_tcti(void **unused)
{
    char err[512];
    void *st = NULL;
    char tcti[64];
    time_t t0 = time(NULL);
    int port = 20000 + 2 * (rand() % 15000);

    while (!port_free(port))
        port += 2;
    snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%d", port);
    assert_int_not_equal(backend_init(&st, tcti, NULL, 0, err, sizeof(err)), 0);
    assert_null(st);
    assert_non_null(strstr(err, "cannot reach the TPM"));
    assert_true(time(NULL) - t0 < 10);

    /* A device that does not exist. */
    assert_int_not_equal(backend_init(&st, "device:/nonexistent/tpmrm9", NULL, 0, err, sizeof(err)),
                         0);
    assert_non_null(strstr(err, "TCTI"));
    /* An unknown TCTI. */
    assert_int_not_equal(backend_init(&st, "nosuchtcti:x", NULL, 0, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "TCTI"));
}

static void test_bad_settings(void **unused)
{
    char err[512];
    void *st = NULL;
    psd_setting unknown[] = {{"owner_auht", "x"}};
    psd_setting badhex[] = {{"owner_auth", "hex:zz"}};
    psd_setting badprim[] = {{"primary_key", "dsa"}};
    psd_setting badhandle[] = {{"primary_handle", "0x01000000"}};
    psd_setting wrongauth[] = {{"owner_auth", "str:not-the-owner-password"}};

    /* swtpm serves one connection at a time: the shared instance steps aside. */
    B->fini(S);
    S = NULL;
    assert_int_not_equal(backend_init(&st, sim_tcti, unknown, 1, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "owner_auht"));
    assert_int_not_equal(backend_init(&st, sim_tcti, badhex, 1, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "owner_auth"));
    assert_int_not_equal(backend_init(&st, sim_tcti, badprim, 1, err, sizeof(err)), 0);
    assert_int_not_equal(backend_init(&st, sim_tcti, badhandle, 1, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "primary_handle"));
    /* swtpm's owner auth is empty: a wrong one must be reported, not ignored. */
    assert_int_not_equal(backend_init(&st, sim_tcti, wrongauth, 1, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "owner_auth"));
    assert_null(st);
    assert_int_equal(backend_init(&S, sim_tcti, NULL, 0, err, sizeof(err)), 0);
}

static void test_rsa_primary(void **unused)
{
    char err[512];
    void *st = NULL;
    psd_setting rsa[] = {{"primary_key", "rsa"}, {"owner_auth", ""}};
    tkey k;
    psd_buf sig = {0};
    uint8_t h[32] = {1};

    /* The shared instance holds the only swtpm connection: hand it over. */
    B->fini(S);
    S = NULL;
    assert_int_equal(backend_init(&st, sim_tcti, rsa, 2, err, sizeof(err)), 0);
    S = st;
    assert_int_equal(tkey_generate(&k, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH,
                                   alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA,
                                          PARSEC_HASH_SHA_256)),
                     PARSEC_SUCCESS);
    assert_int_equal(B->sign_hash(S, &k.key, &k.attrs.alg, h, 32, &sig), PARSEC_SUCCESS);
    assert_int_equal(B->verify_hash(S, &k.key, &k.attrs.alg, h, 32, sig.data, sig.len),
                     PARSEC_SUCCESS);
    psd_buf_clear(&sig);
    tkey_free(&k);
    B->fini(S);
    S = NULL;
    assert_int_equal(backend_init(&S, sim_tcti, NULL, 0, err, sizeof(err)), 0);
}

static int has_op(uint32_t op)
{
    uint32_t ops[64];
    size_t n = B->opcodes(S, ops, 64);
    for (size_t i = 0; i < n; i++) {
        if (ops[i] == op)
            return 1;
    }
    return 0;
}

static void test_opcodes_and_attributes(void **unused)
{
    parsec_key_attributes a = {0};

    assert_true(has_op(PARSEC_OP_PSA_GENERATE_KEY));
    assert_true(has_op(PARSEC_OP_PSA_SIGN_HASH));
    assert_true(has_op(PARSEC_OP_PSA_VERIFY_HASH));
    assert_true(has_op(PARSEC_OP_PSA_ASYMMETRIC_DECRYPT));
    assert_true(has_op(PARSEC_OP_PSA_RAW_KEY_AGREEMENT));
    assert_true(has_op(PARSEC_OP_PSA_GENERATE_RANDOM));
    assert_false(has_op(PARSEC_OP_PSA_EXPORT_KEY));
    assert_false(has_op(PARSEC_OP_PSA_HASH_COMPUTE));
    assert_false(has_op(PARSEC_OP_PING)); /* a core operation */
    assert_null(B->export_key);

    a.type = PARSEC_KEY_TYPE_RSA_KEY_PAIR;
    a.bits = 2048;
    a.alg = alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_ANY);
    assert_int_equal(B->check_attributes(S, &a), PARSEC_SUCCESS);
    a.bits = 3072; /* libtpms 0.9 implements RSA-3072 */
    assert_int_equal(B->check_attributes(S, &a), PARSEC_SUCCESS);
    a.bits = 2000;
    assert_int_equal(B->check_attributes(S, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.bits = 2048;
    a.alg = alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15_RAW, 0);
    assert_int_equal(B->check_attributes(S, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.alg = alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA3_256);
    assert_int_equal(B->check_attributes(S, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.alg = alg_of(PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_256);
    assert_int_equal(B->check_attributes(S, &a), PARSEC_SUCCESS);
    a.alg = alg_of(PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0);
    assert_int_equal(B->check_attributes(S, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);

    a.type = PARSEC_KEY_TYPE_ECC_KEY_PAIR;
    a.ecc_family = PARSEC_ECC_FAMILY_SECP_R1;
    a.bits = 256;
    assert_int_equal(B->check_attributes(S, &a), PARSEC_SUCCESS); /* ECDH */
    a.bits = 384;
    a.alg = alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_384);
    assert_int_equal(B->check_attributes(S, &a), PARSEC_SUCCESS);
    a.alg = alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_DETERMINISTIC_ECDSA,
                   PARSEC_HASH_SHA_384);
    assert_int_equal(B->check_attributes(S, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.alg = alg_of(PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_PKCS1V15, 0);
    assert_int_equal(B->check_attributes(S, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.alg = alg_of(PARSEC_ALG_NONE, 0, 0);
    a.ecc_family = PARSEC_ECC_FAMILY_SECP_K1;
    a.bits = 256;
    assert_int_equal(B->check_attributes(S, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.ecc_family = PARSEC_ECC_FAMILY_MONTGOMERY;
    a.bits = 255;
    assert_int_equal(B->check_attributes(S, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.type = PARSEC_KEY_TYPE_AES;
    a.bits = 128;
    assert_int_equal(B->check_attributes(S, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

/* ---- signatures ---- */

static void sign_and_check(uint8_t type, uint32_t bits, uint8_t scheme, uint8_t hash,
                           const char *md, int padding)
{
    tkey k;
    psd_buf sig = {0};
    uint8_t h[64];
    size_t hlen = 0;
    parsec_alg alg = alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, scheme, hash);
    EVP_PKEY *pkey;

    assert_int_equal(
        tkey_generate(&k, type, bits, PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH, alg),
        PARSEC_SUCCESS);
    digest(md, "message to sign", h, &hlen);
    assert_int_equal(B->sign_hash(S, &k.key, &alg, h, hlen, &sig), PARSEC_SUCCESS);
    if (type == PARSEC_KEY_TYPE_RSA_KEY_PAIR)
        assert_int_equal(sig.len, bits / 8);
    else
        assert_int_equal(sig.len, 2 * ((bits + 7) / 8));
    pkey = exported_pkey(&k);
    assert_int_equal(openssl_verify(pkey, md, padding, h, hlen, sig.data, sig.len), 1);
    assert_int_equal(B->verify_hash(S, &k.key, &alg, h, hlen, sig.data, sig.len), PARSEC_SUCCESS);
    /* A changed hash or signature does not verify. */
    h[0] ^= 1;
    assert_int_equal(B->verify_hash(S, &k.key, &alg, h, hlen, sig.data, sig.len),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    h[0] ^= 1;
    sig.data[sig.len - 1] ^= 1;
    assert_int_equal(B->verify_hash(S, &k.key, &alg, h, hlen, sig.data, sig.len),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    assert_int_equal(B->verify_hash(S, &k.key, &alg, h, hlen, sig.data, sig.len - 1),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    /* A hash of the wrong length is refused before the TPM sees it. */
    assert_int_equal(B->sign_hash(S, &k.key, &alg, h, hlen - 1, &sig),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    EVP_PKEY_free(pkey);
    psd_buf_clear(&sig);
    tkey_free(&k);
}

static void test_sign_ecdsa_p256(void **unused)
{
    sign_and_check(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256,
                   "SHA256", 0);
}

static void test_sign_ecdsa_p384(void **unused)
{
    sign_and_check(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 384, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_384,
                   "SHA384", 0);
}

static void test_sign_ecdsa_p256_sha384(void **unused)
{
    /* A hash longer than the curve: ECDSA truncates it, TPM and OpenSSL alike. */
    sign_and_check(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_384,
                   "SHA384", 0);
}

static void test_sign_rsa_pkcs1(void **unused)
{
    sign_and_check(PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048, PARSEC_SIGN_RSA_PKCS1V15,
                   PARSEC_HASH_SHA_256, "SHA256", RSA_PKCS1_PADDING);
}

static void test_sign_rsa_pss(void **unused)
{
    /* OpenSSL checks salt length = digest length, as PSA requires. */
    sign_and_check(PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256,
                   "SHA256", RSA_PKCS1_PSS_PADDING);
}

static void test_sign_rsa3072_pss_sha384(void **unused)
{
    sign_and_check(PARSEC_KEY_TYPE_RSA_KEY_PAIR, 3072, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_384,
                   "SHA384", RSA_PKCS1_PSS_PADDING);
}

static void test_sign_wildcard_policy(void **unused)
{
    /* Policy hash ANY: each call names its hash. */
    tkey k;
    psd_buf sig = {0};
    uint8_t h[64];
    size_t hlen;
    parsec_alg call =
        alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_512);
    EVP_PKEY *pkey;

    assert_int_equal(
        tkey_generate(&k, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH,
                      alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY)),
        PARSEC_SUCCESS);
    digest("SHA512", "x", h, &hlen);
    assert_int_equal(B->sign_hash(S, &k.key, &call, h, hlen, &sig), PARSEC_SUCCESS);
    pkey = exported_pkey(&k);
    assert_int_equal(openssl_verify(pkey, "SHA512", 0, h, hlen, sig.data, sig.len), 1);
    psd_buf_clear(&sig);
    /* ECDSA_ANY takes the input as the hash. */
    call = alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA_ANY, 0);
    digest("SHA256", "y", h, &hlen);
    assert_int_equal(B->sign_hash(S, &k.key, &call, h, hlen, &sig), PARSEC_SUCCESS);
    assert_int_equal(openssl_verify(pkey, "SHA256", 0, h, hlen, sig.data, sig.len), 1);
    EVP_PKEY_free(pkey);
    psd_buf_clear(&sig);
    tkey_free(&k);
}

/* ---- RSA encryption ---- */

static size_t openssl_encrypt(EVP_PKEY *pkey, int oaep, const char *md, const uint8_t *label,
                              size_t llen, const char *msg, uint8_t *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    size_t outlen = 512;

    assert_true(EVP_PKEY_encrypt_init(ctx) > 0);
    if (oaep) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, md, NULL) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, md, NULL) > 0);
        if (llen)
            assert_true(
                EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, OPENSSL_memdup(label, llen), (int)llen) > 0);
    } else {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0);
    }
    assert_true(EVP_PKEY_encrypt(ctx, out, &outlen, (const uint8_t *)msg, strlen(msg)) > 0);
    EVP_PKEY_CTX_free(ctx);
    return outlen;
}

static void test_rsa_decrypt_pkcs1(void **unused)
{
    tkey k;
    parsec_alg alg = alg_of(PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_PKCS1V15, 0);
    uint8_t ct[512];
    size_t ctlen;
    psd_buf pt = {0}, ct2 = {0};
    EVP_PKEY *pkey;

    assert_int_equal(tkey_generate(&k, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048,
                                   PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, alg),
                     PARSEC_SUCCESS);
    pkey = exported_pkey(&k);
    ctlen = openssl_encrypt(pkey, 0, NULL, NULL, 0, "secret one", ct);
    assert_int_equal(B->asymmetric_decrypt(S, &k.key, &alg, ct, ctlen, NULL, 0, &pt),
                     PARSEC_SUCCESS);
    assert_int_equal(pt.len, 10);
    assert_memory_equal(pt.data, "secret one", 10);
    psd_buf_clear(&pt);
    /* Round trip through the backend's own encryption. */
    assert_int_equal(
        B->asymmetric_encrypt(S, &k.key, &alg, (const uint8_t *)"abc", 3, NULL, 0, &ct2),
        PARSEC_SUCCESS);
    assert_int_equal(ct2.len, 256);
    assert_int_equal(B->asymmetric_decrypt(S, &k.key, &alg, ct2.data, ct2.len, NULL, 0, &pt),
                     PARSEC_SUCCESS);
    assert_int_equal(pt.len, 3);
    psd_buf_clear(&pt);
    /* Damaged ciphertext: a padding error, not a crash or garbage. */
    ct[10] ^= 0x55;
    assert_int_equal(B->asymmetric_decrypt(S, &k.key, &alg, ct, ctlen, NULL, 0, &pt),
                     PARSEC_PSA_ERROR_INVALID_PADDING);
    assert_int_equal(B->asymmetric_decrypt(S, &k.key, &alg, ct, ctlen - 1, NULL, 0, &pt),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    assert_null(pt.data);
    /* Plaintext too long for PKCS#1 v1.5 with this key. */
    {
        uint8_t big[250] = {0};
        assert_int_equal(B->asymmetric_encrypt(S, &k.key, &alg, big, sizeof(big), NULL, 0, &ct2),
                         PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    }
    psd_buf_clear(&ct2);
    EVP_PKEY_free(pkey);
    tkey_free(&k);
}

static void test_rsa_decrypt_oaep(void **unused)
{
    tkey k;
    parsec_alg alg =
        alg_of(PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_256);
    static const uint8_t zlabel[] = {'l', 'b', 'l', 0};
    uint8_t ct[512];
    size_t ctlen;
    psd_buf pt = {0}, ct2 = {0};
    EVP_PKEY *pkey;

    assert_int_equal(tkey_generate(&k, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048,
                                   PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, alg),
                     PARSEC_SUCCESS);
    pkey = exported_pkey(&k);
    ctlen = openssl_encrypt(pkey, 1, "SHA256", NULL, 0, "oaep secret", ct);
    assert_int_equal(B->asymmetric_decrypt(S, &k.key, &alg, ct, ctlen, NULL, 0, &pt),
                     PARSEC_SUCCESS);
    assert_int_equal(pt.len, 11);
    assert_memory_equal(pt.data, "oaep secret", 11);
    psd_buf_clear(&pt);

    /* A label ending in a zero byte is the TPM's label convention: L is used as is. */
    ctlen = openssl_encrypt(pkey, 1, "SHA256", zlabel, sizeof(zlabel), "labelled", ct);
    assert_int_equal(B->asymmetric_decrypt(S, &k.key, &alg, ct, ctlen, zlabel, sizeof(zlabel), &pt),
                     PARSEC_SUCCESS);
    assert_int_equal(pt.len, 8);
    psd_buf_clear(&pt);
    /* Wrong label: rejected. */
    assert_int_equal(B->asymmetric_decrypt(S, &k.key, &alg, ct, ctlen, NULL, 0, &pt),
                     PARSEC_PSA_ERROR_INVALID_PADDING);
    /* Other labels cannot be given to a TPM: said so, not silently changed. */
    ctlen = openssl_encrypt(pkey, 1, "SHA256", (const uint8_t *)"lbl", 3, "labelled", ct);
    assert_int_equal(
        B->asymmetric_decrypt(S, &k.key, &alg, ct, ctlen, (const uint8_t *)"lbl", 3, &pt),
        PARSEC_PSA_ERROR_NOT_SUPPORTED);
    /* ...because the TPM's L includes the terminator: "lbl\0" is another label. */
    assert_int_equal(B->asymmetric_decrypt(S, &k.key, &alg, ct, ctlen, zlabel, sizeof(zlabel), &pt),
                     PARSEC_PSA_ERROR_INVALID_PADDING);
    /* Backend encryption with a label decrypts with the same label. */
    assert_int_equal(B->asymmetric_encrypt(S, &k.key, &alg, (const uint8_t *)"rt", 2, zlabel,
                                           sizeof(zlabel), &ct2),
                     PARSEC_SUCCESS);
    assert_int_equal(
        B->asymmetric_decrypt(S, &k.key, &alg, ct2.data, ct2.len, zlabel, sizeof(zlabel), &pt),
        PARSEC_SUCCESS);
    assert_int_equal(pt.len, 2);
    assert_memory_equal(pt.data, "rt", 2);
    psd_buf_clear(&pt);
    psd_buf_clear(&ct2);
    EVP_PKEY_free(pkey);
    tkey_free(&k);
}

/* ---- ECDH ---- */

static void test_ecdh(void **unused)
{
    tkey k;
    parsec_alg alg = alg_of(PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0);
    EVP_PKEY *peer = EVP_EC_gen("prime256v1"), *ours;
    EVP_PKEY_CTX *ctx;
    uint8_t point[65], expect[32];
    size_t plen = sizeof(point), elen = sizeof(expect);
    psd_buf z = {0};

    assert_int_equal(tkey_generate(&k, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_DERIVE, alg),
                     PARSEC_SUCCESS);
    assert_true(EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, point, plen, &plen));
    assert_int_equal(plen, 65);
    assert_int_equal(B->raw_key_agreement(S, &k.key, &alg, point, plen, &z), PARSEC_SUCCESS);
    assert_int_equal(z.len, 32);
    /* Same secret as OpenSSL derives from the peer's side. */
    ours = exported_pkey(&k);
    ctx = EVP_PKEY_CTX_new(peer, NULL);
    assert_true(EVP_PKEY_derive_init(ctx) > 0);
    assert_true(EVP_PKEY_derive_set_peer(ctx, ours) > 0);
    assert_true(EVP_PKEY_derive(ctx, expect, &elen) > 0);
    assert_int_equal(elen, 32);
    assert_memory_equal(z.data, expect, 32);
    psd_buf_clear(&z);
    /* A point off the curve, or of the wrong size. */
    point[64] ^= 1;
    assert_int_equal(B->raw_key_agreement(S, &k.key, &alg, point, plen, &z),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    assert_int_equal(B->raw_key_agreement(S, &k.key, &alg, point, 33, &z),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    assert_null(z.data);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(peer);
    tkey_free(&k);
}

/* ---- random ---- */

static void test_random(void **unused)
{
    psd_buf a = {0}, b = {0};
    static const size_t sizes[] = {0, 1, 48, 64, 65, 1000};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(B->generate_random(S, sizes[i], &a), PARSEC_SUCCESS);
        assert_int_equal(a.len, sizes[i]);
        psd_buf_clear(&a);
    }
    assert_int_equal(B->generate_random(S, 1000, &a), PARSEC_SUCCESS);
    assert_int_equal(B->generate_random(S, 1000, &b), PARSEC_SUCCESS);
    assert_memory_not_equal(a.data, b.data, 1000);
    psd_buf_clear(&a);
    psd_buf_clear(&b);
}

/* ---- imported public keys ---- */

static void test_import_public(void **unused)
{
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("secp384r1");
    unsigned char *der = NULL;
    int derlen = i2d_PublicKey(rsa, &der);
    uint8_t point[97], h[32], sig[512];
    size_t plen = sizeof(point), hlen = 32, siglen = sizeof(sig);
    tkey k;
    psd_buf out = {0};
    parsec_alg pss =
        alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256);
    EVP_PKEY_CTX *ctx;

    /* RSA: same DER back; verifies a signature OpenSSL made with the private key. */
    assert_true(derlen > 0);
    assert_int_equal(tkey_import(&k, PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 0, PARSEC_USAGE_VERIFY_HASH,
                                 pss, der, (size_t)derlen),
                     PARSEC_SUCCESS);
    assert_int_equal(B->export_public_key(S, &k.key, &out), PARSEC_SUCCESS);
    assert_int_equal(out.len, (size_t)derlen);
    assert_memory_equal(out.data, der, (size_t)derlen);
    psd_buf_clear(&out);
    digest("SHA256", "imported", h, &hlen);
    ctx = EVP_PKEY_CTX_new(rsa, NULL);
    assert_true(EVP_PKEY_sign_init(ctx) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0);
    assert_true(EVP_PKEY_sign(ctx, sig, &siglen, h, hlen) > 0);
    EVP_PKEY_CTX_free(ctx);
    assert_int_equal(B->verify_hash(S, &k.key, &pss, h, hlen, sig, siglen), PARSEC_SUCCESS);
    sig[0] ^= 1;
    assert_int_equal(B->verify_hash(S, &k.key, &pss, h, hlen, sig, siglen),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    /* A public key cannot sign or decrypt. */
    assert_int_equal(B->sign_hash(S, &k.key, &pss, h, hlen, &out), PARSEC_PSA_ERROR_NOT_PERMITTED);
    tkey_free(&k);
    /* Wrong declared size, and garbage. */
    assert_int_equal(tkey_import(&k, PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 3072, PARSEC_USAGE_VERIFY_HASH,
                                 pss, der, (size_t)derlen),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    tkey_free(&k);
    assert_int_equal(tkey_import(&k, PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 0, PARSEC_USAGE_VERIFY_HASH,
                                 pss, der, (size_t)derlen - 3),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    tkey_free(&k);
    /* A key pair cannot be imported into a TPM-only backend. */
    assert_int_equal(tkey_import(&k, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 0, PARSEC_USAGE_SIGN_HASH, pss,
                                 der, (size_t)derlen),
                     PARSEC_PSA_ERROR_NOT_SUPPORTED);
    tkey_free(&k);

    /* EC P-384 point. */
    assert_true(EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, point, plen, &plen));
    assert_int_equal(
        tkey_import(&k, PARSEC_KEY_TYPE_ECC_PUBLIC_KEY, 384, PARSEC_USAGE_VERIFY_HASH,
                    alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256),
                    point, plen),
        PARSEC_SUCCESS);
    assert_int_equal(B->export_public_key(S, &k.key, &out), PARSEC_SUCCESS);
    assert_int_equal(out.len, plen);
    assert_memory_equal(out.data, point, plen);
    psd_buf_clear(&out);
    tkey_free(&k);
    point[plen - 1] ^= 1; /* off the curve */
    assert_int_equal(tkey_import(&k, PARSEC_KEY_TYPE_ECC_PUBLIC_KEY, 384, PARSEC_USAGE_VERIFY_HASH,
                                 alg_of(PARSEC_ALG_NONE, 0, 0), point, plen),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    tkey_free(&k);
    OPENSSL_free(der);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

/* ---- blobs ---- */

static void test_bad_blobs(void **unused)
{
    tkey k;
    parsec_alg alg =
        alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    uint8_t h[32] = {0};
    psd_buf sig = {0};
    psd_key bad;
    uint8_t *copy;
    parsec_status st;

    assert_int_equal(
        tkey_generate(&k, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH, alg),
        PARSEC_SUCCESS);
    copy = malloc(k.blob.len);
    memcpy(copy, k.blob.data, k.blob.len);
    bad = k.key;
    bad.blob = copy;
    /* Truncated. */
    bad.blob_len = k.blob.len - 1;
    assert_int_equal(B->sign_hash(S, &bad, &alg, h, 32, &sig), PARSEC_PSA_ERROR_DATA_CORRUPT);
    assert_int_equal(B->export_public_key(S, &bad, &sig), PARSEC_PSA_ERROR_DATA_CORRUPT);
    /* Unknown version. */
    bad.blob_len = k.blob.len;
    copy[4] = 99;
    assert_int_equal(B->sign_hash(S, &bad, &alg, h, 32, &sig), PARSEC_PSA_ERROR_DATA_CORRUPT);
    copy[4] = k.blob.data[4];
    /* Private part damaged: the TPM's integrity check refuses it. */
    copy[k.blob.len - 5] ^= 0x40;
    bad.id = 999999; /* not in the loaded-key cache */
    st = B->sign_hash(S, &bad, &alg, h, 32, &sig);
    assert_true(st == PARSEC_PSA_ERROR_DATA_INVALID || st == PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    assert_null(sig.data);
    /* Attributes that do not match the blob. */
    {
        parsec_key_attributes other = k.attrs;
        psd_key mismatch = k.key;
        other.type = PARSEC_KEY_TYPE_RSA_KEY_PAIR;
        other.bits = 2048;
        mismatch.attrs = &other;
        assert_int_equal(B->export_public_key(S, &mismatch, &sig), PARSEC_PSA_ERROR_DATA_CORRUPT);
    }
    /* The good key still works after all that. */
    assert_int_equal(B->sign_hash(S, &k.key, &alg, h, 32, &sig), PARSEC_SUCCESS);
    psd_buf_clear(&sig);
    free(copy);
    tkey_free(&k);
}

/* ---- object slots ---- */

static void test_many_keys(void **unused)
{
    enum { N = 24 };
    tkey keys[N];
    parsec_alg alg =
        alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    uint8_t h[32];
    psd_buf sig = {0};

    /* Far more keys than the TPM's 3 object slots, used in an order that defeats any cache. */
    for (int i = 0; i < N; i++)
        assert_int_equal(
            tkey_generate(&keys[i], PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH, alg),
            PARSEC_SUCCESS);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            int j = round == 1 ? N - 1 - i : (i * 7) % N;
            memset(h, j, sizeof(h));
            assert_int_equal(B->sign_hash(S, &keys[j].key, &alg, h, 32, &sig), PARSEC_SUCCESS);
            assert_int_equal(B->verify_hash(S, &keys[j].key, &alg, h, 32, sig.data, sig.len),
                             PARSEC_SUCCESS);
            psd_buf_clear(&sig);
        }
    }
    for (int i = 0; i < N; i++)
        tkey_free(&keys[i]);
}

struct thread_arg {
    tkey *key;
    int failures;
};

static void *signer(void *p)
{
    struct thread_arg *t = p;
    parsec_alg alg = t->key->attrs.alg;

    for (int i = 0; i < 15; i++) {
        uint8_t h[32];
        psd_buf sig = {0};
        RAND_bytes(h, sizeof(h));
        if (B->sign_hash(S, &t->key->key, &alg, h, 32, &sig) != PARSEC_SUCCESS ||
            B->verify_hash(S, &t->key->key, &alg, h, 32, sig.data, sig.len) != PARSEC_SUCCESS)
            t->failures++;
        psd_buf_clear(&sig);
    }
    return NULL;
}

static void test_threads(void **unused)
{
    enum { T = 6 };
    tkey keys[T];
    pthread_t th[T];
    struct thread_arg args[T];

    for (int i = 0; i < T; i++) {
        assert_int_equal(tkey_generate(&keys[i], PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256,
                                       PARSEC_USAGE_SIGN_HASH,
                                       alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA,
                                              PARSEC_HASH_SHA_256)),
                         PARSEC_SUCCESS);
        args[i].key = &keys[i];
        args[i].failures = 0;
    }
    for (int i = 0; i < T; i++)
        pthread_create(&th[i], NULL, signer, &args[i]);
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    for (int i = 0; i < T; i++)
        tkey_free(&keys[i]);
}

/* ---- persistence, restarts, leftovers ---- */

static void test_survives_restarts(void **unused)
{
    tkey k;
    parsec_alg alg =
        alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_SHA_256);
    uint8_t h[32] = {7};
    psd_buf sig1 = {0}, sig2 = {0}, pub1 = {0}, pub2 = {0};
    char err[512];

    assert_int_equal(
        tkey_generate(&k, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048, PARSEC_USAGE_SIGN_HASH, alg),
        PARSEC_SUCCESS);
    assert_int_equal(B->sign_hash(S, &k.key, &alg, h, 32, &sig1), PARSEC_SUCCESS);
    assert_int_equal(B->export_public_key(S, &k.key, &pub1), PARSEC_SUCCESS);

    /* New backend instance (parsecd restarted): same blob, same key. */
    B->fini(S);
    S = NULL;
    assert_int_equal(backend_init(&S, sim_tcti, NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(B->sign_hash(S, &k.key, &alg, h, 32, &sig2), PARSEC_SUCCESS);
    assert_int_equal(sig1.len, sig2.len); /* PKCS#1 v1.5 is deterministic */
    assert_memory_equal(sig1.data, sig2.data, sig1.len);
    psd_buf_clear(&sig2);

    /* swtpm restarted with its state kept, under the running backend: it reconnects. */
    sim_stop();
    assert_int_equal(sim_start(), 0);
    assert_int_equal(B->sign_hash(S, &k.key, &alg, h, 32, &sig2), PARSEC_SUCCESS);
    assert_memory_equal(sig1.data, sig2.data, sig1.len);
    psd_buf_clear(&sig2);

    /* swtpm down: a clear communication failure, then recovery once it is back. */
    sim_stop();
    assert_int_equal(B->sign_hash(S, &k.key, &alg, h, 32, &sig2),
                     PARSEC_PSA_ERROR_COMMUNICATION_FAILURE);
    assert_int_equal(sim_start(), 0);
    assert_int_equal(B->sign_hash(S, &k.key, &alg, h, 32, &sig2), PARSEC_SUCCESS);
    assert_int_equal(B->export_public_key(S, &k.key, &pub2), PARSEC_SUCCESS);
    assert_int_equal(pub1.len, pub2.len);
    assert_memory_equal(pub1.data, pub2.data, pub1.len);
    psd_buf_clear(&sig1);
    psd_buf_clear(&sig2);
    psd_buf_clear(&pub1);
    psd_buf_clear(&pub2);
    tkey_free(&k);
}

static void test_killed_user_leftovers(void **unused)
{
    char err[512];
    pid_t pid;
    int status;
    tkey k;
    parsec_alg alg =
        alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    uint8_t h[32] = {3};
    psd_buf sig = {0};

    /* A process fills every object slot and dies without flushing anything. */
    B->fini(S);
    S = NULL;
    pid = fork();
    if (pid == 0) {
        tkey keys[4];
        if (backend_init(&S, sim_tcti, NULL, 0, err, sizeof(err)) != 0)
            _exit(2);
        for (int i = 0; i < 4; i++) {
            psd_buf s = {0};
            if (tkey_generate(&keys[i], PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH,
                              alg) != PARSEC_SUCCESS ||
                B->sign_hash(S, &keys[i].key, &alg, h, 32, &s) != PARSEC_SUCCESS)
                _exit(3);
        }
        {
            /* And a session of its own, never flushed. */
            TSS2_TCTI_CONTEXT *tcti = NULL;
            ESYS_CONTEXT *esys = NULL;
            ESYS_TR session;
            TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
            if (Tss2_TctiLdr_Initialize(sim_tcti, &tcti) != TSS2_RC_SUCCESS ||
                Esys_Initialize(&esys, tcti, NULL) != TSS2_RC_SUCCESS ||
                Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                      ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256,
                                      &session) != TSS2_RC_SUCCESS)
                _exit(4);
        }
        _exit(0); /* no fini: objects and the session stay loaded in swtpm */
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* The next start-up flushes them and works normally. */
    assert_int_equal(backend_init(&S, sim_tcti, NULL, 0, err, sizeof(err)), 0);
    {
        TSS2_TCTI_CONTEXT *tcti = NULL;
        ESYS_CONTEXT *esys = NULL;
        TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more;
        assert_int_equal(Tss2_TctiLdr_Initialize(sim_tcti, &tcti), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_Initialize(&esys, tcti, NULL), TSS2_RC_SUCCESS);
        assert_int_equal(Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                            TPM2_CAP_HANDLES, PSD_TEST_LOADED_SESSION_FIRST, 16,
                                            &more, &cap),
                         TSS2_RC_SUCCESS);
        assert_int_equal(cap->data.handles.count, 0);
        Esys_Free(cap);
        assert_int_equal(Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                            TPM2_CAP_HANDLES, PSD_TEST_TRANSIENT_FIRST, 16, &more,
                                            &cap),
                         TSS2_RC_SUCCESS);
        assert_int_equal(cap->data.handles.count, 1); /* the new primary only */
        Esys_Free(cap);
        Esys_Finalize(&esys);
        Tss2_TctiLdr_Finalize(&tcti);
    }
    assert_int_equal(
        tkey_generate(&k, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH, alg),
        PARSEC_SUCCESS);
    assert_int_equal(B->sign_hash(S, &k.key, &alg, h, 32, &sig), PARSEC_SUCCESS);
    psd_buf_clear(&sig);
    tkey_free(&k);
}

/* ---- key attestation (ActivateCredential) ---- */

/*
 * What a verifier does with PrepareKeyAttestation's output: TPM2_MakeCredential
 * with the EK's public key and the key's name (on this swtpm, through a
 * connection of its own; the backend steps aside so the object slots are free).
 */
static void make_credential(const psd_buf *ekpub, const uint8_t *name, size_t namelen,
                            const TPM2B_DIGEST *secret_cred, TPM2B_ID_OBJECT **blob,
                            TPM2B_ENCRYPTED_SECRET **secret)
{
    static const uint8_t ek_policy[32] = {0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8,
                                          0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5, 0xD7, 0x24,
                                          0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64,
                                          0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA};
    const unsigned char *p = ekpub->data;
    EVP_PKEY *ek = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)ekpub->len);
    BIGNUM *n = NULL;
    TSS2_TCTI_CONTEXT *tcti = NULL;
    ESYS_CONTEXT *esys = NULL;
    ESYS_TR h = ESYS_TR_NONE;
    TPM2B_PUBLIC pub = {0};
    TPM2B_NAME objname = {0};
    TPMS_RSA_PARMS *rp = &pub.publicArea.parameters.rsaDetail;

    assert_non_null(ek);
    assert_int_equal(EVP_PKEY_get_bits(ek), 2048);
    assert_true(EVP_PKEY_get_bn_param(ek, OSSL_PKEY_PARAM_RSA_N, &n));
    /* The TCG default EK template (L-1) with this modulus. */
    pub.publicArea.type = TPM2_ALG_RSA;
    pub.publicArea.nameAlg = TPM2_ALG_SHA256;
    pub.publicArea.objectAttributes =
        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
        TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    pub.publicArea.authPolicy.size = 32;
    memcpy(pub.publicArea.authPolicy.buffer, ek_policy, 32);
    rp->symmetric.algorithm = TPM2_ALG_AES;
    rp->symmetric.keyBits.aes = 128;
    rp->symmetric.mode.aes = TPM2_ALG_CFB;
    rp->scheme.scheme = TPM2_ALG_NULL;
    rp->keyBits = 2048;
    pub.publicArea.unique.rsa.size = 256;
    BN_bn2binpad(n, pub.publicArea.unique.rsa.buffer, 256);
    objname.size = (UINT16)namelen;
    memcpy(objname.name, name, namelen);

    assert_int_equal(Tss2_TctiLdr_Initialize(sim_tcti, &tcti), TSS2_RC_SUCCESS);
    assert_int_equal(Esys_Initialize(&esys, tcti, NULL), TSS2_RC_SUCCESS);
    assert_int_equal(Esys_LoadExternal(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, &pub,
                                       ESYS_TR_RH_NULL, &h),
                     TSS2_RC_SUCCESS);
    assert_int_equal(Esys_MakeCredential(esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                         secret_cred, &objname, blob, secret),
                     TSS2_RC_SUCCESS);
    Esys_FlushContext(esys, h);
    Esys_Finalize(&esys);
    Tss2_TctiLdr_Finalize(&tcti);
    BN_free(n);
    EVP_PKEY_free(ek);
}

static void test_key_attestation(void **unused)
{
    tkey k, other;
    psd_buf name = {0}, pub = {0}, ekpub = {0}, cred = {0}, point = {0}, x = {0}, y = {0};
    uint8_t h[32];
    TPMT_PUBLIC area;
    size_t off = 0;
    TPM2B_DIGEST secret_cred = {.size = 16};
    TPM2B_ID_OBJECT *blob = NULL, *blob2 = NULL;
    TPM2B_ENCRYPTED_SECRET *secret = NULL, *secret2 = NULL;
    char err[512];

    assert_true(has_op(PARSEC_OP_PREPARE_KEY_ATTESTATION));
    assert_true(has_op(PARSEC_OP_ATTEST_KEY));
    assert_int_equal(tkey_generate(&k, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH,
                                   alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA,
                                          PARSEC_HASH_SHA_256)),
                     PARSEC_SUCCESS);
    assert_int_equal(tkey_generate(&other, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256,
                                   PARSEC_USAGE_SIGN_HASH,
                                   alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA,
                                          PARSEC_HASH_SHA_256)),
                     PARSEC_SUCCESS);
    assert_int_equal(B->prepare_key_attestation(S, &k.key, NULL, &name, &pub, &ekpub),
                     PARSEC_SUCCESS);
    assert_int_equal(B->prepare_key_attestation(S, &k.key, &other.key, &x, &y, &point),
                     PARSEC_PSA_ERROR_NOT_SUPPORTED);

    /* name = nameAlg (SHA-256) || SHA-256(public): the verifier can check it. */
    assert_int_equal(name.len, 34);
    assert_int_equal(name.data[0], 0x00);
    assert_int_equal(name.data[1], 0x0B);
    assert_true(EVP_Q_digest(NULL, "SHA256", NULL, pub.data, pub.len, h, NULL));
    assert_memory_equal(name.data + 2, h, 32);
    /* public is the key's TPMT_PUBLIC: a TPM-made, never-exported key, with our point. */
    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Unmarshal(pub.data, pub.len, &off, &area),
                     TSS2_RC_SUCCESS);
    assert_int_equal(off, pub.len);
    assert_int_equal(area.type, TPM2_ALG_ECC);
    assert_true(area.objectAttributes & TPMA_OBJECT_FIXEDTPM);
    assert_true(area.objectAttributes & TPMA_OBJECT_SENSITIVEDATAORIGIN);
    assert_int_equal(B->export_public_key(S, &k.key, &point), PARSEC_SUCCESS);
    assert_memory_equal(point.data + 1, area.unique.ecc.x.buffer, 32);
    assert_memory_equal(point.data + 33, area.unique.ecc.y.buffer, 32);

    /* The verifier makes a credential for this key's name, and one for another name. */
    RAND_bytes(secret_cred.buffer, 16);
    B->fini(S);
    S = NULL;
    make_credential(&ekpub, name.data, name.len, &secret_cred, &blob, &secret);
    name.data[33] ^= 1;
    make_credential(&ekpub, name.data, name.len, &secret_cred, &blob2, &secret2);
    assert_int_equal(backend_init(&S, sim_tcti, NULL, 0, err, sizeof(err)), 0);

    /* Only the attested key in this TPM recovers the credential. */
    assert_int_equal(B->attest_key(S, &k.key, NULL, blob->credential, blob->size, secret->secret,
                                   secret->size, &cred),
                     PARSEC_SUCCESS);
    assert_int_equal(cred.len, 16);
    assert_memory_equal(cred.data, secret_cred.buffer, 16);
    psd_buf_clear(&cred);
    assert_int_equal(B->attest_key(S, &other.key, NULL, blob->credential, blob->size,
                                   secret->secret, secret->size, &cred),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    assert_int_equal(B->attest_key(S, &k.key, NULL, blob2->credential, blob2->size, secret2->secret,
                                   secret2->size, &cred),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    assert_int_equal(B->attest_key(S, &k.key, NULL, blob->credential, blob->size, NULL, 0, &cred),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    assert_null(cred.data);
    /* The key still signs afterwards (slots and sessions given back). */
    {
        psd_buf sig = {0};
        assert_int_equal(B->sign_hash(S, &k.key, &k.attrs.alg, h, 32, &sig), PARSEC_SUCCESS);
        psd_buf_clear(&sig);
    }
    Esys_Free(blob);
    Esys_Free(blob2);
    Esys_Free(secret);
    Esys_Free(secret2);
    psd_buf_clear(&name);
    psd_buf_clear(&pub);
    psd_buf_clear(&ekpub);
    psd_buf_clear(&point);
    tkey_free(&k);
    tkey_free(&other);
}

/* ---- a persistent storage key as parent (primary_handle) ---- */

/* Make (or remove, persist = 0) the TCG ECC SRK at handle, with an ESYS of our own. */
static void srk_persist(TPM2_HANDLE handle, int persist)
{
    TSS2_TCTI_CONTEXT *tcti = NULL;
    ESYS_CONTEXT *esys = NULL;
    ESYS_TR prim = ESYS_TR_NONE, out = ESYS_TR_NONE;
    TPM2B_PUBLIC t = {0};
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPMS_ECC_PARMS *p = &t.publicArea.parameters.eccDetail;

    assert_int_equal(Tss2_TctiLdr_Initialize(sim_tcti, &tcti), TSS2_RC_SUCCESS);
    assert_int_equal(Esys_Initialize(&esys, tcti, NULL), TSS2_RC_SUCCESS);
    if (persist) {
        t.publicArea.type = TPM2_ALG_ECC;
        t.publicArea.nameAlg = TPM2_ALG_SHA256;
        t.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                        TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                        TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED |
                                        TPMA_OBJECT_DECRYPT;
        p->symmetric.algorithm = TPM2_ALG_AES;
        p->symmetric.keyBits.aes = 128;
        p->symmetric.mode.aes = TPM2_ALG_CFB;
        p->scheme.scheme = TPM2_ALG_NULL;
        p->curveID = TPM2_ECC_NIST_P256;
        p->kdf.scheme = TPM2_ALG_NULL;
        t.publicArea.unique.ecc.x.size = 32;
        t.publicArea.unique.ecc.y.size = 32;
        assert_int_equal(Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                            ESYS_TR_NONE, &sens, &t, &outside, &pcrs, &prim, NULL,
                                            NULL, NULL, NULL),
                         TSS2_RC_SUCCESS);
    } else {
        assert_int_equal(
            Esys_TR_FromTPMPublic(esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &prim),
            TSS2_RC_SUCCESS);
    }
    assert_int_equal(Esys_EvictControl(esys, ESYS_TR_RH_OWNER, prim, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                       ESYS_TR_NONE, handle, &out),
                     TSS2_RC_SUCCESS);
    if (persist)
        Esys_FlushContext(esys, prim);
    Esys_Finalize(&esys);
    Tss2_TctiLdr_Finalize(&tcti);
}

static void test_persistent_primary(void **unused)
{
    psd_setting persistent[] = {{"primary_handle", "0x81000010"}};
    parsec_alg alg =
        alg_of(PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    tkey before, during;
    uint8_t h[32] = {9};
    psd_buf sig = {0};
    char err[512];

    /* A key made under the transient primary (same SRK template, same seed)... */
    assert_int_equal(
        tkey_generate(&before, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH, alg),
        PARSEC_SUCCESS);
    B->fini(S);
    S = NULL;
    srk_persist(0x81000010, 1);
    assert_int_equal(backend_init(&S, sim_tcti, persistent, 1, err, sizeof(err)), 0);
    /* ...loads under the persistent copy of that SRK; new keys work too. */
    assert_int_equal(B->sign_hash(S, &before.key, &alg, h, 32, &sig), PARSEC_SUCCESS);
    psd_buf_clear(&sig);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(
            tkey_generate(&during, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH, alg),
            PARSEC_SUCCESS);
        assert_int_equal(B->sign_hash(S, &during.key, &alg, h, 32, &sig), PARSEC_SUCCESS);
        assert_int_equal(B->verify_hash(S, &during.key, &alg, h, 32, sig.data, sig.len),
                         PARSEC_SUCCESS);
        psd_buf_clear(&sig);
        tkey_free(&during);
    }
    B->fini(S);
    S = NULL;
    srk_persist(0x81000010, 0);
    assert_int_equal(backend_init(&S, sim_tcti, NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(B->sign_hash(S, &before.key, &alg, h, 32, &sig), PARSEC_SUCCESS);
    psd_buf_clear(&sig);
    tkey_free(&before);
}

/* ---- main ---- */

static int group_setup(void **unused)
{
    char err[512];

    if (sim_setup() != 0)
        return -1;
    if (backend_init(&S, sim_tcti, NULL, 0, err, sizeof(err)) != 0) {
        fprintf(stderr, "backend init failed: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **unused)
{
    if (S)
        B->fini(S);
    S = NULL;
    sim_teardown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unreachable_tcti),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_opcodes_and_attributes),
        cmocka_unit_test(test_sign_ecdsa_p256),
        cmocka_unit_test(test_sign_ecdsa_p384),
        cmocka_unit_test(test_sign_ecdsa_p256_sha384),
        cmocka_unit_test(test_sign_rsa_pkcs1),
        cmocka_unit_test(test_sign_rsa_pss),
        cmocka_unit_test(test_sign_rsa3072_pss_sha384),
        cmocka_unit_test(test_sign_wildcard_policy),
        cmocka_unit_test(test_rsa_decrypt_pkcs1),
        cmocka_unit_test(test_rsa_decrypt_oaep),
        cmocka_unit_test(test_ecdh),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_import_public),
        cmocka_unit_test(test_bad_blobs),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_key_attestation),
        cmocka_unit_test(test_rsa_primary),
        cmocka_unit_test(test_persistent_primary),
        cmocka_unit_test(test_survives_restarts),
        cmocka_unit_test(test_killed_user_leftovers),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("tpm backend", tests, group_setup, group_teardown);
}
