/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Objects: for each key of the calling application a private-key and a
 * public-key object (refreshed from ListKeys at every C_FindObjectsInit),
 * certificates the module keeps in files, and session-only derived secrets.
 *
 * Handles index one table for the module's lifetime, so a handle names the
 * same object in every session until the object is destroyed or its key
 * leaves the service. CKA_ID is SHA-256(identity, provider UUID, key name)
 * cut to 16 bytes: the same key always has the same ID, and a certificate
 * stored with that ID sits next to its key in every application.
 * Certificates are in pp11_cert.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "parsec_psa_crypto.h"
#include "pp11.h"

/* ---- keys -------------------------------------------------------------------------- */

pp11_key *pp11_key_ref(pp11_key *key)
{
    if (key != NULL)
        __atomic_add_fetch(&key->refcount, 1, __ATOMIC_SEQ_CST);
    return key;
}

void pp11_key_free(pp11_key *key)
{
    if (key == NULL || __atomic_sub_fetch(&key->refcount, 1, __ATOMIC_SEQ_CST) > 0)
        return;
    OPENSSL_free(key->name);
    EVP_PKEY_free(key->pub);
    OPENSSL_free(key);
}

unsigned long pp11_key_cktype(const pp11_key *key)
{
    switch (key->attrs.type) {
    case PARSEC_KEY_TYPE_RSA_KEY_PAIR:
    case PARSEC_KEY_TYPE_RSA_PUBLIC_KEY:
        return CKK_RSA;
    case PARSEC_KEY_TYPE_ECC_KEY_PAIR:
    case PARSEC_KEY_TYPE_ECC_PUBLIC_KEY:
        return CKK_EC;
    default:
        return CKK_GENERIC_SECRET;
    }
}

size_t pp11_key_sig_len(const pp11_key *key)
{
    if (pp11_key_cktype(key) == CKK_EC)
        return 2 * parsec_psa_ec_coord_len(key->attrs.bits);
    return ((size_t)key->attrs.bits + 7) / 8;
}

/* The service's public-key export (PKCS#1 RSAPublicKey, or an uncompressed point). */
static EVP_PKEY *pp11_pub_from_psa(const pp11_key *key, const uint8_t *data, size_t len)
{
    /* The curves this module describes with CKA_EC_PARAMS: P-256, P-384, P-521. */
    if (pp11_key_cktype(key) == CKK_EC &&
        (key->attrs.ecc_family != PARSEC_ECC_FAMILY_SECP_R1 ||
         (key->attrs.bits != 256 && key->attrs.bits != 384 && key->attrs.bits != 521)))
        return NULL;
    if (pp11_key_cktype(key) != CKK_EC && pp11_key_cktype(key) != CKK_RSA)
        return NULL;
    return parsec_psa_public_key(NULL, NULL, &key->attrs, data, len);
}

static void pp11_key_id(const char *uuid, const char *name, unsigned char id[PP11_ID_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    memset(md, 0, sizeof(md));
    if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
        EVP_DigestUpdate(ctx, pp11_mod.identity, strlen(pp11_mod.identity) + 1) &&
        EVP_DigestUpdate(ctx, uuid, strlen(uuid) + 1) && EVP_DigestUpdate(ctx, name, strlen(name)))
        EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    memcpy(id, md, PP11_ID_LEN);
}

/* ---- attribute lists ------------------------------------------------------------- */

int pp11_attr_list_add(pp11_attr **list, size_t *n, ck_attribute_type_t type, const void *value,
                       unsigned long len)
{
    pp11_attr *grown = OPENSSL_realloc(*list, sizeof(**list) * (*n + 1));

    if (grown == NULL)
        return 0;
    *list = grown;
    memset(&grown[*n], 0, sizeof(grown[*n]));
    grown[*n].type = type;
    if (value == NULL) {
        grown[*n].sensitive = 1;
    } else {
        /* One spare byte so an empty value still has a distinct allocation. */
        grown[*n].value = OPENSSL_malloc(len + 1);
        if (grown[*n].value == NULL)
            return 0;
        memcpy(grown[*n].value, value, len);
        grown[*n].len = len;
    }
    (*n)++;
    return 1;
}

int pp11_add_bool(pp11_attr **l, size_t *n, ck_attribute_type_t type, int v)
{
    unsigned char b = v ? CK_TRUE : CK_FALSE;

    return pp11_attr_list_add(l, n, type, &b, sizeof(b));
}

