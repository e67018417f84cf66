/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIGNATURE "RSA": PKCS#1 v1.5 and PSS with keys in the Parsec service.
 *
 * A Parsec key permits one scheme: the default padding follows the key's
 * policy (PSS keys sign PSS unless told otherwise), and a request the
 * policy forbids is refused with both named, never signed differently.
 * PSA's RSA-PSS always uses salt = digest length and MGF1 with the same
 * digest; "digest" and "auto" salt lengths map to that, anything else that
 * would change the signature is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "pprov_sig.h"

static OSSL_FUNC_signature_newctx_fn pprov_rsa_sig_newctx;
static OSSL_FUNC_signature_gettable_ctx_params_fn pprov_rsa_sig_gettable_ctx_params;
static OSSL_FUNC_signature_settable_ctx_params_fn pprov_rsa_sig_settable_ctx_params;

static const struct {
    int mode;
    const char *name;
} pprov_rsa_pad_modes[] = {
    {RSA_PKCS1_PADDING, OSSL_PKEY_RSA_PAD_MODE_PKCSV15},
    {RSA_PKCS1_PSS_PADDING, OSSL_PKEY_RSA_PAD_MODE_PSS},
    {RSA_NO_PADDING, OSSL_PKEY_RSA_PAD_MODE_NONE},
    {RSA_X931_PADDING, OSSL_PKEY_RSA_PAD_MODE_X931},
};

static int pprov_rsa_policy_is_pss(const pprov_key *key)
{
    return key->type == PPROV_KEY_RSA_PSS ||
           (key->attrs.alg.kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE &&
            key->attrs.alg.scheme == PARSEC_SIGN_RSA_PSS);
}

static void pprov_rsa_init_defaults(pprov_sig_ctx *sctx)
{
    sctx->pad_mode = pprov_rsa_policy_is_pss(sctx->key) ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING;
    sctx->pad_explicit = sctx->pad_reported = 0;
    sctx->saltlen = RSA_PSS_SALTLEN_DIGEST;
}

/*
 * The padding the signature gets: the policy's once the caller knows it,
 * otherwise PKCS#1 v1.5, the default every OpenSSL caller assumes (CMS
 * without -keyopt, TLS 1.2 rsa_pkcs1 sigalgs, dgst/pkeyutl). Signing PSS
 * there would be a wrong signature; refusing names the fix instead.
 */
static int pprov_rsa_effective_pad(const pprov_sig_ctx *sctx)
{
    if (sctx->pad_explicit || sctx->pad_reported || sctx->key->type == PPROV_KEY_RSA_PSS)
        return sctx->pad_mode;
    return RSA_PKCS1_PADDING;
}

/* The digest used by MGF1 (PSA: always the signature digest). */
static const EVP_MD *pprov_rsa_mgf1(const pprov_sig_ctx *sctx)
{
    return sctx->mgf1_md != NULL ? sctx->mgf1_md : sctx->md;
}

static int pprov_rsa_check_pss(pprov_sig_ctx *sctx, uint8_t hash)
{
    size_t hlen = parsec_hash_length(hash);

    if (sctx->saltlen != RSA_PSS_SALTLEN_DIGEST && sctx->saltlen != RSA_PSS_SALTLEN_AUTO &&
        (sctx->saltlen < 0 || (size_t)sctx->saltlen != hlen)) {
        PPROV_raise(sctx->ctx, PPROV_R_UNSUPPORTED,
                    "Parsec RSA-PSS uses a salt as long as the digest (%zu bytes); salt length"
                    " %s is not possible (use rsa_pss_saltlen:digest)",
                    hlen,
                    sctx->saltlen == RSA_PSS_SALTLEN_MAX ? "max" : "other than the digest length");
        return 0;
    }
    if (sctx->mgf1_md != NULL && sctx->md != NULL &&
        EVP_MD_get_type(sctx->mgf1_md) != EVP_MD_get_type(sctx->md)) {
        PPROV_raise(sctx->ctx, PPROV_R_UNSUPPORTED,
                    "Parsec RSA-PSS uses MGF1 with the signature digest (%s), not %s",
                    EVP_MD_get0_name(sctx->md), EVP_MD_get0_name(sctx->mgf1_md));
        return 0;
    }
    return 1;
}

