/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keys on the token: the blob the core stores, the object-handle cache, and
 * GenerateKey / ImportKey / ExportPublicKey / DestroyKey.
 *
 * A key is a pair of token objects (or one public object for imported public
 * keys) sharing a 16-byte CKA_ID (psd_p11_key_ckid); CKA_LABEL carries the
 * Parsec key name for people browsing the token, lookups only ever use CKA_ID.
 */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "psd_p11.h"

/* ---- hashes and curves ---- */

static const psd_p11_hash psd_p11_hashes[] = {
    {PARSEC_HASH_SHA_1, CKM_SHA_1, CKG_MGF1_SHA1, NID_sha1, "SHA1", 20, 0},
    {PARSEC_HASH_SHA_224, CKM_SHA224, CKG_MGF1_SHA224, NID_sha224, "SHA224", 28, 1},
    {PARSEC_HASH_SHA_256, CKM_SHA256, CKG_MGF1_SHA256, NID_sha256, "SHA256", 32, 2},
    {PARSEC_HASH_SHA_384, CKM_SHA384, CKG_MGF1_SHA384, NID_sha384, "SHA384", 48, 3},
    {PARSEC_HASH_SHA_512, CKM_SHA512, CKG_MGF1_SHA512, NID_sha512, "SHA512", 64, 4},
};

const psd_p11_hash *psd_p11_hash_find(uint8_t parsec_hash)
{
    size_t i;

    for (i = 0; i < sizeof(psd_p11_hashes) / sizeof(psd_p11_hashes[0]); i++)
        if (psd_p11_hashes[i].parsec == parsec_hash)
            return &psd_p11_hashes[i];
    return NULL;
}

static const psd_p11_curve psd_p11_curves[] = {
    {256, NID_X9_62_prime256v1, 32, 0},
    {384, NID_secp384r1, 48, 1},
    {521, NID_secp521r1, 66, 2},
};
_Static_assert(sizeof(psd_p11_curves) / sizeof(psd_p11_curves[0]) == PSD_P11_CURVES,
               "one EC group per curve");
_Static_assert(sizeof(psd_p11_hashes) / sizeof(psd_p11_hashes[0]) == PSD_P11_HASHES,
               "one EVP_MD and DigestInfo per hash");

/* DER DigestInfo { AlgorithmIdentifier(hash, NULL), OCTET STRING } up to the hash value. */
static int psd_p11_digest_info_make(const psd_p11_hash *h, psd_p11_digest_info *di)
{
    static const uint8_t zero[64];
    X509_SIG *sig = X509_SIG_new();
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING *digest = NULL;
    unsigned char *der = NULL;
    int n = 0, ret = -1;

    if (sig == NULL)
        goto done;
    X509_SIG_getm(sig, &alg, &digest);
    if (!X509_ALGOR_set0(alg, OBJ_nid2obj(h->nid), V_ASN1_NULL, NULL) ||
        !ASN1_OCTET_STRING_set(digest, zero, (int)h->len))
        goto done;
    n = i2d_X509_SIG(sig, &der);
    /* The hash value is the last h->len bytes of the encoding. */
    if (n <= 0 || (size_t)n <= h->len || (size_t)n - h->len > sizeof(di->prefix))
        goto done;
    di->len = (size_t)n - h->len;
    memcpy(di->prefix, der, di->len);
    ret = 0;
done:
    OPENSSL_free(der);
    X509_SIG_free(sig);
    return ret;
}

int psd_p11_tables_make(psd_p11 *st)
{
    const psd_p11_hash *h;
    size_t i;

    for (i = 0; i < PSD_P11_CURVES; i++) {
        st->ec_groups[psd_p11_curves[i].index] = EC_GROUP_new_by_curve_name(psd_p11_curves[i].nid);
        if (st->ec_groups[psd_p11_curves[i].index] == NULL)
            return -1;
    }
    for (i = 0; i < PSD_P11_HASHES; i++) {
        h = &psd_p11_hashes[i];
        st->hash_md[h->bit] = EVP_MD_fetch(NULL, h->ossl_name, NULL);
        if (st->hash_md[h->bit] == NULL ||
            psd_p11_digest_info_make(h, &st->digest_info[h->bit]) != 0)
            return -1;
    }
    return 0;
}

void psd_p11_tables_free(psd_p11 *st)
{
    size_t i;

    for (i = 0; i < PSD_P11_CURVES; i++) {
        EC_GROUP_free(st->ec_groups[i]);
        st->ec_groups[i] = NULL;
    }
    for (i = 0; i < PSD_P11_HASHES; i++) {
        EVP_MD_free(st->hash_md[i]);
        st->hash_md[i] = NULL;
    }
}

const psd_p11_curve *psd_p11_curve_by_bits(uint32_t bits)
{
    size_t i;

    for (i = 0; i < sizeof(psd_p11_curves) / sizeof(psd_p11_curves[0]); i++)
        if (psd_p11_curves[i].bits == bits)
            return &psd_p11_curves[i];
    return NULL;
}

const psd_p11_curve *psd_p11_curve_by_nid(int nid)
{
    size_t i;

    for (i = 0; i < sizeof(psd_p11_curves) / sizeof(psd_p11_curves[0]); i++)
        if (psd_p11_curves[i].nid == nid)
            return &psd_p11_curves[i];
    return NULL;
}

int psd_p11_curve_params(const psd_p11_curve *c, uint8_t **der, size_t *len)
{
    unsigned char *out = NULL;
    int n;

    n = i2d_ASN1_OBJECT(OBJ_nid2obj(c->nid), &out);
    if (n <= 0)
        return -1;
    *der = out;
    *len = (size_t)n;
    return 0;
}

