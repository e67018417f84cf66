/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interface of parsecd's PKCS#11 backend (provider ID 2).
 *
 * Uses p11-kit's native ("GNU") PKCS#11 names so that the compatibility
 * macros of pkcs11.h (`value`, `count`, `params`, ...) never rename fields of
 * other headers.
 */
#ifndef PSD_P11_H
#define PSD_P11_H

#define CRYPTOKI_GNU 1

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

#include "psd_backend.h"

/* The GNU names drop CK_TRUE/CK_FALSE (CK_BBOOL values). */
#ifndef CK_TRUE
#define CK_TRUE 1
#define CK_FALSE 0
#endif

#define PSD_P11_ID_LEN 16
#define PSD_P11_CACHE_BUCKETS 256
#define PSD_P11_DEFAULT_SESSIONS 8
#define PSD_P11_MAX_SESSIONS 256

/* ---- configuration ([pkcs11] section) ---- */
typedef struct psd_p11_config {
    char *module; /* resolved path, or a p11-kit registered module name */
    int module_is_path;
    char *token_uri; /* NULL when slot is used */
    unsigned long slot;
    int have_slot;
    char *pin; /* secret: cleansed by psd_p11_config_clear */
    size_t pin_len;
    int have_pin;
    unsigned int sessions;
    int remove_orphans; /* start-up: remove objects of this store no row names */
} psd_p11_config;

int psd_p11_config_read(psd_p11_config *cfg, const psd_settings *s, char *err, size_t errlen);
void psd_p11_config_clear(psd_p11_config *cfg);

/* ---- hashes the backend maps to PKCS#11 and OpenSSL ---- */
typedef struct psd_p11_hash {
    uint8_t parsec;             /* PARSEC_HASH_* */
    ck_mechanism_type_t ckm;    /* CKM_SHA256, ... */
    ck_rsa_pkcs_mgf_type_t mgf; /* CKG_MGF1_SHA256, ... */
    int nid;                    /* NID_sha256, ... (DigestInfo) */
    const char *ossl_name;      /* "SHA256", ... */
    size_t len;
    unsigned int bit; /* index for per-hash capability masks */
} psd_p11_hash;

const psd_p11_hash *psd_p11_hash_find(uint8_t parsec_hash);

/* ---- curves (SECP_R1 only) ---- */
typedef struct psd_p11_curve {
    uint32_t bits;
    int nid;
    size_t bytes;       /* field element length */
    unsigned int index; /* into psd_p11.ec_groups */
} psd_p11_curve;

#define PSD_P11_CURVES 3
#define PSD_P11_HASHES 5 /* psd_p11_hash.bit < PSD_P11_HASHES */
/* DER DigestInfo up to the hash: 15 bytes for SHA-1, 19 for SHA-2. */
#define PSD_P11_DIGEST_INFO_PREFIX_MAX 24

/* A hash's DigestInfo (RSA PKCS#1 v1.5 signatures) without the hash value itself. */
typedef struct psd_p11_digest_info {
    uint8_t prefix[PSD_P11_DIGEST_INFO_PREFIX_MAX];
    size_t len;
} psd_p11_digest_info;

const psd_p11_curve *psd_p11_curve_by_bits(uint32_t bits);
/* RSA sizes the backend creates (pairs) or imports (public keys, for verification). */
int psd_p11_rsa_bits_ok(uint8_t type, uint32_t bits);
const psd_p11_curve *psd_p11_curve_by_nid(int nid);
/* DER OID of the curve (CKA_EC_PARAMS); OPENSSL_free the result. */
int psd_p11_curve_params(const psd_p11_curve *c, uint8_t **der, size_t *len);

/* ---- what the token can do (from C_GetMechanismList / C_GetMechanismInfo) ---- */
typedef struct psd_p11_caps {
    int rsa_gen, ec_gen;
    unsigned long rsa_min_bits, rsa_max_bits, ec_min_bits, ec_max_bits;
    int rsa_pkcs_sign, rsa_pkcs_decrypt, rsa_pss_sign, rsa_oaep_decrypt, rsa_x509_decrypt;
    int ecdsa_sign, ecdh_derive;
    int rng;
    int aes_gen, aes_gcm;
    unsigned long aes_min_bytes, aes_max_bytes;
} psd_p11_caps;

typedef struct psd_p11_session {
    ck_session_handle_t handle;
    int open;
    int busy;
    int stale; /* the token went away while busy: close on release */
} psd_p11_session;

