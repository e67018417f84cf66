/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw protobuf walk for parsec_pb_text_valid: only the wire format's tag,
 * varint and length framing is read here; field types come from the
 * protobuf-c descriptors.
 */
#include "parsec_pb_text.h"

#include <string.h>

/* Nesting of Parsec's operations is at most 6; anything deeper is not ours. */
#define PARSEC_PB_MAX_DEPTH 16

int parsec_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        uint8_t c = s[i];
        size_t n;
        uint32_t cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + n >= len)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        i += n + 1;
    }
    return 1;
}

/* Next varint at *pos; 0 if truncated or longer than 10 bytes. */
static int parsec_pb_varint(const uint8_t *data, size_t len, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;

    for (unsigned int shift = 0; shift < 64 && *pos < len; shift += 7) {
        uint8_t b = data[(*pos)++];

        v |= (uint64_t)(b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

static int parsec_pb_text_walk(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
                               size_t len, unsigned int depth)
{
    size_t pos = 0;

    if (depth > PARSEC_PB_MAX_DEPTH)
        return 0;
    while (pos < len) {
        const ProtobufCFieldDescriptor *f;
        uint64_t tag, n;

        if (!parsec_pb_varint(data, len, &pos, &tag))
            return 0;
        switch (tag & 7) {
        case 0: /* varint */
            if (!parsec_pb_varint(data, len, &pos, &n))
                return 0;
            break;
        case 1: /* 64-bit */
            if (len - pos < 8)
                return 0;
            pos += 8;
            break;
        case 5: /* 32-bit */
            if (len - pos < 4)
                return 0;
            pos += 4;
            break;
        case 2: /* length-delimited: string, bytes, message or packed */
            if (!parsec_pb_varint(data, len, &pos, &n) || n > len - pos)
                return 0;
            f = tag >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(desc, (unsigned int)(tag >> 3))
                    : NULL;
            if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING &&
                (memchr(data + pos, '\0', (size_t)n) != NULL ||
                 !parsec_utf8_valid(data + pos, (size_t)n)))
                return 0;
            if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !parsec_pb_text_walk(f->descriptor, data + pos, (size_t)n, depth + 1))
                return 0;
            pos += (size_t)n;
            break;
        default: /* groups: protobuf-c refuses them too */
            return 0;
        }
    }
    return 1;
}

int parsec_pb_text_valid(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len)
{
    if (len > 0 && data == NULL)
        return 0;
    return parsec_pb_text_walk(desc, data, len, 0);
}
