/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit test of parsecd's PKCS#11 backend: calls psd_pkcs11_backend directly
 * against a real SoftHSM2 token created in a temporary directory, and checks
 * every result with OpenSSL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "psd_p11.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define USER_PIN "4321-user"
#define SO_PIN "8765-so"

static char g_dir[256];
static char g_pin_file[300];
static char g_bad_pin_file[300];

static const psd_backend_ops *B = &psd_pkcs11_backend;

/* ---- environment ---- */

static int run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int group_setup(void **state)
{
    char conf[300], text[600];
    const char *tmp = getenv("TMPDIR");

    snprintf(g_dir, sizeof(g_dir), "%s/psd-p11-unit-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL)
        return -1;
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", g_dir);
    snprintf(text, sizeof(text),
             "directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n",
             g_dir);
    write_file(conf, text);
    setenv("SOFTHSM2_CONF", conf, 1);
    if (run("mkdir -p '%s/tokens' && softhsm2-util --init-token --free --label parsec "
            "--pin '%s' --so-pin '%s' >/dev/null",
            g_dir, USER_PIN, SO_PIN) != 0) {
        fprintf(stderr, "softhsm2-util --init-token failed\n");
        return -1;
    }
    /* A second token to test selection. */
    if (run("softhsm2-util --init-token --free --label other --pin 1111 --so-pin 2222 "
            ">/dev/null") != 0)
        return -1;
    snprintf(g_pin_file, sizeof(g_pin_file), "%s/pin", g_dir);
    write_file(g_pin_file, USER_PIN "\n");
    snprintf(g_bad_pin_file, sizeof(g_bad_pin_file), "%s/badpin", g_dir);
    write_file(g_bad_pin_file, "0000-wrong\n");
    return 0;
}

static int group_teardown(void **state)
{
    if (getenv("PSD_KEEP_TESTDIR") == NULL && g_dir[0] != '\0')
        run("rm -rf '%s'", g_dir);
    return 0;
}

/* ---- backend start-up ---- */

static int init_with(void **st, char *err, size_t errlen, const psd_setting *items, size_t n)
{
    psd_settings s = {items, n, g_dir};

    err[0] = '\0';
    return B->init(st, &s, err, errlen);
}

static void *init_ok(void)
{
    const psd_setting items[] = {
        {"module", SOFTHSM_MODULE},
        {"token_uri", "pkcs11:token=parsec"},
        {"pin_file", "pin"}, /* relative to the config directory */
        {"sessions", "4"},
    };
    char err[512];
    void *st = NULL;
    int rc = init_with(&st, err, sizeof(err), items, 4);

    if (rc != 0)
        fail_msg("init failed: %s", err);
    return st;
}

/* ---- keys ---- */

typedef struct tkey {
    psd_key k;
    parsec_key_attributes a;
    psd_buf blob;
    char name[64];
} tkey;

static uint64_t g_next_id = 1;

static void tkey_attrs(tkey *t, uint8_t type, uint32_t bits, uint32_t usage, uint8_t kind,
                       uint8_t scheme, uint8_t hash)
{
    memset(t, 0, sizeof(*t));
    t->a.type = type;
    t->a.ecc_family =
        (type == PARSEC_KEY_TYPE_ECC_KEY_PAIR || type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY)
            ? PARSEC_ECC_FAMILY_SECP_R1
            : 0;
    t->a.bits = bits;
    t->a.usage = usage;
    t->a.alg.kind = kind;
    t->a.alg.scheme = scheme;
    t->a.alg.hash = hash;
    t->k.id = g_next_id++;
    snprintf(t->name, sizeof(t->name), "unit-key-%llu", (unsigned long long)t->k.id);
    t->k.name = t->name;
    t->k.attrs = &t->a;
}

static void tkey_done(tkey *t)
{
    t->k.blob = t->blob.data;
    t->k.blob_len = t->blob.len;
}

static parsec_status tkey_generate(void *st, tkey *t)
{
    parsec_status s = B->check_attributes(st, &t->a);

    if (s != PARSEC_SUCCESS)
        return s;
    s = B->generate_key(st, t->k.id, t->name, &t->a, &t->blob);
    tkey_done(t);
    return s;
}

static void tkey_free(tkey *t)
{
    psd_buf_clear(&t->blob);
}

static const uint32_t SIGN_VERIFY = PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH |
                                    PARSEC_USAGE_SIGN_MESSAGE | PARSEC_USAGE_VERIFY_MESSAGE;
static const uint32_t ENC_DEC = PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT;

/* ---- OpenSSL helpers ---- */

static EVP_PKEY *pub_from_export(const tkey *t, const psd_buf *pub)
{
    EVP_PKEY *pkey = NULL;

    if (t->a.type == PARSEC_KEY_TYPE_RSA_KEY_PAIR || t->a.type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY) {
        const unsigned char *p = pub->data;
        size_t left = pub->len;
        OSSL_DECODER_CTX *d = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "type-specific", "RSA",
                                                            EVP_PKEY_PUBLIC_KEY, NULL, NULL);

        assert_non_null(d);
        assert_true(OSSL_DECODER_from_data(d, &p, &left));
        assert_int_equal(left, 0);
        OSSL_DECODER_CTX_free(d);
    } else {
        const char *group = t->a.bits == 256 ? "P-256" : t->a.bits == 384 ? "P-384" : "P-521";
        OSSL_PARAM params[] = {
            OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
            OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub->data, pub->len),
            OSSL_PARAM_END,
        };
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

        assert_non_null(c);
        assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
        assert_int_equal(EVP_PKEY_fromdata(c, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
        EVP_PKEY_CTX_free(c);
    }
    assert_non_null(pkey);
    return pkey;
}

static EVP_PKEY *export_pub(void *st, const tkey *t)
{
    psd_buf pub = {0};
    EVP_PKEY *pkey;

    assert_int_equal(B->export_public_key(st, &t->k, &pub), PARSEC_SUCCESS);
    pkey = pub_from_export(t, &pub);
    psd_buf_clear(&pub);
    return pkey;
}

static void sha(const char *name, const char *msg, uint8_t *out, size_t *len)
{
    unsigned int n = 0;

    assert_int_equal(EVP_Digest(msg, strlen(msg), out, &n, EVP_get_digestbyname(name), NULL), 1);
    *len = n;
}

/* OpenSSL's verdict on a Parsec-format signature. */
static int ossl_verify(EVP_PKEY *pkey, const parsec_alg *alg, const uint8_t *hash, size_t hlen,
                       const uint8_t *sig, size_t siglen)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);
    const EVP_MD *md = NULL;
    unsigned char *der = NULL;
    int ok;

    assert_non_null(c);
    assert_int_equal(EVP_PKEY_verify_init(c), 1);
    if (alg->hash == PARSEC_HASH_SHA_256)
        md = EVP_sha256();
    else if (alg->hash == PARSEC_HASH_SHA_384)
        md = EVP_sha384();
    else if (alg->hash == PARSEC_HASH_SHA_512)
        md = EVP_sha512();
    else if (alg->hash == PARSEC_HASH_SHA_1)
        md = EVP_sha1();
    if (alg->scheme == PARSEC_SIGN_RSA_PKCS1V15) {
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
        EVP_PKEY_CTX_set_signature_md(c, md);
    } else if (alg->scheme == PARSEC_SIGN_RSA_PSS) {
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_signature_md(c, md);
        EVP_PKEY_CTX_set_rsa_mgf1_md(c, md);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST);
    } else {
        ECDSA_SIG *es = ECDSA_SIG_new();
        int len;

        ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)siglen / 2, NULL),
                       BN_bin2bn(sig + siglen / 2, (int)siglen / 2, NULL));
        len = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        assert_true(len > 0);
        sig = der;
        siglen = (size_t)len;
    }
    ok = EVP_PKEY_verify(c, sig, siglen, hash, hlen) == 1;
    OPENSSL_free(der);
    EVP_PKEY_CTX_free(c);
    return ok;
}