/* DigestInfo for a key whose policy is RsaPkcs1v15SignRaw. */
static int pprov_rsa_digest_info(const EVP_MD *md, const unsigned char *tbs, size_t tbslen,
                                 unsigned char **der, size_t *derlen)
{
    X509_SIG *di = X509_SIG_new();
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING *digest = NULL;
    int len, ok = 0;

    *der = NULL;
    if (di == NULL)
        goto done;
    X509_SIG_getm(di, &alg, &digest);
    if (!X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL) ||
        !ASN1_OCTET_STRING_set(digest, tbs, (int)tbslen))
        goto done;
    len = i2d_X509_SIG(di, der);
    if (len <= 0)
        goto done;
    *derlen = (size_t)len;
    ok = 1;
done:
    X509_SIG_free(di);
    return ok;
}

static int pprov_rsa_sign_hash(pprov_sig_ctx *sctx, const unsigned char *tbs, size_t tbslen,
                               unsigned char *sig, size_t *siglen, size_t sigsize)
{
    const parsec_alg *policy = &sctx->key->attrs.alg;
    parsec_alg req = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, 0, 0};
    unsigned char *input = NULL;
    size_t inputlen = tbslen;
    uint8_t *out = NULL;
    size_t outlen = 0;
    int ok = 0, pad = pprov_rsa_effective_pad(sctx);

    if (pad != RSA_PKCS1_PADDING && pad != RSA_PKCS1_PSS_PADDING) {
        PPROV_raise(sctx->ctx, PPROV_R_UNSUPPORTED,
                    "Parsec keys sign with PKCS#1 v1.5 or PSS padding only");
        return 0;
    }
    if (sctx->md == NULL &&
        !(pad == RSA_PKCS1_PADDING && policy->kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE &&
          policy->scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW)) {
        PPROV_raise(sctx->ctx, PPROV_R_INVALID_ARGUMENT,
                    "Parsec RSA keys sign digests: name the digest (-pkeyopt digest:sha256 or"
                    " -digest sha256 -rawin)");
        return 0;
    }
    req.hash = pprov_sig_hash_for(sctx, tbslen);
    if (sctx->md != NULL && tbslen != parsec_hash_length(req.hash)) {
        PPROV_raise(sctx->ctx, PPROV_R_INVALID_ARGUMENT,
                    "input is %zu bytes but a %s digest is %zu bytes", tbslen,
                    EVP_MD_get0_name(sctx->md), parsec_hash_length(req.hash));
        return 0;
    }
    if (pad == RSA_PKCS1_PSS_PADDING) {
        req.scheme = PARSEC_SIGN_RSA_PSS;
        if (!pprov_rsa_check_pss(sctx, req.hash))
            return 0;
    } else if (policy->kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE &&
               policy->scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW) {
        /* The key signs prepared input: wrap the hash in a DigestInfo ourselves. */
        req.scheme = PARSEC_SIGN_RSA_PKCS1V15_RAW;
        if (sctx->md != NULL) {
            if (!pprov_rsa_digest_info(sctx->md, tbs, tbslen, &input, &inputlen)) {
                PPROV_raise(sctx->ctx, PPROV_R_OPERATION_FAILED, "cannot build the DigestInfo");
                return 0;
            }
        }
        req.hash = 0;
    } else {
        req.scheme = PARSEC_SIGN_RSA_PKCS1V15;
    }
    if (req.scheme != PARSEC_SIGN_RSA_PKCS1V15_RAW && req.hash == PARSEC_HASH_NONE) {
        PPROV_raise(sctx->ctx, PPROV_R_UNSUPPORTED, "unsupported digest for a Parsec RSA key");
        return 0;
    }
    if (!pprov_sig_check_policy(sctx, &req)) {
        if (pad != sctx->pad_mode)
            PPROV_raise(sctx->ctx, PPROV_R_NOT_PERMITTED,
                        "PKCS#1 v1.5 is OpenSSL's default RSA padding: ask for PSS"
                        " (-sigopt rsa_padding_mode:pss, -pkeyopt rsa_padding_mode:pss,"
                        " cms -keyopt rsa_padding_mode:pss)");
        goto done;
    }
    if (!pprov_sig_service_sign(sctx, &req, input != NULL ? input : tbs, inputlen, &out, &outlen))
        goto done;
    if (outlen > sigsize) {
        PPROV_raise(sctx->ctx, PPROV_R_BUFFER_TOO_SMALL, "signature is %zu bytes, buffer %zu",
                    outlen, sigsize);
        goto done;
    }
    memcpy(sig, out, outlen);
    *siglen = outlen;
    ok = 1;
