/* SPDX-License-Identifier: Apache-2.0 */
/* parsecd's INI configuration, parsed with libinih; see parsecd.conf.example. */
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "parsec_wire.h"
#include "psd_service.h"

/* Guards the live configuration's admins: SIGHUP swaps them while workers read them. */
static pthread_rwlock_t psd_admins_lock = PTHREAD_RWLOCK_INITIALIZER;

static const char *const psd_backend_names[PSD_MAX_BACKENDS] = {"software", "pkcs11", "tpm"};

/*
 * libinih keeps going after an error but reports only the first line; the
 * reader counts lines so that every error gets its own.
 */
typedef struct psd_config_parse {
    psd_config *cfg;
    const char *path;
    FILE *file;
    int line;      /* of the text the handler is called for */
    int line_done; /* the last chunk read ended its line */
    char *errs;    /* "path:line: message" lines, '\n'-separated */
    size_t errs_len, errs_cap;
    int n_errors;
    int first_error_line;
    char bad_section[64]; /* reported once, not for each of its keys */
} psd_config_parse;

__attribute__((format(printf, 2, 3))) static int psd_conf_fail(psd_config_parse *p, const char *fmt,
                                                               ...)
{
    char msg[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->n_errors++ == 0)
        p->first_error_line = p->line;
    n = snprintf(p->errs + p->errs_len, p->errs_cap - p->errs_len, "%s%s:%d: %s",
                 p->errs_len > 0 ? "\n" : "", p->path, p->line, msg);
    if (n > 0)
        p->errs_len +=
            (size_t)n < p->errs_cap - p->errs_len ? (size_t)n : p->errs_cap - p->errs_len - 1;
    return 0;
}

static char *psd_conf_read_line(char *str, int num, void *stream)
{
    psd_config_parse *p = stream;
    char *got = fgets(str, num, p->file);

    if (got == NULL)
        return NULL;
    if (p->line_done)
        p->line++;
    p->line_done = strchr(got, '\n') != NULL;
    return got;
}

static int psd_parse_ulong(const char *value, int base, unsigned long min, unsigned long max,
                           unsigned long *out)
{
    char *end = NULL;
    unsigned long v;

    if (value[0] == '\0' || value[0] == '-')
        return -1;
    errno = 0;
    v = strtoul(value, &end, base);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static char *psd_trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

/* Absolute form of a path from the config file (relative to its directory). */
static char *psd_conf_path(const psd_config *cfg, const char *value)
{
    char *out;
    size_t n;

    if (value[0] == '/')
        return strdup(value);
    n = strlen(cfg->config_dir) + 1 + strlen(value) + 1;
    out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s/%s", cfg->config_dir, value);
    return out;
}

static int psd_set_string(psd_config_parse *p, char **field, const char *value, int is_path)
{
    char *v = is_path ? psd_conf_path(p->cfg, value) : strdup(value);

    if (v == NULL)
        return psd_conf_fail(p, "out of memory");
    free(*field);
    *field = v;
    return 1;
}

static int psd_conf_providers(psd_config_parse *p, const char *value)
{
    psd_config *cfg = p->cfg;
    char *copy = strdup(value), *save = NULL, *tok;
    int ok = 1;

    if (copy == NULL)
        return psd_conf_fail(p, "out of memory");
    for (size_t i = 0; i < cfg->n_providers; i++)
        free(cfg->providers[i]);
    cfg->n_providers = 0;
    for (tok = strtok_r(copy, ",", &save); tok != NULL && ok; tok = strtok_r(NULL, ",", &save)) {
        const char *name = psd_trim(tok);
        int known = 0;

        for (size_t i = 0; i < PSD_MAX_BACKENDS; i++)
            known |= strcmp(name, psd_backend_names[i]) == 0;
        if (!known) {
            ok = psd_conf_fail(
                p, "unknown backend '%s' in providers (known: software, pkcs11, tpm)", name);
            break;
        }
        for (size_t i = 0; i < cfg->n_providers; i++)
            if (strcmp(cfg->providers[i], name) == 0)
                ok = psd_conf_fail(p, "backend '%s' listed twice in providers", name);
        if (ok)
            cfg->providers[cfg->n_providers++] = strdup(name);
    }
    if (ok && cfg->n_providers == 0)
        ok = psd_conf_fail(p, "providers lists no backend");
    free(copy);
    return ok;
}

static int psd_conf_admins(psd_config_parse *p, const char *value)
{
    psd_config *cfg = p->cfg;
    char *copy = strdup(value), *save = NULL, *tok;

    if (copy == NULL)
        return psd_conf_fail(p, "out of memory");
    for (size_t i = 0; i < cfg->n_admins; i++)
        free(cfg->admins[i]);
    free(cfg->admins);
    cfg->admins = NULL;
    cfg->n_admins = 0;
    for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        const char *name = psd_trim(tok);
        char **grown;

        if (name[0] == '\0')
            continue;
        grown = realloc(cfg->admins, (cfg->n_admins + 1) * sizeof(*grown));
        if (grown == NULL)
            break;
        cfg->admins = grown;
        cfg->admins[cfg->n_admins++] = strdup(name);
    }
    free(copy);
    return 1;
}

