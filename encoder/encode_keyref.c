/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ENCODER "PrivateKeyInfo" (pem, der) for Parsec keys: what genpkey and
 * PEM_write_bio_PrivateKey write is a key reference, never key material
 * (the private key cannot leave the service).
 */
#include <openssl/bio.h>
#include <openssl/core_dispatch.h>
#include <openssl/pem.h>

#include "pprov.h"

static OSSL_FUNC_encoder_newctx_fn pprov_keyref_enc_newctx;
static OSSL_FUNC_encoder_freectx_fn pprov_keyref_enc_freectx;
static OSSL_FUNC_encoder_does_selection_fn pprov_keyref_enc_does_selection;
static OSSL_FUNC_encoder_encode_fn pprov_keyref_pem_encode;
static OSSL_FUNC_encoder_encode_fn pprov_keyref_der_encode;

static void *pprov_keyref_enc_newctx(void *provctx)
{
    return provctx;
}

static void pprov_keyref_enc_freectx(void *ctx)
{
}

static int pprov_keyref_enc_does_selection(void *provctx, int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

static int pprov_keyref_write(pprov_ctx *ctx, OSSL_CORE_BIO *cout, const void *obj_raw,
                              int selection, int pem)
{
    const pprov_key *key = obj_raw;
    unsigned char *der = NULL;
    size_t derlen = 0;
    BIO *out = NULL;
    int ok = 0;

    if (key == NULL || !pprov_key_has_private(key) ||
        (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0) {
        PPROV_raise(ctx, PPROV_R_INVALID_ARGUMENT,
                    "only keys held by the Parsec service can be written as key references");
        return 0;
    }
    if (!pprov_keyref_encode(key, &der, &derlen))
        return 0;
    out = BIO_new_from_core_bio(pprov_libctx(ctx), cout);
    if (out == NULL)
        goto done;
    if (pem)
        ok = PEM_write_bio(out, PPROV_PEM_LABEL, "", der, (long)derlen) > 0;
    else
        ok = BIO_write(out, der, (int)derlen) == (int)derlen;
done:
    BIO_free(out);
    OPENSSL_free(der);
    return ok;
}

static int pprov_keyref_pem_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj_raw,
                                   const OSSL_PARAM obj_abstract[], int selection,
                                   OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    return pprov_keyref_write(ctx, out, obj_raw, selection, 1);
}

static int pprov_keyref_der_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj_raw,
                                   const OSSL_PARAM obj_abstract[], int selection,
                                   OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    return pprov_keyref_write(ctx, out, obj_raw, selection, 0);
}

const OSSL_DISPATCH pprov_keyref_pem_encoder_functions[] = {
    {OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))pprov_keyref_enc_newctx},
    {OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))pprov_keyref_enc_freectx},
    {OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))pprov_keyref_enc_does_selection},
    {OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))pprov_keyref_pem_encode},
    {0, NULL},
};

const OSSL_DISPATCH pprov_keyref_der_encoder_functions[] = {
    {OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))pprov_keyref_enc_newctx},
    {OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))pprov_keyref_enc_freectx},
    {OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))pprov_keyref_enc_does_selection},
    {OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))pprov_keyref_der_encode},
    {0, NULL},
};