/* ---- tests: start-up ---- */

static void test_init_errors(void **unused)
{
    char err[512];
    void *st = NULL;

    {
        const psd_setting items[] = {{"module", "/nonexistent/libnothing.so"}, {"pin_file", "pin"}};
        assert_int_not_equal(init_with(&st, err, sizeof(err), items, 2), 0);
        assert_non_null(strstr(err, "not found"));
        assert_non_null(strstr(err, "/nonexistent/libnothing.so"));
    }
    {
        const psd_setting items[] = {{"module", "no-such-registered-module"}, {"pin_file", "pin"}};
        assert_int_not_equal(init_with(&st, err, sizeof(err), items, 2), 0);
        assert_non_null(strstr(err, "not found"));
    }
    {
        const psd_setting items[] = {
            {"module", SOFTHSM_MODULE}, {"token_uri", "pkcs11:token=missing"}, {"pin_file", "pin"}};
        assert_int_not_equal(init_with(&st, err, sizeof(err), items, 3), 0);
        assert_non_null(strstr(err, "no token"));
        assert_non_null(strstr(err, "'parsec'")); /* lists what is there */
    }
    {
        /* Two tokens and no selection: ambiguous. */
        const psd_setting items[] = {{"module", SOFTHSM_MODULE}, {"pin_file", "pin"}};
        assert_int_not_equal(init_with(&st, err, sizeof(err), items, 2), 0);
        assert_non_null(strstr(err, "token_uri"));
    }
    {
        const psd_setting items[] = {
            {"module", SOFTHSM_MODULE}, {"token_uri", "not a uri"}, {"pin_file", "pin"}};
        assert_int_not_equal(init_with(&st, err, sizeof(err), items, 3), 0);
        assert_non_null(strstr(err, "token_uri"));
    }
    {
        const psd_setting items[] = {{"module", SOFTHSM_MODULE},
                                     {"token_uri", "pkcs11:token=parsec"}};
        assert_int_not_equal(init_with(&st, err, sizeof(err), items, 2), 0);
        assert_non_null(strstr(err, "PIN"));
    }
    {
        const psd_setting items[] = {{"module", SOFTHSM_MODULE},
                                     {"token_uri", "pkcs11:token=parsec"},
                                     {"pin_file", "no-such-pin-file"}};
        assert_int_not_equal(init_with(&st, err, sizeof(err), items, 3), 0);
        assert_non_null(strstr(err, "no-such-pin-file"));
    }
    {
        const psd_setting items[] = {{"module", SOFTHSM_MODULE}, {"tokn_uri", "x"}};
        assert_int_not_equal(init_with(&st, err, sizeof(err), items, 2), 0);
        assert_non_null(strstr(err, "tokn_uri"));
    }
    assert_null(st);
}

static void test_wrong_pin_does_not_lock(void **unused)
{
    const psd_setting bad[] = {{"module", SOFTHSM_MODULE},
                               {"token_uri", "pkcs11:token=parsec"},
                               {"pin_file", g_bad_pin_file}};
    char err[512];
    void *st = NULL;
    int i;

    for (i = 0; i < 6; i++) {
        assert_int_not_equal(init_with(&st, err, sizeof(err), bad, 3), 0);
        assert_non_null(strstr(err, "CKR_PIN_INCORRECT"));
        assert_null(strstr(err, "0000-wrong")); /* never the PIN itself */
    }
    st = init_ok();
    B->fini(st);
}

static void test_module_by_name_and_slot(void **unused)
{
    const psd_setting byname[] = {
        {"module", "softhsm2"},
        {"token_uri", "pkcs11:token=parsec;manufacturer=SoftHSM%20project"},
        {"pin", USER_PIN},
    };
    char err[512], slot[32];
    void *st = NULL;
    psd_p11 *p;

    if (init_with(&st, err, sizeof(err), byname, 3) != 0)
        fail_msg("init by p11-kit module name: %s", err);
    p = st;
    assert_string_equal(p->token_label, "parsec");
    snprintf(slot, sizeof(slot), "%lu", (unsigned long)p->slot);
    B->fini(st);

    {
        const psd_setting byslot[] = {
            {"module", SOFTHSM_MODULE}, {"slot", slot}, {"pin", USER_PIN}};
        if (init_with(&st, err, sizeof(err), byslot, 3) != 0)
            fail_msg("init by slot: %s", err);
        assert_string_equal(((psd_p11 *)st)->token_label, "parsec");
        B->fini(st);
    }
    {
        const psd_setting noslot[] = {
            {"module", SOFTHSM_MODULE}, {"slot", "987654"}, {"pin", USER_PIN}};
        assert_int_not_equal(init_with(&st, err, sizeof(err), noslot, 3), 0);
        assert_non_null(strstr(err, "987654"));
    }
}

