/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key object shared by every operation: a refcounted reference to a
 * key held by the Parsec service, plus its public half as an ordinary
 * OpenSSL key in the provider's child library context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "parsec_psa_crypto.h"
#include "pprov.h"

pprov_key *pprov_key_new(pprov_ctx *ctx, int type)
{
    pprov_key *key = OPENSSL_zalloc(sizeof(*key));

    if (key == NULL) {
        PPROV_raise(ctx, PPROV_R_MALLOC_FAILURE, "cannot allocate a key object");
        return NULL;
    }
    key->ctx = ctx;
    key->type = type;
    key->refcount = 1;
    key->magic = PPROV_KEY_MAGIC;
    return key;
}

pprov_key *pprov_key_ref(pprov_key *key)
{
    if (key != NULL)
        __atomic_add_fetch(&key->refcount, 1, __ATOMIC_RELAXED);
    return key;
}

void pprov_key_free(pprov_key *key)
{
    if (key == NULL || __atomic_sub_fetch(&key->refcount, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    EVP_PKEY_free(key->pub);
    OPENSSL_free(key->name);
    OPENSSL_clear_free(key, sizeof(*key));
}

int pprov_key_has_private(const pprov_key *key)
{
    return key != NULL && key->name != NULL &&
           (key->attrs.type == PARSEC_KEY_TYPE_RSA_KEY_PAIR ||
            key->attrs.type == PARSEC_KEY_TYPE_ECC_KEY_PAIR);
}

int pprov_key_bits(const pprov_key *key)
{
    if (key->pub != NULL)
        return EVP_PKEY_get_bits(key->pub);
    return (int)key->attrs.bits;
}

const char *pprov_key_type_name(int type)
{
    switch (type) {
    case PPROV_KEY_RSA:
        return "RSA";
    case PPROV_KEY_RSA_PSS:
        return "RSA-PSS";
    case PPROV_KEY_EC:
        return "EC";
    default:
        return "unknown";
    }
}

/*
 * The Weierstrass curves of Parsec ECC keys the provider presents as "EC"
 * keys (OpenSSL group name first; then the other names OpenSSL uses).
 */
static const struct pprov_curve {
    const char *names[3];
    uint8_t family;
    uint32_t bits;
} pprov_curves[] = {
    {{"P-256", "prime256v1", "secp256r1"}, PARSEC_ECC_FAMILY_SECP_R1, 256},
    {{"P-384", "secp384r1", NULL}, PARSEC_ECC_FAMILY_SECP_R1, 384},
    {{"P-521", "secp521r1", NULL}, PARSEC_ECC_FAMILY_SECP_R1, 521},
    {{"secp256k1", NULL, NULL}, PARSEC_ECC_FAMILY_SECP_K1, 256},
    {{"brainpoolP256r1", NULL, NULL}, PARSEC_ECC_FAMILY_BRAINPOOL_P_R1, 256},
    {{"brainpoolP384r1", NULL, NULL}, PARSEC_ECC_FAMILY_BRAINPOOL_P_R1, 384},
    {{"brainpoolP512r1", NULL, NULL}, PARSEC_ECC_FAMILY_BRAINPOOL_P_R1, 512},
};

const char *pprov_curve_name(uint8_t family, uint32_t bits)
{
    for (size_t i = 0; i < sizeof(pprov_curves) / sizeof(pprov_curves[0]); i++)
        if (pprov_curves[i].family == family && pprov_curves[i].bits == bits)
            return pprov_curves[i].names[0];
    return NULL;
}

int pprov_curve_lookup(const char *name, uint8_t *family, uint32_t *bits)
{
    for (size_t i = 0; name != NULL && i < sizeof(pprov_curves) / sizeof(pprov_curves[0]); i++)
        for (size_t j = 0; j < 3 && pprov_curves[i].names[j] != NULL; j++)
            if (strcasecmp(name, pprov_curves[i].names[j]) == 0) {
                *family = pprov_curves[i].family;
                *bits = pprov_curves[i].bits;
                return 1;
            }
    return 0;
}

const char *pprov_key_group_name(const pprov_key *key)
{
    if (key->type != PPROV_KEY_EC)
        return NULL;
    return pprov_curve_name(key->attrs.ecc_family,
                            key->attrs.bits != 0 ? key->attrs.bits : (uint32_t)pprov_key_bits(key));
}

void pprov_key_to_reference(pprov_key *key, const void **ref, size_t *refsz)
{
    *ref = key;
    *refsz = sizeof(*key);
}

pprov_key *pprov_key_from_reference(const void *ref, size_t refsz)
{
    const pprov_key *key = ref;

    if (key == NULL || refsz != sizeof(*key) || key->magic != PPROV_KEY_MAGIC)
        return NULL;
    return (pprov_key *)key;
}

int pprov_key_emit_reference(pprov_key *key, OSSL_CALLBACK *cb, void *cbarg)
{
    int object_type = OSSL_OBJECT_PKEY;
    const void *ref;
    size_t refsz;
    OSSL_PARAM params[4];

    pprov_key_to_reference(key, &ref, &refsz);
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                                 (char *)pprov_key_type_name(key->type), 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, (void *)ref, refsz);
    params[3] = OSSL_PARAM_construct_end();
    return cb(params, cbarg);
}

/* ---- names and descriptions -------------------------------------------------------- */

const char *pprov_backend_name(uint8_t id)
{
    if (id == PARSEC_PROVIDER_DEFAULT)
        return "the service's default";
    return parsec_provider_short_name(id);
}

int pprov_backend_parse(const char *text, uint8_t *id)
{
    if (text != NULL && strcasecmp(text, "default") == 0) {
        *id = PARSEC_PROVIDER_DEFAULT;
        return 1;
    }
    return parsec_provider_parse(text, id);
}

static const char *pprov_hash_text(uint8_t hash)
{
    const char *name;

    if (hash == PARSEC_HASH_ANY)
        return "any hash";
    name = parsec_hash_ossl_name(hash);
    return name != NULL ? name : "unknown hash";
}

void pprov_describe_alg(const parsec_alg *alg, char *buf, size_t len)
{
    switch (alg->kind) {
    case PARSEC_ALG_NONE:
        snprintf(buf, len, "none");
        return;
    case PARSEC_ALG_ASYMMETRIC_SIGNATURE:
        switch (alg->scheme) {
        case PARSEC_SIGN_RSA_PKCS1V15:
            snprintf(buf, len, "RsaPkcs1v15Sign(%s)", pprov_hash_text(alg->hash));
            return;
        case PARSEC_SIGN_RSA_PKCS1V15_RAW:
            snprintf(buf, len, "RsaPkcs1v15SignRaw");
            return;
        case PARSEC_SIGN_RSA_PSS:
            snprintf(buf, len, "RsaPss(%s)", pprov_hash_text(alg->hash));
            return;
        case PARSEC_SIGN_ECDSA:
            snprintf(buf, len, "Ecdsa(%s)", pprov_hash_text(alg->hash));
            return;
        case PARSEC_SIGN_ECDSA_ANY:
            snprintf(buf, len, "EcdsaAny");
            return;
        case PARSEC_SIGN_DETERMINISTIC_ECDSA:
            snprintf(buf, len, "DeterministicEcdsa(%s)", pprov_hash_text(alg->hash));
            return;
        default:
            break;
        }
        break;
    case PARSEC_ALG_ASYMMETRIC_ENCRYPTION:
        if (alg->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15) {
            snprintf(buf, len, "RsaPkcs1v15Crypt");
            return;
        }
        if (alg->scheme == PARSEC_ENCRYPT_RSA_OAEP) {
            snprintf(buf, len, "RsaOaep(%s)", pprov_hash_text(alg->hash));
            return;
        }
        break;
    case PARSEC_ALG_KEY_AGREEMENT:
        snprintf(buf, len, "RawKeyAgreement(%s)",
                 alg->scheme == PARSEC_KA_ECDH   ? "ECDH"
                 : alg->scheme == PARSEC_KA_FFDH ? "FFDH"
                                                 : "?");
        return;
    case PARSEC_ALG_HASH:
        snprintf(buf, len, "Hash(%s)", pprov_hash_text(alg->hash));
        return;
    default:
        break;
    }
    snprintf(buf, len, "algorithm kind %u scheme %u", alg->kind, alg->scheme);
}

void pprov_describe_policy(const parsec_key_attributes *attrs, char *buf, size_t len)
{
    static const struct {
        uint32_t flag;
        const char *name;
    } flags[] = {
        {PARSEC_USAGE_SIGN_HASH, "sign_hash"},
        {PARSEC_USAGE_VERIFY_HASH, "verify_hash"},
        {PARSEC_USAGE_SIGN_MESSAGE, "sign_message"},
        {PARSEC_USAGE_VERIFY_MESSAGE, "verify_message"},
        {PARSEC_USAGE_ENCRYPT, "encrypt"},
        {PARSEC_USAGE_DECRYPT, "decrypt"},
        {PARSEC_USAGE_DERIVE, "derive"},
        {PARSEC_USAGE_EXPORT, "export"},
        {PARSEC_USAGE_COPY, "copy"},
        {PARSEC_USAGE_CACHE, "cache"},
    };
    char alg[96];
    size_t used, i;
    int first = 1;

    pprov_describe_alg(&attrs->alg, alg, sizeof(alg));
    snprintf(buf, len, "%s, usage ", alg);
    used = strlen(buf);
    for (i = 0; i < sizeof(flags) / sizeof(flags[0]) && used < len; i++) {
        if ((attrs->usage & flags[i].flag) == 0)
            continue;
        snprintf(buf + used, len - used, "%s%s", first ? "" : ",", flags[i].name);
        used += strlen(buf + used);
        first = 0;
    }
    if (first && used < len)
        snprintf(buf + used, len - used, "none");
}

/* ---- public key in PSA format -> EVP_PKEY ------------------------------------------- */

/* The same public key as another key type (RSA -> RSA-PSS), in the provider's library context. */
static EVP_PKEY *pprov_pub_as_type(pprov_ctx *ctx, EVP_PKEY *pub, const char *type)
{
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *out = NULL;

    if (EVP_PKEY_todata(pub, EVP_PKEY_PUBLIC_KEY, &params) == 1) {
        pctx = EVP_PKEY_CTX_new_from_name(pprov_libctx(ctx), type, PPROV_FETCH_PROPQ);
        if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
            EVP_PKEY_fromdata(pctx, &out, EVP_PKEY_PUBLIC_KEY, params) <= 0)
            out = NULL;
    }
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    EVP_PKEY_free(pub);
    return out;
}

