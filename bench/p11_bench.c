/* SPDX-License-Identifier: Apache-2.0 */
/*
 * p11_bench: the baseline of the PKCS#11 backend. Drives a PKCS#11 module
 * (loaded with p11-kit) directly, on the same token and the same key
 * objects parsecd created (found by CKA_LABEL = the Parsec key name), the
 * way parsecd's backend does: one logged-in session per thread and per
 * operation C_SignInit + C_Sign, C_DecryptInit + C_Decrypt or
 * C_DeriveKey + C_GetAttributeValue + C_DestroyObject.
 *
 *   p11_bench --module PATH --token-uri URI [--pin-file FILE] --label NAME --kind KIND
 *             [--threads 1,2,8] [--seconds 1] [--iterations N] --op LABEL --path LABEL
 *
 * Without --pin-file no C_Login is made: the same program measures C_Sign
 * through libparsec-pkcs11.so, whose token needs no login (the service
 * authenticates the caller).
 *
 * KIND: sign-pkcs1 (CKM_RSA_PKCS over an OpenSSL-built SHA-256 DigestInfo),
 * sign-pss (CKM_RSA_PKCS_PSS, SHA-256, salt 32), sign-ecdsa (CKM_ECDSA;
 * --md sha384 for P-384), decrypt-oaep (CKM_RSA_X_509 on the token and
 * OpenSSL's OAEP decoding, as the backend does because SoftHSM2 takes OAEP
 * only with SHA-1), derive-ecdh (CKM_ECDH1_DERIVE, CKD_NULL).
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* RSA_padding_check_PKCS1_OAEP_mgf1: what the backend uses */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "bench_harness.h"

#define P11B_OUT_MAX 1024
#define P11B_SECRET_LEN 32

enum p11b_kind {
    P11B_SIGN_PKCS1,
    P11B_SIGN_PSS,
    P11B_SIGN_ECDSA,
    P11B_DECRYPT_OAEP,
    P11B_DERIVE_ECDH
};

typedef struct p11b_config {
    CK_FUNCTION_LIST *fn;
    CK_SLOT_ID slot;
    CK_OBJECT_HANDLE key;
    enum p11b_kind kind;
    const EVP_MD *md;
    EVP_PKEY *pub;                  /* the key's public half, read from the token */
    unsigned char in[P11B_OUT_MAX]; /* what is signed: hash or DigestInfo */
    size_t inlen;
    unsigned char peer[P11B_OUT_MAX]; /* ECDH: uncompressed point of a software key */
    size_t peerlen;
    CK_ULONG secretlen;
    size_t modlen;
} p11b_config;

typedef struct p11b_thread {
    const p11b_config *cfg;
    CK_SESSION_HANDLE session;
    int have_session;
    unsigned char ct[P11B_OUT_MAX]; /* OAEP ciphertext */
    size_t ctlen;
    unsigned char secret[P11B_SECRET_LEN];
    unsigned char out[P11B_OUT_MAX];
    CK_ULONG outlen;
} p11b_thread;

static void p11b_ck_fail(const char *what, CK_RV rv)
{
    bench_fail("%s: %s (0x%lx)", what, p11_kit_strerror(rv), (unsigned long)rv);
}

static int p11b_sign(p11b_thread *t)
{
    const p11b_config *cfg = t->cfg;
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM mech = {CKM_RSA_PKCS, NULL, 0};
    CK_RV rv;

    if (cfg->kind == P11B_SIGN_PSS) {
        mech.mechanism = CKM_RSA_PKCS_PSS;
        mech.pParameter = &pss;
        mech.ulParameterLen = sizeof(pss);
    } else if (cfg->kind == P11B_SIGN_ECDSA) {
        mech.mechanism = CKM_ECDSA;
    }
    rv = cfg->fn->C_SignInit(t->session, &mech, cfg->key);
    if (rv == CKR_OK) {
        t->outlen = sizeof(t->out);
        rv = cfg->fn->C_Sign(t->session, (CK_BYTE *)cfg->in, cfg->inlen, t->out, &t->outlen);
    }
    return rv == CKR_OK;
}

static int p11b_decrypt(p11b_thread *t)
{
    const p11b_config *cfg = t->cfg;
    CK_MECHANISM mech = {CKM_RSA_X_509, NULL, 0};
    unsigned char em[P11B_OUT_MAX];
    CK_ULONG emlen = sizeof(em);
    int n;

    if (cfg->fn->C_DecryptInit(t->session, &mech, cfg->key) != CKR_OK ||
        cfg->fn->C_Decrypt(t->session, t->ct, t->ctlen, em, &emlen) != CKR_OK ||
        emlen != cfg->modlen)
        return 0;
    n = RSA_padding_check_PKCS1_OAEP_mgf1(t->out, (int)sizeof(t->out), em, (int)emlen, (int)emlen,
                                          NULL, 0, cfg->md, cfg->md);
    OPENSSL_cleanse(em, sizeof(em));
    if (n < 0)
        return 0;
    t->outlen = (CK_ULONG)n;
    return 1;
}

