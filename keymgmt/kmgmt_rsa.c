/* KEYMGMT "RSA": Parsec RSA keys (any policy) presented as ordinary rsaEncryption keys. */
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "pprov_kmgmt.h"

static OSSL_FUNC_keymgmt_new_fn pprov_rsa_new;
static OSSL_FUNC_keymgmt_load_fn pprov_rsa_load;
static OSSL_FUNC_keymgmt_import_fn pprov_rsa_import;
static OSSL_FUNC_keymgmt_import_types_fn pprov_rsa_import_types;
static OSSL_FUNC_keymgmt_export_types_fn pprov_rsa_export_types;
static OSSL_FUNC_keymgmt_gettable_params_fn pprov_rsa_gettable_params;
static OSSL_FUNC_keymgmt_query_operation_name_fn pprov_rsa_query_operation_name;
static OSSL_FUNC_keymgmt_gen_init_fn pprov_rsa_gen_init;
static OSSL_FUNC_keymgmt_gen_settable_params_fn pprov_rsa_gen_settable_params;

static void *pprov_rsa_new(void *provctx)
{
    return pprov_kmgmt_new(provctx, PPROV_KEY_RSA);
}

static void *pprov_rsa_load(const void *reference, size_t reference_sz)
{
    return pprov_kmgmt_load(reference, reference_sz, PPROV_KEY_RSA);
}

static int pprov_rsa_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return pprov_kmgmt_import(keydata, selection, params, PPROV_KEY_RSA);
}

static const OSSL_PARAM pprov_rsa_public_params[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *pprov_rsa_import_types(int selection)
{
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        PPROV_KMGMT_NAME_IMPORTABLE,
        OSSL_PARAM_END,
    };
    return types;
}

static const OSSL_PARAM *pprov_rsa_export_types(int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 ? NULL : pprov_rsa_public_params;
}

static const OSSL_PARAM *pprov_rsa_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        PPROV_KMGMT_COMMON_GETTABLE,
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END,
    };
    return gettable;
}

static const char *pprov_rsa_query_operation_name(int operation_id)
{
    return "RSA";
}

static void *pprov_rsa_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return pprov_kmgmt_gen_init(provctx, selection, params, PPROV_KEY_RSA);
}

static const OSSL_PARAM *pprov_rsa_gen_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_BITS, NULL),
        OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_PRIMES, NULL),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        PPROV_KMGMT_GEN_COMMON_SETTABLE,
        OSSL_PARAM_END,
    };
    return settable;
}

const OSSL_DISPATCH pprov_rsa_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))pprov_rsa_new},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))pprov_kmgmt_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))pprov_rsa_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))pprov_kmgmt_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))pprov_kmgmt_match},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))pprov_rsa_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))pprov_rsa_import_types},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))pprov_kmgmt_export},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))pprov_rsa_export_types},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))pprov_kmgmt_dup},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))pprov_kmgmt_get_params},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))pprov_rsa_gettable_params},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))pprov_rsa_query_operation_name},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))pprov_rsa_gen_init},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))pprov_kmgmt_gen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))pprov_rsa_gen_settable_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))pprov_kmgmt_gen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))pprov_kmgmt_gen_cleanup},
    {0, NULL},
};
