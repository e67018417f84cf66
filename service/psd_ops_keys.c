/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Crypto operations sent to a backend provider: decode, authenticate, key
 * lookup for the caller's identity, PSA policy checks, then the backend call.
 * Checks follow the reference service's order (docs/wire-protocol.md
 * §1.2 steps 12-13, §5.7).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "attest_key.pb-c.h"
#include "can_do_crypto.pb-c.h"
#include "parsec_psa_pb.h"
#include "parsec_wire.h"
#include "prepare_key_attestation.pb-c.h"
#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"
#include "psd_service.h"

/* ---- helpers ---- */

/* The backend lists the operation (ListOpcodes) and implements its hook. */
static int psd_supports(const psd_provider *p, uint32_t opcode, const void *hook)
{
    if (hook == NULL)
        return 0;
    for (size_t i = 0; i < p->n_opcodes; i++)
        if (p->opcodes[i] == opcode)
            return 1;
    return 0;
}

static parsec_status psd_need_auth(const psd_request *rq)
{
    return rq->id->authenticated || !parsec_opcode_needs_auth(rq->opcode)
               ? PARSEC_SUCCESS
               : PARSEC_NOT_AUTHENTICATED;
}

/* The caller's key, held by this request's provider (else 1136, like the reference). */
static parsec_status psd_lookup(const psd_request *rq, const char *name, psd_key_entry **out)
{
    parsec_status st = psd_keystore_get(rq->svc->store, rq->id->auth_type, rq->id->app,
                                        name != NULL ? name : "", out);

    if (st != PARSEC_SUCCESS)
        return st;
    if ((*out)->provider_id != rq->prov->ops->provider_id) {
        psd_keystore_release(rq->svc->store, *out);
        *out = NULL;
        return PARSEC_PSA_ERROR_INVALID_HANDLE;
    }
    return PARSEC_SUCCESS;
}

static int psd_is_rsa(uint8_t type)
{
    return type == PARSEC_KEY_TYPE_RSA_KEY_PAIR || type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
}

static int psd_is_ecc(uint8_t type)
{
    return type == PARSEC_KEY_TYPE_ECC_KEY_PAIR || type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY;
}

/* psa-crypto's Attributes::is_compatible_with_alg for the algorithms we represent. */
static int psd_alg_compatible(const parsec_key_attributes *a, const parsec_alg *alg)
{
    if (psd_is_rsa(a->type)) {
        if (alg->kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE)
            return alg->scheme == PARSEC_SIGN_RSA_PKCS1V15 ||
                   alg->scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW ||
                   alg->scheme == PARSEC_SIGN_RSA_PSS;
        return alg->kind == PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
    }
    if (psd_is_ecc(a->type)) {
        if (alg->kind == PARSEC_ALG_KEY_AGREEMENT)
            return alg->scheme == PARSEC_KA_ECDH;
        if (alg->kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE)
            return alg->scheme == PARSEC_SIGN_ECDSA || alg->scheme == PARSEC_SIGN_ECDSA_ANY ||
                   alg->scheme == PARSEC_SIGN_DETERMINISTIC_ECDSA;
        return 0;
    }
    if (a->type == PARSEC_KEY_TYPE_DH_KEY_PAIR || a->type == PARSEC_KEY_TYPE_DH_PUBLIC_KEY)
        return alg->kind == PARSEC_ALG_KEY_AGREEMENT && alg->scheme == PARSEC_KA_FFDH;
    if (a->type == PARSEC_KEY_TYPE_AES)
        return (alg->kind == PARSEC_ALG_AEAD &&
                (alg->scheme == PARSEC_AEAD_GCM || alg->scheme == PARSEC_AEAD_CCM)) ||
               (alg->kind == PARSEC_ALG_CIPHER && alg->scheme != PARSEC_CIPHER_STREAM);
    if (a->type == PARSEC_KEY_TYPE_CHACHA20)
        return (alg->kind == PARSEC_ALG_AEAD && alg->scheme == PARSEC_AEAD_CHACHA20_POLY1305) ||
               (alg->kind == PARSEC_ALG_CIPHER && alg->scheme == PARSEC_CIPHER_STREAM);
    return 0;
}

/* Usage flag, then permitted algorithm, then key type (all 1133). */
static parsec_status psd_policy(const psd_key_entry *e, uint32_t usage, const parsec_alg *alg)
{
    if ((e->attrs.usage & usage) == 0 || !parsec_alg_permits(&e->attrs.alg, alg) ||
        !psd_alg_compatible(&e->attrs, alg))
        return PARSEC_PSA_ERROR_NOT_PERMITTED;
    return PARSEC_SUCCESS;
}

static int psd_hash_len_permitted(const parsec_alg *alg, size_t len)
{
    if (alg->scheme == PARSEC_SIGN_ECDSA_ANY || alg->scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW)
        return 1;
    if (alg->hash == PARSEC_HASH_ANY || alg->hash == PARSEC_HASH_NONE)
        return 0;
    return parsec_hash_length(alg->hash) == len;
}

/* ---- deprecated primitives (parsec-interface utils_deprecated_primitives.rs) ---- */

static int psd_hash_deprecated(int hash)
{
    return hash == PARSEC_HASH_MD2 || hash == PARSEC_HASH_MD4 || hash == PARSEC_HASH_MD5 ||
           hash == PARSEC_HASH_SHA_1;
}

static int psd_signhash_deprecated(const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh)
{
    return sh != NULL &&
           sh->variant_case ==
               PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC &&
           psd_hash_deprecated(sh->specific);
}

static int psd_mac_full_deprecated(const PsaAlgorithm__Algorithm__Mac__FullLength *m)
{
    return m != NULL &&
           m->variant_case == PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC &&
           m->hmac != NULL && psd_hash_deprecated(m->hmac->hash_alg);
}

static int psd_kdf_deprecated(const PsaAlgorithm__Algorithm__KeyDerivation *k)
{
    if (k == NULL)
        return 0;
    switch (k->variant_case) {
    case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_HKDF:
        return k->hkdf != NULL && psd_hash_deprecated(k->hkdf->hash_alg);
    case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PRF:
        return k->tls12_prf != NULL && psd_hash_deprecated(k->tls12_prf->hash_alg);
    case PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_TLS12_PSK_TO_MS:
        return k->tls12_psk_to_ms != NULL && psd_hash_deprecated(k->tls12_psk_to_ms->hash_alg);
    default:
        return 0;
    }
}

