/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RawKeyAgreement (TPM2_ECDH_ZGen: the shared point's x-coordinate) and
 * GenerateRandom (TPM2_GetRandom).
 */
#include <string.h>

#include "psd_tpm.h"

/* ---- RawKeyAgreement ---- */

struct psd_tpm_ecdh_args {
    const psd_key *key;
    const psd_tpm_blob *blob;
    const TPM2B_ECC_POINT *peer;
    size_t width;
    psd_buf *out;
};

static parsec_status psd_tpm_ecdh_locked(psd_tpm *st, void *argp)
{
    struct psd_tpm_ecdh_args *arg = argp;
    TPM2B_ECC_POINT *z = NULL;
    ESYS_TR h = ESYS_TR_NONE;
    parsec_status status;
    TSS2_RC rc;
    const TPM2B_ECC_PARAMETER *x;

    status = psd_tpm_key_acquire(st, arg->key, arg->blob, &h);
    if (status != PARSEC_SUCCESS)
        return status;
    rc = Esys_ECDH_ZGen(st->esys, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, arg->peer, &z);
    psd_tpm_key_release(st, h);
    if (rc != TSS2_RC_SUCCESS)
        return psd_tpm_fail(st, "key agreement (TPM2_ECDH_ZGen)", rc);
    x = &z->point.x;
    if (x->size > arg->width) {
        status = PARSEC_PSA_ERROR_GENERIC_ERROR;
        goto done;
    }
    arg->out->data = OPENSSL_zalloc(arg->width);
    if (!arg->out->data) {
        status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    arg->out->len = arg->width;
    memcpy(arg->out->data + arg->width - x->size, x->buffer, x->size);

done:
    OPENSSL_cleanse(z, sizeof(*z)); /* the shared secret */
    Esys_Free(z);
    return status;
}

parsec_status psd_tpm_raw_key_agreement(void *state, const psd_key *key, const parsec_alg *alg,
                                        const uint8_t *peer, size_t peerlen, psd_buf *out)
{
    psd_tpm *st = state;
    psd_tpm_blob b;
    TPM2B_ECC_POINT point = {0};
    struct psd_tpm_ecdh_args arg = {.key = key, .blob = &b, .peer = &point, .out = out};
    parsec_status status = psd_tpm_blob_decode(key, &b);
    size_t n;

    if (status != PARSEC_SUCCESS)
        return status;
    if (alg->kind != PARSEC_ALG_KEY_AGREEMENT || alg->scheme != PARSEC_KA_ECDH ||
        b.pub.publicArea.type != TPM2_ALG_ECC) {
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }
    if (!st->caps.ecdh || !st->caps.cmd_ecdh_zgen) {
        status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        goto done;
    }
    if (b.kind != PSD_TPM_BLOB_KEY) {
        status = PARSEC_PSA_ERROR_NOT_PERMITTED;
        goto done;
    }
    n = psd_tpm_curve_bytes(b.pub.publicArea.parameters.eccDetail.curveID);
    if (!peer || peerlen != 1 + 2 * n || peer[0] != 0x04) {
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }
    /* The TPM checks the point is on the key's curve (TPM_RC_ECC_POINT). */
    point.point.x.size = (UINT16)n;
    memcpy(point.point.x.buffer, peer + 1, n);
    point.point.y.size = (UINT16)n;
    memcpy(point.point.y.buffer, peer + 1 + n, n);
    arg.width = n;
    status = psd_tpm_run(st, psd_tpm_ecdh_locked, &arg);

done:
    psd_tpm_blob_cleanse(&b);
    return status;
}

/* ---- GenerateRandom ---- */

struct psd_tpm_random_args {
    size_t size;
    psd_buf *out;
};

static parsec_status psd_tpm_random_locked(psd_tpm *st, void *argp)
{
    struct psd_tpm_random_args *arg = argp;
    size_t got = 0;

    while (got < arg->size) {
        TPM2B_DIGEST *r = NULL;
        size_t want = arg->size - got;
        /* The TPM returns at most one digest's worth per call. */
        TSS2_RC rc = Esys_GetRandom(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    (UINT16)(want > 64 ? 64 : want), &r);
        if (rc != TSS2_RC_SUCCESS)
            return psd_tpm_fail(st, "TPM2_GetRandom", rc);
        if (r->size == 0 || r->size > want) {
            Esys_Free(r);
            return PARSEC_PSA_ERROR_INSUFFICIENT_ENTROPY;
        }
        memcpy(arg->out->data + got, r->buffer, r->size);
        got += r->size;
        OPENSSL_cleanse(r, sizeof(*r));
        Esys_Free(r);
    }
    return PARSEC_SUCCESS;
}

parsec_status psd_tpm_generate_random(void *state, size_t size, psd_buf *out)
{
    psd_tpm *st = state;
    struct psd_tpm_random_args arg = {.size = size, .out = out};
    parsec_status status;

    if (!st->caps.cmd_get_random)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    /* Never a zero-size allocation: OPENSSL_malloc(0) may return NULL. */
    out->data = OPENSSL_zalloc(size ? size : 1);
    if (!out->data)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    out->len = size;
    status = psd_tpm_run(st, psd_tpm_random_locked, &arg);
    if (status != PARSEC_SUCCESS)
        psd_buf_clear(out);
    return status;
}
