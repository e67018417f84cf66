/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AES keys on the token (CKM_AES_KEY_GEN, or C_CreateObject for an import)
 * and PsaAeadEncrypt/PsaAeadDecrypt with CKM_AES_GCM (PKCS#11 Current
 * Mechanisms v2.40, "AES-GCM", CK_GCM_PARAMS). The keys are sensitive and never extractable,
 * like the backend's private keys. Tokens rarely offer CKM_AES_CCM, and
 * SoftHSM2 does not, so CCM and ChaCha20-Poly1305 are not offered here.
 */
#include <string.h>

#include <openssl/rand.h>

#include "psd_p11.h"

static const unsigned char psd_p11_aead_true = CK_TRUE;
static const unsigned char psd_p11_aead_false = CK_FALSE;
static const ck_object_class_t psd_p11_class_secret = CKO_SECRET_KEY;
static const ck_key_type_t psd_p11_ckk_aes = CKK_AES;

/* GCM tag lengths PSA allows: 4, 8, 12..16 bytes. */
static int psd_p11_gcm_tag_ok(size_t tag)
{
    return tag == 4 || tag == 8 || (tag >= 12 && tag <= 16);
}

int psd_p11_aes_ok(const psd_p11 *st, const parsec_key_attributes *a)
{
    unsigned long bytes = a->bits / 8;

    if (a->bits != 128 && a->bits != 192 && a->bits != 256)
        return 0;
    /* Token keys are never extractable. */
    if (a->usage & PARSEC_USAGE_EXPORT)
        return 0;
    if (st->caps.aes_max_bytes != 0 &&
        (bytes < st->caps.aes_min_bytes || bytes > st->caps.aes_max_bytes))
        return 0;
    if (a->alg.kind == PARSEC_ALG_NONE)
        return 1;
    return a->alg.kind == PARSEC_ALG_AEAD && a->alg.scheme == PARSEC_AEAD_GCM && st->caps.aes_gcm &&
           psd_p11_gcm_tag_ok(parsec_aead_tag_length(&a->alg));
}

typedef struct psd_p11_secret_ctx {
    struct ck_attribute tmpl[12];
    unsigned long n;
    const uint8_t *value; /* import: the key; generate: NULL */
    size_t value_len;
    ck_object_handle_t obj;
} psd_p11_secret_ctx;

static void psd_p11_secret_add(psd_p11_secret_ctx *c, ck_attribute_type_t type, const void *v,
                               size_t len)
{
    c->tmpl[c->n].type = type;
    c->tmpl[c->n].value = (void *)v;
    c->tmpl[c->n].value_len = len;
    c->n++;
}

static parsec_status psd_p11_secret_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_secret_ctx *c = arg;
    struct ck_mechanism mech = {CKM_AES_KEY_GEN, NULL, 0};

    c->obj = CK_INVALID_HANDLE;
    if (c->value != NULL)
        *rv = st->fn->C_CreateObject(s, c->tmpl, c->n, &c->obj);
    else
        *rv = st->fn->C_GenerateKey(s, &mech, c->tmpl, c->n, &c->obj);
    return psd_p11_status(*rv);
}

/* Template shared by generation and import; value_len is CKA_VALUE_LEN or the CKA_VALUE length. */
static parsec_status psd_p11_secret_create(psd_p11 *st, const parsec_key_attributes *attrs,
                                           const char *name, const uint8_t *value, psd_buf *blob)
{
    unsigned long value_len = attrs->bits / 8;
    uint8_t ckid[PSD_P11_ID_LEN];
    psd_p11_secret_ctx c;
    parsec_status status;
    int enc = (attrs->usage & PARSEC_USAGE_ENCRYPT) != 0;
    int dec = (attrs->usage & PARSEC_USAGE_DECRYPT) != 0;

    if (!psd_p11_aes_ok(st, attrs))
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (value == NULL && !st->caps.aes_gen)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (RAND_bytes(ckid, sizeof(ckid)) != 1)
        return PARSEC_PSA_ERROR_INSUFFICIENT_ENTROPY;
    memset(&c, 0, sizeof(c));
    psd_p11_secret_add(&c, CKA_CLASS, &psd_p11_class_secret, sizeof(psd_p11_class_secret));
    psd_p11_secret_add(&c, CKA_KEY_TYPE, &psd_p11_ckk_aes, sizeof(psd_p11_ckk_aes));
    psd_p11_secret_add(&c, CKA_TOKEN, &psd_p11_aead_true, 1);
    psd_p11_secret_add(&c, CKA_PRIVATE, &psd_p11_aead_true, 1);
    psd_p11_secret_add(&c, CKA_SENSITIVE, &psd_p11_aead_true, 1);
    psd_p11_secret_add(&c, CKA_EXTRACTABLE, &psd_p11_aead_false, 1);
    psd_p11_secret_add(&c, CKA_ENCRYPT, enc ? &psd_p11_aead_true : &psd_p11_aead_false, 1);
    psd_p11_secret_add(&c, CKA_DECRYPT, dec ? &psd_p11_aead_true : &psd_p11_aead_false, 1);
    psd_p11_secret_add(&c, CKA_ID, ckid, sizeof(ckid));
    if (name != NULL)
        psd_p11_secret_add(&c, CKA_LABEL, name, strlen(name));
    if (value != NULL)
        psd_p11_secret_add(&c, CKA_VALUE, value, value_len);
    else
        psd_p11_secret_add(&c, CKA_VALUE_LEN, &value_len, sizeof(value_len));
    c.value = value;
    c.value_len = value_len;
    status = psd_p11_run(st, psd_p11_secret_op, &c);
    if (status == PARSEC_SUCCESS)
        status = psd_p11_blob_make(blob, PSD_P11_BLOB_SECRET, ckid);
    return status;
}

