/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsec.so entry point: OSSL_provider_init, provider parameters, the
 * static algorithm tables and the lazily discovered Parsec client.
 *
 * Everything the provider needs from the environment is read here, once:
 * nginx loads keys in its master and forks workers with a wiped
 * environment, so nothing may be read later.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "parsec_busy_poll.h"
#include "parsec_proc.h"
#include "config.h"
#include "pprov.h"

/* One discovered client, valid in the process that discovered it. */
typedef struct pprov_conn {
    parsec_client *client;
    pid_t pid;
    struct pprov_conn *retired_next;
} pprov_conn;

struct pprov_ctx {
    const OSSL_CORE_HANDLE *handle;
    OSSL_LIB_CTX *libctx; /* child of the one we were loaded into */

    OSSL_FUNC_core_new_error_fn *core_new_error;
    OSSL_FUNC_core_set_error_debug_fn *core_set_error_debug;
    OSSL_FUNC_core_vset_error_fn *core_vset_error;
    OSSL_FUNC_core_set_error_mark_fn *core_set_error_mark;
    OSSL_FUNC_core_clear_last_error_mark_fn *core_clear_last_error_mark;
    OSSL_FUNC_core_pop_error_to_mark_fn *core_pop_error_to_mark;

    /* Settings, final after init. */
    char *endpoint; /* NULL: client default */
    char *app_name;
    int auth;        /* -1: discover */
    uint8_t backend; /* PARSEC_PROVIDER_DEFAULT: the service's first */
    unsigned int timeout_ms;
    int keepalive;      /* keep-alive extension (docs/protocol-extensions.md) */
    int busy_poll_us;   /* poll for answers on kept connections; -1: the client's default */
    int shm_handoff;    /* shared-memory hand-off on kept connections; -1: the client's default */
    char *config_error; /* reported by every operation that needs the service */
    char identity[160];

    pprov_conn *conn;    /* atomic */
    pprov_conn *retired; /* atomic list; conns inherited across fork() */
};

/* ---- error and debug plumbing ------------------------------------------------ */

int pprov_debug_level;
static FILE *pprov_debug_file;
/* Live provider instances: the debug file is closed when the last one goes. */
static int pprov_instances;

static const OSSL_ITEM pprov_reason_strings[] = {
    {PPROV_R_SERVICE_UNAVAILABLE, "Parsec service unavailable"},
    {PPROV_R_KEY_NOT_FOUND, "Parsec key not found"},
    {PPROV_R_NOT_PERMITTED, "operation not permitted by the key's policy"},
    {PPROV_R_OPERATION_FAILED, "Parsec operation failed"},
    {PPROV_R_UNSUPPORTED, "not supported"},
    {PPROV_R_INVALID_ARGUMENT, "invalid argument"},
    {PPROV_R_BAD_KEY_REFERENCE, "bad Parsec key reference"},
    {PPROV_R_MALLOC_FAILURE, "out of memory"},
    {PPROV_R_PRIVATE_EXPORT_REFUSED, "private key cannot leave the Parsec service"},
    {PPROV_R_BUFFER_TOO_SMALL, "output buffer too small"},
    {PPROV_R_INVALID_SIGNATURE, "invalid signature"},
    {PPROV_R_CONFIG, "Parsec provider configuration error"},
    {PPROV_R_AUTHENTICATION, "Parsec authentication failed"},
    {PPROV_R_ALREADY_EXISTS, "Parsec key already exists"},
    {PPROV_R_WRONG_KEY_TYPE, "wrong key type"},
    {0, NULL},
};

void pprov_debug_at(const char *func, const char *fmt, ...)
{
    FILE *out = pprov_debug_file != NULL ? pprov_debug_file : stderr;
    va_list ap;

    if (fmt == NULL) /* never; tells gcc -fsanitize's -Wformat-overflow so */
        return;
    va_start(ap, fmt);
    flockfile(out);
    fprintf(out, "parsec.so[%ld] %s: ", (long)getpid(), func);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    fflush(out);
    funlockfile(out);
    va_end(ap);
}

