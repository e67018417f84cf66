/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of parsecd's TPM 2.0 backend (tpm2-tss ESYS), shared by the
 * files of service/tpm/. Nothing here is visible outside the backend.
 *
 * Model: one storage primary key (re-created at start, or a configured
 * persistent handle); every Parsec key is an ordinary child object whose
 * TPM2B_PUBLIC/TPM2B_PRIVATE (plus a random per-key auth value) form the
 * blob the core stores. Children are loaded on use and kept in a small LRU
 * of loaded handles, so the TPM's few object slots never run out.
 * All TPM access is serialised by psd_tpm.lock.
 */
#ifndef PSD_TPM_H
#define PSD_TPM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_esys.h>

#include "psd_backend.h"

/* Loaded child keys kept between operations (the primary needs one more slot). */
#define PSD_TPM_CACHE_MAX 3
/* Room for keys pinned by an operation that needs two at once (attestation). */
#define PSD_TPM_CACHE_SLOTS (PSD_TPM_CACHE_MAX + 2)

typedef struct psd_tpm_loaded {
    bool used;
    uint64_t key_id;
    uint8_t blob_digest[32]; /* SHA-256 of the blob: a reused id never hits a stale entry */
    ESYS_TR handle;
    uint64_t last_use;
    unsigned pins;
} psd_tpm_loaded;

/* What this TPM really implements (asked at start-up). */
typedef struct psd_tpm_caps {
    bool rsa, ecc, rsassa, rsapss, rsaes, oaep, ecdsa, ecdh;
    bool sha1, sha256, sha384, sha512;
    bool rsa1024, rsa2048, rsa3072, rsa4096;
    bool p256, p384, p521;
    bool cmd_create, cmd_load, cmd_sign, cmd_rsa_decrypt, cmd_ecdh_zgen, cmd_get_random;
    bool cmd_activate_credential, cmd_policy_secret;
} psd_tpm_caps;

typedef struct psd_tpm {
    pthread_mutex_t lock;
    /* configuration */
    char *tcti_conf;
    TPM2B_AUTH owner_auth;
    TPM2B_AUTH endorsement_auth;
    TPM2_HANDLE primary_persistent; /* 0: a transient primary created at connect */
    TPM2_ALG_ID primary_alg;        /* TPM2_ALG_ECC or TPM2_ALG_RSA (transient primary) */
    /* connection */
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    ESYS_TR primary;
    bool broken;           /* the connection failed: reconnect before the next command */
    unsigned object_slots; /* transient slots usable by children (besides the primary) */
    unsigned cache_cap;
    uint64_t tick;
    psd_tpm_loaded cache[PSD_TPM_CACHE_SLOTS];
    psd_tpm_caps caps; /* read at the first connect, constant afterwards */
    bool caps_known;
} psd_tpm;

/* ---- blob: what the core stores for each key ---- */
enum { PSD_TPM_BLOB_KEY = 1, PSD_TPM_BLOB_PUBLIC = 2, PSD_TPM_BLOB_SEALED = 3 };

typedef struct psd_tpm_blob {
    uint8_t kind;
    TPM2B_AUTH auth; /* KEY, SEALED: the object's random auth value */
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv; /* KEY, SEALED */
} psd_tpm_blob;

parsec_status psd_tpm_blob_encode(const psd_tpm_blob *b, psd_buf *out);
/*
 * TPM2_Create under the storage primary (lock held): sens gets a fresh random
 * auth value; the new object's blob of kind goes to out. what names the call
 * in the log if it fails.
 */
parsec_status psd_tpm_create(psd_tpm *st, TPM2B_SENSITIVE_CREATE *sens, const TPM2B_PUBLIC *tmpl,
                             uint8_t kind, const char *what, psd_buf *out);
/* A SEALED blob (no key attributes to check against). */
parsec_status psd_tpm_sealed_decode(const uint8_t *data, size_t len, psd_tpm_blob *b);
/* Parse key->blob and check it matches key->attrs (type and size). */
parsec_status psd_tpm_blob_decode(const psd_key *key, psd_tpm_blob *b);
void psd_tpm_blob_cleanse(psd_tpm_blob *b);

/* ---- sealed secrets (psd_tpm_seal.c) ---- */
parsec_status psd_tpm_seal_secret(void *state, const uint8_t *secret, size_t len, psd_buf *sealed);
parsec_status psd_tpm_unseal_secret(void *state, const uint8_t *sealed, size_t len,
                                    psd_buf *secret);

/* ---- connection, errors ---- */
int psd_tpm_connect(psd_tpm *st, char *err, size_t errlen);
void psd_tpm_disconnect(psd_tpm *st);
/*
 * Log a failed TPM call and map its response code to a Parsec status; marks
 * the connection broken when the transport failed.
 */
parsec_status psd_tpm_fail(psd_tpm *st, const char *what, TSS2_RC rc);
/* The response code without handle/parameter/session numbers. */
TSS2_RC psd_tpm_rc_base(TSS2_RC rc);