/* A true/false setting. */
static int psd_set_bool(psd_config_parse *p, const char *name, const char *value, int *out)
{
    if (strcmp(value, "true") == 0)
        *out = 1;
    else if (strcmp(value, "false") == 0)
        *out = 0;
    else
        return psd_conf_fail(p, "%s '%s' must be true or false", name, value);
    return 1;
}

static int psd_conf_listener(psd_config_parse *p, const char *name, const char *value)
{
    psd_config *cfg = p->cfg;
    unsigned long v;

    if (strcmp(name, "socket_path") == 0) {
        if (value[0] == '\0')
            return psd_conf_fail(p, "socket_path is empty");
        return psd_set_string(p, &cfg->socket_path, value, 1);
    }
    if (strcmp(name, "socket_mode") == 0) {
        if (psd_parse_ulong(value, 8, 0, 0777, &v) != 0)
            return psd_conf_fail(p, "socket_mode '%s' is not an octal mode like 0666", value);
        cfg->socket_mode = (unsigned int)v;
        return 1;
    }
    if (strcmp(name, "socket_owner") == 0)
        return psd_set_string(p, &cfg->socket_owner, value, 0);
    if (strcmp(name, "socket_group") == 0)
        return psd_set_string(p, &cfg->socket_group, value, 0);
    if (strcmp(name, "timeout_ms") == 0) {
        if (psd_parse_ulong(value, 10, 0, 86400000, &v) != 0)
            return psd_conf_fail(p, "timeout_ms '%s' is not a number of milliseconds", value);
        cfg->timeout_ms = (unsigned int)v;
        return 1;
    }
    if (strcmp(name, "keepalive_max") == 0) {
        if (psd_parse_ulong(value, 10, 0, 65536, &v) != 0)
            return psd_conf_fail(p, "keepalive_max '%s' must be 0..65536 connections", value);
        cfg->keepalive_max = (unsigned int)v;
        return 1;
    }
    if (strcmp(name, "keepalive_idle_ms") == 0) {
        if (psd_parse_ulong(value, 10, 1, 86400000, &v) != 0)
            return psd_conf_fail(p, "keepalive_idle_ms '%s' must be 1..86400000 milliseconds",
                                 value);
        cfg->keepalive_idle_ms = (unsigned int)v;
        return 1;
    }
    if (strcmp(name, "max_connections_per_uid") == 0) {
        if (psd_parse_ulong(value, 10, 0, 1000000, &v) != 0)
            return psd_conf_fail(
                p, "max_connections_per_uid '%s' must be 0..1000000 connections (0 = no cap)",
                value);
        cfg->max_connections_per_uid = (unsigned int)v;
        return 1;
    }
    if (strcmp(name, "busy_poll_us") == 0) {
        if (psd_parse_ulong(value, 10, 0, PARSEC_BUSY_POLL_MAX_US, &v) != 0)
            return psd_conf_fail(p, "busy_poll_us '%s' must be 0..%u microseconds (0 = off)", value,
                                 PARSEC_BUSY_POLL_MAX_US);
        cfg->busy_poll_us = (unsigned int)v;
        return 1;
    }
    if (strcmp(name, "shm_handoff") == 0)
        return psd_set_bool(p, name, value, &cfg->shm_handoff);
    return psd_conf_fail(p, "unknown key '%s' in section [%s]", name, "listener");
}

