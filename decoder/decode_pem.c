/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DECODER "DER" from input=pem: unwraps "-----BEGIN PARSEC KEY
 * REFERENCE-----" so PEM_read_bio_PrivateKey (nginx, curl, every openssl
 * command reading a key file) reaches the key-reference decoders. Any other
 * PEM block is not ours: carry on without a word.
 *
 * The key is looked up here already: when it cannot be used (unknown key,
 * service down) the reason must reach the user, and through the file:
 * store only a failure at this level survives (errors of the inner decoder
 * chain are discarded there).
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "pprov_dec.h"

static OSSL_FUNC_decoder_newctx_fn pprov_pem_dec_newctx;
static OSSL_FUNC_decoder_freectx_fn pprov_pem_dec_freectx;
static OSSL_FUNC_decoder_decode_fn pprov_pem_dec_decode;

static void *pprov_pem_dec_newctx(void *provctx)
{
    return provctx;
}

static void pprov_pem_dec_freectx(void *ctx)
{
}

static int pprov_pem_dec_decode(void *vctx, OSSL_CORE_BIO *cin, int selection,
                                OSSL_CALLBACK *data_cb, void *data_cbarg,
                                OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    pprov_ctx *ctx = vctx;
    char *label = NULL, *header = NULL;
    unsigned char *der = NULL;
    long derlen = 0;
    BIO *in;
    int ret = 1; /* carry on */

    in = BIO_new_from_core_bio(pprov_libctx(ctx), cin);
    if (in == NULL)
        return 1;
    ERR_set_mark();
    if (PEM_read_bio(in, &label, &header, &der, &derlen) > 0 &&
        strcmp(label, PPROV_PEM_LABEL) == 0) {
        OSSL_PARAM params[3];
        char *name = NULL;
        uint8_t backend = 0;
        int type = 0;
        pprov_key *key;

        ERR_pop_to_mark();
        if (!pprov_keyref_decode(der, (size_t)derlen, &name, &backend, &type)) {
            PPROV_raise(ctx, PPROV_R_BAD_KEY_REFERENCE,
                        "malformed " PPROV_PEM_LABEL " (not written by this provider version?)");
            ret = pprov_keyref_fail(ctx, type, data_cb, data_cbarg);
            goto done;
        }
        key = pprov_key_load(ctx, name, backend, type);
        OPENSSL_free(name);
        if (key == NULL) {
            ret = pprov_keyref_fail(ctx, type, data_cb, data_cbarg);
            goto done;
        }
        pprov_key_free(key);
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der, (size_t)derlen);
        params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE,
                                                     (char *)PPROV_DER_STRUCTURE, 0);
        params[2] = OSSL_PARAM_construct_end();
        ret = data_cb(params, data_cbarg);
    } else {
        ERR_pop_to_mark();
    }
done:
    OPENSSL_free(label);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(in);
    return ret;
}

const OSSL_DISPATCH pprov_pem_decoder_functions[] = {
    {OSSL_FUNC_DECODER_NEWCTX, (void (*)(void))pprov_pem_dec_newctx},
    {OSSL_FUNC_DECODER_FREECTX, (void (*)(void))pprov_pem_dec_freectx},
    {OSSL_FUNC_DECODER_DECODE, (void (*)(void))pprov_pem_dec_decode},
    {0, NULL},
};