static int psd_alg_deprecated(const PsaAlgorithm__Algorithm *a)
{
    const PsaAlgorithm__Algorithm__AsymmetricSignature *s;

    if (a == NULL)
        return 0;
    switch (a->variant_case) {
    case PSA_ALGORITHM__ALGORITHM__VARIANT_HASH:
        return psd_hash_deprecated(a->hash);
    case PSA_ALGORITHM__ALGORITHM__VARIANT_MAC:
        if (a->mac == NULL)
            return 0;
        if (a->mac->variant_case == PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH)
            return psd_mac_full_deprecated(a->mac->full_length);
        if (a->mac->variant_case == PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_TRUNCATED)
            return a->mac->truncated != NULL && psd_mac_full_deprecated(a->mac->truncated->mac_alg);
        return 0;
    case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE:
        s = a->asymmetric_signature;
        if (s == NULL)
            return 0;
        switch (s->variant_case) {
        case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN:
            return s->rsa_pkcs1v15_sign != NULL &&
                   psd_signhash_deprecated(s->rsa_pkcs1v15_sign->hash_alg);
        case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS:
            return s->rsa_pss != NULL && psd_signhash_deprecated(s->rsa_pss->hash_alg);
        case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA:
            return s->ecdsa != NULL && psd_signhash_deprecated(s->ecdsa->hash_alg);
        case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_DETERMINISTIC_ECDSA:
            return s->deterministic_ecdsa != NULL &&
                   psd_signhash_deprecated(s->deterministic_ecdsa->hash_alg);
        default:
            return 0;
        }
    case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION:
        return a->asymmetric_encryption != NULL &&
               a->asymmetric_encryption->variant_case ==
                   PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP &&
               a->asymmetric_encryption->rsa_oaep != NULL &&
               psd_hash_deprecated(a->asymmetric_encryption->rsa_oaep->hash_alg);
    case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT:
        return a->key_agreement != NULL &&
               a->key_agreement->variant_case ==
                   PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_WITH_KEY_DERIVATION &&
               a->key_agreement->with_key_derivation != NULL &&
               psd_kdf_deprecated(a->key_agreement->with_key_derivation->kdf_alg);
    case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_DERIVATION:
        return psd_kdf_deprecated(a->key_derivation);
    default:
        return 0;
    }
}

static int psd_key_deprecated(const PsaKeyAttributes__KeyAttributes *a)
{
    const PsaKeyAttributes__KeyType *t = a->key_type;

    if (t == NULL)
        return 0;
    if (t->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DES ||
        t->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ARC4)
        return 1;
    /* The reference list names these curves for public keys only. */
    if (t->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY &&
        t->ecc_public_key != NULL) {
        switch ((int)t->ecc_public_key->curve_family) {
        case PARSEC_ECC_FAMILY_SECP_R2:
        case PARSEC_ECC_FAMILY_SECT_R2:
            return 1;
        case PARSEC_ECC_FAMILY_BRAINPOOL_P_R1:
            return a->key_bits == 160;
        case PARSEC_ECC_FAMILY_SECT_R1:
        case PARSEC_ECC_FAMILY_SECT_K1:
            return a->key_bits == 163;
        default:
            return 0;
        }
    }
    return 0;
}

static int psd_template_deprecated(const PsaKeyAttributes__KeyAttributes *a)
{
    return psd_key_deprecated(a) ||
           (a->key_policy != NULL && psd_alg_deprecated(a->key_policy->key_algorithm));
}

/*
 * GenerateKey/ImportKey attribute conversion in the reference order:
 * invalid encoding (16), then NotAuthenticated (19), then DeprecatedPrimitive
 * (22), then an algorithm we cannot represent (1134).
 */
static parsec_status psd_template(const psd_request *rq, const PsaKeyAttributes__KeyAttributes *pb,
                                  parsec_key_attributes *attrs)
{
    parsec_status conv, st;

    if (pb == NULL)
        return PARSEC_INVALID_ENCODING;
    conv = parsec_pb_key_attributes_to_c(pb, attrs);
    if (conv == PARSEC_INVALID_ENCODING)
        return conv;
    st = psd_need_auth(rq);
    if (st != PARSEC_SUCCESS)
        return st;
    if (!rq->svc->cfg->allow_deprecated && psd_template_deprecated(pb))
        return PARSEC_DEPRECATED_PRIMITIVE;
    return conv;
}

static int psd_is_public_type(uint8_t type)
{
    return type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY || type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY ||
           type == PARSEC_KEY_TYPE_DH_PUBLIC_KEY;
}

/*
 * [core] min_rsa_bits bounds RSA key pairs; public keys of 1024 bits or more
 * are always taken, so old signatures can still be verified.
 */