static int psd_conf_core(psd_config_parse *p, const char *name, const char *value)
{
    psd_config *cfg = p->cfg;
    unsigned long v;

    if (strcmp(name, "threads") == 0) {
        if (psd_parse_ulong(value, 10, 1, 1024, &v) != 0)
            return psd_conf_fail(p, "threads '%s' must be 1..1024", value);
        cfg->threads = (unsigned int)v;
        return 1;
    }
    if (strcmp(name, "body_len_limit") == 0) {
        if (psd_parse_ulong(value, 10, 1, UINT32_MAX, &v) != 0)
            return psd_conf_fail(p, "body_len_limit '%s' must be 1..4294967295 bytes", value);
        cfg->body_len_limit = (uint32_t)v;
        return 1;
    }
    if (strcmp(name, "buffer_size_limit") == 0) {
        if (psd_parse_ulong(value, 10, 1, UINT32_MAX, &v) != 0)
            return psd_conf_fail(p, "buffer_size_limit '%s' must be 1..4294967295 bytes", value);
        cfg->buffer_size_limit = v;
        return 1;
    }
    if (strcmp(name, "log_level") == 0) {
        int level = psd_log_level_from_name(value);

        if (level < 0)
            return psd_conf_fail(p, "log_level '%s' is not one of error, warn, info, debug", value);
        cfg->log_level = level;
        return 1;
    }
    if (strcmp(name, "providers") == 0)
        return psd_conf_providers(p, value);
    if (strcmp(name, "log_target") == 0) {
        if (strcmp(value, "stderr") == 0)
            cfg->log_target = PSD_LOG_TO_STDERR;
        else if (strcmp(value, "syslog") == 0)
            cfg->log_target = PSD_LOG_TO_SYSLOG;
        else if (strcmp(value, "file") == 0)
            cfg->log_target = PSD_LOG_TO_FILE;
        else
            return psd_conf_fail(p, "log_target '%s' is not one of stderr, syslog, file", value);
        return 1;
    }
    if (strcmp(name, "log_file") == 0) {
        if (value[0] == '\0')
            return psd_conf_fail(p, "log_file is empty");
        return psd_set_string(p, &cfg->log_file, value, 1);
    }
    if (strcmp(name, "module_dir") == 0) {
        if (value[0] == '\0')
            return psd_conf_fail(p, "module_dir is empty (leave it out for the installed modules)");
        return psd_set_string(p, &cfg->module_dir, value, 1);
    }
    if (strcmp(name, "min_rsa_bits") == 0) {
        if (psd_parse_ulong(value, 10, 1024, 16384, &v) != 0)
            return psd_conf_fail(p, "min_rsa_bits '%s' must be 1024..16384 bits", value);
        cfg->min_rsa_bits = (uint32_t)v;
        return 1;
    }
    if (strcmp(name, "allow_deprecated") == 0)
        return psd_set_bool(p, name, value, &cfg->allow_deprecated);
    return psd_conf_fail(p, "unknown key '%s' in section [%s]", name, "core");
}

static int psd_conf_authenticator(psd_config_parse *p, const char *name, const char *value)
{
    psd_config *cfg = p->cfg;

    if (strcmp(name, "type") == 0) {
        if (strcmp(value, "unix-peer-credentials") == 0)
            cfg->auth_type = PARSEC_AUTH_UNIX_PEER;
        else if (strcmp(value, "direct") == 0)
            cfg->auth_type = PARSEC_AUTH_DIRECT;
        else
            return psd_conf_fail(
                p, "authenticator type '%s' is not one of unix-peer-credentials, direct", value);
        return 1;
    }
    if (strcmp(name, "admins") == 0)
        return psd_conf_admins(p, value);
    return psd_conf_fail(p, "unknown key '%s' in section [%s]", name, "authenticator");
}

static int psd_conf_backend(psd_config_parse *p, psd_backend_conf *b, const char *name,
                            const char *value)
{
    if (b->count == PSD_MAX_SETTINGS)
        return psd_conf_fail(p, "too many settings in section [%s]", b->name);
    b->items[b->count].key = strdup(name);
    b->items[b->count].value = strdup(value);
    if (b->items[b->count].key == NULL || b->items[b->count].value == NULL)
        return psd_conf_fail(p, "out of memory");
    b->count++;
    return 1;
}

