/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One request per connection, as the reference clients and service expect:
 * connect, send header+body+auth in one sendmsg, read the header (and
 * usually the body with it), check it, read the rest of the body, close.
 * With keep-alive (docs/protocol-extensions.md) the connection stays open
 * for the thread's next request while the service echoes the flag. Every
 * wait goes through poll() so the client's timeout bounds connect, the
 * whole write and the whole read.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "parsec_busy_poll.h"
#include "parsec_client_internal.h"
#include "parsec_lane.h"
#include "parsec_proc.h"
#include "parsec_wire.h"

/* Request bodies up to this size are encoded on the stack. */
#define PARSEC_STACK_BODY 1024
/* The first read takes the header and, usually, the whole body. */
#define PARSEC_FIRST_READ 2048
#define PARSEC_ARENA_ALIGN 16u
/* Prefix of arena-overflow allocations, holding their size for cleansing. */
#define PARSEC_FALLBACK_HDR 16u
/*
 * A kept connection whose service has not even read the request after this
 * long is given up for a new one (a healthy service reads it at once).
 */
#define PARSEC_KEPT_STALL_MS 1000

/* ---- deadlines ---- */

static int64_t parsec_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t parsec_deadline(unsigned int timeout_ms)
{
    return timeout_ms == 0 ? -1 : parsec_now_ms() + timeout_ms;
}

/* Wait for `events` on fd until the deadline. */
static parsec_status parsec_wait(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events, .revents = 0};
    for (;;) {
        int wait_ms = -1;
        int rc;
        if (deadline >= 0) {
            int64_t left = deadline - parsec_now_ms();
            if (left <= 0)
                return PARSEC_CLIENT_ERROR_TIMEOUT;
            wait_ms = left > 0x7fffffff ? 0x7fffffff : (int)left;
        }
        rc = poll(&pfd, 1, wait_ms);
        if (rc > 0)
            return PARSEC_SUCCESS; /* readiness or error: the next syscall tells which */
        if (rc == 0)
            return PARSEC_CLIENT_ERROR_TIMEOUT;
        if (errno != EINTR)
            return PARSEC_CLIENT_ERROR_IO;
    }
}

/* ---- socket steps ---- */

/* The cause of a failed connect and what to change, for parsec_client_last_error. */
static void parsec_connect_error(const parsec_client *c, int err)
{
    const char *path = c->socket_path;
    const char *name = strerrorname_np(err);
    char hint[256] = "";
    struct stat sb;

    switch (err) {
    case EACCES:
    case EPERM:
        if (stat(path, &sb) == 0) {
            struct group grp, *found = NULL;
            char buf[1024];

            if (getgrgid_r(sb.st_gid, &grp, buf, sizeof(buf), &found) == 0 && found != NULL)
                snprintf(hint, sizeof(hint),
                         "add the user to the socket's group '%s' (usermod -aG %s USER, then"
                         " log in again) or change socket_group/socket_mode in [listener] of"
                         " parsecd.conf",
                         found->gr_name, found->gr_name);
            else
                snprintf(hint, sizeof(hint),
                         "add the user to the socket's group (gid %ld) or change"
                         " socket_group/socket_mode in [listener] of parsecd.conf",
                         (long)sb.st_gid);
        } else {
            char dir[sizeof(c->socket_path)];

            memcpy(dir, path, sizeof(dir));
            snprintf(hint, sizeof(hint),
                     "the user may not enter the socket's directory %s: check its permissions",
                     dirname(dir));
        }
        break;
    case ENOENT:
    case ENOTDIR:
        snprintf(hint, sizeof(hint),
                 "no socket there: start parsecd, or set the endpoint (" PARSEC_ENDPOINT_ENV
                 ") to the socket_path of [listener] in parsecd.conf");
        break;
    case ECONNREFUSED:
        snprintf(hint, sizeof(hint),
                 "nothing listens on it (parsecd stopped or crashed): start parsecd");
        break;
    default:
        break;
    }
    parsec_last_error_set(c, "cannot connect to %s: %s (%s)%s%s", path, strerror(err),
                          name != NULL ? name : "?", hint[0] ? ": " : "", hint);
}

