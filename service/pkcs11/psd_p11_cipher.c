/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AsymmetricEncrypt / AsymmetricDecrypt (RSA PKCS#1 v1.5 and OAEP).
 *
 * Encryption is a public-key operation and runs in OpenSSL on the cached
 * public key. Decryption runs on the token: CKM_RSA_PKCS, or CKM_RSA_PKCS_OAEP
 * with the hash, MGF1 and label. Some tokens (SoftHSM2 among them) only take
 * OAEP with SHA-1 and no label; for other parameters the private-key step
 * still runs on the token (CKM_RSA_X_509) and OpenSSL's constant-time OAEP
 * decoding checks the padding, so the private key never leaves the token.
 */
/* RSA_padding_check_PKCS1_OAEP_mgf1 has no non-deprecated replacement in 3.0. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "psd_p11.h"

/* Largest modulus this backend creates or imports: RSA-4096. */
#define PSD_P11_RSA_MAX_BYTES 512

parsec_status psd_p11_asymmetric_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                         const uint8_t *in, size_t inlen, const uint8_t *salt,
                                         size_t saltlen, psd_buf *out)
{
    psd_p11 *st = state;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    const psd_p11_hash *h = NULL;
    unsigned char *label = NULL;
    size_t outlen = 0;
    uint8_t type = key->attrs->type;
    parsec_status status = PARSEC_PSA_ERROR_NOT_SUPPORTED;

    if (alg->kind != PARSEC_ALG_ASYMMETRIC_ENCRYPTION ||
        (type != PARSEC_KEY_TYPE_RSA_KEY_PAIR && type != PARSEC_KEY_TYPE_RSA_PUBLIC_KEY))
        goto done;
    if (alg->scheme == PARSEC_ENCRYPT_RSA_OAEP) {
        if ((h = psd_p11_hash_find(alg->hash)) == NULL)
            goto done;
    } else if (alg->scheme != PARSEC_ENCRYPT_RSA_PKCS1V15) {
        goto done;
    } else if (saltlen != 0) {
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }

    status = psd_p11_public(st, key, &pkey);
    if (status != PARSEC_SUCCESS)
        goto done;
    status = PARSEC_PSA_ERROR_GENERIC_ERROR;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) <= 0)
        goto done;
    if (h == NULL) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
            goto done;
    } else {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx, st->hash_md[h->bit]) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, st->hash_md[h->bit]) <= 0)
            goto done;
        if (saltlen > 0) {
            label = OPENSSL_memdup(salt, saltlen);
            if (label == NULL || EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, (int)saltlen) <= 0)
                goto done;
            label = NULL; /* owned by ctx */
        }
    }
    if (EVP_PKEY_encrypt(ctx, NULL, &outlen, in, inlen) <= 0)
        goto done;
    out->data = OPENSSL_malloc(outlen);
    if (out->data == NULL) {
        status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    if (EVP_PKEY_encrypt(ctx, out->data, &outlen, in, inlen) <= 0) {
        OPENSSL_free(out->data);
        out->data = NULL;
        /* Too long for the modulus (and padding) is the caller's input. */
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }
    out->len = outlen;
    status = PARSEC_SUCCESS;
done:
    ERR_clear_error();
    OPENSSL_free(label);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return status;
}

typedef struct psd_p11_decrypt_ctx {
    const psd_key *key;
    struct ck_mechanism mech;
    const uint8_t *in;
    size_t inlen;
    uint8_t *out; /* PSD_P11_RSA_MAX_BYTES */
    unsigned long outlen;
    CK_RV init_rv; /* what C_DecryptInit answered */
} psd_p11_decrypt_ctx;

static parsec_status psd_p11_decrypt_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_decrypt_ctx *dc = arg;
    psd_p11_objects obj;
    parsec_status status;

    status = psd_p11_key_objects(st, s, dc->key, &obj, rv);
    if (status != PARSEC_SUCCESS)
        return status;
    if (obj.priv == CK_INVALID_HANDLE)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT; /* a public key cannot decrypt */
    *rv = PSD_P11_CALL(st, C_DecryptInit, s, &dc->mech, obj.priv);
    dc->init_rv = *rv;
    if (*rv != CKR_OK)
        return psd_p11_status(*rv);
    /* The buffer always fits, so C_Decrypt ends the operation whatever happens. */
    dc->outlen = PSD_P11_RSA_MAX_BYTES;
    *rv = PSD_P11_CALL(st, C_Decrypt, s, (unsigned char *)dc->in, dc->inlen, dc->out, &dc->outlen);
    return psd_p11_status(*rv);
}

static unsigned int psd_p11_oaep_bit(const psd_p11_hash *h, size_t saltlen)
{
    return 1u << (h->bit + (saltlen > 0 ? 8 : 0));
}

/*
 * Raw RSA on the token, OAEP decoding in OpenSSL (see the top of the file).
 * The modulus length comes from the key's stored size and the digest was
 * fetched at start-up: nothing but the token call and the decoding per request.
 */
