/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checks of the keep-alive extension (docs/protocol-extensions.md), one per
 * subcommand, run by keepalive.sh against a real parsecd (or, for the
 * fallback, the scripted one-response server of test/unit). Exit 0 = pass;
 * the reason for a failure goes to stderr. What is checked is what a user
 * can see: the sockets this process has open (/proc/self/fd), the bytes on
 * the wire and the answers.
 *
 *   keepalive_client reuse N            N Pings on one kept connection
 *   keepalive_client off N              without keep-alive: no socket stays open
 *   keepalive_client fallback           server that closes after each answer
 *   keepalive_client wire               raw requests: flags 0 unless asked, echo when asked
 *   keepalive_client lane               raw shared-memory hand-off: an answer through it, a
 *                                       request through it, and what is not a request refused
 *   keepalive_client stall              a kept connection the service stops reading: a Ping
 *                                       is resent, a DestroyKey is not
 *   keepalive_client fork               a child never uses its parent's kept socket
 *   keepalive_client uid                a process whose effective or real uid changed never
 *                                       uses the connection its old uid opened (needs root)
 *   keepalive_client idle MS            kept connection closed by the idle timeout: resent
 *   keepalive_client threads T N [K]    one kept connection per thread (K held; default T),
 *                                       all closed at thread exit
 *   keepalive_client pause READY GO     Ping, create READY, wait for GO, Ping (service restarted)
 *   keepalive_client answers N T        N rounds of Ping, ListProviders and HashCompute on T
 *                                       threads: every round's answers alike, printed once
 *   keepalive_client hold T READY       T threads Ping once (T kept connections), create
 *                                       READY, stay idle until SIGUSR1, Ping again
 *   keepalive_client drop US            a service that closes the kept connection US
 *                                       microseconds after reading the next request (0: while
 *                                       the client polls for the answer): resent, answered
 */
#include <dirent.h>
#include <stdatomic.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake_server.h"
#include "parsec_client.h"
#include "parsec_lane.h"
#include "parsec_wire.h"

#define KA_MAX_SOCKETS 64

/* A successful Ping answer (wire protocol 1.0, flags 0 at offset 8). */
static const char ka_ping_resp_hex[] =
    "10a7c05e1e000100000000000000000000000000000002000000000001000000000000000801";

static int ka_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int ka_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("keepalive_client: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* Inodes of the sockets this process has open, sorted; returns how many. */
static int ka_sockets(unsigned long *inodes, int cap)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX], target[64];
        ssize_t len;
        unsigned long ino;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        len = readlink(path, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (sscanf(target, "socket:[%lu]", &ino) == 1 && n < cap)
            inodes[n++] = ino;
    }
    closedir(d);
    return n;
}

static parsec_client *ka_client(int keepalive)
{
    parsec_client *c = parsec_client_new();

    if (c != NULL) {
        parsec_client_set_keepalive(c, keepalive);
        parsec_client_set_timeout(c, 10000);
    }
    return c;
}

static int ka_ping(parsec_client *c)
{
    uint8_t maj = 0, min = 0;
    parsec_status st = parsec_ping(c, &maj, &min);

    if (st != PARSEC_SUCCESS)
        return ka_fail("ping: %s", parsec_status_name(st));
    if (maj != 1)
        return ka_fail("ping answered version %u.%u", maj, min);
    return 0;
}

/* The one socket of this process (its inode), or 0 with a message if there is not exactly one. */
static unsigned long ka_one_socket(const char *when)
{
    unsigned long s[KA_MAX_SOCKETS];
    int n = ka_sockets(s, KA_MAX_SOCKETS);

    if (n != 1) {
        ka_fail("%s: %d sockets open, expected 1 (the kept connection)", when, n);
        return 0;
    }
    return s[0];
}

static int ka_reuse(int n)
{
    parsec_client *c = ka_client(1);
    unsigned long first, now;
    int rc = 1;

    if (c == NULL || ka_ping(c) != 0)
        goto done;
    first = ka_one_socket("after the first Ping");
    if (first == 0)
        goto done;
    for (int i = 1; i < n; i++) {
        if (ka_ping(c) != 0)
            goto done;
        now = ka_one_socket("during the Pings");
        if (now != first) {
            ka_fail("Ping %d went over socket %lu, not the kept %lu", i + 1, now, first);
            goto done;
        }
    }
    printf("%d Pings over socket %lu\n", n, first);
    rc = 0;
done:
    parsec_client_free(c);
    return rc;
}

static int ka_off(int n)
{
    parsec_client *c = ka_client(0);
    unsigned long s[KA_MAX_SOCKETS];
    int rc = 1, open;

    if (c == NULL)
        goto done;
    for (int i = 0; i < n; i++) {
        if (ka_ping(c) != 0)
            goto done;
        open = ka_sockets(s, KA_MAX_SOCKETS);
        if (open != 0) {
            ka_fail("without keep-alive %d socket(s) stayed open after a Ping", open);
            goto done;
        }
    }
    rc = 0;
done:
    parsec_client_free(c);
    return rc;
}

/*
 * The reference service ignores the flag and closes after its answer, which
 * has flags 0: modelled by test/unit's scripted server with the reference's
 * Ping answer (parsec-mock vector).
 */
