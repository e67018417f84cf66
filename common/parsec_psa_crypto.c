/* SPDX-License-Identifier: Apache-2.0 */
/* PSA formats <-> OpenSSL (see parsec_psa_crypto.h). */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <string.h>

#include "parsec_psa_crypto.h"

/* OpenSSL's short names: valid group names and OBJ_txt2nid() input alike. */
static const struct {
    uint8_t family;
    uint16_t bits;
    const char *group;
} parsec_psa_curves[] = {
    {PARSEC_ECC_FAMILY_SECP_R1, 192, "prime192v1"},
    {PARSEC_ECC_FAMILY_SECP_R1, 224, "secp224r1"},
    {PARSEC_ECC_FAMILY_SECP_R1, 256, "prime256v1"},
    {PARSEC_ECC_FAMILY_SECP_R1, 384, "secp384r1"},
    {PARSEC_ECC_FAMILY_SECP_R1, 521, "secp521r1"},
    {PARSEC_ECC_FAMILY_SECP_K1, 256, "secp256k1"},
    {PARSEC_ECC_FAMILY_BRAINPOOL_P_R1, 256, "brainpoolP256r1"},
    {PARSEC_ECC_FAMILY_BRAINPOOL_P_R1, 384, "brainpoolP384r1"},
    {PARSEC_ECC_FAMILY_BRAINPOOL_P_R1, 512, "brainpoolP512r1"},
    {PARSEC_ECC_FAMILY_MONTGOMERY, 255, "X25519"},
    {PARSEC_ECC_FAMILY_MONTGOMERY, 448, "X448"},
};

const char *parsec_psa_ec_group(uint8_t family, size_t bits)
{
    for (size_t i = 0; i < sizeof(parsec_psa_curves) / sizeof(parsec_psa_curves[0]); i++)
        if (parsec_psa_curves[i].family == family && parsec_psa_curves[i].bits == bits)
            return parsec_psa_curves[i].group;
    return NULL;
}

size_t parsec_psa_ec_coord_len(size_t bits)
{
    return (bits + 7) / 8;
}

static int parsec_psa_is_rsa(uint8_t type)
{
    return type == PARSEC_KEY_TYPE_RSA_KEY_PAIR || type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
}

/* "type-specific" DER of an RSA public key is PKCS#1 RSAPublicKey. */
static EVP_PKEY *parsec_psa_rsa_public(OSSL_LIB_CTX *libctx, const char *propq, const uint8_t *data,
                                       size_t len)
{
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx;
    const unsigned char *p = data;
    size_t left = len;

    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "type-specific", "RSA", EVP_PKEY_PUBLIC_KEY,
                                         libctx, propq);
    if (dctx == NULL)
        return NULL;
    if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || left != 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}

static EVP_PKEY *parsec_psa_ec_public(OSSL_LIB_CTX *libctx, const char *propq, const char *group,
                                      size_t bits, const uint8_t *data, size_t len)
{
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM params[3];

    if (len != 1 + 2 * parsec_psa_ec_coord_len(bits) || data[0] != 0x04)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)data, len);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(libctx, "EC", propq);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

EVP_PKEY *parsec_psa_public_key(OSSL_LIB_CTX *libctx, const char *propq,
                                const parsec_key_attributes *attrs, const uint8_t *data, size_t len)
{
    EVP_PKEY_CTX *check = NULL;
    EVP_PKEY *pkey = NULL;
    const char *group;

    if (data == NULL || len == 0)
        return NULL;
    if (parsec_psa_is_rsa(attrs->type)) {
        pkey = parsec_psa_rsa_public(libctx, propq, data, len);
    } else if (attrs->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR ||
               attrs->type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY) {
        group = parsec_psa_ec_group(attrs->ecc_family, attrs->bits);
        if (group == NULL)
            return NULL;
        if (attrs->ecc_family == PARSEC_ECC_FAMILY_MONTGOMERY)
            return len == parsec_psa_ec_coord_len(attrs->bits)
                       ? EVP_PKEY_new_raw_public_key_ex(libctx, group, propq, data, len)
                       : NULL;
        pkey = parsec_psa_ec_public(libctx, propq, group, attrs->bits, data, len);
    }
    if (pkey == NULL)
        return NULL;
    /* Point on the curve; RSA modulus odd and not small, exponent odd and > 1. */
    check = EVP_PKEY_CTX_new_from_pkey(libctx, pkey, propq);
    if (check == NULL || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(check);
    return pkey;
}

int parsec_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t **der, size_t *derlen)
{
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *out = NULL;
    int n, ok = 0;

    if (raw == NULL || rawlen == 0 || rawlen % 2 != 0 || rawlen / 2 > INT32_MAX)
        goto done;
    es = ECDSA_SIG_new();
    r = BN_bin2bn(raw, (int)(rawlen / 2), NULL);
    s = BN_bin2bn(raw + rawlen / 2, (int)(rawlen / 2), NULL);
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
        goto done;
    r = s = NULL; /* owned by es */
    n = i2d_ECDSA_SIG(es, &out);
    if (n <= 0)
        goto done;
    *der = out;
    *derlen = (size_t)n;
    ok = 1;
done:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return ok;
}

