/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scripted fake Parsec service for client tests (see fake_server.h).
 */
#include "fake_server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "parsec_wire.h"

#define FAKE_MAX_REQUEST ((1u << 20) + 65536 + PARSEC_WIRE_HEADER_SIZE)

struct fake_capture {
    uint8_t *data;
    size_t len;
};

struct fake_server {
    char dir[96]; /* with "/parsec.sock", at most a Unix socket path */
    char path[108];
    char uri[116];
    int listen_fd;
    const fake_reply *replies;
    size_t n_replies;
    size_t n_conns;
    size_t served;
    struct fake_capture *captures;
    size_t n_captures;
    atomic_int stop; /* set by fake_server_stop, read by the server thread */
    pthread_t thread;
};

static int fake_read_exact(int fd, uint8_t *buf, size_t len)
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
        return 0;
    }
    return 1;
}

static void fake_write_all(int fd, const uint8_t *buf, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return; /* the client went away (timeouts, oversized tests) */
    }
}

/* Reads header + body + auth as the header announces; returns the bytes read. */
static struct fake_capture fake_read_request(int fd, parsec_wire_header *hdr)
{
    struct fake_capture cap = {NULL, 0};
    size_t total;

    cap.data = malloc(PARSEC_WIRE_HEADER_SIZE);
    if (cap.data == NULL || !fake_read_exact(fd, cap.data, PARSEC_WIRE_HEADER_SIZE))
        return cap;
    cap.len = PARSEC_WIRE_HEADER_SIZE;
    parsec_wire_header_decode(cap.data, hdr);
    total = PARSEC_WIRE_HEADER_SIZE + (size_t)hdr->body_len + hdr->auth_len;
    if (total > FAKE_MAX_REQUEST)
        return cap;
    {
        uint8_t *grown = realloc(cap.data, total);
        if (grown == NULL)
            return cap;
        cap.data = grown;
    }
    if (fake_read_exact(fd, cap.data + PARSEC_WIRE_HEADER_SIZE, total - PARSEC_WIRE_HEADER_SIZE))
        cap.len = total;
    return cap;
}

static void fake_serve_one(fake_server *s, int fd)
{
    const fake_reply *r = &s->replies[s->served % s->n_replies];
    parsec_wire_header req;
    struct fake_capture cap;
    struct fake_capture *grown;

    memset(&req, 0, sizeof(req));
    cap = fake_read_request(fd, &req);
    grown = realloc(s->captures, (s->n_captures + 1) * sizeof(*grown));
    if (grown != NULL) {
        s->captures = grown;
        s->captures[s->n_captures++] = cap;
    } else {
        free(cap.data);
    }
    if (r->delay_ms > 0) {
        struct timespec ts = {r->delay_ms / 1000, (long)(r->delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (r->bytes != NULL) {
        fake_write_all(fd, r->bytes, r->len);
    } else if (r->mirror) {
        parsec_wire_header resp;
        uint8_t out[PARSEC_WIRE_HEADER_SIZE];
        parsec_wire_response_init(&resp, &req, PARSEC_SUCCESS, 0);
        parsec_wire_header_encode(&resp, out);
        fake_write_all(fd, out, sizeof(out));
    }
}

static void *fake_thread(void *arg)
{
    fake_server *s = arg;
    for (;;) {
        struct pollfd pfd = {.fd = s->listen_fd, .events = POLLIN, .revents = 0};
        int fd;
        if (s->n_conns > 0 && s->served >= s->n_conns)
            break;
        if (poll(&pfd, 1, 50) <= 0) {
            if (s->stop)
                break;
            continue;
        }
        fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        fake_serve_one(s, fd);
        close(fd);
        s->served++;
    }
    return NULL;
}

fake_server *fake_server_start(const fake_reply *replies, size_t n_replies, size_t n_conns)
{
    fake_server *s = calloc(1, sizeof(*s));
    struct sockaddr_un addr;
    const char *tmp;

    if (s == NULL || n_replies == 0)
        goto fail;
    s->listen_fd = -1;
    s->replies = replies;
    s->n_replies = n_replies;
    s->n_conns = n_conns;
    tmp = getenv("TMPDIR");
    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    if (strlen(tmp) + sizeof("/parsec-fake.XXXXXX") > sizeof(s->dir))
        goto fail;
    snprintf(s->dir, sizeof(s->dir), "%s/parsec-fake.XXXXXX", tmp);
    if (mkdtemp(s->dir) == NULL)
        goto fail;
    snprintf(s->path, sizeof(s->path), "%s/parsec.sock", s->dir);
    snprintf(s->uri, sizeof(s->uri), "unix:%s", s->path);
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0)
        goto fail;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, s->path, sizeof(s->path));
    if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(s->listen_fd, 64) != 0)
        goto fail;
    if (pthread_create(&s->thread, NULL, fake_thread, s) != 0)
        goto fail;
    return s;
fail:
    if (s != NULL) {
        if (s->listen_fd >= 0)
            close(s->listen_fd);
        if (s->path[0])
            unlink(s->path);
        if (s->dir[0])
            rmdir(s->dir);
        free(s);
    }
    return NULL;
}

const char *fake_server_uri(const fake_server *s)
{
    return s->uri;
}

size_t fake_server_stop(fake_server *s)
{
    if (s->listen_fd < 0)
        return s->served;
    s->stop = 1;
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    s->listen_fd = -1;
    unlink(s->path);
    rmdir(s->dir);
    return s->served;
}

const uint8_t *fake_server_request(const fake_server *s, size_t i, size_t *len)
{
    if (i >= s->n_captures) {
        *len = 0;
        return NULL;
    }
    *len = s->captures[i].len;
    return s->captures[i].data;
}

void fake_server_free(fake_server *s)
{
    if (s == NULL)
        return;
    fake_server_stop(s);
    for (size_t i = 0; i < s->n_captures; i++)
        free(s->captures[i].data);
    free(s->captures);
    free(s);
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*hex) {
        int hi, lo;
        if (*hex == ' ') {
            hex++;
            continue;
        }
        hi = hex_nibble(hex[0]);
        lo = hex[1] ? hex_nibble(hex[1]) : -1;
        if (hi < 0 || lo < 0 || n >= cap) {
            fprintf(stderr, "bad hex vector\n");
            abort();
        }
        out[n++] = (uint8_t)(hi << 4 | lo);
        hex += 2;
    }
    return n;
}

uint8_t *hex_decode_alloc(const char *hex, size_t *len)
{
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *out = malloc(cap);
    if (out == NULL)
        abort();
    *len = hex_decode(hex, out, cap);
    return out;
}