int pp11_add_ulong(pp11_attr **l, size_t *n, ck_attribute_type_t type, unsigned long v)
{
    return pp11_attr_list_add(l, n, type, &v, sizeof(v));
}

static int pp11_add_bn(pp11_attr **l, size_t *n, ck_attribute_type_t type, EVP_PKEY *pub,
                       const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char *buf = NULL;
    int len, ok = 0;

    if (!EVP_PKEY_get_bn_param(pub, param, &bn))
        return 0;
    len = BN_num_bytes(bn);
    buf = OPENSSL_malloc(len > 0 ? (size_t)len : 1);
    if (buf != NULL) {
        BN_bn2bin(bn, buf);
        ok = pp11_attr_list_add(l, n, type, buf, (unsigned long)len);
    }
    OPENSSL_free(buf);
    BN_free(bn);
    return ok;
}

static void pp11_attrs_free(pp11_attr *attrs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        OPENSSL_clear_free(attrs[i].value, attrs[i].len + 1);
    OPENSSL_free(attrs);
}

void pp11_object_free(pp11_object *obj)
{
    if (obj == NULL)
        return;
    pp11_key_free(obj->key);
    OPENSSL_free(obj->cert_path);
    pp11_attrs_free(obj->attrs, obj->nattrs);
    OPENSSL_free(obj);
}

