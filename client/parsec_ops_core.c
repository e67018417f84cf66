/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Core (provider 0) operations: Ping, discovery lists, keys and clients.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "parsec_client_internal.h"
#include "parsec_psa_pb.h"
#include "ping.pb-c.h"

parsec_status parsec_ping(parsec_client *c, uint8_t *maj, uint8_t *min)
{
    Ping__Operation op = PING__OPERATION__INIT;
    parsec_resp resp;
    const Ping__Result *r;
    parsec_status st;

    /* Ping never authenticates, whatever the client is configured with. */
    st = parsec_call(c, PARSEC_PROVIDER_CORE, PARSEC_OP_PING, &op.base, PARSEC_CALL_NO_AUTH,
                     &ping__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    r = (const Ping__Result *)resp.msg;
    if (r->wire_protocol_version_maj > UINT8_MAX || r->wire_protocol_version_min > UINT8_MAX) {
        st = PARSEC_CLIENT_ERROR_PROTOCOL;
    } else {
        if (maj != NULL)
            *maj = (uint8_t)r->wire_protocol_version_maj;
        if (min != NULL)
            *min = (uint8_t)r->wire_protocol_version_min;
    }
    parsec_resp_release(&resp);
    return st;
}

static char *parsec_strdup0(const char *s)
{
    return strdup(s != NULL ? s : "");
}

/* 8-4-4-4-12 hexadecimal digits, as the reference's Uuid parser wants. */
static int parsec_uuid_is_valid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

void parsec_provider_info_free(parsec_provider_info *p, size_t n)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(p[i].description);
        free(p[i].vendor);
    }
    free(p);
}

