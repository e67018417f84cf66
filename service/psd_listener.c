/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Unix-socket listener. Two pools of threads, `threads` each:
 *
 * - accept workers all block in accept() on the listening socket; the
 *   kernel wakes exactly one of them per connection, which reads what is
 *   there without blocking and, when that is a whole request (the common
 *   case: clients write it before we even accept), answers it itself (no
 *   hand-off between threads, which halved the one-client request rate on
 *   a 2-CPU machine; and no epoll round on this path, which cost a
 *   one-connection-per-request client a tenth of its rate);
 * - keepers, started when the first connection has to wait, serve an epoll
 *   set of waiting connections (each EPOLLONESHOT, so one keeper takes each
 *   event): connections kept by the keep-alive extension
 *   (docs/protocol-extensions.md) between requests, and connections whose
 *   request is still arriving. A keeper reads what came, answers once the
 *   request is whole, and otherwise parks it again: no thread ever waits
 *   for a slow or idle client.
 *
 * Every waiting connection has a deadline: a request must be whole within
 * timeout_ms of its first byte (of the connection, for a new one), a kept
 * connection is closed after keepalive_idle_ms without one. Whoever answers
 * a kept connection also serves its next request if that is already there
 * (a client in a loop), a few times in a row, before parking it again.
 * Nothing polls: an idle service uses no CPU; while connections wait, one
 * keeper wakes every min(timeout_ms, keepalive_idle_ms) / 2 for deadlines.
 *
 * A peer UID may have max_connections_per_uid connections open at once;
 * past that a connection is refused at once. Out of file descriptors,
 * accept() backs off (woken when a connection closes) and first gives up
 * the longest-idle kept connection, whose client reconnects transparently.
 *
 * A waiting connection lives in a slot whose state word (generation, state)
 * changes only by compare-and-swap: PARKED (armed in epoll) -> BUSY (a
 * thread serves it) -> ARMING -> PARKED again, or -> closed and FREE with a
 * new generation. An event carries the slot's generation, so an event for
 * a connection that was closed meanwhile is recognised and dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "psd_service.h"

#define PSD_SD_LISTEN_FDS_START 3

/* epoll data: the stop or wake event, else slot index + PSD_EV_SLOT0 | gen << 32. */
#define PSD_EV_STOP 1u
#define PSD_EV_WAKE 2u
#define PSD_EV_SLOT0 3u

/* Requests one worker serves back to back on a kept connection before it re-arms it. */
#define PSD_SERVE_IN_PLACE 8

enum psd_slot_state {
    PSD_SLOT_FREE = 0,
    PSD_SLOT_BUSY = 1,   /* owned by the thread serving it (or reserving it) */
    PSD_SLOT_ARMING = 2, /* its owner is registering it with epoll */
    PSD_SLOT_PARKED = 3, /* in epoll, waiting for (more of) a request */
};

#define PSD_SLOT_WORD(gen, state) (((uint64_t)(uint32_t)(gen) << 2) | (uint64_t)(state))
#define PSD_SLOT_STATE(word) ((unsigned int)((word)&3u))
#define PSD_SLOT_GEN(word) ((uint32_t)((word) >> 2))

/* Descriptors left for everything but client connections (store, backends, logs, threads). */
#define PSD_FD_RESERVE 64
/* Slots at most (one per descriptor the process may have open). */
#define PSD_MAX_SLOTS (1u << 20)
/* Out of descriptors: wait this long at first, doubling up to the maximum, unless woken. */
#define PSD_ACCEPT_BACKOFF_MIN_MS 10
#define PSD_ACCEPT_BACKOFF_MAX_MS 1000
/* A new connection's request may lag its connect() a little: a worker waits this long for it. */
#define PSD_FIRST_BYTES_WAIT_MS 1
/* Lines a peer can cause at will: at most one per minute each. */
#define PSD_LOG_LIMIT_MS 60000

typedef struct psd_slot {
    _Atomic uint64_t word; /* PSD_SLOT_WORD(generation, state) */
    int fd;
    int in_epoll;                /* added once, re-armed with EPOLL_CTL_MOD afterwards */
    int kept;                    /* counted in n_kept (keepalive_max) */
    _Atomic int idle_kept;       /* kept and between requests: may be given up for a descriptor */
    _Atomic int64_t deadline_ms; /* closed if still waiting then (0: never); set before PARKED */
    psd_peer peer;               /* credentials, read once per connection */
    psd_reader rd;               /* the part of a request that has arrived (heap), if any */
    parsec_poll_history poll;    /* kept: recent gaps between an answer and the next request */
    uint64_t answered_ns;        /* kept: when the last answer went out (0: none pending) */
    parsec_lane *lane;           /* kept: the shared-memory hand-off, once agreed (or NULL) */
    unsigned int next_free;
} psd_slot;

/* Open connections of one peer UID. */
typedef struct psd_uid_count {
    uid_t uid;
    unsigned int n;
} psd_uid_count;

