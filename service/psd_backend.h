/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interface between parsecd's core and its key backends (software,
 * PKCS#11, TPM). The core owns the wire protocol, authentication, the
 * key-info store (SQLite) and the PSA policy checks; a backend only does
 * cryptography on keys it created.
 *
 * Division of work for every key operation:
 *  - the core looks the key up for the caller's identity (unknown -> 1140),
 *    checks usage flags and the permitted algorithm (-> 1133), the hash
 *    length for sign/verify (-> 1135), and key-type/algorithm compatibility;
 *  - the backend is then called with a psd_key that carries the attributes
 *    and the opaque blob it returned when the key was created.
 * A backend therefore never sees a key name it did not create, and never has
 * to re-check policy. It must be thread-safe: the core calls it from its
 * worker threads concurrently (serialise internally where the device needs it).
 *
 * Buffers: a backend fills psd_buf with OPENSSL_malloc'd memory; the core
 * releases it with psd_buf_clear(), which cleanses it.
 */
#ifndef PSD_BACKEND_H
#define PSD_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "parsec_types.h"

/*
 * What parsecd offers its backends. The pkcs11 and tpm backends are
 * loadable modules (psd-<name>.so, loaded only when configured): these
 * functions are exported from the parsecd executable for them, and each
 * module exports its psd_<name>_backend table.
 */
#define PSD_API __attribute__((visibility("default")))

typedef struct psd_buf {
    uint8_t *data;
    size_t len;
} psd_buf;

/* OPENSSL_clear_free the data and zero the struct; NULL-safe. */
PSD_API void psd_buf_clear(psd_buf *b);
/* Copy len bytes into a fresh buffer; PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY on failure. */
PSD_API parsec_status psd_buf_set(psd_buf *b, const uint8_t *data, size_t len);

/* A stored key, as the core hands it to a backend. */
typedef struct psd_key {
    uint64_t id;      /* unique and stable for the key's life: cache by it */
    const char *name; /* the client's key name (for labels; never trust for lookup) */
    const parsec_key_attributes *attrs;
    const uint8_t *blob; /* what generate/import returned */
    size_t blob_len;
} psd_key;

/* The key=value pairs of the backend's config section, in file order. */
typedef struct psd_setting {
    const char *key;
    const char *value;
} psd_setting;

typedef struct psd_settings {
    const psd_setting *items;
    size_t count;
    const char *config_dir; /* directory of the config file, for relative paths */
} psd_settings;

/* Last value for key, or NULL. */
PSD_API const char *psd_settings_get(const psd_settings *s, const char *key);

/*
 * Bumped whenever psd_backend_ops or anything it passes changes layout or
 * meaning; parsecd refuses a backend module built against another value.
 */
#define PSD_BACKEND_ABI_VERSION 1

/* What PsaAeadEncrypt/PsaAeadDecrypt carry besides the key and the algorithm. */
typedef struct psd_aead_input {
    const uint8_t *nonce;
    size_t nonce_len;
    const uint8_t *ad; /* additional data, authenticated only */
    size_t ad_len;
    const uint8_t *data; /* plaintext, or ciphertext || tag */
    size_t data_len;
} psd_aead_input;

