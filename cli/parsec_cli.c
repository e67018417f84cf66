/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec-cli: command-line client of the Parsec service (core commands,
 * option parsing, output helpers). Key and crypto commands: cli_keys.c.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli_json.h"
#include "config.h"
#include "parsec_cli.h"
#include "parsec_wire.h"

/* Largest input file the CLI reads (requests are limited to 1 MiB by default anyway). */
#define CLI_MAX_INPUT (16u << 20)

static const char cli_global_help[] =
    "Usage: parsec-cli [global options] COMMAND [command options]\n"
    "       parsec-cli help [COMMAND]\n"
    "\n"
    "Global options:\n"
    "  -p, --provider NAME    software (alias mbed-crypto), pkcs11, tpm, or an ID 1..5\n"
    "                         (default: the service's first provider)\n"
    "  -a, --auth TYPE        none | direct | unix (default: what the service offers)\n"
    "      --app NAME         application name for direct authentication "
    "(default: " CLI_DEFAULT_APP_NAME ")\n"
    "                         (--app-name is accepted too)\n"
    "  -e, --endpoint URI     service endpoint (default: $PARSEC_SERVICE_ENDPOINT "
    "or " PARSEC_DEFAULT_ENDPOINT ")\n"
    "  -t, --timeout MS       connect/read/write timeout in milliseconds (0 = none)\n"
    "      --json             JSON output for list-providers, list-authenticators, list-opcodes,\n"
    "                         list-keys, list-clients and key-info\n"
    "  -h, --help             this help;  -V, --version  print the version\n"
    "      --list-commands    the command names, one a line (for shell completion)\n";

static const char cli_options_help[] =
    "Command options:\n"
    "  -k, --key-name NAME    key name (--key too)\n"
    "  -b, --bits BITS        key size: RSA (default 2048), AES 128|192|256 (default 256)\n"
    "  -c, --curve BITS       ECC curve size 256|384|521 (create-ecc-key; default 256)\n"
    "      --client NAME      client to delete (delete-client; -c too)\n"
    "  -i, --input FILE       input file, - for stdin (--in too)\n"
    "  -o, --output FILE      output file (--out too)\n"
    "  -s, --signature FILE   signature to verify\n"
    "  -n, --nbytes N         random bytes to generate\n"
    "      --sign-pkcs1       RSA signing key, PKCS#1 v1.5 (parsec-tool: --for-signing)\n"
    "      --sign-pss         RSA signing key, PSS (parsec-tool: --for-signing-pss)\n"
    "      --oaep             RSA encryption key, OAEP\n"
    "      --ecdh             ECC key agreement key\n"
    "      --exportable       the private key may be exported (export-key)\n"
    "      --ccm              create-aes-key: AES-CCM instead of AES-GCM\n"
    "      --aad FILE         aead-encrypt/aead-decrypt: additional authenticated data\n"
    "      --hash H           policy or operation hash: sha256, sha384, sha512, ... or any\n"
    "      --cn --c --st --l --o --ou --serialNumber VALUE\n"
    "                         certificate subject: common name, country, state, locality,\n"
    "                         organization, organizational unit, serial number\n"
    "      --san NAME         subject alternative name, once per name: DNS:x, IP:y,\n"
    "                         email:z, URI:u or a bare DNS name\n"
    "      --days N           validity of create-self-signed (default 365)\n"
    "\n"
    "Exit status: 0 success, 1 the service reported an error, 2 usage error,\n"
    "3 the service cannot be reached.\n";

static int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The application name direct authentication sends (--app or the default). */
static const char *cli_app_name_in_use = CLI_DEFAULT_APP_NAME;