static int has_op(const uint32_t *ops, size_t n, uint32_t op)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (ops[i] == op)
            return 1;
    return 0;
}

static void test_opcodes_and_capabilities(void **unused)
{
    void *st = init_ok();
    uint32_t ops[32];
    size_t n = B->opcodes(st, ops, 32);
    parsec_key_attributes a;

    assert_true(has_op(ops, n, PARSEC_OP_PSA_GENERATE_KEY));
    assert_true(has_op(ops, n, PARSEC_OP_PSA_SIGN_HASH));
    assert_true(has_op(ops, n, PARSEC_OP_PSA_VERIFY_HASH));
    assert_true(has_op(ops, n, PARSEC_OP_PSA_ASYMMETRIC_DECRYPT));
    assert_true(has_op(ops, n, PARSEC_OP_PSA_RAW_KEY_AGREEMENT));
    assert_true(has_op(ops, n, PARSEC_OP_PSA_GENERATE_RANDOM));
    assert_false(has_op(ops, n, PARSEC_OP_PSA_EXPORT_KEY));
    assert_false(has_op(ops, n, PARSEC_OP_PSA_HASH_COMPUTE));
    assert_null(B->export_key);
    assert_int_equal(B->provider_id, 2);

    memset(&a, 0, sizeof(a));
    a.type = PARSEC_KEY_TYPE_RSA_KEY_PAIR;
    a.bits = 2048;
    a.usage = SIGN_VERIFY;
    a.alg = (parsec_alg){PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_ANY};
    assert_int_equal(B->check_attributes(st, &a), PARSEC_SUCCESS);
    a.bits = 1000;
    assert_int_equal(B->check_attributes(st, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.bits = 2048;
    a.usage |= PARSEC_USAGE_EXPORT; /* would need an extractable key */
    assert_int_equal(B->check_attributes(st, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.usage = SIGN_VERIFY;
    a.alg.hash = PARSEC_HASH_SHA3_256;
    assert_int_equal(B->check_attributes(st, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.alg = (parsec_alg){PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    assert_int_equal(B->check_attributes(st, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);

    a.type = PARSEC_KEY_TYPE_ECC_KEY_PAIR;
    a.ecc_family = PARSEC_ECC_FAMILY_SECP_R1;
    a.bits = 384;
    assert_int_equal(B->check_attributes(st, &a), PARSEC_SUCCESS);
    a.alg = (parsec_alg){PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_DETERMINISTIC_ECDSA,
                         PARSEC_HASH_SHA_256};
    assert_int_equal(B->check_attributes(st, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.ecc_family = PARSEC_ECC_FAMILY_SECP_K1;
    a.alg = (parsec_alg){PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    assert_int_equal(B->check_attributes(st, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    a.type = PARSEC_KEY_TYPE_AES;
    a.bits = 128;
    assert_int_equal(B->check_attributes(st, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    B->fini(st);
}

/* ---- tests: signatures ---- */

static void sign_roundtrip(void *st, uint8_t type, uint32_t bits, uint8_t scheme, uint8_t hash,
                           const char *mdname)
{
    tkey t;
    psd_buf sig = {0};
    uint8_t h[64];
    size_t hlen = 0;
    EVP_PKEY *pub;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, scheme, hash};

    tkey_attrs(&t, type, bits, SIGN_VERIFY, PARSEC_ALG_ASYMMETRIC_SIGNATURE, scheme, hash);
    assert_int_equal(tkey_generate(st, &t), PARSEC_SUCCESS);
    sha(mdname, "message to sign", h, &hlen);
    assert_int_equal(B->sign_hash(st, &t.k, &alg, h, hlen, &sig), PARSEC_SUCCESS);
    if (type == PARSEC_KEY_TYPE_ECC_KEY_PAIR)
        assert_int_equal(sig.len, 2 * ((bits + 7) / 8));
    else
        assert_int_equal(sig.len, bits / 8);

    pub = export_pub(st, &t);
    assert_int_equal(EVP_PKEY_get_bits(pub), (int)bits);
    assert_true(ossl_verify(pub, &alg, h, hlen, sig.data, sig.len));
    assert_int_equal(B->verify_hash(st, &t.k, &alg, h, hlen, sig.data, sig.len), PARSEC_SUCCESS);
    sig.data[sig.len / 2] ^= 0x01;
    assert_int_equal(B->verify_hash(st, &t.k, &alg, h, hlen, sig.data, sig.len),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    assert_false(ossl_verify(pub, &alg, h, hlen, sig.data, sig.len));
    assert_int_equal(B->verify_hash(st, &t.k, &alg, h, hlen, sig.data, sig.len - 1),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);

    EVP_PKEY_free(pub);
    psd_buf_clear(&sig);
    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    tkey_free(&t);
}

static void test_sign_rsa(void **unused)
{
    void *st = init_ok();

    sign_roundtrip(st, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048, PARSEC_SIGN_RSA_PKCS1V15,
                   PARSEC_HASH_SHA_256, "SHA256");
    sign_roundtrip(st, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048, PARSEC_SIGN_RSA_PKCS1V15,
                   PARSEC_HASH_SHA_512, "SHA512");
    sign_roundtrip(st, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 3072, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256,
                   "SHA256");
    sign_roundtrip(st, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_384,
                   "SHA384");
    B->fini(st);
}

static void test_sign_rsa4096(void **unused)
{
    void *st = init_ok();

    sign_roundtrip(st, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 4096, PARSEC_SIGN_RSA_PKCS1V15,
                   PARSEC_HASH_SHA_256, "SHA256");
    B->fini(st);
}

static void test_sign_ecdsa(void **unused)
{
    void *st = init_ok();

    sign_roundtrip(st, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256,
                   "SHA256");
    sign_roundtrip(st, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 384, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_384,
                   "SHA384");
    sign_roundtrip(st, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 521, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_512,
                   "SHA512");
    B->fini(st);
}

static void test_sign_refused_without_usage(void **unused)
{
    void *st = init_ok();
    tkey t;
    psd_buf sig = {0};
    uint8_t h[32] = {1};
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};

    /* The core checks policy first; the token refuses too (CKA_SIGN=FALSE). */
    tkey_attrs(&t, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_VERIFY_HASH,
               PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    assert_int_equal(tkey_generate(st, &t), PARSEC_SUCCESS);
    assert_int_equal(B->sign_hash(st, &t.k, &alg, h, sizeof(h), &sig),
                     PARSEC_PSA_ERROR_NOT_PERMITTED);
    assert_null(sig.data);
    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    tkey_free(&t);
    B->fini(st);
}

/* ---- tests: encryption ---- */

static void ossl_encrypt(EVP_PKEY *pub, int oaep, const EVP_MD *md, const char *label,
                         const char *msg, uint8_t *out, size_t *outlen)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);

    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    if (oaep) {
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING);
        EVP_PKEY_CTX_set_rsa_oaep_md(c, md);
        EVP_PKEY_CTX_set_rsa_mgf1_md(c, md);
        if (label != NULL)
            EVP_PKEY_CTX_set0_rsa_oaep_label(c, OPENSSL_strdup(label), (int)strlen(label));
    } else {
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING);
    }
    assert_int_equal(EVP_PKEY_encrypt(c, out, outlen, (const uint8_t *)msg, strlen(msg)), 1);
    EVP_PKEY_CTX_free(c);
}

static void crypt_roundtrip(void *st, uint8_t scheme, uint8_t hash, const EVP_MD *md,
                            const char *label)
{
    tkey t;
    const char *msg = "a secret message";
    psd_buf ct = {0}, pt = {0};
    uint8_t buf[512];
    size_t buflen = sizeof(buf);
    size_t llen = label ? strlen(label) : 0;
    EVP_PKEY *pub;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, scheme, hash};

    tkey_attrs(&t, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048, ENC_DEC, PARSEC_ALG_ASYMMETRIC_ENCRYPTION,
               scheme, hash);
    assert_int_equal(tkey_generate(st, &t), PARSEC_SUCCESS);

    /* Backend encrypts, backend decrypts. */
    assert_int_equal(B->asymmetric_encrypt(st, &t.k, &alg, (const uint8_t *)msg, strlen(msg),
                                           (const uint8_t *)label, llen, &ct),
                     PARSEC_SUCCESS);
    assert_int_equal(ct.len, 256);
    assert_int_equal(
        B->asymmetric_decrypt(st, &t.k, &alg, ct.data, ct.len, (const uint8_t *)label, llen, &pt),
        PARSEC_SUCCESS);
    assert_int_equal(pt.len, strlen(msg));
    assert_memory_equal(pt.data, msg, pt.len);
    psd_buf_clear(&pt);

    /* OpenSSL encrypts to the exported key, the token decrypts. */
    pub = export_pub(st, &t);
    ossl_encrypt(pub, scheme == PARSEC_ENCRYPT_RSA_OAEP, md, label, msg, buf, &buflen);
    assert_int_equal(
        B->asymmetric_decrypt(st, &t.k, &alg, buf, buflen, (const uint8_t *)label, llen, &pt),
        PARSEC_SUCCESS);
    assert_memory_equal(pt.data, msg, strlen(msg));
    psd_buf_clear(&pt);

    /* Corrupted ciphertext: a padding error, nothing returned. */
    buf[10] ^= 0x40;
    assert_int_not_equal(
        B->asymmetric_decrypt(st, &t.k, &alg, buf, buflen, (const uint8_t *)label, llen, &pt),
        PARSEC_SUCCESS);
    assert_null(pt.data);
    if (label != NULL) {
        buf[10] ^= 0x40;
        assert_int_equal(B->asymmetric_decrypt(st, &t.k, &alg, buf, buflen,
                                               (const uint8_t *)"wrong label", 11, &pt),
                         PARSEC_PSA_ERROR_INVALID_PADDING);
    }

    EVP_PKEY_free(pub);
    psd_buf_clear(&ct);
    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    tkey_free(&t);
}

static void test_encrypt_decrypt(void **unused)
{
    void *st = init_ok();

    crypt_roundtrip(st, PARSEC_ENCRYPT_RSA_PKCS1V15, 0, NULL, NULL);
    crypt_roundtrip(st, PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_1, EVP_sha1(), NULL);
    crypt_roundtrip(st, PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_256, EVP_sha256(), NULL);
    crypt_roundtrip(st, PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_256, EVP_sha256(), "my label");
    crypt_roundtrip(st, PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_512, EVP_sha512(), "L");
    B->fini(st);
}

/* ---- tests: ECDH ---- */

static void test_ecdh(void **unused)
{
    void *st = init_ok();
    static const struct {
        uint32_t bits;
        const char *group;
    } curves[] = {{256, "P-256"}, {384, "P-384"}, {521, "P-521"}};
    size_t i;

    for (i = 0; i < 3; i++) {
        tkey t;
        EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i].group), *ours;
        EVP_PKEY_CTX *c;
        uint8_t peerpt[200], expect[100];
        size_t peerlen = 0, elen = sizeof(expect);
        psd_buf secret = {0};
        parsec_alg alg = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0};

        assert_non_null(peer);
        tkey_attrs(&t, PARSEC_KEY_TYPE_ECC_KEY_PAIR, curves[i].bits, PARSEC_USAGE_DERIVE,
                   PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0);
        assert_int_equal(tkey_generate(st, &t), PARSEC_SUCCESS);
        assert_int_equal(EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                         peerpt, sizeof(peerpt), &peerlen),
                         1);
        assert_int_equal(B->raw_key_agreement(st, &t.k, &alg, peerpt, peerlen, &secret),
                         PARSEC_SUCCESS);

        ours = export_pub(st, &t);
        c = EVP_PKEY_CTX_new(peer, NULL);
        assert_int_equal(EVP_PKEY_derive_init(c), 1);
        assert_int_equal(EVP_PKEY_derive_set_peer(c, ours), 1);
        assert_int_equal(EVP_PKEY_derive(c, expect, &elen), 1);
        assert_int_equal(secret.len, elen);
        assert_int_equal(secret.len, (curves[i].bits + 7) / 8);
        assert_memory_equal(secret.data, expect, elen);
        psd_buf_clear(&secret);

        /* A point that is not on the curve, and a wrong length. */
        peerpt[peerlen - 1] ^= 0x01;
        assert_int_equal(B->raw_key_agreement(st, &t.k, &alg, peerpt, peerlen, &secret),
                         PARSEC_PSA_ERROR_INVALID_ARGUMENT);
        assert_int_equal(B->raw_key_agreement(st, &t.k, &alg, peerpt, peerlen - 1, &secret),
                         PARSEC_PSA_ERROR_INVALID_ARGUMENT);
        assert_null(secret.data);

        EVP_PKEY_CTX_free(c);
        EVP_PKEY_free(ours);
        EVP_PKEY_free(peer);
        assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
        tkey_free(&t);
    }
    B->fini(st);
}

/* ---- tests: import ---- */

static void test_import_rsa(void **unused)
{
    void *st = init_ok();
    EVP_PKEY *ref = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), *pub;
    OSSL_ENCODER_CTX *e;
    uint8_t *der = NULL, *pubder = NULL;
    size_t derlen = 0, pubderlen = 0;
    tkey t, tp;
    uint8_t h[32];
    size_t hlen;
    psd_buf sig = {0}, exported = {0};
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15,
                      PARSEC_HASH_SHA_256};

    assert_non_null(ref);
    e = OSSL_ENCODER_CTX_new_for_pkey(ref, EVP_PKEY_KEYPAIR, "DER", "type-specific", NULL);
    assert_true(OSSL_ENCODER_to_data(e, &der, &derlen));
    OSSL_ENCODER_CTX_free(e);
    e = OSSL_ENCODER_CTX_new_for_pkey(ref, EVP_PKEY_PUBLIC_KEY, "DER", "type-specific", NULL);
    assert_true(OSSL_ENCODER_to_data(e, &pubder, &pubderlen));
    OSSL_ENCODER_CTX_free(e);

    tkey_attrs(&t, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 0, SIGN_VERIFY, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
               PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_ANY);
    assert_int_equal(B->import_key(st, t.k.id, t.name, &t.a, der, derlen, &t.blob), PARSEC_SUCCESS);
    tkey_done(&t);
    /* The public key comes back as the same DER RSAPublicKey. */
    assert_int_equal(B->export_public_key(st, &t.k, &exported), PARSEC_SUCCESS);
    assert_int_equal(exported.len, pubderlen);
    assert_memory_equal(exported.data, pubder, pubderlen);
    psd_buf_clear(&exported);

    sha("SHA256", "imported", h, &hlen);
    assert_int_equal(B->sign_hash(st, &t.k, &alg, h, hlen, &sig), PARSEC_SUCCESS);
    assert_true(ossl_verify(ref, &alg, h, hlen, sig.data, sig.len));

    /* The same key imported as a public key verifies the token's signature. */
    tkey_attrs(&tp, PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 2048, PARSEC_USAGE_VERIFY_HASH,
               PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_SHA_256);
    assert_int_equal(B->import_key(st, tp.k.id, tp.name, &tp.a, pubder, pubderlen, &tp.blob),
                     PARSEC_SUCCESS);
    tkey_done(&tp);
    assert_int_equal(B->verify_hash(st, &tp.k, &alg, h, hlen, sig.data, sig.len), PARSEC_SUCCESS);
    psd_buf_clear(&sig);
    /* ... and cannot sign. */
    assert_int_not_equal(B->sign_hash(st, &tp.k, &alg, h, hlen, &sig), PARSEC_SUCCESS);
    pub = export_pub(st, &tp);
    assert_int_equal(EVP_PKEY_eq(pub, ref), 1);
    EVP_PKEY_free(pub);

    /* Bad input: garbage, trailing bytes, a size that disagrees, a public key as a pair. */
    {
        tkey bad;
        uint8_t *longer = OPENSSL_malloc(derlen + 1);

        memcpy(longer, der, derlen);
        longer[derlen] = 0;
        tkey_attrs(&bad, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 0, SIGN_VERIFY,
                   PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_ANY);
        assert_int_equal(
            B->import_key(st, bad.k.id, bad.name, &bad.a, (const uint8_t *)"junk", 4, &bad.blob),
            PARSEC_PSA_ERROR_INVALID_ARGUMENT);
        assert_int_equal(
            B->import_key(st, bad.k.id, bad.name, &bad.a, longer, derlen + 1, &bad.blob),
            PARSEC_PSA_ERROR_INVALID_ARGUMENT);
        assert_int_equal(
            B->import_key(st, bad.k.id, bad.name, &bad.a, pubder, pubderlen, &bad.blob),
            PARSEC_PSA_ERROR_INVALID_ARGUMENT);
        bad.a.bits = 3072;
        assert_int_equal(B->import_key(st, bad.k.id, bad.name, &bad.a, der, derlen, &bad.blob),
                         PARSEC_PSA_ERROR_INVALID_ARGUMENT);
        assert_null(bad.blob.data);
        OPENSSL_free(longer);
    }

    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    assert_int_equal(B->destroy_key(st, &tp.k), PARSEC_SUCCESS);
    tkey_free(&t);
    tkey_free(&tp);
    OPENSSL_clear_free(der, derlen);
    OPENSSL_free(pubder);
    EVP_PKEY_free(ref);
    B->fini(st);
}

static void test_import_ecc(void **unused)
{
    void *st = init_ok();
    EVP_PKEY *ref = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    BIGNUM *d = NULL;
    uint8_t scalar[48], point[97], h[48];
    size_t pointlen = 0, hlen = 0;
    tkey t, tp;
    psd_buf exported = {0}, sig = {0};
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_384};

    assert_non_null(ref);
    assert_int_equal(EVP_PKEY_get_bn_param(ref, OSSL_PKEY_PARAM_PRIV_KEY, &d), 1);
    assert_int_equal(BN_bn2binpad(d, scalar, sizeof(scalar)), (int)sizeof(scalar));
    BN_clear_free(d);
    assert_int_equal(EVP_PKEY_get_octet_string_param(ref, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                                     sizeof(point), &pointlen),
                     1);

    tkey_attrs(&t, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 0, SIGN_VERIFY, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
               PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_384);
    assert_int_equal(B->import_key(st, t.k.id, t.name, &t.a, scalar, sizeof(scalar), &t.blob),
                     PARSEC_SUCCESS);
    tkey_done(&t);
    assert_int_equal(B->export_public_key(st, &t.k, &exported), PARSEC_SUCCESS);
    assert_int_equal(exported.len, pointlen);
    assert_memory_equal(exported.data, point, pointlen);
    psd_buf_clear(&exported);

    sha("SHA384", "imported ec", h, &hlen);
    assert_int_equal(B->sign_hash(st, &t.k, &alg, h, hlen, &sig), PARSEC_SUCCESS);
    t.a.bits = 384; /* for ossl_verify's curve choice only */
    assert_true(ossl_verify(ref, &alg, h, hlen, sig.data, sig.len));

    tkey_attrs(&tp, PARSEC_KEY_TYPE_ECC_PUBLIC_KEY, 384, PARSEC_USAGE_VERIFY_HASH,
               PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_384);
    assert_int_equal(B->import_key(st, tp.k.id, tp.name, &tp.a, point, pointlen, &tp.blob),
                     PARSEC_SUCCESS);
    tkey_done(&tp);
    assert_int_equal(B->verify_hash(st, &tp.k, &alg, h, hlen, sig.data, sig.len), PARSEC_SUCCESS);
    psd_buf_clear(&sig);

    /* Bad input: zero scalar, wrong length, a point off the curve, bits that disagree. */
    {
        tkey bad;
        uint8_t zero[48] = {0};

        tkey_attrs(&bad, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 0, SIGN_VERIFY,
                   PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_384);
        assert_int_equal(B->import_key(st, bad.k.id, bad.name, &bad.a, zero, 48, &bad.blob),
                         PARSEC_PSA_ERROR_INVALID_ARGUMENT);
        assert_int_equal(B->import_key(st, bad.k.id, bad.name, &bad.a, scalar, 47, &bad.blob),
                         PARSEC_PSA_ERROR_INVALID_ARGUMENT);
        bad.a.bits = 256;
        assert_int_equal(B->import_key(st, bad.k.id, bad.name, &bad.a, scalar, 48, &bad.blob),
                         PARSEC_PSA_ERROR_INVALID_ARGUMENT);
        bad.a.type = PARSEC_KEY_TYPE_ECC_PUBLIC_KEY;
        bad.a.bits = 0;
        point[pointlen - 1] ^= 1;
        assert_int_equal(B->import_key(st, bad.k.id, bad.name, &bad.a, point, pointlen, &bad.blob),
                         PARSEC_PSA_ERROR_INVALID_ARGUMENT);
        assert_null(bad.blob.data);
    }

    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    assert_int_equal(B->destroy_key(st, &tp.k), PARSEC_SUCCESS);
    tkey_free(&t);
    tkey_free(&tp);
    OPENSSL_cleanse(scalar, sizeof(scalar));
    EVP_PKEY_free(ref);
    B->fini(st);
}

/* ---- tests: objects on the token ---- */

static void test_token_objects(void **unused)
{
    psd_p11 *st = init_ok();
    tkey t;
    ck_session_handle_t s;
    ck_object_class_t cls = CKO_PRIVATE_KEY;
    struct ck_attribute find[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, NULL, 0}};
    ck_object_handle_t objs[4];
    unsigned long n = 0;
    unsigned char sensitive = 0, extractable = 1, token = 0, priv = 0, sign = 0, decrypt = 1;
    uint8_t id[32];
    struct ck_attribute get[] = {
        {CKA_SENSITIVE, &sensitive, 1}, {CKA_EXTRACTABLE, &extractable, 1},
        {CKA_TOKEN, &token, 1},         {CKA_PRIVATE, &priv, 1},
        {CKA_SIGN, &sign, 1},           {CKA_DECRYPT, &decrypt, 1},
        {CKA_ID, id, sizeof(id)},
    };

    tkey_attrs(&t, PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048, SIGN_VERIFY, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
               PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256);
    assert_int_equal(tkey_generate(st, &t), PARSEC_SUCCESS);

    assert_int_equal(st->fn->C_OpenSession(st->slot, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
    find[1].value = t.name;
    find[1].value_len = strlen(t.name);
    assert_int_equal(st->fn->C_FindObjectsInit(s, find, 2), CKR_OK);
    assert_int_equal(st->fn->C_FindObjects(s, objs, 4, &n), CKR_OK);
    st->fn->C_FindObjectsFinal(s);
    assert_int_equal(n, 1);
    assert_int_equal(st->fn->C_GetAttributeValue(s, objs[0], get, 7), CKR_OK);
    assert_true(sensitive);
    assert_false(extractable);
    assert_true(token);
    assert_true(priv);
    assert_true(sign);
    assert_false(decrypt);
    assert_int_equal(get[6].value_len, PSD_P11_ID_LEN);
    /* The blob carries that CKA_ID. */
    assert_memory_equal(t.blob.data + t.blob.len - PSD_P11_ID_LEN, id, PSD_P11_ID_LEN);

    /* The private value cannot be read. */
    {
        struct ck_attribute a = {CKA_PRIVATE_EXPONENT, NULL, 0};
        assert_int_equal(st->fn->C_GetAttributeValue(s, objs[0], &a, 1), CKR_ATTRIBUTE_SENSITIVE);
    }
    st->fn->C_CloseSession(s);

    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    {
        psd_buf pub = {0};
        psd_buf sig = {0};
        uint8_t h[32] = {0};
        parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS,
                          PARSEC_HASH_SHA_256};

        assert_int_equal(B->export_public_key(st, &t.k, &pub), PARSEC_PSA_ERROR_DOES_NOT_EXIST);
        assert_int_equal(B->sign_hash(st, &t.k, &alg, h, 32, &sig),
                         PARSEC_PSA_ERROR_DOES_NOT_EXIST);
    }
    /* Destroying what is already gone is not an error: the core can drop its record. */
    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);

    /* A blob that is not ours. */
    t.k.blob = (const uint8_t *)"not a blob";
    t.k.blob_len = 10;
    {
        psd_buf pub = {0};
        assert_int_equal(B->export_public_key(st, &t.k, &pub), PARSEC_PSA_ERROR_DATA_CORRUPT);
    }
    tkey_free(&t);
    B->fini(st);
}

/* ---- tests: random, persistence, recovery, concurrency ---- */

static void test_random(void **unused)
{
    void *st = init_ok();
    psd_buf a = {0}, b = {0};

    assert_int_equal(B->generate_random(st, 32, &a), PARSEC_SUCCESS);
    assert_int_equal(B->generate_random(st, 32, &b), PARSEC_SUCCESS);
    assert_int_equal(a.len, 32);
    assert_memory_not_equal(a.data, b.data, 32);
    psd_buf_clear(&a);
    psd_buf_clear(&b);
    assert_int_equal(B->generate_random(st, 10000, &a), PARSEC_SUCCESS);
    assert_int_equal(a.len, 10000);
    psd_buf_clear(&a);
    assert_int_equal(B->generate_random(st, 0, &a), PARSEC_SUCCESS);
    assert_int_equal(a.len, 0);
    psd_buf_clear(&a);
    B->fini(st);
}

static void test_persistence(void **unused)
{
    void *st = init_ok();
    tkey t;
    psd_buf sig = {0}, pub1 = {0}, pub2 = {0};
    uint8_t h[32];
    size_t hlen;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};

    tkey_attrs(&t, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, SIGN_VERIFY, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
               PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    assert_int_equal(tkey_generate(st, &t), PARSEC_SUCCESS);
    assert_int_equal(B->export_public_key(st, &t.k, &pub1), PARSEC_SUCCESS);
    B->fini(st);

    /* A new backend instance (as after a parsecd restart) finds the key by its blob. */
    st = init_ok();
    assert_int_equal(B->export_public_key(st, &t.k, &pub2), PARSEC_SUCCESS);
    assert_int_equal(pub1.len, pub2.len);
    assert_memory_equal(pub1.data, pub2.data, pub1.len);
    sha("SHA256", "after restart", h, &hlen);
    assert_int_equal(B->sign_hash(st, &t.k, &alg, h, hlen, &sig), PARSEC_SUCCESS);
    assert_int_equal(B->verify_hash(st, &t.k, &alg, h, hlen, sig.data, sig.len), PARSEC_SUCCESS);
    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    psd_buf_clear(&sig);
    psd_buf_clear(&pub1);
    psd_buf_clear(&pub2);
    tkey_free(&t);
    B->fini(st);
}

static void test_session_recovery(void **unused)
{
    psd_p11 *st = init_ok();
    tkey t;
    psd_buf sig = {0};
    uint8_t h[32] = {7};
    struct ck_session_info info;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    int round;

    tkey_attrs(&t, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, SIGN_VERIFY, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
               PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    assert_int_equal(tkey_generate(st, &t), PARSEC_SUCCESS);

    for (round = 0; round < 2; round++) {
        /* Every session closed behind the backend's back: the login is gone too. */
        if (round == 0)
            assert_int_equal(st->fn->C_CloseAllSessions(st->slot), CKR_OK);
        else
            assert_int_equal(st->fn->C_CloseSession(st->sessions[0].handle), CKR_OK);
        assert_int_equal(B->sign_hash(st, &t.k, &alg, h, 32, &sig), PARSEC_SUCCESS);
        assert_int_equal(B->verify_hash(st, &t.k, &alg, h, 32, sig.data, sig.len), PARSEC_SUCCESS);
        psd_buf_clear(&sig);
    }
    assert_int_equal(st->fn->C_GetSessionInfo(st->sessions[0].handle, &info), CKR_OK);
    assert_int_equal(info.state, CKS_RW_USER_FUNCTIONS);

    /* Logged out behind our back: the kept PIN logs in again. */
    assert_int_equal(st->fn->C_Logout(st->sessions[0].handle), CKR_OK);
    assert_int_equal(B->sign_hash(st, &t.k, &alg, h, 32, &sig), PARSEC_SUCCESS);
    psd_buf_clear(&sig);

    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    tkey_free(&t);
    B->fini(st);
}

extern char p11_test_log[4096];

/* A module whose C_SignInit reports the token gone a set number of times. */
static CK_FUNCTION_LIST g_faulty;
static CK_FUNCTION_LIST *g_real;
static int g_removals;

static CK_RV faulty_sign_init(ck_session_handle_t s, struct ck_mechanism *m, ck_object_handle_t k)
{
    if (g_removals > 0) {
        g_removals--;
        return CKR_DEVICE_REMOVED;
    }
    return g_real->C_SignInit(s, m, k);
}

static void test_device_removed_recovery(void **unused)
{
    psd_p11 *st = init_ok();
    tkey t;
    psd_buf sig = {0};
    uint8_t h[32] = {9};
    unsigned long gen;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};

    tkey_attrs(&t, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, SIGN_VERIFY, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
               PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    assert_int_equal(tkey_generate(st, &t), PARSEC_SUCCESS);
    g_real = st->fn;
    g_faulty = *g_real;
    g_faulty.C_SignInit = faulty_sign_init;
    st->fn = &g_faulty;

    /* Once: sessions are reopened, the token found again, the login redone. */
    gen = st->generation;
    g_removals = 1;
    assert_int_equal(B->sign_hash(st, &t.k, &alg, h, 32, &sig), PARSEC_SUCCESS);
    assert_int_equal(g_removals, 0);
    assert_true(st->generation != gen);
    assert_int_equal(B->verify_hash(st, &t.k, &alg, h, 32, sig.data, sig.len), PARSEC_SUCCESS);
    psd_buf_clear(&sig);

    /* Gone for good: a clear failure, no endless retrying, and a log line naming the call. */
    g_removals = 100;
    p11_test_log[0] = '\0';
    assert_int_equal(B->sign_hash(st, &t.k, &alg, h, 32, &sig),
                     PARSEC_PSA_ERROR_COMMUNICATION_FAILURE);
    assert_null(sig.data);
    assert_true(g_removals >= 97);
    assert_non_null(strstr(p11_test_log, "pkcs11: C_SignInit on token 'parsec' failed: "
                                         "CKR_DEVICE_REMOVED (CKR 0x32)\n"));

    /* Back: works again. */
    g_removals = 0;
    assert_int_equal(B->sign_hash(st, &t.k, &alg, h, 32, &sig), PARSEC_SUCCESS);
    psd_buf_clear(&sig);

    st->fn = g_real; /* p11-kit finalizes by its own function list */
    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    tkey_free(&t);
    B->fini(st);
}

/* A module that counts lookups and attribute reads, and can call a handle stale. */
static CK_FUNCTION_LIST g_counting;
static int g_finds, g_attr_reads, g_stale_handles, g_stale_used;

static CK_RV counting_find_init(ck_session_handle_t s, struct ck_attribute *tmpl, unsigned long n)
{
    g_finds++;
    return g_real->C_FindObjectsInit(s, tmpl, n);
}

static CK_RV counting_get_attr(ck_session_handle_t s, ck_object_handle_t obj,
                               struct ck_attribute *tmpl, unsigned long n)
{
    g_attr_reads++;
    return g_real->C_GetAttributeValue(s, obj, tmpl, n);
}

static CK_RV counting_sign_init(ck_session_handle_t s, struct ck_mechanism *m, ck_object_handle_t k)
{
    CK_RV rv;

    if (g_stale_handles > 0) {
        g_stale_handles--;
        return CKR_OBJECT_HANDLE_INVALID;
    }
    rv = g_real->C_SignInit(s, m, k);
    if (rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID)
        g_stale_used++;
    return rv;
}

/* Sign with t and check the signature with pub in OpenSSL; returns the backend's status. */
static parsec_status sign_check(void *st, const tkey *t, EVP_PKEY *pub, int expect_valid)
{
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    uint8_t h[32];
    size_t hlen;
    psd_buf sig = {0};
    parsec_status s;

    sha("SHA256", "cached handles", h, &hlen);
    s = B->sign_hash(st, &t->k, &alg, h, hlen, &sig);
    if (s == PARSEC_SUCCESS)
        assert_int_equal(ossl_verify(pub, &alg, h, hlen, sig.data, sig.len), expect_valid);
    psd_buf_clear(&sig);
    return s;
}

static void test_handle_cache(void **unused)
{
    psd_p11 *st = init_ok();
    tkey t, t2;
    EVP_PKEY *pub, *pub2;
    unsigned long gen;
    int i;

    tkey_attrs(&t, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, SIGN_VERIFY, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
               PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    assert_int_equal(tkey_generate(st, &t), PARSEC_SUCCESS);
    pub = export_pub(st, &t);
    g_real = st->fn;
    g_counting = *g_real;
    g_counting.C_FindObjectsInit = counting_find_init;
    g_counting.C_GetAttributeValue = counting_get_attr;
    g_counting.C_SignInit = counting_sign_init;
    st->fn = &g_counting;

    /* A signature is C_SignInit + C_Sign: no lookup, no attribute read. */
    g_finds = g_attr_reads = 0;
    for (i = 0; i < 5; i++)
        assert_int_equal(sign_check(st, &t, pub, 1), PARSEC_SUCCESS);
    assert_int_equal(g_finds, 0);
    assert_int_equal(g_attr_reads, 0);

    /* A handle the token calls invalid: the key is looked up again, once, and signs. */
    gen = psd_p11_generation(st);
    g_stale_handles = 1;
    assert_int_equal(sign_check(st, &t, pub, 1), PARSEC_SUCCESS);
    assert_int_equal(g_stale_handles, 0);
    assert_true(psd_p11_generation(st) != gen);
    assert_int_equal(g_finds, 2); /* its private and public objects */
    assert_int_equal(sign_check(st, &t, pub, 1), PARSEC_SUCCESS);
    assert_int_equal(g_finds, 2);

    /*
     * Every session and the login lost: SoftHSM2 forgets the handles with its
     * last session. Reopened, logged in again, the key looked up once more
     * before any handle from the old login is handed to the token.
     */
    g_finds = g_stale_used = 0;
    assert_int_equal(g_real->C_CloseAllSessions(st->slot), CKR_OK);
    assert_int_equal(sign_check(st, &t, pub, 1), PARSEC_SUCCESS);
    assert_int_equal(sign_check(st, &t, pub, 1), PARSEC_SUCCESS);
    assert_int_equal(g_finds, 2);
    assert_int_equal(g_stale_used, 0);

    /* Destroyed, then a new key under the same name: the new key signs, never the old handle. */
    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    assert_int_equal(sign_check(st, &t, pub, 1), PARSEC_PSA_ERROR_DOES_NOT_EXIST);
    tkey_attrs(&t2, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, SIGN_VERIFY, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
               PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    memcpy(t2.name, t.name, sizeof(t2.name));
    assert_int_equal(tkey_generate(st, &t2), PARSEC_SUCCESS);
    pub2 = export_pub(st, &t2);
    assert_int_equal(sign_check(st, &t2, pub2, 1), PARSEC_SUCCESS);
    assert_int_equal(sign_check(st, &t2, pub, 0), PARSEC_SUCCESS);
    assert_int_equal(sign_check(st, &t, pub, 1), PARSEC_PSA_ERROR_DOES_NOT_EXIST);

    st->fn = g_real;
    assert_int_equal(B->destroy_key(st, &t2.k), PARSEC_SUCCESS);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(pub2);
    tkey_free(&t);
    tkey_free(&t2);
    B->fini(st);
}

typedef struct worker {
    void *st;
    const tkey *t;
    int failures;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    uint8_t h[32];
    int i;

    for (i = 0; i < 25; i++) {
        psd_buf sig = {0};

        memset(h, i, sizeof(h));
        if (B->sign_hash(w->st, &w->t->k, &alg, h, 32, &sig) != PARSEC_SUCCESS ||
            B->verify_hash(w->st, &w->t->k, &alg, h, 32, sig.data, sig.len) != PARSEC_SUCCESS)
            w->failures++;
        psd_buf_clear(&sig);
    }
    return NULL;
}

static void test_concurrency(void **unused)
{
    void *st = init_ok();
    tkey t;
    pthread_t th[12];
    worker w[12];
    int i;

    tkey_attrs(&t, PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, SIGN_VERIFY, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
               PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256);
    assert_int_equal(tkey_generate(st, &t), PARSEC_SUCCESS);
    /* More threads than the 4 pooled sessions: they wait their turn. */
    for (i = 0; i < 12; i++) {
        w[i] = (worker){st, &t, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < 12; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    assert_int_equal(B->destroy_key(st, &t.k), PARSEC_SUCCESS);
    tkey_free(&t);
    B->fini(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_wrong_pin_does_not_lock),
        cmocka_unit_test(test_module_by_name_and_slot),
        cmocka_unit_test(test_opcodes_and_capabilities),
        cmocka_unit_test(test_sign_rsa),
        cmocka_unit_test(test_sign_rsa4096),
        cmocka_unit_test(test_sign_ecdsa),
        cmocka_unit_test(test_sign_refused_without_usage),
        cmocka_unit_test(test_encrypt_decrypt),
        cmocka_unit_test(test_ecdh),
        cmocka_unit_test(test_import_rsa),
        cmocka_unit_test(test_import_ecc),
        cmocka_unit_test(test_token_objects),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_persistence),
        cmocka_unit_test(test_session_recovery),
        cmocka_unit_test(test_device_removed_recovery),
        cmocka_unit_test(test_handle_cache),
        cmocka_unit_test(test_concurrency),
    };

    return cmocka_run_group_tests_name("pkcs11-backend", tests, group_setup, group_teardown);
}