/* Attributes of a key object; a key whose public half is unknown gets none of its numbers. */
static int pp11_key_attrs(pp11_object *obj)
{
    static const ck_attribute_type_t rsa_secret[] = {CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
                                                     CKA_PRIME_2,          CKA_EXPONENT_1,
                                                     CKA_EXPONENT_2,       CKA_COEFFICIENT};
    ck_mechanism_type_t mechs[24];
    pp11_key *key = obj->key;
    pp11_attr **l = &obj->attrs;
    size_t *n = &obj->nattrs, nmechs, i;
    int priv = obj->kind == PP11_OBJ_PRIVATE, ok = 1;
    unsigned long type = pp11_key_cktype(key);
    const uint32_t use = key->attrs.usage;
    unsigned char *der = NULL;
    size_t derlen = 0;
    int sign, decrypt, derive;

    sign = priv && (use & (PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_SIGN_MESSAGE)) &&
           key->attrs.alg.kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE;
    decrypt = priv && (use & PARSEC_USAGE_DECRYPT) &&
              key->attrs.alg.kind == PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
    derive = priv && (use & PARSEC_USAGE_DERIVE) && key->attrs.alg.kind == PARSEC_ALG_KEY_AGREEMENT;
    ok = ok && pp11_add_ulong(l, n, CKA_CLASS, priv ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY);
    ok = ok && pp11_add_ulong(l, n, CKA_KEY_TYPE, type);
    ok = ok && pp11_add_bool(l, n, CKA_TOKEN, 1);
    ok = ok && pp11_add_bool(l, n, CKA_PRIVATE, 0);
    ok = ok && pp11_add_bool(l, n, CKA_MODIFIABLE, 0);
    ok = ok && pp11_add_bool(l, n, CKA_COPYABLE, 0);
    ok = ok && pp11_add_bool(l, n, CKA_DESTROYABLE, 1);
    ok = ok && pp11_attr_list_add(l, n, CKA_LABEL, key->name, strlen(key->name));
    ok = ok && pp11_attr_list_add(l, n, CKA_ID, key->id, PP11_ID_LEN);
    ok = ok && pp11_add_bool(l, n, CKA_LOCAL, 1);
    ok = ok && pp11_attr_list_add(l, n, CKA_START_DATE, "", 0);
    ok = ok && pp11_attr_list_add(l, n, CKA_END_DATE, "", 0);
    ok = ok && pp11_attr_list_add(l, n, CKA_SUBJECT, "", 0);
    ok = ok && pp11_add_bool(l, n, CKA_DERIVE, derive);
    ok = ok && pp11_add_ulong(l, n, CKA_KEY_GEN_MECHANISM,
                              type == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN);
    nmechs = pp11_key_mechanisms(key, mechs, sizeof(mechs) / sizeof(mechs[0]));
    ok = ok && pp11_attr_list_add(l, n, CKA_ALLOWED_MECHANISMS, mechs, sizeof(mechs[0]) * nmechs);
    if (priv) {
        ok = ok && pp11_add_bool(l, n, CKA_SENSITIVE, 1);
        ok = ok && pp11_add_bool(l, n, CKA_ALWAYS_SENSITIVE, 1);
        ok = ok && pp11_add_bool(l, n, CKA_EXTRACTABLE, 0);
        ok = ok && pp11_add_bool(l, n, CKA_NEVER_EXTRACTABLE, 1);
        ok = ok && pp11_add_bool(l, n, CKA_SIGN, sign);
        ok = ok && pp11_add_bool(l, n, CKA_SIGN_RECOVER, 0);
        ok = ok && pp11_add_bool(l, n, CKA_DECRYPT, decrypt);
        ok = ok && pp11_add_bool(l, n, CKA_UNWRAP, 0);
        ok = ok && pp11_add_bool(l, n, CKA_WRAP_WITH_TRUSTED, 0);
        ok = ok && pp11_add_bool(l, n, CKA_ALWAYS_AUTHENTICATE, 0);
        if (type == CKK_RSA)
            for (i = 0; i < sizeof(rsa_secret) / sizeof(rsa_secret[0]); i++)
                ok = ok && pp11_attr_list_add(l, n, rsa_secret[i], NULL, 0);
        else
            ok = ok && pp11_attr_list_add(l, n, CKA_VALUE, NULL, 0);
    } else {
        int kind = key->attrs.alg.kind;

        ok = ok && pp11_add_bool(l, n, CKA_VERIFY, kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE);
        ok = ok && pp11_add_bool(l, n, CKA_VERIFY_RECOVER, 0);
        ok = ok && pp11_add_bool(l, n, CKA_ENCRYPT, kind == PARSEC_ALG_ASYMMETRIC_ENCRYPTION);
        ok = ok && pp11_add_bool(l, n, CKA_WRAP, 0);
        ok = ok && pp11_add_bool(l, n, CKA_TRUSTED, 0);
    }
    if (type == CKK_EC) {
        ok = ok && pp11_curve_params(key->attrs.bits, &der, &derlen) &&
             pp11_attr_list_add(l, n, CKA_EC_PARAMS, der, (unsigned long)derlen);
        OPENSSL_free(der);
        der = NULL;
    }
    if (key->pub == NULL)
        return ok;
    if (type == CKK_RSA) {
        ok = ok && pp11_add_bn(l, n, CKA_MODULUS, key->pub, OSSL_PKEY_PARAM_RSA_N);
        ok = ok && pp11_add_bn(l, n, CKA_PUBLIC_EXPONENT, key->pub, OSSL_PKEY_PARAM_RSA_E);
        ok = ok &&
             pp11_add_ulong(l, n, CKA_MODULUS_BITS, (unsigned long)EVP_PKEY_get_bits(key->pub));
    } else if (!priv) {
        unsigned char point[200];
        size_t pointlen = 0;
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        int len;

        /* CKA_EC_POINT: DER OCTET STRING of the uncompressed point (PKCS#11 2.40 2.3.3). */
        ok = ok && os != NULL &&
             EVP_PKEY_get_octet_string_param(key->pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                             sizeof(point), &pointlen) &&
             ASN1_OCTET_STRING_set(os, point, (int)pointlen);
        len = ok ? i2d_ASN1_OCTET_STRING(os, &der) : 0;
        ok = ok && len > 0 && pp11_attr_list_add(l, n, CKA_EC_POINT, der, (unsigned long)len);
        ASN1_OCTET_STRING_free(os);
        OPENSSL_free(der);
        der = NULL;
    }
    {
        int len = i2d_PUBKEY(key->pub, &der);

        ok =
            ok && len > 0 && pp11_attr_list_add(l, n, CKA_PUBLIC_KEY_INFO, der, (unsigned long)len);
        OPENSSL_free(der);
    }
    return ok;
}

/* ---- the object table ------------------------------------------------------------- */

ck_object_handle_t pp11_object_add(pp11_object *obj)
{
    pp11_object **grown =
        OPENSSL_realloc(pp11_mod.objects, sizeof(*grown) * (pp11_mod.nobjects + 1));

    if (grown == NULL)
        return CK_INVALID_HANDLE;
    pp11_mod.objects = grown;
    grown[pp11_mod.nobjects++] = obj;
    obj->handle = pp11_mod.nobjects;
    obj->live = 1;
    return obj->handle;
}