static int ka_fallback(void)
{
    uint8_t resp[64];
    fake_reply reply = {0};
    fake_server *srv;
    parsec_client *c = NULL;
    unsigned long s[KA_MAX_SOCKETS];
    int rc = 1, n = 5;

    reply.bytes = resp;
    reply.len = hex_decode(ka_ping_resp_hex, resp, sizeof(resp));
    srv = fake_server_start(&reply, 1, 0);
    if (srv == NULL)
        return ka_fail("cannot start the one-response server");
    c = ka_client(1);
    if (c == NULL || parsec_client_set_endpoint(c, fake_server_uri(srv)) != PARSEC_SUCCESS)
        goto done;
    for (int i = 0; i < n; i++) {
        if (ka_ping(c) != 0)
            goto done;
        /*
         * Left open: only the fake server's listening socket (its thread
         * closes its side of the connection just after answering).
         */
        for (int tries = 0; ka_sockets(s, KA_MAX_SOCKETS) != 1; tries++) {
            if (tries == 100) {
                ka_fail("a connection stayed open after an answer without the keep-alive flag");
                goto done;
            }
            usleep(10000);
        }
    }
    if (fake_server_stop(srv) != (size_t)n) {
        ka_fail("the server saw a different number of connections than requests");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        size_t len;
        const uint8_t *req = fake_server_request(srv, (size_t)i, &len);
        uint16_t flags = req != NULL && len >= 10 ? (uint16_t)(req[8] | req[9] << 8) : 0;

        if (!(flags & PARSEC_WIRE_FLAG_KEEPALIVE)) {
            ka_fail("request %d did not ask for keep-alive (flags 0x%04x)", i, flags);
            goto done;
        }
    }
    printf("%d requests, %d connections, each asked for keep-alive and fell back\n", n, n);
    rc = 0;
done:
    parsec_client_free(c);
    fake_server_free(srv);
    return rc;
}

/* ---- raw wire ---- */

static int ka_raw_connect(void)
{
    struct sockaddr_un sa;
    const char *ep = getenv(PARSEC_ENDPOINT_ENV);
    int fd;

    if (ep == NULL || strncmp(ep, "unix:", 5) != 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ep + 5);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
    }
    if (fd >= 0) {
        struct timeval tv = {5, 0};

        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    return fd;
}

static int ka_read_exact(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);

        if (n <= 0)
            return 0;
        got += (size_t)n;
    }
    return 1;
}

/* Send a header (+ body) and read the answer's header, skipping its body. */
static int ka_raw_call(int fd, const parsec_wire_header *req, const uint8_t *body,
                       parsec_wire_header *resp)
{
    uint8_t hdr[PARSEC_WIRE_HEADER_SIZE], skip[4096];

    parsec_wire_header_encode(req, hdr);
    if (send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != (ssize_t)sizeof(hdr) ||
        (req->body_len > 0 &&
         send(fd, body, req->body_len, MSG_NOSIGNAL) != (ssize_t)req->body_len) ||
        !ka_read_exact(fd, hdr, sizeof(hdr)))
        return 0;
    parsec_wire_header_decode(hdr, resp);
    return resp->body_len <= sizeof(skip) && ka_read_exact(fd, skip, resp->body_len);
}

/* The service closed the connection: the next read is EOF. */
static int ka_closed(int fd)
{
    uint8_t b;

    return recv(fd, &b, 1, 0) == 0;
}

/* ---- scripted servers: one thread serving a socket in a temporary folder ---- */

typedef struct ka_server {
    int lfd;
    int started;
    char dir[64];
    char uri[160];
    struct sockaddr_un sa;
    pthread_t thread;
} ka_server;

/* Listen in a new temporary folder and serve with fn(arg) on a thread. 0 on success. */
static int ka_server_start(ka_server *srv, const char *name, void *(*fn)(void *), void *arg)
{
    srv->lfd = -1;
    srv->started = 0;
    snprintf(srv->dir, sizeof(srv->dir), "%s/ka-%s.XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp", name);
    if (strlen(srv->dir) >= sizeof(srv->dir) - 1 || mkdtemp(srv->dir) == NULL) {
        srv->dir[0] = '\0';
        return ka_fail("%s server: mkdtemp: %s", name, strerror(errno));
    }
    srv->sa.sun_family = AF_UNIX;
    snprintf(srv->sa.sun_path, sizeof(srv->sa.sun_path), "%s/s.sock", srv->dir);
    snprintf(srv->uri, sizeof(srv->uri), "unix:%s", srv->sa.sun_path);
    srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (srv->lfd < 0 || bind(srv->lfd, (struct sockaddr *)&srv->sa, sizeof(srv->sa)) != 0 ||
        listen(srv->lfd, 8) != 0 || pthread_create(&srv->thread, NULL, fn, arg) != 0)
        return ka_fail("%s server: %s", name, strerror(errno));
    srv->started = 1;
    return 0;
}

static void ka_server_stop(ka_server *srv)
{
    if (srv->started) {
        shutdown(srv->lfd, SHUT_RDWR); /* its accept() fails: the thread returns */
        pthread_join(srv->thread, NULL);
    }
    if (srv->lfd >= 0)
        close(srv->lfd);
    if (srv->dir[0] != '\0') {
        unlink(srv->sa.sun_path);
        rmdir(srv->dir);
    }
}

/* One whole request (header, body, authentication) into req. 1 on success. */
static int ka_read_request(int fd, uint8_t *req, size_t cap)
{
    parsec_wire_header h;

    if (!ka_read_exact(fd, req, PARSEC_WIRE_HEADER_SIZE))
        return 0;
    parsec_wire_header_decode(req, &h);
    return (size_t)h.body_len + h.auth_len <= cap - PARSEC_WIRE_HEADER_SIZE &&
           ka_read_exact(fd, req + PARSEC_WIRE_HEADER_SIZE, (size_t)h.body_len + h.auth_len);
}

/* ---- a kept connection the service stops serving ---- */

/*
 * A service that answers the first request of every other connection (the
 * 1st, 3rd, ...) with keep-alive and then never reads from it again (as an
 * older parsecd whose threads were all held by slow clients); the others get
 * one answer without the flag and are closed.
 */
#define KA_STALL_HELD 4

