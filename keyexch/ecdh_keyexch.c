/* SPDX-License-Identifier: Apache-2.0 */
/*
 * KEYEXCH "ECDH": raw ECDH through the Parsec service (PsaRawKeyAgreement).
 *
 * An ECC key in Parsec is either an ECDSA key or an ECDH key: only a key
 * whose policy is KeyAgreement Raw(ECDH) with the 'derive' usage can do
 * this. The shared secret is the x-coordinate, as OpenSSL's own ECDH
 * returns it; KDFs (X9.63) are not offered: Parsec's raw agreement hands
 * out the plain secret only.
 */
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>

#include "pprov.h"

/* Uncompressed point of the largest curve Parsec offers (P-521): 1 + 2 * 66. */
#define PPROV_ECDH_MAX_POINT 133

typedef struct pprov_ecdh_ctx {
    pprov_ctx *provctx;
    pprov_key *key;
    unsigned char peer[PPROV_ECDH_MAX_POINT];
    size_t peer_len;
    unsigned int pad; /* accepted for API symmetry: EC secrets are always full length */
} pprov_ecdh_ctx;

static OSSL_FUNC_keyexch_newctx_fn pprov_ecdh_newctx;
static OSSL_FUNC_keyexch_freectx_fn pprov_ecdh_freectx;
static OSSL_FUNC_keyexch_dupctx_fn pprov_ecdh_dupctx;
static OSSL_FUNC_keyexch_init_fn pprov_ecdh_init;
static OSSL_FUNC_keyexch_set_peer_fn pprov_ecdh_set_peer;
static OSSL_FUNC_keyexch_derive_fn pprov_ecdh_derive;
static OSSL_FUNC_keyexch_set_ctx_params_fn pprov_ecdh_set_ctx_params;
static OSSL_FUNC_keyexch_settable_ctx_params_fn pprov_ecdh_settable_ctx_params;
static OSSL_FUNC_keyexch_get_ctx_params_fn pprov_ecdh_get_ctx_params;
static OSSL_FUNC_keyexch_gettable_ctx_params_fn pprov_ecdh_gettable_ctx_params;

static void *pprov_ecdh_newctx(void *provctx)
{
    pprov_ecdh_ctx *ectx = OPENSSL_zalloc(sizeof(*ectx));

    if (ectx == NULL) {
        PPROV_raise(provctx, PPROV_R_MALLOC_FAILURE, "out of memory");
        return NULL;
    }
    ectx->provctx = provctx;
    return ectx;
}

static void pprov_ecdh_freectx(void *vctx)
{
    pprov_ecdh_ctx *ectx = vctx;

    if (ectx == NULL)
        return;
    pprov_key_free(ectx->key);
    OPENSSL_clear_free(ectx, sizeof(*ectx));
}

static void *pprov_ecdh_dupctx(void *vctx)
{
    const pprov_ecdh_ctx *src = vctx;
    pprov_ecdh_ctx *dst;

    if (src == NULL)
        return NULL;
    dst = OPENSSL_memdup(src, sizeof(*src));
    if (dst == NULL) {
        PPROV_raise(src->provctx, PPROV_R_MALLOC_FAILURE, "out of memory");
        return NULL;
    }
    if (src->key != NULL)
        dst->key = pprov_key_ref(src->key);
    return dst;
}

static void pprov_ecdh_describe_policy(const parsec_alg *alg, char *buf, size_t len)
{
    if (alg->kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE)
        snprintf(buf, len, "an ECDSA signing key");
    else if (alg->kind == PARSEC_ALG_KEY_AGREEMENT && alg->scheme == PARSEC_KA_FFDH)
        snprintf(buf, len, "an FFDH key");
    else if (alg->kind == PARSEC_ALG_NONE)
        snprintf(buf, len, "a key with no permitted algorithm");
    else
        snprintf(buf, len, "a key whose policy is algorithm kind %u", (unsigned)alg->kind);
}

/* "prime256v1", "P-256" or "secp384r1" -> NID, NID_undef if unknown. */
static int pprov_ecdh_curve_nid(const char *name)
{
    int nid = OBJ_sn2nid(name);

    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    if (nid == NID_undef)
        nid = OBJ_ln2nid(name);
    return nid;
}

