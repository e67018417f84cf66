/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libparsec-client reading hostile service responses. Byte 0 picks a
 * client call (low 6 bits, modulo FUZZ_N_CALLS), whether the client asks
 * for keep-alive (bit 7) and whether the fake service closes the connection
 * after answering even if it agreed to keep it (bit 6). The rest is what a
 * fake service, listening on a Unix socket in a temporary directory,
 * answers to every request of that call: sent as-is, whatever it says.
 * Oracles besides the sanitizers: a call that succeeds hands back
 * well-formed results (lengths that match, known IDs, NUL-terminated
 * strings), and everything it returns is released with the library's own
 * free functions (LeakSanitizer catches what is not).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzz_client_calls.h"
#include "parsec_client.h"
#include "parsec_wire.h"

/*
 * Longest answer: well below a socket buffer, so the fake service never
 * blocks on a client that stopped reading (run.sh's -max_len is lower still).
 */
#define FUZZ_MAX_RESPONSE (64u * 1024)
#define FUZZ_MAX_CONNS 8
#define FUZZ_CLIENT_KEEPALIVE 0x80
#define FUZZ_SERVER_CLOSES 0x40

static struct {
    char dir[64];
    char path[96];
    int listen_fd;
    pthread_t thread;
    pthread_mutex_t mu;
    uint8_t *reply; /* what the next request is answered */
    size_t reply_len;
    int close_after; /* close each connection once answered */
    parsec_client *client, *keepalive_client;
} fuzz_srv = {.listen_fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

static int fuzz_read_exact(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);

        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
    return 0;
}

/*
 * Reads one whole request (the client writes it at once), then answers.
 * 0: the connection stays open for another request (the request and the
 * answer both carry the keep-alive flag, the answer is exactly header +
 * body_len, and bit 6 did not say otherwise); -1: close it.
 */
static int fuzz_serve(int fd)
{
    uint8_t hdr[PARSEC_WIRE_HEADER_SIZE], chunk[4096];
    parsec_wire_header h;
    uint8_t *reply = NULL;
    size_t reply_len, left, sent = 0;
    int close_after, keep = 0;

    if (fuzz_read_exact(fd, hdr, sizeof(hdr)) != 0)
        return -1; /* the client closed it */
    parsec_wire_header_decode(hdr, &h);
    left = (size_t)h.body_len + h.auth_len;
    while (left > 0) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

        if (fuzz_read_exact(fd, chunk, n) != 0)
            return -1;
        left -= n;
    }
    /* A copy: the next input may replace the reply while this one is still being sent. */
    pthread_mutex_lock(&fuzz_srv.mu);
    reply_len = fuzz_srv.reply_len;
    close_after = fuzz_srv.close_after;
    reply = malloc(reply_len > 0 ? reply_len : 1);
    if (reply != NULL)
        memcpy(reply, fuzz_srv.reply, reply_len);
    pthread_mutex_unlock(&fuzz_srv.mu);
    if (reply == NULL)
        return -1;
    while (sent < reply_len) {
        ssize_t n = send(fd, reply + sent, reply_len - sent, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the client gave up reading: fine */
        sent += (size_t)n;
    }
    /* Like a keep-alive service: open only if both asked for it and the answer was whole. */
    if (!close_after && sent == reply_len && (h.flags & PARSEC_WIRE_FLAG_KEEPALIVE) &&
        reply_len >= PARSEC_WIRE_HEADER_SIZE) {
        parsec_wire_header r;

        parsec_wire_header_decode(reply, &r);
        keep = (r.flags & PARSEC_WIRE_FLAG_KEEPALIVE) &&
               reply_len == PARSEC_WIRE_HEADER_SIZE + (size_t)r.body_len;
    }
    free(reply);
    return keep ? 0 : -1;
}

