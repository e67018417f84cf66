/* SPDX-License-Identifier: Apache-2.0 */
/*
 * psd_slowclient: hostile and ordinary clients for slowclients.sh, against
 * $PARSEC_SERVICE_ENDPOINT (unix:PATH). The hostile modes run as long as
 * asked and open a new connection whenever parsecd closes one, so the
 * pressure never lets up; they print what parsecd did to them.
 *
 *   psd_slowclient trickle N MS SECONDS       N connections, each sending a Ping header one
 *                                             byte every MS (never a whole request)
 *   psd_slowclient idle N SECONDS             N connections that send nothing
 *   psd_slowclient keep-trickle N MS SECONDS  N connections kept by keep-alive (one Ping
 *                                             answered with the flag), then trickling the next
 *   psd_slowclient hold N SECONDS READY       N connections that send nothing, not reopened;
 *                                             READY is created once all are connected
 *   psd_slowclient keep-idle SECONDS          one connection kept by keep-alive, left idle:
 *                                             prints whether parsecd closed it meanwhile
 *   psd_slowclient raw-ping                   one Ping on a new connection; prints the status
 *   psd_slowclient pings N PAUSE_MS MAX_MS [keepalive]
 *                                             N Pings through libparsec-client, PAUSE_MS apart;
 *                                             fails if one fails or takes longer than MAX_MS
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "parsec_client.h"
#include "parsec_types.h"
#include "parsec_wire.h"

#define SC_MAX_CONNS 1024

typedef struct sc_conn {
    int fd;
    size_t sent;     /* bytes of the request sent so far */
    int64_t next_ms; /* time of the next byte */
} sc_conn;

typedef struct sc_stats {
    unsigned long opened, closed_by_service, refused_connect, not_kept;
} sc_stats;

static struct sockaddr_un sc_addr;

static int64_t sc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sc_endpoint(void)
{
    const char *ep = getenv("PARSEC_SERVICE_ENDPOINT");

    if (ep == NULL || strncmp(ep, "unix:", 5) != 0 || strlen(ep + 5) >= sizeof(sc_addr.sun_path)) {
        fprintf(stderr, "PARSEC_SERVICE_ENDPOINT must be unix:PATH\n");
        return -1;
    }
    memset(&sc_addr, 0, sizeof(sc_addr));
    sc_addr.sun_family = AF_UNIX;
    memcpy(sc_addr.sun_path, ep + 5, strlen(ep + 5) + 1);
    return 0;
}

/* A Ping as libparsec-client sends it (unix-peer auth), optionally asking for keep-alive. */
static void sc_ping_request(uint8_t out[PARSEC_WIRE_HEADER_SIZE + 4], int keepalive)
{
    parsec_wire_header h;
    uint32_t uid = (uint32_t)getuid();

    parsec_wire_request_init(&h, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, PARSEC_AUTH_UNIX_PEER, 0, 4);
    if (keepalive)
        h.flags = PARSEC_WIRE_FLAG_KEEPALIVE;
    parsec_wire_header_encode(&h, out);
    for (int i = 0; i < 4; i++)
        out[PARSEC_WIRE_HEADER_SIZE + i] = (uint8_t)(uid >> (8 * i));
}

/* Connect without waiting (a full backlog is not waited for); -1 if refused. */
static int sc_connect(int nonblock)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sc_addr, sizeof(sc_addr)) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static int sc_read_exact(int fd, uint8_t *buf, size_t len, int timeout_ms)
{
    size_t got = 0;
    int64_t deadline = sc_now_ms() + timeout_ms;

    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - sc_now_ms();
        ssize_t n;

        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
            return -1;
    }
    return 0;
}