void pprov_raise_at(pprov_ctx *ctx, const char *file, int line, const char *func, int reason,
                    const char *fmt, ...)
{
    va_list ap;

    if (pprov_debug_level > 0) {
        char msg[512];

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        pprov_debug_at(func, "error %d: %s (%s:%d)", reason, msg, file, line);
    }
    if (ctx->core_new_error == NULL)
        return; /* before OSSL_provider_init found the core's error functions */
    va_start(ap, fmt);
    ctx->core_new_error(ctx->handle);
    ctx->core_set_error_debug(ctx->handle, file, line, func);
    ctx->core_vset_error(ctx->handle, (uint32_t)reason, fmt, ap);
    va_end(ap);
}

void pprov_set_error_mark(pprov_ctx *ctx)
{
    if (ctx != NULL && ctx->core_set_error_mark != NULL)
        ctx->core_set_error_mark(ctx->handle);
}

void pprov_pop_error_to_mark(pprov_ctx *ctx)
{
    if (ctx != NULL && ctx->core_pop_error_to_mark != NULL)
        ctx->core_pop_error_to_mark(ctx->handle);
}

void pprov_clear_last_error_mark(pprov_ctx *ctx)
{
    if (ctx != NULL && ctx->core_clear_last_error_mark != NULL)
        ctx->core_clear_last_error_mark(ctx->handle);
}

int pprov_reason_from_status(parsec_status st)
{
    switch (st) {
    case PARSEC_CLIENT_ERROR_CONNECT:
    case PARSEC_CLIENT_ERROR_TIMEOUT:
    case PARSEC_CLIENT_ERROR_IO:
    case PARSEC_CLIENT_ERROR_ENDPOINT:
    case PARSEC_CONNECTION_ERROR:
        return PPROV_R_SERVICE_UNAVAILABLE;
    case PARSEC_PSA_ERROR_DOES_NOT_EXIST:
    case PARSEC_PSA_ERROR_INVALID_HANDLE:
        return PPROV_R_KEY_NOT_FOUND;
    case PARSEC_PSA_ERROR_NOT_PERMITTED:
    case PARSEC_ADMIN_OPERATION:
        return PPROV_R_NOT_PERMITTED;
    case PARSEC_PSA_ERROR_NOT_SUPPORTED:
    case PARSEC_OPCODE_DOES_NOT_EXIST:
    case PARSEC_PROVIDER_DOES_NOT_EXIST:
    case PARSEC_PROVIDER_NOT_REGISTERED:
        return PPROV_R_UNSUPPORTED;
    case PARSEC_PSA_ERROR_INVALID_ARGUMENT:
    case PARSEC_CLIENT_ERROR_ARGUMENT:
        return PPROV_R_INVALID_ARGUMENT;
    case PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY:
    case PARSEC_CLIENT_ERROR_MEMORY:
        return PPROV_R_MALLOC_FAILURE;
    case PARSEC_PSA_ERROR_BUFFER_TOO_SMALL:
        return PPROV_R_BUFFER_TOO_SMALL;
    case PARSEC_PSA_ERROR_INVALID_SIGNATURE:
        return PPROV_R_INVALID_SIGNATURE;
    case PARSEC_AUTHENTICATION_ERROR:
    case PARSEC_NOT_AUTHENTICATED:
    case PARSEC_AUTHENTICATOR_DOES_NOT_EXIST:
    case PARSEC_AUTHENTICATOR_NOT_REGISTERED:
    case PARSEC_CLIENT_ERROR_NO_AUTHENTICATOR:
        return PPROV_R_AUTHENTICATION;
    case PARSEC_PSA_ERROR_ALREADY_EXISTS:
        return PPROV_R_ALREADY_EXISTS;
    default:
        return PPROV_R_OPERATION_FAILED;
    }
}

