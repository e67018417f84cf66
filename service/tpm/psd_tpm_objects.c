/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key blobs, the LRU of loaded key handles, algorithm tables, and public
 * keys in software (OpenSSL) for export, verification and encryption.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "psd_tpm.h"

/* ---- blob ---- */

/*
 * Layout (version 1): "PTPM" | u8 version | u8 kind | kind KEY or SEALED:
 * TPM2B_AUTH, TPM2B_PUBLIC, TPM2B_PRIVATE; kind PUBLIC: TPM2B_PUBLIC.
 * TPM structures are in the TPM's own marshalled form (tss2-mu).
 */
static const uint8_t psd_tpm_blob_magic[4] = {'P', 'T', 'P', 'M'};
#define PSD_TPM_BLOB_VERSION 1
#define PSD_TPM_BLOB_HEADER 6

parsec_status psd_tpm_blob_encode(const psd_tpm_blob *b, psd_buf *out)
{
    size_t cap =
        PSD_TPM_BLOB_HEADER + sizeof(TPM2B_AUTH) + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE);
    size_t off = PSD_TPM_BLOB_HEADER;
    uint8_t *buf = OPENSSL_zalloc(cap);
    TSS2_RC rc = TSS2_RC_SUCCESS;

    if (!buf)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    memcpy(buf, psd_tpm_blob_magic, 4);
    buf[4] = PSD_TPM_BLOB_VERSION;
    buf[5] = b->kind;
    if (b->kind != PSD_TPM_BLOB_PUBLIC)
        rc = Tss2_MU_TPM2B_AUTH_Marshal(&b->auth, buf, cap, &off);
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_MU_TPM2B_PUBLIC_Marshal(&b->pub, buf, cap, &off);
    if (rc == TSS2_RC_SUCCESS && b->kind != PSD_TPM_BLOB_PUBLIC)
        rc = Tss2_MU_TPM2B_PRIVATE_Marshal(&b->priv, buf, cap, &off);
    if (rc != TSS2_RC_SUCCESS) {
        OPENSSL_clear_free(buf, cap);
        psd_log(PSD_LOG_ERROR, "tpm: marshalling a key blob failed (0x%x)", (unsigned)rc);
        return PARSEC_PSA_ERROR_GENERIC_ERROR;
    }
    out->data = buf;
    out->len = off;
    return PARSEC_SUCCESS;
}

parsec_status psd_tpm_create(psd_tpm *st, TPM2B_SENSITIVE_CREATE *sens, const TPM2B_PUBLIC *tmpl,
                             uint8_t kind, const char *what, psd_buf *out)
{
    TPM2B_DATA outside = {0};
    TPML_PCR_SELECTION pcrs = {0};
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC *pub = NULL;
    psd_tpm_blob blob = {.kind = kind};
    parsec_status status;
    TSS2_RC rc;

    /* Each object gets its own auth value, kept only in its blob. */
    sens->sensitive.userAuth.size = 32;
    if (RAND_priv_bytes(sens->sensitive.userAuth.buffer, 32) != 1)
        return PARSEC_PSA_ERROR_INSUFFICIENT_ENTROPY;
    /* TPM2_Create needs a free object slot for the object it makes. */
    psd_tpm_make_room(st);
    if (st->broken)
        return PARSEC_PSA_ERROR_COMMUNICATION_FAILURE; /* psd_tpm_run reconnects */
    for (;;) {
        rc = Esys_Create(st->esys, st->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, sens,
                         tmpl, &outside, &pcrs, &priv, &pub, NULL, NULL, NULL);
        /* Slots taken by something we did not count: free one of ours and retry. */
        if (psd_tpm_rc_base(rc) == TPM2_RC_OBJECT_MEMORY && psd_tpm_evict_lru(st))
            continue;
        break;
    }
    if (rc != TSS2_RC_SUCCESS) {
        status = psd_tpm_fail(st, what, rc);
        goto done;
    }
    blob.auth = sens->sensitive.userAuth;
    blob.pub = *pub;
    blob.priv = *priv;
    status = psd_tpm_blob_encode(&blob, out);
done:
    psd_tpm_blob_cleanse(&blob);
    if (priv)
        OPENSSL_cleanse(priv, sizeof(*priv));
    Esys_Free(priv);
    Esys_Free(pub);
    return status;
}

