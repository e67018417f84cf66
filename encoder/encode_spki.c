/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ENCODER "SubjectPublicKeyInfo" (pem, der): the public half of a Parsec
 * key as an ordinary public key any program can read.
 */
#include <openssl/bio.h>
#include <openssl/core_dispatch.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pprov.h"

static OSSL_FUNC_encoder_newctx_fn pprov_spki_newctx;
static OSSL_FUNC_encoder_freectx_fn pprov_spki_freectx;
static OSSL_FUNC_encoder_does_selection_fn pprov_spki_does_selection;
static OSSL_FUNC_encoder_encode_fn pprov_spki_pem_encode;
static OSSL_FUNC_encoder_encode_fn pprov_spki_der_encode;

static void *pprov_spki_newctx(void *provctx)
{
    return provctx;
}

static void pprov_spki_freectx(void *ctx)
{
}

static int pprov_spki_does_selection(void *provctx, int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0;
}

static int pprov_spki_encode(pprov_ctx *ctx, OSSL_CORE_BIO *cout, const void *obj_raw, int pem)
{
    const pprov_key *key = obj_raw;
    BIO *out;
    int ok;

    if (key == NULL || key->pub == NULL)
        return 0;
    out = BIO_new_from_core_bio(pprov_libctx(ctx), cout);
    if (out == NULL)
        return 0;
    ok = pem ? PEM_write_bio_PUBKEY(out, key->pub) : i2d_PUBKEY_bio(out, key->pub);
    BIO_free(out);
    return ok > 0;
}

static int pprov_spki_pem_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj_raw,
                                 const OSSL_PARAM obj_abstract[], int selection,
                                 OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    return pprov_spki_encode(ctx, out, obj_raw, 1);
}

static int pprov_spki_der_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj_raw,
                                 const OSSL_PARAM obj_abstract[], int selection,
                                 OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    return pprov_spki_encode(ctx, out, obj_raw, 0);
}

const OSSL_DISPATCH pprov_spki_pem_encoder_functions[] = {
    {OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))pprov_spki_newctx},
    {OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))pprov_spki_freectx},
    {OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))pprov_spki_does_selection},
    {OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))pprov_spki_pem_encode},
    {0, NULL},
};

const OSSL_DISPATCH pprov_spki_der_encoder_functions[] = {
    {OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))pprov_spki_newctx},
    {OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))pprov_spki_freectx},
    {OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))pprov_spki_does_selection},
    {OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))pprov_spki_der_encode},
    {0, NULL},
};
