/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PSA formats <-> OpenSSL (common/parsec_psa_crypto.c): ECDSA signature
 * encodings with fixed vectors, public keys in PSA export format (the P-256
 * generator point of FIPS 186-4 D.1.2.3), and software verification against
 * signatures OpenSSL makes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "parsec_psa_crypto.h"

/* r = 80 11..11 (needs a 00 pad in DER), s = 1 (leading zeros dropped). */
static const uint8_t ecdsa_raw[64] = {
    0x80, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
};
static const uint8_t ecdsa_der[40] = {
    0x30, 0x26, 0x02, 0x21, 0x00, 0x80, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x02, 0x01, 0x01,
};

/* 04 || Gx || Gy of P-256. */
static const uint8_t p256_g[65] = {
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
    0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4,
    0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a,
    0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33,
    0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
};

static const parsec_key_attributes p256_attrs = {
    .type = PARSEC_KEY_TYPE_ECC_PUBLIC_KEY,
    .ecc_family = PARSEC_ECC_FAMILY_SECP_R1,
    .bits = 256,
};

static void test_ec_groups(void **unused)
{
    assert_string_equal(parsec_psa_ec_group(PARSEC_ECC_FAMILY_SECP_R1, 256), "prime256v1");
    assert_string_equal(parsec_psa_ec_group(PARSEC_ECC_FAMILY_SECP_R1, 521), "secp521r1");
    assert_string_equal(parsec_psa_ec_group(PARSEC_ECC_FAMILY_BRAINPOOL_P_R1, 384),
                        "brainpoolP384r1");
    assert_string_equal(parsec_psa_ec_group(PARSEC_ECC_FAMILY_MONTGOMERY, 255), "X25519");
    assert_null(parsec_psa_ec_group(PARSEC_ECC_FAMILY_SECP_R1, 255));
    assert_null(parsec_psa_ec_group(PARSEC_ECC_FAMILY_SECT_K1, 233));
    assert_int_equal(parsec_psa_ec_coord_len(521), 66);
    assert_int_equal(parsec_psa_ec_coord_len(256), 32);
}

static void test_ecdsa_raw_to_der(void **unused)
{
    uint8_t *der = NULL;
    size_t derlen = 0;

    assert_true(parsec_ecdsa_raw_to_der(ecdsa_raw, sizeof(ecdsa_raw), &der, &derlen));
    assert_int_equal(derlen, sizeof(ecdsa_der));
    assert_memory_equal(der, ecdsa_der, sizeof(ecdsa_der));
    OPENSSL_free(der);

    assert_false(parsec_ecdsa_raw_to_der(ecdsa_raw, 63, &der, &derlen));
    assert_false(parsec_ecdsa_raw_to_der(ecdsa_raw, 0, &der, &derlen));
}

static void test_ecdsa_der_to_raw(void **unused)
{
    uint8_t raw[66], padded[sizeof(ecdsa_der) + 1];

    assert_true(parsec_ecdsa_der_to_raw(ecdsa_der, sizeof(ecdsa_der), 32, raw));
    assert_memory_equal(raw, ecdsa_raw, 64);

    /* Wider coordinates: zero-padded on the left. */
    assert_true(parsec_ecdsa_der_to_raw(ecdsa_der, sizeof(ecdsa_der), 33, raw));
    assert_int_equal(raw[0], 0);
    assert_memory_equal(raw + 1, ecdsa_raw, 32);

    /* r does not fit 31 bytes; trailing bytes; truncated DER. */
    assert_false(parsec_ecdsa_der_to_raw(ecdsa_der, sizeof(ecdsa_der), 31, raw));
    memcpy(padded, ecdsa_der, sizeof(ecdsa_der));
    padded[sizeof(ecdsa_der)] = 0;
    assert_false(parsec_ecdsa_der_to_raw(padded, sizeof(padded), 32, raw));
    assert_false(parsec_ecdsa_der_to_raw(ecdsa_der, sizeof(ecdsa_der) - 1, 32, raw));
}

static void test_public_key_ec(void **unused)
{
    uint8_t bad[sizeof(p256_g)];
    EVP_PKEY *pkey;
    char group[32];

    pkey = parsec_psa_public_key(NULL, NULL, &p256_attrs, p256_g, sizeof(p256_g));
    assert_non_null(pkey);
    assert_true(EVP_PKEY_is_a(pkey, "EC"));
    assert_int_equal(EVP_PKEY_get_bits(pkey), 256);
    assert_int_equal(EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                    sizeof(group), NULL),
                     1);
    assert_string_equal(group, "prime256v1");
    EVP_PKEY_free(pkey);

    /* Off the curve, compressed, wrong length, wrong curve size. */
    memcpy(bad, p256_g, sizeof(bad));
    bad[64] ^= 1;
    assert_null(parsec_psa_public_key(NULL, NULL, &p256_attrs, bad, sizeof(bad)));
    bad[64] ^= 1;
    bad[0] = 0x02;
    assert_null(parsec_psa_public_key(NULL, NULL, &p256_attrs, bad, 33));
    assert_null(parsec_psa_public_key(NULL, NULL, &p256_attrs, p256_g, sizeof(p256_g) - 1));
    {
        parsec_key_attributes p384 = p256_attrs;

        p384.bits = 384;
        assert_null(parsec_psa_public_key(NULL, NULL, &p384, p256_g, sizeof(p256_g)));
    }
}