int parsec_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t n, uint8_t *raw)
{
    const unsigned char *p = der;
    ECDSA_SIG *es;
    int ok = 0;

    if (der == NULL || derlen == 0 || derlen > INT32_MAX || n == 0 || n > INT32_MAX)
        return 0;
    es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (es != NULL && p == der + derlen &&
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)n) == (int)n &&
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + n, (int)n) == (int)n)
        ok = 1;
    ECDSA_SIG_free(es);
    return ok;
}

parsec_status parsec_psa_sig_setup(EVP_PKEY_CTX *ctx, const parsec_alg *alg, int is_rsa)
{
    const char *mdname = NULL;
    EVP_MD *md = NULL;
    parsec_status st = PARSEC_PSA_ERROR_GENERIC_ERROR;

    if (alg->kind != PARSEC_ALG_ASYMMETRIC_SIGNATURE)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    switch (alg->scheme) {
    case PARSEC_SIGN_RSA_PKCS1V15:
    case PARSEC_SIGN_RSA_PSS:
    case PARSEC_SIGN_ECDSA:
    case PARSEC_SIGN_DETERMINISTIC_ECDSA:
        mdname = parsec_hash_ossl_name(alg->hash);
        if (mdname == NULL)
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        break;
    case PARSEC_SIGN_RSA_PKCS1V15_RAW:
    case PARSEC_SIGN_ECDSA_ANY:
        break;
    default:
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    if (is_rsa !=
        (alg->scheme == PARSEC_SIGN_RSA_PKCS1V15 || alg->scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW ||
         alg->scheme == PARSEC_SIGN_RSA_PSS))
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    /* A digest sets the expected input length (and, for PKCS#1 v1.5, the DigestInfo). */
    if (mdname != NULL && (md = EVP_MD_fetch(NULL, mdname, NULL)) == NULL)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (is_rsa && EVP_PKEY_CTX_set_rsa_padding(ctx, alg->scheme == PARSEC_SIGN_RSA_PSS
                                                        ? RSA_PKCS1_PSS_PADDING
                                                        : RSA_PKCS1_PADDING) <= 0)
        goto done;
    if (md != NULL && EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0)
        goto done;
    /* PSA's RSA-PSS: MGF1 with the message hash, salt as long as the hash. */
    if (alg->scheme == PARSEC_SIGN_RSA_PSS &&
        (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) <= 0))
        goto done;
    st = PARSEC_SUCCESS;
done:
    EVP_MD_free(md);
    return st;
}

parsec_status parsec_psa_verify_hash(EVP_PKEY *pub, const parsec_alg *alg, const uint8_t *hash,
                                     size_t hashlen, const uint8_t *sig, size_t siglen)
{
    int is_rsa = EVP_PKEY_is_a(pub, "RSA");
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t *der = NULL;
    size_t derlen = 0;
    parsec_status st;

    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    if (ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0) {
        st = PARSEC_PSA_ERROR_GENERIC_ERROR;
        goto done;
    }
    st = parsec_psa_sig_setup(ctx, alg, is_rsa);
    if (st != PARSEC_SUCCESS)
        goto done;
    st = PARSEC_PSA_ERROR_INVALID_SIGNATURE;
    if (!is_rsa) {
        /* PSA's ECDSA signature is r||s, each exactly the coordinate length. */
        if (siglen != 2 * parsec_psa_ec_coord_len((size_t)EVP_PKEY_get_bits(pub)) ||
            !parsec_ecdsa_raw_to_der(sig, siglen, &der, &derlen))
            goto done;
        sig = der;
        siglen = derlen;
    }
    if (EVP_PKEY_verify(ctx, sig, siglen, hash, hashlen) == 1)
        st = PARSEC_SUCCESS;
done:
    OPENSSL_free(der);
    EVP_PKEY_CTX_free(ctx);
    return st;
}
