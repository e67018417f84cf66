/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec_lane, the shared-memory hand-off: which side decides where a
 * message goes in each state, that a message is whole or not there at all,
 * that areas are cleansed, that a region parsecd did not make (or one that
 * can shrink) is refused, and a hand-off between two processes.
 */
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "parsec_lane.h"

/* Hand-offs between the two processes (their lengths step through the whole area). */
#define LANE_ROUNDS 600

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static parsec_lane *lane_new(void)
{
    parsec_lane *lane = NULL;
    int fd = -1;

    assert_int_equal(parsec_lane_create(&lane, &fd), 0);
    assert_non_null(lane);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    return lane;
}

/* Nobody watching: the sender keeps the message for the socket and leaves nothing behind. */
static void test_not_watching(void **state)
{
    parsec_lane *lane = lane_new();
    uint8_t msg[100];
    struct iovec iov = {msg, sizeof(msg)};

    (void)state;
    memset(msg, 0xA5, sizeof(msg));
    assert_int_equal(parsec_lane_put(&lane->request, lane->request_area, &iov, 1), 0);
    assert_true(all_zero(lane->request_area, PARSEC_LANE_AREA));
    assert_int_equal(atomic_load(&lane->request.state), PARSEC_LANE_IDLE);
    parsec_lane_sent_on_socket(&lane->request); /* nobody to tell: stays idle */
    assert_int_equal(atomic_load(&lane->request.state), PARSEC_LANE_IDLE);
    parsec_lane_free(lane);
}

/* Watching: a message in pieces arrives whole, is copied out, and the area is cleansed. */
static void test_handoff(void **state)
{
    parsec_lane *lane = lane_new();
    uint8_t head[36], body[300], out[PARSEC_LANE_AREA];
    struct iovec iov[2] = {{head, sizeof(head)}, {body, sizeof(body)}};

    (void)state;
    memset(head, 1, sizeof(head));
    memset(body, 2, sizeof(body));
    parsec_lane_watch(&lane->response);
    assert_false(parsec_lane_decided(&lane->response));
    assert_int_equal(parsec_lane_put(&lane->response, lane->response_area, iov, 2), 1);
    assert_true(parsec_lane_decided(&lane->response));
    assert_int_equal(parsec_lane_unwatch(&lane->response), PARSEC_LANE_MESSAGE);
    assert_int_equal(parsec_lane_take(&lane->response, lane->response_area, out, sizeof(out)),
                     sizeof(head) + sizeof(body));
    assert_memory_equal(out, head, sizeof(head));
    assert_memory_equal(out + sizeof(head), body, sizeof(body));
    assert_true(all_zero(lane->response_area, PARSEC_LANE_AREA));
    assert_int_equal(atomic_load(&lane->response.state), PARSEC_LANE_IDLE);
    /* The other direction was never touched. */
    assert_int_equal(atomic_load(&lane->request.state), PARSEC_LANE_IDLE);
    parsec_lane_free(lane);
}

/* Too large for the area: it goes on the socket, and a watching receiver is told so. */
static void test_too_large(void **state)
{
    parsec_lane *lane = lane_new();
    static uint8_t big[PARSEC_LANE_AREA + 1];
    struct iovec iov = {big, sizeof(big)};

    (void)state;
    parsec_lane_watch(&lane->request);
    assert_int_equal(parsec_lane_put(&lane->request, lane->request_area, &iov, 1), 0);
    assert_false(parsec_lane_decided(&lane->request));
    parsec_lane_sent_on_socket(&lane->request);
    assert_true(parsec_lane_decided(&lane->request));
    assert_int_equal(parsec_lane_unwatch(&lane->request), PARSEC_LANE_SOCKET);
    assert_int_equal(atomic_load(&lane->request.state), PARSEC_LANE_IDLE);
    /* Exactly the area's size still fits. */
    iov.iov_len = PARSEC_LANE_AREA;
    parsec_lane_watch(&lane->request);
    assert_int_equal(parsec_lane_put(&lane->request, lane->request_area, &iov, 1), 1);
    parsec_lane_free(lane);
}

/* The receiver stopped watching first: the sender's message is not delivered. */
static void test_unwatch_first(void **state)
{
    parsec_lane *lane = lane_new();
    uint8_t msg[40] = {7};
    struct iovec iov = {msg, sizeof(msg)};

    (void)state;
    parsec_lane_watch(&lane->response);
    assert_int_equal(parsec_lane_unwatch(&lane->response), PARSEC_LANE_IDLE);
    assert_int_equal(parsec_lane_put(&lane->response, lane->response_area, &iov, 1), 0);
    parsec_lane_free(lane);
}