int pprov_key_set_public_from_psa(pprov_key *key, const uint8_t *data, size_t len)
{
    EVP_PKEY *pub =
        parsec_psa_public_key(pprov_libctx(key->ctx), PPROV_FETCH_PROPQ, &key->attrs, data, len);

    if (pub != NULL && key->type == PPROV_KEY_RSA_PSS)
        pub = pprov_pub_as_type(key->ctx, pub, pprov_key_type_name(key->type));
    if (pub == NULL) {
        PPROV_raise(key->ctx, PPROV_R_OPERATION_FAILED,
                    "the service returned a public key for '%s' that is not a valid %s key",
                    key->name != NULL ? key->name : "?", pprov_key_type_name(key->type));
        return 0;
    }
    EVP_PKEY_free(key->pub);
    key->pub = pub;
    return 1;
}

/* ---- loading a key from the service ------------------------------------------------- */

/* OpenSSL key type for Parsec attributes, 0 if the provider cannot present it. */
static int pprov_type_from_attrs(const parsec_key_attributes *attrs, int expected_type)
{
    switch (attrs->type) {
    case PARSEC_KEY_TYPE_RSA_KEY_PAIR:
    case PARSEC_KEY_TYPE_RSA_PUBLIC_KEY:
        return expected_type == PPROV_KEY_RSA_PSS ? PPROV_KEY_RSA_PSS : PPROV_KEY_RSA;
    case PARSEC_KEY_TYPE_ECC_KEY_PAIR:
    case PARSEC_KEY_TYPE_ECC_PUBLIC_KEY:
        return pprov_curve_name(attrs->ecc_family, attrs->bits) != NULL ? PPROV_KEY_EC : 0;
    default:
        return 0;
    }
}

