/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RawKeyAgreement (CKM_ECDH1_DERIVE, CKD_NULL) and GenerateRandom.
 *
 * PKCS#11 has no "return the shared secret" call: the secret becomes a
 * short-lived, extractable session object that is read and destroyed at once.
 */
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>

#include "psd_p11.h"

#define PSD_P11_RANDOM_CHUNK 4096

typedef struct psd_p11_ecdh_ctx {
    const psd_key *key;
    const uint8_t *peer;
    size_t peerlen;
    unsigned long secretlen;
    uint8_t *secret;
} psd_p11_ecdh_ctx;

static parsec_status psd_p11_ecdh_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_ecdh_ctx *ec = arg;
    struct ck_ecdh1_derive_params params;
    struct ck_mechanism mech = {CKM_ECDH1_DERIVE, &params, sizeof(params)};
    ck_object_class_t cls = CKO_SECRET_KEY;
    ck_key_type_t kt = CKK_GENERIC_SECRET;
    unsigned char yes = CK_TRUE, no = CK_FALSE;
    struct ck_attribute tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &no, sizeof(no)},
        {CKA_SENSITIVE, &no, sizeof(no)},
        {CKA_EXTRACTABLE, &yes, sizeof(yes)},
        {CKA_VALUE_LEN, &ec->secretlen, sizeof(ec->secretlen)},
    };
    struct ck_attribute value = {CKA_VALUE, NULL, 0};
    ck_object_handle_t secret = CK_INVALID_HANDLE;
    psd_p11_objects obj;
    parsec_status status;

    status = psd_p11_key_objects(st, s, ec->key, &obj, rv);
    if (status != PARSEC_SUCCESS)
        return status;
    if (obj.priv == CK_INVALID_HANDLE)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    memset(&params, 0, sizeof(params));
    params.kdf = CKD_NULL;
    params.public_data = (unsigned char *)ec->peer;
    params.public_data_len = ec->peerlen;
    *rv = PSD_P11_CALL(st, C_DeriveKey, s, &mech, obj.priv, tmpl, sizeof(tmpl) / sizeof(tmpl[0]),
                       &secret);
    if (*rv != CKR_OK)
        return psd_p11_status(*rv);
    value.value = ec->secret;
    value.value_len = ec->secretlen;
    *rv = PSD_P11_CALL(st, C_GetAttributeValue, s, secret, &value, 1);
    st->fn->C_DestroyObject(s, secret);
    if (*rv != CKR_OK)
        return psd_p11_status(*rv);
    if (value.value_len != ec->secretlen)
        return PARSEC_PSA_ERROR_GENERIC_ERROR;
    return PARSEC_SUCCESS;
}

/*
 * The peer point on the key's curve, for a clear error instead of a token's.
 * EC_POINT_oct2point refuses a point off the curve; the group is made once
 * at start-up, as building one per request cost as much as a tenth of a
 * derivation.
 */
static int psd_p11_peer_on_curve(const psd_p11 *st, const psd_p11_curve *c, const uint8_t *peer,
                                 size_t peerlen)
{
    const EC_GROUP *group = st->ec_groups[c->index];
    EC_POINT *pt = NULL;
    int ok = 0;

    if (peer == NULL || peerlen != 1 + 2 * c->bytes || peer[0] != 0x04)
        goto done;
    pt = EC_POINT_new(group);
    ok = pt != NULL && EC_POINT_oct2point(group, pt, peer, peerlen, NULL) == 1;
done:
    EC_POINT_free(pt);
    return ok;
}

parsec_status psd_p11_raw_key_agreement(void *state, const psd_key *key, const parsec_alg *alg,
                                        const uint8_t *peer, size_t peerlen, psd_buf *out)
{
    psd_p11 *st = state;
    psd_p11_ecdh_ctx ec;
    const psd_p11_curve *c = NULL;
    parsec_status status = PARSEC_PSA_ERROR_NOT_SUPPORTED;

    memset(&ec, 0, sizeof(ec));
    /* The core stores every key's size: the curve needs no read from the token. */
    if (alg->kind != PARSEC_ALG_KEY_AGREEMENT || alg->scheme != PARSEC_KA_ECDH ||
        key->attrs->type != PARSEC_KEY_TYPE_ECC_KEY_PAIR || !st->caps.ecdh_derive ||
        (c = psd_p11_curve_by_bits(key->attrs->bits)) == NULL)
        goto done;
    if (!psd_p11_peer_on_curve(st, c, peer, peerlen)) {
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        goto done;
    }

    ec.key = key;
    ec.peer = peer;
    ec.peerlen = peerlen;
    ec.secretlen = c->bytes;
    ec.secret = OPENSSL_malloc(c->bytes);
    if (ec.secret == NULL) {
        status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    status = psd_p11_run(st, psd_p11_ecdh_op, &ec);
    if (status != PARSEC_SUCCESS)
        goto done;
    out->data = ec.secret;
    out->len = ec.secretlen;
    ec.secret = NULL;
done:
    ERR_clear_error();
    if (ec.secret != NULL)
        OPENSSL_clear_free(ec.secret, ec.secretlen);
    return status;
}

typedef struct psd_p11_random_ctx {
    uint8_t *buf;
    size_t len;
} psd_p11_random_ctx;

static parsec_status psd_p11_random_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_random_ctx *rc = arg;
    size_t done, n;

    for (done = 0; done < rc->len; done += n) {
        n = rc->len - done < PSD_P11_RANDOM_CHUNK ? rc->len - done : PSD_P11_RANDOM_CHUNK;
        *rv = PSD_P11_CALL(st, C_GenerateRandom, s, rc->buf + done, n);
        if (*rv != CKR_OK)
            return *rv == CKR_RANDOM_NO_RNG ? PARSEC_PSA_ERROR_NOT_SUPPORTED : psd_p11_status(*rv);
    }
    return PARSEC_SUCCESS;
}

parsec_status psd_p11_generate_random(void *state, size_t size, psd_buf *out)
{
    psd_p11 *st = state;
    psd_p11_random_ctx rc = {NULL, size};
    parsec_status status;

    if (!st->caps.rng)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    rc.buf = OPENSSL_malloc(size > 0 ? size : 1);
    if (rc.buf == NULL)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    status = psd_p11_run(st, psd_p11_random_op, &rc);
    if (status != PARSEC_SUCCESS) {
        OPENSSL_clear_free(rc.buf, size > 0 ? size : 1);
        return status;
    }
    out->data = rc.buf;
    out->len = size;
    return PARSEC_SUCCESS;
}
