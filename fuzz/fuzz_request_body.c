/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Protobuf bodies: byte 0 picks an opcode (low 7 bits, modulo the table) and
 * whether the rest is that operation's request (bit 7 clear, as parsecd
 * reads it) or its result (bit 7 set, as the client reads it). The rest is
 * unpacked with protobuf-c and converted with the parsec_pb_* functions the
 * way the service and client do, then freed.
 * Oracles besides the sanitizers: every value a *_to_c accepts converts back
 * (*_from_c, and the stack *_fill variants, which must encode to the very
 * same bytes) and survives pack -> unpack -> *_to_c unchanged.
 */
#include <string.h>

#include "can_do_crypto.pb-c.h"
#include "fuzz.h"
#include "fuzz_bodies.h"
#include "list_keys.pb-c.h"
#include "parsec_psa_pb.h"
#include "parsec_types.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static int fuzz_alg_equal(const parsec_alg *a, const parsec_alg *b)
{
    return a->kind == b->kind && a->scheme == b->scheme && a->hash == b->hash;
}

static int fuzz_attrs_equal(const parsec_key_attributes *a, const parsec_key_attributes *b)
{
    return a->type == b->type && a->ecc_family == b->ecc_family && a->bits == b->bits &&
           a->usage == b->usage && fuzz_alg_equal(&a->alg, &b->alg);
}

/* Packs msg into a fresh buffer (caller frees); the size must match get_packed_size. */
static uint8_t *fuzz_pack(const ProtobufCMessage *msg, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n > 0 ? n : 1);

    FUZZ_ASSERT(buf != NULL);
    *len = protobuf_c_message_pack(msg, buf);
    FUZZ_ASSERT(*len == n);
    return buf;
}

static void fuzz_roundtrip_attrs(const parsec_key_attributes *a)
{
    PsaKeyAttributes__KeyAttributes *pb = parsec_pb_key_attributes_from_c(a), *back;
    parsec_key_attributes again;
    uint8_t *buf;
    size_t len;

    FUZZ_ASSERT(pb != NULL);
    FUZZ_ASSERT(protobuf_c_message_check(&pb->base));
    buf = fuzz_pack(&pb->base, &len);
    back = psa_key_attributes__key_attributes__unpack(NULL, len, buf);
    FUZZ_ASSERT(back != NULL);
    memset(&again, 0, sizeof(again));
    FUZZ_ASSERT(parsec_pb_key_attributes_to_c(back, &again) == PARSEC_SUCCESS);
    FUZZ_ASSERT(fuzz_attrs_equal(a, &again));
    psa_key_attributes__key_attributes__free_unpacked(back, NULL);
    psa_key_attributes__key_attributes__free_unpacked(pb, NULL);
    free(buf);
}

