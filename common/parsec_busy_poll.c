/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded, adaptive busy-polling (parsec_busy_poll.h). */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "parsec_busy_poll.h"
#include "parsec_lane.h"
#include "parsec_types.h"

/*
 * Spinning this long without getting 3/4 of it as CPU time means another
 * thread ran on this CPU meanwhile (the yield gave it the CPU, or the
 * scheduler preempted): the CPUs are wanted, spinning would take them.
 * (A hypervisor that stops the vCPU for a moment looks the same.)
 */
#define PARSEC_POLL_PREEMPT_MIN_NS 20000u
/*
 * After a preemption nobody in the process spins for a while: 1 ms,
 * doubling up to 100 ms while preemptions follow each other within 100 ms
 * of the last quiet period's end, back to 1 ms after that.
 */
#define PARSEC_POLL_QUIET_MIN_NS 1000000u
#define PARSEC_POLL_QUIET_MAX_NS 100000000u
#define PARSEC_POLL_QUIET_FORGET_NS 100000000u
/* With no history, or a short one: spin twice the expected wait plus this. */
#define PARSEC_POLL_MARGIN_NS 20000u
/* PAUSE instructions between two looks at the socket (about 1 us on current x86). */
#define PARSEC_POLL_RELAX_SPINS 32
/* Looks at a shared-memory state word within the same time (they cost no system call). */
#define PARSEC_POLL_CHEAP_LOOKS 8
/* Recorded waits are clipped to this many caps, so that one long one is forgotten soon. */
#define PARSEC_POLL_RECORD_MAX_CAPS 16u

static atomic_uint parsec_poll_spinners;
static atomic_uint parsec_poll_work;             /* requests in flight in this process */
static _Atomic uint64_t parsec_poll_quiet_until; /* no spinning before this (ns) */
static _Atomic uint32_t parsec_poll_quiet_ns;    /* length of the last quiet period */
static atomic_int parsec_poll_max_spinners = -1;

uint64_t parsec_poll_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t parsec_poll_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Half of the CPUs this process may run on (read once): on one CPU, nobody spins. */
static unsigned int parsec_poll_spinner_limit(void)
{
    int max = atomic_load_explicit(&parsec_poll_max_spinners, memory_order_relaxed);

    if (max < 0) {
        cpu_set_t set;
        int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;

        max = n / 2;
        atomic_store_explicit(&parsec_poll_max_spinners, max, memory_order_relaxed);
    }
    return (unsigned int)max;
}

/* Doing nothing, politely, n times (x86: PAUSE; elsewhere a compiler barrier). */
static void parsec_poll_relax(int n)
{
    for (int i = 0; i < n; i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield" ::: "memory");
#else
        __asm__ __volatile__("" ::: "memory");
#endif
    }
}

/* fd readable, hung up or failed (the caller's next read tells which): 1; nothing yet: 0. */
static int parsec_poll_ready(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
    int rc = poll(&pfd, 1, 0);

    return rc > 0 || (rc < 0 && errno != EINTR);
}

/* The CPUs are wanted by others: every thread of the process stops spinning for a while. */
static void parsec_poll_back_off(uint64_t now)
{
    uint64_t quiet = atomic_load_explicit(&parsec_poll_quiet_ns, memory_order_relaxed);
    uint64_t last_end = atomic_load_explicit(&parsec_poll_quiet_until, memory_order_relaxed);

    if (quiet == 0 || now > last_end + PARSEC_POLL_QUIET_FORGET_NS)
        quiet = PARSEC_POLL_QUIET_MIN_NS;
    else
        quiet *= 2;
    if (quiet > PARSEC_POLL_QUIET_MAX_NS)
        quiet = PARSEC_POLL_QUIET_MAX_NS;
    atomic_store_explicit(&parsec_poll_quiet_ns, (uint32_t)quiet, memory_order_relaxed);
    atomic_store_explicit(&parsec_poll_quiet_until, now + quiet, memory_order_relaxed);
}

/* A spin that had its CPU: the next quiet period, if any, is shorter. */
static void parsec_poll_calm(void)
{
    uint32_t quiet = atomic_load_explicit(&parsec_poll_quiet_ns, memory_order_relaxed);

    if (quiet != 0)
        atomic_store_explicit(&parsec_poll_quiet_ns,
                              quiet / 2 < PARSEC_POLL_QUIET_MIN_NS ? 0 : quiet / 2,
                              memory_order_relaxed);
}

void parsec_poll_work_begin(void)
{
    atomic_fetch_add_explicit(&parsec_poll_work, 1, memory_order_relaxed);
}

