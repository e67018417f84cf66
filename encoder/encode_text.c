/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ENCODER "text" (openssl pkey -text, storeutl -text): which Parsec key
 * this is (name, backend, policy) and its public half. Nothing secret is
 * known to print.
 */
#include <openssl/bio.h>
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "pprov.h"

static OSSL_FUNC_encoder_newctx_fn pprov_text_newctx;
static OSSL_FUNC_encoder_freectx_fn pprov_text_freectx;
static OSSL_FUNC_encoder_encode_fn pprov_text_encode;

static void *pprov_text_newctx(void *provctx)
{
    return provctx;
}

static void pprov_text_freectx(void *ctx)
{
}

static int pprov_text_encode(void *vctx, OSSL_CORE_BIO *cout, const void *obj_raw,
                             const OSSL_PARAM obj_abstract[], int selection,
                             OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    pprov_ctx *ctx = vctx;
    const pprov_key *key = obj_raw;
    char policy[192];
    BIO *out;
    int ok = 1;

    if (key == NULL || key->pub == NULL)
        return 0;
    out = BIO_new_from_core_bio(pprov_libctx(ctx), cout);
    if (out == NULL)
        return 0;
    if (key->name != NULL) {
        pprov_describe_policy(&key->attrs, policy, sizeof(policy));
        ok = BIO_printf(out,
                        "Parsec %s key (the private key stays in the Parsec service)\n"
                        "    key name: %s\n"
                        "    backend:  %s (Parsec provider %u)\n"
                        "    policy:   %s\n",
                        pprov_key_type_name(key->type), key->name,
                        pprov_backend_name(key->provider_id), key->provider_id, policy) > 0;
    }
    if (ok && (selection & (OSSL_KEYMGMT_SELECT_KEYPAIR | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)) != 0)
        ok = EVP_PKEY_print_public(out, key->pub, 0, NULL) > 0;
    BIO_free(out);
    return ok;
}

const OSSL_DISPATCH pprov_text_encoder_functions[] = {
    {OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))pprov_text_newctx},
    {OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))pprov_text_freectx},
    {OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))pprov_text_encode},
    {0, NULL},
};
