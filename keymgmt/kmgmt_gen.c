/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key generation (openssl genpkey -propquery provider=parsec): the key is
 * generated inside the Parsec service with exactly one permitted
 * algorithm, then looked up like any other key.
 *
 * Policies (gen param "parsec_policy", see docs/provider.md):
 *   RSA:      pss (default), pkcs1, oaep, pkcs1-decrypt
 *   RSA-PSS:  pss
 *   EC:       ecdsa (default), deterministic-ecdsa, ecdh
 * RSA defaults to RSA-PSS signing because a Parsec key permits one scheme
 * only and TLS 1.3 accepts nothing but PSS from RSA keys.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "pprov_kmgmt.h"

typedef struct {
    pprov_ctx *ctx;
    int type;
    size_t bits;        /* RSA modulus or EC curve size */
    uint8_t ecc_family; /* Parsec curve family of EC keys */
    char *name;
    uint8_t backend;
    char *policy; /* NULL: the type's default */
    uint8_t hash; /* PARSEC_HASH_ANY unless pinned */
} pprov_gen_ctx;

void *pprov_kmgmt_gen_init(void *provctx, int selection, const OSSL_PARAM params[], int type)
{
    pprov_gen_ctx *gctx;

    /* Only whole key pairs can be generated; domain parameters are named curves. */
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0) {
        PPROV_raise(provctx, PPROV_R_UNSUPPORTED,
                    "the Parsec provider only generates key pairs (no parameter generation)");
        return NULL;
    }
    gctx = OPENSSL_zalloc(sizeof(*gctx));
    if (gctx == NULL)
        return NULL;
    gctx->ctx = provctx;
    gctx->type = type;
    gctx->bits = type == PPROV_KEY_EC ? 256 : 2048;
    gctx->ecc_family = PARSEC_ECC_FAMILY_SECP_R1;
    gctx->backend = pprov_default_backend(provctx);
    gctx->hash = PARSEC_HASH_ANY;
    if (!pprov_kmgmt_gen_set_params(gctx, params)) {
        pprov_kmgmt_gen_cleanup(gctx);
        return NULL;
    }
    return gctx;
}

void pprov_kmgmt_gen_cleanup(void *genctx)
{
    pprov_gen_ctx *gctx = genctx;

    if (gctx == NULL)
        return;
    OPENSSL_free(gctx->name);
    OPENSSL_free(gctx->policy);
    OPENSSL_free(gctx);
}

static int pprov_gen_set_string(pprov_gen_ctx *gctx, const OSSL_PARAM *p, char **dst)
{
    const char *v = NULL;

    if (!OSSL_PARAM_get_utf8_string_ptr(p, &v)) {
        PPROV_raise(gctx->ctx, PPROV_R_INVALID_ARGUMENT,
                    "key generation parameter '%s' must be a string", p->key);
        return 0;
    }
    OPENSSL_free(*dst);
    *dst = OPENSSL_strdup(v);
    return *dst != NULL;
}

static int pprov_gen_set_hash(pprov_gen_ctx *gctx, const OSSL_PARAM *p)
{
    const char *v = NULL;
    uint8_t hash;

    if (!OSSL_PARAM_get_utf8_string_ptr(p, &v)) {
        PPROV_raise(gctx->ctx, PPROV_R_INVALID_ARGUMENT, "'%s' must be a digest name", p->key);
        return 0;
    }
    if (strcasecmp(v, "any") == 0) {
        gctx->hash = PARSEC_HASH_ANY;
        return 1;
    }
    hash = parsec_hash_from_ossl_name(v);
    if (hash == PARSEC_HASH_NONE) {
        PPROV_raise(gctx->ctx, PPROV_R_INVALID_ARGUMENT, "unknown digest '%s' for '%s'", v, p->key);
        return 0;
    }
    gctx->hash = hash;
    return 1;
}

