/* SPDX-License-Identifier: Apache-2.0 */
/* ASYM_CIPHER algorithms of parsec.so (returned by the provider's query_operation). */
#include <stddef.h>

#include <openssl/core.h>

#include "pprov.h"

const OSSL_ALGORITHM pprov_asym_cipher_algorithms[] = {
    {PPROV_NAMES_RSA, PPROV_PROPS, pprov_rsa_asym_cipher_functions,
     "RSA PKCS#1 v1.5 and OAEP decryption with keys held by the Parsec service"},
    {NULL, NULL, NULL, NULL},
};
