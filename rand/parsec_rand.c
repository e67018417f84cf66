/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RAND "PARSEC-RAND": random bytes from the Parsec service
 * (PsaGenerateRandom), i.e. from the TPM's or the token's RNG or the
 * service's own DRBG, whichever backend serves the client.
 *
 * Two uses (docs/provider.md):
 *  - the seed source of OpenSSL's DRBGs (openssl.cnf [random] seed =
 *    PARSEC-RAND, seed_properties = provider=parsec): get_seed() feeds the
 *    primary DRBG, which keeps its own AES-256 CTR-DRBG on top;
 *  - the generator itself when parsec is the only provider (`openssl rand
 *    -provider parsec`): it is also offered as "CTR-DRBG" with
 *    provider=parsec so that OpenSSL's default DRBG names find it.
 *
 * Requests: OpenSSL cuts generate() calls to max_request; each service
 * request is at most PPROV_RAND_CHUNK bytes and halves (down to
 * PPROV_RAND_MIN_CHUNK) when the service answers ResponseTooLarge, so a
 * service with a small buffer_size_limit is still served. Any failure is an
 * error with the service's status: no output is ever returned in its place.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "pprov.h"

#define PPROV_RAND_STRENGTH 256
#define PPROV_RAND_MAX_REQUEST (64u * 1024u)
#define PPROV_RAND_CHUNK (64u * 1024u)
#define PPROV_RAND_MIN_CHUNK 32u

typedef struct pprov_rand_ctx {
    pprov_ctx *provctx;
    int state;             /* EVP_RAND_STATE_* */
    atomic_size_t chunk;   /* largest request the service took (halved on refusal) */
    pthread_mutex_t *lock; /* EVP_RAND_enable_locking */
} pprov_rand_ctx;

static OSSL_FUNC_rand_newctx_fn pprov_rand_newctx;
static OSSL_FUNC_rand_freectx_fn pprov_rand_freectx;
static OSSL_FUNC_rand_instantiate_fn pprov_rand_instantiate;
static OSSL_FUNC_rand_uninstantiate_fn pprov_rand_uninstantiate;
static OSSL_FUNC_rand_generate_fn pprov_rand_generate;
static OSSL_FUNC_rand_reseed_fn pprov_rand_reseed;
static OSSL_FUNC_rand_get_seed_fn pprov_rand_get_seed;
static OSSL_FUNC_rand_clear_seed_fn pprov_rand_clear_seed;
static OSSL_FUNC_rand_enable_locking_fn pprov_rand_enable_locking;
static OSSL_FUNC_rand_lock_fn pprov_rand_lock;
static OSSL_FUNC_rand_unlock_fn pprov_rand_unlock;
static OSSL_FUNC_rand_gettable_ctx_params_fn pprov_rand_gettable_ctx_params;
static OSSL_FUNC_rand_get_ctx_params_fn pprov_rand_get_ctx_params;
static OSSL_FUNC_rand_verify_zeroization_fn pprov_rand_verify_zeroization;

static void *pprov_rand_newctx(void *provctx, void *parent, const OSSL_DISPATCH *parent_dispatch)
{
    pprov_rand_ctx *r = OPENSSL_zalloc(sizeof(*r));

    /* A parent adds nothing: the service's generator is the source. */
    if (r == NULL) {
        PPROV_raise(provctx, PPROV_R_MALLOC_FAILURE, "out of memory");
        return NULL;
    }
    r->provctx = provctx;
    r->state = EVP_RAND_STATE_UNINITIALISED;
    atomic_init(&r->chunk, PPROV_RAND_CHUNK);
    return r;
}

static void pprov_rand_freectx(void *vctx)
{
    pprov_rand_ctx *r = vctx;

    if (r == NULL)
        return;
    if (r->lock != NULL) {
        pthread_mutex_destroy(r->lock);
        OPENSSL_free(r->lock);
    }
    OPENSSL_free(r);
}

