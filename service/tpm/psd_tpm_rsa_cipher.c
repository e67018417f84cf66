/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AsymmetricEncrypt (software, OpenSSL, from the stored public area) and
 * AsymmetricDecrypt (TPM2_RSA_Decrypt, RSAES-PKCS1-v1_5 or OAEP).
 *
 * OAEP labels: PSA uses the salt bytes as the label L. TPM2_RSA_Decrypt
 * accepts only a label that ends with a zero byte and uses all of it,
 * terminator included, as L (libtpms: the label buffer as given). So a salt
 * that ends in 0x00 is passed as is and works; any other non-empty salt
 * cannot be honoured by a TPM and gets NOT_SUPPORTED (appending the zero
 * would silently decrypt with a different L than the sender used).
 */
#include <string.h>

#include <openssl/rsa.h>

#include "psd_tpm.h"

static parsec_status psd_tpm_rsa_check(const psd_tpm *st, const psd_tpm_blob *b,
                                       const parsec_alg *alg, TPMI_ALG_HASH *oaep_hash)
{
    if (b->pub.publicArea.type != TPM2_ALG_RSA || alg->kind != PARSEC_ALG_ASYMMETRIC_ENCRYPTION)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    *oaep_hash = TPM2_ALG_NULL;
    if (alg->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15)
        return st->caps.rsaes ? PARSEC_SUCCESS : PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (alg->scheme != PARSEC_ENCRYPT_RSA_OAEP || !st->caps.oaep)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    *oaep_hash = psd_tpm_hash_alg(&st->caps, alg->hash);
    return *oaep_hash == TPM2_ALG_ERROR ? PARSEC_PSA_ERROR_NOT_SUPPORTED : PARSEC_SUCCESS;
}

/* ---- AsymmetricEncrypt ---- */

parsec_status psd_tpm_asymmetric_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                         const uint8_t *in, size_t inlen, const uint8_t *salt,
                                         size_t saltlen, psd_buf *out)
{
    psd_tpm *st = state;
    psd_tpm_blob b;
    TPMI_ALG_HASH oaep_hash = TPM2_ALG_NULL;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *label = NULL;
    size_t k, outlen, maxin;
    parsec_status status = psd_tpm_blob_decode(key, &b);

    if (status != PARSEC_SUCCESS)
        return status;
    status = psd_tpm_rsa_check(st, &b, alg, &oaep_hash);
    if (status != PARSEC_SUCCESS)
        goto done;
    k = psd_tpm_rsa_bytes(&b.pub);
    maxin = oaep_hash == TPM2_ALG_NULL ? 11 : 2 * psd_tpm_hash_size(oaep_hash) + 2;
    maxin = k > maxin ? k - maxin : 0;
    if (!maxin || inlen > maxin || (oaep_hash == TPM2_ALG_NULL && saltlen)) {
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }
    status = PARSEC_PSA_ERROR_GENERIC_ERROR;
    pkey = psd_tpm_public_to_pkey(&b.pub);
    ctx = pkey ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL) : NULL;
    if (!ctx || EVP_PKEY_encrypt_init(ctx) <= 0)
        goto done;
    if (oaep_hash == TPM2_ALG_NULL) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
            goto done;
    } else {
        const char *md = psd_tpm_hash_ossl_name(oaep_hash);
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, md, NULL) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, md, NULL) <= 0)
            goto done;
        if (saltlen) {
            label = OPENSSL_memdup(salt, saltlen);
            if (!label || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, (int)saltlen) <= 0)
                goto done;
            label = NULL; /* owned by ctx */
        }
    }
    out->data = OPENSSL_malloc(k);
    if (!out->data) {
        status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    outlen = k;
    if (EVP_PKEY_encrypt(ctx, out->data, &outlen, in, inlen) <= 0) {
        psd_buf_clear(out);
        goto done;
    }
    out->len = outlen;
    status = PARSEC_SUCCESS;

done:
    OPENSSL_free(label);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    psd_tpm_blob_cleanse(&b);
    return status;
}