parsec_status psd_p11_secret_generate(psd_p11 *st, const parsec_key_attributes *attrs,
                                      const char *name, psd_buf *blob)
{
    return psd_p11_secret_create(st, attrs, name, NULL, blob);
}

parsec_status psd_p11_secret_import(psd_p11 *st, const parsec_key_attributes *attrs,
                                    const char *name, const uint8_t *data, size_t len,
                                    psd_buf *blob)
{
    if ((size_t)attrs->bits != len * 8)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    return psd_p11_secret_create(st, attrs, name, data, blob);
}

typedef struct psd_p11_gcm_ctx {
    const psd_key *key;
    struct ck_gcm_params params;
    int decrypt;
    const uint8_t *in;
    size_t inlen;
    uint8_t *out;
    unsigned long outlen;
} psd_p11_gcm_ctx;

static parsec_status psd_p11_gcm_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_gcm_ctx *g = arg;
    struct ck_mechanism mech = {CKM_AES_GCM, &g->params, sizeof(g->params)};
    psd_p11_objects obj;
    parsec_status status;

    status = psd_p11_key_objects(st, s, g->key, &obj, rv);
    if (status != PARSEC_SUCCESS)
        return status;
    *rv = g->decrypt ? st->fn->C_DecryptInit(s, &mech, obj.priv)
                     : st->fn->C_EncryptInit(s, &mech, obj.priv);
    if (*rv != CKR_OK)
        return *rv == CKR_MECHANISM_PARAM_INVALID ? PARSEC_PSA_ERROR_INVALID_ARGUMENT
                                                  : psd_p11_status(*rv);
    /* The output buffer always fits, so the one-shot call ends the operation. */
    if (g->decrypt) {
        *rv = st->fn->C_Decrypt(s, (unsigned char *)g->in, g->inlen, g->out, &g->outlen);
        /*
         * A tag that does not verify: CKR_ENCRYPTED_DATA_INVALID in the
         * standard, CKR_GENERAL_ERROR from SoftHSM2 (its GCM decryptFinal
         * failure); once C_DecryptInit took the key and parameters nothing
         * else in this one-shot call fails that way.
         */
        if (*rv == CKR_ENCRYPTED_DATA_INVALID || *rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
            *rv == CKR_GENERAL_ERROR) {
            psd_log(PSD_LOG_DEBUG, "pkcs11: AES-GCM tag did not verify (%s)", psd_p11_rv_name(*rv));
            return PARSEC_PSA_ERROR_INVALID_SIGNATURE;
        }
    } else {
        *rv = st->fn->C_Encrypt(s, (unsigned char *)g->in, g->inlen, g->out, &g->outlen);
    }
    return psd_p11_status(*rv);
}

static parsec_status psd_p11_gcm(psd_p11 *st, const psd_key *key, const parsec_alg *alg,
                                 const psd_aead_input *in, int decrypt, psd_buf *out)
{
    size_t tag = parsec_aead_tag_length(alg);
    size_t cap = decrypt ? in->data_len : in->data_len + tag;
    psd_p11_gcm_ctx g;
    parsec_status status;

    if (key->attrs->type != PARSEC_KEY_TYPE_AES || alg->scheme != PARSEC_AEAD_GCM ||
        !psd_p11_gcm_tag_ok(tag))
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (decrypt && in->data_len < tag)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    memset(&g, 0, sizeof(g));
    g.key = key;
    g.decrypt = decrypt;
    g.params.iv_ptr = (void *)in->nonce;
    g.params.iv_len = in->nonce_len;
    g.params.iv_bits = in->nonce_len * 8;
    g.params.aad_ptr = (void *)in->ad;
    g.params.aad_len = in->ad_len;
    g.params.tag_bits = tag * 8;
    g.in = in->data;
    g.inlen = in->data_len;
    g.out = OPENSSL_malloc(cap > 0 ? cap : 1);
    if (g.out == NULL)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    g.outlen = cap;
    status = psd_p11_run(st, psd_p11_gcm_op, &g);
    if (status != PARSEC_SUCCESS || g.outlen > cap) {
        OPENSSL_clear_free(g.out, cap > 0 ? cap : 1);
        return status != PARSEC_SUCCESS ? status : PARSEC_PSA_ERROR_GENERIC_ERROR;
    }
    out->data = g.out;
    out->len = g.outlen;
    return PARSEC_SUCCESS;
}

parsec_status psd_p11_aead_encrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                   const psd_aead_input *in, psd_buf *out)
{
    return psd_p11_gcm(state, key, alg, in, 0, out);
}

parsec_status psd_p11_aead_decrypt(void *state, const psd_key *key, const parsec_alg *alg,
                                   const psd_aead_input *in, psd_buf *out)
{
    return psd_p11_gcm(state, key, alg, in, 1, out);
}
