/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key attestation with TPM2_ActivateCredential, as the Parsec TPM provider
 * defines it (reference: parsec src/providers/tpm/key_attestation.rs and
 * tss-esapi's get_make_cred_params/activate_credential):
 *
 * PrepareKeyAttestation gives a verifier what TPM2_MakeCredential needs:
 *   name              the attested key's TPM name (nameAlg || H(TPMT_PUBLIC))
 *   public            its marshalled TPMT_PUBLIC (so the verifier can check
 *                     the name and see fixedTPM, sensitiveDataOrigin...)
 *   attesting_key_pub the endorsement key's public key, DER RSAPublicKey
 * AttestKey runs TPM2_ActivateCredential with the attested key and the
 * endorsement key and returns the decrypted credential: only this TPM,
 * holding that very key, can do it.
 *
 * As in the reference, only the default attesting key is supported: the
 * TCG default RSA-2048 endorsement key (EK Credential Profile template L-1),
 * re-created from the endorsement seed when needed, authorised by
 * PolicySecret(TPM_RH_ENDORSEMENT) with endorsement_auth.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>

#include "psd_tpm.h"

/* PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256: the EK template's authPolicy. */
static const uint8_t psd_tpm_ek_policy[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5, 0xD7, 0x24,
    0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA};

static void psd_tpm_ek_template(TPM2B_PUBLIC *t)
{
    TPMS_RSA_PARMS *p = &t->publicArea.parameters.rsaDetail;

    memset(t, 0, sizeof(*t));
    t->publicArea.type = TPM2_ALG_RSA;
    t->publicArea.nameAlg = TPM2_ALG_SHA256;
    t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                     TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                                     TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    t->publicArea.authPolicy.size = sizeof(psd_tpm_ek_policy);
    memcpy(t->publicArea.authPolicy.buffer, psd_tpm_ek_policy, sizeof(psd_tpm_ek_policy));
    p->symmetric.algorithm = TPM2_ALG_AES;
    p->symmetric.keyBits.aes = 128;
    p->symmetric.mode.aes = TPM2_ALG_CFB;
    p->scheme.scheme = TPM2_ALG_NULL;
    p->keyBits = 2048;
    p->exponent = 0;
    t->publicArea.unique.rsa.size = 256;
}

/* Load the EK (CreatePrimary in the endorsement hierarchy; deterministic). */
static parsec_status psd_tpm_ek_load(psd_tpm *st, ESYS_TR *ek, TPM2B_PUBLIC **pub)
{
    TPM2B_PUBLIC tmpl;
    TPM2B_SENSITIVE_CREATE sens = {0};
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TSS2_RC rc;

    psd_tpm_ek_template(&tmpl);
    psd_tpm_make_room(st);
    if (st->broken)
        return PARSEC_PSA_ERROR_COMMUNICATION_FAILURE;
    rc = Esys_TR_SetAuth(st->esys, ESYS_TR_RH_ENDORSEMENT, &st->endorsement_auth);
    for (;;) {
        if (rc == TSS2_RC_SUCCESS)
            rc = Esys_CreatePrimary(st->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
                                    ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, ek,
                                    pub, NULL, NULL, NULL);
        if (psd_tpm_rc_base(rc) == TPM2_RC_OBJECT_MEMORY && psd_tpm_evict_lru(st))
            continue;
        break;
    }
    if (rc != TSS2_RC_SUCCESS) {
        TSS2_RC base = psd_tpm_rc_base(rc);
        if (base == TPM2_RC_BAD_AUTH || base == TPM2_RC_AUTH_FAIL)
            psd_log(PSD_LOG_ERROR, "tpm: the endorsement hierarchy refused endorsement_auth");
        return psd_tpm_fail(st, "creating the endorsement key", rc);
    }
    return PARSEC_SUCCESS;
}

/* ---- PrepareKeyAttestation ---- */

struct psd_tpm_prepare_args {
    psd_buf *attesting_pub;
};

static parsec_status psd_tpm_prepare_locked(psd_tpm *st, void *argp)
{
    struct psd_tpm_prepare_args *arg = argp;
    ESYS_TR ek = ESYS_TR_NONE;
    TPM2B_PUBLIC *pub = NULL;
    parsec_status status = psd_tpm_ek_load(st, &ek, &pub);

    if (status != PARSEC_SUCCESS)
        return status;
    Esys_FlushContext(st->esys, ek);
    status = psd_tpm_public_export(pub, arg->attesting_pub); /* DER RSAPublicKey */
    Esys_Free(pub);
    return status;
}

parsec_status psd_tpm_prepare_key_attestation(void *state, const psd_key *attested,
                                              const psd_key *attesting, psd_buf *name, psd_buf *pub,
                                              psd_buf *attesting_pub)
{
    psd_tpm *st = state;
    psd_tpm_blob b;
    uint8_t area[sizeof(TPMT_PUBLIC)];
    uint8_t nm[2 + 64];
    size_t alen = 0;
    struct psd_tpm_prepare_args arg = {.attesting_pub = attesting_pub};
    parsec_status status;

    if (attesting) {
        psd_log(PSD_LOG_INFO, "tpm: key attestation only with the endorsement key (no "
                              "attesting key name)");
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    status = psd_tpm_blob_decode(attested, &b);
    if (status != PARSEC_SUCCESS)
        return status;
    if (b.kind != PSD_TPM_BLOB_KEY) {
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT; /* an imported public key is not in the TPM */
        goto done;
    }
    /* The name needs no TPM: nameAlg || SHA-256(marshalled TPMT_PUBLIC). */
    if (b.pub.publicArea.nameAlg != TPM2_ALG_SHA256 ||
        Tss2_MU_TPMT_PUBLIC_Marshal(&b.pub.publicArea, area, sizeof(area), &alen) !=
            TSS2_RC_SUCCESS) {
        status = PARSEC_PSA_ERROR_DATA_CORRUPT;
        goto done;
    }
    nm[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
    nm[1] = (uint8_t)(TPM2_ALG_SHA256 & 0xff);
    if (!EVP_Q_digest(NULL, "SHA256", NULL, area, alen, nm + 2, NULL)) {
        status = PARSEC_PSA_ERROR_GENERIC_ERROR;
        goto done;
    }
    status = psd_tpm_run(st, psd_tpm_prepare_locked, &arg);
    if (status == PARSEC_SUCCESS)
        status = psd_buf_set(name, nm, 2 + 32);
    if (status == PARSEC_SUCCESS)
        status = psd_buf_set(pub, area, alen);
    if (status != PARSEC_SUCCESS) {
        psd_buf_clear(name);
        psd_buf_clear(pub);
        psd_buf_clear(attesting_pub);
    }

done:
    psd_tpm_blob_cleanse(&b);
    return status;
}

/* ---- AttestKey ---- */

struct psd_tpm_attest_args {
    const psd_key *key;
    const psd_tpm_blob *blob;
    const TPM2B_ID_OBJECT *cred;
    const TPM2B_ENCRYPTED_SECRET *secret;
    psd_buf *out;
};

static parsec_status psd_tpm_attest_locked(psd_tpm *st, void *argp)
{
    struct psd_tpm_attest_args *arg = argp;
    ESYS_TR key = ESYS_TR_NONE, ek = ESYS_TR_NONE, session = ESYS_TR_NONE;
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
    TPM2B_DIGEST *cert = NULL;
    TPM2B_PUBLIC *ekpub = NULL;
    parsec_status status;
    TSS2_RC rc;

    status = psd_tpm_key_acquire(st, arg->key, arg->blob, &key);
    if (status != PARSEC_SUCCESS)
        return status;
    status = psd_tpm_ek_load(st, &ek, &ekpub);
    if (status != PARSEC_SUCCESS)
        goto done;
    /* The EK's policy: PolicySecret with the endorsement hierarchy's auth. */
    rc = Esys_StartAuthSession(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &session);
    if (rc != TSS2_RC_SUCCESS) {
        session = ESYS_TR_NONE;
        status = psd_tpm_fail(st, "starting a policy session", rc);
        goto done;
    }
    rc = Esys_PolicySecret(st->esys, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD,
                           ESYS_TR_NONE, ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        status = psd_tpm_fail(st, "PolicySecret(endorsement)", rc);
        goto done;
    }
    rc = Esys_ActivateCredential(st->esys, key, ek, ESYS_TR_PASSWORD, session, ESYS_TR_NONE,
                                 arg->cred, arg->secret, &cert);
    if (rc != TSS2_RC_SUCCESS) {
        TSS2_RC base = psd_tpm_rc_base(rc);
        /* A credential not made for this key and EK: the caller's data is wrong. */
        if (base == TPM2_RC_INTEGRITY || base == TPM2_RC_VALUE || base == TPM2_RC_SIZE ||
            base == TPM2_RC_FAILURE || base == TPM2_RC_SCHEME) {
            psd_log(PSD_LOG_INFO, "tpm: ActivateCredential rejected the credential (0x%x)",
                    (unsigned)rc);
            status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        } else {
            status = psd_tpm_fail(st, "TPM2_ActivateCredential", rc);
        }
        goto done;
    }
    status = psd_buf_set(arg->out, cert->buffer, cert->size);

done:
    if (cert)
        OPENSSL_cleanse(cert, sizeof(*cert));
    Esys_Free(cert);
    Esys_Free(ekpub);
    if (session != ESYS_TR_NONE && !st->broken)
        Esys_FlushContext(st->esys, session);
    if (ek != ESYS_TR_NONE && !st->broken)
        Esys_FlushContext(st->esys, ek);
    psd_tpm_key_release(st, key);
    return status;
}

parsec_status psd_tpm_attest_key(void *state, const psd_key *attested, const psd_key *attesting,
                                 const uint8_t *credential_blob, size_t cblen,
                                 const uint8_t *secret, size_t slen, psd_buf *credential)
{
    psd_tpm *st = state;
    psd_tpm_blob b;
    TPM2B_ID_OBJECT cred = {0};
    TPM2B_ENCRYPTED_SECRET sec = {0};
    struct psd_tpm_attest_args arg = {
        .key = attested, .blob = &b, .cred = &cred, .secret = &sec, .out = credential};
    parsec_status status;

    if (attesting)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (!credential_blob || !cblen || cblen > sizeof(cred.credential) || !secret || !slen ||
        slen > sizeof(sec.secret))
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    status = psd_tpm_blob_decode(attested, &b);
    if (status != PARSEC_SUCCESS)
        return status;
    if (b.kind != PSD_TPM_BLOB_KEY) {
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }
    cred.size = (UINT16)cblen;
    memcpy(cred.credential, credential_blob, cblen);
    sec.size = (UINT16)slen;
    memcpy(sec.secret, secret, slen);
    status = psd_tpm_run(st, psd_tpm_attest_locked, &arg);

done:
    OPENSSL_cleanse(&cred, sizeof(cred));
    OPENSSL_cleanse(&sec, sizeof(sec));
    psd_tpm_blob_cleanse(&b);
    return status;
}
