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
#include <openssl/evp.h>
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
static const parsec_alg alg_oaep_sha1 = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION,
                                         PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_1};

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
    return cando("Generate, RSA public key", 2,
                 attrs_of(PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 2048, PARSEC_USAGE_VERIFY_HASH,
                          alg_pkcs1),
                 PARSEC_PSA_ERROR_NOT_SUPPORTED) |
           cando("Generate, ECC public key", 2,
                 attrs_of(PARSEC_KEY_TYPE_ECC_PUBLIC_KEY, 256, PARSEC_USAGE_VERIFY_HASH,
                          alg_ecdsa),
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
    return cando("Import, RSA public key for verification", 3,
                 attrs_of(PARSEC_KEY_TYPE_RSA_PUBLIC_KEY, 2048, PARSEC_USAGE_VERIFY_HASH,
                          alg_pkcs1),
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

    if (require("GenerateKey PSS sign-hash/verify-hash",
                parsec_generate_key(g_client, 0, name, &a), PARSEC_SUCCESS) != 0)
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

        fail |= require("SignHash with the RSA-1024 key",
                        parsec_sign_hash(g_client, 0, name, &alg_pkcs1, hash, sizeof(hash), &sig,
                                         &siglen),
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
    return import_public(1024, PARSEC_SUCCESS) |
           import_public(512, PARSEC_PSA_ERROR_NOT_SUPPORTED);
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
