/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Software backend: symmetric keys (AES, ChaCha20), AEAD with them
 * (AES-GCM, AES-CCM, ChaCha20-Poly1305) and the unauthenticated ciphers of
 * PsaCipherEncrypt/Decrypt, through OpenSSL's EVP_CIPHER.
 * A symmetric key's blob is the raw key, kept by the core like the DER
 * of a private key. Nonce and tag rules are PSA's (PSA Crypto API 1.0.1,
 * PSA_ALG_GCM/CCM/CHACHA20_POLY1305; Mbed TLS psa_aead_check_nonce_length).
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "psd_sw.h"

int psd_sw_is_symmetric(uint8_t type)
{
    return type == PARSEC_KEY_TYPE_AES || type == PARSEC_KEY_TYPE_CHACHA20;
}

int psd_sw_symmetric_bits_ok(uint8_t type, uint32_t bits)
{
    if (type == PARSEC_KEY_TYPE_AES)
        return bits == 128 || bits == 192 || bits == 256;
    return type == PARSEC_KEY_TYPE_CHACHA20 && bits == 256;
}

/* Tag lengths PSA allows: GCM 4, 8, 12..16; CCM 4..16 even; ChaCha20-Poly1305 16. */
int psd_sw_aead_alg_ok(uint8_t type, const parsec_alg *alg)
{
    size_t tag = parsec_aead_tag_length(alg);

    switch (alg->scheme) {
    case PARSEC_AEAD_GCM:
        return type == PARSEC_KEY_TYPE_AES && (tag == 4 || tag == 8 || (tag >= 12 && tag <= 16));
    case PARSEC_AEAD_CCM:
        return type == PARSEC_KEY_TYPE_AES && tag >= 4 && tag <= 16 && tag % 2 == 0;
    case PARSEC_AEAD_CHACHA20_POLY1305:
        return type == PARSEC_KEY_TYPE_CHACHA20 && tag == 16;
    default:
        return 0;
    }
}

parsec_status psd_sw_symmetric_generate(const parsec_key_attributes *attrs, psd_buf *blob)
{
    size_t len = attrs->bits / 8;

    if (!psd_sw_symmetric_bits_ok(attrs->type, attrs->bits))
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    blob->data = OPENSSL_malloc(len);
    if (blob->data == NULL)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    if (RAND_priv_bytes(blob->data, (int)len) != 1) {
        OPENSSL_free(blob->data);
        blob->data = NULL;
        return PARSEC_PSA_ERROR_INSUFFICIENT_ENTROPY;
    }
    blob->len = len;
    return PARSEC_SUCCESS;
}

parsec_status psd_sw_symmetric_import(const parsec_key_attributes *attrs, const uint8_t *data,
                                      size_t len, psd_buf *blob)
{
    if ((size_t)attrs->bits != len * 8 || !psd_sw_symmetric_bits_ok(attrs->type, attrs->bits))
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    return psd_buf_set(blob, data, len);
}

static const char *psd_sw_aead_cipher_name(const parsec_alg *alg, uint32_t bits)
{
    switch (alg->scheme) {
    case PARSEC_AEAD_GCM:
        return bits == 128 ? "AES-128-GCM" : bits == 192 ? "AES-192-GCM" : "AES-256-GCM";
    case PARSEC_AEAD_CCM:
        return bits == 128 ? "AES-128-CCM" : bits == 192 ? "AES-192-CCM" : "AES-256-CCM";
    default:
        return "ChaCha20-Poly1305";
    }
}

static int psd_sw_nonce_ok(const parsec_alg *alg, size_t len)
{
    switch (alg->scheme) {
    case PARSEC_AEAD_GCM:
        return len >= 1 && len <= INT32_MAX;
    case PARSEC_AEAD_CCM:
        return len >= 7 && len <= 13;
    default:
        return len == 12;
    }
}

