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
 */
typedef struct pprov_key {
    pprov_ctx *ctx;
    int refcount;                 /* atomic */
    int type;                     /* enum pprov_key_type */
    char *name;                   /* Parsec key name; NULL for a public-only key */
    uint8_t provider_id;          /* Parsec provider (backend) that holds it */
    parsec_key_attributes attrs;  /* policy as the service reports it */
    EVP_PKEY *pub;                /* the public half, in the default provider */
} pprov_key;

pprov_key *pprov_key_new(pprov_ctx *ctx, int type);
pprov_key *pprov_key_ref(pprov_key *key);
void pprov_key_free(pprov_key *key); /* NULL-safe; drops one reference */
int pprov_key_has_private(const pprov_key *key);
/* Bits of the key (modulus or curve size). */
int pprov_key_bits(const pprov_key *key);
/* Look a key up in the service by name: attributes, backend, public key. */
pprov_key *pprov_key_load_by_name(pprov_ctx *ctx, const char *name, int expected_type);

/* The library context the provider was loaded into, and a child one for our own fetches. */
OSSL_LIB_CTX *pprov_libctx(pprov_ctx *ctx);
/*
 * The Parsec client, configured from openssl.cnf/env at init and discovered
 * lazily on first use (never in OSSL_provider_init). Fork-safe.
 * Returns NULL (and raises an error) if the service cannot be reached.
 */
parsec_client *pprov_client(pprov_ctx *ctx);

/* ---- errors: reason codes with a string table (provider/pprov_err.c) ---- */
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
    PPROV_R_MAX
};

/* Map a Parsec status to the closest reason code. */
int pprov_reason_from_status(parsec_status st);

void pprov_raise_at(pprov_ctx *ctx, const char *file, int line, const char *func, int reason,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define PPROV_raise(ctx, reason, ...) \
    pprov_raise_at((ctx), OPENSSL_FILE, OPENSSL_LINE, OPENSSL_FUNC, (reason), __VA_ARGS__)
/* Raise for a failed Parsec call: reason from the status, text names the status and key. */
#define PPROV_raise_status(ctx, st, what, keyname)                                            \
    PPROV_raise((ctx), pprov_reason_from_status(st), "%s of key '%s': %s (%s)", (what),       \
                (keyname) ? (keyname) : "?", parsec_status_message(st), parsec_status_name(st))

/* Debug log to stderr (or PARSEC_PROVIDER_DEBUG=file:PATH), enabled by the env var; cheap when off. */
extern int pprov_debug_level;
void pprov_debug_at(const char *func, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define PPROV_debug(...)                                  \
    do {                                                  \
        if (pprov_debug_level > 0)                        \
            pprov_debug_at(OPENSSL_FUNC, __VA_ARGS__);    \
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

/* Algorithm tables owned by asymcipher/ and keyexch/ (query_operation returns them). */
extern const OSSL_ALGORITHM pprov_asym_cipher_algorithms[];
extern const OSSL_ALGORITHM pprov_keyexch_algorithms[];

#endif