static parsec_status parsec_connect(const parsec_client *c, int *fd_out)
{
    struct sockaddr_un addr;
    int64_t deadline = parsec_deadline(c->timeout_ms);
    parsec_status st = PARSEC_CLIENT_ERROR_CONNECT;
    int fd;

    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, c->socket_path, sizeof(addr.sun_path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        parsec_connect_error(c, errno);
        return PARSEC_CLIENT_ERROR_CONNECT;
    }
    for (;;) {
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EINPROGRESS) {
            int soerr = 0;
            socklen_t len = sizeof(soerr);
            st = parsec_wait(fd, POLLOUT, deadline);
            if (st != PARSEC_SUCCESS)
                goto done;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
                parsec_connect_error(c, soerr != 0 ? soerr : errno);
                st = PARSEC_CLIENT_ERROR_CONNECT;
                goto done;
            }
            break;
        }
        if (errno == EAGAIN) {
            /* Listen backlog full: a Unix socket does not queue us, so retry briefly. */
            if (deadline >= 0 && parsec_now_ms() >= deadline) {
                st = PARSEC_CLIENT_ERROR_TIMEOUT;
                goto done;
            }
            poll(NULL, 0, 1);
            continue;
        }
        parsec_connect_error(c, errno);
        st = PARSEC_CLIENT_ERROR_CONNECT;
        goto done;
    }
    *fd_out = fd;
    return PARSEC_SUCCESS;
done:
    close(fd);
    return st;
}

static parsec_status parsec_send_all(int fd, struct iovec *iov, int iovcnt, int64_t deadline)
{
    while (iovcnt > 0) {
        struct msghdr mh;
        ssize_t n;

        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)iovcnt;
        /* MSG_NOSIGNAL: a service that went away must not kill the caller with SIGPIPE. */
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                parsec_status st = parsec_wait(fd, POLLOUT, deadline);
                if (st != PARSEC_SUCCESS)
                    return st;
                continue;
            }
            return PARSEC_CLIENT_ERROR_IO;
        }
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return PARSEC_SUCCESS;
}

/*
 * recv, also taking a descriptor passed with the bytes (SCM_RIGHTS) when
 * passed_fd is not NULL: the first one goes to *passed_fd (if it is still
 * -1), any other is closed.
 */
static ssize_t parsec_recv_fd(int fd, uint8_t *buf, size_t len, int *passed_fd)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n;

    if (passed_fd == NULL)
        return recv(fd, buf, len, 0);
    mh.msg_control = ctl.buf;
    mh.msg_controllen = sizeof(ctl.buf);
    n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    if (n <= 0)
        return n;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        size_t count;

        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int got;

            memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(got));
            if (*passed_fd < 0)
                *passed_fd = got;
            else
                close(got);
        }
    }
    return n;
}

/*
 * The first part of an answer: wait (the peer cannot have answered yet,
 * unless `ready` says polling saw it), then read what is there, until at
 * least `want` bytes are in buf (it may get up to cap). *have counts what
 * arrived, also on failure. passed_fd: see parsec_recv_fd.
 */
static parsec_status parsec_recv_some(int fd, uint8_t *buf, size_t cap, size_t want,
                                      int64_t deadline, int ready, size_t *have, int *passed_fd)
{
    *have = 0;
    while (*have < want) {
        parsec_status st = ready ? PARSEC_SUCCESS : parsec_wait(fd, POLLIN, deadline);
        ssize_t n;

        ready = 0;
        if (st != PARSEC_SUCCESS)
            return st;
        n = parsec_recv_fd(fd, buf + *have, cap - *have, passed_fd);
        if (n > 0) {
            *have += (size_t)n;
            continue;
        }
        if (n == 0)
            return PARSEC_CLIENT_ERROR_IO; /* closed before the promised length */
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        return PARSEC_CLIENT_ERROR_IO;
    }
    return PARSEC_SUCCESS;
}