static int pprov_ecdh_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    pprov_ecdh_ctx *ectx = vctx;
    pprov_key *key = vkey;
    char what[64];

    if (ectx == NULL || key == NULL)
        return 0;
    if (key->type != PPROV_KEY_EC || !pprov_key_has_private(key)) {
        PPROV_raise(ectx->provctx, PPROV_R_INVALID_ARGUMENT,
                    "ECDH needs an EC private key held by the Parsec service");
        return 0;
    }
    if (key->attrs.alg.kind != PARSEC_ALG_KEY_AGREEMENT ||
        key->attrs.alg.scheme != PARSEC_KA_ECDH) {
        pprov_ecdh_describe_policy(&key->attrs.alg, what, sizeof(what));
        PPROV_raise(ectx->provctx, PPROV_R_NOT_PERMITTED,
                    "key '%s' is %s; ECDH needs a key created with the ECDH key-agreement "
                    "policy (an ECC key in Parsec is either an ECDSA key or an ECDH key)",
                    key->name, what);
        return 0;
    }
    if ((key->attrs.usage & PARSEC_USAGE_DERIVE) == 0) {
        PPROV_raise(ectx->provctx, PPROV_R_NOT_PERMITTED,
                    "key '%s' has the ECDH policy but not the 'derive' usage flag", key->name);
        return 0;
    }
    pprov_key_free(ectx->key);
    ectx->key = pprov_key_ref(key);
    ectx->peer_len = 0;
    return pprov_ecdh_set_ctx_params(ectx, params);
}

/*
 * The peer arrives as a key of our own keymgmt (OpenSSL imports it there);
 * Parsec wants its SEC1 uncompressed point.
 */
static int pprov_ecdh_peer_point(pprov_ecdh_ctx *ectx, EVP_PKEY *peer)
{
    unsigned char enc[PPROV_ECDH_MAX_POINT];
    size_t enc_len = 0;
    char group[64] = "";
    EC_GROUP *ecg = NULL;
    EC_POINT *pt = NULL;
    int ret = 0;

    if (!EVP_PKEY_get_utf8_string_param(peer, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) ||
        !EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, enc, sizeof(enc),
                                         &enc_len) ||
        enc_len == 0) {
        PPROV_raise(ectx->provctx, PPROV_R_INVALID_ARGUMENT,
                    "the peer key has no named curve or public point");
        return 0;
    }
    if (enc[0] == 0x04) {
        memcpy(ectx->peer, enc, enc_len);
        ectx->peer_len = enc_len;
        return 1;
    }
    /* Compressed or hybrid encodings: re-encode uncompressed. */
    ecg = EC_GROUP_new_by_curve_name_ex(pprov_libctx(ectx->provctx), NULL,
                                        pprov_ecdh_curve_nid(group));
    pt = ecg != NULL ? EC_POINT_new(ecg) : NULL;
    if (pt == NULL || !EC_POINT_oct2point(ecg, pt, enc, enc_len, NULL)) {
        PPROV_raise(ectx->provctx, PPROV_R_INVALID_ARGUMENT,
                    "cannot decode the peer's public point on %s", group);
        goto done;
    }
    ectx->peer_len = EC_POINT_point2oct(ecg, pt, POINT_CONVERSION_UNCOMPRESSED, ectx->peer,
                                        sizeof(ectx->peer), NULL);
    ret = ectx->peer_len > 0;
done:
    EC_POINT_free(pt);
    EC_GROUP_free(ecg);
    return ret;
}

static int pprov_ecdh_set_peer(void *vctx, void *vpeer)
{
    pprov_ecdh_ctx *ectx = vctx;
    pprov_key *peer = vpeer;
    char ours[64] = "", theirs[64] = "";

    if (ectx == NULL || ectx->key == NULL || peer == NULL)
        return 0;
    if (peer->type != PPROV_KEY_EC || peer->pub == NULL) {
        PPROV_raise(ectx->provctx, PPROV_R_INVALID_ARGUMENT, "the ECDH peer must be an EC key");
        return 0;
    }
    if (!EVP_PKEY_get_utf8_string_param(ectx->key->pub, OSSL_PKEY_PARAM_GROUP_NAME, ours,
                                        sizeof(ours), NULL) ||
        !EVP_PKEY_get_utf8_string_param(peer->pub, OSSL_PKEY_PARAM_GROUP_NAME, theirs,
                                        sizeof(theirs), NULL) ||
        pprov_ecdh_curve_nid(ours) == NID_undef ||
        pprov_ecdh_curve_nid(ours) != pprov_ecdh_curve_nid(theirs)) {
        PPROV_raise(ectx->provctx, PPROV_R_INVALID_ARGUMENT,
                    "the peer key is on curve '%s' but key '%s' is on '%s'", theirs,
                    ectx->key->name, ours);
        return 0;
    }
    return pprov_ecdh_peer_point(ectx, peer->pub);
}