static int cli_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("parsec-cli: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'parsec-cli --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}

/*
 * The command's client and what it knew about its last failure: commands
 * free their client before reporting, so cli_client_close keeps the detail.
 */
static parsec_client *cli_active_client;
static char cli_saved_detail[512];
static char cli_saved_identity[160];

static void cli_describe_identity(const parsec_client *c, char *buf, size_t len)
{
    switch (parsec_client_get_auth(c)) {
    case PARSEC_AUTH_DIRECT:
        snprintf(buf, len, "application '%s' (direct authentication)", cli_app_name_in_use);
        break;
    case PARSEC_AUTH_UNIX_PEER:
        snprintf(buf, len, "uid %ld (unix-peer-credentials)", (long)getuid());
        break;
    default:
        snprintf(buf, len, "an unauthenticated client");
        break;
    }
}

void cli_client_close(parsec_client *c)
{
    if (c != NULL && c == cli_active_client) {
        const char *detail = parsec_client_last_error(c);
        snprintf(cli_saved_detail, sizeof(cli_saved_detail), "%s", detail ? detail : "");
        cli_describe_identity(c, cli_saved_identity, sizeof(cli_saved_identity));
        cli_active_client = NULL;
    }
    parsec_client_free(c);
}

int cli_fail(const cli_opts *o, parsec_status st)
{
    const char *detail = cli_saved_detail;

    if (cli_active_client != NULL) {
        detail = parsec_client_last_error(cli_active_client);
        cli_describe_identity(cli_active_client, cli_saved_identity, sizeof(cli_saved_identity));
    }
    fprintf(stderr, "parsec-cli: %s: %s (%s)\n", o->command, parsec_status_message(st),
            parsec_status_name(st));
    if (detail != NULL && detail[0] != '\0')
        fprintf(stderr, "parsec-cli: %s\n", detail);
    switch (st) {
    case PARSEC_AUTHENTICATOR_NOT_REGISTERED:
    case PARSEC_AUTHENTICATOR_DOES_NOT_EXIST:
        fprintf(stderr, "parsec-cli: choose the service's authenticator with --auth (none,"
                        " direct, unix), or leave --auth out to use what it offers\n");
        break;
    case PARSEC_ADMIN_OPERATION:
        fprintf(stderr,
                "parsec-cli: %s is reserved to administrators: add this client, %s,"
                " to 'admins' in [authenticator] of parsecd.conf and restart parsecd\n",
                o->command, cli_saved_identity);
        break;
    case PARSEC_CLIENT_ERROR_NO_AUTHENTICATOR:
        fprintf(stderr, "parsec-cli: for direct authentication pass --auth direct"
                        " (and --app NAME)\n");
        break;
    default:
        break;
    }
    switch (st) {
    case PARSEC_CLIENT_ERROR_CONNECT:
    case PARSEC_CLIENT_ERROR_TIMEOUT:
    case PARSEC_CLIENT_ERROR_IO:
    case PARSEC_CLIENT_ERROR_ENDPOINT:
        return CLI_EXIT_UNREACHABLE;
    case PARSEC_CLIENT_ERROR_ARGUMENT:
        return CLI_EXIT_USAGE;
    default:
        return CLI_EXIT_SERVICE;
    }
}

int cli_local_error(const cli_opts *o, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "parsec-cli: %s: ", o->command);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

int cli_client_open(const cli_opts *o, int need_auth, int need_provider, parsec_client **out)
{
    parsec_client *c = parsec_client_new();
    parsec_status st;
    int rc;
    const char *app = o->app_name ? o->app_name : CLI_DEFAULT_APP_NAME;

    *out = NULL;
    if (c == NULL)
        return cli_fail(o, PARSEC_CLIENT_ERROR_MEMORY);
    cli_app_name_in_use = app;
    cli_active_client = c;
    if (o->endpoint != NULL) {
        st = parsec_client_set_endpoint(c, o->endpoint);
        if (st != PARSEC_SUCCESS) {
            cli_client_close(c);
            return cli_usage("invalid endpoint '%s' (expected unix:/path)", o->endpoint);
        }
    } else if (parsec_client_get_endpoint(c)[0] == '\0') {
        cli_client_close(c);
        return cli_usage("invalid %s (expected unix:/path)", PARSEC_ENDPOINT_ENV);
    }
    if (o->timeout_ms >= 0)
        parsec_client_set_timeout(c, (unsigned int)o->timeout_ms);
    if (o->provider >= 0)
        parsec_client_set_provider(c, (uint8_t)o->provider);
    if (o->auth >= 0) {
        st = parsec_client_set_auth(c, (uint8_t)o->auth, app);
        if (st != PARSEC_SUCCESS) {
            rc = cli_fail(o, st);
            cli_client_close(c);
            return rc;
        }
    }
    if (need_auth || need_provider) {
        st = parsec_client_discover(c, app);
        if (st == PARSEC_CLIENT_ERROR_NO_PROVIDER && !need_provider)
            st = PARSEC_SUCCESS;
        if (st != PARSEC_SUCCESS) {
            rc = cli_fail(o, st);
            cli_client_close(c);
            return rc;
        }
    }
    *out = c;
    return CLI_EXIT_OK;
}

int cli_read_file(const cli_opts *o, const char *path, uint8_t **data, size_t *len)
{
    FILE *f = NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, used = 0;
    int rc = CLI_EXIT_USAGE;

    *data = NULL;
    *len = 0;
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL)
        return cli_local_error(o, "cannot open %s: %s", path, strerror(errno));
    for (;;) {
        size_t n;
        if (used == cap) {
            uint8_t *nb;
            if (cap >= CLI_MAX_INPUT) {
                cli_local_error(o, "%s is larger than %u bytes", path, CLI_MAX_INPUT);
                goto done;
            }
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap + 1);
            if (nb == NULL) {
                cli_local_error(o, "out of memory");
                goto done;
            }
            buf = nb;
        }
        n = fread(buf + used, 1, cap - used, f);
        used += n;
        if (n == 0) {
            if (ferror(f)) {
                cli_local_error(o, "cannot read %s: %s", path, strerror(errno));
                goto done;
            }
            break;
        }
    }
    *data = buf;
    *len = used;
    buf = NULL;
    rc = CLI_EXIT_OK;
