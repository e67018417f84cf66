/*
 * One request: read and validate it in the reference service's order
 * (docs/wire-protocol.md §1.2), authenticate, route it to the core or a
 * backend, answer. The connection then closes, as the reference's does,
 * unless the request asked for keep-alive and the listener has room to keep
 * it (docs/protocol-extensions.md).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "parsec_pb_text.h"
#include "parsec_wire.h"
#include "psd_service.h"

typedef enum psd_io {
    PSD_IO_OK = 0,
    PSD_IO_ERROR = -1, /* timeout, reset, or EOF part-way */
    PSD_IO_EOF = 1,    /* peer closed before sending anything */
} psd_io;

/* Most requests fit: header, body and auth usually arrive in one read. */
#define PSD_FIRST_READ 4096
/* Larger responses may not fit the socket buffer: only they need a send timeout. */
#define PSD_SEND_TIMEOUT_ABOVE (16 * 1024)

typedef struct psd_conn {
    int fd;
    unsigned int timeout_ms;
    int rcvtimeo_set;
} psd_conn;

static void psd_set_timeout(const psd_conn *c, int opt)
{
    struct timeval tv = {.tv_sec = c->timeout_ms / 1000,
                         .tv_usec = (suseconds_t)(c->timeout_ms % 1000) * 1000};

    if (c->timeout_ms > 0)
        setsockopt(c->fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/*
 * At least one byte. A client normally writes its request before we even
 * accept it, so try without blocking first; only a slow client costs the
 * system call that arms the read timeout.
 */
static psd_io psd_recv_some(psd_conn *c, uint8_t *buf, size_t len, size_t *got)
{
    for (;;) {
        ssize_t r = recv(c->fd, buf, len, c->rcvtimeo_set ? 0 : MSG_DONTWAIT);

        if (r > 0) {
            *got = (size_t)r;
            return PSD_IO_OK;
        }
        if (r == 0)
            return PSD_IO_EOF;
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && !c->rcvtimeo_set) {
            psd_set_timeout(c, SO_RCVTIMEO);
            c->rcvtimeo_set = 1;
            continue;
        }
        return PSD_IO_ERROR;
    }
}

static psd_io psd_read_full(psd_conn *c, uint8_t *buf, size_t len)
{
    size_t got = 0, n;

    while (got < len) {
        psd_io io = psd_recv_some(c, buf + got, len - got, &n);

        if (io != PSD_IO_OK)
            return io == PSD_IO_EOF && got > 0 ? PSD_IO_ERROR : io;
        got += n;
    }
    return PSD_IO_OK;
}

/* Read into buf until it holds at least want bytes (it may get more, up to cap). */
static psd_io psd_fill(psd_conn *c, uint8_t *buf, size_t cap, size_t *have, size_t want)
{
    size_t n;

    while (*have < want) {
        psd_io io = psd_recv_some(c, buf + *have, cap - *have, &n);

        if (io != PSD_IO_OK)
            return io == PSD_IO_EOF && *have > 0 ? PSD_IO_ERROR : io;
        *have += n;
    }
    return PSD_IO_OK;
}

/* An oversized header: consume it up to byte `total` of the request (contents unused). */
static psd_io psd_skip_to(psd_conn *c, uint8_t *buf, size_t cap, size_t *have, size_t total)
{
    size_t n;

    while (*have < total) {
        size_t want = total - *have < cap ? total - *have : cap;

        if (psd_recv_some(c, buf, want, &n) != PSD_IO_OK)
            return PSD_IO_ERROR;
        *have += n;
    }
    return PSD_IO_OK;
}

/*
 * Header and body in one send when possible; MSG_NOSIGNAL: a vanished peer
 * is not fatal. 0 once everything is sent, -1 otherwise.
 */
static int psd_send_response(const psd_conn *c, const parsec_wire_header *resp,
                             const uint8_t *body)
{
    uint8_t hdr[PARSEC_WIRE_HEADER_SIZE];
    struct iovec iov[2];
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = body != NULL ? 2 : 1};
    size_t left = PARSEC_WIRE_HEADER_SIZE + (body != NULL ? resp->body_len : 0);

    if (left > PSD_SEND_TIMEOUT_ABOVE)
        psd_set_timeout(c, SO_SNDTIMEO);
    parsec_wire_header_encode(resp, hdr);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = (void *)body;
    iov[1].iov_len = body != NULL ? resp->body_len : 0;
    while (left > 0) {
        ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        left -= (size_t)w;
        while (w > 0 && msg.msg_iovlen > 0) {
            size_t step = (size_t)w < msg.msg_iov->iov_len ? (size_t)w : msg.msg_iov->iov_len;

            msg.msg_iov->iov_base = (uint8_t *)msg.msg_iov->iov_base + step;
            msg.msg_iov->iov_len -= step;
            w -= (ssize_t)step;
            if (msg.msg_iov->iov_len == 0) {
                msg.msg_iov++;
                msg.msg_iovlen--;
            }
        }
    }
    return 0;
}

