/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The [pkcs11] section: module, token_uri | slot, pin | pin_file, sessions,
 * remove_orphans.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "psd_p11.h"

#define PSD_P11_PIN_MAX 1024

static const char *const psd_p11_known_settings[] = {
    "module", "token_uri", "slot", "pin", "pin_file", "sessions", "remove_orphans", NULL,
};

/* Relative paths are relative to the config file's directory. */
static char *psd_p11_resolve_path(const char *path, const char *dir)
{
    char *out = NULL;
    size_t n;

    if (path[0] == '/' || dir == NULL || dir[0] == '\0')
        return OPENSSL_strdup(path);
    n = strlen(dir) + strlen(path) + 2;
    out = OPENSSL_malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s/%s", dir, path);
    return out;
}

static int psd_p11_read_pin_file(psd_p11_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = NULL;
    char *buf = NULL;
    struct stat sb;
    size_t n = 0;
    int ret = -1;

    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "pkcs11: cannot read pin_file %s: %s", path, strerror(errno));
        goto done;
    }
    /* Whoever reads the PIN can use every key on the token, bypassing parsecd. */
    if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & (S_IRGRP | S_IROTH)) != 0)
        psd_log(PSD_LOG_WARN,
                "pkcs11: pin_file %s is readable by %s (mode %04o): anyone who"
                " reads it can use the token's keys without parsecd; run chmod 600 %s (owned"
                " by the service user)",
                path, (sb.st_mode & S_IROTH) ? "every user" : "its group",
                (unsigned)(sb.st_mode & 07777), path);
    buf = OPENSSL_zalloc(PSD_P11_PIN_MAX + 2);
    if (buf == NULL) {
        snprintf(err, errlen, "pkcs11: out of memory");
        goto done;
    }
    n = fread(buf, 1, PSD_P11_PIN_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "pkcs11: cannot read pin_file %s: %s", path, strerror(errno));
        goto done;
    }
    if (n > PSD_P11_PIN_MAX) {
        snprintf(err, errlen, "pkcs11: pin_file %s is longer than %d bytes", path, PSD_P11_PIN_MAX);
        goto done;
    }
    /* The usual `echo PIN > file` leaves a newline that is not part of the PIN. */
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (n == 0) {
        snprintf(err, errlen, "pkcs11: pin_file %s is empty", path);
        goto done;
    }
    if (memchr(buf, '\0', n) != NULL || memchr(buf, '\n', n) != NULL) {
        snprintf(err, errlen, "pkcs11: pin_file %s must hold the PIN on one line", path);
        goto done;
    }
    cfg->pin = buf;
    cfg->pin_len = n;
    cfg->have_pin = 1;
    buf = NULL;
    ret = 0;
done:
    if (buf != NULL)
        OPENSSL_clear_free(buf, PSD_P11_PIN_MAX + 2);
    if (f != NULL)
        fclose(f);
    return ret;
}

static int psd_p11_parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long v;

    if (s == NULL || s[0] == '\0' || s[0] == '-' || s[0] == '+')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

