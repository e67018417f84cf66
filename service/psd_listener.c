/*
 * The Unix-socket listener: a fixed pool of threads all block in accept()
 * on the listening socket; the kernel wakes exactly one of them per
 * connection, which then serves it. Nothing polls or sleeps, so an idle
 * service uses no CPU, and no connection pays for a hand-off between
 * threads (which halved the one-client request rate on a 2-CPU machine).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "psd_service.h"

#define PSD_SD_LISTEN_FDS_START 3

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
    atomic_int stopping;   /* stop accepting; finish the request in hand */
    pthread_mutex_t mu;    /* accept failures: wait for a peer to free a descriptor */
    pthread_cond_t freed;
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
        snprintf(err, errlen, "cannot bind %s: %s", path, strerror(errno));
        goto fail;
    }
    if (listen(fd, SOMAXCONN) != 0 || chmod(tmp, cfg->socket_mode) != 0 ||
        ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(tmp, uid, gid) != 0) ||
        stat(tmp, &stbuf) != 0) {
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

int psd_listener_open(const psd_config *cfg, psd_listener **out, char *err, size_t errlen)
{
    psd_listener *l = calloc(1, sizeof(*l));

    *out = NULL;
    if (l == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->fd = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->freed, NULL);
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
    *out = l;
    return 0;
fail:
    free(l->path);
    pthread_cond_destroy(&l->freed);
    pthread_mutex_destroy(&l->mu);
    free(l);
    return -1;
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

static void *psd_worker(void *arg)
{
    psd_listener *l = arg;

    for (;;) {
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
        psd_handle_connection(l->svc, fd);
        pthread_cond_signal(&l->freed);
    }
}

int psd_listener_start(psd_listener *l, psd_service *svc, unsigned int threads, char *err,
                       size_t errlen)
{
    int rc;

    l->svc = svc;
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

    if (l == NULL)
        return;
    atomic_store(&l->stopping, 1);
    if (l->n_workers > 0)
        psd_wake_workers(l);
    /* Each worker finishes the request it is serving, then exits. */
    for (unsigned int i = 0; i < l->n_workers; i++)
        pthread_join(l->workers[i], NULL);
    free(l->workers);
    /* Remove the socket file only if it is still the one we created. */
    if (!l->activated && !l->published && l->tmp_path != NULL)
        unlink(l->tmp_path);
    if (!l->activated && l->published && stat(l->path, &stbuf) == 0 && stbuf.st_dev == l->dev &&
        stbuf.st_ino == l->ino)
        unlink(l->path);
    free(l->tmp_path);
    if (l->fd >= 0)
        close(l->fd);
    free(l->path);
    pthread_cond_destroy(&l->freed);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