typedef struct psd_backend_ops {
    uint32_t abi_version; /* PSD_BACKEND_ABI_VERSION, first so any module can be checked */
    uint8_t provider_id;  /* 1 software, 2 PKCS#11, 3 TPM */
    const char *name;     /* config name: "software", "pkcs11", "tpm" */
    const char *uuid;     /* ListProviders: the reference service's UUID for this ID */
    const char *description;
    const char *vendor;
    uint32_t version_maj, version_min, version_rev;

    /*
     * Start-up. On failure return non-zero and write a one-line reason for a
     * person into err (never a PIN or other secret); parsecd then exits.
     */
    int (*init)(void **state, const psd_settings *settings, char *err, size_t errlen);
    void (*fini)(void *state);

    /* ListOpcodes: fill up to max opcodes this backend really serves; returns the count. */
    size_t (*opcodes)(void *state, uint32_t *out, size_t max);

    /*
     * Can the backend create/import a key with these attributes?
     * PARSEC_SUCCESS or PARSEC_PSA_ERROR_NOT_SUPPORTED (used by GenerateKey,
     * ImportKey and CanDoCrypto before anything is stored).
     */
    parsec_status (*check_attributes)(void *state, const parsec_key_attributes *attrs);

    /* Create a key; on success *blob is what the core stores and hands back in psd_key. */
    parsec_status (*generate_key)(void *state, uint64_t id, const char *name,
                                  const parsec_key_attributes *attrs, psd_buf *blob);
    /* Import PSA-format data (RSAPublicKey / RSAPrivateKey DER, EC point / scalar, raw bytes). */
    parsec_status (*import_key)(void *state, uint64_t id, const char *name,
                                const parsec_key_attributes *attrs, const uint8_t *data, size_t len,
                                psd_buf *blob);
    /* PSA format: RSA -> DER RSAPublicKey; ECC -> uncompressed point 04||X||Y. */
    parsec_status (*export_public_key)(void *state, const psd_key *key, psd_buf *out);
    /* NULL when the backend can never export private material. */
    parsec_status (*export_key)(void *state, const psd_key *key, psd_buf *out);
    /* Remove the key from the device; drop any cache for key->id. */
    parsec_status (*destroy_key)(void *state, const psd_key *key);

    /* ECDSA signatures are raw r||s, each the curve's byte length. */
    parsec_status (*sign_hash)(void *state, const psd_key *key, const parsec_alg *alg,
                               const uint8_t *hash, size_t hashlen, psd_buf *sig);
    parsec_status (*verify_hash)(void *state, const psd_key *key, const parsec_alg *alg,
                                 const uint8_t *hash, size_t hashlen, const uint8_t *sig,
                                 size_t siglen);
    /* salt = OAEP label (saltlen 0: none). */
    parsec_status (*asymmetric_encrypt)(void *state, const psd_key *key, const parsec_alg *alg,
                                        const uint8_t *in, size_t inlen, const uint8_t *salt,
                                        size_t saltlen, psd_buf *out);
    parsec_status (*asymmetric_decrypt)(void *state, const psd_key *key, const parsec_alg *alg,
                                        const uint8_t *in, size_t inlen, const uint8_t *salt,
                                        size_t saltlen, psd_buf *out);
    /* peer: uncompressed point; out: the shared x-coordinate. */
    parsec_status (*raw_key_agreement)(void *state, const psd_key *key, const parsec_alg *alg,
                                       const uint8_t *peer, size_t peerlen, psd_buf *out);
    parsec_status (*generate_random)(void *state, size_t size, psd_buf *out);

    /* Optional (NULL if absent). */
    parsec_status (*hash_compute)(void *state, uint8_t hash, const uint8_t *in, size_t inlen,
                                  psd_buf *out);
    parsec_status (*prepare_key_attestation)(void *state, const psd_key *attested,
                                             const psd_key *attesting, psd_buf *name, psd_buf *pub,
                                             psd_buf *attesting_pub);
    parsec_status (*attest_key)(void *state, const psd_key *attested, const psd_key *attesting,
                                const uint8_t *credential_blob, size_t cblen, const uint8_t *secret,
                                size_t slen, psd_buf *credential);
    /*
     * AEAD with a symmetric key (optional). Encrypt: out = ciphertext || tag.
     * Decrypt: data = ciphertext || tag. A nonce length the algorithm does
     * not take -> PARSEC_PSA_ERROR_INVALID_ARGUMENT; a tag that does not
     * match -> PARSEC_PSA_ERROR_INVALID_SIGNATURE (nothing is returned).
     */
    parsec_status (*aead_encrypt)(void *state, const psd_key *key, const parsec_alg *alg,
                                  const psd_aead_input *in, psd_buf *out);
    parsec_status (*aead_decrypt)(void *state, const psd_key *key, const parsec_alg *alg,
                                  const psd_aead_input *in, psd_buf *out);
    /*
     * Unauthenticated ciphers (optional), as psa_cipher_encrypt/decrypt:
     * encrypt draws a random IV and returns IV || ciphertext (no IV for
     * ECB); decrypt takes the same. Input the mode cannot take (not whole
     * blocks without padding, bad padding, shorter than the IV) ->
     * PARSEC_PSA_ERROR_INVALID_ARGUMENT / PARSEC_PSA_ERROR_INVALID_PADDING.
     */
    parsec_status (*cipher_encrypt)(void *state, const psd_key *key, const parsec_alg *alg,
                                    const uint8_t *in, size_t inlen, psd_buf *out);
    parsec_status (*cipher_decrypt)(void *state, const psd_key *key, const parsec_alg *alg,
                                    const uint8_t *in, size_t inlen, psd_buf *out);

    /*
     * Optional crash recovery, for backends that keep objects of their own on
     * a device (NULL for backends whose whole key is the blob). When set, the
     * core writes a key's store row (PENDING) before generate_key/import_key
     * and marks it REMOVING before destroy_key, so every crash point leaves a
     * row saying what was under way. Called once at start-up, before any
     * request, with:
     *  - store_tag: identifies this key store; from now on the backend names
     *    the objects of key `id` after (store_tag, id), so it can find them
     *    with no blob and tell its objects from other stores' ones;
     *  - known: ids of every key of this backend the store records;
     *  - pending: ids whose creation was interrupted: remove whatever exists
     *    for them (the core then drops their rows).
     * The backend reports objects named after store_tag whose id is in
     * neither list (and removes them if its settings say so). Interrupted
     * destroys are finished by the core through destroy_key. Returns
     * PARSEC_SUCCESS once the pending ids are cleaned up.
     */
    parsec_status (*reconcile)(void *state, uint32_t store_tag, const uint64_t *known,
                               size_t n_known, const uint64_t *pending, size_t n_pending);

    /*
     * Optional: bind a small secret (the key store's key-encryption key) to
     * the device, so that only this device can give it back. sealed is
     * opaque data the core keeps in a file; unseal_secret fills secret
     * (cleansed by the core) or fails if the data is not this device's.
     */
    parsec_status (*seal_secret)(void *state, const uint8_t *secret, size_t len, psd_buf *sealed);
    parsec_status (*unseal_secret)(void *state, const uint8_t *sealed, size_t len, psd_buf *secret);
} psd_backend_ops;

/* The built-in backend, and the tables the backend modules export. */
extern const psd_backend_ops psd_software_backend;
extern PSD_API const psd_backend_ops psd_pkcs11_backend;
extern PSD_API const psd_backend_ops psd_tpm_backend;

/* Logging (service/psd_log.c). Never pass secrets. */
enum psd_log_level { PSD_LOG_ERROR = 0, PSD_LOG_WARN = 1, PSD_LOG_INFO = 2, PSD_LOG_DEBUG = 3 };
PSD_API void psd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
