/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ASYM_CIPHER "RSA": decryption through the Parsec service
 * (PsaAsymmetricDecrypt), encryption in software with the key's public half.
 *
 * Parsec keys carry exactly one permitted algorithm: RsaPkcs1v15Crypt or
 * RsaOaep(hash), where the one hash serves as OAEP digest and MGF1 digest.
 * Requests the policy cannot satisfy are refused before any service call,
 * naming the key's policy and what was asked.
 *
 * RSA_PKCS1_WITH_TLS_PADDING (TLS 1.2 RSA key exchange) follows OpenSSL's
 * rsa_enc.c contract: the result is always 48 bytes; if decryption fails or
 * the plaintext has the wrong length or version, a random premaster secret
 * is returned instead, selected without data-dependent branches, so the
 * handshake fails later at Finished without telling the peer why.
 */
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/prov_ssl.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "pprov.h"

typedef struct pprov_rsa_cipher_ctx {
    pprov_ctx *provctx;
    pprov_key *key;
    int operation;     /* EVP_PKEY_OP_ENCRYPT / EVP_PKEY_OP_DECRYPT */
    int pad_mode;      /* RSA_*_PADDING */
    uint8_t oaep_hash; /* PARSEC_HASH_*, 0 = default (SHA-1) */
    uint8_t mgf1_hash; /* PARSEC_HASH_*, 0 = same as oaep_hash */
    unsigned char *label;
    size_t label_len;
    unsigned int client_version; /* TLS premaster version checks */
    unsigned int alt_version;
} pprov_rsa_cipher_ctx;

static OSSL_FUNC_asym_cipher_newctx_fn pprov_rsa_cipher_newctx;
static OSSL_FUNC_asym_cipher_freectx_fn pprov_rsa_cipher_freectx;
static OSSL_FUNC_asym_cipher_dupctx_fn pprov_rsa_cipher_dupctx;
static OSSL_FUNC_asym_cipher_encrypt_init_fn pprov_rsa_cipher_encrypt_init;
static OSSL_FUNC_asym_cipher_encrypt_fn pprov_rsa_cipher_encrypt;
static OSSL_FUNC_asym_cipher_decrypt_init_fn pprov_rsa_cipher_decrypt_init;
static OSSL_FUNC_asym_cipher_decrypt_fn pprov_rsa_cipher_decrypt;
static OSSL_FUNC_asym_cipher_get_ctx_params_fn pprov_rsa_cipher_get_ctx_params;
static OSSL_FUNC_asym_cipher_gettable_ctx_params_fn pprov_rsa_cipher_gettable_ctx_params;
static OSSL_FUNC_asym_cipher_set_ctx_params_fn pprov_rsa_cipher_set_ctx_params;
static OSSL_FUNC_asym_cipher_settable_ctx_params_fn pprov_rsa_cipher_settable_ctx_params;

/* ---- names ---------------------------------------------------------------- */

static const struct {
    int mode;
    const char *name;
} pprov_rsa_pad_names[] = {
    {RSA_PKCS1_PADDING, OSSL_PKEY_RSA_PAD_MODE_PKCSV15},
    {RSA_NO_PADDING, OSSL_PKEY_RSA_PAD_MODE_NONE},
    {RSA_PKCS1_OAEP_PADDING, OSSL_PKEY_RSA_PAD_MODE_OAEP},
    {RSA_PKCS1_OAEP_PADDING, "oeap"}, /* OpenSSL accepts the misspelling too */
    {RSA_X931_PADDING, OSSL_PKEY_RSA_PAD_MODE_X931},
};

/* OAEP/MGF1 digests Parsec's RsaOaep can name, with OpenSSL's canonical names. */
static const struct {
    uint8_t hash;
    const char *ossl_name;
    const char *display;
} pprov_rsa_oaep_hashes[] = {
    {PARSEC_HASH_SHA_1, "SHA1", "SHA-1"},         {PARSEC_HASH_SHA_224, "SHA2-224", "SHA-224"},
    {PARSEC_HASH_SHA_256, "SHA2-256", "SHA-256"}, {PARSEC_HASH_SHA_384, "SHA2-384", "SHA-384"},
    {PARSEC_HASH_SHA_512, "SHA2-512", "SHA-512"},
};