/* A cipher context keyed for the operation; the tag is set here for CCM only. */
static parsec_status psd_sw_aead_ctx(const psd_key *key, const parsec_alg *alg,
                                     const psd_aead_input *in, int enc, const uint8_t *tag,
                                     EVP_CIPHER_CTX **out)
{
    size_t taglen = parsec_aead_tag_length(alg);
    int ccm = alg->scheme == PARSEC_AEAD_CCM;
    EVP_CIPHER *cipher = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    parsec_status st = PARSEC_PSA_ERROR_GENERIC_ERROR;

    *out = NULL;
    if (!psd_sw_aead_alg_ok(key->attrs->type, alg) || key->blob_len * 8 != key->attrs->bits)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (!psd_sw_nonce_ok(alg, in->nonce_len))
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    cipher = EVP_CIPHER_fetch(NULL, psd_sw_aead_cipher_name(alg, key->attrs->bits), NULL);
    ctx = EVP_CIPHER_CTX_new();
    if (cipher == NULL || ctx == NULL)
        goto done;
    if (EVP_CipherInit_ex2(ctx, cipher, NULL, NULL, enc, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)in->nonce_len, NULL) != 1)
        goto done;
    /* CCM fixes the tag length (and, decrypting, the tag) before the key. */
    if (ccm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)taglen, (void *)tag) != 1)
        goto done;
    if (EVP_CipherInit_ex2(ctx, NULL, key->blob, in->nonce, enc, NULL) != 1)
        goto done;
    *out = ctx;
    ctx = NULL;
    st = PARSEC_SUCCESS;
done:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return st;
}

/* Total length (CCM needs it first), then the additional data. */
static int psd_sw_aead_prefix(EVP_CIPHER_CTX *ctx, const parsec_alg *alg, const psd_aead_input *in,
                              size_t datalen)
{
    int n;

    if (datalen > INT32_MAX || in->ad_len > INT32_MAX)
        return 0;
    if (alg->scheme == PARSEC_AEAD_CCM && EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)datalen) != 1)
        return 0;
    return in->ad_len == 0 || EVP_CipherUpdate(ctx, NULL, &n, in->ad, (int)in->ad_len) == 1;
}

parsec_status psd_sw_aead_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                  const psd_aead_input *in, psd_buf *out)
{
    size_t taglen = parsec_aead_tag_length(alg);
    EVP_CIPHER_CTX *ctx = NULL;
    parsec_status st;
    int n = 0, fin = 0;

    st = psd_sw_aead_ctx(key, alg, in, 1, NULL, &ctx);
    if (st != PARSEC_SUCCESS)
        return st;
    st = PARSEC_PSA_ERROR_GENERIC_ERROR;
    if (!psd_sw_aead_prefix(ctx, alg, in, in->data_len))
        goto done;
    out->data = OPENSSL_malloc(in->data_len + taglen);
    if (out->data == NULL) {
        st = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    out->len = in->data_len + taglen;
    if (EVP_CipherUpdate(ctx, out->data, &n, in->data, (int)in->data_len) != 1 ||
        EVP_CipherFinal_ex(ctx, out->data + n, &fin) != 1 ||
        (size_t)n + (size_t)fin != in->data_len ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)taglen, out->data + in->data_len) != 1)
        goto done;
    st = PARSEC_SUCCESS;
done:
    if (st != PARSEC_SUCCESS)
        psd_buf_clear(out);
    EVP_CIPHER_CTX_free(ctx);
    return st;
}