static int pprov_rand_instantiate(void *vctx, unsigned int strength, int prediction_resistance,
                                  const unsigned char *pstr, size_t pstr_len,
                                  const OSSL_PARAM params[])
{
    pprov_rand_ctx *r = vctx;

    if (strength > PPROV_RAND_STRENGTH) {
        PPROV_raise(r->provctx, PPROV_R_INVALID_ARGUMENT,
                    "%u bits of security requested; PARSEC-RAND offers %u", strength,
                    PPROV_RAND_STRENGTH);
        return 0;
    }
    /* Nothing to seed: reaching the service is checked by the first request. */
    r->state = EVP_RAND_STATE_READY;
    return 1;
}

static int pprov_rand_uninstantiate(void *vctx)
{
    pprov_rand_ctx *r = vctx;

    r->state = EVP_RAND_STATE_UNINITIALISED;
    return 1;
}

/* Fill out with len bytes from the service, or fail with everything written cleansed. */
static int pprov_rand_fill(pprov_rand_ctx *r, unsigned char *out, size_t len)
{
    parsec_client *c = pprov_client(r->provctx);
    size_t done = 0;

    if (c == NULL)
        return 0; /* pprov_client raised why */
    while (done < len) {
        size_t chunk = atomic_load(&r->chunk), n = len - done < chunk ? len - done : chunk;
        uint8_t *bytes = NULL;
        parsec_status st = parsec_generate_random(c, pprov_default_backend(r->provctx), n, &bytes);

        if (st == PARSEC_RESPONSE_TOO_LARGE && n > PPROV_RAND_MIN_CHUNK) {
            /* The service's buffer_size_limit is below our request: ask for less. */
            atomic_store(&r->chunk, n / 2 > PPROV_RAND_MIN_CHUNK ? n / 2 : PPROV_RAND_MIN_CHUNK);
            continue;
        }
        if (st != PARSEC_SUCCESS) {
            PPROV_raise(r->provctx, pprov_reason_from_status(st),
                        "%zu random bytes from the Parsec service at %s: %s (%s)", n,
                        pprov_endpoint(r->provctx), parsec_status_message(st),
                        parsec_status_name(st));
            OPENSSL_cleanse(out, len);
            return 0;
        }
        memcpy(out + done, bytes, n);
        parsec_clear_free(bytes, n);
        done += n;
    }
    return 1;
}

static int pprov_rand_generate(void *vctx, unsigned char *out, size_t outlen, unsigned int strength,
                               int prediction_resistance, const unsigned char *addin,
                               size_t addin_len)
{
    pprov_rand_ctx *r = vctx;

    /* Every request goes to the service's RNG: prediction resistance holds. */
    if (r->state != EVP_RAND_STATE_READY) {
        PPROV_raise(r->provctx, PPROV_R_OPERATION_FAILED, "PARSEC-RAND is not instantiated");
        return 0;
    }
    if (strength > PPROV_RAND_STRENGTH || outlen > PPROV_RAND_MAX_REQUEST) {
        PPROV_raise(r->provctx, PPROV_R_INVALID_ARGUMENT,
                    "request of %zu bytes at %u bits exceeds PARSEC-RAND's limits (%u bytes, "
                    "%u bits)",
                    outlen, strength, PPROV_RAND_MAX_REQUEST, PPROV_RAND_STRENGTH);
        return 0;
    }
    return pprov_rand_fill(r, out, outlen);
}

static int pprov_rand_reseed(void *vctx, int prediction_resistance, const unsigned char *ent,
                             size_t ent_len, const unsigned char *addin, size_t addin_len)
{
    /* Each request is fresh from the service: there is no state to reseed. */
    return 1;
}

/* Seed for a child DRBG: at least min_len bytes, one byte per bit of entropy asked for. */
static size_t pprov_rand_get_seed(void *vctx, unsigned char **pout, int entropy, size_t min_len,
                                  size_t max_len, int prediction_resistance,
                                  const unsigned char *adin, size_t adin_len)
{
    pprov_rand_ctx *r = vctx;
    size_t len = entropy > 0 ? ((size_t)entropy + 7) / 8 : 0;
    unsigned char *buf;

    if (len < min_len)
        len = min_len;
    if (len > max_len || len > PPROV_RAND_MAX_REQUEST) {
        PPROV_raise(r->provctx, PPROV_R_INVALID_ARGUMENT,
                    "seed of %zu bytes asked for, at most %zu allowed", len,
                    max_len < PPROV_RAND_MAX_REQUEST ? max_len : (size_t)PPROV_RAND_MAX_REQUEST);
        return 0;
    }
    buf = OPENSSL_secure_malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        PPROV_raise(r->provctx, PPROV_R_MALLOC_FAILURE, "out of memory");
        return 0;
    }
    if (!pprov_rand_fill(r, buf, len)) {
        OPENSSL_secure_clear_free(buf, len > 0 ? len : 1);
        return 0;
    }
    *pout = buf;
    return len;
}

