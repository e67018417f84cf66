/* SPDX-License-Identifier: Apache-2.0 */
/*
 * protobuf-c <-> C conversions of PSA key attributes and algorithms, with
 * the validation rules of parsec-interface (convert_psa_algorithm.rs,
 * convert_psa_key_attributes.rs): mandatory sub-messages, set oneofs, and
 * no enum value 0 except DhFamily.
 */
#include "parsec_psa_pb.h"

#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static int pb_hash_is_valid(uint32_t hash)
{
    return hash >= PARSEC_HASH_MD2 && hash <= PARSEC_HASH_SHA3_512;
}

static ProtobufCMessage *pb_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = malloc(desc->sizeof_message);
    if (m != NULL)
        protobuf_c_message_init(desc, m);
    return m;
}

/*
 * Sets a message-typed oneof member of `parent` to a new, empty message
 * (oneof case = field number). Empty variants are how most PSA types are
 * spelled, and going through the descriptor avoids naming deprecated
 * members such as KeyType.des.
 */
static ProtobufCMessage *pb_oneof_new(ProtobufCMessage *parent, unsigned field_number)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(parent->descriptor, field_number);
    ProtobufCMessage *child;

    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    child = pb_new(f->descriptor);
    if (child == NULL)
        return NULL;
    memcpy((char *)parent + f->offset, &child, sizeof(child));
    *(uint32_t *)((char *)parent + f->quantifier_offset) = field_number;
    return child;
}

parsec_status parsec_pb_hash_to_c(int pb_hash, uint8_t *out)
{
    if (pb_hash < 0 || !pb_hash_is_valid((uint32_t)pb_hash))
        return PARSEC_INVALID_ENCODING;
    *out = (uint8_t)pb_hash;
    return PARSEC_SUCCESS;
}

/* ---- AsymmetricSignature ---- */

static parsec_status
pb_sign_hash_to_c(const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh, uint8_t *out)
{
    if (sh == NULL)
        return PARSEC_INVALID_ENCODING;
    switch (sh->variant_case) {
    case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY:
        *out = PARSEC_HASH_ANY;
        return PARSEC_SUCCESS;
    case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC:
        return parsec_pb_hash_to_c(sh->specific, out);
    default:
        return PARSEC_INVALID_ENCODING;
    }
}

parsec_status parsec_pb_sign_alg_to_c(const PsaAlgorithm__Algorithm__AsymmetricSignature *pb,
                                      parsec_alg *out)
{
    const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh = NULL;
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, 0, 0};
    parsec_status st;

    if (pb == NULL)
        return PARSEC_INVALID_ENCODING;
    switch (pb->variant_case) {
    case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN:
        if (pb->rsa_pkcs1v15_sign == NULL)
            return PARSEC_INVALID_ENCODING;
        sh = pb->rsa_pkcs1v15_sign->hash_alg;
        break;
    case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS:
        if (pb->rsa_pss == NULL)
            return PARSEC_INVALID_ENCODING;
        sh = pb->rsa_pss->hash_alg;
        break;
    case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA:
        if (pb->ecdsa == NULL)
            return PARSEC_INVALID_ENCODING;
        sh = pb->ecdsa->hash_alg;
        break;
    case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_DETERMINISTIC_ECDSA:
        if (pb->deterministic_ecdsa == NULL)
            return PARSEC_INVALID_ENCODING;
        sh = pb->deterministic_ecdsa->hash_alg;
        break;
    case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN_RAW:
    case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA_ANY:
        alg.scheme = (uint8_t)pb->variant_case;
        *out = alg;
        return PARSEC_SUCCESS;
    default:
        return PARSEC_INVALID_ENCODING;
    }
    alg.scheme = (uint8_t)pb->variant_case;
    st = pb_sign_hash_to_c(sh, &alg.hash);
    if (st != PARSEC_SUCCESS)
        return st;
    *out = alg;
    return PARSEC_SUCCESS;
}

static int sign_scheme_has_hash(uint8_t scheme)
{
    return scheme == PARSEC_SIGN_RSA_PKCS1V15 || scheme == PARSEC_SIGN_RSA_PSS ||
           scheme == PARSEC_SIGN_ECDSA || scheme == PARSEC_SIGN_DETERMINISTIC_ECDSA;
}

