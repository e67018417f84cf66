/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C_Decrypt and C_DeriveKey through the service; C_Encrypt and C_Digest in
 * software; C_GenerateRandom from the token's provider.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rsa.h>

#include "pp11.h"

/* Largest GenerateRandom request per round trip. */
#define PP11_RANDOM_CHUNK 4096

ck_rv_t C_DecryptInit(ck_session_handle_t session, struct ck_mechanism *mechanism,
                      ck_object_handle_t key)
{
    return pp11_op_init(session, mechanism, key, CKF_DECRYPT);
}

ck_rv_t C_EncryptInit(ck_session_handle_t session, struct ck_mechanism *mechanism,
                      ck_object_handle_t key)
{
    return pp11_op_init(session, mechanism, key, CKF_ENCRYPT);
}

/*
 * NULL output: the modulus size (an upper bound, PKCS#11 5.2). A buffer too
 * small for the plaintext keeps it in the operation for the second call,
 * so the service decrypts once.
 */
ck_rv_t C_Decrypt(ck_session_handle_t session, unsigned char *enc, unsigned long enc_len,
                  unsigned char *data, unsigned long *data_len)
{
    pp11_session *s;
    pp11_op *op;
    uint8_t *out = NULL;
    size_t outlen = 0;
    parsec_status st;
    ck_rv_t rv = pp11_session_op(session, PP11_OP_DECRYPT, &s);

    if (rv != CKR_OK)
        return rv;
    op = &s->op;
    if (enc == NULL || data_len == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    if (data == NULL && op->result == NULL) {
        *data_len = pp11_key_sig_len(op->key);
        pp11_session_op_done(s, 1);
        return CKR_OK;
    }
    if (op->result == NULL) {
        parsec_alg alg = op->mech.alg;

        if (enc_len != pp11_key_sig_len(op->key)) {
            rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
            goto done;
        }
        st = parsec_asymmetric_decrypt(pp11_mod.client, op->key->provider_id, op->key->name, &alg,
                                       enc, enc_len, op->mech.label, op->mech.label_len, &out,
                                       &outlen);
        if (st != PARSEC_SUCCESS) {
            PP11_log("AsymmetricDecrypt with '%s': %s (%s)", op->key->name,
                     parsec_status_message(st), parsec_status_name(st));
            rv = st == PARSEC_PSA_ERROR_INVALID_ARGUMENT ? CKR_ENCRYPTED_DATA_INVALID
                                                         : pp11_ckr_from_status(st);
            goto done;
        }
        op->result = OPENSSL_memdup(out, outlen > 0 ? outlen : 1);
        op->result_len = outlen;
        parsec_clear_free(out, outlen);
        if (op->result == NULL) {
            rv = CKR_HOST_MEMORY;
            goto done;
        }
    }
    if (data == NULL || *data_len < op->result_len) {
        rv = data == NULL ? CKR_OK : CKR_BUFFER_TOO_SMALL;
        *data_len = op->result_len;
        pp11_session_op_done(s, 1);
        return rv;
    }
    memcpy(data, op->result, op->result_len);
    *data_len = op->result_len;
done:
    pp11_session_op_done(s, 0);
    return rv;
}

ck_rv_t C_Encrypt(ck_session_handle_t session, unsigned char *data, unsigned long data_len,
                  unsigned char *enc, unsigned long *enc_len)
{
    pp11_session *s;
    pp11_op *op;
    EVP_PKEY_CTX *ctx = NULL;
    size_t need, outlen;
    ck_rv_t rv = pp11_session_op(session, PP11_OP_ENCRYPT, &s);

    if (rv != CKR_OK)
        return rv;
    op = &s->op;
    if ((data == NULL && data_len > 0) || enc_len == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    need = pp11_key_sig_len(op->key);
    if (enc == NULL || *enc_len < need) {
        rv = enc == NULL ? CKR_OK : CKR_BUFFER_TOO_SMALL;
        *enc_len = need;
        pp11_session_op_done(s, 1);
        return rv;
    }
    outlen = *enc_len;
    rv = CKR_FUNCTION_FAILED;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, op->key->pub, NULL);
    if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) <= 0)
        goto done;
    if (op->mech.alg.scheme == PARSEC_ENCRYPT_RSA_OAEP) {
        unsigned char *label =
            op->mech.label_len > 0 ? OPENSSL_memdup(op->mech.label, op->mech.label_len) : NULL;

        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx, pp11_md(op->mech.alg.hash)) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, pp11_md(op->mech.alg.hash)) <= 0) {
            OPENSSL_free(label);
            goto done;
        }
        if (label != NULL &&
            EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, (int)op->mech.label_len) <= 0) {
            OPENSSL_free(label);
            goto done;
        }
    } else if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) {
        goto done;
    }
    if (EVP_PKEY_encrypt(ctx, enc, &outlen, data, data_len) <= 0) {
        rv = CKR_DATA_LEN_RANGE; /* the only input OpenSSL refuses here: too long for the key */
        goto done;
    }
    *enc_len = outlen;
    rv = CKR_OK;