static int p11b_derive(p11b_thread *t)
{
    const p11b_config *cfg = t->cfg;
    CK_ECDH1_DERIVE_PARAMS params = {CKD_NULL, 0, NULL, cfg->peerlen, (CK_BYTE *)cfg->peer};
    CK_MECHANISM mech = {CKM_ECDH1_DERIVE, &params, sizeof(params)};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG len = cfg->secretlen;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},       {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &no, sizeof(no)},         {CKA_SENSITIVE, &no, sizeof(no)},
        {CKA_EXTRACTABLE, &yes, sizeof(yes)}, {CKA_VALUE_LEN, &len, sizeof(len)},
    };
    CK_ATTRIBUTE value = {CKA_VALUE, t->out, sizeof(t->out)};
    CK_OBJECT_HANDLE secret = CK_INVALID_HANDLE;
    CK_RV rv;

    rv = cfg->fn->C_DeriveKey(t->session, &mech, cfg->key, tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
                              &secret);
    if (rv != CKR_OK)
        return 0;
    rv = cfg->fn->C_GetAttributeValue(t->session, secret, &value, 1);
    cfg->fn->C_DestroyObject(t->session, secret);
    t->outlen = value.ulValueLen;
    return rv == CKR_OK && value.ulValueLen == cfg->secretlen;
}

static int p11b_run(void *state)
{
    p11b_thread *t = state;

    switch (t->cfg->kind) {
    case P11B_DECRYPT_OAEP:
        return p11b_decrypt(t) && t->outlen == P11B_SECRET_LEN;
    case P11B_DERIVE_ECDH:
        return p11b_derive(t);
    default:
        return p11b_sign(t);
    }
}

/* Thread 0's first result, checked with OpenSSL on the key's public half. */
static int p11b_check_first(p11b_thread *t)
{
    const p11b_config *cfg = t->cfg;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char der[P11B_OUT_MAX], *p = der;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    int derlen, ok = 0;

    if (!p11b_run(t))
        goto done;
    switch (cfg->kind) {
    case P11B_SIGN_PKCS1:
    case P11B_SIGN_PSS:
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, cfg->pub, NULL);
        ok = ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, cfg->kind == P11B_SIGN_PSS ? RSA_PKCS1_PSS_PADDING
                                                                          : RSA_PKCS1_PADDING) > 0;
        if (ok && cfg->kind == P11B_SIGN_PSS)
            ok = EVP_PKEY_CTX_set_signature_md(ctx, cfg->md) > 0 &&
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
                 EVP_PKEY_verify(ctx, t->out, t->outlen, cfg->in, cfg->inlen) == 1;
        else if (ok)
            ok = EVP_PKEY_verify(ctx, t->out, t->outlen, cfg->in, cfg->inlen) ==
                 1; /* DigestInfo in */
        break;
    case P11B_SIGN_ECDSA:
        /* r||s -> DER for OpenSSL. */
        es = ECDSA_SIG_new();
        r = BN_bin2bn(t->out, (int)t->outlen / 2, NULL);
        s = BN_bin2bn(t->out + t->outlen / 2, (int)t->outlen / 2, NULL);
        if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
            goto done;
        r = s = NULL;
        derlen = i2d_ECDSA_SIG(es, &p);
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, cfg->pub, NULL);
        ok = derlen > 0 && ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
             EVP_PKEY_verify(ctx, der, (size_t)derlen, cfg->in, cfg->inlen) == 1;
        break;
    case P11B_DECRYPT_OAEP:
        ok = t->outlen == P11B_SECRET_LEN && memcmp(t->out, t->secret, P11B_SECRET_LEN) == 0;
        break;
    case P11B_DERIVE_ECDH:
        ok =
            t->outlen == cfg->secretlen; /* parsec_bench checks the provider's secret in software */
        break;
    }