/* An error found before a request header existed (steps 1-7). */
static void psd_send_status(const psd_conn *c, parsec_status status)
{
    parsec_wire_header resp;

    if (psd_log_enabled(PSD_LOG_DEBUG))
        psd_log(PSD_LOG_DEBUG, "request refused before decoding: %s (%u)",
                parsec_status_name(status), (unsigned int)status);

    parsec_wire_response_for_status(&resp, (uint16_t)status);
    (void)psd_send_response(c, &resp, NULL);
}


/* Step 8: the configured authenticator turns the auth field into an identity. */
static parsec_status psd_authenticate(const psd_config *cfg, int fd, psd_peer *peer,
                                      const parsec_wire_header *h, const uint8_t *auth,
                                      psd_identity *id)
{
    if (h->auth_type == PARSEC_AUTH_NONE)
        return PARSEC_SUCCESS;
    if (h->auth_type != cfg->auth_type)
        return PARSEC_AUTHENTICATOR_NOT_REGISTERED;
    if (cfg->auth_type == PARSEC_AUTH_UNIX_PEER) {
        struct ucred cred;
        socklen_t len = sizeof(cred);
        uint32_t claimed;

        if (h->auth_len != 4)
            return PARSEC_AUTHENTICATION_ERROR;
        claimed = (uint32_t)auth[0] | (uint32_t)auth[1] << 8 | (uint32_t)auth[2] << 16 |
                  (uint32_t)auth[3] << 24;
        /* Credentials are the connecting process's: one look per connection is enough. */
        if (!peer->have_uid) {
            if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
                return PARSEC_AUTHENTICATION_ERROR;
            peer->uid = cred.uid;
            snprintf(peer->app, sizeof(peer->app), "%u", (unsigned int)cred.uid);
            peer->admin = psd_config_is_admin(cfg, peer->app);
            peer->have_uid = 1;
        }
        if (claimed != peer->uid)
            return PARSEC_AUTHENTICATION_ERROR;
        id->app = peer->app; /* borrowed from the connection: not freed with the request */
        id->authenticated = 1;
        id->auth_type = cfg->auth_type;
        id->admin = peer->admin;
        return PARSEC_SUCCESS;
    } else {
        /* Direct: the application name itself; NUL would let two names collide. */
        if (h->auth_len == 0 || memchr(auth, 0, h->auth_len) != NULL ||
            !parsec_utf8_valid(auth, h->auth_len))
            return PARSEC_AUTHENTICATION_ERROR;
        id->app = malloc((size_t)h->auth_len + 1);
        if (id->app == NULL)
            return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        memcpy(id->app, auth, h->auth_len);
        id->app[h->auth_len] = '\0';
    }
    id->authenticated = 1;
    id->auth_type = cfg->auth_type;
    id->admin = psd_config_is_admin(cfg, id->app);
    return PARSEC_SUCCESS;
}

/* Steps 8-14 on a well-formed request; the answer body (if any) goes to *resp. */
static parsec_status psd_process(psd_service *svc, int fd, psd_peer *peer,
                                 const parsec_wire_header *h, const uint8_t *body,
                                 const uint8_t *auth, psd_identity *id, psd_buf *resp)
{
    psd_request rq = {.svc = svc, .id = id, .opcode = h->opcode, .body = body,
                      .body_len = h->body_len};
    int core_op = parsec_opcode_is_core(h->opcode);
    parsec_status st;

    st = psd_authenticate(svc->cfg, fd, peer, h, auth, id);
    if (st != PARSEC_SUCCESS)
        return st;
    if (h->provider != PARSEC_PROVIDER_CORE) {
        rq.prov = psd_service_provider(svc, h->provider);
        if (rq.prov == NULL)
            return PARSEC_PROVIDER_NOT_REGISTERED;
    }
    if (core_op != (h->provider == PARSEC_PROVIDER_CORE))
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    if (parsec_opcode_is_admin(h->opcode)) {
        if (!id->authenticated)
            return PARSEC_NOT_AUTHENTICATED;
        if (!id->admin)
            return PARSEC_ADMIN_OPERATION;
    }
    return core_op ? psd_core_dispatch(&rq, resp) : psd_keys_dispatch(&rq, resp);
}

static double psd_elapsed_us(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e6 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e3;
}

void psd_handle_connection(psd_service *svc, int fd)
{
    psd_peer peer = {0};

    psd_serve_request(svc, fd, &peer, NULL, NULL);
    close(fd);
}

