/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One request: read and validate it in the reference service's order
 * (docs/wire-protocol.md §1.2), authenticate, route it to the core or a
 * backend, answer. The connection then closes, as the reference's does,
 * unless the request asked for keep-alive and the listener has room to keep
 * it (docs/protocol-extensions.md).
 *
 * A request is read without ever blocking (psd_reader_fill): what is there
 * is judged at once, and a connection whose request is incomplete waits on
 * the listener's epoll set, not in a thread, with one deadline for the whole
 * request from its first byte (a client sending a byte at a time cannot
 * stretch it). Answers are sent within timeout_ms in all.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "parsec_lane.h"
#include "parsec_pb_text.h"
#include "parsec_wire.h"
#include "psd_service.h"

/* A waiting request's buffer grows with what arrives (doubling), never ahead of it. */
#define PSD_READ_GROW_MIN 256

/* Wait for events on fd until deadline_ms (monotonic; -1: forever). 0 when ready. */
static int psd_poll_until(int fd, short events, int64_t deadline_ms)
{
    struct pollfd pfd = {.fd = fd, .events = events};

    for (;;) {
        int64_t left = deadline_ms < 0 ? -1 : deadline_ms - psd_monotonic_ms();
        int rc;

        if (deadline_ms >= 0 && left <= 0)
            return -1;
        rc = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (rc > 0)
            return 0;
        if (rc == 0 || errno != EINTR)
            return -1;
    }
}

/*
 * Header and body in one send when possible; MSG_NOSIGNAL: a vanished peer
 * is not fatal. wait_ms bounds the whole send (a peer that reads its answer
 * a byte at a time cannot hold the thread longer): -1 forever, 0 no waiting
 * at all. pass_fd (>= 0) goes with the first byte (SCM_RIGHTS). With a
 * lane, the answer goes through it if the client is watching and it fits.
 * 0 once everything is sent, -1 otherwise.
 */
static int psd_send_response(int fd, long wait_ms, const parsec_wire_header *resp,
                             const uint8_t *body, parsec_lane *lane, int pass_fd)
{
    uint8_t hdr[PARSEC_WIRE_HEADER_SIZE];
    struct iovec iov[2];
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = body != NULL ? 2 : 1};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    size_t left = PARSEC_WIRE_HEADER_SIZE + (body != NULL ? resp->body_len : 0);
    int64_t deadline = 0; /* set at the first wait: the common answer never needs the clock */

    parsec_wire_header_encode(resp, hdr);
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = (void *)body;
    iov[1].iov_len = body != NULL ? resp->body_len : 0;
    if (lane != NULL &&
        parsec_lane_put(&lane->response, lane->response_area, iov, (int)msg.msg_iovlen))
        return 0;
    if (pass_fd >= 0) {
        struct cmsghdr *cm;

        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof(ctl.buf);
        cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
    }
    while (left > 0) {
        ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_ms != 0) {
            if (deadline == 0)
                deadline = wait_ms < 0 ? -1 : psd_monotonic_ms() + wait_ms;
            if (psd_poll_until(fd, POLLOUT, deadline) != 0)
                return -1;
            continue;
        }
        if (w <= 0)
            return -1;
        msg.msg_control = NULL; /* the descriptor went with the first bytes */
        msg.msg_controllen = 0;
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
    if (lane != NULL)
        parsec_lane_sent_on_socket(&lane->response); /* a client watching the lane looks here */
    return 0;
}

static long psd_send_wait_ms(const psd_config *cfg)
{
    return cfg->timeout_ms > 0 ? (long)cfg->timeout_ms : -1;
}

/* An error found before a request header existed (steps 1-7); never waits for the peer. */
void psd_send_refusal(int fd, parsec_status status)
{
    parsec_wire_header resp;

    if (psd_log_enabled(PSD_LOG_DEBUG))
        psd_log(PSD_LOG_DEBUG, "request refused before decoding: %s (%u)",
                parsec_status_name(status), (unsigned int)status);

    parsec_wire_response_for_status(&resp, (uint16_t)status);
    (void)psd_send_response(fd, 0, &resp, NULL, NULL, -1);
}