done:
    EVP_PKEY_CTX_free(ctx);
    pp11_session_op_done(s, 0);
    return rv;
}

/* ---- digests ---------------------------------------------------------------------- */

ck_rv_t C_DigestInit(ck_session_handle_t session, struct ck_mechanism *mechanism)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&s->lock);
    if (s->op.kind != PP11_OP_NONE)
        rv = CKR_OPERATION_ACTIVE;
    else if (mechanism == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = pp11_mech_parse(mechanism, CKF_DIGEST, &s->op.mech);
    if (rv == CKR_OK) {
        s->op.md = EVP_MD_CTX_new();
        if (s->op.md == NULL || !EVP_DigestInit_ex(s->op.md, pp11_md(s->op.mech.alg.hash), NULL))
            rv = CKR_HOST_MEMORY;
    }
    if (rv == CKR_OK)
        s->op.kind = PP11_OP_DIGEST;
    else if (rv != CKR_OPERATION_ACTIVE)
        pp11_op_clear(&s->op);
    pthread_mutex_unlock(&s->lock);
    pp11_session_release(s);
    return rv;
}

static ck_rv_t pp11_digest_out(pp11_op *op, unsigned char *digest, unsigned long *len, int *keep)
{
    unsigned int mdlen = 0;
    size_t need = parsec_hash_length(op->mech.alg.hash);

    *keep = 1;
    if (len == NULL) {
        *keep = 0;
        return CKR_ARGUMENTS_BAD;
    }
    if (digest == NULL || *len < need) {
        ck_rv_t rv = digest == NULL ? CKR_OK : CKR_BUFFER_TOO_SMALL;

        *len = need;
        return rv;
    }
    *keep = 0;
    if (!EVP_DigestFinal_ex(op->md, digest, &mdlen))
        return CKR_FUNCTION_FAILED;
    *len = mdlen;
    return CKR_OK;
}

ck_rv_t C_Digest(ck_session_handle_t session, unsigned char *data, unsigned long data_len,
                 unsigned char *digest, unsigned long *digest_len)
{
    pp11_session *s;
    int keep = 0;
    ck_rv_t rv = pp11_session_op(session, PP11_OP_DIGEST, &s);

    if (rv != CKR_OK)
        return rv;
    if (data == NULL && data_len > 0) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (s->op.multipart) {
        rv = CKR_OPERATION_ACTIVE;
        keep = 1;
    } else if (digest == NULL || digest_len == NULL ||
               *digest_len < parsec_hash_length(s->op.mech.alg.hash)) {
        rv = pp11_digest_out(&s->op, digest, digest_len, &keep);
    } else if (!EVP_DigestUpdate(s->op.md, data, data_len)) {
        rv = CKR_FUNCTION_FAILED;
    } else {
        rv = pp11_digest_out(&s->op, digest, digest_len, &keep);
    }
    pp11_session_op_done(s, keep);
    return rv;
}