static const psd_p11_curve *psd_p11_curve_from_params(const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &p, (long)len);
    const psd_p11_curve *c = NULL;

    if (obj != NULL && p == der + len)
        c = psd_p11_curve_by_nid(OBJ_obj2nid(obj));
    ASN1_OBJECT_free(obj);
    return c;
}

static int psd_p11_is_rsa(uint8_t type)
{
    return type == PARSEC_KEY_TYPE_RSA_KEY_PAIR || type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
}

/* ---- the blob: "P11", version 1, kind, 0, id length, CKA_ID ---- */

#define PSD_P11_BLOB_VERSION 1
#define PSD_P11_BLOB_LEN (7 + PSD_P11_ID_LEN)

parsec_status psd_p11_blob_make(psd_buf *blob, int kind, const uint8_t id[PSD_P11_ID_LEN])
{
    uint8_t b[PSD_P11_BLOB_LEN] = {'P', '1', '1', PSD_P11_BLOB_VERSION, 0, 0, PSD_P11_ID_LEN};

    b[4] = (uint8_t)kind;
    memcpy(b + 7, id, PSD_P11_ID_LEN);
    blob->data = OPENSSL_memdup(b, sizeof(b));
    if (blob->data == NULL)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    blob->len = sizeof(b);
    return PARSEC_SUCCESS;
}

static parsec_status psd_p11_blob_parse(const psd_key *key, int *kind, const uint8_t **id)
{
    const uint8_t *b = key->blob;

    if (b == NULL || key->blob_len != PSD_P11_BLOB_LEN || memcmp(b, "P11", 3) != 0 ||
        b[3] != PSD_P11_BLOB_VERSION || b[6] != PSD_P11_ID_LEN ||
        (b[4] != PSD_P11_BLOB_PAIR && b[4] != PSD_P11_BLOB_PUBLIC && b[4] != PSD_P11_BLOB_SECRET)) {
        psd_log(PSD_LOG_ERROR, "pkcs11: stored data of key %llu is not a PKCS#11 key reference",
                (unsigned long long)key->id);
        return PARSEC_PSA_ERROR_DATA_CORRUPT;
    }
    *kind = b[4];
    *id = b + 7;
    return PARSEC_SUCCESS;
}

/* ---- handle cache ---- */

struct psd_p11_keyent {
    uint64_t id;
    unsigned long generation;
    psd_p11_objects obj;
    EVP_PKEY *pkey;
    struct psd_p11_keyent *next;
};

static struct psd_p11_keyent **psd_p11_bucket(psd_p11 *st, uint64_t id)
{
    uint64_t h = id * 0x9E3779B97F4A7C15ull;

    return &st->cache[(h >> 56) % PSD_P11_CACHE_BUCKETS];
}

/* Caller holds cache_lock. */
static struct psd_p11_keyent *psd_p11_cache_find(psd_p11 *st, uint64_t id)
{
    struct psd_p11_keyent *e;

    for (e = *psd_p11_bucket(st, id); e != NULL; e = e->next)
        if (e->id == id)
            return e;
    return NULL;
}

static void psd_p11_cache_put(psd_p11 *st, uint64_t id, unsigned long gen,
                              const psd_p11_objects *obj)
{
    struct psd_p11_keyent *e, **b;

    pthread_mutex_lock(&st->cache_lock);
    e = psd_p11_cache_find(st, id);
    if (e == NULL) {
        e = OPENSSL_zalloc(sizeof(*e));
        if (e != NULL) {
            b = psd_p11_bucket(st, id);
            e->id = id;
            e->next = *b;
            *b = e;
        }
    }
    if (e != NULL) {
        if (e->generation != gen || memcmp(&e->obj, obj, sizeof(*obj)) != 0) {
            EVP_PKEY_free(e->pkey);
            e->pkey = NULL;
        }
        e->generation = gen;
        e->obj = *obj;
    }
    pthread_mutex_unlock(&st->cache_lock);
}

void psd_p11_cache_drop(psd_p11 *st, uint64_t id)
{
    struct psd_p11_keyent **pp, *e;

    pthread_mutex_lock(&st->cache_lock);
    for (pp = psd_p11_bucket(st, id); *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            e = *pp;
            *pp = e->next;
            EVP_PKEY_free(e->pkey);
            OPENSSL_free(e);
            break;
        }
    }
    pthread_mutex_unlock(&st->cache_lock);
}

void psd_p11_cache_clear(psd_p11 *st)
{
    struct psd_p11_keyent *e, *next;
    size_t i;

    for (i = 0; i < PSD_P11_CACHE_BUCKETS; i++) {
        for (e = st->cache[i]; e != NULL; e = next) {
            next = e->next;
            EVP_PKEY_free(e->pkey);
            OPENSSL_free(e);
        }
        st->cache[i] = NULL;
    }
}

/* ---- finding objects ---- */

static CK_RV psd_p11_find(psd_p11 *st, ck_session_handle_t s, ck_object_class_t cls,
                          const uint8_t *id, ck_object_handle_t *out)
{
    unsigned char yes = CK_TRUE;
    struct ck_attribute tmpl[] = {
        {CKA_CLASS, &cls, sizeof(cls)},
        {CKA_ID, (void *)id, PSD_P11_ID_LEN},
        {CKA_TOKEN, &yes, sizeof(yes)},
    };
    ck_object_handle_t found[2];
    unsigned long n = 0;
    CK_RV rv;

    *out = CK_INVALID_HANDLE;
    rv = PSD_P11_CALL(st, C_FindObjectsInit, s, tmpl, 3);
    if (rv != CKR_OK)
        return rv;
    rv = PSD_P11_CALL(st, C_FindObjects, s, found, 2, &n);
    st->fn->C_FindObjectsFinal(s);
    if (rv != CKR_OK)
        return rv;
    if (n > 1)
        psd_log(PSD_LOG_WARN, "pkcs11: several %s objects share one CKA_ID; using the first",
                cls == CKO_PRIVATE_KEY  ? "private key"
                : cls == CKO_SECRET_KEY ? "secret key"
                                        : "public key");
    if (n > 0)
        *out = found[0];
    return CKR_OK;
}