static void test_public_key_rsa(void **unused)
{
    parsec_key_attributes a = {.type = PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, .bits = 2048};
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *pkey;
    unsigned char *der = NULL, *longer;
    int len;

    assert_non_null(rsa);
    len = i2d_PublicKey(rsa, &der); /* PKCS#1 RSAPublicKey */
    assert_true(len > 0);
    pkey = parsec_psa_public_key(NULL, NULL, &a, der, (size_t)len);
    assert_non_null(pkey);
    assert_int_equal(EVP_PKEY_eq(pkey, rsa), 1);
    EVP_PKEY_free(pkey);

    longer = OPENSSL_malloc((size_t)len + 1);
    assert_non_null(longer);
    memcpy(longer, der, (size_t)len);
    longer[len] = 0;
    assert_null(parsec_psa_public_key(NULL, NULL, &a, longer, (size_t)len + 1));
    assert_null(parsec_psa_public_key(NULL, NULL, &a, der, (size_t)len - 1));
    OPENSSL_free(longer);
    OPENSSL_free(der);
    EVP_PKEY_free(rsa);
}

/* A signature OpenSSL makes over a SHA-256 digest. */
static size_t openssl_sign(EVP_PKEY *key, int pad, const uint8_t *hash, uint8_t *sig, size_t cap)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    size_t len = cap;

    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
    assert_true(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0);
    if (pad != 0) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, pad) > 0);
        if (pad == RSA_PKCS1_PSS_PADDING)
            assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0);
    }
    assert_int_equal(EVP_PKEY_sign(ctx, sig, &len, hash, 32), 1);
    EVP_PKEY_CTX_free(ctx);
    return len;
}

static void test_verify_ecdsa(void **unused)
{
    parsec_alg ecdsa = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
    parsec_alg any = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA_ANY, 0};
    parsec_alg pss = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256};
    EVP_PKEY *key = EVP_EC_gen("P-256");
    uint8_t hash[32] = {1, 2, 3}, der[80], raw[64];
    size_t derlen;

    assert_non_null(key);
    derlen = openssl_sign(key, 0, hash, der, sizeof(der));
    assert_true(parsec_ecdsa_der_to_raw(der, derlen, 32, raw));
    assert_int_equal(parsec_psa_verify_hash(key, &ecdsa, hash, 32, raw, 64), PARSEC_SUCCESS);
    assert_int_equal(parsec_psa_verify_hash(key, &any, hash, 32, raw, 64), PARSEC_SUCCESS);
    /* DER instead of r||s, a short signature, another hash: all invalid. */
    assert_int_equal(parsec_psa_verify_hash(key, &ecdsa, hash, 32, der, derlen),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    assert_int_equal(parsec_psa_verify_hash(key, &ecdsa, hash, 32, raw, 63),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    hash[0] ^= 1;
    assert_int_equal(parsec_psa_verify_hash(key, &ecdsa, hash, 32, raw, 64),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    /* An RSA algorithm on an EC key is a wrong request, not a wrong signature. */
    assert_int_equal(parsec_psa_verify_hash(key, &pss, hash, 32, raw, 64),
                     PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    EVP_PKEY_free(key);
}

static void test_verify_rsa(void **unused)
{
    parsec_alg pss = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256};
    parsec_alg pkcs1 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15,
                        PARSEC_HASH_SHA_256};
    EVP_PKEY *key = EVP_RSA_gen(2048);
    uint8_t hash[32] = {9}, sig_pss[256], sig_pkcs1[256];
    size_t len_pss, len_pkcs1;

    assert_non_null(key);
    len_pss = openssl_sign(key, RSA_PKCS1_PSS_PADDING, hash, sig_pss, sizeof(sig_pss));
    len_pkcs1 = openssl_sign(key, RSA_PKCS1_PADDING, hash, sig_pkcs1, sizeof(sig_pkcs1));
    assert_int_equal(parsec_psa_verify_hash(key, &pss, hash, 32, sig_pss, len_pss), PARSEC_SUCCESS);
    assert_int_equal(parsec_psa_verify_hash(key, &pkcs1, hash, 32, sig_pkcs1, len_pkcs1),
                     PARSEC_SUCCESS);
    assert_int_equal(parsec_psa_verify_hash(key, &pss, hash, 32, sig_pkcs1, len_pkcs1),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    assert_int_equal(parsec_psa_verify_hash(key, &pkcs1, hash, 32, sig_pss, len_pss),
                     PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ec_groups),        cmocka_unit_test(test_ecdsa_raw_to_der),
        cmocka_unit_test(test_ecdsa_der_to_raw), cmocka_unit_test(test_public_key_ec),
        cmocka_unit_test(test_public_key_rsa),   cmocka_unit_test(test_verify_ecdsa),
        cmocka_unit_test(test_verify_rsa),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
