/* SPDX-License-Identifier: Apache-2.0 */
/* The software backend's internals: OpenSSL keys kept as DER blobs by the core. */
#ifndef PSD_SW_H
#define PSD_SW_H

#include <openssl/evp.h>

#include "parsec_psa_crypto.h"
#include "psd_backend.h"

typedef struct psd_sw_state psd_sw_state;

/*
 * The parsed key for a psd_key, from the cache or decoded from its blob
 * (then cached). The caller owns one reference: EVP_PKEY_free it.
 */
parsec_status psd_sw_key_get(psd_sw_state *sw, const psd_key *key, EVP_PKEY **out);
/* Operations whose configured contexts are kept per key as templates. */
enum psd_sw_op { PSD_SW_SIGN, PSD_SW_VERIFY, PSD_SW_ENCRYPT, PSD_SW_DECRYPT, PSD_SW_DERIVE };
/* Set alg's parameters on ctx (EVP_PKEY_*_init done by the caller); NULL: none to set. */
typedef parsec_status (*psd_sw_setup_fn)(EVP_PKEY_CTX *ctx, const parsec_alg *alg, int is_rsa);
/*
 * A ready-to-use context for (key, op, alg): a copy of a cached template, so
 * repeated operations skip OpenSSL's algorithm fetches and parameter setup.
 * The caller owns it (EVP_PKEY_CTX_free).
 */
parsec_status psd_sw_op_ctx(psd_sw_state *sw, const psd_key *key, enum psd_sw_op op,
                            const parsec_alg *alg, psd_sw_setup_fn setup, EVP_PKEY_CTX **out);
/* Put a freshly created key in the cache (takes a new reference). */
void psd_sw_cache_put(psd_sw_state *sw, uint64_t id, EVP_PKEY *pkey);
void psd_sw_cache_drop(psd_sw_state *sw, uint64_t id);

/* DER blob of a key: RSAPrivateKey / ECPrivateKey for pairs, SubjectPublicKeyInfo otherwise. */
parsec_status psd_sw_blob_encode(EVP_PKEY *pkey, const parsec_key_attributes *attrs, psd_buf *blob);
EVP_PKEY *psd_sw_blob_decode(const parsec_key_attributes *attrs, const uint8_t *blob, size_t len);

/* OpenSSL name of a curve ("P-256", "brainpoolP256r1", "X25519"), NULL if unsupported. */
const char *psd_sw_curve_name(uint8_t family, uint32_t bits);
/* An X25519/X448 key: raw little-endian keys (RFC 7748), ECDH only. */
int psd_sw_is_montgomery(const parsec_key_attributes *attrs);
const EVP_MD *psd_sw_md(uint8_t hash);
int psd_sw_is_pair(uint8_t type);

/* Hooks (psd_sw_keys.c, psd_sw_crypto.c). */
parsec_status psd_sw_generate_key(void *state, uint64_t id, const char *name,
                                  const parsec_key_attributes *attrs, psd_buf *blob);
parsec_status psd_sw_import_key(void *state, uint64_t id, const char *name,
                                const parsec_key_attributes *attrs, const uint8_t *data, size_t len,
                                psd_buf *blob);
parsec_status psd_sw_export_public_key(void *state, const psd_key *key, psd_buf *out);
parsec_status psd_sw_export_key(void *state, const psd_key *key, psd_buf *out);
parsec_status psd_sw_destroy_key(void *state, const psd_key *key);
parsec_status psd_sw_sign_hash(void *state, const psd_key *key, const parsec_alg *alg,
                               const uint8_t *hash, size_t hashlen, psd_buf *sig);
parsec_status psd_sw_verify_hash(void *state, const psd_key *key, const parsec_alg *alg,
                                 const uint8_t *hash, size_t hashlen, const uint8_t *sig,
                                 size_t siglen);
parsec_status psd_sw_asymmetric_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                        const uint8_t *in, size_t inlen, const uint8_t *salt,
                                        size_t saltlen, psd_buf *out);
parsec_status psd_sw_asymmetric_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                        const uint8_t *in, size_t inlen, const uint8_t *salt,
                                        size_t saltlen, psd_buf *out);
parsec_status psd_sw_raw_key_agreement(void *state, const psd_key *key, const parsec_alg *alg,
                                       const uint8_t *peer, size_t peerlen, psd_buf *out);

/* Symmetric keys and AEAD (psd_sw_aead.c); the blob of a symmetric key is the raw key. */
int psd_sw_is_symmetric(uint8_t type);
int psd_sw_symmetric_bits_ok(uint8_t type, uint32_t bits);
int psd_sw_aead_alg_ok(uint8_t type, const parsec_alg *alg);
parsec_status psd_sw_symmetric_generate(const parsec_key_attributes *attrs, psd_buf *blob);
parsec_status psd_sw_symmetric_import(const parsec_key_attributes *attrs, const uint8_t *data,
                                      size_t len, psd_buf *blob);
parsec_status psd_sw_aead_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                  const psd_aead_input *in, psd_buf *out);
parsec_status psd_sw_aead_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                  const psd_aead_input *in, psd_buf *out);
int psd_sw_cipher_alg_ok(uint8_t type, const parsec_alg *alg);
parsec_status psd_sw_cipher_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                    const uint8_t *in, size_t inlen, psd_buf *out);
parsec_status psd_sw_cipher_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                    const uint8_t *in, size_t inlen, psd_buf *out);

#endif
