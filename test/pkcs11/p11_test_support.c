/*
 * The few service-core functions psd_backend.h promises a backend, so the
 * PKCS#11 backend's unit test links without the rest of parsecd.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "psd_backend.h"

void psd_buf_clear(psd_buf *b)
{
    if (b == NULL)
        return;
    OPENSSL_clear_free(b->data, b->len);
    b->data = NULL;
    b->len = 0;
}

parsec_status psd_buf_set(psd_buf *b, const uint8_t *data, size_t len)
{
    uint8_t *copy = OPENSSL_malloc(len > 0 ? len : 1);

    if (copy == NULL)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    if (len > 0)
        memcpy(copy, data, len);
    psd_buf_clear(b);
    b->data = copy;
    b->len = len;
    return PARSEC_SUCCESS;
}

const char *psd_settings_get(const psd_settings *s, const char *key)
{
    const char *found = NULL;
    size_t i;

    for (i = 0; s != NULL && i < s->count; i++)
        if (strcmp(s->items[i].key, key) == 0)
            found = s->items[i].value;
    return found;
}

/* Warnings and errors logged since a test last cleared it (one per line, truncated when full). */
char p11_test_log[4096];

void psd_log(int level, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
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