static parsec_status psd_rsa_size_check(const psd_request *rq, const char *name,
                                        const parsec_key_attributes *a)
{
    if (a->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR && a->bits < rq->svc->cfg->min_rsa_bits) {
        psd_log(PSD_LOG_INFO,
                "%s%s%s%s refused: RSA key pairs of %u bits are below [core] min_rsa_bits (%u)",
                parsec_opcode_name(rq->opcode), name ? " of key '" : "", name ? name : "",
                name ? "'" : "", a->bits, rq->svc->cfg->min_rsa_bits);
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    if (a->type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY && a->bits < 1024) {
        psd_log(PSD_LOG_INFO, "%s%s%s%s refused: RSA public keys of %u bits (1024 or more)",
                parsec_opcode_name(rq->opcode), name ? " of key '" : "", name ? name : "",
                name ? "'" : "", a->bits);
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    return PARSEC_SUCCESS;
}

/* Generate and import share the reservation -> backend -> commit sequence. */
static parsec_status psd_create_key(const psd_request *rq, const char *name,
                                    const parsec_key_attributes *attrs, const uint8_t *data,
                                    size_t len, int import)
{
    const psd_backend_ops *ops = rq->prov->ops;
    psd_key_entry *probe = NULL, *e = NULL;
    psd_buf blob = {0};
    parsec_status st;

    if (strlen(name) > PSD_KEY_NAME_MAX)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    /* Name first, as the reference does, then what the backend can do. */
    if (psd_keystore_get(rq->svc->store, rq->id->auth_type, rq->id->app, name, &probe) ==
        PARSEC_SUCCESS) {
        psd_keystore_release(rq->svc->store, probe);
        return PARSEC_PSA_ERROR_ALREADY_EXISTS;
    }
    /* psa_generate_key() refuses public-key types as an invalid argument. */
    if (!import && psd_is_public_type(attrs->type))
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    st = psd_rsa_size_check(rq, name, attrs);
    if (st != PARSEC_SUCCESS)
        return st;
    st = ops->check_attributes(rq->prov->state, attrs);
    if (st == PARSEC_PSA_ERROR_NOT_SUPPORTED)
        /* The status cannot carry text: the operator's log says what was asked (the backend's line before says why). */
        psd_log(PSD_LOG_INFO,
                "%s of key '%s' refused by the %s backend: key type %u, %u bits, usage 0x%x,"
                " algorithm kind %u scheme %u hash %u",
                import ? "ImportKey" : "GenerateKey", name, ops->name, attrs->type, attrs->bits,
                attrs->usage, attrs->alg.kind, attrs->alg.scheme, attrs->alg.hash);
    if (st != PARSEC_SUCCESS)
        return st;
    st = psd_keystore_reserve(rq->svc->store, rq->id->auth_type, rq->id->app, name,
                              ops->provider_id, attrs, &e);
    if (st != PARSEC_SUCCESS)
        return st;
    if (ops->reconcile != NULL && (st = psd_keystore_track(rq->svc->store, e)) != PARSEC_SUCCESS) {
        psd_keystore_abort(rq->svc->store, e);
        return st;
    }
    if (import)
        st = ops->import_key(rq->prov->state, e->key.id, name, attrs, data, len, &blob);
    else
        st = ops->generate_key(rq->prov->state, e->key.id, name, attrs, &blob);
    if (st != PARSEC_SUCCESS) {
        psd_keystore_abort(rq->svc->store, e);
        return st;
    }
    st = psd_keystore_commit(rq->svc->store, e, blob.data, blob.len);
    if (st != PARSEC_SUCCESS) {
        /* Not stored: take it back out of the device so nothing is left behind. */
        psd_key key = {
            .id = e->key.id, .name = name, .attrs = attrs, .blob = blob.data, .blob_len = blob.len};

        if (ops->destroy_key != NULL)
            ops->destroy_key(rq->prov->state, &key);
    }
    psd_buf_clear(&blob);
    return st;
}

/* ---- key management ---- */

static parsec_status psd_op_generate_key(const psd_request *rq, psd_buf *resp)
{
    PsaGenerateKey__Operation *op =
        psa_generate_key__operation__unpack(NULL, rq->body_len, rq->body);
    PsaGenerateKey__Result res = PSA_GENERATE_KEY__RESULT__INIT;
    parsec_key_attributes attrs;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_template(rq, op->attributes, &attrs);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->generate_key))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_create_key(rq, op->key_name, &attrs, NULL, 0, 0);
    if (st == PARSEC_SUCCESS)
        st = psd_pack(&res.base, resp);
    psa_generate_key__operation__free_unpacked(op, NULL);
    return st;
}

/* Key size of imported data (PSA: from the data; a non-zero size in the attributes must match). */
static parsec_status psd_import_bits(parsec_key_attributes *attrs, const uint8_t *data, size_t len)
{
    uint32_t bits = 0;

    if (psd_is_rsa(attrs->type)) {
        const unsigned char *p = data;
        EVP_PKEY *pkey = NULL;

        if (len > 0 && len <= 0x7FFFFFFF)
            pkey = attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR
                       ? d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len)
                       : d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
        if (pkey == NULL || p != data + len) {
            EVP_PKEY_free(pkey);
            return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        }
        bits = (uint32_t)EVP_PKEY_get_bits(pkey);
        EVP_PKEY_free(pkey);
    } else if (psd_is_ecc(attrs->type)) {
        size_t bytes = len;

        if (attrs->type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY &&
            attrs->ecc_family != PARSEC_ECC_FAMILY_MONTGOMERY) {
            if (len < 3 || data[0] != 0x04 || (len - 1) % 2 != 0)
                return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
            bytes = (len - 1) / 2;
        }
        if (bytes == 0)
            return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        bits = (uint32_t)bytes * 8;
        if (attrs->ecc_family == PARSEC_ECC_FAMILY_SECP_R1 && bytes == 66)
            bits = 521;
        else if (attrs->ecc_family == PARSEC_ECC_FAMILY_MONTGOMERY)
            bits = bytes == 32 ? 255 : bytes == 56 ? 448 : bits;
    } else if (attrs->type == PARSEC_KEY_TYPE_AES || attrs->type == PARSEC_KEY_TYPE_CHACHA20) {
        if (len == 0 || len > 64)
            return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        bits = (uint32_t)len * 8;
    } else {
        bits = attrs->bits != 0 ? attrs->bits : (uint32_t)len * 8;
    }
    if (attrs->bits != 0 && attrs->bits != bits)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    attrs->bits = bits;
    return PARSEC_SUCCESS;
}

static parsec_status psd_op_import_key(const psd_request *rq, psd_buf *resp)
{
    PsaImportKey__Operation *op = psa_import_key__operation__unpack(NULL, rq->body_len, rq->body);
    PsaImportKey__Result res = PSA_IMPORT_KEY__RESULT__INIT;
    parsec_key_attributes attrs;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_template(rq, op->attributes, &attrs);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->import_key))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS) {
        psd_key_entry *probe = NULL;

        /* An existing name wins over bad key data, as in the reference. */
        if (psd_keystore_get(rq->svc->store, rq->id->auth_type, rq->id->app, op->key_name,
                             &probe) == PARSEC_SUCCESS) {
            psd_keystore_release(rq->svc->store, probe);
            st = PARSEC_PSA_ERROR_ALREADY_EXISTS;
        }
    }
    if (st == PARSEC_SUCCESS)
        st = psd_import_bits(&attrs, op->data.data, op->data.len);
    if (st == PARSEC_SUCCESS)
        st = psd_create_key(rq, op->key_name, &attrs, op->data.data, op->data.len, 1);
    if (st == PARSEC_SUCCESS)
        st = psd_pack(&res.base, resp);
    OPENSSL_cleanse(op->data.data, op->data.len);
    psa_import_key__operation__free_unpacked(op, NULL);
    return st;
}

static parsec_status psd_op_export_public_key(const psd_request *rq, psd_buf *resp)
{
    PsaExportPublicKey__Operation *op =
        psa_export_public_key__operation__unpack(NULL, rq->body_len, rq->body);
    PsaExportPublicKey__Result res = PSA_EXPORT_PUBLIC_KEY__RESULT__INIT;
    psd_key_entry *e = NULL;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS &&
        !psd_supports(rq->prov, rq->opcode, rq->prov->ops->export_public_key))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, op->key_name, &e);
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->export_public_key(rq->prov->state, &e->key, &out);
    if (st == PARSEC_SUCCESS) {
        res.data.data = out.data;
        res.data.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    psd_keystore_release(rq->svc->store, e);
    psa_export_public_key__operation__free_unpacked(op, NULL);
    return st;
}

