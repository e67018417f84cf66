/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wire header codec (protocol 1.0). Fields are little-endian and packed;
 * encode/decode go byte by byte so host endianness and struct layout never
 * matter.
 */
#include "parsec_wire.h"

#include <string.h>

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void parsec_wire_header_base(parsec_wire_header *h)
{
    memset(h, 0, sizeof(*h));
    h->magic = PARSEC_WIRE_MAGIC;
    h->hdr_size = PARSEC_WIRE_HDR_SIZE_FIELD;
    h->version_maj = PARSEC_WIRE_VERSION_MAJ;
    h->version_min = PARSEC_WIRE_VERSION_MIN;
}

void parsec_wire_request_init(parsec_wire_header *h, uint8_t provider, uint32_t opcode,
                              uint8_t auth_type, uint32_t body_len, uint16_t auth_len)
{
    parsec_wire_header_base(h);
    h->provider = provider;
    h->content_type = PARSEC_WIRE_CONTENT_PROTOBUF;
    h->accept_type = PARSEC_WIRE_CONTENT_PROTOBUF;
    h->auth_type = auth_type;
    h->body_len = body_len;
    h->auth_len = auth_len;
    h->opcode = opcode;
}

void parsec_wire_response_init(parsec_wire_header *resp, const parsec_wire_header *req,
                               uint16_t status, uint32_t body_len)
{
    parsec_wire_header_base(resp);
    resp->provider = req->provider;
    resp->session = req->session;
    /* The reference answers in the encoding the request asked for. */
    resp->content_type = req->accept_type;
    resp->opcode = req->opcode;
    resp->status = status;
    resp->body_len = body_len;
}

void parsec_wire_response_for_status(parsec_wire_header *resp, uint16_t status)
{
    parsec_wire_header_base(resp);
    resp->opcode = PARSEC_OP_PING;
    resp->status = status;
}

void parsec_wire_header_encode(const parsec_wire_header *h, uint8_t out[PARSEC_WIRE_HEADER_SIZE])
{
    put_u32(out + 0, h->magic);
    put_u16(out + 4, h->hdr_size);
    out[6] = h->version_maj;
    out[7] = h->version_min;
    put_u16(out + 8, h->flags);
    out[10] = h->provider;
    put_u64(out + 11, h->session);
    out[19] = h->content_type;
    out[20] = h->accept_type;
    out[21] = h->auth_type;
    put_u32(out + 22, h->body_len);
    put_u16(out + 26, h->auth_len);
    put_u32(out + 28, h->opcode);
    put_u16(out + 32, h->status);
    out[34] = h->reserved1;
    out[35] = h->reserved2;
}

void parsec_wire_header_decode(const uint8_t in[PARSEC_WIRE_HEADER_SIZE], parsec_wire_header *h)
{
    h->magic = get_u32(in + 0);
    h->hdr_size = get_u16(in + 4);
    h->version_maj = in[6];
    h->version_min = in[7];
    h->flags = get_u16(in + 8);
    h->provider = in[10];
    h->session = get_u64(in + 11);
    h->content_type = in[19];
    h->accept_type = in[20];
    h->auth_type = in[21];
    h->body_len = get_u32(in + 22);
    h->auth_len = get_u16(in + 26);
    h->opcode = get_u32(in + 28);
    h->status = get_u16(in + 32);
    h->reserved1 = in[34];
    h->reserved2 = in[35];
}

/* Steps common to requests and responses (reference WireHeader::read_from_stream). */
static parsec_status parsec_wire_common_validate(const parsec_wire_header *h)
{
    if (h->magic != PARSEC_WIRE_MAGIC)
        return PARSEC_INVALID_HEADER;
    if (h->hdr_size != PARSEC_WIRE_HDR_SIZE_FIELD)
        return PARSEC_INVALID_HEADER;
    if (h->version_maj != PARSEC_WIRE_VERSION_MAJ || h->version_min != PARSEC_WIRE_VERSION_MIN)
        return PARSEC_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED;
    /* flags and status are deliberately not checked: the reference ignores them. */
    if (h->reserved1 != 0 || h->reserved2 != 0)
        return PARSEC_INVALID_HEADER;
    return PARSEC_SUCCESS;
}

parsec_status parsec_wire_header_validate(const parsec_wire_header *h, uint32_t body_limit)
{
    parsec_status st = parsec_wire_common_validate(h);
    if (st != PARSEC_SUCCESS)
        return st;
    if (body_limit != 0 && h->body_len > body_limit)
        return PARSEC_BODY_SIZE_EXCEEDS_LIMIT;
    return PARSEC_SUCCESS;
}

parsec_status parsec_wire_request_check(const parsec_wire_header *h)
{
    if (h->content_type != PARSEC_WIRE_CONTENT_PROTOBUF)
        return PARSEC_CONTENT_TYPE_NOT_SUPPORTED;
    if (h->accept_type != PARSEC_WIRE_CONTENT_PROTOBUF)
        return PARSEC_ACCEPT_TYPE_NOT_SUPPORTED;
    if (h->auth_type > PARSEC_AUTH_MAX)
        return PARSEC_AUTHENTICATOR_DOES_NOT_EXIST;
    if (!parsec_opcode_is_known(h->opcode))
        return PARSEC_OPCODE_DOES_NOT_EXIST;
    if (h->provider > PARSEC_PROVIDER_MAX)
        return PARSEC_PROVIDER_DOES_NOT_EXIST;
    return PARSEC_SUCCESS;
}

