/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ping_bench: Pings through libparsec-client (parsec_ping, one connection
 * per request unless --keepalive), against the service at
 * $PARSEC_SERVICE_ENDPOINT or, with --minimal-server, against a minimal
 * C server forked for the purpose: worker threads blocked in accept(),
 * read one request, write a fixed Ping answer, close. That server is the
 * ceiling of the one-connection-per-request protocol on this machine.
 *
 *   ping_bench [--minimal-server] [--keepalive] [--threads 1,2] [--seconds 1]
 *              [--iterations N] [--op LABEL] [--path LABEL]
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_harness.h"
#include "parsec_client.h"
#include "parsec_wire.h"
#include "ping.pb-c.h"

#define MS_THREADS 4

typedef struct pingb_config {
    char endpoint[128];
    int keepalive;
} pingb_config;

static void *pingb_thread_init(void *arg, unsigned int index)
{
    const pingb_config *cfg = arg;
    parsec_client *c = parsec_client_new();

    if (c == NULL || parsec_client_set_endpoint(c, cfg->endpoint) != PARSEC_SUCCESS) {
        bench_fail("bad endpoint %s", cfg->endpoint);
        parsec_client_free(c);
        return NULL;
    }
    parsec_client_set_timeout(c, 10000);
    parsec_client_set_keepalive(c, cfg->keepalive);
    return c;
}

static int pingb_run(void *state)
{
    uint8_t maj = 0, min = 0;

    return parsec_ping(state, &maj, &min) == PARSEC_SUCCESS && maj == 1;
}

static void pingb_thread_free(void *state)
{
    parsec_client_free(state);
}

/* ---- the minimal server ---- */

typedef struct ms_server {
    int fd;
    uint8_t answer[PARSEC_WIRE_HEADER_SIZE + 16];
    size_t answer_len;
} ms_server;

static int ms_read_exact(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);

        if (n > 0)
            got += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            return 0;
    }
    return 1;
}

static void *ms_worker(void *arg)
{
    ms_server *ms = arg;
    uint8_t buf[4096];

    for (;;) {
        int fd = accept4(ms->fd, NULL, NULL, SOCK_CLOEXEC);
        parsec_wire_header h;
        size_t rest;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;
        }
        if (ms_read_exact(fd, buf, PARSEC_WIRE_HEADER_SIZE)) {
            parsec_wire_header_decode(buf, &h);
            rest = (size_t)h.body_len + h.auth_len;
            if (rest <= sizeof(buf) && ms_read_exact(fd, buf, rest))
                (void)!send(fd, ms->answer, ms->answer_len, MSG_NOSIGNAL);
        }
        close(fd);
    }
}

/* Fork the server; it lives until killed. Returns its PID, -1 on failure. */
static pid_t ms_start(char *endpoint, size_t cap)
{
    Ping__Result res = PING__RESULT__INIT;
    parsec_wire_header req, resp;
    struct sockaddr_un sa;
    ms_server ms;
    pthread_t tid[MS_THREADS];
    pid_t pid;
    int ready[2];
    char ok = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    {
        const char *tmp = getenv("TMPDIR");

        if (tmp == NULL || *tmp == '\0')
            tmp = "/tmp";
        if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ping-bench-%ld.sock", tmp,
                             (long)getpid()) >= sizeof(sa.sun_path)) {
            fprintf(stderr, "ping_bench: TMPDIR '%s' is too long for a Unix socket path\n", tmp);
            return -1;
        }
    }
    snprintf(endpoint, cap, "unix:%s", sa.sun_path);
    unlink(sa.sun_path);
    if (pipe(ready) != 0)
        return -1;
    pid = fork();
    if (pid != 0) {
        close(ready[1]);
        if (pid < 0 || read(ready[0], &ok, 1) != 1 || ok != 1) {
            close(ready[0]);
            return -1;
        }
        close(ready[0]);
        return pid;
    }
    close(ready[0]);
    res.wire_protocol_version_maj = 1;
    parsec_wire_request_init(&req, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, 0, 0, 0);
    parsec_wire_response_init(&resp, &req, PARSEC_SUCCESS,
                              (uint32_t)ping__result__get_packed_size(&res));
    parsec_wire_header_encode(&resp, ms.answer);
    ms.answer_len =
        PARSEC_WIRE_HEADER_SIZE + ping__result__pack(&res, ms.answer + PARSEC_WIRE_HEADER_SIZE);
    ms.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ms.fd < 0 || bind(ms.fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(ms.fd, SOMAXCONN) != 0)
        _exit(1);
    for (int i = 0; i < MS_THREADS; i++)
        if (pthread_create(&tid[i], NULL, ms_worker, &ms) != 0)
            _exit(1);
    ok = 1;
    (void)!write(ready[1], &ok, 1);
    close(ready[1]);
    pthread_join(tid[0], NULL);
    _exit(0);
}

static void pingb_usage(void)
{
    fprintf(stderr,
            "usage: ping_bench [--minimal-server] [--keepalive] [--threads 1,2] [--seconds S]\n"
            "                  [--iterations N] [--op LABEL] [--path LABEL] [--cpu-pid PID]\n");
}

int main(int argc, char **argv)
{
    bench_settings set;
    pingb_config cfg;
    bench_op op = {
        .thread_init = pingb_thread_init, .run = pingb_run, .thread_free = pingb_thread_free};
    const char *env = getenv(PARSEC_ENDPOINT_ENV);
    int minimal = 0, rc;
    pid_t server = -1;

    memset(&cfg, 0, sizeof(cfg));
    bench_settings_init(&set);
    for (int i = 1; i < argc; i++) {
        int r = bench_settings_option(&set, argc, argv, &i);

        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--minimal-server") == 0) {
            minimal = 1;
        } else if (strcmp(argv[i], "--keepalive") == 0) {
            cfg.keepalive = 1;
        } else {
            pingb_usage();
            return 2;
        }
    }
    if (minimal) {
        server = ms_start(cfg.endpoint, sizeof(cfg.endpoint));
        if (server < 0) {
            bench_fail("cannot start the minimal server");
            return 1;
        }
        /* The server is half of the baseline's work, as parsecd is of the compared path's. */
        if (bench_settings_watch_pid(&set, server) != 0) {
            bench_fail("too many --cpu-pid options to also count the minimal server");
            kill(server, SIGKILL);
            waitpid(server, NULL, 0);
            return 2;
        }
    } else {
        snprintf(cfg.endpoint, sizeof(cfg.endpoint), "%s",
                 env != NULL && *env != '\0' ? env : PARSEC_DEFAULT_ENDPOINT);
    }
    op.arg = &cfg;
    rc = bench_run_all(&set, &op);
    if (server > 0) {
        kill(server, SIGKILL);
        waitpid(server, NULL, 0);
        unlink(cfg.endpoint + 5);
    }
    return rc;
}
