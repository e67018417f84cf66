/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec_bench: private-key operations through OpenSSL 3 providers, timed
 * per operation. Linked against libcrypto only: it loads providers the way
 * any application does (OSSL_PROVIDER_load, OPENSSL_MODULES/openssl.cnf)
 * and opens keys through OSSL_STORE, so the same program measures the
 * default provider (a PEM file), the parsec provider (parsec:NAME) and
 * Debian's tpm2 provider (a TSS2 PEM file).
 *
 *   parsec_bench --key URI --kind KIND [--provider NAME]... [--md sha256] [--per-op-init]
 *                [--threads 1,2,8] [--seconds 1] [--iterations N] --op LABEL --path LABEL
 *                [--cpu-pid PID]
 *
 * KIND: sign-pkcs1, sign-pss (salt = digest length), sign-ecdsa,
 * decrypt-oaep (MGF1 with the same digest, no label), derive-ecdh.
 * By default each thread initialises its own EVP_PKEY_CTX once and the
 * timed operation is one EVP_PKEY_sign (of a digest) / EVP_PKEY_decrypt /
 * EVP_PKEY_derive. With --per-op-init every operation starts from its init
 * call, as libssl does per handshake: EVP_DigestSignInit_ex + EVP_DigestSign
 * of a 64-byte message, EVP_PKEY_decrypt_init, EVP_PKEY_derive_init +
 * set_peer (tpm2-openssl needs this: it signs only through DigestSign and
 * caches a decryption in its context). Thread 0 checks its first result
 * in software (signature verified, plaintext compared, shared secret
 * recomputed from the peer's side) so a broken path cannot look fast.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/store.h>

#include "bench_harness.h"

#define PB_MAX_PROVIDERS 4
#define PB_OUT_MAX 1024
#define PB_SECRET_LEN 32
#define PB_MSG_LEN 64
/* Checks and test data are made in software, whatever else is loaded. */
#define PB_SW_PROPQ "provider=default"

enum pb_kind { PB_SIGN_PKCS1, PB_SIGN_PSS, PB_SIGN_ECDSA, PB_DECRYPT_OAEP, PB_DERIVE_ECDH };

typedef struct pb_config {
    enum pb_kind kind;
    int per_op_init; /* every operation starts from its init call */
    EVP_PKEY *key;
    EVP_PKEY *pub;      /* the key's public half in the default provider, for checks */
    EVP_PKEY *peer;     /* ECDH: a software key pair on the same curve */
    EVP_PKEY *peer_pub; /* its public half alone, as a TLS peer's key arrives */
    const EVP_MD *md;
    char propq[64];                     /* "?provider=NAME": the key's own provider first */
    unsigned char tbs[EVP_MAX_MD_SIZE]; /* the hash EVP_PKEY_sign signs */
    size_t tbslen;
    unsigned char msg[PB_MSG_LEN]; /* the message EVP_DigestSign signs (per_op_init) */
} pb_config;

typedef struct pb_thread {
    const pb_config *cfg;
    EVP_PKEY_CTX *ctx;
    EVP_MD_CTX *mdctx;            /* signatures with per_op_init */
    unsigned char in[PB_OUT_MAX]; /* OAEP: the ciphertext */
    size_t inlen;
    unsigned char secret[PB_SECRET_LEN];
    unsigned char out[PB_OUT_MAX];
    size_t outlen;
} pb_thread;

static void pb_ossl_error(const char *what)
{
    bench_fail("%s failed:", what);
    ERR_print_errors_fp(stderr);
}

static int pb_is_sign(const pb_config *cfg)
{
    return cfg->kind == PB_SIGN_PKCS1 || cfg->kind == PB_SIGN_PSS || cfg->kind == PB_SIGN_ECDSA;
}

/* Padding, digest and salt of an RSA signature; ECDSA: the digest only. */
static int pb_set_sig_params(EVP_PKEY_CTX *ctx, const pb_config *cfg, int with_md)
{
    if (cfg->kind == PB_SIGN_ECDSA)
        return !with_md || EVP_PKEY_CTX_set_signature_md(ctx, cfg->md) > 0;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, cfg->kind == PB_SIGN_PSS ? RSA_PKCS1_PSS_PADDING
                                                                   : RSA_PKCS1_PADDING) <= 0 ||
        (with_md && EVP_PKEY_CTX_set_signature_md(ctx, cfg->md) <= 0))
        return 0;
    if (cfg->kind == PB_SIGN_PSS) {
        /*
         * Salt = digest length, MGF1 = the digest: some providers (tpm2) take
         * no setting, since the device's choice is that anyway; verification
         * of the first signature checks what was done.
         */
        ERR_set_mark();
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST);
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, cfg->md);
        ERR_pop_to_mark();
    }
    return 1;
}

