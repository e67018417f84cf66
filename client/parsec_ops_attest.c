/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key attestation (PrepareKeyAttestation, AttestKey) with the
 * ActivateCredential mechanism, the one the Parsec TPM provider defines.
 */
#include <stdlib.h>
#include <string.h>

#include "attest_key.pb-c.h"
#include "parsec_client_internal.h"
#include "prepare_key_attestation.pb-c.h"

/* A malloc'd copy for parsec_free(); an empty field gives a 1-byte buffer and length 0. */
static parsec_status parsec_attest_copy(const ProtobufCBinaryData *in, uint8_t **out, size_t *len)
{
    *out = malloc(in->len > 0 ? in->len : 1);
    if (*out == NULL)
        return PARSEC_CLIENT_ERROR_MEMORY;
    if (in->len > 0)
        memcpy(*out, in->data, in->len);
    *len = in->len;
    return PARSEC_SUCCESS;
}

parsec_status parsec_prepare_key_attestation(parsec_client *c, uint8_t provider,
                                             const char *attested, const char *attesting,
                                             uint8_t **name, size_t *namelen, uint8_t **pub,
                                             size_t *publen, uint8_t **attesting_pub,
                                             size_t *attesting_publen)
{
    PrepareKeyAttestation__Operation op = PREPARE_KEY_ATTESTATION__OPERATION__INIT;
    PrepareKeyAttestation__PrepareKeyAttestationParams params =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__INIT;
    PrepareKeyAttestation__PrepareKeyAttestationParams__ActivateCredential ac =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__ACTIVATE_CREDENTIAL__INIT;
    const PrepareKeyAttestation__Result *r;
    const PrepareKeyAttestation__PrepareKeyAttestationOutput__ActivateCredential *out;
    parsec_resp resp;
    parsec_status st;

    if (c == NULL || attested == NULL || name == NULL || namelen == NULL || pub == NULL ||
        publen == NULL || attesting_pub == NULL || attesting_publen == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *name = *pub = *attesting_pub = NULL;
    provider = parsec_provider_resolve(c, provider);
    if (provider == PARSEC_PROVIDER_DEFAULT)
        return PARSEC_CLIENT_ERROR_NO_PROVIDER;
    ac.attested_key_name = (char *)attested;
    ac.attesting_key_name = (char *)(attesting != NULL ? attesting : "");
    params.mechanism_case =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL;
    params.activate_credential = &ac;
    op.parameters = &params;
    st = parsec_call(c, provider, PARSEC_OP_PREPARE_KEY_ATTESTATION, &op.base, 0,
                     &prepare_key_attestation__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    r = (const PrepareKeyAttestation__Result *)resp.msg;
    if (r->output == NULL ||
        r->output->mechanism_case !=
            PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_OUTPUT__MECHANISM_ACTIVATE_CREDENTIAL ||
        r->output->activate_credential == NULL) {
        st = PARSEC_CLIENT_ERROR_PROTOCOL;
        goto done;
    }
    out = r->output->activate_credential;
    st = parsec_attest_copy(&out->name, name, namelen);
    if (st == PARSEC_SUCCESS)
        st = parsec_attest_copy(&out->public_, pub, publen);
    if (st == PARSEC_SUCCESS)
        st = parsec_attest_copy(&out->attesting_key_pub, attesting_pub, attesting_publen);
done:
    if (st != PARSEC_SUCCESS) {
        free(*name);
        free(*pub);
        free(*attesting_pub);
        *name = *pub = *attesting_pub = NULL;
    }
    parsec_resp_release(&resp);
    return st;
}

parsec_status parsec_attest_key(parsec_client *c, uint8_t provider, const char *attested,
                                const char *attesting, const uint8_t *credential_blob, size_t cblen,
                                const uint8_t *secret, size_t slen, uint8_t **credential,
                                size_t *credlen)
{
    AttestKey__Operation op = ATTEST_KEY__OPERATION__INIT;
    AttestKey__AttestationMechanismParams params = ATTEST_KEY__ATTESTATION_MECHANISM_PARAMS__INIT;
    AttestKey__AttestationMechanismParams__ActivateCredential ac =
        ATTEST_KEY__ATTESTATION_MECHANISM_PARAMS__ACTIVATE_CREDENTIAL__INIT;
    const AttestKey__Result *r;
    parsec_resp resp;
    parsec_status st;

    if (c == NULL || attested == NULL || credential == NULL || credlen == NULL ||
        (credential_blob == NULL && cblen > 0) || (secret == NULL && slen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *credential = NULL;
    provider = parsec_provider_resolve(c, provider);
    if (provider == PARSEC_PROVIDER_DEFAULT)
        return PARSEC_CLIENT_ERROR_NO_PROVIDER;
    ac.credential_blob.data = (uint8_t *)credential_blob;
    ac.credential_blob.len = cblen;
    ac.secret.data = (uint8_t *)secret;
    ac.secret.len = slen;
    params.mechanism_case = ATTEST_KEY__ATTESTATION_MECHANISM_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL;
    params.activate_credential = &ac;
    op.attested_key_name = (char *)attested;
    op.attesting_key_name = (char *)(attesting != NULL ? attesting : "");
    op.parameters = &params;
    /* The answer is the challenge's secret: cleansed once handed over. */
    st = parsec_call(c, provider, PARSEC_OP_ATTEST_KEY, &op.base, PARSEC_CALL_SECRET_RESPONSE,
                     &attest_key__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    r = (const AttestKey__Result *)resp.msg;
    if (r->output == NULL ||
        r->output->mechanism_case !=
            ATTEST_KEY__ATTESTATION_OUTPUT__MECHANISM_ACTIVATE_CREDENTIAL ||
        r->output->activate_credential == NULL) {
        parsec_resp_release(&resp);
        return PARSEC_CLIENT_ERROR_PROTOCOL;
    }
    return parsec_resp_take_bytes(&resp, &r->output->activate_credential->credential, credential,
                                  credlen);
}