/* Exactly len more bytes. */
static parsec_status parsec_recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0)
            return PARSEC_CLIENT_ERROR_IO; /* closed before the promised length */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            parsec_status st = parsec_wait(fd, POLLIN, deadline);
            if (st != PARSEC_SUCCESS)
                return st;
            continue;
        }
        return PARSEC_CLIENT_ERROR_IO;
    }
    return PARSEC_SUCCESS;
}

/* ---- response arena ---- */

static void *parsec_arena_alloc(void *data, size_t size)
{
    parsec_resp *r = data;
    size_t off = (r->arena_used + PARSEC_ARENA_ALIGN - 1) & ~(size_t)(PARSEC_ARENA_ALIGN - 1);
    uint8_t *p;

    if (off <= r->arena_len && size <= r->arena_len - off) {
        r->arena_used = off + size;
        return r->block + off;
    }
    if (size > SIZE_MAX - PARSEC_FALLBACK_HDR)
        return NULL;
    p = malloc(size + PARSEC_FALLBACK_HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof(size));
    r->fallbacks++;
    return p + PARSEC_FALLBACK_HDR;
}

static int parsec_arena_owns(const parsec_resp *r, const void *ptr)
{
    /* Integer comparison: ptr may come from another allocation entirely. */
    uintptr_t p = (uintptr_t)ptr, start = (uintptr_t)r->block;
    return r->block != NULL && p >= start && p - start < r->arena_len;
}

static void parsec_arena_free(void *data, void *ptr)
{
    parsec_resp *r = data;
    uint8_t *p;
    size_t size;

    if (ptr == NULL || parsec_arena_owns(r, ptr))
        return;
    p = (uint8_t *)ptr - PARSEC_FALLBACK_HDR;
    if (r->secret) {
        memcpy(&size, p, sizeof(size));
        OPENSSL_cleanse(p, size + PARSEC_FALLBACK_HDR);
    }
    free(p);
}

void parsec_resp_release(parsec_resp *resp)
{
    if (resp == NULL)
        return;
    if (resp->msg != NULL)
        protobuf_c_message_free_unpacked(resp->msg, &resp->allocator);
    resp->msg = NULL;
    if (resp->block != NULL) {
        /* Plain free: the block came from malloc, not OPENSSL_malloc. */
        if (resp->secret)
            OPENSSL_cleanse(resp->block, resp->block_len);
        free(resp->block);
    }
    resp->block = NULL;
}

parsec_status parsec_resp_take_bytes(parsec_resp *resp, const ProtobufCBinaryData *field,
                                     uint8_t **out, size_t *outlen)
{
    uint8_t *data = field->data;
    size_t len = field->len;
    parsec_status st = PARSEC_SUCCESS;

    *out = NULL;
    *outlen = 0;
    if (len == 0 || data == NULL)
        goto done;
    if (parsec_arena_owns(resp, data)) {
        uint8_t *block = resp->block;
        /* Frees only the overflow allocations; the arena bytes stay in place. */
        protobuf_c_message_free_unpacked(resp->msg, &resp->allocator);
        resp->msg = NULL;
        memmove(block, data, len);
        if (resp->secret)
            OPENSSL_cleanse(block + len, resp->block_len - len);
        resp->block = NULL;
        *out = block;
        *outlen = len;
        goto done;
    }
    *out = malloc(len);
    if (*out == NULL) {
        st = PARSEC_CLIENT_ERROR_MEMORY;
        goto done;
    }
    memcpy(*out, data, len);
    *outlen = len;
done:
    parsec_resp_release(resp);
    return st;
}

/* ---- kept connections (keep-alive extension) ---- */