done:
    if (!ok) {
        bench_fail("the first result did not check out");
        ERR_print_errors_fp(stderr);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static void p11b_thread_free(void *state)
{
    p11b_thread *t = state;

    if (t == NULL)
        return;
    if (t->have_session)
        t->cfg->fn->C_CloseSession(t->session);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

static void *p11b_thread_init(void *arg, unsigned int index)
{
    const p11b_config *cfg = arg;
    p11b_thread *t = calloc(1, sizeof(*t));
    EVP_PKEY_CTX *ectx = NULL;
    CK_RV rv;
    int ok = 1;

    if (t == NULL)
        return NULL;
    t->cfg = cfg;
    rv = cfg->fn->C_OpenSession(cfg->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                                &t->session);
    if (rv != CKR_OK) {
        p11b_ck_fail("C_OpenSession", rv);
        free(t);
        return NULL;
    }
    t->have_session = 1;
    if (cfg->kind == P11B_DECRYPT_OAEP) {
        t->ctlen = sizeof(t->ct);
        ectx = EVP_PKEY_CTX_new_from_pkey(NULL, cfg->pub, NULL);
        ok = RAND_bytes(t->secret, sizeof(t->secret)) == 1 && ectx != NULL &&
             EVP_PKEY_encrypt_init(ectx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ectx, RSA_PKCS1_OAEP_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(ectx, cfg->md) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ectx, cfg->md) > 0 &&
             EVP_PKEY_encrypt(ectx, t->ct, &t->ctlen, t->secret, sizeof(t->secret)) == 1;
        EVP_PKEY_CTX_free(ectx);
    }
    if (ok && index == 0)
        ok = p11b_check_first(t);
    if (!ok) {
        p11b_thread_free(t);
        return NULL;
    }
    return t;
}

/* ---- set-up ---- */

static int p11b_find_slot(CK_FUNCTION_LIST *fn, const char *uri_text, CK_SLOT_ID *slot)
{
    P11KitUri *uri = p11_kit_uri_new();
    CK_SLOT_ID slots[64];
    CK_ULONG n = sizeof(slots) / sizeof(slots[0]);
    int found = 0;

    if (uri == NULL || p11_kit_uri_parse(uri_text, P11_KIT_URI_FOR_TOKEN, uri) != P11_KIT_URI_OK) {
        bench_fail("bad token URI %s", uri_text);
        goto done;
    }
    if (fn->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        goto done;
    for (CK_ULONG i = 0; i < n && !found; i++) {
        CK_TOKEN_INFO ti;

        if (fn->C_GetTokenInfo(slots[i], &ti) == CKR_OK && p11_kit_uri_match_token_info(uri, &ti)) {
            *slot = slots[i];
            found = 1;
        }
    }
    if (!found)
        bench_fail("no token matches %s", uri_text);
done:
    p11_kit_uri_free(uri);
    return found;
}

/* A session for the set-up, logged in when a PIN file is given. */
static int p11b_login(p11b_config *cfg, CK_SESSION_HANDLE *s, const char *pin_file)
{
    char pin[256];
    size_t len;
    FILE *f;
    CK_RV rv;

    if (pin_file == NULL) {
        rv = cfg->fn->C_OpenSession(cfg->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);
        if (rv != CKR_OK)
            p11b_ck_fail("C_OpenSession", rv);
        return rv == CKR_OK;
    }
    f = fopen(pin_file, "r");
    if (f == NULL || fgets(pin, sizeof(pin), f) == NULL) {
        bench_fail("cannot read the PIN from %s", pin_file);
        if (f != NULL)
            fclose(f);
        return 0;
    }
    fclose(f);
    len = strcspn(pin, "\r\n");
    rv = cfg->fn->C_OpenSession(cfg->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, s);
    if (rv == CKR_OK)
        rv = cfg->fn->C_Login(*s, CKU_USER, (CK_UTF8CHAR *)pin, len);
    OPENSSL_cleanse(pin, sizeof(pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        p11b_ck_fail("C_Login", rv);
        return 0;
    }
    return 1;
}

static int p11b_find_key(p11b_config *cfg, CK_SESSION_HANDLE s, const char *label)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)},
                           {CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE found[2];
    CK_ULONG n = 0;

    if (cfg->fn->C_FindObjectsInit(s, tmpl, 2) != CKR_OK)
        return 0;
    cfg->fn->C_FindObjects(s, found, 2, &n);
    cfg->fn->C_FindObjectsFinal(s);
    if (n != 1) {
        bench_fail("%lu private keys labelled '%s' on the token (want 1)", (unsigned long)n, label);
        return 0;
    }
    cfg->key = found[0];
    return 1;
}

/* The key's public half as an OpenSSL key, from the private object's public attributes. */
static int p11b_read_public(p11b_config *cfg, CK_SESSION_HANDLE s)
{
    int is_rsa = cfg->kind != P11B_SIGN_ECDSA && cfg->kind != P11B_DERIVE_ECDH;
    CK_ATTRIBUTE a[2];
    unsigned char v0[1024], v1[1024];
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *n = NULL, *e = NULL;
    ASN1_OCTET_STRING *os = NULL; /* the builder keeps a pointer into it until to_param */
    int ok = 0;

    a[0] = (CK_ATTRIBUTE){is_rsa ? CKA_MODULUS : CKA_EC_PARAMS, v0, sizeof(v0)};
    a[1] = (CK_ATTRIBUTE){is_rsa ? CKA_PUBLIC_EXPONENT : CKA_LABEL, v1, sizeof(v1)};
    if (bld == NULL || cfg->fn->C_GetAttributeValue(s, cfg->key, a, 2) != CKR_OK)
        goto done;
    if (is_rsa) {
        n = BN_bin2bn(v0, (int)a[0].ulValueLen, NULL);
        e = BN_bin2bn(v1, (int)a[1].ulValueLen, NULL);
        cfg->modlen = a[0].ulValueLen;
        ok = n != NULL && e != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
    } else {
        /* The private object has no CKA_EC_POINT: find the public one by CKA_ID. */
        CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
        unsigned char id[256];
        CK_ATTRIBUTE ida = {CKA_ID, id, sizeof(id)};
        CK_ATTRIBUTE tmpl[2] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_ID, id, 0}};
        CK_ATTRIBUTE pt = {CKA_EC_POINT, v1, sizeof(v1)};
        CK_OBJECT_HANDLE pubobj;
        CK_ULONG cnt = 0;
        const unsigned char *p = v0;
        ASN1_OBJECT *curve = NULL;

        if (cfg->fn->C_GetAttributeValue(s, cfg->key, &ida, 1) != CKR_OK)
            goto done;
        tmpl[1].ulValueLen = ida.ulValueLen;
        if (cfg->fn->C_FindObjectsInit(s, tmpl, 2) != CKR_OK)
            goto done;
        cfg->fn->C_FindObjects(s, &pubobj, 1, &cnt);
        cfg->fn->C_FindObjectsFinal(s);
        if (cnt != 1 || cfg->fn->C_GetAttributeValue(s, pubobj, &pt, 1) != CKR_OK)
            goto done;
        curve = d2i_ASN1_OBJECT(NULL, &p, (long)a[0].ulValueLen);
        p = v1;
        os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)pt.ulValueLen);
        ok = curve != NULL && os != NULL &&
             OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                             OBJ_nid2sn(OBJ_obj2nid(curve)), 0) &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                              ASN1_STRING_get0_data(os),
                                              (size_t)ASN1_STRING_length(os));
        ASN1_OBJECT_free(curve);
    }
    if (!ok)
        goto done;
    ok = 0;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, is_rsa ? "RSA" : "EC", NULL);
    ok = params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
         EVP_PKEY_fromdata(ctx, &cfg->pub, EVP_PKEY_PUBLIC_KEY, params) == 1;