void pp11_objects_free_all(void)
{
    size_t i;

    for (i = 0; i < pp11_mod.nobjects; i++)
        pp11_object_free(pp11_mod.objects[i]);
    OPENSSL_free(pp11_mod.objects);
    pp11_mod.objects = NULL;
    pp11_mod.nobjects = 0;
}

void pp11_object_kill(pp11_object *obj)
{
    obj->live = 0;
    pp11_attrs_free(obj->attrs, obj->nattrs);
    obj->attrs = NULL;
    obj->nattrs = 0;
    pp11_key_free(obj->key);
    obj->key = NULL;
    OPENSSL_free(obj->cert_path);
    obj->cert_path = NULL;
}

/* Session objects die with their session. */
void pp11_session_free_objects(ck_session_handle_t h)
{
    size_t i;

    for (i = 0; i < pp11_mod.nobjects; i++) {
        pp11_object *obj = pp11_mod.objects[i];

        if (obj->live && obj->session == h)
            pp11_object_kill(obj);
    }
}

pp11_object *pp11_object_get(const pp11_session *s, ck_object_handle_t h)
{
    pp11_object *obj;

    if (h == CK_INVALID_HANDLE || h > pp11_mod.nobjects)
        return NULL;
    obj = pp11_mod.objects[h - 1];
    if (!obj->live || obj->slot != s->slot)
        return NULL;
    return obj;
}

ck_rv_t pp11_object_key(const pp11_session *s, ck_object_handle_t h, int kind, pp11_key **key)
{
    pp11_object *obj;
    ck_rv_t rv = CKR_OK;

    *key = NULL;
    pthread_mutex_lock(&pp11_mod.lock);
    obj = pp11_object_get(s, h);
    if (obj == NULL)
        rv = CKR_KEY_HANDLE_INVALID;
    else if (obj->key == NULL || (kind != 0 && obj->kind != kind))
        rv = CKR_KEY_FUNCTION_NOT_PERMITTED; /* e.g. a public key handed to C_SignInit */
    else
        *key = pp11_key_ref(obj->key);
    pthread_mutex_unlock(&pp11_mod.lock);
    return rv;
}

static int pp11_same_attrs(const parsec_key_attributes *a, const parsec_key_attributes *b)
{
    return a->type == b->type && a->ecc_family == b->ecc_family && a->bits == b->bits &&
           a->usage == b->usage && a->alg.kind == b->alg.kind && a->alg.scheme == b->alg.scheme &&
           a->alg.hash == b->alg.hash;
}

/* Live key object of a slot by key name and kind (with the lock). */
static pp11_object *pp11_key_object_find(ck_slot_id_t slot, const char *name, int kind)
{
    size_t i;

    for (i = 0; i < pp11_mod.nobjects; i++) {
        pp11_object *obj = pp11_mod.objects[i];

        if (obj->live && obj->slot == slot && obj->kind == kind && obj->key != NULL &&
            strcmp(obj->key->name, name) == 0)
            return obj;
    }
    return NULL;
}

void pp11_objects_forget_key(ck_slot_id_t slot, const char *name)
{
    pp11_object *obj;

    while ((obj = pp11_key_object_find(slot, name, PP11_OBJ_PRIVATE)) != NULL)
        pp11_object_kill(obj);
    while ((obj = pp11_key_object_find(slot, name, PP11_OBJ_PUBLIC)) != NULL)
        pp11_object_kill(obj);
}

/* New private + public objects for a key (with the lock); takes over one reference. */
static ck_rv_t pp11_key_objects_add(ck_slot_id_t slot, pp11_key *key)
{
    int kinds[2] = {PP11_OBJ_PRIVATE, PP11_OBJ_PUBLIC}, i;

    for (i = 0; i < 2; i++) {
        pp11_object *obj = OPENSSL_zalloc(sizeof(*obj));

        if (obj == NULL)
            return CKR_HOST_MEMORY;
        obj->kind = kinds[i];
        obj->slot = slot;
        obj->key = pp11_key_ref(key);
        if (!pp11_key_attrs(obj) || pp11_object_add(obj) == CK_INVALID_HANDLE) {
            pp11_object_free(obj);
            return CKR_HOST_MEMORY;
        }
    }
    return CKR_OK;
}

