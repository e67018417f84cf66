/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tls_handshake_bench KEY CERT CAFILE SECONDS [tls1_2|tls1_3]
 *
 * New-session TLS handshakes in one process over a BIO pair: a server
 * SSL_CTX with KEY (a store URI, a key-reference file or a plain PEM key)
 * and CERT, a client verifying against CAFILE, no session reuse. Reports the
 * handshakes done in SECONDS, the rate of whole handshakes (both sides in
 * this process) and the server side alone (time spent in the server's
 * SSL_do_handshake: its signature, key exchange and record work), which is
 * what a TLS server's capacity per thread depends on. One line:
 *   handshakes=N seconds=S total_per_s=R server_ms=M server_per_s=Q
 * Run with OPENSSL_CONF activating the parsec provider for Parsec keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/store.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static EVP_PKEY *load_key(const char *uri)
{
    OSSL_STORE_CTX *store = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL);
    EVP_PKEY *pkey = NULL;

    if (store == NULL)
        return NULL;
    OSSL_STORE_expect(store, OSSL_STORE_INFO_PKEY);
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

/* One full handshake; adds the server's share of the time to *server_s. */
static int handshake(SSL_CTX *sctx, SSL_CTX *cctx, double *server_s)
{
    SSL *server = SSL_new(sctx), *client = SSL_new(cctx);
    BIO *sbio = NULL, *cbio = NULL;
    int sdone = 0, cdone = 0, ok = 0, i, r;
    double t;

    if (server == NULL || client == NULL || !BIO_new_bio_pair(&sbio, 0, &cbio, 0))
        goto done;
    SSL_set_bio(server, sbio, sbio);
    SSL_set_bio(client, cbio, cbio);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    SSL_set_tlsext_host_name(client, "localhost");
    for (i = 0; i < 100 && !(sdone && cdone); i++) {
        if (!cdone) {
            r = SSL_do_handshake(client);
            if (r == 1)
                cdone = 1;
            else if (SSL_get_error(client, r) != SSL_ERROR_WANT_READ)
                goto done;
        }
        if (!sdone) {
            t = now();
            r = SSL_do_handshake(server);
            *server_s += now() - t;
            if (r == 1)
                sdone = 1;
            else if (SSL_get_error(server, r) != SSL_ERROR_WANT_READ)
                goto done;
        }
    }
    ok = sdone && cdone && SSL_get_verify_result(client) == X509_V_OK;
done:
    SSL_free(server);
    SSL_free(client);
    return ok;
}

int main(int argc, char **argv)
{
    SSL_CTX *sctx = NULL, *cctx = NULL;
    EVP_PKEY *key = NULL;
    double seconds, start, elapsed, server_s = 0;
    long n = 0;
    int version = TLS1_3_VERSION, rc = 1;

    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: %s KEY CERT CAFILE SECONDS [tls1_2|tls1_3]\n", argv[0]);
        return 2;
    }
    seconds = atof(argv[4]);
    if (argc == 6 && strcmp(argv[5], "tls1_2") == 0)
        version = TLS1_2_VERSION;

    sctx = SSL_CTX_new(TLS_server_method());
    cctx = SSL_CTX_new(TLS_client_method());
    key = load_key(argv[1]);
    if (sctx == NULL || cctx == NULL || key == NULL ||
        SSL_CTX_use_certificate_chain_file(sctx, argv[2]) != 1 ||
        SSL_CTX_use_PrivateKey(sctx, key) != 1 ||
        SSL_CTX_load_verify_locations(cctx, argv[3], NULL) != 1) {
        fprintf(stderr, "cannot set up the TLS contexts\n");
        ERR_print_errors_fp(stderr);
        goto done;
    }
    /* Every handshake is a new session. */
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(sctx, 0);
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_min_proto_version(sctx, version);
    SSL_CTX_set_max_proto_version(sctx, version);
    SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, NULL);

    start = now();
    do {
        if (!handshake(sctx, cctx, &server_s)) {
            fprintf(stderr, "handshake %ld failed\n", n + 1);
            ERR_print_errors_fp(stderr);
            goto done;
        }
        n++;
        elapsed = now() - start;
    } while (elapsed < seconds);
    printf("handshakes=%ld seconds=%.2f total_per_s=%.1f server_ms=%.3f server_per_s=%.1f\n", n,
           elapsed, (double)n / elapsed, 1000.0 * server_s / (double)n, (double)n / server_s);
    rc = 0;
done:
    EVP_PKEY_free(key);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    return rc;
}
