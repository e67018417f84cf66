/* SPDX-License-Identifier: Apache-2.0 */
/* The core provider (ID 0): discovery and administration operations. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "attest_key.pb-c.h"
#include "parsec_pb_text.h"
#include "parsec_psa_pb.h"
#include "parsec_wire.h"
#include "ping.pb-c.h"
#include "prepare_key_attestation.pb-c.h"
#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"
#include "psd_service.h"

#define PSD_CORE_UUID "47049873-2a43-4845-9d72-831eab668784"
#define PSD_CORE_DESCRIPTION                                                                       \
    "Software provider that implements only administrative (i.e. no cryptographic) operations"

/* What the reference core lists (ListClients/DeleteClient work but are not listed). */
static const uint32_t psd_core_opcodes[] = {
    PARSEC_OP_LIST_PROVIDERS,      PARSEC_OP_LIST_OPCODES, PARSEC_OP_PING,
    PARSEC_OP_LIST_AUTHENTICATORS, PARSEC_OP_LIST_KEYS,
};

/* The operations whose bodies carry strings (key and client names). */
static const ProtobufCMessageDescriptor *psd_text_descriptor(uint32_t opcode)
{
    switch (opcode) {
    case PARSEC_OP_PSA_GENERATE_KEY:
        return &psa_generate_key__operation__descriptor;
    case PARSEC_OP_PSA_DESTROY_KEY:
        return &psa_destroy_key__operation__descriptor;
    case PARSEC_OP_PSA_SIGN_HASH:
        return &psa_sign_hash__operation__descriptor;
    case PARSEC_OP_PSA_VERIFY_HASH:
        return &psa_verify_hash__operation__descriptor;
    case PARSEC_OP_PSA_IMPORT_KEY:
        return &psa_import_key__operation__descriptor;
    case PARSEC_OP_PSA_EXPORT_PUBLIC_KEY:
        return &psa_export_public_key__operation__descriptor;
    case PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT:
        return &psa_asymmetric_encrypt__operation__descriptor;
    case PARSEC_OP_PSA_ASYMMETRIC_DECRYPT:
        return &psa_asymmetric_decrypt__operation__descriptor;
    case PARSEC_OP_PSA_EXPORT_KEY:
        return &psa_export_key__operation__descriptor;
    case PARSEC_OP_PSA_AEAD_ENCRYPT:
        return &psa_aead_encrypt__operation__descriptor;
    case PARSEC_OP_PSA_AEAD_DECRYPT:
        return &psa_aead_decrypt__operation__descriptor;
    case PARSEC_OP_PSA_RAW_KEY_AGREEMENT:
        return &psa_raw_key_agreement__operation__descriptor;
    case PARSEC_OP_PSA_CIPHER_ENCRYPT:
        return &psa_cipher_encrypt__operation__descriptor;
    case PARSEC_OP_PSA_CIPHER_DECRYPT:
        return &psa_cipher_decrypt__operation__descriptor;
    case PARSEC_OP_PSA_SIGN_MESSAGE:
        return &psa_sign_message__operation__descriptor;
    case PARSEC_OP_PSA_VERIFY_MESSAGE:
        return &psa_verify_message__operation__descriptor;
    case PARSEC_OP_DELETE_CLIENT:
        return &delete_client__operation__descriptor;
    case PARSEC_OP_ATTEST_KEY:
        return &attest_key__operation__descriptor;
    case PARSEC_OP_PREPARE_KEY_ATTESTATION:
        return &prepare_key_attestation__operation__descriptor;
    default:
        return NULL;
    }
}

/*
 * Names are used as C strings and returned to strict UTF-8 decoders: a NUL
 * ("a\0zzz" would act on key "a") or invalid UTF-8 in any string field is
 * refused as the reference's prost decoder refuses non-UTF-8 strings.
 */