static const char *pprov_rsa_hash_ossl_name(uint8_t hash)
{
    size_t i;

    for (i = 0; i < sizeof(pprov_rsa_oaep_hashes) / sizeof(pprov_rsa_oaep_hashes[0]); i++)
        if (pprov_rsa_oaep_hashes[i].hash == hash)
            return pprov_rsa_oaep_hashes[i].ossl_name;
    return NULL;
}

static const char *pprov_rsa_hash_display(uint8_t hash)
{
    size_t i;

    for (i = 0; i < sizeof(pprov_rsa_oaep_hashes) / sizeof(pprov_rsa_oaep_hashes[0]); i++)
        if (pprov_rsa_oaep_hashes[i].hash == hash)
            return pprov_rsa_oaep_hashes[i].display;
    return "unsupported hash";
}

/* Map any digest name OpenSSL knows ("sha256", "SHA2-256", OID...) to a Parsec hash. */
static uint8_t pprov_rsa_hash_from_name(pprov_ctx *provctx, const char *name, const char *props)
{
    EVP_MD *md;
    uint8_t hash = PARSEC_HASH_NONE;
    size_t i;

    md = EVP_MD_fetch(pprov_libctx(provctx), name, props);
    if (md == NULL)
        return PARSEC_HASH_NONE;
    for (i = 0; i < sizeof(pprov_rsa_oaep_hashes) / sizeof(pprov_rsa_oaep_hashes[0]); i++) {
        if (EVP_MD_is_a(md, pprov_rsa_oaep_hashes[i].ossl_name)) {
            hash = pprov_rsa_oaep_hashes[i].hash;
            break;
        }
    }
    EVP_MD_free(md);
    return hash;
}

static uint8_t pprov_rsa_effective_oaep(const pprov_rsa_cipher_ctx *rctx)
{
    return rctx->oaep_hash != 0 ? rctx->oaep_hash : PARSEC_HASH_SHA_1;
}

static uint8_t pprov_rsa_effective_mgf1(const pprov_rsa_cipher_ctx *rctx)
{
    return rctx->mgf1_hash != 0 ? rctx->mgf1_hash : pprov_rsa_effective_oaep(rctx);
}

/* "RSA-OAEP(SHA-256)" style description of a key policy, for error messages. */
static void pprov_rsa_describe_policy(const parsec_alg *alg, char *buf, size_t len)
{
    if (alg->kind == PARSEC_ALG_ASYMMETRIC_ENCRYPTION && alg->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15)
        snprintf(buf, len, "RsaPkcs1v15Crypt");
    else if (alg->kind == PARSEC_ALG_ASYMMETRIC_ENCRYPTION &&
             alg->scheme == PARSEC_ENCRYPT_RSA_OAEP)
        snprintf(buf, len, "RsaOaep(%s)", pprov_rsa_hash_display(alg->hash));
    else if (alg->kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE && alg->scheme == PARSEC_SIGN_RSA_PSS)
        snprintf(buf, len, "RsaPss (a signing key)");
    else if (alg->kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE)
        snprintf(buf, len, "RsaPkcs1v15Sign (a signing key)");
    else if (alg->kind == PARSEC_ALG_NONE)
        snprintf(buf, len, "no algorithm");
    else
        snprintf(buf, len, "algorithm kind %u", (unsigned)alg->kind);
}

/* ---- context -------------------------------------------------------------- */

static void *pprov_rsa_cipher_newctx(void *provctx)
{
    pprov_rsa_cipher_ctx *rctx = OPENSSL_zalloc(sizeof(*rctx));

    if (rctx == NULL) {
        PPROV_raise(provctx, PPROV_R_MALLOC_FAILURE, "out of memory");
        return NULL;
    }
    rctx->provctx = provctx;
    rctx->pad_mode = RSA_PKCS1_PADDING;
    return rctx;
}

static void pprov_rsa_cipher_freectx(void *vctx)
{
    pprov_rsa_cipher_ctx *rctx = vctx;

    if (rctx == NULL)
        return;
    pprov_key_free(rctx->key);
    OPENSSL_free(rctx->label);
    OPENSSL_clear_free(rctx, sizeof(*rctx));
}