static int pb_set_oaep_params(EVP_PKEY_CTX *ctx, const pb_config *cfg)
{
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_oaep_md(ctx, cfg->md) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, cfg->md) > 0;
}

/* The operation's init call(s), as an application makes them. */
static int pb_init_op(pb_thread *t)
{
    const pb_config *cfg = t->cfg;
    EVP_PKEY_CTX *pctx = NULL;

    if (pb_is_sign(cfg) && cfg->per_op_init) {
        EVP_MD_CTX_reset(t->mdctx);
        /* One signature per init: nothing to keep, so no context duplicate at the final step. */
        EVP_MD_CTX_set_flags(t->mdctx, EVP_MD_CTX_FLAG_FINALISE);
        return EVP_DigestSignInit_ex(t->mdctx, &pctx, EVP_MD_get0_name(cfg->md), NULL, cfg->propq,
                                     cfg->key, NULL) == 1 &&
               pb_set_sig_params(pctx, cfg, 0);
    }
    switch (cfg->kind) {
    case PB_DECRYPT_OAEP:
        return EVP_PKEY_decrypt_init(t->ctx) == 1 && pb_set_oaep_params(t->ctx, cfg);
    case PB_DERIVE_ECDH:
        return EVP_PKEY_derive_init(t->ctx) == 1 &&
               EVP_PKEY_derive_set_peer(t->ctx, cfg->peer_pub) == 1;
    default:
        return EVP_PKEY_sign_init(t->ctx) == 1 && pb_set_sig_params(t->ctx, cfg, 1);
    }
}

static int pb_do_op(pb_thread *t)
{
    const pb_config *cfg = t->cfg;

    t->outlen = sizeof(t->out);
    if (pb_is_sign(cfg) && cfg->per_op_init)
        return EVP_DigestSign(t->mdctx, t->out, &t->outlen, cfg->msg, sizeof(cfg->msg)) == 1;
    switch (cfg->kind) {
    case PB_DECRYPT_OAEP:
        return EVP_PKEY_decrypt(t->ctx, t->out, &t->outlen, t->in, t->inlen) == 1 &&
               t->outlen == PB_SECRET_LEN;
    case PB_DERIVE_ECDH:
        return EVP_PKEY_derive(t->ctx, t->out, &t->outlen) == 1;
    default:
        return EVP_PKEY_sign(t->ctx, t->out, &t->outlen, cfg->tbs, cfg->tbslen) == 1;
    }
}

static int pb_run(void *state)
{
    pb_thread *t = state;

    if (t->cfg->per_op_init && !pb_init_op(t))
        return 0;
    return pb_do_op(t);
}

/* Thread 0's first result, checked in software: a broken path must not look fast. */
static int pb_check_first(pb_thread *t)
{
    const pb_config *cfg = t->cfg;
    EVP_PKEY_CTX *vctx = NULL, *dctx = NULL;
    EVP_MD_CTX *mdctx = NULL;
    unsigned char expect[PB_OUT_MAX];
    size_t explen = sizeof(expect);
    int ok = 0;

    if (!pb_do_op(t))
        goto done;
    switch (cfg->kind) {
    case PB_SIGN_PKCS1:
    case PB_SIGN_PSS:
    case PB_SIGN_ECDSA:
        if (cfg->per_op_init) {
            mdctx = EVP_MD_CTX_new();
            ok = mdctx != NULL &&
                 EVP_DigestVerifyInit_ex(mdctx, &vctx, EVP_MD_get0_name(cfg->md), NULL, PB_SW_PROPQ,
                                         cfg->pub, NULL) == 1 &&
                 pb_set_sig_params(vctx, cfg, 0) &&
                 EVP_DigestVerify(mdctx, t->out, t->outlen, cfg->msg, sizeof(cfg->msg)) == 1;
            vctx = NULL; /* owned by mdctx */
            break;
        }
        vctx = EVP_PKEY_CTX_new_from_pkey(NULL, cfg->pub, PB_SW_PROPQ);
        ok = vctx != NULL && EVP_PKEY_verify_init(vctx) == 1 && pb_set_sig_params(vctx, cfg, 1) &&
             EVP_PKEY_verify(vctx, t->out, t->outlen, cfg->tbs, cfg->tbslen) == 1;
        break;
    case PB_DECRYPT_OAEP:
        ok = t->outlen == PB_SECRET_LEN && memcmp(t->out, t->secret, PB_SECRET_LEN) == 0;
        break;
    case PB_DERIVE_ECDH:
        /* The peer's side, all in software: the same secret or the path is broken. */
        dctx = EVP_PKEY_CTX_new_from_pkey(NULL, cfg->peer, PB_SW_PROPQ);
        ok = dctx != NULL && EVP_PKEY_derive_init(dctx) == 1 &&
             EVP_PKEY_derive_set_peer(dctx, cfg->pub) == 1 &&
             EVP_PKEY_derive(dctx, expect, &explen) == 1 && explen == t->outlen &&
             memcmp(expect, t->out, explen) == 0;
        break;
    }
done:
    if (!ok)
        pb_ossl_error("checking the first result");
    EVP_MD_CTX_free(mdctx);
    EVP_PKEY_CTX_free(vctx);
    EVP_PKEY_CTX_free(dctx);
    return ok;
}