static int psd_p11_logged_out(psd_p11 *st, ck_session_handle_t s)
{
    struct ck_session_info info;

    return st->login_required && st->fn->C_GetSessionInfo(s, &info) == CKR_OK &&
           info.state != CKS_RW_USER_FUNCTIONS && info.state != CKS_RO_USER_FUNCTIONS;
}

parsec_status psd_p11_key_objects(psd_p11 *st, ck_session_handle_t s, const psd_key *key,
                                  psd_p11_objects *obj, CK_RV *rv)
{
    unsigned long gen = psd_p11_generation(st);
    struct psd_p11_keyent *e;
    const uint8_t *id = NULL;
    parsec_status status;
    int kind = 0, hit = 0;

    pthread_mutex_lock(&st->cache_lock);
    e = psd_p11_cache_find(st, key->id);
    if (e != NULL && e->generation == gen) {
        *obj = e->obj;
        hit = 1;
    }
    pthread_mutex_unlock(&st->cache_lock);
    if (hit)
        return PARSEC_SUCCESS;

    status = psd_p11_blob_parse(key, &kind, &id);
    if (status != PARSEC_SUCCESS)
        return status;
    obj->priv = obj->pub = CK_INVALID_HANDLE;
    if (kind == PSD_P11_BLOB_PAIR || kind == PSD_P11_BLOB_SECRET) {
        *rv = psd_p11_find(st, s, kind == PSD_P11_BLOB_SECRET ? CKO_SECRET_KEY : CKO_PRIVATE_KEY,
                           id, &obj->priv);
        if (*rv != CKR_OK)
            return psd_p11_status(*rv);
        if (obj->priv == CK_INVALID_HANDLE && psd_p11_logged_out(st, s)) {
            /* Private objects are invisible without a login: log in, not "missing". */
            *rv = CKR_USER_NOT_LOGGED_IN;
            return PARSEC_PSA_ERROR_NOT_PERMITTED;
        }
        if (obj->priv == CK_INVALID_HANDLE) {
            psd_log(PSD_LOG_ERROR, "pkcs11: the private key of '%s' is missing from token '%s'",
                    key->name ? key->name : "?", st->token_label);
            return PARSEC_PSA_ERROR_DOES_NOT_EXIST;
        }
    }
    if (kind == PSD_P11_BLOB_SECRET) {
        psd_p11_cache_put(st, key->id, gen, obj);
        return PARSEC_SUCCESS;
    }
    *rv = psd_p11_find(st, s, CKO_PUBLIC_KEY, id, &obj->pub);
    if (*rv != CKR_OK)
        return psd_p11_status(*rv);
    if (obj->pub == CK_INVALID_HANDLE && kind == PSD_P11_BLOB_PUBLIC) {
        psd_log(PSD_LOG_ERROR, "pkcs11: the public key '%s' is missing from token '%s'",
                key->name ? key->name : "?", st->token_label);
        return PARSEC_PSA_ERROR_DOES_NOT_EXIST;
    }
    psd_p11_cache_put(st, key->id, gen, obj);
    return PARSEC_SUCCESS;
}

/* ---- public keys as OpenSSL keys ---- */

static EVP_PKEY *psd_p11_pkey_from(const char *type, OSSL_PARAM *params)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static EVP_PKEY *psd_p11_rsa_pkey(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
    EVP_PKEY *pkey = NULL;

    if (bld == NULL || bn == NULL || be == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto done;
    pkey = psd_p11_pkey_from("RSA", params);
done:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

/* The point must be uncompressed and on the curve (OpenSSL checks). */
static EVP_PKEY *psd_p11_ec_pkey(const psd_p11_curve *c, const uint8_t *point, size_t len)
{
    OSSL_PARAM params[3];

    if (len != 1 + 2 * c->bytes || point[0] != 0x04)
        return NULL;
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)OBJ_nid2sn(c->nid), 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, len);
    params[2] = OSSL_PARAM_construct_end();
    return psd_p11_pkey_from("EC", params);
}

/* CKA_EC_POINT is a DER OCTET STRING around the point; some modules give the bare point. */
static int psd_p11_unwrap_point(const uint8_t *in, size_t inlen, size_t want, const uint8_t **pt,
                                ASN1_OCTET_STRING **holder)
{
    const unsigned char *p = in;
    ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)inlen);

    if (os != NULL && p == in + inlen && (size_t)ASN1_STRING_length(os) == want) {
        *pt = ASN1_STRING_get0_data(os);
        *holder = os;
        return 0;
    }
    ASN1_OCTET_STRING_free(os);
    if (inlen == want && in[0] == 0x04) {
        *pt = in;
        *holder = NULL;
        return 0;
    }
    return -1;
}