static void *pprov_rsa_cipher_dupctx(void *vctx)
{
    const pprov_rsa_cipher_ctx *src = vctx;
    pprov_rsa_cipher_ctx *dst;

    if (src == NULL)
        return NULL;
    dst = OPENSSL_memdup(src, sizeof(*src));
    if (dst == NULL)
        goto oom;
    dst->key = NULL;
    dst->label = NULL;
    if (src->label != NULL) {
        dst->label = OPENSSL_memdup(src->label, src->label_len);
        if (dst->label == NULL)
            goto oom;
    }
    if (src->key != NULL)
        dst->key = pprov_key_ref(src->key);
    return dst;

oom:
    pprov_rsa_cipher_freectx(dst);
    PPROV_raise(src->provctx, PPROV_R_MALLOC_FAILURE, "out of memory");
    return NULL;
}

static int pprov_rsa_cipher_init(pprov_rsa_cipher_ctx *rctx, pprov_key *key,
                                 const OSSL_PARAM params[], int operation)
{
    if (rctx == NULL || key == NULL)
        return 0;
    /* RSA-PSS keys get here too; their policy check explains the refusal. */
    if ((key->type != PPROV_KEY_RSA && key->type != PPROV_KEY_RSA_PSS) || key->pub == NULL) {
        PPROV_raise(rctx->provctx, PPROV_R_INVALID_ARGUMENT,
                    "RSA encryption needs an RSA key (key '%s' is not one)",
                    key->name != NULL ? key->name : "(public)");
        return 0;
    }
    if (operation == EVP_PKEY_OP_DECRYPT && !pprov_key_has_private(key)) {
        PPROV_raise(rctx->provctx, PPROV_R_INVALID_ARGUMENT,
                    "decryption needs a private key held by the Parsec service; "
                    "this is a public key only");
        return 0;
    }
    pprov_key_free(rctx->key);
    rctx->key = pprov_key_ref(key);
    rctx->operation = operation;
    /* Each init starts from OpenSSL's defaults, as rsa_enc.c does. */
    rctx->pad_mode = RSA_PKCS1_PADDING;
    rctx->oaep_hash = 0;
    rctx->mgf1_hash = 0;
    OPENSSL_free(rctx->label);
    rctx->label = NULL;
    rctx->label_len = 0;
    rctx->client_version = 0;
    rctx->alt_version = 0;
    return pprov_rsa_cipher_set_ctx_params(rctx, params);
}

static int pprov_rsa_cipher_encrypt_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    return pprov_rsa_cipher_init(vctx, vkey, params, EVP_PKEY_OP_ENCRYPT);
}

static int pprov_rsa_cipher_decrypt_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    return pprov_rsa_cipher_init(vctx, vkey, params, EVP_PKEY_OP_DECRYPT);
}

/* Parsec can do the OAEP the context asks for only when one hash serves both roles. */
static int pprov_rsa_check_oaep_hashes(pprov_rsa_cipher_ctx *rctx)
{
    uint8_t oaep = pprov_rsa_effective_oaep(rctx), mgf1 = pprov_rsa_effective_mgf1(rctx);

    if (oaep != mgf1) {
        PPROV_raise(rctx->provctx, PPROV_R_UNSUPPORTED,
                    "key '%s': OAEP digest %s with MGF1 digest %s is not possible: Parsec's "
                    "RsaOaep uses one hash for both (set rsa_mgf1_md to the OAEP digest)",
                    rctx->key->name, pprov_rsa_hash_display(oaep), pprov_rsa_hash_display(mgf1));
        return 0;
    }
    return 1;
}

/* ---- encryption (software, public half) ----------------------------------- */

