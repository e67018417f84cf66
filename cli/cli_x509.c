/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec-cli create-csr and create-self-signed: OpenSSL's X509_REQ and X509
 * API with the key loaded through the project's provider (OSSL_STORE
 * "parsec:NAME" in a library context of its own), so the service signs and
 * the private key never leaves it.
 */
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parsec_cli.h"

/* The library context parsec.so signs in, and the key it loaded. */
typedef struct cli_signer {
    OSSL_LIB_CTX *libctx;
    OSSL_PROVIDER *dflt, *parsec;
    EVP_PKEY *pkey;
    parsec_key_attributes attrs;
    const char *md;
    X509_NAME *subject; /* from the command line */
} cli_signer;

static void cli_print_openssl_errors(void)
{
    unsigned long e;
    char buf[512];

    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        fprintf(stderr, "parsec-cli:   %s\n", buf);
    }
}

static void cli_signer_free(cli_signer *s)
{
    X509_NAME_free(s->subject);
    EVP_PKEY_free(s->pkey);
    OSSL_PROVIDER_unload(s->parsec);
    OSSL_PROVIDER_unload(s->dflt);
    OSSL_LIB_CTX_free(s->libctx);
    memset(s, 0, sizeof(*s));
}

/*
 * parsec.so reads its settings from the environment when it loads: hand it
 * the endpoint and identity this command runs with.
 */
static void cli_signer_environment(const cli_opts *o)
{
    static const char *const auth_names[] = {"none", "direct", "jwt", "unix", "jwt-svid"};

    if (o->endpoint != NULL)
        setenv(PARSEC_ENDPOINT_ENV, o->endpoint, 1);
    if (o->auth >= 0 && (size_t)o->auth < sizeof(auth_names) / sizeof(auth_names[0]))
        setenv("PARSEC_PROVIDER_AUTH", auth_names[o->auth], 1);
    setenv("PARSEC_PROVIDER_APP_NAME", o->app_name ? o->app_name : CLI_DEFAULT_APP_NAME, 1);
    if (o->provider > 0)
        setenv("PARSEC_PROVIDER_BACKEND", parsec_provider_short_name((uint8_t)o->provider), 1);
}

static X509_NAME *cli_subject(const cli_opts *o);

