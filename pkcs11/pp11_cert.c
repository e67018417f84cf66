/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificates stored on the tokens (C_CreateObject of CKO_CERTIFICATE).
 *
 * The Parsec service has no place for them, so the module keeps each one as
 * a DER file: <cert_dir>/<identity>/<slot>-<hex CKA_ID>-<hex CKA_LABEL>.der,
 * where cert_dir is `cert_dir` (config), $PARSEC_PKCS11_CERT_DIR,
 * $XDG_DATA_HOME/parsec-pkcs11 or ~/.local/share/parsec-pkcs11, and the
 * identity (app-<name> or uid-<euid>) keeps applications apart as the
 * service does. The directory is re-read at every C_FindObjectsInit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "pp11.h"

static int pp11_cert_dir(char *buf, size_t len)
{
    const char *base = pp11_mod.cfg.cert_dir, *home;
    int n;

    if (base == NULL)
        base = getenv(PP11_CERT_DIR_ENV);
    if (base != NULL && base[0] != '\0')
        n = snprintf(buf, len, "%s/%s", base, pp11_mod.identity);
    else if ((home = getenv("XDG_DATA_HOME")) != NULL && home[0] == '/')
        n = snprintf(buf, len, "%s/parsec-pkcs11/%s", home, pp11_mod.identity);
    else if ((home = getenv("HOME")) != NULL && home[0] != '\0')
        n = snprintf(buf, len, "%s/.local/share/parsec-pkcs11/%s", home, pp11_mod.identity);
    else
        return 0;
    return n > 0 && (size_t)n < len;
}

static void pp11_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int pp11_unhex(const char *in, size_t len, unsigned char *out)
{
    long n = 0;
    unsigned char *buf;

    if (len == 0)
        return 0;
    buf = OPENSSL_hexstr2buf(in, &n);
    if (buf == NULL)
        return -1;
    memcpy(out, buf, (size_t)n);
    OPENSSL_free(buf);
    return (int)n;
}

/* A certificate object from DER; label and ID as given. */
static pp11_object *pp11_cert_object(ck_slot_id_t slot, const unsigned char *der, size_t derlen,
                                     const unsigned char *id, size_t idlen, const char *label,
                                     size_t labellen)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)derlen);
    pp11_object *obj = NULL;
    unsigned char *subj = NULL, *iss = NULL, *serial = NULL;
    int subjlen, isslen, seriallen, ok;

    if (x == NULL || p != der + derlen)
        goto done;
    obj = OPENSSL_zalloc(sizeof(*obj));
    if (obj == NULL)
        goto done;
    obj->kind = PP11_OBJ_CERT;
    obj->slot = slot;
    subjlen = i2d_X509_NAME(X509_get_subject_name(x), &subj);
    isslen = i2d_X509_NAME(X509_get_issuer_name(x), &iss);
    seriallen = i2d_ASN1_INTEGER(X509_get_serialNumber(x), &serial);
    ok = subjlen > 0 && isslen > 0 && seriallen > 0;
    ok = ok && pp11_add_ulong(&obj->attrs, &obj->nattrs, CKA_CLASS, CKO_CERTIFICATE);
    ok = ok && pp11_add_ulong(&obj->attrs, &obj->nattrs, CKA_CERTIFICATE_TYPE, CKC_X_509);
    ok = ok && pp11_add_bool(&obj->attrs, &obj->nattrs, CKA_TOKEN, 1);
    ok = ok && pp11_add_bool(&obj->attrs, &obj->nattrs, CKA_PRIVATE, 0);
    ok = ok && pp11_add_bool(&obj->attrs, &obj->nattrs, CKA_MODIFIABLE, 0);
    ok = ok && pp11_add_bool(&obj->attrs, &obj->nattrs, CKA_TRUSTED, 0);
    ok = ok && pp11_add_ulong(&obj->attrs, &obj->nattrs, CKA_CERTIFICATE_CATEGORY, 0);
    ok = ok && pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_LABEL, label, labellen);
    ok = ok && pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_ID, id, idlen);
    ok = ok &&
         pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_SUBJECT, subj, (unsigned long)subjlen);
    ok =
        ok && pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_ISSUER, iss, (unsigned long)isslen);
    ok = ok && pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_SERIAL_NUMBER, serial,
                                  (unsigned long)seriallen);
    ok = ok && pp11_attr_list_add(&obj->attrs, &obj->nattrs, CKA_VALUE, der, derlen);
    if (!ok) {
        pp11_object_free(obj);
        obj = NULL;
    }