void parsec_poll_work_end(void)
{
    atomic_fetch_sub_explicit(&parsec_poll_work, 1, memory_order_relaxed);
}

/*
 * The spin itself: ready(arg) is looked at about every microsecond; a look
 * that costs no system call (cheap) is made more often, with the CPU
 * offered to others (sched_yield) at the same pace as for a socket.
 */
static int parsec_poll_spin_on(parsec_poll_history *h, int (*ready_fn)(const void *),
                               const void *arg, int cheap, unsigned int cap_us, uint64_t since_ns,
                               unsigned int own_work)
{
    uint64_t cap_ns = (uint64_t)cap_us * 1000u;
    uint64_t expect = h->wait_ns;
    uint64_t budget, now, end, spin_start, cpu_start, spun, cpu;
    int ready = 0;

    if (cap_ns == 0 || expect > cap_ns)
        return 0;
    /* Another request in flight here: the CPUs have work, a spinning thread would take one. */
    if (atomic_load_explicit(&parsec_poll_work, memory_order_relaxed) > own_work)
        return 0;
    now = parsec_poll_now_ns();
    if (now < atomic_load_explicit(&parsec_poll_quiet_until, memory_order_relaxed))
        return 0;
    if (atomic_fetch_add(&parsec_poll_spinners, 1) >= parsec_poll_spinner_limit())
        goto done;

    budget = expect == 0 ? cap_ns : 2 * expect + PARSEC_POLL_MARGIN_NS;
    end = since_ns + (budget < cap_ns ? budget : cap_ns);
    spin_start = now;
    cpu_start = parsec_poll_cpu_ns();
    for (;;) {
        if (ready_fn(arg)) {
            ready = 1;
            break;
        }
        now = parsec_poll_now_ns();
        if (now >= end)
            break;
        /*
         * Between two looks, leave the core's execution units to whatever
         * shares it (a sibling hardware thread may be the one computing the
         * answer), and this CPU to any thread that needs it.
         */
        if (cheap) {
            for (int i = 0; i < PARSEC_POLL_CHEAP_LOOKS && !ready; i++) {
                parsec_poll_relax(PARSEC_POLL_RELAX_SPINS / PARSEC_POLL_CHEAP_LOOKS);
                ready = ready_fn(arg);
            }
            if (ready)
                break;
        } else {
            parsec_poll_relax(PARSEC_POLL_RELAX_SPINS);
        }
        sched_yield();
    }
    now = parsec_poll_now_ns();
    spun = now - spin_start;
    cpu = parsec_poll_cpu_ns() - cpu_start;
    if (spun >= PARSEC_POLL_PREEMPT_MIN_NS && cpu * 4 < spun * 3)
        parsec_poll_back_off(now);
    else if (ready)
        parsec_poll_calm();
done:
    atomic_fetch_sub(&parsec_poll_spinners, 1);
    return ready;
}

static int parsec_poll_fd_ready(const void *arg)
{
    return parsec_poll_ready(*(const int *)arg);
}

int parsec_poll_spin(parsec_poll_history *h, int fd, unsigned int cap_us, uint64_t since_ns,
                     unsigned int own_work)
{
    if (fd < 0)
        return 0;
    return parsec_poll_spin_on(h, parsec_poll_fd_ready, &fd, 0, cap_us, since_ns, own_work);
}

static int parsec_poll_lane_ready(const void *arg)
{
    return parsec_lane_decided(arg);
}

int parsec_poll_spin_lane(parsec_poll_history *h, const parsec_lane_way *way, unsigned int cap_us,
                          uint64_t since_ns, unsigned int own_work)
{
    return parsec_poll_spin_on(h, parsec_poll_lane_ready, way, 1, cap_us, since_ns, own_work);
}

void parsec_poll_record(parsec_poll_history *h, uint64_t waited_ns, unsigned int cap_us)
{
    uint64_t clip = (uint64_t)cap_us * 1000u * PARSEC_POLL_RECORD_MAX_CAPS;

    if (waited_ns > clip)
        waited_ns = clip;
    if (waited_ns > UINT32_MAX)
        waited_ns = UINT32_MAX;
    if (h->wait_ns == 0)
        h->wait_ns = (uint32_t)(waited_ns == 0 ? 1 : waited_ns);
    else
        h->wait_ns = (uint32_t)(((uint64_t)h->wait_ns * 7 + waited_ns) / 8);
}

int parsec_busy_poll_parse(const char *text, unsigned int *us)
{
    unsigned long v;

    if (parsec_parse_decimal(text, PARSEC_BUSY_POLL_MAX_US, &v) != 0)
        return -1;
    *us = (unsigned int)v;
    return 0;
}
