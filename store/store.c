/* SPDX-License-Identifier: Apache-2.0 */
/*
 * STORE for the "parsec:" URI scheme (grammar in docs/provider.md):
 *
 *   parsec:NAME[?ATTR=VALUE[&ATTR=VALUE...]]   one key
 *   parsec:[?ATTR=VALUE...]                      every key of the caller (ListKeys)
 *
 * NAME is percent-decoded (%3F for '?', %25 for '%', ...). Attributes:
 * backend=software|pkcs11|tpm|ID (key must be held there; filters a list),
 * type=rsa|rsa-pss|ec (how an RSA key is presented; filters a list).
 *
 * A single key is returned as an OSSL_OBJECT_PKEY reference; a list
 * returns names with descriptions, or keys when the caller expects keys
 * (storeutl -keys).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>

#include "pprov_store.h"

typedef struct {
    pprov_ctx *ctx;
    char *name;            /* NULL: list */
    uint8_t backend;       /* PARSEC_PROVIDER_DEFAULT: any */
    int type;              /* 0: any / natural */
    int expect;            /* OSSL_STORE_INFO_* or 0 */
    int done;              /* single key: loaded (or failed) */
    parsec_key_info *keys; /* list: ListKeys result */
    size_t nkeys, next;
    int listed;
} pprov_store_ctx;

static OSSL_FUNC_store_open_fn pprov_store_open;
static OSSL_FUNC_store_settable_ctx_params_fn pprov_store_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn pprov_store_set_ctx_params;
static OSSL_FUNC_store_load_fn pprov_store_load;
static OSSL_FUNC_store_eof_fn pprov_store_eof;
static OSSL_FUNC_store_close_fn pprov_store_close;
static OSSL_FUNC_store_export_object_fn pprov_store_export_object;
static int pprov_store_list_keys(pprov_store_ctx *sctx);

static int pprov_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decode [s, s+len) into a new string; NULL on a bad escape or NUL byte. */
static char *pprov_uri_decode(const char *s, size_t len)
{
    char *out = OPENSSL_malloc(len + 1);
    size_t i, o = 0;

    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        if (s[i] == '%') {
            int hi, lo;

            if (i + 2 >= len)
                goto bad;
            hi = pprov_hexval((unsigned char)s[i + 1]);
            lo = pprov_hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                goto bad;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
bad:
    OPENSSL_free(out);
    return NULL;
}

static int pprov_store_parse_type(const char *v, int *type)
{
    if (strcasecmp(v, "rsa") == 0)
        *type = PPROV_KEY_RSA;
    else if (strcasecmp(v, "rsa-pss") == 0)
        *type = PPROV_KEY_RSA_PSS;
    else if (strcasecmp(v, "ec") == 0)
        *type = PPROV_KEY_EC;
    else
        return 0;
    return 1;
}

static int pprov_store_parse_query(pprov_ctx *ctx, const char *uri, const char *query,
                                   pprov_store_uri *out)
{
    const char *p = query;

    while (*p != '\0') {
        const char *amp = strchr(p, '&'), *eq;
        size_t len = amp != NULL ? (size_t)(amp - p) : strlen(p);
        char *attr = NULL, *value = NULL;
        int ok = 0;

        eq = memchr(p, '=', len);
        if (eq != NULL) {
            attr = pprov_uri_decode(p, (size_t)(eq - p));
            value = pprov_uri_decode(eq + 1, len - (size_t)(eq - p) - 1);
        }
        if (attr != NULL && value != NULL) {
            if (strcmp(attr, "backend") == 0)
                ok = pprov_backend_parse(value, &out->backend);
            else if (strcmp(attr, "type") == 0)
                ok = pprov_store_parse_type(value, &out->type);
        }
        if (!ok)
            PPROV_raise(ctx, PPROV_R_INVALID_ARGUMENT,
                        "bad attribute '%.*s' in '%s' (use backend=software|pkcs11|tpm|ID or"
                        " type=rsa|rsa-pss|ec)",
                        (int)len, p, uri);
        OPENSSL_free(attr);
        OPENSSL_free(value);
        if (!ok)
            return 0;
        p += len;
        if (*p == '&')
            p++;
    }
    return 1;
}

int pprov_store_uri_parse(pprov_ctx *ctx, const char *uri, pprov_store_uri *out)
{
    const char *rest, *query;
    size_t schemelen = strlen(PPROV_URI_SCHEME);

    memset(out, 0, sizeof(*out));
    if (strncasecmp(uri, PPROV_URI_SCHEME, schemelen) != 0 || uri[schemelen] != ':')
        return -1;
    rest = uri + schemelen + 1;
    query = strchr(rest, '?');
    if (query == NULL)
        query = rest + strlen(rest);
    if (query > rest) {
        out->name = pprov_uri_decode(rest, (size_t)(query - rest));
        if (out->name == NULL) {
            PPROV_raise(
                ctx, PPROV_R_INVALID_ARGUMENT,
                "bad key name in '%s' (percent-encode reserved characters, e.g. %%3F for ?)", uri);
            return 0;
        }
    }
    if (*query == '?' && !pprov_store_parse_query(ctx, uri, query + 1, out)) {
        OPENSSL_free(out->name);
        out->name = NULL;
        return 0;
    }
    return 1;
}

static void *pprov_store_open(void *provctx, const char *uri)
{
    pprov_store_ctx *sctx;
    pprov_store_uri parsed;

    if (pprov_store_uri_parse(provctx, uri, &parsed) <= 0)
        return NULL;
    sctx = OPENSSL_zalloc(sizeof(*sctx));
    if (sctx == NULL) {
        OPENSSL_free(parsed.name);
        return NULL;
    }
    sctx->ctx = provctx;
    sctx->name = parsed.name;
    sctx->backend = parsed.backend;
    sctx->type = parsed.type;
    if (sctx->name == NULL && !pprov_store_list_keys(sctx))
        goto err;
    PPROV_debug("open '%s': %s", uri, sctx->name != NULL ? sctx->name : "(list)");
    return sctx;
err:
    pprov_store_close(sctx);
    return NULL;
}

static const OSSL_PARAM *pprov_store_settable_ctx_params(void *provctx)
{
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
        OSSL_PARAM_END,
    };
    return settable;
}

