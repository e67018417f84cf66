/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsecd's TPM 2.0 backend (Parsec provider ID 3): configuration, start-up,
 * what the TPM can do (ListOpcodes, CanDoCrypto), and the ops table.
 *
 * [tpm] settings:
 *   tcti             = swtpm:host=127.0.0.1,port=2321 | device:/dev/tpmrm0 | tabrmd:... | mssim:...
 *                      (default device:/dev/tpmrm0)
 *   owner_auth       = owner hierarchy auth: str:TEXT, hex:HEX, or TEXT (default empty)
 *   endorsement_auth = endorsement hierarchy auth, same forms (key attestation)
 *   primary_handle   = 0x81xxxxxx: use this persistent storage key as parent
 *                      (default: a transient TCG SRK-template primary made at start-up)
 *   primary_key      = ecc | rsa: algorithm of that transient primary (default ecc)
 * TSS2_LOG is set to "all+NONE" unless the environment sets it: every
 * failure is reported through parsecd's own log instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "psd_tpm.h"

static const char *const psd_tpm_known_settings[] = {"tcti", "owner_auth", "endorsement_auth",
                                                     "primary_handle", "primary_key"};

/* "str:..." / "hex:..." / plain text, like the reference service's *_hierarchy_auth. */
static int psd_tpm_parse_auth(const char *name, const char *value, TPM2B_AUTH *auth, char *err,
                              size_t errlen)
{
    memset(auth, 0, sizeof(*auth));
    if (!value || !*value)
        return 0;
    if (strncmp(value, "hex:", 4) == 0) {
        long len = 0;
        unsigned char *bin = OPENSSL_hexstr2buf(value + 4, &len);
        if (!bin || len <= 0 || (size_t)len > sizeof(auth->buffer)) {
            snprintf(err, errlen, "tpm: %s: hex: needs 1 to %zu bytes of hex digits", name,
                     sizeof(auth->buffer));
            OPENSSL_clear_free(bin, bin ? (size_t)len : 0);
            return -1;
        }
        memcpy(auth->buffer, bin, (size_t)len);
        auth->size = (UINT16)len;
        OPENSSL_clear_free(bin, (size_t)len);
        return 0;
    }
    if (strncmp(value, "str:", 4) == 0)
        value += 4;
    if (strlen(value) > sizeof(auth->buffer)) {
        snprintf(err, errlen, "tpm: %s is longer than %zu bytes", name, sizeof(auth->buffer));
        return -1;
    }
    auth->size = (UINT16)strlen(value);
    memcpy(auth->buffer, value, auth->size);
    return 0;
}

static int psd_tpm_parse_settings(psd_tpm *st, const psd_settings *s, char *err, size_t errlen)
{
    const char *v;

    for (size_t i = 0; i < s->count; i++) {
        bool known = false;
        for (size_t k = 0; k < sizeof(psd_tpm_known_settings) / sizeof(psd_tpm_known_settings[0]);
             k++)
            known = known || strcmp(s->items[i].key, psd_tpm_known_settings[k]) == 0;
        if (!known) {
            snprintf(err, errlen,
                     "tpm: unknown setting '%s' in [tpm] (known: tcti, owner_auth, "
                     "endorsement_auth, primary_handle, primary_key)",
                     s->items[i].key);
            return -1;
        }
    }
    v = psd_settings_get(s, "tcti");
    st->tcti_conf = OPENSSL_strdup(v && *v ? v : "device:/dev/tpmrm0");
    if (!st->tcti_conf) {
        snprintf(err, errlen, "tpm: out of memory");
        return -1;
    }
    if (psd_tpm_parse_auth("owner_auth", psd_settings_get(s, "owner_auth"), &st->owner_auth, err,
                           errlen) != 0 ||
        psd_tpm_parse_auth("endorsement_auth", psd_settings_get(s, "endorsement_auth"),
                           &st->endorsement_auth, err, errlen) != 0)
        return -1;
    v = psd_settings_get(s, "primary_handle");
    if (v && *v) {
        char *end = NULL;
        unsigned long h = strtoul(v, &end, 0);
        /* Compare the handle type byte directly: tss2's TPM2_HR_PERSISTENT macro
         * shifts a signed int into the sign bit (UBSan flags it). */
        if (!end || *end || h > 0xFFFFFFFFul || (h >> 24) != TPM2_HT_PERSISTENT) {
            snprintf(err, errlen,
                     "tpm: primary_handle '%s' is not a persistent handle (0x81000000-0x81ffffff)",
                     v);
            return -1;
        }
        st->primary_persistent = (TPM2_HANDLE)h;
    }
    v = psd_settings_get(s, "primary_key");
    st->primary_alg = TPM2_ALG_ECC;
    if (v && *v) {
        if (strcmp(v, "rsa") == 0) {
            st->primary_alg = TPM2_ALG_RSA;
        } else if (strcmp(v, "ecc") != 0) {
            snprintf(err, errlen, "tpm: primary_key must be 'ecc' or 'rsa', not '%s'", v);
            return -1;
        }
    }
    return 0;
}

