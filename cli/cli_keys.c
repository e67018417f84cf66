/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec-cli key and crypto commands. OpenSSL does everything local:
 * hashing, ECDSA r||s <-> DER, public key PEM encoding.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parsec_cli.h"

#define CLI_SIGN_USAGE                                                                             \
    (PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH | PARSEC_USAGE_SIGN_MESSAGE |               \
     PARSEC_USAGE_VERIFY_MESSAGE)
#define CLI_CRYPT_USAGE (PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT)

int cli_need_key(const cli_opts *o)
{
    if (o->key_name != NULL)
        return CLI_EXIT_OK;
    fprintf(stderr, "parsec-cli: %s needs -k NAME\n", o->command);
    return CLI_EXIT_USAGE;
}

/* --hash for key creation: a digest name, or "any" for a wildcard policy. */
static int cli_policy_hash(const cli_opts *o, uint8_t dflt, uint8_t *out)
{
    if (o->hash_name == NULL) {
        *out = dflt;
        return CLI_EXIT_OK;
    }
    if (strcasecmp(o->hash_name, "any") == 0) {
        *out = PARSEC_HASH_ANY;
        return CLI_EXIT_OK;
    }
    *out = parsec_hash_from_ossl_name(o->hash_name);
    if (*out == PARSEC_HASH_NONE)
        return cli_local_error(o, "unknown hash '%s'", o->hash_name);
    return CLI_EXIT_OK;
}

/* Hash for an operation: --hash, else the policy's, else SHA-256 for wildcard policies. */
static int cli_operation_hash(const cli_opts *o, const parsec_alg *policy, uint8_t *out)
{
    if (o->hash_name != NULL) {
        *out = parsec_hash_from_ossl_name(o->hash_name);
        if (*out == PARSEC_HASH_NONE)
            return cli_local_error(o, "unknown hash '%s'", o->hash_name);
        return CLI_EXIT_OK;
    }
    *out = parsec_hash_length(policy->hash) ? policy->hash : PARSEC_HASH_SHA_256;
    return CLI_EXIT_OK;
}

/*
 * NotSupported carries no reason: ask the backend (CanDoCrypto, generate)
 * about variants of the refused key to name what it does not do.
 */
static void cli_explain_not_supported(parsec_client *c, const parsec_key_attributes *attrs)
{
    static const uint32_t rsa_sizes[] = {2048, 3072, 4096};
    uint8_t provider = parsec_client_get_provider(c);
    const char *backend = parsec_provider_short_name(provider);
    parsec_key_attributes probe = *attrs;
    char sizes[64] = "";
    size_t used = 0;

    if (attrs->usage & PARSEC_USAGE_EXPORT) {
        probe.usage &= ~(uint32_t)PARSEC_USAGE_EXPORT;
        if (parsec_can_do_crypto(c, PARSEC_PROVIDER_DEFAULT, 2, &probe) == PARSEC_SUCCESS) {
            fprintf(stderr,
                    "parsec-cli: the %s backend does not create exportable keys: leave"
                    " out --exportable, or choose a backend that does with -p\n",
                    backend);
            return;
        }
        probe.usage = attrs->usage;
    }
    if (attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR) {
        for (size_t i = 0; i < sizeof(rsa_sizes) / sizeof(rsa_sizes[0]); i++) {
            probe.bits = rsa_sizes[i];
            if (rsa_sizes[i] != attrs->bits &&
                parsec_can_do_crypto(c, PARSEC_PROVIDER_DEFAULT, 2, &probe) == PARSEC_SUCCESS)
                used += (size_t)snprintf(sizes + used, sizeof(sizes) - used, " %u", rsa_sizes[i]);
        }
        if (used > 0) {
            fprintf(stderr,
                    "parsec-cli: the %s backend does not create %u-bit RSA keys; it"
                    " creates:%s (-b BITS)\n",
                    backend, attrs->bits, sizes);
            return;
        }
    }
    fprintf(stderr,
            "parsec-cli: the %s backend does not support this key type or policy;"
            " parsecd logs which attribute it refused (log_level = info), and"
            " list-providers shows the other backends (-p NAME)\n",
            backend);
}

