/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Module settings: a config file read with libinih (section [pkcs11]) and
 * the C_Initialize reserved string, which p11-kit fills from a module
 * file's `x-init-reserved:` line (p11-kit(8), "Module configuration").
 */
#include <errno.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>
#include <openssl/crypto.h>

#include "pp11.h"

#define PP11_CONF_SECTION "pkcs11"

static int pp11_set_string(char **field, const char *value)
{
    char *copy = OPENSSL_strdup(value);

    if (copy == NULL)
        return 0;
    OPENSSL_free(*field);
    *field = copy;
    return 1;
}

static int pp11_parse_bool(const char *value, int *out)
{
    if (strcmp(value, "1") == 0 || strcasecmp(value, "yes") == 0 ||
        strcasecmp(value, "true") == 0 || strcasecmp(value, "on") == 0)
        *out = 1;
    else if (strcmp(value, "0") == 0 || strcasecmp(value, "no") == 0 ||
             strcasecmp(value, "false") == 0 || strcasecmp(value, "off") == 0)
        *out = 0;
    else
        return 0;
    return 1;
}

int pp11_config_set(pp11_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    if (strcmp(key, "endpoint") == 0)
        return pp11_set_string(&cfg->endpoint, value);
    if (strcmp(key, "app_name") == 0) {
        if (value[0] == '\0') {
            snprintf(err, errlen,
                     "app_name is empty: give the direct authenticator's application name");
            return 0;
        }
        return pp11_set_string(&cfg->app_name, value);
    }
    if (strcmp(key, "tokens") == 0)
        return pp11_set_string(&cfg->tokens, value);
    if (strcmp(key, "cert_dir") == 0)
        return pp11_set_string(&cfg->cert_dir, value);
    if (strcmp(key, "auth") == 0) {
        if (strcmp(value, "direct") == 0)
            cfg->auth = PARSEC_AUTH_DIRECT;
        else if (strcmp(value, "unix") == 0 || strcmp(value, "unix-peer-credentials") == 0)
            cfg->auth = PARSEC_AUTH_UNIX_PEER;
        else if (strcmp(value, "auto") == 0)
            cfg->auth = PARSEC_AUTH_NONE;
        else {
            snprintf(err, errlen, "auth = '%s': use direct, unix-peer-credentials or auto", value);
            return 0;
        }
        return 1;
    }
    if (strcmp(key, "keepalive") == 0 || strcmp(key, "debug") == 0) {
        int *field = key[0] == 'k' ? &cfg->keepalive : &cfg->debug;

        if (!pp11_parse_bool(value, field)) {
            snprintf(err, errlen, "%s = '%s': use yes or no", key, value);
            return 0;
        }
        return 1;
    }
    snprintf(err, errlen,
             "unknown setting '%s' (known: endpoint, auth, app_name, tokens, cert_dir, keepalive, "
             "debug)",
             key);
    return 0;
}

typedef struct pp11_ini_state {
    pp11_config *cfg;
    const char *path;
    int failed;
} pp11_ini_state;

static int pp11_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    pp11_ini_state *st = user;
    char err[160] = "out of memory";

    if (strcmp(section, PP11_CONF_SECTION) != 0)
        return 1;
    if (!pp11_config_set(st->cfg, name, value, err, sizeof(err))) {
        PP11_log("%s: %s", st->path, err);
        st->failed = 1;
        return 0;
    }
    return 1;
}

static ck_rv_t pp11_config_file(pp11_config *cfg)
{
    pp11_ini_state st = {cfg, getenv(PP11_CONF_ENV), 0};
    int rc;

    if (st.path == NULL || st.path[0] == '\0') {
        st.path = PP11_CONF_DEFAULT;
        if (access(st.path, F_OK) != 0)
            return CKR_OK;
    }
    rc = ini_parse(st.path, pp11_ini_handler, &st);
    if (rc < 0) {
        PP11_log("cannot read %s (set by %s): %s", st.path, PP11_CONF_ENV, strerror(errno));
        return CKR_ARGUMENTS_BAD;
    }
    if (rc > 0 || st.failed) {
        PP11_log("%s: error on line %d", st.path, rc);
        return CKR_ARGUMENTS_BAD;
    }
    return CKR_OK;
}

/* "key=value key2=value2" (whitespace separated, no quoting). */
static ck_rv_t pp11_config_reserved(pp11_config *cfg, const char *reserved)
{
    char *copy = OPENSSL_strdup(reserved), *tok, *save = NULL, *eq;
    char err[160] = "out of memory";
    ck_rv_t rv = CKR_OK;

    if (copy == NULL)
        return CKR_HOST_MEMORY;
    for (tok = strtok_r(copy, " \t\n", &save); tok != NULL; tok = strtok_r(NULL, " \t\n", &save)) {
        eq = strchr(tok, '=');
        if (eq == NULL) {
            PP11_log(
                "module option '%s' is not key=value (x-init-reserved in the p11-kit module file)",
                tok);
            rv = CKR_ARGUMENTS_BAD;
            break;
        }
        *eq = '\0';
        if (!pp11_config_set(cfg, tok, eq + 1, err, sizeof(err))) {
            PP11_log("module option: %s", err);
            rv = CKR_ARGUMENTS_BAD;
            break;
        }
    }
    OPENSSL_free(copy);
    return rv;
}

ck_rv_t pp11_config_load(pp11_config *cfg, const char *reserved)
{
    ck_rv_t rv;

    memset(cfg, 0, sizeof(*cfg));
    /* Kept connections, as parsec.so does by default: a C_Sign costs one round trip, not a connect. */
    cfg->keepalive = 1;
    rv = pp11_config_file(cfg);
    if (rv == CKR_OK && reserved != NULL)
        rv = pp11_config_reserved(cfg, reserved);
    if (rv == CKR_OK && cfg->auth == PARSEC_AUTH_DIRECT && cfg->app_name == NULL) {
        PP11_log("auth = direct needs app_name");
        rv = CKR_ARGUMENTS_BAD;
    }
    if (rv != CKR_OK)
        pp11_config_clear(cfg);
    return rv;
}

void pp11_config_clear(pp11_config *cfg)
{
    OPENSSL_free(cfg->endpoint);
    OPENSSL_free(cfg->app_name);
    OPENSSL_free(cfg->tokens);
    OPENSSL_free(cfg->cert_dir);
    memset(cfg, 0, sizeof(*cfg));
}
