/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signature plumbing shared by RSA and ECDSA: context life cycle, software
 * hashing (OpenSSL 3.0 never combines a default-provider digest with a
 * provider's sign(), so digest-sign is ours), DUPCTX (EVP_DigestSignFinal
 * duplicates the context), software verification with the public half, and
 * the common context parameters.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "pprov_sig.h"

/* ---- digests ------------------------------------------------------------------- */

uint8_t pprov_sig_parsec_hash(const EVP_MD *md)
{
    static const struct {
        int nid;
        uint8_t hash;
    } map[] = {
        {NID_sha1, PARSEC_HASH_SHA_1},
        {NID_sha224, PARSEC_HASH_SHA_224},
        {NID_sha256, PARSEC_HASH_SHA_256},
        {NID_sha384, PARSEC_HASH_SHA_384},
        {NID_sha512, PARSEC_HASH_SHA_512},
        {NID_sha512_224, PARSEC_HASH_SHA_512_224},
        {NID_sha512_256, PARSEC_HASH_SHA_512_256},
        {NID_sha3_224, PARSEC_HASH_SHA3_224},
        {NID_sha3_256, PARSEC_HASH_SHA3_256},
        {NID_sha3_384, PARSEC_HASH_SHA3_384},
        {NID_sha3_512, PARSEC_HASH_SHA3_512},
        {NID_ripemd160, PARSEC_HASH_RIPEMD160},
    };
    int nid;
    size_t i;

    if (md == NULL)
        return PARSEC_HASH_NONE;
    nid = EVP_MD_get_type(md);
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].nid == nid)
            return map[i].hash;
    return PARSEC_HASH_NONE;
}

EVP_MD *pprov_sig_fetch_md(pprov_sig_ctx *sctx, const char *mdname, const char *props)
{
    EVP_MD *md;

    /* The caller's properties when given; else any provider but us (we have no digests). */
    if (props == NULL || *props == '\0')
        props = PPROV_FETCH_PROPQ;
    md = EVP_MD_fetch(pprov_libctx(sctx->ctx), mdname, props);
    if (md == NULL) {
        PPROV_raise(sctx->ctx, PPROV_R_UNSUPPORTED,
                    "digest '%s' is not available with properties '%s'", mdname, props);
        return NULL;
    }
    if (pprov_sig_parsec_hash(md) == PARSEC_HASH_NONE) {
        PPROV_raise(sctx->ctx, PPROV_R_UNSUPPORTED,
                    "digest '%s' cannot be used with Parsec keys (use SHA-2 or SHA-3)", mdname);
        EVP_MD_free(md);
        return NULL;
    }
    return md;
}

int pprov_sig_set_md(pprov_sig_ctx *sctx, const char *mdname, const char *props)
{
    EVP_MD *md;

    if (sctx->digest_updated) {
        PPROV_raise(sctx->ctx, PPROV_R_INVALID_ARGUMENT,
                    "the digest cannot change once data has been hashed");
        return 0;
    }
    md = pprov_sig_fetch_md(sctx, mdname, props);
    if (md == NULL)
        return 0;
    EVP_MD_free(sctx->md);
    sctx->md = md;
    return 1;
}

uint8_t pprov_sig_hash_for(pprov_sig_ctx *sctx, size_t tbslen)
{
    uint8_t policy_hash = sctx->key->attrs.alg.hash;

    if (sctx->md != NULL)
        return pprov_sig_parsec_hash(sctx->md);
    /* A bare hash: the key's own hash if it has that length, else SHA-2 by length. */
    if (policy_hash != PARSEC_HASH_ANY && policy_hash != PARSEC_HASH_NONE &&
        parsec_hash_length(policy_hash) == tbslen)
        return policy_hash;
    switch (tbslen) {
    case 20:
        return PARSEC_HASH_SHA_1;
    case 28:
        return PARSEC_HASH_SHA_224;
    case 32:
        return PARSEC_HASH_SHA_256;
    case 48:
        return PARSEC_HASH_SHA_384;
    case 64:
        return PARSEC_HASH_SHA_512;
    default:
        return PARSEC_HASH_NONE;
    }
}

/* ---- policy and the service call -------------------------------------------------- */