struct psd_listener {
    int fd;
    int activated; /* inherited from systemd: not ours to remove */
    char *path;
    char *tmp_path; /* bound here until published (NULL when bound at path) */
    int published;
    dev_t dev; /* the socket file we created, to remove only that */
    ino_t ino;
    psd_service *svc;
    const psd_config *cfg;
    pthread_t *workers;
    unsigned int n_workers;
    pthread_t *keepers; /* started with the first waiting connection */
    atomic_uint n_keepers;
    atomic_uint keepers_idle; /* keepers in epoll_wait: free to serve another connection */
    unsigned int max_keepers;
    pthread_mutex_t keepers_mu;
    atomic_int stopping;            /* stop accepting; finish the request in hand */
    atomic_int first_bytes_waiters; /* workers waiting for a new connection's first bytes */
    unsigned int max_first_bytes_waiters;
    pthread_mutex_t mu; /* accept failures: wait for a peer to free a descriptor */
    pthread_cond_t freed;
    int epfd;    /* waiting connections and the stop event */
    int stop_fd; /* eventfd, written once at stop: wakes every keeper */
    int wake_fd; /* eventfd: a first connection waits, deadlines need a timer */
    /* waiting connections: slots, a free list (under slots_mu) and the deadline sweep */
    psd_slot *slots;
    unsigned int n_slots;
    atomic_uint n_touched;      /* slots past this were never used (their pages never touched) */
    unsigned int free_head;     /* index + 1; 0 = none */
    atomic_uint n_waiting;      /* slots in use */
    atomic_uint n_kept;         /* of those, kept by keep-alive */
    unsigned int keepalive_max; /* the setting, capped by RLIMIT_NOFILE */
    pthread_mutex_t slots_mu;
    pthread_mutex_t sweep_mu;
    _Atomic int64_t last_sweep_ms;
    unsigned int idle_ms;
    unsigned int sweep_ms;
    /* connections per peer UID (only while max_connections_per_uid is set) */
    pthread_mutex_t uids_mu;
    psd_uid_count *uids;
    size_t n_uids, cap_uids;
    psd_log_limit refused_log, accept_log, deadline_log, shed_log;
};

static int psd_fill_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -1;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return 0;
}

/* systemd socket activation (sd_listen_fds protocol, one Unix stream socket). */
static int psd_activated_fd(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    int type = 0, listening = 0;
    socklen_t len = sizeof(type);
    struct sockaddr_un sa;
    socklen_t salen = sizeof(sa);
    int fd = PSD_SD_LISTEN_FDS_START;

    if (pid == NULL || fds == NULL || strtol(pid, NULL, 10) != (long)getpid() ||
        strcmp(fds, "1") != 0)
        return -1;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
        return -1;
    len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
        return -1;
    if (getsockname(fd, (struct sockaddr *)&sa, &salen) != 0 || sa.sun_family != AF_UNIX)
        return -1;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

/* A leftover socket file is removed only if nobody answers on it. */
static int psd_clear_stale(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    struct stat stbuf;
    int fd, rc;

    if (lstat(path, &stbuf) != 0)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
    if (!S_ISSOCK(stbuf.st_mode)) {
        snprintf(err, errlen, "socket path %s exists and is not a socket", path);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || psd_fill_addr(&sa, path) != 0) {
        if (fd >= 0)
            close(fd);
        snprintf(err, errlen, "socket path %s: %s", path, strerror(errno));
        return -1;
    }
    rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    if (rc == 0) {
        snprintf(err, errlen, "another service is already listening on %s", path);
        return -1;
    }
    if (errno != ECONNREFUSED && errno != ENOENT) {
        snprintf(err, errlen, "socket path %s: %s", path, strerror(errno));
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "cannot remove stale socket %s: %s", path, strerror(errno));
        return -1;
    }
    psd_log(PSD_LOG_INFO, "removed stale socket %s", path);
    return 0;
}

static int psd_socket_owner(const psd_config *cfg, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    if (cfg->socket_owner != NULL && cfg->socket_owner[0] != '\0') {
        struct passwd *pw = getpwnam(cfg->socket_owner);

        if (pw == NULL) {
            snprintf(err, errlen, "socket_owner '%s' is not a known user", cfg->socket_owner);
            return -1;
        }
        *uid = pw->pw_uid;
    }
    if (cfg->socket_group != NULL && cfg->socket_group[0] != '\0') {
        struct group *gr = getgrnam(cfg->socket_group);

        if (gr == NULL) {
            snprintf(err, errlen, "socket_group '%s' is not a known group", cfg->socket_group);
            return -1;
        }
        *gid = gr->gr_gid;
    }
    return 0;
}

/* Only root may give a file away; a group needs the service user to be a member. */
static void psd_socket_chown_error(const psd_config *cfg, uid_t uid, int error, char *err,
                                   size_t errlen)
{
    char user[160];

    psd_running_user(user, sizeof(user));
    if (uid != (uid_t)-1 && uid != geteuid())
        snprintf(err, errlen,
                 "cannot make user '%s' the owner of socket %s: %s; only root may (parsecd runs"
                 " as %s): remove socket_owner or start parsecd as root",
                 cfg->socket_owner, cfg->socket_path, strerror(error), user);
    else
        snprintf(err, errlen,
                 "cannot give socket %s to group '%s': %s; the service user (%s) must belong"
                 " to group '%s' (usermod -a -G %s USER, then restart parsecd)",
                 cfg->socket_path, cfg->socket_group, strerror(error), user, cfg->socket_group,
                 cfg->socket_group);
}

/*
 * Bind and listen under a temporary name and set mode and owner now, so a
 * bad socket setting fails before anything else starts; psd_listener_start
 * renames it into place once the service can answer.
 */
