/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The software backend (provider ID 1, presented like the reference
 * service's Mbed Crypto provider so existing clients accept it), built on
 * OpenSSL. Private keys live in the core's key store as DER blobs; parsed
 * EVP_PKEYs are cached by key ID so repeated operations do not re-parse.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psd_sw.h"

#define PSD_SW_CACHE_BUCKETS 1024
#define PSD_SW_CACHE_MAX 8192
/* A key is normally used with one algorithm, for one or two operations. */
#define PSD_SW_TEMPLATES 4

typedef struct psd_sw_template {
    EVP_PKEY_CTX *ctx; /* configured, never used directly: only duplicated */
    uint8_t op;
    parsec_alg alg;
} psd_sw_template;

typedef struct psd_sw_cached {
    struct psd_sw_cached *next;
    uint64_t id;
    EVP_PKEY *pkey;
    psd_sw_template templates[PSD_SW_TEMPLATES];
} psd_sw_cached;

struct psd_sw_state {
    pthread_rwlock_t lock;
    psd_sw_cached *buckets[PSD_SW_CACHE_BUCKETS];
    size_t count;
};

static const uint32_t psd_sw_opcodes[] = {
    PARSEC_OP_PSA_GENERATE_KEY,       PARSEC_OP_PSA_DESTROY_KEY,
    PARSEC_OP_PSA_SIGN_HASH,          PARSEC_OP_PSA_VERIFY_HASH,
    PARSEC_OP_PSA_IMPORT_KEY,         PARSEC_OP_PSA_EXPORT_KEY,
    PARSEC_OP_PSA_EXPORT_PUBLIC_KEY,  PARSEC_OP_PSA_ASYMMETRIC_DECRYPT,
    PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT, PARSEC_OP_PSA_HASH_COMPARE,
    PARSEC_OP_PSA_HASH_COMPUTE,       PARSEC_OP_PSA_RAW_KEY_AGREEMENT,
    PARSEC_OP_PSA_GENERATE_RANDOM,    PARSEC_OP_CAN_DO_CRYPTO,
    PARSEC_OP_PSA_AEAD_ENCRYPT,       PARSEC_OP_PSA_AEAD_DECRYPT,
    PARSEC_OP_PSA_SIGN_MESSAGE,       PARSEC_OP_PSA_VERIFY_MESSAGE,
    PARSEC_OP_PSA_CIPHER_ENCRYPT,     PARSEC_OP_PSA_CIPHER_DECRYPT,
};

/* ---- helpers shared by the backend's files ---- */

int psd_sw_is_pair(uint8_t type)
{
    return type == PARSEC_KEY_TYPE_RSA_KEY_PAIR || type == PARSEC_KEY_TYPE_ECC_KEY_PAIR;
}

/* The PSA curves OpenSSL's default provider has (PSA Crypto API 1.0.1, ECC families). */
const char *psd_sw_curve_name(uint8_t family, uint32_t bits)
{
    switch (family) {
    case PARSEC_ECC_FAMILY_SECP_R1:
        return bits == 256 ? "P-256" : bits == 384 ? "P-384" : bits == 521 ? "P-521" : NULL;
    case PARSEC_ECC_FAMILY_SECP_K1:
        return bits == 256 ? "secp256k1" : NULL;
    case PARSEC_ECC_FAMILY_BRAINPOOL_P_R1:
        return bits == 256   ? "brainpoolP256r1"
               : bits == 384 ? "brainpoolP384r1"
               : bits == 512 ? "brainpoolP512r1"
                             : NULL;
    case PARSEC_ECC_FAMILY_MONTGOMERY:
        return bits == 255 ? "X25519" : bits == 448 ? "X448" : NULL;
    default:
        return NULL;
    }
}

int psd_sw_is_montgomery(const parsec_key_attributes *attrs)
{
    return (attrs->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR ||
            attrs->type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY) &&
           attrs->ecc_family == PARSEC_ECC_FAMILY_MONTGOMERY;
}

const EVP_MD *psd_sw_md(uint8_t hash)
{
    const char *name = parsec_hash_ossl_name(hash);

    return name != NULL ? EVP_get_digestbyname(name) : NULL;
}

parsec_status psd_sw_blob_encode(EVP_PKEY *pkey, const parsec_key_attributes *attrs, psd_buf *blob)
{
    unsigned char *der = NULL;
    int len;

    len = psd_sw_is_pair(attrs->type) ? i2d_PrivateKey(pkey, &der) : i2d_PUBKEY(pkey, &der);
    if (len <= 0)
        return PARSEC_PSA_ERROR_GENERIC_ERROR;
    blob->data = der;
    blob->len = (size_t)len;
    return PARSEC_SUCCESS;
}

EVP_PKEY *psd_sw_blob_decode(const parsec_key_attributes *attrs, const uint8_t *blob, size_t len)
{
    const unsigned char *p = blob;
    int type = attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR ? EVP_PKEY_RSA : EVP_PKEY_EC;

    if (blob == NULL || len == 0 || len > 0x7FFFFFFF)
        return NULL;
    if (psd_sw_is_montgomery(attrs) && psd_sw_is_pair(attrs->type))
        return d2i_AutoPrivateKey(NULL, &p, (long)len); /* PKCS#8: X25519/X448 have no other */
    if (psd_sw_is_pair(attrs->type))
        return d2i_PrivateKey(type, NULL, &p, (long)len);
    return d2i_PUBKEY(NULL, &p, (long)len);
}

/* ---- the key cache ---- */

static size_t psd_sw_slot(uint64_t id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 54) % PSD_SW_CACHE_BUCKETS;
}