static int sign_alg_is_representable(const parsec_alg *in)
{
    if (in == NULL || in->kind != PARSEC_ALG_ASYMMETRIC_SIGNATURE)
        return 0;
    if (sign_scheme_has_hash(in->scheme))
        return in->hash == PARSEC_HASH_ANY || pb_hash_is_valid(in->hash);
    return in->scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW || in->scheme == PARSEC_SIGN_ECDSA_ANY;
}

PsaAlgorithm__Algorithm__AsymmetricSignature *
parsec_pb_sign_alg_fill(parsec_pb_sign_alg_storage *st, const parsec_alg *in)
{
    PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh = &st->sign_hash;

    if (!sign_alg_is_representable(in))
        return NULL;
    psa_algorithm__algorithm__asymmetric_signature__init(&st->sig);
    psa_algorithm__algorithm__asymmetric_signature__sign_hash__init(sh);
    psa_algorithm__algorithm__asymmetric_signature__sign_hash__any__init(&st->any);
    if (in->hash == PARSEC_HASH_ANY) {
        sh->variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY;
        sh->any = &st->any;
    } else {
        sh->variant_case =
            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
        sh->specific = (PsaAlgorithm__Algorithm__Hash)in->hash;
    }
    st->sig.variant_case = (PsaAlgorithm__Algorithm__AsymmetricSignature__VariantCase)in->scheme;
    switch (in->scheme) {
    case PARSEC_SIGN_RSA_PKCS1V15:
        psa_algorithm__algorithm__asymmetric_signature__rsa_pkcs1v15_sign__init(&st->scheme.pkcs1);
        st->scheme.pkcs1.hash_alg = sh;
        st->sig.rsa_pkcs1v15_sign = &st->scheme.pkcs1;
        break;
    case PARSEC_SIGN_RSA_PKCS1V15_RAW:
        psa_algorithm__algorithm__asymmetric_signature__rsa_pkcs1v15_sign_raw__init(
            &st->scheme.pkcs1_raw);
        st->sig.rsa_pkcs1v15_sign_raw = &st->scheme.pkcs1_raw;
        break;
    case PARSEC_SIGN_RSA_PSS:
        psa_algorithm__algorithm__asymmetric_signature__rsa_pss__init(&st->scheme.pss);
        st->scheme.pss.hash_alg = sh;
        st->sig.rsa_pss = &st->scheme.pss;
        break;
    case PARSEC_SIGN_ECDSA:
        psa_algorithm__algorithm__asymmetric_signature__ecdsa__init(&st->scheme.ecdsa);
        st->scheme.ecdsa.hash_alg = sh;
        st->sig.ecdsa = &st->scheme.ecdsa;
        break;
    case PARSEC_SIGN_ECDSA_ANY:
        psa_algorithm__algorithm__asymmetric_signature__ecdsa_any__init(&st->scheme.ecdsa_any);
        st->sig.ecdsa_any = &st->scheme.ecdsa_any;
        break;
    case PARSEC_SIGN_DETERMINISTIC_ECDSA:
        psa_algorithm__algorithm__asymmetric_signature__deterministic_ecdsa__init(
            &st->scheme.det_ecdsa);
        st->scheme.det_ecdsa.hash_alg = sh;
        st->sig.deterministic_ecdsa = &st->scheme.det_ecdsa;
        break;
    default:
        return NULL;
    }
    return &st->sig;
}

PsaAlgorithm__Algorithm__AsymmetricSignature *parsec_pb_sign_alg_from_c(const parsec_alg *in)
{
    PsaAlgorithm__Algorithm__AsymmetricSignature *sig = NULL;
    ProtobufCMessage *scheme;
    PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh;

    if (!sign_alg_is_representable(in))
        return NULL;
    sig = (PsaAlgorithm__Algorithm__AsymmetricSignature *)pb_new(
        &psa_algorithm__algorithm__asymmetric_signature__descriptor);
    if (sig == NULL)
        goto fail;
    scheme = pb_oneof_new(&sig->base, in->scheme);
    if (scheme == NULL)
        goto fail;
    if (!sign_scheme_has_hash(in->scheme))
        return sig;
    sh = (PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *)pb_new(
        &psa_algorithm__algorithm__asymmetric_signature__sign_hash__descriptor);
    if (sh == NULL)
        goto fail;
    /* Every hash-carrying scheme has hash_alg as field 1. */
    switch (in->scheme) {
    case PARSEC_SIGN_RSA_PKCS1V15:
        sig->rsa_pkcs1v15_sign->hash_alg = sh;
        break;
    case PARSEC_SIGN_RSA_PSS:
        sig->rsa_pss->hash_alg = sh;
        break;
    case PARSEC_SIGN_ECDSA:
        sig->ecdsa->hash_alg = sh;
        break;
    default:
        sig->deterministic_ecdsa->hash_alg = sh;
        break;
    }
    if (in->hash == PARSEC_HASH_ANY) {
        if (pb_oneof_new(&sh->base,
                         PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_ANY) ==
            NULL)
            goto fail;
    } else {
        sh->variant_case =
            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
        sh->specific = (PsaAlgorithm__Algorithm__Hash)in->hash;
    }
    return sig;
fail:
    if (sig != NULL)
        protobuf_c_message_free_unpacked(&sig->base, NULL);
    return NULL;
}

