/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls_dupctx_check RSA-KEY RSA-PUB.pem ECDH-KEY PEER.pem
 *
 * EVP_PKEY_CTX_dup() of the provider's RSA decryption and ECDH contexts
 * (OpenSSL duplicates contexts behind the caller's back, e.g. in CMS and
 * EVP_PKEY_derive users): the copy and the original must both work and give
 * the same results as software. RSA-KEY is an RsaPkcs1v15Crypt key, ECDH-KEY
 * an ECDH key (store URIs or key-reference files), PEER.pem a software EC
 * private key on the same curve. Runs with OPENSSL_CONF activating parsec.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/store.h>

#include "tls_check_util.h"

static EVP_PKEY *load_pem(const char *path, int private_key)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *pkey;

    if (f == NULL)
        return NULL;
    pkey = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
                       : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    return pkey;
}

static void check_rsa(EVP_PKEY *priv, EVP_PKEY *pub)
{
    unsigned char msg[32], ct[512], pt1[512], pt2[512];
    size_t ctlen = sizeof(ct), len1 = sizeof(pt1), len2 = sizeof(pt2);
    EVP_PKEY_CTX *enc = EVP_PKEY_CTX_new_from_pkey(NULL, pub, "provider=default");
    EVP_PKEY_CTX *dec = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL), *copy = NULL;

    RAND_bytes(msg, sizeof(msg));
    report(enc != NULL && EVP_PKEY_encrypt_init(enc) > 0 &&
               EVP_PKEY_encrypt(enc, ct, &ctlen, msg, sizeof(msg)) > 0,
           "software RSA PKCS#1 v1.5 encryption");
    report(dec != NULL && EVP_PKEY_decrypt_init(dec) > 0 &&
               EVP_PKEY_CTX_set_rsa_padding(dec, RSA_PKCS1_PADDING) > 0,
           "RSA decryption context in the provider");
    copy = dec != NULL ? EVP_PKEY_CTX_dup(dec) : NULL;
    report(copy != NULL, "EVP_PKEY_CTX_dup of the RSA decryption context");
    report(copy != NULL && EVP_PKEY_decrypt(copy, pt1, &len1, ct, ctlen) > 0 &&
               len1 == sizeof(msg) && memcmp(pt1, msg, sizeof(msg)) == 0,
           "the copy decrypts");
    EVP_PKEY_CTX_free(copy);
    report(dec != NULL && EVP_PKEY_decrypt(dec, pt2, &len2, ct, ctlen) > 0 && len2 == sizeof(msg) &&
               memcmp(pt2, msg, sizeof(msg)) == 0,
           "the original still decrypts after the copy is freed");
    EVP_PKEY_CTX_free(enc);
    EVP_PKEY_CTX_free(dec);
}

/* A key's public half as a plain default-provider key (through SubjectPublicKeyInfo). */
static EVP_PKEY *software_public(EVP_PKEY *key)
{
    unsigned char *spki = NULL;
    const unsigned char *p;
    EVP_PKEY *pub = NULL;
    int len = i2d_PUBKEY(key, &spki);

    p = spki;
    if (len > 0)
        pub = d2i_PUBKEY_ex(NULL, &p, len, NULL, "provider=default");
    OPENSSL_free(spki);
    return pub;
}

static void check_ecdh(EVP_PKEY *priv, EVP_PKEY *peer_priv)
{
    unsigned char hw1[80], hw2[80], sw[80];
    size_t hw1len = sizeof(hw1), hw2len = sizeof(hw2), swlen = sizeof(sw), qlen = 0;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL), *copy = NULL;
    EVP_PKEY_CTX *soft = EVP_PKEY_CTX_new_from_pkey(NULL, peer_priv, "provider=default");
    EVP_PKEY *our_pub = software_public(priv), *peer_pub = software_public(peer_priv);

    report(our_pub != NULL && peer_pub != NULL, "public halves of both keys");
    report(ctx != NULL && EVP_PKEY_derive_init(ctx) > 0 &&
               EVP_PKEY_derive_set_peer(ctx, peer_pub) > 0,
           "ECDH context in the provider with the peer set");
    copy = ctx != NULL ? EVP_PKEY_CTX_dup(ctx) : NULL;
    report(copy != NULL, "EVP_PKEY_CTX_dup of the ECDH context");
    report(copy != NULL && EVP_PKEY_derive(copy, NULL, &qlen) > 0 && qlen > 0 &&
               qlen <= sizeof(hw1),
           "size query on the copy");
    report(copy != NULL && EVP_PKEY_derive(copy, hw1, &hw1len) > 0, "the copy derives");
    EVP_PKEY_CTX_free(copy);
    report(ctx != NULL && EVP_PKEY_derive(ctx, hw2, &hw2len) > 0,
           "the original derives after the copy is freed");
    report(soft != NULL && our_pub != NULL && EVP_PKEY_derive_init(soft) > 0 &&
               EVP_PKEY_derive_set_peer(soft, our_pub) > 0 && EVP_PKEY_derive(soft, sw, &swlen) > 0,
           "software derive on the peer's side");
    report(hw1len == swlen && hw2len == swlen && memcmp(hw1, sw, swlen) == 0 &&
               memcmp(hw2, sw, swlen) == 0,
           "copy, original and software hold the same secret");
    /* Parsec hands out the raw secret only: an X9.63 KDF request is refused. */
    report(ctx != NULL && EVP_PKEY_CTX_set_ecdh_kdf_type(ctx, EVP_PKEY_ECDH_KDF_X9_63) <= 0,
           "an X9.63 KDF is refused");
    ERR_clear_error();
    report(ctx != NULL && EVP_PKEY_CTX_set_ecdh_kdf_type(ctx, EVP_PKEY_ECDH_KDF_NONE) > 0,
           "no KDF is accepted");
    EVP_PKEY_free(our_pub);
    EVP_PKEY_free(peer_pub);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_CTX_free(soft);
}

int main(int argc, char **argv)
{
    EVP_PKEY *rsa = NULL, *rsa_pub = NULL, *ec = NULL, *peer = NULL;

    if (argc != 5) {
        fprintf(stderr, "usage: %s RSA-KEY RSA-PUB.pem ECDH-KEY PEER.pem\n", argv[0]);
        return 2;
    }
    rsa = tls_check_load_private(argv[1]);
    rsa_pub = load_pem(argv[2], 0);
    ec = tls_check_load_private(argv[3]);
    peer = load_pem(argv[4], 1);
    report(rsa != NULL && rsa_pub != NULL && ec != NULL && peer != NULL, "load the keys");
    if (rsa != NULL && rsa_pub != NULL)
        check_rsa(rsa, rsa_pub);
    if (ec != NULL && peer != NULL)
        check_ecdh(ec, peer);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa_pub);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(peer);
    return tls_check_summary() == 0 ? 0 : 1;
}
