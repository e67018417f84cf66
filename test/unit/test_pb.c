/* SPDX-License-Identifier: Apache-2.0 */
/*
 * protobuf <-> C conversions against the body vectors and the validation
 * rules of docs/wire-protocol.md (§5.5, §5.0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delete_client.pb-c.h"
#include "fake_server.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "parsec_psa_pb.h"
#include "ping.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"

#define SIGN_USAGE                                                                                 \
    (PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH | PARSEC_USAGE_SIGN_MESSAGE |               \
     PARSEC_USAGE_VERIFY_MESSAGE)

static void assert_attrs_equal(const parsec_key_attributes *a, const parsec_key_attributes *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->ecc_family, b->ecc_family);
    assert_int_equal(a->bits, b->bits);
    assert_int_equal(a->usage, b->usage);
    assert_int_equal(a->alg.kind, b->alg.kind);
    assert_int_equal(a->alg.scheme, b->alg.scheme);
    assert_int_equal(a->alg.hash, b->alg.hash);
}

static void assert_packs_to(const ProtobufCMessage *msg, const char *hex)
{
    size_t n, elen;
    uint8_t *buf, *expect = hex_decode_alloc(hex, &elen);

    n = protobuf_c_message_get_packed_size(msg);
    buf = malloc(n + 1);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(msg, buf), n);
    assert_int_equal(n, elen);
    assert_memory_equal(buf, expect, n);
    free(buf);
    free(expect);
}

static ProtobufCMessage *unpack_hex(const ProtobufCMessageDescriptor *d, const char *hex)
{
    size_t n;
    uint8_t *buf = hex_decode_alloc(hex, &n);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, buf);
    free(buf);
    assert_non_null(m);
    return m;
}

struct genkey_vector {
    const char *hex;
    parsec_key_attributes attrs;
};

static const struct genkey_vector genkey_vectors[] = {
    {"0a016b121d0a0252001080101a140a083001380140014801120832061a040a021007",
     {PARSEC_KEY_TYPE_RSA_KEY_PAIR,
      0,
      2048,
      SIGN_USAGE,
      {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256}}},
    {"0a016b121f0a045a0208021080021a140a0830013801400148011208320622040a021007",
     {PARSEC_KEY_TYPE_ECC_KEY_PAIR,
      PARSEC_ECC_FAMILY_SECP_R1,
      256,
      SIGN_USAGE,
      {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256}}},
    {"0a016b12150a0252001080101a0c0a042001280112043a020a00",
     {PARSEC_KEY_TYPE_RSA_KEY_PAIR,
      0,
      2048,
      PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT,
      {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_PKCS1V15, 0}}},
    /* No usage flags: the UsageFlags message is still present ("0a 00"). */
    {"0a016b120f0a0252001080101a060a0012020a00",
     {PARSEC_KEY_TYPE_RSA_KEY_PAIR, 0, 2048, 0, {PARSEC_ALG_NONE, 0, 0}}},
};

static void test_generate_key_vectors(void **state)
{
    for (size_t i = 0; i < sizeof(genkey_vectors) / sizeof(genkey_vectors[0]); i++) {
        const struct genkey_vector *v = &genkey_vectors[i];
        PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
        PsaGenerateKey__Operation *back;
        parsec_key_attributes got;

        op.key_name = "k";
        op.attributes = parsec_pb_key_attributes_from_c(&v->attrs);
        assert_non_null(op.attributes);
        assert_packs_to(&op.base, v->hex);
        psa_key_attributes__key_attributes__free_unpacked(op.attributes, NULL);

        back = (PsaGenerateKey__Operation *)unpack_hex(&psa_generate_key__operation__descriptor,
                                                       v->hex);
        assert_string_equal(back->key_name, "k");
        memset(&got, 0xEE, sizeof(got));
        assert_int_equal(parsec_pb_key_attributes_to_c(back->attributes, &got), PARSEC_SUCCESS);
        assert_attrs_equal(&got, &v->attrs);
        psa_generate_key__operation__free_unpacked(back, NULL);
    }
}

