/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls_premaster_check KEY PUB.pem
 *
 * Drives the provider's RSA decryption the way libssl's TLS 1.2 RSA key
 * exchange does (RSA_PKCS1_WITH_TLS_PADDING + tls-client-version) and checks
 * OpenSSL's implicit-rejection contract: a good premaster comes back intact;
 * a wrong version, a wrong length or an undecryptable ciphertext still
 * "succeed" with 48 random bytes, so a peer learns nothing before Finished.
 * KEY is a store URI or a key-reference file; PUB.pem its public key.
 * Runs with OPENSSL_CONF activating the parsec provider.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/prov_ssl.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/store.h>

#include "tls_check_util.h"

#define PMS_LEN SSL_MAX_MASTER_KEY_LENGTH

/* Plain RSA PKCS#1 v1.5 encryption with the public key, in software. */
static int pub_encrypt(EVP_PKEY *pub, const unsigned char *in, size_t inlen, unsigned char *out,
                       size_t *outlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, "provider=default");
    int ret = ctx != NULL && EVP_PKEY_encrypt_init(ctx) > 0 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
              EVP_PKEY_encrypt(ctx, out, outlen, in, inlen) > 0;

    EVP_PKEY_CTX_free(ctx);
    return ret;
}

/*
 * The server side as ssl/statem/statem_srvr.c does it. Returns the
 * EVP_PKEY_decrypt() result; *outlen is the length it reported.
 */
static int tls_decrypt(EVP_PKEY *priv, unsigned int client_version, unsigned int negotiated,
                       const unsigned char *ct, size_t ctlen, unsigned char *out, size_t *outlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    OSSL_PARAM params[3], *p = params;
    int ret = -1;

    *outlen = PMS_LEN;
    if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_WITH_TLS_PADDING) <= 0)
        goto done;
    if (client_version != 0)
        *p++ =
            OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_CLIENT_VERSION, &client_version);
    if (negotiated != 0)
        *p++ =
            OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_TLS_NEGOTIATED_VERSION, &negotiated);
    *p = OSSL_PARAM_construct_end();
    if (!EVP_PKEY_CTX_set_params(ctx, params))
        goto done;
    ret = EVP_PKEY_decrypt(ctx, out, outlen, ct, ctlen);
done:
    EVP_PKEY_CTX_free(ctx);
    return ret;
}

int main(int argc, char **argv)
{
    EVP_PKEY *priv = NULL, *pub = NULL;
    FILE *f;
    unsigned char pms[PMS_LEN], ct[1024], out1[PMS_LEN], out2[PMS_LEN];
    size_t ctlen, outlen1, outlen2;
    EVP_PKEY_CTX *ctx;
    int r1, r2;

    if (argc != 3) {
        fprintf(stderr, "usage: %s KEY PUB.pem\n", argv[0]);
        return 2;
    }
    priv = tls_check_load_private(argv[1]);
    f = fopen(argv[2], "r");
    if (f != NULL) {
        pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        fclose(f);
    }
    report(priv != NULL, "load the private key from the store");
    report(pub != NULL, "load the public key");
    if (priv == NULL || pub == NULL)
        goto done;

    /* Size query: always the premaster length in TLS mode. */
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    outlen1 = 0;
    report(ctx != NULL && EVP_PKEY_decrypt_init(ctx) > 0 &&
               EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_WITH_TLS_PADDING) > 0 &&
               EVP_PKEY_decrypt(ctx, NULL, &outlen1, ct, 256) > 0 && outlen1 == PMS_LEN,
           "size query answers 48 bytes");
    EVP_PKEY_CTX_free(ctx);

    /* A proper TLS 1.2 premaster. */
    RAND_bytes(pms, sizeof(pms));
    pms[0] = 0x03;
    pms[1] = 0x03;
    ctlen = sizeof(ct);
    report(pub_encrypt(pub, pms, sizeof(pms), ct, &ctlen),
           "encrypt a TLS 1.2 premaster (software)");
    r1 = tls_decrypt(priv, 0x0303, 0, ct, ctlen, out1, &outlen1);
    report(r1 > 0 && outlen1 == PMS_LEN && memcmp(out1, pms, PMS_LEN) == 0,
           "a good premaster decrypts to itself");

    /* Wrong version: success, 48 bytes, but not the premaster. */
    pms[1] = 0x01;
    ctlen = sizeof(ct);
    pub_encrypt(pub, pms, sizeof(pms), ct, &ctlen);
    r1 = tls_decrypt(priv, 0x0303, 0, ct, ctlen, out1, &outlen1);
    report(r1 > 0 && outlen1 == PMS_LEN && memcmp(out1, pms, PMS_LEN) != 0,
           "a wrong version gives a random premaster, not an error");
    /* ... unless the rollback-bug workaround names that version. */
    r1 = tls_decrypt(priv, 0x0303, 0x0301, ct, ctlen, out1, &outlen1);
    report(r1 > 0 && outlen1 == PMS_LEN && memcmp(out1, pms, PMS_LEN) == 0,
           "the negotiated version is accepted as the rollback-bug workaround");

    /* Wrong length. */
    pms[1] = 0x03;
    ctlen = sizeof(ct);
    pub_encrypt(pub, pms, PMS_LEN - 1, ct, &ctlen);
    r1 = tls_decrypt(priv, 0x0303, 0, ct, ctlen, out1, &outlen1);
    r2 = tls_decrypt(priv, 0x0303, 0, ct, ctlen, out2, &outlen2);
    report(r1 > 0 && r2 > 0 && outlen1 == PMS_LEN && outlen2 == PMS_LEN &&
               memcmp(out1, out2, PMS_LEN) != 0 && memcmp(out1, pms, PMS_LEN - 1) != 0,
           "a 47-byte plaintext gives a fresh random premaster each time");

    /* Not a valid PKCS#1 v1.5 block at all. */
    RAND_bytes(ct, (int)ctlen);
    ct[0] &= 0x3f; /* keep it below the modulus */
    r1 = tls_decrypt(priv, 0x0303, 0, ct, ctlen, out1, &outlen1);
    r2 = tls_decrypt(priv, 0x0303, 0, ct, ctlen, out2, &outlen2);
    report(r1 > 0 && r2 > 0 && outlen1 == PMS_LEN && outlen2 == PMS_LEN &&
               memcmp(out1, out2, PMS_LEN) != 0,
           "an undecryptable ciphertext gives a random premaster, not an error");

    /* Missing client version is a caller bug, reported as such. */
    r1 = tls_decrypt(priv, 0, 0, ct, ctlen, out1, &outlen1);
    report(r1 <= 0, "without tls-client-version the decryption is refused");

done:
    EVP_PKEY_free(priv);
    EVP_PKEY_free(pub);
    return tls_check_summary() == 0 && priv != NULL && pub != NULL ? 0 : 1;
}
