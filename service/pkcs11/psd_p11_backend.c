/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsecd's PKCS#11 backend (Parsec provider ID 2): start-up, what it offers,
 * and the operation table.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "psd_p11.h"

static int psd_p11_init(void **state, const psd_settings *settings, char *err, size_t errlen)
{
    psd_p11_config cfg;
    psd_p11 *st = NULL;
    int ret = -1;

    *state = NULL;
    if (psd_p11_config_read(&cfg, settings, err, errlen) != 0)
        return -1;
    st = OPENSSL_zalloc(sizeof(*st));
    if (st == NULL) {
        snprintf(err, errlen, "pkcs11: out of memory");
        goto done;
    }
    if (psd_p11_open(st, &cfg, err, errlen) != 0) {
        psd_p11_close(st);
        OPENSSL_free(st);
        st = NULL;
        goto done;
    }
    st->remove_orphans = cfg.remove_orphans;
    *state = st;
    ret = 0;
done:
    psd_p11_config_clear(&cfg); /* cleanses the PIN read from the config */
    return ret;
}

static void psd_p11_fini(void *state)
{
    psd_p11 *st = state;

    if (st == NULL)
        return;
    psd_p11_close(st);
    OPENSSL_free(st);
}

static size_t psd_p11_opcodes(void *state, uint32_t *out, size_t max)
{
    psd_p11 *st = state;
    const psd_p11_caps *c = &st->caps;
    uint32_t ops[16];
    size_t n = 0, i;

    if (c->rsa_gen || c->ec_gen)
        ops[n++] = PARSEC_OP_PSA_GENERATE_KEY;
    ops[n++] = PARSEC_OP_PSA_DESTROY_KEY;
    ops[n++] = PARSEC_OP_PSA_IMPORT_KEY;
    ops[n++] = PARSEC_OP_PSA_EXPORT_PUBLIC_KEY;
    if (c->rsa_pkcs_sign || c->rsa_pss_sign || c->ecdsa_sign)
        ops[n++] = PARSEC_OP_PSA_SIGN_HASH;
    ops[n++] = PARSEC_OP_PSA_VERIFY_HASH;        /* OpenSSL, public key */
    ops[n++] = PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT; /* OpenSSL, public key */
    if (c->rsa_pkcs_decrypt || c->rsa_oaep_decrypt || c->rsa_x509_decrypt)
        ops[n++] = PARSEC_OP_PSA_ASYMMETRIC_DECRYPT;
    if (c->ecdh_derive)
        ops[n++] = PARSEC_OP_PSA_RAW_KEY_AGREEMENT;
    if (c->rng)
        ops[n++] = PARSEC_OP_PSA_GENERATE_RANDOM;
    if (c->aes_gcm) {
        ops[n++] = PARSEC_OP_PSA_AEAD_ENCRYPT;
        ops[n++] = PARSEC_OP_PSA_AEAD_DECRYPT;
    }
    ops[n++] = PARSEC_OP_CAN_DO_CRYPTO;
    for (i = 0; i < n && i < max; i++)
        out[i] = ops[i];
    return i;
}

static int psd_p11_hash_ok(uint8_t hash)
{
    return hash == PARSEC_HASH_ANY || psd_p11_hash_find(hash) != NULL;
}