static int pprov_rsa_cipher_encrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
                                    const unsigned char *in, size_t inlen)
{
    pprov_rsa_cipher_ctx *rctx = vctx;
    EVP_PKEY_CTX *sctx = NULL;
    OSSL_PARAM params[5], *p = params;
    int pad = rctx->pad_mode, ret = 0;
    size_t size;
    char oaep_name[32] = "", mgf1_name[32] = "";

    if (rctx->key == NULL || rctx->operation != EVP_PKEY_OP_ENCRYPT) {
        PPROV_raise(rctx->provctx, PPROV_R_INVALID_ARGUMENT, "encrypt called without encrypt_init");
        return 0;
    }
    size = (size_t)EVP_PKEY_get_size(rctx->key->pub);
    if (out == NULL) {
        *outlen = size;
        return 1;
    }
    if (outsize < size) {
        PPROV_raise(rctx->provctx, PPROV_R_BUFFER_TOO_SMALL,
                    "output buffer of %zu bytes, the ciphertext needs %zu", outsize, size);
        return 0;
    }
    if (pad == RSA_PKCS1_WITH_TLS_PADDING || pad == RSA_X931_PADDING) {
        PPROV_raise(rctx->provctx, PPROV_R_UNSUPPORTED,
                    "padding mode %d cannot be used for encryption", pad);
        return 0;
    }
    if (pad == RSA_PKCS1_OAEP_PADDING) {
        /* A Parsec key could never decrypt a mixed-hash ciphertext; plain public keys may. */
        if (rctx->key->name != NULL && !pprov_rsa_check_oaep_hashes(rctx))
            return 0;
        snprintf(oaep_name, sizeof(oaep_name), "%s",
                 pprov_rsa_hash_ossl_name(pprov_rsa_effective_oaep(rctx)));
        snprintf(mgf1_name, sizeof(mgf1_name), "%s",
                 pprov_rsa_hash_ossl_name(pprov_rsa_effective_mgf1(rctx)));
    }

    /* Software on the public half, never back into parsec.so. */
    sctx =
        EVP_PKEY_CTX_new_from_pkey(pprov_libctx(rctx->provctx), rctx->key->pub, PPROV_FETCH_PROPQ);
    if (sctx == NULL || EVP_PKEY_encrypt_init(sctx) <= 0)
        goto soft_failed;
    *p++ = OSSL_PARAM_construct_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, &pad);
    if (pad == RSA_PKCS1_OAEP_PADDING) {
        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, oaep_name, 0);
        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, mgf1_name, 0);
        if (rctx->label != NULL)
            *p++ = OSSL_PARAM_construct_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, rctx->label,
                                                     rctx->label_len);
    }
    *p = OSSL_PARAM_construct_end();
    if (EVP_PKEY_CTX_set_params(sctx, params) <= 0)
        goto soft_failed;
    *outlen = outsize;
    if (EVP_PKEY_encrypt(sctx, out, outlen, in, inlen) <= 0)
        goto soft_failed;
    ret = 1;
    goto done;

soft_failed:
    PPROV_raise(rctx->provctx, PPROV_R_OPERATION_FAILED,
                "RSA encryption with the public key of '%s' failed (input of %zu bytes for a "
                "%zu-byte key; see the errors above)",
                rctx->key->name != NULL ? rctx->key->name : "(public)", inlen, size);
done:
    EVP_PKEY_CTX_free(sctx);
    return ret;
}

/* ---- decryption (service) ------------------------------------------------- */

/*
 * The Parsec algorithm for the context's padding, after checking it against
 * the key's policy and usage. Raises a clear error and returns 0 if the
 * request cannot be served.
 */