/*
 * This thread's kept connection. The identity of the socket (inode) and of
 * the process and user that opened it decide whether it may be used again:
 * a fork()ed child never writes to its parent's socket, and a process that
 * changed its uid reconnects (the service reads peer credentials at
 * connect time).
 */
typedef struct parsec_kept {
    int fd;
    parsec_lane *lane; /* its shared-memory hand-off, if the service set one up */
    pid_t pid;
    uid_t uid, euid;
    dev_t dev;
    ino_t ino;
    int registered; /* the thread-exit destructor knows about it */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} parsec_kept;

static __thread parsec_kept parsec_tls_kept = {.fd = -1};
static pthread_once_t parsec_kept_once = PTHREAD_ONCE_INIT;
static pthread_key_t parsec_kept_key;
static int parsec_kept_key_ok;

/* Close it if it is really ours; in a child, forget it without touching the fd number. */
static void parsec_kept_drop(parsec_kept *k)
{
    struct stat st;

    if (k->fd < 0)
        return;
    if (k->pid == parsec_proc_pid()) {
        close(k->fd);
        parsec_lane_free(k->lane);
    } else if (fstat(k->fd, &st) == 0 && st.st_dev == k->dev && st.st_ino == k->ino) {
        close(k->fd); /* the child's copy of the parent's socket: closing it is harmless */
    }
    /* A child never had the region (MADV_DONTFORK): its address may hold something else now. */
    k->lane = NULL;
    k->fd = -1;
}

static void parsec_kept_thread_exit(void *p)
{
    parsec_kept_drop(p);
}

static void parsec_kept_key_create(void)
{
    parsec_kept_key_ok = pthread_key_create(&parsec_kept_key, parsec_kept_thread_exit) == 0;
}

/* A library unloaded (dlclose) must not leave a destructor pointing into it. */
__attribute__((destructor)) static void parsec_kept_unload(void)
{
    parsec_kept_drop(&parsec_tls_kept);
    if (parsec_kept_key_ok) {
        pthread_key_delete(parsec_kept_key);
        parsec_kept_key_ok = 0;
    }
}

/*
 * Take this thread's kept connection to `path` (and its lane) if it is
 * still usable by this process with these IDs (read by the caller); -1 if none.
 */
static int parsec_kept_take(const char *path, uid_t uid, uid_t euid, parsec_lane **lane)
{
    parsec_kept *k = &parsec_tls_kept;
    int fd;

    *lane = NULL;
    if (k->fd < 0)
        return -1;
    if (k->pid != parsec_proc_pid() || k->uid != uid || k->euid != euid ||
        strcmp(k->path, path) != 0) {
        parsec_kept_drop(k);
        return -1;
    }
    fd = k->fd;
    *lane = k->lane;
    k->fd = -1; /* in use: a nested call (none today) would open its own */
    k->lane = NULL;
    return fd;
}

/*
 * Keep fd (the service agreed) and its lane (or NULL) as this thread's
 * connection to `path`, opened with these IDs; reused: it came from take.
 */
static void parsec_kept_put(int fd, const char *path, uid_t uid, uid_t euid, int reused,
                            parsec_lane *lane)
{
    parsec_kept *k = &parsec_tls_kept;
    struct stat st;

    if (reused && k->fd < 0) {
        k->fd = fd; /* same socket, process and user as when it was first kept */
        k->lane = lane;
        return;
    }
    pthread_once(&parsec_kept_once, parsec_kept_key_create);
    if (!parsec_kept_key_ok || fstat(fd, &st) != 0 ||
        (!k->registered && pthread_setspecific(parsec_kept_key, k) != 0)) {
        close(fd);
        parsec_lane_free(lane);
        return;
    }
    k->registered = 1;
    parsec_kept_drop(k);
    k->fd = fd;
    k->lane = lane;
    k->pid = parsec_proc_pid();
    k->uid = uid;
    k->euid = euid;
    k->dev = st.st_dev;
    k->ino = st.st_ino;
    memcpy(k->path, path, sizeof(k->path));
}