static void test_sign_hash_vector(void **state)
{
    const char *hex = "0a016b12060a040a0210071a020102";
    parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15,
                      PARSEC_HASH_SHA_256};
    PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
    PsaSignHash__Operation *back;
    parsec_pb_sign_alg_storage st;
    uint8_t hash[2] = {1, 2};
    parsec_alg got;

    op.key_name = "k";
    op.hash.data = hash;
    op.hash.len = 2;
    /* Stack (hot path) and heap builders agree. */
    op.alg = parsec_pb_sign_alg_fill(&st, &alg);
    assert_non_null(op.alg);
    assert_packs_to(&op.base, hex);
    op.alg = parsec_pb_sign_alg_from_c(&alg);
    assert_non_null(op.alg);
    assert_packs_to(&op.base, hex);
    protobuf_c_message_free_unpacked(&op.alg->base, NULL);

    back = (PsaSignHash__Operation *)unpack_hex(&psa_sign_hash__operation__descriptor, hex);
    assert_int_equal(parsec_pb_sign_alg_to_c(back->alg, &got), PARSEC_SUCCESS);
    assert_memory_equal(&got, &alg, sizeof(alg));
    psa_sign_hash__operation__free_unpacked(back, NULL);
}

static void test_sign_alg_all_schemes(void **state)
{
    static const parsec_alg algs[] = {
        {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_SHA_384},
        {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15_RAW, 0},
        {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_ANY},
        {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA3_512},
        {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA_ANY, 0},
        {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_DETERMINISTIC_ECDSA, PARSEC_HASH_SHA_512},
    };
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        parsec_pb_sign_alg_storage st;
        PsaAlgorithm__Algorithm__AsymmetricSignature *heap = parsec_pb_sign_alg_from_c(&algs[i]);
        PsaAlgorithm__Algorithm__AsymmetricSignature *stack =
            parsec_pb_sign_alg_fill(&st, &algs[i]);
        uint8_t a[64], b[64];
        size_t na, nb;
        parsec_alg got;
        assert_non_null(heap);
        assert_non_null(stack);
        na = protobuf_c_message_pack(&heap->base, a);
        nb = protobuf_c_message_pack(&stack->base, b);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        assert_int_equal(parsec_pb_sign_alg_to_c(stack, &got), PARSEC_SUCCESS);
        assert_memory_equal(&got, &algs[i], sizeof(got));
        protobuf_c_message_free_unpacked(&heap->base, NULL);
    }
}

static void test_encrypt_vectors(void **state)
{
    static const struct {
        const char *hex;
        parsec_alg alg;
    } v[] = {
        {"0a016b1204120208071a026869",
         {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_256}},
        {"0a016b12020a001a026869",
         {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_PKCS1V15, 0}},
    };
    for (size_t i = 0; i < 2; i++) {
        PsaAsymmetricEncrypt__Operation op = PSA_ASYMMETRIC_ENCRYPT__OPERATION__INIT;
        PsaAsymmetricEncrypt__Operation *back;
        parsec_pb_encrypt_alg_storage st;
        parsec_alg got;

        op.key_name = "k";
        op.plaintext.data = (uint8_t *)"hi";
        op.plaintext.len = 2;
        op.alg = parsec_pb_encrypt_alg_fill(&st, &v[i].alg);
        assert_non_null(op.alg);
        assert_packs_to(&op.base, v[i].hex);
        op.alg = parsec_pb_encrypt_alg_from_c(&v[i].alg);
        assert_non_null(op.alg);
        assert_packs_to(&op.base, v[i].hex);
        protobuf_c_message_free_unpacked(&op.alg->base, NULL);

        back = (PsaAsymmetricEncrypt__Operation *)unpack_hex(
            &psa_asymmetric_encrypt__operation__descriptor, v[i].hex);
        assert_int_equal(parsec_pb_encrypt_alg_to_c(back->alg, &got), PARSEC_SUCCESS);
        assert_memory_equal(&got, &v[i].alg, sizeof(got));
        assert_int_equal(back->salt.len, 0);
        psa_asymmetric_encrypt__operation__free_unpacked(back, NULL);
    }
}