parsec_status psd_tpm_sealed_decode(const uint8_t *data, size_t len, psd_tpm_blob *b)
{
    size_t off = PSD_TPM_BLOB_HEADER;

    memset(b, 0, sizeof(*b));
    if (data == NULL || len < PSD_TPM_BLOB_HEADER || memcmp(data, psd_tpm_blob_magic, 4) != 0 ||
        data[4] != PSD_TPM_BLOB_VERSION || data[5] != PSD_TPM_BLOB_SEALED ||
        Tss2_MU_TPM2B_AUTH_Unmarshal(data, len, &off, &b->auth) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PUBLIC_Unmarshal(data, len, &off, &b->pub) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PRIVATE_Unmarshal(data, len, &off, &b->priv) != TSS2_RC_SUCCESS ||
        off != len || b->pub.publicArea.type != TPM2_ALG_KEYEDHASH) {
        psd_tpm_blob_cleanse(b);
        return PARSEC_PSA_ERROR_DATA_CORRUPT;
    }
    b->kind = PSD_TPM_BLOB_SEALED;
    return PARSEC_SUCCESS;
}

void psd_tpm_blob_cleanse(psd_tpm_blob *b)
{
    OPENSSL_cleanse(b, sizeof(*b));
}

static bool psd_tpm_type_is_rsa(uint8_t t)
{
    return t == PARSEC_KEY_TYPE_RSA_KEY_PAIR || t == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
}

static bool psd_tpm_type_is_ecc(uint8_t t)
{
    return t == PARSEC_KEY_TYPE_ECC_KEY_PAIR || t == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY;
}

parsec_status psd_tpm_blob_decode(const psd_key *key, psd_tpm_blob *b)
{
    const parsec_key_attributes *a = key->attrs;
    const TPMT_PUBLIC *p;
    size_t off = PSD_TPM_BLOB_HEADER;
    TSS2_RC rc = TSS2_RC_SUCCESS;
    bool pair;

    memset(b, 0, sizeof(*b));
    if (!key->blob || key->blob_len < PSD_TPM_BLOB_HEADER ||
        memcmp(key->blob, psd_tpm_blob_magic, 4) != 0 || key->blob[4] != PSD_TPM_BLOB_VERSION)
        goto corrupt;
    b->kind = key->blob[5];
    if (b->kind != PSD_TPM_BLOB_KEY && b->kind != PSD_TPM_BLOB_PUBLIC)
        goto corrupt;
    if (b->kind == PSD_TPM_BLOB_KEY)
        rc = Tss2_MU_TPM2B_AUTH_Unmarshal(key->blob, key->blob_len, &off, &b->auth);
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(key->blob, key->blob_len, &off, &b->pub);
    if (rc == TSS2_RC_SUCCESS && b->kind == PSD_TPM_BLOB_KEY)
        rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal(key->blob, key->blob_len, &off, &b->priv);
    if (rc != TSS2_RC_SUCCESS || off != key->blob_len)
        goto corrupt;

    /* The blob must be the key the attributes describe. */
    p = &b->pub.publicArea;
    pair = a->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR || a->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR;
    if (pair != (b->kind == PSD_TPM_BLOB_KEY))
        goto corrupt;
    if (psd_tpm_type_is_rsa(a->type)) {
        if (p->type != TPM2_ALG_RSA || (a->bits && a->bits != p->parameters.rsaDetail.keyBits) ||
            p->unique.rsa.size * 8u != p->parameters.rsaDetail.keyBits)
            goto corrupt;
    } else if (psd_tpm_type_is_ecc(a->type)) {
        size_t n = psd_tpm_curve_bytes(p->parameters.eccDetail.curveID);
        if (p->type != TPM2_ALG_ECC || !n || p->unique.ecc.x.size > n || p->unique.ecc.y.size > n ||
            (a->bits && psd_tpm_curve(a->ecc_family, a->bits) != p->parameters.eccDetail.curveID))
            goto corrupt;
    } else {
        goto corrupt;
    }
    return PARSEC_SUCCESS;

corrupt:
    psd_log(PSD_LOG_ERROR, "tpm: the stored blob of key %llu is not a valid TPM key blob",
            (unsigned long long)key->id);
    psd_tpm_blob_cleanse(b);
    return PARSEC_PSA_ERROR_DATA_CORRUPT;
}