parsec_status psd_sw_aead_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                  const psd_aead_input *in, psd_buf *out)
{
    size_t taglen = parsec_aead_tag_length(alg), ctlen;
    EVP_CIPHER_CTX *ctx = NULL;
    const uint8_t *tag;
    parsec_status st;
    int n = 0, fin = 0;

    /* Shorter than the tag cannot be a ciphertext of this algorithm. */
    if (in->data_len < taglen)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    ctlen = in->data_len - taglen;
    tag = in->data + ctlen;
    st = psd_sw_aead_ctx(key, alg, in, 0, tag, &ctx);
    if (st != PARSEC_SUCCESS)
        return st;
    st = PARSEC_PSA_ERROR_GENERIC_ERROR;
    if (!psd_sw_aead_prefix(ctx, alg, in, ctlen))
        goto done;
    out->data = OPENSSL_malloc(ctlen > 0 ? ctlen : 1);
    if (out->data == NULL) {
        st = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    out->len = ctlen; /* what psd_buf_clear cleanses if the tag is wrong */
    /* CCM checks the tag in the update, GCM and ChaCha20-Poly1305 in the final step. */
    st = PARSEC_PSA_ERROR_INVALID_SIGNATURE;
    if (EVP_CipherUpdate(ctx, out->data, &n, in->data, (int)ctlen) != 1)
        goto done;
    if (alg->scheme != PARSEC_AEAD_CCM &&
        (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)taglen, (void *)tag) != 1 ||
         EVP_CipherFinal_ex(ctx, out->data + n, &fin) != 1))
        goto done;
    out->len = (size_t)n + (size_t)fin;
    st = PARSEC_SUCCESS;
done:
    if (st != PARSEC_SUCCESS)
        psd_buf_clear(out); /* unauthenticated plaintext never leaves the backend */
    EVP_CIPHER_CTX_free(ctx);
    return st;
}

/* ---- PsaCipherEncrypt/PsaCipherDecrypt: IV || ciphertext, as psa_cipher_encrypt ---- */

int psd_sw_cipher_alg_ok(uint8_t type, const parsec_alg *alg)
{
    if (type == PARSEC_KEY_TYPE_CHACHA20)
        return alg->scheme == PARSEC_CIPHER_STREAM;
    /* XTS needs double-length keys, which PSA AES keys are not. */
    return type == PARSEC_KEY_TYPE_AES && alg->scheme >= PARSEC_CIPHER_CTR &&
           alg->scheme <= PARSEC_CIPHER_CBC_PKCS7 && alg->scheme != PARSEC_CIPHER_XTS;
}

/* OpenSSL cipher name and the IV length PSA puts in front of the ciphertext. */
static const char *psd_sw_cipher_name(const psd_key *key, const parsec_alg *alg, size_t *ivlen)
{
    static const char *const aes[][3] = {
        [PARSEC_CIPHER_CTR] = {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"},
        [PARSEC_CIPHER_CFB] = {"AES-128-CFB", "AES-192-CFB", "AES-256-CFB"},
        [PARSEC_CIPHER_OFB] = {"AES-128-OFB", "AES-192-OFB", "AES-256-OFB"},
        [PARSEC_CIPHER_ECB_NO_PADDING] = {"AES-128-ECB", "AES-192-ECB", "AES-256-ECB"},
        [PARSEC_CIPHER_CBC_NO_PADDING] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"},
        [PARSEC_CIPHER_CBC_PKCS7] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"},
    };

    if (alg->scheme == PARSEC_CIPHER_STREAM) {
        *ivlen = 12; /* PSA's ChaCha20 nonce; the block counter starts at 0 */
        return "ChaCha20";
    }
    *ivlen = alg->scheme == PARSEC_CIPHER_ECB_NO_PADDING ? 0 : 16;
    return aes[alg->scheme][key->attrs->bits == 128 ? 0 : key->attrs->bits == 192 ? 1 : 2];
}

static parsec_status psd_sw_cipher(const psd_key *key, const parsec_alg *alg, const uint8_t *iv,
                                   size_t ivlen, const uint8_t *in, size_t inlen, int enc,
                                   uint8_t *out, size_t *outlen)
{
    int blocked = alg->scheme == PARSEC_CIPHER_ECB_NO_PADDING ||
                  alg->scheme == PARSEC_CIPHER_CBC_NO_PADDING ||
                  (!enc && alg->scheme == PARSEC_CIPHER_CBC_PKCS7);
    uint8_t full_iv[16] = {0};
    EVP_CIPHER *cipher = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    parsec_status st = PARSEC_PSA_ERROR_GENERIC_ERROR;
    size_t ivlen_unused;
    int n = 0, fin = 0;

    if (blocked && inlen % 16 != 0)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (inlen > INT32_MAX)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    /* OpenSSL's ChaCha20 IV is the 32-bit block counter, then the nonce. */
    if (alg->scheme == PARSEC_CIPHER_STREAM)
        memcpy(full_iv + 4, iv, 12);
    else if (ivlen > 0)
        memcpy(full_iv, iv, ivlen);
    cipher = EVP_CIPHER_fetch(NULL, psd_sw_cipher_name(key, alg, &ivlen_unused), NULL);
    ctx = EVP_CIPHER_CTX_new();
    if (cipher == NULL || ctx == NULL ||
        EVP_CipherInit_ex2(ctx, cipher, key->blob, ivlen > 0 ? full_iv : NULL, enc, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, alg->scheme == PARSEC_CIPHER_CBC_PKCS7) != 1 ||
        EVP_CipherUpdate(ctx, out, &n, in, (int)inlen) != 1)
        goto done;
    if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) {
        st = enc ? PARSEC_PSA_ERROR_GENERIC_ERROR : PARSEC_PSA_ERROR_INVALID_PADDING;
        goto done;
    }
    *outlen = (size_t)n + (size_t)fin;
    st = PARSEC_SUCCESS;
done:
    OPENSSL_cleanse(full_iv, sizeof(full_iv));
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return st;
}