typedef struct ka_stall_server {
    ka_server base;
    atomic_int conns;
    int held[KA_STALL_HELD];
} ka_stall_server;

static void *ka_stall_serve(void *arg)
{
    ka_stall_server *srv = arg;
    uint8_t resp[64], req[PARSEC_WIRE_HEADER_SIZE + 64];
    size_t resp_len = hex_decode(ka_ping_resp_hex, resp, sizeof(resp));

    for (;;) {
        int fd = accept4(srv->base.lfd, NULL, NULL, SOCK_CLOEXEC);
        int n;

        if (fd < 0)
            return NULL; /* shut down */
        if (!ka_read_request(fd, req, sizeof(req))) {
            close(fd);
            continue;
        }
        n = atomic_load(&srv->conns);

        /* flags (offset 8, little-endian): keep-alive on every other connection */
        resp[9] = n % 2 == 0 ? 0x80 : 0x00;
        atomic_store(&srv->conns, n + 1); /* counted before the client can see the answer */
        if (send(fd, resp, resp_len, MSG_NOSIGNAL) != (ssize_t)resp_len)
            ka_fail("stall server: send: %s", strerror(errno));
        if (n % 2 == 0 && n / 2 < KA_STALL_HELD)
            srv->held[n / 2] = fd; /* kept, never read again */
        else
            close(fd);
    }
}

static int ka_stall(void)
{
    ka_stall_server srv = {.held = {-1, -1, -1, -1}};
    parsec_status st;
    parsec_client *c = NULL;
    struct timespec t0, t1;
    double ms;
    int rc = 1;

    if (ka_server_start(&srv.base, "stall", ka_stall_serve, &srv) != 0)
        goto done;
    c = ka_client(1); /* timeout 10 s */
    if (c == NULL || parsec_client_set_endpoint(c, srv.base.uri) != PARSEC_SUCCESS ||
        ka_ping(c) != 0)
        goto done;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ka_ping(c) != 0) {
        ka_fail("the Ping on the stalled kept connection was not resent on a new one");
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (srv.conns != 2) {
        ka_fail("the service saw %d connections, expected 2 (kept, then the fallback)",
                atomic_load(&srv.conns));
        goto done;
    }
    /* Not a timing assertion: only that it did not wait for the 10 s client timeout. */
    if (ms >= 9000) {
        ka_fail("the fallback came only after %.0f ms, at the client timeout", ms);
        goto done;
    }
    printf("stalled kept connection given up after %.0f ms; answered on a new connection\n", ms);
    /*
     * A request that changes something (here DestroyKey) is not sent twice:
     * the service may still execute the abandoned copy. It waits for the
     * client timeout instead.
     */
    parsec_client_set_timeout(c, 2000);
    if (ka_ping(c) != 0 || atomic_load(&srv.conns) != 3)
        goto done;
    st = parsec_destroy_key(c, 1, "stalled");
    if (st != PARSEC_CLIENT_ERROR_TIMEOUT || atomic_load(&srv.conns) != 3) {
        ka_fail("DestroyKey on a stalled kept connection: %s after %d connections (want a "
                "timeout, no resend)",
                parsec_status_name(st), atomic_load(&srv.conns));
        goto done;
    }
    printf("DestroyKey on a stalled kept connection: %s, not resent\n", parsec_status_name(st));
    rc = 0;
done:
    parsec_client_free(c);
    ka_server_stop(&srv.base);
    for (int i = 0; i < KA_STALL_HELD; i++)
        if (srv.held[i] >= 0)
            close(srv.held[i]);
    return rc;
}

/* ---- a kept connection the service closes while the client waits ---- */

/*
 * Connection 0: the first request is answered with keep-alive, the next one
 * is read and the connection closed, drop_us later, without an answer (a
 * service that stops or crashes mid-request). Later connections: one
 * answer without the flag, then closed.
 */
typedef struct ka_drop_server {
    ka_server base;
    atomic_int conns;
    unsigned int drop_us;
} ka_drop_server;

static void *ka_drop_serve(void *arg)
{
    ka_drop_server *srv = arg;
    uint8_t resp[64], req[PARSEC_WIRE_HEADER_SIZE + 64];
    size_t resp_len = hex_decode(ka_ping_resp_hex, resp, sizeof(resp));

    for (;;) {
        int fd = accept4(srv->base.lfd, NULL, NULL, SOCK_CLOEXEC);
        int n;

        if (fd < 0)
            return NULL; /* shut down */
        n = atomic_fetch_add(&srv->conns, 1);
        resp[9] = n == 0 ? 0x80 : 0x00; /* flags, offset 8, little-endian */
        if (ka_read_request(fd, req, sizeof(req)) &&
            send(fd, resp, resp_len, MSG_NOSIGNAL) == (ssize_t)resp_len && n == 0 &&
            ka_read_request(fd, req, sizeof(req)) && srv->drop_us > 0)
            usleep(srv->drop_us);
        close(fd);
    }
}

static int ka_drop(unsigned int drop_us)
{
    ka_drop_server srv = {.drop_us = drop_us};
    parsec_client *c = NULL;
    int rc = 1;

    if (ka_server_start(&srv.base, "drop", ka_drop_serve, &srv) != 0)
        goto done;
    c = ka_client(1);
    if (c == NULL || parsec_client_set_endpoint(c, srv.base.uri) != PARSEC_SUCCESS ||
        ka_ping(c) != 0)
        goto done;
    if (ka_ping(c) != 0) {
        ka_fail("the Ping whose kept connection was closed unanswered was not resent");
        goto done;
    }
    if (atomic_load(&srv.conns) != 2) {
        ka_fail("the service saw %d connections, expected 2 (kept, then the resend)",
                atomic_load(&srv.conns));
        goto done;
    }
    printf("kept connection closed %u us after the request (busy_poll_us %u): resent and "
           "answered on a new connection\n",
           drop_us, parsec_client_get_busy_poll(c));
    rc = 0;
done:
    parsec_client_free(c);
    ka_server_stop(&srv.base);
    return rc;
}