static parsec_status psd_p11_read_public(psd_p11 *st, ck_session_handle_t s, const psd_key *key,
                                         const psd_p11_objects *obj, EVP_PKEY **pkey, CK_RV *rv)
{
    /* RSA private objects carry the modulus and exponent too. */
    ck_object_handle_t h = obj->pub != CK_INVALID_HANDLE ? obj->pub : obj->priv;
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    const psd_p11_curve *c;
    ASN1_OCTET_STRING *holder = NULL;
    const uint8_t *pt = NULL;
    parsec_status status = PARSEC_PSA_ERROR_DATA_CORRUPT;

    *pkey = NULL;
    if (psd_p11_is_rsa(key->attrs->type)) {
        *rv = psd_p11_get_attr(st, s, h, CKA_MODULUS, &a, &alen);
        if (*rv == CKR_OK)
            *rv = psd_p11_get_attr(st, s, h, CKA_PUBLIC_EXPONENT, &b, &blen);
        if (*rv != CKR_OK) {
            status = psd_p11_status(*rv);
            goto done;
        }
        *pkey = psd_p11_rsa_pkey(a, alen, b, blen);
    } else {
        if (obj->pub == CK_INVALID_HANDLE) {
            psd_log(PSD_LOG_ERROR, "pkcs11: the public key of '%s' is missing from the token",
                    key->name ? key->name : "?");
            status = PARSEC_PSA_ERROR_DOES_NOT_EXIST;
            goto done;
        }
        *rv = psd_p11_get_attr(st, s, h, CKA_EC_PARAMS, &a, &alen);
        if (*rv == CKR_OK)
            *rv = psd_p11_get_attr(st, s, h, CKA_EC_POINT, &b, &blen);
        if (*rv != CKR_OK) {
            status = psd_p11_status(*rv);
            goto done;
        }
        c = psd_p11_curve_from_params(a, alen);
        if (c == NULL || psd_p11_unwrap_point(b, blen, 1 + 2 * c->bytes, &pt, &holder) != 0)
            goto done;
        *pkey = psd_p11_ec_pkey(c, pt, 1 + 2 * c->bytes);
    }
    status = *pkey != NULL ? PARSEC_SUCCESS : PARSEC_PSA_ERROR_DATA_CORRUPT;
done:
    if (status == PARSEC_PSA_ERROR_DATA_CORRUPT)
        psd_log(PSD_LOG_ERROR, "pkcs11: cannot read the public key of '%s' from the token",
                key->name ? key->name : "?");
    ASN1_OCTET_STRING_free(holder);
    OPENSSL_free(a);
    OPENSSL_free(b);
    return status;
}

parsec_status psd_p11_key_public(psd_p11 *st, ck_session_handle_t s, const psd_key *key,
                                 EVP_PKEY **pkey, CK_RV *rv)
{
    unsigned long gen = psd_p11_generation(st);
    struct psd_p11_keyent *e;
    psd_p11_objects obj;
    parsec_status status;

    *pkey = NULL;
    pthread_mutex_lock(&st->cache_lock);
    e = psd_p11_cache_find(st, key->id);
    if (e != NULL && e->generation == gen && e->pkey != NULL && EVP_PKEY_up_ref(e->pkey))
        *pkey = e->pkey;
    pthread_mutex_unlock(&st->cache_lock);
    if (*pkey != NULL)
        return PARSEC_SUCCESS;

    status = psd_p11_key_objects(st, s, key, &obj, rv);
    if (status != PARSEC_SUCCESS)
        return status;
    status = psd_p11_read_public(st, s, key, &obj, pkey, rv);
    if (status != PARSEC_SUCCESS)
        return status;
    pthread_mutex_lock(&st->cache_lock);
    e = psd_p11_cache_find(st, key->id);
    if (e != NULL && e->generation == gen && e->pkey == NULL && EVP_PKEY_up_ref(*pkey))
        e->pkey = *pkey;
    pthread_mutex_unlock(&st->cache_lock);
    return PARSEC_SUCCESS;
}

/* ---- templates ---- */

#define PSD_P11_MAX_ATTRS 24

typedef struct psd_p11_tmpl {
    struct ck_attribute a[PSD_P11_MAX_ATTRS];
    unsigned long n;
} psd_p11_tmpl;

static void psd_p11_tmpl_add(psd_p11_tmpl *t, ck_attribute_type_t type, const void *v, size_t len)
{
    if (t->n < PSD_P11_MAX_ATTRS) {
        t->a[t->n].type = type;
        t->a[t->n].value = (void *)v;
        t->a[t->n].value_len = len;
        t->n++;
    }
}

static const unsigned char psd_p11_true = CK_TRUE;
static const unsigned char psd_p11_false = CK_FALSE;
static const ck_object_class_t psd_p11_class_pub = CKO_PUBLIC_KEY;
static const ck_object_class_t psd_p11_class_priv = CKO_PRIVATE_KEY;
static const ck_key_type_t psd_p11_ckk_rsa = CKK_RSA;
static const ck_key_type_t psd_p11_ckk_ec = CKK_EC;

#define PSD_P11_BOOL(x) ((x) ? &psd_p11_true : &psd_p11_false), 1

static void psd_p11_tmpl_common(psd_p11_tmpl *t, int priv, uint8_t type, const uint8_t *id,
                                const char *name)
{
    psd_p11_tmpl_add(t, CKA_CLASS, priv ? &psd_p11_class_priv : &psd_p11_class_pub,
                     sizeof(ck_object_class_t));
    psd_p11_tmpl_add(t, CKA_KEY_TYPE, psd_p11_is_rsa(type) ? &psd_p11_ckk_rsa : &psd_p11_ckk_ec,
                     sizeof(ck_key_type_t));
    psd_p11_tmpl_add(t, CKA_TOKEN, PSD_P11_BOOL(1));
    psd_p11_tmpl_add(t, CKA_ID, id, PSD_P11_ID_LEN);
    if (name != NULL)
        psd_p11_tmpl_add(t, CKA_LABEL, name, strlen(name));
}