/* Only what this token can really do with the key (see the mechanism list). */
static parsec_status psd_p11_check_attributes(void *state, const parsec_key_attributes *a)
{
    psd_p11 *st = state;
    const psd_p11_caps *c = &st->caps;
    const parsec_alg *alg = &a->alg;
    const uint32_t sign = PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_SIGN_MESSAGE;
    int rsa = 0, pair = 0, signs, decrypts, derives;

    if (a->type == PARSEC_KEY_TYPE_AES)
        return psd_p11_aes_ok(st, a) ? PARSEC_SUCCESS : PARSEC_PSA_ERROR_NOT_SUPPORTED;
    switch (a->type) {
    case PARSEC_KEY_TYPE_RSA_KEY_PAIR:
        pair = 1;
        /* fall through */
    case PARSEC_KEY_TYPE_RSA_PUBLIC_KEY:
        rsa = 1;
        if (a->bits != 0 && !psd_p11_rsa_bits_ok(a->type, a->bits))
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        if (a->bits != 0 && c->rsa_gen && c->rsa_max_bits != 0 &&
            (a->bits < c->rsa_min_bits || a->bits > c->rsa_max_bits)) {
            psd_log(PSD_LOG_INFO,
                    "pkcs11: RSA keys of %u bits refused: the token makes %lu to"
                    " %lu bits (CKM_RSA_PKCS_KEY_PAIR_GEN)",
                    a->bits, (unsigned long)c->rsa_min_bits, (unsigned long)c->rsa_max_bits);
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        }
        break;
    case PARSEC_KEY_TYPE_ECC_KEY_PAIR:
        pair = 1;
        /* fall through */
    case PARSEC_KEY_TYPE_ECC_PUBLIC_KEY:
        if (a->ecc_family != PARSEC_ECC_FAMILY_SECP_R1)
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        if (a->bits != 0 && psd_p11_curve_by_bits(a->bits) == NULL)
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        if (a->bits != 0 && c->ec_gen && c->ec_max_bits != 0 &&
            (a->bits < c->ec_min_bits || a->bits > c->ec_max_bits))
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        break;
    default:
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    /* A token key is created CKA_EXTRACTABLE=FALSE: it can never be exported. */
    if (pair && (a->usage & PARSEC_USAGE_EXPORT)) {
        psd_log(PSD_LOG_INFO, "pkcs11: usage 'export' refused: key pairs are created on the"
                              " token with CKA_EXTRACTABLE=FALSE and can never leave it");
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }

    /* Mechanisms only matter for what the private key will do on the token. */
    signs = pair && (a->usage & sign);
    decrypts = pair && (a->usage & PARSEC_USAGE_DECRYPT);
    derives = pair && (a->usage & PARSEC_USAGE_DERIVE);
    switch (alg->kind) {
    case PARSEC_ALG_NONE:
        return PARSEC_SUCCESS;
    case PARSEC_ALG_ASYMMETRIC_SIGNATURE:
        switch (alg->scheme) {
        case PARSEC_SIGN_RSA_PKCS1V15:
            if (!rsa || !psd_p11_hash_ok(alg->hash) || (signs && !c->rsa_pkcs_sign))
                return PARSEC_PSA_ERROR_NOT_SUPPORTED;
            return PARSEC_SUCCESS;
        case PARSEC_SIGN_RSA_PKCS1V15_RAW:
            if (!rsa || (signs && !c->rsa_pkcs_sign))
                return PARSEC_PSA_ERROR_NOT_SUPPORTED;
            return PARSEC_SUCCESS;
        case PARSEC_SIGN_RSA_PSS:
            if (!rsa || !psd_p11_hash_ok(alg->hash) || (signs && !c->rsa_pss_sign))
                return PARSEC_PSA_ERROR_NOT_SUPPORTED;
            return PARSEC_SUCCESS;
        case PARSEC_SIGN_ECDSA:
            if (rsa || !psd_p11_hash_ok(alg->hash) || (signs && !c->ecdsa_sign))
                return PARSEC_PSA_ERROR_NOT_SUPPORTED;
            return PARSEC_SUCCESS;
        case PARSEC_SIGN_ECDSA_ANY:
            if (rsa || (signs && !c->ecdsa_sign))
                return PARSEC_PSA_ERROR_NOT_SUPPORTED;
            return PARSEC_SUCCESS;
        case PARSEC_SIGN_DETERMINISTIC_ECDSA:
            /* No PKCS#11 mechanism signs deterministically; verifying is fine. */
            if (rsa || signs || !psd_p11_hash_ok(alg->hash))
                return PARSEC_PSA_ERROR_NOT_SUPPORTED;
            return PARSEC_SUCCESS;
        default:
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        }
    case PARSEC_ALG_ASYMMETRIC_ENCRYPTION:
        if (!rsa)
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        if (alg->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15)
            return decrypts && !c->rsa_pkcs_decrypt ? PARSEC_PSA_ERROR_NOT_SUPPORTED
                                                    : PARSEC_SUCCESS;
        if (alg->scheme == PARSEC_ENCRYPT_RSA_OAEP && psd_p11_hash_find(alg->hash) != NULL)
            return decrypts && !c->rsa_oaep_decrypt && !c->rsa_x509_decrypt
                       ? PARSEC_PSA_ERROR_NOT_SUPPORTED
                       : PARSEC_SUCCESS;
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    case PARSEC_ALG_KEY_AGREEMENT:
        if (rsa || alg->scheme != PARSEC_KA_ECDH || (derives && !c->ecdh_derive))
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        return PARSEC_SUCCESS;
    default:
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
}

const psd_backend_ops psd_pkcs11_backend = {
    .abi_version = PSD_BACKEND_ABI_VERSION,
    .provider_id = PARSEC_PROVIDER_PKCS11,
    .name = "pkcs11",
    .uuid = "30e39502-eba6-4d60-a4af-c518b7f5e38f",
    .description = "PKCS #11 provider, interfacing with a PKCS #11 library.",
    .vendor = "OASIS Standard.",
    .version_maj = 0,
    .version_min = 1,
    .version_rev = 0,
    .init = psd_p11_init,
    .fini = psd_p11_fini,
    .opcodes = psd_p11_opcodes,
    .check_attributes = psd_p11_check_attributes,
    .generate_key = psd_p11_generate_key,
    .import_key = psd_p11_import_key,
    .export_public_key = psd_p11_export_public_key,
    .export_key = NULL, /* private keys never leave the token */
    .destroy_key = psd_p11_destroy_key,
    .sign_hash = psd_p11_sign_hash,
    .verify_hash = psd_p11_verify_hash,
    .asymmetric_encrypt = psd_p11_asymmetric_encrypt,
    .asymmetric_decrypt = psd_p11_asymmetric_decrypt,
    .raw_key_agreement = psd_p11_raw_key_agreement,
    .generate_random = psd_p11_generate_random,
    .hash_compute = NULL,
    .prepare_key_attestation = NULL,
    .attest_key = NULL,
    .aead_encrypt = psd_p11_aead_encrypt,
    .aead_decrypt = psd_p11_aead_decrypt,
    .reconcile = psd_p11_reconcile,
};
