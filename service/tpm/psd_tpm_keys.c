/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key management: GenerateKey (a child of the storage primary, TPM2_Create),
 * ImportKey (public keys only: kept as a TPM2B_PUBLIC, used in software),
 * ExportPublicKey and DestroyKey.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/x509.h>

#include "psd_tpm.h"

/* TPM object attributes for a key with these PSA attributes. */
static TPMA_OBJECT psd_tpm_object_attributes(const parsec_key_attributes *a)
{
    const uint32_t sign_usage = PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_SIGN_MESSAGE |
                                PARSEC_USAGE_VERIFY_HASH | PARSEC_USAGE_VERIFY_MESSAGE;
    const uint32_t decrypt_usage =
        PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT | PARSEC_USAGE_DERIVE;
    /*
     * noDA: the auth value is 32 random bytes nobody can guess, so dictionary
     * attack protection would only let a wrong caller lock the TPM out.
     */
    TPMA_OBJECT o = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
    bool sign = (a->usage & sign_usage) || a->alg.kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE;
    bool decrypt = (a->usage & decrypt_usage) || a->alg.kind == PARSEC_ALG_ASYMMETRIC_ENCRYPTION ||
                   a->alg.kind == PARSEC_ALG_KEY_AGREEMENT;

    if (!sign && !decrypt)
        sign = decrypt = true;
    /* Unrestricted, scheme NULL: the scheme is chosen per operation. */
    if (sign)
        o |= TPMA_OBJECT_SIGN_ENCRYPT;
    if (decrypt)
        o |= TPMA_OBJECT_DECRYPT;
    return o;
}

static void psd_tpm_key_template(const parsec_key_attributes *a, TPMI_ECC_CURVE curve,
                                 TPM2B_PUBLIC *t)
{
    memset(t, 0, sizeof(*t));
    t->publicArea.nameAlg = TPM2_ALG_SHA256;
    t->publicArea.objectAttributes = psd_tpm_object_attributes(a);
    if (a->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR || a->type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY) {
        t->publicArea.type = TPM2_ALG_RSA;
        t->publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
        t->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        t->publicArea.parameters.rsaDetail.keyBits = (UINT16)a->bits;
        t->publicArea.parameters.rsaDetail.exponent = 0; /* 65537 */
    } else {
        t->publicArea.type = TPM2_ALG_ECC;
        t->publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
        t->publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        t->publicArea.parameters.eccDetail.curveID = curve;
        t->publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    }
}

/* ---- GenerateKey ---- */

struct psd_tpm_generate_args {
    const parsec_key_attributes *attrs;
    TPMI_ECC_CURVE curve;
    psd_buf *blob;
};

static parsec_status psd_tpm_generate_locked(psd_tpm *st, void *argp)
{
    struct psd_tpm_generate_args *arg = argp;
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_PUBLIC tmpl;
    parsec_status status;

    psd_tpm_key_template(arg->attrs, arg->curve, &tmpl);
    status = psd_tpm_create(st, &sens, &tmpl, PSD_TPM_BLOB_KEY, "creating a key (TPM2_Create)",
                            arg->blob);
    OPENSSL_cleanse(&sens, sizeof(sens));
    return status;
}

parsec_status psd_tpm_generate_key(void *state, uint64_t id, const char *name,
                                   const parsec_key_attributes *attrs, psd_buf *blob)
{
    psd_tpm *st = state;
    struct psd_tpm_generate_args arg = {.attrs = attrs, .blob = blob};

    switch (attrs->type) {
    case PARSEC_KEY_TYPE_RSA_KEY_PAIR:
        if (!psd_tpm_rsa_bits_supported(&st->caps, attrs->bits))
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        break;
    case PARSEC_KEY_TYPE_ECC_KEY_PAIR:
        arg.curve = psd_tpm_curve(attrs->ecc_family, attrs->bits);
        if (!psd_tpm_curve_supported(&st->caps, arg.curve))
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        break;
    default:
        /* Public keys and symmetric keys cannot be generated here. */
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    return psd_tpm_run(st, psd_tpm_generate_locked, &arg);
}

/* ---- ImportKey (public keys) ---- */

static parsec_status psd_tpm_import_rsa_public(const parsec_key_attributes *attrs,
                                               const uint8_t *data, size_t len, TPM2B_PUBLIC *pub)
{
    const unsigned char *p = data;
    EVP_PKEY *pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    BIGNUM *n = NULL, *e = NULL;
    parsec_status status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    int nbytes;
    BN_ULONG ev;

    if (!pkey || p != data + len || !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) || BN_is_zero(n) || !BN_is_odd(e))
        goto done; /* not a DER RSAPublicKey */
    nbytes = BN_num_bytes(n);
    if (attrs->bits && attrs->bits != (uint32_t)BN_num_bits(n))
        goto done; /* PSA: bits, when given, must match the data */
    ev = BN_get_word(e);
    if (BN_num_bits(n) % 8 || nbytes > TPM2_MAX_RSA_KEY_BYTES || BN_num_bits(e) > 32 || ev < 3) {
        status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        goto done;
    }
    pub->publicArea.parameters.rsaDetail.keyBits = (UINT16)(nbytes * 8);
    pub->publicArea.parameters.rsaDetail.exponent = ev == 65537 ? 0 : (UINT32)ev;
    pub->publicArea.unique.rsa.size = (UINT16)nbytes;
    BN_bn2binpad(n, pub->publicArea.unique.rsa.buffer, nbytes);
    status = PARSEC_SUCCESS;

done:
    BN_free(n);
    BN_free(e);
    EVP_PKEY_free(pkey);
    return status;
}