done:
    if (f != stdin)
        fclose(f);
    free(buf);
    return rc;
}

int cli_write_file(const cli_opts *o, const char *path, const uint8_t *data, size_t len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    int bad;

    if (f == NULL)
        return cli_local_error(o, "cannot create %s: %s", path, strerror(errno));
    bad = len > 0 && fwrite(data, 1, len, f) != len;
    if (f == stdout)
        bad |= fflush(f) != 0;
    else
        bad |= fclose(f) != 0;
    if (bad)
        return cli_local_error(o, "cannot write %s: %s", path, strerror(errno));
    return CLI_EXIT_OK;
}

const char *cli_provider_name(uint8_t id)
{
    static const char *const names[] = {
        "Core provider", "Mbed Crypto provider",     "PKCS #11 provider",
        "TPM provider",  "Trusted Service provider", "CryptoAuthentication Library provider",
    };
    return id < sizeof(names) / sizeof(names[0]) ? names[id] : "unknown provider";
}

static const char *cli_auth_name(uint8_t id)
{
    static const char *const names[] = {
        "No authentication",
        "Direct authentication",
        "JWT authentication",
        "Unix peer credentials authentication",
        "JWT SPIFFE Verifiable Identity Document",
    };
    return id < sizeof(names) / sizeof(names[0]) ? names[id] : "unknown authenticator";
}

static const char *cli_hash_label(uint8_t hash)
{
    if (hash == PARSEC_HASH_ANY)
        return "any hash";
    return parsec_hash_ossl_name(hash) ? parsec_hash_ossl_name(hash) : "?";
}

void cli_alg_describe(const parsec_alg *alg, char *buf, size_t len)
{
    static const char *const sign_names[] = {
        "?",     "RsaPkcs1v15Sign", "RsaPkcs1v15SignRaw", "RsaPss",
        "Ecdsa", "EcdsaAny",        "DeterministicEcdsa",
    };
    switch (alg->kind) {
    case PARSEC_ALG_NONE:
        snprintf(buf, len, "None");
        break;
    case PARSEC_ALG_HASH:
        snprintf(buf, len, "Hash(%s)", cli_hash_label(alg->hash));
        break;
    case PARSEC_ALG_ASYMMETRIC_SIGNATURE:
        if (alg->scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW || alg->scheme == PARSEC_SIGN_ECDSA_ANY)
            snprintf(buf, len, "%s", sign_names[alg->scheme]);
        else
            snprintf(buf, len, "%s(%s)", alg->scheme <= 6 ? sign_names[alg->scheme] : "?",
                     cli_hash_label(alg->hash));
        break;
    case PARSEC_ALG_ASYMMETRIC_ENCRYPTION:
        if (alg->scheme == PARSEC_ENCRYPT_RSA_OAEP)
            snprintf(buf, len, "RsaOaep(%s)", cli_hash_label(alg->hash));
        else
            snprintf(buf, len, "RsaPkcs1v15Crypt");
        break;
    case PARSEC_ALG_KEY_AGREEMENT:
        snprintf(buf, len, "%s",
                 alg->scheme == PARSEC_KA_ECDH   ? "Ecdh"
                 : alg->scheme == PARSEC_KA_FFDH ? "Ffdh"
                                                 : "KeyAgreement");
        break;
    case PARSEC_ALG_MAC:
        snprintf(buf, len, "Mac");
        break;
    case PARSEC_ALG_CIPHER:
        snprintf(buf, len, "Cipher");
        break;
    case PARSEC_ALG_AEAD: {
        static const char *const aead_names[] = {"Aead", "Ccm", "Gcm", "Chacha20Poly1305"};
        const char *name = alg->scheme <= 3 ? aead_names[alg->scheme] : "Aead";

        if (alg->hash != 0)
            snprintf(buf, len, "%s(tag %u bytes)", name, alg->hash);
        else
            snprintf(buf, len, "%s", name);
        break;
    }
    case PARSEC_ALG_KEY_DERIVATION:
        snprintf(buf, len, "KeyDerivation");
        break;
    default:
        snprintf(buf, len, "?");
        break;
    }
}

const char *cli_key_type_name(const parsec_key_attributes *a)
{
    static const char *const names[] = {
        "?",
        "raw data",
        "HMAC key",
        "derivation key",
        "AES key",
        "DES key",
        "Camellia key",
        "ARC4 key",
        "ChaCha20 key",
        "RSA public key",
        "RSA key pair",
        "ECC key pair",
        "ECC public key",
        "DH key pair",
        "DH public key",
    };
    return a->type < sizeof(names) / sizeof(names[0]) ? names[a->type] : "?";
}

const char *cli_ecc_family_name(uint8_t family)
{
    static const char *const names[] = {
        "?",       "SECP K1", "SECP R1",        "SECP R2", "SECT K1",
        "SECT R1", "SECT R2", "Brainpool P R1", "FRP",     "Montgomery",
    };
    return family < sizeof(names) / sizeof(names[0]) ? names[family] : "?";
}

