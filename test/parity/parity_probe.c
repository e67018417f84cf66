/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parity_probe: requests where parsecd must answer like the reference
 * Parsec service (1.1.0, Mbed Crypto provider), over $PARSEC_SERVICE_ENDPOINT.
 *
 *   parity_probe --list        names of the cases
 *   parity_probe CASE [STATUS] run one case; STATUS (a name such as
 *                              PsaErrorNotSupported, or Success) overrides
 *                              the reference's answer where a setting changes it
 *
 * Exit 0 when every answer matches; each mismatch is printed on stderr.
 * Where the expected answer comes from the reference's source, the case
 * names the upstream file.
 */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "list_keys.pb-c.h"
#include "parsec_client.h"
#include "parsec_client_internal.h"

static parsec_client *g_client;
static parsec_status g_override;
static int g_have_override;
static char g_prefix[64];

static int expect(const char *what, parsec_status got, parsec_status want)
{
    if (g_have_override)
        want = g_override;
    if (got == want)
        return 0;
    fprintf(stderr, "%s: got %s (%u), expected %s (%u)\n", what, parsec_status_name(got),
            (unsigned)got, parsec_status_name(want), (unsigned)want);
    return 1;
}

/* The answer itself, whatever the command line asks for (set-up steps). */
static int require(const char *what, parsec_status got, parsec_status want)
{
    if (got == want)
        return 0;
    fprintf(stderr, "%s: got %s (%u), expected %s (%u)\n", what, parsec_status_name(got),
            (unsigned)got, parsec_status_name(want), (unsigned)want);
    return 1;
}

static const char *key_name(const char *suffix)
{
    static char name[128];

    snprintf(name, sizeof(name), "%s-%s", g_prefix, suffix);
    return name;
}

static parsec_key_attributes attrs_of(uint8_t type, uint32_t bits, uint32_t usage, parsec_alg alg)
{
    parsec_key_attributes a = {.type = type, .bits = bits, .usage = usage, .alg = alg};

    if (type == PARSEC_KEY_TYPE_ECC_KEY_PAIR || type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY)
        a.ecc_family = PARSEC_ECC_FAMILY_SECP_R1;
    return a;
}

static const parsec_alg alg_none = {PARSEC_ALG_NONE, 0, 0};
static const parsec_alg alg_ecdsa = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA,
                                     PARSEC_HASH_SHA_256};
static const parsec_alg alg_pss = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS,
                                   PARSEC_HASH_SHA_256};
static const parsec_alg alg_pkcs1 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15,
                                     PARSEC_HASH_SHA_256};
static const parsec_alg alg_oaep_sha1 = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP,
                                         PARSEC_HASH_SHA_1};

/* RSAPublicKey DER of a fresh key of `bits` (OpenSSL generates it locally). */
static int rsa_public_der(unsigned bits, uint8_t **der, size_t *len)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    unsigned char *p = NULL;
    int n;

    if (pkey == NULL)
        return -1;
    n = i2d_PublicKey(pkey, &p);
    EVP_PKEY_free(pkey);
    if (n <= 0)
        return -1;
    *der = p;
    *len = (size_t)n;
    return 0;
}

/* ---- 2: CanDoCrypto follows the check type (crypto_capability.rs) ---- */

static int cando(const char *what, int check, parsec_key_attributes a, parsec_status want)
{
    return expect(what, parsec_can_do_crypto(g_client, 0, check, &a), want);
}