static void psd_sw_cached_free(psd_sw_cached *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < PSD_SW_TEMPLATES; i++)
        EVP_PKEY_CTX_free(c->templates[i].ctx);
    EVP_PKEY_free(c->pkey);
    free(c);
}

/* Caller holds the lock (read or write). */
static psd_sw_cached *psd_sw_cache_find(psd_sw_state *sw, uint64_t id)
{
    for (psd_sw_cached *c = sw->buckets[psd_sw_slot(id)]; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

/* Caller holds the write lock. */
static void psd_sw_cache_clear_locked(psd_sw_state *sw)
{
    for (size_t i = 0; i < PSD_SW_CACHE_BUCKETS; i++) {
        psd_sw_cached *c = sw->buckets[i], *next;

        for (; c != NULL; c = next) {
            next = c->next;
            psd_sw_cached_free(c);
        }
        sw->buckets[i] = NULL;
    }
    sw->count = 0;
}

void psd_sw_cache_put(psd_sw_state *sw, uint64_t id, EVP_PKEY *pkey)
{
    psd_sw_cached *c = calloc(1, sizeof(*c));
    size_t slot = psd_sw_slot(id);

    if (c == NULL || !EVP_PKEY_up_ref(pkey)) {
        free(c);
        return; /* the cache is an optimisation only */
    }
    c->id = id;
    c->pkey = pkey;
    pthread_rwlock_wrlock(&sw->lock);
    for (psd_sw_cached *o = sw->buckets[slot]; o != NULL; o = o->next)
        if (o->id == id) { /* another thread was first */
            pthread_rwlock_unlock(&sw->lock);
            EVP_PKEY_free(c->pkey);
            free(c);
            return;
        }
    /* Bounded: past the limit start over rather than track usage on the hot path. */
    if (sw->count >= PSD_SW_CACHE_MAX)
        psd_sw_cache_clear_locked(sw);
    c->next = sw->buckets[slot];
    sw->buckets[slot] = c;
    sw->count++;
    pthread_rwlock_unlock(&sw->lock);
}

void psd_sw_cache_drop(psd_sw_state *sw, uint64_t id)
{
    psd_sw_cached **pp, *found = NULL;

    pthread_rwlock_wrlock(&sw->lock);
    for (pp = &sw->buckets[psd_sw_slot(id)]; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            found = *pp;
            *pp = found->next;
            sw->count--;
            break;
        }
    pthread_rwlock_unlock(&sw->lock);
    psd_sw_cached_free(found);
}

parsec_status psd_sw_key_get(psd_sw_state *sw, const psd_key *key, EVP_PKEY **out)
{
    EVP_PKEY *pkey = NULL;

    psd_sw_cached *c;

    pthread_rwlock_rdlock(&sw->lock);
    c = psd_sw_cache_find(sw, key->id);
    if (c != NULL && EVP_PKEY_up_ref(c->pkey))
        pkey = c->pkey;
    pthread_rwlock_unlock(&sw->lock);
    if (pkey == NULL) {
        pkey = psd_sw_blob_decode(key->attrs, key->blob, key->blob_len);
        if (pkey == NULL)
            return PARSEC_PSA_ERROR_DATA_CORRUPT;
        psd_sw_cache_put(sw, key->id, pkey);
    }
    *out = pkey;
    return PARSEC_SUCCESS;
}

static int psd_sw_template_is(const psd_sw_template *t, enum psd_sw_op op, const parsec_alg *alg)
{
    return t->ctx != NULL && t->op == op && t->alg.kind == alg->kind &&
           t->alg.scheme == alg->scheme && t->alg.hash == alg->hash;
}

/* A copy of the cached template, or NULL. */
static EVP_PKEY_CTX *psd_sw_template_dup(psd_sw_state *sw, uint64_t id, enum psd_sw_op op,
                                         const parsec_alg *alg)
{
    EVP_PKEY_CTX *ctx = NULL;
    psd_sw_cached *c;

    pthread_rwlock_rdlock(&sw->lock);
    c = psd_sw_cache_find(sw, id);
    for (size_t i = 0; c != NULL && i < PSD_SW_TEMPLATES; i++)
        if (psd_sw_template_is(&c->templates[i], op, alg)) {
            /* Duplicating only reads the template: safe under the read lock. */
            ctx = EVP_PKEY_CTX_dup(c->templates[i].ctx);
            break;
        }
    pthread_rwlock_unlock(&sw->lock);
    return ctx;
}

/* Keep tpl for later copies if the key is cached and has room; else free it. */
static void psd_sw_template_keep(psd_sw_state *sw, uint64_t id, enum psd_sw_op op,
                                 const parsec_alg *alg, EVP_PKEY_CTX *tpl)
{
    psd_sw_cached *c;

    pthread_rwlock_wrlock(&sw->lock);
    c = psd_sw_cache_find(sw, id);
    for (size_t i = 0; c != NULL && i < PSD_SW_TEMPLATES; i++) {
        if (psd_sw_template_is(&c->templates[i], op, alg))
            break; /* another thread was first */
        if (c->templates[i].ctx == NULL) {
            c->templates[i].ctx = tpl;
            c->templates[i].op = (uint8_t)op;
            c->templates[i].alg = *alg;
            tpl = NULL;
            break;
        }
    }
    pthread_rwlock_unlock(&sw->lock);
    EVP_PKEY_CTX_free(tpl);
}

parsec_status psd_sw_op_ctx(psd_sw_state *sw, const psd_key *key, enum psd_sw_op op,
                            const parsec_alg *alg, psd_sw_setup_fn setup, EVP_PKEY_CTX **out)
{
    int is_rsa = key->attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR ||
                 key->attrs->type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
    EVP_PKEY_CTX *tpl = NULL;
    EVP_PKEY *pkey = NULL;
    parsec_status st;
    int rc;

    *out = psd_sw_template_dup(sw, key->id, op, alg);
    if (*out != NULL)
        return PARSEC_SUCCESS;
    st = psd_sw_key_get(sw, key, &pkey);
    if (st != PARSEC_SUCCESS)
        return st;
    tpl = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    EVP_PKEY_free(pkey); /* the context holds its own reference */
    if (tpl == NULL)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    switch (op) {
    case PSD_SW_SIGN:
        rc = EVP_PKEY_sign_init(tpl);
        break;
    case PSD_SW_VERIFY:
        rc = EVP_PKEY_verify_init(tpl);
        break;
    case PSD_SW_ENCRYPT:
        rc = EVP_PKEY_encrypt_init(tpl);
        break;
    case PSD_SW_DERIVE:
        rc = EVP_PKEY_derive_init(tpl);
        break;
    default:
        rc = EVP_PKEY_decrypt_init(tpl);
        break;
    }
    if (rc != 1)
        st = PARSEC_PSA_ERROR_GENERIC_ERROR;
    else
        st = setup != NULL ? setup(tpl, alg, is_rsa) : PARSEC_SUCCESS;
    if (st == PARSEC_SUCCESS) {
        *out = EVP_PKEY_CTX_dup(tpl);
        if (*out == NULL)
            st = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    }
    if (st == PARSEC_SUCCESS)
        psd_sw_template_keep(sw, key->id, op, alg, tpl);
    else
        EVP_PKEY_CTX_free(tpl);
    return st;
}

/* ---- lifecycle ---- */

static int psd_sw_init(void **state, const psd_settings *settings, char *err, size_t errlen)
{
    psd_sw_state *sw;

    /* The backend has no settings yet: a typo must not pass silently. */
    if (settings != NULL && settings->count > 0) {
        snprintf(err, errlen, "unknown setting '%s' in [software] (it takes none)",
                 settings->items[0].key);
        return -1;
    }
    sw = calloc(1, sizeof(*sw));
    if (sw == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (pthread_rwlock_init(&sw->lock, NULL) != 0) {
        free(sw);
        snprintf(err, errlen, "cannot create a lock");
        return -1;
    }
    /* Fail at start, not on the first request, if OpenSSL lacks what we serve. */
    if (EVP_get_digestbyname("SHA256") == NULL) {
        pthread_rwlock_destroy(&sw->lock);
        free(sw);
        snprintf(err, errlen, "OpenSSL's default provider is not available");
        return -1;
    }
    *state = sw;
    return 0;
}

static void psd_sw_fini(void *state)
{
    psd_sw_state *sw = state;

    if (sw == NULL)
        return;
    pthread_rwlock_wrlock(&sw->lock);
    psd_sw_cache_clear_locked(sw);
    pthread_rwlock_unlock(&sw->lock);
    pthread_rwlock_destroy(&sw->lock);
    free(sw);
}

static size_t psd_sw_list_opcodes(void *state, uint32_t *out, size_t max)
{
    size_t n = sizeof(psd_sw_opcodes) / sizeof(psd_sw_opcodes[0]);

    if (n > max)
        n = max;
    memcpy(out, psd_sw_opcodes, n * sizeof(*out));
    return n;
}

/* Hashes this backend signs or encrypts with (specific ones; ANY only in policies). */
static int psd_sw_hash_ok(uint8_t hash, int allow_any)
{
    if (hash == PARSEC_HASH_ANY)
        return allow_any;
    switch (hash) {
    case PARSEC_HASH_SHA_1: /* verification of old signatures, OAEP-SHA1 */
    case PARSEC_HASH_SHA_224:
    case PARSEC_HASH_SHA_256:
    case PARSEC_HASH_SHA_384:
    case PARSEC_HASH_SHA_512:
    case PARSEC_HASH_SHA_512_224:
    case PARSEC_HASH_SHA_512_256:
    case PARSEC_HASH_SHA3_224:
    case PARSEC_HASH_SHA3_256:
    case PARSEC_HASH_SHA3_384:
    case PARSEC_HASH_SHA3_512:
        return psd_sw_md(hash) != NULL;
    default:
        return 0;
    }
}

static parsec_status psd_sw_check_attributes(void *state, const parsec_key_attributes *a)
{
    const parsec_alg *alg = &a->alg;
    int rsa = a->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR || a->type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
    int ecc = a->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR || a->type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY;

    if (psd_sw_is_symmetric(a->type)) {
        if (!psd_sw_symmetric_bits_ok(a->type, a->bits)) {
            psd_log(PSD_LOG_INFO, "software: key type %u with %u bits refused (no such key size)",
                    a->type, a->bits);
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        }
        if (alg->kind == PARSEC_ALG_NONE)
            return PARSEC_SUCCESS;
        if (alg->kind == PARSEC_ALG_CIPHER)
            return psd_sw_cipher_alg_ok(a->type, alg) ? PARSEC_SUCCESS
                                                      : PARSEC_PSA_ERROR_NOT_SUPPORTED;
        return alg->kind == PARSEC_ALG_AEAD && psd_sw_aead_alg_ok(a->type, alg)
                   ? PARSEC_SUCCESS
                   : PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    /* 1024 for deployments that lower [core] min_rsa_bits; the core enforces the minimum. */
    if (a->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR && a->bits != 1024 && a->bits != 2048 &&
        a->bits != 3072 && a->bits != 4096) {
        psd_log(PSD_LOG_INFO,
                "software: RSA key pairs of %u bits refused (1024, 2048, 3072 or 4096)", a->bits);
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    if (a->type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY && (a->bits < 1024 || a->bits > 16384)) {
        psd_log(PSD_LOG_INFO, "software: RSA public keys of %u bits refused (1024 to 16384)",
                a->bits);
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    if (ecc && psd_sw_curve_name(a->ecc_family, a->bits) == NULL) {
        psd_log(PSD_LOG_INFO, "software: ECC family %u with %u bits refused (no such curve)",
                a->ecc_family, a->bits);
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
    if (!rsa && !ecc)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    switch (alg->kind) {
    case PARSEC_ALG_NONE:
        return PARSEC_SUCCESS;
    case PARSEC_ALG_ASYMMETRIC_SIGNATURE:
        switch (alg->scheme) {
        case PARSEC_SIGN_RSA_PKCS1V15:
        case PARSEC_SIGN_RSA_PSS:
            return rsa && psd_sw_hash_ok(alg->hash, 1) ? PARSEC_SUCCESS
                                                       : PARSEC_PSA_ERROR_NOT_SUPPORTED;
        case PARSEC_SIGN_RSA_PKCS1V15_RAW:
            return rsa ? PARSEC_SUCCESS : PARSEC_PSA_ERROR_NOT_SUPPORTED;
        case PARSEC_SIGN_ECDSA:
            return ecc && !psd_sw_is_montgomery(a) && psd_sw_hash_ok(alg->hash, 1)
                       ? PARSEC_SUCCESS
                       : PARSEC_PSA_ERROR_NOT_SUPPORTED;
        case PARSEC_SIGN_ECDSA_ANY:
            return ecc && !psd_sw_is_montgomery(a) ? PARSEC_SUCCESS
                                                   : PARSEC_PSA_ERROR_NOT_SUPPORTED;
        default: /* deterministic ECDSA needs OpenSSL 3.2 */
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        }
    case PARSEC_ALG_ASYMMETRIC_ENCRYPTION:
        if (!rsa)
            return PARSEC_PSA_ERROR_NOT_SUPPORTED;
        if (alg->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15)
            return PARSEC_SUCCESS;
        return alg->scheme == PARSEC_ENCRYPT_RSA_OAEP && psd_sw_hash_ok(alg->hash, 0)
                   ? PARSEC_SUCCESS
                   : PARSEC_PSA_ERROR_NOT_SUPPORTED;
    case PARSEC_ALG_KEY_AGREEMENT:
        return ecc && alg->scheme == PARSEC_KA_ECDH ? PARSEC_SUCCESS
                                                    : PARSEC_PSA_ERROR_NOT_SUPPORTED;
    default:
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
}

static parsec_status psd_sw_generate_random(void *state, size_t size, psd_buf *out)
{
    out->data = OPENSSL_malloc(size > 0 ? size : 1);
    if (out->data == NULL)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    out->len = size;
    if (size > 0 && size <= INT32_MAX && RAND_bytes(out->data, (int)size) == 1)
        return PARSEC_SUCCESS;
    if (size == 0)
        return PARSEC_SUCCESS;
    psd_buf_clear(out);
    return PARSEC_PSA_ERROR_INSUFFICIENT_ENTROPY;
}

static parsec_status psd_sw_hash_compute(void *state, uint8_t hash, const uint8_t *in, size_t inlen,
                                         psd_buf *out)
{
    const EVP_MD *md = psd_sw_md(hash);
    unsigned int len = 0;

    if (md == NULL)
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    out->data = OPENSSL_malloc(EVP_MAX_MD_SIZE);
    if (out->data == NULL)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    if (EVP_Digest(in != NULL ? in : (const uint8_t *)"", inlen, out->data, &len, md, NULL) != 1) {
        OPENSSL_free(out->data);
        out->data = NULL;
        return PARSEC_PSA_ERROR_NOT_SUPPORTED; /* e.g. a digest the FIPS provider refuses */
    }
    out->len = len;
    return PARSEC_SUCCESS;
}

const psd_backend_ops psd_software_backend = {
    .abi_version = PSD_BACKEND_ABI_VERSION,
    .provider_id = PARSEC_PROVIDER_MBED_CRYPTO,
    .name = "software",
    .uuid = "1c1139dc-ad7c-47dc-ad6b-db6fdb466552",
    .description = "User space software provider, based on OpenSSL (parsecd's software backend, "
                   "serving the PSA crypto API like the Mbed Crypto provider)",
    .vendor = "parsec-provider",
    .version_maj = 0,
    .version_min = 1,
    .version_rev = 0,
    .init = psd_sw_init,
    .fini = psd_sw_fini,
    .opcodes = psd_sw_list_opcodes,
    .check_attributes = psd_sw_check_attributes,
    .generate_key = psd_sw_generate_key,
    .import_key = psd_sw_import_key,
    .export_public_key = psd_sw_export_public_key,
    .export_key = psd_sw_export_key,
    .destroy_key = psd_sw_destroy_key,
    .sign_hash = psd_sw_sign_hash,
    .verify_hash = psd_sw_verify_hash,
    .asymmetric_encrypt = psd_sw_asymmetric_encrypt,
    .asymmetric_decrypt = psd_sw_asymmetric_decrypt,
    .raw_key_agreement = psd_sw_raw_key_agreement,
    .generate_random = psd_sw_generate_random,
    .hash_compute = psd_sw_hash_compute,
    .aead_encrypt = psd_sw_aead_encrypt,
    .aead_decrypt = psd_sw_aead_decrypt,
    .cipher_encrypt = psd_sw_cipher_encrypt,
    .cipher_decrypt = psd_sw_cipher_decrypt,
};