/* ---- refresh from the service ---------------------------------------------------- */

ck_rv_t pp11_objects_refresh(ck_slot_id_t slot)
{
    parsec_key_info *keys = NULL;
    pp11_key **fresh = NULL;
    char uuid[37] = "";
    size_t nkeys = 0, i, j;
    parsec_status st;
    const pp11_slot *sl;
    ck_rv_t rv = CKR_OK;

    pthread_mutex_lock(&pp11_mod.lock);
    sl = pp11_slot_find(slot);
    if (sl != NULL)
        memcpy(uuid, sl->uuid, sizeof(uuid));
    pthread_mutex_unlock(&pp11_mod.lock);
    st = parsec_list_keys(pp11_mod.client, &keys, &nkeys);
    if (st != PARSEC_SUCCESS) {
        PP11_log("ListKeys: %s (%s)", parsec_status_message(st), parsec_status_name(st));
        return pp11_ckr_from_status(st);
    }
    fresh = OPENSSL_zalloc(sizeof(*fresh) * (nkeys + 1));
    if (fresh == NULL) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    /* Keys not known yet: their public halves, without the lock. */
    for (i = 0; i < nkeys; i++) {
        pp11_object *known;
        uint8_t *pub = NULL;
        size_t publen = 0;
        pp11_key *key;

        if (keys[i].provider_id != slot)
            continue;
        pthread_mutex_lock(&pp11_mod.lock);
        known = pp11_key_object_find(slot, keys[i].name, PP11_OBJ_PRIVATE);
        known = known != NULL && pp11_same_attrs(&known->key->attrs, &keys[i].attributes) ? known
                                                                                          : NULL;
        pthread_mutex_unlock(&pp11_mod.lock);
        if (known != NULL)
            continue;
        key = OPENSSL_zalloc(sizeof(*key));
        if (key == NULL || (key->name = OPENSSL_strdup(keys[i].name)) == NULL) {
            OPENSSL_free(key);
            rv = CKR_HOST_MEMORY;
            goto done;
        }
        key->refcount = 1;
        key->provider_id = keys[i].provider_id;
        key->attrs = keys[i].attributes;
        pp11_key_id(uuid, key->name, key->id);
        st = parsec_export_public_key(pp11_mod.client, key->provider_id, key->name, &pub, &publen);
        if (st == PARSEC_SUCCESS)
            key->pub = pp11_pub_from_psa(key, pub, publen);
        if (key->pub == NULL)
            PP11_log("public key of '%s' not available: %s", key->name, parsec_status_message(st));
        parsec_free(pub);
        fresh[i] = key;
    }
    pthread_mutex_lock(&pp11_mod.lock);
    /* Keys the service no longer lists are gone. */
    for (i = 0; i < pp11_mod.nobjects; i++) {
        pp11_object *obj = pp11_mod.objects[i];
        int listed = 0;

        if (!obj->live || obj->slot != slot || obj->key == NULL)
            continue;
        for (j = 0; j < nkeys && !listed; j++)
            listed = keys[j].provider_id == slot && strcmp(keys[j].name, obj->key->name) == 0 &&
                     pp11_same_attrs(&keys[j].attributes, &obj->key->attrs);
        if (!listed)
            pp11_object_kill(obj);
    }
    for (i = 0; i < nkeys && rv == CKR_OK; i++) {
        if (fresh[i] == NULL ||
            pp11_key_object_find(slot, fresh[i]->name, PP11_OBJ_PRIVATE) != NULL)
            continue; /* another thread added it meanwhile */
        rv = pp11_key_objects_add(slot, fresh[i]);
    }
    pp11_certs_refresh(slot);
    pthread_mutex_unlock(&pp11_mod.lock);
done:
    for (i = 0; fresh != NULL && i < nkeys; i++)
        pp11_key_free(fresh[i]);
    OPENSSL_free(fresh);
    parsec_key_info_free(keys, nkeys);
    return rv;
}

/* ---- searching and attributes ------------------------------------------------------- */

