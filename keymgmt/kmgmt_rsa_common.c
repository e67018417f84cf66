/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parameter lists and operation name shared by the "RSA" and "RSA-PSS" key
 * managements: both present the same Parsec RSA key, only the key type
 * (policy) and the generation parameters differ.
 */
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "pprov_kmgmt.h"

static const OSSL_PARAM pprov_kmgmt_rsa_public_params[] = {
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
    OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
    OSSL_PARAM_END,
};

const OSSL_PARAM *pprov_kmgmt_rsa_import_types(int selection)
{
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        PPROV_KMGMT_NAME_IMPORTABLE,
        OSSL_PARAM_END,
    };
    return types;
}

const OSSL_PARAM *pprov_kmgmt_rsa_export_types(int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 ? NULL
                                                              : pprov_kmgmt_rsa_public_params;
}

const OSSL_PARAM *pprov_kmgmt_rsa_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        PPROV_KMGMT_COMMON_GETTABLE,
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
        OSSL_PARAM_END,
    };
    return gettable;
}

/* RSA-PSS keys sign with the "RSA" signature implementation too (padding forced to PSS). */
const char *pprov_kmgmt_rsa_query_operation_name(int operation_id)
{
    return "RSA";
}
