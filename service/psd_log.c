/* stderr logging with levels and timestamps; one write() per line so lines never interleave. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "psd_service.h"

static atomic_int psd_log_level = PSD_LOG_INFO;

static const char *const psd_level_names[] = {"error", "warn", "info", "debug"};

void psd_log_set_level(int level)
{
    atomic_store(&psd_log_level, level);
}

int psd_log_enabled(int level)
{
    return level <= atomic_load_explicit(&psd_log_level, memory_order_relaxed);
}

int psd_log_level_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof(psd_level_names) / sizeof(psd_level_names[0]); i++)
        if (strcmp(name, psd_level_names[i]) == 0)
            return (int)i;
    if (strcmp(name, "warning") == 0)
        return PSD_LOG_WARN;
    return -1;
}

void psd_log(int level, const char *fmt, ...)
{
    char line[1024];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    size_t n;
    int r;

    if (!psd_log_enabled(level))
        return;
    if (level < PSD_LOG_ERROR)
        level = PSD_LOG_ERROR;
    if (level > PSD_LOG_DEBUG)
        level = PSD_LOG_DEBUG;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof(line) - n, ".%03ld parsecd[%ld] %s: ", (long)(tv.tv_usec / 1000),
                 (long)getpid(), psd_level_names[level]);
    if (r > 0)
        n += (size_t)r;
    va_start(ap, fmt);
    r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (r > 0)
        n += (size_t)r;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* Best effort: nowhere to report a failing stderr. */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}

int64_t psd_monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void psd_log_limited(psd_log_limit *lim, int level, const char *fmt, ...)
{
    char msg[768];
    int64_t now = psd_monotonic_ms(), next = atomic_load(&lim->next_ms);
    unsigned int held;
    va_list ap;

    if (!psd_log_enabled(level))
        return;
    /* One thread wins the slot; the others only count what they held back. */
    if (now < next || !atomic_compare_exchange_strong(&lim->next_ms, &next,
                                                      now + (int64_t)lim->interval_ms)) {
        atomic_fetch_add(&lim->held_back, 1);
        return;
    }
    held = atomic_exchange(&lim->held_back, 0);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (held > 0)
        psd_log(level, "%s (and %u more like it since the last such line)", msg, held);
    else
        psd_log(level, "%s", msg);
}
