/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared-memory hand-off of a kept connection (docs/protocol-extensions.md,
 * "Shared-memory hand-off"): a small memory region parsecd creates for one
 * connection and passes to its client with SCM_RIGHTS. While one side is
 * busy-polling for the next message, the other puts that message into the
 * region instead of onto the socket: no system call and no kernel wake-up
 * on either side. Whenever the receiver is not polling, or a message does
 * not fit, the message goes onto the socket exactly as without the region.
 *
 * Each direction (request, response) has one state word and one area:
 *
 *   IDLE      the receiver does not look at the region (it reads the socket)
 *   WATCHING  the receiver polls the state word
 *   MESSAGE   a whole message is in the area (set by the sender, from WATCHING only)
 *   SOCKET    the message went onto the socket (set by the sender, from WATCHING only)
 *
 * Only the receiver moves a state to WATCHING and back to IDLE (compare and
 * exchange from WATCHING), only the sender moves it from WATCHING on (compare
 * and exchange too), so exactly one of them decides where each message
 * goes. The area holds one message: a connection has one request at a time.
 *
 * The region is writable by both processes. parsecd copies a request out
 * before it looks at it and validates the copy like bytes from the socket;
 * a client that scribbles on the region only garbles its own requests. The
 * memfd is sealed against shrinking, so the other process cannot make an
 * access fault. Areas are cleansed as soon as their message is copied out
 * (requests and answers may carry key material).
 */
#ifndef PARSEC_LANE_H
#define PARSEC_LANE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Whole messages (header, body, auth) up to this size go through the region. */
#define PARSEC_LANE_AREA 2048u

enum parsec_lane_state {
    PARSEC_LANE_IDLE = 0,
    PARSEC_LANE_WATCHING = 1,
    PARSEC_LANE_MESSAGE = 2,
    PARSEC_LANE_SOCKET = 3,
};

/* One direction. State and length share a cache line; the two directions do not. */
typedef struct parsec_lane_way {
    _Alignas(64) _Atomic uint32_t state;
    _Atomic uint32_t len;
} parsec_lane_way;

/* The region as both processes map it. */
typedef struct parsec_lane {
    uint32_t magic;   /* PARSEC_LANE_MAGIC */
    uint32_t version; /* PARSEC_LANE_VERSION */
    parsec_lane_way request;
    parsec_lane_way response;
    _Alignas(64) uint8_t request_area[PARSEC_LANE_AREA];
    uint8_t response_area[PARSEC_LANE_AREA];
} parsec_lane;

#define PARSEC_LANE_MAGIC 0x4C434553u /* "SECL" */
#define PARSEC_LANE_VERSION 1u

/*
 * parsecd: a new region (memfd, sealed against resizing, mapped). *fd is the
 * descriptor to pass to the client, close-on-exec; the caller closes it once
 * sent. 0 on success, else -1 with errno set.
 */
int parsec_lane_create(parsec_lane **out, int *fd);

/*
 * Client: map the region parsecd passed (checked: a memfd of the right size,
 * sealed against shrinking, right magic and version; not inherited by a
 * fork()ed child). Does not close fd. 0 on success, -1 if it is not one.
 */
int parsec_lane_attach(int fd, parsec_lane **out);

/* Unmap; NULL does nothing. */
void parsec_lane_free(parsec_lane *lane);

/* Receiver: start looking at the state word (before the message can come). */
void parsec_lane_watch(parsec_lane_way *way);

/*
 * Receiver: stop looking. Returns PARSEC_LANE_IDLE if no message came (read
 * the socket from now on), PARSEC_LANE_MESSAGE if one is in the area (take
 * it), PARSEC_LANE_SOCKET if it went onto the socket (the state is IDLE again).
 */
uint32_t parsec_lane_unwatch(parsec_lane_way *way);

/* Receiver, polling: has the sender decided (MESSAGE or SOCKET)? */
int parsec_lane_decided(const parsec_lane_way *way);

/*
 * Sender: put the message (iovcnt pieces) into area if the receiver is
 * watching and it fits. 1 = delivered; 0 = send it on the socket instead
 * (then call parsec_lane_sent_on_socket, so that a receiver that is
 * watching looks there at once).
 */
int parsec_lane_put(parsec_lane_way *way, uint8_t *area, const struct iovec *iov, int iovcnt);

/* Sender: the message went onto the socket; a watching receiver is told so. */
void parsec_lane_sent_on_socket(parsec_lane_way *way);

/*
 * Receiver, after MESSAGE: copy the message out into buf (cap bytes), cleanse
 * the area, and go back to IDLE. Returns its length, or 0 if the length the
 * sender wrote is not possible (larger than the area or than cap).
 */
size_t parsec_lane_take(parsec_lane_way *way, uint8_t *area, uint8_t *buf, size_t cap);

#endif