/* ---- loaded-key cache ---- */

static unsigned psd_tpm_cache_count(const psd_tpm *st)
{
    unsigned n = 0;
    for (size_t i = 0; i < PSD_TPM_CACHE_SLOTS; i++)
        n += st->cache[i].used;
    return n;
}

static void psd_tpm_cache_flush_entry(psd_tpm *st, psd_tpm_loaded *e)
{
    if (st->esys && !st->broken) {
        TSS2_RC rc = Esys_FlushContext(st->esys, e->handle);
        if (psd_tpm_rc_base(rc) == TPM2_RC_HANDLE) {
            /* Our object is not there any more: the TPM was reset under us. */
            psd_log(PSD_LOG_WARN, "tpm: a loaded key vanished: the TPM was reset; starting again");
            st->broken = true;
        } else if (rc != TSS2_RC_SUCCESS) {
            psd_tpm_fail(st, "flushing a loaded key", rc);
        }
    }
    memset(e, 0, sizeof(*e));
}

bool psd_tpm_evict_lru(psd_tpm *st)
{
    psd_tpm_loaded *victim = NULL;
    for (size_t i = 0; i < PSD_TPM_CACHE_SLOTS; i++) {
        psd_tpm_loaded *e = &st->cache[i];
        if (e->used && !e->pins && (!victim || e->last_use < victim->last_use))
            victim = e;
    }
    if (!victim)
        return false;
    psd_tpm_cache_flush_entry(st, victim);
    return true;
}

bool psd_tpm_make_room(psd_tpm *st)
{
    while (psd_tpm_cache_count(st) >= st->object_slots) {
        if (!psd_tpm_evict_lru(st))
            return false;
    }
    return true;
}

void psd_tpm_cache_flush_all(psd_tpm *st)
{
    for (size_t i = 0; i < PSD_TPM_CACHE_SLOTS; i++) {
        if (st->cache[i].used)
            psd_tpm_cache_flush_entry(st, &st->cache[i]);
    }
}

void psd_tpm_cache_drop(psd_tpm *st, uint64_t key_id)
{
    for (size_t i = 0; i < PSD_TPM_CACHE_SLOTS; i++) {
        if (st->cache[i].used && st->cache[i].key_id == key_id && !st->cache[i].pins)
            psd_tpm_cache_flush_entry(st, &st->cache[i]);
    }
}

parsec_status psd_tpm_key_acquire(psd_tpm *st, const psd_key *key, const psd_tpm_blob *blob,
                                  ESYS_TR *handle)
{
    uint8_t digest[32];
    psd_tpm_loaded *slot = NULL;
    ESYS_TR h = ESYS_TR_NONE;
    TSS2_RC rc;

    if (blob->kind != PSD_TPM_BLOB_KEY)
        return PARSEC_PSA_ERROR_NOT_PERMITTED; /* a public key has no TPM object to use */
    if (!EVP_Q_digest(NULL, "SHA256", NULL, key->blob, key->blob_len, digest, NULL))
        return PARSEC_PSA_ERROR_GENERIC_ERROR;

    for (size_t i = 0; i < PSD_TPM_CACHE_SLOTS; i++) {
        psd_tpm_loaded *e = &st->cache[i];
        if (e->used && e->key_id == key->id && memcmp(e->blob_digest, digest, 32) == 0) {
            e->last_use = ++st->tick;
            e->pins++;
            *handle = e->handle;
            return PARSEC_SUCCESS;
        }
    }
    /* A stale entry for this id (key replaced) would only waste a slot. */
    psd_tpm_cache_drop(st, key->id);

    while (psd_tpm_cache_count(st) >= st->cache_cap && psd_tpm_evict_lru(st))
        ;
    if (st->broken)
        return PARSEC_PSA_ERROR_COMMUNICATION_FAILURE; /* psd_tpm_run reconnects */
    for (;;) {
        rc = Esys_Load(st->esys, st->primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                       &blob->priv, &blob->pub, &h);
        /* Slots taken by something we did not count: free one of ours and retry. */
        if (psd_tpm_rc_base(rc) == TPM2_RC_OBJECT_MEMORY && psd_tpm_evict_lru(st))
            continue;
        break;
    }
    if (rc != TSS2_RC_SUCCESS)
        return psd_tpm_fail(st, "loading a key (TPM2_Load)", rc);
    rc = Esys_TR_SetAuth(st->esys, h, &blob->auth);
    for (size_t i = 0; i < PSD_TPM_CACHE_SLOTS && !slot; i++) {
        if (!st->cache[i].used)
            slot = &st->cache[i];
    }
    if (rc != TSS2_RC_SUCCESS || !slot) {
        Esys_FlushContext(st->esys, h);
        return rc != TSS2_RC_SUCCESS ? psd_tpm_fail(st, "setting a key's auth", rc)
                                     : PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    }
    slot->used = true;
    slot->key_id = key->id;
    memcpy(slot->blob_digest, digest, 32);
    slot->handle = h;
    slot->last_use = ++st->tick;
    slot->pins = 1;
    *handle = h;
    return PARSEC_SUCCESS;
}