int psd_p11_config_read(psd_p11_config *cfg, const psd_settings *s, char *err, size_t errlen)
{
    const char *module, *uri, *slot, *pin, *pin_file, *sessions, *orphans;
    char *path = NULL;
    unsigned long v = 0;
    size_t i, k;
    int ret = -1;

    memset(cfg, 0, sizeof(*cfg));
    cfg->sessions = PSD_P11_DEFAULT_SESSIONS;

    for (i = 0; s != NULL && i < s->count; i++) {
        for (k = 0; psd_p11_known_settings[k] != NULL; k++)
            if (strcmp(s->items[i].key, psd_p11_known_settings[k]) == 0)
                break;
        if (psd_p11_known_settings[k] == NULL) {
            snprintf(err, errlen,
                     "pkcs11: unknown setting '%s' (known: module, token_uri, slot, pin, "
                     "pin_file, sessions, remove_orphans)",
                     s->items[i].key);
            goto done;
        }
    }

    module = psd_settings_get(s, "module");
    uri = psd_settings_get(s, "token_uri");
    slot = psd_settings_get(s, "slot");
    pin = psd_settings_get(s, "pin");
    pin_file = psd_settings_get(s, "pin_file");
    sessions = psd_settings_get(s, "sessions");
    orphans = psd_settings_get(s, "remove_orphans");

    if (module == NULL || module[0] == '\0') {
        snprintf(err, errlen,
                 "pkcs11: 'module' is not set (a PKCS#11 module path or a "
                 "p11-kit module name)");
        goto done;
    }
    if (strchr(module, '/') != NULL) {
        cfg->module = psd_p11_resolve_path(module, s != NULL ? s->config_dir : NULL);
        cfg->module_is_path = 1;
    } else {
        cfg->module = OPENSSL_strdup(module);
    }
    if (cfg->module == NULL) {
        snprintf(err, errlen, "pkcs11: out of memory");
        goto done;
    }

    if (uri != NULL && uri[0] != '\0' && slot != NULL && slot[0] != '\0') {
        snprintf(err, errlen, "pkcs11: set either token_uri or slot, not both");
        goto done;
    }
    if (uri != NULL && uri[0] != '\0') {
        cfg->token_uri = OPENSSL_strdup(uri);
        if (cfg->token_uri == NULL) {
            snprintf(err, errlen, "pkcs11: out of memory");
            goto done;
        }
    } else if (slot != NULL && slot[0] != '\0') {
        if (psd_p11_parse_ulong(slot, (unsigned long)-2, &v) != 0) {
            snprintf(err, errlen, "pkcs11: slot '%s' is not a slot number", slot);
            goto done;
        }
        cfg->slot = v;
        cfg->have_slot = 1;
    }

    if (pin != NULL && pin_file != NULL) {
        snprintf(err, errlen, "pkcs11: set either pin or pin_file, not both");
        goto done;
    }
    if (pin != NULL) {
        cfg->pin_len = strlen(pin);
        if (cfg->pin_len == 0) {
            snprintf(err, errlen, "pkcs11: pin is empty");
            goto done;
        }
        cfg->pin = OPENSSL_strdup(pin);
        if (cfg->pin == NULL) {
            snprintf(err, errlen, "pkcs11: out of memory");
            goto done;
        }
        cfg->have_pin = 1;
    } else if (pin_file != NULL) {
        path = psd_p11_resolve_path(pin_file, s != NULL ? s->config_dir : NULL);
        if (path == NULL) {
            snprintf(err, errlen, "pkcs11: out of memory");
            goto done;
        }
        if (psd_p11_read_pin_file(cfg, path, err, errlen) != 0)
            goto done;
    }

    if (sessions != NULL) {
        if (psd_p11_parse_ulong(sessions, PSD_P11_MAX_SESSIONS, &v) != 0 || v == 0) {
            snprintf(err, errlen, "pkcs11: sessions '%s' must be a number from 1 to %d", sessions,
                     PSD_P11_MAX_SESSIONS);
            goto done;
        }
        cfg->sessions = (unsigned int)v;
    }
    if (orphans != NULL) {
        if (strcmp(orphans, "true") != 0 && strcmp(orphans, "false") != 0) {
            snprintf(err, errlen, "pkcs11: remove_orphans '%s' must be true or false", orphans);
            goto done;
        }
        cfg->remove_orphans = strcmp(orphans, "true") == 0;
    }
    ret = 0;
done:
    OPENSSL_free(path);
    if (ret != 0)
        psd_p11_config_clear(cfg);
    return ret;
}

void psd_p11_config_clear(psd_p11_config *cfg)
{
    if (cfg == NULL)
        return;
    OPENSSL_free(cfg->module);
    OPENSSL_free(cfg->token_uri);
    if (cfg->pin != NULL)
        OPENSSL_clear_free(cfg->pin, cfg->pin_len + 1);
    memset(cfg, 0, sizeof(*cfg));
}
