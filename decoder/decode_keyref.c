/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DECODER RSA / RSA-PSS / EC from input=der,structure=parsec: turns a key
 * reference into the key, looked up in the service, and hands keymgmt an
 * OSSL_OBJECT_PKEY reference. Foreign DER: carry on silently (return 1).
 * Our reference naming a key that cannot be used: a hard error (return 0)
 * so the reason (unknown key, service down) reaches the user.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "pprov_dec.h"

/* References are tiny; anything bigger is somebody else's data. */
#define PPROV_KEYREF_MAX 8192

typedef struct {
    pprov_ctx *ctx;
    int type; /* the PPROV_KEY_* this decoder produces */
} pprov_keyref_dec_ctx;

static OSSL_FUNC_decoder_newctx_fn pprov_rsa_keyref_newctx;
static OSSL_FUNC_decoder_newctx_fn pprov_rsapss_keyref_newctx;
static OSSL_FUNC_decoder_newctx_fn pprov_ec_keyref_newctx;
static OSSL_FUNC_decoder_freectx_fn pprov_keyref_dec_freectx;
static OSSL_FUNC_decoder_does_selection_fn pprov_keyref_dec_does_selection;
static OSSL_FUNC_decoder_decode_fn pprov_keyref_dec_decode;

static void *pprov_keyref_dec_newctx(void *provctx, int type)
{
    pprov_keyref_dec_ctx *dctx = OPENSSL_zalloc(sizeof(*dctx));

    if (dctx != NULL) {
        dctx->ctx = provctx;
        dctx->type = type;
    }
    return dctx;
}

static void *pprov_rsa_keyref_newctx(void *provctx)
{
    return pprov_keyref_dec_newctx(provctx, PPROV_KEY_RSA);
}

static void *pprov_rsapss_keyref_newctx(void *provctx)
{
    return pprov_keyref_dec_newctx(provctx, PPROV_KEY_RSA_PSS);
}

static void *pprov_ec_keyref_newctx(void *provctx)
{
    return pprov_keyref_dec_newctx(provctx, PPROV_KEY_EC);
}

static void pprov_keyref_dec_freectx(void *vctx)
{
    OPENSSL_free(vctx);
}

static int pprov_keyref_dec_does_selection(void *provctx, int selection)
{
    return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0;
}

int pprov_keyref_fail(pprov_ctx *ctx, int type, OSSL_CALLBACK *data_cb, void *data_cbarg)
{
    pprov_key *placeholder = pprov_key_new(ctx, type != 0 ? type : PPROV_KEY_EC);

    if (placeholder != NULL)
        (void)pprov_key_emit_reference(placeholder, data_cb, data_cbarg);
    pprov_key_free(placeholder);
    return 0;
}

/* Read the whole (small) input; 0 if it is too big to be a reference. */
static int pprov_read_all(BIO *in, BUF_MEM *buf)
{
    for (;;) {
        size_t have = buf->length;
        int n;

        if (have >= PPROV_KEYREF_MAX || !BUF_MEM_grow(buf, have + 1024))
            return 0;
        n = BIO_read(in, buf->data + have, 1024);
        if (n <= 0) {
            buf->length = have;
            return 1;
        }
        buf->length = have + (size_t)n;
    }
}

static int pprov_keyref_dec_decode(void *vctx, OSSL_CORE_BIO *cin, int selection,
                                   OSSL_CALLBACK *data_cb, void *data_cbarg,
                                   OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    pprov_keyref_dec_ctx *dctx = vctx;
    BIO *in = NULL;
    BUF_MEM *buf = BUF_MEM_new();
    char *name = NULL;
    uint8_t backend = 0;
    int type = 0, ret = 1;
    pprov_key *key = NULL;

    in = BIO_new_from_core_bio(pprov_libctx(dctx->ctx), cin);
    if (in == NULL || buf == NULL || !pprov_read_all(in, buf) ||
        !pprov_keyref_decode((const unsigned char *)buf->data, buf->length, &name, &backend, &type))
        goto done; /* not a reference */
    if (type != 0 && type != dctx->type)
        goto done; /* a reference for one of our other decoders */

    if (type == 0) {
        /* An old or hand-made reference without a type: only ours if the key's type fits. */
        pprov_set_error_mark(dctx->ctx);
        key = pprov_key_load(dctx->ctx, name, backend, dctx->type);
        if (key == NULL) {
            pprov_pop_error_to_mark(dctx->ctx);
            goto done;
        }
        pprov_clear_last_error_mark(dctx->ctx);
    } else {
        key = pprov_key_load(dctx->ctx, name, backend, type);
        if (key == NULL) {
            ret = pprov_keyref_fail(dctx->ctx, type, data_cb, data_cbarg);
            goto done;
        }
    }
    ret = pprov_key_emit_reference(key, data_cb, data_cbarg);
done:
    pprov_key_free(key); /* keymgmt load took its own reference */
    OPENSSL_free(name);
    BUF_MEM_free(buf);
    BIO_free(in);
    return ret;
}

const OSSL_DISPATCH pprov_rsa_keyref_decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))pprov_rsa_keyref_newctx},
    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))pprov_keyref_dec_freectx},
    {OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))pprov_keyref_dec_does_selection},
    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))pprov_keyref_dec_decode},
    {0, NULL},
};

const OSSL_DISPATCH pprov_rsapss_keyref_decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))pprov_rsapss_keyref_newctx},
    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))pprov_keyref_dec_freectx},
    {OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))pprov_keyref_dec_does_selection},
    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))pprov_keyref_dec_decode},
    {0, NULL},
};

const OSSL_DISPATCH pprov_ec_keyref_decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))pprov_ec_keyref_newctx},
    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))pprov_keyref_dec_freectx},
    {OSSL_FUNC_DECODER_DOES_SELECTION, (void (*)(void))pprov_keyref_dec_does_selection},
    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))pprov_keyref_dec_decode},
    {0, NULL},
};
