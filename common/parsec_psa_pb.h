/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Conversions between the protobuf-c messages (proto/) and the C types of
 * parsec_types.h. Shared by the client and the service so both sides agree
 * on every mandatory field and wildcard.
 *
 * *_to_c: validate as parsec-interface does. Missing mandatory sub-message,
 * unset oneof, or enum value 0/unknown -> PARSEC_INVALID_ENCODING; a valid
 * but unrepresented algorithm kind (MAC, KDF) ->
 * PARSEC_PSA_ERROR_NOT_SUPPORTED (the output is then still filled: alg.kind
 * set, scheme/hash 0; for key attributes type, bits and usage are valid); a
 * well-formed parameter out of its range (an AEAD tag shortened to 0 or more
 * than 16 bytes) -> PARSEC_PSA_ERROR_INVALID_ARGUMENT, as PSA reports it.
 *
 * *_from_c: build a message tree with malloc(); free it with the generated
 * <type>__free_unpacked(msg, NULL), or protobuf_c_message_free_unpacked(&msg->base,
 * NULL) for nested types. Returns NULL on allocation failure or
 * when the C value cannot be represented.
 */
#ifndef PARSEC_PSA_PB_H
#define PARSEC_PSA_PB_H

#include "parsec_types.h"
#include "psa_algorithm.pb-c.h"
#include "psa_key_attributes.pb-c.h"

parsec_status parsec_pb_key_attributes_to_c(const PsaKeyAttributes__KeyAttributes *pb,
                                            parsec_key_attributes *out);
PsaKeyAttributes__KeyAttributes *parsec_pb_key_attributes_from_c(const parsec_key_attributes *in);

/* Full Algorithm (a key policy). */
parsec_status parsec_pb_algorithm_to_c(const PsaAlgorithm__Algorithm *pb, parsec_alg *out);
PsaAlgorithm__Algorithm *parsec_pb_algorithm_from_c(const parsec_alg *in);

/* The nested types that operations carry directly. */
parsec_status parsec_pb_sign_alg_to_c(const PsaAlgorithm__Algorithm__AsymmetricSignature *pb,
                                      parsec_alg *out);
PsaAlgorithm__Algorithm__AsymmetricSignature *parsec_pb_sign_alg_from_c(const parsec_alg *in);

/*
 * Allocation-free variants for hot request paths: the message tree lives in
 * caller-provided storage (e.g. on the stack) and must not be freed.
 * Return NULL when the C value cannot be represented.
 */
typedef struct parsec_pb_sign_alg_storage {
    PsaAlgorithm__Algorithm__AsymmetricSignature sig;
    union {
        PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPkcs1v15Sign pkcs1;
        PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPkcs1v15SignRaw pkcs1_raw;
        PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPss pss;
        PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa ecdsa;
        PsaAlgorithm__Algorithm__AsymmetricSignature__EcdsaAny ecdsa_any;
        PsaAlgorithm__Algorithm__AsymmetricSignature__DeterministicEcdsa det_ecdsa;
    } scheme;
    PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash sign_hash;
    PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash__Any any;
} parsec_pb_sign_alg_storage;
PsaAlgorithm__Algorithm__AsymmetricSignature *
parsec_pb_sign_alg_fill(parsec_pb_sign_alg_storage *st, const parsec_alg *in);

typedef struct parsec_pb_encrypt_alg_storage {
    PsaAlgorithm__Algorithm__AsymmetricEncryption enc;
    PsaAlgorithm__Algorithm__AsymmetricEncryption__RsaPkcs1v15Crypt pkcs1;
    PsaAlgorithm__Algorithm__AsymmetricEncryption__RsaOaep oaep;
} parsec_pb_encrypt_alg_storage;
PsaAlgorithm__Algorithm__AsymmetricEncryption *
parsec_pb_encrypt_alg_fill(parsec_pb_encrypt_alg_storage *st, const parsec_alg *in);

parsec_status parsec_pb_encrypt_alg_to_c(const PsaAlgorithm__Algorithm__AsymmetricEncryption *pb,
                                         parsec_alg *out);
PsaAlgorithm__Algorithm__AsymmetricEncryption *parsec_pb_encrypt_alg_from_c(const parsec_alg *in);

/* Algorithm.Cipher enum (wire value, 0 rejected) <-> parsec_alg {CIPHER, scheme}; 0 if none. */
parsec_status parsec_pb_cipher_to_c(int pb_cipher, parsec_alg *out);
int parsec_pb_cipher_from_c(const parsec_alg *in);

/* Algorithm.Aead <-> parsec_alg {AEAD, parsec_aead_alg, shortened tag length or 0}. */
parsec_status parsec_pb_aead_alg_to_c(const PsaAlgorithm__Algorithm__Aead *pb, parsec_alg *out);
PsaAlgorithm__Algorithm__Aead *parsec_pb_aead_alg_from_c(const parsec_alg *in);
typedef struct parsec_pb_aead_alg_storage {
    PsaAlgorithm__Algorithm__Aead aead;
    PsaAlgorithm__Algorithm__Aead__AeadWithShortenedTag shortened;
} parsec_pb_aead_alg_storage;
PsaAlgorithm__Algorithm__Aead *parsec_pb_aead_alg_fill(parsec_pb_aead_alg_storage *st,
                                                       const parsec_alg *in);

/* KeyAgreement.Raw enum (wire value) <-> parsec_alg {KEY_AGREEMENT, scheme}. */
parsec_status parsec_pb_raw_ka_to_c(int pb_raw, parsec_alg *out);
int parsec_pb_raw_ka_from_c(const parsec_alg *in);

/* Algorithm.Hash enum (wire value, 0 rejected) <-> PARSEC_HASH_*. */
parsec_status parsec_pb_hash_to_c(int pb_hash, uint8_t *out);

#endif
