/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signature context shared by the RSA and ECDSA implementations: hashing
 * happens here in software (child libctx), only the hash goes to the
 * service; verification never needs the service.
 */
#ifndef PPROV_SIG_H
#define PPROV_SIG_H

#include <openssl/core.h>
#include <openssl/evp.h>

#include "pprov.h"

typedef struct pprov_sig_ctx pprov_sig_ctx;

/* What differs between RSA and ECDSA. */
typedef struct pprov_sig_alg {
    const char *name; /* for messages */
    int key_types;    /* bit mask of (1 << PPROV_KEY_*) accepted */
    /* Called at every (re)init: reset algorithm params from the key's policy. */
    void (*init_defaults)(pprov_sig_ctx *sctx);
    /* Max signature size. */
    size_t (*max_size)(const pprov_sig_ctx *sctx);
    /* Sign a hash (md may be NULL: infer from length / policy) in the service. */
    int (*sign_hash)(pprov_sig_ctx *sctx, const unsigned char *tbs, size_t tbslen,
                     unsigned char *sig, size_t *siglen, size_t sigsize);
    /* Put algorithm params (padding etc.) on a software verify context of `pub`. */
    int (*setup_verify)(pprov_sig_ctx *sctx, EVP_PKEY_CTX *vctx);
    /* DER AlgorithmIdentifier for the current settings; OPENSSL_free *der. */
    int (*algorithm_id)(pprov_sig_ctx *sctx, unsigned char **der, size_t *derlen);
    int (*get_params)(pprov_sig_ctx *sctx, OSSL_PARAM params[]);
    int (*set_params)(pprov_sig_ctx *sctx, const OSSL_PARAM params[]);
} pprov_sig_alg;

struct pprov_sig_ctx {
    pprov_ctx *ctx;
    const pprov_sig_alg *alg;
    char *propq;
    pprov_key *key;
    int operation;      /* EVP_PKEY_OP_SIGN or EVP_PKEY_OP_VERIFY */
    EVP_MD *md;         /* NULL until set or digest-init */
    EVP_MD_CTX *mdctx;  /* digest-sign/verify running hash */
    int digest_updated; /* the digest can no longer change */

    /* RSA only. */
    int pad_mode; /* RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING, ... */
    /*
     * The padding is only ours to choose (the key's policy) once the caller
     * set it or asked for it (pad-mode, AlgorithmIdentifier): a caller that
     * did neither labels the signature with OpenSSL's default, PKCS#1 v1.5.
     */
    int pad_explicit;
    int pad_reported;
    int saltlen;     /* RSA_PSS_SALTLEN_* or a byte count */
    EVP_MD *mgf1_md; /* NULL: same as md */
};

/* The PARSEC_HASH_* of an OpenSSL digest, PARSEC_HASH_NONE if Parsec has none. */
uint8_t pprov_sig_parsec_hash(const EVP_MD *md);
/* Fetch a digest in the child libctx and make it the context's. */
int pprov_sig_set_md(pprov_sig_ctx *sctx, const char *mdname, const char *props);
EVP_MD *pprov_sig_fetch_md(pprov_sig_ctx *sctx, const char *mdname, const char *props);
/* PARSEC_HASH_* to sign tbs with: the md's, or inferred from the length when no md is set. */
uint8_t pprov_sig_hash_for(pprov_sig_ctx *sctx, size_t tbslen);
/*
 * Check the key's usage and single permitted algorithm against `req` and
 * raise a clear error naming both when they disagree.
 */
int pprov_sig_check_policy(pprov_sig_ctx *sctx, const parsec_alg *req);
/* parsec_sign_hash with error reporting; *out is parsec_free'd by the caller. */
int pprov_sig_service_sign(pprov_sig_ctx *sctx, const parsec_alg *alg, const unsigned char *hash,
                           size_t hashlen, uint8_t **out, size_t *outlen);

/* EVP_PKEY_get_size of the public half: the largest signature (DER for ECDSA) it makes. */
size_t pprov_sig_pub_max_size(const pprov_sig_ctx *sctx);
/* DER of an AlgorithmIdentifier into *der (OPENSSL_free'd by the caller). */
int pprov_sig_algor_der(const X509_ALGOR *alg, unsigned char **der, size_t *derlen);

/* Context parameters pprov_sig_get_ctx_params / pprov_sig_set_ctx_params handle for all. */
#define PPROV_SIG_COMMON_GETTABLE                                                                  \
    OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),                           \
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),                              \
        OSSL_PARAM_size_t(OSSL_SIGNATURE_PARAM_DIGEST_SIZE, NULL)

#define PPROV_SIG_COMMON_SETTABLE                                                                  \
    OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),                                  \
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, NULL, 0)

/* Generic dispatch functions, parameterised by the context's algorithm. */
void *pprov_sig_newctx(void *provctx, const char *propq, const pprov_sig_alg *alg);
OSSL_FUNC_signature_freectx_fn pprov_sig_freectx;
OSSL_FUNC_signature_dupctx_fn pprov_sig_dupctx;
OSSL_FUNC_signature_sign_init_fn pprov_sig_sign_init;
OSSL_FUNC_signature_sign_fn pprov_sig_sign;
OSSL_FUNC_signature_verify_init_fn pprov_sig_verify_init;
OSSL_FUNC_signature_verify_fn pprov_sig_verify;
OSSL_FUNC_signature_digest_sign_init_fn pprov_sig_digest_sign_init;
OSSL_FUNC_signature_digest_sign_update_fn pprov_sig_digest_update;
OSSL_FUNC_signature_digest_sign_final_fn pprov_sig_digest_sign_final;
OSSL_FUNC_signature_digest_sign_fn pprov_sig_digest_sign;
OSSL_FUNC_signature_digest_verify_init_fn pprov_sig_digest_verify_init;
OSSL_FUNC_signature_digest_verify_final_fn pprov_sig_digest_verify_final;
OSSL_FUNC_signature_digest_verify_fn pprov_sig_digest_verify;
OSSL_FUNC_signature_get_ctx_params_fn pprov_sig_get_ctx_params;
OSSL_FUNC_signature_set_ctx_params_fn pprov_sig_set_ctx_params;

#endif
