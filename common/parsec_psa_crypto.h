/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PSA formats <-> OpenSSL, shared by the client tools, the provider and
 * parsecd's backends: ECDSA signatures (PSA: raw r||s; OpenSSL: DER
 * ECDSA-Sig-Value), public keys in PSA export format, and software
 * verification of a PSA signature.
 *
 * PSA export format of a public key (PSA Crypto API 1.0, psa_export_public_key):
 *   RSA: DER RSAPublicKey (PKCS#1, RFC 8017 A.1.1);
 *   Weierstrass ECC: uncompressed point 04 || X || Y;
 *   Montgomery ECC: the raw u-coordinate (RFC 7748).
 */
#ifndef PARSEC_PSA_CRYPTO_H
#define PARSEC_PSA_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "parsec_types.h"

/* OpenSSL short name ("prime256v1", "secp256k1", "brainpoolP256r1", "X25519"...) of a PSA curve; NULL if none. */
const char *parsec_psa_ec_group(uint8_t family, size_t bits);

/* Byte length of one coordinate (and of r and s) on a curve of this many bits. */
size_t parsec_psa_ec_coord_len(size_t bits);

/*
 * A public key in PSA export format as an EVP_PKEY (libctx and propq may be
 * NULL). The key type and, for ECC, family and bits come from attrs. The
 * data must be exactly one key: trailing bytes, a point off the curve or an
 * RSA modulus that is not positive and odd give NULL (nothing on OpenSSL's
 * error queue is cleared: callers report their own error). EVP_PKEY_free it.
 */
EVP_PKEY *parsec_psa_public_key(OSSL_LIB_CTX *libctx, const char *propq,
                                const parsec_key_attributes *attrs, const uint8_t *data,
                                size_t len);

/*
 * ECDSA raw r||s (each rawlen/2 bytes) -> DER ECDSA-Sig-Value in *der
 * (OPENSSL_malloc'd, OPENSSL_free it). Returns 1, or 0 for an empty or
 * odd-length input or no memory.
 */
int parsec_ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t **der, size_t *derlen);

/*
 * DER ECDSA-Sig-Value -> r||s, each exactly n bytes, into raw (2n bytes,
 * the caller's). Returns 1, or 0 if the DER is malformed, has trailing
 * bytes, or r or s is wider than n bytes.
 */
int parsec_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, size_t n, uint8_t *raw);

/*
 * Set up ctx (after EVP_PKEY_sign_init or EVP_PKEY_verify_init) for a PSA
 * asymmetric signature algorithm: RSA PKCS#1 v1.5 (with DigestInfo, or raw),
 * RSA-PSS (MGF1 with the same hash, salt as long as the hash), ECDSA (any
 * hash: OpenSSL signs the given digest). is_rsa must match the algorithm
 * (else PARSEC_PSA_ERROR_INVALID_ARGUMENT); other schemes and unknown hashes
 * give PARSEC_PSA_ERROR_NOT_SUPPORTED.
 */
parsec_status parsec_psa_sig_setup(EVP_PKEY_CTX *ctx, const parsec_alg *alg, int is_rsa);

/*
 * Verify a PSA signature over a hash in software with a public key:
 * PARSEC_SUCCESS, PARSEC_PSA_ERROR_INVALID_SIGNATURE (wrong signature,
 * including an ECDSA signature that is not 2 * coordinate length bytes),
 * PARSEC_PSA_ERROR_NOT_SUPPORTED or PARSEC_PSA_ERROR_INVALID_ARGUMENT
 * (algorithm and key do not fit), PARSEC_PSA_ERROR_GENERIC_ERROR.
 */
parsec_status parsec_psa_verify_hash(EVP_PKEY *pub, const parsec_alg *alg, const uint8_t *hash,
                                     size_t hashlen, const uint8_t *sig, size_t siglen);

#endif