static parsec_status psd_p11_oaep_emulated(psd_p11 *st, psd_p11_decrypt_ctx *dc,
                                           const psd_p11_hash *h, const uint8_t *salt,
                                           size_t saltlen, psd_buf *out)
{
    const EVP_MD *md = st->hash_md[h->bit];
    uint8_t em[PSD_P11_RSA_MAX_BYTES], plain[PSD_P11_RSA_MAX_BYTES];
    size_t k = ((size_t)dc->key->attrs->bits + 7) / 8;
    int n;
    parsec_status status = PARSEC_PSA_ERROR_INVALID_PADDING;

    if (k == 0 || k > PSD_P11_RSA_MAX_BYTES || dc->inlen != k || saltlen > INT_MAX)
        goto done;
    dc->mech.mechanism = CKM_RSA_X_509;
    dc->mech.parameter = NULL;
    dc->mech.parameter_len = 0;
    status = psd_p11_run(st, psd_p11_decrypt_op, dc);
    if (status != PARSEC_SUCCESS)
        goto done;
    status = PARSEC_PSA_ERROR_GENERIC_ERROR;
    if (dc->outlen > k)
        goto done;
    /* Some modules drop leading zero bytes of the raw result: restore k bytes. */
    memset(em, 0, k - dc->outlen);
    memcpy(em + (k - dc->outlen), dc->out, dc->outlen);
    n = RSA_padding_check_PKCS1_OAEP_mgf1(plain, (int)k, em, (int)k, (int)k, salt, (int)saltlen, md,
                                          md);
    if (n < 0) {
        status = PARSEC_PSA_ERROR_INVALID_PADDING;
        goto done;
    }
    /* Exactly n bytes: the core cleanses out->len bytes. */
    out->data = OPENSSL_memdup(plain, n > 0 ? (size_t)n : 1);
    if (out->data == NULL) {
        status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    out->len = (size_t)n;
    status = PARSEC_SUCCESS;
done:
    ERR_clear_error();
    OPENSSL_cleanse(em, sizeof(em));
    OPENSSL_cleanse(plain, sizeof(plain));
    return status;
}

parsec_status psd_p11_asymmetric_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                         const uint8_t *in, size_t inlen, const uint8_t *salt,
                                         size_t saltlen, psd_buf *out)
{
    psd_p11 *st = state;
    psd_p11_decrypt_ctx dc;
    struct ck_rsa_pkcs_oaep_params oaep;
    const psd_p11_hash *h = NULL;
    unsigned int bit = 0;
    uint8_t type = key->attrs->type;
    parsec_status status = PARSEC_PSA_ERROR_NOT_SUPPORTED;

    memset(&dc, 0, sizeof(dc));
    dc.key = key;
    dc.in = in;
    dc.inlen = inlen;
    if (alg->kind != PARSEC_ALG_ASYMMETRIC_ENCRYPTION || type != PARSEC_KEY_TYPE_RSA_KEY_PAIR)
        goto done;
    if (inlen == 0) {
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }
    dc.out = OPENSSL_malloc(PSD_P11_RSA_MAX_BYTES);
    if (dc.out == NULL) {
        status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    if (alg->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15) {
        if (saltlen != 0) {
            status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
            goto done;
        }
        if (!st->caps.rsa_pkcs_decrypt)
            goto done;
        dc.mech.mechanism = CKM_RSA_PKCS;
        status = psd_p11_run(st, psd_p11_decrypt_op, &dc);
    } else if (alg->scheme == PARSEC_ENCRYPT_RSA_OAEP &&
               (h = psd_p11_hash_find(alg->hash)) != NULL) {
        bit = psd_p11_oaep_bit(h, saltlen);
        if (!st->caps.rsa_oaep_decrypt ||
            (__atomic_load_n(&st->oaep_refused, __ATOMIC_RELAXED) & bit)) {
            status = st->caps.rsa_x509_decrypt
                         ? psd_p11_oaep_emulated(st, &dc, h, salt, saltlen, out)
                         : PARSEC_PSA_ERROR_NOT_SUPPORTED;
            goto done;
        }
        oaep.hash_alg = h->ckm;
        oaep.mgf = h->mgf;
        oaep.source = CKZ_DATA_SPECIFIED;
        oaep.source_data = saltlen > 0 ? (void *)salt : NULL;
        oaep.source_data_len = saltlen;
        dc.mech.mechanism = CKM_RSA_PKCS_OAEP;
        dc.mech.parameter = &oaep;
        dc.mech.parameter_len = sizeof(oaep);
        status = psd_p11_run(st, psd_p11_decrypt_op, &dc);
        /* The token refused these OAEP parameters (not the data): remember and emulate. */
        if ((dc.init_rv == CKR_MECHANISM_PARAM_INVALID || dc.init_rv == CKR_ARGUMENTS_BAD ||
             dc.init_rv == CKR_MECHANISM_INVALID) &&
            st->caps.rsa_x509_decrypt) {
            __atomic_or_fetch(&st->oaep_refused, bit, __ATOMIC_RELAXED);
            psd_log(PSD_LOG_INFO,
                    "pkcs11: token '%s' refuses OAEP with these parameters; using raw RSA on "
                    "the token with OAEP decoding in OpenSSL",
                    st->token_label);
            status = psd_p11_oaep_emulated(st, &dc, h, salt, saltlen, out);
            goto done;
        }
    } else {
        goto done;
    }
    if (status != PARSEC_SUCCESS)
        goto done;
    out->data = OPENSSL_memdup(dc.out, dc.outlen > 0 ? dc.outlen : 1);
    if (out->data == NULL) {
        status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    out->len = dc.outlen;
done:
    if (dc.out != NULL)
        OPENSSL_clear_free(dc.out, PSD_P11_RSA_MAX_BYTES);
    return status;
}