static int pprov_store_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
    pprov_store_ctx *sctx = loaderctx;
    const OSSL_PARAM *p;

    if (params == NULL)
        return 1;
    p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
    if (p != NULL && !OSSL_PARAM_get_int(p, &sctx->expect))
        return 0;
    return 1;
}

static int pprov_store_wants_keys(const pprov_store_ctx *sctx)
{
    return sctx->expect == 0 || sctx->expect == OSSL_STORE_INFO_PKEY ||
           sctx->expect == OSSL_STORE_INFO_PUBKEY;
}

/* Does a listed key pass the URI's filters and is it one we can present? */
static int pprov_store_list_match(const pprov_store_ctx *sctx, const parsec_key_info *ki)
{
    int rsa = ki->attributes.type == PARSEC_KEY_TYPE_RSA_KEY_PAIR ||
              ki->attributes.type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY;
    int ec = ki->attributes.type == PARSEC_KEY_TYPE_ECC_KEY_PAIR ||
             ki->attributes.type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY;

    if (sctx->backend != PARSEC_PROVIDER_DEFAULT && ki->provider_id != sctx->backend)
        return 0;
    if (sctx->type == PPROV_KEY_EC)
        return ec;
    if (sctx->type == PPROV_KEY_RSA || sctx->type == PPROV_KEY_RSA_PSS)
        return rsa;
    return 1;
}

char *pprov_store_uri_for(const char *name)
{
    size_t len = strlen(name), i, o = 0;
    char *uri = OPENSSL_malloc(strlen(PPROV_URI_SCHEME) + 1 + 3 * len + 1);

    if (uri == NULL)
        return NULL;
    o = (size_t)sprintf(uri, "%s:", PPROV_URI_SCHEME);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (c == '%' || c == '?' || c == '&' || c == '#' || c <= 0x20 || c == 0x7f)
            o += (size_t)sprintf(uri + o, "%%%02X", c);
        else
            uri[o++] = (char)c;
    }
    uri[o] = '\0';
    return uri;
}

static int pprov_store_emit_name(pprov_store_ctx *sctx, const parsec_key_info *ki,
                                 OSSL_CALLBACK *object_cb, void *object_cbarg)
{
    int object_type = OSSL_OBJECT_NAME, ret;
    char policy[192], desc[320];
    char *uri = pprov_store_uri_for(ki->name);
    OSSL_PARAM params[4];

    if (uri == NULL)
        return 0;
    pprov_describe_policy(&ki->attributes, policy, sizeof(policy));
    snprintf(desc, sizeof(desc), "%s %u-bit key in the %s backend; policy %s",
             ki->attributes.type == PARSEC_KEY_TYPE_RSA_KEY_PAIR     ? "RSA"
             : ki->attributes.type == PARSEC_KEY_TYPE_ECC_KEY_PAIR   ? "EC"
             : ki->attributes.type == PARSEC_KEY_TYPE_RSA_PUBLIC_KEY ? "RSA public"
             : ki->attributes.type == PARSEC_KEY_TYPE_ECC_PUBLIC_KEY ? "EC public"
                                                                     : "non-asymmetric",
             ki->attributes.bits, pprov_backend_name(ki->provider_id), policy);
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA, uri, 0);
    params[2] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DESC, desc, 0);
    params[3] = OSSL_PARAM_construct_end();
    ret = object_cb(params, object_cbarg);
    OPENSSL_free(uri);
    return ret;
}

