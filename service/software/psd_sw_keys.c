/* SPDX-License-Identifier: Apache-2.0 */
/* Software backend: key creation, import, export, destruction (docs/wire-protocol.md §5.6). */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <string.h>

#include "psd_sw.h"

static parsec_status psd_sw_store(psd_sw_state *sw, uint64_t id, EVP_PKEY *pkey,
                                  const parsec_key_attributes *attrs, psd_buf *blob)
{
    parsec_status st = psd_sw_blob_encode(pkey, attrs, blob);

    if (st == PARSEC_SUCCESS)
        psd_sw_cache_put(sw, id, pkey);
    return st;
}

parsec_status psd_sw_generate_key(void *state, uint64_t id, const char *name,
                                  const parsec_key_attributes *attrs, psd_buf *blob)
{
    EVP_PKEY *pkey = NULL;
    parsec_status st;

    if (psd_sw_is_symmetric(attrs->type))
        return psd_sw_symmetric_generate(attrs, blob);
    if (attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR) {
        /* Public exponent 65537, OpenSSL's default and PSA's. */
        pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)attrs->bits);
    } else if (attrs->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR) {
        const char *curve = psd_sw_curve_name(attrs->ecc_family, attrs->bits);

        if (curve == NULL)
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        pkey = psd_sw_is_montgomery(attrs) ? EVP_PKEY_Q_keygen(NULL, NULL, curve)
                                           : EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    } else {
        /* Public keys are imported, never generated. */
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    if (pkey == NULL)
        return PARSEC_PSA_ERROR_GENERIC_ERROR;
    st = psd_sw_store(state, id, pkey, attrs, blob);
    EVP_PKEY_free(pkey);
    return st;
}

/* EC key from PSA data: a private scalar (public point derived) or an uncompressed point. */
static EVP_PKEY *psd_sw_ec_from_data(const parsec_key_attributes *attrs, const uint8_t *data,
                                     size_t len, parsec_status *st)
{
    const char *curve = psd_sw_curve_name(attrs->ecc_family, attrs->bits);
    size_t bytes = parsec_psa_ec_coord_len(attrs->bits);
    int pair = attrs->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR;
    EC_GROUP *group = NULL;
    EC_POINT *point = NULL;
    BIGNUM *priv = NULL;
    BN_CTX *bnctx = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL, *check = NULL;
    EVP_PKEY *pkey = NULL;
    unsigned char pub[1 + 2 * 66];
    size_t publen = 0;

    *st = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (curve == NULL) {
        *st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        goto done;
    }
    if (len != (pair ? bytes : 1 + 2 * bytes) || (!pair && data[0] != 0x04))
        goto done;
    group = EC_GROUP_new_by_curve_name(
        EC_curve_nist2nid(curve) != NID_undef ? EC_curve_nist2nid(curve) : OBJ_sn2nid(curve));
    bnctx = BN_CTX_new();
    point = group != NULL ? EC_POINT_new(group) : NULL;
    if (point == NULL || bnctx == NULL) {
        *st = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    if (pair) {
        priv = BN_secure_new();
        if (priv == NULL || BN_bin2bn(data, (int)len, priv) == NULL || BN_is_zero(priv) ||
            BN_cmp(priv, EC_GROUP_get0_order(group)) >= 0)
            goto done;
        if (EC_POINT_mul(group, point, priv, NULL, NULL, bnctx) != 1)
            goto done;
        publen = EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub),
                                    bnctx);
    } else {
        /* Rejects points off the curve and the point at infinity. */
        if (EC_POINT_oct2point(group, point, data, len, bnctx) != 1 ||
            EC_POINT_is_at_infinity(group, point) || EC_POINT_is_on_curve(group, point, bnctx) != 1)
            goto done;
        memcpy(pub, data, len);
        publen = len;
    }
    if (publen == 0)
        goto done;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen) ||
        (pair && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
        *st = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, pair ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto done;
    check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (check == NULL || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
        goto done;
    }
    *st = PARSEC_SUCCESS;
done:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* holds a copy of the private scalar */
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(priv);
    EC_POINT_free(point);
    EC_GROUP_free(group);
    BN_CTX_free(bnctx);
    return pkey;
}

/* X25519/X448 from PSA data: the raw private key, or the raw public key (RFC 7748). */
static EVP_PKEY *psd_sw_montgomery_from_data(const parsec_key_attributes *attrs,
                                             const uint8_t *data, size_t len, parsec_status *st)
{
    const char *curve = psd_sw_curve_name(attrs->ecc_family, attrs->bits);

    *st = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (curve == NULL) {
        *st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        return NULL;
    }
    if (len != parsec_psa_ec_coord_len(attrs->bits))
        return NULL;
    *st = PARSEC_SUCCESS;
    if (attrs->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR)
        return EVP_PKEY_new_raw_private_key_ex(NULL, curve, NULL, data, len);
    return EVP_PKEY_new_raw_public_key_ex(NULL, curve, NULL, data, len);
}