done:
    if (!ok) {
        bench_fail("cannot read the key's public half from the token");
        ERR_print_errors_fp(stderr);
    }
    BN_free(n);
    BN_free(e);
    ASN1_OCTET_STRING_free(os);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* What C_Sign gets: the hash, or for PKCS#1 v1.5 the DigestInfo around it (built by OpenSSL). */
static int p11b_make_input(p11b_config *cfg)
{
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hlen;
    X509_SIG *sig = NULL;
    X509_ALGOR *alg;
    ASN1_OCTET_STRING *digest;
    unsigned char *p = cfg->in;
    int len, ok = 0;

    if (EVP_Digest("parsec-bench", 12, hash, &hlen, cfg->md, NULL) != 1)
        return 0;
    if (cfg->kind != P11B_SIGN_PKCS1) {
        memcpy(cfg->in, hash, hlen);
        cfg->inlen = hlen;
        return 1;
    }
    sig = X509_SIG_new();
    if (sig == NULL)
        return 0;
    X509_SIG_getm(sig, &alg, &digest);
    if (X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(cfg->md)), V_ASN1_NULL, NULL) == 1 &&
        ASN1_OCTET_STRING_set(digest, hash, (int)hlen) == 1 &&
        i2d_X509_SIG(sig, NULL) <= (int)sizeof(cfg->in)) {
        len = i2d_X509_SIG(sig, &p);
        if (len > 0) {
            cfg->inlen = (size_t)len;
            ok = 1;
        }
    }
    X509_SIG_free(sig);
    return ok;
}