static void pprov_rand_clear_seed(void *vctx, unsigned char *out, size_t outlen)
{
    OPENSSL_secure_clear_free(out, outlen > 0 ? outlen : 1);
}

static int pprov_rand_enable_locking(void *vctx)
{
    pprov_rand_ctx *r = vctx;

    if (r->lock != NULL)
        return 1;
    r->lock = OPENSSL_malloc(sizeof(*r->lock));
    if (r->lock == NULL || pthread_mutex_init(r->lock, NULL) != 0) {
        OPENSSL_free(r->lock);
        r->lock = NULL;
        PPROV_raise(r->provctx, PPROV_R_MALLOC_FAILURE, "cannot create a lock");
        return 0;
    }
    return 1;
}

static int pprov_rand_lock(void *vctx)
{
    pprov_rand_ctx *r = vctx;

    return r->lock == NULL || pthread_mutex_lock(r->lock) == 0;
}

static void pprov_rand_unlock(void *vctx)
{
    pprov_rand_ctx *r = vctx;

    if (r->lock != NULL)
        pthread_mutex_unlock(r->lock);
}

static const OSSL_PARAM *pprov_rand_gettable_ctx_params(void *vctx, void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
        OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
        OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL),
        OSSL_PARAM_END,
    };

    return gettable;
}

static int pprov_rand_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    pprov_rand_ctx *r = vctx;
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STATE);
    if (p != NULL && !OSSL_PARAM_set_int(p, r->state))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STRENGTH);
    if (p != NULL && !OSSL_PARAM_set_uint(p, PPROV_RAND_STRENGTH))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_MAX_REQUEST);
    if (p != NULL && !OSSL_PARAM_set_size_t(p, PPROV_RAND_MAX_REQUEST))
        return 0;
    return 1;
}

static int pprov_rand_verify_zeroization(void *vctx)
{
    /* No secret state is kept between requests. */
    return 1;
}

const OSSL_DISPATCH pprov_rand_functions[] = {
    {OSSL_FUNC_RAND_NEWCTX, (void (*)(void))pprov_rand_newctx},
    {OSSL_FUNC_RAND_FREECTX, (void (*)(void))pprov_rand_freectx},
    {OSSL_FUNC_RAND_INSTANTIATE, (void (*)(void))pprov_rand_instantiate},
    {OSSL_FUNC_RAND_UNINSTANTIATE, (void (*)(void))pprov_rand_uninstantiate},
    {OSSL_FUNC_RAND_GENERATE, (void (*)(void))pprov_rand_generate},
    {OSSL_FUNC_RAND_RESEED, (void (*)(void))pprov_rand_reseed},
    {OSSL_FUNC_RAND_GET_SEED, (void (*)(void))pprov_rand_get_seed},
    {OSSL_FUNC_RAND_CLEAR_SEED, (void (*)(void))pprov_rand_clear_seed},
    {OSSL_FUNC_RAND_ENABLE_LOCKING, (void (*)(void))pprov_rand_enable_locking},
    {OSSL_FUNC_RAND_LOCK, (void (*)(void))pprov_rand_lock},
    {OSSL_FUNC_RAND_UNLOCK, (void (*)(void))pprov_rand_unlock},
    {OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, (void (*)(void))pprov_rand_gettable_ctx_params},
    {OSSL_FUNC_RAND_GET_CTX_PARAMS, (void (*)(void))pprov_rand_get_ctx_params},
    {OSSL_FUNC_RAND_VERIFY_ZEROIZATION, (void (*)(void))pprov_rand_verify_zeroization},
    {0, NULL},
};