static void test_small_operation_vectors(void **state)
{
    {
        PsaRawKeyAgreement__Operation op = PSA_RAW_KEY_AGREEMENT__OPERATION__INIT;
        parsec_alg ecdh = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0}, got;
        uint8_t peer = 0x04;
        op.alg = (PsaAlgorithm__Algorithm__KeyAgreement__Raw)parsec_pb_raw_ka_from_c(&ecdh);
        op.private_key_name = "k";
        op.peer_key.data = &peer;
        op.peer_key.len = 1;
        assert_packs_to(&op.base, "080212016b1a0104");
        assert_int_equal(parsec_pb_raw_ka_to_c(op.alg, &got), PARSEC_SUCCESS);
        assert_memory_equal(&got, &ecdh, sizeof(got));
        assert_int_equal(parsec_pb_raw_ka_to_c(0, &got), PARSEC_INVALID_ENCODING);
        assert_int_equal(parsec_pb_raw_ka_to_c(3, &got), PARSEC_INVALID_ENCODING);
    }
    {
        PsaGenerateRandom__Operation op = PSA_GENERATE_RANDOM__OPERATION__INIT;
        op.size = 32;
        assert_packs_to(&op.base, "0820");
    }
    {
        ListOpcodes__Operation op = LIST_OPCODES__OPERATION__INIT;
        ListOpcodes__Result res = LIST_OPCODES__RESULT__INIT;
        uint32_t ops[] = {1, 3, 2};
        op.provider_id = 1;
        assert_packs_to(&op.base, "0801");
        /* Repeated scalars are packed. */
        res.n_opcodes = 3;
        res.opcodes = ops;
        assert_packs_to(&res.base, "0a03010302");
    }
    {
        PsaHashCompute__Operation op = PSA_HASH_COMPUTE__OPERATION__INIT;
        uint8_t h = 0;
        op.alg = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
        op.input.data = (uint8_t *)"abc";
        op.input.len = 3;
        assert_packs_to(&op.base, "08071203616263");
        assert_int_equal(parsec_pb_hash_to_c(op.alg, &h), PARSEC_SUCCESS);
        assert_int_equal(h, PARSEC_HASH_SHA_256);
    }
    {
        DeleteClient__Operation op = DELETE_CLIENT__OPERATION__INIT;
        op.client = "1000";
        assert_packs_to(&op.base, "0a0431303030");
    }
    {
        Ping__Result r = PING__RESULT__INIT;
        r.wire_protocol_version_maj = 1;
        assert_packs_to(&r.base, "0801");
    }
}

static void test_algorithm_wildcard_vector(void **state)
{
    parsec_alg any = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY}, got;
    PsaAlgorithm__Algorithm *alg = parsec_pb_algorithm_from_c(&any);

    assert_non_null(alg);
    assert_packs_to(&alg->base, "320622040a020a00");
    psa_algorithm__algorithm__free_unpacked(alg, NULL);
    alg = (PsaAlgorithm__Algorithm *)unpack_hex(&psa_algorithm__algorithm__descriptor,
                                                "320622040a020a00");
    assert_int_equal(parsec_pb_algorithm_to_c(alg, &got), PARSEC_SUCCESS);
    assert_memory_equal(&got, &any, sizeof(got));
    psa_algorithm__algorithm__free_unpacked(alg, NULL);
}

