/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key management and cryptographic operations, sent to a crypto provider.
 * Algorithms of hot-path operations are encoded from stack storage.
 */
#include <stdlib.h>
#include <string.h>

#include "can_do_crypto.pb-c.h"
#include "parsec_client_internal.h"
#include "parsec_psa_pb.h"
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

static ProtobufCBinaryData parsec_bytes(const uint8_t *p, size_t len)
{
    ProtobufCBinaryData b;
    b.len = len;
    b.data = (uint8_t *)p; /* protobuf-c only reads it when packing */
    return b;
}

/* Resolves the provider and rejects NULL key names in one place. */
static parsec_status parsec_prepare(const parsec_client *c, uint8_t *provider, const char *name)
{
    if (c == NULL || name == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *provider = parsec_provider_resolve(c, *provider);
    return *provider == PARSEC_PROVIDER_DEFAULT ? PARSEC_CLIENT_ERROR_NO_PROVIDER : PARSEC_SUCCESS;
}

parsec_status parsec_generate_key(parsec_client *c, uint8_t provider, const char *name,
                                  const parsec_key_attributes *attrs)
{
    PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    op.key_name = (char *)name;
    op.attributes = parsec_pb_key_attributes_from_c(attrs);
    if (op.attributes == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    st = parsec_call(c, provider, PARSEC_OP_PSA_GENERATE_KEY, &op.base, 0, NULL, NULL);
    psa_key_attributes__key_attributes__free_unpacked(op.attributes, NULL);
    return st;
}

parsec_status parsec_import_key(parsec_client *c, uint8_t provider, const char *name,
                                const parsec_key_attributes *attrs, const uint8_t *data, size_t len)
{
    PsaImportKey__Operation op = PSA_IMPORT_KEY__OPERATION__INIT;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (data == NULL && len > 0)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.key_name = (char *)name;
    op.data = parsec_bytes(data, len);
    op.attributes = parsec_pb_key_attributes_from_c(attrs);
    if (op.attributes == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    /* The encoded body holds the private key: cleansed after sending. */
    st = parsec_call(c, provider, PARSEC_OP_PSA_IMPORT_KEY, &op.base, PARSEC_CALL_SECRET_REQUEST,
                     NULL, NULL);
    psa_key_attributes__key_attributes__free_unpacked(op.attributes, NULL);
    return st;
}

parsec_status parsec_export_public_key(parsec_client *c, uint8_t provider, const char *name,
                                       uint8_t **out, size_t *outlen)
{
    PsaExportPublicKey__Operation op = PSA_EXPORT_PUBLIC_KEY__OPERATION__INIT;
    parsec_resp resp;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (out == NULL || outlen == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.key_name = (char *)name;
    st = parsec_call(c, provider, PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, &op.base, 0,
                     &psa_export_public_key__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaExportPublicKey__Result *)resp.msg)->data, out,
                                  outlen);
}

parsec_status parsec_export_key(parsec_client *c, uint8_t provider, const char *name, uint8_t **out,
                                size_t *outlen)
{
    PsaExportKey__Operation op = PSA_EXPORT_KEY__OPERATION__INIT;
    parsec_resp resp;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (out == NULL || outlen == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.key_name = (char *)name;
    st = parsec_call(c, provider, PARSEC_OP_PSA_EXPORT_KEY, &op.base, PARSEC_CALL_SECRET_RESPONSE,
                     &psa_export_key__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaExportKey__Result *)resp.msg)->data, out, outlen);
}

parsec_status parsec_destroy_key(parsec_client *c, uint8_t provider, const char *name)
{
    PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    op.key_name = (char *)name;
    return parsec_call(c, provider, PARSEC_OP_PSA_DESTROY_KEY, &op.base, 0, NULL, NULL);
}

parsec_status parsec_sign_hash(parsec_client *c, uint8_t provider, const char *name,
                               const parsec_alg *alg, const uint8_t *hash, size_t hashlen,
                               uint8_t **sig, size_t *siglen)
{
    PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
    parsec_pb_sign_alg_storage alg_storage;
    parsec_resp resp;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (sig == NULL || siglen == NULL || (hash == NULL && hashlen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.key_name = (char *)name;
    op.alg = parsec_pb_sign_alg_fill(&alg_storage, alg);
    if (op.alg == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.hash = parsec_bytes(hash, hashlen);
    st = parsec_call(c, provider, PARSEC_OP_PSA_SIGN_HASH, &op.base, 0,
                     &psa_sign_hash__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaSignHash__Result *)resp.msg)->signature, sig,
                                  siglen);
}

parsec_status parsec_verify_hash(parsec_client *c, uint8_t provider, const char *name,
                                 const parsec_alg *alg, const uint8_t *hash, size_t hashlen,
                                 const uint8_t *sig, size_t siglen)
{
    PsaVerifyHash__Operation op = PSA_VERIFY_HASH__OPERATION__INIT;
    parsec_pb_sign_alg_storage alg_storage;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if ((hash == NULL && hashlen > 0) || (sig == NULL && siglen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.key_name = (char *)name;
    op.alg = parsec_pb_sign_alg_fill(&alg_storage, alg);
    if (op.alg == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.hash = parsec_bytes(hash, hashlen);
    op.signature = parsec_bytes(sig, siglen);
    return parsec_call(c, provider, PARSEC_OP_PSA_VERIFY_HASH, &op.base, 0, NULL, NULL);
}

parsec_status parsec_asymmetric_encrypt(parsec_client *c, uint8_t provider, const char *name,
                                        const parsec_alg *alg, const uint8_t *in, size_t inlen,
                                        const uint8_t *salt, size_t saltlen, uint8_t **out,
                                        size_t *outlen)
{
    PsaAsymmetricEncrypt__Operation op = PSA_ASYMMETRIC_ENCRYPT__OPERATION__INIT;
    parsec_pb_encrypt_alg_storage alg_storage;
    parsec_resp resp;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (out == NULL || outlen == NULL || (in == NULL && inlen > 0) || (salt == NULL && saltlen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.key_name = (char *)name;
    op.alg = parsec_pb_encrypt_alg_fill(&alg_storage, alg);
    if (op.alg == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.plaintext = parsec_bytes(in, inlen);
    op.salt = parsec_bytes(salt, saltlen);
    st =
        parsec_call(c, provider, PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT, &op.base,
                    PARSEC_CALL_SECRET_REQUEST, &psa_asymmetric_encrypt__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaAsymmetricEncrypt__Result *)resp.msg)->ciphertext,
                                  out, outlen);
}

parsec_status parsec_asymmetric_decrypt(parsec_client *c, uint8_t provider, const char *name,
                                        const parsec_alg *alg, const uint8_t *in, size_t inlen,
                                        const uint8_t *salt, size_t saltlen, uint8_t **out,
                                        size_t *outlen)
{
    PsaAsymmetricDecrypt__Operation op = PSA_ASYMMETRIC_DECRYPT__OPERATION__INIT;
    parsec_pb_encrypt_alg_storage alg_storage;
    parsec_resp resp;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (out == NULL || outlen == NULL || (in == NULL && inlen > 0) || (salt == NULL && saltlen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.key_name = (char *)name;
    op.alg = parsec_pb_encrypt_alg_fill(&alg_storage, alg);
    if (op.alg == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.ciphertext = parsec_bytes(in, inlen);
    op.salt = parsec_bytes(salt, saltlen);
    st = parsec_call(c, provider, PARSEC_OP_PSA_ASYMMETRIC_DECRYPT, &op.base,
                     PARSEC_CALL_SECRET_RESPONSE, &psa_asymmetric_decrypt__result__descriptor,
                     &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaAsymmetricDecrypt__Result *)resp.msg)->plaintext,
                                  out, outlen);
}

parsec_status parsec_raw_key_agreement(parsec_client *c, uint8_t provider, const parsec_alg *alg,
                                       const char *private_key_name, const uint8_t *peer,
                                       size_t peerlen, uint8_t **out, size_t *outlen)
{
    PsaRawKeyAgreement__Operation op = PSA_RAW_KEY_AGREEMENT__OPERATION__INIT;
    parsec_resp resp;
    int raw;
    parsec_status st = parsec_prepare(c, &provider, private_key_name);

    if (st != PARSEC_SUCCESS)
        return st;
    raw = parsec_pb_raw_ka_from_c(alg);
    if (raw == 0 || out == NULL || outlen == NULL || (peer == NULL && peerlen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.alg = (PsaAlgorithm__Algorithm__KeyAgreement__Raw)raw;
    op.private_key_name = (char *)private_key_name;
    op.peer_key = parsec_bytes(peer, peerlen);
    st =
        parsec_call(c, provider, PARSEC_OP_PSA_RAW_KEY_AGREEMENT, &op.base,
                    PARSEC_CALL_SECRET_RESPONSE, &psa_raw_key_agreement__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaRawKeyAgreement__Result *)resp.msg)->shared_secret,
                                  out, outlen);
}

parsec_status parsec_generate_random(parsec_client *c, uint8_t provider, size_t size, uint8_t **out)
{
    PsaGenerateRandom__Operation op = PSA_GENERATE_RANDOM__OPERATION__INIT;
    parsec_resp resp;
    size_t got = 0;
    parsec_status st;

    if (c == NULL || out == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *out = NULL;
    provider = parsec_provider_resolve(c, provider);
    if (provider == PARSEC_PROVIDER_DEFAULT)
        return PARSEC_CLIENT_ERROR_NO_PROVIDER;
    op.size = size;
    /* Random bytes often become key material: treated as a secret. */
    st = parsec_call(c, provider, PARSEC_OP_PSA_GENERATE_RANDOM, &op.base,
                     PARSEC_CALL_SECRET_RESPONSE, &psa_generate_random__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    st = parsec_resp_take_bytes(&resp, &((PsaGenerateRandom__Result *)resp.msg)->random_bytes, out,
                                &got);
    if (st == PARSEC_SUCCESS && got != size) {
        parsec_clear_free(*out, got);
        *out = NULL;
        st = PARSEC_CLIENT_ERROR_PROTOCOL;
    }
    return st;
}

static int parsec_hash_is_specific(uint8_t hash)
{
    return hash >= PARSEC_HASH_MD2 && hash <= PARSEC_HASH_SHA3_512;
}

parsec_status parsec_hash_compute(parsec_client *c, uint8_t provider, uint8_t hash,
                                  const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen)
{
    PsaHashCompute__Operation op = PSA_HASH_COMPUTE__OPERATION__INIT;
    parsec_resp resp;
    parsec_status st;

    if (c == NULL || out == NULL || outlen == NULL || !parsec_hash_is_specific(hash) ||
        (in == NULL && inlen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    provider = parsec_provider_resolve(c, provider);
    if (provider == PARSEC_PROVIDER_DEFAULT)
        return PARSEC_CLIENT_ERROR_NO_PROVIDER;
    op.alg = (PsaAlgorithm__Algorithm__Hash)hash;
    op.input = parsec_bytes(in, inlen);
    st = parsec_call(c, provider, PARSEC_OP_PSA_HASH_COMPUTE, &op.base, 0,
                     &psa_hash_compute__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaHashCompute__Result *)resp.msg)->hash, out, outlen);
}

parsec_status parsec_hash_compare(parsec_client *c, uint8_t provider, uint8_t hash,
                                  const uint8_t *in, size_t inlen, const uint8_t *expected,
                                  size_t expectedlen)
{
    PsaHashCompare__Operation op = PSA_HASH_COMPARE__OPERATION__INIT;

    if (c == NULL || !parsec_hash_is_specific(hash) || (in == NULL && inlen > 0) ||
        (expected == NULL && expectedlen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    provider = parsec_provider_resolve(c, provider);
    if (provider == PARSEC_PROVIDER_DEFAULT)
        return PARSEC_CLIENT_ERROR_NO_PROVIDER;
    op.alg = (PsaAlgorithm__Algorithm__Hash)hash;
    op.input = parsec_bytes(in, inlen);
    op.hash = parsec_bytes(expected, expectedlen);
    return parsec_call(c, provider, PARSEC_OP_PSA_HASH_COMPARE, &op.base, 0, NULL, NULL);
}

parsec_status parsec_can_do_crypto(parsec_client *c, uint8_t provider, int check_type,
                                   const parsec_key_attributes *attrs)
{
    CanDoCrypto__Operation op = CAN_DO_CRYPTO__OPERATION__INIT;
    parsec_status st;

    if (c == NULL || check_type < CAN_DO_CRYPTO__CHECK_TYPE__USE ||
        check_type > CAN_DO_CRYPTO__CHECK_TYPE__DERIVE)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    provider = parsec_provider_resolve(c, provider);
    if (provider == PARSEC_PROVIDER_DEFAULT)
        return PARSEC_CLIENT_ERROR_NO_PROVIDER;
    op.check_type = (CanDoCrypto__CheckType)check_type;
    op.attributes = parsec_pb_key_attributes_from_c(attrs);
    if (op.attributes == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    st = parsec_call(c, provider, PARSEC_OP_CAN_DO_CRYPTO, &op.base, 0, NULL, NULL);
    psa_key_attributes__key_attributes__free_unpacked(op.attributes, NULL);
    return st;
}

parsec_status parsec_aead_encrypt(parsec_client *c, uint8_t provider, const char *name,
                                  const parsec_alg *alg, const uint8_t *nonce, size_t noncelen,
                                  const uint8_t *ad, size_t adlen, const uint8_t *in, size_t inlen,
                                  uint8_t **out, size_t *outlen)
{
    PsaAeadEncrypt__Operation op = PSA_AEAD_ENCRYPT__OPERATION__INIT;
    parsec_pb_aead_alg_storage alg_storage;
    parsec_resp resp;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (out == NULL || outlen == NULL || (in == NULL && inlen > 0) ||
        (nonce == NULL && noncelen > 0) || (ad == NULL && adlen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *out = NULL;
    *outlen = 0;
    op.key_name = (char *)name;
    op.alg = parsec_pb_aead_alg_fill(&alg_storage, alg);
    if (op.alg == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.nonce = parsec_bytes(nonce, noncelen);
    op.additional_data = parsec_bytes(ad, adlen);
    op.plaintext = parsec_bytes(in, inlen);
    st = parsec_call(c, provider, PARSEC_OP_PSA_AEAD_ENCRYPT, &op.base, PARSEC_CALL_SECRET_REQUEST,
                     &psa_aead_encrypt__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaAeadEncrypt__Result *)resp.msg)->ciphertext, out,
                                  outlen);
}

parsec_status parsec_aead_decrypt(parsec_client *c, uint8_t provider, const char *name,
                                  const parsec_alg *alg, const uint8_t *nonce, size_t noncelen,
                                  const uint8_t *ad, size_t adlen, const uint8_t *in, size_t inlen,
                                  uint8_t **out, size_t *outlen)
{
    PsaAeadDecrypt__Operation op = PSA_AEAD_DECRYPT__OPERATION__INIT;
    parsec_pb_aead_alg_storage alg_storage;
    parsec_resp resp;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (out == NULL || outlen == NULL || (in == NULL && inlen > 0) ||
        (nonce == NULL && noncelen > 0) || (ad == NULL && adlen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *out = NULL;
    *outlen = 0;
    op.key_name = (char *)name;
    op.alg = parsec_pb_aead_alg_fill(&alg_storage, alg);
    if (op.alg == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.nonce = parsec_bytes(nonce, noncelen);
    op.additional_data = parsec_bytes(ad, adlen);
    op.ciphertext = parsec_bytes(in, inlen);
    st = parsec_call(c, provider, PARSEC_OP_PSA_AEAD_DECRYPT, &op.base, PARSEC_CALL_SECRET_RESPONSE,
                     &psa_aead_decrypt__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaAeadDecrypt__Result *)resp.msg)->plaintext, out,
                                  outlen);
}

parsec_status parsec_sign_message(parsec_client *c, uint8_t provider, const char *name,
                                  const parsec_alg *alg, const uint8_t *msg, size_t msglen,
                                  uint8_t **sig, size_t *siglen)
{
    PsaSignMessage__Operation op = PSA_SIGN_MESSAGE__OPERATION__INIT;
    parsec_pb_sign_alg_storage alg_storage;
    parsec_resp resp;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (sig == NULL || siglen == NULL || (msg == NULL && msglen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *sig = NULL;
    *siglen = 0;
    op.key_name = (char *)name;
    op.alg = parsec_pb_sign_alg_fill(&alg_storage, alg);
    if (op.alg == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.message = parsec_bytes(msg, msglen);
    st = parsec_call(c, provider, PARSEC_OP_PSA_SIGN_MESSAGE, &op.base, 0,
                     &psa_sign_message__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaSignMessage__Result *)resp.msg)->signature, sig,
                                  siglen);
}

parsec_status parsec_verify_message(parsec_client *c, uint8_t provider, const char *name,
                                    const parsec_alg *alg, const uint8_t *msg, size_t msglen,
                                    const uint8_t *sig, size_t siglen)
{
    PsaVerifyMessage__Operation op = PSA_VERIFY_MESSAGE__OPERATION__INIT;
    parsec_pb_sign_alg_storage alg_storage;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if ((msg == NULL && msglen > 0) || (sig == NULL && siglen > 0))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.key_name = (char *)name;
    op.alg = parsec_pb_sign_alg_fill(&alg_storage, alg);
    if (op.alg == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.message = parsec_bytes(msg, msglen);
    op.signature = parsec_bytes(sig, siglen);
    return parsec_call(c, provider, PARSEC_OP_PSA_VERIFY_MESSAGE, &op.base, 0, NULL, NULL);
}

parsec_status parsec_cipher_encrypt(parsec_client *c, uint8_t provider, const char *name,
                                    const parsec_alg *alg, const uint8_t *in, size_t inlen,
                                    uint8_t **out, size_t *outlen)
{
    PsaCipherEncrypt__Operation op = PSA_CIPHER_ENCRYPT__OPERATION__INIT;
    parsec_resp resp;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (out == NULL || outlen == NULL || (in == NULL && inlen > 0) ||
        parsec_pb_cipher_from_c(alg) == 0)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *out = NULL;
    *outlen = 0;
    op.key_name = (char *)name;
    op.alg = (PsaAlgorithm__Algorithm__Cipher)alg->scheme;
    op.plaintext = parsec_bytes(in, inlen);
    st = parsec_call(c, provider, PARSEC_OP_PSA_CIPHER_ENCRYPT, &op.base,
                     PARSEC_CALL_SECRET_REQUEST, &psa_cipher_encrypt__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaCipherEncrypt__Result *)resp.msg)->ciphertext, out,
                                  outlen);
}

parsec_status parsec_cipher_decrypt(parsec_client *c, uint8_t provider, const char *name,
                                    const parsec_alg *alg, const uint8_t *in, size_t inlen,
                                    uint8_t **out, size_t *outlen)
{
    PsaCipherDecrypt__Operation op = PSA_CIPHER_DECRYPT__OPERATION__INIT;
    parsec_resp resp;
    parsec_status st = parsec_prepare(c, &provider, name);

    if (st != PARSEC_SUCCESS)
        return st;
    if (out == NULL || outlen == NULL || (in == NULL && inlen > 0) ||
        parsec_pb_cipher_from_c(alg) == 0)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *out = NULL;
    *outlen = 0;
    op.key_name = (char *)name;
    op.alg = (PsaAlgorithm__Algorithm__Cipher)alg->scheme;
    op.ciphertext = parsec_bytes(in, inlen);
    st = parsec_call(c, provider, PARSEC_OP_PSA_CIPHER_DECRYPT, &op.base,
                     PARSEC_CALL_SECRET_RESPONSE, &psa_cipher_decrypt__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    return parsec_resp_take_bytes(&resp, &((PsaCipherDecrypt__Result *)resp.msg)->plaintext, out,
                                  outlen);
}