int pp11_object_matches(const pp11_object *obj, const struct ck_attribute *tmpl,
                        unsigned long count)
{
    unsigned long i;
    size_t j;

    for (i = 0; i < count; i++) {
        int found = 0;

        for (j = 0; j < obj->nattrs && !found; j++) {
            const pp11_attr *a = &obj->attrs[j];

            if (a->type != tmpl[i].type)
                continue;
            if (a->sensitive || a->len != tmpl[i].value_len ||
                (a->len > 0 && memcmp(a->value, tmpl[i].value, a->len) != 0))
                return 0;
            found = 1;
        }
        if (!found)
            return 0;
    }
    return 1;
}

ck_rv_t C_FindObjectsInit(ck_session_handle_t session, struct ck_attribute *templ,
                          unsigned long count)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_get(session, &s);
    size_t i;

    if (rv != CKR_OK)
        return rv;
    rv = pp11_template_check(templ, count);
    if (rv != CKR_OK)
        goto done;
    pthread_mutex_lock(&s->lock);
    if (s->find.kind != PP11_OP_NONE) {
        rv = CKR_OPERATION_ACTIVE;
        goto unlock;
    }
    /* An unreachable service leaves the objects already known (certificates, session objects). */
    rv = pp11_objects_refresh(s->slot);
    if (rv != CKR_OK && rv != CKR_DEVICE_REMOVED && rv != CKR_DEVICE_ERROR)
        goto unlock;
    rv = CKR_OK;
    pthread_mutex_lock(&pp11_mod.lock);
    s->find.found = OPENSSL_malloc(sizeof(*s->find.found) * (pp11_mod.nobjects + 1));
    if (s->find.found == NULL) {
        rv = CKR_HOST_MEMORY;
    } else {
        for (i = 0; i < pp11_mod.nobjects; i++) {
            pp11_object *obj = pp11_mod.objects[i];

            if (pp11_object_get(s, obj->handle) == obj && pp11_object_matches(obj, templ, count))
                s->find.found[s->find.nfound++] = obj->handle;
        }
        s->find.kind = PP11_OP_FIND;
    }
    pthread_mutex_unlock(&pp11_mod.lock);
unlock:
    pthread_mutex_unlock(&s->lock);
done:
    pp11_session_release(s);
    return rv;
}

ck_rv_t C_FindObjects(ck_session_handle_t session, ck_object_handle_t *objects,
                      unsigned long max_count, unsigned long *count)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    if (objects == NULL || count == NULL) {
        pp11_session_release(s);
        return CKR_ARGUMENTS_BAD;
    }
    pthread_mutex_lock(&s->lock);
    if (s->find.kind != PP11_OP_FIND) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        *count = 0;
        while (*count < max_count && s->find.found_pos < s->find.nfound)
            objects[(*count)++] = s->find.found[s->find.found_pos++];
    }
    pthread_mutex_unlock(&s->lock);
    pp11_session_release(s);
    return rv;
}

ck_rv_t C_FindObjectsFinal(ck_session_handle_t session)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&s->lock);
    if (s->find.kind != PP11_OP_FIND)
        rv = CKR_OPERATION_NOT_INITIALIZED;
    pp11_op_clear(&s->find);
    pthread_mutex_unlock(&s->lock);
    pp11_session_release(s);
    return rv;
}

ck_rv_t C_GetAttributeValue(ck_session_handle_t session, ck_object_handle_t object,
                            struct ck_attribute *templ, unsigned long count)
{
    pp11_session *s;
    pp11_object *obj;
    ck_rv_t rv = pp11_session_get(session, &s);
    unsigned long i;
    size_t j;

    if (rv != CKR_OK)
        return rv;
    if (templ == NULL && count > 0) {
        pp11_session_release(s);
        return CKR_ARGUMENTS_BAD;
    }
    pthread_mutex_lock(&pp11_mod.lock);
    obj = pp11_object_get(s, object);
    if (obj == NULL) {
        rv = CKR_OBJECT_HANDLE_INVALID;
        goto done;
    }
    /* Every attribute is answered; the result names the last kind of failure (PKCS#11 5.7). */
    for (i = 0; i < count; i++) {
        const pp11_attr *a = NULL;

        for (j = 0; j < obj->nattrs && a == NULL; j++)
            if (obj->attrs[j].type == templ[i].type)
                a = &obj->attrs[j];
        if (a == NULL) {
            templ[i].value_len = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        } else if (a->sensitive) {
            templ[i].value_len = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_ATTRIBUTE_SENSITIVE;
        } else if (templ[i].value == NULL) {
            templ[i].value_len = a->len;
        } else if (templ[i].value_len < a->len) {
            templ[i].value_len = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_BUFFER_TOO_SMALL;
        } else {
            memcpy(templ[i].value, a->value, a->len);
            templ[i].value_len = a->len;
        }
    }
done:
    pthread_mutex_unlock(&pp11_mod.lock);
    pp11_session_release(s);
    return rv;
}