ck_rv_t C_DigestUpdate(ck_session_handle_t session, unsigned char *part, unsigned long part_len)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_op(session, PP11_OP_DIGEST, &s);

    if (rv != CKR_OK)
        return rv;
    if (part == NULL && part_len > 0)
        rv = CKR_ARGUMENTS_BAD;
    else if (!EVP_DigestUpdate(s->op.md, part, part_len))
        rv = CKR_FUNCTION_FAILED;
    s->op.multipart = 1;
    pp11_session_op_done(s, rv == CKR_OK);
    return rv;
}

ck_rv_t C_DigestFinal(ck_session_handle_t session, unsigned char *digest, unsigned long *digest_len)
{
    pp11_session *s;
    int keep = 0;
    ck_rv_t rv = pp11_session_op(session, PP11_OP_DIGEST, &s);

    if (rv != CKR_OK)
        return rv;
    rv = pp11_digest_out(&s->op, digest, digest_len, &keep);
    pp11_session_op_done(s, keep);
    return rv;
}

/* ---- random ---------------------------------------------------------------------- */

ck_rv_t C_GenerateRandom(ck_session_handle_t session, unsigned char *random_data,
                         unsigned long random_len)
{
    pp11_session *s;
    ck_slot_id_t slot;
    size_t done = 0, n;
    uint8_t *out = NULL;
    parsec_status st;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    slot = s->slot;
    pp11_session_release(s);
    if (random_data == NULL && random_len > 0)
        return CKR_ARGUMENTS_BAD;
    while (done < random_len) {
        n = random_len - done < PP11_RANDOM_CHUNK ? random_len - done : PP11_RANDOM_CHUNK;
        st = parsec_generate_random(pp11_mod.client, (uint8_t)slot, n, &out);
        if (st != PARSEC_SUCCESS) {
            PP11_log("GenerateRandom: %s (%s)", parsec_status_message(st), parsec_status_name(st));
            OPENSSL_cleanse(random_data, done);
            return pp11_ckr_from_status(st);
        }
        memcpy(random_data + done, out, n);
        parsec_clear_free(out, n);
        done += n;
    }
    return CKR_OK;
}

/* ---- ECDH -------------------------------------------------------------------------- */