static void fuzz_attrs(const PsaKeyAttributes__KeyAttributes *pb)
{
    parsec_key_attributes a;
    parsec_status st;

    memset(&a, 0, sizeof(a));
    st = parsec_pb_key_attributes_to_c(pb, &a);
    /* The statuses parsec_psa_pb.h promises, nothing else. */
    FUZZ_ASSERT(st == PARSEC_SUCCESS || st == PARSEC_INVALID_ENCODING ||
                st == PARSEC_PSA_ERROR_NOT_SUPPORTED || st == PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    if (st == PARSEC_SUCCESS)
        fuzz_roundtrip_attrs(&a);
    /* The service's policy check on what it would store. */
    if (st == PARSEC_SUCCESS)
        (void)parsec_alg_permits(&a.alg, &a.alg);
}

static void fuzz_sign_alg(const PsaAlgorithm__Algorithm__AsymmetricSignature *pb)
{
    PsaAlgorithm__Algorithm__AsymmetricSignature *heap, *stack, *back;
    parsec_pb_sign_alg_storage storage;
    parsec_alg alg = {0, 0, 0}, again = {0, 0, 0};
    uint8_t *b1, *b2;
    size_t l1, l2;
    parsec_status st = parsec_pb_sign_alg_to_c(pb, &alg);

    FUZZ_ASSERT(st == PARSEC_SUCCESS || st == PARSEC_INVALID_ENCODING);
    if (st != PARSEC_SUCCESS)
        return;
    FUZZ_ASSERT(alg.kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE);
    (void)parsec_hash_length(alg.hash);
    heap = parsec_pb_sign_alg_from_c(&alg);
    stack = parsec_pb_sign_alg_fill(&storage, &alg);
    FUZZ_ASSERT(heap != NULL && stack != NULL);
    b1 = fuzz_pack(&heap->base, &l1);
    b2 = fuzz_pack(&stack->base, &l2);
    FUZZ_ASSERT(l1 == l2 && memcmp(b1, b2, l1) == 0);
    back = (PsaAlgorithm__Algorithm__AsymmetricSignature *)protobuf_c_message_unpack(
        &psa_algorithm__algorithm__asymmetric_signature__descriptor, NULL, l1, b1);
    FUZZ_ASSERT(back != NULL);
    FUZZ_ASSERT(parsec_pb_sign_alg_to_c(back, &again) == PARSEC_SUCCESS);
    FUZZ_ASSERT(fuzz_alg_equal(&alg, &again));
    protobuf_c_message_free_unpacked(&back->base, NULL);
    protobuf_c_message_free_unpacked(&heap->base, NULL);
    free(b1);
    free(b2);
}

static void fuzz_encrypt_alg(const PsaAlgorithm__Algorithm__AsymmetricEncryption *pb)
{
    PsaAlgorithm__Algorithm__AsymmetricEncryption *heap, *stack, *back;
    parsec_pb_encrypt_alg_storage storage;
    parsec_alg alg = {0, 0, 0}, again = {0, 0, 0};
    uint8_t *b1, *b2;
    size_t l1, l2;
    parsec_status st = parsec_pb_encrypt_alg_to_c(pb, &alg);

    FUZZ_ASSERT(st == PARSEC_SUCCESS || st == PARSEC_INVALID_ENCODING);
    if (st != PARSEC_SUCCESS)
        return;
    heap = parsec_pb_encrypt_alg_from_c(&alg);
    stack = parsec_pb_encrypt_alg_fill(&storage, &alg);
    FUZZ_ASSERT(heap != NULL && stack != NULL);
    b1 = fuzz_pack(&heap->base, &l1);
    b2 = fuzz_pack(&stack->base, &l2);
    FUZZ_ASSERT(l1 == l2 && memcmp(b1, b2, l1) == 0);
    back = (PsaAlgorithm__Algorithm__AsymmetricEncryption *)protobuf_c_message_unpack(
        &psa_algorithm__algorithm__asymmetric_encryption__descriptor, NULL, l1, b1);
    FUZZ_ASSERT(back != NULL);
    FUZZ_ASSERT(parsec_pb_encrypt_alg_to_c(back, &again) == PARSEC_SUCCESS);
    FUZZ_ASSERT(fuzz_alg_equal(&alg, &again));
    protobuf_c_message_free_unpacked(&back->base, NULL);
    protobuf_c_message_free_unpacked(&heap->base, NULL);
    free(b1);
    free(b2);
}

static void fuzz_raw_ka(int pb_raw)
{
    parsec_alg alg = {0, 0, 0};

    if (parsec_pb_raw_ka_to_c(pb_raw, &alg) == PARSEC_SUCCESS)
        FUZZ_ASSERT(parsec_pb_raw_ka_from_c(&alg) == pb_raw);
}

static void fuzz_hash(int pb_hash)
{
    uint8_t hash = 0;

    if (parsec_pb_hash_to_c(pb_hash, &hash) == PARSEC_SUCCESS) {
        FUZZ_ASSERT(hash == pb_hash);
        (void)parsec_hash_length(hash);
        (void)parsec_hash_ossl_name(hash);
    }
}

/* Conversions of a request body, as parsecd's operation handlers do them. */
static void fuzz_operation(uint32_t opcode, const ProtobufCMessage *m)
{
    switch (opcode) {
    case PARSEC_OP_PSA_GENERATE_KEY:
        fuzz_attrs(((const PsaGenerateKey__Operation *)m)->attributes);
        break;
    case PARSEC_OP_PSA_IMPORT_KEY:
        fuzz_attrs(((const PsaImportKey__Operation *)m)->attributes);
        break;
    case PARSEC_OP_CAN_DO_CRYPTO:
        fuzz_attrs(((const CanDoCrypto__Operation *)m)->attributes);
        break;
    case PARSEC_OP_PSA_SIGN_HASH:
        fuzz_sign_alg(((const PsaSignHash__Operation *)m)->alg);
        break;
    case PARSEC_OP_PSA_VERIFY_HASH:
        fuzz_sign_alg(((const PsaVerifyHash__Operation *)m)->alg);
        break;
    case PARSEC_OP_PSA_SIGN_MESSAGE:
        fuzz_sign_alg(((const PsaSignMessage__Operation *)m)->alg);
        break;
    case PARSEC_OP_PSA_VERIFY_MESSAGE:
        fuzz_sign_alg(((const PsaVerifyMessage__Operation *)m)->alg);
        break;
    case PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT:
        fuzz_encrypt_alg(((const PsaAsymmetricEncrypt__Operation *)m)->alg);
        break;
    case PARSEC_OP_PSA_ASYMMETRIC_DECRYPT:
        fuzz_encrypt_alg(((const PsaAsymmetricDecrypt__Operation *)m)->alg);
        break;
    case PARSEC_OP_PSA_RAW_KEY_AGREEMENT:
        fuzz_raw_ka((int)((const PsaRawKeyAgreement__Operation *)m)->alg);
        break;
    case PARSEC_OP_PSA_HASH_COMPUTE:
        fuzz_hash((int)((const PsaHashCompute__Operation *)m)->alg);
        break;
    case PARSEC_OP_PSA_HASH_COMPARE:
        fuzz_hash((int)((const PsaHashCompare__Operation *)m)->alg);
        break;
    default:
        break;
    }
}

/* Conversions of a result body, as libparsec-client does them. */
static void fuzz_result(uint32_t opcode, const ProtobufCMessage *m)
{
    if (opcode == PARSEC_OP_LIST_KEYS) {
        const ListKeys__Result *r = (const ListKeys__Result *)m;

        for (size_t i = 0; i < r->n_keys; i++)
            fuzz_attrs(r->keys[i]->attributes);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fuzz_body_kind *kind;
    const ProtobufCMessageDescriptor *desc;
    ProtobufCMessage *m;
    uint8_t *packed;
    size_t len;
    int is_result;

    if (size < 1)
        return 0;
    kind = &parsec_fuzz_body_kinds[(data[0] & 0x7F) % parsec_fuzz_n_body_kinds];
    is_result = (data[0] & 0x80) != 0;
    desc = is_result ? kind->result : kind->op;
    m = protobuf_c_message_unpack(desc, NULL, size - 1, data + 1);
    if (m == NULL)
        return 0; /* DeserializingBodyFailed */
    FUZZ_ASSERT(protobuf_c_message_check(m));
    if (is_result)
        fuzz_result(kind->opcode, m);
    else
        fuzz_operation(kind->opcode, m);
    /*
     * What was accepted packs again to the size it announces. Reading that
     * back is not asserted: protobuf-c keeps a field number 0 as an unknown
     * field and then refuses its own encoding of it (harmless here: neither
     * side re-sends a body it received).
     */
    packed = fuzz_pack(m, &len);
    free(packed);
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}