static parsec_status psd_op_export_key(const psd_request *rq, psd_buf *resp)
{
    PsaExportKey__Operation *op = psa_export_key__operation__unpack(NULL, rq->body_len, rq->body);
    PsaExportKey__Result res = PSA_EXPORT_KEY__RESULT__INIT;
    psd_key_entry *e = NULL;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->export_key))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, op->key_name, &e);
    if (st == PARSEC_SUCCESS && (e->attrs.usage & PARSEC_USAGE_EXPORT) == 0)
        st = PARSEC_PSA_ERROR_NOT_PERMITTED;
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->export_key(rq->prov->state, &e->key, &out);
    if (st == PARSEC_SUCCESS) {
        res.data.data = out.data;
        res.data.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    psd_keystore_release(rq->svc->store, e);
    psa_export_key__operation__free_unpacked(op, NULL);
    return st;
}

/* Backend first (a failure keeps the key), then the stored record. */
static parsec_status psd_destroy_entry(psd_service *svc, psd_provider *prov, psd_key_entry *e)
{
    parsec_status st =
        psd_keystore_begin_remove(svc->store, e, prov != NULL && prov->ops->reconcile != NULL);

    if (st != PARSEC_SUCCESS)
        return st;
    if (prov != NULL)
        st = prov->ops->destroy_key(prov->state, &e->key);
    if (st != PARSEC_SUCCESS) {
        psd_keystore_end_remove(svc->store, e, 0);
        return st;
    }
    return psd_keystore_end_remove(svc->store, e, 1);
}

static parsec_status psd_op_destroy_key(const psd_request *rq, psd_buf *resp)
{
    PsaDestroyKey__Operation *op = psa_destroy_key__operation__unpack(NULL, rq->body_len, rq->body);
    PsaDestroyKey__Result res = PSA_DESTROY_KEY__RESULT__INIT;
    psd_key_entry *e = NULL;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->destroy_key))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, op->key_name, &e);
    if (st == PARSEC_SUCCESS)
        st = psd_destroy_entry(rq->svc, rq->prov, e);
    if (st == PARSEC_SUCCESS)
        st = psd_pack(&res.base, resp);
    psd_keystore_release(rq->svc->store, e);
    psa_destroy_key__operation__free_unpacked(op, NULL);
    return st;
}

parsec_status psd_keys_delete_client(psd_service *svc, uint8_t auth, const char *app)
{
    psd_key_entry **keys = NULL;
    parsec_status st, first = PARSEC_SUCCESS;
    size_t n = 0;

    st = psd_keystore_list(svc->store, auth, app != NULL ? app : "", &keys, &n);
    if (st != PARSEC_SUCCESS)
        return st;
    for (size_t i = 0; i < n; i++) {
        psd_provider *prov = psd_service_provider(svc, keys[i]->provider_id);

        if (prov == NULL)
            psd_log(PSD_LOG_WARN,
                    "deleting client %s: key id %llu belongs to provider %u, which is not "
                    "configured; only its record is removed",
                    app, (unsigned long long)keys[i]->key.id, keys[i]->provider_id);
        st = psd_destroy_entry(svc, prov, keys[i]);
        if (st != PARSEC_SUCCESS && st != PARSEC_PSA_ERROR_DOES_NOT_EXIST) {
            psd_log(PSD_LOG_WARN, "deleting client %s: key id %llu: %s", app,
                    (unsigned long long)keys[i]->key.id, parsec_status_name(st));
            if (first == PARSEC_SUCCESS)
                first = st;
        }
    }
    psd_keystore_list_free(svc->store, keys, n);
    return first;
}

/* ---- signatures ---- */

static parsec_status psd_op_sign_hash(const psd_request *rq, psd_buf *resp)
{
    PsaSignHash__Operation *op = psa_sign_hash__operation__unpack(NULL, rq->body_len, rq->body);
    PsaSignHash__Result res = PSA_SIGN_HASH__RESULT__INIT;
    psd_key_entry *e = NULL;
    psd_buf sig = {0};
    parsec_alg alg;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = op->alg != NULL ? parsec_pb_sign_alg_to_c(op->alg, &alg) : PARSEC_INVALID_ENCODING;
    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->sign_hash))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, op->key_name, &e);
    if (st == PARSEC_SUCCESS)
        st = psd_policy(e, PARSEC_USAGE_SIGN_HASH, &alg);
    if (st == PARSEC_SUCCESS && !psd_hash_len_permitted(&alg, op->hash.len))
        st = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->sign_hash(rq->prov->state, &e->key, &alg, op->hash.data, op->hash.len,
                                      &sig);
    if (st == PARSEC_SUCCESS) {
        res.signature.data = sig.data;
        res.signature.len = sig.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&sig);
    psd_keystore_release(rq->svc->store, e);
    psa_sign_hash__operation__free_unpacked(op, NULL);
    return st;
}

static parsec_status psd_op_verify_hash(const psd_request *rq, psd_buf *resp)
{
    PsaVerifyHash__Operation *op = psa_verify_hash__operation__unpack(NULL, rq->body_len, rq->body);
    PsaVerifyHash__Result res = PSA_VERIFY_HASH__RESULT__INIT;
    psd_key_entry *e = NULL;
    parsec_alg alg;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = op->alg != NULL ? parsec_pb_sign_alg_to_c(op->alg, &alg) : PARSEC_INVALID_ENCODING;
    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->verify_hash))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, op->key_name, &e);
    if (st == PARSEC_SUCCESS)
        st = psd_policy(e, PARSEC_USAGE_VERIFY_HASH, &alg);
    if (st == PARSEC_SUCCESS && !psd_hash_len_permitted(&alg, op->hash.len))
        st = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->verify_hash(rq->prov->state, &e->key, &alg, op->hash.data, op->hash.len,
                                        op->signature.data, op->signature.len);
    if (st == PARSEC_SUCCESS)
        st = psd_pack(&res.base, resp);
    psd_keystore_release(rq->svc->store, e);
    psa_verify_hash__operation__free_unpacked(op, NULL);
    return st;
}

/* ---- asymmetric encryption ---- */

static parsec_status psd_crypt(const psd_request *rq, const char *name,
                               const PsaAlgorithm__Algorithm__AsymmetricEncryption *pb_alg,
                               const ProtobufCBinaryData *in, const ProtobufCBinaryData *salt,
                               int decrypt, psd_buf *out)
{
    const psd_backend_ops *ops = rq->prov->ops;
    psd_key_entry *e = NULL;
    parsec_alg alg;
    parsec_status st;

    st = pb_alg != NULL ? parsec_pb_encrypt_alg_to_c(pb_alg, &alg) : PARSEC_INVALID_ENCODING;
    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode,
                                              decrypt ? (const void *)ops->asymmetric_decrypt
                                                      : (const void *)ops->asymmetric_encrypt))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, name, &e);
    if (st == PARSEC_SUCCESS)
        st = psd_policy(e, decrypt ? PARSEC_USAGE_DECRYPT : PARSEC_USAGE_ENCRYPT, &alg);
    /* Empty salt means none; PKCS#1 v1.5 takes no salt; empty input is invalid. */
    if (st == PARSEC_SUCCESS &&
        ((alg.scheme == PARSEC_ENCRYPT_RSA_PKCS1V15 && salt->len > 0) || in->len == 0))
        st = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (st == PARSEC_SUCCESS && decrypt)
        st = ops->asymmetric_decrypt(rq->prov->state, &e->key, &alg, in->data, in->len, salt->data,
                                     salt->len, out);
    else if (st == PARSEC_SUCCESS)
        st = ops->asymmetric_encrypt(rq->prov->state, &e->key, &alg, in->data, in->len, salt->data,
                                     salt->len, out);
    psd_keystore_release(rq->svc->store, e);
    return st;
}