parsec_status psd_sw_import_key(void *state, uint64_t id, const char *name,
                                const parsec_key_attributes *attrs, const uint8_t *data, size_t len,
                                psd_buf *blob)
{
    const unsigned char *p = data;
    parsec_status st = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    EVP_PKEY *pkey = NULL;

    if (data == NULL || len == 0 || len > 0x7FFFFFFF)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (psd_sw_is_symmetric(attrs->type))
        return psd_sw_symmetric_import(attrs, data, len, blob);
    switch (attrs->type) {
    case PARSEC_KEY_TYPE_RSA_KEY_PAIR:
        pkey = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len);
        break;
    case PARSEC_KEY_TYPE_RSA_PUBLIC_KEY:
        pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
        break;
    case PARSEC_KEY_TYPE_ECC_KEY_PAIR:
    case PARSEC_KEY_TYPE_ECC_PUBLIC_KEY:
        pkey = psd_sw_is_montgomery(attrs) ? psd_sw_montgomery_from_data(attrs, data, len, &st)
                                           : psd_sw_ec_from_data(attrs, data, len, &st);
        p = data + len;
        break;
    default:
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    if (pkey == NULL || p != data + len) /* trailing bytes are not a key */
        goto done;
    /* OpenSSL counts X25519 as 253 bits; its size was checked from the data. */
    if (!psd_sw_is_montgomery(attrs) && (uint32_t)EVP_PKEY_get_bits(pkey) != attrs->bits)
        goto done;
    st = psd_sw_store(state, id, pkey, attrs, blob);
done:
    EVP_PKEY_free(pkey);
    return st;
}

parsec_status psd_sw_export_public_key(void *state, const psd_key *key, psd_buf *out)
{
    EVP_PKEY *pkey = NULL;
    parsec_status st;
    unsigned char *der = NULL;
    size_t len = 0;
    int n;

    /* psa_export_public_key() of a key that has no public part */
    if (psd_sw_is_symmetric(key->attrs->type))
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    st = psd_sw_key_get(state, key, &pkey);
    if (st != PARSEC_SUCCESS)
        return st;
    st = PARSEC_PSA_ERROR_GENERIC_ERROR;
    if (psd_sw_is_montgomery(key->attrs)) {
        /* PSA: the raw public key of RFC 7748 */
        if (EVP_PKEY_get_raw_public_key(pkey, NULL, &len) == 1 &&
            (out->data = OPENSSL_malloc(len)) != NULL) {
            if (EVP_PKEY_get_raw_public_key(pkey, out->data, &len) == 1) {
                out->len = len;
                st = PARSEC_SUCCESS;
            } else {
                psd_buf_clear(out);
            }
        }
    } else if (EVP_PKEY_is_a(pkey, "RSA")) {
        n = i2d_PublicKey(pkey, &der); /* PKCS#1 RSAPublicKey */
        if (n > 0) {
            out->data = der;
            out->len = (size_t)n;
            st = PARSEC_SUCCESS;
        }
    } else if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0,
                                               &len) == 1 &&
               (out->data = OPENSSL_malloc(len)) != NULL) {
        if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out->data,
                                            len, &out->len) == 1 &&
            out->len > 0 && out->data[0] == 0x04)
            st = PARSEC_SUCCESS;
        else
            psd_buf_clear(out);
    }
    EVP_PKEY_free(pkey);
    return st;
}

parsec_status psd_sw_export_key(void *state, const psd_key *key, psd_buf *out)
{
    EVP_PKEY *pkey = NULL;
    BIGNUM *priv = NULL;
    parsec_status st;
    size_t bytes;

    if (psd_sw_is_symmetric(key->attrs->type))
        return psd_buf_set(out, key->blob, key->blob_len);
    if (!psd_sw_is_pair(key->attrs->type))
        return psd_sw_export_public_key(state, key, out);
    st = psd_sw_key_get(state, key, &pkey);
    if (st != PARSEC_SUCCESS)
        return st;
    st = PARSEC_PSA_ERROR_GENERIC_ERROR;
    if (key->attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR) {
        unsigned char *der = NULL;
        int n = i2d_PrivateKey(pkey, &der); /* PKCS#1 RSAPrivateKey */

        if (n > 0) {
            out->data = der;
            out->len = (size_t)n;
            st = PARSEC_SUCCESS;
        }
    } else if (psd_sw_is_montgomery(key->attrs)) {
        /* PSA: the raw private key of RFC 7748 */
        bytes = parsec_psa_ec_coord_len(key->attrs->bits);
        out->data = OPENSSL_malloc(bytes);
        out->len = bytes;
        if (out->data != NULL && EVP_PKEY_get_raw_private_key(pkey, out->data, &bytes) == 1 &&
            bytes == out->len)
            st = PARSEC_SUCCESS;
        else
            psd_buf_clear(out);
    } else if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &priv) == 1) {
        bytes = parsec_psa_ec_coord_len(key->attrs->bits);
        out->data = OPENSSL_malloc(bytes);
        if (out->data != NULL && BN_bn2binpad(priv, out->data, (int)bytes) == (int)bytes) {
            out->len = bytes;
            st = PARSEC_SUCCESS;
        } else {
            OPENSSL_free(out->data);
            out->data = NULL;
        }
    }
    BN_clear_free(priv);
    EVP_PKEY_free(pkey);
    return st;
}

parsec_status psd_sw_destroy_key(void *state, const psd_key *key)
{
    /* The blob is the key: once the core deletes it only the cache remains. */
    psd_sw_cache_drop(state, key->id);
    return PARSEC_SUCCESS;
}