static parsec_status psd_tpm_import_ecc_public(const parsec_key_attributes *attrs,
                                               const uint8_t *data, size_t len, TPM2B_PUBLIC *pub)
{
    TPMI_ECC_CURVE curve;
    size_t cb;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    parsec_status status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    uint32_t bits = attrs->bits;

    if (attrs->ecc_family != PARSEC_ECC_FAMILY_SECP_R1)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (!bits) /* PSA: the size comes from the data */
        bits = len == 65 ? 256 : len == 97 ? 384 : len == 133 ? 521 : 0;
    curve = psd_tpm_curve(attrs->ecc_family, bits);
    cb = psd_tpm_curve_bytes(curve);
    if (!cb)
        return attrs->bits ? PARSEC_PSA_ERROR_NOT_SUPPORTED : PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (len != 1 + 2 * cb || data[0] != 0x04)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    pub->publicArea.parameters.eccDetail.curveID = curve;
    pub->publicArea.unique.ecc.x.size = (UINT16)cb;
    memcpy(pub->publicArea.unique.ecc.x.buffer, data + 1, cb);
    pub->publicArea.unique.ecc.y.size = (UINT16)cb;
    memcpy(pub->publicArea.unique.ecc.y.buffer, data + 1 + cb, cb);
    /* The point must be on the curve. */
    pkey = psd_tpm_public_to_pkey(pub);
    ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    if (ctx && EVP_PKEY_public_check(ctx) == 1)
        status = PARSEC_SUCCESS;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return status;
}

parsec_status psd_tpm_import_key(void *state, uint64_t id, const char *name,
                                 const parsec_key_attributes *attrs, const uint8_t *data,
                                 size_t len, psd_buf *blob)
{
    psd_tpm_blob b = {.kind = PSD_TPM_BLOB_PUBLIC};
    parsec_status status;

    if (!data || !len)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    psd_tpm_key_template(attrs, TPM2_ECC_NONE, &b.pub);
    switch (attrs->type) {
    case PARSEC_KEY_TYPE_RSA_PUBLIC_KEY:
        status = psd_tpm_import_rsa_public(attrs, data, len, &b.pub);
        break;
    case PARSEC_KEY_TYPE_ECC_PUBLIC_KEY:
        status = psd_tpm_import_ecc_public(attrs, data, len, &b.pub);
        break;
    default:
        /* Private keys are made inside the TPM only. */
        status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        break;
    }
    if (status == PARSEC_SUCCESS)
        status = psd_tpm_blob_encode(&b, blob);
    return status;
}

/* ---- ExportPublicKey, DestroyKey ---- */

parsec_status psd_tpm_export_public_key(void *state, const psd_key *key, psd_buf *out)
{
    psd_tpm_blob b;
    parsec_status status = psd_tpm_blob_decode(key, &b);

    if (status == PARSEC_SUCCESS)
        status = psd_tpm_public_export(&b.pub, out);
    psd_tpm_blob_cleanse(&b);
    return status;
}

parsec_status psd_tpm_destroy_key(void *state, const psd_key *key)
{
    psd_tpm *st = state;

    /* The blob lives in the core's store; only a loaded copy is ours to drop. */
    pthread_mutex_lock(&st->lock);
    psd_tpm_cache_drop(st, key->id);
    pthread_mutex_unlock(&st->lock);
    return PARSEC_SUCCESS;
}
