/* psd_buf helpers of psd_backend.h, shared by the core and every backend. */
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
