/* SPDX-License-Identifier: Apache-2.0 */
/*
 * psd_log for the TPM backend's unit test, which links the backend and
 * psd_backend_api.c without the rest of the service.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "psd_backend.h"

/* Quiet unless PSD_TEST_VERBOSE is set: tests provoke many logged failures. */
void psd_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (!getenv("PSD_TEST_VERBOSE"))
        return;
    va_start(ap, fmt);
    fprintf(stderr, "[log %d] ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