/* One thread serves every connection: the client makes one request at a time. */
static void *fuzz_server_main(void *arg)
{
    struct pollfd pfd[1 + FUZZ_MAX_CONNS];
    nfds_t n = 1;

    pfd[0].fd = fuzz_srv.listen_fd;
    pfd[0].events = POLLIN;
    for (;;) {
        if (poll(pfd, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        for (nfds_t i = n; i-- > 1;) {
            if (pfd[i].revents == 0)
                continue;
            if (fuzz_serve(pfd[i].fd) != 0) {
                close(pfd[i].fd);
                pfd[i] = pfd[--n];
            }
        }
        if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
            return NULL; /* listening socket shut at exit */
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(fuzz_srv.listen_fd, NULL, NULL, SOCK_CLOEXEC);

            if (fd < 0)
                continue;
            if (n == 1 + FUZZ_MAX_CONNS) {
                close(fd); /* more than the client ever keeps open: refuse it */
                continue;
            }
            pfd[n].fd = fd;
            pfd[n].events = POLLIN;
            pfd[n].revents = 0;
            n++;
        }
    }
}

static void fuzz_cleanup(void)
{
    if (fuzz_srv.listen_fd >= 0)
        shutdown(fuzz_srv.listen_fd, SHUT_RDWR);
    unlink(fuzz_srv.path);
    rmdir(fuzz_srv.dir);
    parsec_client_free(fuzz_srv.client);
    parsec_client_free(fuzz_srv.keepalive_client);
    fuzz_srv.client = fuzz_srv.keepalive_client = NULL;
    free(fuzz_srv.reply);
    fuzz_srv.reply = NULL;
}

static parsec_client *fuzz_new_client(int keepalive)
{
    parsec_client *c = parsec_client_new();
    char uri[128];

    snprintf(uri, sizeof(uri), "unix:%s", fuzz_srv.path);
    if (c == NULL || parsec_client_set_endpoint(c, uri) != PARSEC_SUCCESS ||
        parsec_client_set_auth(c, PARSEC_AUTH_DIRECT, "fuzz") != PARSEC_SUCCESS)
        abort();
    parsec_client_set_provider(c, PARSEC_PROVIDER_MBED_CRYPTO);
    parsec_client_set_keepalive(c, keepalive);
    /* Nothing here ever waits on purpose: a timeout is a hang worth seeing. */
    parsec_client_set_timeout(c, 10000);
    return c;
}

int LLVMFuzzerInitialize(int *argc, char **argv[])
{
    struct sockaddr_un sa;
    const char *tmp = getenv("TMPDIR");

    snprintf(fuzz_srv.dir, sizeof(fuzz_srv.dir), "%s/fuzz-client-XXXXXX",
             tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
    if (mkdtemp(fuzz_srv.dir) == NULL) {
        perror("fuzz_client_response: mkdtemp");
        abort();
    }
    snprintf(fuzz_srv.path, sizeof(fuzz_srv.path), "%s/s", fuzz_srv.dir);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, fuzz_srv.path, strlen(fuzz_srv.path) + 1);
    fuzz_srv.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fuzz_srv.listen_fd < 0 ||
        bind(fuzz_srv.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fuzz_srv.listen_fd, 16) != 0) {
        perror("fuzz_client_response: listening socket");
        abort();
    }
    if (pthread_create(&fuzz_srv.thread, NULL, fuzz_server_main, NULL) != 0)
        abort();
    pthread_detach(fuzz_srv.thread);
    fuzz_srv.client = fuzz_new_client(0);
    fuzz_srv.keepalive_client = fuzz_new_client(1);
    atexit(fuzz_cleanup);
    return 0;
}

/* A status is either the service's (u16) or one of the client's own. */
static void fuzz_check_status(parsec_status st)
{
    /* The client passes on only statuses the reference knows (it validated the header). */
    FUZZ_ASSERT((uint32_t)st <= 0xFFFF ? parsec_status_is_known((uint32_t)st)
                                       : (st >= PARSEC_CLIENT_ERROR_CONNECT &&
                                          st <= PARSEC_CLIENT_ERROR_NO_AUTHENTICATOR));
    FUZZ_ASSERT(st != PARSEC_CLIENT_ERROR_CONNECT && st != PARSEC_CLIENT_ERROR_TIMEOUT &&
                st != PARSEC_CLIENT_ERROR_ARGUMENT);
    FUZZ_ASSERT(parsec_status_name(st) != NULL);
}