struct psd_p11_keyent;

typedef struct psd_p11 {
    CK_FUNCTION_LIST *fn;
    int initialized;   /* C_Initialize succeeded */
    char *module_name; /* for messages */
    P11KitUri *uri;    /* token selection (NULL: fixed slot) */
    ck_slot_id_t slot;
    int fixed_slot;
    char token_label[33];
    int login_required;
    /* Kept only to log in again after the token drops the login state. */
    char *pin;
    size_t pin_len;

    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;
    psd_p11_session *sessions;
    size_t nsessions;
    int need_login;           /* pool_lock */
    int login_refused;        /* pool_lock: the token refused the PIN; never retry */
    unsigned long generation; /* bumped when object handles may be stale (atomic) */

    psd_p11_caps caps;
    /* Made at start-up (psd_p11_tables_make), read-only afterwards. */
    EC_GROUP *ec_groups[PSD_P11_CURVES]; /* by psd_p11_curve.index: peer point checks */
    EVP_MD *hash_md[PSD_P11_HASHES];     /* by psd_p11_hash.bit: OAEP */
    psd_p11_digest_info digest_info[PSD_P11_HASHES];
    /* Bits (psd_p11_hash.bit, +8 with a label) of OAEP parameters the token refused. */
    unsigned int oaep_refused; /* atomic */

    pthread_mutex_t cache_lock;
    struct psd_p11_keyent *cache[PSD_P11_CACHE_BUCKETS];

    /* Held around every call that creates or destroys token objects (psd_p11_run_exclusive). */
    pthread_mutex_t object_lock;

    /* Set by psd_p11_reconcile before any request: CKA_IDs name (store_tag, key id). */
    int have_store_tag;
    uint32_t store_tag;
    int remove_orphans;
} psd_p11;

/*
 * Make what every request would otherwise build again: st->ec_groups,
 * st->hash_md and st->digest_info (0 ok); psd_p11_tables_free frees them.
 */
int psd_p11_tables_make(psd_p11 *st);
void psd_p11_tables_free(psd_p11 *st);

/* ---- token, sessions, errors (psd_p11_token.c) ---- */
int psd_p11_open(psd_p11 *st, const psd_p11_config *cfg, char *err, size_t errlen);
void psd_p11_close(psd_p11 *st);
parsec_status psd_p11_status(CK_RV rv);
const char *psd_p11_rv_name(CK_RV rv);
unsigned long psd_p11_generation(psd_p11 *st);

/*
 * Run fn on a pooled, logged-in session. fn stores the CK_RV of a failing
 * PKCS#11 call in *rv (leave CKR_OK for other failures); when that value says
 * the session, login or device was lost, the pool recovers and fn runs once
 * more.
 */
typedef parsec_status (*psd_p11_op_fn)(psd_p11 *st, ck_session_handle_t s, void *ctx, CK_RV *rv);
parsec_status psd_p11_run(psd_p11 *st, psd_p11_op_fn fn, void *ctx);
/*
 * Same, for operations that create or destroy token objects: one at a time.
 * SoftHSM2's file object store fails concurrent C_GenerateKeyPair/C_CreateObject
 * with CKR_GENERAL_ERROR when other objects are created or destroyed at the
 * same moment (softhsm/SoftHSMv2 issue 573; the reference Parsec service
 * serialises its whole PKCS#11 provider for the same reason, parsec issue 264).
 * Key creation is rare and slow, so this costs nothing that matters; signing
 * and the other key uses stay concurrent.
 */
parsec_status psd_p11_run_exclusive(psd_p11 *st, psd_p11_op_fn fn, void *ctx);

/*
 * Call a PKCS#11 function of the module, remembering its name (per thread) so
 * that psd_p11_run can say which call failed with which CKR.
 */
extern __thread const char *psd_p11_last_call;
#define PSD_P11_CALL(st, name, ...) (psd_p11_last_call = #name, (st)->fn->name(__VA_ARGS__))

/* Read one attribute of any length (OPENSSL_malloc'd; NULL-terminated +1 byte). */
CK_RV psd_p11_get_attr(psd_p11 *st, ck_session_handle_t s, ck_object_handle_t obj,
                       ck_attribute_type_t type, uint8_t **out, size_t *outlen);

/* ---- keys (psd_p11_keys.c) ---- */
typedef struct psd_p11_objects {
    ck_object_handle_t priv; /* CK_INVALID_HANDLE for public-only keys; the secret key */
    ck_object_handle_t pub;
} psd_p11_objects;

