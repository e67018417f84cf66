/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/store.h>

#include "tls_check_util.h"

static int failures;

void report(int good, const char *what)
{
    printf("%s - %s\n", good ? "ok" : "not ok", what);
    if (!good) {
        failures++;
        ERR_print_errors_fp(stdout);
    }
    ERR_clear_error();
}

int tls_check_summary(void)
{
    printf("%d check(s) failed\n", failures);
    return failures;
}

EVP_PKEY *tls_check_load_private(const char *uri)
{
    OSSL_STORE_CTX *store = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *pkey = NULL;

    if (store == NULL)
        return NULL;
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
    while (pkey == NULL && !OSSL_STORE_eof(store)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(store);

        if (info == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
    return pkey;
}
