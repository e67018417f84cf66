/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interface of libparsec-pkcs11.so, the PKCS#11 front-end of the
 * Parsec service: PKCS#11 2.40 calls in, Parsec requests out through
 * libparsec-client.
 *
 * Uses p11-kit's native ("GNU") PKCS#11 names like service/pkcs11/, so the
 * compatibility macros of pkcs11.h never rename fields of other headers.
 * The header is included with default visibility: the C_* functions it
 * declares are the module's only exports (pkcs11/libparsec-pkcs11.map).
 */
#ifndef PP11_H
#define PP11_H

#define CRYPTOKI_GNU 1

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#pragma GCC visibility push(default)
#include <p11-kit/pkcs11.h>
#pragma GCC visibility pop

#include "parsec_client.h"
#include "parsec_types.h"

#ifndef CK_TRUE
#define CK_TRUE 1
#define CK_FALSE 0
#endif

#define PP11_MANUFACTURER "Parsec"
#define PP11_LIBRARY_DESCRIPTION "Parsec PKCS#11 front-end"
#define PP11_CONF_ENV "PARSEC_PKCS11_CONF"
#define PP11_CONF_DEFAULT "/etc/parsec/pkcs11.conf"
#define PP11_DEBUG_ENV "PARSEC_PKCS11_DEBUG"
#define PP11_CERT_DIR_ENV "PARSEC_PKCS11_CERT_DIR"
#define PP11_ID_LEN 16
#define PP11_MAX_SLOTS 8
#define PP11_MAX_LABEL 255
/* Key sizes the tokens advertise and C_GenerateKeyPair accepts. */
#define PP11_RSA_MIN 1024
#define PP11_RSA_MAX 4096
#define PP11_EC_MIN 256
#define PP11_EC_MAX 521