/* Returned buffers: the length is exactly what was received, freed as documented. */
static void fuzz_check_bytes(parsec_status st, uint8_t *buf, size_t len, int secret)
{
    if (st == PARSEC_SUCCESS) {
        FUZZ_ASSERT((buf == NULL) == (len == 0));
        /* Touch every byte: ASan reports a length that overstates the buffer. */
        for (size_t i = 0; i < len; i++)
            ((volatile uint8_t *)buf)[i] ^= 0;
    } else {
        FUZZ_ASSERT(buf == NULL);
    }
    if (secret)
        parsec_clear_free(buf, len);
    else
        parsec_free(buf);
}

static const parsec_alg fuzz_pss = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS,
                                    PARSEC_HASH_SHA_256};
static const parsec_alg fuzz_oaep = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP,
                                     PARSEC_HASH_SHA_256};
static const parsec_alg fuzz_ecdh = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0};
static const parsec_alg fuzz_gcm = {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0};
static const parsec_alg fuzz_cbc = {PARSEC_ALG_CIPHER, PARSEC_CIPHER_CBC_PKCS7, 0};
static const parsec_key_attributes fuzz_ec_attrs = {
    .type = PARSEC_KEY_TYPE_ECC_KEY_PAIR,
    .ecc_family = PARSEC_ECC_FAMILY_SECP_R1,
    .bits = 256,
    .usage = PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH,
    .alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256},
};

