/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec-cli: shared declarations of the command files.
 */
#ifndef PARSEC_CLI_H
#define PARSEC_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "parsec_client.h"
#include "parsec_psa_crypto.h"

/* Exit codes. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_SERVICE 1     /* the service (or its answer) reported an error */
#define CLI_EXIT_USAGE 2       /* bad command line or unusable local input */
#define CLI_EXIT_UNREACHABLE 3 /* the service cannot be reached */

/* Default application name for Direct authentication, as parsec-tool uses. */
#define CLI_DEFAULT_APP_NAME "parsec-tool"

/* Most --san values one certificate request takes. */
#define CLI_MAX_SAN 32

typedef struct cli_opts {
    const char *command;
    /* global */
    int provider; /* -1 = discover */
    int auth;     /* -1 = discover */
    const char *app_name;
    const char *endpoint;
    long timeout_ms; /* -1 = library default */
    /* per command */
    const char *key_name;
    const char *in_file;
    const char *out_file;
    const char *sig_file;
    const char *client_name;
    const char *hash_name;
    long bits;
    long curve;
    long count;
    int sign_pkcs1, sign_pss, oaep, ecdh, exportable;
    int json; /* --json: machine-readable output of list-* and key-info */
    /* certificate subject (create-csr, create-self-signed), parsec-tool's spellings */
    const char *cn, *locality, *org, *org_unit, *state, *country, *serial_number;
    const char *san[CLI_MAX_SAN];
    size_t n_san;
    long days;
    int ccm;              /* create-aes-key: CCM instead of GCM */
    const char *aad_file; /* aead-*: additional authenticated data */
} cli_opts;

/* Reports a failed client call on stderr and returns the exit code. */
int cli_fail(const cli_opts *o, parsec_status st);
/* Frees a client from cli_client_open, keeping what cli_fail reports about its last failure. */
void cli_client_close(parsec_client *c);
/* Reports a local problem (bad input file, OpenSSL failure) and returns CLI_EXIT_USAGE. */
int cli_local_error(const cli_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Client configured from the global options; discovery as the command needs. */
int cli_client_open(const cli_opts *o, int need_auth, int need_provider, parsec_client **out);

int cli_read_file(const cli_opts *o, const char *path, uint8_t **data, size_t *len);
int cli_write_file(const cli_opts *o, const char *path, const uint8_t *data, size_t len);

const char *cli_provider_name(uint8_t id);
/* "RsaPss(SHA256)" etc. into buf. */
void cli_alg_describe(const parsec_alg *alg, char *buf, size_t len);

/* Opens a client and looks the key up, so operations go to the provider holding it. */
int cli_open_with_key(const cli_opts *o, parsec_client **c, uint8_t *provider,
                      parsec_key_attributes *attrs);
/* Key type, policy and usage from --sign-pkcs1/--sign-pss/--oaep/--ecdh/--hash/--exportable. */
int cli_rsa_policy(const cli_opts *o, parsec_key_attributes *a);
int cli_ecc_policy(const cli_opts *o, parsec_key_attributes *a);
/* Descriptions shared by list-keys and key-info. */
const char *cli_key_type_name(const parsec_key_attributes *a);
const char *cli_ecc_family_name(uint8_t family);
void cli_usage_describe(uint32_t usage, char *buf, size_t len);

/* Key commands (cli_keys.c). */
int cli_cmd_create_rsa_key(const cli_opts *o);
int cli_cmd_create_ecc_key(const cli_opts *o);
int cli_cmd_export_public_key(const cli_opts *o);
int cli_cmd_delete_key(const cli_opts *o);
int cli_cmd_sign(const cli_opts *o);
int cli_cmd_verify(const cli_opts *o);
int cli_cmd_encrypt(const cli_opts *o);
int cli_cmd_decrypt(const cli_opts *o);
int cli_cmd_generate_random(const cli_opts *o);
int cli_cmd_key_info(const cli_opts *o);
int cli_cmd_import_key(const cli_opts *o);
int cli_cmd_export_key(const cli_opts *o);

/* Certificates with the key in the service, signed through parsec.so (cli_x509.c). */
int cli_cmd_create_csr(const cli_opts *o);
int cli_cmd_create_self_signed(const cli_opts *o);

/* Shared by the command files: -k is given. */
int cli_need_key(const cli_opts *o);

/* The failure of st, or data written to -o FILE (stdout without -o). */
int cli_result_output(const cli_opts *o, parsec_status st, const uint8_t *data, size_t len);

/* Symmetric keys and AEAD (cli_aead.c). */
int cli_cmd_create_aes_key(const cli_opts *o);
int cli_cmd_aead_encrypt(const cli_opts *o);
int cli_cmd_aead_decrypt(const cli_opts *o);

/* Key attestation (cli_attest.c). */
int cli_cmd_prepare_key_attestation(const cli_opts *o);
int cli_cmd_attest_key(const cli_opts *o);

#endif