void psd_tpm_key_release(psd_tpm *st, ESYS_TR handle)
{
    for (size_t i = 0; i < PSD_TPM_CACHE_SLOTS; i++) {
        psd_tpm_loaded *e = &st->cache[i];
        if (e->used && e->handle == handle && e->pins) {
            e->pins--;
            /* Over capacity because of pinned extras: shrink back now. */
            if (!e->pins && psd_tpm_cache_count(st) > st->cache_cap)
                psd_tpm_cache_flush_entry(st, e);
            return;
        }
    }
}

/* ---- algorithm tables ---- */

TPMI_ALG_HASH psd_tpm_hash_alg(const psd_tpm_caps *caps, uint8_t parsec_hash)
{
    switch (parsec_hash) {
    case PARSEC_HASH_SHA_1:
        return caps->sha1 ? TPM2_ALG_SHA1 : TPM2_ALG_ERROR;
    case PARSEC_HASH_SHA_256:
        return caps->sha256 ? TPM2_ALG_SHA256 : TPM2_ALG_ERROR;
    case PARSEC_HASH_SHA_384:
        return caps->sha384 ? TPM2_ALG_SHA384 : TPM2_ALG_ERROR;
    case PARSEC_HASH_SHA_512:
        return caps->sha512 ? TPM2_ALG_SHA512 : TPM2_ALG_ERROR;
    default:
        return TPM2_ALG_ERROR;
    }
}

size_t psd_tpm_hash_size(TPMI_ALG_HASH alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1:
        return 20;
    case TPM2_ALG_SHA256:
        return 32;
    case TPM2_ALG_SHA384:
        return 48;
    case TPM2_ALG_SHA512:
        return 64;
    default:
        return 0;
    }
}

const char *psd_tpm_hash_ossl_name(TPMI_ALG_HASH alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1:
        return "SHA1";
    case TPM2_ALG_SHA256:
        return "SHA256";
    case TPM2_ALG_SHA384:
        return "SHA384";
    case TPM2_ALG_SHA512:
        return "SHA512";
    default:
        return NULL;
    }
}

TPMI_ECC_CURVE psd_tpm_curve(uint8_t family, uint32_t bits)
{
    if (family != PARSEC_ECC_FAMILY_SECP_R1)
        return TPM2_ECC_NONE;
    switch (bits) {
    case 256:
        return TPM2_ECC_NIST_P256;
    case 384:
        return TPM2_ECC_NIST_P384;
    case 521:
        return TPM2_ECC_NIST_P521;
    default:
        return TPM2_ECC_NONE;
    }
}

size_t psd_tpm_curve_bytes(TPMI_ECC_CURVE curve)
{
    switch (curve) {
    case TPM2_ECC_NIST_P256:
        return 32;
    case TPM2_ECC_NIST_P384:
        return 48;
    case TPM2_ECC_NIST_P521:
        return 66;
    default:
        return 0;
    }
}

const char *psd_tpm_curve_ossl_name(TPMI_ECC_CURVE curve)
{
    switch (curve) {
    case TPM2_ECC_NIST_P256:
        return "prime256v1";
    case TPM2_ECC_NIST_P384:
        return "secp384r1";
    case TPM2_ECC_NIST_P521:
        return "secp521r1";
    default:
        return NULL;
    }
}