static void psd_p11_tmpl_public(psd_p11_tmpl *t, const parsec_key_attributes *attrs,
                                const uint8_t *id, const char *name)
{
    uint32_t u = attrs->usage;

    psd_p11_tmpl_common(t, 0, attrs->type, id, name);
    psd_p11_tmpl_add(t, CKA_PRIVATE, PSD_P11_BOOL(0));
    /* Every capability explicit: token defaults differ (SoftHSM2 enables ECC encrypt). */
    psd_p11_tmpl_add(t, CKA_VERIFY,
                     PSD_P11_BOOL(u & (PARSEC_USAGE_VERIFY_HASH | PARSEC_USAGE_VERIFY_MESSAGE)));
    psd_p11_tmpl_add(t, CKA_ENCRYPT,
                     PSD_P11_BOOL(psd_p11_is_rsa(attrs->type) && (u & PARSEC_USAGE_ENCRYPT)));
    psd_p11_tmpl_add(t, CKA_VERIFY_RECOVER, PSD_P11_BOOL(0));
    psd_p11_tmpl_add(t, CKA_WRAP, PSD_P11_BOOL(0));
}

static void psd_p11_tmpl_private(psd_p11_tmpl *t, const parsec_key_attributes *attrs,
                                 const uint8_t *id, const char *name)
{
    uint32_t u = attrs->usage;

    psd_p11_tmpl_common(t, 1, attrs->type, id, name);
    psd_p11_tmpl_add(t, CKA_PRIVATE, PSD_P11_BOOL(1));
    psd_p11_tmpl_add(t, CKA_SENSITIVE, PSD_P11_BOOL(1));
    psd_p11_tmpl_add(t, CKA_EXTRACTABLE, PSD_P11_BOOL(0));
    psd_p11_tmpl_add(t, CKA_SIGN,
                     PSD_P11_BOOL(u & (PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_SIGN_MESSAGE)));
    psd_p11_tmpl_add(t, CKA_DECRYPT,
                     PSD_P11_BOOL(psd_p11_is_rsa(attrs->type) && (u & PARSEC_USAGE_DECRYPT)));
    psd_p11_tmpl_add(t, CKA_DERIVE,
                     PSD_P11_BOOL(!psd_p11_is_rsa(attrs->type) && (u & PARSEC_USAGE_DERIVE)));
    psd_p11_tmpl_add(t, CKA_SIGN_RECOVER, PSD_P11_BOOL(0));
    psd_p11_tmpl_add(t, CKA_UNWRAP, PSD_P11_BOOL(0));
}

/* ---- GenerateKey ---- */

typedef struct psd_p11_gen_ctx {
    struct ck_mechanism mech;
    psd_p11_tmpl pub, priv;
    psd_p11_objects obj;
} psd_p11_gen_ctx;

static parsec_status psd_p11_gen_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_gen_ctx *g = arg;

    *rv = PSD_P11_CALL(st, C_GenerateKeyPair, s, &g->mech, g->pub.a, g->pub.n, g->priv.a, g->priv.n,
                       &g->obj.pub, &g->obj.priv);
    return psd_p11_status(*rv);
}

parsec_status psd_p11_generate_key(void *state, uint64_t id, const char *name,
                                   const parsec_key_attributes *attrs, psd_buf *blob)
{
    psd_p11 *st = state;
    static const uint8_t e65537[] = {0x01, 0x00, 0x01};
    psd_p11_gen_ctx g;
    uint8_t ckid[PSD_P11_ID_LEN];
    uint8_t *params = NULL;
    size_t paramslen = 0;
    unsigned long bits = attrs->bits, gen;
    const psd_p11_curve *c;
    parsec_status status;

    if (attrs->type == PARSEC_KEY_TYPE_AES)
        return psd_p11_secret_generate(st, attrs, name, blob);
    memset(&g, 0, sizeof(g));
    if (psd_p11_key_ckid(st, id, ckid) != 0) {
        status = PARSEC_PSA_ERROR_INSUFFICIENT_ENTROPY;
        goto done;
    }
    if (attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR) {
        if (!st->caps.rsa_gen || !psd_p11_rsa_bits_ok(attrs->type, (uint32_t)bits)) {
            status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
            goto done;
        }
        g.mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        psd_p11_tmpl_public(&g.pub, attrs, ckid, name);
        psd_p11_tmpl_add(&g.pub, CKA_MODULUS_BITS, &bits, sizeof(bits));
        psd_p11_tmpl_add(&g.pub, CKA_PUBLIC_EXPONENT, e65537, sizeof(e65537));
    } else if (attrs->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR &&
               attrs->ecc_family == PARSEC_ECC_FAMILY_SECP_R1 &&
               (c = psd_p11_curve_by_bits(attrs->bits)) != NULL && st->caps.ec_gen) {
        if (psd_p11_curve_params(c, &params, &paramslen) != 0) {
            status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
            goto done;
        }
        g.mech.mechanism = CKM_EC_KEY_PAIR_GEN;
        psd_p11_tmpl_public(&g.pub, attrs, ckid, name);
        psd_p11_tmpl_add(&g.pub, CKA_EC_PARAMS, params, paramslen);
    } else {
        status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        goto done;
    }
    psd_p11_tmpl_private(&g.priv, attrs, ckid, name);

    gen = psd_p11_generation(st);
    status = psd_p11_run_exclusive(st, psd_p11_gen_op, &g);
    if (status != PARSEC_SUCCESS)
        goto done;
    status = psd_p11_blob_make(blob, PSD_P11_BLOB_PAIR, ckid);
    if (status == PARSEC_SUCCESS)
        psd_p11_cache_put(st, id, gen, &g.obj);
done:
    OPENSSL_free(params);
    return status;
}

/* ---- ImportKey ---- */

/* BIGNUM values of a key being imported; cleansed when freed. */
typedef struct psd_p11_bytes {
    uint8_t *p;
    size_t len;
} psd_p11_bytes;