/* A new hostile connection; keep-trickle first has one Ping answered with keep-alive. */
static int sc_open(sc_conn *c, int keep_first, sc_stats *st)
{
    uint8_t req[PARSEC_WIRE_HEADER_SIZE + 4], resp[PARSEC_WIRE_HEADER_SIZE + 64];
    parsec_wire_header h;

    c->fd = sc_connect(1);
    c->sent = 0;
    c->next_ms = sc_now_ms();
    if (c->fd < 0) {
        st->refused_connect++;
        return -1;
    }
    st->opened++;
    if (!keep_first)
        return 0;
    sc_ping_request(req, 1);
    if (send(c->fd, req, sizeof(req), MSG_NOSIGNAL) != (ssize_t)sizeof(req) ||
        sc_read_exact(c->fd, resp, PARSEC_WIRE_HEADER_SIZE, 5000) != 0)
        goto not_kept;
    parsec_wire_header_decode(resp, &h);
    if (!(h.flags & PARSEC_WIRE_FLAG_KEEPALIVE) || h.body_len > 64 ||
        sc_read_exact(c->fd, resp + PARSEC_WIRE_HEADER_SIZE, h.body_len, 5000) != 0)
        goto not_kept;
    return 0;
not_kept:
    st->not_kept++;
    close(c->fd);
    c->fd = -1;
    return -1;
}

/*
 * n hostile connections for `seconds`: a byte of a Ping request every
 * interval_ms (0: nothing at all), never the last one. Whenever parsecd
 * answers or closes one, it is replaced.
 */