/* ---- AsymmetricEncryption ---- */

parsec_status parsec_pb_encrypt_alg_to_c(const PsaAlgorithm__Algorithm__AsymmetricEncryption *pb,
                                         parsec_alg *out)
{
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, 0, 0};
    parsec_status st;

    if (pb == NULL)
        return PARSEC_INVALID_ENCODING;
    switch (pb->variant_case) {
    case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_PKCS1V15_CRYPT:
        alg.scheme = PARSEC_ENCRYPT_RSA_PKCS1V15;
        break;
    case PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP:
        if (pb->rsa_oaep == NULL)
            return PARSEC_INVALID_ENCODING;
        alg.scheme = PARSEC_ENCRYPT_RSA_OAEP;
        st = parsec_pb_hash_to_c(pb->rsa_oaep->hash_alg, &alg.hash);
        if (st != PARSEC_SUCCESS)
            return st;
        break;
    default:
        return PARSEC_INVALID_ENCODING;
    }
    *out = alg;
    return PARSEC_SUCCESS;
}

static int encrypt_alg_is_representable(const parsec_alg *in)
{
    if (in == NULL || in->kind != PARSEC_ALG_ASYMMETRIC_ENCRYPTION)
        return 0;
    if (in->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15)
        return 1;
    return in->scheme == PARSEC_ENCRYPT_RSA_OAEP && pb_hash_is_valid(in->hash);
}

PsaAlgorithm__Algorithm__AsymmetricEncryption *
parsec_pb_encrypt_alg_fill(parsec_pb_encrypt_alg_storage *st, const parsec_alg *in)
{
    if (!encrypt_alg_is_representable(in))
        return NULL;
    psa_algorithm__algorithm__asymmetric_encryption__init(&st->enc);
    if (in->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15) {
        psa_algorithm__algorithm__asymmetric_encryption__rsa_pkcs1v15_crypt__init(&st->pkcs1);
        st->enc.variant_case =
            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_PKCS1V15_CRYPT;
        st->enc.rsa_pkcs1v15_crypt = &st->pkcs1;
    } else {
        psa_algorithm__algorithm__asymmetric_encryption__rsa_oaep__init(&st->oaep);
        st->oaep.hash_alg = (PsaAlgorithm__Algorithm__Hash)in->hash;
        st->enc.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP;
        st->enc.rsa_oaep = &st->oaep;
    }
    return &st->enc;
}

PsaAlgorithm__Algorithm__AsymmetricEncryption *parsec_pb_encrypt_alg_from_c(const parsec_alg *in)
{
    PsaAlgorithm__Algorithm__AsymmetricEncryption *enc;
    ProtobufCMessage *scheme;

    if (!encrypt_alg_is_representable(in))
        return NULL;
    enc = (PsaAlgorithm__Algorithm__AsymmetricEncryption *)pb_new(
        &psa_algorithm__algorithm__asymmetric_encryption__descriptor);
    if (enc == NULL)
        return NULL;
    scheme = pb_oneof_new(&enc->base, in->scheme);
    if (scheme == NULL) {
        protobuf_c_message_free_unpacked(&enc->base, NULL);
        return NULL;
    }
    if (in->scheme == PARSEC_ENCRYPT_RSA_OAEP)
        enc->rsa_oaep->hash_alg = (PsaAlgorithm__Algorithm__Hash)in->hash;
    return enc;
}

/* ---- Cipher ---- */

parsec_status parsec_pb_cipher_to_c(int pb_cipher, parsec_alg *out)
{
    if (pb_cipher < PARSEC_CIPHER_STREAM || pb_cipher > PARSEC_CIPHER_CBC_PKCS7)
        return PARSEC_INVALID_ENCODING;
    out->kind = PARSEC_ALG_CIPHER;
    out->scheme = (uint8_t)pb_cipher;
    out->hash = 0;
    return PARSEC_SUCCESS;
}