/* ---- idle kept connections ---- */

typedef struct ka_hold_job {
    parsec_client *c;
    pthread_barrier_t *pinged, *go;
    int rc;
} ka_hold_job;

static void *ka_hold_thread(void *p)
{
    ka_hold_job *job = p;
    int ok = ka_ping(job->c) == 0;

    pthread_barrier_wait(job->pinged);
    pthread_barrier_wait(job->go); /* blocked: an idle thread uses no CPU */
    job->rc = ok ? ka_ping(job->c) : 1;
    return NULL;
}

/* T threads hold T kept connections, idle, until the process gets SIGUSR1. */
static int ka_hold(int nthreads, const char *ready)
{
    ka_hold_job jobs[64];
    pthread_t th[64];
    pthread_barrier_t pinged, go;
    parsec_client *c = ka_client(1);
    sigset_t usr1;
    int rc = 0, sig = 0;
    FILE *f;

    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    if (c == NULL || nthreads < 1 || nthreads > 64 ||
        pthread_sigmask(SIG_BLOCK, &usr1, NULL) != 0 ||
        pthread_barrier_init(&pinged, NULL, (unsigned int)nthreads + 1) != 0 ||
        pthread_barrier_init(&go, NULL, (unsigned int)nthreads + 1) != 0) {
        parsec_client_free(c);
        return ka_fail("hold: bad thread count, signal mask or barrier");
    }
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = (ka_hold_job){.c = c, .pinged = &pinged, .go = &go, .rc = 1};
        if (pthread_create(&th[i], NULL, ka_hold_thread, &jobs[i]) != 0) {
            ka_fail("hold: cannot start thread %d", i);
            exit(1); /* the barriers would never open */
        }
    }
    pthread_barrier_wait(&pinged);
    f = fopen(ready, "w");
    if (f != NULL)
        fclose(f);
    sigwait(&usr1, &sig);
    pthread_barrier_wait(&go);
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].rc != 0)
            rc = 1;
    }
    pthread_barrier_destroy(&pinged);
    pthread_barrier_destroy(&go);
    parsec_client_free(c);
    return rc;
}

/* ---- the same answers however the client waits ---- */

typedef struct ka_answers_job {
    parsec_client *c;
    int rounds;
    char first[640]; /* the first round's answers */
    int rc;
} ka_answers_job;

/* One round's answers, as text. 0 on success. */
static int ka_answers_round(parsec_client *c, char *out, size_t cap)
{
    static const uint8_t abc[] = {'a', 'b', 'c'};
    uint8_t big[3000];
    parsec_provider_info *prov = NULL;
    uint8_t maj = 0, min = 0, *digest = NULL, *big_digest = NULL, *random = NULL;
    size_t nprov = 0, dlen = 0, big_dlen = 0, used;
    parsec_status st;
    int rc = -1;

    st = parsec_ping(c, &maj, &min);
    if (st != PARSEC_SUCCESS) {
        ka_fail("ping: %s", parsec_status_name(st));
        goto done;
    }
    st = parsec_list_providers(c, &prov, &nprov);
    if (st != PARSEC_SUCCESS) {
        ka_fail("list providers: %s", parsec_status_name(st));
        goto done;
    }
    st = parsec_hash_compute(c, 1, PARSEC_HASH_SHA_256, abc, sizeof(abc), &digest, &dlen);
    if (st != PARSEC_SUCCESS) {
        ka_fail("hash compute: %s", parsec_status_name(st));
        goto done;
    }
    /* Larger than a shared-memory hand-off holds: both go over the socket. */
    memset(big, 'x', sizeof(big));
    st = parsec_hash_compute(c, 1, PARSEC_HASH_SHA_256, big, sizeof(big), &big_digest, &big_dlen);
    if (st != PARSEC_SUCCESS) {
        ka_fail("hash compute of %zu bytes: %s", sizeof(big), parsec_status_name(st));
        goto done;
    }
    st = parsec_generate_random(c, 1, sizeof(big), &random);
    if (st != PARSEC_SUCCESS) {
        ka_fail("generate %zu random bytes: %s", sizeof(big), parsec_status_name(st));
        goto done;
    }
    used = (size_t)snprintf(out, cap, "ping %u.%u; providers", maj, min);
    for (size_t i = 0; i < nprov && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, " %u:%s", prov[i].id, prov[i].uuid);
    if (used < cap)
        used += (size_t)snprintf(out + used, cap - used, "; sha256(abc) ");
    for (size_t i = 0; i < dlen && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%02x", digest[i]);
    if (used < cap)
        used += (size_t)snprintf(out + used, cap - used, "; sha256(x * %zu) ", sizeof(big));
    for (size_t i = 0; i < big_dlen && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%02x", big_digest[i]);
    if (used < cap)
        used += (size_t)snprintf(out + used, cap - used, "; random %zu bytes", sizeof(big));
    rc = used < cap ? 0 : ka_fail("answers longer than %zu characters", cap);
done:
    parsec_provider_info_free(prov, nprov);
    free(digest);
    free(big_digest);
    free(random);
    return rc;
}

static void *ka_answers_thread(void *p)
{
    ka_answers_job *job = p;
    char now[sizeof(job->first)];

    job->rc = 1;
    for (int i = 0; i < job->rounds; i++) {
        if (ka_answers_round(job->c, i == 0 ? job->first : now, sizeof(now)) != 0)
            return NULL;
        if (i > 0 && strcmp(now, job->first) != 0) {
            ka_fail("round %d answered \"%s\", round 0 \"%s\"", i, now, job->first);
            return NULL;
        }
    }
    job->rc = 0;
    return NULL;
}

static int ka_answers(int rounds, int nthreads)
{
    ka_answers_job jobs[8];
    pthread_t th[8];
    parsec_client *c = ka_client(1);
    int rc = 1, started = 0;

    if (c == NULL || nthreads < 1 || nthreads > 8)
        goto done;
    for (; started < nthreads; started++) {
        jobs[started] = (ka_answers_job){.c = c, .rounds = rounds, .rc = 1};
        if (pthread_create(&th[started], NULL, ka_answers_thread, &jobs[started]) != 0)
            break;
    }
    rc = started == nthreads ? 0 : 1;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].rc != 0 || strcmp(jobs[i].first, jobs[0].first) != 0)
            rc = 1;
    }
    if (rc == 0)
        printf("%s\n", jobs[0].first);
