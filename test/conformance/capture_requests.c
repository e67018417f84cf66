/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs libparsec-client calls against a capturing fake service and writes
 * each request exactly as sent (header + body + auth) to DIR/<name>.bin,
 * so parsec-interface (the reference Rust code) can decode them.
 * The expected content of every file is spelled out in src/main.rs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_server.h"
#include "parsec_client.h"

#define SIGN_USAGE                                                                                 \
    (PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH | PARSEC_USAGE_SIGN_MESSAGE |               \
     PARSEC_USAGE_VERIFY_MESSAGE)

/* One client call per capture, in this order. */
static const char *const capture_names[] = {
    "ping",
    "list_providers",
    "list_authenticators",
    "list_opcodes",
    "list_keys",
    "list_clients",
    "delete_client",
    "generate_key_rsa_pss",
    "generate_key_ecc",
    "generate_key_no_flags",
    "import_key",
    "export_public_key",
    "export_key",
    "destroy_key",
    "sign_hash",
    "verify_hash",
    "asymmetric_encrypt",
    "asymmetric_decrypt",
    "raw_key_agreement",
    "generate_random",
    "hash_compute",
    "hash_compare",
    "can_do_crypto",
    "generate_key_aes",
    "aead_encrypt",
    "aead_decrypt",
    "sign_message",
    "verify_message",
    "prepare_key_attestation",
    "attest_key",
    "cipher_encrypt",
    "cipher_decrypt",
    "sign_hash_unix_peer",
};
#define N_CAPTURES (sizeof(capture_names) / sizeof(capture_names[0]))

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed + i);
}

