/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal interface of the parsec OpenSSL provider (parsec.so), shared by
 * provider/, keymgmt/, signature/, asymcipher/, keyexch/, store/, encoder/
 * and decoder/.
 */
#ifndef PPROV_H
#define PPROV_H

#include <stdint.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "parsec_client.h"
#include "parsec_types.h"

#define PPROV_NAME "Parsec OpenSSL Provider"
#define PPROV_PROPS "provider=parsec"
/* Store URI scheme and key-reference PEM label. */
#define PPROV_URI_SCHEME "parsec"
#define PPROV_PEM_LABEL "PARSEC KEY REFERENCE"
/* Compatible with the Rust parsec-openssl-provider's EVP_PKEY_fromdata param. */
#define PPROV_PARAM_KEY_NAME "parsec_provider_key_name"
/* Our gen/fromdata params: which Parsec provider (backend) holds the key. */
#define PPROV_PARAM_BACKEND "parsec_backend"
/*
 * Key generation params (documented in docs/provider.md). The key's name is
 * PPROV_PARAM_GEN_KEY_NAME; PPROV_PARAM_KEY_NAME is accepted too, for programs
 * written against the Rust parsec-openssl-provider.
 */
#define PPROV_PARAM_GEN_KEY_NAME "parsec_key_name"
#define PPROV_PARAM_GEN_POLICY "parsec_policy"
#define PPROV_PARAM_GEN_HASH "parsec_hash"
/* Read-only key params (EVP_PKEY_get_utf8_string_param / get_int_param). */
#define PPROV_PARAM_KEY_BACKEND_ID "parsec_backend_id"
#define PPROV_PARAM_KEY_POLICY "parsec_policy"

/*
 * Property query for the provider's own fetches (digests, public-key
 * operations) in its child library context: anything but ourselves.
 */
#define PPROV_FETCH_PROPQ "provider!=parsec"
/* DER structure name of a key reference: decoder property "structure=parsec". */
#define PPROV_DER_STRUCTURE "parsec"

/* OpenSSL name lists, the standard aliases so EVP_PKEY_is_a() and libssl agree. */
#define PPROV_NAMES_RSA "RSA:rsaEncryption:1.2.840.113549.1.1.1"
#define PPROV_NAMES_RSA_PSS "RSA-PSS:RSASSA-PSS:1.2.840.113549.1.1.10"
#define PPROV_NAMES_EC "EC:id-ecPublicKey:1.2.840.10045.2.1"

typedef struct pprov_ctx pprov_ctx;

enum pprov_key_type { PPROV_KEY_RSA = 1, PPROV_KEY_RSA_PSS = 2, PPROV_KEY_EC = 3 };

/*
 * A key reference. Refcounted: the store/decoder hand a pointer to keymgmt
 * load, which takes its own reference. Immutable once published, so it is
 * shared between threads without locking.
 *
 * A key whose name is NULL is a public-only key (imported from a
 * certificate or peer): it verifies/encrypts in software through `pub`
 * and never talks to the service.
 */
typedef struct pprov_key {
    pprov_ctx *ctx;
    int refcount;                /* atomic */
    int type;                    /* enum pprov_key_type */
    char *name;                  /* Parsec key name; NULL for a public-only key */
    uint8_t provider_id;         /* Parsec provider (backend) that holds it */
    parsec_key_attributes attrs; /* policy as the service reports it */
    EVP_PKEY *pub;               /* the public half, in the child libctx (never parsec) */
    uint32_t magic;              /* PPROV_KEY_MAGIC: checks keymgmt load references */
} pprov_key;

#define PPROV_KEY_MAGIC 0x50505256u /* "PPRV" */

pprov_key *pprov_key_new(pprov_ctx *ctx, int type);
pprov_key *pprov_key_ref(pprov_key *key);
void pprov_key_free(pprov_key *key); /* NULL-safe; drops one reference */
/* 1 if the private half is held by the service (the key can sign/decrypt/derive). */
int pprov_key_has_private(const pprov_key *key);
/* Bits of the key (modulus or curve size). */
int pprov_key_bits(const pprov_key *key);
/* Look a key up in the service by name: attributes, backend, public key. */
pprov_key *pprov_key_load_by_name(pprov_ctx *ctx, const char *name, int expected_type);
/*
 * Same, and when backend != PARSEC_PROVIDER_DEFAULT require the key to be
 * held by that Parsec provider. expected_type 0 = any; an RSA key loaded
 * with PPROV_KEY_RSA_PSS is presented to OpenSSL as an RSA-PSS key.
 */
