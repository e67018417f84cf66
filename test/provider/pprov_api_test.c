/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API paths of parsec.so that the openssl CLI does not reach on its own:
 * EVP_PKEY_eq against a certificate's key, X509_check_private_key,
 * SSL_CTX_use_PrivateKey with a certificate already set, EVP_PKEY_fromdata
 * by key name, refused private export, and signing in a forked child and in
 * the parent (a child must reconnect on its own; in the child several threads
 * race to be first).
 *
 *   pprov_api_test URI REFERENCE.pem CERT.pem OTHER_CERT.pem
 * The provider comes from OPENSSL_CONF (set up by the calling test).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <openssl/x509.h>

static int failures;

#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("#   ok: %s\n", what);                                                          \
        } else {                                                                                   \
            printf("#   FAILED: %s (%s:%d)\n", what, __FILE__, __LINE__);                          \
            ERR_print_errors_fp(stdout);                                                           \
            failures++;                                                                            \
        }                                                                                          \
        ERR_clear_error();                                                                         \
    } while (0)

static EVP_PKEY *load_by_uri(const char *uri)
{
    OSSL_STORE_CTX *store = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *pkey = NULL;

    if (store == NULL)
        return NULL;
    while (pkey == NULL && !OSSL_STORE_eof(store)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(store);

        if (info == NULL)
            break;
        if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            pkey = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(store);
    return pkey;
}

static EVP_PKEY *load_pem_key(const char *path)
{
    BIO *in = BIO_new_file(path, "r");
    EVP_PKEY *pkey = in != NULL ? PEM_read_bio_PrivateKey(in, NULL, NULL, NULL) : NULL;

    BIO_free(in);
    return pkey;
}

static X509 *load_cert(const char *path)
{
    BIO *in = BIO_new_file(path, "r");
    X509 *x = in != NULL ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;

    BIO_free(in);
    return x;
}

/* Sign msg with key (SHA-256); returns the pad mode used for RSA (0 otherwise). */
static int sign(EVP_PKEY *key, const unsigned char *msg, size_t msglen, unsigned char *sig,
                size_t *siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int pad = 0, ok;

    ok = md != NULL && EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, key, NULL) == 1;
    if (ok && EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_CTX_get_rsa_padding(pctx, &pad) <= 0)
        ok = 0;
    ok = ok && EVP_DigestSign(md, sig, siglen, msg, msglen) == 1;
    EVP_MD_CTX_free(md);
    return ok ? (pad != 0 ? pad : -1) : 0;
}

/* Set the signature's digest with fetch properties: 1 if the provider accepts them. */
static int set_digest_props(EVP_PKEY *key, const char *props)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    OSSL_PARAM params[3];
    int ok;

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, "SHA384", 0);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, (char *)props, 0);
    params[2] = OSSL_PARAM_construct_end();
    ok = md != NULL && EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, key, NULL) == 1 &&
         EVP_PKEY_CTX_set_params(pctx, params) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* Verify with a software public key (the certificate's), in the default provider. */
static int verify(EVP_PKEY *pub, int pad, const unsigned char *msg, size_t msglen,
                  const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok;

    ok = md != NULL &&
         EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, "provider=default", pub, NULL) == 1;
    if (ok && pad > 0) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, pad) > 0 &&
             (pad != RSA_PKCS1_PSS_PADDING ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0);
    }
    ok = ok && EVP_DigestVerify(md, sig, siglen, msg, msglen) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

struct signer {
    EVP_PKEY *key;
    const unsigned char *msg;
    size_t msglen;
    unsigned char sig[1024];
    size_t siglen;
    int pad;
};

static void *sign_thread(void *arg)
{
    struct signer *s = arg;

    s->siglen = sizeof(s->sig);
    s->pad = sign(s->key, s->msg, s->msglen, s->sig, &s->siglen);
    return NULL;
}

static EVP_PKEY *from_key_name(EVP_PKEY *like, const char *name)
{
    EVP_PKEY_CTX *ctx =
        EVP_PKEY_CTX_new_from_name(NULL, EVP_PKEY_get0_type_name(like), "provider=parsec");
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string("parsec_provider_key_name", (char *)name, 0),
        OSSL_PARAM_END,
    };

    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

