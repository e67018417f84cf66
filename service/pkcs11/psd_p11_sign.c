/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SignHash on the token (CKM_RSA_PKCS with an OpenSSL-built DigestInfo,
 * CKM_RSA_PKCS_PSS, CKM_ECDSA) and VerifyHash.
 *
 * Verification is a public-key operation: it runs in OpenSSL on the public
 * key read once from the token's public object (and cached), so it costs no
 * token session and behaves the same on every token.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "parsec_psa_crypto.h"
#include "psd_p11.h"

/* Large enough for RSA-4096 (512 bytes) and P-521 r||s (132 bytes). */
#define PSD_P11_SIG_MAX 1024

static int psd_p11_rsa_type(uint8_t t)
{
    return t == PARSEC_KEY_TYPE_RSA_KEY_PAIR || t == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
}

static int psd_p11_ecc_type(uint8_t t)
{
    return t == PARSEC_KEY_TYPE_ECC_KEY_PAIR || t == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY;
}

typedef struct psd_p11_sign_ctx {
    const psd_key *key;
    struct ck_mechanism mech;
    const uint8_t *in;
    size_t inlen;
    uint8_t *out;
    unsigned long outlen;
} psd_p11_sign_ctx;

static parsec_status psd_p11_sign_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_sign_ctx *sc = arg;
    psd_p11_objects obj;
    parsec_status status;

    status = psd_p11_key_objects(st, s, sc->key, &obj, rv);
    if (status != PARSEC_SUCCESS)
        return status;
    if (obj.priv == CK_INVALID_HANDLE)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT; /* a public key cannot sign */
    *rv = PSD_P11_CALL(st, C_SignInit, s, &sc->mech, obj.priv);
    if (*rv != CKR_OK)
        return psd_p11_status(*rv);
    /* One call with a buffer that always fits: no operation is ever left active. */
    sc->outlen = PSD_P11_SIG_MAX;
    *rv = PSD_P11_CALL(st, C_Sign, s, (unsigned char *)sc->in, sc->inlen, sc->out, &sc->outlen);
    return psd_p11_status(*rv);
}

parsec_status psd_p11_sign_hash(void *state, const psd_key *key, const parsec_alg *alg,
                                const uint8_t *hash, size_t hashlen, psd_buf *sig)
{
    psd_p11 *st = state;
    psd_p11_sign_ctx sc;
    struct ck_rsa_pkcs_pss_params pss;
    const psd_p11_hash *h = NULL;
    const psd_p11_digest_info *di;
    uint8_t digest_info[PSD_P11_DIGEST_INFO_PREFIX_MAX + EVP_MAX_MD_SIZE];
    uint8_t type = key->attrs->type;
    parsec_status status = PARSEC_PSA_ERROR_NOT_SUPPORTED;

    memset(&sc, 0, sizeof(sc));
    sc.key = key;
    sc.in = hash;
    sc.inlen = hashlen;
    if (alg->kind != PARSEC_ALG_ASYMMETRIC_SIGNATURE)
        goto done;
    switch (alg->scheme) {
    case PARSEC_SIGN_RSA_PKCS1V15:
        if (!psd_p11_rsa_type(type) || (h = psd_p11_hash_find(alg->hash)) == NULL)
            goto done;
        if (hashlen != h->len) {
            status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
            goto done;
        }
        /* The DER prefix was encoded once at start-up; only the hash changes. */
        di = &st->digest_info[h->bit];
        memcpy(digest_info, di->prefix, di->len);
        memcpy(digest_info + di->len, hash, hashlen);
        sc.mech.mechanism = CKM_RSA_PKCS;
        sc.in = digest_info;
        sc.inlen = di->len + hashlen;
        break;
    case PARSEC_SIGN_RSA_PKCS1V15_RAW:
        if (!psd_p11_rsa_type(type))
            goto done;
        sc.mech.mechanism = CKM_RSA_PKCS;
        break;
    case PARSEC_SIGN_RSA_PSS:
        if (!psd_p11_rsa_type(type) || (h = psd_p11_hash_find(alg->hash)) == NULL)
            goto done;
        if (hashlen != h->len) {
            status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
            goto done;
        }
        /* PSA RSA-PSS: MGF1 with the same hash, salt as long as the hash. */
        pss.hash_alg = h->ckm;
        pss.mgf = h->mgf;
        pss.s_len = h->len;
        sc.mech.mechanism = CKM_RSA_PKCS_PSS;
        sc.mech.parameter = &pss;
        sc.mech.parameter_len = sizeof(pss);
        break;
    case PARSEC_SIGN_ECDSA:
    case PARSEC_SIGN_ECDSA_ANY:
        if (!psd_p11_ecc_type(type))
            goto done;
        /* CKM_ECDSA signs the hash as given and returns r||s: PSA's format already. */
        sc.mech.mechanism = CKM_ECDSA;
        break;
    default:
        goto done; /* deterministic ECDSA has no PKCS#11 mechanism */
    }
    if (sc.inlen == 0) {
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }
    sc.out = OPENSSL_malloc(PSD_P11_SIG_MAX);
    if (sc.out == NULL) {
        status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    status = psd_p11_run(st, psd_p11_sign_op, &sc);
    if (status != PARSEC_SUCCESS)
        goto done;
    sig->data = sc.out;
    sig->len = sc.outlen;
    sc.out = NULL;
done:
    OPENSSL_free(sc.out);
    return status;
}

parsec_status psd_p11_verify_hash(void *state, const psd_key *key, const parsec_alg *alg,
                                  const uint8_t *hash, size_t hashlen, const uint8_t *sig,
                                  size_t siglen)
{
    psd_p11 *st = state;
    EVP_PKEY *pkey = NULL;
    const psd_p11_hash *h = NULL;
    uint8_t type = key->attrs->type;
    parsec_status status = PARSEC_PSA_ERROR_NOT_SUPPORTED;

    if (alg->kind != PARSEC_ALG_ASYMMETRIC_SIGNATURE)
        goto done;
    switch (alg->scheme) {
    case PARSEC_SIGN_RSA_PKCS1V15:
    case PARSEC_SIGN_RSA_PSS:
        if (!psd_p11_rsa_type(type) || (h = psd_p11_hash_find(alg->hash)) == NULL)
            goto done;
        if (hashlen != h->len) {
            status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
            goto done;
        }
        break;
    case PARSEC_SIGN_RSA_PKCS1V15_RAW:
        if (!psd_p11_rsa_type(type))
            goto done;
        break;
    case PARSEC_SIGN_ECDSA:
    case PARSEC_SIGN_ECDSA_ANY:
    case PARSEC_SIGN_DETERMINISTIC_ECDSA:
        /* A deterministic ECDSA signature verifies like any ECDSA signature. */
        if (!psd_p11_ecc_type(type))
            goto done;
        break;
    default:
        goto done;
    }

    status = psd_p11_public(st, key, &pkey);
    if (status == PARSEC_SUCCESS)
        status = parsec_psa_verify_hash(pkey, alg, hash, hashlen, sig, siglen);
done:
    ERR_clear_error();
    EVP_PKEY_free(pkey);
    return status;
}
