/* SPDX-License-Identifier: Apache-2.0 */
/* The shared-memory hand-off of a kept connection (parsec_lane.h). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parsec_lane.h"

/* The memfd's size: the region rounded up to whole pages. */
static size_t parsec_lane_map_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t p = page > 0 ? (size_t)page : 4096u;

    return (sizeof(parsec_lane) + p - 1) / p * p;
}

int parsec_lane_create(parsec_lane **out, int *fd_out)
{
    size_t size = parsec_lane_map_size();
    parsec_lane *lane = MAP_FAILED;
    int fd, err;

    *out = NULL;
    *fd_out = -1;
    fd = memfd_create("parsec-lane", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        goto fail;
    lane = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (lane == MAP_FAILED)
        goto fail;
    (void)madvise(lane, size, MADV_DONTFORK); /* a forked child never sees a client's region */
    lane->magic = PARSEC_LANE_MAGIC;
    lane->version = PARSEC_LANE_VERSION;
    *out = lane;
    *fd_out = fd;
    return 0;
fail:
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

int parsec_lane_attach(int fd, parsec_lane **out)
{
    size_t size = parsec_lane_map_size();
    struct stat st;
    parsec_lane *lane;
    int seals = fcntl(fd, F_GET_SEALS);

    *out = NULL;
    /* Not shrinkable: the other process cannot make our accesses fault. */
    if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size != (off_t)size)
        return -1;
    lane = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (lane == MAP_FAILED)
        return -1;
    if (lane->magic != PARSEC_LANE_MAGIC || lane->version != PARSEC_LANE_VERSION) {
        munmap(lane, size);
        return -1;
    }
    (void)madvise(lane, size, MADV_DONTFORK);
    *out = lane;
    return 0;
}

void parsec_lane_free(parsec_lane *lane)
{
    if (lane != NULL)
        munmap(lane, parsec_lane_map_size());
}

void parsec_lane_watch(parsec_lane_way *way)
{
    atomic_store(&way->state, PARSEC_LANE_WATCHING);
}

uint32_t parsec_lane_unwatch(parsec_lane_way *way)
{
    uint32_t seen = PARSEC_LANE_WATCHING;

    if (atomic_compare_exchange_strong(&way->state, &seen, PARSEC_LANE_IDLE))
        return PARSEC_LANE_IDLE;
    if (seen == PARSEC_LANE_MESSAGE)
        return PARSEC_LANE_MESSAGE;
    /* SOCKET, or a value the peer had no business writing: the socket decides. */
    atomic_store(&way->state, PARSEC_LANE_IDLE);
    return PARSEC_LANE_SOCKET;
}

int parsec_lane_decided(const parsec_lane_way *way)
{
    return atomic_load_explicit(&way->state, memory_order_acquire) != PARSEC_LANE_WATCHING;
}

int parsec_lane_put(parsec_lane_way *way, uint8_t *area, const struct iovec *iov, int iovcnt)
{
    size_t len = 0;
    uint32_t seen = PARSEC_LANE_WATCHING;

    if (atomic_load_explicit(&way->state, memory_order_relaxed) != PARSEC_LANE_WATCHING)
        return 0;
    for (int i = 0; i < iovcnt; i++)
        len += iov[i].iov_len;
    if (len == 0 || len > PARSEC_LANE_AREA)
        return 0;
    for (int i = 0, at = 0; i < iovcnt; at += (int)iov[i].iov_len, i++)
        memcpy(area + at, iov[i].iov_base, iov[i].iov_len);
    atomic_store_explicit(&way->len, (uint32_t)len, memory_order_relaxed);
    if (atomic_compare_exchange_strong(&way->state, &seen, PARSEC_LANE_MESSAGE))
        return 1;
    OPENSSL_cleanse(area, len); /* the receiver stopped looking meanwhile: not delivered */
    return 0;
}

void parsec_lane_sent_on_socket(parsec_lane_way *way)
{
    uint32_t seen = PARSEC_LANE_WATCHING;

    (void)atomic_compare_exchange_strong(&way->state, &seen, PARSEC_LANE_SOCKET);
}

size_t parsec_lane_take(parsec_lane_way *way, uint8_t *area, uint8_t *buf, size_t cap)
{
    /* Read once: the peer may change it while we copy. */
    size_t len = atomic_load_explicit(&way->len, memory_order_relaxed);

    if (len == 0 || len > PARSEC_LANE_AREA || len > cap) {
        OPENSSL_cleanse(area, PARSEC_LANE_AREA); /* whatever the peer left there */
        len = 0;
    } else {
        memcpy(buf, area, len);
        OPENSSL_cleanse(area, len); /* a sender writes the message and no more */
    }
    atomic_store(&way->state, PARSEC_LANE_IDLE);
    return len;
}