static void psd_tpm_fini(void *state)
{
    psd_tpm *st = state;

    if (!st)
        return;
    pthread_mutex_lock(&st->lock);
    psd_tpm_disconnect(st);
    pthread_mutex_unlock(&st->lock);
    pthread_mutex_destroy(&st->lock);
    OPENSSL_free(st->tcti_conf);
    OPENSSL_clear_free(st, sizeof(*st));
}

static int psd_tpm_init(void **state, const psd_settings *settings, char *err, size_t errlen)
{
    psd_tpm *st = OPENSSL_zalloc(sizeof(*st));

    *state = NULL;
    if (!st) {
        snprintf(err, errlen, "tpm: out of memory");
        return -1;
    }
    pthread_mutex_init(&st->lock, NULL);
    st->primary = ESYS_TR_NONE;
    setenv("TSS2_LOG", "all+NONE", 0);
    if (psd_tpm_parse_settings(st, settings, err, errlen) != 0 ||
        psd_tpm_connect(st, err, errlen) != 0) {
        psd_tpm_fini(st);
        return -1;
    }
    psd_log(PSD_LOG_INFO,
            "tpm: connected (tcti '%s'); %s storage primary%s; %u object slots for keys; "
            "RSA%s%s%s%s, ECC%s%s%s",
            st->tcti_conf, st->primary_persistent ? "persistent" : "transient",
            st->primary_persistent
                ? ""
                : (st->primary_alg == TPM2_ALG_ECC ? " (ECC P-256)" : " (RSA 2048)"),
            st->object_slots, st->caps.rsa1024 ? " 1024" : "", st->caps.rsa2048 ? " 2048" : "",
            st->caps.rsa3072 ? " 3072" : "", st->caps.rsa4096 ? " 4096" : "",
            st->caps.p256 ? " P-256" : "", st->caps.p384 ? " P-384" : "",
            st->caps.p521 ? " P-521" : "");
    *state = st;
    return 0;
}

/* ---- what this TPM can do ---- */

static bool psd_tpm_hash_ok(const psd_tpm_caps *c, uint8_t hash)
{
    return hash == PARSEC_HASH_ANY || psd_tpm_hash_alg(c, hash) != TPM2_ALG_ERROR;
}

static bool psd_tpm_can_sign(const psd_tpm_caps *c)
{
    return c->cmd_sign && ((c->rsa && (c->rsassa || c->rsapss)) || (c->ecc && c->ecdsa));
}

static bool psd_tpm_can_decrypt(const psd_tpm_caps *c)
{
    return c->rsa && c->cmd_rsa_decrypt && (c->rsaes || c->oaep);
}

static bool psd_tpm_can_ecdh(const psd_tpm_caps *c)
{
    return c->ecc && c->ecdh && c->cmd_ecdh_zgen;
}

