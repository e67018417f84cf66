/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Status names/messages, hash helpers and the PSA policy check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parsec_types.h"

/* The reference interface's ResponseStatus names (response_status.rs). */
static const struct {
    uint32_t value;
    const char *name;
} reference_statuses[] = {
    {0, "Success"},
    {1, "WrongProviderId"},
    {2, "ContentTypeNotSupported"},
    {3, "AcceptTypeNotSupported"},
    {4, "WireProtocolVersionNotSupported"},
    {5, "ProviderNotRegistered"},
    {6, "ProviderDoesNotExist"},
    {7, "DeserializingBodyFailed"},
    {8, "SerializingBodyFailed"},
    {9, "OpcodeDoesNotExist"},
    {10, "ResponseTooLarge"},
    {11, "AuthenticationError"},
    {12, "AuthenticatorDoesNotExist"},
    {13, "AuthenticatorNotRegistered"},
    {14, "KeyInfoManagerError"},
    {15, "ConnectionError"},
    {16, "InvalidEncoding"},
    {17, "InvalidHeader"},
    {18, "WrongProviderUuid"},
    {19, "NotAuthenticated"},
    {20, "BodySizeExceedsLimit"},
    {21, "AdminOperation"},
    {22, "DeprecatedPrimitive"},
    {1132, "PsaErrorGenericError"},
    {1133, "PsaErrorNotPermitted"},
    {1134, "PsaErrorNotSupported"},
    {1135, "PsaErrorInvalidArgument"},
    {1136, "PsaErrorInvalidHandle"},
    {1137, "PsaErrorBadState"},
    {1138, "PsaErrorBufferTooSmall"},
    {1139, "PsaErrorAlreadyExists"},
    {1140, "PsaErrorDoesNotExist"},
    {1141, "PsaErrorInsufficientMemory"},
    {1142, "PsaErrorInsufficientStorage"},
    {1143, "PsaErrorInsufficientData"},
    {1145, "PsaErrorCommunicationFailure"},
    {1146, "PsaErrorStorageFailure"},
    {1147, "PsaErrorHardwareFailure"},
    {1148, "PsaErrorInsufficientEntropy"},
    {1149, "PsaErrorInvalidSignature"},
    {1150, "PsaErrorInvalidPadding"},
    {1151, "PsaErrorCorruptionDetected"},
    {1152, "PsaErrorDataCorrupt"},
    {1153, "PsaErrorDataInvalid"},
};

static void test_status_names(void **state)
{
    for (size_t i = 0; i < sizeof(reference_statuses) / sizeof(reference_statuses[0]); i++) {
        parsec_status st = (parsec_status)reference_statuses[i].value;
        const char *msg = parsec_status_message(st);
        assert_string_equal(parsec_status_name(st), reference_statuses[i].name);
        assert_true(parsec_status_is_known(reference_statuses[i].value));
        assert_non_null(msg);
        assert_true(strlen(msg) > 10);
        assert_string_not_equal(msg, "unknown status code");
    }
    /* Messages are distinct: a person can tell the errors apart. */
    for (size_t i = 0; i < sizeof(reference_statuses) / sizeof(reference_statuses[0]); i++)
        for (size_t j = i + 1; j < sizeof(reference_statuses) / sizeof(reference_statuses[0]); j++)
            assert_string_not_equal(parsec_status_message(reference_statuses[i].value),
                                    parsec_status_message(reference_statuses[j].value));
    assert_string_equal(parsec_status_name(PARSEC_PSA_ERROR_DOES_NOT_EXIST),
                        "PsaErrorDoesNotExist");
    assert_string_equal(parsec_status_name((parsec_status)1144), "UnknownStatus");
    assert_string_equal(parsec_status_name((parsec_status)23), "UnknownStatus");
    assert_string_equal(parsec_status_message((parsec_status)999), "unknown status code");
}

static void test_client_status_names(void **state)
{
    static const parsec_status client[] = {
        PARSEC_CLIENT_ERROR_CONNECT,     PARSEC_CLIENT_ERROR_TIMEOUT,
        PARSEC_CLIENT_ERROR_IO,          PARSEC_CLIENT_ERROR_PROTOCOL,
        PARSEC_CLIENT_ERROR_TOO_LARGE,   PARSEC_CLIENT_ERROR_ENDPOINT,
        PARSEC_CLIENT_ERROR_ARGUMENT,    PARSEC_CLIENT_ERROR_MEMORY,
        PARSEC_CLIENT_ERROR_NO_PROVIDER, PARSEC_CLIENT_ERROR_NO_AUTHENTICATOR,
    };
    for (size_t i = 0; i < sizeof(client) / sizeof(client[0]); i++) {
        assert_string_not_equal(parsec_status_name(client[i]), "UnknownStatus");
        assert_false(parsec_status_is_known(client[i])); /* never on the wire */
    }
    assert_string_equal(parsec_status_name(PARSEC_CLIENT_ERROR_TIMEOUT), "ClientTimeout");
}

static void test_status_is_known(void **state)
{
    for (uint32_t v = 0; v < 2000; v++) {
        int known = v <= 22 || (v >= 1132 && v <= 1153 && v != 1144);
        assert_int_equal(parsec_status_is_known(v), known);
    }
    assert_false(parsec_status_is_known(0xFFFF));
}