/* ---- reading a request as it arrives ---- */

/*
 * What the bytes so far say, in the reference's order (docs/wire-protocol.md
 * §1.2, steps 1-5): an error status, or how many bytes the request
 * has at least (*need; the request is whole once that many are in). *skip:
 * a header of the wrong size, consumed in full before it is refused.
 */
static parsec_status psd_reader_judge(const psd_config *cfg, const psd_reader *rd, size_t *need,
                                      int *skip)
{
    const uint8_t *b = rd->buf;
    parsec_wire_header h;
    uint16_t hdr_size;
    parsec_status st;

    *skip = 0;
    /* 1. magic, judged as soon as its 4 bytes are in */
    if (rd->have < 4) {
        *need = 4;
        return PARSEC_SUCCESS;
    }
    if (((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24) !=
        PARSEC_WIRE_MAGIC)
        return PARSEC_INVALID_HEADER;
    /* 2. hdr_size, then exactly that many bytes before judging it */
    if (rd->have < 6) {
        *need = 6;
        return PARSEC_SUCCESS;
    }
    hdr_size = (uint16_t)(b[4] | b[5] << 8);
    if (hdr_size != PARSEC_WIRE_HDR_SIZE_FIELD) {
        *need = 6 + (size_t)hdr_size;
        *skip = 1;
        return rd->have >= *need ? PARSEC_INVALID_HEADER : PARSEC_SUCCESS;
    }
    if (rd->have < PARSEC_WIRE_HEADER_SIZE) {
        *need = PARSEC_WIRE_HEADER_SIZE;
        return PARSEC_SUCCESS;
    }
    /* 3-5. version, reserved bytes, body_len (refused before reading any body) */
    parsec_wire_header_decode(b, &h);
    st = parsec_wire_header_validate(&h, cfg->body_len_limit);
    if (st != PARSEC_SUCCESS)
        return st;
    /* 6. body then auth */
    *need = PARSEC_WIRE_HEADER_SIZE + (size_t)h.body_len + h.auth_len;
    return PARSEC_SUCCESS;
}

/* Room for more: double, up to what the request is known to need (at least a small block). */
static int psd_reader_grow(psd_reader *rd, size_t need)
{
    size_t cap = rd->cap * 2 > PSD_READ_GROW_MIN ? rd->cap * 2 : PSD_READ_GROW_MIN;
    size_t limit = need > PSD_READ_GROW_MIN ? need : PSD_READ_GROW_MIN;
    size_t stored = rd->have < rd->cap ? rd->have : rd->cap; /* less while skipping a header */
    uint8_t *grown;

    if (cap > limit)
        cap = limit;
    grown = OPENSSL_malloc(cap);
    if (grown == NULL)
        return -1;
    if (stored > 0)
        memcpy(grown, rd->buf, stored);
    if (rd->on_heap)
        OPENSSL_clear_free(rd->buf, rd->cap);
    else if (rd->buf != NULL)
        OPENSSL_cleanse(rd->buf, stored); /* the caller's stack */
    rd->buf = grown;
    rd->cap = cap;
    rd->on_heap = 1;
    return 0;
}

psd_read_result psd_reader_fill(const psd_config *cfg, int fd, psd_reader *rd)
{
    for (;;) {
        size_t need, room;
        uint8_t *dst;
        int skip;
        parsec_status st = psd_reader_judge(cfg, rd, &need, &skip);
        ssize_t r;

        if (st != PARSEC_SUCCESS) {
            psd_send_refusal(fd, st);
            return PSD_READ_CLOSE;
        }
        if (rd->have >= need)
            return PSD_READ_DONE;
        if (skip) {
            /* Contents unused: overwrite what follows hdr_size (buf holds at least 36 bytes). */
            dst = rd->buf + 6;
            room = need - rd->have < rd->cap - 6 ? need - rd->have : rd->cap - 6;
        } else {
            if (rd->have == rd->cap && psd_reader_grow(rd, need) != 0) {
                psd_send_refusal(fd, PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY);
                return PSD_READ_CLOSE;
            }
            dst = rd->buf + rd->have;
            room = rd->cap - rd->have;
        }
        r = recv(fd, dst, room, MSG_DONTWAIT);
        if (r > 0) {
            /* The whole request must be in within timeout_ms of its first byte. */
            if (rd->have == 0 && cfg->timeout_ms > 0)
                rd->deadline_ms = psd_monotonic_ms() + cfg->timeout_ms;
            rd->have += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return PSD_READ_MORE;
        if (r == 0 && rd->have == 0)
            return PSD_READ_EOF;                       /* a probe: connected and left */
        psd_send_refusal(fd, PARSEC_CONNECTION_ERROR); /* broke off mid-request */
        return PSD_READ_CLOSE;
    }
}

psd_read_result psd_reader_load(const psd_config *cfg, int fd, psd_reader *rd, parsec_lane *lane)
{
    size_t need;
    int skip;
    parsec_status st;

    /* Whole or refused: no deadline, it never waits for more. */
    rd->have = parsec_lane_take(&lane->request, lane->request_area, rd->buf, rd->cap);
    st = psd_reader_judge(cfg, rd, &need, &skip);
    if (st == PARSEC_SUCCESS && rd->have < need)
        st = PARSEC_CONNECTION_ERROR; /* a hand-off holds a whole request (0 bytes: none) */
    if (st != PARSEC_SUCCESS) {
        psd_send_refusal(fd, st);
        return PSD_READ_CLOSE;
    }
    return PSD_READ_DONE;
}

int psd_reader_detach(psd_reader *rd)
{
    size_t stored = rd->have < rd->cap ? rd->have : rd->cap;

    if (rd->on_heap)
        return 0;
    if (rd->have == 0) {
        rd->buf = NULL; /* nothing yet: a buffer comes with the first byte */
        rd->cap = 0;
        return 0;
    }
    rd->cap = stored; /* grow copies exactly the bytes read */
    return psd_reader_grow(rd, stored + PSD_READ_GROW_MIN);
}

void psd_reader_clear(psd_reader *rd)
{
    if (rd->on_heap)
        OPENSSL_clear_free(rd->buf, rd->cap);
    else if (rd->buf != NULL)
        OPENSSL_cleanse(rd->buf, rd->have < rd->cap ? rd->have : rd->cap);
    memset(rd, 0, sizeof(*rd));
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
        uint32_t claimed;

        if (h->auth_len != 4)
            return PARSEC_AUTHENTICATION_ERROR;
        claimed = (uint32_t)auth[0] | (uint32_t)auth[1] << 8 | (uint32_t)auth[2] << 16 |
                  (uint32_t)auth[3] << 24;
        /* Credentials are the connecting process's: one look per connection is enough. */
        if (!peer->have_uid && psd_peer_read_uid(fd, peer) != 0)
            return PARSEC_AUTHENTICATION_ERROR;
        if (peer->app[0] == '\0') {
            snprintf(peer->app, sizeof(peer->app), "%u", (unsigned int)peer->uid);
            peer->admin = psd_config_is_admin(cfg, peer->app);
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
    psd_request rq = {
        .svc = svc, .id = id, .opcode = h->opcode, .body = body, .body_len = h->body_len};
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

int psd_peer_read_uid(int fd, psd_peer *peer)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return -1;
    peer->uid = cred.uid;
    peer->have_uid = 1;
    return 0;
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
    uint8_t first[PSD_FIRST_READ];
    psd_reader rd = {.buf = first, .cap = sizeof(first)};
    /* Until the first byte, the same time is allowed for it to come. */
    int64_t deadline = cfg->timeout_ms > 0 ? psd_monotonic_ms() + cfg->timeout_ms : -1;
    int kept = 0;

    for (;;) {
        psd_read_result r = psd_reader_fill(cfg, fd, &rd);

        if (r == PSD_READ_DONE)
            kept = psd_answer_request(svc, fd, peer, &rd, keep, keep_arg, NULL);
        if (r != PSD_READ_MORE)
            break;
        if (rd.deadline_ms > 0)
            deadline = rd.deadline_ms;
        if (psd_poll_until(fd, POLLIN, deadline) != 0) {
            psd_send_refusal(fd, PARSEC_CONNECTION_ERROR);
            break;
        }
    }
    psd_reader_clear(&rd);
    return kept;
}

/*
 * A shared-memory hand-off for a connection that asked for one and is kept
 * (*lane NULL so far): the region, or NULL (answered without the flag).
 */
static parsec_lane *psd_lane_offer(int *fd)
{
    static psd_log_limit failed_log = {.interval_ms = 60000}; /* once a minute at most */
    parsec_lane *lane;

    if (parsec_lane_create(&lane, fd) == 0)
        return lane;
    psd_log_limited(&failed_log, PSD_LOG_WARN,
                    "no shared-memory hand-off for a kept connection (memfd: %s); its messages "
                    "go over the socket",
                    strerror(errno));
    return NULL;
}

int psd_answer_request(psd_service *svc, int fd, psd_peer *peer, const psd_reader *rd,
                       psd_keep_fn keep, void *keep_arg, parsec_lane **lane)
{
    const psd_config *cfg = svc->cfg;
    parsec_wire_header h, rh;
    psd_identity id = {0};
    psd_buf resp = {0};
    const uint8_t *payload = rd->buf + PARSEC_WIRE_HEADER_SIZE;
    size_t payload_len;
    struct timespec t0;
    parsec_status st;
    int kept = 0, lane_fd = -1;

    if (psd_log_enabled(PSD_LOG_DEBUG))
        clock_gettime(CLOCK_MONOTONIC, &t0);
    parsec_poll_work_begin(); /* while a request is served, nobody here busy-polls */
    parsec_wire_header_decode(rd->buf, &h);
    payload_len = (size_t)h.body_len + h.auth_len;
    /* 7. field values */
    st = parsec_wire_request_check(&h);
    if (st != PARSEC_SUCCESS) {
        psd_send_refusal(fd, st);
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
        rd->have == PARSEC_WIRE_HEADER_SIZE + payload_len && keep(keep_arg)) {
        rh.flags = PARSEC_WIRE_FLAG_KEEPALIVE;
        kept = 1;
        if ((h.flags & PARSEC_WIRE_FLAG_LANE) && lane != NULL && *lane == NULL &&
            cfg->shm_handoff) {
            *lane = psd_lane_offer(&lane_fd);
            if (*lane != NULL)
                rh.flags |= PARSEC_WIRE_FLAG_LANE;
        }
    }
    if (psd_send_response(fd, psd_send_wait_ms(cfg), &rh, resp.len > 0 ? resp.data : NULL,
                          lane != NULL && lane_fd < 0 ? *lane : NULL, lane_fd) != 0)
        kept = 0;
    if (lane_fd >= 0)
        close(lane_fd); /* the client has its own copy now, or the connection is closed */
    if (psd_log_enabled(PSD_LOG_DEBUG))
        psd_log(PSD_LOG_DEBUG, "%s provider=%u auth=%u app=%s -> %s (%u) %.0f us",
                parsec_opcode_name(h.opcode), h.provider, h.auth_type,
                id.app != NULL ? id.app : "-", parsec_status_name(st), (unsigned int)st,
                psd_elapsed_us(&t0));
done:
    parsec_poll_work_end();
    psd_buf_clear(&resp);
    if (id.app != peer->app)
        free(id.app);
    return kept;
}