pprov_key *pprov_key_load(pprov_ctx *ctx, const char *name, uint8_t backend, int expected_type);
/* Build `pub` from the service's public-key export (PSA format); 1 on success. */
int pprov_key_set_public_from_psa(pprov_key *key, const uint8_t *data, size_t len);
/* OpenSSL algorithm name of a key type: "RSA", "RSA-PSS", "EC". */
const char *pprov_key_type_name(int type);
/* OpenSSL group name of a Parsec curve ("P-256", "brainpoolP384r1"), NULL if not presented. */
const char *pprov_curve_name(uint8_t family, uint32_t bits);
/* Any OpenSSL name of such a curve -> its Parsec family and size; 0 if unknown. */
int pprov_curve_lookup(const char *name, uint8_t *family, uint32_t *bits);
/* Curve name ("P-256") of an EC key, NULL otherwise. */
const char *pprov_key_group_name(const pprov_key *key);

/*
 * OSSL_OBJECT_PARAM_REFERENCE hand-off between store/decoder and keymgmt
 * load: the bytes are the key pointer itself, sized sizeof(pprov_key) so no
 * other provider's load() mistakes it for one of its own references.
 * The holder keeps its reference alive during the callback.
 */
void pprov_key_to_reference(pprov_key *key, const void **ref, size_t *refsz);
pprov_key *pprov_key_from_reference(const void *ref, size_t refsz); /* borrowed */
/* Hand `key` to a store/decoder callback as an OSSL_OBJECT_PKEY reference. */
int pprov_key_emit_reference(pprov_key *key, OSSL_CALLBACK *cb, void *cbarg);

/* Human-readable policy: "RsaPss(any hash), usage sign_hash,verify_hash". */
void pprov_describe_policy(const parsec_key_attributes *attrs, char *buf, size_t len);
/* Human-readable algorithm: "RsaPss(SHA256)". */
void pprov_describe_alg(const parsec_alg *alg, char *buf, size_t len);
/* Backend names: "software" (1), "pkcs11" (2), "tpm" (3), else the number. */
const char *pprov_backend_name(uint8_t id);
/* "software"|"pkcs11"|"tpm"|"mbed-crypto"|decimal ID -> id; 0 on bad input. */
int pprov_backend_parse(const char *text, uint8_t *id);

/* ---- key-reference DER/PEM (provider/pprov_keyref.c) ---- */
/* DER of the reference for key (no secret inside); OPENSSL_free the result. */
int pprov_keyref_encode(const pprov_key *key, unsigned char **der, size_t *derlen);
/*
 * Parse a reference. Returns 1 with *name (OPENSSL_free), *backend (0 if
 * absent) and *type (0 if absent); 0 if the bytes are not a reference
 * (no error left on the queue).
 */
int pprov_keyref_decode(const unsigned char *der, size_t derlen, char **name, uint8_t *backend,
                        int *type);

/*
 * The provider's child library context (OSSL_LIB_CTX_new_child):
 * use it for our own fetches (with PPROV_FETCH_PROPQ), for `pub` keys and
 * for BIO_new_from_core_bio().
 */
OSSL_LIB_CTX *pprov_libctx(pprov_ctx *ctx);
const OSSL_CORE_HANDLE *pprov_core_handle(pprov_ctx *ctx);
/* Parsec provider for new keys (config `backend`); PARSEC_PROVIDER_DEFAULT if unset. */
uint8_t pprov_default_backend(pprov_ctx *ctx);
/* Who we are to the service, for messages: "application 'x'", "uid 1000", "no authentication". */
const char *pprov_identity(pprov_ctx *ctx);
const char *pprov_endpoint(pprov_ctx *ctx);
/* Error marks through the core (speculative work whose errors must not leak). */
void pprov_set_error_mark(pprov_ctx *ctx);
void pprov_pop_error_to_mark(pprov_ctx *ctx);
void pprov_clear_last_error_mark(pprov_ctx *ctx);
/*
 * The Parsec client, configured from openssl.cnf/env at init and discovered
 * lazily on first use (never in OSSL_provider_init). Fork-safe.
 * Returns NULL (and raises an error) if the service cannot be reached.
 */
parsec_client *pprov_client(pprov_ctx *ctx);

