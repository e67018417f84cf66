/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging with levels, to stderr (timestamped with the time zone offset;
 * bare lines with a syslog priority prefix when stderr is the journal), to
 * syslog, or to a file. One write() per line so lines never interleave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "psd_service.h"

enum psd_log_format { PSD_FORMAT_STAMPED, PSD_FORMAT_JOURNAL, PSD_FORMAT_SYSLOG };

static atomic_int psd_log_level = PSD_LOG_INFO;
/* Set before the worker threads start; a reopened log file replaces the descriptor in place. */
static int psd_log_format = PSD_FORMAT_STAMPED;
static int psd_log_fd = STDERR_FILENO;

static const char *const psd_level_names[] = {"error", "warn", "info", "debug"};
static const int psd_syslog_priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void psd_log_set_level(int level)
{
    atomic_store(&psd_log_level, level);
}

int psd_log_enabled(int level)
{
    return level <= atomic_load_explicit(&psd_log_level, memory_order_relaxed);
}

const char *psd_log_level_name(int level)
{
    return level >= 0 && level <= PSD_LOG_DEBUG ? psd_level_names[level] : "?";
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

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it connected to stderr. */
static int psd_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static int psd_log_open_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    char user[160];

    if (fd < 0) {
        const char *why = strerror(errno);

        snprintf(err, errlen, "cannot open log_file %s: %s (parsecd runs as %s)", path, why,
                 psd_running_user(user, sizeof(user)));
        return -1;
    }
    return fd;
}

int psd_log_start(const psd_config *cfg, char *err, size_t errlen)
{
    int fd;

    switch (cfg->log_target) {
    case PSD_LOG_TO_SYSLOG:
        openlog("parsecd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        psd_log_format = PSD_FORMAT_SYSLOG;
        return 0;
    case PSD_LOG_TO_FILE:
        fd = psd_log_open_file(cfg->log_file, err, errlen);
        if (fd < 0)
            return -1;
        psd_log_fd = fd;
        psd_log_format = PSD_FORMAT_STAMPED;
        return 0;
    default:
        psd_log_format = psd_stderr_is_journal() ? PSD_FORMAT_JOURNAL : PSD_FORMAT_STAMPED;
        return 0;
    }
}

int psd_log_reopen(const psd_config *cfg, char *err, size_t errlen)
{
    int fd, rc = 0;

    if (psd_log_fd == STDERR_FILENO || cfg->log_target != PSD_LOG_TO_FILE)
        return 0;
    fd = psd_log_open_file(cfg->log_file, err, errlen);
    if (fd < 0)
        return -1;
    /* Atomic for concurrent writers: each write goes to the old file or the new one. */
    if (dup3(fd, psd_log_fd, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot reopen log_file %s: %s", cfg->log_file, strerror(errno));
        rc = -1;
    }
    close(fd);
    return rc;
}

void psd_log_stop(void)
{
    if (psd_log_format == PSD_FORMAT_SYSLOG)
        closelog();
    if (psd_log_fd != STDERR_FILENO)
        close(psd_log_fd);
    psd_log_fd = STDERR_FILENO;
    psd_log_format = PSD_FORMAT_STAMPED;
}

/* 2026-12-03T04:05:06.789+01:00 (RFC 3339, local time with its offset). */
static size_t psd_log_timestamp(char *out, size_t len)
{
    char zone[8];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int r;

    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    if (strftime(zone, sizeof(zone), "%z", &tm) != 5)
        snprintf(zone, sizeof(zone), "+0000");
    r = snprintf(out + n, len - n, ".%03ld%.3s:%.2s ", (long)(tv.tv_usec / 1000), zone, zone + 3);
    return r > 0 ? n + (size_t)r : n;
}

void psd_log(int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    size_t n = 0;
    int r;

    if (!psd_log_enabled(level))
        return;
    if (level < PSD_LOG_ERROR)
        level = PSD_LOG_ERROR;
    if (level > PSD_LOG_DEBUG)
        level = PSD_LOG_DEBUG;
    if (psd_log_format == PSD_FORMAT_STAMPED) {
        n = psd_log_timestamp(line, sizeof(line));
        r = snprintf(line + n, sizeof(line) - n, "parsecd[%ld] %s: ", (long)getpid(),
                     psd_level_names[level]);
    } else if (psd_log_format == PSD_FORMAT_JOURNAL) {
        /* The journal stamps and attributes lines itself; <N> is the syslog priority. */
        r = snprintf(line, sizeof(line), "<%d>%s: ", psd_syslog_priority[level],
                     psd_level_names[level]);
    } else {
        r = snprintf(line, sizeof(line), "%s: ", psd_level_names[level]);
    }
    if (r > 0)
        n += (size_t)r;
    va_start(ap, fmt);
    r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (r > 0)
        n += (size_t)r;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    if (psd_log_format == PSD_FORMAT_SYSLOG) {
        line[n] = '\0';
        syslog(psd_syslog_priority[level], "%s", line);
        return;
    }
    line[n++] = '\n';
    /* Best effort: nowhere to report a failing log. */
    if (write(psd_log_fd, line, n) < 0)
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
    if (now < next ||
        !atomic_compare_exchange_strong(&lim->next_ms, &next, now + (int64_t)lim->interval_ms)) {
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