/* ---- AsymmetricDecrypt ---- */

struct psd_tpm_decrypt_args {
    const psd_key *key;
    const psd_tpm_blob *blob;
    const TPM2B_PUBLIC_KEY_RSA *cipher;
    const TPMT_RSA_DECRYPT *scheme;
    const TPM2B_DATA *label;
    psd_buf *out;
};

static parsec_status psd_tpm_decrypt_locked(psd_tpm *st, void *argp)
{
    struct psd_tpm_decrypt_args *arg = argp;
    TPM2B_PUBLIC_KEY_RSA *msg = NULL;
    ESYS_TR h = ESYS_TR_NONE;
    parsec_status status;
    TSS2_RC rc;

    status = psd_tpm_key_acquire(st, arg->key, arg->blob, &h);
    if (status != PARSEC_SUCCESS)
        return status;
    rc = Esys_RSA_Decrypt(st->esys, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, arg->cipher,
                          arg->scheme, arg->label, &msg);
    psd_tpm_key_release(st, h);
    if (rc != TSS2_RC_SUCCESS) {
        TSS2_RC base = psd_tpm_rc_base(rc);
        /* libtpms answers a padding check failure with VALUE or FAILURE. */
        if (base == TPM2_RC_VALUE || base == TPM2_RC_FAILURE) {
            psd_log(PSD_LOG_INFO, "tpm: RSA decryption rejected the padding (0x%x)", (unsigned)rc);
            return PARSEC_PSA_ERROR_INVALID_PADDING;
        }
        return psd_tpm_fail(st, "decrypting (TPM2_RSA_Decrypt)", rc);
    }
    status = psd_buf_set(arg->out, msg->buffer, msg->size);
    OPENSSL_cleanse(msg, sizeof(*msg));
    Esys_Free(msg);
    return status;
}

parsec_status psd_tpm_asymmetric_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                         const uint8_t *in, size_t inlen, const uint8_t *salt,
                                         size_t saltlen, psd_buf *out)
{
    psd_tpm *st = state;
    psd_tpm_blob b;
    TPMI_ALG_HASH oaep_hash = TPM2_ALG_NULL;
    TPM2B_PUBLIC_KEY_RSA cipher = {0};
    TPMT_RSA_DECRYPT scheme = {0};
    TPM2B_DATA label = {0};
    struct psd_tpm_decrypt_args arg = {
        .key = key, .blob = &b, .cipher = &cipher, .scheme = &scheme, .label = &label, .out = out};
    parsec_status status = psd_tpm_blob_decode(key, &b);

    if (status != PARSEC_SUCCESS)
        return status;
    status = psd_tpm_rsa_check(st, &b, alg, &oaep_hash);
    if (status != PARSEC_SUCCESS)
        goto done;
    if (b.kind != PSD_TPM_BLOB_KEY) {
        status = PARSEC_PSA_ERROR_NOT_PERMITTED;
        goto done;
    }
    if (inlen != psd_tpm_rsa_bytes(&b.pub) || (oaep_hash == TPM2_ALG_NULL && saltlen)) {
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }
    if (saltlen && (salt[saltlen - 1] != 0 || saltlen > sizeof(label.buffer))) {
        psd_log(PSD_LOG_INFO,
                "tpm: an OAEP label must end with a zero byte and be at most %zu "
                "bytes for a TPM",
                sizeof(label.buffer));
        status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        goto done;
    }
    cipher.size = (UINT16)inlen;
    memcpy(cipher.buffer, in, inlen);
    scheme.scheme = oaep_hash == TPM2_ALG_NULL ? TPM2_ALG_RSAES : TPM2_ALG_OAEP;
    scheme.details.oaep.hashAlg = oaep_hash;
    label.size = (UINT16)saltlen;
    if (saltlen)
        memcpy(label.buffer, salt, saltlen);
    status = psd_tpm_run(st, psd_tpm_decrypt_locked, &arg);

done:
    psd_tpm_blob_cleanse(&b);
    return status;
}
