/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What psd_backend.h promises a backend besides psd_log: buffer helpers and
 * settings lookup. A small library of its own, so backend unit tests link the
 * very same code without the rest of parsecd.
 */
#include <openssl/crypto.h>
#include <string.h>

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

    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->items[i].key, key) == 0)
            found = s->items[i].value;
    return found;
}
