/* SPDX-License-Identifier: Apache-2.0 */
/* See fuzz_provider_env.h. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/core.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include "fuzz.h"
#include "fuzz_provider_env.h"
#include "parsec_client.h"

/* parsec.so's entry point, compiled into this program. */
OSSL_provider_init_fn OSSL_provider_init;

static OSSL_LIB_CTX *fuzz_libctx;
static OSSL_PROVIDER *fuzz_prov;
static char fuzz_dir[PATH_MAX];

/* The provider and its context stay loaded to the end (OPENSSL_cleanup frees them). */
static void parsec_fuzz_provider_stop(void)
{
    if (fuzz_dir[0] != '\0')
        rmdir(fuzz_dir);
}

void parsec_fuzz_provider_start(void)
{
    const char *tmp = getenv("TMPDIR");
    char endpoint[PATH_MAX + 32];

    if (fuzz_prov != NULL)
        return;
    /* An empty directory of our own: the socket below never exists. */
    snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/parsec-fuzz-provider.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    FUZZ_ASSERT(mkdtemp(fuzz_dir) != NULL);
    snprintf(endpoint, sizeof(endpoint), "unix:%s/no-service.sock", fuzz_dir);
    /* The environment wins over openssl.cnf: pin every setting the provider reads. */
    FUZZ_ASSERT(setenv(PARSEC_ENDPOINT_ENV, endpoint, 1) == 0);
    FUZZ_ASSERT(setenv("PARSEC_PROVIDER_AUTH", "direct", 1) == 0);
    FUZZ_ASSERT(setenv("PARSEC_PROVIDER_APP_NAME", "fuzz", 1) == 0);
    FUZZ_ASSERT(setenv("PARSEC_PROVIDER_KEEPALIVE", "no", 1) == 0);
    FUZZ_ASSERT(unsetenv("PARSEC_PROVIDER_DEBUG") == 0);
    FUZZ_ASSERT(unsetenv("PARSEC_PROVIDER_BACKEND") == 0);
    FUZZ_ASSERT(unsetenv("PARSEC_PROVIDER_TIMEOUT_MS") == 0);

    fuzz_libctx = OSSL_LIB_CTX_new();
    FUZZ_ASSERT(fuzz_libctx != NULL);
    FUZZ_ASSERT(OSSL_PROVIDER_add_builtin(fuzz_libctx, "parsec", OSSL_provider_init) == 1);
    fuzz_prov = OSSL_PROVIDER_load(fuzz_libctx, "parsec");
    if (fuzz_prov == NULL)
        ERR_print_errors_fp(stderr);
    FUZZ_ASSERT(fuzz_prov != NULL);
    FUZZ_ASSERT(OSSL_PROVIDER_get0_provider_ctx(fuzz_prov) != NULL);
    atexit(parsec_fuzz_provider_stop);
}

OSSL_LIB_CTX *parsec_fuzz_provider_libctx(void)
{
    return fuzz_libctx;
}

pprov_ctx *parsec_fuzz_provider_ctx(void)
{
    return OSSL_PROVIDER_get0_provider_ctx(fuzz_prov);
}
