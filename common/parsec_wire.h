/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The 36-byte Parsec wire header (protocol 1.0): encode, decode and
 * validate in the order the reference interface does.
 */
#ifndef PARSEC_WIRE_H
#define PARSEC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "parsec_types.h"

#define PARSEC_WIRE_MAGIC 0x5EC0A710u
#define PARSEC_WIRE_HEADER_SIZE 36    /* bytes on the wire */
#define PARSEC_WIRE_HDR_SIZE_FIELD 30 /* value of the hdr_size field */
#define PARSEC_WIRE_VERSION_MAJ 1
#define PARSEC_WIRE_VERSION_MIN 0
#define PARSEC_WIRE_CONTENT_PROTOBUF 0
#define PARSEC_DEFAULT_BODY_LIMIT (1u << 20)
/*
 * Header `flags` bit of the keep-alive extension (docs/protocol-extensions.md):
 * set in a request = "keep this connection open after the response"; echoed
 * in the response only by a service that agrees. The reference service
 * ignores flags and closes as usual.
 */
#define PARSEC_WIRE_FLAG_KEEPALIVE 0x8000u
/*
 * With keep-alive: "hand messages over through shared memory while the
 * other side polls" (docs/protocol-extensions.md, parsec_lane.h). Echoed,
 * with the region's memfd attached (SCM_RIGHTS), by a service that set one
 * up for this connection.
 */
#define PARSEC_WIRE_FLAG_LANE 0x4000u

typedef struct parsec_wire_header {
    uint32_t magic;
    uint16_t hdr_size;
    uint8_t version_maj;
    uint8_t version_min;
    uint16_t flags;
    uint8_t provider;
    uint64_t session;
    uint8_t content_type;
    uint8_t accept_type;
    uint8_t auth_type;
    uint32_t body_len;
    uint16_t auth_len;
    uint32_t opcode;
    uint16_t status;
    uint8_t reserved1;
    uint8_t reserved2;
} parsec_wire_header;

/* Fill a request header (magic, size, version set; status 0). */
void parsec_wire_request_init(parsec_wire_header *h, uint8_t provider, uint32_t opcode,
                              uint8_t auth_type, uint32_t body_len, uint16_t auth_len);
/* Response header mirroring a request (provider, session, content=accept, opcode). */
void parsec_wire_response_init(parsec_wire_header *resp, const parsec_wire_header *req,
                               uint16_t status, uint32_t body_len);
/* Response for an error found before a request header existed: provider 0, opcode Ping. */
void parsec_wire_response_for_status(parsec_wire_header *resp, uint16_t status);

void parsec_wire_header_encode(const parsec_wire_header *h, uint8_t out[PARSEC_WIRE_HEADER_SIZE]);
/* Plain field decode of 36 bytes, no validation. */
void parsec_wire_header_decode(const uint8_t in[PARSEC_WIRE_HEADER_SIZE], parsec_wire_header *h);

/*
 * Validation of a received header, in the reference order:
 * magic -> hdr_size -> version -> reserved bytes (flags and status ignored)
 * -> body_len against body_limit (0 = no limit).
 * Returns PARSEC_SUCCESS or the status the reference service answers.
 * Field-value checks (content/accept/auth type, opcode, provider) are
 * parsec_wire_request_check's job, since they come after reading the body.
 */
parsec_status parsec_wire_header_validate(const parsec_wire_header *h, uint32_t body_limit);
/* Step 7 of the reference order: content, accept, auth type, opcode, provider ID. */
parsec_status parsec_wire_request_check(const parsec_wire_header *h);
/* Client-side checks on a response header (magic, size, version, known status). */
parsec_status parsec_wire_response_validate(const parsec_wire_header *h);

/* 1 if the opcode exists in the reference interface's enum. */
int parsec_opcode_is_known(uint32_t opcode);
/* "PsaSignHash" etc.; "Unknown" otherwise. */
const char *parsec_opcode_name(uint32_t opcode);
/* Core opcodes are served by provider 0. */
int parsec_opcode_is_core(uint32_t opcode);
int parsec_opcode_is_admin(uint32_t opcode);
/* Ops that need an authenticated identity (all key ops, ListKeys, DeleteClient). */
int parsec_opcode_needs_auth(uint32_t opcode);

#endif