static int sc_hostile(int n, int interval_ms, int seconds, int keep_first)
{
    static sc_conn conns[SC_MAX_CONNS];
    static struct pollfd pfds[SC_MAX_CONNS];
    uint8_t req[PARSEC_WIRE_HEADER_SIZE + 4];
    int64_t end = sc_now_ms() + (int64_t)seconds * 1000;
    sc_stats st = {0};

    if (n <= 0 || n > SC_MAX_CONNS)
        return 2;
    sc_ping_request(req, keep_first);
    for (int i = 0; i < n; i++)
        sc_open(&conns[i], keep_first, &st);
    while (sc_now_ms() < end) {
        int64_t now = sc_now_ms(), wake = end;

        for (int i = 0; i < n; i++) {
            sc_conn *c = &conns[i];

            if (c->fd < 0 && sc_open(c, keep_first, &st) != 0)
                continue;
            if (interval_ms > 0 && now >= c->next_ms) {
                /* Never the last byte: the request stays incomplete for as long as we like. */
                if (c->sent < sizeof(req) - 1 &&
                    send(c->fd, req + c->sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
                    c->sent++;
                c->next_ms = now + interval_ms;
            }
            if (interval_ms > 0 && c->next_ms < wake)
                wake = c->next_ms;
            pfds[i].fd = c->fd;
            pfds[i].events = POLLIN;
            pfds[i].revents = 0;
        }
        int64_t wait_ms = wake > now ? (wake - now > 100 ? 100 : wake - now) : 0;

        if (poll(pfds, (nfds_t)n, (int)wait_ms) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (conns[i].fd < 0 || pfds[i].revents == 0)
                continue;
            /* An answer (ConnectionError) or EOF: parsecd gave up on this one. */
            st.closed_by_service++;
            close(conns[i].fd);
            conns[i].fd = -1;
        }
    }
    for (int i = 0; i < n; i++)
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    printf("opened %lu connections, parsecd closed %lu, connect refused %lu, not kept %lu\n",
           st.opened, st.closed_by_service, st.refused_connect, st.not_kept);
    return 0;
}

static int sc_hold(int n, int seconds, const char *ready)
{
    static int fds[SC_MAX_CONNS];
    int held = 0;
    FILE *f;

    if (n <= 0 || n > SC_MAX_CONNS)
        return 2;
    for (int i = 0; i < n; i++) {
        fds[i] = sc_connect(1);
        held += fds[i] >= 0;
    }
    printf("held %d of %d connections\n", held, n);
    fflush(stdout);
    f = fopen(ready, "w");
    if (f != NULL)
        fclose(f);
    sleep((unsigned int)seconds);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return 0;
}

/* One kept connection, idle: did parsecd close it within `seconds`? */
static int sc_keep_idle(int seconds)
{
    sc_conn c;
    sc_stats st = {0};
    struct pollfd p;
    int64_t t0;

    if (sc_open(&c, 1, &st) != 0) {
        printf("no kept connection (connect refused %lu, not kept %lu)\n", st.refused_connect,
               st.not_kept);
        return 1;
    }
    t0 = sc_now_ms();
    p.fd = c.fd;
    p.events = POLLIN;
    if (poll(&p, 1, seconds * 1000) > 0)
        printf("kept connection closed by parsecd after %lld ms\n", (long long)(sc_now_ms() - t0));
    else
        printf("kept connection still open after %d s\n", seconds);
    close(c.fd);
    return 0;
}

/* One Ping on a new connection, read whatever comes back. */
static int sc_raw_ping(void)
{
    uint8_t req[PARSEC_WIRE_HEADER_SIZE + 4], resp[PARSEC_WIRE_HEADER_SIZE];
    parsec_wire_header h;
    int fd = sc_connect(0), rc = 1;

    if (fd < 0) {
        printf("connect: %s\n", strerror(errno));
        return 1;
    }
    sc_ping_request(req, 0);
    /* A refusal may come before the request is written: then only the answer counts. */
    (void)send(fd, req, sizeof(req), MSG_NOSIGNAL);
    if (sc_read_exact(fd, resp, sizeof(resp), 5000) != 0) {
        printf("no answer: %s\n", strerror(errno));
        goto done;
    }
    parsec_wire_header_decode(resp, &h);
    printf("status %s (%u)\n", parsec_status_name((parsec_status)h.status), h.status);
    rc = h.status == PARSEC_SUCCESS ? 0 : 1;
done:
    close(fd);
    return rc;
}

/* An ordinary client: each Ping must be answered within max_ms. */
static int sc_pings(int n, int pause_ms, int max_ms, int keepalive)
{
    parsec_client *c = parsec_client_new();
    struct timespec pause = {.tv_sec = pause_ms / 1000,
                             .tv_nsec = (long)(pause_ms % 1000) * 1000000};
    double worst = 0;
    int slow = 0, failed = 0;

    if (c == NULL)
        return 2;
    parsec_client_set_timeout(c, 10000);
    parsec_client_set_keepalive(c, keepalive);
    for (int i = 0; i < n; i++) {
        struct timespec t0, t1;
        uint8_t maj = 0, min = 0;
        parsec_status st;
        double ms;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        st = parsec_ping(c, &maj, &min);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms > worst)
            worst = ms;
        if (st != PARSEC_SUCCESS) {
            fprintf(stderr, "Ping %d failed: %s\n", i, parsec_status_name(st));
            failed++;
        } else if (ms > max_ms) {
            fprintf(stderr, "Ping %d took %.1f ms (more than %d ms)\n", i, ms, max_ms);
            slow++;
        }
        nanosleep(&pause, NULL);
    }
    parsec_client_free(c);
    printf("%d Pings, slowest %.1f ms, %d slower than %d ms, %d failed\n", n, worst, slow, max_ms,
           failed);
    return slow == 0 && failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    if (sc_endpoint() != 0)
        return 2;
    if (strcmp(cmd, "trickle") == 0 && argc == 5)
        return sc_hostile(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), 0);
    if (strcmp(cmd, "idle") == 0 && argc == 4)
        return sc_hostile(atoi(argv[2]), 0, atoi(argv[3]), 0);
    if (strcmp(cmd, "keep-trickle") == 0 && argc == 5)
        return sc_hostile(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), 1);
    if (strcmp(cmd, "hold") == 0 && argc == 5)
        return sc_hold(atoi(argv[2]), atoi(argv[3]), argv[4]);
    if (strcmp(cmd, "keep-idle") == 0 && argc == 3)
        return sc_keep_idle(atoi(argv[2]));
    if (strcmp(cmd, "raw-ping") == 0)
        return sc_raw_ping();
    if (strcmp(cmd, "pings") == 0 && (argc == 5 || argc == 6))
        return sc_pings(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]),
                        argc == 6 && strcmp(argv[5], "keepalive") == 0);
    fprintf(stderr, "usage: psd_slowclient trickle N MS SECONDS | idle N SECONDS | "
                    "keep-trickle N MS SECONDS | hold N SECONDS READY | keep-idle SECONDS | "
                    "raw-ping | pings N PAUSE_MS MAX_MS [keepalive]\n");
    return 2;
}
