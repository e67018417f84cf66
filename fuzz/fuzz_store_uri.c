/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "parsec:" URIs: what a user (or a program passing on its own input) gives
 * to OSSL_STORE, `-key`, `-in`, nginx's `store:` or curl's `--key`.
 * Input: the URI (up to the first NUL byte, as C strings arrive).
 * Oracles besides the sanitizers:
 *  - pprov_store_uri_parse: -1 exactly for what is not a "parsec:" URI; a
 *    refused URI leaves an error for the user on the queue; an accepted one
 *    has a non-empty name or none (a listing), a known backend ID and key
 *    type; the URI the store writes for that name (pprov_store_uri_for, as
 *    in `storeutl` listings) parses back to the same name.
 *  - the whole store through OSSL_STORE (open, load to the end, close) with
 *    no service reachable: it never yields an object.
 */
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/store.h>

#include "fuzz.h"
#include "fuzz_provider_env.h"
#include "pprov_store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    parsec_fuzz_provider_start();
    return 0;
}

static void fuzz_uri_parse(pprov_ctx *ctx, const char *uri)
{
    size_t schemelen = strlen(PPROV_URI_SCHEME);
    int ours = strncasecmp(uri, PPROV_URI_SCHEME, schemelen) == 0 && uri[schemelen] == ':';
    pprov_store_uri parsed, again;
    char *written = NULL;
    int rc;

    ERR_clear_error();
    rc = pprov_store_uri_parse(ctx, uri, &parsed);
    FUZZ_ASSERT(rc >= -1 && rc <= 1);
    FUZZ_ASSERT((rc == -1) == !ours);
    if (rc != 1) {
        FUZZ_ASSERT(parsed.name == NULL);
        FUZZ_ASSERT((rc == 0) == (ERR_peek_error() != 0));
        ERR_clear_error();
        return;
    }
    FUZZ_ASSERT(ERR_peek_error() == 0);
    FUZZ_ASSERT(parsed.backend <= PARSEC_PROVIDER_MAX);
    FUZZ_ASSERT(parsed.type == 0 || parsed.type == PPROV_KEY_RSA ||
                parsed.type == PPROV_KEY_RSA_PSS || parsed.type == PPROV_KEY_EC);
    if (parsed.name == NULL)
        return;
    FUZZ_ASSERT(parsed.name[0] != '\0');
    written = pprov_store_uri_for(parsed.name);
    FUZZ_ASSERT(written != NULL);
    FUZZ_ASSERT(pprov_store_uri_parse(ctx, written, &again) == 1);
    FUZZ_ASSERT(again.name != NULL && strcmp(again.name, parsed.name) == 0);
    FUZZ_ASSERT(again.backend == PARSEC_PROVIDER_DEFAULT && again.type == 0);
    OPENSSL_free(again.name);
    OPENSSL_free(written);
    OPENSSL_free(parsed.name);
}

static void fuzz_uri_store(const char *uri)
{
    OSSL_STORE_CTX *store;
    int loaded = 0;

    store =
        OSSL_STORE_open_ex(uri, parsec_fuzz_provider_libctx(), NULL, NULL, NULL, NULL, NULL, NULL);
    if (store != NULL) {
        /* Bounded: a store that never reaches EOF is a finding too (as a timeout). */
        while (!OSSL_STORE_eof(store) && loaded < 16) {
            OSSL_STORE_INFO *info = OSSL_STORE_load(store);

            FUZZ_ASSERT(info == NULL);
            if (OSSL_STORE_error(store))
                break;
            loaded++;
        }
        OSSL_STORE_close(store);
    }
    ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *uri = malloc(size + 1);

    FUZZ_ASSERT(uri != NULL);
    memcpy(uri, data, size);
    uri[size] = '\0';
    fuzz_uri_parse(parsec_fuzz_provider_ctx(), uri);
    fuzz_uri_store(uri);
    free(uri);
    return 0;
}
