/* SPDX-License-Identifier: Apache-2.0 */
/* The process ID, cached where a fork cannot inherit it (parsec_proc.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#include "parsec_proc.h"

/*
 * In a MADV_WIPEONFORK page; NULL: none. The page is never unmapped: a
 * destructor at exit() could pull it from under a thread still running
 * (a library loaded again after dlclose makes a new one, 4 KiB each time).
 */
static _Atomic pid_t *parsec_proc_cache;
static pthread_once_t parsec_proc_once = PTHREAD_ONCE_INIT;

static void parsec_proc_setup(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t size = page > 0 ? (size_t)page : 4096u;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return;
    /* Without the wipe a child would see its parent's ID: then no cache at all. */
    if (madvise(p, size, MADV_WIPEONFORK) != 0) {
        munmap(p, size);
        return;
    }
    parsec_proc_cache = p;
}

pid_t parsec_proc_pid(void)
{
    pid_t pid;

    pthread_once(&parsec_proc_once, parsec_proc_setup);
    if (parsec_proc_cache == NULL)
        return getpid();
    pid = atomic_load_explicit(parsec_proc_cache, memory_order_relaxed);
    if (pid == 0) {
        /* First call in this process, or in a child (the page came back zeroed). */
        pid = getpid();
        atomic_store_explicit(parsec_proc_cache, pid, memory_order_relaxed);
    }
    return pid;
}