static void psd_p11_bytes_clear(psd_p11_bytes *b)
{
    if (b->p != NULL)
        OPENSSL_clear_free(b->p, b->len);
    b->p = NULL;
    b->len = 0;
}

static int psd_p11_bn_param(EVP_PKEY *pkey, const char *name, psd_p11_bytes *out)
{
    BIGNUM *bn = NULL;
    int ret = -1, n;

    if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
        return -1;
    n = BN_num_bytes(bn);
    out->len = n > 0 ? (size_t)n : 1;
    out->p = OPENSSL_zalloc(out->len);
    if (out->p != NULL && BN_bn2binpad(bn, out->p, (int)out->len) >= 0)
        ret = 0;
    BN_clear_free(bn);
    return ret;
}

static EVP_PKEY *psd_p11_decode_rsa(const uint8_t *data, size_t len, int selection)
{
    OSSL_DECODER_CTX *dctx;
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = data;
    size_t left = len;

    dctx =
        OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", "type-specific", "RSA", selection, NULL, NULL);
    if (dctx == NULL)
        return NULL;
    /* The whole buffer must be exactly one key. */
    if (!OSSL_DECODER_from_data(dctx, &p, &left) || left != 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}

typedef struct psd_p11_import_ctx {
    psd_p11_tmpl pub, priv;
    int has_priv;
    psd_p11_objects obj;
} psd_p11_import_ctx;

static parsec_status psd_p11_import_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_import_ctx *ic = arg;

    ic->obj.priv = ic->obj.pub = CK_INVALID_HANDLE;
    if (ic->has_priv) {
        *rv = PSD_P11_CALL(st, C_CreateObject, s, ic->priv.a, ic->priv.n, &ic->obj.priv);
        if (*rv != CKR_OK)
            return psd_p11_status(*rv);
    }
    *rv = PSD_P11_CALL(st, C_CreateObject, s, ic->pub.a, ic->pub.n, &ic->obj.pub);
    if (*rv != CKR_OK) {
        if (ic->obj.priv != CK_INVALID_HANDLE)
            st->fn->C_DestroyObject(s, ic->obj.priv);
        ic->obj.priv = CK_INVALID_HANDLE;
        return psd_p11_status(*rv);
    }
    return PARSEC_SUCCESS;
}

int psd_p11_rsa_bits_ok(uint8_t type, uint32_t bits)
{
    /* 1024 for deployments that lower [core] min_rsa_bits; the core enforces the minimum. */
    if (type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY)
        return bits >= 1024 && bits <= 16384;
    return bits == 1024 || bits == 2048 || bits == 3072 || bits == 4096;
}