static void fuzz_call(parsec_client *c, unsigned int which)
{
    static const uint8_t hash[32] = {1, 2, 3};
    uint8_t *buf = NULL;
    size_t len = 0, n = 0;
    parsec_status st;

    switch (which) {
    case FUZZ_PING: {
        uint8_t maj = 0, min = 0;

        st = parsec_ping(c, &maj, &min);
        break;
    }
    case FUZZ_LIST_PROVIDERS: {
        parsec_provider_info *p = NULL;

        st = parsec_list_providers(c, &p, &n);
        FUZZ_ASSERT(st == PARSEC_SUCCESS || (p == NULL && n == 0));
        for (size_t i = 0; i < n; i++) {
            FUZZ_ASSERT(strlen(p[i].uuid) == 36 && p[i].id <= PARSEC_PROVIDER_MAX);
            FUZZ_ASSERT(p[i].description != NULL && p[i].vendor != NULL);
            (void)strlen(p[i].description);
            (void)strlen(p[i].vendor);
        }
        parsec_provider_info_free(p, n);
        break;
    }
    case FUZZ_LIST_AUTHENTICATORS: {
        parsec_authenticator_info *a = NULL;

        st = parsec_list_authenticators(c, &a, &n);
        FUZZ_ASSERT(st == PARSEC_SUCCESS || (a == NULL && n == 0));
        for (size_t i = 0; i < n; i++) {
            FUZZ_ASSERT(a[i].description != NULL && a[i].id <= PARSEC_AUTH_MAX);
            (void)strlen(a[i].description);
        }
        parsec_authenticator_info_free(a, n);
        break;
    }
    case FUZZ_LIST_OPCODES: {
        uint32_t *ops = NULL;

        st = parsec_list_opcodes(c, PARSEC_PROVIDER_MBED_CRYPTO, &ops, &n);
        FUZZ_ASSERT(st == PARSEC_SUCCESS || (ops == NULL && n == 0));
        /* Read every entry: ASan reports a count that overstates the array. */
        for (size_t i = 0; i < n; i++)
            ((volatile uint32_t *)ops)[i] ^= 0;
        parsec_free(ops);
        break;
    }
    case FUZZ_LIST_KEYS: {
        parsec_key_info *k = NULL;

        st = parsec_list_keys(c, &k, &n);
        FUZZ_ASSERT(st == PARSEC_SUCCESS || (k == NULL && n == 0));
        for (size_t i = 0; i < n; i++) {
            FUZZ_ASSERT(k[i].name != NULL && k[i].provider_id <= PARSEC_PROVIDER_MAX);
            (void)strlen(k[i].name);
        }
        parsec_key_info_free(k, n);
        break;
    }
    case FUZZ_LIST_CLIENTS: {
        char **names = NULL;

        st = parsec_list_clients(c, &names, &n);
        FUZZ_ASSERT(st == PARSEC_SUCCESS || (names == NULL && n == 0));
        for (size_t i = 0; i < n; i++) {
            FUZZ_ASSERT(names[i] != NULL);
            (void)strlen(names[i]);
        }
        parsec_string_list_free(names, n);
        break;
    }
    case FUZZ_SIGN_HASH:
        st = parsec_sign_hash(c, 0, "k", &fuzz_pss, hash, sizeof(hash), &buf, &len);
        fuzz_check_bytes(st, buf, len, 0);
        break;
    case FUZZ_VERIFY_HASH:
        st = parsec_verify_hash(c, 0, "k", &fuzz_pss, hash, sizeof(hash), hash, sizeof(hash));
        break;
    case FUZZ_EXPORT_PUBLIC_KEY:
        st = parsec_export_public_key(c, 0, "k", &buf, &len);
        fuzz_check_bytes(st, buf, len, 0);
        break;
    case FUZZ_EXPORT_KEY:
        st = parsec_export_key(c, 0, "k", &buf, &len);
        fuzz_check_bytes(st, buf, len, 1);
        break;
    case FUZZ_ASYMMETRIC_ENCRYPT:
        st = parsec_asymmetric_encrypt(c, 0, "k", &fuzz_oaep, hash, 4, NULL, 0, &buf, &len);
        fuzz_check_bytes(st, buf, len, 0);
        break;
    case FUZZ_ASYMMETRIC_DECRYPT:
        st = parsec_asymmetric_decrypt(c, 0, "k", &fuzz_oaep, hash, sizeof(hash), hash, 2, &buf,
                                       &len);
        fuzz_check_bytes(st, buf, len, 1);
        break;
    case FUZZ_RAW_KEY_AGREEMENT:
        st = parsec_raw_key_agreement(c, 0, &fuzz_ecdh, "k", hash, sizeof(hash), &buf, &len);
        fuzz_check_bytes(st, buf, len, 1);
        break;
    case FUZZ_GENERATE_RANDOM:
        st = parsec_generate_random(c, 0, 32, &buf);
        fuzz_check_bytes(st, buf, st == PARSEC_SUCCESS ? 32 : 0, 1);
        break;
    case FUZZ_HASH_COMPUTE:
        st = parsec_hash_compute(c, 0, PARSEC_HASH_SHA_256, hash, 3, &buf, &len);
        fuzz_check_bytes(st, buf, len, 0);
        break;
    case FUZZ_HASH_COMPARE:
        st = parsec_hash_compare(c, 0, PARSEC_HASH_SHA_256, hash, 3, hash, sizeof(hash));
        break;
    case FUZZ_GENERATE_KEY:
        st = parsec_generate_key(c, 0, "k", &fuzz_ec_attrs);
        break;
    case FUZZ_DESTROY_KEY:
        st = parsec_destroy_key(c, 0, "k");
        break;
    case FUZZ_CAN_DO_CRYPTO:
        st = parsec_can_do_crypto(c, 0, 2, &fuzz_ec_attrs);
        break;
    case FUZZ_DISCOVER: {
        /* Discovery changes the client: run it on a copy configured from scratch. */
        parsec_client *d = parsec_client_new();
        char uri[128];

        FUZZ_ASSERT(d != NULL);
        snprintf(uri, sizeof(uri), "unix:%s", fuzz_srv.path);
        FUZZ_ASSERT(parsec_client_set_endpoint(d, uri) == PARSEC_SUCCESS);
        parsec_client_set_timeout(d, 10000);
        parsec_client_set_keepalive(d, parsec_client_get_keepalive(c));
        st = parsec_client_discover(d, "fuzz");
        if (st == PARSEC_SUCCESS)
            FUZZ_ASSERT(parsec_client_get_provider(d) != PARSEC_PROVIDER_CORE &&
                        parsec_client_get_provider(d) <= PARSEC_PROVIDER_MAX);
        parsec_client_free(d);
        break;
    }
    case FUZZ_KEY_ATTRIBUTES_GET: {
        parsec_key_attributes attrs;
        uint8_t prov = 0xEE;

        st = parsec_key_attributes_get(c, "k", &prov, &attrs);
        FUZZ_ASSERT(st != PARSEC_SUCCESS || prov <= PARSEC_PROVIDER_MAX);
        break;
    }
    case FUZZ_DELETE_CLIENT:
        st = parsec_delete_client(c, "someone");
        break;
    case FUZZ_AEAD_ENCRYPT:
        st = parsec_aead_encrypt(c, 0, "k", &fuzz_gcm, hash, 12, hash, 5, hash, sizeof(hash), &buf,
                                 &len);
        fuzz_check_bytes(st, buf, len, 0);
        break;
    case FUZZ_AEAD_DECRYPT:
        st = parsec_aead_decrypt(c, 0, "k", &fuzz_gcm, hash, 12, NULL, 0, hash, sizeof(hash), &buf,
                                 &len);
        fuzz_check_bytes(st, buf, len, 1);
        break;
    case FUZZ_SIGN_MESSAGE:
        st = parsec_sign_message(c, 0, "k", &fuzz_pss, hash, 3, &buf, &len);
        fuzz_check_bytes(st, buf, len, 0);
        break;
    case FUZZ_VERIFY_MESSAGE:
        st = parsec_verify_message(c, 0, "k", &fuzz_pss, hash, 3, hash, sizeof(hash));
        break;
    case FUZZ_PREPARE_KEY_ATTESTATION: {
        uint8_t *pub = NULL, *ek = NULL;
        size_t publen = 0, eklen = 0;

        st =
            parsec_prepare_key_attestation(c, 0, "k", NULL, &buf, &len, &pub, &publen, &ek, &eklen);
        fuzz_check_bytes(st, pub, publen, 0);
        fuzz_check_bytes(st, ek, eklen, 0);
        fuzz_check_bytes(st, buf, len, 0);
        break;
    }
    case FUZZ_ATTEST_KEY:
        st = parsec_attest_key(c, 0, "k", NULL, hash, 16, hash + 16, 16, &buf, &len);
        fuzz_check_bytes(st, buf, len, 1);
        break;
    case FUZZ_CIPHER_ENCRYPT:
        st = parsec_cipher_encrypt(c, 0, "k", &fuzz_cbc, hash, 16, &buf, &len);
        fuzz_check_bytes(st, buf, len, 0);
        break;
    case FUZZ_CIPHER_DECRYPT:
        st = parsec_cipher_decrypt(c, 0, "k", &fuzz_cbc, hash, sizeof(hash), &buf, &len);
        fuzz_check_bytes(st, buf, len, 1);
        break;
    case FUZZ_IMPORT_KEY:
    default:
        st = parsec_import_key(c, 0, "k", &fuzz_ec_attrs, hash, sizeof(hash));
        break;
    }
    fuzz_check_status(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *reply;

    if (size < 1 || size - 1 > FUZZ_MAX_RESPONSE)
        return 0;
    reply = malloc(size);
    FUZZ_ASSERT(reply != NULL);
    memcpy(reply, data + 1, size - 1);
    pthread_mutex_lock(&fuzz_srv.mu);
    free(fuzz_srv.reply);
    fuzz_srv.reply = reply;
    fuzz_srv.reply_len = size - 1;
    fuzz_srv.close_after = (data[0] & FUZZ_SERVER_CLOSES) != 0;
    pthread_mutex_unlock(&fuzz_srv.mu);
    fuzz_call(data[0] & FUZZ_CLIENT_KEEPALIVE ? fuzz_srv.keepalive_client : fuzz_srv.client,
              (data[0] & 0x3Fu) % FUZZ_N_CALLS);
    return 0;
}