int psd_body_text_valid(const psd_request *rq)
{
    const ProtobufCMessageDescriptor *desc = psd_text_descriptor(rq->opcode);

    return desc == NULL || parsec_pb_text_valid(desc, rq->body, rq->body_len);
}

parsec_status psd_pack(const ProtobufCMessage *msg, psd_buf *out)
{
    size_t n = protobuf_c_message_get_packed_size(msg);

    out->data = OPENSSL_malloc(n > 0 ? n : 1);
    if (out->data == NULL)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    out->len = protobuf_c_message_pack(msg, out->data);
    if (out->len != n) {
        psd_buf_clear(out);
        return PARSEC_SERIALIZING_BODY_FAILED;
    }
    return PARSEC_SUCCESS;
}

psd_provider *psd_service_provider(psd_service *svc, uint8_t id)
{
    for (size_t i = 0; i < svc->n_providers; i++)
        if (svc->providers[i].ops->provider_id == id)
            return &svc->providers[i];
    return NULL;
}

static void psd_service_version(uint32_t *maj, uint32_t *min, uint32_t *rev)
{
    unsigned int a = 0, b = 0, c = 0;

    sscanf(PARSEC_PROVIDER_VERSION, "%u.%u.%u", &a, &b, &c);
    *maj = a;
    *min = b;
    *rev = c;
}

static parsec_status psd_op_ping(const psd_request *rq, psd_buf *resp)
{
    Ping__Operation *op = ping__operation__unpack(NULL, rq->body_len, rq->body);
    Ping__Result res = PING__RESULT__INIT;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    ping__operation__free_unpacked(op, NULL);
    res.wire_protocol_version_maj = 1;
    res.wire_protocol_version_min = 0;
    return psd_pack(&res.base, resp);
}

static parsec_status psd_op_list_providers(const psd_request *rq, psd_buf *resp)
{
    ListProviders__Operation *op = list_providers__operation__unpack(NULL, rq->body_len, rq->body);
    ListProviders__ProviderInfo infos[PSD_MAX_BACKENDS + 1];
    ListProviders__ProviderInfo *ptrs[PSD_MAX_BACKENDS + 1];
    ListProviders__Result res = LIST_PROVIDERS__RESULT__INIT;
    psd_service *svc = rq->svc;
    size_t n = 0;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    list_providers__operation__free_unpacked(op, NULL);
    for (size_t i = 0; i < svc->n_providers; i++, n++) {
        const psd_backend_ops *ops = svc->providers[i].ops;

        list_providers__provider_info__init(&infos[n]);
        infos[n].uuid = (char *)ops->uuid;
        infos[n].description = (char *)ops->description;
        infos[n].vendor = (char *)ops->vendor;
        infos[n].version_maj = ops->version_maj;
        infos[n].version_min = ops->version_min;
        infos[n].version_rev = ops->version_rev;
        infos[n].id = ops->provider_id;
        ptrs[n] = &infos[n];
    }
    /* The core comes last, as in the reference service. */
    list_providers__provider_info__init(&infos[n]);
    infos[n].uuid = PSD_CORE_UUID;
    infos[n].description = PSD_CORE_DESCRIPTION;
    infos[n].vendor = "";
    psd_service_version(&infos[n].version_maj, &infos[n].version_min, &infos[n].version_rev);
    infos[n].id = PARSEC_PROVIDER_CORE;
    ptrs[n] = &infos[n];
    n++;
    res.n_providers = n;
    res.providers = ptrs;
    return psd_pack(&res.base, resp);
}