static size_t psd_tpm_opcodes(void *state, uint32_t *out, size_t max)
{
    psd_tpm *st = state;
    const psd_tpm_caps *c = &st->caps;
    uint32_t ops[16];
    size_t n = 0;

    if (c->cmd_create && c->cmd_load)
        ops[n++] = PARSEC_OP_PSA_GENERATE_KEY;
    ops[n++] = PARSEC_OP_PSA_DESTROY_KEY;
    ops[n++] = PARSEC_OP_PSA_IMPORT_KEY;
    ops[n++] = PARSEC_OP_PSA_EXPORT_PUBLIC_KEY;
    if (psd_tpm_can_sign(c))
        ops[n++] = PARSEC_OP_PSA_SIGN_HASH;
    ops[n++] = PARSEC_OP_PSA_VERIFY_HASH;
    if (c->rsa && (c->rsaes || c->oaep))
        ops[n++] = PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT;
    if (psd_tpm_can_decrypt(c))
        ops[n++] = PARSEC_OP_PSA_ASYMMETRIC_DECRYPT;
    if (psd_tpm_can_ecdh(c))
        ops[n++] = PARSEC_OP_PSA_RAW_KEY_AGREEMENT;
    if (c->cmd_get_random)
        ops[n++] = PARSEC_OP_PSA_GENERATE_RANDOM;
    ops[n++] = PARSEC_OP_CAN_DO_CRYPTO;
    if (psd_tpm_backend.prepare_key_attestation && c->cmd_activate_credential &&
        c->cmd_policy_secret) {
        ops[n++] = PARSEC_OP_PREPARE_KEY_ATTESTATION;
        ops[n++] = PARSEC_OP_ATTEST_KEY;
    }
    if (n > max)
        n = max;
    memcpy(out, ops, n * sizeof(ops[0]));
    return n;
}

static bool psd_tpm_type_ok(const psd_tpm_caps *c, const parsec_key_attributes *a)
{
    switch (a->type) {
    case PARSEC_KEY_TYPE_RSA_KEY_PAIR:
        return c->rsa && c->cmd_create && psd_tpm_rsa_bits_supported(c, a->bits);
    case PARSEC_KEY_TYPE_ECC_KEY_PAIR:
        return c->cmd_create && psd_tpm_curve_supported(c, psd_tpm_curve(a->ecc_family, a->bits));
    case PARSEC_KEY_TYPE_RSA_PUBLIC_KEY:
        /* Public keys are used in software: any size the blob can hold. */
        return a->bits == 0 || (a->bits % 8 == 0 && a->bits >= 1024 && a->bits <= 4096);
    case PARSEC_KEY_TYPE_ECC_PUBLIC_KEY:
        return a->ecc_family == PARSEC_ECC_FAMILY_SECP_R1 &&
               (a->bits == 0 || psd_tpm_curve(a->ecc_family, a->bits) != TPM2_ECC_NONE);
    default:
        return false;
    }
}

static bool psd_tpm_alg_ok(const psd_tpm_caps *c, const parsec_key_attributes *a)
{
    bool rsa = a->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR || a->type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
    bool pair = a->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR || a->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR;
    const parsec_alg *alg = &a->alg;

    switch (alg->kind) {
    case PARSEC_ALG_NONE:
        return true;
    case PARSEC_ALG_ASYMMETRIC_SIGNATURE:
        if (pair && !c->cmd_sign)
            return false;
        switch (alg->scheme) {
        case PARSEC_SIGN_RSA_PKCS1V15:
            return rsa && c->rsassa && psd_tpm_hash_ok(c, alg->hash);
        case PARSEC_SIGN_RSA_PSS:
            return rsa && c->rsapss && psd_tpm_hash_ok(c, alg->hash);
        case PARSEC_SIGN_ECDSA:
            return !rsa && c->ecdsa && psd_tpm_hash_ok(c, alg->hash);
        case PARSEC_SIGN_ECDSA_ANY:
            return !rsa && c->ecdsa;
        default:
            return false; /* raw PKCS#1 v1.5, deterministic ECDSA */
        }
    case PARSEC_ALG_ASYMMETRIC_ENCRYPTION:
        if (!rsa || (pair && !c->cmd_rsa_decrypt))
            return false;
        if (alg->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15)
            return c->rsaes;
        return alg->scheme == PARSEC_ENCRYPT_RSA_OAEP && c->oaep &&
               psd_tpm_hash_alg(c, alg->hash) != TPM2_ALG_ERROR;
    case PARSEC_ALG_KEY_AGREEMENT:
        return !rsa && alg->scheme == PARSEC_KA_ECDH && psd_tpm_can_ecdh(c);
    default:
        return false;
    }
}