void cli_usage_describe(uint32_t usage, char *buf, size_t len)
{
    static const char *const names[] = {
        "export",       "copy",           "cache",     "encrypt",     "decrypt",
        "sign-message", "verify-message", "sign-hash", "verify-hash", "derive",
    };
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(usage & (1u << i)))
            continue;
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s", used ? ", " : "",
                                 names[i]);
    }
    if (used == 0)
        snprintf(buf, len, "none");
}

/* ---- core commands ---- */

static int cli_cmd_ping(const cli_opts *o)
{
    parsec_client *c;
    uint8_t maj = 0, min = 0;
    parsec_status st;
    int rc = cli_client_open(o, 0, 0, &c);

    if (rc != CLI_EXIT_OK)
        return rc;
    st = parsec_ping(c, &maj, &min);
    cli_client_close(c);
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    printf("Service wire protocol version: %u.%u\n", maj, min);
    return CLI_EXIT_OK;
}

static int cli_cmd_list_providers(const cli_opts *o)
{
    parsec_client *c;
    parsec_provider_info *p = NULL;
    size_t n = 0;
    parsec_status st;
    int rc = cli_client_open(o, 0, 0, &c);

    if (rc != CLI_EXIT_OK)
        return rc;
    st = parsec_list_providers(c, &p, &n);
    cli_client_close(c);
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    if (o->json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            json_object *e =
                cli_json_entry(p[i].id, parsec_provider_short_name(p[i].id), p[i].description,
                               p[i].version_maj, p[i].version_min, p[i].version_rev);
            cli_json_add_string(e, "vendor", p[i].vendor);
            cli_json_add_string(e, "uuid", p[i].uuid);
            json_object_array_add(arr, e);
        }
        parsec_provider_info_free(p, n);
        return cli_json_print(o, arr);
    }
    printf("Available providers:\n");
    for (size_t i = 0; i < n; i++) {
        printf("ID: 0x%02x (%s)\n", p[i].id, cli_provider_name(p[i].id));
        printf("Description: %s\n", p[i].description);
        printf("Version: %u.%u.%u\n", p[i].version_maj, p[i].version_min, p[i].version_rev);
        printf("Vendor: %s\n", p[i].vendor[0] ? p[i].vendor : "Unspecified");
        printf("UUID: %s\n", p[i].uuid);
        if (i + 1 < n)
            putchar('\n');
    }
    parsec_provider_info_free(p, n);
    return CLI_EXIT_OK;
}

static int cli_cmd_list_authenticators(const cli_opts *o)
{
    parsec_client *c;
    parsec_authenticator_info *a = NULL;
    size_t n = 0;
    parsec_status st;
    int rc = cli_client_open(o, 0, 0, &c);

    if (rc != CLI_EXIT_OK)
        return rc;
    st = parsec_list_authenticators(c, &a, &n);
    cli_client_close(c);
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    if (o->json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            json_object_array_add(arr, cli_json_entry(a[i].id, cli_auth_name(a[i].id),
                                                      a[i].description, a[i].version_maj,
                                                      a[i].version_min, a[i].version_rev));
        }
        parsec_authenticator_info_free(a, n);
        return cli_json_print(o, arr);
    }
    printf("Available authenticators:\n");
    for (size_t i = 0; i < n; i++) {
        printf("ID: 0x%02x (%s)\n", a[i].id, cli_auth_name(a[i].id));
        printf("Description: %s\n", a[i].description);
        printf("Version: %u.%u.%u\n", a[i].version_maj, a[i].version_min, a[i].version_rev);
        if (i + 1 < n)
            putchar('\n');
    }
    parsec_authenticator_info_free(a, n);
    return CLI_EXIT_OK;
}

static int cli_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cli_cmd_list_opcodes(const cli_opts *o)
{
    parsec_client *c;
    uint32_t *ops = NULL;
    size_t n = 0;
    parsec_status st;
    uint8_t provider;
    /* Without -p, ask about the service's default provider. */
    int rc = cli_client_open(o, 0, o->provider < 0, &c);

    if (rc != CLI_EXIT_OK)
        return rc;
    provider = o->provider >= 0 ? (uint8_t)o->provider : parsec_client_get_provider(c);
    st = parsec_list_opcodes(c, provider, &ops, &n);
    cli_client_close(c);
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    qsort(ops, n, sizeof(*ops), cli_cmp_u32);
    if (o->json) {
        json_object *obj = json_object_new_object(), *arr = json_object_new_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            json_object *e = json_object_new_object();
            cli_json_add_int(e, "opcode", ops[i]);
            cli_json_add_string(e, "name", parsec_opcode_name(ops[i]));
            json_object_array_add(arr, e);
        }
        cli_json_add_int(obj, "provider_id", provider);
        cli_json_add_string(obj, "provider", parsec_provider_short_name(provider));
        json_object_object_add(obj, "opcodes", arr);
        parsec_free(ops);
        return cli_json_print(o, obj);
    }
    printf("Opcodes supported by provider 0x%02x (%s):\n", provider, cli_provider_name(provider));
    for (size_t i = 0; i < n; i++)
        printf("  0x%04x %s\n", ops[i], parsec_opcode_name(ops[i]));
    parsec_free(ops);
    return CLI_EXIT_OK;
}

