/* SPDX-License-Identifier: Apache-2.0 */
/* KEYMGMT "RSA-PSS": Parsec RSA keys presented as RSASSA-PSS keys (PSS policy only). */
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "pprov_kmgmt.h"

static OSSL_FUNC_keymgmt_new_fn pprov_rsapss_new;
static OSSL_FUNC_keymgmt_load_fn pprov_rsapss_load;
static OSSL_FUNC_keymgmt_import_fn pprov_rsapss_import;
static OSSL_FUNC_keymgmt_gen_init_fn pprov_rsapss_gen_init;
static OSSL_FUNC_keymgmt_gen_settable_params_fn pprov_rsapss_gen_settable_params;

static void *pprov_rsapss_new(void *provctx)
{
    return pprov_kmgmt_new(provctx, PPROV_KEY_RSA_PSS);
}

static void *pprov_rsapss_load(const void *reference, size_t reference_sz)
{
    return pprov_kmgmt_load(reference, reference_sz, PPROV_KEY_RSA_PSS);
}

static int pprov_rsapss_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    return pprov_kmgmt_import(keydata, selection, params, PPROV_KEY_RSA_PSS);
}

static void *pprov_rsapss_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return pprov_kmgmt_gen_init(provctx, selection, params, PPROV_KEY_RSA_PSS);
}

static const OSSL_PARAM *pprov_rsapss_gen_settable_params(void *genctx, void *provctx)
{
    static const OSSL_PARAM settable[] = {
        PPROV_KMGMT_RSA_GEN_SETTABLE,
        /* rsa_pss_keygen_md / _mgf1_md / _saltlen: the digest pins the policy's hash. */
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_RSA_DIGEST, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_RSA_MGF1_DIGEST, NULL, 0),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_RSA_PSS_SALTLEN, NULL),
        PPROV_KMGMT_GEN_COMMON_SETTABLE,
        OSSL_PARAM_END,
    };
    return settable;
}

const OSSL_DISPATCH pprov_rsapss_keymgmt_functions[] = {
    {OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))pprov_rsapss_new},
    {OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))pprov_kmgmt_free},
    {OSSL_FUNC_KEYMGMT_LOAD, (void (*)(void))pprov_rsapss_load},
    {OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))pprov_kmgmt_has},
    {OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))pprov_kmgmt_match},
    {OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))pprov_rsapss_import},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))pprov_kmgmt_rsa_import_types},
    {OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))pprov_kmgmt_export},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))pprov_kmgmt_rsa_export_types},
    {OSSL_FUNC_KEYMGMT_DUP, (void (*)(void))pprov_kmgmt_dup},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))pprov_kmgmt_get_params},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))pprov_kmgmt_rsa_gettable_params},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, (void (*)(void))pprov_kmgmt_rsa_query_operation_name},
    {OSSL_FUNC_KEYMGMT_GEN_INIT, (void (*)(void))pprov_rsapss_gen_init},
    {OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, (void (*)(void))pprov_kmgmt_gen_set_params},
    {OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, (void (*)(void))pprov_rsapss_gen_settable_params},
    {OSSL_FUNC_KEYMGMT_GEN, (void (*)(void))pprov_kmgmt_gen},
    {OSSL_FUNC_KEYMGMT_GEN_CLEANUP, (void (*)(void))pprov_kmgmt_gen_cleanup},
    {0, NULL},
};
