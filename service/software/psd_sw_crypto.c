/* SPDX-License-Identifier: Apache-2.0 */
/* Software backend: signatures, RSA encryption and ECDH through OpenSSL's EVP_PKEY API. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "psd_sw.h"

/* Padding, digest, MGF1 and salt length of a signature algorithm on a fresh context. */
static parsec_status psd_sw_sig_setup(EVP_PKEY_CTX *ctx, const parsec_alg *alg, int is_rsa)
{
    /* OpenSSL 3.0 has no deterministic ECDSA (RFC 6979): refuse it rather than sign randomly. */
    if (alg->scheme == PARSEC_SIGN_DETERMINISTIC_ECDSA)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    return parsec_psa_sig_setup(ctx, alg, is_rsa);
}

parsec_status psd_sw_sign_hash(void *state, const psd_key *key, const parsec_alg *alg,
                               const uint8_t *hash, size_t hashlen, psd_buf *sig)
{
    int is_rsa = key->attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR;
    EVP_PKEY_CTX *ctx = NULL;
    unsigned char *out = NULL;
    size_t outlen = 0;
    int maxlen;
    parsec_status st;

    if (!psd_sw_is_pair(key->attrs->type))
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT; /* a public key cannot sign */
    st = psd_sw_op_ctx(state, key, PSD_SW_SIGN, alg, psd_sw_sig_setup, &ctx);
    if (st != PARSEC_SUCCESS)
        goto done;
    /*
     * The key's maximum signature size is cached in the EVP_PKEY; asking
     * EVP_PKEY_sign for it first costs ECDSA one more dummy-signature
     * encoding (ECDSA_size) per request.
     */
    maxlen = EVP_PKEY_get_size(EVP_PKEY_CTX_get0_pkey(ctx));
    st = PARSEC_PSA_ERROR_GENERIC_ERROR;
    if (maxlen <= 0)
        goto done;
    outlen = (size_t)maxlen;
    st = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    if ((out = OPENSSL_malloc(outlen)) == NULL)
        goto done;
    st = PARSEC_PSA_ERROR_INVALID_ARGUMENT; /* e.g. raw input longer than the modulus allows */
    if (EVP_PKEY_sign(ctx, out, &outlen, hash, hashlen) != 1)
        goto done;
    if (is_rsa) {
        sig->data = out;
        sig->len = outlen;
        out = NULL;
        st = PARSEC_SUCCESS;
    } else {
        size_t n = parsec_psa_ec_coord_len(key->attrs->bits);

        st = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        sig->data = OPENSSL_malloc(2 * n);
        if (sig->data == NULL)
            goto done;
        st = PARSEC_PSA_ERROR_GENERIC_ERROR;
        if (!parsec_ecdsa_der_to_raw(out, outlen, n, sig->data)) {
            OPENSSL_free(sig->data);
            sig->data = NULL;
            goto done;
        }
        sig->len = 2 * n;
        st = PARSEC_SUCCESS;
    }
done:
    OPENSSL_free(out);
    EVP_PKEY_CTX_free(ctx);
    return st;
}

parsec_status psd_sw_verify_hash(void *state, const psd_key *key, const parsec_alg *alg,
                                 const uint8_t *hash, size_t hashlen, const uint8_t *sig,
                                 size_t siglen)
{
    int is_rsa = key->attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR ||
                 key->attrs->type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t *der = NULL;
    size_t derlen = 0;
    parsec_status st;

    st = psd_sw_op_ctx(state, key, PSD_SW_VERIFY, alg, psd_sw_sig_setup, &ctx);
    if (st != PARSEC_SUCCESS)
        goto done;
    st = PARSEC_PSA_ERROR_INVALID_SIGNATURE;
    if (is_rsa) {
        if (EVP_PKEY_verify(ctx, sig, siglen, hash, hashlen) == 1)
            st = PARSEC_SUCCESS;
    } else {
        /* PSA's ECDSA signature is r||s, each exactly the coordinate length. */
        if (siglen == 2 * parsec_psa_ec_coord_len(key->attrs->bits) &&
            parsec_ecdsa_raw_to_der(sig, siglen, &der, &derlen) &&
            EVP_PKEY_verify(ctx, der, derlen, hash, hashlen) == 1)
            st = PARSEC_SUCCESS;
    }
done:
    OPENSSL_free(der);
    EVP_PKEY_CTX_free(ctx);
    return st;
}