int parsec_pb_cipher_from_c(const parsec_alg *in)
{
    if (in == NULL || in->kind != PARSEC_ALG_CIPHER || in->scheme < PARSEC_CIPHER_STREAM ||
        in->scheme > PARSEC_CIPHER_CBC_PKCS7)
        return 0;
    return in->scheme;
}

/* ---- Aead ---- */

static int pb_aead_alg_is_valid(int v)
{
    return v >= PARSEC_AEAD_CCM && v <= PARSEC_AEAD_CHACHA20_POLY1305;
}

parsec_status parsec_pb_aead_alg_to_c(const PsaAlgorithm__Algorithm__Aead *pb, parsec_alg *out)
{
    parsec_alg alg = {PARSEC_ALG_AEAD, 0, 0};

    if (pb == NULL)
        return PARSEC_INVALID_ENCODING;
    switch (pb->variant_case) {
    case PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG:
        if (!pb_aead_alg_is_valid((int)pb->aead_with_default_length_tag))
            return PARSEC_INVALID_ENCODING;
        alg.scheme = (uint8_t)pb->aead_with_default_length_tag;
        break;
    case PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG:
        if (pb->aead_with_shortened_tag == NULL ||
            !pb_aead_alg_is_valid((int)pb->aead_with_shortened_tag->aead_alg))
            return PARSEC_INVALID_ENCODING;
        /* PSA tags are at most 16 bytes; 0 would read as "the default tag". */
        if (pb->aead_with_shortened_tag->tag_length == 0 ||
            pb->aead_with_shortened_tag->tag_length > PARSEC_AEAD_DEFAULT_TAG_LEN)
            return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        alg.scheme = (uint8_t)pb->aead_with_shortened_tag->aead_alg;
        alg.hash = (uint8_t)pb->aead_with_shortened_tag->tag_length;
        break;
    default:
        return PARSEC_INVALID_ENCODING;
    }
    *out = alg;
    return PARSEC_SUCCESS;
}

static int aead_alg_is_representable(const parsec_alg *in)
{
    return in != NULL && in->kind == PARSEC_ALG_AEAD && pb_aead_alg_is_valid(in->scheme) &&
           in->hash <= PARSEC_AEAD_DEFAULT_TAG_LEN;
}

PsaAlgorithm__Algorithm__Aead *parsec_pb_aead_alg_fill(parsec_pb_aead_alg_storage *st,
                                                       const parsec_alg *in)
{
    if (!aead_alg_is_representable(in))
        return NULL;
    psa_algorithm__algorithm__aead__init(&st->aead);
    psa_algorithm__algorithm__aead__aead_with_shortened_tag__init(&st->shortened);
    if (in->hash == 0) {
        st->aead.variant_case =
            PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG;
        st->aead.aead_with_default_length_tag =
            (PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag)in->scheme;
    } else {
        st->shortened.aead_alg =
            (PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag)in->scheme;
        st->shortened.tag_length = in->hash;
        st->aead.variant_case = PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG;
        st->aead.aead_with_shortened_tag = &st->shortened;
    }
    return &st->aead;
}

PsaAlgorithm__Algorithm__Aead *parsec_pb_aead_alg_from_c(const parsec_alg *in)
{
    PsaAlgorithm__Algorithm__Aead *aead;
    PsaAlgorithm__Algorithm__Aead__AeadWithShortenedTag *sh;

    if (!aead_alg_is_representable(in))
        return NULL;
    aead = (PsaAlgorithm__Algorithm__Aead *)pb_new(&psa_algorithm__algorithm__aead__descriptor);
    if (aead == NULL)
        return NULL;
    if (in->hash == 0) {
        aead->variant_case = PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG;
        aead->aead_with_default_length_tag =
            (PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag)in->scheme;
        return aead;
    }
    sh = (PsaAlgorithm__Algorithm__Aead__AeadWithShortenedTag *)pb_oneof_new(
        &aead->base, PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG);
    if (sh == NULL) {
        protobuf_c_message_free_unpacked(&aead->base, NULL);
        return NULL;
    }
    sh->aead_alg = (PsaAlgorithm__Algorithm__Aead__AeadWithDefaultLengthTag)in->scheme;
    sh->tag_length = in->hash;
    return aead;
}

