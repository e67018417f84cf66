/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared timing harness of the bench programs: N threads run one operation
 * in a loop for a fixed time (or a fixed number of iterations); every
 * operation is timed on its own, so a cell reports throughput and latency
 * percentiles. Output is one machine-readable line per cell, collected by
 * bench/run.sh into a table.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_MAX_THREADS 256
#define BENCH_MAX_THREAD_COUNTS 8
#define BENCH_MAX_CPU_PIDS 4

typedef struct bench_op {
    /* Per-thread state, set up before the clock starts; NULL = failed. */
    void *(*thread_init)(void *arg, unsigned int index);
    /* One operation: 1 on success. */
    int (*run)(void *state);
    void (*thread_free)(void *state);
    void *arg;
} bench_op;

typedef struct bench_result {
    unsigned int threads;
    uint64_t ops;
    uint64_t errors;
    double seconds;
    double ops_per_s;
    double p50_us;
    double p99_us;
    double cpu_us_per_op;        /* this process + the watched processes, per operation */
    double server_cpu_us_per_op; /* the watched processes' share */
} bench_result;

/* Command-line settings every bench program takes. */
typedef struct bench_settings {
    unsigned int threads[BENCH_MAX_THREAD_COUNTS];
    size_t n_threads;
    double seconds;         /* per cell */
    uint64_t iterations;    /* per thread; 0 = run for `seconds` */
    const char *op_label;   /* row: "rsa2048-pkcs1" */
    const char *path_label; /* column: "default", "parsec-software", ... */
    /* Other processes doing the work (parsecd, a forked server): their CPU time counts too. */
    pid_t cpu_pids[BENCH_MAX_CPU_PIDS];
    size_t n_cpu_pids;
} bench_settings;

void bench_settings_init(bench_settings *s);
/*
 * Consume a harness option at argv[*i] (--threads 1,2,8, --seconds S,
 * --iterations N, --op LABEL, --path LABEL, --cpu-pid PID); 1 if it was one,
 * 0 if not, -1 on a bad value (message printed).
 */
int bench_settings_option(bench_settings *s, int argc, char **argv, int *i);
/* Count pid's CPU time in every cell too (e.g. a server this program forked); 0 or -1 if full. */
int bench_settings_watch_pid(bench_settings *s, pid_t pid);

/*
 * Run one cell of s with the given thread count. Every thread runs
 * thread_init and one untimed warm-up operation first; then the clock (and
 * the CPU-time count of this process and s's watched processes) starts.
 * 0 on success, -1 if a thread could not be set up or a watched process's
 * CPU time could not be read (message printed).
 */
int bench_run(const bench_settings *s, const bench_op *op, unsigned int threads, bench_result *out);
/*
 * The cell's line: "cell op=... path=... threads=N ops=... ops_s=... p50_us=...
 * p99_us=... cpu_us_op=... server_cpu_us_op=..."
 */
void bench_print(const bench_settings *s, const bench_result *r);
/* Run every configured thread count and print each cell; non-zero if any failed. */
int bench_run_all(const bench_settings *s, const bench_op *op);

/* Monotonic clock in nanoseconds. */
uint64_t bench_now_ns(void);
/* Print an error line to stderr prefixed with the program name. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