/* Encrypt: out = fresh IV || ciphertext. Decrypt: in = IV || ciphertext, out = plaintext. */
static parsec_status psd_sw_cipher_run(const psd_key *key, const parsec_alg *alg, const uint8_t *in,
                                       size_t inlen, int enc, psd_buf *out)
{
    size_t ivlen = 0, len = 0, prefix;
    const uint8_t *iv;
    parsec_status st;

    if (!psd_sw_cipher_alg_ok(key->attrs->type, alg) || key->blob_len * 8 != key->attrs->bits)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    psd_sw_cipher_name(key, alg, &ivlen);
    if (!enc && (inlen < ivlen || (inlen == ivlen && ivlen > 0)))
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    prefix = enc ? ivlen : 0;
    /* the IV written in front, the data, and up to a block of PKCS#7 padding */
    out->len = prefix + (enc ? inlen : inlen - ivlen) + 16;
    out->data = OPENSSL_malloc(out->len);
    if (out->data == NULL) {
        out->len = 0;
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    }
    if (enc && ivlen > 0 && RAND_bytes(out->data, (int)ivlen) != 1) {
        psd_buf_clear(out);
        return PARSEC_PSA_ERROR_INSUFFICIENT_ENTROPY;
    }
    iv = enc ? out->data : in;
    st = enc ? psd_sw_cipher(key, alg, iv, ivlen, in, inlen, 1, out->data + prefix, &len)
             : psd_sw_cipher(key, alg, iv, ivlen, in + ivlen, inlen - ivlen, 0, out->data, &len);
    if (st != PARSEC_SUCCESS) {
        psd_buf_clear(out); /* cleanses whatever was decrypted before a padding error */
        return st;
    }
    out->len = prefix + len;
    return PARSEC_SUCCESS;
}

parsec_status psd_sw_cipher_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                    const uint8_t *in, size_t inlen, psd_buf *out)
{
    return psd_sw_cipher_run(key, alg, in, inlen, 1, out);
}

parsec_status psd_sw_cipher_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                    const uint8_t *in, size_t inlen, psd_buf *out)
{
    return psd_sw_cipher_run(key, alg, in, inlen, 0, out);
}