done:
    parsec_client_free(c);
    return rc;
}

static int ka_wire(void)
{
    /* PsaSignHash body (docs/wire-protocol.md §1.1): key "none", RsaPss(SHA-256), 32-byte hash. */
    static const char sign_body[] =
        "0a046e6f6e65"
        "12061a040a021007"
        "1a200000000000000000000000000000000000000000000000000000000000000000";
    uint8_t body[128];
    parsec_wire_header req, resp;
    int fd, rc = 1;

    /* 1. No flag: flags 0 in the answer, then the service closes (the reference's behaviour). */
    fd = ka_raw_connect();
    if (fd < 0)
        return ka_fail("cannot connect to $%s", PARSEC_ENDPOINT_ENV);
    parsec_wire_request_init(&req, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_NONE, 0, 0);
    if (!ka_raw_call(fd, &req, NULL, &resp) || resp.status != 0)
        goto fail_msg;
    if (resp.flags != 0) {
        ka_fail("answer to a request without the flag has flags 0x%04x", resp.flags);
        goto done;
    }
    if (!ka_closed(fd)) {
        ka_fail("connection stayed open after a request without the flag");
        goto done;
    }
    close(fd);

    /* 2. Flag: echoed, and the same connection serves more requests, failing ones included. */
    fd = ka_raw_connect();
    req.flags = PARSEC_WIRE_FLAG_KEEPALIVE;
    for (int i = 0; i < 3; i++) {
        if (!ka_raw_call(fd, &req, NULL, &resp) || resp.status != 0)
            goto fail_msg;
        if (resp.flags != PARSEC_WIRE_FLAG_KEEPALIVE) {
            ka_fail("keep-alive Ping %d answered with flags 0x%04x", i + 1, resp.flags);
            goto done;
        }
    }
    /* Unauthenticated PsaSignHash: an error status, the connection still kept. */
    parsec_wire_request_init(&req, PARSEC_PROVIDER_MBED_CRYPTO, PARSEC_OP_PSA_SIGN_HASH,
                             PARSEC_AUTH_NONE, (uint32_t)hex_decode(sign_body, body, sizeof(body)),
                             0);
    req.flags = PARSEC_WIRE_FLAG_KEEPALIVE;
    if (!ka_raw_call(fd, &req, body, &resp) || resp.status == 0 ||
        resp.flags != PARSEC_WIRE_FLAG_KEEPALIVE) {
        ka_fail("a failing keep-alive request: status %u flags 0x%04x", resp.status, resp.flags);
        goto done;
    }
    /* 3. The same connection, a request without the flag: flags 0 and closed. */
    parsec_wire_request_init(&req, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_NONE, 0, 0);
    if (!ka_raw_call(fd, &req, NULL, &resp) || resp.status != 0)
        goto fail_msg;
    if (resp.flags != 0 || !ka_closed(fd)) {
        ka_fail("after a request without the flag: flags 0x%04x, connection %s", resp.flags,
                ka_closed(fd) ? "closed" : "open");
        goto done;
    }
    close(fd);

    /* 4. A header error (bad magic) with the flag: answered as the reference does, flags 0, closed. */
    fd = ka_raw_connect();
    parsec_wire_request_init(&req, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_NONE, 0, 0);
    req.flags = PARSEC_WIRE_FLAG_KEEPALIVE;
    req.magic = 0x12345678;
    if (!ka_raw_call(fd, &req, NULL, &resp) || resp.status != PARSEC_INVALID_HEADER ||
        resp.flags != 0 || !ka_closed(fd)) {
        ka_fail("bad magic with the flag: status %u flags 0x%04x", resp.status, resp.flags);
        goto done;
    }
    rc = 0;
    goto done;
fail_msg:
    ka_fail("no (successful) answer on the raw connection");
done:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- the shared-memory hand-off, byte by byte ---- */

/*
 * A raw kept connection with its region: a Ping asking for both. The
 * answer must echo both flags and carry the region's descriptor. 0 on success.
 */
static int ka_lane_open(int *fd_out, parsec_lane **lane)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    uint8_t hdr[PARSEC_WIRE_HEADER_SIZE], skip[256];
    struct iovec iov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    parsec_wire_header req, resp;
    struct cmsghdr *cm;
    int fd = ka_raw_connect(), memfd = -1, rc = -1;

    *fd_out = -1;
    *lane = NULL;
    if (fd < 0)
        return ka_fail("cannot connect to $%s", PARSEC_ENDPOINT_ENV);
    parsec_wire_request_init(&req, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_NONE, 0, 0);
    req.flags = PARSEC_WIRE_FLAG_KEEPALIVE | PARSEC_WIRE_FLAG_LANE;
    parsec_wire_header_encode(&req, hdr);
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    if (send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != (ssize_t)sizeof(hdr) ||
        recvmsg(fd, &mh, MSG_WAITALL | MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(hdr)) {
        ka_fail("no answer to a Ping asking for a shared-memory hand-off");
        goto done;
    }
    cm = CMSG_FIRSTHDR(&mh);
    if (cm != NULL && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&memfd, CMSG_DATA(cm), sizeof(memfd));
    parsec_wire_header_decode(hdr, &resp);
    if (resp.status != 0 || resp.flags != (PARSEC_WIRE_FLAG_KEEPALIVE | PARSEC_WIRE_FLAG_LANE) ||
        memfd < 0 || resp.body_len > sizeof(skip) || !ka_read_exact(fd, skip, resp.body_len)) {
        ka_fail("hand-off asked for: status %u, flags 0x%04x, %s descriptor", resp.status,
                resp.flags, memfd < 0 ? "no" : "a");
        goto done;
    }
    if (parsec_lane_attach(memfd, lane) != 0) {
        ka_fail("the descriptor parsecd passed is not a hand-off region");
        goto done;
    }
    *fd_out = fd;
    fd = -1;
    rc = 0;
done:
    if (memfd >= 0)
        close(memfd);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The pair of ka_lane_open: close the connection and unmap its region (either may be unset). */
static void ka_lane_close(int *fd, parsec_lane **lane)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
    parsec_lane_free(*lane);
    *lane = NULL;
}

/*
 * Put len bytes (of which the first min(len, area) are msg) into the request
 * area, claiming length claim, at a moment parsecd watches for the next
 * request: after an answer, for as long as it polls. Keep-alive Pings on
 * the socket give it those moments. 0 once handed over.
 */
static int ka_lane_force(int fd, parsec_lane *lane, const uint8_t *msg, size_t len, uint32_t claim)
{
    parsec_wire_header ping, resp;

    parsec_wire_request_init(&ping, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_NONE, 0, 0);
    ping.flags = PARSEC_WIRE_FLAG_KEEPALIVE;
    for (int i = 0; i < 5000; i++) {
        uint32_t watching = PARSEC_LANE_WATCHING;

        if (!ka_raw_call(fd, &ping, NULL, &resp) || resp.status != 0)
            return ka_fail("keep-alive Ping %d on the hand-off connection failed", i + 1);
        if (atomic_load(&lane->request.state) != PARSEC_LANE_WATCHING)
            continue;
        memcpy(lane->request_area, msg, len < PARSEC_LANE_AREA ? len : PARSEC_LANE_AREA);
        atomic_store(&lane->request.len, claim);
        if (atomic_compare_exchange_strong(&lane->request.state, &watching, PARSEC_LANE_MESSAGE))
            return 0;
    }
    return ka_fail("parsecd never watched the hand-off region for a request (5000 Pings)");
}

/* What parsecd answers (on the socket) to bytes handed over; then whether it closed. */
static int ka_lane_expect(const char *what, const uint8_t *msg, size_t len, uint32_t claim,
                          uint16_t status, uint16_t flags, int closed)
{
    uint8_t hdr[PARSEC_WIRE_HEADER_SIZE], skip[256];
    parsec_wire_header resp;
    parsec_lane *lane = NULL;
    int fd = -1, rc = -1, is_closed;

    if (ka_lane_open(&fd, &lane) != 0 || ka_lane_force(fd, lane, msg, len, claim) != 0)
        goto done;
    if (!ka_read_exact(fd, hdr, sizeof(hdr))) {
        ka_fail("%s: no answer on the socket", what);
        goto done;
    }
    parsec_wire_header_decode(hdr, &resp);
    if (resp.body_len > sizeof(skip) || !ka_read_exact(fd, skip, resp.body_len)) {
        ka_fail("%s: answer body of %u bytes not read", what, resp.body_len);
        goto done;
    }
    /* Closed: EOF comes (at once, or within SO_RCVTIMEO); open: nothing is there to read. */
    is_closed = closed ? ka_closed(fd) : recv(fd, skip, 1, MSG_DONTWAIT) >= 0 || errno != EAGAIN;
    if (resp.status != status || resp.flags != flags || is_closed != closed) {
        ka_fail("%s: answered status %u flags 0x%04x, connection %s; expected %u, 0x%04x, %s", what,
                resp.status, resp.flags, is_closed ? "closed" : "open", status, flags,
                closed ? "closed" : "open");
        goto done;
    }
    rc = 0;
done:
    ka_lane_close(&fd, &lane);
    return rc;
}

static int ka_lane(void)
{
    uint8_t hdr[PARSEC_WIRE_HEADER_SIZE], msg[PARSEC_LANE_AREA], b;
    parsec_wire_header req, resp;
    parsec_lane *lane = NULL;
    struct timespec t0, t;
    size_t n;
    int fd = -1, rc = 1;

    /* 1. The client watches: parsecd's answer comes through the region, nothing on the socket. */
    if (ka_lane_open(&fd, &lane) != 0)
        goto done;
    parsec_wire_request_init(&req, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_NONE, 0, 0);
    req.flags = PARSEC_WIRE_FLAG_KEEPALIVE;
    parsec_wire_header_encode(&req, hdr);
    parsec_lane_watch(&lane->response);
    if (send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != (ssize_t)sizeof(hdr))
        goto done;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!parsec_lane_decided(&lane->response)) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 5) {
            ka_fail("no answer through the region in 5 s while the client watched it");
            goto done;
        }
        sched_yield();
    }
    if (parsec_lane_unwatch(&lane->response) != PARSEC_LANE_MESSAGE) {
        ka_fail("parsecd answered on the socket while the client watched the region");
        goto done;
    }
    n = parsec_lane_take(&lane->response, lane->response_area, msg, sizeof(msg));
    parsec_wire_header_decode(msg, &resp);
    if (n < sizeof(hdr) || resp.status != 0 || resp.opcode != PARSEC_OP_PING ||
        resp.flags != PARSEC_WIRE_FLAG_KEEPALIVE || n != sizeof(hdr) + resp.body_len ||
        recv(fd, &b, 1, MSG_DONTWAIT) != -1 || errno != EAGAIN) {
        ka_fail("the answer through the region: %zu bytes, status %u, opcode %u, flags 0x%04x", n,
                resp.status, resp.opcode, resp.flags);
        goto done;
    }
    ka_lane_close(&fd, &lane);

    /* 2. parsecd watches: a request through the region is answered (on the socket: not watched). */
    if (ka_lane_expect("a Ping handed over", hdr, sizeof(hdr), sizeof(hdr), 0,
                       PARSEC_WIRE_FLAG_KEEPALIVE, 0) != 0)
        goto done;
    /* 3. What a client can put there that is not a request: refused, connection closed. */
    memset(msg, 0xEE, sizeof(msg));
    if (ka_lane_expect("40 bytes of garbage", msg, 40, 40, PARSEC_INVALID_HEADER, 0, 1) != 0 ||
        ka_lane_expect("a length past the region", hdr, sizeof(hdr), PARSEC_LANE_AREA + 1,
                       PARSEC_CONNECTION_ERROR, 0, 1) != 0 ||
        ka_lane_expect("a length of 0", hdr, sizeof(hdr), 0, PARSEC_CONNECTION_ERROR, 0, 1) != 0)
        goto done;
    req.body_len = 100; /* promised, not there */
    parsec_wire_header_encode(&req, msg);
    if (ka_lane_expect("a header whose body is missing", msg, sizeof(hdr), sizeof(hdr),
                       PARSEC_CONNECTION_ERROR, 0, 1) != 0)
        goto done;
    /* 4. More than one request: answered, but not kept (as on the socket). */
    req.body_len = 0;
    parsec_wire_header_encode(&req, msg);
    memcpy(msg + sizeof(hdr), msg, sizeof(hdr));
    if (ka_lane_expect("two Pings at once", msg, 2 * sizeof(hdr), 2 * sizeof(hdr), 0, 0, 1) != 0)
        goto done;
    rc = 0;
