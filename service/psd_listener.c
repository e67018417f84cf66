/*
 * The Unix-socket listener. Two pools of threads, `threads` each:
 *
 * - accept workers all block in accept() on the listening socket; the
 *   kernel wakes exactly one of them per connection, which serves it
 *   itself (no hand-off between threads, which halved the one-client
 *   request rate on a 2-CPU machine; and no epoll round on this path,
 *   which cost a one-connection-per-request client a tenth of its rate);
 * - keepers, started when the first connection is kept by the keep-alive
 *   extension (docs/protocol-extensions.md), wait in epoll_wait() on the
 *   set of kept connections (each EPOLLONESHOT, so one keeper takes each
 *   request) and serve what arrives.
 *
 * Whoever answers a kept connection also serves its next request if that
 * is already there (a client in a loop), a few times in a row, before
 * arming it again. Nothing polls: an idle service uses no CPU; while some
 * connections are kept, one keeper wakes every keepalive_idle_ms / 2 to
 * close the idle ones.
 *
 * A kept connection lives in a slot whose state word (generation, state)
 * changes only by compare-and-swap: PARKED (armed in epoll) -> BUSY (a
 * thread serves it) -> ARMING -> PARKED again, or -> closed and FREE with a
 * new generation. An event carries the slot's generation, so an event for
 * a connection that was closed meanwhile is recognised and dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "psd_service.h"

#define PSD_SD_LISTEN_FDS_START 3

/* epoll data: the stop event, else slot index + PSD_EV_SLOT0 | gen << 32. */
#define PSD_EV_STOP 1u
#define PSD_EV_SLOT0 2u

/* Requests one worker serves back to back on a kept connection before it re-arms it. */
#define PSD_SERVE_IN_PLACE 8

enum psd_slot_state {
    PSD_SLOT_FREE = 0,
    PSD_SLOT_BUSY = 1,    /* owned by the worker serving it (or reserving it) */
    PSD_SLOT_ARMING = 2,  /* its owner is registering it with epoll */
    PSD_SLOT_PARKED = 3,  /* in epoll, waiting for the next request */
};

#define PSD_SLOT_WORD(gen, state) (((uint64_t)(uint32_t)(gen) << 2) | (uint64_t)(state))
#define PSD_SLOT_STATE(word) ((unsigned int)((word) & 3u))
#define PSD_SLOT_GEN(word) ((uint32_t)((word) >> 2))

typedef struct psd_slot {
    _Atomic uint64_t word;  /* PSD_SLOT_WORD(generation, state) */
    int fd;
    int in_epoll;           /* added once, re-armed with EPOLL_CTL_MOD afterwards */
    _Atomic int64_t idle_since_ms; /* set before PARKED is published */
    psd_peer peer;          /* credentials, read once per connection */
    unsigned int next_free;
} psd_slot;

struct psd_listener {
    int fd;
    int activated;         /* inherited from systemd: not ours to remove */
    char *path;
    char *tmp_path;        /* bound here until published (NULL when bound at path) */
    int published;
    dev_t dev;             /* the socket file we created, to remove only that */
    ino_t ino;
    psd_service *svc;
    pthread_t *workers;
    unsigned int n_workers;
    pthread_t *keepers;    /* started with the first kept connection */
    atomic_uint n_keepers;
    unsigned int max_keepers;
    pthread_mutex_t keepers_mu;
    atomic_int stopping;   /* stop accepting; finish the request in hand */
    pthread_mutex_t mu;    /* accept failures: wait for a peer to free a descriptor */
    pthread_cond_t freed;
    int epfd;              /* kept connections and the stop event */
    int stop_fd;           /* eventfd, written once at stop: wakes every keeper */
    /* keep-alive: slots, a free list (under slots_mu) and the idle sweep */
    psd_slot *slots;
    unsigned int n_slots;
    unsigned int free_head; /* index + 1; 0 = none */
    atomic_uint n_kept;
    pthread_mutex_t slots_mu;
    pthread_mutex_t sweep_mu;
    _Atomic int64_t last_sweep_ms;
    unsigned int idle_ms;
    unsigned int sweep_ms;
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

static int psd_socket_owner(const psd_config *cfg, uid_t *uid, gid_t *gid, char *err,
                            size_t errlen)
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
    free(l->slots);
    free(l->path);
    pthread_mutex_destroy(&l->keepers_mu);
    pthread_mutex_destroy(&l->sweep_mu);
    pthread_mutex_destroy(&l->slots_mu);
    pthread_cond_destroy(&l->freed);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* The epoll set of kept connections (with the level-triggered stop event) and their slots. */
static int psd_listener_setup(psd_listener *l, const psd_config *cfg, char *err, size_t errlen)
{
    struct epoll_event ev = {0};

    l->idle_ms = cfg->keepalive_idle_ms > 0 ? cfg->keepalive_idle_ms : PSD_DEFAULT_KEEPALIVE_IDLE_MS;
    l->sweep_ms = l->idle_ms / 2 > 0 ? l->idle_ms / 2 : 1;
    l->n_slots = cfg->keepalive_max;
    if (l->n_slots > 0) {
        l->slots = calloc(l->n_slots, sizeof(*l->slots));
        if (l->slots == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        for (unsigned int i = 0; i < l->n_slots; i++) {
            l->slots[i].fd = -1;
            l->slots[i].next_free = i + 2 <= l->n_slots ? i + 2 : 0;
        }
        l->free_head = 1;
    }
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->epfd < 0 || l->stop_fd < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        return -1;
    }
    ev.events = EPOLLIN;
    ev.data.u64 = PSD_EV_STOP;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) != 0) {
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
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->freed, NULL);
    pthread_mutex_init(&l->slots_mu, NULL);
    pthread_mutex_init(&l->sweep_mu, NULL);
    pthread_mutex_init(&l->keepers_mu, NULL);
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