parsec_status psd_p11_import_key(void *state, uint64_t id, const char *name,
                                 const parsec_key_attributes *attrs, const uint8_t *data,
                                 size_t len, psd_buf *blob)
{
    psd_p11 *st = state;
    psd_p11_import_ctx ic;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *chk = NULL;
    psd_p11_bytes n = {0}, e = {0}, d = {0}, p = {0}, q = {0}, dp = {0}, dq = {0}, qi = {0};
    uint8_t ckid[PSD_P11_ID_LEN];
    uint8_t *params = NULL, *pointder = NULL, *point = NULL;
    size_t paramslen = 0, pointlen = 0;
    int pointderlen;
    ASN1_OCTET_STRING *os = NULL;
    const psd_p11_curve *c = NULL;
    EC_GROUP *group = NULL;
    EC_POINT *pub = NULL;
    BIGNUM *scalar = NULL;
    uint32_t bits;
    unsigned long gen;
    parsec_status status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;

    if (attrs->type == PARSEC_KEY_TYPE_AES && data != NULL)
        return psd_p11_secret_import(st, attrs, name, data, len, blob);
    memset(&ic, 0, sizeof(ic));
    if (data == NULL || len == 0)
        goto done;
    if (psd_p11_key_ckid(st, id, ckid) != 0) {
        status = PARSEC_PSA_ERROR_INSUFFICIENT_ENTROPY;
        goto done;
    }

    switch (attrs->type) {
    case PARSEC_KEY_TYPE_RSA_KEY_PAIR:
    case PARSEC_KEY_TYPE_RSA_PUBLIC_KEY:
        pkey = psd_p11_decode_rsa(
            data, len,
            attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY);
        if (pkey == NULL) {
            psd_log(PSD_LOG_DEBUG, "pkcs11: import: data is not a DER %s",
                    attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR ? "RSAPrivateKey" : "RSAPublicKey");
            goto done;
        }
        bits = (uint32_t)EVP_PKEY_get_bits(pkey);
        if (attrs->bits != 0 && attrs->bits != bits)
            goto done;
        if (!psd_p11_rsa_bits_ok(attrs->type, bits)) {
            status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
            goto done;
        }
        if (psd_p11_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 0 ||
            psd_p11_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 0)
            goto done;
        psd_p11_tmpl_public(&ic.pub, attrs, ckid, name);
        psd_p11_tmpl_add(&ic.pub, CKA_MODULUS, n.p, n.len);
        psd_p11_tmpl_add(&ic.pub, CKA_PUBLIC_EXPONENT, e.p, e.len);
        if (attrs->type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY)
            break;
        /* A key whose halves do not match would sign garbage: refuse it now. */
        chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (chk == NULL || EVP_PKEY_pairwise_check(chk) != 1)
            goto done;
        if (psd_p11_bn_param(pkey, OSSL_PKEY_PARAM_RSA_D, &d) != 0 ||
            psd_p11_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, &p) != 0 ||
            psd_p11_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, &q) != 0 ||
            psd_p11_bn_param(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, &dp) != 0 ||
            psd_p11_bn_param(pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, &dq) != 0 ||
            psd_p11_bn_param(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, &qi) != 0)
            goto done;
        ic.has_priv = 1;
        psd_p11_tmpl_private(&ic.priv, attrs, ckid, name);
        psd_p11_tmpl_add(&ic.priv, CKA_MODULUS, n.p, n.len);
        psd_p11_tmpl_add(&ic.priv, CKA_PUBLIC_EXPONENT, e.p, e.len);
        psd_p11_tmpl_add(&ic.priv, CKA_PRIVATE_EXPONENT, d.p, d.len);
        psd_p11_tmpl_add(&ic.priv, CKA_PRIME_1, p.p, p.len);
        psd_p11_tmpl_add(&ic.priv, CKA_PRIME_2, q.p, q.len);
        psd_p11_tmpl_add(&ic.priv, CKA_EXPONENT_1, dp.p, dp.len);
        psd_p11_tmpl_add(&ic.priv, CKA_EXPONENT_2, dq.p, dq.len);
        psd_p11_tmpl_add(&ic.priv, CKA_COEFFICIENT, qi.p, qi.len);
        break;

    case PARSEC_KEY_TYPE_ECC_KEY_PAIR:
    case PARSEC_KEY_TYPE_ECC_PUBLIC_KEY:
        if (attrs->ecc_family != PARSEC_ECC_FAMILY_SECP_R1) {
            status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
            goto done;
        }
        /* The key size comes from the data; a non-zero bits must agree. */
        if (attrs->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR)
            c = psd_p11_curve_by_bits(len == 32 ? 256 : len == 48 ? 384 : len == 66 ? 521 : 0);
        else
            c = psd_p11_curve_by_bits(len == 65 ? 256 : len == 97 ? 384 : len == 133 ? 521 : 0);
        if (c == NULL || (attrs->bits != 0 && attrs->bits != c->bits))
            goto done;
        if (psd_p11_curve_params(c, &params, &paramslen) != 0) {
            status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
            goto done;
        }
        if (attrs->type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY) {
            pkey = psd_p11_ec_pkey(c, data, len); /* validates the point */
            if (pkey == NULL)
                goto done;
            point = OPENSSL_memdup(data, len);
            pointlen = len;
        } else {
            group = EC_GROUP_new_by_curve_name(c->nid);
            scalar = BN_secure_new();
            pub = group != NULL ? EC_POINT_new(group) : NULL;
            if (pub == NULL || scalar == NULL || BN_bin2bn(data, (int)len, scalar) == NULL) {
                status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
                goto done;
            }
            if (BN_is_zero(scalar) || BN_cmp(scalar, EC_GROUP_get0_order(group)) >= 0)
                goto done;
            if (!EC_POINT_mul(group, pub, scalar, NULL, NULL, NULL)) {
                status = PARSEC_PSA_ERROR_GENERIC_ERROR;
                goto done;
            }
            pointlen = EC_POINT_point2buf(group, pub, POINT_CONVERSION_UNCOMPRESSED, &point, NULL);
            if (pointlen != 1 + 2 * c->bytes) {
                status = PARSEC_PSA_ERROR_GENERIC_ERROR;
                goto done;
            }
        }
        if (point == NULL) {
            status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
            goto done;
        }
        /* CKA_EC_POINT holds the DER OCTET STRING of the point. */
        os = ASN1_OCTET_STRING_new();
        if (os == NULL || !ASN1_OCTET_STRING_set(os, point, (int)pointlen) ||
            (pointderlen = i2d_ASN1_OCTET_STRING(os, &pointder)) <= 0) {
            status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
            goto done;
        }
        psd_p11_tmpl_public(&ic.pub, attrs, ckid, name);
        psd_p11_tmpl_add(&ic.pub, CKA_EC_PARAMS, params, paramslen);
        psd_p11_tmpl_add(&ic.pub, CKA_EC_POINT, pointder, (size_t)pointderlen);
        if (attrs->type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY)
            break;
        ic.has_priv = 1;
        psd_p11_tmpl_private(&ic.priv, attrs, ckid, name);
        psd_p11_tmpl_add(&ic.priv, CKA_EC_PARAMS, params, paramslen);
        psd_p11_tmpl_add(&ic.priv, CKA_VALUE, data, len);
        break;

    default:
        status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        goto done;
    }

    gen = psd_p11_generation(st);
    status = psd_p11_run_exclusive(st, psd_p11_import_op, &ic);
    if (status != PARSEC_SUCCESS)
        goto done;
    status = psd_p11_blob_make(blob, ic.has_priv ? PSD_P11_BLOB_PAIR : PSD_P11_BLOB_PUBLIC, ckid);
    if (status == PARSEC_SUCCESS)
        psd_p11_cache_put(st, id, gen, &ic.obj);
done:
    psd_p11_bytes_clear(&n);
    psd_p11_bytes_clear(&e);
    psd_p11_bytes_clear(&d);
    psd_p11_bytes_clear(&p);
    psd_p11_bytes_clear(&q);
    psd_p11_bytes_clear(&dp);
    psd_p11_bytes_clear(&dq);
    psd_p11_bytes_clear(&qi);
    OPENSSL_free(params);
    OPENSSL_free(point);
    OPENSSL_free(pointder);
    ASN1_OCTET_STRING_free(os);
    EC_POINT_free(pub);
    EC_GROUP_free(group);
    BN_clear_free(scalar);
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_free(pkey);
    return status;
}

/* ---- ExportPublicKey ---- */

typedef struct psd_p11_pub_ctx {
    const psd_key *key;
    EVP_PKEY *pkey;
} psd_p11_pub_ctx;

