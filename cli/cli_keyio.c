/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec-cli key-info, import-key and export-key. Private keys move
 * between PEM (PKCS#8 or traditional, OpenSSL's decoders and encoders) and
 * the PSA export format the service speaks: RSAPrivateKey DER for RSA, the
 * private scalar for ECC. Every buffer that held a private key is cleansed.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_json.h"
#include "parsec_cli.h"

int cli_cmd_key_info(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes a;
    uint8_t provider = 0;
    char alg[64], usage[160], uri[300];
    json_object *obj;
    int rc;

    rc = cli_open_with_key(o, &c, &provider, &a);
    cli_client_close(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    snprintf(uri, sizeof(uri), "parsec:%s", o->key_name);
    if (o->json) {
        obj = cli_json_key(o->key_name, provider, &a);
        if (obj != NULL) {
            json_object_object_add(obj, "exportable",
                                   json_object_new_boolean((a.usage & PARSEC_USAGE_EXPORT) != 0));
            cli_json_add_string(obj, "openssl_uri", uri);
        }
        return cli_json_print(o, obj);
    }
    cli_alg_describe(&a.alg, alg, sizeof(alg));
    cli_usage_describe(a.usage, usage, sizeof(usage));
    printf("Key \"%s\"\n", o->key_name);
    printf("  provider:   0x%02x (%s): parsec-cli -p %s, backend = %s in openssl.cnf\n", provider,
           cli_provider_name(provider), parsec_provider_short_name(provider),
           parsec_provider_short_name(provider));
    if (a.type == PARSEC_KEY_TYPE_ECC_KEY_PAIR || a.type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY)
        printf("  type:       %s, %s, %u bits\n", cli_key_type_name(&a),
               cli_ecc_family_name(a.ecc_family), a.bits);
    else
        printf("  type:       %s, %u bits\n", cli_key_type_name(&a), a.bits);
    printf("  algorithm:  %s\n", alg);
    printf("  usage:      %s\n", usage);
    printf("  exportable: %s\n", (a.usage & PARSEC_USAGE_EXPORT) ? "yes" : "no");
    printf("  OpenSSL:    %s through the parsec provider (openssl pkey -in %s -pubout)\n", uri,
           uri);
    return CLI_EXIT_OK;
}

/* EC key -> its curve size in bits if the service can hold it (NIST P curves). */
static uint32_t cli_ec_bits(EVP_PKEY *pkey)
{
    static const uint32_t sizes[] = {256, 384, 521};
    char group[64];

    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL))
        return 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        const char *name = parsec_psa_ec_group(PARSEC_ECC_FAMILY_SECP_R1, sizes[i]);
        if (name != NULL && OBJ_txt2nid(name) == OBJ_txt2nid(group))
            return sizes[i];
    }
    return 0;
}

/* PEM private key -> attributes and PSA import data (cleansed by the caller). */
static int cli_psa_from_pkey(const cli_opts *o, EVP_PKEY *pkey, parsec_key_attributes *a,
                             uint8_t **data, size_t *len)
{
    BIGNUM *priv = NULL;
    unsigned char *der = NULL;
    int rc = CLI_EXIT_USAGE, n;

    *data = NULL;
    *len = 0;
    memset(a, 0, sizeof(*a));
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        a->bits = (uint32_t)EVP_PKEY_get_bits(pkey);
        rc = cli_rsa_policy(o, a);
        if (rc != CLI_EXIT_OK)
            goto done;
        /* i2d_PrivateKey writes an RSA key as PKCS#1 RSAPrivateKey, PSA's format. */
        n = i2d_PrivateKey(pkey, &der);
        if (n <= 0) {
            rc = cli_local_error(o, "cannot encode the RSA key as RSAPrivateKey");
            goto done;
        }
        *data = der;
        *len = (size_t)n;
        der = NULL;
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        size_t bytes;

        a->bits = cli_ec_bits(pkey);
        if (a->bits == 0) {
            rc = cli_local_error(o,
                                 "%s: only NIST P-256, P-384 and P-521 EC keys can be"
                                 " imported",
                                 o->in_file);
            goto done;
        }
        rc = cli_ecc_policy(o, a);
        if (rc != CLI_EXIT_OK)
            goto done;
        rc = CLI_EXIT_USAGE;
        bytes = (a->bits + 7) / 8;
        if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &priv) ||
            (*data = OPENSSL_malloc(bytes)) == NULL ||
            BN_bn2binpad(priv, *data, (int)bytes) != (int)bytes) {
            OPENSSL_free(*data);
            *data = NULL;
            rc = cli_local_error(o, "cannot read the EC private key from %s", o->in_file);
            goto done;
        }
        *len = bytes;
    } else {
        rc = cli_local_error(o, "%s holds a %s key: import takes RSA and EC keys", o->in_file,
                             EVP_PKEY_get0_type_name(pkey));
        goto done;
    }
    rc = CLI_EXIT_OK;
done:
    BN_clear_free(priv);
    OPENSSL_free(der);
    return rc;
}