parsec_status psd_p11_key_objects(psd_p11 *st, ck_session_handle_t s, const psd_key *key,
                                  psd_p11_objects *obj, CK_RV *rv);
/* The key's public part as an OpenSSL key (cached); EVP_PKEY_free the result. */
parsec_status psd_p11_key_public(psd_p11 *st, ck_session_handle_t s, const psd_key *key,
                                 EVP_PKEY **pkey, CK_RV *rv);
/* Same, taking a pooled session itself. */
parsec_status psd_p11_public(psd_p11 *st, const psd_key *key, EVP_PKEY **pkey);
void psd_p11_cache_drop(psd_p11 *st, uint64_t id);
void psd_p11_cache_clear(psd_p11 *st);

/* The blob the core stores: "P11", version, kind, 0, id length, CKA_ID. */
#define PSD_P11_BLOB_PAIR 1
#define PSD_P11_BLOB_PUBLIC 2
#define PSD_P11_BLOB_SECRET 3
parsec_status psd_p11_blob_make(psd_buf *blob, int kind, const uint8_t id[PSD_P11_ID_LEN]);

/* AES keys and AES-GCM (psd_p11_aead.c). */
int psd_p11_aes_ok(const psd_p11 *st, const parsec_key_attributes *a);
parsec_status psd_p11_secret_generate(psd_p11 *st, const parsec_key_attributes *attrs,
                                      const char *name, psd_buf *blob);
parsec_status psd_p11_secret_import(psd_p11 *st, const parsec_key_attributes *attrs,
                                    const char *name, const uint8_t *data, size_t len,
                                    psd_buf *blob);
parsec_status psd_p11_aead_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                   const psd_aead_input *in, psd_buf *out);
parsec_status psd_p11_aead_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                   const psd_aead_input *in, psd_buf *out);

parsec_status psd_p11_generate_key(void *state, uint64_t id, const char *name,
                                   const parsec_key_attributes *attrs, psd_buf *blob);
parsec_status psd_p11_import_key(void *state, uint64_t id, const char *name,
                                 const parsec_key_attributes *attrs, const uint8_t *data,
                                 size_t len, psd_buf *blob);
parsec_status psd_p11_export_public_key(void *state, const psd_key *key, psd_buf *out);
parsec_status psd_p11_destroy_key(void *state, const psd_key *key);
/*
 * CKA_ID of a new key: "psd", version 1, the store tag and the key id (big
 * endian), so start-up recovery can find a key's objects without its blob
 * and tell this store's objects from others'; random before the tag is known.
 */
#define PSD_P11_ID_MAGIC "psd\x01"
int psd_p11_key_ckid(const psd_p11 *st, uint64_t id, uint8_t ckid[PSD_P11_ID_LEN]);
/* Destroy every token object with this CKA_ID; *destroyed counts them. */
parsec_status psd_p11_destroy_ckid(psd_p11 *st, const uint8_t *ckid, unsigned long *destroyed);

/* ---- start-up recovery (psd_p11_reconcile.c) ---- */
parsec_status psd_p11_reconcile(void *state, uint32_t store_tag, const uint64_t *known,
                                size_t n_known, const uint64_t *pending, size_t n_pending);

/* ---- signatures (psd_p11_sign.c) ---- */
parsec_status psd_p11_sign_hash(void *state, const psd_key *key, const parsec_alg *alg,
                                const uint8_t *hash, size_t hashlen, psd_buf *sig);
parsec_status psd_p11_verify_hash(void *state, const psd_key *key, const parsec_alg *alg,
                                  const uint8_t *hash, size_t hashlen, const uint8_t *sig,
                                  size_t siglen);

/* ---- RSA encryption (psd_p11_cipher.c) ---- */
parsec_status psd_p11_asymmetric_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                         const uint8_t *in, size_t inlen, const uint8_t *salt,
                                         size_t saltlen, psd_buf *out);
parsec_status psd_p11_asymmetric_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                         const uint8_t *in, size_t inlen, const uint8_t *salt,
                                         size_t saltlen, psd_buf *out);

/* ---- key agreement and random (psd_p11_derive.c) ---- */
parsec_status psd_p11_raw_key_agreement(void *state, const psd_key *key, const parsec_alg *alg,
                                        const uint8_t *peer, size_t peerlen, psd_buf *out);
parsec_status psd_p11_generate_random(void *state, size_t size, psd_buf *out);

#endif
