/*
 * What the TPM backend needs from parsecd's core (psd_backend.h), for the
 * backend test that links the backend without the rest of the service.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "psd_backend.h"

void psd_buf_clear(psd_buf *b)
{
    if (!b)
        return;
    OPENSSL_clear_free(b->data, b->len);
    b->data = NULL;
    b->len = 0;
}

parsec_status psd_buf_set(psd_buf *b, const uint8_t *data, size_t len)
{
    uint8_t *copy = OPENSSL_malloc(len ? len : 1);

    if (!copy)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    if (len)
        memcpy(copy, data, len);
    psd_buf_clear(b);
    b->data = copy;
    b->len = len;
    return PARSEC_SUCCESS;
}

const char *psd_settings_get(const psd_settings *s, const char *key)
{
    const char *v = NULL;

    for (size_t i = 0; s && i < s->count; i++) {
        if (strcmp(s->items[i].key, key) == 0)
            v = s->items[i].value;
    }
    return v;
}

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