static int pprov_rsa_decrypt_alg(pprov_rsa_cipher_ctx *rctx, parsec_alg *alg)
{
    const pprov_key *key = rctx->key;
    const parsec_alg *policy = &key->attrs.alg;
    char polbuf[64];
    const char *wanted;

    memset(alg, 0, sizeof(*alg));
    alg->kind = PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
    switch (rctx->pad_mode) {
    case RSA_PKCS1_PADDING:
    case RSA_PKCS1_WITH_TLS_PADDING:
        alg->scheme = PARSEC_ENCRYPT_RSA_PKCS1V15;
        wanted = rctx->pad_mode == RSA_PKCS1_PADDING ? "RSA PKCS#1 v1.5 decryption"
                                                     : "TLS RSA key exchange (PKCS#1 v1.5)";
        break;
    case RSA_PKCS1_OAEP_PADDING:
        if (!pprov_rsa_check_oaep_hashes(rctx))
            return 0;
        alg->scheme = PARSEC_ENCRYPT_RSA_OAEP;
        alg->hash = pprov_rsa_effective_oaep(rctx);
        wanted = "RSA-OAEP decryption";
        break;
    case RSA_NO_PADDING:
        PPROV_raise(rctx->provctx, PPROV_R_UNSUPPORTED,
                    "key '%s': raw RSA (no padding) decryption does not exist in Parsec; "
                    "use pkcs1 or oaep padding",
                    key->name);
        return 0;
    default:
        PPROV_raise(rctx->provctx, PPROV_R_UNSUPPORTED,
                    "key '%s': RSA padding mode %d is not available for decryption", key->name,
                    rctx->pad_mode);
        return 0;
    }

    pprov_rsa_describe_policy(policy, polbuf, sizeof(polbuf));
    if (policy->kind != PARSEC_ALG_ASYMMETRIC_ENCRYPTION || policy->scheme != alg->scheme ||
        (alg->scheme == PARSEC_ENCRYPT_RSA_OAEP && policy->hash != alg->hash)) {
        if (alg->scheme == PARSEC_ENCRYPT_RSA_OAEP)
            PPROV_raise(rctx->provctx, PPROV_R_NOT_PERMITTED,
                        "key '%s' may only be used for %s (its Parsec policy); %s with %s was "
                        "requested%s",
                        key->name, polbuf, wanted, pprov_rsa_hash_display(alg->hash),
                        rctx->oaep_hash == 0 ? " (OpenSSL's default OAEP digest; set "
                                               "rsa_oaep_md and rsa_mgf1_md)"
                                             : "");
        else
            PPROV_raise(rctx->provctx, PPROV_R_NOT_PERMITTED,
                        "key '%s' may only be used for %s (its Parsec policy); %s was requested",
                        key->name, polbuf, wanted);
        return 0;
    }
    if ((key->attrs.usage & PARSEC_USAGE_DECRYPT) == 0) {
        PPROV_raise(rctx->provctx, PPROV_R_NOT_PERMITTED,
                    "key '%s' (policy %s) was created without the 'decrypt' usage flag", key->name,
                    polbuf);
        return 0;
    }
    if (alg->scheme == PARSEC_ENCRYPT_RSA_PKCS1V15 && rctx->label_len > 0) {
        PPROV_raise(rctx->provctx, PPROV_R_INVALID_ARGUMENT,
                    "an OAEP label was set but the padding is PKCS#1 v1.5");
        return 0;
    }
    return 1;
}

/*
 * Statuses that say nothing about the ciphertext (service unreachable,
 * permissions, missing key): those fail the operation even in TLS mode.
 * Every other failure is a decryption failure and must stay invisible.
 */
static int pprov_rsa_status_is_infrastructure(parsec_status st)
{
    if ((unsigned int)st >= 0x10000u || (st > PARSEC_SUCCESS && st <= PARSEC_DEPRECATED_PRIMITIVE))
        return 1;
    switch (st) {
    case PARSEC_PSA_ERROR_NOT_PERMITTED:
    case PARSEC_PSA_ERROR_NOT_SUPPORTED:
    case PARSEC_PSA_ERROR_DOES_NOT_EXIST:
    case PARSEC_PSA_ERROR_INVALID_HANDLE:
    case PARSEC_PSA_ERROR_COMMUNICATION_FAILURE:
    case PARSEC_PSA_ERROR_HARDWARE_FAILURE:
    case PARSEC_PSA_ERROR_STORAGE_FAILURE:
    case PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY:
        return 1;
    default:
        return 0;
    }
}

/* Constant-time helpers: all-ones mask if the condition holds, else 0. */
static unsigned int pprov_ct_is_zero(unsigned int a)
{
    return 0u - ((~a & (a - 1)) >> (sizeof(a) * 8 - 1));
}

static unsigned int pprov_ct_eq(unsigned int a, unsigned int b)
{
    return pprov_ct_is_zero(a ^ b);
}

