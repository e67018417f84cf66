/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec_utf8_valid and parsec_pb_text_valid: string fields judged on the
 * wire bytes, nested messages included, whatever protobuf-c would make of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parsec_pb_text.h"
#include "prepare_key_attestation.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_sign_hash.pb-c.h"

static void test_utf8(void **state)
{
    assert_true(parsec_utf8_valid((const uint8_t *)"", 0));
    assert_true(parsec_utf8_valid((const uint8_t *)"key-1", 5));
    assert_true(parsec_utf8_valid((const uint8_t *)"\xC3\xA9t\xC3\xA9", 6)); /* été */
    assert_true(parsec_utf8_valid((const uint8_t *)"\xF0\x9F\x94\x91", 4));  /* U+1F511 */
    assert_false(parsec_utf8_valid((const uint8_t *)"\xFF", 1));
    assert_false(parsec_utf8_valid((const uint8_t *)"\xC3", 1));             /* cut */
    assert_false(parsec_utf8_valid((const uint8_t *)"\xC0\xAF", 2));         /* overlong */
    assert_false(parsec_utf8_valid((const uint8_t *)"\xED\xA0\x80", 3));     /* surrogate */
    assert_false(parsec_utf8_valid((const uint8_t *)"\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
}

/* A packed DestroyKey whose name is "abcdef" with byte `at` replaced by `byte`. */
static size_t destroy_body(uint8_t *buf, size_t at, uint8_t byte)
{
    PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;
    size_t len;

    op.key_name = (char *)"abcdef";
    len = psa_destroy_key__operation__pack(&op, buf);
    assert_int_equal(len, 8); /* tag, length, 6 bytes */
    buf[2 + at] = byte;
    return len;
}

static void test_top_level_string(void **state)
{
    const ProtobufCMessageDescriptor *d = &psa_destroy_key__operation__descriptor;
    uint8_t buf[16];
    size_t len;

    len = destroy_body(buf, 0, 'a');
    assert_true(parsec_pb_text_valid(d, buf, len));
    len = destroy_body(buf, 1, 0);
    assert_false(parsec_pb_text_valid(d, buf, len));
    len = destroy_body(buf, 5, 0xFF);
    assert_false(parsec_pb_text_valid(d, buf, len));
    assert_true(parsec_pb_text_valid(d, NULL, 0));
}

/* Bytes fields may hold anything: the hash of a SignHash is not text. */
static void test_bytes_not_checked(void **state)
{
    PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
    uint8_t hash[4] = {0, 0xFF, 0, 0xC0}, buf[64];
    size_t len;

    op.key_name = (char *)"k";
    op.hash.data = hash;
    op.hash.len = sizeof(hash);
    len = psa_sign_hash__operation__pack(&op, buf);
    assert_true(parsec_pb_text_valid(&psa_sign_hash__operation__descriptor, buf, len));
}

/* A name inside a nested message (PrepareKeyAttestation's parameters). */
static void test_nested_string(void **state)
{
    PrepareKeyAttestation__Operation op = PREPARE_KEY_ATTESTATION__OPERATION__INIT;
    PrepareKeyAttestation__PrepareKeyAttestationParams params =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__INIT;
    PrepareKeyAttestation__PrepareKeyAttestationParams__ActivateCredential ac =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__ACTIVATE_CREDENTIAL__INIT;
    const ProtobufCMessageDescriptor *d = &prepare_key_attestation__operation__descriptor;
    uint8_t buf[64];
    uint8_t *z;
    size_t len;

    ac.attested_key_name = (char *)"nestedZname";
    params.mechanism_case =
        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL;
    params.activate_credential = &ac;
    op.parameters = &params;
    len = prepare_key_attestation__operation__pack(&op, buf);
    assert_true(parsec_pb_text_valid(d, buf, len));
    z = memchr(buf, 'Z', len);
    assert_non_null(z);
    *z = 0;
    assert_false(parsec_pb_text_valid(d, buf, len));
}

static void test_malformed_framing(void **state)
{
    const ProtobufCMessageDescriptor *d = &psa_destroy_key__operation__descriptor;
    static const uint8_t too_long[] = {0x0A, 0x10, 'a'};                /* length past the end */
    static const uint8_t cut_varint[] = {0x08, 0x80};                   /* varint never ends */
    static const uint8_t group[] = {0x0B, 0x0C};                        /* start/end group */
    static const uint8_t unknown_ok[] = {0x10, 0x01, 0x1D, 1, 2, 3, 4}; /* unknown fields */

    assert_false(parsec_pb_text_valid(d, too_long, sizeof(too_long)));
    assert_false(parsec_pb_text_valid(d, cut_varint, sizeof(cut_varint)));
    assert_false(parsec_pb_text_valid(d, group, sizeof(group)));
    assert_true(parsec_pb_text_valid(d, unknown_ok, sizeof(unknown_ok)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_top_level_string),
        cmocka_unit_test(test_bytes_not_checked),
        cmocka_unit_test(test_nested_string),
        cmocka_unit_test(test_malformed_framing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