done:
    OPENSSL_free(input);
    parsec_free(out);
    return ok;
}

static int pprov_rsa_setup_verify(pprov_sig_ctx *sctx, EVP_PKEY_CTX *vctx)
{
    int pad = pprov_rsa_effective_pad(sctx);

    if (EVP_PKEY_CTX_set_rsa_padding(vctx, pad) <= 0)
        return 0;
    if (pad == RSA_PKCS1_PSS_PADDING) {
        if (EVP_PKEY_CTX_set_rsa_pss_saltlen(vctx, sctx->saltlen) <= 0)
            return 0;
        if (pprov_rsa_mgf1(sctx) != NULL &&
            EVP_PKEY_CTX_set_rsa_mgf1_md(vctx, pprov_rsa_mgf1(sctx)) <= 0)
            return 0;
    }
    return 1;
}

/* RSASSA-PSS-params as OpenSSL writes them (SHA-1 and salt 20 are the DEFAULTs, left out). */
static ASN1_STRING *pprov_rsa_pss_params(const EVP_MD *md, const EVP_MD *mgf1md, int saltlen)
{
    RSA_PSS_PARAMS *pss = RSA_PSS_PARAMS_new();
    X509_ALGOR *mgf1hash = NULL;
    ASN1_STRING *packed = NULL, *result = NULL;

    if (pss == NULL)
        goto done;
    if (saltlen != 20) {
        if ((pss->saltLength = ASN1_INTEGER_new()) == NULL ||
            !ASN1_INTEGER_set(pss->saltLength, saltlen))
            goto done;
    }
    if (EVP_MD_get_type(md) != NID_sha1) {
        if ((pss->hashAlgorithm = X509_ALGOR_new()) == NULL)
            goto done;
        X509_ALGOR_set_md(pss->hashAlgorithm, md);
    }
    if (EVP_MD_get_type(mgf1md) != NID_sha1) {
        if ((mgf1hash = X509_ALGOR_new()) == NULL)
            goto done;
        X509_ALGOR_set_md(mgf1hash, mgf1md);
        packed = ASN1_item_pack(mgf1hash, ASN1_ITEM_rptr(X509_ALGOR), NULL);
        if (packed == NULL || (pss->maskGenAlgorithm = X509_ALGOR_new()) == NULL ||
            !X509_ALGOR_set0(pss->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE, packed))
            goto done;
        packed = NULL;
    }
    result = ASN1_item_pack(pss, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL);
done:
    ASN1_STRING_free(packed);
    X509_ALGOR_free(mgf1hash);
    RSA_PSS_PARAMS_free(pss);
    return result;
}

