/* ASYM_CIPHER algorithms of parsec.so: none registered yet. */
#include <stddef.h>

#include <openssl/core.h>

#include "pprov.h"

const OSSL_ALGORITHM pprov_asym_cipher_algorithms[] = {
    {NULL, NULL, NULL, NULL},
};