/* ---- busy-polling for the answer (kept connections only) ---- */

/*
 * This thread's recent answer times, by kind of request (opcode and request
 * size: an RSA and an ECDSA signature take very different times).
 */
#define PARSEC_POLL_KINDS 32
static __thread parsec_poll_history parsec_tls_poll[PARSEC_POLL_KINDS];

static parsec_poll_history *parsec_poll_kind(uint32_t opcode, const struct iovec *iov, int iovcnt)
{
    size_t len = 0;

    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    return &parsec_tls_poll[(opcode * 31u + (uint32_t)len) % PARSEC_POLL_KINDS];
}

/* ---- the exchange ---- */

static void parsec_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* How an attempt on a connection ended, beyond its status. */
typedef struct parsec_attempt {
    int got_bytes; /* some of the response arrived (never resend then) */
    int reusable;  /* the service echoed keep-alive and the answer was read exactly */
    int stalled;   /* a kept connection whose service left the request unread */
} parsec_attempt;

/*
 * Requests that change nothing in the service: sending one again is
 * harmless even if the first copy is executed after all (the service may
 * still read a request its client gave up on).
 */
static int parsec_opcode_repeatable(uint32_t opcode)
{
    switch (opcode) {
    case PARSEC_OP_PSA_GENERATE_KEY:
    case PARSEC_OP_PSA_DESTROY_KEY:
    case PARSEC_OP_PSA_IMPORT_KEY:
    case PARSEC_OP_DELETE_CLIENT:
        return 0;
    default:
        return 1;
    }
}

/* Bytes we sent that the peer has not read yet (SIOCOUTQ; for a Unix socket, unread by the peer). */
static int parsec_request_unread(int fd)
{
    int unread = 0;

    return ioctl(fd, SIOCOUTQ, &unread) == 0 && unread > 0;
}

/*
 * Send the request on fd (or hand it over through the connection's lane)
 * and read the answer. The header and a small body usually arrive with the
 * first recv; on a kept connection anything past the promised body is a
 * protocol error (and the connection is not kept). When the request asks
 * for a lane (*lane NULL), the service's region comes with the answer and
 * *lane is set.
 */
