/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sealed secrets: a small secret (the key store's key-encryption key) kept
 * as a TPM keyed-hash object under the storage primary key. Only this TPM,
 * with its owner seed unchanged, can load the object and unseal the secret
 * (TPM 2.0 Library, Part 1, "Sealed Data Objects"; TPM2_Create, TPM2_Unseal).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "psd_tpm.h"

struct psd_tpm_seal_args {
    const uint8_t *in;
    size_t len;
    psd_buf *out;
};

static parsec_status psd_tpm_seal_locked(psd_tpm *st, void *argp)
{
    struct psd_tpm_seal_args *arg = argp;
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_PUBLIC tmpl = {0};
    parsec_status status;

    tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
    tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
    /* No sign/decrypt: a sealed data object that only TPM2_Unseal reads. */
    tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                       TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
    tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
    sens.sensitive.data.size = (UINT16)arg->len;
    memcpy(sens.sensitive.data.buffer, arg->in, arg->len);
    status = psd_tpm_create(st, &sens, &tmpl, PSD_TPM_BLOB_SEALED, "sealing a secret (TPM2_Create)",
                            arg->out);
    OPENSSL_cleanse(&sens, sizeof(sens));
    return status;
}

parsec_status psd_tpm_seal_secret(void *state, const uint8_t *secret, size_t len, psd_buf *sealed)
{
    struct psd_tpm_seal_args arg = {secret, len, sealed};

    if (len == 0 || len > sizeof(((TPM2B_SENSITIVE_DATA *)0)->buffer))
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    return psd_tpm_run(state, psd_tpm_seal_locked, &arg);
}

struct psd_tpm_unseal_args {
    const psd_tpm_blob *blob;
    psd_buf *out;
};

static parsec_status psd_tpm_unseal_locked(psd_tpm *st, void *argp)
{
    struct psd_tpm_unseal_args *arg = argp;
    TPM2B_SENSITIVE_DATA *data = NULL;
    ESYS_TR h = ESYS_TR_NONE;
    parsec_status status;
    TSS2_RC rc;

    psd_tpm_make_room(st);
    if (st->broken)
        return PARSEC_PSA_ERROR_COMMUNICATION_FAILURE; /* psd_tpm_run reconnects */
    rc = Esys_Load(st->esys, st->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                   &arg->blob->priv, &arg->blob->pub, &h);
    if (rc != TSS2_RC_SUCCESS)
        return psd_tpm_fail(st, "loading a sealed secret (TPM2_Load)", rc);
    rc = Esys_TR_SetAuth(st->esys, h, &arg->blob->auth);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_Unseal(st->esys, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &data);
    if (rc != TSS2_RC_SUCCESS)
        status = psd_tpm_fail(st, "unsealing a secret (TPM2_Unseal)", rc);
    else
        status = psd_buf_set(arg->out, data->buffer, data->size);
    if (data != NULL)
        OPENSSL_cleanse(data, sizeof(*data));
    Esys_Free(data);
    Esys_FlushContext(st->esys, h);
    return status;
}

parsec_status psd_tpm_unseal_secret(void *state, const uint8_t *sealed, size_t len, psd_buf *secret)
{
    psd_tpm_blob blob;
    struct psd_tpm_unseal_args arg = {&blob, secret};
    parsec_status status = psd_tpm_sealed_decode(sealed, len, &blob);

    if (status == PARSEC_SUCCESS)
        status = psd_tpm_run(state, psd_tpm_unseal_locked, &arg);
    psd_tpm_blob_cleanse(&blob);
    return status;
}