static void test_list_keys_vector(void **state)
{
    const char *hex = "0a270801120265631a1f0a045a0208021080021a140a083001380140014801120832"
                      "0622040a021007";
    parsec_key_attributes attrs = {
        PARSEC_KEY_TYPE_ECC_KEY_PAIR,
        PARSEC_ECC_FAMILY_SECP_R1,
        256,
        SIGN_USAGE,
        {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256}};
    ListKeys__Result res = LIST_KEYS__RESULT__INIT;
    ListKeys__KeyInfo ki = LIST_KEYS__KEY_INFO__INIT;
    ListKeys__KeyInfo *kis[1] = {&ki};
    ListKeys__Result *back;
    parsec_key_attributes got;

    ki.provider_id = 1;
    ki.name = "ec";
    ki.attributes = parsec_pb_key_attributes_from_c(&attrs);
    res.n_keys = 1;
    res.keys = kis;
    assert_packs_to(&res.base, hex);
    psa_key_attributes__key_attributes__free_unpacked(ki.attributes, NULL);

    back = (ListKeys__Result *)unpack_hex(&list_keys__result__descriptor, hex);
    assert_int_equal(back->n_keys, 1);
    assert_int_equal(back->keys[0]->provider_id, 1);
    assert_string_equal(back->keys[0]->name, "ec");
    assert_int_equal(parsec_pb_key_attributes_to_c(back->keys[0]->attributes, &got),
                     PARSEC_SUCCESS);
    assert_attrs_equal(&got, &attrs);
    list_keys__result__free_unpacked(back, NULL);
}

/* docs/wire-protocol.md §5.0: missing mandatory sub-messages, unset oneofs, enum 0. */
static void test_attribute_validation(void **state)
{
    parsec_key_attributes rsa = {
        PARSEC_KEY_TYPE_RSA_KEY_PAIR,
        0,
        2048,
        SIGN_USAGE,
        {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256}};
    PsaKeyAttributes__KeyAttributes *ka;
    PsaKeyAttributes__KeyType *saved_type;
    PsaKeyAttributes__KeyPolicy *saved_policy;
    PsaKeyAttributes__UsageFlags *saved_flags;
    PsaAlgorithm__Algorithm *saved_alg;
    parsec_key_attributes got;

    assert_int_equal(parsec_pb_key_attributes_to_c(NULL, &got), PARSEC_INVALID_ENCODING);
    ka = parsec_pb_key_attributes_from_c(&rsa);
    assert_non_null(ka);

    saved_type = ka->key_type;
    ka->key_type = NULL;
    assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
    ka->key_type = saved_type;

    saved_policy = ka->key_policy;
    ka->key_policy = NULL;
    assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
    ka->key_policy = saved_policy;

    saved_flags = ka->key_policy->key_usage_flags;
    ka->key_policy->key_usage_flags = NULL;
    assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
    ka->key_policy->key_usage_flags = saved_flags;

    saved_alg = ka->key_policy->key_algorithm;
    ka->key_policy->key_algorithm = NULL;
    assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
    ka->key_policy->key_algorithm = saved_alg;

    /* Unset KeyType oneof. */
    ka->key_type->variant_case = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT__NOT_SET;
    assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
    ka->key_type->variant_case = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_KEY_PAIR;

    /* SignHash.specific = HASH_NONE (enum 0) and an out-of-range hash. */
    ka->key_policy->key_algorithm->asymmetric_signature->rsa_pss->hash_alg->specific = 0;
    assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
    ka->key_policy->key_algorithm->asymmetric_signature->rsa_pss->hash_alg->specific = 16;
    assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
    ka->key_policy->key_algorithm->asymmetric_signature->rsa_pss->hash_alg->specific = 7;
    assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_SUCCESS);

    /* Missing SignHash inside the scheme. */
    {
        PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh =
            ka->key_policy->key_algorithm->asymmetric_signature->rsa_pss->hash_alg;
        ka->key_policy->key_algorithm->asymmetric_signature->rsa_pss->hash_alg = NULL;
        assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
        ka->key_policy->key_algorithm->asymmetric_signature->rsa_pss->hash_alg = sh;
        sh->variant_case =
            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT__NOT_SET;
        assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
        sh->variant_case =
            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
    }
    psa_key_attributes__key_attributes__free_unpacked(ka, NULL);

    /* ECC family NONE is rejected; DH family 0 (RFC 7919) is valid. */
    {
        parsec_key_attributes ec = {PARSEC_KEY_TYPE_ECC_KEY_PAIR,
                                    PARSEC_ECC_FAMILY_SECP_R1,
                                    256,
                                    PARSEC_USAGE_DERIVE,
                                    {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0}};
        parsec_key_attributes dh = {PARSEC_KEY_TYPE_DH_KEY_PAIR,
                                    0,
                                    2048,
                                    PARSEC_USAGE_DERIVE,
                                    {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_FFDH, 0}};
        ka = parsec_pb_key_attributes_from_c(&ec);
        assert_non_null(ka);
        assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_SUCCESS);
        assert_attrs_equal(&got, &ec);
        ka->key_type->ecc_key_pair->curve_family = 0;
        assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
        ka->key_type->ecc_key_pair->curve_family = 10;
        assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
        /* KeyAgreement.Raw RAW_NONE. */
        ka->key_type->ecc_key_pair->curve_family = 2;
        ka->key_policy->key_algorithm->key_agreement->raw = 0;
        assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
        psa_key_attributes__key_attributes__free_unpacked(ka, NULL);

        ka = parsec_pb_key_attributes_from_c(&dh);
        assert_non_null(ka);
        assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_SUCCESS);
        assert_int_equal(got.type, PARSEC_KEY_TYPE_DH_KEY_PAIR);
        ka->key_type->dh_key_pair->group_family = 1;
        assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_INVALID_ENCODING);
        psa_key_attributes__key_attributes__free_unpacked(ka, NULL);
    }
}