/* The library's detail of the failure, then the provider setting that fixes it. */
static const char *pprov_client_detail(const parsec_client *client, parsec_status st, char *buf,
                                       size_t len)
{
    const char *detail = client != NULL ? parsec_client_last_error(client) : NULL;
    const char *hint = "";

    switch (st) {
    case PARSEC_AUTHENTICATOR_NOT_REGISTERED:
    case PARSEC_AUTHENTICATOR_DOES_NOT_EXIST:
        hint = "; set auth (and app_name) in the parsec provider's openssl.cnf section, or"
               " PARSEC_PROVIDER_AUTH, to the service's authenticator, or remove auth to use"
               " what the service offers";
        break;
    case PARSEC_CLIENT_ERROR_CONNECT:
        if (detail == NULL)
            hint = "; check endpoint in the parsec provider's openssl.cnf section "
                   "or " PARSEC_ENDPOINT_ENV;
        break;
    default:
        break;
    }
    if (detail == NULL && hint[0] == '\0')
        return "";
    snprintf(buf, len, "%s%s%s", detail ? ": " : "", detail ? detail : "", hint);
    return buf;
}

const char *pprov_status_detail(pprov_ctx *ctx, parsec_status st, char *buf, size_t len)
{
    pprov_conn *cur = __atomic_load_n(&ctx->conn, __ATOMIC_ACQUIRE);

    return pprov_client_detail(cur != NULL ? cur->client : NULL, st, buf, len);
}

/* ---- accessors ------------------------------------------------------------------ */

OSSL_LIB_CTX *pprov_libctx(pprov_ctx *ctx)
{
    return ctx->libctx;
}

const OSSL_CORE_HANDLE *pprov_core_handle(pprov_ctx *ctx)
{
    return ctx->handle;
}

uint8_t pprov_default_backend(pprov_ctx *ctx)
{
    return ctx->backend;
}

const char *pprov_identity(pprov_ctx *ctx)
{
    return ctx->identity;
}

const char *pprov_endpoint(pprov_ctx *ctx)
{
    return ctx->endpoint != NULL ? ctx->endpoint : PARSEC_DEFAULT_ENDPOINT;
}

/* ---- the Parsec client: configured at init, discovered on first use per process ---- */

static void pprov_conn_free(pprov_conn *conn)
{
    if (conn == NULL)
        return;
    parsec_client_free(conn->client);
    OPENSSL_free(conn);
}

static pprov_conn *pprov_conn_new(pprov_ctx *ctx)
{
    pprov_conn *conn = NULL;
    char detail[640];
    parsec_status st;

    conn = OPENSSL_zalloc(sizeof(*conn));
    if (conn == NULL || (conn->client = parsec_client_new()) == NULL) {
        PPROV_raise(ctx, PPROV_R_MALLOC_FAILURE, "cannot allocate the Parsec client");
        goto err;
    }
    if (ctx->endpoint != NULL) {
        st = parsec_client_set_endpoint(conn->client, ctx->endpoint);
        if (st != PARSEC_SUCCESS) {
            PPROV_raise(ctx, PPROV_R_CONFIG, "bad Parsec endpoint '%s': %s", ctx->endpoint,
                        parsec_status_message(st));
            goto err;
        }
    }
    parsec_client_set_timeout(conn->client, ctx->timeout_ms);
    /* Harmless with a service that does not know it: that one closes after each answer. */
    parsec_client_set_keepalive(conn->client, ctx->keepalive);
    if (ctx->busy_poll_us >= 0)
        parsec_client_set_busy_poll(conn->client, (unsigned int)ctx->busy_poll_us);
    if (ctx->shm_handoff >= 0)
        parsec_client_set_shm_handoff(conn->client, ctx->shm_handoff);
    if (ctx->auth >= 0) {
        st = parsec_client_set_auth(conn->client, (uint8_t)ctx->auth, ctx->app_name);
        if (st != PARSEC_SUCCESS) {
            PPROV_raise(ctx, PPROV_R_CONFIG, "cannot use the configured authentication: %s",
                        parsec_status_message(st));
            goto err;
        }
    }
    st = parsec_client_discover(conn->client, ctx->app_name);
    if (st != PARSEC_SUCCESS) {
        if (st == PARSEC_CLIENT_ERROR_NO_AUTHENTICATOR)
            PPROV_raise(ctx, PPROV_R_AUTHENTICATION,
                        "the Parsec service at %s offers no authenticator this provider can use"
                        " (for direct authentication set app_name in the provider's openssl.cnf"
                        " section or PARSEC_PROVIDER_APP_NAME): %s",
                        pprov_endpoint(ctx), parsec_status_message(st));
        else
            PPROV_raise(ctx, pprov_reason_from_status(st),
                        "cannot reach the Parsec service at %s: %s (%s)%s", pprov_endpoint(ctx),
                        parsec_status_message(st), parsec_status_name(st),
                        pprov_client_detail(conn->client, st, detail, sizeof(detail)));
        goto err;
    }
    conn->pid = parsec_proc_pid();
    PPROV_debug("discovered the service at %s (pid %ld, auth %u, default provider %u)",
                pprov_endpoint(ctx), (long)conn->pid, parsec_client_get_auth(conn->client),
                parsec_client_get_provider(conn->client));
    return conn;
err:
    pprov_conn_free(conn);
    return NULL;
}