/* A derived secret becomes a session object; sensitive or unextractable ones never show CKA_VALUE. */
static ck_rv_t pp11_secret_object(const pp11_session *s, const struct ck_attribute *tmpl,
                                  unsigned long count, const unsigned char *secret, size_t len,
                                  ck_object_handle_t *handle)
{
    const struct ck_attribute *label = pp11_attr_find(tmpl, count, CKA_LABEL);
    const struct ck_attribute *id = pp11_attr_find(tmpl, count, CKA_ID);
    unsigned long cls = CKO_SECRET_KEY, ktype = CKK_GENERIC_SECRET, vlen = len;
    int token = 0, sensitive = 0, extractable = 1, ok;
    unsigned char t = CK_TRUE, f = CK_FALSE;
    pp11_object *obj;
    ck_rv_t rv;

    rv = pp11_attr_ulong(tmpl, count, CKA_CLASS, &cls);
    if (rv == CKR_OK)
        rv = pp11_attr_ulong(tmpl, count, CKA_KEY_TYPE, &ktype);
    if (rv == CKR_OK)
        rv = pp11_attr_ulong(tmpl, count, CKA_VALUE_LEN, &vlen);
    if (rv == CKR_OK)
        rv = pp11_attr_bool(tmpl, count, CKA_TOKEN, &token);
    if (rv == CKR_OK)
        rv = pp11_attr_bool(tmpl, count, CKA_SENSITIVE, &sensitive);
    if (rv == CKR_OK)
        rv = pp11_attr_bool(tmpl, count, CKA_EXTRACTABLE, &extractable);
    if (rv != CKR_OK)
        return rv;
    if (cls != CKO_SECRET_KEY || vlen == 0 || vlen > len)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    /* Derived secrets are session objects: the service keeps no secret for us. */
    if (token)
        return CKR_TEMPLATE_INCONSISTENT;
    obj = OPENSSL_zalloc(sizeof(*obj));
    if (obj == NULL)
        return CKR_HOST_MEMORY;
    obj->kind = PP11_OBJ_SECRET;
    obj->slot = s->slot;
    obj->session = s->handle;
    ok = pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_CLASS, &cls, sizeof(cls)) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_KEY_TYPE, &ktype, sizeof(ktype)) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_TOKEN, &f, 1) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_PRIVATE, &f, 1) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_MODIFIABLE, &f, 1) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_LOCAL, &f, 1) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_SENSITIVE, sensitive ? &t : &f, 1) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_EXTRACTABLE, extractable ? &t : &f, 1) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_VALUE_LEN, &vlen, sizeof(vlen)) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_VALUE,
                            sensitive || !extractable ? NULL : secret, vlen) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_LABEL,
                            label != NULL && label->value != NULL ? label->value : (const void *)"",
                            label != NULL ? label->value_len : 0) &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_ID,
                            id != NULL && id->value != NULL ? id->value : (const void *)"",
                            id != NULL ? id->value_len : 0);
    pthread_mutex_lock(&pp11_mod.lock);
    *handle = ok ? pp11_object_add(obj) : CK_INVALID_HANDLE;
    pthread_mutex_unlock(&pp11_mod.lock);
    if (*handle == CK_INVALID_HANDLE) {
        pp11_object_free(obj);
        return CKR_HOST_MEMORY;
    }
    return CKR_OK;
}

ck_rv_t C_DeriveKey(ck_session_handle_t session, struct ck_mechanism *mechanism,
                    ck_object_handle_t base_key, struct ck_attribute *templ, unsigned long count,
                    ck_object_handle_t *key)
{
    pp11_session *s;
    pp11_mech mech = {0};
    pp11_key *base = NULL;
    uint8_t *secret = NULL;
    size_t secret_len = 0;
    parsec_status st;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    if (mechanism == NULL || key == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    rv = pp11_template_check(templ, count);
    if (rv == CKR_OK)
        rv = pp11_mech_parse(mechanism, CKF_DERIVE, &mech);
    if (rv == CKR_OK)
        rv = pp11_object_key(s, base_key, PP11_OBJ_PRIVATE, &base);
    if (rv == CKR_OK)
        rv = pp11_key_permits(base, &mech, CKF_DERIVE);
    if (rv != CKR_OK)
        goto done;
    if (mech.peer_len != 1 + 2 * ((base->attrs.bits + 7) / 8)) {
        rv = CKR_MECHANISM_PARAM_INVALID; /* a point of another curve */
        goto done;
    }
    st = parsec_raw_key_agreement(pp11_mod.client, base->provider_id, &base->attrs.alg, base->name,
                                  mech.peer, mech.peer_len, &secret, &secret_len);
    if (st != PARSEC_SUCCESS) {
        PP11_log("RawKeyAgreement with '%s': %s (%s)", base->name, parsec_status_message(st),
                 parsec_status_name(st));
        rv = st == PARSEC_PSA_ERROR_INVALID_ARGUMENT ? CKR_MECHANISM_PARAM_INVALID
                                                     : pp11_ckr_from_status(st);
        goto done;
    }
    rv = pp11_secret_object(s, templ, count, secret, secret_len, key);
done:
    parsec_clear_free(secret, secret_len);
    pp11_key_free(base);
    pp11_mech_clear(&mech);
    pp11_session_release(s);
    return rv;
}