/* Results are irrelevant here (the fake answers every call with an empty success). */
static void run_calls(parsec_client *c)
{
    parsec_provider_info *p = NULL;
    parsec_authenticator_info *a = NULL;
    parsec_key_info *k = NULL;
    uint32_t *ops = NULL;
    char **clients = NULL;
    uint8_t *out = NULL, buf[65], sig[64], hash[32];
    size_t n = 0, outlen = 0;

    parsec_ping(c, NULL, NULL);
    parsec_list_providers(c, &p, &n);
    parsec_provider_info_free(p, n);
    parsec_list_authenticators(c, &a, &n);
    parsec_authenticator_info_free(a, n);
    parsec_list_opcodes(c, PARSEC_PROVIDER_MBED_CRYPTO, &ops, &n);
    parsec_free(ops);
    parsec_list_keys(c, &k, &n);
    parsec_key_info_free(k, n);
    parsec_list_clients(c, &clients, &n);
    parsec_string_list_free(clients, n);
    parsec_delete_client(c, "victim");
    {
        parsec_key_attributes rsa = {
            PARSEC_KEY_TYPE_RSA_KEY_PAIR,
            0,
            2048,
            SIGN_USAGE,
            {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_SHA_256}};
        parsec_key_attributes ec = {
            PARSEC_KEY_TYPE_ECC_KEY_PAIR,
            PARSEC_ECC_FAMILY_SECP_R1,
            384,
            SIGN_USAGE | PARSEC_USAGE_EXPORT,
            {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY}};
        parsec_key_attributes none = {
            PARSEC_KEY_TYPE_RSA_KEY_PAIR, 0, 2048, 0, {PARSEC_ALG_NONE, 0, 0}};
        parsec_key_attributes pub = {
            PARSEC_KEY_TYPE_RSA_PUBLIC_KEY,
            0,
            0,
            PARSEC_USAGE_VERIFY_HASH,
            {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_SHA_384}};
        uint8_t data[16];
        fill(data, sizeof(data), 1);
        parsec_generate_key(c, PARSEC_PROVIDER_DEFAULT, "rsa-pss", &rsa);
        parsec_generate_key(c, PARSEC_PROVIDER_DEFAULT, "ec", &ec);
        parsec_generate_key(c, PARSEC_PROVIDER_DEFAULT, "bare", &none);
        parsec_import_key(c, PARSEC_PROVIDER_DEFAULT, "imp", &pub, data, sizeof(data));
    }
    parsec_export_public_key(c, PARSEC_PROVIDER_DEFAULT, "ec", &out, &outlen);
    parsec_free(out);
    parsec_export_key(c, PARSEC_PROVIDER_DEFAULT, "ec", &out, &outlen);
    parsec_clear_free(out, outlen);
    parsec_destroy_key(c, PARSEC_PROVIDER_DEFAULT, "bare");
    {
        parsec_alg ecdsa = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA,
                            PARSEC_HASH_SHA_256};
        fill(hash, sizeof(hash), 0x20);
        fill(sig, sizeof(sig), 0x80);
        parsec_sign_hash(c, PARSEC_PROVIDER_DEFAULT, "ec", &ecdsa, hash, sizeof(hash), &out,
                         &outlen);
        parsec_free(out);
        parsec_verify_hash(c, PARSEC_PROVIDER_DEFAULT, "ec", &ecdsa, hash, sizeof(hash), sig,
                           sizeof(sig));
    }
    {
        parsec_alg oaep = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP,
                           PARSEC_HASH_SHA_256};
        parsec_alg v15 = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_PKCS1V15, 0};
        uint8_t ct[256];
        fill(ct, sizeof(ct), 3);
        parsec_asymmetric_encrypt(c, PARSEC_PROVIDER_DEFAULT, "rsa", &oaep,
                                  (const uint8_t *)"hello", 5, (const uint8_t *)"label", 5, &out,
                                  &outlen);
        parsec_free(out);
        parsec_asymmetric_decrypt(c, PARSEC_PROVIDER_DEFAULT, "rsa", &v15, ct, sizeof(ct), NULL, 0,
                                  &out, &outlen);
        parsec_clear_free(out, outlen);
    }
    {
        parsec_alg ecdh = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0};
        fill(buf, sizeof(buf), 4);
        buf[0] = 0x04;
        parsec_raw_key_agreement(c, PARSEC_PROVIDER_DEFAULT, &ecdh, "ec-dh", buf, sizeof(buf), &out,
                                 &outlen);
        parsec_clear_free(out, outlen);
    }
    parsec_generate_random(c, PARSEC_PROVIDER_DEFAULT, 48, &out);
    parsec_free(out);
    out = NULL;
    parsec_hash_compute(c, PARSEC_PROVIDER_DEFAULT, PARSEC_HASH_SHA_512, (const uint8_t *)"abc", 3,
                        &out, &outlen);
    parsec_free(out);
    fill(hash, sizeof(hash), 0x40);
    parsec_hash_compare(c, PARSEC_PROVIDER_DEFAULT, PARSEC_HASH_SHA_256, (const uint8_t *)"abc", 3,
                        hash, sizeof(hash));
    {
        parsec_key_attributes ecdh_key = {PARSEC_KEY_TYPE_ECC_KEY_PAIR,
                                          PARSEC_ECC_FAMILY_SECP_R1,
                                          256,
                                          PARSEC_USAGE_DERIVE,
                                          {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0}};
        parsec_can_do_crypto(c, PARSEC_PROVIDER_DEFAULT, 2, &ecdh_key);
    }
    {
        parsec_key_attributes aes = {PARSEC_KEY_TYPE_AES,
                                     0,
                                     256,
                                     PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT,
                                     {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0}};
        parsec_alg ccm8 = {PARSEC_ALG_AEAD, PARSEC_AEAD_CCM, 8};
        parsec_alg gcm = {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0};
        parsec_alg pkcs1 = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15,
                            PARSEC_HASH_SHA_256};
        uint8_t nonce[12], ad[5], data[40], *nm = NULL, *pb = NULL, *ek = NULL;
        size_t nl = 0, pl = 0, el = 0;

        fill(nonce, sizeof(nonce), 0x50);
        fill(ad, sizeof(ad), 0x60);
        fill(data, sizeof(data), 0x70);
        parsec_generate_key(c, PARSEC_PROVIDER_DEFAULT, "aes", &aes);
        parsec_aead_encrypt(c, PARSEC_PROVIDER_DEFAULT, "aes", &gcm, nonce, sizeof(nonce), ad,
                            sizeof(ad), data, sizeof(data), &out, &outlen);
        parsec_free(out);
        parsec_aead_decrypt(c, PARSEC_PROVIDER_DEFAULT, "aes", &ccm8, nonce, 11, NULL, 0, data,
                            sizeof(data), &out, &outlen);
        parsec_clear_free(out, outlen);
        parsec_sign_message(c, PARSEC_PROVIDER_DEFAULT, "rsa", &pkcs1, data, 7, &out, &outlen);
        parsec_free(out);
        parsec_verify_message(c, PARSEC_PROVIDER_DEFAULT, "rsa", &pkcs1, data, 7, data + 8, 32);
        parsec_prepare_key_attestation(c, PARSEC_PROVIDER_DEFAULT, "att", NULL, &nm, &nl, &pb, &pl,
                                       &ek, &el);
        parsec_free(nm);
        parsec_free(pb);
        parsec_free(ek);
        parsec_attest_key(c, PARSEC_PROVIDER_DEFAULT, "att", NULL, data, 20, data + 20, 20, &out,
                          &outlen);
        parsec_clear_free(out, outlen);
    }
    {
        parsec_alg ctr = {PARSEC_ALG_CIPHER, PARSEC_CIPHER_CTR, 0};
        parsec_alg stream = {PARSEC_ALG_CIPHER, PARSEC_CIPHER_STREAM, 0};
        uint8_t data[28];

        fill(data, sizeof(data), 0x90);
        parsec_cipher_encrypt(c, PARSEC_PROVIDER_DEFAULT, "aes", &ctr, data, 9, &out, &outlen);
        parsec_free(out);
        parsec_cipher_decrypt(c, PARSEC_PROVIDER_DEFAULT, "chacha", &stream, data, sizeof(data),
                              &out, &outlen);
        parsec_clear_free(out, outlen);
    }
    {
        parsec_alg pss = {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS,
                          PARSEC_HASH_SHA_256};
        parsec_client_set_auth(c, PARSEC_AUTH_UNIX_PEER, NULL);
        fill(hash, sizeof(hash), 0);
        parsec_sign_hash(c, PARSEC_PROVIDER_DEFAULT, "rsa-pss", &pss, hash, sizeof(hash), &out,
                         &outlen);
        parsec_free(out);
    }
}