static int pprov_ecdh_derive(void *vctx, unsigned char *secret, size_t *secretlen, size_t outlen)
{
    pprov_ecdh_ctx *ectx = vctx;
    const parsec_alg alg = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0};
    parsec_client *client;
    parsec_status st;
    uint8_t *shared = NULL;
    size_t shared_len = 0, copy_len, field_len;
    int ret = 0;

    if (ectx == NULL)
        return 0;
    if (ectx->key == NULL) {
        PPROV_raise(ectx->provctx, PPROV_R_INVALID_ARGUMENT, "derive called without init");
        return 0;
    }
    field_len = ((size_t)pprov_key_bits(ectx->key) + 7) / 8;
    if (secret == NULL) {
        *secretlen = field_len;
        return 1;
    }
    if (ectx->peer_len == 0) {
        PPROV_raise(ectx->provctx, PPROV_R_INVALID_ARGUMENT, "no ECDH peer key was set");
        return 0;
    }
    client = pprov_client(ectx->provctx);
    if (client == NULL)
        return 0;
    st = parsec_raw_key_agreement(client, ectx->key->provider_id, &alg, ectx->key->name, ectx->peer,
                                  ectx->peer_len, &shared, &shared_len);
    if (st != PARSEC_SUCCESS) {
        PPROV_raise_status(ectx->provctx, st, "ECDH key agreement", ectx->key->name);
        goto done;
    }
    /* Like OpenSSL's ECDH: a shorter buffer gets the leading bytes. */
    copy_len = shared_len < outlen ? shared_len : outlen;
    memcpy(secret, shared, copy_len);
    *secretlen = copy_len;
    ret = 1;
done:
    if (shared != NULL)
        parsec_clear_free(shared, shared_len);
    return ret;
}

static int pprov_ecdh_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    pprov_ecdh_ctx *ectx = vctx;
    const OSSL_PARAM *p;
    const char *kdf = NULL;
    int mode;

    if (ectx == NULL)
        return 0;
    if (params == NULL)
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_PAD);
    if (p != NULL && !OSSL_PARAM_get_uint(p, &ectx->pad))
        return 0;
    p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE);
    if (p != NULL) {
        if (!OSSL_PARAM_get_utf8_string_ptr(p, &kdf))
            return 0;
        if (kdf[0] != '\0' && OPENSSL_strcasecmp(kdf, "none") != 0) {
            PPROV_raise(ectx->provctx, PPROV_R_UNSUPPORTED,
                        "ECDH with KDF '%s' is not available: Parsec's raw key agreement returns "
                        "the plain shared secret only (derive it, then apply the KDF)",
                        kdf);
            return 0;
        }
    }
    p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE);
    if (p != NULL) {
        if (!OSSL_PARAM_get_int(p, &mode) || mode < -1 || mode > 1)
            return 0;
        /* Parsec's curves (secp*r1) have cofactor 1: both modes give the same secret. */
    }
    return 1;
}

static const OSSL_PARAM pprov_ecdh_settable[] = {
    OSSL_PARAM_uint(OSSL_EXCHANGE_PARAM_PAD, NULL),
    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
    OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *pprov_ecdh_settable_ctx_params(void *vctx, void *provctx)
{
    return pprov_ecdh_settable;
}

static int pprov_ecdh_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    pprov_ecdh_ctx *ectx = vctx;
    OSSL_PARAM *p;

    if (ectx == NULL)
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_PAD);
    if (p != NULL && !OSSL_PARAM_set_uint(p, ectx->pad))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_KDF_TYPE);
    if (p != NULL && !OSSL_PARAM_set_utf8_string(p, ""))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE);
    if (p != NULL && !OSSL_PARAM_set_int(p, 0))
        return 0;
    return 1;
}

static const OSSL_PARAM pprov_ecdh_gettable[] = {
    OSSL_PARAM_uint(OSSL_EXCHANGE_PARAM_PAD, NULL),
    OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
    OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *pprov_ecdh_gettable_ctx_params(void *vctx, void *provctx)
{
    return pprov_ecdh_gettable;
}

const OSSL_DISPATCH pprov_ecdh_keyexch_functions[] = {
    {OSSL_FUNC_KEYEXCH_NEWCTX, (void (*)(void))pprov_ecdh_newctx},
    {OSSL_FUNC_KEYEXCH_FREECTX, (void (*)(void))pprov_ecdh_freectx},
    {OSSL_FUNC_KEYEXCH_DUPCTX, (void (*)(void))pprov_ecdh_dupctx},
    {OSSL_FUNC_KEYEXCH_INIT, (void (*)(void))pprov_ecdh_init},
    {OSSL_FUNC_KEYEXCH_SET_PEER, (void (*)(void))pprov_ecdh_set_peer},
    {OSSL_FUNC_KEYEXCH_DERIVE, (void (*)(void))pprov_ecdh_derive},
    {OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, (void (*)(void))pprov_ecdh_set_ctx_params},
    {OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, (void (*)(void))pprov_ecdh_settable_ctx_params},
    {OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS, (void (*)(void))pprov_ecdh_get_ctx_params},
    {OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS, (void (*)(void))pprov_ecdh_gettable_ctx_params},
    {0, NULL},
};
