/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key-reference files: the DER inside "-----BEGIN PARSEC KEY REFERENCE-----",
 * which nginx, curl and every openssl command reading a key file hand to
 * the provider's decoders, whatever file they were given.
 * Input: the DER.
 * Oracles besides the sanitizers:
 *  - pprov_keyref_decode: a refused input leaves nothing on the error queue
 *    (other providers' DER passes through these decoders all the time); an
 *    accepted one gives a non-empty name without NUL, a backend ID in range
 *    and a known key type or none; the reference the encoder writes for that
 *    key decodes to the same name, backend and type.
 *  - the input wrapped as a PEM file through OpenSSL's decoder chain
 *    (decoder/decode_pem.c, then decoder/decode_keyref.c) with no service
 *    reachable: no input ever gives a key.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "fuzz.h"
#include "fuzz_provider_env.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    parsec_fuzz_provider_start();
    return 0;
}

static void fuzz_keyref_decode(pprov_ctx *ctx, const uint8_t *data, size_t size)
{
    char *name = NULL, *name2 = NULL;
    uint8_t backend = 0, backend2 = 0;
    int type = 0, type2 = 0;
    unsigned char *der = NULL;
    size_t derlen = 0;
    pprov_key key;

    ERR_clear_error();
    if (!pprov_keyref_decode(data, size, &name, &backend, &type)) {
        FUZZ_ASSERT(name == NULL);
        FUZZ_ASSERT(ERR_peek_error() == 0);
        return;
    }
    FUZZ_ASSERT(name != NULL && name[0] != '\0');
    FUZZ_ASSERT(backend <= PARSEC_PROVIDER_MAX);
    FUZZ_ASSERT(type == 0 || type == PPROV_KEY_RSA || type == PPROV_KEY_RSA_PSS ||
                type == PPROV_KEY_EC);

    /* What the encoder writes always has a type; a reference without one loads as the key is. */
    memset(&key, 0, sizeof(key));
    key.ctx = ctx;
    key.name = name;
    key.provider_id = backend;
    key.type = type != 0 ? type : PPROV_KEY_EC;
    FUZZ_ASSERT(pprov_keyref_encode(&key, &der, &derlen) == 1);
    FUZZ_ASSERT(pprov_keyref_decode(der, derlen, &name2, &backend2, &type2) == 1);
    FUZZ_ASSERT(strcmp(name2, name) == 0 && backend2 == backend && type2 == key.type);
    OPENSSL_free(name2);
    OPENSSL_free(der);
    OPENSSL_free(name);
}

static void fuzz_keyref_decoder_chain(const uint8_t *data, size_t size)
{
    OSSL_DECODER_CTX *dctx;
    EVP_PKEY *pkey = NULL;
    BIO *pem;

    if (size == 0)
        return; /* PEM_write_bio() writes no empty block */
    pem = BIO_new(BIO_s_mem());
    FUZZ_ASSERT(pem != NULL);
    FUZZ_ASSERT(PEM_write_bio(pem, PPROV_PEM_LABEL, "", data, (long)size) > 0);
    dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, NULL, OSSL_KEYMGMT_SELECT_KEYPAIR,
                                         parsec_fuzz_provider_libctx(), NULL);
    FUZZ_ASSERT(dctx != NULL);
    (void)OSSL_DECODER_from_bio(dctx, pem);
    FUZZ_ASSERT(pkey == NULL);
    OSSL_DECODER_CTX_free(dctx);
    BIO_free(pem);
    ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_keyref_decode(parsec_fuzz_provider_ctx(), data, size);
    fuzz_keyref_decoder_chain(data, size);
    return 0;
}