parsec_status parsec_list_providers(parsec_client *c, parsec_provider_info **out, size_t *n)
{
    ListProviders__Operation op = LIST_PROVIDERS__OPERATION__INIT;
    parsec_provider_info *list = NULL;
    const ListProviders__Result *r;
    parsec_resp resp;
    size_t count = 0;
    parsec_status st;

    if (out == NULL || n == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *out = NULL;
    *n = 0;
    st = parsec_call(c, PARSEC_PROVIDER_CORE, PARSEC_OP_LIST_PROVIDERS, &op.base, 0,
                     &list_providers__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    r = (const ListProviders__Result *)resp.msg;
    if (r->n_providers > 0) {
        list = calloc(r->n_providers, sizeof(*list));
        if (list == NULL) {
            st = PARSEC_CLIENT_ERROR_MEMORY;
            goto done;
        }
    }
    for (size_t i = 0; i < r->n_providers; i++) {
        const ListProviders__ProviderInfo *pi = r->providers[i];
        parsec_provider_info *d = &list[count];
        if (!parsec_uuid_is_valid(pi->uuid) || pi->id > PARSEC_PROVIDER_MAX) {
            st = PARSEC_CLIENT_ERROR_PROTOCOL;
            goto done;
        }
        memcpy(d->uuid, pi->uuid, 37);
        d->description = parsec_strdup0(pi->description);
        d->vendor = parsec_strdup0(pi->vendor);
        count++;
        if (d->description == NULL || d->vendor == NULL) {
            st = PARSEC_CLIENT_ERROR_MEMORY;
            goto done;
        }
        d->version_maj = pi->version_maj;
        d->version_min = pi->version_min;
        d->version_rev = pi->version_rev;
        d->id = (uint8_t)pi->id;
    }
    *out = list;
    *n = count;
    list = NULL;
done:
    parsec_provider_info_free(list, count);
    parsec_resp_release(&resp);
    return st;
}

void parsec_authenticator_info_free(parsec_authenticator_info *a, size_t n)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(a[i].description);
    free(a);
}

parsec_status parsec_list_authenticators(parsec_client *c, parsec_authenticator_info **out,
                                         size_t *n)
{
    ListAuthenticators__Operation op = LIST_AUTHENTICATORS__OPERATION__INIT;
    parsec_authenticator_info *list = NULL;
    const ListAuthenticators__Result *r;
    parsec_resp resp;
    size_t count = 0;
    parsec_status st;

    if (out == NULL || n == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *out = NULL;
    *n = 0;
    st = parsec_call(c, PARSEC_PROVIDER_CORE, PARSEC_OP_LIST_AUTHENTICATORS, &op.base, 0,
                     &list_authenticators__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    r = (const ListAuthenticators__Result *)resp.msg;
    if (r->n_authenticators > 0) {
        list = calloc(r->n_authenticators, sizeof(*list));
        if (list == NULL) {
            st = PARSEC_CLIENT_ERROR_MEMORY;
            goto done;
        }
    }
    for (size_t i = 0; i < r->n_authenticators; i++) {
        const ListAuthenticators__AuthenticatorInfo *ai = r->authenticators[i];
        parsec_authenticator_info *d = &list[count];
        if (ai->id > PARSEC_AUTH_MAX) {
            st = PARSEC_CLIENT_ERROR_PROTOCOL;
            goto done;
        }
        d->description = parsec_strdup0(ai->description);
        count++;
        if (d->description == NULL) {
            st = PARSEC_CLIENT_ERROR_MEMORY;
            goto done;
        }
        d->version_maj = ai->version_maj;
        d->version_min = ai->version_min;
        d->version_rev = ai->version_rev;
        d->id = (uint8_t)ai->id;
    }
    *out = list;
    *n = count;
    list = NULL;
done:
    parsec_authenticator_info_free(list, count);
    parsec_resp_release(&resp);
    return st;
}

parsec_status parsec_list_opcodes(parsec_client *c, uint8_t provider, uint32_t **out, size_t *n)
{
    ListOpcodes__Operation op = LIST_OPCODES__OPERATION__INIT;
    const ListOpcodes__Result *r;
    parsec_resp resp;
    parsec_status st;

    if (out == NULL || n == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *out = NULL;
    *n = 0;
    op.provider_id = provider;
    st = parsec_call(c, PARSEC_PROVIDER_CORE, PARSEC_OP_LIST_OPCODES, &op.base, 0,
                     &list_opcodes__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    r = (const ListOpcodes__Result *)resp.msg;
    if (r->n_opcodes > 0) {
        *out = malloc(r->n_opcodes * sizeof(**out));
        if (*out == NULL) {
            st = PARSEC_CLIENT_ERROR_MEMORY;
            goto done;
        }
        memcpy(*out, r->opcodes, r->n_opcodes * sizeof(**out));
        *n = r->n_opcodes;
    }
done:
    parsec_resp_release(&resp);
    return st;
}

void parsec_key_info_free(parsec_key_info *k, size_t n)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(k[i].name);
    free(k);
}

parsec_status parsec_list_keys(parsec_client *c, parsec_key_info **out, size_t *n)
{
    ListKeys__Operation op = LIST_KEYS__OPERATION__INIT;
    parsec_key_info *list = NULL;
    const ListKeys__Result *r;
    parsec_resp resp;
    size_t count = 0;
    parsec_status st;

    if (out == NULL || n == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *out = NULL;
    *n = 0;
    st = parsec_call(c, PARSEC_PROVIDER_CORE, PARSEC_OP_LIST_KEYS, &op.base, 0,
                     &list_keys__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    r = (const ListKeys__Result *)resp.msg;
    if (r->n_keys > 0) {
        list = calloc(r->n_keys, sizeof(*list));
        if (list == NULL) {
            st = PARSEC_CLIENT_ERROR_MEMORY;
            goto done;
        }
    }
    for (size_t i = 0; i < r->n_keys; i++) {
        const ListKeys__KeyInfo *ki = r->keys[i];
        parsec_key_info *d = &list[count];
        parsec_status cst = parsec_pb_key_attributes_to_c(ki->attributes, &d->attributes);
        /* A policy this library cannot represent still lists the key. */
        if ((cst != PARSEC_SUCCESS && cst != PARSEC_PSA_ERROR_NOT_SUPPORTED) ||
            ki->provider_id > PARSEC_PROVIDER_MAX) {
            st = PARSEC_CLIENT_ERROR_PROTOCOL;
            goto done;
        }
        d->name = parsec_strdup0(ki->name);
        count++;
        if (d->name == NULL) {
            st = PARSEC_CLIENT_ERROR_MEMORY;
            goto done;
        }
        d->provider_id = (uint8_t)ki->provider_id;
    }
    *out = list;
    *n = count;
    list = NULL;
done:
    parsec_key_info_free(list, count);
    parsec_resp_release(&resp);
    return st;
}

parsec_status parsec_key_attributes_get(parsec_client *c, const char *name, uint8_t *provider_id,
                                        parsec_key_attributes *attrs)
{
    parsec_key_info *keys = NULL;
    size_t n = 0;
    parsec_status st;

    if (name == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    st = parsec_list_keys(c, &keys, &n);
    if (st != PARSEC_SUCCESS)
        return st;
    st = PARSEC_PSA_ERROR_DOES_NOT_EXIST;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i].name, name) != 0)
            continue;
        if (provider_id != NULL)
            *provider_id = keys[i].provider_id;
        if (attrs != NULL)
            *attrs = keys[i].attributes;
        st = PARSEC_SUCCESS;
        break;
    }
    parsec_key_info_free(keys, n);
    return st;
}

void parsec_string_list_free(char **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

parsec_status parsec_list_clients(parsec_client *c, char ***out, size_t *n)
{
    ListClients__Operation op = LIST_CLIENTS__OPERATION__INIT;
    const ListClients__Result *r;
    char **list = NULL;
    parsec_resp resp;
    size_t count = 0;
    parsec_status st;

    if (out == NULL || n == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    *out = NULL;
    *n = 0;
    st = parsec_call(c, PARSEC_PROVIDER_CORE, PARSEC_OP_LIST_CLIENTS, &op.base, 0,
                     &list_clients__result__descriptor, &resp);
    if (st != PARSEC_SUCCESS)
        return st;
    r = (const ListClients__Result *)resp.msg;
    if (r->n_clients > 0) {
        list = calloc(r->n_clients, sizeof(*list));
        if (list == NULL) {
            st = PARSEC_CLIENT_ERROR_MEMORY;
            goto done;
        }
    }
    for (size_t i = 0; i < r->n_clients; i++) {
        list[count] = parsec_strdup0(r->clients[i]);
        if (list[count] == NULL) {
            st = PARSEC_CLIENT_ERROR_MEMORY;
            goto done;
        }
        count++;
    }
    *out = list;
    *n = count;
    list = NULL;
done:
    parsec_string_list_free(list, count);
    parsec_resp_release(&resp);
    return st;
}

parsec_status parsec_delete_client(parsec_client *c, const char *client)
{
    DeleteClient__Operation op = DELETE_CLIENT__OPERATION__INIT;

    if (client == NULL)
        return PARSEC_CLIENT_ERROR_ARGUMENT;
    op.client = (char *)client;
    return parsec_call(c, PARSEC_PROVIDER_CORE, PARSEC_OP_DELETE_CLIENT, &op.base, 0, NULL, NULL);
}