static int cli_generate(const cli_opts *o, const parsec_key_attributes *attrs)
{
    parsec_client *c;
    parsec_status st;
    char alg[64];
    int rc = cli_client_open(o, 1, 1, &c);

    if (rc != CLI_EXIT_OK)
        return rc;
    st = parsec_generate_key(c, PARSEC_PROVIDER_DEFAULT, o->key_name, attrs);
    if (st != PARSEC_SUCCESS) {
        rc = cli_fail(o, st);
        if (st == PARSEC_PSA_ERROR_NOT_SUPPORTED)
            cli_explain_not_supported(c, attrs);
        cli_client_close(c);
        return rc;
    }
    cli_client_close(c);
    cli_alg_describe(&attrs->alg, alg, sizeof(alg));
    printf("Key \"%s\" created (%s, %u bits, %s).\n", o->key_name,
           attrs->type == PARSEC_KEY_TYPE_RSA_KEY_PAIR ? "RSA" : "ECC", attrs->bits, alg);
    return CLI_EXIT_OK;
}

int cli_rsa_policy(const cli_opts *o, parsec_key_attributes *a)
{
    uint8_t hash;
    int rc;

    if (o->sign_pkcs1 + o->sign_pss + o->oaep > 1)
        return cli_local_error(o, "choose one of --sign-pkcs1, --sign-pss, --oaep");
    if (o->ecdh)
        return cli_local_error(o, "--ecdh applies to ECC keys");
    rc = cli_policy_hash(o, PARSEC_HASH_SHA_256, &hash);
    if (rc != CLI_EXIT_OK)
        return rc;
    a->type = PARSEC_KEY_TYPE_RSA_KEY_PAIR;
    if (o->sign_pkcs1 || o->sign_pss) {
        a->usage = CLI_SIGN_USAGE;
        a->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
        a->alg.scheme = o->sign_pss ? PARSEC_SIGN_RSA_PSS : PARSEC_SIGN_RSA_PKCS1V15;
        a->alg.hash = hash;
    } else if (o->oaep) {
        if (hash == PARSEC_HASH_ANY)
            return cli_local_error(o, "OAEP needs a specific hash");
        a->usage = CLI_CRYPT_USAGE;
        a->alg.kind = PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
        a->alg.scheme = PARSEC_ENCRYPT_RSA_OAEP;
        a->alg.hash = hash;
    } else {
        /* parsec-tool's default: an encryption key. */
        a->usage = CLI_CRYPT_USAGE;
        a->alg.kind = PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
        a->alg.scheme = PARSEC_ENCRYPT_RSA_PKCS1V15;
    }
    if (o->exportable)
        a->usage |= PARSEC_USAGE_EXPORT;
    return CLI_EXIT_OK;
}

