/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SignHash (TPM2_Sign with a NULL hash-check ticket: keys are unrestricted)
 * and VerifyHash (in software with OpenSSL from the stored public area).
 *
 * RSA-PSS: PSA fixes the salt length to the hash length. libtpms (swtpm)
 * signs RSAPSS with salt = hash length too, but TPMs following other
 * revisions of the reference code use the largest salt that fits, so every
 * PSS signature is checked in software before it is returned: a TPM that
 * cannot make a PSA-conformant signature gets NOT_SUPPORTED, never a
 * signature the client will reject.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "parsec_psa_crypto.h"
#include "psd_tpm.h"

/* The TPM signing scheme for a Parsec signature algorithm on this key. */
static parsec_status psd_tpm_sign_scheme(const psd_tpm_caps *caps, const TPMT_PUBLIC *pub,
                                         const parsec_alg *alg, size_t hashlen,
                                         TPMT_SIG_SCHEME *scheme)
{
    TPMI_ALG_HASH h = TPM2_ALG_ERROR;

    if (alg->kind != PARSEC_ALG_ASYMMETRIC_SIGNATURE)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    switch (alg->scheme) {
    case PARSEC_SIGN_RSA_PKCS1V15:
    case PARSEC_SIGN_RSA_PSS:
        if (pub->type != TPM2_ALG_RSA)
            return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        if (alg->scheme == PARSEC_SIGN_RSA_PKCS1V15 ? !caps->rsassa : !caps->rsapss)
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        scheme->scheme =
            alg->scheme == PARSEC_SIGN_RSA_PKCS1V15 ? TPM2_ALG_RSASSA : TPM2_ALG_RSAPSS;
        h = psd_tpm_hash_alg(caps, alg->hash);
        break;
    case PARSEC_SIGN_ECDSA:
    case PARSEC_SIGN_ECDSA_ANY:
        if (pub->type != TPM2_ALG_ECC)
            return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        if (!caps->ecdsa)
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        scheme->scheme = TPM2_ALG_ECDSA;
        if (alg->scheme == PARSEC_SIGN_ECDSA) {
            h = psd_tpm_hash_alg(caps, alg->hash);
        } else {
            /* The TPM wants a hash algorithm: take the one of this input's length. */
            static const uint8_t by_len[] = {PARSEC_HASH_SHA_1, PARSEC_HASH_SHA_256,
                                             PARSEC_HASH_SHA_384, PARSEC_HASH_SHA_512};
            for (size_t i = 0; i < sizeof(by_len) && h == TPM2_ALG_ERROR; i++) {
                TPMI_ALG_HASH c = psd_tpm_hash_alg(caps, by_len[i]);
                if (c != TPM2_ALG_ERROR && psd_tpm_hash_size(c) == hashlen)
                    h = c;
            }
        }
        break;
    default:
        /* PKCS#1 v1.5 raw and deterministic ECDSA: not TPM operations. */
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    if (h == TPM2_ALG_ERROR)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (psd_tpm_hash_size(h) != hashlen)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    scheme->details.any.hashAlg = h;
    return PARSEC_SUCCESS;
}

/* Software verification with OpenSSL (also used to check the TPM's PSS salt). */
static parsec_status psd_tpm_verify_public(const TPM2B_PUBLIC *pub, const parsec_alg *alg,
                                           const uint8_t *hash, size_t hashlen, const uint8_t *sig,
                                           size_t siglen)
{
    EVP_PKEY *pkey = psd_tpm_public_to_pkey(pub);
    parsec_status status = PARSEC_PSA_ERROR_GENERIC_ERROR;

    if (pkey != NULL)
        status = parsec_psa_verify_hash(pkey, alg, hash, hashlen, sig, siglen);
    EVP_PKEY_free(pkey);
    return status;
}

/* ---- SignHash ---- */

struct psd_tpm_sign_args {
    const psd_key *key;
    const psd_tpm_blob *blob;
    const TPMT_SIG_SCHEME *scheme;
    const TPM2B_DIGEST *digest;
    psd_buf *sig;
};

static parsec_status psd_tpm_put_padded(psd_buf *out, const uint8_t *v, size_t vlen, size_t width,
                                        size_t at)
{
    if (vlen > width)
        return PARSEC_PSA_ERROR_GENERIC_ERROR;
    memset(out->data + at, 0, width - vlen);
    memcpy(out->data + at + width - vlen, v, vlen);
    return PARSEC_SUCCESS;
}

static parsec_status psd_tpm_sign_locked(psd_tpm *st, void *argp)
{
    struct psd_tpm_sign_args *arg = argp;
    TPMT_TK_HASHCHECK ticket = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
    TPMT_SIGNATURE *sig = NULL;
    ESYS_TR h = ESYS_TR_NONE;
    parsec_status status;
    TSS2_RC rc;
    size_t width, total;

    status = psd_tpm_key_acquire(st, arg->key, arg->blob, &h);
    if (status != PARSEC_SUCCESS)
        return status;
    rc = Esys_Sign(st->esys, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, arg->digest,
                   arg->scheme, &ticket, &sig);
    psd_tpm_key_release(st, h);
    if (rc != TSS2_RC_SUCCESS)
        return psd_tpm_fail(st, "signing (TPM2_Sign)", rc);

    if (arg->blob->pub.publicArea.type == TPM2_ALG_RSA) {
        const TPM2B_PUBLIC_KEY_RSA *s = &sig->signature.rsassa.sig; /* same layout for PSS */
        width = total = psd_tpm_rsa_bytes(&arg->blob->pub);
        arg->sig->data = OPENSSL_malloc(total);
        if (!arg->sig->data) {
            status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
            goto done;
        }
        arg->sig->len = total;
        status = psd_tpm_put_padded(arg->sig, s->buffer, s->size, width, 0);
    } else {
        const TPMS_SIGNATURE_ECC *s = &sig->signature.ecdsa;
        width = psd_tpm_curve_bytes(arg->blob->pub.publicArea.parameters.eccDetail.curveID);
        total = 2 * width;
        arg->sig->data = OPENSSL_malloc(total);
        if (!arg->sig->data) {
            status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
            goto done;
        }
        arg->sig->len = total;
        status = psd_tpm_put_padded(arg->sig, s->signatureR.buffer, s->signatureR.size, width, 0);
        if (status == PARSEC_SUCCESS)
            status = psd_tpm_put_padded(arg->sig, s->signatureS.buffer, s->signatureS.size, width,
                                        width);
    }

done:
    Esys_Free(sig);
    return status;
}

parsec_status psd_tpm_sign_hash(void *state, const psd_key *key, const parsec_alg *alg,
                                const uint8_t *hash, size_t hashlen, psd_buf *sig)
{
    psd_tpm *st = state;
    psd_tpm_blob blob;
    TPMT_SIG_SCHEME scheme = {0};
    TPM2B_DIGEST digest = {0};
    struct psd_tpm_sign_args arg = {
        .key = key, .blob = &blob, .scheme = &scheme, .digest = &digest, .sig = sig};
    parsec_status status = psd_tpm_blob_decode(key, &blob);

    if (status != PARSEC_SUCCESS)
        return status;
    status = psd_tpm_sign_scheme(&st->caps, &blob.pub.publicArea, alg, hashlen, &scheme);
    if (status != PARSEC_SUCCESS)
        goto done;
    if (blob.kind != PSD_TPM_BLOB_KEY) {
        status = PARSEC_PSA_ERROR_NOT_PERMITTED; /* a public key cannot sign */
        goto done;
    }
    digest.size = (UINT16)hashlen;
    memcpy(digest.buffer, hash, hashlen);
    status = psd_tpm_run(st, psd_tpm_sign_locked, &arg);
    if (status == PARSEC_SUCCESS && scheme.scheme == TPM2_ALG_RSAPSS &&
        psd_tpm_verify_public(&blob.pub, alg, hash, hashlen, sig->data, sig->len) !=
            PARSEC_SUCCESS) {
        psd_log(PSD_LOG_ERROR, "tpm: this TPM's RSA-PSS signatures do not use salt length = "
                               "hash length as PSA requires; RSA-PSS is not available");
        psd_buf_clear(sig);
        status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }

done:
    psd_tpm_blob_cleanse(&blob);
    return status;
}

/* ---- VerifyHash ---- */

parsec_status psd_tpm_verify_hash(void *state, const psd_key *key, const parsec_alg *alg,
                                  const uint8_t *hash, size_t hashlen, const uint8_t *sig,
                                  size_t siglen)
{
    psd_tpm *st = state;
    psd_tpm_blob blob;
    TPMT_SIG_SCHEME scheme = {0};
    parsec_status status = psd_tpm_blob_decode(key, &blob);

    if (status != PARSEC_SUCCESS)
        return status;
    status = psd_tpm_sign_scheme(&st->caps, &blob.pub.publicArea, alg, hashlen, &scheme);
    if (status == PARSEC_SUCCESS)
        status = psd_tpm_verify_public(&blob.pub, alg, hash, hashlen, sig, siglen);
    psd_tpm_blob_cleanse(&blob);
    return status;
}