static int pprov_rsa_decrypt_tls(pprov_rsa_cipher_ctx *rctx, const parsec_alg *alg,
                                 parsec_client *client, unsigned char *out, size_t *outlen,
                                 const unsigned char *in, size_t inlen)
{
    unsigned char random_pms[SSL_MAX_MASTER_KEY_LENGTH];
    unsigned char decrypted[SSL_MAX_MASTER_KEY_LENGTH];
    uint8_t *plain = NULL;
    size_t plain_len = 0, i, copy;
    unsigned int good, version_good, alt_good;
    parsec_status st;
    int ret = 0;

    if (rctx->client_version == 0) {
        PPROV_raise(rctx->provctx, PPROV_R_INVALID_ARGUMENT,
                    "TLS padding needs the tls-client-version parameter");
        return 0;
    }
    /* Draw the fallback first so both paths do the same work afterwards. */
    if (RAND_bytes_ex(pprov_libctx(rctx->provctx), random_pms, sizeof(random_pms), 0) <= 0) {
        PPROV_raise(rctx->provctx, PPROV_R_OPERATION_FAILED, "no random bytes for TLS");
        return 0;
    }
    st = parsec_asymmetric_decrypt(client, rctx->key->provider_id, rctx->key->name, alg, in, inlen,
                                   NULL, 0, &plain, &plain_len);
    if (st != PARSEC_SUCCESS && pprov_rsa_status_is_infrastructure(st)) {
        PPROV_raise_status(rctx->provctx, st, "TLS RSA key exchange decryption", rctx->key->name);
        goto done;
    }
    if (st != PARSEC_SUCCESS) {
        if (plain != NULL)
            parsec_clear_free(plain, plain_len);
        plain = NULL;
        plain_len = 0;
    }
    /* Copy at fixed positions, whatever came back, then judge it. */
    memset(decrypted, 0, sizeof(decrypted));
    copy = plain_len < sizeof(decrypted) ? plain_len : sizeof(decrypted);
    if (plain != NULL)
        memcpy(decrypted, plain, copy);
    good = pprov_ct_eq((unsigned int)st, PARSEC_SUCCESS);
    good &= pprov_ct_eq((unsigned int)plain_len, SSL_MAX_MASTER_KEY_LENGTH);
    version_good = pprov_ct_eq(decrypted[0], (rctx->client_version >> 8) & 0xff);
    version_good &= pprov_ct_eq(decrypted[1], rctx->client_version & 0xff);
    /* SSL_OP_TLS_ROLLBACK_BUG clients put the negotiated version there instead. */
    if (rctx->alt_version > 0) {
        alt_good = pprov_ct_eq(decrypted[0], (rctx->alt_version >> 8) & 0xff);
        alt_good &= pprov_ct_eq(decrypted[1], rctx->alt_version & 0xff);
        version_good |= alt_good;
    }
    good &= version_good;
    for (i = 0; i < SSL_MAX_MASTER_KEY_LENGTH; i++)
        out[i] = (unsigned char)((good & decrypted[i]) | (~good & random_pms[i]));
    *outlen = SSL_MAX_MASTER_KEY_LENGTH;
    ret = 1;

done:
    OPENSSL_cleanse(random_pms, sizeof(random_pms));
    OPENSSL_cleanse(decrypted, sizeof(decrypted));
    if (plain != NULL)
        parsec_clear_free(plain, plain_len);
    return ret;
}

static int pprov_rsa_cipher_decrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
                                    const unsigned char *in, size_t inlen)
{
    pprov_rsa_cipher_ctx *rctx = vctx;
    parsec_client *client;
    parsec_alg alg;
    parsec_status st;
    uint8_t *plain = NULL;
    size_t plain_len = 0, size;
    int tls = rctx->pad_mode == RSA_PKCS1_WITH_TLS_PADDING, ret = 0;

    if (rctx->key == NULL || rctx->operation != EVP_PKEY_OP_DECRYPT) {
        PPROV_raise(rctx->provctx, PPROV_R_INVALID_ARGUMENT, "decrypt called without decrypt_init");
        return 0;
    }
    size = tls ? SSL_MAX_MASTER_KEY_LENGTH : (size_t)EVP_PKEY_get_size(rctx->key->pub);
    if (out == NULL) {
        *outlen = size;
        return 1;
    }
    if (tls && outsize < SSL_MAX_MASTER_KEY_LENGTH) {
        PPROV_raise(rctx->provctx, PPROV_R_BUFFER_TOO_SMALL,
                    "TLS premaster secret needs %d bytes, got %zu", SSL_MAX_MASTER_KEY_LENGTH,
                    outsize);
        return 0;
    }
    if (!pprov_rsa_decrypt_alg(rctx, &alg))
        return 0;
    client = pprov_client(rctx->provctx);
    if (client == NULL)
        return 0;
    if (tls)
        return pprov_rsa_decrypt_tls(rctx, &alg, client, out, outlen, in, inlen);

    PPROV_debug("decrypt %zu bytes with key '%s' (scheme %u, hash %u)", inlen, rctx->key->name,
                alg.scheme, alg.hash);
    st = parsec_asymmetric_decrypt(client, rctx->key->provider_id, rctx->key->name, &alg, in, inlen,
                                   rctx->label, rctx->label_len, &plain, &plain_len);
    if (st != PARSEC_SUCCESS) {
        PPROV_raise_status(rctx->provctx, st, "decryption", rctx->key->name);
        goto done;
    }
    if (plain_len > outsize) {
        PPROV_raise(rctx->provctx, PPROV_R_BUFFER_TOO_SMALL,
                    "plaintext of %zu bytes does not fit the %zu-byte buffer", plain_len, outsize);
        goto done;
    }
    if (plain_len > 0)
        memcpy(out, plain, plain_len);
    *outlen = plain_len;
    ret = 1;

done:
    if (plain != NULL)
        parsec_clear_free(plain, plain_len);
    return ret;
}