static int cli_cmd_list_keys(const cli_opts *o)
{
    parsec_client *c;
    parsec_key_info *keys = NULL;
    size_t n = 0;
    parsec_status st;
    uint8_t auth;
    int rc = cli_client_open(o, 1, 0, &c);

    if (rc != CLI_EXIT_OK)
        return rc;
    st = parsec_list_keys(c, &keys, &n);
    auth = parsec_client_get_auth(c);
    cli_client_close(c);
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    if (o->json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr != NULL && i < n; i++)
            json_object_array_add(
                arr, cli_json_key(keys[i].name, keys[i].provider_id, &keys[i].attributes));
        parsec_key_info_free(keys, n);
        return cli_json_print(o, arr);
    }
    /* Keys belong to an identity: an empty list under another name is the usual surprise. */
    if (n == 0 && auth == PARSEC_AUTH_DIRECT)
        printf("No keys for application '%s' (direct authentication; keys made under another"
               " name are listed with --app NAME).\n",
               cli_app_name_in_use);
    else if (n == 0 && auth == PARSEC_AUTH_UNIX_PEER)
        printf("No keys for uid %ld (unix-peer-credentials authentication).\n", (long)getuid());
    else if (n == 0)
        printf("No keys.\n");
    for (size_t i = 0; i < n; i++) {
        const parsec_key_attributes *a = &keys[i].attributes;
        char alg[64], usage[160];
        cli_alg_describe(&a->alg, alg, sizeof(alg));
        cli_usage_describe(a->usage, usage, sizeof(usage));
        printf("* %s\n", keys[i].name);
        printf("    provider:  0x%02x (%s)\n", keys[i].provider_id,
               cli_provider_name(keys[i].provider_id));
        if (a->type == PARSEC_KEY_TYPE_ECC_KEY_PAIR || a->type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY)
            printf("    type:      %s, %s, %u bits\n", cli_key_type_name(a),
                   cli_ecc_family_name(a->ecc_family), a->bits);
        else
            printf("    type:      %s, %u bits\n", cli_key_type_name(a), a->bits);
        printf("    algorithm: %s\n", alg);
        printf("    usage:     %s\n", usage);
    }
    parsec_key_info_free(keys, n);
    return CLI_EXIT_OK;
}

static int cli_cmd_list_clients(const cli_opts *o)
{
    parsec_client *c;
    char **clients = NULL;
    size_t n = 0;
    parsec_status st;
    int rc = cli_client_open(o, 1, 0, &c);

    if (rc != CLI_EXIT_OK)
        return rc;
    st = parsec_list_clients(c, &clients, &n);
    cli_client_close(c);
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    if (o->json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr != NULL && i < n; i++)
            json_object_array_add(arr, json_object_new_string(clients[i]));
        parsec_string_list_free(clients, n);
        return cli_json_print(o, arr);
    }
    if (n == 0)
        printf("No clients.\n");
    for (size_t i = 0; i < n; i++)
        printf("%s\n", clients[i]);
    parsec_string_list_free(clients, n);
    return CLI_EXIT_OK;
}

static int cli_cmd_delete_client(const cli_opts *o)
{
    parsec_client *c;
    parsec_status st;
    int rc;

    if (o->client_name == NULL)
        return cli_usage("delete-client needs -c NAME");
    rc = cli_client_open(o, 1, 0, &c);
    if (rc != CLI_EXIT_OK)
        return rc;
    st = parsec_delete_client(c, o->client_name);
    cli_client_close(c);
    if (st != PARSEC_SUCCESS)
        return cli_fail(o, st);
    printf("Client \"%s\" deleted.\n", o->client_name);
    return CLI_EXIT_OK;
}

/* ---- option parsing ---- */

static int cli_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

static int cli_parse_auth(const char *s)
{
    if (strcasecmp(s, "none") == 0)
        return PARSEC_AUTH_NONE;
    if (strcasecmp(s, "direct") == 0)
        return PARSEC_AUTH_DIRECT;
    if (strcasecmp(s, "unix") == 0 || strcasecmp(s, "unix-peer-credentials") == 0 ||
        strcasecmp(s, "unix-peer") == 0)
        return PARSEC_AUTH_UNIX_PEER;
    return -1;
}

enum {
    OPT_APP = 256,
    OPT_SIGN_PKCS1,
    OPT_SIGN_PSS,
    OPT_OAEP,
    OPT_ECDH,
    OPT_EXPORTABLE,
    OPT_HASH,
    OPT_JSON,
    OPT_CN,
    OPT_COUNTRY,
    OPT_STATE,
    OPT_LOCALITY,
    OPT_ORG,
    OPT_ORG_UNIT,
    OPT_SERIAL_NUMBER,
    OPT_SAN,
    OPT_DAYS,
    OPT_LIST_COMMANDS,
    OPT_CCM,
    OPT_AAD,
};