static parsec_status psd_op_asymmetric_encrypt(const psd_request *rq, psd_buf *resp)
{
    PsaAsymmetricEncrypt__Operation *op =
        psa_asymmetric_encrypt__operation__unpack(NULL, rq->body_len, rq->body);
    PsaAsymmetricEncrypt__Result res = PSA_ASYMMETRIC_ENCRYPT__RESULT__INIT;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_crypt(rq, op->key_name, op->alg, &op->plaintext, &op->salt, 0, &out);
    if (st == PARSEC_SUCCESS) {
        res.ciphertext.data = out.data;
        res.ciphertext.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    OPENSSL_cleanse(op->plaintext.data, op->plaintext.len);
    psa_asymmetric_encrypt__operation__free_unpacked(op, NULL);
    return st;
}

static parsec_status psd_op_asymmetric_decrypt(const psd_request *rq, psd_buf *resp)
{
    PsaAsymmetricDecrypt__Operation *op =
        psa_asymmetric_decrypt__operation__unpack(NULL, rq->body_len, rq->body);
    PsaAsymmetricDecrypt__Result res = PSA_ASYMMETRIC_DECRYPT__RESULT__INIT;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_crypt(rq, op->key_name, op->alg, &op->ciphertext, &op->salt, 1, &out);
    if (st == PARSEC_SUCCESS) {
        res.plaintext.data = out.data;
        res.plaintext.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    psa_asymmetric_decrypt__operation__free_unpacked(op, NULL);
    return st;
}

/* ---- key agreement ---- */

static parsec_status psd_op_raw_key_agreement(const psd_request *rq, psd_buf *resp)
{
    PsaRawKeyAgreement__Operation *op =
        psa_raw_key_agreement__operation__unpack(NULL, rq->body_len, rq->body);
    PsaRawKeyAgreement__Result res = PSA_RAW_KEY_AGREEMENT__RESULT__INIT;
    psd_key_entry *e = NULL;
    psd_buf out = {0};
    parsec_alg alg;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = parsec_pb_raw_ka_to_c((int)op->alg, &alg);
    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS &&
        !psd_supports(rq->prov, rq->opcode, rq->prov->ops->raw_key_agreement))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, op->private_key_name, &e);
    if (st == PARSEC_SUCCESS)
        st = psd_policy(e, PARSEC_USAGE_DERIVE, &alg);
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->raw_key_agreement(rq->prov->state, &e->key, &alg, op->peer_key.data,
                                              op->peer_key.len, &out);
    if (st == PARSEC_SUCCESS) {
        res.shared_secret.data = out.data;
        res.shared_secret.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    psd_keystore_release(rq->svc->store, e);
    psa_raw_key_agreement__operation__free_unpacked(op, NULL);
    return st;
}

/* ---- messages: hashed here, then signed or verified as a hash by the backend ---- */

static parsec_status psd_message_digest(const parsec_alg *alg, const ProtobufCBinaryData *msg,
                                        uint8_t *md, size_t *mdlen)
{
    const char *name = parsec_hash_ossl_name(alg->hash);
    EVP_MD *evp = NULL;
    unsigned int len = 0;
    parsec_status st = PARSEC_PSA_ERROR_NOT_SUPPORTED;

    /* The raw schemes take a hash the caller made: there is nothing to hash a message with. */
    if (alg->scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW || alg->scheme == PARSEC_SIGN_ECDSA_ANY)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (name != NULL)
        evp = EVP_MD_fetch(NULL, name, NULL);
    if (evp != NULL && EVP_Digest(msg->data != NULL ? msg->data : (const uint8_t *)"", msg->len, md,
                                  &len, evp, NULL) == 1) {
        *mdlen = len;
        st = PARSEC_SUCCESS;
    }
    EVP_MD_free(evp);
    return st;
}

static parsec_status psd_op_sign_message(const psd_request *rq, psd_buf *resp)
{
    PsaSignMessage__Operation *op =
        psa_sign_message__operation__unpack(NULL, rq->body_len, rq->body);
    PsaSignMessage__Result res = PSA_SIGN_MESSAGE__RESULT__INIT;
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    psd_key_entry *e = NULL;
    psd_buf sig = {0};
    parsec_alg alg;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = op->alg != NULL ? parsec_pb_sign_alg_to_c(op->alg, &alg) : PARSEC_INVALID_ENCODING;
    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->sign_hash))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, op->key_name, &e);
    if (st == PARSEC_SUCCESS)
        st = psd_policy(e, PARSEC_USAGE_SIGN_MESSAGE, &alg);
    if (st == PARSEC_SUCCESS)
        st = psd_message_digest(&alg, &op->message, md, &mdlen);
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->sign_hash(rq->prov->state, &e->key, &alg, md, mdlen, &sig);
    if (st == PARSEC_SUCCESS) {
        res.signature.data = sig.data;
        res.signature.len = sig.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&sig);
    psd_keystore_release(rq->svc->store, e);
    psa_sign_message__operation__free_unpacked(op, NULL);
    return st;
}

static parsec_status psd_op_verify_message(const psd_request *rq, psd_buf *resp)
{
    PsaVerifyMessage__Operation *op =
        psa_verify_message__operation__unpack(NULL, rq->body_len, rq->body);
    PsaVerifyMessage__Result res = PSA_VERIFY_MESSAGE__RESULT__INIT;
    uint8_t md[EVP_MAX_MD_SIZE];
    size_t mdlen = 0;
    psd_key_entry *e = NULL;
    parsec_alg alg;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = op->alg != NULL ? parsec_pb_sign_alg_to_c(op->alg, &alg) : PARSEC_INVALID_ENCODING;
    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->verify_hash))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, op->key_name, &e);
    if (st == PARSEC_SUCCESS)
        st = psd_policy(e, PARSEC_USAGE_VERIFY_MESSAGE, &alg);
    if (st == PARSEC_SUCCESS)
        st = psd_message_digest(&alg, &op->message, md, &mdlen);
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->verify_hash(rq->prov->state, &e->key, &alg, md, mdlen,
                                        op->signature.data, op->signature.len);
    if (st == PARSEC_SUCCESS)
        st = psd_pack(&res.base, resp);
    psd_keystore_release(rq->svc->store, e);
    psa_verify_message__operation__free_unpacked(op, NULL);
    return st;
}