static parsec_status psd_p11_pub_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_pub_ctx *pc = arg;

    return psd_p11_key_public(st, s, pc->key, &pc->pkey, rv);
}

parsec_status psd_p11_public(psd_p11 *st, const psd_key *key, EVP_PKEY **pkey)
{
    psd_p11_pub_ctx pc = {key, NULL};
    parsec_status status;

    status = psd_p11_run(st, psd_p11_pub_op, &pc);
    *pkey = pc.pkey;
    return status;
}

parsec_status psd_p11_export_public_key(void *state, const psd_key *key, psd_buf *out)
{
    psd_p11_pub_ctx pc = {key, NULL};
    OSSL_ENCODER_CTX *ectx = NULL;
    unsigned char *der = NULL;
    size_t derlen = 0;
    parsec_status status;

    /* psa_export_public_key() of a key that has no public part */
    if (key->attrs->type == PARSEC_KEY_TYPE_AES)
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    status = psd_p11_public(state, key, &pc.pkey);
    if (status != PARSEC_SUCCESS)
        goto done;
    status = PARSEC_PSA_ERROR_GENERIC_ERROR;
    if (psd_p11_is_rsa(key->attrs->type)) {
        /* "type-specific" DER of an RSA public key is PKCS#1 RSAPublicKey. */
        ectx = OSSL_ENCODER_CTX_new_for_pkey(pc.pkey, EVP_PKEY_PUBLIC_KEY, "DER", "type-specific",
                                             NULL);
        if (ectx == NULL || !OSSL_ENCODER_to_data(ectx, &der, &derlen))
            goto done;
        out->data = der;
        out->len = derlen;
        der = NULL;
    } else {
        if (!EVP_PKEY_get_octet_string_param(pc.pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0,
                                             &derlen))
            goto done;
        out->data = OPENSSL_malloc(derlen);
        if (out->data == NULL) {
            status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
            goto done;
        }
        if (!EVP_PKEY_get_octet_string_param(pc.pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out->data,
                                             derlen, &out->len)) {
            OPENSSL_free(out->data);
            out->data = NULL;
            out->len = 0;
            goto done;
        }
    }
    status = PARSEC_SUCCESS;
done:
    OPENSSL_free(der);
    OSSL_ENCODER_CTX_free(ectx);
    EVP_PKEY_free(pc.pkey);
    return status;
}

/* ---- DestroyKey ---- */

typedef struct psd_p11_destroy_ctx {
    const uint8_t *ckid;
    unsigned long destroyed;
} psd_p11_destroy_ctx;

/* Every token object with the key's CKA_ID goes, leftovers of a failed attempt included. */
static parsec_status psd_p11_destroy_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_destroy_ctx *dc = arg;
    unsigned char yes = CK_TRUE;
    struct ck_attribute tmpl[] = {
        {CKA_ID, (void *)dc->ckid, PSD_P11_ID_LEN},
        {CKA_TOKEN, &yes, sizeof(yes)},
    };
    ck_object_handle_t found[8];
    unsigned long n = 0, i;
    int round;

    for (round = 0; round < 64; round++) {
        *rv = PSD_P11_CALL(st, C_FindObjectsInit, s, tmpl, 2);
        if (*rv != CKR_OK)
            return psd_p11_status(*rv);
        *rv = PSD_P11_CALL(st, C_FindObjects, s, found, 8, &n);
        st->fn->C_FindObjectsFinal(s);
        if (*rv != CKR_OK)
            return psd_p11_status(*rv);
        if (n == 0)
            return PARSEC_SUCCESS;
        for (i = 0; i < n; i++) {
            *rv = PSD_P11_CALL(st, C_DestroyObject, s, found[i]);
            if (*rv != CKR_OK && *rv != CKR_OBJECT_HANDLE_INVALID)
                return psd_p11_status(*rv);
            dc->destroyed++;
        }
    }
    return PARSEC_PSA_ERROR_GENERIC_ERROR; /* objects that cannot be destroyed */
}

parsec_status psd_p11_destroy_ckid(psd_p11 *st, const uint8_t *ckid, unsigned long *destroyed)
{
    psd_p11_destroy_ctx dc = {ckid, 0};
    parsec_status status = psd_p11_run_exclusive(st, psd_p11_destroy_op, &dc);

    *destroyed = dc.destroyed;
    return status;
}

int psd_p11_key_ckid(const psd_p11 *st, uint64_t id, uint8_t ckid[PSD_P11_ID_LEN])
{
    if (!st->have_store_tag)
        return RAND_bytes(ckid, PSD_P11_ID_LEN) == 1 ? 0 : -1;
    memcpy(ckid, PSD_P11_ID_MAGIC, 4);
    for (int i = 0; i < 4; i++)
        ckid[4 + i] = (uint8_t)(st->store_tag >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        ckid[8 + i] = (uint8_t)(id >> (56 - 8 * i));
    return 0;
}

parsec_status psd_p11_destroy_key(void *state, const psd_key *key)
{
    psd_p11 *st = state;
    psd_p11_destroy_ctx dc = {NULL, 0};
    parsec_status status;
    int kind;

    status = psd_p11_blob_parse(key, &kind, &dc.ckid);
    if (status != PARSEC_SUCCESS)
        return status;
    psd_p11_cache_drop(st, key->id);
    status = psd_p11_destroy_ckid(st, dc.ckid, &dc.destroyed);
    psd_p11_cache_drop(st, key->id);
    if (status == PARSEC_SUCCESS && dc.destroyed == 0)
        psd_log(PSD_LOG_WARN, "pkcs11: key '%s' was already gone from token '%s'",
                key->name ? key->name : "?", st->token_label);
    return status;
}
