/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client object (configuration only), endpoint parsing and discovery.
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "parsec_busy_poll.h"
#include "parsec_client_internal.h"
#include "parsec_wire.h"

/* Detail of the last failure, per thread (a client is shared between threads). */
static __thread const parsec_client *parsec_tls_error_client;
static __thread char parsec_tls_error[512];

/* "unix:/path" or "unix:///path" -> "/path". */
static parsec_status parsec_endpoint_to_path(const char *uri, char *path, size_t cap)
{
    const char *p;
    size_t len;

    if (uri == NULL || strncasecmp(uri, "unix:", 5) != 0)
        return PARSEC_CLIENT_ERROR_ENDPOINT;
    p = uri + 5;
    if (strncmp(p, "//", 2) == 0) {
        /* An authority part must be empty: unix:///path. */
        p += 2;
        if (*p != '/')
            return PARSEC_CLIENT_ERROR_ENDPOINT;
    }
    if (*p != '/')
        return PARSEC_CLIENT_ERROR_ENDPOINT;
    len = strlen(p);
    if (len < 2 || len >= cap)
        return PARSEC_CLIENT_ERROR_ENDPOINT;
    memcpy(path, p, len + 1);
    return PARSEC_SUCCESS;
}

parsec_client *parsec_client_new(void)
{
    parsec_client *c = calloc(1, sizeof(*c));
    const char *env;

    if (c == NULL)
        return NULL;
    c->auth_type = PARSEC_AUTH_NONE;
    c->provider = PARSEC_PROVIDER_DEFAULT;
    c->timeout_ms = PARSEC_DEFAULT_TIMEOUT_MS;
    c->max_body = PARSEC_CLIENT_MAX_RESPONSE_CAP;
    env = secure_getenv(PARSEC_KEEPALIVE_ENV);
    c->keepalive = env != NULL && strcmp(env, "1") == 0;
    c->busy_poll_us = PARSEC_BUSY_POLL_DEFAULT_US;
    env = secure_getenv(PARSEC_BUSY_POLL_ENV);
    /* An invalid value keeps the default: a client has nowhere to report it. */
    if (env != NULL && parsec_busy_poll_parse(env, &c->busy_poll_us) != 0)
        c->busy_poll_us = PARSEC_BUSY_POLL_DEFAULT_US;
    env = secure_getenv(PARSEC_SHM_HANDOFF_ENV);
    c->shm_handoff = env == NULL || strcmp(env, "0") != 0;
    env = secure_getenv(PARSEC_ENDPOINT_ENV);
    if (env == NULL || *env == '\0')
        env = PARSEC_DEFAULT_ENDPOINT;
    /* A bad variable leaves the path empty; every call then reports it. */
    if (parsec_endpoint_to_path(env, c->socket_path, sizeof(c->socket_path)) != PARSEC_SUCCESS)
        c->socket_path[0] = '\0';
    return c;
}

void parsec_client_free(parsec_client *c)
{
    if (c == NULL)
        return;
    free(c->app_name);
    free(c);
}