/* ---- logging (stderr, only with $PARSEC_PKCS11_DEBUG or `debug = 1`) ---- */
extern int pp11_debug_enabled;
void pp11_log_at(const char *func, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define PP11_log(...)                                                                              \
    do {                                                                                           \
        if (pp11_debug_enabled)                                                                    \
            pp11_log_at(__func__, __VA_ARGS__);                                                    \
    } while (0)

/* ---- configuration (pp11_config.c) ---- */
typedef struct pp11_config {
    char *endpoint; /* NULL: $PARSEC_SERVICE_ENDPOINT or the default */
    int auth;       /* PARSEC_AUTH_NONE = discover, DIRECT, UNIX_PEER */
    char *app_name; /* direct authentication */
    char *tokens;   /* comma list of backend names to show, NULL = all */
    char *cert_dir; /* where certificates are kept, NULL = default */
    int keepalive;  /* keep-alive extension (docs/protocol-extensions.md), default on */
    int debug;
} pp11_config;

/*
 * Settings, later ones winning: the config file ($PARSEC_PKCS11_CONF, or
 * /etc/parsec/pkcs11.conf when it exists), then the C_Initialize reserved
 * string p11-kit passes (`x-init-reserved: key=value ...`).
 * Returns CKR_OK or CKR_ARGUMENTS_BAD (with the reason logged).
 */
ck_rv_t pp11_config_load(pp11_config *cfg, const char *reserved);
/* One `key = value`; 1 if the setting was understood, 0 if not (err says why). */
int pp11_config_set(pp11_config *cfg, const char *key, const char *value, char *err, size_t errlen);
void pp11_config_clear(pp11_config *cfg);

/* ---- template and mechanism parameter parsing (pp11_template.c; fuzzed) ---- */
/* Attribute of a template, NULL if absent. */
const struct ck_attribute *pp11_attr_find(const struct ck_attribute *tmpl, unsigned long count,
                                          ck_attribute_type_t type);
/* A CK_BBOOL/CK_ULONG attribute: CKR_OK (with *out set or left as default if absent),
 * CKR_ATTRIBUTE_VALUE_INVALID if the length is wrong. */
ck_rv_t pp11_attr_bool(const struct ck_attribute *tmpl, unsigned long count,
                       ck_attribute_type_t type, int *out);
ck_rv_t pp11_attr_ulong(const struct ck_attribute *tmpl, unsigned long count,
                        ck_attribute_type_t type, unsigned long *out);
/* Validates a template's shape: no NULL value with a length, no repeated type. */
ck_rv_t pp11_template_check(const struct ck_attribute *tmpl, unsigned long count);
/* CKA_EC_PARAMS (DER OID of a named curve) -> bits of a SECP R1 curve, 0 if not one. */
uint32_t pp11_curve_bits_from_params(const unsigned char *der, size_t len);
/* DER OID of the SECP R1 curve with `bits`; OPENSSL_free the result. */
int pp11_curve_params(uint32_t bits, unsigned char **der, size_t *len);
/* Hash of a CKM_SHA* mechanism or CKG_MGF1_* value, PARSEC_HASH_NONE if none. */
uint8_t pp11_hash_from_ckm(ck_mechanism_type_t mech);
uint8_t pp11_hash_from_mgf(ck_rsa_pkcs_mgf_type_t mgf);
ck_mechanism_type_t pp11_ckm_from_hash(uint8_t hash);
/* OpenSSL digest of a PARSEC_HASH_*, NULL if none. */
const EVP_MD *pp11_md(uint8_t hash);

/* What a mechanism asks of the service, once its parameters are checked. */
typedef struct pp11_mech {
    ck_mechanism_type_t type;
    int key_type;         /* CKK_RSA or CKK_EC */
    parsec_alg alg;       /* kind and scheme; hash 0 when it comes from the input */
    int hash_locally;     /* the mechanism hashes the data itself (CKM_SHA256_RSA_PKCS...) */
    unsigned char *label; /* OAEP source data (owned) */
    size_t label_len;
    unsigned char *peer; /* ECDH public point, uncompressed (owned) */
    size_t peer_len;
} pp11_mech;

/*
 * Checks a mechanism and its parameters for an operation (CKF_SIGN,
 * CKF_VERIFY, CKF_DECRYPT, CKF_ENCRYPT, CKF_DERIVE) and fills *out.
 * CKR_MECHANISM_INVALID for a mechanism the module does not offer for the
 * operation, CKR_MECHANISM_PARAM_INVALID for bad parameters.
 */
ck_rv_t pp11_mech_parse(const struct ck_mechanism *m, ck_flags_t op, pp11_mech *out);
void pp11_mech_clear(pp11_mech *m);
/*
 * A PKCS#1 DigestInfo (DER, exactly as RFC 8017 9.2 encodes it) -> hash and
 * the digest inside; 0 if the bytes are not one.
 */
int pp11_digest_info_parse(const unsigned char *in, size_t len, uint8_t *hash,
                           const unsigned char **digest, size_t *digest_len);

/* ---- keys of the service, as the module presents them (pp11_object.c) ---- */
typedef struct pp11_key {
    int refcount; /* atomic */
    char *name;
    uint8_t provider_id;
    parsec_key_attributes attrs;
    unsigned char id[PP11_ID_LEN];
    EVP_PKEY *pub; /* NULL if the service could not export it */
} pp11_key;

pp11_key *pp11_key_ref(pp11_key *key);
void pp11_key_free(pp11_key *key);
/* CKK_RSA / CKK_EC, or CKK_GENERIC_SECRET for keys the module cannot present. */
unsigned long pp11_key_cktype(const pp11_key *key);
/* Signature / modulus size in bytes. */
size_t pp11_key_sig_len(const pp11_key *key);

enum pp11_object_kind {
    PP11_OBJ_PRIVATE = 1,
    PP11_OBJ_PUBLIC,
    PP11_OBJ_CERT,
    PP11_OBJ_SECRET, /* a derived secret, session-only */
};

/* An attribute an object has; sensitive ones have no value (CKR_ATTRIBUTE_SENSITIVE). */
typedef struct pp11_attr {
    ck_attribute_type_t type;
    unsigned char *value;
    unsigned long len;
    int sensitive;
} pp11_attr;

typedef struct pp11_object {
    ck_object_handle_t handle;
    int kind;
    ck_slot_id_t slot;
    ck_session_handle_t session; /* 0 for token objects */
    int live;                    /* 0 once destroyed or gone from the service */
    pp11_key *key;               /* private/public key objects */
    char *cert_path;             /* certificates kept in a file */
    pp11_attr *attrs;
    size_t nattrs;
} pp11_object;

/* ---- sessions and their operations ---- */
enum pp11_op_kind {
    PP11_OP_NONE = 0,
    PP11_OP_SIGN,
    PP11_OP_VERIFY,
    PP11_OP_DECRYPT,
    PP11_OP_ENCRYPT,
    PP11_OP_DIGEST,
    PP11_OP_FIND
};

typedef struct pp11_op {
    int kind;
    pp11_mech mech;
    pp11_key *key;
    EVP_MD_CTX *md;          /* multi-part hashing */
    int multipart;           /* C_*Update was called */
    unsigned char *buffered; /* data of a multi-part op without local hashing */
    size_t buffered_len;
    unsigned char *result; /* a decrypted block kept for the second call */
    size_t result_len;
    ck_object_handle_t *found; /* C_FindObjects results */
    size_t nfound, found_pos;
} pp11_op;

typedef struct pp11_session {
    ck_session_handle_t handle;
    ck_slot_id_t slot;
    ck_flags_t flags;
    int refcount; /* under the module lock */
    int closed;
    pthread_mutex_t lock; /* one operation at a time on a session */
    pp11_op op;
    pp11_op find; /* search runs beside other operations */
} pp11_session;

typedef struct pp11_slot {
    ck_slot_id_t id; /* the Parsec provider ID */
    char uuid[37];
    char label[33];
    ck_mechanism_type_t mechs[32];
    struct ck_mechanism_info mech_info[32];
    size_t nmechs;
} pp11_slot;

/* The module's state; one per process. */
typedef struct pp11_module {
    int initialized;
    pid_t pid;
    pthread_mutex_t lock; /* tables below; never held across a service call */
    pp11_config cfg;
    parsec_client *client;
    char identity[96]; /* who we are to the service (IDs, cert file names) */
    int discovered;
    pp11_slot slots[PP11_MAX_SLOTS];
    size_t nslots;
    pp11_session **sessions;
    size_t nsessions;
    ck_session_handle_t next_session;
    int logged_in;
    pp11_object **objects; /* handle = index + 1 */
    size_t nobjects;
} pp11_module;

extern pp11_module pp11_mod;

/* ---- module internals (pp11_module.c, pp11_slot.c) ---- */
/* CKR_CRYPTOKI_NOT_INITIALIZED unless C_Initialize ran in this process. */
ck_rv_t pp11_check_initialized(void);
/* Discover the service's providers once; CKR_OK even if unreachable (no slots then). */
ck_rv_t pp11_discover(void);
const pp11_slot *pp11_slot_find(ck_slot_id_t id); /* call with the lock */
void pp11_discover_atfork_child(void);
/* Session by handle with a reference (release with pp11_session_release). */
ck_rv_t pp11_session_get(ck_session_handle_t h, pp11_session **out);
void pp11_session_release(pp11_session *s);
void pp11_op_clear(pp11_op *op);
/*
 * Session with its lock held and an active operation of `kind`
 * (CKR_OPERATION_NOT_INITIALIZED otherwise); end with pp11_session_op_done,
 * `keep` = 1 leaving the operation active (two-call length queries).
 */
ck_rv_t pp11_session_op(ck_session_handle_t session, int kind, pp11_session **s);
void pp11_session_op_done(pp11_session *s, int keep);
/* C_SignInit, C_VerifyInit, C_DecryptInit, C_EncryptInit (op: CKF_SIGN, ...). */
ck_rv_t pp11_op_init(ck_session_handle_t session, struct ck_mechanism *mechanism,
                     ck_object_handle_t key, ck_flags_t op);
void pp11_session_free_objects(ck_session_handle_t h); /* with the lock */
/* Parsec status -> the closest CKR. */
ck_rv_t pp11_ckr_from_status(parsec_status st);
/* Space-padded, not NUL-terminated, as every PKCS#11 string field. */
void pp11_pad(unsigned char *field, size_t size, const char *text);
/* "software", "pkcs11", "tpm" or NULL. */
const char *pp11_backend_name(uint8_t id);

/* ---- objects (pp11_object.c) ---- */
/* Refresh the token's objects from ListKeys and the certificate directory (takes the lock). */
ck_rv_t pp11_objects_refresh(ck_slot_id_t slot);
/* Object by handle, visible to session s; with the lock held. */
pp11_object *pp11_object_get(const pp11_session *s, ck_object_handle_t h);
/* Key of a key object (kind PP11_OBJ_*, 0 = either half) with a reference, or an error CKR. */
ck_rv_t pp11_object_key(const pp11_session *s, ck_object_handle_t h, int kind, pp11_key **key);
/* Adds an object to the table (with the lock held); returns its handle or 0. */
ck_object_handle_t pp11_object_add(pp11_object *obj);
void pp11_object_free(pp11_object *obj);
void pp11_objects_free_all(void);
/* Appends a copy of an attribute; a NULL value makes it sensitive (never readable). */
int pp11_attr_list_add(pp11_attr **list, size_t *n, ck_attribute_type_t type, const void *value,
                       unsigned long len);
int pp11_add_bool(pp11_attr **list, size_t *n, ck_attribute_type_t type, int value);
int pp11_add_ulong(pp11_attr **list, size_t *n, ck_attribute_type_t type, unsigned long value);
/*
 * A destroyed object keeps only its place in the table (handles are never
 * reused); what it held, secrets included, goes at once. With the lock.
 */
void pp11_object_kill(pp11_object *obj);
/* Match an object against a search template. */
int pp11_object_matches(const pp11_object *obj, const struct ck_attribute *tmpl,
                        unsigned long count);
/* Mechanisms a key's policy allows (for CKA_ALLOWED_MECHANISMS and checks). */
size_t pp11_key_mechanisms(const pp11_key *key, ck_mechanism_type_t *out, size_t max);
/*
 * Whether a key may run a parsed mechanism for an operation (CKF_SIGN, ...):
 * CKR_KEY_TYPE_INCONSISTENT for the wrong key type, CKR_KEY_FUNCTION_NOT_PERMITTED
 * when the key's Parsec policy or usage does not allow it.
 */
ck_rv_t pp11_key_permits(const pp11_key *key, const pp11_mech *mech, ck_flags_t op);
/*
 * The Parsec algorithm for signing with `key` under a mechanism's scheme and
 * a hash (0 = not known yet); 0 if the key's policy has no such scheme.
 */
int pp11_sign_alg(const pp11_key *key, uint8_t scheme, uint8_t hash, parsec_alg *req);
/* ---- certificates (pp11_cert.c), with the lock held ---- */
/* Certificates of a slot from their directory: new files appear, removed ones go. */
void pp11_certs_refresh(ck_slot_id_t slot);
/* Stores a certificate (C_CreateObject, template already checked). */
ck_rv_t pp11_cert_create(const pp11_session *s, const struct ck_attribute *tmpl,
                         unsigned long count, ck_object_handle_t *handle);

/* Forget cached keys of a slot so the next refresh asks the service again. */
void pp11_objects_forget_key(ck_slot_id_t slot, const char *name);

#endif