int pprov_kmgmt_gen_set_params(void *genctx, const OSSL_PARAM params[])
{
    pprov_gen_ctx *gctx = genctx;
    const OSSL_PARAM *p;

    if (params == NULL)
        return 1;
    for (p = params; p->key != NULL; p++) {
        if (strcmp(p->key, PPROV_PARAM_GEN_KEY_NAME) == 0 ||
            strcmp(p->key, PPROV_PARAM_KEY_NAME) == 0) {
            if (!pprov_gen_set_string(gctx, p, &gctx->name))
                return 0;
        } else if (strcmp(p->key, PPROV_PARAM_BACKEND) == 0) {
            const char *v = NULL;

            if (!OSSL_PARAM_get_utf8_string_ptr(p, &v) || !pprov_backend_parse(v, &gctx->backend)) {
                PPROV_raise(gctx->ctx, PPROV_R_INVALID_ARGUMENT,
                            "invalid " PPROV_PARAM_BACKEND
                            " '%s' (use software, pkcs11, tpm or an ID)",
                            v != NULL ? v : "?");
                return 0;
            }
        } else if (strcmp(p->key, PPROV_PARAM_GEN_POLICY) == 0) {
            if (!pprov_gen_set_string(gctx, p, &gctx->policy))
                return 0;
        } else if (strcmp(p->key, PPROV_PARAM_GEN_HASH) == 0 ||
                   (gctx->type == PPROV_KEY_RSA_PSS &&
                    (strcmp(p->key, OSSL_PKEY_PARAM_RSA_DIGEST) == 0 ||
                     strcmp(p->key, OSSL_PKEY_PARAM_RSA_MGF1_DIGEST) == 0))) {
            if (!pprov_gen_set_hash(gctx, p))
                return 0;
        } else if (gctx->type != PPROV_KEY_EC && strcmp(p->key, OSSL_PKEY_PARAM_RSA_BITS) == 0) {
            if (!OSSL_PARAM_get_size_t(p, &gctx->bits) || gctx->bits < 1024 || gctx->bits > 16384) {
                PPROV_raise(gctx->ctx, PPROV_R_INVALID_ARGUMENT,
                            "RSA key size must be between 1024 and 16384 bits");
                return 0;
            }
        } else if (gctx->type != PPROV_KEY_EC && strcmp(p->key, OSSL_PKEY_PARAM_RSA_PRIMES) == 0) {
            size_t primes = 0;

            if (!OSSL_PARAM_get_size_t(p, &primes) || primes != 2) {
                PPROV_raise(gctx->ctx, PPROV_R_UNSUPPORTED,
                            "Parsec generates two-prime RSA keys only");
                return 0;
            }
        } else if (gctx->type != PPROV_KEY_EC && strcmp(p->key, OSSL_PKEY_PARAM_RSA_E) == 0) {
            BIGNUM *e = NULL;
            int ok = OSSL_PARAM_get_BN(p, &e) && BN_is_word(e, 65537);

            BN_free(e);
            if (!ok) {
                PPROV_raise(gctx->ctx, PPROV_R_UNSUPPORTED,
                            "Parsec generates RSA keys with public exponent 65537 only");
                return 0;
            }
        } else if (gctx->type == PPROV_KEY_EC && strcmp(p->key, OSSL_PKEY_PARAM_GROUP_NAME) == 0) {
            const char *group = NULL;
            uint32_t bits = 0;

            if (!OSSL_PARAM_get_utf8_string_ptr(p, &group) ||
                !pprov_curve_lookup(group, &gctx->ecc_family, &bits)) {
                PPROV_raise(gctx->ctx, PPROV_R_UNSUPPORTED,
                            "unsupported curve '%s' (Parsec keys use P-256, P-384, P-521, "
                            "secp256k1, brainpoolP256r1, brainpoolP384r1 or brainpoolP512r1)",
                            group != NULL ? group : "?");
                return 0;
            }
            gctx->bits = bits;
        }
        /* Anything else (EC encoding, point format, PSS saltlen) has no Parsec meaning. */
    }
    return 1;
}