ck_rv_t C_SetAttributeValue(ck_session_handle_t session, ck_object_handle_t object,
                            struct ck_attribute *templ, unsigned long count)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&pp11_mod.lock);
    /* Keys live in the service under their name; nothing about them can change here. */
    rv = pp11_object_get(s, object) == NULL ? CKR_OBJECT_HANDLE_INVALID : CKR_ACTION_PROHIBITED;
    pthread_mutex_unlock(&pp11_mod.lock);
    pp11_session_release(s);
    return rv;
}

ck_rv_t C_GetObjectSize(ck_session_handle_t session, ck_object_handle_t object, unsigned long *size)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    if (size == NULL) {
        pp11_session_release(s);
        return CKR_ARGUMENTS_BAD;
    }
    pthread_mutex_lock(&pp11_mod.lock);
    if (pp11_object_get(s, object) == NULL)
        rv = CKR_OBJECT_HANDLE_INVALID;
    else
        *size = CK_UNAVAILABLE_INFORMATION;
    pthread_mutex_unlock(&pp11_mod.lock);
    pp11_session_release(s);
    return rv;
}

ck_rv_t C_CreateObject(ck_session_handle_t session, struct ck_attribute *templ, unsigned long count,
                       ck_object_handle_t *object)
{
    pp11_session *s;
    unsigned long cls = (unsigned long)-1;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    if (object == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK)
        rv = pp11_template_check(templ, count);
    if (rv == CKR_OK)
        rv = pp11_attr_ulong(templ, count, CKA_CLASS, &cls);
    if (rv == CKR_OK && cls == (unsigned long)-1)
        rv = CKR_TEMPLATE_INCOMPLETE;
    /* Keys are made in the service (C_GenerateKeyPair); only certificates are kept here. */
    if (rv == CKR_OK && cls != CKO_CERTIFICATE)
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (rv == CKR_OK) {
        pthread_mutex_lock(&pp11_mod.lock);
        rv = pp11_cert_create(s, templ, count, object);
        pthread_mutex_unlock(&pp11_mod.lock);
    }
    pp11_session_release(s);
    return rv;
}

ck_rv_t C_DestroyObject(ck_session_handle_t session, ck_object_handle_t object)
{
    pp11_session *s;
    pp11_object *obj;
    pp11_key *key = NULL;
    ck_rv_t rv = pp11_session_get(session, &s);
    parsec_status st;

    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&pp11_mod.lock);
    obj = pp11_object_get(s, object);
    if (obj == NULL) {
        rv = CKR_OBJECT_HANDLE_INVALID;
    } else if (obj->session == 0 && !(s->flags & CKF_RW_SESSION)) {
        rv = CKR_SESSION_READ_ONLY;
    } else if (obj->key != NULL) {
        key = pp11_key_ref(obj->key);
    } else {
        if (obj->cert_path != NULL && unlink(obj->cert_path) != 0 && errno != ENOENT) {
            PP11_log("cannot remove %s: %s", obj->cert_path, strerror(errno));
            rv = CKR_DEVICE_ERROR;
        } else {
            pp11_object_kill(obj);
        }
    }
    pthread_mutex_unlock(&pp11_mod.lock);
    if (key != NULL) {
        /* Either half names the service key: both objects go with it. */
        st = parsec_destroy_key(pp11_mod.client, key->provider_id, key->name);
        if (st != PARSEC_SUCCESS && st != PARSEC_PSA_ERROR_DOES_NOT_EXIST) {
            PP11_log("DestroyKey '%s': %s", key->name, parsec_status_message(st));
            rv = pp11_ckr_from_status(st);
        } else {
            pthread_mutex_lock(&pp11_mod.lock);
            pp11_objects_forget_key(s->slot, key->name);
            pthread_mutex_unlock(&pp11_mod.lock);
        }
        pp11_key_free(key);
    }
    pp11_session_release(s);
    return rv;
}