static const struct option cli_long_options[] = {
    {"provider", required_argument, NULL, 'p'},
    {"auth", required_argument, NULL, 'a'},
    {"app", required_argument, NULL, OPT_APP},
    {"app-name", required_argument, NULL, OPT_APP},
    {"endpoint", required_argument, NULL, 'e'},
    {"timeout", required_argument, NULL, 't'},
    {"key-name", required_argument, NULL, 'k'},
    {"key", required_argument, NULL, 'k'},
    {"bits", required_argument, NULL, 'b'},
    {"curve", required_argument, NULL, 'c'},
    {"client", required_argument, NULL, 'c'},
    {"in", required_argument, NULL, 'i'},
    {"input", required_argument, NULL, 'i'},
    {"out", required_argument, NULL, 'o'},
    {"output", required_argument, NULL, 'o'},
    {"signature", required_argument, NULL, 's'},
    {"nbytes", required_argument, NULL, 'n'},
    {"sign-pkcs1", no_argument, NULL, OPT_SIGN_PKCS1},
    {"for-signing", no_argument, NULL, OPT_SIGN_PKCS1},
    {"sign-pss", no_argument, NULL, OPT_SIGN_PSS},
    {"for-signing-pss", no_argument, NULL, OPT_SIGN_PSS},
    {"oaep", no_argument, NULL, OPT_OAEP},
    {"ecdh", no_argument, NULL, OPT_ECDH},
    {"exportable", no_argument, NULL, OPT_EXPORTABLE},
    {"hash", required_argument, NULL, OPT_HASH},
    {"json", no_argument, NULL, OPT_JSON},
    /* parsec-tool's create-csr spellings; getopt_long prefers exact names over prefixes. */
    {"cn", required_argument, NULL, OPT_CN},
    {"c", required_argument, NULL, OPT_COUNTRY},
    {"st", required_argument, NULL, OPT_STATE},
    {"l", required_argument, NULL, OPT_LOCALITY},
    {"o", required_argument, NULL, OPT_ORG},
    {"ou", required_argument, NULL, OPT_ORG_UNIT},
    {"serialNumber", required_argument, NULL, OPT_SERIAL_NUMBER},
    {"san", required_argument, NULL, OPT_SAN},
    {"days", required_argument, NULL, OPT_DAYS},
    {"list-commands", no_argument, NULL, OPT_LIST_COMMANDS},
    {"ccm", no_argument, NULL, OPT_CCM},
    {"aad", required_argument, NULL, OPT_AAD},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

struct cli_command {
    const char *name;
    int (*run)(const cli_opts *o);
    const char *args;    /* its options, as in the help */
    const char *summary; /* what it does (and parsec-tool differences) */
};

static int cli_cmd_help(const cli_opts *o);

/* One entry per command: the help and the bash completion's list come from here. */
static const struct cli_command cli_commands[] = {
    {"ping", cli_cmd_ping, "", "wire protocol version of the service"},
    {"list-providers", cli_cmd_list_providers, "[--json]", "the service's providers (backends)"},
    {"list-authenticators", cli_cmd_list_authenticators, "[--json]",
     "the authenticator the service uses"},
    {"list-opcodes", cli_cmd_list_opcodes, "[-p NAME] [--json]", "operations a provider supports"},
    {"list-keys", cli_cmd_list_keys, "[--json]", "keys of this application"},
    {"key-info", cli_cmd_key_info, "-k NAME [--json]",
     "a key's type, policy, usage, backend and how OpenSSL reaches it"},
    {"create-rsa-key", cli_cmd_create_rsa_key,
     "-k NAME [-b BITS] [--sign-pkcs1 | --sign-pss | --oaep] [--exportable] [--hash H]",
     "default: PKCS#1 v1.5 encryption key, 2048 bits, as parsec-tool (use --sign-pss\n"
     "with --hash any for TLS keys, docs/tls.md)"},
    {"create-ecc-key", cli_cmd_create_ecc_key,
     "-k NAME [-c 256|384|521] [--ecdh] [--exportable] [--hash H]",
     "default: ECDSA P-256 with SHA-256"},
    {"import-key", cli_cmd_import_key,
     "-k NAME -i PEMFILE [--sign-pkcs1 | --sign-pss | --oaep | --ecdh] [--exportable] [--hash H]",
     "a PEM private key (RSA, EC P-256/384/521) into the service; policy options as\n"
     "create-rsa-key / create-ecc-key"},
    {"export-public-key", cli_cmd_export_public_key, "-k NAME [-o FILE]",
     "PEM SubjectPublicKeyInfo"},
    {"export-key", cli_cmd_export_key, "-k NAME [-o FILE]",
     "PEM PKCS#8 private key of a key created --exportable (FILE is made mode 0600)"},
    {"sign", cli_cmd_sign, "-k NAME -i FILE [-o FILE] [--hash H]",
     "hashes FILE locally; base64 unless -o; ECDSA output is DER"},
    {"verify", cli_cmd_verify, "-k NAME -i FILE -s SIGFILE [--hash H]", "checks a signature"},
    {"encrypt", cli_cmd_encrypt, "-k NAME -i FILE [-o FILE]", "with the key's policy algorithm"},
    {"decrypt", cli_cmd_decrypt, "-k NAME -i FILE [-o FILE]", "with the key's policy algorithm"},
    {"create-aes-key", cli_cmd_create_aes_key, "-k NAME [-b 128|192|256] [--ccm] [--exportable]",
     "AES key for AEAD; default: AES-256-GCM"},
    {"aead-encrypt", cli_cmd_aead_encrypt, "-k NAME -i FILE [-o FILE] [--aad FILE]",
     "output: nonce || ciphertext || tag"},
    {"aead-decrypt", cli_cmd_aead_decrypt, "-k NAME -i FILE [-o FILE] [--aad FILE]",
     "input: nonce || ciphertext || tag, as aead-encrypt writes it"},
    {"create-csr", cli_cmd_create_csr,
     "-k NAME --cn CN [--c --st --l --o --ou --serialNumber VALUE] [--san NAME]... [-o FILE]",
     "PEM certificate request signed by the key in the service (RSA PKCS#1, PSS, ECDSA)"},
    {"create-self-signed", cli_cmd_create_self_signed,
     "-k NAME --cn CN [subject options] [--san NAME]... [--days N] [-o FILE]",
     "PEM self-signed certificate signed by the key in the service"},
    {"prepare-key-attestation", cli_cmd_prepare_key_attestation, "-k NAME -o PREFIX",
     "TPM name, public area and EK of a TPM key (PREFIX.name, PREFIX.pub, PREFIX.ek.pem)"},
    {"attest-key", cli_cmd_attest_key, "-k NAME -i CHALLENGE [-o FILE]",
     "TPM2_ActivateCredential on tpm2_makecredential output"},
    {"delete-key", cli_cmd_delete_key, "-k NAME", "destroys a key"},
    {"generate-random", cli_cmd_generate_random, "-n N [-o FILE]", "hex on stdout unless -o"},
    {"list-clients", cli_cmd_list_clients, "[--json]",
     "applications with keys (administrators only)"},
    {"delete-client", cli_cmd_delete_client, "-c NAME",
     "deletes an application's keys (administrators only)"},
    {"help", cli_cmd_help, "[COMMAND]", "this help, or one command's"},
};

#define CLI_N_COMMANDS (sizeof(cli_commands) / sizeof(cli_commands[0]))

static const struct cli_command *cli_find_command(const char *name)
{
    for (size_t i = 0; i < CLI_N_COMMANDS; i++) {
        if (strcmp(name, cli_commands[i].name) == 0)
            return &cli_commands[i];
    }
    return NULL;
}

static void cli_print_command(const struct cli_command *cmd)
{
    const char *p = cmd->summary;

    printf("  %s%s%s\n", cmd->name, cmd->args[0] ? " " : "", cmd->args);
    /* Summaries may span lines: indent each. */
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        printf("      %.*s\n", (int)len, p);
        p += len + (nl != NULL);
    }
}