static int p11b_make_peer(p11b_config *cfg)
{
    char group[64];
    EVP_PKEY *peer = NULL;
    int ok;

    ok = EVP_PKEY_get_utf8_string_param(cfg->pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) == 1 &&
         (peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group)) != NULL &&
         EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, cfg->peer,
                                         sizeof(cfg->peer), &cfg->peerlen) == 1;
    cfg->secretlen = (CK_ULONG)(cfg->peerlen - 1) / 2;
    EVP_PKEY_free(peer);
    return ok;
}

static int p11b_parse_kind(const char *s, enum p11b_kind *kind)
{
    static const struct {
        const char *name;
        enum p11b_kind kind;
    } kinds[] = {{"sign-pkcs1", P11B_SIGN_PKCS1},
                 {"sign-pss", P11B_SIGN_PSS},
                 {"sign-ecdsa", P11B_SIGN_ECDSA},
                 {"decrypt-oaep", P11B_DECRYPT_OAEP},
                 {"derive-ecdh", P11B_DERIVE_ECDH}};

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(s, kinds[i].name) == 0) {
            *kind = kinds[i].kind;
            return 1;
        }
    }
    return 0;
}

static void p11b_usage(void)
{
    fprintf(
        stderr,
        "usage: p11_bench --module PATH --token-uri URI [--pin-file FILE] --label NAME\n"
        "                 --kind sign-pkcs1|sign-pss|sign-ecdsa|decrypt-oaep|derive-ecdh [--md "
        "sha256]\n"
        "                 [--threads 1,2,8] [--seconds S] [--iterations N] [--op L] [--path L]\n"
        "                 [--cpu-pid PID]\n");
}

int main(int argc, char **argv)
{
    bench_settings set;
    p11b_config cfg;
    const char *module = NULL, *uri = NULL, *pin_file = NULL, *label = NULL, *kind = NULL;
    const char *mdname = "SHA256";
    bench_op op = {
        .thread_init = p11b_thread_init, .run = p11b_run, .thread_free = p11b_thread_free};
    CK_SESSION_HANDLE login_session = CK_INVALID_HANDLE;
    int initialized = 0, rc = 2;
    CK_RV rv;

    memset(&cfg, 0, sizeof(cfg));
    bench_settings_init(&set);
    for (int i = 1; i < argc; i++) {
        int r = bench_settings_option(&set, argc, argv, &i);
        const char **dst = NULL;

        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--module") == 0)
            dst = &module;
        else if (strcmp(argv[i], "--token-uri") == 0)
            dst = &uri;
        else if (strcmp(argv[i], "--pin-file") == 0)
            dst = &pin_file;
        else if (strcmp(argv[i], "--label") == 0)
            dst = &label;
        else if (strcmp(argv[i], "--kind") == 0)
            dst = &kind;
        else if (strcmp(argv[i], "--md") == 0)
            dst = &mdname;
        if (dst == NULL || i + 1 >= argc) {
            p11b_usage();
            return 2;
        }
        *dst = argv[++i];
    }
    if (module == NULL || uri == NULL || label == NULL || kind == NULL ||
        !p11b_parse_kind(kind, &cfg.kind)) {
        p11b_usage();
        return 2;
    }
    rc = 1;
    cfg.md = EVP_get_digestbyname(mdname);
    if (cfg.md == NULL) {
        bench_fail("unknown digest %s", mdname);
        return 2;
    }
    cfg.fn = p11_kit_module_load(module, 0);
    if (cfg.fn == NULL) {
        bench_fail("cannot load %s: %s", module, p11_kit_message() ? p11_kit_message() : "?");
        return 1;
    }
    rv = p11_kit_module_initialize(cfg.fn);
    if (rv != CKR_OK) {
        p11b_ck_fail("C_Initialize", rv);
        goto done;
    }
    initialized = 1;
    if (!p11b_find_slot(cfg.fn, uri, &cfg.slot) || !p11b_login(&cfg, &login_session, pin_file) ||
        !p11b_find_key(&cfg, login_session, label) || !p11b_read_public(&cfg, login_session) ||
        !p11b_make_input(&cfg) || (cfg.kind == P11B_DERIVE_ECDH && !p11b_make_peer(&cfg)))
        goto done;
    op.arg = &cfg;
    rc = bench_run_all(&set, &op);
done:
    if (login_session != CK_INVALID_HANDLE)
        cfg.fn->C_CloseSession(login_session); /* the last session: logs out */
    if (initialized)
        p11_kit_module_finalize(cfg.fn);
    p11_kit_module_release(cfg.fn);
    EVP_PKEY_free(cfg.pub);
    return rc;
}