/* Checks -k and --cn, builds the subject and loads the key through parsec.so. */
static int cli_signer_open(const cli_opts *o, cli_signer *s)
{
    parsec_client *c = NULL;
    uint8_t provider = 0, hash;
    OSSL_STORE_CTX *store = NULL;
    char uri[300];
    int rc;

    memset(s, 0, sizeof(*s));
    if (o->key_name == NULL || o->cn == NULL)
        return cli_local_error(o, "%s needs -k NAME and --cn COMMON_NAME", o->command);
    rc = cli_open_with_key(o, &c, &provider, &s->attrs);
    cli_client_close(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (s->attrs.alg.kind != PARSEC_ALG_ASYMMETRIC_SIGNATURE ||
        s->attrs.alg.scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW)
        return cli_local_error(o,
                               "key \"%s\" is not a signing key: create one with"
                               " create-rsa-key --sign-pkcs1|--sign-pss or create-ecc-key",
                               o->key_name);
    /* The policy's hash, else --hash, else SHA-256 (for "any hash" policies). */
    hash = s->attrs.alg.hash;
    if (parsec_hash_length(hash) == 0) {
        hash = o->hash_name ? parsec_hash_from_ossl_name(o->hash_name) : PARSEC_HASH_SHA_256;
        if (hash == PARSEC_HASH_NONE)
            return cli_local_error(o, "unknown hash '%s'", o->hash_name);
    }
    s->md = parsec_hash_ossl_name(hash);

    cli_signer_environment(o);
    s->libctx = OSSL_LIB_CTX_new();
    if (s->libctx == NULL)
        return cli_local_error(o, "out of memory");
    s->dflt = OSSL_PROVIDER_load(s->libctx, "default");
    s->parsec = OSSL_PROVIDER_load(s->libctx, "parsec");
    if (s->dflt == NULL || s->parsec == NULL) {
        rc =
            cli_local_error(o,
                            "cannot load OpenSSL's %s provider (parsec.so is looked up in"
                            " OPENSSL_MODULES or %s)",
                            s->dflt ? "parsec" : "default", OPENSSL_info(OPENSSL_INFO_MODULES_DIR));
        cli_print_openssl_errors();
        goto fail;
    }
    snprintf(uri, sizeof(uri), "parsec:%s", o->key_name);
    store = OSSL_STORE_open_ex(uri, s->libctx, "provider=parsec", NULL, NULL, NULL, NULL, NULL);
    while (store != NULL && s->pkey == NULL && !OSSL_STORE_eof(store)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(store);

        if (info != NULL && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
            s->pkey = OSSL_STORE_INFO_get1_PKEY(info);
        OSSL_STORE_INFO_free(info);
        if (info == NULL)
            break;
    }
    OSSL_STORE_close(store);
    if (s->pkey == NULL) {
        rc = cli_local_error(o, "the parsec provider cannot load %s:", uri);
        cli_print_openssl_errors();
        goto fail;
    }
    s->subject = cli_subject(o);
    if (s->subject == NULL) {
        rc = CLI_EXIT_USAGE;
        goto fail;
    }
    return CLI_EXIT_OK;
fail:
    cli_signer_free(s);
    return rc != CLI_EXIT_OK ? rc : CLI_EXIT_USAGE;
}

/* A digest-sign context for the key's scheme: PSS keys sign RSASSA-PSS (salt = digest). */
static EVP_MD_CTX *cli_signer_ctx(const cli_signer *s)
{
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;

    if (mctx == NULL ||
        EVP_DigestSignInit_ex(mctx, &pctx, s->md, s->libctx, NULL, s->pkey, NULL) <= 0)
        goto fail;
    if (s->attrs.alg.scheme == PARSEC_SIGN_RSA_PSS &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0))
        goto fail;
    return mctx;
fail:
    EVP_MD_CTX_free(mctx);
    return NULL;
}

/* Subject from --cn --c --st --l --o --ou --serialNumber (parsec-tool's options). */
static X509_NAME *cli_subject(const cli_opts *o)
{
    const struct {
        const char *field, *value;
    } parts[] = {
        {"C", o->country},
        {"ST", o->state},
        {"L", o->locality},
        {"O", o->org},
        {"OU", o->org_unit},
        {"CN", o->cn},
        {"serialNumber", o->serial_number},
    };
    X509_NAME *name = X509_NAME_new();

    for (size_t i = 0; name != NULL && i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (parts[i].value == NULL)
            continue;
        if (!X509_NAME_add_entry_by_txt(name, parts[i].field, MBSTRING_UTF8,
                                        (const unsigned char *)parts[i].value, -1, -1, 0)) {
            cli_local_error(o, "invalid subject field %s=%s", parts[i].field, parts[i].value);
            X509_NAME_free(name);
            return NULL;
        }
    }
    return name;
}

/* --san values, "DNS:x", "IP:y", "email:z", "URI:u" or a bare DNS name, as one extension. */
static X509_EXTENSION *cli_san_extension(const cli_opts *o, X509V3_CTX *v3)
{
    char buf[4096];
    size_t used = 0;
    X509_EXTENSION *ext;

    for (size_t i = 0; i < o->n_san; i++) {
        const char *v = o->san[i];
        int typed = strncmp(v, "DNS:", 4) == 0 || strncmp(v, "IP:", 3) == 0 ||
                    strncmp(v, "email:", 6) == 0 || strncmp(v, "URI:", 4) == 0;
        int n;

        if (strchr(v, ',') != NULL) {
            cli_local_error(o, "--san '%s': give one name per --san", v);
            return NULL;
        }
        n = snprintf(buf + used, sizeof(buf) - used, "%s%s%s", used ? "," : "",
                     typed ? "" : "DNS:", v);
        if (n < 0 || (size_t)n >= sizeof(buf) - used) {
            cli_local_error(o, "too many --san names");
            return NULL;
        }
        used += (size_t)n;
    }
    ext = X509V3_EXT_nconf_nid(NULL, v3, NID_subject_alt_name, buf);
    if (ext == NULL) {
        cli_local_error(o, "invalid --san list '%s'", buf);
        cli_print_openssl_errors();
    }
    return ext;
}

static int cli_write_pem(const cli_opts *o, X509_REQ *req, X509 *cert)
{
    BIO *out = o->out_file ? BIO_new_file(o->out_file, "w") : BIO_new_fp(stdout, BIO_NOCLOSE);
    int ok;

    if (out == NULL)
        return cli_local_error(o, "cannot create %s", o->out_file);
    ok = req != NULL ? PEM_write_bio_X509_REQ(out, req) : PEM_write_bio_X509(out, cert);
    ok = ok && BIO_flush(out) > 0;
    BIO_free(out);
    return ok ? CLI_EXIT_OK : cli_local_error(o, "cannot write the PEM output");
}

/* Signs the request or certificate in the service and writes it as PEM. */
static int cli_sign_and_write(const cli_opts *o, const cli_signer *s, X509_REQ *req, X509 *cert)
{
    EVP_MD_CTX *mctx = cli_signer_ctx(s);
    int ok = mctx != NULL &&
             (req != NULL ? X509_REQ_sign_ctx(req, mctx) : X509_sign_ctx(cert, mctx)) > 0;

    EVP_MD_CTX_free(mctx);
    if (!ok) {
        cli_local_error(o, "the service could not sign the %s with key \"%s\":",
                        req != NULL ? "request" : "certificate", o->key_name);
        cli_print_openssl_errors();
        return CLI_EXIT_SERVICE;
    }
    return cli_write_pem(o, req, cert);
}

int cli_cmd_create_csr(const cli_opts *o)
{
    cli_signer s;
    X509_REQ *req = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    X509_EXTENSION *san = NULL;
    int rc = cli_signer_open(o, &s);

    if (rc != CLI_EXIT_OK)
        return rc;
    rc = CLI_EXIT_USAGE;
    req = X509_REQ_new_ex(s.libctx, NULL);
    if (req == NULL || !X509_REQ_set_version(req, 0) ||
        !X509_REQ_set_subject_name(req, s.subject) || !X509_REQ_set_pubkey(req, s.pkey)) {
        rc = cli_local_error(o, "cannot build the certificate request");
        goto done;
    }
    if (o->n_san > 0) {
        san = cli_san_extension(o, NULL);
        exts = sk_X509_EXTENSION_new_null();
        if (san == NULL || exts == NULL || !sk_X509_EXTENSION_push(exts, san) ||
            !X509_REQ_add_extensions(req, exts))
            goto done;
    }
    rc = cli_sign_and_write(o, &s, req, NULL);
done:
    sk_X509_EXTENSION_free(exts);
    X509_EXTENSION_free(san);
    X509_REQ_free(req);
    cli_signer_free(&s);
    return rc;
}

static int cli_add_ext(X509 *cert, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, v3, nid, value);
    int ok = ext != NULL && X509_add_ext(cert, ext, -1);

    X509_EXTENSION_free(ext);
    return ok;
}