static void test_algorithm_kinds(void **state)
{
    PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
    PsaAlgorithm__Algorithm__Mac mac = PSA_ALGORITHM__ALGORITHM__MAC__INIT;
    PsaAlgorithm__Algorithm__Mac__FullLength fl = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__INIT;
    PsaAlgorithm__Algorithm__Mac__FullLength__Cmac cmac =
        PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__CMAC__INIT;
    parsec_alg got;

    assert_int_equal(parsec_pb_algorithm_to_c(NULL, &got), PARSEC_INVALID_ENCODING);
    assert_int_equal(parsec_pb_algorithm_to_c(&alg, &got), PARSEC_INVALID_ENCODING);
    alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_HASH;
    alg.hash = 0;
    assert_int_equal(parsec_pb_algorithm_to_c(&alg, &got), PARSEC_INVALID_ENCODING);
    alg.hash = PSA_ALGORITHM__ALGORITHM__HASH__SHA_384;
    assert_int_equal(parsec_pb_algorithm_to_c(&alg, &got), PARSEC_SUCCESS);
    assert_int_equal(got.kind, PARSEC_ALG_HASH);
    assert_int_equal(got.hash, PARSEC_HASH_SHA_384);
    /* Cipher: enum 0 invalid, a real mode converts (PsaCipherEncrypt/Decrypt). */
    alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER;
    alg.cipher = 0;
    assert_int_equal(parsec_pb_algorithm_to_c(&alg, &got), PARSEC_INVALID_ENCODING);
    alg.cipher = PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_PKCS7;
    assert_int_equal(parsec_pb_algorithm_to_c(&alg, &got), PARSEC_SUCCESS);
    assert_int_equal(got.kind, PARSEC_ALG_CIPHER);
    assert_int_equal(got.scheme, PARSEC_CIPHER_CBC_PKCS7);
    /* MAC: unset variant invalid; CMAC unsupported. */
    alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_MAC;
    alg.mac = &mac;
    assert_int_equal(parsec_pb_algorithm_to_c(&alg, &got), PARSEC_INVALID_ENCODING);
    mac.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH;
    mac.full_length = &fl;
    fl.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC;
    fl.cmac = &cmac;
    assert_int_equal(parsec_pb_algorithm_to_c(&alg, &got), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    assert_int_equal(got.kind, PARSEC_ALG_MAC);

    /* from_c refuses what it cannot represent. */
    {
        parsec_alg bad_hash = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, 0};
        parsec_alg bad_scheme = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, 9, PARSEC_HASH_SHA_256};
        parsec_alg oaep_any = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP,
                               PARSEC_HASH_ANY};
        parsec_alg mac_alg = {PARSEC_ALG_MAC, 0, 0};
        parsec_pb_sign_alg_storage st;
        parsec_pb_encrypt_alg_storage est;
        parsec_key_attributes none_type = {0, 0, 0, 0, {PARSEC_ALG_NONE, 0, 0}};
        parsec_key_attributes ec_no_family = {
            PARSEC_KEY_TYPE_ECC_KEY_PAIR, 0, 256, 0, {PARSEC_ALG_NONE, 0, 0}};
        assert_null(parsec_pb_sign_alg_from_c(&bad_hash));
        assert_null(parsec_pb_sign_alg_fill(&st, &bad_hash));
        assert_null(parsec_pb_sign_alg_fill(&st, &bad_scheme));
        assert_null(parsec_pb_encrypt_alg_fill(&est, &oaep_any));
        assert_null(parsec_pb_encrypt_alg_from_c(&oaep_any));
        assert_null(parsec_pb_algorithm_from_c(&mac_alg));
        assert_null(parsec_pb_key_attributes_from_c(&none_type));
        assert_null(parsec_pb_key_attributes_from_c(&ec_no_family));
        assert_null(parsec_pb_key_attributes_from_c(NULL));
    }
}