/* RSA padding: PKCS#1 v1.5, or OAEP with MGF1 of the same hash (label set per request). */
static parsec_status psd_sw_crypt_setup(EVP_PKEY_CTX *ctx, const parsec_alg *alg, int is_rsa)
{
    const EVP_MD *md;

    if (!is_rsa)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    if (alg->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15)
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0
                   ? PARSEC_SUCCESS
                   : PARSEC_PSA_ERROR_GENERIC_ERROR;
    if (alg->scheme != PARSEC_ENCRYPT_RSA_OAEP)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    md = psd_sw_md(alg->hash);
    if (md == NULL)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0)
        return PARSEC_PSA_ERROR_GENERIC_ERROR;
    return PARSEC_SUCCESS;
}

/* The OAEP label is the request's salt. */
static parsec_status psd_sw_set_label(EVP_PKEY_CTX *ctx, const uint8_t *salt, size_t saltlen)
{
    unsigned char *label;

    if (saltlen > 0) {
        label = OPENSSL_memdup(salt, saltlen);
        if (label == NULL)
            return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, (int)saltlen) <= 0) {
            OPENSSL_free(label);
            return PARSEC_PSA_ERROR_GENERIC_ERROR;
        }
    }
    return PARSEC_SUCCESS;
}

static parsec_status psd_sw_crypt(psd_sw_state *sw, const psd_key *key, const parsec_alg *alg,
                                  const uint8_t *in, size_t inlen, const uint8_t *salt,
                                  size_t saltlen, int decrypt, psd_buf *out)
{
    EVP_PKEY_CTX *ctx = NULL;
    size_t outlen = 0;
    parsec_status st;
    int ok;

    if (key->attrs->type != PARSEC_KEY_TYPE_RSA_KEY_PAIR &&
        (decrypt || key->attrs->type != PARSEC_KEY_TYPE_RSA_PUBLIC_KEY))
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    st = psd_sw_op_ctx(sw, key, decrypt ? PSD_SW_DECRYPT : PSD_SW_ENCRYPT, alg, psd_sw_crypt_setup,
                       &ctx);
    if (st == PARSEC_SUCCESS && alg->scheme == PARSEC_ENCRYPT_RSA_OAEP)
        st = psd_sw_set_label(ctx, salt, saltlen);
    if (st != PARSEC_SUCCESS)
        goto done;
    ok = decrypt ? EVP_PKEY_decrypt(ctx, NULL, &outlen, in, inlen)
                 : EVP_PKEY_encrypt(ctx, NULL, &outlen, in, inlen);
    if (ok != 1 || (out->data = OPENSSL_malloc(outlen > 0 ? outlen : 1)) == NULL) {
        st = ok != 1 ? PARSEC_PSA_ERROR_INVALID_ARGUMENT : PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    ok = decrypt ? EVP_PKEY_decrypt(ctx, out->data, &outlen, in, inlen)
                 : EVP_PKEY_encrypt(ctx, out->data, &outlen, in, inlen);
    if (ok != 1) {
        OPENSSL_clear_free(out->data, outlen);
        out->data = NULL;
        /* Bad padding and wrong-length input look alike on purpose (no oracle). */
        st = decrypt ? PARSEC_PSA_ERROR_INVALID_PADDING : PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }
    out->len = outlen;
    st = PARSEC_SUCCESS;
done:
    EVP_PKEY_CTX_free(ctx);
    return st;
}

parsec_status psd_sw_asymmetric_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                        const uint8_t *in, size_t inlen, const uint8_t *salt,
                                        size_t saltlen, psd_buf *out)
{
    return psd_sw_crypt(state, key, alg, in, inlen, salt, saltlen, 0, out);
}

parsec_status psd_sw_asymmetric_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                        const uint8_t *in, size_t inlen, const uint8_t *salt,
                                        size_t saltlen, psd_buf *out)
{
    return psd_sw_crypt(state, key, alg, in, inlen, salt, saltlen, 1, out);
}

/*
 * One reusable peer key per thread: making an EVP_PKEY costs OpenSSL a
 * group copy, a key-manager lookup and its key-information cache (about a
 * quarter of a P-256 ECDH request), while setting a new point in a key
 * already made costs only decoding and checking the point. The key is only
 * ever touched by its thread, and no context holds it between requests.
 */
typedef struct psd_sw_peer_cache {
    EVP_PKEY *pkey;
    uint8_t family;
    uint32_t bits;
} psd_sw_peer_cache;

static pthread_once_t psd_sw_peer_once = PTHREAD_ONCE_INIT;
static pthread_key_t psd_sw_peer_tls;
static int psd_sw_peer_key_ok;

static void psd_sw_peer_cache_free(void *p)
{
    psd_sw_peer_cache *c = p;

    EVP_PKEY_free(c->pkey);
    free(c);
}

static void psd_sw_peer_key_create(void)
{
    psd_sw_peer_key_ok = pthread_key_create(&psd_sw_peer_tls, psd_sw_peer_cache_free) == 0;
}