static int pprov_gen_policy(pprov_gen_ctx *gctx, parsec_key_attributes *attrs)
{
    const char *policy = gctx->policy;
    const uint32_t sign_usage = PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH |
                                PARSEC_USAGE_SIGN_MESSAGE | PARSEC_USAGE_VERIFY_MESSAGE;

    if (policy == NULL)
        policy = gctx->type == PPROV_KEY_EC ? "ecdsa" : "pss";

    if (gctx->type == PPROV_KEY_EC) {
        if (strcasecmp(policy, "ecdsa") == 0 || strcasecmp(policy, "deterministic-ecdsa") == 0) {
            attrs->usage = sign_usage;
            attrs->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
            attrs->alg.scheme = strcasecmp(policy, "ecdsa") == 0 ? PARSEC_SIGN_ECDSA
                                                                 : PARSEC_SIGN_DETERMINISTIC_ECDSA;
            attrs->alg.hash = gctx->hash;
            return 1;
        }
        if (strcasecmp(policy, "ecdh") == 0) {
            attrs->usage = PARSEC_USAGE_DERIVE;
            attrs->alg.kind = PARSEC_ALG_KEY_AGREEMENT;
            attrs->alg.scheme = PARSEC_KA_ECDH;
            return 1;
        }
        PPROV_raise(gctx->ctx, PPROV_R_INVALID_ARGUMENT,
                    "unknown EC key policy '%s' (use ecdsa, deterministic-ecdsa or ecdh)", policy);
        return 0;
    }

    if (strcasecmp(policy, "pss") == 0 || strcasecmp(policy, "rsa-pss") == 0) {
        attrs->usage = sign_usage;
        attrs->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
        attrs->alg.scheme = PARSEC_SIGN_RSA_PSS;
        attrs->alg.hash = gctx->hash;
        return 1;
    }
    if (gctx->type == PPROV_KEY_RSA_PSS) {
        PPROV_raise(gctx->ctx, PPROV_R_INVALID_ARGUMENT,
                    "an RSA-PSS key can only have the pss policy (not '%s'); use -algorithm RSA",
                    policy);
        return 0;
    }
    if (strcasecmp(policy, "pkcs1") == 0 || strcasecmp(policy, "pkcs1v15") == 0 ||
        strcasecmp(policy, "rsa-pkcs1") == 0) {
        attrs->usage = sign_usage;
        attrs->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
        attrs->alg.scheme = PARSEC_SIGN_RSA_PKCS1V15;
        attrs->alg.hash = gctx->hash;
        return 1;
    }
    if (strcasecmp(policy, "oaep") == 0 || strcasecmp(policy, "rsa-oaep") == 0) {
        attrs->usage = PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT;
        attrs->alg.kind = PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
        attrs->alg.scheme = PARSEC_ENCRYPT_RSA_OAEP;
        /* An encryption policy names one hash; OAEP's usual one is SHA-256 here. */
        attrs->alg.hash = gctx->hash == PARSEC_HASH_ANY ? PARSEC_HASH_SHA_256 : gctx->hash;
        return 1;
    }
    if (strcasecmp(policy, "pkcs1-decrypt") == 0 || strcasecmp(policy, "pkcs1-crypt") == 0 ||
        strcasecmp(policy, "rsaes-pkcs1") == 0) {
        attrs->usage = PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT;
        attrs->alg.kind = PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
        attrs->alg.scheme = PARSEC_ENCRYPT_RSA_PKCS1V15;
        return 1;
    }
    PPROV_raise(gctx->ctx, PPROV_R_INVALID_ARGUMENT,
                "unknown RSA key policy '%s' (use pss, pkcs1, oaep or pkcs1-decrypt)", policy);
    return 0;
}