static void cli_print_help(void)
{
    fputs(cli_global_help, stdout);
    printf("\nCommands:\n");
    for (size_t i = 0; i < CLI_N_COMMANDS; i++)
        cli_print_command(&cli_commands[i]);
    putchar('\n');
    fputs(cli_options_help, stdout);
}

/* The operand of `help` (main keeps it here: cli_opts has no place for operands). */
static const char *cli_help_topic;

static int cli_cmd_help(const cli_opts *o)
{
    const struct cli_command *cmd;

    if (cli_help_topic == NULL) {
        cli_print_help();
        return CLI_EXIT_OK;
    }
    cmd = cli_find_command(cli_help_topic);
    if (cmd == NULL)
        return cli_usage("help: unknown command '%s'", cli_help_topic);
    printf("Usage: parsec-cli [global options] %s%s%s\n\n", cmd->name, cmd->args[0] ? " " : "",
           cmd->args);
    cli_print_command(cmd);
    putchar('\n');
    fputs(cli_options_help, stdout);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    cli_opts o;
    const char *c_arg = NULL;
    const struct cli_command *cmd = NULL;
    int opt;

    memset(&o, 0, sizeof(o));
    o.command = "parsec-cli";
    o.provider = -1;
    o.auth = -1;
    o.timeout_ms = -1;
    o.bits = -1;
    o.curve = -1;
    o.count = -1;
    o.days = -1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":p:a:e:t:k:b:c:i:o:s:n:hV", cli_long_options, NULL)) !=
           -1) {
        switch (opt) {
        case 'p': {
            uint8_t id;
            /* Names as backend = in openssl.cnf; 0/core only makes sense for list-opcodes. */
            if (strcmp(optarg, "0") == 0 || strcasecmp(optarg, "core") == 0)
                id = PARSEC_PROVIDER_CORE;
            else if (!parsec_provider_parse(optarg, &id))
                return cli_usage("invalid provider '%s' (software, mbed-crypto, pkcs11, tpm,"
                                 " or an ID 1..%d)",
                                 optarg, PARSEC_PROVIDER_MAX);
            o.provider = id;
            break;
        }
        case 'a':
            o.auth = cli_parse_auth(optarg);
            if (o.auth < 0)
                return cli_usage("invalid authentication '%s' (none, direct, unix)", optarg);
            break;
        case OPT_APP:
            o.app_name = optarg;
            break;
        case 'e':
            o.endpoint = optarg;
            break;
        case 't':
            if (!cli_parse_long(optarg, 0, INT_MAX, &o.timeout_ms))
                return cli_usage("invalid timeout '%s'", optarg);
            break;
        case 'k':
            o.key_name = optarg;
            break;
        case 'b':
            if (!cli_parse_long(optarg, 128, 16384, &o.bits))
                return cli_usage("invalid key size '%s'", optarg);
            break;
        case 'c':
            c_arg = optarg;
            break;
        case 'i':
            o.in_file = optarg;
            break;
        case 'o':
            o.out_file = optarg;
            break;
        case 's':
            o.sig_file = optarg;
            break;
        case 'n':
            if (!cli_parse_long(optarg, 1, PARSEC_DEFAULT_BODY_LIMIT, &o.count))
                return cli_usage("invalid byte count '%s' (1..%u)", optarg,
                                 PARSEC_DEFAULT_BODY_LIMIT);
            break;
        case OPT_SIGN_PKCS1:
            o.sign_pkcs1 = 1;
            break;
        case OPT_SIGN_PSS:
            o.sign_pss = 1;
            break;
        case OPT_OAEP:
            o.oaep = 1;
            break;
        case OPT_ECDH:
            o.ecdh = 1;
            break;
        case OPT_EXPORTABLE:
            o.exportable = 1;
            break;
        case OPT_HASH:
            o.hash_name = optarg;
            break;
        case OPT_JSON:
            o.json = 1;
            break;
        case OPT_CN:
            o.cn = optarg;
            break;
        case OPT_COUNTRY:
            o.country = optarg;
            break;
        case OPT_STATE:
            o.state = optarg;
            break;
        case OPT_LOCALITY:
            o.locality = optarg;
            break;
        case OPT_ORG:
            o.org = optarg;
            break;
        case OPT_ORG_UNIT:
            o.org_unit = optarg;
            break;
        case OPT_SERIAL_NUMBER:
            o.serial_number = optarg;
            break;
        case OPT_SAN:
            if (o.n_san == CLI_MAX_SAN)
                return cli_usage("at most %d --san names", CLI_MAX_SAN);
            o.san[o.n_san++] = optarg;
            break;
        case OPT_DAYS:
            if (!cli_parse_long(optarg, 1, 36500, &o.days))
                return cli_usage("invalid --days '%s' (1..36500)", optarg);
            break;
        case OPT_LIST_COMMANDS:
            /* For the bash completion: the command names, one a line. */
            for (size_t i = 0; i < CLI_N_COMMANDS; i++)
                printf("%s\n", cli_commands[i].name);
            return CLI_EXIT_OK;
        case OPT_CCM:
            o.ccm = 1;
            break;
        case OPT_AAD:
            o.aad_file = optarg;
            break;
        case 'h':
            cli_print_help();
            return CLI_EXIT_OK;
        case 'V':
            printf("parsec-cli %s\n", PARSEC_PROVIDER_VERSION);
            return CLI_EXIT_OK;
        case ':':
            return cli_usage("option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage("no command given");
    cmd = cli_find_command(argv[optind]);
    if (cmd == NULL)
        return cli_usage("unknown command '%s'", argv[optind]);
    if (cmd->run == cli_cmd_help && optind + 2 == argc)
        cli_help_topic = argv[optind + 1];
    else if (optind + 1 < argc)
        return cli_usage("unexpected argument '%s'", argv[optind + 1]);
    o.command = cmd->name;
    if (o.json && strstr(cmd->args, "--json") == NULL)
        return cli_usage("--json applies to list-* commands and key-info, not %s", cmd->name);
    /* -c is the curve for create-ecc-key and the client name for delete-client. */
    if (c_arg != NULL) {
        if (strcmp(o.command, "create-ecc-key") == 0) {
            if (!cli_parse_long(c_arg, 1, 1024, &o.curve))
                return cli_usage("invalid curve size '%s' (256, 384, 521)", c_arg);
        } else if (strcmp(o.command, "delete-client") == 0) {
            o.client_name = c_arg;
        } else {
            return cli_usage("option -c does not apply to %s", o.command);
        }
    }
    return cmd->run(&o);
}