/* This thread's cache (made on first use); NULL if it cannot be had: then no caching. */
static psd_sw_peer_cache *psd_sw_peer_cache_get(void)
{
    psd_sw_peer_cache *c;

    pthread_once(&psd_sw_peer_once, psd_sw_peer_key_create);
    if (!psd_sw_peer_key_ok)
        return NULL;
    c = pthread_getspecific(psd_sw_peer_tls);
    if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL &&
        pthread_setspecific(psd_sw_peer_tls, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

/*
 * The peer's uncompressed point (raw key for X25519/X448) as a public key
 * in the group of our key own. The caller owns one reference.
 */
static EVP_PKEY *psd_sw_peer_key(const psd_key *key, const EVP_PKEY *own, const uint8_t *peer,
                                 size_t peerlen)
{
    const char *curve = psd_sw_curve_name(key->attrs->ecc_family, key->attrs->bits);
    size_t n = parsec_psa_ec_coord_len(key->attrs->bits);
    psd_sw_peer_cache *cache;
    EVP_PKEY *pkey = NULL;

    if (curve != NULL && peer != NULL && psd_sw_is_montgomery(key->attrs))
        /* RFC 7748 keys: any 32/56-byte string is a valid public key */
        return peerlen == n ? EVP_PKEY_new_raw_public_key_ex(NULL, curve, NULL, peer, peerlen)
                            : NULL;
    if (curve == NULL || peer == NULL || peerlen != 1 + 2 * n || peer[0] != 0x04)
        return NULL;
    cache = psd_sw_peer_cache_get();
    if (cache != NULL && cache->pkey != NULL && cache->family == key->attrs->ecc_family &&
        cache->bits == key->attrs->bits) {
        pkey = cache->pkey; /* the cache's reference: handed back once the point is set */
        cache->pkey = NULL;
    } else if ((pkey = EVP_PKEY_new()) == NULL || EVP_PKEY_copy_parameters(pkey, own) != 1) {
        /* Copying our key's group is several times cheaper than building it from its name. */
        EVP_PKEY_free(pkey);
        return NULL;
    }
    /*
     * Setting the point is the whole check an invalid-curve attack calls
     * for on these prime-order curves: EC_POINT_oct2point refuses
     * coordinates outside the field and EC_POINT_set_affine_coordinates
     * points off the curve (OpenSSL crypto/ec/ecp_oct.c,
     * crypto/ec/ec_lib.c); the uncompressed form cannot encode the point at
     * infinity. EVP_PKEY_public_check_quick would only repeat it. A refused
     * point may leave the key half-set: it is not kept.
     */
    if (EVP_PKEY_set1_encoded_public_key(pkey, peer, peerlen) != 1) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    if (cache != NULL && EVP_PKEY_up_ref(pkey) == 1) {
        EVP_PKEY_free(cache->pkey); /* another curve's, if any */
        cache->pkey = pkey;
        cache->family = key->attrs->ecc_family;
        cache->bits = key->attrs->bits;
    }
    return pkey;
}

parsec_status psd_sw_raw_key_agreement(void *state, const psd_key *key, const parsec_alg *alg,
                                       const uint8_t *peer, size_t peerlen, psd_buf *out)
{
    EVP_PKEY *peer_key = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    size_t len = 0;
    parsec_status st;

    if (alg->scheme != PARSEC_KA_ECDH)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (key->attrs->type != PARSEC_KEY_TYPE_ECC_KEY_PAIR)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    st = psd_sw_op_ctx(state, key, PSD_SW_DERIVE, alg, NULL, &ctx);
    if (st != PARSEC_SUCCESS)
        goto done;
    /* Our key is the context's: no second look-up in the key cache. */
    peer_key = psd_sw_peer_key(key, EVP_PKEY_CTX_get0_pkey(ctx), peer, peerlen);
    if (peer_key == NULL) {
        st = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }
    st = PARSEC_PSA_ERROR_GENERIC_ERROR;
    /* Checked above: no second (full) check of the peer in set_peer. */
    if (EVP_PKEY_derive_set_peer_ex(ctx, peer_key, 0) != 1 ||
        EVP_PKEY_derive(ctx, NULL, &len) != 1 || (out->data = OPENSSL_malloc(len)) == NULL)
        goto done;
    /* OpenSSL's ECDH output is the shared point's x-coordinate, as PSA specifies. */
    if (EVP_PKEY_derive(ctx, out->data, &len) != 1) {
        OPENSSL_clear_free(out->data, len);
        out->data = NULL;
        goto done;
    }
    out->len = len;
    st = PARSEC_SUCCESS;
done:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer_key);
    return st;
}