static int pprov_rsa_algorithm_id(pprov_sig_ctx *sctx, unsigned char **der, size_t *derlen)
{
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_STRING *params = NULL;
    int sig_nid = NID_undef, ok = 0;

    if (alg == NULL || sctx->md == NULL)
        goto done;
    sctx->pad_reported = 1; /* the caller labels the signature with what we say */
    if (sctx->pad_mode == RSA_PKCS1_PSS_PADDING) {
        params = pprov_rsa_pss_params(sctx->md, pprov_rsa_mgf1(sctx), EVP_MD_get_size(sctx->md));
        if (params == NULL ||
            !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, params))
            goto done;
        params = NULL;
    } else if (sctx->pad_mode == RSA_PKCS1_PADDING) {
        if (!OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(sctx->md), NID_rsaEncryption) ||
            !X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid), V_ASN1_NULL, NULL))
            goto done;
    } else {
        goto done;
    }
    ok = pprov_sig_algor_der(alg, der, derlen);
done:
    ASN1_STRING_free(params);
    X509_ALGOR_free(alg);
    return ok;
}

static int pprov_rsa_get_params(pprov_sig_ctx *sctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;
    size_t i;

    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL) {
        sctx->pad_reported = 1;
        if (p->data_type == OSSL_PARAM_UTF8_STRING) {
            for (i = 0; i < sizeof(pprov_rsa_pad_modes) / sizeof(pprov_rsa_pad_modes[0]); i++)
                if (pprov_rsa_pad_modes[i].mode == sctx->pad_mode &&
                    !OSSL_PARAM_set_utf8_string(p, pprov_rsa_pad_modes[i].name))
                    return 0;
        } else if (!OSSL_PARAM_set_int(p, sctx->pad_mode)) {
            return 0;
        }
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL) {
        /* Report what the signature really uses: the digest length. */
        int saltlen = sctx->saltlen;

        if ((saltlen == RSA_PSS_SALTLEN_DIGEST || saltlen == RSA_PSS_SALTLEN_AUTO) &&
            sctx->operation == EVP_PKEY_OP_SIGN && sctx->md != NULL)
            saltlen = EVP_MD_get_size(sctx->md);
        if (p->data_type == OSSL_PARAM_UTF8_STRING) {
            char buf[32];
            const char *text = buf;

            if (saltlen == RSA_PSS_SALTLEN_DIGEST)
                text = OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST;
            else if (saltlen == RSA_PSS_SALTLEN_AUTO)
                text = OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO;
            else if (saltlen == RSA_PSS_SALTLEN_MAX)
                text = OSSL_PKEY_RSA_PSS_SALT_LEN_MAX;
            else
                snprintf(buf, sizeof(buf), "%d", saltlen);
            if (!OSSL_PARAM_set_utf8_string(p, text))
                return 0;
        } else if (!OSSL_PARAM_set_int(p, saltlen)) {
            return 0;
        }
    }
    p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
    if (p != NULL && pprov_rsa_mgf1(sctx) != NULL &&
        !OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(pprov_rsa_mgf1(sctx))))
        return 0;
    return 1;
}