static void pb_thread_free(void *state)
{
    pb_thread *t = state;

    if (t == NULL)
        return;
    EVP_PKEY_CTX_free(t->ctx);
    EVP_MD_CTX_free(t->mdctx);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

static void *pb_thread_init(void *arg, unsigned int index)
{
    const pb_config *cfg = arg;
    pb_thread *t = calloc(1, sizeof(*t));
    EVP_PKEY_CTX *ectx = NULL;
    int ok = 0;

    if (t == NULL)
        return NULL;
    t->cfg = cfg;
    t->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, cfg->key, cfg->propq);
    t->mdctx = EVP_MD_CTX_new();
    if (t->ctx == NULL || t->mdctx == NULL)
        goto done;
    if (cfg->kind == PB_DECRYPT_OAEP) {
        /* A fresh ciphertext per thread, made with the key's public half. */
        t->inlen = sizeof(t->in);
        ectx = EVP_PKEY_CTX_new_from_pkey(NULL, cfg->pub, PB_SW_PROPQ);
        if (RAND_bytes(t->secret, sizeof(t->secret)) != 1 || ectx == NULL ||
            EVP_PKEY_encrypt_init(ectx) != 1 || !pb_set_oaep_params(ectx, cfg) ||
            EVP_PKEY_encrypt(ectx, t->in, &t->inlen, t->secret, sizeof(t->secret)) != 1) {
            pb_ossl_error("encrypting the test message");
            goto done;
        }
    }
    if (!pb_init_op(t)) {
        pb_ossl_error("setting up the operation");
        goto done;
    }
    ok = index != 0 || pb_check_first(t);
done:
    EVP_PKEY_CTX_free(ectx);
    if (!ok) {
        pb_thread_free(t);
        return NULL;
    }
    return t;
}

static EVP_PKEY *pb_load_key(const char *uri)
{
    OSSL_STORE_CTX *store = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *key = NULL;

    if (store == NULL)
        return NULL;
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
    while (key == NULL && !OSSL_STORE_eof(store)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(store);

        if (info == NULL)
            continue;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            key = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
    return key;
}

/* The public half of any provider's key as a default-provider key. */
static EVP_PKEY *pb_public_copy(EVP_PKEY *key)
{
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pub = NULL;

    if (EVP_PKEY_todata(key, EVP_PKEY_PUBLIC_KEY, &params) == 1 &&
        (ctx = EVP_PKEY_CTX_new_from_name(NULL, EVP_PKEY_get0_type_name(key), PB_SW_PROPQ)) !=
            NULL &&
        EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params);
    EVP_PKEY_CTX_free(ctx);
    return pub;
}

/* A software key pair on the key's curve, and its public half alone (what set_peer gets). */
static int pb_make_peer(pb_config *cfg)
{
    char group[64];
    unsigned char point[256];
    size_t len = 0;
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = NULL;
    int ok;

    ok = EVP_PKEY_get_utf8_string_param(cfg->key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) == 1 &&
         (cfg->peer = EVP_PKEY_Q_keygen(NULL, PB_SW_PROPQ, "EC", group)) != NULL &&
         EVP_PKEY_get_octet_string_param(cfg->peer, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                         &len) == 1;
    if (!ok)
        return 0;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, len);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", PB_SW_PROPQ);
    ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
         EVP_PKEY_fromdata(ctx, &cfg->peer_pub, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static int pb_parse_kind(const char *s, enum pb_kind *kind)
{
    static const struct {
        const char *name;
        enum pb_kind kind;
    } kinds[] = {{"sign-pkcs1", PB_SIGN_PKCS1},
                 {"sign-pss", PB_SIGN_PSS},
                 {"sign-ecdsa", PB_SIGN_ECDSA},
                 {"decrypt-oaep", PB_DECRYPT_OAEP},
                 {"derive-ecdh", PB_DERIVE_ECDH}};

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(s, kinds[i].name) == 0) {
            *kind = kinds[i].kind;
            return 1;
        }
    }
    return 0;
}

