/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key management common to every key type: the key object is a reference
 * to a key in the Parsec service plus its public half in the child
 * library context, so most public-key questions are answered by that
 * public key and nothing private can ever be exported.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "pprov_kmgmt.h"

void *pprov_kmgmt_new(void *provctx, int type)
{
    return pprov_key_new(provctx, type);
}

void pprov_kmgmt_free(void *keydata)
{
    pprov_key_free(keydata);
}

void *pprov_kmgmt_load(const void *reference, size_t reference_sz, int type)
{
    pprov_key *key = pprov_key_from_reference(reference, reference_sz);

    /*
     * The store and decoder only hand us references of the type we registered
     * for; one without a public half stands for a key that failed to load (its
     * reason is already on the error queue).
     */
    if (key == NULL || key->type != type || key->pub == NULL)
        return NULL;
    return pprov_key_ref(key);
}

int pprov_kmgmt_has(const void *keydata, int selection)
{
    const pprov_key *key = keydata;

    if (key == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && !pprov_key_has_private(key))
        return 0;
    /* The public half is always known: it came with the key from the service. */
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 && key->pub == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0 && key->type == PPROV_KEY_EC &&
        key->pub == NULL)
        return 0;
    return 1;
}

int pprov_kmgmt_match(const void *keydata1, const void *keydata2, int selection)
{
    const pprov_key *k1 = keydata1, *k2 = keydata2;

    if (k1 == NULL || k2 == NULL || k1->pub == NULL || k2->pub == NULL)
        return 0;
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0)
        return EVP_PKEY_eq(k1->pub, k2->pub) == 1;
    if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0 && k1->type == PPROV_KEY_EC)
        return EVP_PKEY_parameters_eq(k1->pub, k2->pub) == 1;
    return 1;
}

/* Copy a looked-up key's contents into an unpublished key object. */
static int pprov_kmgmt_adopt(pprov_key *dst, pprov_key *src)
{
    char *name = OPENSSL_strdup(src->name);

    if (name == NULL || !EVP_PKEY_up_ref(src->pub)) {
        OPENSSL_free(name);
        return 0;
    }
    OPENSSL_free(dst->name);
    EVP_PKEY_free(dst->pub);
    dst->name = name;
    dst->pub = src->pub;
    dst->provider_id = src->provider_id;
    dst->attrs = src->attrs;
    return 1;
}

static int pprov_params_have_private(const OSSL_PARAM params[])
{
    static const char *const private_names[] = {
        OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
        OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_PRIV_KEY,
    };
    size_t i;

    for (i = 0; i < sizeof(private_names) / sizeof(private_names[0]); i++)
        if (OSSL_PARAM_locate_const(params, private_names[i]) != NULL)
            return 1;
    return 0;
}

int pprov_kmgmt_import(void *keydata, int selection, const OSSL_PARAM params[], int type)
{
    pprov_key *key = keydata;
    const OSSL_PARAM *p;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *pub = NULL;
    int ok = 0, fromdata_selection;

    if (key == NULL || params == NULL)
        return 0;

    /* Select a service key by name (EVP_PKEY_fromdata, as the Rust provider does). */
    p = OSSL_PARAM_locate_const(params, PPROV_PARAM_KEY_NAME);
    if (p != NULL) {
        const char *name = NULL, *backend_text = NULL;
        uint8_t backend = PARSEC_PROVIDER_DEFAULT;
        pprov_key *found;

        if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) {
            PPROV_raise(key->ctx, PPROV_R_INVALID_ARGUMENT,
                        PPROV_PARAM_KEY_NAME " must be a UTF8 string");
            return 0;
        }
        p = OSSL_PARAM_locate_const(params, PPROV_PARAM_BACKEND);
        if (p != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &backend_text) ||
                          !pprov_backend_parse(backend_text, &backend))) {
            PPROV_raise(key->ctx, PPROV_R_INVALID_ARGUMENT, "invalid " PPROV_PARAM_BACKEND " '%s'",
                        backend_text != NULL ? backend_text : "?");
            return 0;
        }
        found = pprov_key_load(key->ctx, name, backend, type);
        ok = found != NULL && pprov_kmgmt_adopt(key, found);
        pprov_key_free(found);
        return ok;
    }

    /*
     * Software private keys stay with the provider that made them: refusing
     * here makes OpenSSL fall back to that provider (store, EVP_PKEY_eq).
     */
    if (pprov_params_have_private(params)) {
        PPROV_debug("refusing to import private key material");
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0)
        fromdata_selection = EVP_PKEY_PUBLIC_KEY;
    else if ((selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) != 0)
        fromdata_selection = EVP_PKEY_KEY_PARAMETERS;
    else
        return 0;

    pctx = EVP_PKEY_CTX_new_from_name(pprov_libctx(key->ctx), pprov_key_type_name(type),
                                      PPROV_FETCH_PROPQ);
    if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, &pub, fromdata_selection, (OSSL_PARAM *)params) <= 0)
        goto done;
    EVP_PKEY_free(key->pub);
    key->pub = pub;
    pub = NULL;
    key->attrs.bits = (uint32_t)EVP_PKEY_get_bits(key->pub);
    ok = 1;