int pprov_sig_check_policy(pprov_sig_ctx *sctx, const parsec_alg *req)
{
    const pprov_key *key = sctx->key;
    char policy[192], want[96];

    if ((key->attrs.usage & PARSEC_USAGE_SIGN_HASH) != 0 &&
        parsec_alg_permits(&key->attrs.alg, req))
        return 1;
    pprov_describe_policy(&key->attrs, policy, sizeof(policy));
    pprov_describe_alg(req, want, sizeof(want));
    if ((key->attrs.usage & PARSEC_USAGE_SIGN_HASH) == 0)
        PPROV_raise(sctx->ctx, PPROV_R_NOT_PERMITTED,
                    "Parsec key '%s' may not sign: its policy is %s", key->name, policy);
    else
        PPROV_raise(sctx->ctx, PPROV_R_NOT_PERMITTED,
                    "Parsec key '%s' permits only %s, not the requested %s", key->name, policy,
                    want);
    return 0;
}

int pprov_sig_service_sign(pprov_sig_ctx *sctx, const parsec_alg *alg, const unsigned char *hash,
                           size_t hashlen, uint8_t **out, size_t *outlen)
{
    parsec_client *client = pprov_client(sctx->ctx);
    parsec_status st;

    if (client == NULL)
        return 0;
    st = parsec_sign_hash(client, sctx->key->provider_id, sctx->key->name, alg, hash, hashlen, out,
                          outlen);
    if (st != PARSEC_SUCCESS) {
        if (st == PARSEC_PSA_ERROR_NOT_PERMITTED) {
            char want[96];

            pprov_describe_alg(alg, want, sizeof(want));
            PPROV_raise(sctx->ctx, PPROV_R_NOT_PERMITTED,
                        "the Parsec service refused %s with key '%s': %s", want, sctx->key->name,
                        parsec_status_message(st));
        } else {
            PPROV_raise_status(sctx->ctx, st, "signature", sctx->key->name);
        }
        return 0;
    }
    PPROV_debug("signed %zu-byte hash with '%s' -> %zu bytes", hashlen, sctx->key->name, *outlen);
    return 1;
}

size_t pprov_sig_pub_max_size(const pprov_sig_ctx *sctx)
{
    return (size_t)EVP_PKEY_get_size(sctx->key->pub);
}

int pprov_sig_algor_der(const X509_ALGOR *alg, unsigned char **der, size_t *derlen)
{
    int len;

    *der = NULL;
    len = i2d_X509_ALGOR(alg, der);
    if (len <= 0)
        return 0;
    *derlen = (size_t)len;
    return 1;
}

/* ---- context life cycle -------------------------------------------------------------- */

void *pprov_sig_newctx(void *provctx, const char *propq, const pprov_sig_alg *alg)
{
    pprov_sig_ctx *sctx = OPENSSL_zalloc(sizeof(*sctx));

    if (sctx == NULL)
        return NULL;
    sctx->ctx = provctx;
    sctx->alg = alg;
    if (propq != NULL && (sctx->propq = OPENSSL_strdup(propq)) == NULL) {
        OPENSSL_free(sctx);
        return NULL;
    }
    return sctx;
}

void pprov_sig_freectx(void *vctx)
{
    pprov_sig_ctx *sctx = vctx;

    if (sctx == NULL)
        return;
    EVP_MD_CTX_free(sctx->mdctx);
    EVP_MD_free(sctx->md);
    EVP_MD_free(sctx->mgf1_md);
    pprov_key_free(sctx->key);
    OPENSSL_free(sctx->propq);
    OPENSSL_clear_free(sctx, sizeof(*sctx));
}

void *pprov_sig_dupctx(void *vctx)
{
    const pprov_sig_ctx *src = vctx;
    pprov_sig_ctx *dst;

    dst = OPENSSL_zalloc(sizeof(*dst));
    if (dst == NULL)
        return NULL;
    *dst = *src;
    dst->propq = NULL;
    dst->mdctx = NULL;
    dst->md = NULL;
    dst->mgf1_md = NULL;
    dst->key = pprov_key_ref(src->key);
    if ((src->propq != NULL && (dst->propq = OPENSSL_strdup(src->propq)) == NULL) ||
        (src->md != NULL && !EVP_MD_up_ref(src->md)) ||
        (src->mgf1_md != NULL && !EVP_MD_up_ref(src->mgf1_md)))
        goto err;
    dst->md = src->md;
    dst->mgf1_md = src->mgf1_md;
    /* The running hash is what EVP_DigestSignFinal's duplicate must finish. */
    if (src->mdctx != NULL) {
        dst->mdctx = EVP_MD_CTX_new();
        if (dst->mdctx == NULL || !EVP_MD_CTX_copy_ex(dst->mdctx, src->mdctx))
            goto err;
    }
    return dst;
err:
    pprov_sig_freectx(dst);
    return NULL;
}