/* ---- parameters ----------------------------------------------------------- */

static int pprov_rsa_set_pad_mode(pprov_rsa_cipher_ctx *rctx, const OSSL_PARAM *p)
{
    int mode = 0;
    size_t i;

    if (p->data_type == OSSL_PARAM_UTF8_STRING) {
        for (i = 0; i < sizeof(pprov_rsa_pad_names) / sizeof(pprov_rsa_pad_names[0]); i++) {
            if (p->data != NULL && OPENSSL_strcasecmp(p->data, pprov_rsa_pad_names[i].name) == 0) {
                mode = pprov_rsa_pad_names[i].mode;
                break;
            }
        }
        if (mode == 0) {
            PPROV_raise(rctx->provctx, PPROV_R_INVALID_ARGUMENT,
                        "unknown RSA padding mode '%s' (pkcs1 or oaep)",
                        p->data != NULL ? (const char *)p->data : "");
            return 0;
        }
    } else if (!OSSL_PARAM_get_int(p, &mode)) {
        PPROV_raise(rctx->provctx, PPROV_R_INVALID_ARGUMENT, "pad-mode must be an int or a string");
        return 0;
    }
    switch (mode) {
    case RSA_PKCS1_PADDING:
    case RSA_PKCS1_OAEP_PADDING:
    case RSA_PKCS1_WITH_TLS_PADDING:
    case RSA_NO_PADDING: /* refused with a clear message when used */
        rctx->pad_mode = mode;
        return 1;
    default:
        PPROV_raise(rctx->provctx, PPROV_R_UNSUPPORTED,
                    "RSA padding mode %d is not supported for encryption/decryption", mode);
        return 0;
    }
}

static int pprov_rsa_set_digest(pprov_rsa_cipher_ctx *rctx, const OSSL_PARAM params[],
                                const char *key, const char *props_key, uint8_t *out)
{
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, key), *pp;
    const char *name = NULL, *props = NULL;
    uint8_t hash;

    if (p == NULL)
        return 1;
    if (!OSSL_PARAM_get_utf8_string_ptr(p, &name)) {
        PPROV_raise(rctx->provctx, PPROV_R_INVALID_ARGUMENT, "%s must be a digest name", key);
        return 0;
    }
    pp = OSSL_PARAM_locate_const(params, props_key);
    if (pp != NULL && !OSSL_PARAM_get_utf8_string_ptr(pp, &props))
        return 0;
    hash = pprov_rsa_hash_from_name(rctx->provctx, name, props);
    if (hash == PARSEC_HASH_NONE) {
        PPROV_raise(rctx->provctx, PPROV_R_UNSUPPORTED,
                    "digest '%s' cannot be used with RSA-OAEP here (SHA-1, SHA-224, SHA-256, "
                    "SHA-384, SHA-512)",
                    name);
        return 0;
    }
    *out = hash;
    return 1;
}