done:
    EVP_PKEY_free(pub);
    EVP_PKEY_CTX_free(pctx);
    return ok;
}

int pprov_kmgmt_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    pprov_key *key = keydata;

    if (key == NULL || key->pub == NULL)
        return 0;
    /*
     * Never export a selection with the private key, even partially: OpenSSL
     * would otherwise copy the public half into another provider and try to
     * sign there ("missing private key"). Refusing routes operations to us.
     */
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
        PPROV_debug("refusing export of '%s' with selection 0x%x (private key requested)",
                    key->name != NULL ? key->name : "(public)", selection);
        return 0;
    }
    return EVP_PKEY_export(key->pub, selection, cb, cbarg);
}

void *pprov_kmgmt_dup(const void *keydata, int selection)
{
    const pprov_key *src = keydata;
    pprov_key *dst;

    if (src == NULL)
        return NULL;
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 || src->name == NULL)
        return pprov_key_ref((pprov_key *)src); /* immutable: sharing is a copy */
    dst = pprov_key_new(src->ctx, src->type);
    if (dst == NULL)
        return NULL;
    if (src->pub != NULL) {
        if (!EVP_PKEY_up_ref(src->pub)) {
            pprov_key_free(dst);
            return NULL;
        }
        dst->pub = src->pub;
    }
    dst->attrs.bits = src->attrs.bits;
    return dst;
}

/* The key's own digest when its policy names one (a specific-hash Parsec policy). */
static const char *pprov_policy_digest(const pprov_key *key)
{
    const parsec_alg *alg = &key->attrs.alg;

    if (alg->kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE && alg->hash != PARSEC_HASH_ANY &&
        alg->hash != PARSEC_HASH_NONE)
        return parsec_hash_ossl_name(alg->hash);
    return NULL;
}

int pprov_kmgmt_get_params(void *keydata, OSSL_PARAM params[])
{
    pprov_key *key = keydata;
    OSSL_PARAM *p;
    const char *digest;

    if (key == NULL || key->pub == NULL)
        return 0;
    /* bits, security-bits, max-size, n/e, group, pub, point-format... in one call. */
    if (!EVP_PKEY_get_params(key->pub, params))
        return 0;

    digest = pprov_policy_digest(key);
    p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST);
    if (p != NULL && digest != NULL && !OSSL_PARAM_set_utf8_string(p, digest))
        return 0;
    p = OSSL_PARAM_locate(params, PPROV_PARAM_KEY_NAME);
    if (p != NULL && key->name != NULL && !OSSL_PARAM_set_utf8_string(p, key->name))
        return 0;
    p = OSSL_PARAM_locate(params, PPROV_PARAM_KEY_BACKEND_ID);
    if (p != NULL && key->name != NULL && !OSSL_PARAM_set_int(p, key->provider_id))
        return 0;
    p = OSSL_PARAM_locate(params, PPROV_PARAM_KEY_POLICY);
    if (p != NULL && key->name != NULL) {
        char policy[192];

        pprov_describe_policy(&key->attrs, policy, sizeof(policy));
        if (!OSSL_PARAM_set_utf8_string(p, policy))
            return 0;
    }
    return 1;
}
