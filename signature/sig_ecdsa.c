/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIGNATURE "ECDSA" with EC keys in the Parsec service. The service signs
 * a hash and answers r||s (PSA format); OpenSSL wants DER ECDSA-Sig-Value.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "parsec_psa_crypto.h"
#include "pprov_sig.h"

static OSSL_FUNC_signature_newctx_fn pprov_ecdsa_newctx;
static OSSL_FUNC_signature_gettable_ctx_params_fn pprov_ecdsa_gettable_ctx_params;
static OSSL_FUNC_signature_settable_ctx_params_fn pprov_ecdsa_settable_ctx_params;

static void pprov_ecdsa_init_defaults(pprov_sig_ctx *sctx)
{
}

static int pprov_ecdsa_sign_hash(pprov_sig_ctx *sctx, const unsigned char *tbs, size_t tbslen,
                                 unsigned char *sig, size_t *siglen, size_t sigsize)
{
    const parsec_alg *policy = &sctx->key->attrs.alg;
    parsec_alg req = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, 0};
    uint8_t *raw = NULL, *der = NULL;
    size_t rawlen = 0, derlen = 0;
    int ok = 0;

    /* Same scheme as the key's policy: plain or deterministic ECDSA. */
    if (policy->kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE &&
        (policy->scheme == PARSEC_SIGN_DETERMINISTIC_ECDSA ||
         policy->scheme == PARSEC_SIGN_ECDSA_ANY))
        req.scheme = policy->scheme;
    if (req.scheme != PARSEC_SIGN_ECDSA_ANY) {
        req.hash = pprov_sig_hash_for(sctx, tbslen);
        if (req.hash == PARSEC_HASH_NONE || parsec_hash_length(req.hash) != tbslen) {
            PPROV_raise(sctx->ctx, PPROV_R_INVALID_ARGUMENT,
                        "cannot tell which digest a %zu-byte input is: name it"
                        " (-pkeyopt digest:sha256)",
                        tbslen);
            return 0;
        }
    }
    if (!pprov_sig_check_policy(sctx, &req))
        return 0;
    if (!pprov_sig_service_sign(sctx, &req, tbs, tbslen, &raw, &rawlen))
        return 0;
    if (!parsec_ecdsa_raw_to_der(raw, rawlen, &der, &derlen)) {
        PPROV_raise(sctx->ctx, PPROV_R_OPERATION_FAILED,
                    "the service returned a malformed %zu-byte ECDSA signature", rawlen);
        goto done;
    }
    if (derlen > sigsize) {
        PPROV_raise(sctx->ctx, PPROV_R_BUFFER_TOO_SMALL,
                    "a %zu-byte ECDSA signature does not fit the caller's %zu bytes", derlen,
                    sigsize);
        goto done;
    }
    memcpy(sig, der, derlen);
    *siglen = derlen;
    ok = 1;
done:
    OPENSSL_free(der);
    parsec_free(raw);
    return ok;
}

static int pprov_ecdsa_setup_verify(pprov_sig_ctx *sctx, EVP_PKEY_CTX *vctx)
{
    return 1;
}

static int pprov_ecdsa_algorithm_id(pprov_sig_ctx *sctx, unsigned char **der, size_t *derlen)
{
    X509_ALGOR *alg = X509_ALGOR_new();
    int sig_nid = NID_undef, ok = 0;

    if (alg == NULL || sctx->md == NULL ||
        !OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(sctx->md), NID_X9_62_id_ecPublicKey) ||
        !X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid), V_ASN1_UNDEF, NULL))
        goto done;
    ok = pprov_sig_algor_der(alg, der, derlen);
done:
    X509_ALGOR_free(alg);
    return ok;
}

static int pprov_ecdsa_get_params(pprov_sig_ctx *sctx, OSSL_PARAM params[])
{
    return 1;
}

static int pprov_ecdsa_set_params(pprov_sig_ctx *sctx, const OSSL_PARAM params[])
{
    return 1;
}

static const pprov_sig_alg pprov_ecdsa_alg = {
    "ECDSA",
    1 << PPROV_KEY_EC,
    pprov_ecdsa_init_defaults,
    pprov_sig_pub_max_size, /* the DER maximum, not 2*n: what the DER signature may need */
    pprov_ecdsa_sign_hash,
    pprov_ecdsa_setup_verify,
    pprov_ecdsa_algorithm_id,
    pprov_ecdsa_get_params,
    pprov_ecdsa_set_params,
};

static void *pprov_ecdsa_newctx(void *provctx, const char *propq)
{
    return pprov_sig_newctx(provctx, propq, &pprov_ecdsa_alg);
}

static const OSSL_PARAM *pprov_ecdsa_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        PPROV_SIG_COMMON_GETTABLE,
        OSSL_PARAM_END,
    };
    return gettable;
}

static const OSSL_PARAM *pprov_ecdsa_settable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        PPROV_SIG_COMMON_SETTABLE,
        OSSL_PARAM_END,
    };
    return settable;
}

const OSSL_DISPATCH pprov_ecdsa_signature_functions[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))pprov_ecdsa_newctx},
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
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, (void (*)(void))pprov_ecdsa_gettable_ctx_params},
    {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))pprov_sig_set_ctx_params},
    {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, (void (*)(void))pprov_ecdsa_settable_ctx_params},
    {0, NULL},
};