static parsec_status psd_op_list_authenticators(const psd_request *rq, psd_buf *resp)
{
    ListAuthenticators__Operation *op =
        list_authenticators__operation__unpack(NULL, rq->body_len, rq->body);
    ListAuthenticators__AuthenticatorInfo info = LIST_AUTHENTICATORS__AUTHENTICATOR_INFO__INIT;
    ListAuthenticators__AuthenticatorInfo *ptr = &info;
    ListAuthenticators__Result res = LIST_AUTHENTICATORS__RESULT__INIT;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    list_authenticators__operation__free_unpacked(op, NULL);
    if (rq->svc->cfg->auth_type == PARSEC_AUTH_DIRECT)
        info.description = "Directly parses the authentication field as the application name "
                           "(no authentication checks).";
    else
        info.description = "Uses Unix peer credentials to authenticate the client. Verifies that "
                           "the self-declared Unix user identifier (UID) in the request's "
                           "authentication header matches that which is found from the peer "
                           "credentials.";
    info.version_maj = 0;
    info.version_min = 1;
    info.version_rev = 0;
    info.id = rq->svc->cfg->auth_type;
    res.n_authenticators = 1;
    res.authenticators = &ptr;
    return psd_pack(&res.base, resp);
}

static parsec_status psd_op_list_opcodes(const psd_request *rq, psd_buf *resp)
{
    ListOpcodes__Operation *op = list_opcodes__operation__unpack(NULL, rq->body_len, rq->body);
    ListOpcodes__Result res = LIST_OPCODES__RESULT__INIT;
    psd_provider *prov;
    uint8_t id;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    id = (uint8_t)op->provider_id; /* the reference casts it down to 8 bits */
    list_opcodes__operation__free_unpacked(op, NULL);
    if (id > PARSEC_PROVIDER_MAX)
        return PARSEC_PROVIDER_DOES_NOT_EXIST;
    if (id == PARSEC_PROVIDER_CORE) {
        res.n_opcodes = sizeof(psd_core_opcodes) / sizeof(psd_core_opcodes[0]);
        res.opcodes = (uint32_t *)psd_core_opcodes;
        return psd_pack(&res.base, resp);
    }
    prov = psd_service_provider(rq->svc, id);
    if (prov == NULL)
        return PARSEC_PROVIDER_NOT_REGISTERED;
    res.n_opcodes = prov->n_opcodes;
    res.opcodes = prov->opcodes;
    return psd_pack(&res.base, resp);
}

/* Position of a provider in the configured priority order. */
static size_t psd_provider_rank(psd_service *svc, uint8_t id)
{
    for (size_t i = 0; i < svc->n_providers; i++)
        if (svc->providers[i].ops->provider_id == id)
            return i;
    return svc->n_providers;
}

/* Provider priority, then name: a stable, meaningful ListKeys order. */
static int psd_key_order(const void *a, const void *b, void *svc)
{
    const psd_key_entry *x = *(psd_key_entry *const *)a, *y = *(psd_key_entry *const *)b;
    size_t rx = psd_provider_rank(svc, x->provider_id);
    size_t ry = psd_provider_rank(svc, y->provider_id);

    if (rx != ry)
        return rx < ry ? -1 : 1;
    return strcmp(x->key.name, y->key.name);
}