/* ---- KeyAgreement.Raw ---- */

parsec_status parsec_pb_raw_ka_to_c(int pb_raw, parsec_alg *out)
{
    if (pb_raw != PARSEC_KA_FFDH && pb_raw != PARSEC_KA_ECDH)
        return PARSEC_INVALID_ENCODING;
    out->kind = PARSEC_ALG_KEY_AGREEMENT;
    out->scheme = (uint8_t)pb_raw;
    out->hash = 0;
    return PARSEC_SUCCESS;
}

int parsec_pb_raw_ka_from_c(const parsec_alg *in)
{
    if (in == NULL || in->kind != PARSEC_ALG_KEY_AGREEMENT)
        return 0;
    if (in->scheme != PARSEC_KA_FFDH && in->scheme != PARSEC_KA_ECDH)
        return 0;
    return in->scheme;
}

/* ---- full Algorithm ---- */

parsec_status parsec_pb_algorithm_to_c(const PsaAlgorithm__Algorithm *pb, parsec_alg *out)
{
    parsec_alg alg = {0, 0, 0};
    parsec_status st = PARSEC_SUCCESS;

    if (pb == NULL)
        return PARSEC_INVALID_ENCODING;
    switch (pb->variant_case) {
    case PSA_ALGORITHM__ALGORITHM__VARIANT_NONE:
        alg.kind = PARSEC_ALG_NONE;
        break;
    case PSA_ALGORITHM__ALGORITHM__VARIANT_HASH:
        alg.kind = PARSEC_ALG_HASH;
        st = parsec_pb_hash_to_c(pb->hash, &alg.hash);
        break;
    case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE:
        st = parsec_pb_sign_alg_to_c(pb->asymmetric_signature, &alg);
        break;
    case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION:
        st = parsec_pb_encrypt_alg_to_c(pb->asymmetric_encryption, &alg);
        break;
    case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT:
        if (pb->key_agreement == NULL)
            return PARSEC_INVALID_ENCODING;
        if (pb->key_agreement->variant_case ==
            PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW) {
            st = parsec_pb_raw_ka_to_c(pb->key_agreement->raw, &alg);
        } else if (pb->key_agreement->variant_case ==
                   PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_WITH_KEY_DERIVATION) {
            alg.kind = PARSEC_ALG_KEY_AGREEMENT;
            st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        } else {
            return PARSEC_INVALID_ENCODING;
        }
        break;
    case PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER:
        st = parsec_pb_cipher_to_c((int)pb->cipher, &alg);
        if (st != PARSEC_SUCCESS)
            return st;
        break;
    case PSA_ALGORITHM__ALGORITHM__VARIANT_MAC:
        if (pb->mac == NULL || pb->mac->variant_case == 0)
            return PARSEC_INVALID_ENCODING;
        alg.kind = PARSEC_ALG_MAC;
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        break;
    case PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD:
        st = parsec_pb_aead_alg_to_c(pb->aead, &alg);
        if (st == PARSEC_INVALID_ENCODING)
            return st;
        break;
    case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_DERIVATION:
        if (pb->key_derivation == NULL || pb->key_derivation->variant_case == 0)
            return PARSEC_INVALID_ENCODING;
        alg.kind = PARSEC_ALG_KEY_DERIVATION;
        st = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        break;
    default:
        return PARSEC_INVALID_ENCODING;
    }
    /* NOT_SUPPORTED still reports the kind, so a key listing can show it. */
    if (st == PARSEC_SUCCESS || st == PARSEC_PSA_ERROR_NOT_SUPPORTED)
        *out = alg;
    return st;
}