int cli_cmd_create_rsa_key(const cli_opts *o)
{
    parsec_key_attributes a;
    int rc = cli_need_key(o);

    if (rc != CLI_EXIT_OK)
        return rc;
    memset(&a, 0, sizeof(a));
    rc = cli_rsa_policy(o, &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    a.bits = o->bits > 0 ? (uint32_t)o->bits : 2048;
    return cli_generate(o, &a);
}

int cli_ecc_policy(const cli_opts *o, parsec_key_attributes *a)
{
    uint8_t hash, dflt;
    int rc;

    if (o->sign_pkcs1 || o->sign_pss || o->oaep)
        return cli_local_error(o, "RSA options do not apply to ECC keys");
    dflt = a->bits <= 256   ? PARSEC_HASH_SHA_256
           : a->bits <= 384 ? PARSEC_HASH_SHA_384
                            : PARSEC_HASH_SHA_512;
    rc = cli_policy_hash(o, dflt, &hash);
    if (rc != CLI_EXIT_OK)
        return rc;
    a->type = PARSEC_KEY_TYPE_ECC_KEY_PAIR;
    a->ecc_family = PARSEC_ECC_FAMILY_SECP_R1;
    if (o->ecdh) {
        a->usage = PARSEC_USAGE_DERIVE;
        a->alg.kind = PARSEC_ALG_KEY_AGREEMENT;
        a->alg.scheme = PARSEC_KA_ECDH;
    } else {
        a->usage = CLI_SIGN_USAGE;
        a->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
        a->alg.scheme = PARSEC_SIGN_ECDSA;
        a->alg.hash = hash;
    }
    if (o->exportable)
        a->usage |= PARSEC_USAGE_EXPORT;
    return CLI_EXIT_OK;
}

int cli_cmd_create_ecc_key(const cli_opts *o)
{
    parsec_key_attributes a;
    long curve = o->curve > 0 ? o->curve : 256;
    int rc = cli_need_key(o);

    if (rc != CLI_EXIT_OK)
        return rc;
    if (curve != 256 && curve != 384 && curve != 521)
        return cli_local_error(o, "unsupported curve size %ld (256, 384, 521)", curve);
    memset(&a, 0, sizeof(a));
    a.bits = (uint32_t)curve;
    rc = cli_ecc_policy(o, &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    return cli_generate(o, &a);
}

int cli_open_with_key(const cli_opts *o, parsec_client **c, uint8_t *provider,
                      parsec_key_attributes *attrs)
{
    parsec_status st;
    int rc = cli_need_key(o);

    if (rc != CLI_EXIT_OK)
        return rc;
    rc = cli_client_open(o, 1, 0, c);
    if (rc != CLI_EXIT_OK)
        return rc;
    st = parsec_key_attributes_get(*c, o->key_name, provider, attrs);
    if (st != PARSEC_SUCCESS) {
        cli_client_close(*c);
        *c = NULL;
        return cli_fail(o, st);
    }
    /* An explicit -p wins: the service then answers for that provider. */
    if (o->provider > 0)
        *provider = (uint8_t)o->provider;
    return CLI_EXIT_OK;
}

static int cli_print_base64(const cli_opts *o, const uint8_t *data, size_t len)
{
    size_t cap = 4 * ((len + 2) / 3) + 1;
    unsigned char *b64 = malloc(cap);

    if (b64 == NULL)
        return cli_local_error(o, "out of memory");
    EVP_EncodeBlock(b64, data, (int)len);
    printf("%s\n", b64);
    free(b64);
    return CLI_EXIT_OK;
}

static int cli_output(const cli_opts *o, const uint8_t *data, size_t len)
{
    if (o->out_file != NULL)
        return cli_write_file(o, o->out_file, data, len);
    return cli_print_base64(o, data, len);
}

static int cli_digest(const cli_opts *o, uint8_t hash, const uint8_t *in, size_t inlen, uint8_t *md,
                      size_t *mdlen)
{
    EVP_MD *alg = EVP_MD_fetch(NULL, parsec_hash_ossl_name(hash), NULL);
    unsigned int len = 0;
    int ok;

    if (alg == NULL)
        return cli_local_error(o, "OpenSSL has no %s", parsec_hash_ossl_name(hash));
    ok = EVP_Digest(in, inlen, md, &len, alg, NULL);
    EVP_MD_free(alg);
    if (!ok)
        return cli_local_error(o, "hashing failed");
    *mdlen = len;
    return CLI_EXIT_OK;
}

static int cli_is_ecdsa(uint8_t scheme)
{
    return scheme == PARSEC_SIGN_ECDSA || scheme == PARSEC_SIGN_DETERMINISTIC_ECDSA ||
           scheme == PARSEC_SIGN_ECDSA_ANY;
}

/* Signing algorithm to request for a key: its policy, with a specific hash. */
static int cli_sign_alg(const cli_opts *o, const parsec_key_attributes *attrs, parsec_alg *req)
{
    uint8_t hash;
    int rc;

    if (attrs->alg.kind != PARSEC_ALG_ASYMMETRIC_SIGNATURE)
        return cli_local_error(o, "key \"%s\" is not a signing key", o->key_name);
    if (attrs->alg.scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW)
        return cli_local_error(o, "raw PKCS#1 v1.5 keys are not supported by parsec-cli");
    rc = cli_operation_hash(o, &attrs->alg, &hash);
    if (rc != CLI_EXIT_OK)
        return rc;
    *req = attrs->alg;
    /* EcdsaAny signs whatever digest it gets; the request names no hash. */
    req->hash = attrs->alg.scheme == PARSEC_SIGN_ECDSA_ANY ? 0 : hash;
    return CLI_EXIT_OK;
}

int cli_cmd_sign(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes attrs;
    parsec_alg req;
    uint8_t provider = 0, md[EVP_MAX_MD_SIZE];
    uint8_t *in = NULL, *sig = NULL, *der = NULL;
    size_t inlen = 0, mdlen = 0, siglen = 0, derlen = 0;
    parsec_status st;
    int rc;

    if (o->in_file == NULL)
        return cli_local_error(o, "sign needs -i FILE");
    rc = cli_open_with_key(o, &c, &provider, &attrs);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = cli_sign_alg(o, &attrs, &req);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = cli_read_file(o, o->in_file, &in, &inlen);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = cli_digest(o, req.hash ? req.hash : PARSEC_HASH_SHA_256, in, inlen, md, &mdlen);
    if (rc != CLI_EXIT_OK)
        goto done;
    st = parsec_sign_hash(c, provider, o->key_name, &req, md, mdlen, &sig, &siglen);
    if (st != PARSEC_SUCCESS) {
        rc = cli_fail(o, st);
        goto done;
    }
    if (cli_is_ecdsa(req.scheme)) {
        if (!parsec_ecdsa_raw_to_der(sig, siglen, &der, &derlen)) {
            rc = cli_local_error(o, "the service returned a malformed ECDSA signature");
            goto done;
        }
        rc = cli_output(o, der, derlen);
    } else {
        rc = cli_output(o, sig, siglen);
    }
done:
    OPENSSL_free(der);
    parsec_free(sig);
    free(in);
    cli_client_close(c);
    return rc;
}

int cli_cmd_verify(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes attrs;
    parsec_alg req;
    uint8_t provider = 0, md[EVP_MAX_MD_SIZE];
    uint8_t *in = NULL, *sig = NULL, *raw = NULL;
    size_t inlen = 0, mdlen = 0, siglen = 0;
    parsec_status st;
    int rc;

    if (o->in_file == NULL || o->sig_file == NULL)
        return cli_local_error(o, "verify needs -i FILE and -s SIGFILE");
    rc = cli_open_with_key(o, &c, &provider, &attrs);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = cli_sign_alg(o, &attrs, &req);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = cli_read_file(o, o->in_file, &in, &inlen);
    if (rc == CLI_EXIT_OK)
        rc = cli_read_file(o, o->sig_file, &sig, &siglen);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = cli_digest(o, req.hash ? req.hash : PARSEC_HASH_SHA_256, in, inlen, md, &mdlen);
    if (rc != CLI_EXIT_OK)
        goto done;
    if (cli_is_ecdsa(req.scheme)) {
        size_t half = parsec_psa_ec_coord_len(attrs.bits);

        raw = OPENSSL_malloc(2 * half);
        if (raw == NULL || !parsec_ecdsa_der_to_raw(sig, siglen, half, raw)) {
            rc = cli_local_error(o, "%s is not a DER ECDSA signature for this key", o->sig_file);
            goto done;
        }
        st = parsec_verify_hash(c, provider, o->key_name, &req, md, mdlen, raw, 2 * half);
    } else {
        st = parsec_verify_hash(c, provider, o->key_name, &req, md, mdlen, sig, siglen);
    }
    if (st != PARSEC_SUCCESS) {
        rc = cli_fail(o, st);
        goto done;
    }
    printf("Signature verified.\n");
done:
    OPENSSL_free(raw);
    free(sig);
    free(in);
    cli_client_close(c);
    return rc;
}

/*
 * encrypt/decrypt: needs -i FILE and an encryption key; opens the client
 * (*c, freed by the caller even on failure) and reads the input into *in.
 */
static int cli_open_crypt_input(const cli_opts *o, const char *what, parsec_client **c,
                                uint8_t *provider, parsec_key_attributes *attrs, uint8_t **in,
                                size_t *inlen)
{
    int rc;

    if (o->in_file == NULL)
        return cli_local_error(o, "%s needs -i FILE", what);
    rc = cli_open_with_key(o, c, provider, attrs);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (attrs->alg.kind != PARSEC_ALG_ASYMMETRIC_ENCRYPTION)
        return cli_local_error(o, "key \"%s\" is not an encryption key", o->key_name);
    return cli_read_file(o, o->in_file, in, inlen);
}

int cli_cmd_encrypt(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes attrs;
    uint8_t provider = 0;
    uint8_t *in = NULL, *out = NULL;
    size_t inlen = 0, outlen = 0;
    parsec_status st;
    int rc;

    rc = cli_open_crypt_input(o, "encrypt", &c, &provider, &attrs, &in, &inlen);
    if (rc != CLI_EXIT_OK)
        goto done;
    st = parsec_asymmetric_encrypt(c, provider, o->key_name, &attrs.alg, in, inlen, NULL, 0, &out,
                                   &outlen);
    if (st != PARSEC_SUCCESS) {
        rc = cli_fail(o, st);
        goto done;
    }
    rc = cli_output(o, out, outlen);
done:
    parsec_free(out);
    if (in != NULL)
        OPENSSL_cleanse(in, inlen);
    free(in);
    cli_client_close(c);
    return rc;
}

int cli_cmd_decrypt(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes attrs;
    uint8_t provider = 0;
    uint8_t *in = NULL, *out = NULL;
    size_t inlen = 0, outlen = 0;
    parsec_status st;
    int rc;

    rc = cli_open_crypt_input(o, "decrypt", &c, &provider, &attrs, &in, &inlen);
    if (rc != CLI_EXIT_OK)
        goto done;
    st = parsec_asymmetric_decrypt(c, provider, o->key_name, &attrs.alg, in, inlen, NULL, 0, &out,
                                   &outlen);
    if (st != PARSEC_SUCCESS) {
        rc = cli_fail(o, st);
        goto done;
    }
    rc = cli_write_file(o, o->out_file ? o->out_file : "-", out, outlen);
done:
    parsec_clear_free(out, outlen);
    free(in);
    cli_client_close(c);
    return rc;
}

int cli_cmd_delete_key(const cli_opts *o)
{
    parsec_client *c;
    parsec_key_attributes attrs;
    uint8_t provider = PARSEC_PROVIDER_DEFAULT;
    parsec_status st;
    int rc = cli_need_key(o);

    if (rc != CLI_EXIT_OK)
        return rc;
    rc = cli_client_open(o, 1, 1, &c);
    if (rc != CLI_EXIT_OK)
        return rc;
    /* Destroy where the key lives; an unknown key goes to the default provider, which says so. */
    if (o->provider < 0 &&
        parsec_key_attributes_get(c, o->key_name, &provider, &attrs) != PARSEC_SUCCESS)
        provider = PARSEC_PROVIDER_DEFAULT;
    st = parsec_destroy_key(c, provider, o->key_name);
    cli_client_close(c);
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    printf("Key \"%s\" deleted.\n", o->key_name);
    return CLI_EXIT_OK;
}

int cli_cmd_generate_random(const cli_opts *o)
{
    parsec_client *c;
    uint8_t *buf = NULL;
    parsec_status st;
    int rc;

    if (o->count <= 0)
        return cli_local_error(o, "generate-random needs -n N");
    rc = cli_client_open(o, 0, 1, &c);
    if (rc != CLI_EXIT_OK)
        return rc;
    st = parsec_generate_random(c, PARSEC_PROVIDER_DEFAULT, (size_t)o->count, &buf);
    cli_client_close(c);
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    if (o->out_file != NULL) {
        rc = cli_write_file(o, o->out_file, buf, (size_t)o->count);
    } else {
        for (long i = 0; i < o->count; i++)
            printf("%02x", buf[i]);
        putchar('\n');
    }
    parsec_clear_free(buf, (size_t)o->count);
    return rc;
}

int cli_cmd_export_public_key(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes attrs;
    uint8_t provider = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    parsec_status st;
    int rc;

    rc = cli_open_with_key(o, &c, &provider, &attrs);
    if (rc != CLI_EXIT_OK)
        goto done;
    st = parsec_export_public_key(c, provider, o->key_name, &data, &len);
    if (st != PARSEC_SUCCESS) {
        rc = cli_fail(o, st);
        goto done;
    }
    pkey = parsec_psa_public_key(NULL, NULL, &attrs, data, len);
    if (pkey == NULL) {
        rc = cli_local_error(o, "cannot convert the exported key to SubjectPublicKeyInfo");
        goto done;
    }
    bio = o->out_file ? BIO_new_file(o->out_file, "w") : BIO_new_fp(stdout, BIO_NOCLOSE);
    if (bio == NULL) {
        rc = cli_local_error(o, "cannot create %s", o->out_file);
        goto done;
    }
    if (!PEM_write_bio_PUBKEY(bio, pkey) || BIO_flush(bio) <= 0) {
        rc = cli_local_error(o, "cannot write the PEM key");
        goto done;
    }
done:
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    parsec_free(data);
    cli_client_close(c);
    return rc;
}