/* ---- AEAD (parsec-interface psa_aead_encrypt.rs / psa_aead_decrypt.rs validate) ---- */

static parsec_status psd_aead(const psd_request *rq, const char *name,
                              const PsaAlgorithm__Algorithm__Aead *pb_alg, const psd_aead_input *in,
                              int decrypt, psd_buf *out)
{
    const psd_backend_ops *ops = rq->prov->ops;
    psd_key_entry *e = NULL;
    parsec_alg alg;
    parsec_status st = parsec_pb_aead_alg_to_c(pb_alg, &alg);

    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS &&
        !psd_supports(rq->prov, rq->opcode, decrypt ? ops->aead_decrypt : ops->aead_encrypt))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, name, &e);
    if (st == PARSEC_SUCCESS)
        st = psd_policy(e, decrypt ? PARSEC_USAGE_DECRYPT : PARSEC_USAGE_ENCRYPT, &alg);
    if (st == PARSEC_SUCCESS && (in->data_len == 0 || in->nonce_len == 0))
        st = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (st == PARSEC_SUCCESS)
        st = decrypt ? ops->aead_decrypt(rq->prov->state, &e->key, &alg, in, out)
                     : ops->aead_encrypt(rq->prov->state, &e->key, &alg, in, out);
    psd_keystore_release(rq->svc->store, e);
    return st;
}

static parsec_status psd_op_aead_encrypt(const psd_request *rq, psd_buf *resp)
{
    PsaAeadEncrypt__Operation *op =
        psa_aead_encrypt__operation__unpack(NULL, rq->body_len, rq->body);
    PsaAeadEncrypt__Result res = PSA_AEAD_ENCRYPT__RESULT__INIT;
    psd_aead_input in;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    in = (psd_aead_input){op->nonce.data,          op->nonce.len,      op->additional_data.data,
                          op->additional_data.len, op->plaintext.data, op->plaintext.len};
    st = psd_aead(rq, op->key_name, op->alg, &in, 0, &out);
    if (st == PARSEC_SUCCESS) {
        res.ciphertext.data = out.data;
        res.ciphertext.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    OPENSSL_cleanse(op->plaintext.data, op->plaintext.len);
    psa_aead_encrypt__operation__free_unpacked(op, NULL);
    return st;
}

static parsec_status psd_op_aead_decrypt(const psd_request *rq, psd_buf *resp)
{
    PsaAeadDecrypt__Operation *op =
        psa_aead_decrypt__operation__unpack(NULL, rq->body_len, rq->body);
    PsaAeadDecrypt__Result res = PSA_AEAD_DECRYPT__RESULT__INIT;
    psd_aead_input in;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    in = (psd_aead_input){op->nonce.data,          op->nonce.len,       op->additional_data.data,
                          op->additional_data.len, op->ciphertext.data, op->ciphertext.len};
    st = psd_aead(rq, op->key_name, op->alg, &in, 1, &out);
    if (st == PARSEC_SUCCESS) {
        res.plaintext.data = out.data;
        res.plaintext.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    psa_aead_decrypt__operation__free_unpacked(op, NULL);
    return st;
}

/* ---- unauthenticated ciphers (parsec-interface psa_cipher_*.rs validate) ---- */

static parsec_status psd_cipher(const psd_request *rq, const char *name, int pb_alg,
                                const ProtobufCBinaryData *in, int decrypt, psd_buf *out)
{
    const psd_backend_ops *ops = rq->prov->ops;
    psd_key_entry *e = NULL;
    parsec_alg alg;
    parsec_status st = parsec_pb_cipher_to_c(pb_alg, &alg);

    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS &&
        !psd_supports(rq->prov, rq->opcode, decrypt ? ops->cipher_decrypt : ops->cipher_encrypt))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, name, &e);
    if (st == PARSEC_SUCCESS)
        st = psd_policy(e, decrypt ? PARSEC_USAGE_DECRYPT : PARSEC_USAGE_ENCRYPT, &alg);
    if (st == PARSEC_SUCCESS && in->len == 0)
        st = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (st == PARSEC_SUCCESS)
        st = decrypt ? ops->cipher_decrypt(rq->prov->state, &e->key, &alg, in->data, in->len, out)
                     : ops->cipher_encrypt(rq->prov->state, &e->key, &alg, in->data, in->len, out);
    psd_keystore_release(rq->svc->store, e);
    return st;
}

static parsec_status psd_op_cipher_encrypt(const psd_request *rq, psd_buf *resp)
{
    PsaCipherEncrypt__Operation *op =
        psa_cipher_encrypt__operation__unpack(NULL, rq->body_len, rq->body);
    PsaCipherEncrypt__Result res = PSA_CIPHER_ENCRYPT__RESULT__INIT;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_cipher(rq, op->key_name, (int)op->alg, &op->plaintext, 0, &out);
    if (st == PARSEC_SUCCESS) {
        res.ciphertext.data = out.data;
        res.ciphertext.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    OPENSSL_cleanse(op->plaintext.data, op->plaintext.len);
    psa_cipher_encrypt__operation__free_unpacked(op, NULL);
    return st;
}

static parsec_status psd_op_cipher_decrypt(const psd_request *rq, psd_buf *resp)
{
    PsaCipherDecrypt__Operation *op =
        psa_cipher_decrypt__operation__unpack(NULL, rq->body_len, rq->body);
    PsaCipherDecrypt__Result res = PSA_CIPHER_DECRYPT__RESULT__INIT;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_cipher(rq, op->key_name, (int)op->alg, &op->ciphertext, 1, &out);
    if (st == PARSEC_SUCCESS) {
        res.plaintext.data = out.data;
        res.plaintext.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    psa_cipher_decrypt__operation__free_unpacked(op, NULL);
    return st;
}

/* ---- keyless operations ---- */

static parsec_status psd_op_generate_random(const psd_request *rq, psd_buf *resp)
{
    PsaGenerateRandom__Operation *op =
        psa_generate_random__operation__unpack(NULL, rq->body_len, rq->body);
    PsaGenerateRandom__Result res = PSA_GENERATE_RANDOM__RESULT__INIT;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->generate_random))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS && op->size > rq->svc->cfg->buffer_size_limit)
        st = PARSEC_RESPONSE_TOO_LARGE;
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->generate_random(rq->prov->state, (size_t)op->size, &out);
    if (st == PARSEC_SUCCESS) {
        res.random_bytes.data = out.data;
        res.random_bytes.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    psa_generate_random__operation__free_unpacked(op, NULL);
    return st;
}