int psd_serve_request(psd_service *svc, int fd, psd_peer *peer, psd_keep_fn keep, void *keep_arg)
{
    const psd_config *cfg = svc->cfg;
    psd_conn conn = {.fd = fd, .timeout_ms = cfg->timeout_ms};
    uint8_t first[PSD_FIRST_READ];
    parsec_wire_header h, rh;
    psd_identity id = {0};
    psd_buf resp = {0};
    uint8_t *payload = NULL;
    size_t have = 0, payload_len = 0, extra;
    uint16_t hdr_size;
    struct timespec t0;
    parsec_status st;
    psd_io io;
    int kept = 0;

    if (psd_log_enabled(PSD_LOG_DEBUG))
        clock_gettime(CLOCK_MONOTONIC, &t0);
    /* 1. magic, judged as soon as its 4 bytes are in */
    io = psd_fill(&conn, first, sizeof(first), &have, 4);
    if (io == PSD_IO_EOF)
        goto done; /* a probe: connected and left */
    if (io != PSD_IO_OK) {
        psd_send_status(&conn, PARSEC_CONNECTION_ERROR);
        goto done;
    }
    if (((uint32_t)first[0] | (uint32_t)first[1] << 8 | (uint32_t)first[2] << 16 |
         (uint32_t)first[3] << 24) != PARSEC_WIRE_MAGIC) {
        psd_send_status(&conn, PARSEC_INVALID_HEADER);
        goto done;
    }
    /* 2. hdr_size, then exactly that many bytes before judging it */
    if (psd_fill(&conn, first, sizeof(first), &have, 6) != PSD_IO_OK) {
        psd_send_status(&conn, PARSEC_CONNECTION_ERROR);
        goto done;
    }
    hdr_size = (uint16_t)(first[4] | first[5] << 8);
    if (psd_fill(&conn, first, sizeof(first), &have,
                 6 + (size_t)(hdr_size < 30 ? hdr_size : 30)) != PSD_IO_OK ||
        (hdr_size > 30 && psd_skip_to(&conn, first, sizeof(first), &have, 6 + (size_t)hdr_size) !=
                              PSD_IO_OK)) {
        psd_send_status(&conn, PARSEC_CONNECTION_ERROR);
        goto done;
    }
    if (hdr_size != PARSEC_WIRE_HDR_SIZE_FIELD) {
        psd_send_status(&conn, PARSEC_INVALID_HEADER);
        goto done;
    }
    parsec_wire_header_decode(first, &h);
    /* 3-5. version, reserved bytes, body_len (refused before reading any body) */
    st = parsec_wire_header_validate(&h, cfg->body_len_limit);
    if (st != PARSEC_SUCCESS) {
        psd_send_status(&conn, st);
        goto done;
    }
    /* 6. body then auth (part of them may have come with the header) */
    payload_len = (size_t)h.body_len + h.auth_len;
    extra = have - PARSEC_WIRE_HEADER_SIZE;
    if (extra > payload_len)
        extra = payload_len; /* bytes past this request are never read as part of it */
    if (extra == payload_len) {
        payload = first + PARSEC_WIRE_HEADER_SIZE; /* all here already: no copy */
    } else {
        payload = OPENSSL_malloc(payload_len);
        if (payload == NULL) {
            psd_send_status(&conn, PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY);
            goto done;
        }
        memcpy(payload, first + PARSEC_WIRE_HEADER_SIZE, extra);
    }
    if (extra < payload_len && psd_read_full(&conn, payload + extra, payload_len - extra) != PSD_IO_OK) {
        psd_send_status(&conn, PARSEC_CONNECTION_ERROR);
        goto done;
    }
    /* 7. field values */
    st = parsec_wire_request_check(&h);
    if (st != PARSEC_SUCCESS) {
        psd_send_status(&conn, st);
        goto done;
    }
    /* 8-14 */
    st = psd_process(svc, fd, peer, &h, payload, payload + h.body_len, &id, &resp);
    if (st != PARSEC_SUCCESS)
        psd_buf_clear(&resp);
    parsec_wire_response_init(&rh, &h, (uint16_t)st, (uint32_t)resp.len);
    /*
     * Keep-alive only when asked for (so answers to every other client
     * keep flags 0, as the reference's do) and when nothing past this
     * request was read: requests are not pipelined.
     */
    if ((h.flags & PARSEC_WIRE_FLAG_KEEPALIVE) && keep != NULL &&
        have <= PARSEC_WIRE_HEADER_SIZE + payload_len && keep(keep_arg)) {
        rh.flags = PARSEC_WIRE_FLAG_KEEPALIVE;
        kept = 1;
    }
    if (psd_send_response(&conn, &rh, resp.len > 0 ? resp.data : NULL) != 0)
        kept = 0;
    if (psd_log_enabled(PSD_LOG_DEBUG))
        psd_log(PSD_LOG_DEBUG, "%s provider=%u auth=%u app=%s -> %s (%u) %.0f us",
                parsec_opcode_name(h.opcode), h.provider, h.auth_type,
                id.app != NULL ? id.app : "-", parsec_status_name(st), (unsigned int)st,
                psd_elapsed_us(&t0));
done:
    /* The first read may hold key material (ImportKey data, plaintext). */
    OPENSSL_cleanse(first, have < sizeof(first) ? have : sizeof(first));
    psd_buf_clear(&resp);
    if (payload != first + PARSEC_WIRE_HEADER_SIZE)
        OPENSSL_clear_free(payload, payload_len);
    if (id.app != peer->app)
        free(id.app);
    return kept;
}