static int pprov_sig_init(pprov_sig_ctx *sctx, void *provkey, const OSSL_PARAM params[],
                          int operation)
{
    pprov_key *key = provkey;

    if (key != NULL) {
        if ((sctx->alg->key_types & (1 << key->type)) == 0) {
            PPROV_raise(sctx->ctx, PPROV_R_WRONG_KEY_TYPE, "%s cannot use an %s key",
                        sctx->alg->name, pprov_key_type_name(key->type));
            return 0;
        }
        if (operation == EVP_PKEY_OP_SIGN && !pprov_key_has_private(key)) {
            PPROV_raise(sctx->ctx, PPROV_R_INVALID_ARGUMENT,
                        "this %s key is public only (not held by the Parsec service)",
                        pprov_key_type_name(key->type));
            return 0;
        }
        if (key->pub == NULL) {
            PPROV_raise(sctx->ctx, PPROV_R_INVALID_ARGUMENT, "key has no public half");
            return 0;
        }
        pprov_key_free(sctx->key);
        sctx->key = pprov_key_ref(key);
    } else if (sctx->key == NULL) {
        PPROV_raise(sctx->ctx, PPROV_R_INVALID_ARGUMENT, "no key given");
        return 0;
    }
    sctx->operation = operation;
    sctx->digest_updated = 0;
    EVP_MD_free(sctx->md);
    sctx->md = NULL;
    EVP_MD_free(sctx->mgf1_md);
    sctx->mgf1_md = NULL;
    EVP_MD_CTX_free(sctx->mdctx);
    sctx->mdctx = NULL;
    sctx->alg->init_defaults(sctx);
    PPROV_debug("%s %s init with key '%s'", sctx->alg->name,
                operation == EVP_PKEY_OP_SIGN ? "sign" : "verify",
                sctx->key->name != NULL ? sctx->key->name : "(public)");
    return pprov_sig_set_ctx_params(sctx, params);
}

int pprov_sig_sign_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return pprov_sig_init(vctx, provkey, params, EVP_PKEY_OP_SIGN);
}

int pprov_sig_verify_init(void *vctx, void *provkey, const OSSL_PARAM params[])
{
    return pprov_sig_init(vctx, provkey, params, EVP_PKEY_OP_VERIFY);
}

int pprov_sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                   const unsigned char *tbs, size_t tbslen)
{
    pprov_sig_ctx *sctx = vctx;

    if (sig == NULL) {
        *siglen = sctx->alg->max_size(sctx);
        return 1;
    }
    return sctx->alg->sign_hash(sctx, tbs, tbslen, sig, siglen, sigsize);
}

/* Software verification of a hash with the public half (never the service). */
static int pprov_sig_verify_hash(pprov_sig_ctx *sctx, const unsigned char *sig, size_t siglen,
                                 const unsigned char *tbs, size_t tbslen)
{
    EVP_PKEY_CTX *vctx;
    int ret = 0;

    vctx = EVP_PKEY_CTX_new_from_pkey(pprov_libctx(sctx->ctx), sctx->key->pub, PPROV_FETCH_PROPQ);
    if (vctx == NULL || EVP_PKEY_verify_init(vctx) <= 0)
        goto done;
    if (sctx->md != NULL && EVP_PKEY_CTX_set_signature_md(vctx, sctx->md) <= 0)
        goto done;
    if (!sctx->alg->setup_verify(sctx, vctx))
        goto done;
    ret = EVP_PKEY_verify(vctx, sig, siglen, tbs, tbslen);
    if (ret < 0)
        ret = 0;
done:
    EVP_PKEY_CTX_free(vctx);
    return ret;
}

int pprov_sig_verify(void *vctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
                     size_t tbslen)
{
    return pprov_sig_verify_hash(vctx, sig, siglen, tbs, tbslen);
}

/* ---- digest sign / verify ------------------------------------------------------------ */

static int pprov_sig_digest_init(pprov_sig_ctx *sctx, const char *mdname, void *provkey,
                                 const OSSL_PARAM params[], int operation)
{
    if (!pprov_sig_init(sctx, provkey, params, operation))
        return 0;
    if (mdname != NULL && *mdname != '\0') {
        if (!pprov_sig_set_md(sctx, mdname, NULL))
            return 0;
    } else if (sctx->md == NULL) {
        /* No digest named: the key's (the policy's hash or SHA-256). */
        uint8_t h = sctx->key->attrs.alg.hash;
        const char *name =
            (h != PARSEC_HASH_ANY && h != PARSEC_HASH_NONE) ? parsec_hash_ossl_name(h) : NULL;

        if (!pprov_sig_set_md(sctx, name != NULL ? name : "SHA256", NULL))
            return 0;
    }
    sctx->mdctx = EVP_MD_CTX_new();
    if (sctx->mdctx == NULL || !EVP_DigestInit_ex2(sctx->mdctx, sctx->md, NULL)) {
        PPROV_raise(sctx->ctx, PPROV_R_OPERATION_FAILED, "cannot start the digest");
        return 0;
    }
    return 1;
}