int main(int argc, char **argv)
{
    static const unsigned char msg[] = "signed in a parent and in a forked child";
    unsigned char sig[1024], childsig[1024];
    size_t siglen = sizeof(sig), childlen = 0;
    EVP_PKEY *k_uri, *k_pem, *k_named, *certkey, *otherkey;
    X509 *cert, *other;
    SSL_CTX *sslctx;
    OSSL_PARAM *exported = NULL;
    int pad, pipefd[2], status = 0;
    pid_t pid;

    if (argc != 5) {
        fprintf(stderr, "usage: %s URI REFERENCE.pem CERT.pem OTHER_CERT.pem\n", argv[0]);
        return 2;
    }
    k_uri = load_by_uri(argv[1]);
    CHECK(k_uri != NULL, "key loads from its parsec: URI (OSSL_STORE)");
    k_pem = load_pem_key(argv[2]);
    CHECK(k_pem != NULL, "key loads from its reference file (PEM_read_bio_PrivateKey)");
    cert = load_cert(argv[3]);
    other = load_cert(argv[4]);
    if (k_uri == NULL || k_pem == NULL || cert == NULL || other == NULL) {
        printf("# cannot continue without keys and certificates\n");
        return 1;
    }
    certkey = X509_get0_pubkey(cert);
    otherkey = X509_get0_pubkey(other);

    CHECK(EVP_PKEY_get_bits(k_uri) > 0 && EVP_PKEY_get_security_bits(k_uri) > 0 &&
              EVP_PKEY_get_size(k_uri) > 0,
          "bits, security bits and size are known");
    CHECK(EVP_PKEY_eq(k_uri, k_pem) == 1, "URI and reference file give the same key");
    CHECK(EVP_PKEY_eq(certkey, k_uri) == 1, "EVP_PKEY_eq(certificate key, parsec key) == 1");
    CHECK(EVP_PKEY_eq(k_uri, certkey) == 1, "EVP_PKEY_eq(parsec key, certificate key) == 1");
    CHECK(EVP_PKEY_eq(otherkey, k_uri) != 1, "another certificate's key does not match");
    CHECK(X509_check_private_key(cert, k_uri) == 1,
          "X509_check_private_key with the matching certificate");
    CHECK(X509_check_private_key(other, k_uri) != 1,
          "X509_check_private_key rejects another certificate");

    CHECK(EVP_PKEY_todata(k_uri, EVP_PKEY_KEYPAIR, &exported) != 1,
          "the private key cannot be exported (EVP_PKEY_todata KEYPAIR)");
    OSSL_PARAM_free(exported);
    exported = NULL;
    CHECK(EVP_PKEY_todata(k_uri, EVP_PKEY_PUBLIC_KEY, &exported) == 1,
          "the public key can be exported");
    OSSL_PARAM_free(exported);

    {
        const char *name = strncmp(argv[1], "parsec:", 7) == 0 ? argv[1] + 7 : argv[1];

        k_named = from_key_name(k_uri, name);
        CHECK(k_named != NULL && EVP_PKEY_eq(k_named, k_uri) == 1,
              "EVP_PKEY_fromdata with parsec_provider_key_name selects the same key");
        EVP_PKEY_free(k_named);
    }

    sslctx = SSL_CTX_new(TLS_server_method());
    CHECK(sslctx != NULL && SSL_CTX_use_certificate(sslctx, cert) == 1, "SSL_CTX_use_certificate");
    CHECK(SSL_CTX_use_PrivateKey(sslctx, k_uri) == 1,
          "SSL_CTX_use_PrivateKey with the certificate set");
    CHECK(SSL_CTX_check_private_key(sslctx) == 1, "SSL_CTX_check_private_key");
    CHECK(SSL_CTX_use_PrivateKey_file(sslctx, argv[2], SSL_FILETYPE_PEM) == 1,
          "SSL_CTX_use_PrivateKey_file with the reference file");
    SSL_CTX_free(sslctx);
    sslctx = SSL_CTX_new(TLS_server_method());
    CHECK(sslctx != NULL && SSL_CTX_use_certificate(sslctx, other) == 1 &&
              SSL_CTX_use_PrivateKey(sslctx, k_uri) != 1,
          "SSL_CTX_use_PrivateKey refuses a key that does not match the certificate");
    SSL_CTX_free(sslctx);

    CHECK(set_digest_props(k_uri, "provider=default"),
          "the signature digest is fetched with the caller's properties (provider=default)");
    ERR_clear_error();
    CHECK(!set_digest_props(k_uri, "provider=no-such-provider"),
          "properties no provider matches are refused, not ignored");
    ERR_clear_error();

    /* Sign in the parent first, so the connection state exists before fork(). */
    pad = sign(k_uri, msg, sizeof(msg), sig, &siglen);
    CHECK(pad != 0 && verify(certkey, pad, msg, sizeof(msg), sig, siglen),
          "parent signs before fork; the certificate key verifies");

    if (pipe(pipefd) != 0)
        return 1;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        /* First use of the service in this process: four threads at once. */
        struct signer signers[4];
        pthread_t threads[4];
        int t;

        close(pipefd[0]);
        for (t = 0; t < 4; t++) {
            signers[t].key = k_pem;
            signers[t].msg = msg;
            signers[t].msglen = sizeof(msg);
            if (pthread_create(&threads[t], NULL, sign_thread, &signers[t]) != 0)
                _exit(5);
        }
        for (t = 0; t < 4; t++)
            pthread_join(threads[t], NULL);
        for (t = 0; t < 4; t++) {
            if (signers[t].pad == 0) {
                ERR_print_errors_fp(stdout);
                _exit(3);
            }
            if (!verify(certkey, signers[t].pad, msg, sizeof(msg), signers[t].sig,
                        signers[t].siglen))
                _exit(6);
        }
        if (write(pipefd[1], signers[0].sig, signers[0].siglen) != (ssize_t)signers[0].siglen)
            _exit(4);
        _exit(0);
    }
    close(pipefd[1]);
    {
        ssize_t n;

        while ((n = read(pipefd[0], childsig + childlen, sizeof(childsig) - childlen)) > 0)
            childlen += (size_t)n;
    }
    close(pipefd[0]);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && childlen > 0,
          "a forked child signs from four threads at once, each signature valid");
    CHECK(verify(certkey, pad, msg, sizeof(msg), childsig, childlen),
          "the child's signature verifies with the certificate key");
    siglen = sizeof(sig);
    CHECK(sign(k_uri, msg, sizeof(msg), sig, &siglen) != 0 &&
              verify(certkey, pad, msg, sizeof(msg), sig, siglen),
          "the parent still signs after the fork");

    EVP_PKEY_free(k_uri);
    EVP_PKEY_free(k_pem);
    X509_free(cert);
    X509_free(other);
    printf("# %d failure(s)\n", failures);
    return failures == 0 ? 0 : 1;
}