done:
    ka_lane_close(&fd, &lane);
    return rc;
}

static int ka_fork(void)
{
    parsec_client *c = ka_client(1);
    unsigned long parent_sock, s[KA_MAX_SOCKETS];
    pid_t pid;
    int status, rc = 1;

    if (c == NULL || ka_ping(c) != 0)
        goto done;
    parent_sock = ka_one_socket("parent, before fork");
    if (parent_sock == 0)
        goto done;
    pid = fork();
    if (pid == 0) {
        int n;

        /* The child inherited the socket; its own request must go over a new one. */
        if (ka_ping(c) != 0)
            _exit(1);
        n = ka_sockets(s, KA_MAX_SOCKETS);
        for (int i = 0; i < n; i++)
            if (s[i] == parent_sock)
                _exit(ka_fail("the child still holds (or used) its parent's socket %lu",
                              parent_sock));
        if (n != 1)
            _exit(ka_fail("child: %d sockets open, expected its own kept one", n));
        if (ka_ping(c) != 0 || ka_one_socket("child, second Ping") != s[0])
            _exit(1);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        ka_fail("the child's requests failed");
        goto done;
    }
    /* The parent's connection is untouched by the child. */
    if (ka_ping(c) != 0 || ka_one_socket("parent, after the child") != parent_sock) {
        ka_fail("the parent lost its kept connection to the child");
        goto done;
    }
    rc = 0;
done:
    parsec_client_free(c);
    return rc;
}

