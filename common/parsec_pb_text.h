/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text checks for what arrives over the wire. protobuf-c hands string
 * fields over as NUL-terminated C strings without checking them: an
 * embedded NUL silently shortens the string ("a\0zzz" reads as "a") and
 * invalid UTF-8 passes through. The reference service decodes with prost,
 * which refuses non-UTF-8 strings (DeserializingBodyFailed).
 */
#ifndef PARSEC_PB_TEXT_H
#define PARSEC_PB_TEXT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* 1 if s[0..len) is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF). */
int parsec_utf8_valid(const uint8_t *s, size_t len);

/*
 * 1 if every string field of the encoded message (nested messages
 * included) is UTF-8 without a NUL byte, judged on the raw wire bytes.
 * Encodings protobuf-c would refuse anyway may answer either way.
 */
int parsec_pb_text_valid(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len);

#endif