static parsec_status psd_hash(const psd_request *rq, int pb_hash, const ProtobufCBinaryData *in,
                              psd_buf *out)
{
    uint8_t hash;
    parsec_status st = parsec_pb_hash_to_c(pb_hash, &hash);

    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->hash_compute))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->hash_compute(rq->prov->state, hash, in->data, in->len, out);
    return st;
}

static parsec_status psd_op_hash_compute(const psd_request *rq, psd_buf *resp)
{
    PsaHashCompute__Operation *op =
        psa_hash_compute__operation__unpack(NULL, rq->body_len, rq->body);
    PsaHashCompute__Result res = PSA_HASH_COMPUTE__RESULT__INIT;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_hash(rq, (int)op->alg, &op->input, &out);
    if (st == PARSEC_SUCCESS) {
        res.hash.data = out.data;
        res.hash.len = out.len;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&out);
    psa_hash_compute__operation__free_unpacked(op, NULL);
    return st;
}

static parsec_status psd_op_hash_compare(const psd_request *rq, psd_buf *resp)
{
    PsaHashCompare__Operation *op =
        psa_hash_compare__operation__unpack(NULL, rq->body_len, rq->body);
    PsaHashCompare__Result res = PSA_HASH_COMPARE__RESULT__INIT;
    psd_buf out = {0};
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    st = psd_hash(rq, (int)op->alg, &op->input, &out);
    if (st == PARSEC_SUCCESS &&
        (out.len != op->hash.len || CRYPTO_memcmp(out.data, op->hash.data, out.len) != 0))
        st = PARSEC_PSA_ERROR_INVALID_SIGNATURE;
    if (st == PARSEC_SUCCESS)
        st = psd_pack(&res.base, resp);
    psd_buf_clear(&out);
    psa_hash_compare__operation__free_unpacked(op, NULL);
    return st;
}

/*
 * CanDoCrypto's Use check, as the reference's CanDoCrypto trait
 * (parsec src/providers/crypto_capability.rs, use_check): an algorithm, a
 * usage flag that runs it, a key type that can run it, then the backend.
 */
static parsec_status psd_can_use(const psd_request *rq, const parsec_key_attributes *a)
{
    const uint32_t op_flags = PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT | PARSEC_USAGE_SIGN_HASH |
                              PARSEC_USAGE_SIGN_MESSAGE | PARSEC_USAGE_VERIFY_HASH |
                              PARSEC_USAGE_VERIFY_MESSAGE;

    if (a->alg.kind == PARSEC_ALG_NONE || (a->usage & op_flags) == 0 ||
        !psd_alg_compatible(a, &a->alg))
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    return rq->prov->ops->check_attributes(rq->prov->state, a);
}

/* Generate and Import: the backend's check, then the Use check when an algorithm is set. */
static parsec_status psd_can_create(const psd_request *rq, const parsec_key_attributes *a,
                                    int import)
{
    parsec_status st;

    if (!import && psd_is_public_type(a->type))
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    st = psd_rsa_size_check(rq, NULL, a);
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->check_attributes(rq->prov->state, a);
    if (st == PARSEC_SUCCESS && a->alg.kind != PARSEC_ALG_NONE)
        st = psd_can_use(rq, a);
    return st;
}

static parsec_status psd_op_can_do_crypto(const psd_request *rq, psd_buf *resp)
{
    CanDoCrypto__Operation *op = can_do_crypto__operation__unpack(NULL, rq->body_len, rq->body);
    CanDoCrypto__Result res = CAN_DO_CRYPTO__RESULT__INIT;
    parsec_key_attributes attrs;
    parsec_status st, conv;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    conv = op->attributes != NULL ? parsec_pb_key_attributes_to_c(op->attributes, &attrs)
                                  : PARSEC_INVALID_ENCODING;
    if (op->check_type < CAN_DO_CRYPTO__CHECK_TYPE__USE ||
        op->check_type > CAN_DO_CRYPTO__CHECK_TYPE__DERIVE)
        conv = PARSEC_INVALID_ENCODING;
    st = conv == PARSEC_INVALID_ENCODING ? conv : psd_need_auth(rq);
    if (st == PARSEC_SUCCESS &&
        !psd_supports(rq->prov, rq->opcode, rq->prov->ops->check_attributes))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    /* An algorithm we cannot represent is one no backend runs. */
    if (st == PARSEC_SUCCESS && conv != PARSEC_SUCCESS)
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS) {
        switch (op->check_type) {
        case CAN_DO_CRYPTO__CHECK_TYPE__USE:
            st = psd_can_use(rq, &attrs);
            break;
        case CAN_DO_CRYPTO__CHECK_TYPE__GENERATE:
            st = psd_can_create(rq, &attrs, 0);
            break;
        case CAN_DO_CRYPTO__CHECK_TYPE__IMPORT:
            st = psd_can_create(rq, &attrs, 1);
            break;
        default: /* derivation is not offered, as in the reference */
            st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
            break;
        }
    }
    if (st == PARSEC_SUCCESS)
        st = psd_pack(&res.base, resp);
    can_do_crypto__operation__free_unpacked(op, NULL);
    return st;
}

/* ---- attestation (backends that implement it, e.g. the TPM) ---- */

static parsec_status psd_op_prepare_key_attestation(const psd_request *rq, psd_buf *resp)
{
    PrepareKeyAttestation__Operation *op =
        prepare_key_attestation__operation__unpack(NULL, rq->body_len, rq->body);
    PrepareKeyAttestation__Result res = PREPARE_KEY_ATTESTATION__RESULT__INIT;
    PrepareKeyAttestation__PrepareKeyAttestationOutput output =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_OUTPUT__INIT;
    PrepareKeyAttestation__PrepareKeyAttestationOutput__ActivateCredential ac =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_OUTPUT__ACTIVATE_CREDENTIAL__INIT;
    const PrepareKeyAttestation__PrepareKeyAttestationParams__ActivateCredential *in;
    psd_key_entry *attested = NULL, *attesting = NULL;
    psd_buf name = {0}, pub = {0}, attesting_pub = {0};
    parsec_status st = PARSEC_SUCCESS;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    if (op->parameters == NULL ||
        op->parameters->mechanism_case !=
            PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL ||
        op->parameters->activate_credential == NULL)
        st = PARSEC_INVALID_ENCODING;
    in = st == PARSEC_SUCCESS ? op->parameters->activate_credential : NULL;
    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS &&
        !psd_supports(rq->prov, rq->opcode, rq->prov->ops->prepare_key_attestation))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, in->attested_key_name, &attested);
    if (st == PARSEC_SUCCESS && in->attesting_key_name != NULL && in->attesting_key_name[0] != '\0')
        st = psd_lookup(rq, in->attesting_key_name, &attesting);
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->prepare_key_attestation(rq->prov->state, &attested->key,
                                                    attesting != NULL ? &attesting->key : NULL,
                                                    &name, &pub, &attesting_pub);
    if (st == PARSEC_SUCCESS) {
        ac.name.data = name.data;
        ac.name.len = name.len;
        ac.public_.data = pub.data;
        ac.public_.len = pub.len;
        ac.attesting_key_pub.data = attesting_pub.data;
        ac.attesting_key_pub.len = attesting_pub.len;
        output.mechanism_case =
            PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_OUTPUT__MECHANISM_ACTIVATE_CREDENTIAL;
        output.activate_credential = &ac;
        res.output = &output;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&name);
    psd_buf_clear(&pub);
    psd_buf_clear(&attesting_pub);
    psd_keystore_release(rq->svc->store, attested);
    psd_keystore_release(rq->svc->store, attesting);
    prepare_key_attestation__operation__free_unpacked(op, NULL);
    return st;
}