static parsec_status parsec_exchange(const parsec_client *c, int fd, const struct iovec *req_iov,
                                     int iovcnt, uint32_t opcode, unsigned int flags,
                                     const ProtobufCMessageDescriptor *result_desc,
                                     parsec_resp *resp, int keep, int reused, parsec_lane **lane,
                                     parsec_attempt *at)
{
    uint8_t first[PARSEC_FIRST_READ];
    struct iovec iov[3];
    parsec_wire_header hdr;
    size_t have = 0, inbuf, max_body;
    int64_t deadline;
    parsec_poll_history *poll_kind = NULL;
    parsec_lane *ln = *lane;
    uint64_t sent_ns = 0;
    uint32_t via = PARSEC_LANE_IDLE;
    int answered = 0, watching = 0, lane_fd = -1;
    int asked_lane = ln == NULL && keep && c->shm_handoff;
    parsec_status st;

    at->got_bytes = 0;
    at->reusable = 0;
    at->stalled = 0;
    /* Watch for the answer from before the request can be seen: it may come at once. */
    if (ln != NULL && reused && c->busy_poll_us > 0) {
        parsec_lane_watch(&ln->response);
        watching = 1;
    }
    if (ln == NULL || !parsec_lane_put(&ln->request, ln->request_area, req_iov, iovcnt)) {
        memcpy(iov, req_iov, (size_t)iovcnt * sizeof(iov[0]));
        st = parsec_send_all(fd, iov, iovcnt, parsec_deadline(c->timeout_ms));
        if (st != PARSEC_SUCCESS)
            return st;
        if (ln != NULL)
            parsec_lane_sent_on_socket(&ln->request); /* parsecd watching the lane looks here */
    }

    deadline = parsec_deadline(c->timeout_ms);
    /* Only on a connection the service kept: a reference service is waited for as ever. */
    if (reused && c->busy_poll_us > 0) {
        poll_kind = parsec_poll_kind(opcode, req_iov, iovcnt);
        sent_ns = parsec_poll_now_ns();
        if (watching) {
            parsec_poll_spin_lane(poll_kind, &ln->response, c->busy_poll_us, sent_ns, 1);
            via = parsec_lane_unwatch(&ln->response);
            answered = via == PARSEC_LANE_SOCKET;
        } else {
            answered = parsec_poll_spin(poll_kind, fd, c->busy_poll_us, sent_ns, 1);
        }
    }
    if (via == PARSEC_LANE_MESSAGE) {
        have = parsec_lane_take(&ln->response, ln->response_area, first, sizeof(first));
        at->got_bytes = 1; /* answered: never resent */
        if (have < PARSEC_WIRE_HEADER_SIZE) {
            st = PARSEC_CLIENT_ERROR_PROTOCOL;
            goto done;
        }
    } else {
        /*
         * A kept connection nobody serves (an older parsecd whose threads
         * are all held by slow clients): no answer and the request still
         * unread after a while. The caller resends it on a new connection,
         * which the service accepts separately, instead of waiting out the
         * timeout.
         */
        if (!answered && reused && parsec_opcode_repeatable(opcode) &&
            (c->timeout_ms == 0 || c->timeout_ms > PARSEC_KEPT_STALL_MS)) {
            st = parsec_wait(fd, POLLIN, parsec_deadline(PARSEC_KEPT_STALL_MS));
            if (st == PARSEC_CLIENT_ERROR_TIMEOUT && parsec_request_unread(fd)) {
                at->stalled = 1;
                return st;
            }
        }
        st = parsec_recv_some(fd, first, sizeof(first), PARSEC_WIRE_HEADER_SIZE, deadline, answered,
                              &have, asked_lane ? &lane_fd : NULL);
        at->got_bytes = have > 0;
        if (st != PARSEC_SUCCESS)
            goto done;
    }
    if (poll_kind != NULL)
        parsec_poll_record(poll_kind, parsec_poll_now_ns() - sent_ns, c->busy_poll_us);
    parsec_wire_header_decode(first, &hdr);
    if (parsec_wire_response_validate(&hdr) != PARSEC_SUCCESS) {
        st = PARSEC_CLIENT_ERROR_PROTOCOL;
        goto done;
    }
    inbuf = have - PARSEC_WIRE_HEADER_SIZE;
    /* The region for this connection: only with the flag, on a connection the service keeps. */
    if (lane_fd >= 0 && (hdr.flags & PARSEC_WIRE_FLAG_LANE) &&
        (hdr.flags & PARSEC_WIRE_FLAG_KEEPALIVE) && parsec_lane_attach(lane_fd, lane) != 0)
        *lane = NULL;
    /*
     * Status before opcode: errors found before the service parsed a
     * request header come back as opcode Ping, provider 0.
     */
    if (hdr.status != PARSEC_SUCCESS) {
        st = (parsec_status)hdr.status;
        goto consumed;
    }
    if (hdr.opcode != opcode) {
        st = PARSEC_CLIENT_ERROR_PROTOCOL;
        goto done;
    }
    if (result_desc == NULL)
        goto consumed; /* empty result: nothing to read */

    max_body = c->max_body;
    if (hdr.body_len > max_body) {
        st = PARSEC_CLIENT_ERROR_TOO_LARGE;
        goto done;
    }
    /* Room for the unpacked message next to the body it came from. */
    resp->arena_len = ((size_t)hdr.body_len * 2 + 256 + PARSEC_ARENA_ALIGN - 1) &
                      ~(size_t)(PARSEC_ARENA_ALIGN - 1);
    resp->block_len = resp->arena_len + hdr.body_len;
    resp->block = malloc(resp->block_len);
    if (resp->block == NULL) {
        st = PARSEC_CLIENT_ERROR_MEMORY;
        goto done;
    }
    resp->secret = (flags & PARSEC_CALL_SECRET_RESPONSE) != 0;
    resp->allocator.alloc = parsec_arena_alloc;
    resp->allocator.free = parsec_arena_free;
    resp->allocator.allocator_data = resp;
    memcpy(resp->block + resp->arena_len, first + PARSEC_WIRE_HEADER_SIZE,
           inbuf < hdr.body_len ? inbuf : hdr.body_len);
    if (inbuf < hdr.body_len) {
        /* A hand-off holds a whole answer: the rest cannot be on the socket. */
        if (via == PARSEC_LANE_MESSAGE) {
            st = PARSEC_CLIENT_ERROR_PROTOCOL;
            goto done;
        }
        st = parsec_recv_all(fd, resp->block + resp->arena_len + inbuf, hdr.body_len - inbuf,
                             deadline);
        if (st != PARSEC_SUCCESS)
            goto done;
        inbuf = hdr.body_len;
    }
    resp->msg = protobuf_c_message_unpack(result_desc, &resp->allocator, hdr.body_len,
                                          resp->block + resp->arena_len);
    if (resp->msg == NULL) {
        st = PARSEC_CLIENT_ERROR_PROTOCOL;
        goto done;
    }
consumed:
    /* Kept only if the service agreed and not one byte more or less than the answer was read. */
    at->reusable = keep && (hdr.flags & PARSEC_WIRE_FLAG_KEEPALIVE) && inbuf == hdr.body_len;
done:
    if (lane_fd >= 0)
        close(lane_fd); /* mapped, or not wanted */
    if (resp->secret || (flags & PARSEC_CALL_SECRET_RESPONSE))
        OPENSSL_cleanse(first, have < sizeof(first) ? have : sizeof(first));
    return st;
}