static int64_t psd_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Out of descriptors or memory: wait until another worker closes a connection. */
static void psd_accept_backoff(psd_listener *l)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->mu);
    pthread_cond_timedwait(&l->freed, &l->mu, &ts);
    pthread_mutex_unlock(&l->mu);
}

/* ---- keep-alive slots ---- */

/* A free slot for a connection whose request asked to be kept; NULL if all are taken. */
static psd_slot *psd_slot_reserve(psd_listener *l)
{
    psd_slot *s = NULL;

    if (l->n_slots == 0 || atomic_load(&l->stopping))
        return NULL;
    pthread_mutex_lock(&l->slots_mu);
    if (l->free_head != 0) {
        s = &l->slots[l->free_head - 1];
        l->free_head = s->next_free;
        atomic_store(&s->word, PSD_SLOT_WORD(PSD_SLOT_GEN(atomic_load(&s->word)), PSD_SLOT_BUSY));
        atomic_fetch_add(&l->n_kept, 1);
    }
    pthread_mutex_unlock(&l->slots_mu);
    return s;
}

/* Back to the free list with a new generation (its fd is closed or was never set). */
static void psd_slot_release(psd_listener *l, psd_slot *s)
{
    pthread_mutex_lock(&l->slots_mu);
    s->fd = -1;
    s->in_epoll = 0;
    memset(&s->peer, 0, sizeof(s->peer));
    atomic_store(&s->word, PSD_SLOT_WORD(PSD_SLOT_GEN(atomic_load(&s->word)) + 1, PSD_SLOT_FREE));
    s->next_free = l->free_head;
    l->free_head = (unsigned int)(s - l->slots) + 1;
    atomic_fetch_sub(&l->n_kept, 1);
    pthread_mutex_unlock(&l->slots_mu);
    pthread_cond_signal(&l->freed);
}

/* The owner of a slot closes its connection (closing also takes it out of the epoll set). */
static void psd_slot_close(psd_listener *l, psd_slot *s)
{
    close(s->fd);
    psd_slot_release(l, s);
}

/* The owner parks a connection that was answered with keep-alive: armed for its next request. */
static void psd_slot_park(psd_listener *l, psd_slot *s)
{
    uint32_t gen = PSD_SLOT_GEN(atomic_load(&s->word));
    uint64_t arming = PSD_SLOT_WORD(gen, PSD_SLOT_ARMING);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT,
                             .data.u64 = (uint64_t)gen << 32 | ((s - l->slots) + PSD_EV_SLOT0)};

    s->idle_since_ms = psd_now_ms();
    /*
     * ARMING while registering: the idle sweep leaves it alone, and a worker
     * woken by an event that comes before PARKED is stored waits for it.
     */
    atomic_store(&s->word, arming);
    if (epoll_ctl(l->epfd, s->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        psd_log(PSD_LOG_WARN, "cannot keep a connection: epoll: %s", strerror(errno));
        atomic_store(&s->word, PSD_SLOT_WORD(gen, PSD_SLOT_BUSY));
        psd_slot_close(l, s);
        return;
    }
    s->in_epoll = 1;
    atomic_store(&s->word, PSD_SLOT_WORD(gen, PSD_SLOT_PARKED));
}

/* An event for a slot: take it (PARKED -> BUSY) unless it was closed or reused meanwhile. */
static psd_slot *psd_slot_take(psd_listener *l, uint64_t data)
{
    uint32_t idx = (uint32_t)data - PSD_EV_SLOT0, gen = (uint32_t)(data >> 32);
    psd_slot *s;

    if (idx >= l->n_slots)
        return NULL;
    s = &l->slots[idx];
    for (;;) {
        uint64_t expect = PSD_SLOT_WORD(gen, PSD_SLOT_PARKED);

        if (atomic_compare_exchange_strong(&s->word, &expect, PSD_SLOT_WORD(gen, PSD_SLOT_BUSY)))
            return s;
        if (expect != PSD_SLOT_WORD(gen, PSD_SLOT_ARMING))
            return NULL; /* closed by the idle sweep, or another generation */
        sched_yield();   /* its owner is between epoll_ctl and PARKED */
    }
}