parsec_client *pprov_client(pprov_ctx *ctx)
{
    pid_t pid = parsec_proc_pid();
    pprov_conn *cur, *fresh;

    if (ctx->config_error != NULL) {
        PPROV_raise(ctx, PPROV_R_CONFIG, "%s", ctx->config_error);
        return NULL;
    }
    cur = __atomic_load_n(&ctx->conn, __ATOMIC_ACQUIRE);
    if (cur != NULL && cur->pid == pid)
        return cur->client;

    /*
     * First use in this process (or first after fork): discover without a
     * lock, publish with a CAS; a loser frees its own copy. A conn inherited
     * from the parent is retired, not freed, as a racing thread may still
     * be reading it.
     */
    fresh = pprov_conn_new(ctx);
    if (fresh == NULL)
        return NULL;
    for (;;) {
        if (__atomic_compare_exchange_n(&ctx->conn, &cur, fresh, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            if (cur != NULL) {
                pprov_conn *head = __atomic_load_n(&ctx->retired, __ATOMIC_ACQUIRE);

                do {
                    cur->retired_next = head;
                } while (!__atomic_compare_exchange_n(&ctx->retired, &head, cur, 0,
                                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
            }
            return fresh->client;
        }
        if (cur != NULL && cur->pid == pid) {
            pprov_conn_free(fresh);
            return cur->client;
        }
    }
}

/* ---- configuration ------------------------------------------------------------- */

static void pprov_set_config_error(pprov_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void pprov_set_config_error(pprov_ctx *ctx, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    if (ctx->config_error != NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ctx->config_error = OPENSSL_strdup(buf);
}

/* "3", "level:3", "file:/tmp/x.log,level:2" */
static void pprov_parse_debug(const char *spec)
{
    char *copy, *tok, *save = NULL;

    if (spec == NULL || *spec == '\0')
        return;
    copy = OPENSSL_strdup(spec);
    if (copy == NULL)
        return;
    for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (strncmp(tok, "file:", 5) == 0) {
            FILE *f = fopen(tok + 5, "a");

            if (f != NULL) {
                if (pprov_debug_file != NULL)
                    fclose(pprov_debug_file);
                pprov_debug_file = f;
            }
            if (pprov_debug_level == 0)
                pprov_debug_level = 1;
        } else if (strncmp(tok, "level:", 6) == 0) {
            pprov_debug_level = atoi(tok + 6);
        } else {
            pprov_debug_level = atoi(tok);
        }
    }
    OPENSSL_free(copy);
}

static int pprov_parse_auth(const char *text)
{
    if (strcasecmp(text, "none") == 0)
        return PARSEC_AUTH_NONE;
    if (strcasecmp(text, "direct") == 0)
        return PARSEC_AUTH_DIRECT;
    if (strcasecmp(text, "unix") == 0 || strcasecmp(text, "unix-peer-credentials") == 0 ||
        strcasecmp(text, "unix-peer") == 0)
        return PARSEC_AUTH_UNIX_PEER;
    if (strcasecmp(text, "auto") == 0 || *text == '\0')
        return -1;
    return -2;
}

/* Value from the environment (wins) or the openssl.cnf section. */
static const char *pprov_setting(const char *env, const char *conf)
{
    /* secure_getenv: a set-user-ID program must not take its settings from the caller. */
    const char *v = env != NULL ? secure_getenv(env) : NULL;

    return v != NULL && *v != '\0' ? v : conf;
}

/* yes/on/1 -> 1, no/off/0 -> 0, anything else -> -1. */
static int pprov_parse_yes_no(const char *v)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0)
        return 1;
    if (strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0 || strcmp(v, "0") == 0)
        return 0;
    return -1;
}

static void pprov_read_config(pprov_ctx *ctx, OSSL_FUNC_core_get_params_fn *core_get_params)
{
    /* The core writes pointers to its own strings: pass the addresses (&ptr). */
    char *c_endpoint = NULL, *c_auth = NULL, *c_app = NULL, *c_backend = NULL, *c_debug = NULL;
    char *c_timeout = NULL, *c_keepalive = NULL, *c_busy_poll = NULL, *c_shm = NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_ptr("endpoint", &c_endpoint, 0),
        OSSL_PARAM_utf8_ptr("auth", &c_auth, 0),
        OSSL_PARAM_utf8_ptr("app_name", &c_app, 0),
        OSSL_PARAM_utf8_ptr("backend", &c_backend, 0),
        OSSL_PARAM_utf8_ptr("debug", &c_debug, 0),
        OSSL_PARAM_utf8_ptr("timeout_ms", &c_timeout, 0),
        OSSL_PARAM_utf8_ptr("keepalive", &c_keepalive, 0),
        OSSL_PARAM_utf8_ptr("busy_poll_us", &c_busy_poll, 0),
        OSSL_PARAM_utf8_ptr("shm_handoff", &c_shm, 0),
        OSSL_PARAM_END,
    };
    const char *v;

    if (core_get_params != NULL)
        core_get_params(ctx->handle, params);

    pprov_parse_debug(pprov_setting("PARSEC_PROVIDER_DEBUG", c_debug));

    v = pprov_setting(PARSEC_ENDPOINT_ENV, c_endpoint);
    if (v != NULL && *v != '\0')
        ctx->endpoint = OPENSSL_strdup(v);

    v = pprov_setting("PARSEC_PROVIDER_APP_NAME", c_app);
    if (v != NULL && *v != '\0')
        ctx->app_name = OPENSSL_strdup(v);

    ctx->auth = -1;
    v = pprov_setting("PARSEC_PROVIDER_AUTH", c_auth);
    if (v != NULL) {
        ctx->auth = pprov_parse_auth(v);
        if (ctx->auth == -2) {
            ctx->auth = -1;
            pprov_set_config_error(ctx, "invalid auth '%s' (use none, direct or unix)", v);
        }
    }
    if (ctx->auth == PARSEC_AUTH_DIRECT && ctx->app_name == NULL)
        pprov_set_config_error(ctx, "%s",
                               "auth = direct needs app_name (or PARSEC_PROVIDER_APP_NAME)");

    ctx->backend = PARSEC_PROVIDER_DEFAULT;
    v = pprov_setting("PARSEC_PROVIDER_BACKEND", c_backend);
    if (v != NULL && *v != '\0' && !pprov_backend_parse(v, &ctx->backend))
        pprov_set_config_error(ctx, "invalid backend '%s' (use software, pkcs11, tpm or an ID)", v);

    ctx->timeout_ms = PARSEC_DEFAULT_TIMEOUT_MS;
    v = pprov_setting("PARSEC_PROVIDER_TIMEOUT_MS", c_timeout);
    if (v != NULL && *v != '\0') {
        char *end = NULL;
        unsigned long t;

        errno = 0;
        t = strtoul(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || t > 3600000UL)
            pprov_set_config_error(ctx, "invalid timeout_ms '%s'", v);
        else
            ctx->timeout_ms = (unsigned int)t;
    }

    ctx->keepalive = 1;
    v = pprov_setting("PARSEC_PROVIDER_KEEPALIVE", c_keepalive);
    if (v != NULL && *v != '\0') {
        ctx->keepalive = pprov_parse_yes_no(v);
        if (ctx->keepalive < 0) {
            ctx->keepalive = 1;
            pprov_set_config_error(ctx, "invalid keepalive '%s' (use yes or no)", v);
        }
    }

    ctx->shm_handoff = -1;
    v = pprov_setting("PARSEC_PROVIDER_SHM_HANDOFF", c_shm);
    if (v != NULL && *v != '\0') {
        ctx->shm_handoff = pprov_parse_yes_no(v);
        if (ctx->shm_handoff < 0)
            pprov_set_config_error(ctx, "invalid shm_handoff '%s' (use yes or no)", v);
    }

    ctx->busy_poll_us = -1;
    v = pprov_setting("PARSEC_PROVIDER_BUSY_POLL_US", c_busy_poll);
    if (v != NULL && *v != '\0') {
        unsigned int us;

        if (parsec_busy_poll_parse(v, &us) != 0)
            pprov_set_config_error(ctx, "invalid busy_poll_us '%s' (use 0 to %u microseconds)", v,
                                   PARSEC_BUSY_POLL_MAX_US);
        else
            ctx->busy_poll_us = (int)us;
    }

    if (ctx->auth == PARSEC_AUTH_DIRECT || (ctx->auth < 0 && ctx->app_name != NULL))
        snprintf(ctx->identity, sizeof(ctx->identity), "application '%s'", ctx->app_name);
    else if (ctx->auth == PARSEC_AUTH_UNIX_PEER)
        snprintf(ctx->identity, sizeof(ctx->identity), "uid %ld", (long)getuid());
    else if (ctx->auth == PARSEC_AUTH_NONE)
        snprintf(ctx->identity, sizeof(ctx->identity), "no authentication");
    else
        snprintf(ctx->identity, sizeof(ctx->identity), "uid %ld (or the service's authenticator)",
                 (long)getuid());

    PPROV_debug("config: endpoint=%s auth=%d app_name=%s backend=%u timeout_ms=%u keepalive=%d "
                "busy_poll_us=%d shm_handoff=%d%s%s",
                pprov_endpoint(ctx), ctx->auth, ctx->app_name ? ctx->app_name : "(none)",
                ctx->backend, ctx->timeout_ms, ctx->keepalive, ctx->busy_poll_us, ctx->shm_handoff,
                ctx->config_error ? " ERROR: " : "", ctx->config_error ? ctx->config_error : "");
}

/* ---- algorithm tables (static: libssl caches them at SSL_CTX_new) ----------------------- */

static const OSSL_ALGORITHM pprov_keymgmt_algorithms[] = {
    {PPROV_NAMES_RSA, PPROV_PROPS, pprov_rsa_keymgmt_functions, "Parsec RSA key"},
    {PPROV_NAMES_RSA_PSS, PPROV_PROPS, pprov_rsapss_keymgmt_functions, "Parsec RSA-PSS key"},
    {PPROV_NAMES_EC, PPROV_PROPS, pprov_ec_keymgmt_functions, "Parsec EC key"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM pprov_signature_algorithms[] = {
    {PPROV_NAMES_RSA, PPROV_PROPS, pprov_rsa_signature_functions, "Parsec RSA signature"},
    {"ECDSA", PPROV_PROPS, pprov_ecdsa_signature_functions, "Parsec ECDSA signature"},
    {NULL, NULL, NULL, NULL},
};

/*
 * PARSEC-RAND is the name to configure; the CTR-DRBG entry lets OpenSSL's
 * default DRBG names find it when parsec is the only provider loaded
 * (`openssl rand -provider parsec`), as tpm2-openssl does. With the default
 * provider activated first, its CTR-DRBG stays the one fetched without a
 * property query.
 */
static const OSSL_ALGORITHM pprov_rand_algorithms[] = {
    {"PARSEC-RAND", PPROV_PROPS, pprov_rand_functions, "Random bytes from the Parsec service"},
    {"CTR-DRBG", PPROV_PROPS, pprov_rand_functions,
     "Random bytes from the Parsec service (for `openssl rand -provider parsec`)"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM pprov_store_algorithms[] = {
    {PPROV_URI_SCHEME, PPROV_PROPS, pprov_store_functions, "Parsec key store (parsec: URIs)"},
    {NULL, NULL, NULL, NULL},
};

#define PPROV_ENCODERS(names)                                                                      \
    {names, PPROV_PROPS ",output=pem,structure=PrivateKeyInfo",                                    \
     pprov_keyref_pem_encoder_functions, "Parsec key reference (PEM)"},                            \
        {names, PPROV_PROPS ",output=der,structure=PrivateKeyInfo",                                \
         pprov_keyref_der_encoder_functions, "Parsec key reference (DER)"},                        \
        {names, PPROV_PROPS ",output=pem,structure=SubjectPublicKeyInfo",                          \
         pprov_spki_pem_encoder_functions, "public key (PEM)"},                                    \
        {names, PPROV_PROPS ",output=der,structure=SubjectPublicKeyInfo",                          \
         pprov_spki_der_encoder_functions, "public key (DER)"},                                    \
    {                                                                                              \
        names, PPROV_PROPS ",output=text", pprov_text_encoder_functions, "Parsec key description"  \
    }

static const OSSL_ALGORITHM pprov_encoder_algorithms[] = {
    PPROV_ENCODERS(PPROV_NAMES_RSA),
    PPROV_ENCODERS(PPROV_NAMES_RSA_PSS),
    PPROV_ENCODERS(PPROV_NAMES_EC),
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM pprov_decoder_algorithms[] = {
    {"DER", PPROV_PROPS ",input=pem", pprov_pem_decoder_functions,
     "Parsec key reference PEM to DER"},
    {PPROV_NAMES_RSA, PPROV_PROPS ",input=der,structure=" PPROV_DER_STRUCTURE,
     pprov_rsa_keyref_decoder_functions, "Parsec key reference to RSA key"},
    {PPROV_NAMES_RSA_PSS, PPROV_PROPS ",input=der,structure=" PPROV_DER_STRUCTURE,
     pprov_rsapss_keyref_decoder_functions, "Parsec key reference to RSA-PSS key"},
    {PPROV_NAMES_EC, PPROV_PROPS ",input=der,structure=" PPROV_DER_STRUCTURE,
     pprov_ec_keyref_decoder_functions, "Parsec key reference to EC key"},
    {NULL, NULL, NULL, NULL},
};

/* ---- provider functions ------------------------------------------------------------- */

static OSSL_FUNC_provider_teardown_fn pprov_teardown;
static OSSL_FUNC_provider_gettable_params_fn pprov_gettable_params;
static OSSL_FUNC_provider_get_params_fn pprov_get_params;
static OSSL_FUNC_provider_query_operation_fn pprov_query_operation;
static OSSL_FUNC_provider_get_reason_strings_fn pprov_get_reason_strings;

static void pprov_teardown(void *provctx)
{
    pprov_ctx *ctx = provctx;
    pprov_conn *r, *next;

    if (ctx == NULL)
        return;
    pprov_conn_free(ctx->conn);
    for (r = ctx->retired; r != NULL; r = next) {
        next = r->retired_next;
        pprov_conn_free(r);
    }
    OSSL_LIB_CTX_free(ctx->libctx);
    OPENSSL_free(ctx->endpoint);
    OPENSSL_free(ctx->app_name);
    OPENSSL_free(ctx->config_error);
    OPENSSL_clear_free(ctx, sizeof(*ctx));
    PPROV_debug("provider torn down");
    if (__atomic_sub_fetch(&pprov_instances, 1, __ATOMIC_ACQ_REL) == 0 &&
        pprov_debug_file != NULL) {
        fclose(pprov_debug_file);
        pprov_debug_file = NULL;
    }
}

static const OSSL_PARAM *pprov_gettable_params(void *provctx)
{
    static const OSSL_PARAM gettable[] = {
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, NULL, 0),
        OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL),
        OSSL_PARAM_END,
    };
    return gettable;
}

static int pprov_get_params(void *provctx, OSSL_PARAM params[])
{
    OSSL_PARAM *p;

    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, PPROV_NAME))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, PARSEC_PROVIDER_VERSION))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO);
    if (p != NULL && !OSSL_PARAM_set_utf8_ptr(p, "parsec-provider " PARSEC_PROVIDER_VERSION
                                                 ", built against " OPENSSL_VERSION_TEXT))
        return 0;
    p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS);
    if (p != NULL && !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

static const OSSL_ALGORITHM *pprov_query_operation(void *provctx, int operation_id, int *no_cache)
{
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return pprov_keymgmt_algorithms;
    case OSSL_OP_SIGNATURE:
        return pprov_signature_algorithms;
    case OSSL_OP_ASYM_CIPHER:
        return pprov_asym_cipher_algorithms;
    case OSSL_OP_KEYEXCH:
        return pprov_keyexch_algorithms;
    case OSSL_OP_RAND:
        return pprov_rand_algorithms;
    case OSSL_OP_STORE:
        return pprov_store_algorithms;
    case OSSL_OP_ENCODER:
        return pprov_encoder_algorithms;
    case OSSL_OP_DECODER:
        return pprov_decoder_algorithms;
    default:
        return NULL;
    }
}