static int pprov_rsa_cipher_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    pprov_rsa_cipher_ctx *rctx = vctx;
    const OSSL_PARAM *p;
    void *label = NULL;
    size_t label_len = 0;

    if (rctx == NULL)
        return 0;
    if (params == NULL)
        return 1;

    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
    if (p != NULL && !pprov_rsa_set_pad_mode(rctx, p))
        return 0;
    if (!pprov_rsa_set_digest(rctx, params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST,
                              OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS, &rctx->oaep_hash))
        return 0;
    if (!pprov_rsa_set_digest(rctx, params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST,
                              OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST_PROPS, &rctx->mgf1_hash))
        return 0;

    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL);
    if (p != NULL) {
        if (!OSSL_PARAM_get_octet_string(p, &label, 0, &label_len)) {
            PPROV_raise(rctx->provctx, PPROV_R_INVALID_ARGUMENT, "oaep-label must be octets");
            return 0;
        }
        OPENSSL_free(rctx->label);
        if (label_len == 0) {
            OPENSSL_free(label);
            label = NULL;
        }
        rctx->label = label;
        rctx->label_len = label_len;
    }

    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION);
    if (p != NULL && !OSSL_PARAM_get_uint(p, &rctx->client_version))
        return 0;
    p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION);
    if (p != NULL && !OSSL_PARAM_get_uint(p, &rctx->alt_version))
        return 0;
    return 1;
}

static int pprov_rsa_cipher_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    pprov_rsa_cipher_ctx *rctx = vctx;
    OSSL_PARAM *p;
    const char *name = NULL;
    size_t i;

    if (rctx == NULL)
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
    if (p != NULL) {
        if (p->data_type == OSSL_PARAM_UTF8_STRING) {
            for (i = 0; i < sizeof(pprov_rsa_pad_names) / sizeof(pprov_rsa_pad_names[0]); i++) {
                if (pprov_rsa_pad_names[i].mode == rctx->pad_mode) {
                    name = pprov_rsa_pad_names[i].name;
                    break;
                }
            }
            /* TLS padding has no name: OpenSSL only ever passes it as an int. */
            if (name == NULL || !OSSL_PARAM_set_utf8_string(p, name))
                return 0;
        } else if (!OSSL_PARAM_set_int(p, rctx->pad_mode)) {
            return 0;
        }
    }
    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST);
    if (p != NULL &&
        !OSSL_PARAM_set_utf8_string(p, pprov_rsa_hash_ossl_name(pprov_rsa_effective_oaep(rctx))))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST);
    if (p != NULL &&
        !OSSL_PARAM_set_utf8_string(p, pprov_rsa_hash_ossl_name(pprov_rsa_effective_mgf1(rctx))))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL);
    if (p != NULL && !OSSL_PARAM_set_octet_ptr(p, rctx->label, rctx->label_len))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION);
    if (p != NULL && !OSSL_PARAM_set_uint(p, rctx->client_version))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION);
    if (p != NULL && !OSSL_PARAM_set_uint(p, rctx->alt_version))
        return 0;
    return 1;
}

static const OSSL_PARAM pprov_rsa_cipher_gettable[] = {
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_DEFN(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, OSSL_PARAM_OCTET_PTR, NULL, 0),
    OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, NULL),
    OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, NULL),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *pprov_rsa_cipher_gettable_ctx_params(void *vctx, void *provctx)
{
    return pprov_rsa_cipher_gettable;
}

static const OSSL_PARAM pprov_rsa_cipher_settable[] = {
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST_PROPS, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, NULL, 0),
    OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, NULL),
    OSSL_PARAM_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, NULL),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *pprov_rsa_cipher_settable_ctx_params(void *vctx, void *provctx)
{
    return pprov_rsa_cipher_settable;
}

const OSSL_DISPATCH pprov_rsa_asym_cipher_functions[] = {
    {OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))pprov_rsa_cipher_newctx},
    {OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))pprov_rsa_cipher_freectx},
    {OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))pprov_rsa_cipher_dupctx},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, (void (*)(void))pprov_rsa_cipher_encrypt_init},
    {OSSL_FUNC_ASYM_CIPHER_ENCRYPT, (void (*)(void))pprov_rsa_cipher_encrypt},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))pprov_rsa_cipher_decrypt_init},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))pprov_rsa_cipher_decrypt},
    {OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, (void (*)(void))pprov_rsa_cipher_get_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS,
     (void (*)(void))pprov_rsa_cipher_gettable_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, (void (*)(void))pprov_rsa_cipher_set_ctx_params},
    {OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS,
     (void (*)(void))pprov_rsa_cipher_settable_ctx_params},
    {0, NULL},
};