static int psd_conf_key_store(psd_config_parse *p, const char *name, const char *value)
{
    psd_config *cfg = p->cfg;
    unsigned long v;

    if (strcmp(name, "path") == 0) {
        if (value[0] == '\0')
            return psd_conf_fail(p, "key_store path is empty");
        return psd_set_string(p, &cfg->key_store_path, value, 1);
    }
    if (strcmp(name, "max_keys_per_app") == 0) {
        if (psd_parse_ulong(value, 10, 1, UINT32_MAX, &v) != 0)
            return psd_conf_fail(p, "max_keys_per_app '%s' must be 1..4294967295", value);
        cfg->max_keys_per_app = (uint32_t)v;
        return 1;
    }
    if (strcmp(name, "kek_file") == 0)
        return value[0] != '\0' ? psd_set_string(p, &cfg->kek_file, value, 1) : 1;
    if (strcmp(name, "kek_tpm_file") == 0)
        return value[0] != '\0' ? psd_set_string(p, &cfg->kek_tpm_file, value, 1) : 1;
    if (strcmp(name, "kek_credential") == 0) {
        if (strchr(value, '/') != NULL)
            return psd_conf_fail(p, "kek_credential '%s' must be a credential name, not a path",
                                 value);
        return value[0] != '\0' ? psd_set_string(p, &cfg->kek_credential, value, 0) : 1;
    }
    return psd_conf_fail(p, "unknown key '%s' in section [%s]", name, "key_store");
}

static int psd_conf_handler(void *user, const char *section, const char *name, const char *value)
{
    psd_config_parse *p = user;

    if (strcmp(section, "listener") == 0)
        return psd_conf_listener(p, name, value);
    if (strcmp(section, "core") == 0)
        return psd_conf_core(p, name, value);
    if (strcmp(section, "authenticator") == 0)
        return psd_conf_authenticator(p, name, value);
    if (strcmp(section, "key_store") == 0)
        return psd_conf_key_store(p, name, value);
    for (size_t i = 0; i < PSD_MAX_BACKENDS; i++)
        if (strcmp(section, psd_backend_names[i]) == 0)
            return psd_conf_backend(p, &p->cfg->backends[i], name, value);
    if (section[0] == '\0')
        return psd_conf_fail(p, "key '%s' outside any section", name);
    if (strcmp(p->bad_section, section) == 0)
        return 0;
    snprintf(p->bad_section, sizeof(p->bad_section), "%s", section);
    return psd_conf_fail(p, "unknown section [%s]", section);
}

/* Puts line before the text already in buf (an earlier line's error first). */
static void psd_prepend_line(char *buf, size_t len, const char *line)
{
    size_t n = strlen(line) + 1, have = strlen(buf);

    if (n >= len)
        return;
    if (have + n >= len)
        have = len - n - 1;
    memmove(buf + n, buf, have);
    buf[n + have] = '\0';
    memcpy(buf, line, n - 1);
    buf[n - 1] = '\n';
}