int cli_cmd_import_key(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes a;
    EVP_PKEY *pkey = NULL;
    BIO *in = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    char alg[64];
    parsec_status st;
    int rc = CLI_EXIT_USAGE;

    if (o->key_name == NULL || o->in_file == NULL)
        return cli_local_error(o, "import-key needs -k NAME and -i PEMFILE");
    in = BIO_new_file(o->in_file, "r");
    if (in == NULL) {
        rc = cli_local_error(o, "cannot open %s: %s", o->in_file, strerror(errno));
        goto done;
    }
    pkey = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    if (pkey == NULL) {
        rc = cli_local_error(o,
                             "%s holds no PEM private key (PKCS#8 or traditional RSA/EC;"
                             " an encrypted one needs its passphrase)",
                             o->in_file);
        goto done;
    }
    rc = cli_psa_from_pkey(o, pkey, &a, &data, &len);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = cli_client_open(o, 1, 1, &c);
    if (rc != CLI_EXIT_OK)
        goto done;
    st = parsec_import_key(c, PARSEC_PROVIDER_DEFAULT, o->key_name, &a, data, len);
    if (st != PARSEC_SUCCESS) {
        rc = cli_fail(o, st);
        goto done;
    }
    cli_alg_describe(&a.alg, alg, sizeof(alg));
    printf("Key \"%s\" imported from %s (%s, %u bits, %s).\n", o->key_name, o->in_file,
           a.type == PARSEC_KEY_TYPE_RSA_KEY_PAIR ? "RSA" : "ECC", a.bits, alg);
    printf("The service holds the private key now: once it works from there, delete %s"
           " (e.g. shred -u).\n",
           o->in_file);
done:
    OPENSSL_clear_free(data, len);
    EVP_PKEY_free(pkey);
    BIO_free(in);
    cli_client_close(c);
    return rc;
}

/* PSA private key export (+ the public key for ECC) -> EVP_PKEY. */
static EVP_PKEY *cli_pkey_from_psa_private(const parsec_key_attributes *a, const uint8_t *data,
                                           size_t len, const uint8_t *pub, size_t publen)
{
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    BIGNUM *priv = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    const char *group;

    if (a->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR) {
        const unsigned char *p = data;
        return d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    }
    group = parsec_psa_ec_group(a->ecc_family, a->bits);
    if (a->type != PARSEC_KEY_TYPE_ECC_KEY_PAIR || group == NULL)
        return NULL;
    priv = BN_secure_new();
    bld = OSSL_PARAM_BLD_new();
    if (priv == NULL || bld == NULL || BN_bin2bn(data, (int)len, priv) == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen) ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto done;
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
        pkey = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* OSSL_PARAM_BLD_to_param: the BN copy lives in secure memory */
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(priv);
    return pkey;
}

int cli_cmd_export_key(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes a;
    uint8_t provider = 0;
    uint8_t *data = NULL, *pub = NULL;
    size_t len = 0, publen = 0;
    EVP_PKEY *pkey = NULL;
    BIO *out = NULL;
    parsec_status st;
    int rc, fd;

    rc = cli_open_with_key(o, &c, &provider, &a);
    if (rc != CLI_EXIT_OK)
        goto done;
    st = parsec_export_key(c, provider, o->key_name, &data, &len);
    if (st != PARSEC_SUCCESS) {
        rc = cli_fail(o, st);
        if (st == PARSEC_PSA_ERROR_NOT_PERMITTED && !(a.usage & PARSEC_USAGE_EXPORT))
            fprintf(stderr,
                    "parsec-cli: key \"%s\" was not created exportable (usage 'export',"
                    " --exportable); a key's policy cannot change: export-public-key"
                    " gives its public half\n",
                    o->key_name);
        goto done;
    }
    if (a.type == PARSEC_KEY_TYPE_ECC_KEY_PAIR) {
        st = parsec_export_public_key(c, provider, o->key_name, &pub, &publen);
        if (st != PARSEC_SUCCESS) {
            rc = cli_fail(o, st);
            goto done;
        }
    }
    pkey = cli_pkey_from_psa_private(&a, data, len, pub, publen);
    if (pkey == NULL) {
        rc = cli_local_error(o, "cannot convert the exported key to PKCS#8");
        goto done;
    }
    if (o->out_file != NULL) {
        /* Private key material: never readable by others, not even for a moment. */
        fd = open(o->out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            rc = cli_local_error(o, "cannot create %s: %s", o->out_file, strerror(errno));
            goto done;
        }
        out = BIO_new_fd(fd, BIO_CLOSE);
        if (out == NULL)
            close(fd);
    } else {
        out = BIO_new_fp(stdout, BIO_NOCLOSE);
    }
    if (out == NULL || !PEM_write_bio_PrivateKey(out, pkey, NULL, NULL, 0, NULL, NULL) ||
        BIO_flush(out) <= 0) {
        rc = cli_local_error(o, "cannot write the PEM private key");
        goto done;
    }
    rc = CLI_EXIT_OK;
done:
    BIO_free(out);
    EVP_PKEY_free(pkey);
    parsec_clear_free(data, len);
    parsec_free(pub);
    cli_client_close(c);
    return rc;
}