/* Close connections parked for longer than keepalive_idle_ms (one worker at a time). */
static void psd_sweep(psd_listener *l)
{
    int64_t now = psd_now_ms();

    if (now - l->last_sweep_ms < l->sweep_ms || pthread_mutex_trylock(&l->sweep_mu) != 0)
        return;
    if (now - l->last_sweep_ms >= l->sweep_ms) {
        l->last_sweep_ms = now;
        for (unsigned int i = 0; i < l->n_slots; i++) {
            psd_slot *s = &l->slots[i];
            uint64_t w = atomic_load(&s->word);

            if (PSD_SLOT_STATE(w) != PSD_SLOT_PARKED || now - s->idle_since_ms < l->idle_ms)
                continue;
            if (atomic_compare_exchange_strong(&s->word, &w,
                                               PSD_SLOT_WORD(PSD_SLOT_GEN(w), PSD_SLOT_BUSY)))
                psd_slot_close(l, s);
        }
    }
    pthread_mutex_unlock(&l->sweep_mu);
}

/* ---- serving ---- */

typedef struct psd_new_conn {
    psd_listener *l;
    psd_slot *slot;
} psd_new_conn;

static void psd_start_keepers(psd_listener *l);

static int psd_keep_new(void *arg)
{
    psd_new_conn *nc = arg;

    /* Nobody would serve a kept connection without keepers: start them with the first. */
    if (atomic_load(&nc->l->n_keepers) == 0)
        psd_start_keepers(nc->l);
    if (nc->slot == NULL && atomic_load(&nc->l->n_keepers) > 0)
        nc->slot = psd_slot_reserve(nc->l);
    return nc->slot != NULL;
}

static int psd_keep_kept(void *arg)
{
    psd_listener *l = arg;

    return !atomic_load(&l->stopping);
}

/*
 * A kept connection whose answer just went out (its owner holds it BUSY).
 * A client in a loop often has its next request there before the
 * connection could be armed again: serve that one here instead of handing
 * it to another worker through epoll (a wake-up and a thread switch), a
 * bounded number of times so that one client cannot keep a worker to itself.
 */
static void psd_slot_next(psd_listener *l, psd_slot *s)
{
    for (int served = 0; served < PSD_SERVE_IN_PLACE; served++) {
        uint8_t b;
        ssize_t n = recv(s->fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0 || !psd_serve_request(l->svc, s->fd, &s->peer, psd_keep_kept, l)) {
            psd_slot_close(l, s); /* EOF, error, or this request did not ask to keep it */
            return;
        }
    }
    psd_slot_park(l, s);
}

static void psd_on_kept(psd_listener *l, uint64_t data)
{
    psd_slot *s = psd_slot_take(l, data);

    if (s == NULL)
        return;
    if (psd_serve_request(l->svc, s->fd, &s->peer, psd_keep_kept, l))
        psd_slot_next(l, s);
    else
        psd_slot_close(l, s); /* the client closed it, stopped asking, or we are stopping */
}

static void *psd_keeper(void *arg)
{
    psd_listener *l = arg;

    for (;;) {
        struct epoll_event ev;
        /* A timeout only while connections are kept: they must be closed when idle. */
        int timeout = atomic_load(&l->n_kept) > 0 ? (int)l->sweep_ms : -1;
        int n = epoll_wait(l->epfd, &ev, 1, timeout);

        if (atomic_load(&l->stopping))
            return NULL;
        if (n < 0 && errno != EINTR) {
            psd_log(PSD_LOG_ERROR, "epoll_wait: %s", strerror(errno));
            psd_accept_backoff(l);
        }
        if (atomic_load(&l->n_kept) > 0)
            psd_sweep(l);
        if (n > 0 && ev.data.u64 != PSD_EV_STOP)
            psd_on_kept(l, ev.data.u64);
    }
}

/* The keepers, once: nobody waits for kept connections until one exists. */
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

static void *psd_worker(void *arg)
{
    psd_listener *l = arg;

    for (;;) {
        psd_new_conn nc = {.l = l, .slot = NULL};
        psd_peer peer = {0};
        int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

        if (atomic_load(&l->stopping)) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            psd_log(PSD_LOG_WARN, "accept: %s", strerror(errno));
            psd_accept_backoff(l);
            continue;
        }
        if (psd_serve_request(l->svc, fd, &peer, psd_keep_new, &nc)) {
            nc.slot->fd = fd;
            nc.slot->peer = peer;
            psd_slot_next(l, nc.slot);
            continue;
        }
        close(fd);
        if (nc.slot != NULL)
            psd_slot_release(l, nc.slot); /* reserved, but the answer could not be sent */
        pthread_cond_signal(&l->freed);
    }
}

int psd_listener_start(psd_listener *l, psd_service *svc, unsigned int threads, char *err,
                       size_t errlen)
{
    int rc;

    l->svc = svc;
    l->last_sweep_ms = psd_now_ms();
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
    /* Kept connections still parked: their clients see EOF and reconnect (to a new service). */
    for (unsigned int i = 0; i < l->n_slots; i++)
        if (l->slots[i].fd >= 0)
            close(l->slots[i].fd);
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
