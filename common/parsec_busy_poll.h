/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded, adaptive busy-polling of one socket, for the two waits of a kept
 * connection (docs/performance.md, "Busy-polling"): the client waiting for
 * its answer, parsecd waiting for the next request. A thread that blocks
 * lets its vCPU halt, and waking a halted vCPU costs more than a small
 * operation (77 against 6 us per round trip on a 2-vCPU KVM guest). Polling
 * for a while instead keeps the vCPU awake, within three bounds:
 *
 * - a budget from the waits seen recently for the same kind of wait (a
 *   parsec_poll_history the caller keeps): spin about twice as long as
 *   they took, never past cap_us; a wait the history says is longer than
 *   the cap is not spun for at all (its wake-up costs little next to it);
 * - only while the process has no other request in flight: with several,
 *   the CPUs have work to do, and a spinning thread would take one;
 * - back-off: when a spinning thread did not get the CPU it spun on (it
 *   yielded to another runnable thread or was preempted: more runnable
 *   threads than CPUs), no thread of the process spins for a while (1 ms,
 *   doubling up to 100 ms while it keeps happening, halving after spins that
 *   had their CPU);
 * - per process, at most half of the CPUs this thread may run on spin at
 *   once (none on one CPU: the peer needs that CPU to answer).
 *
 * Nothing is spun for when nothing was sent: an idle process uses no CPU.
 */
#ifndef PARSEC_BUSY_POLL_H
#define PARSEC_BUSY_POLL_H

#include <stdint.h>

/* Defaults of the settings (client and parsecd); 0 turns polling off. */
#define PARSEC_BUSY_POLL_DEFAULT_US 500u
#define PARSEC_BUSY_POLL_MAX_US 100000u

/* Recent waits of one kind; zero-initialised = nothing seen yet. Not thread-safe: one owner. */
typedef struct parsec_poll_history {
    uint32_t wait_ns; /* moving average of recent waits (1/8 to the newest); 0: none */
} parsec_poll_history;

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t parsec_poll_now_ns(void);

/*
 * Requests in flight in this process: the client counts one from sending
 * it to its answer, parsecd while it serves one. Polling only happens while
 * the caller's own are the only ones.
 */
void parsec_poll_work_begin(void);
void parsec_poll_work_end(void);

/*
 * Wait for fd to become readable (or report an error or hang-up) by polling,
 * within the bounds above; the wait began at since_ns (parsec_poll_now_ns,
 * taken when the request or answer was sent); own_work of the requests in
 * flight are the caller's (the client waiting for its answer: 1; parsecd
 * waiting for the next request: 0). 1: readable now; 0: not yet, the caller
 * blocks as it would have without polling.
 */
int parsec_poll_spin(parsec_poll_history *h, int fd, unsigned int cap_us, uint64_t since_ns,
                     unsigned int own_work);

/*
 * The same for a message through a shared-memory hand-off (parsec_lane.h):
 * 1 when the sender has decided where it went (parsec_lane_decided), else 0.
 */
struct parsec_lane_way;
int parsec_poll_spin_lane(parsec_poll_history *h, const struct parsec_lane_way *way,
                          unsigned int cap_us, uint64_t since_ns, unsigned int own_work);

/* A wait of this kind ended after waited_ns (however it was waited for). */
void parsec_poll_record(parsec_poll_history *h, uint64_t waited_ns, unsigned int cap_us);

/* Parse a busy_poll_us setting: 0..PARSEC_BUSY_POLL_MAX_US. 0 on success, -1 if invalid. */
int parsec_busy_poll_parse(const char *text, unsigned int *us);

#endif