int pprov_sig_digest_sign_init(void *vctx, const char *mdname, void *provkey,
                               const OSSL_PARAM params[])
{
    return pprov_sig_digest_init(vctx, mdname, provkey, params, EVP_PKEY_OP_SIGN);
}

int pprov_sig_digest_verify_init(void *vctx, const char *mdname, void *provkey,
                                 const OSSL_PARAM params[])
{
    return pprov_sig_digest_init(vctx, mdname, provkey, params, EVP_PKEY_OP_VERIFY);
}

int pprov_sig_digest_update(void *vctx, const unsigned char *data, size_t datalen)
{
    pprov_sig_ctx *sctx = vctx;

    if (sctx->mdctx == NULL)
        return 0;
    sctx->digest_updated = 1;
    return EVP_DigestUpdate(sctx->mdctx, data, datalen);
}

/* Finish the running hash (consumes it). */
static int pprov_sig_digest_finish(pprov_sig_ctx *sctx, unsigned char *hash, unsigned int *hashlen)
{
    if (sctx->mdctx == NULL || !EVP_DigestFinal_ex(sctx->mdctx, hash, hashlen)) {
        PPROV_raise(sctx->ctx, PPROV_R_OPERATION_FAILED, "digest-sign context not initialised");
        return 0;
    }
    sctx->digest_updated = 1;
    return 1;
}

int pprov_sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    pprov_sig_ctx *sctx = vctx;
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hashlen = 0;
    int ok;

    if (sig == NULL) {
        *siglen = sctx->alg->max_size(sctx);
        return 1;
    }
    if (!pprov_sig_digest_finish(sctx, hash, &hashlen))
        return 0;
    ok = sctx->alg->sign_hash(sctx, hash, hashlen, sig, siglen, sigsize);
    OPENSSL_cleanse(hash, sizeof(hash));
    return ok;
}

int pprov_sig_digest_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                          const unsigned char *tbs, size_t tbslen)
{
    pprov_sig_ctx *sctx = vctx;

    if (sig == NULL) {
        *siglen = sctx->alg->max_size(sctx);
        return 1;
    }
    return pprov_sig_digest_update(sctx, tbs, tbslen) &&
           pprov_sig_digest_sign_final(sctx, sig, siglen, sigsize);
}

int pprov_sig_digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
    pprov_sig_ctx *sctx = vctx;
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int hashlen = 0;

    if (!pprov_sig_digest_finish(sctx, hash, &hashlen))
        return 0;
    return pprov_sig_verify_hash(sctx, sig, siglen, hash, hashlen);
}

int pprov_sig_digest_verify(void *vctx, const unsigned char *sig, size_t siglen,
                            const unsigned char *tbs, size_t tbslen)
{
    return pprov_sig_digest_update(vctx, tbs, tbslen) &&
           pprov_sig_digest_verify_final(vctx, sig, siglen);
}

/* ---- context parameters -------------------------------------------------------------- */

int pprov_sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    pprov_sig_ctx *sctx = vctx;
    OSSL_PARAM *p;

    if (sctx == NULL)
        return 0;
    if (params == NULL)
        return 1;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
    if (p != NULL) {
        unsigned char *der = NULL;
        size_t derlen = 0;
        int ok;

        if (sctx->key == NULL || !sctx->alg->algorithm_id(sctx, &der, &derlen))
            return 0;
        ok = OSSL_PARAM_set_octet_string(p, der, derlen);
        OPENSSL_free(der);
        if (!ok)
            return 0;
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL && sctx->md != NULL && !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(sctx->md)))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST_SIZE);
    if (p != NULL && sctx->md != NULL &&
        !OSSL_PARAM_set_size_t(p, (size_t)EVP_MD_get_size(sctx->md)))
        return 0;
    return sctx->alg->get_params(sctx, params);
}

int pprov_sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    pprov_sig_ctx *sctx = vctx;
    const OSSL_PARAM *p;

    if (sctx == NULL)
        return 0;
    if (params == NULL)
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
    if (p != NULL) {
        const char *mdname = NULL, *props = NULL;
        const OSSL_PARAM *pp = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PROPERTIES);

        if (!OSSL_PARAM_get_utf8_string_ptr(p, &mdname) ||
            (pp != NULL && !OSSL_PARAM_get_utf8_string_ptr(pp, &props)))
            return 0;
        if (!pprov_sig_set_md(sctx, mdname, props))
            return 0;
    }
    return sctx->alg->set_params(sctx, params);
}