/* A unique name when the caller gave none: the reference file carries it. */
static char *pprov_gen_auto_name(pprov_gen_ctx *gctx)
{
    unsigned char rnd[8];
    char *name;
    size_t i;

    if (RAND_bytes_ex(pprov_libctx(gctx->ctx), rnd, sizeof(rnd), 0) <= 0)
        return NULL;
    name = OPENSSL_malloc(sizeof("openssl-") + 2 * sizeof(rnd));
    if (name == NULL)
        return NULL;
    strcpy(name, "openssl-");
    for (i = 0; i < sizeof(rnd); i++)
        snprintf(name + 8 + 2 * i, 3, "%02x", rnd[i]);
    return name;
}

void *pprov_kmgmt_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
    pprov_gen_ctx *gctx = genctx;
    parsec_key_attributes attrs;
    parsec_client *client;
    parsec_status st;
    pprov_key *key = NULL;
    char desc[192];

    memset(&attrs, 0, sizeof(attrs));
    attrs.bits = (uint32_t)gctx->bits;
    if (gctx->type == PPROV_KEY_EC) {
        attrs.type = PARSEC_KEY_TYPE_ECC_KEY_PAIR;
        attrs.ecc_family = gctx->ecc_family;
    } else {
        attrs.type = PARSEC_KEY_TYPE_RSA_KEY_PAIR;
    }
    if (!pprov_gen_policy(gctx, &attrs))
        return NULL;
    if (gctx->name == NULL && (gctx->name = pprov_gen_auto_name(gctx)) == NULL) {
        PPROV_raise(gctx->ctx, PPROV_R_MALLOC_FAILURE, "cannot make a key name");
        return NULL;
    }
    client = pprov_client(gctx->ctx);
    if (client == NULL)
        return NULL;

    pprov_describe_policy(&attrs, desc, sizeof(desc));
    PPROV_debug("generating %s key '%s' (%zu bits, %s) in backend %s",
                pprov_key_type_name(gctx->type), gctx->name, gctx->bits, desc,
                pprov_backend_name(gctx->backend));
    st = parsec_generate_key(client, gctx->backend, gctx->name, &attrs);
    if (st == PARSEC_PSA_ERROR_ALREADY_EXISTS) {
        PPROV_raise(gctx->ctx, PPROV_R_ALREADY_EXISTS,
                    "a Parsec key named '%s' already exists for %s; choose another name"
                    " (-pkeyopt " PPROV_PARAM_GEN_KEY_NAME ":NAME) or delete it first",
                    gctx->name, pprov_identity(gctx->ctx));
        return NULL;
    }
    if (st == PARSEC_PSA_ERROR_NOT_SUPPORTED) {
        PPROV_raise(gctx->ctx, PPROV_R_UNSUPPORTED,
                    "the %s backend cannot generate a %zu-bit %s key with policy %s%s",
                    pprov_backend_name(gctx->backend), gctx->bits,
                    gctx->type == PPROV_KEY_EC ? "EC" : "RSA", desc,
                    attrs.alg.scheme == PARSEC_SIGN_RSA_PSS &&
                            attrs.alg.kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE
                        ? " (try -pkeyopt " PPROV_PARAM_GEN_POLICY
                          ":pkcs1; such a key cannot do TLS 1.3)"
                        : "");
        return NULL;
    }
    if (st != PARSEC_SUCCESS) {
        PPROV_raise_status(gctx->ctx, st, "generation", gctx->name);
        return NULL;
    }
    key = pprov_key_load(gctx->ctx, gctx->name, PARSEC_PROVIDER_DEFAULT, gctx->type);
    if (key != NULL && cb != NULL) {
        int progress = 3;
        OSSL_PARAM done[] = {OSSL_PARAM_int(OSSL_GEN_PARAM_POTENTIAL, &progress), OSSL_PARAM_END};

        (void)cb(done, cbarg);
    }
    return key;
}