static int pprov_rsa_set_params(pprov_sig_ctx *sctx, const OSSL_PARAM params[])
{
    const OSSL_PARAM *p;
    size_t i;

    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
    if (p != NULL) {
        int mode = -1;

        if (p->data_type == OSSL_PARAM_UTF8_STRING) {
            for (i = 0; i < sizeof(pprov_rsa_pad_modes) / sizeof(pprov_rsa_pad_modes[0]); i++)
                if (strcasecmp(p->data, pprov_rsa_pad_modes[i].name) == 0)
                    mode = pprov_rsa_pad_modes[i].mode;
        } else if (!OSSL_PARAM_get_int(p, &mode)) {
            return 0;
        }
        if (mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_PSS_PADDING &&
            !(mode == RSA_NO_PADDING && sctx->operation == EVP_PKEY_OP_VERIFY)) {
            PPROV_raise(sctx->ctx, PPROV_R_UNSUPPORTED,
                        "padding mode %s is not available with Parsec keys (pkcs1 or pss)",
                        p->data_type == OSSL_PARAM_UTF8_STRING ? (const char *)p->data : "given");
            return 0;
        }
        if (sctx->key != NULL && sctx->key->type == PPROV_KEY_RSA_PSS &&
            mode != RSA_PKCS1_PSS_PADDING) {
            PPROV_raise(sctx->ctx, PPROV_R_NOT_PERMITTED,
                        "an RSA-PSS key signs with PSS padding only");
            return 0;
        }
        sctx->pad_mode = mode;
        sctx->pad_explicit = 1;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
    if (p != NULL) {
        int saltlen;

        if (p->data_type == OSSL_PARAM_UTF8_STRING) {
            const char *v = p->data;

            if (strcmp(v, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0)
                saltlen = RSA_PSS_SALTLEN_DIGEST;
            else if (strcmp(v, OSSL_PKEY_RSA_PSS_SALT_LEN_MAX) == 0)
                saltlen = RSA_PSS_SALTLEN_MAX;
            else if (strcmp(v, OSSL_PKEY_RSA_PSS_SALT_LEN_AUTO) == 0 ||
                     strcmp(v, "auto-digestmax") == 0)
                saltlen = RSA_PSS_SALTLEN_AUTO;
            else
                saltlen = atoi(v);
        } else if (!OSSL_PARAM_get_int(p, &saltlen)) {
            return 0;
        }
        sctx->saltlen = saltlen;
    }
    p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
    if (p != NULL) {
        const OSSL_PARAM *pp =
            OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES);
        const char *mdname = NULL, *props = NULL;
        EVP_MD *md;

        if (!OSSL_PARAM_get_utf8_string_ptr(p, &mdname) ||
            (pp != NULL && !OSSL_PARAM_get_utf8_string_ptr(pp, &props)) ||
            (md = pprov_sig_fetch_md(sctx, mdname, props)) == NULL)
            return 0;
        EVP_MD_free(sctx->mgf1_md);
        sctx->mgf1_md = md;
    }
    return 1;
}

static const pprov_sig_alg pprov_rsa_sig_alg = {
    "RSA signature",         (1 << PPROV_KEY_RSA) | (1 << PPROV_KEY_RSA_PSS),
    pprov_rsa_init_defaults, pprov_sig_pub_max_size,
    pprov_rsa_sign_hash,     pprov_rsa_setup_verify,
    pprov_rsa_algorithm_id,  pprov_rsa_get_params,
    pprov_rsa_set_params,
};

static void *pprov_rsa_sig_newctx(void *provctx, const char *propq)
{
    return pprov_sig_newctx(provctx, propq, &pprov_rsa_sig_alg);
}

static const OSSL_PARAM *pprov_rsa_sig_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        PPROV_SIG_COMMON_GETTABLE,
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
        OSSL_PARAM_END,
    };
    return gettable;
}

static const OSSL_PARAM *pprov_rsa_sig_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        PPROV_SIG_COMMON_SETTABLE,
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL, 0),
        OSSL_PARAM_END,
    };
    return settable;
}

const OSSL_DISPATCH pprov_rsa_signature_functions[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))pprov_rsa_sig_newctx},
    {OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))pprov_sig_freectx},
    {OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))pprov_sig_dupctx},
    {OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))pprov_sig_sign_init},
    {OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))pprov_sig_sign},
    {OSSL_FUNC_SIGNATURE_VERIFY_INIT, (void (*)(void))pprov_sig_verify_init},
    {OSSL_FUNC_SIGNATURE_VERIFY, (void (*)(void))pprov_sig_verify},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, (void (*)(void))pprov_sig_digest_sign_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, (void (*)(void))pprov_sig_digest_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, (void (*)(void))pprov_sig_digest_sign_final},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN, (void (*)(void))pprov_sig_digest_sign},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, (void (*)(void))pprov_sig_digest_verify_init},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, (void (*)(void))pprov_sig_digest_update},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, (void (*)(void))pprov_sig_digest_verify_final},
    {OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, (void (*)(void))pprov_sig_digest_verify},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))pprov_sig_get_ctx_params},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))pprov_rsa_sig_gettable_ctx_params},
    {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))pprov_sig_set_ctx_params},
    {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))pprov_rsa_sig_settable_ctx_params},
    {0, NULL},
};