/* ---- errors: reason codes with a string table (pprov_reason_strings, pprov_provider.c) ---- */
enum pprov_reason {
    PPROV_R_SERVICE_UNAVAILABLE = 1,
    PPROV_R_KEY_NOT_FOUND,
    PPROV_R_NOT_PERMITTED,
    PPROV_R_OPERATION_FAILED,
    PPROV_R_UNSUPPORTED,
    PPROV_R_INVALID_ARGUMENT,
    PPROV_R_BAD_KEY_REFERENCE,
    PPROV_R_MALLOC_FAILURE,
    PPROV_R_PRIVATE_EXPORT_REFUSED,
    PPROV_R_BUFFER_TOO_SMALL,
    PPROV_R_INVALID_SIGNATURE,
    PPROV_R_CONFIG,
    PPROV_R_AUTHENTICATION,
    PPROV_R_ALREADY_EXISTS,
    PPROV_R_WRONG_KEY_TYPE,
    PPROV_R_MAX
};

/* Map a Parsec status to the closest reason code. */
int pprov_reason_from_status(parsec_status st);

/* ctx is required: the provider context is the only way to the caller's error queue. */
void pprov_raise_at(pprov_ctx *ctx, const char *file, int line, const char *func, int reason,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7), nonnull(1)));
#define PPROV_raise(ctx, reason, ...)                                                              \
    pprov_raise_at((ctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (reason), __VA_ARGS__)
/*
 * What the client library knows beyond the status of this thread's last
 * failed call (socket path and errno, the service's authenticator) and the
 * openssl.cnf setting to change, as ": ..." for appending; "" if nothing.
 */
const char *pprov_status_detail(pprov_ctx *ctx, parsec_status st, char *buf, size_t len);
/* Raise for a failed Parsec call: reason from the status, text names the status, key and cause. */
#define PPROV_raise_status(ctx, st, what, keyname)                                                 \
    do {                                                                                           \
        char pprov_detail_[640];                                                                   \
        PPROV_raise((ctx), pprov_reason_from_status(st), "%s of key '%s': %s (%s)%s", (what),      \
                    (keyname) ? (keyname) : "?", parsec_status_message(st),                        \
                    parsec_status_name(st),                                                        \
                    pprov_status_detail((ctx), (st), pprov_detail_, sizeof(pprov_detail_)));       \
    } while (0)

/*
 * Debug log to stderr (or PARSEC_PROVIDER_DEBUG=file:PATH), enabled by the
 * env var or the `debug` config key; cheap when off. Level 1: errors and
 * service calls, 2: + every operation.
 */
extern int pprov_debug_level;
void pprov_debug_at(const char *func, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define PPROV_debug(...)                                                                           \
    do {                                                                                           \
        if (pprov_debug_level > 0)                                                                 \
            pprov_debug_at(OPENSSL_FUNC, __VA_ARGS__);                                             \
    } while (0)

/* Dispatch tables each operation folder provides (one per algorithm family). */
extern const OSSL_DISPATCH pprov_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH pprov_rsapss_keymgmt_functions[];
extern const OSSL_DISPATCH pprov_ec_keymgmt_functions[];
extern const OSSL_DISPATCH pprov_rsa_signature_functions[];
extern const OSSL_DISPATCH pprov_ecdsa_signature_functions[];
extern const OSSL_DISPATCH pprov_rsa_asym_cipher_functions[];
extern const OSSL_DISPATCH pprov_ecdh_keyexch_functions[];
extern const OSSL_DISPATCH pprov_store_functions[];
extern const OSSL_DISPATCH pprov_rand_functions[];
/* encoder/ and decoder/ (the same tables serve RSA, RSA-PSS and EC). */
extern const OSSL_DISPATCH pprov_keyref_pem_encoder_functions[];
extern const OSSL_DISPATCH pprov_keyref_der_encoder_functions[];
extern const OSSL_DISPATCH pprov_spki_pem_encoder_functions[];
extern const OSSL_DISPATCH pprov_spki_der_encoder_functions[];
extern const OSSL_DISPATCH pprov_text_encoder_functions[];
extern const OSSL_DISPATCH pprov_pem_decoder_functions[];
extern const OSSL_DISPATCH pprov_rsa_keyref_decoder_functions[];
extern const OSSL_DISPATCH pprov_rsapss_keyref_decoder_functions[];
extern const OSSL_DISPATCH pprov_ec_keyref_decoder_functions[];

/* Algorithm tables owned by asymcipher/ and keyexch/ (query_operation returns them). */
extern const OSSL_ALGORITHM pprov_asym_cipher_algorithms[];
extern const OSSL_ALGORITHM pprov_keyexch_algorithms[];

#endif