/* A length the peer wrote that cannot be: nothing is taken, the area is cleansed anyway. */
static void test_bad_length(void **state)
{
    parsec_lane *lane = lane_new();
    uint8_t out[64];

    (void)state;
    memset(lane->request_area, 0x5A, PARSEC_LANE_AREA);
    atomic_store(&lane->request.len, PARSEC_LANE_AREA + 1);
    atomic_store(&lane->request.state, PARSEC_LANE_MESSAGE);
    assert_int_equal(parsec_lane_take(&lane->request, lane->request_area, out, sizeof(out)), 0);
    assert_true(all_zero(lane->request_area, PARSEC_LANE_AREA));
    /* Fits the area but not the caller's buffer. */
    atomic_store(&lane->request.len, sizeof(out) + 1);
    assert_int_equal(parsec_lane_take(&lane->request, lane->request_area, out, sizeof(out)), 0);
    atomic_store(&lane->request.len, 0);
    assert_int_equal(parsec_lane_take(&lane->request, lane->request_area, out, sizeof(out)), 0);
    /* A state word the peer set to nonsense counts as "look at the socket". */
    parsec_lane_watch(&lane->request);
    atomic_store(&lane->request.state, 99);
    assert_int_equal(parsec_lane_unwatch(&lane->request), PARSEC_LANE_SOCKET);
    assert_int_equal(atomic_load(&lane->request.state), PARSEC_LANE_IDLE);
    parsec_lane_free(lane);
}

/* Only a sealed memfd of the right size, made by parsec_lane_create, is mapped. */
static void test_attach_checks(void **state)
{
    parsec_lane *lane = NULL, *mine = NULL;
    long page = sysconf(_SC_PAGESIZE);
    size_t size = (sizeof(parsec_lane) + (size_t)page - 1) / (size_t)page * (size_t)page;
    int fd, made;

    (void)state;
    /* Not sealed: the other side could shrink it under us. */
    fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    assert_int_equal(parsec_lane_attach(fd, &lane), -1);
    assert_null(lane);
    /* Sealed, right size, but not a region (no magic). */
    assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    assert_int_equal(parsec_lane_attach(fd, &lane), -1);
    close(fd);
    /* Wrong size. */
    fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_int_equal(ftruncate(fd, (off_t)size * 2), 0);
    assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
    assert_int_equal(parsec_lane_attach(fd, &lane), -1);
    close(fd);
    /* Not a memfd at all. */
    fd = open("/dev/null", O_RDWR);
    assert_int_equal(parsec_lane_attach(fd, &lane), -1);
    close(fd);
    /* The real one: both mappings are the same memory; it cannot be shrunk. */
    assert_int_equal(parsec_lane_create(&mine, &made), 0);
    assert_int_equal(parsec_lane_attach(made, &lane), 0);
    assert_int_equal(ftruncate(made, 0), -1);
    mine->request_area[5] = 42;
    assert_int_equal(lane->request_area[5], 42);
    close(made);
    parsec_lane_free(lane);
    parsec_lane_free(mine);
    parsec_lane_free(NULL);
}

/* Another process watches and answers through the region: the messages cross whole. */
static void test_two_processes(void **state)
{
    parsec_lane *lane = lane_new();
    uint8_t out[PARSEC_LANE_AREA];
    int status;
    pid_t pid;

    (void)state;
    /* The child must see the mapping: created before fork() it is not inherited (DONTFORK). */
    assert_int_equal(madvise(lane, sizeof(*lane), MADV_DOFORK), 0);
    parsec_lane_watch(&lane->request);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Echo the requests (every length up to the area's), with every byte + 1. */
        for (int i = 0; i < LANE_ROUNDS; i++) {
            uint8_t buf[PARSEC_LANE_AREA];
            size_t n;
            struct iovec iov = {buf, 0};

            while (!parsec_lane_decided(&lane->request))
                sched_yield();
            if (parsec_lane_unwatch(&lane->request) != PARSEC_LANE_MESSAGE)
                _exit(2);
            n = parsec_lane_take(&lane->request, lane->request_area, buf, sizeof(buf));
            if (n != (size_t)(i * 7) % PARSEC_LANE_AREA + 1)
                _exit(3);
            for (size_t k = 0; k < n; k++)
                buf[k]++;
            iov.iov_len = n;
            parsec_lane_watch(&lane->request);
            if (!parsec_lane_put(&lane->response, lane->response_area, &iov, 1))
                _exit(4);
        }
        _exit(0);
    }
    for (int i = 0; i < LANE_ROUNDS; i++) {
        uint8_t req[PARSEC_LANE_AREA];
        size_t n = (size_t)(i * 7) % PARSEC_LANE_AREA + 1;
        struct iovec iov = {req, n};

        for (size_t k = 0; k < n; k++)
            req[k] = (uint8_t)(i + k);
        parsec_lane_watch(&lane->response);
        /* The child watches again only after its answer: wait until it does. */
        while (!parsec_lane_put(&lane->request, lane->request_area, &iov, 1))
            sched_yield();
        while (!parsec_lane_decided(&lane->response))
            sched_yield();
        assert_int_equal(parsec_lane_unwatch(&lane->response), PARSEC_LANE_MESSAGE);
        assert_int_equal(parsec_lane_take(&lane->response, lane->response_area, out, sizeof(out)),
                         n);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(out[k], (uint8_t)(i + k + 1));
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    parsec_lane_free(lane);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_watching),  cmocka_unit_test(test_handoff),
        cmocka_unit_test(test_too_large),     cmocka_unit_test(test_unwatch_first),
        cmocka_unit_test(test_bad_length),    cmocka_unit_test(test_attach_checks),
        cmocka_unit_test(test_two_processes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