int main(int argc, char **argv)
{
    fake_reply mirror = {NULL, 0, 0, 1};
    fake_server *s;
    parsec_client *c;
    size_t served;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    s = fake_server_start(&mirror, 1, N_CAPTURES);
    c = parsec_client_new();
    if (s == NULL || c == NULL) {
        fprintf(stderr, "capture_requests: cannot start the fake service\n");
        goto done;
    }
    parsec_client_set_endpoint(c, fake_server_uri(s));
    parsec_client_set_timeout(c, 10000);
    parsec_client_set_provider(c, PARSEC_PROVIDER_MBED_CRYPTO);
    parsec_client_set_auth(c, PARSEC_AUTH_DIRECT, "conformance-app");
    run_calls(c);
    served = fake_server_stop(s);
    if (served != N_CAPTURES) {
        fprintf(stderr, "capture_requests: %zu requests captured, %zu expected\n", served,
                (size_t)N_CAPTURES);
        goto done;
    }
    for (size_t i = 0; i < N_CAPTURES; i++) {
        char path[4096];
        size_t len;
        const uint8_t *req = fake_server_request(s, i, &len);
        FILE *f;
        snprintf(path, sizeof(path), "%s/%s.bin", argv[1], capture_names[i]);
        f = fopen(path, "wb");
        if (f == NULL || fwrite(req, 1, len, f) != len || fclose(f) != 0) {
            fprintf(stderr, "capture_requests: cannot write %s\n", path);
            goto done;
        }
    }
    rc = 0;
done:
    parsec_client_free(c);
    fake_server_free(s);
    return rc;
}