/* ListKeys, at open so an unreachable service fails OSSL_STORE_open itself. */
static int pprov_store_list_keys(pprov_store_ctx *sctx)
{
    parsec_client *client = pprov_client(sctx->ctx);
    parsec_status st;

    sctx->listed = 1;
    if (client == NULL)
        return 0;
    st = parsec_list_keys(client, &sctx->keys, &sctx->nkeys);
    if (st != PARSEC_SUCCESS) {
        char detail[640];

        PPROV_raise(sctx->ctx, pprov_reason_from_status(st),
                    "cannot list the keys of %s in the Parsec service at %s: %s (%s)%s",
                    pprov_identity(sctx->ctx), pprov_endpoint(sctx->ctx), parsec_status_message(st),
                    parsec_status_name(st),
                    pprov_status_detail(sctx->ctx, st, detail, sizeof(detail)));
        return 0;
    }
    return 1;
}

static int pprov_store_load_list(pprov_store_ctx *sctx, OSSL_CALLBACK *object_cb,
                                 void *object_cbarg)
{
    while (sctx->next < sctx->nkeys) {
        const parsec_key_info *ki = &sctx->keys[sctx->next++];

        if (!pprov_store_list_match(sctx, ki))
            continue;
        if (sctx->expect == OSSL_STORE_INFO_PKEY || sctx->expect == OSSL_STORE_INFO_PUBKEY) {
            pprov_key *key;
            int ret;

            /* A key that cannot be presented is skipped in a listing, not fatal. */
            pprov_set_error_mark(sctx->ctx);
            key = pprov_key_load(sctx->ctx, ki->name, ki->provider_id, sctx->type);
            if (key == NULL) {
                pprov_pop_error_to_mark(sctx->ctx);
                continue;
            }
            pprov_clear_last_error_mark(sctx->ctx);
            ret = pprov_key_emit_reference(key, object_cb, object_cbarg);
            pprov_key_free(key);
            return ret;
        }
        return pprov_store_emit_name(sctx, ki, object_cb, object_cbarg);
    }
    return 1;
}

static int pprov_store_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
                            OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    pprov_store_ctx *sctx = loaderctx;
    pprov_key *key;
    int ret;

    if (sctx->name == NULL)
        return pprov_store_load_list(sctx, object_cb, object_cbarg);
    if (sctx->done)
        return 0;
    sctx->done = 1;
    /* Certificates, CRLs, parameters: a Parsec URI holds none. */
    if (!pprov_store_wants_keys(sctx))
        return 1;
    key = pprov_key_load(sctx->ctx, sctx->name, sctx->backend, sctx->type);
    if (key == NULL)
        return 0;
    ret = pprov_key_emit_reference(key, object_cb, object_cbarg);
    pprov_key_free(key); /* keymgmt load took its own reference */
    return ret;
}

static int pprov_store_eof(void *loaderctx)
{
    pprov_store_ctx *sctx = loaderctx;

    if (sctx->name != NULL)
        return sctx->done;
    return sctx->listed && sctx->next >= sctx->nkeys;
}

static int pprov_store_close(void *loaderctx)
{
    pprov_store_ctx *sctx = loaderctx;

    if (sctx == NULL)
        return 1;
    parsec_key_info_free(sctx->keys, sctx->nkeys);
    OPENSSL_free(sctx->name);
    OPENSSL_free(sctx);
    return 1;
}

/*
 * Export for a keymgmt of another provider: only when the caller asked for
 * a public key. For anything else refusing makes OpenSSL use our own
 * keymgmt; exporting would hand it a public-only copy that cannot sign.
 */
static int pprov_store_export_object(void *loaderctx, const void *reference, size_t reference_sz,
                                     OSSL_CALLBACK *export_cb, void *export_cbarg)
{
    pprov_store_ctx *sctx = loaderctx;
    pprov_key *key = pprov_key_from_reference(reference, reference_sz);

    if (key == NULL || key->pub == NULL || sctx->expect != OSSL_STORE_INFO_PUBKEY)
        return 0;
    return EVP_PKEY_export(key->pub,
                           OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS,
                           export_cb, export_cbarg);
}

const OSSL_DISPATCH pprov_store_functions[] = {
    {OSSL_FUNC_STORE_OPEN, (void (*)(void))pprov_store_open},
    {OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, (void (*)(void))pprov_store_settable_ctx_params},
    {OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))pprov_store_set_ctx_params},
    {OSSL_FUNC_STORE_LOAD, (void (*)(void))pprov_store_load},
    {OSSL_FUNC_STORE_EOF, (void (*)(void))pprov_store_eof},
    {OSSL_FUNC_STORE_CLOSE, (void (*)(void))pprov_store_close},
    {OSSL_FUNC_STORE_EXPORT_OBJECT, (void (*)(void))pprov_store_export_object},
    {0, NULL},
};