/*
 * Run fn under the TPM lock; reconnects first if the connection broke, and
 * retries fn once if it breaks during fn (e.g. swtpm restarted).
 */
typedef parsec_status (*psd_tpm_locked_fn)(psd_tpm *st, void *arg);
parsec_status psd_tpm_run(psd_tpm *st, psd_tpm_locked_fn fn, void *arg);

/* ---- loaded-key cache (call with the lock held) ---- */
/* Load (or find) the key's TPM object and pin it until psd_tpm_key_release. */
parsec_status psd_tpm_key_acquire(psd_tpm *st, const psd_key *key, const psd_tpm_blob *blob,
                                  ESYS_TR *handle);
void psd_tpm_key_release(psd_tpm *st, ESYS_TR handle);
void psd_tpm_cache_drop(psd_tpm *st, uint64_t key_id);
/* Flush every cached key (handles become invalid). */
void psd_tpm_cache_flush_all(psd_tpm *st);
/* Flush the least recently used unpinned key; false if there is none. */
bool psd_tpm_evict_lru(psd_tpm *st);
/* Free one transient slot (for Create or a temporary object); 0 if none could be freed. */
bool psd_tpm_make_room(psd_tpm *st);

/* ---- algorithms ---- */
/* Parsec hash -> TPM hash algorithm this TPM implements, or TPM2_ALG_ERROR. */
TPMI_ALG_HASH psd_tpm_hash_alg(const psd_tpm_caps *caps, uint8_t parsec_hash);
/* TPM hash -> digest length, 0 if unknown; OpenSSL digest name or NULL. */
size_t psd_tpm_hash_size(TPMI_ALG_HASH alg);
const char *psd_tpm_hash_ossl_name(TPMI_ALG_HASH alg);
/* SECP_R1 + bits -> TPM curve (any curve this code knows; TPM2_ECC_NONE if not). */
TPMI_ECC_CURVE psd_tpm_curve(uint8_t family, uint32_t bits);
/* Curve byte length (32 for P-256), 0 if unknown; OpenSSL group name. */
size_t psd_tpm_curve_bytes(TPMI_ECC_CURVE curve);
const char *psd_tpm_curve_ossl_name(TPMI_ECC_CURVE curve);
bool psd_tpm_curve_supported(const psd_tpm_caps *caps, TPMI_ECC_CURVE curve);
bool psd_tpm_rsa_bits_supported(const psd_tpm_caps *caps, uint32_t bits);

/* ---- public keys in software ---- */
EVP_PKEY *psd_tpm_public_to_pkey(const TPM2B_PUBLIC *pub);
/* PSA export format: DER RSAPublicKey, or 04||X||Y. */
parsec_status psd_tpm_public_export(const TPM2B_PUBLIC *pub, psd_buf *out);
/* Modulus bytes of an RSA public area. */
size_t psd_tpm_rsa_bytes(const TPM2B_PUBLIC *pub);

/* ---- operations (the ops table lives in psd_tpm_backend.c) ---- */
parsec_status psd_tpm_generate_key(void *state, uint64_t id, const char *name,
                                   const parsec_key_attributes *attrs, psd_buf *blob);
parsec_status psd_tpm_import_key(void *state, uint64_t id, const char *name,
                                 const parsec_key_attributes *attrs, const uint8_t *data,
                                 size_t len, psd_buf *blob);
parsec_status psd_tpm_export_public_key(void *state, const psd_key *key, psd_buf *out);
parsec_status psd_tpm_destroy_key(void *state, const psd_key *key);
parsec_status psd_tpm_sign_hash(void *state, const psd_key *key, const parsec_alg *alg,
                                const uint8_t *hash, size_t hashlen, psd_buf *sig);
parsec_status psd_tpm_verify_hash(void *state, const psd_key *key, const parsec_alg *alg,
                                  const uint8_t *hash, size_t hashlen, const uint8_t *sig,
                                  size_t siglen);
parsec_status psd_tpm_asymmetric_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                         const uint8_t *in, size_t inlen, const uint8_t *salt,
                                         size_t saltlen, psd_buf *out);
parsec_status psd_tpm_asymmetric_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                         const uint8_t *in, size_t inlen, const uint8_t *salt,
                                         size_t saltlen, psd_buf *out);
parsec_status psd_tpm_raw_key_agreement(void *state, const psd_key *key, const parsec_alg *alg,
                                        const uint8_t *peer, size_t peerlen, psd_buf *out);
parsec_status psd_tpm_generate_random(void *state, size_t size, psd_buf *out);
parsec_status psd_tpm_prepare_key_attestation(void *state, const psd_key *attested,
                                              const psd_key *attesting, psd_buf *name, psd_buf *pub,
                                              psd_buf *attesting_pub);
parsec_status psd_tpm_attest_key(void *state, const psd_key *attested, const psd_key *attesting,
                                 const uint8_t *credential_blob, size_t cblen,
                                 const uint8_t *secret, size_t slen, psd_buf *credential);

#endif
