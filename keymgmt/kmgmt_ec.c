/* SPDX-License-Identifier: Apache-2.0 */
/* KEYMGMT "EC": Parsec P-256/384/521, secp256k1 and brainpool keys (ECDSA or ECDH policy). */
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "pprov_kmgmt.h"

static OSSL_FUNC_keymgmt_new_fn pprov_ec_new;
static OSSL_FUNC_keymgmt_load_fn pprov_ec_load;
static OSSL_FUNC_keymgmt_import_fn pprov_ec_import;
static OSSL_FUNC_keymgmt_import_types_fn pprov_ec_import_types;
static OSSL_FUNC_keymgmt_export_types_fn pprov_ec_export_types;
static OSSL_FUNC_keymgmt_gettable_params_fn pprov_ec_gettable_params;
static OSSL_FUNC_keymgmt_query_operation_name_fn pprov_ec_query_operation_name;
static OSSL_FUNC_keymgmt_gen_init_fn pprov_ec_gen_init;
static OSSL_FUNC_keymgmt_gen_settable_params_fn pprov_ec_gen_settable_params;

static void *pprov_ec_new(void *provctx)
{
    return pprov_kmgmt_new(provctx, PPROV_KEY_EC);
}

static void *pprov_ec_load(const void *reference, size_t reference_sz)
{
    return pprov_kmgmt_load(reference, reference_sz, PPROV_KEY_EC);
}

static int pprov_ec_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return pprov_kmgmt_import(keydata, selection, params, PPROV_KEY_EC);
}

#define PPROV_EC_PUBLIC_PARAMS                                                                     \
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),                                   \
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),                              \
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),               \
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0)

static const OSSL_PARAM pprov_ec_public_params[] = {
    PPROV_EC_PUBLIC_PARAMS,
    OSSL_PARAM_END,
};

static const OSSL_PARAM *pprov_ec_import_types(int selection)
{
    static const OSSL_PARAM types[] = {
        PPROV_EC_PUBLIC_PARAMS,
        PPROV_KMGMT_NAME_IMPORTABLE,
        OSSL_PARAM_END,
    };
    return types;
}

static const OSSL_PARAM *pprov_ec_export_types(int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 ? NULL : pprov_ec_public_params;
}

static const OSSL_PARAM *pprov_ec_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        PPROV_KMGMT_COMMON_GETTABLE,
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_X, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_Y, NULL, 0),
        OSSL_PARAM_END,
    };
    return gettable;
}

/* EC keys sign through "ECDSA" and agree keys through "ECDH". */
static const char *pprov_ec_query_operation_name(int operation_id)
{
    switch (operation_id) {
    case OSSL_OP_SIGNATURE:
        return "ECDSA";
    case OSSL_OP_KEYEXCH:
        return "ECDH";
    default:
        return "EC";
    }
}

static void *pprov_ec_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return pprov_kmgmt_gen_init(provctx, selection, params, PPROV_KEY_EC);
}

static const OSSL_PARAM *pprov_ec_gen_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),
        PPROV_KMGMT_GEN_COMMON_SETTABLE,
        OSSL_PARAM_END,
    };
    return settable;
}

const OSSL_DISPATCH pprov_ec_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))pprov_ec_new},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))pprov_kmgmt_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))pprov_ec_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))pprov_kmgmt_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))pprov_kmgmt_match},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))pprov_ec_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))pprov_ec_import_types},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))pprov_kmgmt_export},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))pprov_ec_export_types},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))pprov_kmgmt_dup},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))pprov_kmgmt_get_params},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))pprov_ec_gettable_params},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))pprov_ec_query_operation_name},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))pprov_ec_gen_init},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))pprov_kmgmt_gen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))pprov_ec_gen_settable_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))pprov_kmgmt_gen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))pprov_kmgmt_gen_cleanup},
    {0, NULL},
};