static parsec_status psd_op_list_keys(const psd_request *rq, psd_buf *resp)
{
    ListKeys__Operation *op = list_keys__operation__unpack(NULL, rq->body_len, rq->body);
    ListKeys__Result res = LIST_KEYS__RESULT__INIT;
    ListKeys__KeyInfo *infos = NULL, **ptrs = NULL;
    psd_service *svc = rq->svc;
    psd_key_entry **keys = NULL;
    size_t nkeys = 0, n = 0, packed = 0;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    list_keys__operation__free_unpacked(op, NULL);
    if (!rq->id->authenticated)
        return PARSEC_NOT_AUTHENTICATED;
    st = psd_keystore_list(svc->store, rq->id->auth_type, rq->id->app, &keys, &nkeys);
    if (st != PARSEC_SUCCESS)
        return st;
    qsort_r(keys, nkeys, sizeof(*keys), psd_key_order, svc);
    infos = calloc(nkeys + 1, sizeof(*infos));
    ptrs = calloc(nkeys + 1, sizeof(*ptrs));
    if (infos == NULL || ptrs == NULL) {
        st = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    for (size_t i = 0; i < nkeys; i++) {
        /* Keys of a backend that is not configured are not reachable: not listed. */
        if (psd_service_provider(svc, keys[i]->provider_id) == NULL)
            continue;
        list_keys__key_info__init(&infos[n]);
        infos[n].provider_id = keys[i]->provider_id;
        infos[n].name = (char *)keys[i]->key.name;
        infos[n].attributes = parsec_pb_key_attributes_from_c(&keys[i]->attrs);
        if (infos[n].attributes == NULL) {
            st = PARSEC_SERIALIZING_BODY_FAILED;
            goto done;
        }
        ptrs[n] = &infos[n];
        n++;
        /* Field tag, length prefix and entry: stop before building an answer too big to send. */
        packed += 1 + 5 + protobuf_c_message_get_packed_size(&infos[n - 1].base);
        if (packed > svc->cfg->buffer_size_limit) {
            st = PARSEC_RESPONSE_TOO_LARGE;
            goto done;
        }
    }
    res.n_keys = n;
    res.keys = ptrs;
    st = psd_pack(&res.base, resp);
done:
    if (infos != NULL)
        for (size_t i = 0; i < n; i++)
            if (infos[i].attributes != NULL)
                psa_key_attributes__key_attributes__free_unpacked(infos[i].attributes, NULL);
    free(infos);
    free(ptrs);
    psd_keystore_list_free(svc->store, keys, nkeys);
    return st;
}

static parsec_status psd_op_list_clients(const psd_request *rq, psd_buf *resp)
{
    ListClients__Operation *op = list_clients__operation__unpack(NULL, rq->body_len, rq->body);
    ListClients__Result res = LIST_CLIENTS__RESULT__INIT;
    char **names = NULL;
    size_t n = 0;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    list_clients__operation__free_unpacked(op, NULL);
    st = psd_keystore_clients(rq->svc->store, rq->svc->cfg->auth_type, &names, &n);
    if (st != PARSEC_SUCCESS)
        return st;
    res.n_clients = n;
    res.clients = names;
    st = psd_pack(&res.base, resp);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

static parsec_status psd_op_delete_client(const psd_request *rq, psd_buf *resp)
{
    DeleteClient__Operation *op = delete_client__operation__unpack(NULL, rq->body_len, rq->body);
    DeleteClient__Result res = DELETE_CLIENT__RESULT__INIT;
    parsec_status st;

    if (op == NULL)
        return PARSEC_DESERIALIZING_BODY_FAILED;
    /* Success even for a client without keys, like the reference service. */
    st = psd_keys_delete_client(rq->svc, rq->svc->cfg->auth_type, op->client);
    delete_client__operation__free_unpacked(op, NULL);
    if (st != PARSEC_SUCCESS)
        return st;
    return psd_pack(&res.base, resp);
}

parsec_status psd_core_dispatch(const psd_request *rq, psd_buf *resp)
{
    if (!psd_body_text_valid(rq))
        return PARSEC_DESERIALIZING_BODY_FAILED;
    switch (rq->opcode) {
    case PARSEC_OP_PING:
        return psd_op_ping(rq, resp);
    case PARSEC_OP_LIST_PROVIDERS:
        return psd_op_list_providers(rq, resp);
    case PARSEC_OP_LIST_AUTHENTICATORS:
        return psd_op_list_authenticators(rq, resp);
    case PARSEC_OP_LIST_OPCODES:
        return psd_op_list_opcodes(rq, resp);
    case PARSEC_OP_LIST_KEYS:
        return psd_op_list_keys(rq, resp);
    case PARSEC_OP_LIST_CLIENTS:
        return psd_op_list_clients(rq, resp);
    case PARSEC_OP_DELETE_CLIENT:
        return psd_op_delete_client(rq, resp);
    default:
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    }
}