static void test_hash_helpers(void **state)
{
    static const struct {
        uint8_t hash;
        size_t len;
        const char *name;
    } hashes[] = {
        {PARSEC_HASH_MD5, 16, "MD5"},
        {PARSEC_HASH_RIPEMD160, 20, "RIPEMD160"},
        {PARSEC_HASH_SHA_1, 20, "SHA1"},
        {PARSEC_HASH_SHA_224, 28, "SHA224"},
        {PARSEC_HASH_SHA_256, 32, "SHA256"},
        {PARSEC_HASH_SHA_384, 48, "SHA384"},
        {PARSEC_HASH_SHA_512, 64, "SHA512"},
        {PARSEC_HASH_SHA_512_224, 28, "SHA512-224"},
        {PARSEC_HASH_SHA_512_256, 32, "SHA512-256"},
        {PARSEC_HASH_SHA3_224, 28, "SHA3-224"},
        {PARSEC_HASH_SHA3_256, 32, "SHA3-256"},
        {PARSEC_HASH_SHA3_384, 48, "SHA3-384"},
        {PARSEC_HASH_SHA3_512, 64, "SHA3-512"},
    };
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
        assert_int_equal(parsec_hash_length(hashes[i].hash), hashes[i].len);
        assert_string_equal(parsec_hash_ossl_name(hashes[i].hash), hashes[i].name);
        assert_int_equal(parsec_hash_from_ossl_name(hashes[i].name), hashes[i].hash);
    }
    assert_int_equal(parsec_hash_length(PARSEC_HASH_ANY), 0);
    assert_int_equal(parsec_hash_length(PARSEC_HASH_NONE), 0);
    assert_null(parsec_hash_ossl_name(PARSEC_HASH_ANY));
    /* Spellings OpenSSL uses for fetched digests, lower case and OIDs. */
    assert_int_equal(parsec_hash_from_ossl_name("SHA2-256"), PARSEC_HASH_SHA_256);
    assert_int_equal(parsec_hash_from_ossl_name("sha256"), PARSEC_HASH_SHA_256);
    assert_int_equal(parsec_hash_from_ossl_name("SHA-384"), PARSEC_HASH_SHA_384);
    assert_int_equal(parsec_hash_from_ossl_name("2.16.840.1.101.3.4.2.3"), PARSEC_HASH_SHA_512);
    assert_int_equal(parsec_hash_from_ossl_name("SHA2-512/256"), PARSEC_HASH_SHA_512_256);
    assert_int_equal(parsec_hash_from_ossl_name("BLAKE2b512"), PARSEC_HASH_NONE);
    assert_int_equal(parsec_hash_from_ossl_name(NULL), PARSEC_HASH_NONE);
}

static void test_alg_permits(void **state)
{
    parsec_alg ecdsa_any = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY};
    parsec_alg ecdsa_256 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA,
                            PARSEC_HASH_SHA_256};
    parsec_alg ecdsa_384 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA,
                            PARSEC_HASH_SHA_384};
    parsec_alg det_256 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_DETERMINISTIC_ECDSA,
                          PARSEC_HASH_SHA_256};
    parsec_alg pss_any = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_ANY};
    parsec_alg pss_256 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS,
                          PARSEC_HASH_SHA_256};
    parsec_alg pkcs1_256 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15,
                            PARSEC_HASH_SHA_256};
    parsec_alg pkcs1_raw = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15_RAW, 0};
    parsec_alg oaep_256 = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP,
                           PARSEC_HASH_SHA_256};
    parsec_alg oaep_1 = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP,
                         PARSEC_HASH_SHA_1};
    parsec_alg v15crypt = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_PKCS1V15, 0};
    parsec_alg ecdh = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0};
    parsec_alg ffdh = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_FFDH, 0};
    parsec_alg none = {PARSEC_ALG_NONE, 0, 0};

    /* Wildcard policy: same scheme, any specific hash. */
    assert_true(parsec_alg_permits(&ecdsa_any, &ecdsa_256));
    assert_true(parsec_alg_permits(&ecdsa_any, &ecdsa_384));
    assert_false(parsec_alg_permits(&ecdsa_any, &det_256));
    assert_false(parsec_alg_permits(&ecdsa_any, &pss_256));
    assert_true(parsec_alg_permits(&pss_any, &pss_256));
    /* Requests must be specific. */
    assert_false(parsec_alg_permits(&ecdsa_any, &ecdsa_any));
    assert_false(parsec_alg_permits(&pss_any, &pss_any));
    /* Specific policy: exact match only. */
    assert_true(parsec_alg_permits(&ecdsa_256, &ecdsa_256));
    assert_false(parsec_alg_permits(&ecdsa_256, &ecdsa_384));
    assert_false(parsec_alg_permits(&ecdsa_256, &ecdsa_any));
    assert_false(parsec_alg_permits(&pkcs1_256, &pss_256));
    assert_false(parsec_alg_permits(&pss_256, &pkcs1_256));
    assert_true(parsec_alg_permits(&pkcs1_raw, &pkcs1_raw));
    assert_false(parsec_alg_permits(&pkcs1_raw, &pkcs1_256));
    /* Non-signature algorithms are never wildcards. */
    assert_true(parsec_alg_permits(&oaep_256, &oaep_256));
    assert_false(parsec_alg_permits(&oaep_256, &oaep_1));
    assert_false(parsec_alg_permits(&oaep_256, &v15crypt));
    assert_true(parsec_alg_permits(&v15crypt, &v15crypt));
    assert_true(parsec_alg_permits(&ecdh, &ecdh));
    assert_false(parsec_alg_permits(&ecdh, &ffdh));
    assert_false(parsec_alg_permits(&ecdh, &ecdsa_256));
    /* A "none" policy permits nothing, not even "none". */
    assert_false(parsec_alg_permits(&none, &none));
    assert_false(parsec_alg_permits(&none, &ecdsa_256));
    assert_false(parsec_alg_permits(NULL, &ecdsa_256));
    assert_false(parsec_alg_permits(&ecdsa_any, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),    cmocka_unit_test(test_client_status_names),
        cmocka_unit_test(test_status_is_known), cmocka_unit_test(test_hash_helpers),
        cmocka_unit_test(test_alg_permits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