static parsec_status psd_tpm_check_attributes(void *state, const parsec_key_attributes *attrs)
{
    psd_tpm *st = state;
    const psd_tpm_caps *c = &st->caps;

    if (!psd_tpm_type_ok(c, attrs)) {
        if (attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR)
            psd_log(PSD_LOG_INFO,
                    "tpm: RSA keys of %u bits are not supported: this TPM creates"
                    " RSA keys of%s%s%s%s bits (TPM2_GetCapability)",
                    attrs->bits, c->rsa1024 ? " 1024" : "", c->rsa2048 ? " 2048" : "",
                    c->rsa3072 ? " 3072" : "", c->rsa4096 ? " 4096" : "");
        else
            psd_log(PSD_LOG_INFO,
                    "tpm: key type %u with %u bits is not supported by this TPM"
                    " (NIST P-256/384/521 as the TPM reports, RSA key pairs, public keys)",
                    attrs->type, attrs->bits);
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    if (!psd_tpm_alg_ok(c, attrs)) {
        psd_log(PSD_LOG_INFO,
                "tpm: the key's algorithm (kind %u, scheme %u, hash %u) is not"
                " supported by this TPM for that key type",
                attrs->alg.kind, attrs->alg.scheme, attrs->alg.hash);
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    return PARSEC_SUCCESS;
}

const psd_backend_ops psd_tpm_backend = {
    .abi_version = PSD_BACKEND_ABI_VERSION,
    .provider_id = PARSEC_PROVIDER_TPM,
    .name = "tpm",
    .uuid = "1e4954a4-ff21-46d3-ab0c-661eeb667e1d",
    .description = "TPM provider, interfacing with a library implementing the TCG TSS 2.0 "
                   "Enhanced System API specification.",
    .vendor = "Trusted Computing Group (TCG)",
    .version_maj = 0,
    .version_min = 1,
    .version_rev = 0,
    .init = psd_tpm_init,
    .fini = psd_tpm_fini,
    .opcodes = psd_tpm_opcodes,
    .check_attributes = psd_tpm_check_attributes,
    .generate_key = psd_tpm_generate_key,
    .import_key = psd_tpm_import_key,
    .export_public_key = psd_tpm_export_public_key,
    .export_key = NULL, /* TPM keys are fixedTPM: private material never leaves */
    .destroy_key = psd_tpm_destroy_key,
    .sign_hash = psd_tpm_sign_hash,
    .verify_hash = psd_tpm_verify_hash,
    .asymmetric_encrypt = psd_tpm_asymmetric_encrypt,
    .asymmetric_decrypt = psd_tpm_asymmetric_decrypt,
    .raw_key_agreement = psd_tpm_raw_key_agreement,
    .generate_random = psd_tpm_generate_random,
    .hash_compute = NULL,
    .prepare_key_attestation = psd_tpm_prepare_key_attestation,
    .attest_key = psd_tpm_attest_key,
    .seal_secret = psd_tpm_seal_secret,
    .unseal_secret = psd_tpm_unseal_secret,
};
