/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec-cli: key attestation with TPM2_ActivateCredential (the TPM
 * backend's mechanism, docs/tpm.md).
 *
 *   prepare-key-attestation -k NAME -o PREFIX
 *     PREFIX.name    the key's TPM name (nameAlg || hash of its public area)
 *     PREFIX.pub     its public area (TPMT_PUBLIC), to check the name against
 *     PREFIX.ek.pem  the endorsement key's public key (SubjectPublicKeyInfo)
 *   A verifier then makes the challenge, e.g.
 *     tpm2_makecredential -T none -G rsa -u PREFIX.ek.pem -s SECRET \
 *         -n $(xxd -p -c 256 PREFIX.name) -o CHALLENGE
 *   attest-key -k NAME -i CHALLENGE [-o FILE]
 *     runs TPM2_ActivateCredential and writes the recovered secret.
 *
 * CHALLENGE is tpm2-tools' credential file (tpm2_makecredential -o): the
 * magic 0xBADCC0DE, version 1, then TPM2B_ID_OBJECT and
 * TPM2B_ENCRYPTED_SECRET, each with its 2-byte big-endian size.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsec_cli.h"

static int cli_attest_write(const cli_opts *o, const char *prefix, const char *suffix,
                            const uint8_t *data, size_t len)
{
    char path[4096];

    if ((size_t)snprintf(path, sizeof(path), "%s%s", prefix, suffix) >= sizeof(path))
        return cli_local_error(o, "output prefix '%s' is too long", prefix);
    return cli_write_file(o, path, data, len);
}

/* The EK arrives as DER RSAPublicKey; verifiers' tools read PEM SubjectPublicKeyInfo. */
static int cli_attest_write_ek(const cli_opts *o, const char *prefix, const uint8_t *der,
                               size_t len)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
    unsigned char *pem = NULL;
    BIO *bio = NULL;
    long pemlen;
    int rc;

    if (pkey == NULL || p != der + len)
        rc = cli_local_error(o, "the service's attesting key is not a DER RSAPublicKey");
    else if ((bio = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_PUBKEY(bio, pkey) != 1 ||
             (pemlen = BIO_get_mem_data(bio, (char **)&pem)) <= 0)
        rc = cli_local_error(o, "OpenSSL could not encode the attesting key");
    else
        rc = cli_attest_write(o, prefix, ".ek.pem", pem, (size_t)pemlen);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return rc;
}

int cli_cmd_prepare_key_attestation(const cli_opts *o)
{
    parsec_client *c = NULL;
    parsec_key_attributes attrs;
    uint8_t provider = 0;
    uint8_t *name = NULL, *pub = NULL, *ek = NULL;
    size_t namelen = 0, publen = 0, eklen = 0;
    parsec_status st;
    int rc;

    if (o->out_file == NULL)
        return cli_local_error(o, "prepare-key-attestation needs -o PREFIX (writes PREFIX.name, "
                                  "PREFIX.pub and PREFIX.ek.pem)");
    rc = cli_open_with_key(o, &c, &provider, &attrs);
    if (rc != CLI_EXIT_OK)
        goto done;
    st = parsec_prepare_key_attestation(c, provider, o->key_name, NULL, &name, &namelen, &pub,
                                        &publen, &ek, &eklen);
    if (st != PARSEC_SUCCESS) {
        rc = cli_fail(o, st);
        goto done;
    }
    rc = cli_attest_write(o, o->out_file, ".name", name, namelen);
    if (rc == CLI_EXIT_OK)
        rc = cli_attest_write(o, o->out_file, ".pub", pub, publen);
    if (rc == CLI_EXIT_OK)
        rc = cli_attest_write_ek(o, o->out_file, ek, eklen);
    if (rc == CLI_EXIT_OK) {
        printf("name: ");
        for (size_t i = 0; i < namelen; i++)
            printf("%02x", name[i]);
        printf("\n");
    }
done:
    parsec_free(name);
    parsec_free(pub);
    parsec_free(ek);
    parsec_client_free(c);
    return rc;
}

/* One TPM2B from the challenge file: 2-byte big-endian size, then the bytes. */
static int cli_attest_tpm2b(const uint8_t **p, const uint8_t *end, const uint8_t **data,
                            size_t *len)
{
    if (end - *p < 2)
        return 0;
    *len = ((size_t)(*p)[0] << 8) | (*p)[1];
    if ((size_t)(end - *p - 2) < *len || *len == 0)
        return 0;
    *data = *p + 2;
    *p += 2 + *len;
    return 1;
}

int cli_cmd_attest_key(const cli_opts *o)
{
    static const uint8_t magic[8] = {0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1};
    parsec_client *c = NULL;
    parsec_key_attributes attrs;
    uint8_t provider = 0;
    uint8_t *in = NULL, *cred = NULL;
    const uint8_t *p, *blob = NULL, *secret = NULL;
    size_t inlen = 0, credlen = 0, bloblen = 0, secretlen = 0;
    parsec_status st;
    int rc;

    if (o->in_file == NULL)
        return cli_local_error(o, "attest-key needs -i CHALLENGE (tpm2_makecredential's output)");
    rc = cli_open_with_key(o, &c, &provider, &attrs);
    if (rc != CLI_EXIT_OK)
        goto done;
    rc = cli_read_file(o, o->in_file, &in, &inlen);
    if (rc != CLI_EXIT_OK)
        goto done;
    p = in + sizeof(magic);
    if (inlen < sizeof(magic) || memcmp(in, magic, sizeof(magic)) != 0 ||
        !cli_attest_tpm2b(&p, in + inlen, &blob, &bloblen) ||
        !cli_attest_tpm2b(&p, in + inlen, &secret, &secretlen) || p != in + inlen) {
        rc = cli_local_error(o,
                             "%s is not a credential file (tpm2_makecredential -o: 0xBADCC0DE, "
                             "version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET)",
                             o->in_file);
        goto done;
    }
    st = parsec_attest_key(c, provider, o->key_name, NULL, blob, bloblen, secret, secretlen, &cred,
                           &credlen);
    if (st == PARSEC_PSA_ERROR_INVALID_ARGUMENT) {
        fprintf(stderr,
                "parsec-cli: %s: the TPM refused the challenge in %s: it was not made for key "
                "\"%s\" (its name) and this TPM's endorsement key (PsaErrorInvalidArgument)\n",
                o->command, o->in_file, o->key_name);
        rc = CLI_EXIT_SERVICE;
        goto done;
    }
    rc = cli_result_output(o, st, cred, credlen);
done:
    parsec_clear_free(cred, credlen);
    free(in);
    parsec_client_free(c);
    return rc;
}