/*
 * parsecd reads a connection's credentials when it is accepted, so a
 * process that changed its uid must not send on a connection its old uid
 * opened. Effective uid first (nobody may not even reach the socket, and
 * then the request fails; either way root's connection must be gone), then
 * the real one (the effective uid stays root, so the request is served).
 */
static int ka_uid(void)
{
    parsec_client *c = ka_client(1);
    unsigned long root_sock, again, s[KA_MAX_SOCKETS];
    uint8_t maj, min;
    int n, rc = 1;

    if (geteuid() != 0) {
        ka_fail("needs root to change its uid (uid %ld); run the suite as root, as .ci/run does",
                (long)geteuid());
        goto done;
    }
    if (c == NULL || ka_ping(c) != 0 || (root_sock = ka_one_socket("as root")) == 0)
        goto done;
    if (seteuid(65534) != 0) {
        ka_fail("seteuid(65534): %s", strerror(errno));
        goto done;
    }
    (void)parsec_ping(c, &maj, &min);
    n = ka_sockets(s, KA_MAX_SOCKETS);
    if (seteuid(0) != 0) {
        ka_fail("seteuid(0): %s", strerror(errno));
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (s[i] == root_sock) {
            ka_fail("with effective uid 65534 the client still held root's kept connection");
            goto done;
        }
    if (ka_ping(c) != 0 || (root_sock = ka_one_socket("as root again")) == 0)
        goto done;
    if (setreuid(65534, (uid_t)-1) != 0) {
        ka_fail("setreuid(65534, -1): %s", strerror(errno));
        goto done;
    }
    n = ka_ping(c);
    again = n == 0 ? ka_one_socket("with real uid 65534") : 0;
    if (setreuid(0, (uid_t)-1) != 0) {
        ka_fail("setreuid(0, -1): %s", strerror(errno));
        goto done;
    }
    if (again == 0)
        goto done;
    if (again == root_sock) {
        ka_fail("with real uid 65534 the client reused the connection opened with real uid 0");
        goto done;
    }
    rc = 0;
done:
    parsec_client_free(c);
    return rc;
}

static int ka_idle(unsigned int ms)
{
    parsec_client *c = ka_client(1);
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    unsigned long before, after;
    int rc = 1;

    if (c == NULL || ka_ping(c) != 0 || (before = ka_one_socket("first Ping")) == 0)
        goto done;
    nanosleep(&ts, NULL); /* parsecd closes the idle connection meanwhile */
    if (ka_ping(c) != 0) {
        ka_fail("the request after the service closed the idle connection failed");
        goto done;
    }
    after = ka_one_socket("Ping after the idle timeout");
    if (after == 0 || after == before) {
        ka_fail("expected a new connection after the idle timeout (before %lu, after %lu)", before,
                after);
        goto done;
    }
    rc = 0;
done:
    parsec_client_free(c);
    return rc;
}

typedef struct ka_thread_arg {
    parsec_client *c;
    int n;
    int failed;
    pthread_barrier_t *pinged;
    pthread_barrier_t *counted;
} ka_thread_arg;

static void *ka_thread(void *p)
{
    ka_thread_arg *a = p;

    for (int i = 0; i < a->n; i++)
        if (ka_ping(a->c) != 0)
            a->failed = 1;
    pthread_barrier_wait(a->pinged);  /* every thread holds its connection now */
    pthread_barrier_wait(a->counted); /* main has counted; exit (and close) */
    return NULL;
}

/* expect: connections held while every thread is alive (t, or 0 when the service keeps none). */
static int ka_threads(int t, int n, int expect)
{
    parsec_client *c = ka_client(1); /* one client object shared by every thread */
    pthread_barrier_t pinged, counted;
    pthread_t tid[KA_MAX_SOCKETS];
    ka_thread_arg args[KA_MAX_SOCKETS];
    unsigned long s[KA_MAX_SOCKETS];
    int open_during, open_after, rc = 1;

    if (c == NULL || t < 1 || t > KA_MAX_SOCKETS - 2)
        return ka_fail("bad arguments");
    pthread_barrier_init(&pinged, NULL, (unsigned)t + 1);
    pthread_barrier_init(&counted, NULL, (unsigned)t + 1);
    for (int i = 0; i < t; i++) {
        args[i] = (ka_thread_arg){c, n, 0, &pinged, &counted};
        pthread_create(&tid[i], NULL, ka_thread, &args[i]);
    }
    pthread_barrier_wait(&pinged);
    open_during = ka_sockets(s, KA_MAX_SOCKETS);
    pthread_barrier_wait(&counted);
    for (int i = 0; i < t; i++) {
        pthread_join(tid[i], NULL);
        if (args[i].failed)
            goto done;
    }
    open_after = ka_sockets(s, KA_MAX_SOCKETS);
    if (open_during != expect) {
        ka_fail("%d threads held %d sockets, expected %d", t, open_during, expect);
        goto done;
    }
    if (open_after != 0) {
        ka_fail("%d sockets still open after the threads exited", open_after);
        goto done;
    }
    rc = 0;
done:
    pthread_barrier_destroy(&pinged);
    pthread_barrier_destroy(&counted);
    parsec_client_free(c);
    return rc;
}

static int ka_pause(const char *ready, const char *go)
{
    parsec_client *c = ka_client(1);
    struct stat st;
    FILE *f;
    int rc = 1;

    if (c == NULL || ka_ping(c) != 0 || ka_one_socket("before the restart") == 0)
        goto done;
    f = fopen(ready, "w");
    if (f == NULL)
        goto done;
    fclose(f);
    for (int i = 0; i < 3000 && stat(go, &st) != 0; i++)
        usleep(10000);
    if (ka_ping(c) != 0) {
        ka_fail("the first request after the service restarted failed");
        goto done;
    }
    rc = 0;
done:
    parsec_client_free(c);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    if (strcmp(cmd, "reuse") == 0 && argc == 3)
        return ka_reuse(atoi(argv[2]));
    if (strcmp(cmd, "off") == 0 && argc == 3)
        return ka_off(atoi(argv[2]));
    if (strcmp(cmd, "fallback") == 0)
        return ka_fallback();
    if (strcmp(cmd, "lane") == 0)
        return ka_lane();
    if (strcmp(cmd, "wire") == 0)
        return ka_wire();
    if (strcmp(cmd, "stall") == 0)
        return ka_stall();
    if (strcmp(cmd, "fork") == 0)
        return ka_fork();
    if (strcmp(cmd, "uid") == 0)
        return ka_uid();
    if (strcmp(cmd, "idle") == 0 && argc == 3)
        return ka_idle((unsigned int)atoi(argv[2]));
    if (strcmp(cmd, "threads") == 0 && (argc == 4 || argc == 5))
        return ka_threads(atoi(argv[2]), atoi(argv[3]), argc == 5 ? atoi(argv[4]) : atoi(argv[2]));
    if (strcmp(cmd, "pause") == 0 && argc == 4)
        return ka_pause(argv[2], argv[3]);
    if (strcmp(cmd, "answers") == 0 && argc == 4)
        return ka_answers(atoi(argv[2]), atoi(argv[3]));
    if (strcmp(cmd, "hold") == 0 && argc == 4)
        return ka_hold(atoi(argv[2]), argv[3]);
    if (strcmp(cmd, "drop") == 0 && argc == 3)
        return ka_drop((unsigned int)atoi(argv[2]));
    fprintf(stderr,
            "usage: keepalive_client reuse N | off N | fallback | wire | stall | fork | uid | "
            "idle MS | lane | threads T N [K] | pause READY GO | answers N T | hold T READY | "
            "drop US\n");
    return 2;
}