static void pb_usage(void)
{
    fprintf(stderr,
            "usage: parsec_bench --key URI --kind "
            "sign-pkcs1|sign-pss|sign-ecdsa|decrypt-oaep|derive-ecdh\n"
            "                    [--provider NAME]... [--md sha256] [--per-op-init] "
            "[--threads 1,2,8] [--seconds S]\n"
            "                    [--iterations N] [--op LABEL] [--path LABEL] [--cpu-pid PID]\n");
}

int main(int argc, char **argv)
{
    bench_settings set;
    pb_config cfg;
    OSSL_PROVIDER *provs[PB_MAX_PROVIDERS];
    size_t n_provs = 0;
    const char *uri = NULL, *kind = NULL, *mdname = "SHA256";
    bench_op op = {.thread_init = pb_thread_init, .run = pb_run, .thread_free = pb_thread_free};
    unsigned int mdlen;
    int rc = 2;

    memset(&cfg, 0, sizeof(cfg));
    bench_settings_init(&set);
    for (int i = 1; i < argc; i++) {
        int r = bench_settings_option(&set, argc, argv, &i);

        if (r < 0)
            goto done;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--per-op-init") == 0) {
            cfg.per_op_init = 1;
            continue;
        }
        if (i + 1 >= argc) {
            pb_usage();
            goto done;
        }
        if (strcmp(argv[i], "--key") == 0) {
            uri = argv[++i];
        } else if (strcmp(argv[i], "--kind") == 0) {
            kind = argv[++i];
        } else if (strcmp(argv[i], "--md") == 0) {
            mdname = argv[++i];
        } else if (strcmp(argv[i], "--provider") == 0 && n_provs < PB_MAX_PROVIDERS) {
            const char *name = argv[++i];

            provs[n_provs] = OSSL_PROVIDER_load(NULL, name);
            if (provs[n_provs] == NULL) {
                pb_ossl_error(name);
                rc = 1;
                goto done;
            }
            n_provs++;
        } else {
            pb_usage();
            goto done;
        }
    }
    if (uri == NULL || kind == NULL || !pb_parse_kind(kind, &cfg.kind)) {
        pb_usage();
        goto done;
    }
    rc = 1;
    /* Loading a named provider disables the implicit default one: keep it for digests. */
    if (n_provs > 0 && OSSL_PROVIDER_load(NULL, "default") == NULL) {
        pb_ossl_error("loading the default provider");
        goto done;
    }
    cfg.md = EVP_get_digestbyname(mdname);
    cfg.key = pb_load_key(uri);
    if (cfg.md == NULL || cfg.key == NULL) {
        pb_ossl_error(cfg.md == NULL ? "finding the digest" : uri);
        goto done;
    }
    /* Operations prefer the key's own provider, as its keymgmt would choose. */
    snprintf(cfg.propq, sizeof(cfg.propq), "?provider=%s",
             OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(cfg.key)));
    cfg.pub = pb_public_copy(cfg.key);
    if (cfg.pub == NULL) {
        pb_ossl_error("copying the public key");
        goto done;
    }
    /* The "hash" every signature signs: a digest of a fixed message. */
    memset(cfg.msg, 'm', sizeof(cfg.msg));
    if (EVP_Digest(cfg.msg, sizeof(cfg.msg), cfg.tbs, &mdlen, cfg.md, NULL) != 1)
        goto done;
    cfg.tbslen = mdlen;
    if (cfg.kind == PB_DERIVE_ECDH) {
        if (!pb_make_peer(&cfg)) {
            pb_ossl_error("making the ECDH peer key");
            goto done;
        }
    }
    op.arg = &cfg;
    rc = bench_run_all(&set, &op);
done:
    EVP_PKEY_free(cfg.key);
    EVP_PKEY_free(cfg.pub);
    EVP_PKEY_free(cfg.peer);
    EVP_PKEY_free(cfg.peer_pub);
    return rc;
}