static int c_cando_use_no_flags(void)
{
    return cando("Use, ECDSA key without usage flags", 1,
                 attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, 0, alg_ecdsa),
                 PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

static int c_cando_use_alg_none(void)
{
    return cando("Use, algorithm None", 1,
                 attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH, alg_none),
                 PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

static int c_cando_use_derive_only(void)
{
    /* derive is not among the flags use_check accepts */
    return cando("Use, ECDSA key with only the derive flag", 1,
                 attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_DERIVE, alg_ecdsa),
                 PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

static int c_cando_use_ok(void)
{
    return cando("Use, ECDSA P-256 key with sign-hash", 1,
                 attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_SIGN_HASH, alg_ecdsa),
                 PARSEC_SUCCESS);
}

static int c_cando_use_incompatible(void)
{
    return cando("Use, RSA key with an ECDSA algorithm", 1,
                 attrs_of(PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048, PARSEC_USAGE_SIGN_HASH, alg_ecdsa),
                 PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

static int c_cando_generate_public(void)
{
    /* mbed_crypto/capability_discovery.rs: generate_check_internal lists key pairs only */
    return cando(
               "Generate, RSA public key", 2,
               attrs_of(PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 2048, PARSEC_USAGE_VERIFY_HASH, alg_pkcs1),
               PARSEC_PSA_ERROR_NOT_SUPPORTED) |
           cando("Generate, ECC public key", 2,
                 attrs_of(PARSEC_KEY_TYPE_ECC_PUBLIC_KEY, 256, PARSEC_USAGE_VERIFY_HASH, alg_ecdsa),
                 PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

static int c_cando_generate_no_flags(void)
{
    return cando("Generate with an algorithm and no usage flags", 2,
                 attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, 0, alg_ecdsa),
                 PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

static int c_cando_generate_alg_none(void)
{
    /* generate_check: no algorithm, no Use check */
    return cando("Generate, algorithm None, no usage flags", 2,
                 attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, 0, alg_none), PARSEC_SUCCESS);
}

static int c_cando_generate_ok(void)
{
    return cando("Generate, RSA-2048 PSS signing key", 2,
                 attrs_of(PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048, PARSEC_USAGE_SIGN_HASH, alg_pss),
                 PARSEC_SUCCESS);
}

static int c_cando_import_no_flags(void)
{
    return cando("Import with an algorithm and no usage flags", 3,
                 attrs_of(PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 2048, 0, alg_pkcs1),
                 PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

static int c_cando_import_public_ok(void)
{
    return cando(
        "Import, RSA public key for verification", 3,
        attrs_of(PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 2048, PARSEC_USAGE_VERIFY_HASH, alg_pkcs1),
        PARSEC_SUCCESS);
}

static int c_cando_derive(void)
{
    return cando("Derive", 4,
                 attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 256, PARSEC_USAGE_DERIVE, alg_none),
                 PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

/* CanDoCrypto(Generate) and GenerateKey agree. */
static int c_cando_agrees_with_generate(void)
{
    parsec_key_attributes a =
        attrs_of(PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 2048, PARSEC_USAGE_VERIFY_HASH, alg_pkcs1);
    parsec_status can = parsec_can_do_crypto(g_client, 0, 2, &a);
    parsec_status gen = parsec_generate_key(g_client, 0, key_name("agree"), &a);

    if ((can == PARSEC_SUCCESS) != (gen == PARSEC_SUCCESS)) {
        fprintf(stderr, "CanDoCrypto(Generate) says %s, GenerateKey says %s\n",
                parsec_status_name(can), parsec_status_name(gen));
        return 1;
    }
    return 0;
}

/* ---- 3: GenerateKey of a public-key type (psa_generate_key: InvalidArgument) ---- */

static int c_generate_public(void)
{
    parsec_key_attributes rsa =
        attrs_of(PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 2048, PARSEC_USAGE_VERIFY_HASH, alg_pkcs1);
    parsec_key_attributes ecc =
        attrs_of(PARSEC_KEY_TYPE_ECC_PUBLIC_KEY, 256, PARSEC_USAGE_VERIFY_HASH, alg_ecdsa);

    return expect("GenerateKey RSA public key",
                  parsec_generate_key(g_client, 0, key_name("gen-rsa-pub"), &rsa),
                  PARSEC_PSA_ERROR_INVALID_ARGUMENT) |
           expect("GenerateKey ECC public key",
                  parsec_generate_key(g_client, 0, key_name("gen-ecc-pub"), &ecc),
                  PARSEC_PSA_ERROR_INVALID_ARGUMENT);
}

/* ---- 7: implied usage flags in ListKeys ---- */

static int c_implied_flags(void)
{
    static const uint8_t want[] = {0x30, 0x01, 0x38, 0x01, 0x40, 0x01, 0x48, 0x01};
    ListKeys__Operation op = LIST_KEYS__OPERATION__INIT;
    parsec_key_attributes a = attrs_of(PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048,
                                       PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH, alg_pss);
    const char *name = key_name("implied");
    const ListKeys__Result *r;
    parsec_resp resp;
    uint8_t got[64];
    size_t len = 0;
    int fail = 1, found = 0;

    if (require("GenerateKey PSS sign-hash/verify-hash", parsec_generate_key(g_client, 0, name, &a),
                PARSEC_SUCCESS) != 0)
        return 1;
    if (require("ListKeys",
                parsec_call(g_client, PARSEC_PROVIDER_CORE, PARSEC_OP_LIST_KEYS, &op.base, 0,
                            &list_keys__result__descriptor, &resp),
                PARSEC_SUCCESS) != 0)
        goto done;
    r = (const ListKeys__Result *)resp.msg;
    for (size_t i = 0; i < r->n_keys; i++) {
        const PsaKeyAttributes__KeyAttributes *ka = r->keys[i]->attributes;

        if (strcmp(r->keys[i]->name, name) != 0 || ka == NULL || ka->key_policy == NULL ||
            ka->key_policy->key_usage_flags == NULL)
            continue;
        found = 1;
        len = protobuf_c_message_get_packed_size(&ka->key_policy->key_usage_flags->base);
        if (len <= sizeof(got))
            protobuf_c_message_pack(&ka->key_policy->key_usage_flags->base, got);
    }
    parsec_resp_release(&resp);
    if (!found) {
        fprintf(stderr, "ListKeys does not list %s\n", name);
    } else if (len != sizeof(want) || memcmp(got, want, len) != 0) {
        fprintf(stderr, "usage flags on the wire:");
        for (size_t i = 0; i < len && i < sizeof(got); i++)
            fprintf(stderr, " %02x", got[i]);
        fprintf(stderr, ", expected 30 01 38 01 40 01 48 01\n");
    } else {
        fail = 0;
    }
done:
    parsec_destroy_key(g_client, 0, name);
    return fail;
}

/* ---- 4: RSA-1024 ([core] min_rsa_bits) ---- */

static int c_rsa1024_generate(void)
{
    parsec_key_attributes a =
        attrs_of(PARSEC_KEY_TYPE_RSA_KEY_PAIR, 1024, PARSEC_USAGE_SIGN_HASH, alg_pkcs1);
    const char *name = key_name("rsa1024");
    parsec_status st = parsec_generate_key(g_client, 0, name, &a);
    int fail = expect("GenerateKey RSA-1024", st, PARSEC_PSA_ERROR_NOT_SUPPORTED);

    if (st == PARSEC_SUCCESS) {
        static const uint8_t hash[32] = {1, 2, 3};
        uint8_t *sig = NULL;
        size_t siglen = 0;

        fail |= require(
            "SignHash with the RSA-1024 key",
            parsec_sign_hash(g_client, 0, name, &alg_pkcs1, hash, sizeof(hash), &sig, &siglen),
            PARSEC_SUCCESS);
        if (sig != NULL && siglen != 128) {
            fprintf(stderr, "RSA-1024 signature is %zu bytes, expected 128\n", siglen);
            fail = 1;
        }
        parsec_free(sig);
        parsec_destroy_key(g_client, 0, name);
    }
    return fail;
}

static int c_rsa1024_cando(void)
{
    return cando("CanDoCrypto Generate RSA-1024", 2,
                 attrs_of(PARSEC_KEY_TYPE_RSA_KEY_PAIR, 1024, PARSEC_USAGE_SIGN_HASH, alg_pkcs1),
                 PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

static int import_public(unsigned bits, parsec_status want)
{
    parsec_key_attributes a =
        attrs_of(PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 0, PARSEC_USAGE_VERIFY_HASH, alg_pkcs1);
    const char *name = key_name("rsa-pub-import");
    uint8_t *der = NULL;
    size_t len = 0;
    char what[64];
    parsec_status st;

    if (rsa_public_der(bits, &der, &len) != 0) {
        fprintf(stderr, "OpenSSL could not make an RSA-%u key\n", bits);
        return 1;
    }
    snprintf(what, sizeof(what), "ImportKey RSA-%u public key", bits);
    st = parsec_import_key(g_client, 0, name, &a, der, len);
    OPENSSL_free(der);
    if (st == PARSEC_SUCCESS)
        parsec_destroy_key(g_client, 0, name);
    return require(what, st, want);
}

/* Public keys for verification are taken from 1024 bits whatever min_rsa_bits says. */
static int c_rsa1024_public_import(void)
{
    return import_public(1024, PARSEC_SUCCESS) | import_public(512, PARSEC_PSA_ERROR_NOT_SUPPORTED);
}

/* ---- 5: allow_deprecated ---- */

static int c_deprecated_oaep_sha1(void)
{
    parsec_key_attributes a = attrs_of(PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048,
                                       PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, alg_oaep_sha1);
    static const uint8_t msg[] = "deprecated but allowed";
    const char *name = key_name("oaep-sha1");
    parsec_status st = parsec_generate_key(g_client, 0, name, &a);
    int fail = expect("GenerateKey RSA-OAEP-SHA1", st, PARSEC_DEPRECATED_PRIMITIVE);

    if (st == PARSEC_SUCCESS) {
        uint8_t *ct = NULL, *pt = NULL;
        size_t ctlen = 0, ptlen = 0;

        fail |= require("AsymmetricEncrypt OAEP-SHA1",
                        parsec_asymmetric_encrypt(g_client, 0, name, &alg_oaep_sha1, msg,
                                                  sizeof(msg), NULL, 0, &ct, &ctlen),
                        PARSEC_SUCCESS);
        fail |= require("AsymmetricDecrypt OAEP-SHA1",
                        parsec_asymmetric_decrypt(g_client, 0, name, &alg_oaep_sha1, ct, ctlen,
                                                  NULL, 0, &pt, &ptlen),
                        PARSEC_SUCCESS);
        if (pt == NULL || ptlen != sizeof(msg) || memcmp(pt, msg, ptlen) != 0) {
            fprintf(stderr, "OAEP-SHA1 round trip lost the message\n");
            fail = 1;
        }
        parsec_free(ct);
        parsec_clear_free(pt, ptlen);
        parsec_destroy_key(g_client, 0, name);
    }
    return fail;
}

/* ---- 1: SignMessage/VerifyMessage (the service hashes) ---- */

static int c_sign_message(void)
{
    /* only sign-hash/verify-hash: the message flags are implied */
    parsec_key_attributes a =
        attrs_of(PARSEC_KEY_TYPE_RSA_KEY_PAIR, 2048,
                 PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH, alg_pkcs1);
    static const uint8_t msg[] = "a message the service hashes with SHA-256";
    const char *name = key_name("sign-message");
    uint8_t *sig = NULL, *pub = NULL;
    size_t siglen = 0, publen = 0;
    const unsigned char *p;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = NULL;
    int fail = 1;

    if (require("GenerateKey", parsec_generate_key(g_client, 0, name, &a), PARSEC_SUCCESS) != 0)
        return 1;
    if (require("SignMessage",
                parsec_sign_message(g_client, 0, name, &alg_pkcs1, msg, sizeof(msg), &sig, &siglen),
                PARSEC_SUCCESS) != 0 ||
        require("ExportPublicKey", parsec_export_public_key(g_client, 0, name, &pub, &publen),
                PARSEC_SUCCESS) != 0)
        goto done;
    p = pub;
    pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)publen);
    md = EVP_MD_CTX_new();
    if (pkey == NULL || md == NULL ||
        EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1 ||
        EVP_DigestVerify(md, sig, siglen, msg, sizeof(msg)) != 1) {
        fprintf(stderr, "OpenSSL does not verify parsecd's message signature\n");
        goto done;
    }
    if (require("VerifyMessage",
                parsec_verify_message(g_client, 0, name, &alg_pkcs1, msg, sizeof(msg), sig, siglen),
                PARSEC_SUCCESS) != 0 ||
        require(
            "VerifyMessage of another message",
            parsec_verify_message(g_client, 0, name, &alg_pkcs1, msg, sizeof(msg) - 2, sig, siglen),
            PARSEC_PSA_ERROR_INVALID_SIGNATURE) != 0)
        goto done;
    fail = 0;
done:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    parsec_free(sig);
    parsec_free(pub);
    parsec_destroy_key(g_client, 0, name);
    return fail;
}

/* ---- 1: AEAD and symmetric keys ---- */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;

    for (; hex[0] != '\0' && hex[1] != '\0' && n < cap; hex += 2) {
        unsigned v;

        if (sscanf(hex, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

typedef struct aead_vector {
    const char *what;
    uint8_t type;
    parsec_alg alg;
    const char *key, *nonce, *ad, *pt, *ct_tag;
} aead_vector;

static const aead_vector vectors[] = {
    /* The Galois/Counter Mode of Operation (McGrew, Viega), test case 4 (NIST GCM validation) */
    {"AES-128-GCM (GCM spec test case 4)",
     PARSEC_KEY_TYPE_AES,
     {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0},
     "feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b"
     "525b16aedf5aa0de657ba637b39",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84a"
     "a051ba30b396a0aac973d58e091"
     "5bc94fbc3221a5db94fae95ae7121a47"},
    /* RFC 3610 packet vector #1 (AES-128-CCM, 8-byte tag) */
    {"AES-128-CCM, 8-byte tag (RFC 3610 packet vector 1)",
     PARSEC_KEY_TYPE_AES,
     {PARSEC_ALG_AEAD, PARSEC_AEAD_CCM, 8},
     "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
     "00000003020100a0a1a2a3a4a5",
     "0001020304050607",
     "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
     "588c979a61c663d2f066d0c2c0f989806d5f6b61dac384"
     "17e8d12cfdf926e0"},
    /* RFC 8439 §2.8.2 */
    {"ChaCha20-Poly1305 (RFC 8439 2.8.2)",
     PARSEC_KEY_TYPE_CHACHA20,
     {PARSEC_ALG_AEAD, PARSEC_AEAD_CHACHA20_POLY1305, 0},
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
     "070000004041424344454647",
     "50515253c0c1c2c3c4c5c6c7",
     "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66202739393a20496620492"
     "0636f756c64206f6666657220796f75206f6e6c79206f6e652074697020666f7220746865206675747572652c2073"
     "756e73637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da927"
     "28b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b48"
     "31d7bc3ff4def08e4b7a9de576d26586cec64b6116"
     "1ae10b594f09e26a7e902ecbd0600691"},
};

static int same(const char *what, const uint8_t *got, size_t gotlen, const uint8_t *want,
                size_t wantlen)
{
    if (got != NULL && gotlen == wantlen && memcmp(got, want, wantlen) == 0)
        return 0;
    fprintf(stderr, "%s: %zu bytes differ from the expected %zu\n", what, gotlen, wantlen);
    return 1;
}

/* Import a published vector's key, then decrypt its ciphertext and encrypt its plaintext. */
static int aead_vector_check(const aead_vector *v)
{
    int fail = 0;

    {
        uint8_t key[32], nonce[16], ad[64], pt[256], ct[256];
        size_t keylen = unhex(v->key, key, sizeof(key)), noncelen = unhex(v->nonce, nonce, 16);
        size_t adlen = unhex(v->ad, ad, sizeof(ad)), ptlen = unhex(v->pt, pt, sizeof(pt));
        size_t ctlen = unhex(v->ct_tag, ct, sizeof(ct)), outlen = 0;
        parsec_key_attributes a =
            attrs_of(v->type, 0, PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, v->alg);
        const char *name = key_name("vector");
        uint8_t *out = NULL;
        char what[160];

        snprintf(what, sizeof(what), "%s: ImportKey", v->what);
        if (require(what, parsec_import_key(g_client, 0, name, &a, key, keylen), PARSEC_SUCCESS) !=
            0)
            return 1;
        snprintf(what, sizeof(what), "%s: AeadDecrypt", v->what);
        if (require(what,
                    parsec_aead_decrypt(g_client, 0, name, &v->alg, nonce, noncelen, ad, adlen, ct,
                                        ctlen, &out, &outlen),
                    PARSEC_SUCCESS) == 0)
            fail |= same(what, out, outlen, pt, ptlen);
        else
            fail = 1;
        parsec_clear_free(out, outlen);
        out = NULL;
        snprintf(what, sizeof(what), "%s: AeadEncrypt", v->what);
        if (require(what,
                    parsec_aead_encrypt(g_client, 0, name, &v->alg, nonce, noncelen, ad, adlen, pt,
                                        ptlen, &out, &outlen),
                    PARSEC_SUCCESS) == 0)
            fail |= same(what, out, outlen, ct, ctlen);
        else
            fail = 1;
        parsec_free(out);
        /* A flipped tag bit is refused and no plaintext comes back. */
        ct[ctlen - 1] ^= 1;
        out = NULL;
        snprintf(what, sizeof(what), "%s: AeadDecrypt with a modified tag", v->what);
        fail |= require(what,
                        parsec_aead_decrypt(g_client, 0, name, &v->alg, nonce, noncelen, ad, adlen,
                                            ct, ctlen, &out, &outlen),
                        PARSEC_PSA_ERROR_INVALID_SIGNATURE);
        if (out != NULL) {
            fprintf(stderr, "%s returned data\n", what);
            fail = 1;
        }
        parsec_destroy_key(g_client, 0, name);
    }
    return fail;
}

static int c_aead_vector_gcm(void)
{
    return aead_vector_check(&vectors[0]);
}
static int c_aead_vector_ccm(void)
{
    return aead_vector_check(&vectors[1]);
}
static int c_aead_vector_chacha20(void)
{
    return aead_vector_check(&vectors[2]);
}

/* OpenSSL's EVP AEAD on the other side: the exported key decrypts what parsecd encrypted. */
static int evp_aead(int enc, const parsec_alg *alg, const uint8_t *key, size_t keylen,
                    const uint8_t *nonce, size_t noncelen, const uint8_t *in, size_t inlen,
                    uint8_t *out)
{
    const size_t taglen = parsec_aead_tag_length(alg);
    const char *name = alg->scheme == PARSEC_AEAD_CHACHA20_POLY1305 ? "ChaCha20-Poly1305"
                       : alg->scheme == PARSEC_AEAD_CCM
                           ? (keylen == 16 ? "AES-128-CCM" : "AES-256-CCM")
                           : (keylen == 16 ? "AES-128-GCM" : "AES-256-GCM");
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    size_t datalen = enc ? inlen : inlen - taglen;
    int ok = 0, n = 0, fin = 0;
    int ccm = alg->scheme == PARSEC_AEAD_CCM;

    if (cipher == NULL || ctx == NULL || (!enc && inlen < taglen))
        goto done;
    if (EVP_CipherInit_ex2(ctx, cipher, NULL, NULL, enc, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)noncelen, NULL) != 1)
        goto done;
    if ((ccm || !enc) && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, (int)taglen,
                                             enc ? NULL : (void *)(in + datalen)) != 1)
        goto done;
    if (EVP_CipherInit_ex2(ctx, NULL, key, nonce, enc, NULL) != 1)
        goto done;
    if (ccm && EVP_CipherUpdate(ctx, NULL, &n, NULL, (int)datalen) != 1)
        goto done;
    if (EVP_CipherUpdate(ctx, out, &n, in, (int)datalen) != 1)
        goto done;
    if (!ccm && EVP_CipherFinal_ex(ctx, out + n, &fin) != 1)
        goto done;
    if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, (int)taglen, out + datalen) != 1)
        goto done;
    ok = 1;
done:
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return ok;
}

/*
 * generated: GenerateKey, then ExportKey gives OpenSSL the key; otherwise
 * the key is drawn locally and imported (for backends that never export).
 */
static int aead_roundtrip(uint8_t type, uint32_t bits, parsec_alg alg, size_t noncelen,
                          int generated)
{
    parsec_key_attributes a = attrs_of(
        type, bits,
        PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT | (generated ? PARSEC_USAGE_EXPORT : 0), alg);
    static const uint8_t msg[] = "round trip through parsecd and OpenSSL's EVP AEAD";
    uint8_t nonce[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    uint8_t local[sizeof(msg) + 16], back[sizeof(msg) + 16];
    const char *name = key_name("aead-rt");
    uint8_t *ct = NULL, *pt = NULL, *key = NULL;
    size_t ctlen = 0, ptlen = 0, keylen = 0, taglen = parsec_aead_tag_length(&alg);
    int fail = 1;

    if (generated) {
        if (require("GenerateKey", parsec_generate_key(g_client, 0, name, &a), PARSEC_SUCCESS))
            return 1;
        if (require("ExportKey", parsec_export_key(g_client, 0, name, &key, &keylen),
                    PARSEC_SUCCESS) != 0 ||
            keylen * 8 != bits)
            goto done;
    } else {
        keylen = bits / 8;
        key = OPENSSL_malloc(keylen);
        if (key == NULL || RAND_bytes(key, (int)keylen) != 1 ||
            require("ImportKey", parsec_import_key(g_client, 0, name, &a, key, keylen),
                    PARSEC_SUCCESS) != 0) {
            OPENSSL_clear_free(key, keylen);
            return 1;
        }
    }
    if (require("AeadEncrypt",
                parsec_aead_encrypt(g_client, 0, name, &alg, nonce, noncelen, NULL, 0, msg,
                                    sizeof(msg), &ct, &ctlen),
                PARSEC_SUCCESS) != 0 ||
        ctlen != sizeof(msg) + taglen)
        goto done;
    if (!evp_aead(0, &alg, key, keylen, nonce, noncelen, ct, ctlen, back) ||
        memcmp(back, msg, sizeof(msg)) != 0) {
        fprintf(stderr, "OpenSSL could not decrypt parsecd's ciphertext\n");
        goto done;
    }
    if (!evp_aead(1, &alg, key, keylen, nonce, noncelen, msg, sizeof(msg), local)) {
        fprintf(stderr, "OpenSSL could not encrypt\n");
        goto done;
    }
    if (require("AeadDecrypt of OpenSSL's ciphertext",
                parsec_aead_decrypt(g_client, 0, name, &alg, nonce, noncelen, NULL, 0, local,
                                    sizeof(msg) + taglen, &pt, &ptlen),
                PARSEC_SUCCESS) != 0)
        goto done;
    fail = same("AeadDecrypt of OpenSSL's ciphertext", pt, ptlen, msg, sizeof(msg));
done:
    parsec_free(ct);
    parsec_clear_free(pt, ptlen);
    if (generated)
        parsec_clear_free(key, keylen);
    else
        OPENSSL_clear_free(key, keylen);
    parsec_destroy_key(g_client, 0, name);
    return fail;
}

static int c_aead_roundtrip(void)
{
    const parsec_alg gcm = {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0};
    const parsec_alg gcm12 = {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 12};
    const parsec_alg ccm = {PARSEC_ALG_AEAD, PARSEC_AEAD_CCM, 0};
    const parsec_alg chacha = {PARSEC_ALG_AEAD, PARSEC_AEAD_CHACHA20_POLY1305, 0};

    return aead_roundtrip(PARSEC_KEY_TYPE_AES, 256, gcm, 12, 1) |
           aead_roundtrip(PARSEC_KEY_TYPE_AES, 128, gcm12, 12, 1) |
           aead_roundtrip(PARSEC_KEY_TYPE_AES, 256, ccm, 13, 1) |
           aead_roundtrip(PARSEC_KEY_TYPE_CHACHA20, 256, chacha, 12, 1);
}

static int c_aead_roundtrip_imported_gcm(void)
{
    const parsec_alg gcm = {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0};
    const parsec_alg gcm12 = {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 12};

    return aead_roundtrip(PARSEC_KEY_TYPE_AES, 256, gcm, 12, 0) |
           aead_roundtrip(PARSEC_KEY_TYPE_AES, 128, gcm12, 16, 0);
}

/* The provider in use lists the operation in ListOpcodes. */
static int provider_offers(uint32_t opcode)
{
    uint32_t *ops = NULL;
    size_t n = 0;
    int found = 0;

    if (parsec_list_opcodes(g_client, parsec_client_get_provider(g_client), &ops, &n) !=
        PARSEC_SUCCESS)
        return 0;
    for (size_t i = 0; i < n; i++)
        found |= ops[i] == opcode;
    parsec_free(ops);
    return found;
}

/* The reference's statuses around AES-GCM (psa_aead_*.rs validate). */
static int c_aead_errors_gcm(void)
{
    const parsec_alg gcm = {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0};
    const parsec_alg ccm = {PARSEC_ALG_AEAD, PARSEC_AEAD_CCM, 0};
    parsec_key_attributes a = attrs_of(PARSEC_KEY_TYPE_AES, 256, PARSEC_USAGE_ENCRYPT, gcm);
    parsec_key_attributes d = attrs_of(PARSEC_KEY_TYPE_AES, 256, PARSEC_USAGE_DECRYPT, gcm);
    static const uint8_t nonce[16] = {1}, msg[32] = {2};
    uint8_t *out = NULL, *pub = NULL;
    size_t outlen = 0, publen = 0;
    char aes[128], dec[128];
    int fail = 0;

    snprintf(aes, sizeof(aes), "%s", key_name("gcm-enc-only"));
    snprintf(dec, sizeof(dec), "%s", key_name("gcm-dec-only"));
    if (require("GenerateKey AES-256-GCM", parsec_generate_key(g_client, 0, aes, &a),
                PARSEC_SUCCESS) |
        require("GenerateKey AES-256-GCM", parsec_generate_key(g_client, 0, dec, &d),
                PARSEC_SUCCESS))
        fail = 1;
    fail |= expect(
        "AeadEncrypt with an empty plaintext",
        parsec_aead_encrypt(g_client, 0, aes, &gcm, nonce, 12, NULL, 0, NULL, 0, &out, &outlen),
        PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    fail |= expect("AeadEncrypt with an empty nonce",
                   parsec_aead_encrypt(g_client, 0, aes, &gcm, NULL, 0, NULL, 0, msg, sizeof(msg),
                                       &out, &outlen),
                   PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    fail |= expect("AeadDecrypt with a key lacking the decrypt flag",
                   parsec_aead_decrypt(g_client, 0, aes, &gcm, nonce, 12, NULL, 0, msg, sizeof(msg),
                                       &out, &outlen),
                   PARSEC_PSA_ERROR_NOT_PERMITTED);
    fail |= expect("AeadEncrypt CCM with a GCM key",
                   parsec_aead_encrypt(g_client, 0, aes, &ccm, nonce, 13, NULL, 0, msg, sizeof(msg),
                                       &out, &outlen),
                   PARSEC_PSA_ERROR_NOT_PERMITTED);
    fail |= expect(
        "AeadDecrypt shorter than the tag",
        parsec_aead_decrypt(g_client, 0, dec, &gcm, nonce, 12, NULL, 0, msg, 8, &out, &outlen),
        PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    fail |= expect("AeadDecrypt of data no key encrypted",
                   parsec_aead_decrypt(g_client, 0, dec, &gcm, nonce, 12, NULL, 0, msg, sizeof(msg),
                                       &out, &outlen),
                   PARSEC_PSA_ERROR_INVALID_SIGNATURE);
    fail |= expect("ExportPublicKey of an AES key",
                   parsec_export_public_key(g_client, 0, aes, &pub, &publen),
                   PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    /* A backend without ExportKey (PKCS#11: keys never leave the token) says NotSupported. */
    fail |= expect("ExportKey of an AES key without the export flag",
                   parsec_export_key(g_client, 0, aes, &pub, &publen),
                   provider_offers(PARSEC_OP_PSA_EXPORT_KEY) ? PARSEC_PSA_ERROR_NOT_PERMITTED
                                                             : PARSEC_PSA_ERROR_NOT_SUPPORTED);
    parsec_free(out);
    parsec_free(pub);
    parsec_destroy_key(g_client, 0, aes);
    parsec_destroy_key(g_client, 0, dec);
    return fail;
}

/* Nonce rules of CCM (7..13 bytes) and ChaCha20-Poly1305 (12 bytes). */
static int c_aead_errors_nonce(void)
{
    const parsec_alg ccm = {PARSEC_ALG_AEAD, PARSEC_AEAD_CCM, 0};
    const parsec_alg chacha = {PARSEC_ALG_AEAD, PARSEC_AEAD_CHACHA20_POLY1305, 0};
    parsec_key_attributes c = attrs_of(PARSEC_KEY_TYPE_CHACHA20, 256,
                                       PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, chacha);
    parsec_key_attributes m =
        attrs_of(PARSEC_KEY_TYPE_AES, 128, PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, ccm);
    static const uint8_t nonce[16] = {1}, msg[32] = {2};
    uint8_t *out = NULL;
    size_t outlen = 0;
    char cc[128], cm[128];
    int fail = 0;

    snprintf(cc, sizeof(cc), "%s", key_name("chacha"));
    snprintf(cm, sizeof(cm), "%s", key_name("ccm"));
    if (require("GenerateKey ChaCha20", parsec_generate_key(g_client, 0, cc, &c), PARSEC_SUCCESS) |
        require("GenerateKey AES-128-CCM", parsec_generate_key(g_client, 0, cm, &m),
                PARSEC_SUCCESS))
        fail = 1;
    fail |= expect("AeadEncrypt ChaCha20-Poly1305 with an 8-byte nonce",
                   parsec_aead_encrypt(g_client, 0, cc, &chacha, nonce, 8, NULL, 0, msg,
                                       sizeof(msg), &out, &outlen),
                   PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    fail |= expect("AeadEncrypt CCM with a 6-byte nonce",
                   parsec_aead_encrypt(g_client, 0, cm, &ccm, nonce, 6, NULL, 0, msg, sizeof(msg),
                                       &out, &outlen),
                   PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    fail |= expect("AeadEncrypt CCM with a 14-byte nonce",
                   parsec_aead_encrypt(g_client, 0, cm, &ccm, nonce, 14, NULL, 0, msg, sizeof(msg),
                                       &out, &outlen),
                   PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    parsec_free(out);
    parsec_destroy_key(g_client, 0, cc);
    parsec_destroy_key(g_client, 0, cm);
    return fail;
}

/* The Go client's test: an AES-256-GCM key, then ListOpcodes shows the AEAD operations. */
static int c_aead_key_and_opcodes(void)
{
    const parsec_alg gcm = {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0};
    parsec_key_attributes a =
        attrs_of(PARSEC_KEY_TYPE_AES, 256, PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, gcm);
    parsec_key_attributes bad =
        attrs_of(PARSEC_KEY_TYPE_AES, 100, PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, gcm);
    const char *name = key_name("aes256gcm");
    int fail;

    fail = expect("GenerateKey AES-256-GCM", parsec_generate_key(g_client, 0, name, &a),
                  PARSEC_SUCCESS);
    fail |= require("GenerateKey AES-100", parsec_generate_key(g_client, 0, name, &bad),
                    PARSEC_PSA_ERROR_ALREADY_EXISTS);
    fail |= require("GenerateKey AES-100", parsec_generate_key(g_client, 0, key_name("bad"), &bad),
                    PARSEC_PSA_ERROR_NOT_SUPPORTED);
    fail |= require("CanDoCrypto Generate AES-256-GCM", parsec_can_do_crypto(g_client, 0, 2, &a),
                    PARSEC_SUCCESS);
    parsec_destroy_key(g_client, 0, name);
    if (!provider_offers(PARSEC_OP_PSA_AEAD_ENCRYPT) ||
        !provider_offers(PARSEC_OP_PSA_AEAD_DECRYPT)) {
        fprintf(stderr, "ListOpcodes lacks PsaAeadEncrypt/PsaAeadDecrypt\n");
        fail = 1;
    }
    return fail;
}

/* ---- 1: PsaCipherEncrypt/PsaCipherDecrypt (IV || ciphertext) ---- */

typedef struct cipher_vector {
    const char *what;
    uint8_t mode;
    const char *iv, *pt, *ct;
} cipher_vector;

/* NIST SP 800-38A, appendix F, AES-128 (key 2b7e1516...), first block of each mode. */
static const cipher_vector cipher_vectors[] = {
    {"ECB (SP 800-38A F.1.1)", PARSEC_CIPHER_ECB_NO_PADDING, "", "6bc1bee22e409f96e93d7e117393172a",
     "3ad77bb40d7a3660a89ecaf32466ef97"},
    {"CBC (SP 800-38A F.2.1)", PARSEC_CIPHER_CBC_NO_PADDING, "000102030405060708090a0b0c0d0e0f",
     "6bc1bee22e409f96e93d7e117393172a", "7649abac8119b246cee98e9b12e9197d"},
    {"CTR (SP 800-38A F.5.1)", PARSEC_CIPHER_CTR, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
     "6bc1bee22e409f96e93d7e117393172a", "874d6191b620e3261bef6864990db6ce"},
};

static int c_cipher_vectors(void)
{
    int fail = 0;

    for (size_t i = 0; i < sizeof(cipher_vectors) / sizeof(cipher_vectors[0]); i++) {
        const cipher_vector *v = &cipher_vectors[i];
        const parsec_alg alg = {PARSEC_ALG_CIPHER, v->mode, 0};
        parsec_key_attributes a =
            attrs_of(PARSEC_KEY_TYPE_AES, 128, PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, alg);
        uint8_t key[16], in[64], pt[16], *out = NULL, *back = NULL;
        size_t ivlen = unhex(v->iv, in, 16), outlen = 0, backlen = 0;
        char what[96];

        unhex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
        unhex(v->pt, pt, 16);
        unhex(v->ct, in + ivlen, 16);
        snprintf(what, sizeof(what), "%s: ImportKey", v->what);
        if (require(what, parsec_import_key(g_client, 0, key_name("cipher"), &a, key, 16),
                    PARSEC_SUCCESS)) {
            fail = 1;
            continue;
        }
        snprintf(what, sizeof(what), "%s: CipherDecrypt of IV || ciphertext", v->what);
        if (require(what,
                    parsec_cipher_decrypt(g_client, 0, key_name("cipher"), &alg, in, ivlen + 16,
                                          &out, &outlen),
                    PARSEC_SUCCESS) == 0)
            fail |= same(what, out, outlen, pt, 16);
        else
            fail = 1;
        parsec_clear_free(out, outlen);
        snprintf(what, sizeof(what), "%s: CipherEncrypt, then CipherDecrypt", v->what);
        if (require(
                what,
                parsec_cipher_encrypt(g_client, 0, key_name("cipher"), &alg, pt, 16, &out, &outlen),
                PARSEC_SUCCESS) == 0 &&
            outlen == ivlen + 16 &&
            require(what,
                    parsec_cipher_decrypt(g_client, 0, key_name("cipher"), &alg, out, outlen, &back,
                                          &backlen),
                    PARSEC_SUCCESS) == 0)
            fail |= same(what, back, backlen, pt, 16);
        else
            fail = 1;
        /* ECB has no IV: the same block always encrypts to the vector's */
        if (v->mode == PARSEC_CIPHER_ECB_NO_PADDING && out != NULL)
            fail |= same("ECB: CipherEncrypt gives the vector", out, outlen, in, 16);
        parsec_free(out);
        parsec_clear_free(back, backlen);
        parsec_destroy_key(g_client, 0, key_name("cipher"));
    }
    return fail;
}

/* The IV is drawn by the service; OpenSSL decrypts the result with the exported key. */
static int c_cipher_modes(void)
{
    static const uint8_t msg[] = "thirty-three bytes of plain text";
    static const uint8_t modes[] = {PARSEC_CIPHER_CTR, PARSEC_CIPHER_CFB, PARSEC_CIPHER_OFB,
                                    PARSEC_CIPHER_CBC_PKCS7, PARSEC_CIPHER_STREAM};
    int fail = 0;

    for (size_t i = 0; i < sizeof(modes); i++) {
        const parsec_alg alg = {PARSEC_ALG_CIPHER, modes[i], 0};
        int chacha = modes[i] == PARSEC_CIPHER_STREAM;
        parsec_key_attributes a =
            attrs_of(chacha ? PARSEC_KEY_TYPE_CHACHA20 : PARSEC_KEY_TYPE_AES, 256,
                     PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT | PARSEC_USAGE_EXPORT, alg);
        static const char *const names[] = {
            "", "ChaCha20", "AES-256-CTR", "AES-256-CFB", "AES-256-OFB", "", "", "", "AES-256-CBC"};
        size_t ivlen = chacha ? 12 : 16, outlen = 0, keylen = 0, backlen = 0;
        uint8_t *out = NULL, *key = NULL, *back = NULL, local[64], iv[16] = {0};
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        int n = 0, fin = 0;
        char what[64];

        snprintf(what, sizeof(what), "%s round trip", names[modes[i]]);
        if (require("GenerateKey", parsec_generate_key(g_client, 0, key_name("mode"), &a),
                    PARSEC_SUCCESS) != 0 ||
            require("ExportKey", parsec_export_key(g_client, 0, key_name("mode"), &key, &keylen),
                    PARSEC_SUCCESS) != 0 ||
            require(what,
                    parsec_cipher_encrypt(g_client, 0, key_name("mode"), &alg, msg, sizeof(msg),
                                          &out, &outlen),
                    PARSEC_SUCCESS) != 0 ||
            outlen < ivlen) {
            fail = 1;
            goto next;
        }
        memcpy(chacha ? iv + 4 : iv, out, ivlen);
        if (ctx == NULL ||
            EVP_DecryptInit_ex2(ctx, EVP_get_cipherbyname(names[modes[i]]), key, iv, NULL) != 1 ||
            EVP_DecryptUpdate(ctx, local, &n, out + ivlen, (int)(outlen - ivlen)) != 1 ||
            EVP_DecryptFinal_ex(ctx, local + n, &fin) != 1 || (size_t)(n + fin) != sizeof(msg) ||
            memcmp(local, msg, sizeof(msg)) != 0) {
            fprintf(stderr, "%s: OpenSSL could not decrypt the service's ciphertext\n",
                    names[modes[i]]);
            fail = 1;
            goto next;
        }
        if (require(what,
                    parsec_cipher_decrypt(g_client, 0, key_name("mode"), &alg, out, outlen, &back,
                                          &backlen),
                    PARSEC_SUCCESS) == 0)
            fail |= same(what, back, backlen, msg, sizeof(msg));
        else
            fail = 1;
    next:
        EVP_CIPHER_CTX_free(ctx);
        parsec_free(out);
        parsec_clear_free(key, keylen);
        parsec_clear_free(back, backlen);
        parsec_destroy_key(g_client, 0, key_name("mode"));
    }
    return fail;
}

static int c_cipher_errors(void)
{
    const parsec_alg cbc = {PARSEC_ALG_CIPHER, PARSEC_CIPHER_CBC_NO_PADDING, 0};
    const parsec_alg pkcs7 = {PARSEC_ALG_CIPHER, PARSEC_CIPHER_CBC_PKCS7, 0};
    const parsec_alg xts = {PARSEC_ALG_CIPHER, PARSEC_CIPHER_XTS, 0};
    parsec_key_attributes a =
        attrs_of(PARSEC_KEY_TYPE_AES, 128, PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, cbc);
    parsec_key_attributes p =
        attrs_of(PARSEC_KEY_TYPE_AES, 128, PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, pkcs7);
    parsec_key_attributes x =
        attrs_of(PARSEC_KEY_TYPE_AES, 256, PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, xts);
    uint8_t data[48] = {1}, *out = NULL;
    size_t outlen = 0;
    char cbc_key[128], pad_key[128];
    int fail = 0;

    snprintf(cbc_key, sizeof(cbc_key), "%s", key_name("cbc"));
    snprintf(pad_key, sizeof(pad_key), "%s", key_name("pkcs7"));
    fail |= require("GenerateKey AES-CBC", parsec_generate_key(g_client, 0, cbc_key, &a),
                    PARSEC_SUCCESS);
    fail |= require("GenerateKey AES-CBC-PKCS7", parsec_generate_key(g_client, 0, pad_key, &p),
                    PARSEC_SUCCESS);
    fail |= expect("CipherEncrypt CBC without padding of 15 bytes",
                   parsec_cipher_encrypt(g_client, 0, cbc_key, &cbc, data, 15, &out, &outlen),
                   PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    fail |= expect("CipherEncrypt of nothing",
                   parsec_cipher_encrypt(g_client, 0, cbc_key, &cbc, data, 0, &out, &outlen),
                   PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    fail |= expect("CipherDecrypt shorter than the IV",
                   parsec_cipher_decrypt(g_client, 0, cbc_key, &cbc, data, 8, &out, &outlen),
                   PARSEC_PSA_ERROR_INVALID_ARGUMENT);
    fail |= expect("CipherDecrypt CBC-PKCS7 whose padding is wrong",
                   parsec_cipher_decrypt(g_client, 0, pad_key, &pkcs7, data, 48, &out, &outlen),
                   PARSEC_PSA_ERROR_INVALID_PADDING);
    fail |= expect("CipherEncrypt CBC-PKCS7 with a CBC key",
                   parsec_cipher_encrypt(g_client, 0, cbc_key, &pkcs7, data, 16, &out, &outlen),
                   PARSEC_PSA_ERROR_NOT_PERMITTED);
    fail |= expect("GenerateKey AES for XTS", parsec_generate_key(g_client, 0, key_name("xts"), &x),
                   PARSEC_PSA_ERROR_NOT_SUPPORTED);
    parsec_free(out);
    parsec_destroy_key(g_client, 0, cbc_key);
    parsec_destroy_key(g_client, 0, pad_key);
    return fail;
}

/* ---- 6: curves (SECP K1, Brainpool P R1, Montgomery) and RIPEMD-160 ---- */

typedef struct curve_case {
    uint8_t family;
    uint32_t bits;
    const char *ossl; /* OpenSSL group name */
} curve_case;

static const curve_case weierstrass[] = {
    {PARSEC_ECC_FAMILY_SECP_K1, 256, "secp256k1"},
    {PARSEC_ECC_FAMILY_BRAINPOOL_P_R1, 256, "brainpoolP256r1"},
    {PARSEC_ECC_FAMILY_BRAINPOOL_P_R1, 384, "brainpoolP384r1"},
    {PARSEC_ECC_FAMILY_BRAINPOOL_P_R1, 512, "brainpoolP512r1"},
};

/* A public key OpenSSL builds from the service's export (uncompressed point or raw key). */
static EVP_PKEY *local_public(const char *group, const uint8_t *pub, size_t len)
{
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx;
    EVP_PKEY *pkey = NULL;

    if (strcmp(group, "X25519") == 0 || strcmp(group, "X448") == 0)
        return EVP_PKEY_new_raw_public_key_ex(NULL, group, NULL, pub, len);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pub, len);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* OpenSSL verifies the service's r||s signature of hash. */
static int local_ecdsa_verify(EVP_PKEY *pub, const uint8_t *hash, size_t hashlen,
                              const uint8_t *sig, size_t siglen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)(siglen / 2), NULL);
    BIGNUM *sv = BN_bin2bn(sig + siglen / 2, (int)(siglen / 2), NULL);
    unsigned char *der = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int derlen, ok = 0;

    if (es == NULL || r == NULL || sv == NULL || ECDSA_SIG_set0(es, r, sv) != 1) {
        BN_free(r);
        BN_free(sv);
        goto done;
    }
    derlen = i2d_ECDSA_SIG(es, &der);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    ok = derlen > 0 && ctx != NULL && EVP_PKEY_verify_init(ctx) == 1 &&
         EVP_PKEY_verify(ctx, der, (size_t)derlen, hash, hashlen) == 1;
done:
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return ok;
}

static int curve_ecdsa(const curve_case *cc)
{
    parsec_key_attributes a =
        attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, cc->bits,
                 PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH, alg_ecdsa);
    static const uint8_t hash[32] = {0x5a, 1, 2, 3};
    uint8_t *sig = NULL, *pub = NULL;
    size_t siglen = 0, publen = 0, n = (cc->bits + 7) / 8;
    EVP_PKEY *local = NULL;
    char what[96];
    int fail = 1;

    a.ecc_family = cc->family;
    snprintf(what, sizeof(what), "GenerateKey ECDSA %s", cc->ossl);
    if (require(what, parsec_generate_key(g_client, 0, key_name("curve"), &a), PARSEC_SUCCESS))
        return 1;
    snprintf(what, sizeof(what), "SignHash %s", cc->ossl);
    if (require(what,
                parsec_sign_hash(g_client, 0, key_name("curve"), &alg_ecdsa, hash, sizeof(hash),
                                 &sig, &siglen),
                PARSEC_SUCCESS) != 0 ||
        require("ExportPublicKey",
                parsec_export_public_key(g_client, 0, key_name("curve"), &pub, &publen),
                PARSEC_SUCCESS) != 0)
        goto done;
    if (siglen != 2 * n || publen != 1 + 2 * n) {
        fprintf(stderr, "%s: signature %zu bytes, public key %zu bytes; expected %zu and %zu\n",
                cc->ossl, siglen, publen, 2 * n, 1 + 2 * n);
        goto done;
    }
    local = local_public(cc->ossl, pub, publen);
    if (local == NULL || !local_ecdsa_verify(local, hash, sizeof(hash), sig, siglen)) {
        fprintf(stderr, "%s: OpenSSL does not verify the service's signature\n", cc->ossl);
        goto done;
    }
    snprintf(what, sizeof(what), "VerifyHash %s", cc->ossl);
    fail = require(what,
                   parsec_verify_hash(g_client, 0, key_name("curve"), &alg_ecdsa, hash,
                                      sizeof(hash), sig, siglen),
                   PARSEC_SUCCESS);
done:
    EVP_PKEY_free(local);
    parsec_free(sig);
    parsec_free(pub);
    parsec_destroy_key(g_client, 0, key_name("curve"));
    return fail;
}

/* ECDH: the service's shared secret equals OpenSSL's with a local peer key. */
static int curve_ecdh(const char *group, uint8_t family, uint32_t bits)
{
    const parsec_alg ecdh = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0};
    parsec_key_attributes a =
        attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, bits, PARSEC_USAGE_DERIVE, ecdh);
    int montgomery = family == PARSEC_ECC_FAMILY_MONTGOMERY;
    EVP_PKEY *peer = montgomery ? EVP_PKEY_Q_keygen(NULL, NULL, group)
                                : EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
    uint8_t peer_pub[160], *pub = NULL, *secret = NULL, local_secret[80];
    size_t peer_publen = 0, publen = 0, secretlen = 0, locallen = sizeof(local_secret);
    EVP_PKEY *svc_pub = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    char what[96];
    int fail = 1;

    a.ecc_family = family;
    if (peer == NULL ||
        (montgomery ? EVP_PKEY_get_raw_public_key(peer, peer_pub, &(size_t){sizeof(peer_pub)})
                    : EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, peer_pub,
                                                      sizeof(peer_pub), &peer_publen)) != 1) {
        fprintf(stderr, "OpenSSL could not make a %s peer key\n", group);
        EVP_PKEY_free(peer);
        return 1;
    }
    if (montgomery)
        EVP_PKEY_get_raw_public_key(peer, NULL, &peer_publen);
    snprintf(what, sizeof(what), "GenerateKey ECDH %s", group);
    if (require(what, parsec_generate_key(g_client, 0, key_name("ecdh"), &a), PARSEC_SUCCESS)) {
        EVP_PKEY_free(peer);
        return 1;
    }
    snprintf(what, sizeof(what), "RawKeyAgreement %s", group);
    if (require(what,
                parsec_raw_key_agreement(g_client, 0, &ecdh, key_name("ecdh"), peer_pub,
                                         peer_publen, &secret, &secretlen),
                PARSEC_SUCCESS) != 0 ||
        require("ExportPublicKey",
                parsec_export_public_key(g_client, 0, key_name("ecdh"), &pub, &publen),
                PARSEC_SUCCESS) != 0)
        goto done;
    svc_pub = local_public(group, pub, publen);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
    if (svc_pub == NULL || ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer(ctx, svc_pub) != 1 ||
        EVP_PKEY_derive(ctx, local_secret, &locallen) != 1) {
        fprintf(stderr, "%s: OpenSSL could not derive with the service's public key\n", group);
        goto done;
    }
    fail = same(what, secret, secretlen, local_secret, locallen);
done:
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(svc_pub);
    EVP_PKEY_free(peer);
    parsec_clear_free(secret, secretlen);
    parsec_free(pub);
    parsec_destroy_key(g_client, 0, key_name("ecdh"));
    return fail;
}

static int c_curves_ecdsa(void)
{
    int fail = 0;

    for (size_t i = 0; i < sizeof(weierstrass) / sizeof(weierstrass[0]); i++)
        fail |= curve_ecdsa(&weierstrass[i]);
    return fail;
}

static int c_curves_ecdh(void)
{
    int fail = 0;

    for (size_t i = 0; i < sizeof(weierstrass) / sizeof(weierstrass[0]); i++)
        fail |= curve_ecdh(weierstrass[i].ossl, weierstrass[i].family, weierstrass[i].bits);
    fail |= curve_ecdh("X25519", PARSEC_ECC_FAMILY_MONTGOMERY, 255);
    fail |= curve_ecdh("X448", PARSEC_ECC_FAMILY_MONTGOMERY, 448);
    return fail;
}

/* RFC 7748 §6.1: Alice's private key with Bob's public key; ECDSA is not for Montgomery keys. */
static int c_x25519_vector(void)
{
    const parsec_alg ecdh = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0};
    parsec_key_attributes a = attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 0, PARSEC_USAGE_DERIVE, ecdh);
    parsec_key_attributes sig =
        attrs_of(PARSEC_KEY_TYPE_ECC_KEY_PAIR, 255, PARSEC_USAGE_SIGN_HASH, alg_ecdsa);
    uint8_t priv[32], bob[32], want[32], alice_pub[32], *secret = NULL, *pub = NULL;
    size_t secretlen = 0, publen = 0;
    int fail;

    unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", priv, 32);
    unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", alice_pub, 32);
    unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", bob, 32);
    unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
    a.ecc_family = sig.ecc_family = PARSEC_ECC_FAMILY_MONTGOMERY;
    fail = require("ImportKey X25519 private key",
                   parsec_import_key(g_client, 0, key_name("x25519"), &a, priv, sizeof(priv)),
                   PARSEC_SUCCESS);
    fail |= require("ExportPublicKey X25519",
                    parsec_export_public_key(g_client, 0, key_name("x25519"), &pub, &publen),
                    PARSEC_SUCCESS);
    if (!fail)
        fail |= same("X25519 public key (RFC 7748 6.1)", pub, publen, alice_pub, 32);
    fail |= require("RawKeyAgreement X25519",
                    parsec_raw_key_agreement(g_client, 0, &ecdh, key_name("x25519"), bob,
                                             sizeof(bob), &secret, &secretlen),
                    PARSEC_SUCCESS);
    if (!fail)
        fail |= same("X25519 shared secret (RFC 7748 6.1)", secret, secretlen, want, 32);
    fail |= require("CanDoCrypto ECDSA with an X25519 key",
                    parsec_can_do_crypto(g_client, 0, 2, &sig), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    parsec_clear_free(secret, secretlen);
    parsec_free(pub);
    parsec_destroy_key(g_client, 0, key_name("x25519"));
    return fail;
}

/* RIPEMD-160("abc") from the RIPEMD-160 reference (Dobbertin, Bosselaers, Preneel). */
static int c_ripemd160(void)
{
    uint8_t want[20], *md = NULL;
    size_t mdlen = 0;
    int fail;

    unhex("8eb208f7e05d987a9b044a8e98c6b087f15a0bfc", want, sizeof(want));
    fail = require("HashCompute RIPEMD-160",
                   parsec_hash_compute(g_client, 0, PARSEC_HASH_RIPEMD160, (const uint8_t *)"abc",
                                       3, &md, &mdlen),
                   PARSEC_SUCCESS);
    if (!fail)
        fail = same("RIPEMD-160(abc)", md, mdlen, want, sizeof(want));
    parsec_free(md);
    return fail;
}

/* Backends without an algorithm say NotSupported, never a wrong answer. */
static int not_offered(const char *what, uint8_t type, parsec_alg alg)
{
    parsec_key_attributes a = attrs_of(type, 256, PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT, alg);
    static const uint8_t key[32] = {7};
    char w[128];
    int fail;

    snprintf(w, sizeof(w), "CanDoCrypto Generate %s", what);
    fail = require(w, parsec_can_do_crypto(g_client, 0, 2, &a), PARSEC_PSA_ERROR_NOT_SUPPORTED);
    snprintf(w, sizeof(w), "GenerateKey %s", what);
    fail |= require(w, parsec_generate_key(g_client, 0, key_name("no-gen"), &a),
                    PARSEC_PSA_ERROR_NOT_SUPPORTED);
    snprintf(w, sizeof(w), "ImportKey %s", what);
    fail |= require(w, parsec_import_key(g_client, 0, key_name("no-imp"), &a, key, sizeof(key)),
                    PARSEC_PSA_ERROR_NOT_SUPPORTED);
    return fail;
}

static int c_aead_ccm_chacha_not_offered(void)
{
    const parsec_alg ccm = {PARSEC_ALG_AEAD, PARSEC_AEAD_CCM, 0};
    const parsec_alg chacha = {PARSEC_ALG_AEAD, PARSEC_AEAD_CHACHA20_POLY1305, 0};

    return not_offered("AES-256-CCM", PARSEC_KEY_TYPE_AES, ccm) |
           not_offered("ChaCha20-Poly1305", PARSEC_KEY_TYPE_CHACHA20, chacha);
}

/* A backend without AEAD (the TPM's): no opcode, no key, NotSupported for the operation. */
static int c_aead_not_offered(void)
{
    const parsec_alg gcm = {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0};
    static const uint8_t nonce[12] = {1}, msg[16] = {2};
    uint8_t *out = NULL;
    size_t outlen = 0;
    int fail;

    fail = not_offered("AES-256-GCM", PARSEC_KEY_TYPE_AES, gcm) | c_aead_ccm_chacha_not_offered();
    fail |= require("AeadEncrypt",
                    parsec_aead_encrypt(g_client, 0, key_name("none"), &gcm, nonce, 12, NULL, 0,
                                        msg, sizeof(msg), &out, &outlen),
                    PARSEC_PSA_ERROR_NOT_SUPPORTED);
    parsec_free(out);
    if (provider_offers(PARSEC_OP_PSA_AEAD_ENCRYPT) ||
        provider_offers(PARSEC_OP_PSA_AEAD_DECRYPT)) {
        fprintf(stderr, "ListOpcodes lists an AEAD operation\n");
        fail = 1;
    }
    return fail;
}

typedef struct parity_case {
    const char *name;
    int (*run)(void);
} parity_case;

static const parity_case cases[] = {
    {"cando-use-no-flags", c_cando_use_no_flags},
    {"cando-use-alg-none", c_cando_use_alg_none},
    {"cando-use-derive-only", c_cando_use_derive_only},
    {"cando-use-ok", c_cando_use_ok},
    {"cando-use-incompatible", c_cando_use_incompatible},
    {"cando-generate-public", c_cando_generate_public},
    {"cando-generate-no-flags", c_cando_generate_no_flags},
    {"cando-generate-alg-none", c_cando_generate_alg_none},
    {"cando-generate-ok", c_cando_generate_ok},
    {"cando-import-no-flags", c_cando_import_no_flags},
    {"cando-import-public-ok", c_cando_import_public_ok},
    {"cando-derive", c_cando_derive},
    {"cando-agrees-with-generate", c_cando_agrees_with_generate},
    {"generate-public", c_generate_public},
    {"implied-flags", c_implied_flags},
    {"rsa1024-generate", c_rsa1024_generate},
    {"rsa1024-cando", c_rsa1024_cando},
    {"rsa1024-public-import", c_rsa1024_public_import},
    {"deprecated-oaep-sha1", c_deprecated_oaep_sha1},
    {"sign-message", c_sign_message},
    {"aead-vector-gcm", c_aead_vector_gcm},
    {"aead-vector-ccm", c_aead_vector_ccm},
    {"aead-vector-chacha20", c_aead_vector_chacha20},
    {"aead-roundtrip-generated", c_aead_roundtrip},
    {"aead-roundtrip-imported-gcm", c_aead_roundtrip_imported_gcm},
    {"aead-errors-gcm", c_aead_errors_gcm},
    {"aead-errors-nonce", c_aead_errors_nonce},
    {"aead-key-and-opcodes", c_aead_key_and_opcodes},
    {"cipher-vectors", c_cipher_vectors},
    {"cipher-modes", c_cipher_modes},
    {"cipher-errors", c_cipher_errors},
    {"curves-ecdsa", c_curves_ecdsa},
    {"curves-ecdh", c_curves_ecdh},
    {"x25519-vector", c_x25519_vector},
    {"ripemd160", c_ripemd160},
    {"aead-ccm-chacha-not-offered", c_aead_ccm_chacha_not_offered},
    {"aead-not-offered", c_aead_not_offered},
};

static int status_from_name(const char *name, parsec_status *out)
{
    static const parsec_status all[] = {
        PARSEC_SUCCESS,
        PARSEC_DEPRECATED_PRIMITIVE,
        PARSEC_PSA_ERROR_NOT_PERMITTED,
        PARSEC_PSA_ERROR_NOT_SUPPORTED,
        PARSEC_PSA_ERROR_INVALID_ARGUMENT,
        PARSEC_PSA_ERROR_INVALID_SIGNATURE,
    };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(parsec_status_name(all[i]), name) == 0) {
            *out = all[i];
            return 0;
        }
    return -1;
}

int main(int argc, char **argv)
{
    const parity_case *c = NULL;
    parsec_status st;
    int fail;

    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            printf("%s\n", cases[i].name);
        return 0;
    }
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: parity_probe --list | CASE [STATUS]\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(cases[i].name, argv[1]) == 0)
            c = &cases[i];
    if (c == NULL) {
        fprintf(stderr, "unknown case '%s' (see --list)\n", argv[1]);
        return 2;
    }
    if (argc == 3) {
        if (status_from_name(argv[2], &g_override) != 0) {
            fprintf(stderr, "unknown status name '%s'\n", argv[2]);
            return 2;
        }
        g_have_override = 1;
    }
    snprintf(g_prefix, sizeof(g_prefix), "parity-%ld", (long)getpid());
    g_client = parsec_client_new();
    if (g_client == NULL)
        return 2;
    st = parsec_client_discover(g_client, NULL);
    if (st != PARSEC_SUCCESS) {
        fprintf(stderr, "discovery: %s\n", parsec_status_message(st));
        parsec_client_free(g_client);
        return 2;
    }
    fail = c->run();
    parsec_client_free(g_client);
    return fail ? 1 : 0;
}
