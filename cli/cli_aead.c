/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec-cli: AES keys and AEAD. aead-encrypt draws a fresh nonce from
 * OpenSSL's DRBG for every message and writes nonce || ciphertext || tag,
 * so aead-decrypt needs nothing but the key, the file and the same --aad.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsec_cli.h"

int cli_result_output(const cli_opts *o, parsec_status st, const uint8_t *data, size_t len)
{
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    return cli_write_file(o, o->out_file ? o->out_file : "-", data, len);
}

/* PSA's recommended nonce sizes: 12 bytes for GCM and ChaCha20-Poly1305, 13 for CCM. */
static size_t cli_aead_nonce_len(const parsec_alg *alg)
{
    return alg->scheme == PARSEC_AEAD_CCM ? 13 : 12;
}

int cli_cmd_create_aes_key(const cli_opts *o)
{
    parsec_key_attributes a;
    parsec_client *c = NULL;
    parsec_status st;
    long bits = o->bits > 0 ? o->bits : 256;
    int rc = cli_need_key(o);

    if (rc != CLI_EXIT_OK)
        return rc;
    if (bits != 128 && bits != 192 && bits != 256)
        return cli_local_error(o, "unsupported AES key size %ld (128, 192, 256)", bits);
    if (o->sign_pkcs1 || o->sign_pss || o->oaep || o->ecdh || o->hash_name != NULL)
        return cli_local_error(o, "RSA and ECC options do not apply to create-aes-key");
    memset(&a, 0, sizeof(a));
    a.type = PARSEC_KEY_TYPE_AES;
    a.bits = (uint32_t)bits;
    a.usage = PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT;
    if (o->exportable)
        a.usage |= PARSEC_USAGE_EXPORT;
    a.alg.kind = PARSEC_ALG_AEAD;
    a.alg.scheme = o->ccm ? PARSEC_AEAD_CCM : PARSEC_AEAD_GCM;
    rc = cli_client_open(o, 1, 1, &c);
    if (rc != CLI_EXIT_OK)
        return rc;
    st = parsec_generate_key(c, PARSEC_PROVIDER_DEFAULT, o->key_name, &a);
    parsec_client_free(c);
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    printf("Key \"%s\" created (AES, %ld bits, %s).\n", o->key_name, bits, o->ccm ? "Ccm" : "Gcm");
    return CLI_EXIT_OK;
}

/*
 * Both directions: a client with the key (which must be an AEAD key), the
 * input file and the optional additional data.
 */
static int cli_aead_open(const cli_opts *o, parsec_client **c, uint8_t *provider,
                         parsec_key_attributes *attrs, uint8_t **in, size_t *inlen, uint8_t **aad,
                         size_t *aadlen)
{
    int rc;

    if (o->in_file == NULL)
        return cli_local_error(o, "%s needs -i FILE", o->command);
    rc = cli_open_with_key(o, c, provider, attrs);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (attrs->alg.kind != PARSEC_ALG_AEAD)
        return cli_local_error(o, "key \"%s\" is not an AEAD key (create it with create-aes-key)",
                               o->key_name);
    if (o->aad_file != NULL) {
        rc = cli_read_file(o, o->aad_file, aad, aadlen);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    return cli_read_file(o, o->in_file, in, inlen);
}

int cli_cmd_aead_encrypt(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes attrs;
    uint8_t provider = 0, nonce[16];
    uint8_t *in = NULL, *aad = NULL, *ct = NULL, *out = NULL;
    size_t inlen = 0, aadlen = 0, ctlen = 0, noncelen;
    parsec_status st;
    int rc;

    rc = cli_aead_open(o, &c, &provider, &attrs, &in, &inlen, &aad, &aadlen);
    if (rc != CLI_EXIT_OK)
        goto done;
    noncelen = cli_aead_nonce_len(&attrs.alg);
    if (RAND_bytes(nonce, (int)noncelen) != 1) {
        rc = cli_local_error(o, "OpenSSL could not generate a nonce");
        goto done;
    }
    st = parsec_aead_encrypt(c, provider, o->key_name, &attrs.alg, nonce, noncelen, aad, aadlen, in,
                             inlen, &ct, &ctlen);
    if (st != PARSEC_SUCCESS) {
        rc = cli_fail(o, st);
        goto done;
    }
    out = malloc(noncelen + ctlen);
    if (out == NULL) {
        rc = cli_local_error(o, "out of memory");
        goto done;
    }
    memcpy(out, nonce, noncelen);
    memcpy(out + noncelen, ct, ctlen);
    rc = cli_write_file(o, o->out_file ? o->out_file : "-", out, noncelen + ctlen);
done:
    free(out);
    parsec_free(ct);
    if (in != NULL)
        OPENSSL_cleanse(in, inlen);
    free(in);
    free(aad);
    parsec_client_free(c);
    return rc;
}

int cli_cmd_aead_decrypt(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes attrs;
    uint8_t provider = 0;
    uint8_t *in = NULL, *aad = NULL, *pt = NULL;
    size_t inlen = 0, aadlen = 0, ptlen = 0, noncelen;
    parsec_status st;
    int rc;

    rc = cli_aead_open(o, &c, &provider, &attrs, &in, &inlen, &aad, &aadlen);
    if (rc != CLI_EXIT_OK)
        goto done;
    noncelen = cli_aead_nonce_len(&attrs.alg);
    if (inlen < noncelen + parsec_aead_tag_length(&attrs.alg)) {
        rc = cli_local_error(o, "%s is too short to be aead-encrypt output (nonce, data, tag)",
                             o->in_file);
        goto done;
    }
    st = parsec_aead_decrypt(c, provider, o->key_name, &attrs.alg, in, noncelen, aad, aadlen,
                             in + noncelen, inlen - noncelen, &pt, &ptlen);
    if (st == PARSEC_PSA_ERROR_INVALID_SIGNATURE) {
        fprintf(stderr,
                "parsec-cli: %s: %s was not encrypted with key \"%s\" and this --aad, or was "
                "modified (PsaErrorInvalidSignature)\n",
                o->command, o->in_file, o->key_name);
        rc = CLI_EXIT_SERVICE;
        goto done;
    }
    rc = cli_result_output(o, st, pt, ptlen);
done:
    parsec_clear_free(pt, ptlen);
    free(in);
    free(aad);
    parsec_client_free(c);
    return rc;
}
