/* SPDX-License-Identifier: Apache-2.0 */
/*
 * psd_stress THREADS ROUNDS: many concurrent clients of one parsecd.
 *  1. every thread creates its own ECDSA P-256 key, then ROUNDS times pings,
 *     signs a fresh random hash, verifies the signature through the service
 *     and locally with OpenSSL (public key exported once), and lists its keys;
 *  2. all threads generate the same key name at once: exactly one wins,
 *     every other gets PsaErrorAlreadyExists;
 *  3. all keys are destroyed.
 * Identity: $PROBE_APP set -> direct authentication, else unix peer credentials.
 * Provider: $PROBE_PROVIDER (default 1).
 * Prints one line per failure; exits 0 only if every answer was right.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parsec_client.h"

static int g_rounds;
static pthread_barrier_t g_barrier;
static atomic_int g_failures;
static atomic_int g_race_wins;
static atomic_int g_race_exists;
static char g_race_name[64];

static void stress_fail(int t, const char *what, parsec_status st)
{
    fprintf(stderr, "thread %d: %s: %s (%u)\n", t, what, parsec_status_name(st), (unsigned int)st);
    atomic_fetch_add(&g_failures, 1);
}

static parsec_client *stress_client(void)
{
    parsec_client *c = parsec_client_new();
    const char *app = getenv("PROBE_APP");

    if (c == NULL)
        return NULL;
    if (app != NULL && app[0] != '\0')
        parsec_client_set_auth(c, PARSEC_AUTH_DIRECT, app);
    else
        parsec_client_set_auth(c, PARSEC_AUTH_UNIX_PEER, NULL);
    parsec_client_set_provider(c, getenv("PROBE_PROVIDER") != NULL
                                      ? (uint8_t)atoi(getenv("PROBE_PROVIDER"))
                                      : PARSEC_PROVIDER_MBED_CRYPTO);
    parsec_client_set_timeout(c, 30000);
    return c;
}

/* P-256 public key from the 65-byte point the service exports. */
static EVP_PKEY *stress_pubkey(const uint8_t *point, size_t len)
{
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, len);
    params[2] = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* r||s verified by OpenSSL, independently of the service. */
static int stress_local_verify(EVP_PKEY *pub, const uint8_t *hash, const uint8_t *sig,
                               size_t siglen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int derlen, ok = 0;

    if (siglen != 64 || es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return 0;
    }
    derlen = i2d_ECDSA_SIG(es, &der);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    ok = derlen > 0 && ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
         EVP_PKEY_verify(ctx, der, (size_t)derlen, hash, 32) == 1;
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return ok;
}