PsaAlgorithm__Algorithm *parsec_pb_algorithm_from_c(const parsec_alg *in)
{
    PsaAlgorithm__Algorithm *alg;

    if (in == NULL)
        return NULL;
    alg = (PsaAlgorithm__Algorithm *)pb_new(&psa_algorithm__algorithm__descriptor);
    if (alg == NULL)
        return NULL;
    switch (in->kind) {
    case PARSEC_ALG_NONE:
        if (pb_oneof_new(&alg->base, PSA_ALGORITHM__ALGORITHM__VARIANT_NONE) == NULL)
            goto fail;
        break;
    case PARSEC_ALG_HASH:
        if (!pb_hash_is_valid(in->hash))
            goto fail;
        alg->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_HASH;
        alg->hash = (PsaAlgorithm__Algorithm__Hash)in->hash;
        break;
    case PARSEC_ALG_ASYMMETRIC_SIGNATURE:
        alg->asymmetric_signature = parsec_pb_sign_alg_from_c(in);
        if (alg->asymmetric_signature == NULL)
            goto fail;
        alg->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE;
        break;
    case PARSEC_ALG_ASYMMETRIC_ENCRYPTION:
        alg->asymmetric_encryption = parsec_pb_encrypt_alg_from_c(in);
        if (alg->asymmetric_encryption == NULL)
            goto fail;
        alg->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION;
        break;
    case PARSEC_ALG_CIPHER:
        if (parsec_pb_cipher_from_c(in) == 0)
            goto fail;
        alg->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER;
        alg->cipher = (PsaAlgorithm__Algorithm__Cipher)in->scheme;
        break;
    case PARSEC_ALG_AEAD:
        alg->aead = parsec_pb_aead_alg_from_c(in);
        if (alg->aead == NULL)
            goto fail;
        alg->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD;
        break;
    case PARSEC_ALG_KEY_AGREEMENT: {
        int raw = parsec_pb_raw_ka_from_c(in);
        if (raw == 0)
            goto fail;
        if (pb_oneof_new(&alg->base, PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT) == NULL)
            goto fail;
        alg->key_agreement->variant_case = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW;
        alg->key_agreement->raw = (PsaAlgorithm__Algorithm__KeyAgreement__Raw)raw;
        break;
    }
    default:
        goto fail;
    }
    return alg;
fail:
    psa_algorithm__algorithm__free_unpacked(alg, NULL);
    return NULL;
}

/* ---- KeyAttributes ---- */

parsec_status parsec_pb_key_attributes_to_c(const PsaKeyAttributes__KeyAttributes *pb,
                                            parsec_key_attributes *out)
{
    const PsaKeyAttributes__KeyType *kt;
    const PsaKeyAttributes__KeyPolicy *pol;
    const PsaKeyAttributes__UsageFlags *u;
    parsec_key_attributes a;
    parsec_status st;

    if (pb == NULL || pb->key_type == NULL || pb->key_policy == NULL)
        return PARSEC_INVALID_ENCODING;
    kt = pb->key_type;
    pol = pb->key_policy;
    if (pol->key_usage_flags == NULL || pol->key_algorithm == NULL)
        return PARSEC_INVALID_ENCODING;
    memset(&a, 0, sizeof(a));
    switch (kt->variant_case) {
    case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR:
    case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY: {
        int family = kt->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR
                         ? (kt->ecc_key_pair ? (int)kt->ecc_key_pair->curve_family : -1)
                         : (kt->ecc_public_key ? (int)kt->ecc_public_key->curve_family : -1);
        if (family <= PARSEC_ECC_FAMILY_NONE || family > PARSEC_ECC_FAMILY_MONTGOMERY)
            return PARSEC_INVALID_ENCODING;
        a.ecc_family = (uint8_t)family;
        break;
    }
    case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_KEY_PAIR:
    case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_PUBLIC_KEY: {
        /* DhFamily has no NONE: 0 is RFC 7919, the only value. */
        int family = kt->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_KEY_PAIR
                         ? (kt->dh_key_pair ? (int)kt->dh_key_pair->group_family : -1)
                         : (kt->dh_public_key ? (int)kt->dh_public_key->group_family : -1);
        if (family != PSA_KEY_ATTRIBUTES__KEY_TYPE__DH_FAMILY__RFC7919)
            return PARSEC_INVALID_ENCODING;
        break;
    }
    case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT__NOT_SET:
        return PARSEC_INVALID_ENCODING;
    default:
        if (kt->variant_case > PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_DH_PUBLIC_KEY)
            return PARSEC_INVALID_ENCODING;
        break;
    }
    a.type = (uint8_t)kt->variant_case;
    a.bits = pb->key_bits;
    u = pol->key_usage_flags;
    a.usage = (u->export ? PARSEC_USAGE_EXPORT : 0) | (u->copy ? PARSEC_USAGE_COPY : 0) |
              (u->cache ? PARSEC_USAGE_CACHE : 0) | (u->encrypt ? PARSEC_USAGE_ENCRYPT : 0) |
              (u->decrypt ? PARSEC_USAGE_DECRYPT : 0) |
              (u->sign_message ? PARSEC_USAGE_SIGN_MESSAGE : 0) |
              (u->verify_message ? PARSEC_USAGE_VERIFY_MESSAGE : 0) |
              (u->sign_hash ? PARSEC_USAGE_SIGN_HASH : 0) |
              (u->verify_hash ? PARSEC_USAGE_VERIFY_HASH : 0) |
              (u->derive ? PARSEC_USAGE_DERIVE : 0);
    /* PSA Crypto API 1.0.1, PSA_KEY_USAGE_SIGN_HASH/VERIFY_HASH: they imply the message flags. */
    if (a.usage & PARSEC_USAGE_SIGN_HASH)
        a.usage |= PARSEC_USAGE_SIGN_MESSAGE;
    if (a.usage & PARSEC_USAGE_VERIFY_HASH)
        a.usage |= PARSEC_USAGE_VERIFY_MESSAGE;
    st = parsec_pb_algorithm_to_c(pol->key_algorithm, &a.alg);
    if (st != PARSEC_SUCCESS && st != PARSEC_PSA_ERROR_NOT_SUPPORTED)
        return st;
    /* Unrepresented policy algorithms still yield type, bits and usage. */
    *out = a;
    return st;
}