int psd_config_load(const char *path, psd_config *cfg, char *err, size_t errlen)
{
    psd_config_parse parse = {.cfg = cfg};
    char real[PATH_MAX];
    struct stat st;
    int rc, ok = -1;

    memset(cfg, 0, sizeof(*cfg));
    cfg->socket_mode = 0666;
    cfg->timeout_ms = 3000;
    cfg->keepalive_max = PSD_DEFAULT_KEEPALIVE_MAX;
    cfg->keepalive_idle_ms = PSD_DEFAULT_KEEPALIVE_IDLE_MS;
    cfg->max_connections_per_uid = PSD_DEFAULT_MAX_CONNECTIONS_PER_UID;
    cfg->busy_poll_us = PARSEC_BUSY_POLL_DEFAULT_US;
    cfg->shm_handoff = 1;
    cfg->threads = 4;
    cfg->body_len_limit = PARSEC_DEFAULT_BODY_LIMIT;
    cfg->buffer_size_limit = 1u << 20;
    cfg->min_rsa_bits = 2048;
    cfg->log_level = PSD_LOG_INFO;
    cfg->auth_type = PARSEC_AUTH_UNIX_PEER;
    cfg->max_keys_per_app = PSD_DEFAULT_MAX_KEYS_PER_APP;
    for (size_t i = 0; i < PSD_MAX_BACKENDS; i++)
        cfg->backends[i].name = psd_backend_names[i];

    if (realpath(path, real) == NULL || stat(real, &st) != 0 ||
        (parse.file = fopen(real, "re")) == NULL) {
        int error = errno;
        char user[160];

        snprintf(err, errlen, "cannot read configuration file %s: %s (parsecd runs as %s)", path,
                 strerror(error), psd_running_user(user, sizeof(user)));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen,
                 "%s is a directory: -c takes the configuration file (e.g. %s/parsecd.conf)", path,
                 path);
        goto done;
    }
    cfg->config_dir = strdup(dirname(real));
    parse.errs_cap = errlen;
    parse.errs = err;
    err[0] = '\0';
    if (cfg->config_dir == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    parse.path = path;
    parse.line_done = 1;
    rc = ini_parse_stream(psd_conf_read_line, &parse, psd_conf_handler, &parse);
    if (rc == -2) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    /* A syntax error never reaches the handler: libinih returns its line if it came first. */
    if (rc > 0 && (parse.n_errors == 0 || rc < parse.first_error_line)) {
        char first[320];

        snprintf(first, sizeof(first), "%s:%d: syntax error (expected [section] or key = value)",
                 path, rc);
        if (parse.n_errors == 0)
            snprintf(err, errlen, "%s", first);
        else
            psd_prepend_line(err, errlen, first);
        parse.n_errors++;
    }
    if (parse.n_errors > 0)
        goto done;
    if (cfg->log_target == PSD_LOG_TO_FILE && cfg->log_file == NULL) {
        snprintf(err, errlen, "%s: log_target = file needs log_file = PATH in [core]", path);
        goto done;
    }
    if (cfg->socket_path == NULL)
        cfg->socket_path = strdup("/run/parsec/parsec.sock");
    if (cfg->key_store_path == NULL)
        cfg->key_store_path = strdup("/var/lib/parsec/keys.sqlite3");
    if (cfg->n_providers == 0) {
        cfg->providers[0] = strdup("software");
        cfg->n_providers = 1;
    }
    if (cfg->socket_path == NULL || cfg->key_store_path == NULL || cfg->providers[0] == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    ok = 0;
done:
    if (parse.file != NULL)
        fclose(parse.file);
    return ok;
}

void psd_config_backend_settings(const psd_config *cfg, const char *name, psd_settings *out)
{
    out->items = NULL;
    out->count = 0;
    out->config_dir = cfg->config_dir;
    for (size_t i = 0; i < PSD_MAX_BACKENDS; i++)
        if (strcmp(cfg->backends[i].name, name) == 0) {
            out->items = cfg->backends[i].items;
            out->count = cfg->backends[i].count;
        }
}

void psd_config_free(psd_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->config_dir);
    free(cfg->socket_path);
    free(cfg->socket_owner);
    free(cfg->socket_group);
    for (size_t i = 0; i < cfg->n_providers; i++)
        free(cfg->providers[i]);
    for (size_t i = 0; i < cfg->n_admins; i++)
        free(cfg->admins[i]);
    free(cfg->admins);
    free(cfg->key_store_path);
    free(cfg->log_file);
    free(cfg->module_dir);
    free(cfg->kek_file);
    free(cfg->kek_credential);
    free(cfg->kek_tpm_file);
    for (size_t i = 0; i < PSD_MAX_BACKENDS; i++) {
        psd_backend_conf *b = &cfg->backends[i];

        for (size_t j = 0; j < b->count; j++) {
            /* Settings may hold a PIN. */
            char *v = (char *)b->items[j].value;

            if (v != NULL) {
                explicit_bzero(v, strlen(v));
                free(v);
            }
            free((char *)b->items[j].key);
        }
        b->count = 0;
    }
    memset(cfg, 0, sizeof(*cfg));
}

int psd_config_is_admin(const psd_config *cfg, const char *app)
{
    int found = 0;

    pthread_rwlock_rdlock(&psd_admins_lock);
    for (size_t i = 0; i < cfg->n_admins && !found; i++)
        found = strcmp(cfg->admins[i], app) == 0;
    pthread_rwlock_unlock(&psd_admins_lock);
    return found;
}

void psd_config_swap_admins(psd_config *live, psd_config *fresh)
{
    char **admins;
    size_t n;

    pthread_rwlock_wrlock(&psd_admins_lock);
    admins = live->admins;
    n = live->n_admins;
    live->admins = fresh->admins;
    live->n_admins = fresh->n_admins;
    fresh->admins = admins;
    fresh->n_admins = n;
    pthread_rwlock_unlock(&psd_admins_lock);
}
