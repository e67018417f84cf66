/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opcode -> protobuf-c descriptors of its Operation and Result bodies, for
 * the fuzz targets and the seed generator.
 */
#ifndef PARSEC_FUZZ_BODIES_H
#define PARSEC_FUZZ_BODIES_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Not in parsec_types.h: the service never serves MAC operations. */
#define FUZZ_OP_PSA_MAC_COMPUTE 0x16
#define FUZZ_OP_PSA_MAC_VERIFY 0x17

typedef struct fuzz_body_kind {
    uint32_t opcode;
    const ProtobufCMessageDescriptor *op;
    const ProtobufCMessageDescriptor *result;
} fuzz_body_kind;

/*
 * Every opcode with a body definition. Corpus files of fuzz_request_body
 * start with an index into this table: entries are only ever appended.
 */
extern const fuzz_body_kind parsec_fuzz_body_kinds[];
extern const size_t parsec_fuzz_n_body_kinds;

/* The entry of an opcode, NULL if none. */
const fuzz_body_kind *parsec_fuzz_body_kind(uint32_t opcode);
/* Its index in parsec_fuzz_body_kinds, -1 if none. */
int parsec_fuzz_body_index(uint32_t opcode);

#endif