parsec_status parsec_client_set_endpoint(parsec_client *c, const char *uri)
{
    char path[sizeof(c->socket_path)];
    parsec_status st;

    if (c == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    st = parsec_endpoint_to_path(uri, path, sizeof(path));
    if (st != PARSEC_SUCCESS)
        return st;
    memcpy(c->socket_path, path, sizeof(path));
    return PARSEC_SUCCESS;
}

const char *parsec_client_get_endpoint(const parsec_client *c)
{
    return c ? c->socket_path : NULL;
}

static parsec_status parsec_client_store_app_name(parsec_client *c, const char *app_name)
{
    size_t len;
    char *copy;

    if (app_name == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    len = strlen(app_name);
    if (len == 0 || len > PARSEC_CLIENT_MAX_APP_NAME)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    copy = strdup(app_name);
    if (copy == NULL)
        return PARSEC_CLIENT_ERROR_MEMORY;
    free(c->app_name);
    c->app_name = copy;
    c->app_name_len = len;
    return PARSEC_SUCCESS;
}

parsec_status parsec_client_set_auth(parsec_client *c, uint8_t auth_type, const char *app_name)
{
    parsec_status st;

    if (c == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    switch (auth_type) {
    case PARSEC_AUTH_DIRECT:
        if (app_name == NULL && c->app_name != NULL)
            break;
        st = parsec_client_store_app_name(c, app_name);
        if (st != PARSEC_SUCCESS)
            return st;
        break;
    case PARSEC_AUTH_NONE:
    case PARSEC_AUTH_UNIX_PEER:
        break;
    default:
        /* JWT and JWT-SVID need token infrastructure this library does not have. */
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    }
    c->auth_type = auth_type;
    c->auth_explicit = 1;
    return PARSEC_SUCCESS;
}

uint8_t parsec_client_get_auth(const parsec_client *c)
{
    return c ? c->auth_type : PARSEC_AUTH_NONE;
}

void parsec_client_set_timeout(parsec_client *c, unsigned int timeout_ms)
{
    if (c != NULL)
        c->timeout_ms = timeout_ms;
}

void parsec_client_set_max_response(parsec_client *c, size_t max_body)
{
    if (c == NULL)
        return;
    /* 0 restores the default; nothing goes above the hard cap. */
    if (max_body == 0 || max_body > PARSEC_CLIENT_MAX_RESPONSE_CAP)
        max_body = PARSEC_CLIENT_MAX_RESPONSE_CAP;
    c->max_body = max_body;
}

void parsec_client_set_keepalive(parsec_client *c, int on)
{
    if (c != NULL)
        c->keepalive = on != 0;
}

int parsec_client_get_keepalive(const parsec_client *c)
{
    return c != NULL && c->keepalive;
}

void parsec_client_set_busy_poll(parsec_client *c, unsigned int us)
{
    if (c != NULL)
        c->busy_poll_us = us > PARSEC_BUSY_POLL_MAX_US ? PARSEC_BUSY_POLL_MAX_US : us;
}

unsigned int parsec_client_get_busy_poll(const parsec_client *c)
{
    return c != NULL ? c->busy_poll_us : 0;
}

void parsec_client_set_shm_handoff(parsec_client *c, int on)
{
    if (c != NULL)
        c->shm_handoff = on != 0;
}

int parsec_client_get_shm_handoff(const parsec_client *c)
{
    return c != NULL && c->shm_handoff;
}

void parsec_client_set_provider(parsec_client *c, uint8_t provider)
{
    if (c == NULL)
        return;
    c->provider = provider;
    c->provider_explicit = provider != PARSEC_PROVIDER_DEFAULT;
}

uint8_t parsec_client_get_provider(const parsec_client *c)
{
    return c ? c->provider : PARSEC_PROVIDER_DEFAULT;
}

uint8_t parsec_provider_resolve(const parsec_client *c, uint8_t provider)
{
    return provider != PARSEC_PROVIDER_DEFAULT ? provider : c->provider;
}

parsec_status parsec_client_discover(parsec_client *c, const char *app_name)
{
    parsec_client naked;
    parsec_provider_info *providers = NULL;
    parsec_authenticator_info *auths = NULL;
    size_t n_providers = 0, n_auths = 0;
    parsec_status st;
    int have_provider;

    if (c == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    if (app_name != NULL) {
        st = parsec_client_store_app_name(c, app_name);
        if (st != PARSEC_SUCCESS)
            return st;
    }
    /* Discovery runs unauthenticated, like the reference BasicClient. */
    naked = *c;
    naked.auth_type = PARSEC_AUTH_NONE;

    have_provider = c->provider_explicit;
    if (!c->provider_explicit) {
        st = parsec_list_providers(&naked, &providers, &n_providers);
        if (st != PARSEC_SUCCESS)
            goto done;
        /* First entry = the service's highest-priority provider (Core is always last). */
        if (n_providers > 0 && providers[0].id != PARSEC_PROVIDER_CORE) {
            c->provider = providers[0].id;
            have_provider = 1;
        }
    }
    if (!c->auth_explicit) {
        int chosen = -1;
        st = parsec_list_authenticators(&naked, &auths, &n_auths);
        if (st != PARSEC_SUCCESS)
            goto done;
        for (size_t i = 0; i < n_auths && chosen < 0; i++) {
            if (auths[i].id == PARSEC_AUTH_UNIX_PEER)
                chosen = PARSEC_AUTH_UNIX_PEER;
            else if (auths[i].id == PARSEC_AUTH_DIRECT && c->app_name != NULL)
                chosen = PARSEC_AUTH_DIRECT;
        }
        if (chosen < 0) {
            st = PARSEC_CLIENT_ERROR_NO_AUTHENTICATOR;
            goto done;
        }
        c->auth_type = (uint8_t)chosen;
    }
    st = have_provider ? PARSEC_SUCCESS : PARSEC_CLIENT_ERROR_NO_PROVIDER;
done:
    /* The calls went out through the copy: the caller asks about c. */
    if (parsec_tls_error_client == &naked)
        parsec_tls_error_client = c;
    parsec_provider_info_free(providers, n_providers);
    parsec_authenticator_info_free(auths, n_auths);
    return st;
}

/* ---- detail of the last failure ---- */

void parsec_last_error_set(const parsec_client *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(parsec_tls_error, sizeof(parsec_tls_error), fmt, ap);
    va_end(ap);
    parsec_tls_error_client = c;
}

void parsec_last_error_clear(void)
{
    parsec_tls_error_client = NULL;
    parsec_tls_error[0] = '\0';
}

const char *parsec_client_last_error(const parsec_client *c)
{
    if (c == NULL || c != parsec_tls_error_client || parsec_tls_error[0] == '\0')
        return NULL;
    return parsec_tls_error;
}

/* The names parsecd.conf ([authenticator] type) and the clients' auth settings use. */
static const char *parsec_auth_config_name(uint8_t id)
{
    static const char *const names[] = {"none", "direct", "jwt", "unix-peer-credentials",
                                        "jwt-svid"};
    return id < sizeof(names) / sizeof(names[0]) ? names[id] : "unknown";
}

void parsec_last_error_explain_auth(const parsec_client *c)
{
    parsec_client naked = *c;
    parsec_authenticator_info *auths = NULL;
    size_t n = 0;
    char ours[160];

    if (c->auth_type == PARSEC_AUTH_DIRECT)
        snprintf(ours, sizeof(ours), "direct authentication as application '%s'",
                 c->app_name ? c->app_name : "");
    else if (c->auth_type == PARSEC_AUTH_UNIX_PEER)
        snprintf(ours, sizeof(ours), "unix-peer-credentials authentication as uid %ld",
                 (long)getuid());
    else
        snprintf(ours, sizeof(ours), "%s authentication", parsec_auth_config_name(c->auth_type));
    /* ListAuthenticators needs no authentication, so it answers whatever ours was. */
    naked.auth_type = PARSEC_AUTH_NONE;
    if (parsec_list_authenticators(&naked, &auths, &n) != PARSEC_SUCCESS || n == 0)
        parsec_last_error_set(c,
                              "this client used %s, which the service at %s does not"
                              " accept (ListAuthenticators did not say what it uses)",
                              ours, c->socket_path);
    else
        parsec_last_error_set(c,
                              "the service at %s uses %s authentication, this client used"
                              " %s",
                              c->socket_path, parsec_auth_config_name(auths[0].id), ours);
    parsec_authenticator_info_free(auths, n);
}

void parsec_free(void *p)
{
    free(p);
}

void parsec_clear_free(void *p, size_t len)
{
    if (p == NULL)
        return;
    OPENSSL_cleanse(p, len);
    free(p);
}
