/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parsec provider for fuzzing: its sources compiled into the target,
 * registered as a built-in provider and loaded into a library context of
 * its own, with nothing else loaded there (so every decoder and store
 * loader the inputs reach is the provider's). The endpoint names a socket
 * that does not exist: a key lookup must fail, quickly, whatever an input
 * names, and no input may ever produce a key.
 */
#ifndef PARSEC_FUZZ_PROVIDER_ENV_H
#define PARSEC_FUZZ_PROVIDER_ENV_H

#include <openssl/types.h>

#include "pprov.h"

/* Load once (aborts on failure); undone at exit. */
void parsec_fuzz_provider_start(void);
OSSL_LIB_CTX *parsec_fuzz_provider_libctx(void);
/* The provider's own context, as its dispatch functions receive it. */
pprov_ctx *parsec_fuzz_provider_ctx(void);

#endif
