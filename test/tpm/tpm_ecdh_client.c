/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tpm_ecdh_client KEY PEER.pem: PsaRawKeyAgreement (ECDH) of the Parsec key
 * KEY with the public key in PEER.pem (any PEM public key OpenSSL reads);
 * prints the shared secret in hex. parsec-cli has no key-agreement command,
 * and the tests compare this with `openssl pkeyutl -derive`.
 * Exit: 0 success, 1 service error (status name on stderr), 2 usage/local.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "parsec_client.h"

int main(int argc, char **argv)
{
    parsec_alg ecdh = {.kind = PARSEC_ALG_KEY_AGREEMENT, .scheme = PARSEC_KA_ECDH};
    parsec_client *c = NULL;
    EVP_PKEY *peer = NULL;
    FILE *f = NULL;
    uint8_t point[256], *z = NULL;
    size_t plen = 0, zlen = 0;
    parsec_status st;
    int rc = 2;

    if (argc != 3) {
        fprintf(stderr, "usage: %s KEY PEER.pem\n", argv[0]);
        return 2;
    }
    f = fopen(argv[2], "r");
    if (f)
        peer = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (!peer || !EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, point,
                                                  sizeof(point), &plen)) {
        fprintf(stderr, "cannot read an EC public key from %s\n", argv[2]);
        goto done;
    }
    c = parsec_client_new();
    if (!c)
        goto done;
    st = parsec_client_discover(c, NULL);
    if (st == PARSEC_SUCCESS)
        st = parsec_raw_key_agreement(c, PARSEC_PROVIDER_DEFAULT, &ecdh, argv[1], point, plen, &z,
                                      &zlen);
    if (st != PARSEC_SUCCESS) {
        fprintf(stderr, "%s\n", parsec_status_name(st));
        rc = 1;
        goto done;
    }
    for (size_t i = 0; i < zlen; i++)
        printf("%02x", z[i]);
    printf("\n");
    rc = 0;

done:
    if (z)
        parsec_clear_free(z, zlen);
    parsec_client_free(c);
    EVP_PKEY_free(peer);
    if (f)
        fclose(f);
    return rc;
}
