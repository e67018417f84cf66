/* SPDX-License-Identifier: Apache-2.0 */
/*
 * psd_log for the PKCS#11 backend's unit test, which links the backend and
 * psd_backend_api.c without the rest of parsecd.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "psd_backend.h"

/* Warnings and errors logged since a test last cleared it (one per line, truncated when full). */
char p11_test_log[4096];

void psd_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    va_list ap;

    fprintf(stderr, "[%s] ", level >= 0 && level <= 3 ? names[level] : "?");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (level <= PSD_LOG_WARN) {
        size_t used = strlen(p11_test_log);

        va_start(ap, fmt);
        vsnprintf(p11_test_log + used, sizeof(p11_test_log) - used, fmt, ap);
        va_end(ap);
        used = strlen(p11_test_log);
        if (used + 1 < sizeof(p11_test_log))
            memcpy(p11_test_log + used, "\n", 2);
    }
}