parsec_status parsec_call(const parsec_client *c, uint8_t provider, uint32_t opcode,
                          const ProtobufCMessage *op, unsigned int flags,
                          const ProtobufCMessageDescriptor *result_desc, parsec_resp *resp)
{
    uint8_t hdr_bytes[PARSEC_WIRE_HEADER_SIZE];
    uint8_t stack_body[PARSEC_STACK_BODY];
    uint8_t uid_le[4];
    uint8_t *body = stack_body;
    size_t body_len = 0;
    const uint8_t *auth = NULL;
    size_t auth_len = 0;
    uint8_t auth_type = PARSEC_AUTH_NONE;
    parsec_wire_header hdr;
    struct iovec iov[3];
    int iovcnt = 0;
    int fd = -1, reused = 0, keep;
    parsec_lane *lane = NULL; /* the connection's shared-memory hand-off, if any */
    parsec_resp scratch;
    parsec_attempt at = {0, 0, 0};
    struct {
        uid_t uid, euid, suid;
    } ids = {0, 0, 0}; /* read below when needed */
    parsec_status st;

    parsec_last_error_clear();
    if (resp != NULL)
        memset(resp, 0, sizeof(*resp));
    if (c == NULL || (result_desc != NULL && resp == NULL))
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    if (c->socket_path[0] == '\0')
        return PARSEC_CLIENT_ERROR_ENDPOINT;
    if (resp == NULL) {
        memset(&scratch, 0, sizeof(scratch));
        resp = &scratch; /* the exchange always has somewhere to put a body */
    }
    keep = c->keepalive;
    /*
     * Real and effective uid, once per request (one system call for both):
     * the Unix peer credential and the check that a kept connection was
     * opened by the user this process is now.
     */
    if (keep || (!(flags & PARSEC_CALL_NO_AUTH) && c->auth_type == PARSEC_AUTH_UNIX_PEER))
        (void)getresuid(&ids.uid, &ids.euid, &ids.suid);

    if (!(flags & PARSEC_CALL_NO_AUTH)) {
        auth_type = c->auth_type;
        if (auth_type == PARSEC_AUTH_DIRECT) {
            auth = (const uint8_t *)c->app_name;
            auth_len = c->app_name_len;
        } else if (auth_type == PARSEC_AUTH_UNIX_PEER) {
            /* Read per request so a process that changed uid sends its current one. */
            parsec_put_le32(uid_le, (uint32_t)ids.uid);
            auth = uid_le;
            auth_len = sizeof(uid_le);
        }
    }
    if (op != NULL) {
        body_len = protobuf_c_message_get_packed_size(op);
        if (body_len > UINT32_MAX)
            return PARSEC_CLIENT_ERROR_ARGUMENT;
        if (body_len > sizeof(stack_body)) {
            body = malloc(body_len);
            if (body == NULL)
                return PARSEC_CLIENT_ERROR_MEMORY;
        }
        protobuf_c_message_pack(op, body);
    }
    parsec_wire_request_init(&hdr, provider, opcode, auth_type, (uint32_t)body_len,
                             (uint16_t)auth_len);
    iov[iovcnt].iov_base = hdr_bytes; /* encoded for each connection tried (flags differ) */
    iov[iovcnt++].iov_len = sizeof(hdr_bytes);
    if (body_len > 0) {
        iov[iovcnt].iov_base = body;
        iov[iovcnt++].iov_len = body_len;
    }
    if (auth_len > 0) {
        iov[iovcnt].iov_base = (void *)auth;
        iov[iovcnt++].iov_len = auth_len;
    }

    if (keep) {
        fd = parsec_kept_take(c->socket_path, ids.uid, ids.euid, &lane);
        reused = fd >= 0;
    }
    for (;;) {
        if (fd < 0) {
            st = parsec_connect(c, &fd);
            if (st != PARSEC_SUCCESS)
                goto done;
        }
        hdr.flags = 0;
        if (keep)
            hdr.flags = PARSEC_WIRE_FLAG_KEEPALIVE |
                        (lane == NULL && c->shm_handoff ? PARSEC_WIRE_FLAG_LANE : 0);
        parsec_wire_header_encode(&hdr, hdr_bytes);
        parsec_poll_work_begin(); /* another thread's request in flight: nobody polls */
        st = parsec_exchange(c, fd, iov, iovcnt, opcode, flags, result_desc, resp, keep, reused,
                             &lane, &at);
        parsec_poll_work_end();
        /*
         * A kept connection the service had already closed (idle timeout,
         * restart), or one it does not serve (stalled): send the request
         * once more on a fresh connection. Never once any byte of an answer
         * arrived.
         */
        if (reused && !at.got_bytes &&
            (st == PARSEC_CLIENT_ERROR_IO || st == PARSEC_CLIENT_ERROR_CONNECT || at.stalled)) {
            close(fd);
            fd = -1;
            parsec_lane_free(lane);
            lane = NULL;
            reused = 0;
            parsec_resp_release(resp);
            continue;
        }
        break;
    }
done:
    if (fd >= 0 && at.reusable) {
        parsec_kept_put(fd, c->socket_path, ids.uid, ids.euid, reused, lane);
    } else {
        if (fd >= 0)
            close(fd);
        parsec_lane_free(lane);
    }
    if ((flags & PARSEC_CALL_SECRET_REQUEST) && body_len > 0)
        OPENSSL_cleanse(body, body_len);
    if (body != stack_body)
        free(body);
    if (st != PARSEC_SUCCESS || resp == &scratch)
        parsec_resp_release(resp);
    if ((st == PARSEC_AUTHENTICATOR_NOT_REGISTERED || st == PARSEC_AUTHENTICATOR_DOES_NOT_EXIST) &&
        auth_type != PARSEC_AUTH_NONE)
        parsec_last_error_explain_auth(c);
    return st;
}