static const OSSL_ITEM *pprov_get_reason_strings(void *provctx)
{
    return pprov_reason_strings;
}

static const OSSL_DISPATCH pprov_dispatch_table[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))pprov_teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))pprov_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))pprov_get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))pprov_query_operation},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))pprov_get_reason_strings},
    {0, NULL},
};

OSSL_provider_init_fn OSSL_provider_init;
__attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
                                                              const OSSL_DISPATCH *in,
                                                              const OSSL_DISPATCH **out,
                                                              void **provctx)
{
    OSSL_FUNC_core_get_params_fn *core_get_params = NULL;
    const OSSL_DISPATCH *f;
    pprov_ctx *ctx;

    ctx = OPENSSL_zalloc(sizeof(*ctx));
    if (ctx == NULL)
        return 0;
    __atomic_add_fetch(&pprov_instances, 1, __ATOMIC_ACQ_REL);
    ctx->handle = handle;
    for (f = in; f->function_id != 0; f++) {
        switch (f->function_id) {
        case OSSL_FUNC_CORE_GET_PARAMS:
            core_get_params = OSSL_FUNC_core_get_params(f);
            break;
        case OSSL_FUNC_CORE_NEW_ERROR:
            ctx->core_new_error = OSSL_FUNC_core_new_error(f);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            ctx->core_set_error_debug = OSSL_FUNC_core_set_error_debug(f);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            ctx->core_vset_error = OSSL_FUNC_core_vset_error(f);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_MARK:
            ctx->core_set_error_mark = OSSL_FUNC_core_set_error_mark(f);
            break;
        case OSSL_FUNC_CORE_CLEAR_LAST_ERROR_MARK:
            ctx->core_clear_last_error_mark = OSSL_FUNC_core_clear_last_error_mark(f);
            break;
        case OSSL_FUNC_CORE_POP_ERROR_TO_MARK:
            ctx->core_pop_error_to_mark = OSSL_FUNC_core_pop_error_to_mark(f);
            break;
        default:
            break;
        }
    }
    if (ctx->core_new_error == NULL || ctx->core_set_error_debug == NULL ||
        ctx->core_vset_error == NULL)
        ctx->core_new_error = NULL; /* all three or none */

    pprov_read_config(ctx, core_get_params);

    /* Our own digests and public-key work run in a child of the caller's library context. */
    ctx->libctx = OSSL_LIB_CTX_new_child(handle, in);
    if (ctx->libctx == NULL) {
        PPROV_raise(ctx, PPROV_R_MALLOC_FAILURE, "cannot create the provider's library context");
        pprov_teardown(ctx);
        return 0;
    }

    *out = pprov_dispatch_table;
    *provctx = ctx;
    PPROV_debug("provider initialised (version %s)", PARSEC_PROVIDER_VERSION);
    return 1;
}
