/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key management shared by the RSA, RSA-PSS and EC dispatch tables: the
 * per-algorithm files are thin wrappers that pass their key type.
 */
#ifndef PPROV_KMGMT_H
#define PPROV_KMGMT_H

#include <openssl/core.h>
#include <openssl/core_dispatch.h>

#include "pprov.h"

void *pprov_kmgmt_new(void *provctx, int type);
void pprov_kmgmt_free(void *keydata);
void *pprov_kmgmt_load(const void *reference, size_t reference_sz, int type);
int pprov_kmgmt_has(const void *keydata, int selection);
int pprov_kmgmt_match(const void *keydata1, const void *keydata2, int selection);
int pprov_kmgmt_import(void *keydata, int selection, const OSSL_PARAM params[], int type);
int pprov_kmgmt_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg);
void *pprov_kmgmt_dup(const void *keydata, int selection);
int pprov_kmgmt_get_params(void *keydata, OSSL_PARAM params[]);

/* Parameters every key type adds to the gettable/import lists. */
#define PPROV_KMGMT_COMMON_GETTABLE                                                                \
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),                                                    \
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),                                       \
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),                                            \
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),                           \
        OSSL_PARAM_utf8_string(PPROV_PARAM_KEY_NAME, NULL, 0),                                     \
        OSSL_PARAM_int(PPROV_PARAM_KEY_BACKEND_ID, NULL),                                          \
        OSSL_PARAM_utf8_string(PPROV_PARAM_KEY_POLICY, NULL, 0)

#define PPROV_KMGMT_NAME_IMPORTABLE                                                                \
    OSSL_PARAM_utf8_string(PPROV_PARAM_KEY_NAME, NULL, 0),                                         \
        OSSL_PARAM_utf8_string(PPROV_PARAM_BACKEND, NULL, 0)

/* Shared by the "RSA" and "RSA-PSS" dispatch tables (keymgmt/kmgmt_rsa_common.c). */
OSSL_FUNC_keymgmt_import_types_fn pprov_kmgmt_rsa_import_types;
OSSL_FUNC_keymgmt_export_types_fn pprov_kmgmt_rsa_export_types;
OSSL_FUNC_keymgmt_gettable_params_fn pprov_kmgmt_rsa_gettable_params;
OSSL_FUNC_keymgmt_query_operation_name_fn pprov_kmgmt_rsa_query_operation_name;

/* RSA generation parameters both RSA key managements accept. */
#define PPROV_KMGMT_RSA_GEN_SETTABLE                                                               \
    OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_BITS, NULL),                                             \
        OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_PRIMES, NULL),                                       \
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0)

/* Key generation (keymgmt/kmgmt_gen.c). */
void *pprov_kmgmt_gen_init(void *provctx, int selection, const OSSL_PARAM params[], int type);
int pprov_kmgmt_gen_set_params(void *genctx, const OSSL_PARAM params[]);
void *pprov_kmgmt_gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg);
void pprov_kmgmt_gen_cleanup(void *genctx);

#define PPROV_KMGMT_GEN_COMMON_SETTABLE                                                            \
    OSSL_PARAM_utf8_string(PPROV_PARAM_GEN_KEY_NAME, NULL, 0),                                     \
        OSSL_PARAM_utf8_string(PPROV_PARAM_KEY_NAME, NULL, 0),                                     \
        OSSL_PARAM_utf8_string(PPROV_PARAM_BACKEND, NULL, 0),                                      \
        OSSL_PARAM_utf8_string(PPROV_PARAM_GEN_POLICY, NULL, 0),                                   \
        OSSL_PARAM_utf8_string(PPROV_PARAM_GEN_HASH, NULL, 0)

#endif
