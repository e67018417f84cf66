/* SPDX-License-Identifier: Apache-2.0 */
/* KEYEXCH algorithms of parsec.so (returned by the provider's query_operation). */
#include <stddef.h>

#include <openssl/core.h>

#include "pprov.h"

const OSSL_ALGORITHM pprov_keyexch_algorithms[] = {
    {"ECDH", PPROV_PROPS, pprov_ecdh_keyexch_functions,
     "Raw ECDH with keys held by the Parsec service"},
    {NULL, NULL, NULL, NULL},
};