parsec_status parsec_wire_response_validate(const parsec_wire_header *h)
{
    parsec_status st = parsec_wire_common_validate(h);
    if (st != PARSEC_SUCCESS)
        return st;
    /* Reference ResponseHeader::try_from order: provider, content type, opcode, status. */
    if (h->provider > PARSEC_PROVIDER_MAX)
        return PARSEC_PROVIDER_DOES_NOT_EXIST;
    if (h->content_type != PARSEC_WIRE_CONTENT_PROTOBUF)
        return PARSEC_CONTENT_TYPE_NOT_SUPPORTED;
    if (!parsec_opcode_is_known(h->opcode))
        return PARSEC_OPCODE_DOES_NOT_EXIST;
    if (!parsec_status_is_known(h->status))
        return PARSEC_INVALID_ENCODING;
    return PARSEC_SUCCESS;
}

struct parsec_opcode_entry {
    uint32_t opcode;
    const char *name;
    uint8_t core;
    uint8_t admin;
    uint8_t needs_auth;
};

static const struct parsec_opcode_entry parsec_opcode_table[] = {
    {PARSEC_OP_PING, "Ping", 1, 0, 0},
    {PARSEC_OP_PSA_GENERATE_KEY, "PsaGenerateKey", 0, 0, 1},
    {PARSEC_OP_PSA_DESTROY_KEY, "PsaDestroyKey", 0, 0, 1},
    {PARSEC_OP_PSA_SIGN_HASH, "PsaSignHash", 0, 0, 1},
    {PARSEC_OP_PSA_VERIFY_HASH, "PsaVerifyHash", 0, 0, 1},
    {PARSEC_OP_PSA_IMPORT_KEY, "PsaImportKey", 0, 0, 1},
    {PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, "PsaExportPublicKey", 0, 0, 1},
    {PARSEC_OP_LIST_PROVIDERS, "ListProviders", 1, 0, 0},
    {PARSEC_OP_LIST_OPCODES, "ListOpcodes", 1, 0, 0},
    {PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT, "PsaAsymmetricEncrypt", 0, 0, 1},
    {PARSEC_OP_PSA_ASYMMETRIC_DECRYPT, "PsaAsymmetricDecrypt", 0, 0, 1},
    {PARSEC_OP_PSA_EXPORT_KEY, "PsaExportKey", 0, 0, 1},
    {PARSEC_OP_PSA_GENERATE_RANDOM, "PsaGenerateRandom", 0, 0, 0},
    {PARSEC_OP_LIST_AUTHENTICATORS, "ListAuthenticators", 1, 0, 0},
    {PARSEC_OP_PSA_HASH_COMPUTE, "PsaHashCompute", 0, 0, 0},
    {PARSEC_OP_PSA_HASH_COMPARE, "PsaHashCompare", 0, 0, 0},
    {PARSEC_OP_PSA_AEAD_ENCRYPT, "PsaAeadEncrypt", 0, 0, 1},
    {PARSEC_OP_PSA_AEAD_DECRYPT, "PsaAeadDecrypt", 0, 0, 1},
    {PARSEC_OP_PSA_RAW_KEY_AGREEMENT, "PsaRawKeyAgreement", 0, 0, 1},
    {PARSEC_OP_PSA_CIPHER_ENCRYPT, "PsaCipherEncrypt", 0, 0, 1},
    {PARSEC_OP_PSA_CIPHER_DECRYPT, "PsaCipherDecrypt", 0, 0, 1},
    {PARSEC_OP_PSA_SIGN_MESSAGE, "PsaSignMessage", 0, 0, 1},
    {PARSEC_OP_PSA_VERIFY_MESSAGE, "PsaVerifyMessage", 0, 0, 1},
    {PARSEC_OP_LIST_KEYS, "ListKeys", 1, 0, 1},
    {PARSEC_OP_LIST_CLIENTS, "ListClients", 1, 1, 0},
    {PARSEC_OP_DELETE_CLIENT, "DeleteClient", 1, 1, 1},
    {PARSEC_OP_ATTEST_KEY, "AttestKey", 0, 0, 1},
    {PARSEC_OP_PREPARE_KEY_ATTESTATION, "PrepareKeyAttestation", 0, 0, 1},
    {PARSEC_OP_CAN_DO_CRYPTO, "CanDoCrypto", 0, 0, 1},
};

static const struct parsec_opcode_entry *parsec_opcode_lookup(uint32_t opcode)
{
    for (size_t i = 0; i < sizeof(parsec_opcode_table) / sizeof(parsec_opcode_table[0]); i++) {
        if (parsec_opcode_table[i].opcode == opcode)
            return &parsec_opcode_table[i];
    }
    return NULL;
}

int parsec_opcode_is_known(uint32_t opcode)
{
    return parsec_opcode_lookup(opcode) != NULL;
}

const char *parsec_opcode_name(uint32_t opcode)
{
    const struct parsec_opcode_entry *e = parsec_opcode_lookup(opcode);
    return e ? e->name : "Unknown";
}

int parsec_opcode_is_core(uint32_t opcode)
{
    const struct parsec_opcode_entry *e = parsec_opcode_lookup(opcode);
    return e ? e->core : 0;
}

int parsec_opcode_is_admin(uint32_t opcode)
{
    const struct parsec_opcode_entry *e = parsec_opcode_lookup(opcode);
    return e ? e->admin : 0;
}

int parsec_opcode_needs_auth(uint32_t opcode)
{
    const struct parsec_opcode_entry *e = parsec_opcode_lookup(opcode);
    return e ? e->needs_auth : 0;
}
