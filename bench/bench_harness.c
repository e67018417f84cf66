/* SPDX-License-Identifier: Apache-2.0 */
/* Timing harness shared by the bench programs (see bench_harness.h). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_harness.h"

/* Latency samples a thread starts with; grown by doubling (rarely needed). */
#define BENCH_INITIAL_SAMPLES 65536

typedef struct bench_thread {
    pthread_t tid;
    const bench_op *op;
    unsigned int index;
    uint64_t iterations;
    void *state;
    int init_failed;
    uint64_t *samples;
    size_t n_samples, cap_samples;
    uint64_t errors;
    uint64_t end_ns;
    struct bench_shared *shared;
} bench_thread;

typedef struct bench_shared {
    pthread_barrier_t ready; /* every thread set up (or failed) + the main thread */
    pthread_barrier_t go;    /* the clock has started */
    atomic_int stop;
    atomic_int abort_run;
} bench_shared;

/*
 * CPU time (user + system, every thread, exited ones included) of a process,
 * in nanoseconds: this process's own clock for pid 0, else the process CPU
 * clock Linux exposes for any PID (clock_getcpuclockid(3)); -1 if unreadable.
 */
static int64_t bench_cpu_ns(pid_t pid)
{
    clockid_t clock = CLOCK_PROCESS_CPUTIME_ID;
    struct timespec ts;

    if (pid != 0 && clock_getcpuclockid(pid, &clock) != 0)
        return -1;
    if (clock_gettime(clock, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sum of the watched processes' CPU time; -1 (message printed) if one is unreadable. */
static int64_t bench_watched_cpu_ns(const bench_settings *s)
{
    int64_t sum = 0, v;

    for (size_t i = 0; i < s->n_cpu_pids; i++) {
        v = bench_cpu_ns(s->cpu_pids[i]);
        if (v < 0) {
            bench_fail("cannot read the CPU time of process %ld (exited? --cpu-pid)",
                       (long)s->cpu_pids[i]);
            return -1;
        }
        sum += v;
    }
    return sum;
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;

    fputs("bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int bench_record(bench_thread *t, uint64_t ns)
{
    if (t->n_samples == t->cap_samples) {
        size_t cap = t->cap_samples * 2;
        uint64_t *p = realloc(t->samples, cap * sizeof(*p));

        if (p == NULL)
            return 0;
        t->samples = p;
        t->cap_samples = cap;
    }
    t->samples[t->n_samples++] = ns;
    return 1;
}

static void *bench_thread_main(void *arg)
{
    bench_thread *t = arg;
    bench_shared *sh = t->shared;
    const bench_op *op = t->op;

    t->state = op->thread_init(op->arg, t->index);
    /* The warm-up operation pays for lazy set-up (discovery, caches, first connection). */
    if (t->state == NULL || op->run(t->state) != 1)
        t->init_failed = 1;
    t->samples = malloc(BENCH_INITIAL_SAMPLES * sizeof(*t->samples));
    t->cap_samples = BENCH_INITIAL_SAMPLES;
    if (t->samples == NULL)
        t->init_failed = 1;
    if (t->init_failed)
        atomic_store(&sh->abort_run, 1);
    pthread_barrier_wait(&sh->ready);
    pthread_barrier_wait(&sh->go);
    if (atomic_load(&sh->abort_run))
        goto done;
    for (uint64_t n = 0; t->iterations == 0 || n < t->iterations; n++) {
        uint64_t t0;

        if (t->iterations == 0 && atomic_load_explicit(&sh->stop, memory_order_relaxed))
            break;
        t0 = bench_now_ns();
        if (op->run(t->state) != 1)
            t->errors++;
        if (!bench_record(t, bench_now_ns() - t0))
            break;
    }
done:
    t->end_ns = bench_now_ns();
    return NULL;
}

static int bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in microseconds. */
static double bench_percentile(const uint64_t *sorted, size_t n, double p)
{
    size_t rank;

    if (n == 0)
        return 0.0;
    rank = (size_t)ceil(p * (double)n);
    if (rank < 1)
        rank = 1;
    return (double)sorted[rank - 1] / 1000.0;
}

int bench_run(const bench_settings *s, const bench_op *op, unsigned int threads, bench_result *out)
{
    double seconds = s->seconds;
    uint64_t iterations = s->iterations;
    int64_t self_cpu0, self_cpu1, server_cpu0, server_cpu1;
    bench_shared sh;
    bench_thread *ts = NULL;
    uint64_t start, end = 0, *all = NULL;
    size_t total = 0, pos = 0;
    unsigned int started = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    out->threads = threads;
    if (threads == 0 || threads > BENCH_MAX_THREADS)
        return -1;
    memset(&sh, 0, sizeof(sh));
    pthread_barrier_init(&sh.ready, NULL, threads + 1);
    pthread_barrier_init(&sh.go, NULL, threads + 1);
    ts = calloc(threads, sizeof(*ts));
    if (ts == NULL)
        goto done;
    for (; started < threads; started++) {
        ts[started].op = op;
        ts[started].index = started;
        ts[started].iterations = iterations;
        ts[started].shared = &sh;
        if (pthread_create(&ts[started].tid, NULL, bench_thread_main, &ts[started]) != 0) {
            bench_fail("cannot start thread %u", started);
            break;
        }
    }
    if (started < threads) {
        /* The barriers count every thread: the ones that did start would wait forever. */
        bench_fail("aborting: only %u of %u threads started", started, threads);
        exit(1);
    }
    pthread_barrier_wait(&sh.ready);
    /* Set-up and warm-up are done: CPU time counts from here, like the clock. */
    server_cpu0 = bench_watched_cpu_ns(s);
    self_cpu0 = bench_cpu_ns(0);
    start = bench_now_ns();
    pthread_barrier_wait(&sh.go);
    if (!atomic_load(&sh.abort_run) && iterations == 0) {
        struct timespec req = {.tv_sec = (time_t)seconds,
                               .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};

        while (nanosleep(&req, &req) != 0 && errno == EINTR)
            ;
        atomic_store(&sh.stop, 1);
    }
    for (unsigned int i = 0; i < threads; i++) {
        pthread_join(ts[i].tid, NULL);
        if (ts[i].end_ns > end)
            end = ts[i].end_ns;
        total += ts[i].n_samples;
        out->errors += ts[i].errors;
    }
    self_cpu1 = bench_cpu_ns(0);
    server_cpu1 = bench_watched_cpu_ns(s);
    if (atomic_load(&sh.abort_run)) {
        bench_fail("a thread could not set up its operation (or its warm-up failed)");
        goto done;
    }
    all = malloc((total > 0 ? total : 1) * sizeof(*all));
    if (all == NULL)
        goto done;
    for (unsigned int i = 0; i < threads; i++) {
        memcpy(all + pos, ts[i].samples, ts[i].n_samples * sizeof(*all));
        pos += ts[i].n_samples;
    }
    qsort(all, total, sizeof(*all), bench_cmp_u64);
    out->ops = total;
    out->seconds = (double)(end - start) / 1e9;
    out->ops_per_s = out->seconds > 0 ? (double)total / out->seconds : 0.0;
    out->p50_us = bench_percentile(all, total, 0.50);
    out->p99_us = bench_percentile(all, total, 0.99);
    if (server_cpu0 < 0 || server_cpu1 < 0 || self_cpu0 < 0 || self_cpu1 < 0)
        goto done;
    if (total > 0) {
        out->server_cpu_us_per_op = (double)(server_cpu1 - server_cpu0) / 1e3 / (double)total;
        out->cpu_us_per_op =
            (double)(self_cpu1 - self_cpu0) / 1e3 / (double)total + out->server_cpu_us_per_op;
    }
    rc = 0;
done:
    if (ts != NULL) {
        for (unsigned int i = 0; i < started; i++) {
            if (ts[i].state != NULL && op->thread_free != NULL)
                op->thread_free(ts[i].state);
            free(ts[i].samples);
        }
    }
    free(ts);
    free(all);
    pthread_barrier_destroy(&sh.ready);
    pthread_barrier_destroy(&sh.go);
    return rc;
}

void bench_settings_init(bench_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->threads[0] = 1;
    s->n_threads = 1;
    s->seconds = 1.0;
    s->op_label = "op";
    s->path_label = "path";
}

static int bench_parse_threads(bench_settings *s, const char *text)
{
    const char *p = text;

    s->n_threads = 0;
    while (*p != '\0') {
        char *end;
        unsigned long v = strtoul(p, &end, 10);

        if (end == p || v == 0 || v > BENCH_MAX_THREADS || s->n_threads == BENCH_MAX_THREAD_COUNTS)
            return -1;
        s->threads[s->n_threads++] = (unsigned int)v;
        p = end;
        if (*p == ',')
            p++;
        else if (*p != '\0')
            return -1;
    }
    return s->n_threads > 0 ? 0 : -1;
}

int bench_settings_option(bench_settings *s, int argc, char **argv, int *i)
{
    const char *opt = argv[*i], *val;
    char *end;

    if (strcmp(opt, "--threads") != 0 && strcmp(opt, "--seconds") != 0 &&
        strcmp(opt, "--iterations") != 0 && strcmp(opt, "--op") != 0 &&
        strcmp(opt, "--path") != 0 && strcmp(opt, "--cpu-pid") != 0)
        return 0;
    if (*i + 1 >= argc) {
        bench_fail("%s needs a value", opt);
        return -1;
    }
    val = argv[++*i];
    if (strcmp(opt, "--threads") == 0) {
        if (bench_parse_threads(s, val) != 0) {
            bench_fail("--threads: a comma list of 1..%d, not '%s'", BENCH_MAX_THREADS, val);
            return -1;
        }
    } else if (strcmp(opt, "--seconds") == 0) {
        s->seconds = strtod(val, &end);
        if (*end != '\0' || !(s->seconds > 0.0) || s->seconds > 3600.0) {
            bench_fail("--seconds: a positive number, not '%s'", val);
            return -1;
        }
    } else if (strcmp(opt, "--iterations") == 0) {
        s->iterations = strtoull(val, &end, 10);
        if (*end != '\0' || s->iterations == 0) {
            bench_fail("--iterations: a positive integer, not '%s'", val);
            return -1;
        }
    } else if (strcmp(opt, "--cpu-pid") == 0) {
        long pid = strtol(val, &end, 10);

        if (*end != '\0' || pid <= 0 || bench_cpu_ns((pid_t)pid) < 0) {
            bench_fail("--cpu-pid: the PID of a running process, not '%s'", val);
            return -1;
        }
        if (bench_settings_watch_pid(s, (pid_t)pid) != 0) {
            bench_fail("--cpu-pid: at most %d processes", BENCH_MAX_CPU_PIDS);
            return -1;
        }
    } else if (strcmp(opt, "--op") == 0) {
        s->op_label = val;
    } else {
        s->path_label = val;
    }
    return 1;
}

int bench_settings_watch_pid(bench_settings *s, pid_t pid)
{
    if (s->n_cpu_pids == BENCH_MAX_CPU_PIDS)
        return -1;
    s->cpu_pids[s->n_cpu_pids++] = pid;
    return 0;
}

void bench_print(const bench_settings *s, const bench_result *r)
{
    printf("cell op=%s path=%s threads=%u ops=%llu errors=%llu secs=%.3f ops_s=%.1f "
           "p50_us=%.1f p99_us=%.1f cpu_us_op=%.1f server_cpu_us_op=%.1f\n",
           s->op_label, s->path_label, r->threads, (unsigned long long)r->ops,
           (unsigned long long)r->errors, r->seconds, r->ops_per_s, r->p50_us, r->p99_us,
           r->cpu_us_per_op, r->server_cpu_us_per_op);
    fflush(stdout);
}

int bench_run_all(const bench_settings *s, const bench_op *op)
{
    int failed = 0;

    for (size_t i = 0; i < s->n_threads; i++) {
        bench_result r;

        if (bench_run(s, op, s->threads[i], &r) != 0) {
            bench_fail("%s/%s with %u thread(s) failed", s->op_label, s->path_label, s->threads[i]);
            failed = 1;
            continue;
        }
        bench_print(s, &r);
        if (r.errors > 0)
            failed = 1;
    }
    return failed;
}