static int psd_bind(psd_listener *l, const psd_config *cfg, char *err, size_t errlen)
{
    const char *path = cfg->socket_path;
    char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct sockaddr_un sa;
    struct stat stbuf;
    char user[160];
    uid_t uid;
    gid_t gid;
    int fd = -1;

    if (psd_socket_owner(cfg, &uid, &gid, err, errlen) != 0)
        return -1;
    if (psd_fill_addr(&sa, path) != 0) {
        snprintf(err, errlen, "socket path %s is too long (max %zu bytes)", path,
                 sizeof(sa.sun_path) - 1);
        return -1;
    }
    /* Clients must be able to reach the socket: its folder is 0755, not private. */
    if (psd_make_parent_dirs(path, 0755, "[listener] socket_path", err, errlen) != 0)
        return -1;
    if (psd_clear_stale(path, err, errlen) != 0)
        return -1;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >= sizeof(tmp))
        snprintf(tmp, sizeof(tmp), "%s", path); /* no room for a temporary name */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (strcmp(tmp, path) != 0)
        unlink(tmp); /* a leftover of an earlier process with our PID */
    psd_fill_addr(&sa, tmp);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        const char *why = strerror(errno);

        snprintf(err, errlen, "cannot bind %s: %s (parsecd runs as %s)", path, why,
                 psd_running_user(user, sizeof(user)));
        goto fail;
    }
    if (listen(fd, SOMAXCONN) != 0 || chmod(tmp, cfg->socket_mode) != 0) {
        snprintf(err, errlen, "cannot set up socket %s: %s", path, strerror(errno));
        unlink(tmp);
        goto fail;
    }
    if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(tmp, uid, gid) != 0) {
        psd_socket_chown_error(cfg, uid, errno, err, errlen);
        unlink(tmp);
        goto fail;
    }
    if (stat(tmp, &stbuf) != 0) {
        snprintf(err, errlen, "cannot set up socket %s: %s", path, strerror(errno));
        unlink(tmp);
        goto fail;
    }
    if (strcmp(tmp, path) != 0) {
        l->tmp_path = strdup(tmp);
        if (l->tmp_path == NULL) {
            snprintf(err, errlen, "out of memory");
            unlink(tmp);
            goto fail;
        }
    } else {
        l->published = 1;
    }
    l->fd = fd;
    l->dev = stbuf.st_dev;
    l->ino = stbuf.st_ino;
    return 0;
fail:
    close(fd);
    return -1;
}

static void psd_listener_free(psd_listener *l)
{
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->stop_fd >= 0)
        close(l->stop_fd);
    if (l->wake_fd >= 0)
        close(l->wake_fd);
    free(l->slots);
    free(l->uids);
    free(l->path);
    pthread_mutex_destroy(&l->uids_mu);
    pthread_mutex_destroy(&l->keepers_mu);
    pthread_mutex_destroy(&l->sweep_mu);
    pthread_mutex_destroy(&l->slots_mu);
    pthread_cond_destroy(&l->freed);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/*
 * Every connection costs a descriptor: keep at most half of those left by
 * RLIMIT_NOFILE after PSD_FD_RESERVE, so that new connections still find one.
 */
static void psd_listener_limits(psd_listener *l, const psd_config *cfg)
{
    struct rlimit rl;
    unsigned long long nofile = PSD_MAX_SLOTS;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < PSD_MAX_SLOTS)
        nofile = rl.rlim_cur;
    l->n_slots = (unsigned int)nofile;
    l->keepalive_max = cfg->keepalive_max;
    if (nofile <= PSD_FD_RESERVE)
        l->keepalive_max = 0;
    else if ((nofile - PSD_FD_RESERVE) / 2 < l->keepalive_max)
        l->keepalive_max = (unsigned int)((nofile - PSD_FD_RESERVE) / 2);
    if (l->keepalive_max < cfg->keepalive_max)
        psd_log(PSD_LOG_WARN,
                "keepalive_max lowered from %u to %u: the descriptor limit (RLIMIT_NOFILE) is "
                "%llu; raise it (ulimit -n, or LimitNOFILE= in the systemd unit) to keep more "
                "connections",
                cfg->keepalive_max, l->keepalive_max, nofile);
    psd_log(PSD_LOG_INFO,
            "connections: keepalive_max %u, max_connections_per_uid %u, timeout_ms %u per "
            "request, RLIMIT_NOFILE %llu",
            l->keepalive_max, cfg->max_connections_per_uid, cfg->timeout_ms, nofile);
}

/* The epoll set of waiting connections (with the level-triggered stop event) and their slots. */
static int psd_listener_setup(psd_listener *l, const psd_config *cfg, char *err, size_t errlen)
{
    struct epoll_event ev = {0};
    unsigned int shortest;

    l->cfg = cfg;
    l->idle_ms =
        cfg->keepalive_idle_ms > 0 ? cfg->keepalive_idle_ms : PSD_DEFAULT_KEEPALIVE_IDLE_MS;
    shortest = cfg->timeout_ms > 0 && cfg->timeout_ms < l->idle_ms ? cfg->timeout_ms : l->idle_ms;
    l->sweep_ms = shortest / 2 > 0 ? shortest / 2 : 1;
    l->refused_log.interval_ms = PSD_LOG_LIMIT_MS;
    l->accept_log.interval_ms = PSD_LOG_LIMIT_MS;
    l->deadline_log.interval_ms = PSD_LOG_LIMIT_MS;
    l->shed_log.interval_ms = PSD_LOG_LIMIT_MS;
    psd_listener_limits(l, cfg);
    /* Untouched pages of a large calloc stay unmapped: memory follows the slots used. */
    l->slots = calloc(l->n_slots, sizeof(*l->slots));
    if (l->slots == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->epfd < 0 || l->stop_fd < 0 || l->wake_fd < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        return -1;
    }
    ev.events = EPOLLIN;
    ev.data.u64 = PSD_EV_STOP;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) != 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        return -1;
    }
    ev.data.u64 = PSD_EV_WAKE;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) != 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int psd_listener_open(const psd_config *cfg, psd_listener **out, char *err, size_t errlen)
{
    psd_listener *l = calloc(1, sizeof(*l));

    *out = NULL;
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->fd = -1;
    l->epfd = -1;
    l->stop_fd = -1;
    l->wake_fd = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->freed, NULL);
    pthread_mutex_init(&l->slots_mu, NULL);
    pthread_mutex_init(&l->sweep_mu, NULL);
    pthread_mutex_init(&l->keepers_mu, NULL);
    pthread_mutex_init(&l->uids_mu, NULL);
    l->max_keepers = cfg->threads > 0 ? cfg->threads : 1;
    l->path = strdup(cfg->socket_path);
    if (l->path == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    l->fd = psd_activated_fd();
    if (l->fd >= 0) {
        l->activated = 1;
        psd_log(PSD_LOG_INFO, "using the socket passed by systemd");
    } else if (psd_bind(l, cfg, err, errlen) != 0) {
        goto fail;
    }
    if (psd_listener_setup(l, cfg, err, errlen) != 0)
        goto fail;
    *out = l;
    return 0;
fail:
    if (l->tmp_path != NULL) {
        unlink(l->tmp_path);
        free(l->tmp_path);
    }
    if (l->fd >= 0 && !l->activated)
        close(l->fd);
    psd_listener_free(l);
    return -1;
}