static parsec_status psd_op_attest_key(const psd_request *rq, psd_buf *resp)
{
    AttestKey__Operation *op = attest_key__operation__unpack(NULL, rq->body_len, rq->body);
    AttestKey__Result res = ATTEST_KEY__RESULT__INIT;
    AttestKey__AttestationOutput output = ATTEST_KEY__ATTESTATION_OUTPUT__INIT;
    AttestKey__AttestationOutput__ActivateCredential ac =
        ATTEST_KEY__ATTESTATION_OUTPUT__ACTIVATE_CREDENTIAL__INIT;
    const AttestKey__AttestationMechanismParams__ActivateCredential *in;
    psd_key_entry *attested = NULL, *attesting = NULL;
    psd_buf credential = {0};
    parsec_status st = PARSEC_SUCCESS;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    if (op->parameters == NULL ||
        op->parameters->mechanism_case !=
            ATTEST_KEY__ATTESTATION_MECHANISM_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL ||
        op->parameters->activate_credential == NULL)
        st = PARSEC_INVALID_ENCODING;
    in = st == PARSEC_SUCCESS ? op->parameters->activate_credential : NULL;
    if (st == PARSEC_SUCCESS)
        st = psd_need_auth(rq);
    if (st == PARSEC_SUCCESS && !psd_supports(rq->prov, rq->opcode, rq->prov->ops->attest_key))
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (st == PARSEC_SUCCESS)
        st = psd_lookup(rq, op->attested_key_name, &attested);
    if (st == PARSEC_SUCCESS && op->attesting_key_name != NULL && op->attesting_key_name[0] != '\0')
        st = psd_lookup(rq, op->attesting_key_name, &attesting);
    if (st == PARSEC_SUCCESS)
        st = rq->prov->ops->attest_key(rq->prov->state, &attested->key,
                                       attesting != NULL ? &attesting->key : NULL,
                                       in->credential_blob.data, in->credential_blob.len,
                                       in->secret.data, in->secret.len, &credential);
    if (st == PARSEC_SUCCESS) {
        ac.credential.data = credential.data;
        ac.credential.len = credential.len;
        output.mechanism_case = ATTEST_KEY__ATTESTATION_OUTPUT__MECHANISM_ACTIVATE_CREDENTIAL;
        output.activate_credential = &ac;
        res.output = &output;
        st = psd_pack(&res.base, resp);
    }
    psd_buf_clear(&credential);
    psd_keystore_release(rq->svc->store, attested);
    psd_keystore_release(rq->svc->store, attesting);
    if (in != NULL)
        OPENSSL_cleanse(in->secret.data, in->secret.len);
    attest_key__operation__free_unpacked(op, NULL);
    return st;
}

parsec_status psd_keys_dispatch(const psd_request *rq, psd_buf *resp)
{
    if (!psd_body_text_valid(rq))
        return PARSEC_DESERIALIZING_BODY_FAILED;
    switch (rq->opcode) {
    case PARSEC_OP_PSA_GENERATE_KEY:
        return psd_op_generate_key(rq, resp);
    case PARSEC_OP_PSA_IMPORT_KEY:
        return psd_op_import_key(rq, resp);
    case PARSEC_OP_PSA_EXPORT_PUBLIC_KEY:
        return psd_op_export_public_key(rq, resp);
    case PARSEC_OP_PSA_EXPORT_KEY:
        return psd_op_export_key(rq, resp);
    case PARSEC_OP_PSA_DESTROY_KEY:
        return psd_op_destroy_key(rq, resp);
    case PARSEC_OP_PSA_SIGN_HASH:
        return psd_op_sign_hash(rq, resp);
    case PARSEC_OP_PSA_VERIFY_HASH:
        return psd_op_verify_hash(rq, resp);
    case PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT:
        return psd_op_asymmetric_encrypt(rq, resp);
    case PARSEC_OP_PSA_ASYMMETRIC_DECRYPT:
        return psd_op_asymmetric_decrypt(rq, resp);
    case PARSEC_OP_PSA_RAW_KEY_AGREEMENT:
        return psd_op_raw_key_agreement(rq, resp);
    case PARSEC_OP_PSA_GENERATE_RANDOM:
        return psd_op_generate_random(rq, resp);
    case PARSEC_OP_PSA_HASH_COMPUTE:
        return psd_op_hash_compute(rq, resp);
    case PARSEC_OP_PSA_HASH_COMPARE:
        return psd_op_hash_compare(rq, resp);
    case PARSEC_OP_PSA_SIGN_MESSAGE:
        return psd_op_sign_message(rq, resp);
    case PARSEC_OP_PSA_VERIFY_MESSAGE:
        return psd_op_verify_message(rq, resp);
    case PARSEC_OP_PSA_AEAD_ENCRYPT:
        return psd_op_aead_encrypt(rq, resp);
    case PARSEC_OP_PSA_AEAD_DECRYPT:
        return psd_op_aead_decrypt(rq, resp);
    case PARSEC_OP_CAN_DO_CRYPTO:
        return psd_op_can_do_crypto(rq, resp);
    case PARSEC_OP_PREPARE_KEY_ATTESTATION:
        return psd_op_prepare_key_attestation(rq, resp);
    case PARSEC_OP_ATTEST_KEY:
        return psd_op_attest_key(rq, resp);
    case PARSEC_OP_PSA_CIPHER_ENCRYPT:
        return psd_op_cipher_encrypt(rq, resp);
    case PARSEC_OP_PSA_CIPHER_DECRYPT:
        return psd_op_cipher_decrypt(rq, resp);
    default:
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
}
