/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "parsec:" URI grammar of the store (store/store.c), outside the
 * store's dispatch table so that fuzz/fuzz_store_uri.c reaches the parser
 * itself. Not exported from parsec.so (provider/parsec.map).
 */
#ifndef PPROV_STORE_H
#define PPROV_STORE_H

#include <stdint.h>

#include "pprov.h"

typedef struct {
    char *name;      /* percent-decoded key name (OPENSSL_free); NULL: a listing */
    uint8_t backend; /* PARSEC_PROVIDER_DEFAULT: any */
    int type;        /* enum pprov_key_type; 0: any / natural */
} pprov_store_uri;

/*
 * Parse uri into *out (zeroed first). Returns 1 on success, 0 for a bad
 * "parsec:" URI (reason raised on ctx), -1 if uri is not a "parsec:" URI
 * at all (nothing raised).
 */
int pprov_store_uri_parse(pprov_ctx *ctx, const char *uri, pprov_store_uri *out);
/* "parsec:" URI naming a key, percent-encoding what the grammar reserves; OPENSSL_free. */
char *pprov_store_uri_for(const char *name);

#endif