/* ---- connections per peer UID ---- */

/* Count a new connection of uid; 0 if that UID already has max_connections_per_uid open. */
static int psd_uid_get(psd_listener *l, uid_t uid, unsigned int *open_now)
{
    unsigned int max = l->cfg->max_connections_per_uid;
    int ok = 1;
    size_t i;

    *open_now = 0;
    if (max == 0)
        return 1;
    pthread_mutex_lock(&l->uids_mu);
    for (i = 0; i < l->n_uids && l->uids[i].uid != uid; i++)
        ;
    if (i == l->n_uids) {
        if (l->n_uids == l->cap_uids) {
            size_t cap = l->cap_uids ? l->cap_uids * 2 : 16;
            psd_uid_count *grown = realloc(l->uids, cap * sizeof(*grown));

            if (grown == NULL) {
                ok = 0;
                goto done;
            }
            l->uids = grown;
            l->cap_uids = cap;
        }
        l->uids[l->n_uids++] = (psd_uid_count){.uid = uid, .n = 0};
    }
    *open_now = l->uids[i].n;
    if (l->uids[i].n >= max)
        ok = 0;
    else
        l->uids[i].n++;
done:
    pthread_mutex_unlock(&l->uids_mu);
    return ok;
}

static void psd_uid_put(psd_listener *l, uid_t uid)
{
    if (l->cfg->max_connections_per_uid == 0)
        return;
    pthread_mutex_lock(&l->uids_mu);
    for (size_t i = 0; i < l->n_uids; i++) {
        if (l->uids[i].uid != uid)
            continue;
        if (--l->uids[i].n == 0)
            l->uids[i] = l->uids[--l->n_uids]; /* the table holds only UIDs with connections */
        break;
    }
    pthread_mutex_unlock(&l->uids_mu);
}

/* Close a connection counted for its UID; a worker out of descriptors may now accept. */
static void psd_conn_close(psd_listener *l, int fd, uid_t uid)
{
    close(fd);
    psd_uid_put(l, uid);
    pthread_cond_signal(&l->freed);
}

/* ---- waiting connections: slots ---- */