PsaKeyAttributes__KeyAttributes *parsec_pb_key_attributes_from_c(const parsec_key_attributes *in)
{
    PsaKeyAttributes__KeyAttributes *ka = NULL;
    PsaKeyAttributes__KeyType *kt;
    PsaKeyAttributes__KeyPolicy *pol;
    PsaKeyAttributes__UsageFlags *u;
    ProtobufCMessage *variant;

    if (in == NULL || in->type == PARSEC_KEY_TYPE_NONE || in->type > PARSEC_KEY_TYPE_DH_PUBLIC_KEY)
        return NULL;
    if ((in->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR || in->type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY) &&
        (in->ecc_family == PARSEC_ECC_FAMILY_NONE || in->ecc_family > PARSEC_ECC_FAMILY_MONTGOMERY))
        return NULL;
    ka = (PsaKeyAttributes__KeyAttributes *)pb_new(&psa_key_attributes__key_attributes__descriptor);
    if (ka == NULL)
        return NULL;
    ka->key_bits = in->bits;
    kt = (PsaKeyAttributes__KeyType *)pb_new(&psa_key_attributes__key_type__descriptor);
    if (kt == NULL)
        goto fail;
    ka->key_type = kt;
    variant = pb_oneof_new(&kt->base, in->type);
    if (variant == NULL)
        goto fail;
    if (in->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR)
        kt->ecc_key_pair->curve_family = (PsaKeyAttributes__KeyType__EccFamily)in->ecc_family;
    else if (in->type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY)
        kt->ecc_public_key->curve_family = (PsaKeyAttributes__KeyType__EccFamily)in->ecc_family;

    pol = (PsaKeyAttributes__KeyPolicy *)pb_new(&psa_key_attributes__key_policy__descriptor);
    if (pol == NULL)
        goto fail;
    ka->key_policy = pol;
    /* Always present, even when every flag is false: the reference requires it. */
    u = (PsaKeyAttributes__UsageFlags *)pb_new(&psa_key_attributes__usage_flags__descriptor);
    if (u == NULL)
        goto fail;
    pol->key_usage_flags = u;
    u->export = !!(in->usage & PARSEC_USAGE_EXPORT);
    u->copy = !!(in->usage & PARSEC_USAGE_COPY);
    u->cache = !!(in->usage & PARSEC_USAGE_CACHE);
    u->encrypt = !!(in->usage & PARSEC_USAGE_ENCRYPT);
    u->decrypt = !!(in->usage & PARSEC_USAGE_DECRYPT);
    u->sign_message = !!(in->usage & PARSEC_USAGE_SIGN_MESSAGE);
    u->verify_message = !!(in->usage & PARSEC_USAGE_VERIFY_MESSAGE);
    u->sign_hash = !!(in->usage & PARSEC_USAGE_SIGN_HASH);
    u->verify_hash = !!(in->usage & PARSEC_USAGE_VERIFY_HASH);
    u->derive = !!(in->usage & PARSEC_USAGE_DERIVE);
    pol->key_algorithm = parsec_pb_algorithm_from_c(&in->alg);
    if (pol->key_algorithm == NULL)
        goto fail;
    return ka;
fail:
    psa_key_attributes__key_attributes__free_unpacked(ka, NULL);
    return NULL;
}
