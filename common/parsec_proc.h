/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The calling process's ID, read from the kernel once per process.
 *
 * The client and the provider compare it on every request to notice a
 * fork() (a child must not use its parent's kept connection or service
 * handle). getpid() is a system call on every call (glibc stopped caching
 * it), a fifth of a kept-connection round trip on a VM. The ID is kept in a
 * page the kernel zeroes in a child (MADV_WIPEONFORK, Linux 4.14): any copy
 * of the address space, from fork(), a raw clone() or anything that skips
 * pthread_atfork handlers, sees no ID there and reads its own. Where the
 * page cannot be set up, every call is getpid().
 */
#ifndef PARSEC_PROC_H
#define PARSEC_PROC_H

#include <sys/types.h>

/* getpid(), without the system call after the first in a process. Thread-safe. */
pid_t parsec_proc_pid(void);

#endif