done:
    OPENSSL_free(subj);
    OPENSSL_free(iss);
    OPENSSL_free(serial);
    X509_free(x);
    return obj;
}

static unsigned char *pp11_read_file(const char *path, size_t *len)
{
    unsigned char *buf = NULL;
    struct stat st;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return NULL;
    if (fstat(fileno(f), &st) == 0 && st.st_size > 0 && st.st_size < 1024 * 1024) {
        buf = OPENSSL_malloc((size_t)st.st_size);
        if (buf != NULL && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
            OPENSSL_free(buf);
            buf = NULL;
        }
        *len = (size_t)st.st_size;
    }
    fclose(f);
    return buf;
}

/* Certificates of a slot from its directory (with the lock). */
void pp11_certs_refresh(ck_slot_id_t slot)
{
    char dir[4096], path[4096 + 300], prefix[24];
    struct dirent *de;
    DIR *d;
    size_t i;

    if (!pp11_cert_dir(dir, sizeof(dir)))
        return;
    /* Files removed behind our back are gone. */
    for (i = 0; i < pp11_mod.nobjects; i++) {
        pp11_object *obj = pp11_mod.objects[i];

        if (obj->live && obj->kind == PP11_OBJ_CERT && obj->slot == slot &&
            obj->cert_path != NULL && access(obj->cert_path, F_OK) != 0)
            pp11_object_kill(obj);
    }
    d = opendir(dir);
    if (d == NULL)
        return;
    snprintf(prefix, sizeof(prefix), "%lu-", slot);
    while ((de = readdir(d)) != NULL) {
        unsigned char id[256], label[PP11_MAX_LABEL + 1], *der;
        const char *name = de->d_name, *dash;
        size_t namelen = strlen(name), derlen = 0, known = 0;
        int idlen, labellen;
        pp11_object *obj;

        if (strncmp(name, prefix, strlen(prefix)) != 0 || namelen < 5 ||
            strcmp(name + namelen - 4, ".der") != 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
            continue;
        for (i = 0; i < pp11_mod.nobjects && !known; i++)
            known = pp11_mod.objects[i]->live && pp11_mod.objects[i]->cert_path != NULL &&
                    strcmp(pp11_mod.objects[i]->cert_path, path) == 0;
        if (known)
            continue;
        name += strlen(prefix);
        dash = strchr(name, '-');
        if (dash == NULL || (size_t)(dash - name) > 2 * sizeof(id) ||
            strlen(dash + 1) - 4 > 2 * PP11_MAX_LABEL)
            continue;
        {
            char idhex[2 * sizeof(id) + 1], labelhex[2 * PP11_MAX_LABEL + 1];

            memcpy(idhex, name, (size_t)(dash - name));
            idhex[dash - name] = '\0';
            memcpy(labelhex, dash + 1, strlen(dash + 1) - 4);
            labelhex[strlen(dash + 1) - 4] = '\0';
            idlen = pp11_unhex(idhex, strlen(idhex), id);
            labellen = pp11_unhex(labelhex, strlen(labelhex), label);
        }
        if (idlen < 0 || labellen < 0)
            continue;
        der = pp11_read_file(path, &derlen);
        if (der == NULL)
            continue;
        obj = pp11_cert_object(slot, der, derlen, id, (size_t)idlen, (const char *)label,
                               (size_t)labellen);
        OPENSSL_free(der);
        if (obj == NULL) {
            PP11_log("%s is not a DER certificate: ignored", path);
            continue;
        }
        obj->cert_path = OPENSSL_strdup(path);
        if (obj->cert_path == NULL || pp11_object_add(obj) == CK_INVALID_HANDLE)
            pp11_object_free(obj);
    }
    closedir(d);
}

/* Store a certificate (C_CreateObject); with the lock. */
ck_rv_t pp11_cert_create(const pp11_session *s, const struct ck_attribute *tmpl,
                         unsigned long count, ck_object_handle_t *handle)
{
    const struct ck_attribute *value = pp11_attr_find(tmpl, count, CKA_VALUE);
    const struct ck_attribute *label = pp11_attr_find(tmpl, count, CKA_LABEL);
    const struct ck_attribute *id = pp11_attr_find(tmpl, count, CKA_ID);
    unsigned long ctype = CKC_X_509;
    char dir[4096], path[4096 + 1100], idhex[2 * 256 + 1], labelhex[2 * PP11_MAX_LABEL + 1];
    pp11_object *obj = NULL;
    int token = 1, fd = -1, n;
    ck_rv_t rv;

    rv = pp11_attr_ulong(tmpl, count, CKA_CERTIFICATE_TYPE, &ctype);
    if (rv == CKR_OK)
        rv = pp11_attr_bool(tmpl, count, CKA_TOKEN, &token);
    if (rv != CKR_OK)
        return rv;
    if (ctype != CKC_X_509)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (value == NULL || value->value_len == 0)
        return CKR_TEMPLATE_INCOMPLETE;
    if ((label != NULL && label->value_len > PP11_MAX_LABEL) || (id != NULL && id->value_len > 256))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    obj = pp11_cert_object(
        s->slot, value->value, value->value_len, id != NULL ? id->value : (const void *)"",
        id != NULL ? id->value_len : 0, label != NULL ? label->value : (const void *)"",
        label != NULL ? label->value_len : 0);
    if (obj == NULL)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (!token) {
        obj->session = s->handle;
    } else {
        if (!(s->flags & CKF_RW_SESSION)) {
            rv = CKR_SESSION_READ_ONLY;
            goto done;
        }
        if (!pp11_cert_dir(dir, sizeof(dir))) {
            PP11_log("no directory for certificates: set cert_dir, %s or HOME", PP11_CERT_DIR_ENV);
            rv = CKR_DEVICE_ERROR;
            goto done;
        }
        pp11_hex(id != NULL ? id->value : (const void *)"", id != NULL ? id->value_len : 0, idhex);
        pp11_hex(label != NULL ? label->value : (const void *)"",
                 label != NULL ? label->value_len : 0, labelhex);
        n = snprintf(path, sizeof(path), "%s/%lu-%s-%s.der", dir, s->slot, idhex, labelhex);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
            goto done;
        }
        /* mkdir -p, private to the user. */
        {
            char *sl;

            for (sl = strchr(dir + 1, '/'); sl != NULL; sl = strchr(sl + 1, '/')) {
                *sl = '\0';
                mkdir(dir, 0700);
                *sl = '/';
            }
            mkdir(dir, 0700);
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, value->value, value->value_len) != (ssize_t)value->value_len) {
            PP11_log("cannot write certificate %s: %s", path, strerror(errno));
            rv = CKR_DEVICE_ERROR;
            goto done;
        }
        /* Replacing a certificate of the same ID and label. */
        {
            size_t i;

            for (i = 0; i < pp11_mod.nobjects; i++)
                if (pp11_mod.objects[i]->live && pp11_mod.objects[i]->cert_path != NULL &&
                    strcmp(pp11_mod.objects[i]->cert_path, path) == 0)
                    pp11_object_kill(pp11_mod.objects[i]);
        }
        obj->cert_path = OPENSSL_strdup(path);
        if (obj->cert_path == NULL) {
            rv = CKR_HOST_MEMORY;
            goto done;
        }
    }
    *handle = pp11_object_add(obj);
    if (*handle == CK_INVALID_HANDLE) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    obj = NULL;
done:
    if (fd >= 0)
        close(fd);
    pp11_object_free(obj);
    return rv;
}
