/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pkcs11-test-client: the Parsec operations the PKCS#11 shell tests need and
 * parsec-cli does not offer (import, ExportKey, raw ECDH, OAEP with a label,
 * exportable keys). Talks to $PARSEC_SERVICE_ENDPOINT through libparsec-client.
 *
 * Exit status: 0 success, 1 the service answered an error (its status name is
 * printed on stderr as "status: NAME (CODE)"), 2 usage or local error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "parsec_client.h"

static int usage(void)
{
    fputs("usage: pkcs11-test-client COMMAND ARGS\n"
          "  export-key NAME OUT\n"
          "  create-exportable-ecc NAME\n"
          "  import-rsa NAME PRIVATE.pem        (RSA PKCS#1 v1.5 SHA-256 signing key)\n"
          "  import-ecc NAME PRIVATE.pem        (ECDSA SHA-256 signing key, P-256)\n"
          "  ecdh NAME PEER_PUBLIC.pem OUT      (raw ECDH shared secret)\n"
          "  decrypt-oaep NAME LABEL IN OUT     (RSA-OAEP SHA-256 with a label)\n",
          stderr);
    return 2;
}

static int service_error(parsec_status st)
{
    fprintf(stderr, "status: %s (%d)\n", parsec_status_name(st), (int)st);
    return 1;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, r;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    for (;;) {
        if (n == cap) {
            uint8_t *nb = OPENSSL_realloc(buf, cap = cap ? cap * 2 : 4096);
            if (nb == NULL) {
                OPENSSL_free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *out = buf;
    *len = n;
    return 0;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(data, 1, len, f) != len) {
        perror(path);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static EVP_PKEY *read_pem(const char *path, int priv)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *k;

    if (f == NULL) {
        perror(path);
        return NULL;
    }
    k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL)
        fprintf(stderr, "%s: not a PEM %s key\n", path, priv ? "private" : "public");
    return k;
}

int main(int argc, char **argv)
{
    parsec_client *c = NULL;
    parsec_key_attributes a;
    parsec_status st;
    uint8_t *out = NULL, *in = NULL;
    size_t outlen = 0, inlen = 0;
    EVP_PKEY *k = NULL;
    int rc = 2;

    if (argc < 3)
        return usage();
    c = parsec_client_new();
    if (c == NULL)
        return 2;
    st = parsec_client_discover(c, NULL);
    if (st != PARSEC_SUCCESS) {
        rc = service_error(st);
        goto done;
    }
    memset(&a, 0, sizeof(a));

    if (strcmp(argv[1], "export-key") == 0 && argc == 4) {
        st = parsec_export_key(c, PARSEC_PROVIDER_DEFAULT, argv[2], &out, &outlen);
        if (st != PARSEC_SUCCESS) {
            rc = service_error(st);
            goto done;
        }
        rc = write_file(argv[3], out, outlen) == 0 ? 0 : 2;
        parsec_clear_free(out, outlen);
        out = NULL;
    } else if (strcmp(argv[1], "create-exportable-ecc") == 0 && argc == 3) {
        a.type = PARSEC_KEY_TYPE_ECC_KEY_PAIR;
        a.ecc_family = PARSEC_ECC_FAMILY_SECP_R1;
        a.bits = 256;
        a.usage = PARSEC_USAGE_EXPORT | PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH;
        a.alg =
            (parsec_alg){PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_SHA_256};
        st = parsec_generate_key(c, PARSEC_PROVIDER_DEFAULT, argv[2], &a);
        rc = st == PARSEC_SUCCESS ? 0 : service_error(st);
    } else if ((strcmp(argv[1], "import-rsa") == 0 || strcmp(argv[1], "import-ecc") == 0) &&
               argc == 4) {
        int rsa = argv[1][7] == 'r';
        OSSL_ENCODER_CTX *e;

        k = read_pem(argv[3], 1);
        if (k == NULL)
            goto done;
        a.usage = PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH | PARSEC_USAGE_SIGN_MESSAGE |
                  PARSEC_USAGE_VERIFY_MESSAGE;
        if (rsa) {
            /* PSA import format: DER RSAPrivateKey. */
            a.type = PARSEC_KEY_TYPE_RSA_KEY_PAIR;
            a.alg = (parsec_alg){PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15,
                                 PARSEC_HASH_SHA_256};
            e = OSSL_ENCODER_CTX_new_for_pkey(k, EVP_PKEY_KEYPAIR, "DER", "type-specific", NULL);
            if (e == NULL || !OSSL_ENCODER_to_data(e, &in, &inlen)) {
                OSSL_ENCODER_CTX_free(e);
                goto done;
            }
            OSSL_ENCODER_CTX_free(e);
        } else {
            /* PSA import format: the private scalar, curve-size big-endian. */
            BIGNUM *d = NULL;

            a.type = PARSEC_KEY_TYPE_ECC_KEY_PAIR;
            a.ecc_family = PARSEC_ECC_FAMILY_SECP_R1;
            a.bits = (uint32_t)EVP_PKEY_get_bits(k);
            a.alg = (parsec_alg){PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA,
                                 PARSEC_HASH_SHA_256};
            inlen = (a.bits + 7) / 8;
            in = OPENSSL_malloc(inlen);
            if (in == NULL || !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &d) ||
                BN_bn2binpad(d, in, (int)inlen) < 0) {
                BN_clear_free(d);
                goto done;
            }
            BN_clear_free(d);
        }
        st = parsec_import_key(c, PARSEC_PROVIDER_DEFAULT, argv[2], &a, in, inlen);
        rc = st == PARSEC_SUCCESS ? 0 : service_error(st);
    } else if (strcmp(argv[1], "ecdh") == 0 && argc == 5) {
        parsec_alg alg = {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0};
        uint8_t point[256];
        size_t plen = 0;

        k = read_pem(argv[3], 0);
        if (k == NULL || !EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                          point, sizeof(point), &plen))
            goto done;
        st = parsec_raw_key_agreement(c, PARSEC_PROVIDER_DEFAULT, &alg, argv[2], point, plen, &out,
                                      &outlen);
        if (st != PARSEC_SUCCESS) {
            rc = service_error(st);
            goto done;
        }
        rc = write_file(argv[4], out, outlen) == 0 ? 0 : 2;
        parsec_clear_free(out, outlen);
        out = NULL;
    } else if (strcmp(argv[1], "decrypt-oaep") == 0 && argc == 6) {
        parsec_alg alg = {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP,
                          PARSEC_HASH_SHA_256};

        if (read_file(argv[4], &in, &inlen) != 0)
            goto done;
        st = parsec_asymmetric_decrypt(c, PARSEC_PROVIDER_DEFAULT, argv[2], &alg, in, inlen,
                                       (const uint8_t *)argv[3], strlen(argv[3]), &out, &outlen);
        if (st != PARSEC_SUCCESS) {
            rc = service_error(st);
            goto done;
        }
        rc = write_file(argv[5], out, outlen) == 0 ? 0 : 2;
        parsec_clear_free(out, outlen);
        out = NULL;
    } else {
        rc = usage();
    }
done:
    if (in != NULL)
        OPENSSL_clear_free(in, inlen);
    EVP_PKEY_free(k);
    parsec_client_free(c);
    return rc;
}