/* A listing with an unrepresented policy still yields type, bits and usage. */
static void test_unsupported_policy_keeps_attributes(void **state)
{
    parsec_key_attributes aes = {
        PARSEC_KEY_TYPE_AES, 0, 128, PARSEC_USAGE_ENCRYPT, {PARSEC_ALG_NONE, 0, 0}};
    PsaKeyAttributes__KeyAttributes *ka = parsec_pb_key_attributes_from_c(&aes);
    PsaAlgorithm__Algorithm *none_alg;
    parsec_key_attributes got;

    assert_non_null(ka);
    none_alg = ka->key_policy->key_algorithm;
    ka->key_policy->key_algorithm = &(PsaAlgorithm__Algorithm)PSA_ALGORITHM__ALGORITHM__INIT;
    ka->key_policy->key_algorithm->variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_MAC;
    ka->key_policy->key_algorithm->mac =
        &(PsaAlgorithm__Algorithm__Mac)PSA_ALGORITHM__ALGORITHM__MAC__INIT;
    ka->key_policy->key_algorithm->mac->variant_case =
        PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH;
    ka->key_policy->key_algorithm->mac->full_length =
        &(PsaAlgorithm__Algorithm__Mac__FullLength)PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__INIT;
    ka->key_policy->key_algorithm->mac->full_length->variant_case =
        PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC;
    ka->key_policy->key_algorithm->mac->full_length->cmac =
        &(PsaAlgorithm__Algorithm__Mac__FullLength__Cmac)
            PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__CMAC__INIT;
    assert_int_equal(parsec_pb_key_attributes_to_c(ka, &got), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    assert_int_equal(got.type, PARSEC_KEY_TYPE_AES);
    assert_int_equal(got.bits, 128);
    assert_int_equal(got.usage, PARSEC_USAGE_ENCRYPT);
    assert_int_equal(got.alg.kind, PARSEC_ALG_MAC);
    ka->key_policy->key_algorithm = none_alg;
    psa_key_attributes__key_attributes__free_unpacked(ka, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_key_vectors),
        cmocka_unit_test(test_sign_hash_vector),
        cmocka_unit_test(test_sign_alg_all_schemes),
        cmocka_unit_test(test_encrypt_vectors),
        cmocka_unit_test(test_small_operation_vectors),
        cmocka_unit_test(test_algorithm_wildcard_vector),
        cmocka_unit_test(test_list_keys_vector),
        cmocka_unit_test(test_attribute_validation),
        cmocka_unit_test(test_algorithm_kinds),
        cmocka_unit_test(test_unsupported_policy_keeps_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
