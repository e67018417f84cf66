/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec_busy_poll: what it returns for a socket with data, without data,
 * hung up, with polling off, for waits its history says are too long, and
 * how busy_poll_us settings are parsed. Times are bounded only generously
 * (that a wait ends), never asserted.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "parsec_busy_poll.h"

/* Spinning needs two CPUs for this process (one for the peer); on one it never spins. */
static int spins_here(void)
{
    cpu_set_t set;

    return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 2;
}

/*
 * A spin expected to see a ready socket. A spin that lost its CPU (a loaded
 * machine, as when tests run in parallel) stops the process spinning for a
 * few milliseconds: try a few times, 20 ms apart. 1 if one saw it ready.
 */
static int spin_ready_own(parsec_poll_history *h, int fd, unsigned int own_work)
{
    struct timespec pause = {0, 20000000}; /* 20 ms */

    for (int i = 0; i < 10; i++) {
        if (i > 0)
            nanosleep(&pause, NULL);
        if (parsec_poll_spin(h, fd, 200, parsec_poll_now_ns(), own_work) == 1)
            return 1;
    }
    return 0;
}

static int spin_ready(parsec_poll_history *h, int fd)
{
    return spin_ready_own(h, fd, 0);
}

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static void test_ready(void **state)
{
    parsec_poll_history h = {0};
    int sv[2];

    pair(sv);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(spin_ready(&h, sv[0]), spins_here());
    /* Off: the caller blocks as it always did, even with the data there. */
    assert_int_equal(parsec_poll_spin(&h, sv[0], 0, parsec_poll_now_ns(), 0), 0);
    assert_int_equal(parsec_poll_spin(&h, -1, 200, parsec_poll_now_ns(), 0), 0);
    close(sv[0]);
    close(sv[1]);
}

static void test_hangup(void **state)
{
    parsec_poll_history h = {0};
    int sv[2];

    pair(sv);
    close(sv[1]); /* the peer went away: the caller's read must see it at once */
    assert_int_equal(spin_ready(&h, sv[0]), spins_here());
    close(sv[0]);
}

static void test_nothing_comes(void **state)
{
    parsec_poll_history h = {0};
    uint64_t t0 = parsec_poll_now_ns();
    int sv[2];

    pair(sv);
    assert_int_equal(parsec_poll_spin(&h, sv[0], 1000, t0, 0), 0);
    /* Bounded: the budget is 1 ms; a second would mean it never stopped. */
    assert_true(parsec_poll_now_ns() - t0 < 1000000000u);
    close(sv[0]);
    close(sv[1]);
}

static void *write_later(void *arg)
{
    struct timespec ts = {0, 100000}; /* 100 us */
    int fd = *(int *)arg;

    nanosleep(&ts, NULL);
    if (write(fd, "y", 1) != 1)
        abort();
    return NULL;
}

static void test_arrives_while_polling(void **state)
{
    parsec_poll_history h = {0};
    pthread_t th;
    int sv[2], ready;

    pair(sv);
    assert_int_equal(pthread_create(&th, NULL, write_later, &sv[1]), 0);
    /*
     * A budget far longer than the writer's delay: the answer comes while
     * polling (unless an earlier preemption paused polling: then nothing
     * was spun for, and the data is there only after the join).
     */
    ready = parsec_poll_spin(&h, sv[0], 100000, parsec_poll_now_ns(), 0);
    pthread_join(th, NULL);
    if (!ready)
        ready = spin_ready(&h, sv[0]);
    assert_int_equal(ready, spins_here());
    close(sv[0]);
    close(sv[1]);
}

static void test_history(void **state)
{
    parsec_poll_history h = {0};
    int sv[2];

    parsec_poll_record(&h, 40000, 200);
    assert_int_equal(h.wait_ns, 40000);
    parsec_poll_record(&h, 120000, 200);
    assert_int_equal(h.wait_ns, (40000 * 7 + 120000) / 8);
    /* One very long wait is clipped to 16 caps, so that it is forgotten soon. */
    memset(&h, 0, sizeof(h));
    parsec_poll_record(&h, 5000000000ull, 200);
    assert_int_equal(h.wait_ns, 16 * 200 * 1000);

    pair(sv);
    assert_int_equal(write(sv[1], "x", 1), 1);
    /* A wait the history says is over the cap is not polled for, even with the data there. */
    h.wait_ns = 300 * 1000;
    assert_int_equal(parsec_poll_spin(&h, sv[0], 200, parsec_poll_now_ns(), 0), 0);
    /* Within the cap it is. */
    h.wait_ns = 150 * 1000;
    assert_int_equal(spin_ready(&h, sv[0]), spins_here());
    close(sv[0]);
    close(sv[1]);
}

/* Other requests in flight in the process: nobody polls (the CPUs have work). */
static void test_work_in_flight(void **state)
{
    parsec_poll_history h = {0};
    int sv[2];

    pair(sv);
    assert_int_equal(write(sv[1], "x", 1), 1);
    parsec_poll_work_begin(); /* this thread's request */
    parsec_poll_work_begin(); /* another thread's */
    assert_int_equal(parsec_poll_spin(&h, sv[0], 200, parsec_poll_now_ns(), 1), 0);
    parsec_poll_work_end();
    /* Only our own request left in flight: polled for. */
    h.wait_ns = 0;
    assert_int_equal(spin_ready_own(&h, sv[0], 1), spins_here());
    parsec_poll_work_end();
    close(sv[0]);
    close(sv[1]);
}

static void test_parse(void **state)
{
    unsigned int us = 7;

    assert_int_equal(parsec_busy_poll_parse("0", &us), 0);
    assert_int_equal(us, 0);
    assert_int_equal(parsec_busy_poll_parse("200", &us), 0);
    assert_int_equal(us, 200);
    assert_int_equal(parsec_busy_poll_parse("100000", &us), 0);
    assert_int_equal(us, PARSEC_BUSY_POLL_MAX_US);
    assert_int_equal(parsec_busy_poll_parse("100001", &us), -1);
    assert_int_equal(parsec_busy_poll_parse("-1", &us), -1);
    assert_int_equal(parsec_busy_poll_parse(" 5", &us), -1);
    assert_int_equal(parsec_busy_poll_parse("12x", &us), -1);
    assert_int_equal(parsec_busy_poll_parse("", &us), -1);
    assert_int_equal(parsec_busy_poll_parse(NULL, &us), -1);
    assert_int_equal(us, PARSEC_BUSY_POLL_MAX_US); /* untouched by the failures */
}

int main(void)
{
    /*
     * Only the last two spin without an answer there, which may start a
     * back-off (after a preemption) that would stop the others spinning.
     */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ready),         cmocka_unit_test(test_hangup),
        cmocka_unit_test(test_history),       cmocka_unit_test(test_work_in_flight),
        cmocka_unit_test(test_parse),         cmocka_unit_test(test_arrives_while_polling),
        cmocka_unit_test(test_nothing_comes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