/* A free slot (BUSY, owned by the caller); NULL if every descriptor's slot is taken. */
static psd_slot *psd_slot_reserve(psd_listener *l)
{
    psd_slot *s = NULL;
    uint64_t one = 1;
    int first = 0;

    pthread_mutex_lock(&l->slots_mu);
    if (l->free_head != 0) {
        s = &l->slots[l->free_head - 1];
        l->free_head = s->next_free;
    } else if (atomic_load(&l->n_touched) < l->n_slots) {
        s = &l->slots[atomic_fetch_add(&l->n_touched, 1)];
        s->fd = -1;
    }
    if (s != NULL) {
        atomic_store(&s->word, PSD_SLOT_WORD(PSD_SLOT_GEN(atomic_load(&s->word)), PSD_SLOT_BUSY));
        first = atomic_fetch_add(&l->n_waiting, 1) == 0;
    }
    pthread_mutex_unlock(&l->slots_mu);
    /*
     * Keepers sleep without a timeout while nothing waits: wake one, so that
     * it starts the deadline sweep (the first of a run of connections only).
     */
    if (first && write(l->wake_fd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN)
        psd_log(PSD_LOG_WARN, "waking a keep-alive thread: %s", strerror(errno));
    return s;
}

/* Back to the free list with a new generation (its fd is closed or was never set). */
static void psd_slot_release(psd_listener *l, psd_slot *s)
{
    psd_reader_clear(&s->rd);
    if (s->kept)
        atomic_fetch_sub(&l->n_kept, 1);
    pthread_mutex_lock(&l->slots_mu);
    s->fd = -1;
    s->in_epoll = 0;
    s->kept = 0;
    s->idle_kept = 0;
    s->deadline_ms = 0;
    s->answered_ns = 0;
    memset(&s->poll, 0, sizeof(s->poll));
    memset(&s->peer, 0, sizeof(s->peer));
    parsec_lane_free(s->lane);
    s->lane = NULL;
    atomic_store(&s->word, PSD_SLOT_WORD(PSD_SLOT_GEN(atomic_load(&s->word)) + 1, PSD_SLOT_FREE));
    s->next_free = l->free_head;
    l->free_head = (unsigned int)(s - l->slots) + 1;
    atomic_fetch_sub(&l->n_waiting, 1);
    pthread_mutex_unlock(&l->slots_mu);
}

/* The owner of a slot closes its connection (closing also takes it out of the epoll set). */
static void psd_slot_close(psd_listener *l, psd_slot *s)
{
    int fd = s->fd;
    uid_t uid = s->peer.uid;

    psd_slot_release(l, s);
    psd_conn_close(l, fd, uid);
}

/* One more kept connection, if keepalive_max allows. */
static int psd_kept_count_take(psd_listener *l)
{
    unsigned int n = atomic_load(&l->n_kept);

    do {
        if (n >= l->keepalive_max || atomic_load(&l->stopping))
            return 0;
    } while (!atomic_compare_exchange_weak(&l->n_kept, &n, n + 1));
    return 1;
}

static void psd_start_keepers(psd_listener *l);

/* The owner parks a connection to wait for (more of) a request; deadline_ms is set. */
static void psd_slot_park(psd_listener *l, psd_slot *s)
{
    uint32_t gen = PSD_SLOT_GEN(atomic_load(&s->word));
    uint64_t arming = PSD_SLOT_WORD(gen, PSD_SLOT_ARMING);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT,
                             .data.u64 = (uint64_t)gen << 32 | ((s - l->slots) + PSD_EV_SLOT0)};

    /* Nobody would serve a waiting connection without keepers: started with the first. */
    if (atomic_load(&l->n_keepers) == 0)
        psd_start_keepers(l);
    if (atomic_load(&l->n_keepers) == 0) {
        psd_slot_close(l, s);
        return;
    }
    /*
     * ARMING while registering: the deadline sweep leaves it alone, and a
     * thread woken by an event that comes before PARKED is stored waits for it.
     */
    atomic_store(&s->word, arming);
    if (epoll_ctl(l->epfd, s->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        psd_log(PSD_LOG_WARN, "cannot wait for a client's request: epoll: %s", strerror(errno));
        atomic_store(&s->word, PSD_SLOT_WORD(gen, PSD_SLOT_BUSY));
        psd_slot_close(l, s);
        return;
    }
    s->in_epoll = 1;
    s->idle_kept = s->kept && s->rd.have == 0;
    atomic_store(&s->word, PSD_SLOT_WORD(gen, PSD_SLOT_PARKED));
}

/* An event for a slot: take it (PARKED -> BUSY) unless it was closed or reused meanwhile. */
static psd_slot *psd_slot_take(psd_listener *l, uint64_t data)
{
    uint32_t idx = (uint32_t)data - PSD_EV_SLOT0, gen = (uint32_t)(data >> 32);
    psd_slot *s;

    if (idx >= atomic_load(&l->n_touched))
        return NULL;
    s = &l->slots[idx];
    for (;;) {
        uint64_t expect = PSD_SLOT_WORD(gen, PSD_SLOT_PARKED);

        if (atomic_compare_exchange_strong(&s->word, &expect, PSD_SLOT_WORD(gen, PSD_SLOT_BUSY)))
            return s;
        if (expect != PSD_SLOT_WORD(gen, PSD_SLOT_ARMING))
            return NULL; /* closed by the sweep, or another generation */
        sched_yield();   /* its owner is between epoll_ctl and PARKED */
    }
}

/* Close the waiting connection whose deadline passed (owned, BUSY). */
static void psd_slot_expire(psd_listener *l, psd_slot *s)
{
    if (s->rd.have > 0) {
        /* Mid-request: answered as a short read is, ConnectionError. */
        if (!s->peer.have_uid)
            psd_peer_read_uid(s->fd, &s->peer); /* read at accept only while UIDs are capped */
        psd_log_limited(&l->deadline_log, PSD_LOG_INFO,
                        "closed a connection of uid %u: its request was not complete within "
                        "timeout_ms (%u ms) of its first byte",
                        (unsigned int)s->peer.uid, l->cfg->timeout_ms);
        psd_send_refusal(s->fd, PARSEC_CONNECTION_ERROR);
    } else if (!s->kept) {
        psd_send_refusal(s->fd, PARSEC_CONNECTION_ERROR); /* connected, sent nothing */
    }
    psd_slot_close(l, s);
}

/* Close connections whose deadline passed (one thread at a time, every sweep_ms). */
static void psd_sweep(psd_listener *l)
{
    int64_t now = psd_monotonic_ms();

    if (now - l->last_sweep_ms < l->sweep_ms || pthread_mutex_trylock(&l->sweep_mu) != 0)
        return;
    if (now - l->last_sweep_ms >= l->sweep_ms) {
        unsigned int touched;

        l->last_sweep_ms = now;
        touched = atomic_load(&l->n_touched);
        for (unsigned int i = 0; i < touched; i++) {
            psd_slot *s = &l->slots[i];
            uint64_t w = atomic_load(&s->word);
            int64_t deadline = s->deadline_ms;

            if (PSD_SLOT_STATE(w) != PSD_SLOT_PARKED || deadline == 0 || now < deadline)
                continue;
            if (atomic_compare_exchange_strong(&s->word, &w,
                                               PSD_SLOT_WORD(PSD_SLOT_GEN(w), PSD_SLOT_BUSY)))
                psd_slot_expire(l, s);
        }
    }
    pthread_mutex_unlock(&l->sweep_mu);
}

/*
 * Out of descriptors: a kept connection idle between requests is the one to
 * give up (its client resends on a new connection without noticing). The
 * longest idle goes first. 1 if one was closed.
 */
static int psd_shed_idle(psd_listener *l)
{
    psd_slot *oldest = NULL;
    uint64_t oldest_word = 0;
    int64_t oldest_deadline = 0;
    unsigned int touched;

    if (atomic_load(&l->n_kept) == 0)
        return 0;
    touched = atomic_load(&l->n_touched);
    for (unsigned int i = 0; i < touched; i++) {
        psd_slot *s = &l->slots[i];
        uint64_t w = atomic_load(&s->word);

        /* The idle deadline is last answer + keepalive_idle_ms: the earliest is the oldest. */
        if (PSD_SLOT_STATE(w) != PSD_SLOT_PARKED || !s->idle_kept)
            continue;
        if (oldest == NULL || s->deadline_ms < oldest_deadline) {
            oldest = s;
            oldest_word = w;
            oldest_deadline = s->deadline_ms;
        }
    }
    if (oldest == NULL ||
        !atomic_compare_exchange_strong(&oldest->word, &oldest_word,
                                        PSD_SLOT_WORD(PSD_SLOT_GEN(oldest_word), PSD_SLOT_BUSY)))
        return 0;
    psd_log_limited(&l->shed_log, PSD_LOG_INFO,
                    "out of descriptors: closed an idle kept connection to accept a new one");
    psd_slot_close(l, oldest);
    return 1;
}

/* ---- serving ---- */

typedef struct psd_new_conn {
    psd_listener *l;
    psd_slot *slot;
} psd_new_conn;

/* May a request on a new connection (served by its accept worker) keep it? Reserves its slot. */
static int psd_keep_new(void *arg)
{
    psd_new_conn *nc = arg;

    if (!psd_kept_count_take(nc->l))
        return 0;
    nc->slot = psd_slot_reserve(nc->l);
    if (nc->slot == NULL) {
        atomic_fetch_sub(&nc->l->n_kept, 1);
        return 0;
    }
    nc->slot->kept = 1;
    return 1;
}

/* May a request on a waiting connection keep it? */
static int psd_keep_waiting(void *arg)
{
    psd_new_conn *nc = arg;

    if (nc->slot->kept)
        return !atomic_load(&nc->l->stopping);
    if (!psd_kept_count_take(nc->l))
        return 0;
    nc->slot->kept = 1;
    return 1;
}

/*
 * Every keeper but the caller (if it is one) waits in epoll_wait: no other
 * kept connection is being served or has a request ready. Only then may the
 * caller busy-poll its connection; otherwise it would take a CPU from them.
 */
static int psd_keepers_all_idle(psd_listener *l, int keeper)
{
    unsigned int others = atomic_load_explicit(&l->n_keepers, memory_order_relaxed);

    if (keeper && others > 0)
        others--;
    return atomic_load_explicit(&l->keepers_idle, memory_order_relaxed) >= others;
}

/* May the thread serving a connection serve its next request too (served so far)? */
static int psd_serve_more(psd_listener *l, int keeper, int served)
{
    return served <= PSD_SERVE_IN_PLACE ||
           (keeper && atomic_load_explicit(&l->keepers_idle, memory_order_relaxed) > 0);
}

/*
 * Serve a connection its owner holds in a slot (BUSY): read what is there,
 * answer whole requests, and park it again once it has to wait. A client
 * in a loop often has its next request there before the connection could
 * be parked, or soon after: that one is served here too instead of through
 * epoll (a wake-up and a thread switch). After each answer the connection
 * is polled for the next request for a while (busy_poll_us, adapted to the
 * gaps this client leaves; parsec_busy_poll.h), so that this thread's CPU
 * stays awake for it. At most PSD_SERVE_IN_PLACE requests in a row, so
 * that one client cannot keep a thread from the others: an accept worker
 * then hands the connection to the keepers, and a keeper goes on only
 * while another keeper is free to serve the other connections.
 */
static void psd_conn_serve(psd_listener *l, psd_slot *s, int keeper)
{
    uint8_t first[PSD_FIRST_READ];
    psd_new_conn nc = {.l = l, .slot = s};
    uint32_t via = PARSEC_LANE_IDLE; /* where the next request is: lane MESSAGE, else the socket */

    /* A request handed over through the lane is always served: nothing else would wake for it. */
    for (int served = 0; via == PARSEC_LANE_MESSAGE || psd_serve_more(l, keeper, served);
         served++) {
        psd_read_result r;
        int polling, watching;

        if (s->rd.buf == NULL) {
            s->rd.buf = first; /* a new request: on the stack unless it has to wait */
            s->rd.cap = sizeof(first);
        }
        if (via == PARSEC_LANE_MESSAGE && s->rd.have == 0)
            r = psd_reader_load(l->cfg, s->fd, &s->rd, s->lane);
        else
            r = psd_reader_fill(l->cfg, s->fd, &s->rd);
        via = PARSEC_LANE_IDLE;
        if (s->answered_ns != 0 && (r != PSD_READ_MORE || s->rd.have > 0)) {
            parsec_poll_record(&s->poll, parsec_poll_now_ns() - s->answered_ns,
                               l->cfg->busy_poll_us);
            s->answered_ns = 0;
        }
        if (r == PSD_READ_MORE) {
            if (psd_reader_detach(&s->rd) != 0) {
                psd_send_refusal(s->fd, PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY);
                psd_slot_close(l, s);
                return;
            }
            if (s->rd.have > 0)
                s->deadline_ms = s->rd.deadline_ms;
            psd_slot_park(l, s);
            return;
        }
        /*
         * With a lane, watch it from before the answer goes out: the
         * client's next request may follow the answer at once.
         */
        polling = l->cfg->busy_poll_us > 0;
        watching = polling && s->lane != NULL && psd_serve_more(l, keeper, served + 1);
        if (watching)
            parsec_lane_watch(&s->lane->request);
        if (r != PSD_READ_DONE ||
            !psd_answer_request(l->svc, s->fd, &s->peer, &s->rd, psd_keep_waiting, &nc, &s->lane)) {
            psd_slot_close(l, s); /* EOF, error, or this request did not ask to keep it */
            return;
        }
        psd_reader_clear(&s->rd);
        s->deadline_ms = psd_monotonic_ms() + l->idle_ms;
        if (polling) {
            s->answered_ns = parsec_poll_now_ns();
            if (psd_keepers_all_idle(l, keeper)) {
                if (watching)
                    parsec_poll_spin_lane(&s->poll, &s->lane->request, l->cfg->busy_poll_us,
                                          s->answered_ns, 0);
                else
                    parsec_poll_spin(&s->poll, s->fd, l->cfg->busy_poll_us, s->answered_ns, 0);
            }
        }
        if (watching)
            via = parsec_lane_unwatch(&s->lane->request);
    }
    psd_slot_park(l, s);
}

static void *psd_keeper(void *arg)
{
    psd_listener *l = arg;

    for (;;) {
        struct epoll_event ev;
        /* A timeout only while connections wait: their deadlines must be enforced. */
        int timeout = atomic_load(&l->n_waiting) > 0 ? (int)l->sweep_ms : -1;
        int n;

        atomic_fetch_add_explicit(&l->keepers_idle, 1, memory_order_relaxed);
        n = epoll_wait(l->epfd, &ev, 1, timeout);
        atomic_fetch_sub_explicit(&l->keepers_idle, 1, memory_order_relaxed);

        if (atomic_load(&l->stopping))
            return NULL;
        if (n < 0 && errno != EINTR) {
            psd_log_limited(&l->accept_log, PSD_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            usleep(PSD_ACCEPT_BACKOFF_MIN_MS * 1000);
        }
        if (atomic_load(&l->n_waiting) > 0)
            psd_sweep(l);
        if (n > 0 && ev.data.u64 == PSD_EV_WAKE) {
            uint64_t count;

            if (read(l->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                psd_log(PSD_LOG_WARN, "keep-alive thread wake-up: %s", strerror(errno));
        } else if (n > 0 && ev.data.u64 != PSD_EV_STOP) {
            psd_slot *s = psd_slot_take(l, ev.data.u64);

            if (s != NULL)
                psd_conn_serve(l, s, 1);
        }
    }
}

/* The keepers, once: nobody waits on the epoll set until a connection has to. */
static void psd_start_keepers(psd_listener *l)
{
    pthread_mutex_lock(&l->keepers_mu);
    if (atomic_load(&l->n_keepers) == 0 && !atomic_load(&l->stopping)) {
        l->keepers = calloc(l->max_keepers, sizeof(*l->keepers));
        for (unsigned int i = 0; l->keepers != NULL && i < l->max_keepers; i++) {
            int rc = pthread_create(&l->keepers[i], NULL, psd_keeper, l);

            if (rc != 0) {
                psd_log(PSD_LOG_ERROR, "cannot start a keep-alive thread: %s", strerror(rc));
                break;
            }
            atomic_fetch_add(&l->n_keepers, 1);
        }
    }
    pthread_mutex_unlock(&l->keepers_mu);
}

/*
 * accept() failed. Out of descriptors it fails at once, again and again:
 * give up an idle kept connection if there is one, else sleep until a
 * connection closes (or a back-off that doubles up to a second), and log
 * once a minute, not once per failure.
 */
static void psd_accept_failed(psd_listener *l, int err, unsigned int *backoff_ms)
{
    struct timespec ts;

    if (err == EMFILE || err == ENFILE) {
        psd_log_limited(&l->accept_log, PSD_LOG_WARN,
                        "accept: %s: %u connections open (%u kept); new clients wait until one "
                        "closes. Raise the descriptor limit (ulimit -n, or LimitNOFILE= in the "
                        "systemd unit) or lower keepalive_max or max_connections_per_uid",
                        strerror(err), atomic_load(&l->n_waiting), atomic_load(&l->n_kept));
        if (psd_shed_idle(l))
            return;
    } else {
        psd_log_limited(&l->accept_log, PSD_LOG_WARN, "accept: %s", strerror(err));
    }
    *backoff_ms = *backoff_ms == 0
                      ? PSD_ACCEPT_BACKOFF_MIN_MS
                      : (*backoff_ms * 2 < PSD_ACCEPT_BACKOFF_MAX_MS ? *backoff_ms * 2
                                                                     : PSD_ACCEPT_BACKOFF_MAX_MS);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += *backoff_ms / 1000;
    ts.tv_nsec += (long)(*backoff_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    if (!atomic_load(&l->stopping))
        pthread_cond_timedwait(&l->freed, &l->mu, &ts);
    pthread_mutex_unlock(&l->mu);
}

/* A UID past max_connections_per_uid: refused at once, before anything is read. */
static void psd_refuse_over_cap(psd_listener *l, int fd, uid_t uid, unsigned int open_now)
{
    psd_log_limited(&l->refused_log, PSD_LOG_WARN,
                    "refused a connection of uid %u: it has %u open already "
                    "(max_connections_per_uid = %u in [listener])",
                    (unsigned int)uid, open_now, l->cfg->max_connections_per_uid);
    psd_send_refusal(fd, PARSEC_CONNECTION_ERROR);
    close(fd);
}

/* A new connection whose request is not all there yet: it waits on the epoll set. */
static void psd_conn_wait(psd_listener *l, int fd, const psd_peer *peer, psd_reader *rd)
{
    psd_slot *s = psd_slot_reserve(l);

    if (s == NULL || psd_reader_detach(rd) != 0) {
        psd_send_refusal(fd, s == NULL ? PARSEC_CONNECTION_ERROR
                                       : PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY);
        psd_reader_clear(rd);
        if (s != NULL)
            psd_slot_release(l, s);
        psd_conn_close(l, fd, peer->uid);
        return;
    }
    s->fd = fd;
    s->peer = *peer;
    s->rd = *rd;
    memset(rd, 0, sizeof(*rd));
    /* Nothing yet: the first byte has timeout_ms to come, as every later one has. */
    if (s->rd.have > 0)
        s->deadline_ms = s->rd.deadline_ms;
    else
        s->deadline_ms = l->cfg->timeout_ms > 0 ? psd_monotonic_ms() + l->cfg->timeout_ms : 0;
    psd_slot_park(l, s);
}

/*
 * A client writes its request just after connect(), and a worker woken by
 * the connect can be quicker: waiting a moment here is far cheaper than the
 * hand-off to a keeper (a quarter of the connections of a client Pinging
 * in a loop came before their request; handing them off cost a fifth of
 * the rate). All workers but one at most, so that clients that connect and
 * send nothing cannot keep every worker from accept(). 1 if bytes came.
 */
static int psd_first_bytes_wait(psd_listener *l, int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int rc = 0;

    if ((unsigned int)atomic_fetch_add(&l->first_bytes_waiters, 1) < l->max_first_bytes_waiters)
        rc = poll(&pfd, 1, PSD_FIRST_BYTES_WAIT_MS);
    atomic_fetch_sub(&l->first_bytes_waiters, 1);
    return rc > 0;
}

static void *psd_worker(void *arg)
{
    psd_listener *l = arg;
    unsigned int backoff_ms = 0;

    for (;;) {
        uint8_t first[PSD_FIRST_READ];
        psd_reader rd = {.buf = first, .cap = sizeof(first)};
        psd_new_conn nc = {.l = l, .slot = NULL};
        psd_peer peer = {0};
        parsec_lane *lane = NULL;
        psd_read_result r;
        unsigned int open_now;
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

        if (atomic_load(&l->stopping)) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED)
                psd_accept_failed(l, errno, &backoff_ms);
            continue;
        }
        backoff_ms = 0;
        if (l->cfg->max_connections_per_uid > 0 && psd_peer_read_uid(fd, &peer) != 0) {
            close(fd);
            continue;
        }
        if (!psd_uid_get(l, peer.uid, &open_now)) {
            psd_refuse_over_cap(l, fd, peer.uid, open_now);
            continue;
        }
        r = psd_reader_fill(l->cfg, fd, &rd);
        if (r == PSD_READ_MORE && rd.have == 0 && psd_first_bytes_wait(l, fd))
            r = psd_reader_fill(l->cfg, fd, &rd);
        if (r == PSD_READ_MORE) {
            psd_conn_wait(l, fd, &peer, &rd);
            continue;
        }
        if (r == PSD_READ_DONE &&
            psd_answer_request(l->svc, fd, &peer, &rd, psd_keep_new, &nc, &lane)) {
            psd_reader_clear(&rd);
            nc.slot->fd = fd;
            nc.slot->peer = peer;
            nc.slot->lane = lane;
            nc.slot->deadline_ms = psd_monotonic_ms() + l->idle_ms;
            psd_conn_serve(l, nc.slot, 0);
            continue;
        }
        psd_reader_clear(&rd);
        parsec_lane_free(lane);
        if (nc.slot != NULL)
            psd_slot_release(l, nc.slot); /* reserved, but the answer could not be sent */
        psd_conn_close(l, fd, peer.uid);
    }
}

int psd_listener_start(psd_listener *l, psd_service *svc, unsigned int threads, char *err,
                       size_t errlen)
{
    int rc;

    l->svc = svc;
    l->last_sweep_ms = psd_monotonic_ms();
    l->max_first_bytes_waiters = threads > 1 ? threads - 1 : 1;
    l->workers = calloc(threads, sizeof(*l->workers));
    if (l->workers == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (; l->n_workers < threads; l->n_workers++) {
        rc = pthread_create(&l->workers[l->n_workers], NULL, psd_worker, l);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
            return -1;
        }
    }
    /* Appear at the configured path only now that requests are served. */
    if (l->tmp_path != NULL) {
        if (rename(l->tmp_path, l->path) != 0) {
            snprintf(err, errlen, "cannot move socket into place at %s: %s", l->path,
                     strerror(errno));
            return -1;
        }
        l->published = 1;
    }
    return 0;
}

/*
 * Wake every worker blocked in accept(): shutdown() does it for our own
 * socket; systemd's socket must stay usable for the next start, so connect
 * to it once per worker instead.
 */
static void psd_wake_workers(psd_listener *l)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);

    if (!l->activated) {
        shutdown(l->fd, SHUT_RDWR);
        return;
    }
    if (getsockname(l->fd, (struct sockaddr *)&sa, &len) != 0)
        return;
    for (unsigned int i = 0; i < l->n_workers; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
            break;
        if (connect(fd, (struct sockaddr *)&sa, len) != 0)
            psd_log(PSD_LOG_WARN, "waking the listener: %s", strerror(errno));
        close(fd);
    }
}

void psd_listener_stop(psd_listener *l)
{
    struct stat stbuf;
    uint64_t one = 1;
    unsigned int keepers;

    if (l == NULL)
        return;
    atomic_store(&l->stopping, 1);
    if (l->n_workers > 0)
        psd_wake_workers(l);
    /* Level-triggered and never read: every keeper wakes, finishes what it serves, and exits. */
    if (write(l->stop_fd, &one, sizeof(one)) != sizeof(one))
        psd_log(PSD_LOG_WARN, "waking the keep-alive threads: %s", strerror(errno));
    /* Each thread finishes the request it is serving, then exits. */
    for (unsigned int i = 0; i < l->n_workers; i++)
        pthread_join(l->workers[i], NULL);
    free(l->workers);
    pthread_mutex_lock(&l->keepers_mu); /* no keeper starts any more (stopping is set) */
    keepers = atomic_load(&l->n_keepers);
    pthread_mutex_unlock(&l->keepers_mu);
    for (unsigned int i = 0; i < keepers; i++)
        pthread_join(l->keepers[i], NULL);
    free(l->keepers);
    /* Connections still waiting: their clients see EOF and reconnect (to a new service). */
    for (unsigned int i = 0; i < atomic_load(&l->n_touched); i++) {
        if (l->slots[i].fd >= 0)
            close(l->slots[i].fd);
        psd_reader_clear(&l->slots[i].rd);
    }
    /* Remove the socket file only if it is still the one we created. */
    if (!l->activated && !l->published && l->tmp_path != NULL)
        unlink(l->tmp_path);
    if (!l->activated && l->published && stat(l->path, &stbuf) == 0 && stbuf.st_dev == l->dev &&
        stbuf.st_ino == l->ino)
        unlink(l->path);
    free(l->tmp_path);
    if (l->fd >= 0)
        close(l->fd);
    psd_listener_free(l);
}