int cli_cmd_create_self_signed(const cli_opts *o)
{
    cli_signer s;
    X509 *cert = NULL;
    X509_EXTENSION *san = NULL;
    X509V3_CTX v3;
    BIGNUM *serial = NULL;
    long days = o->days > 0 ? o->days : 365;
    int rc = cli_signer_open(o, &s);

    if (rc != CLI_EXIT_OK)
        return rc;
    rc = CLI_EXIT_USAGE;
    cert = X509_new_ex(s.libctx, NULL);
    serial = BN_new();
    /* A positive 159-bit random serial, as RFC 5280 4.1.2.2 allows at most 20 octets. */
    if (cert == NULL || serial == NULL || !X509_set_version(cert, 2) ||
        !BN_rand(serial, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == NULL ||
        !X509_set_subject_name(cert, s.subject) || !X509_set_issuer_name(cert, s.subject) ||
        X509_gmtime_adj(X509_getm_notBefore(cert), 0) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) == NULL ||
        !X509_set_pubkey(cert, s.pkey)) {
        rc = cli_local_error(o, "cannot build the certificate");
        cli_print_openssl_errors();
        goto done;
    }
    /* The extensions `openssl req -x509` adds, so the certificate can be its own trust anchor. */
    X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
    if (!cli_add_ext(cert, &v3, NID_subject_key_identifier, "hash") ||
        !cli_add_ext(cert, &v3, NID_authority_key_identifier, "keyid:always") ||
        !cli_add_ext(cert, &v3, NID_basic_constraints, "critical,CA:TRUE")) {
        rc = cli_local_error(o, "cannot add the certificate's extensions");
        cli_print_openssl_errors();
        goto done;
    }
    if (o->n_san > 0) {
        san = cli_san_extension(o, &v3);
        if (san == NULL || !X509_add_ext(cert, san, -1))
            goto done;
    }
    rc = cli_sign_and_write(o, &s, NULL, cert);
done:
    X509_EXTENSION_free(san);
    BN_free(serial);
    X509_free(cert);
    cli_signer_free(&s);
    return rc;
}