bool psd_tpm_curve_supported(const psd_tpm_caps *caps, TPMI_ECC_CURVE curve)
{
    switch (curve) {
    case TPM2_ECC_NIST_P256:
        return caps->ecc && caps->p256;
    case TPM2_ECC_NIST_P384:
        return caps->ecc && caps->p384;
    case TPM2_ECC_NIST_P521:
        return caps->ecc && caps->p521;
    default:
        return false;
    }
}

bool psd_tpm_rsa_bits_supported(const psd_tpm_caps *caps, uint32_t bits)
{
    switch (bits) {
    case 1024:
        return caps->rsa1024;
    case 2048:
        return caps->rsa2048;
    case 3072:
        return caps->rsa3072;
    case 4096:
        return caps->rsa4096;
    default:
        return false;
    }
}

/* ---- public keys in software ---- */

size_t psd_tpm_rsa_bytes(const TPM2B_PUBLIC *pub)
{
    return pub->publicArea.unique.rsa.size;
}

/* x or y left-padded to the curve length. */
static void psd_tpm_put_coord(uint8_t *dst, size_t n, const TPM2B_ECC_PARAMETER *c)
{
    memset(dst, 0, n - c->size);
    memcpy(dst + n - c->size, c->buffer, c->size);
}

EVP_PKEY *psd_tpm_public_to_pkey(const TPM2B_PUBLIC *pub)
{
    const TPMT_PUBLIC *p = &pub->publicArea;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIGNUM *n = NULL, *e = NULL;
    uint8_t point[1 + 2 * TPM2_MAX_ECC_KEY_BYTES];
    const char *type;

    if (!bld)
        goto done;
    if (p->type == TPM2_ALG_RSA) {
        UINT32 exp = p->parameters.rsaDetail.exponent ? p->parameters.rsaDetail.exponent : 65537;
        type = "RSA";
        n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size, NULL);
        e = BN_new();
        if (!n || !e || !BN_set_word(e, exp) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
            goto done;
    } else if (p->type == TPM2_ALG_ECC) {
        const char *group = psd_tpm_curve_ossl_name(p->parameters.eccDetail.curveID);
        size_t cb = psd_tpm_curve_bytes(p->parameters.eccDetail.curveID);
        type = "EC";
        if (!group || p->unique.ecc.x.size > cb || p->unique.ecc.y.size > cb)
            goto done;
        point[0] = 0x04;
        psd_tpm_put_coord(point + 1, cb, &p->unique.ecc.x);
        psd_tpm_put_coord(point + 1 + cb, cb, &p->unique.ecc.y);
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * cb))
            goto done;
    } else {
        goto done;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;

done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

parsec_status psd_tpm_public_export(const TPM2B_PUBLIC *pub, psd_buf *out)
{
    const TPMT_PUBLIC *p = &pub->publicArea;
    parsec_status status = PARSEC_PSA_ERROR_GENERIC_ERROR;

    if (p->type == TPM2_ALG_RSA) {
        EVP_PKEY *pkey = psd_tpm_public_to_pkey(pub);
        unsigned char *der = NULL;
        int len = pkey ? i2d_PublicKey(pkey, &der) : -1; /* RSA: PKCS#1 RSAPublicKey */
        if (len > 0)
            status = psd_buf_set(out, der, (size_t)len);
        OPENSSL_free(der);
        EVP_PKEY_free(pkey);
    } else if (p->type == TPM2_ALG_ECC) {
        size_t cb = psd_tpm_curve_bytes(p->parameters.eccDetail.curveID);
        uint8_t point[1 + 2 * TPM2_MAX_ECC_KEY_BYTES];
        if (cb && p->unique.ecc.x.size <= cb && p->unique.ecc.y.size <= cb) {
            point[0] = 0x04;
            psd_tpm_put_coord(point + 1, cb, &p->unique.ecc.x);
            psd_tpm_put_coord(point + 1 + cb, cb, &p->unique.ecc.y);
            status = psd_buf_set(out, point, 1 + 2 * cb);
        }
    }
    return status;
}