pprov_key *pprov_key_load(pprov_ctx *ctx, const char *name, uint8_t backend, int expected_type)
{
    parsec_client *client;
    parsec_key_attributes attrs;
    pprov_key *key = NULL;
    uint8_t provider_id = 0;
    uint8_t *pubdata = NULL;
    size_t publen = 0;
    parsec_status st;
    int type;

    if (name == NULL || *name == '\0') {
        PPROV_raise(ctx, PPROV_R_INVALID_ARGUMENT, "empty Parsec key name");
        return NULL;
    }
    client = pprov_client(ctx);
    if (client == NULL)
        return NULL;
    memset(&attrs, 0, sizeof(attrs));
    st = parsec_key_attributes_get(client, name, &provider_id, &attrs);
    if (st == PARSEC_PSA_ERROR_DOES_NOT_EXIST) {
        PPROV_raise(ctx, PPROV_R_KEY_NOT_FOUND,
                    "no Parsec key named '%s' for %s in the service at %s", name,
                    pprov_identity(ctx), pprov_endpoint(ctx));
        return NULL;
    }
    if (st != PARSEC_SUCCESS) {
        PPROV_raise_status(ctx, st, "lookup", name);
        return NULL;
    }
    if (backend != PARSEC_PROVIDER_DEFAULT && backend != provider_id) {
        PPROV_raise(ctx, PPROV_R_KEY_NOT_FOUND, "Parsec key '%s' is held by the %s backend, not %s",
                    name, pprov_backend_name(provider_id), pprov_backend_name(backend));
        return NULL;
    }
    type = pprov_type_from_attrs(&attrs, expected_type);
    if (type == 0) {
        char policy[160];

        pprov_describe_policy(&attrs, policy, sizeof(policy));
        PPROV_raise(ctx, PPROV_R_UNSUPPORTED,
                    "Parsec key '%s' (type %u, %u bits, %s) is not an RSA key or an EC key on"
                    " P-256/384/521, secp256k1 or brainpoolP256r1/384r1/512r1",
                    name, attrs.type, attrs.bits, policy);
        return NULL;
    }
    if (expected_type != 0 && type != expected_type) {
        PPROV_raise(ctx, PPROV_R_WRONG_KEY_TYPE, "Parsec key '%s' is an %s key, not %s", name,
                    pprov_key_type_name(type), pprov_key_type_name(expected_type));
        return NULL;
    }
    st = parsec_export_public_key(client, provider_id, name, &pubdata, &publen);
    if (st != PARSEC_SUCCESS) {
        PPROV_raise_status(ctx, st, "public key export", name);
        return NULL;
    }
    key = pprov_key_new(ctx, type);
    if (key == NULL)
        goto done;
    key->name = OPENSSL_strdup(name);
    key->provider_id = provider_id;
    key->attrs = attrs;
    if (key->name == NULL || !pprov_key_set_public_from_psa(key, pubdata, publen)) {
        pprov_key_free(key);
        key = NULL;
        goto done;
    }
    PPROV_debug("loaded key '%s': %s, %d bits, backend %s", name, pprov_key_type_name(type),
                pprov_key_bits(key), pprov_backend_name(provider_id));
done:
    parsec_free(pubdata);
    return key;
}

pprov_key *pprov_key_load_by_name(pprov_ctx *ctx, const char *name, int expected_type)
{
    return pprov_key_load(ctx, name, PARSEC_PROVIDER_DEFAULT, expected_type);
}