static void *stress_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    parsec_key_attributes attrs = {
        .type = PARSEC_KEY_TYPE_ECC_KEY_PAIR,
        .ecc_family = PARSEC_ECC_FAMILY_SECP_R1,
        .bits = 256,
        .usage = PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH,
        .alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256},
    };
    parsec_alg alg = attrs.alg;
    parsec_client *c = stress_client();
    EVP_PKEY *pub = NULL;
    uint8_t *point = NULL;
    size_t pointlen = 0;
    char name[64];
    parsec_status st;

    snprintf(name, sizeof(name), "stress-%ld-%d", (long)getpid(), t);
    if (c == NULL) {
        stress_fail(t, "client", PARSEC_CLIENT_ERROR_MEMORY);
        goto race;
    }
    st = parsec_generate_key(c, 0, name, &attrs);
    if (st != PARSEC_SUCCESS) {
        stress_fail(t, "generate", st);
        goto race;
    }
    st = parsec_export_public_key(c, 0, name, &point, &pointlen);
    pub = st == PARSEC_SUCCESS ? stress_pubkey(point, pointlen) : NULL;
    if (pub == NULL) {
        stress_fail(t, "export public key", st);
        goto race;
    }
    for (int i = 0; i < g_rounds; i++) {
        uint8_t hash[32], *sig = NULL, maj = 0, min = 0;
        parsec_key_info *keys = NULL;
        size_t siglen = 0, nkeys = 0;
        int mine = 0;

        RAND_bytes(hash, sizeof(hash));
        st = parsec_ping(c, &maj, &min);
        if (st != PARSEC_SUCCESS || maj != 1 || min != 0)
            stress_fail(t, "ping", st);
        st = parsec_sign_hash(c, 0, name, &alg, hash, sizeof(hash), &sig, &siglen);
        if (st != PARSEC_SUCCESS) {
            stress_fail(t, "sign", st);
            continue;
        }
        if (!stress_local_verify(pub, hash, sig, siglen))
            stress_fail(t, "OpenSSL rejects the signature", PARSEC_PSA_ERROR_INVALID_SIGNATURE);
        st = parsec_verify_hash(c, 0, name, &alg, hash, sizeof(hash), sig, siglen);
        if (st != PARSEC_SUCCESS)
            stress_fail(t, "verify", st);
        hash[0] ^= 1;
        st = parsec_verify_hash(c, 0, name, &alg, hash, sizeof(hash), sig, siglen);
        if (st != PARSEC_PSA_ERROR_INVALID_SIGNATURE)
            stress_fail(t, "verify of another hash did not fail", st);
        parsec_free(sig);
        st = parsec_list_keys(c, &keys, &nkeys);
        for (size_t k = 0; st == PARSEC_SUCCESS && k < nkeys; k++)
            mine |= strcmp(keys[k].name, name) == 0;
        if (st != PARSEC_SUCCESS || !mine)
            stress_fail(t, "own key missing from ListKeys", st);
        parsec_key_info_free(keys, nkeys);
    }
race:
    /* Everyone at once on one name: the key store must let exactly one through. */
    pthread_barrier_wait(&g_barrier);
    if (c != NULL) {
        st = parsec_generate_key(c, 0, g_race_name, &attrs);
        if (st == PARSEC_SUCCESS)
            atomic_fetch_add(&g_race_wins, 1);
        else if (st == PARSEC_PSA_ERROR_ALREADY_EXISTS)
            atomic_fetch_add(&g_race_exists, 1);
        else
            stress_fail(t, "racing generate", st);
        st = parsec_destroy_key(c, 0, name);
        if (st != PARSEC_SUCCESS)
            stress_fail(t, "destroy", st);
    }
    EVP_PKEY_free(pub);
    parsec_free(point);
    parsec_client_free(c);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 32;
    pthread_t *tids;
    parsec_client *c;
    parsec_status st;

    g_rounds = argc > 2 ? atoi(argv[2]) : 20;
    if (threads < 2 || threads > 1024 || g_rounds < 1) {
        fprintf(stderr, "usage: psd_stress THREADS(2..1024) ROUNDS\n");
        return 2;
    }
    snprintf(g_race_name, sizeof(g_race_name), "race-%ld", (long)getpid());
    tids = calloc((size_t)threads, sizeof(*tids));
    pthread_barrier_init(&g_barrier, NULL, (unsigned int)threads);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&tids[i], NULL, stress_thread, (void *)(intptr_t)i) != 0) {
            fprintf(stderr, "cannot start thread %d\n", i);
            return 2;
        }
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    if (atomic_load(&g_race_wins) != 1 || atomic_load(&g_race_exists) != threads - 1) {
        fprintf(stderr, "racing generate: %d won, %d got AlreadyExists (want 1 and %d)\n",
                atomic_load(&g_race_wins), atomic_load(&g_race_exists), threads - 1);
        atomic_fetch_add(&g_failures, 1);
    }
    c = stress_client();
    st = c != NULL ? parsec_destroy_key(c, 0, g_race_name) : PARSEC_CLIENT_ERROR_MEMORY;
    if (st != PARSEC_SUCCESS) {
        fprintf(stderr, "destroying the raced key: %s\n", parsec_status_name(st));
        atomic_fetch_add(&g_failures, 1);
    }
    parsec_client_free(c);
    pthread_barrier_destroy(&g_barrier);
    free(tids);
    printf("%d threads x %d rounds: %d failures\n", threads, g_rounds, atomic_load(&g_failures));
    return atomic_load(&g_failures) == 0 ? 0 : 1;
}
