/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slots, tokens, mechanisms and sessions.
 *
 * One slot per Parsec provider the service lists, the slot ID being the
 * provider ID (1 software, 2 pkcs11, 3 tpm), so IDs stay the same across
 * restarts. Tokens need no login (CKF_LOGIN_REQUIRED unset): the service
 * authenticates the caller itself; C_Login still accepts any PIN for
 * applications that log in regardless.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pp11.h"

const char *pp11_backend_name(uint8_t id)
{
    switch (id) {
    case PARSEC_PROVIDER_MBED_CRYPTO:
        return "software";
    case PARSEC_PROVIDER_PKCS11:
        return "pkcs11";
    case PARSEC_PROVIDER_TPM:
        return "tpm";
    default:
        return NULL;
    }
}

ck_rv_t pp11_ckr_from_status(parsec_status st)
{
    switch (st) {
    case PARSEC_SUCCESS:
        return CKR_OK;
    case PARSEC_PSA_ERROR_NOT_PERMITTED:
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    case PARSEC_PSA_ERROR_NOT_SUPPORTED:
        return CKR_MECHANISM_INVALID;
    case PARSEC_PSA_ERROR_INVALID_ARGUMENT:
        return CKR_ARGUMENTS_BAD;
    case PARSEC_PSA_ERROR_INVALID_SIGNATURE:
        return CKR_SIGNATURE_INVALID;
    case PARSEC_PSA_ERROR_INVALID_PADDING:
        return CKR_ENCRYPTED_DATA_INVALID;
    case PARSEC_PSA_ERROR_DOES_NOT_EXIST:
    case PARSEC_PSA_ERROR_INVALID_HANDLE:
        return CKR_OBJECT_HANDLE_INVALID;
    case PARSEC_PSA_ERROR_ALREADY_EXISTS:
        return CKR_ATTRIBUTE_VALUE_INVALID;
    case PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY:
    case PARSEC_CLIENT_ERROR_MEMORY:
        return CKR_HOST_MEMORY;
    case PARSEC_PSA_ERROR_INSUFFICIENT_STORAGE:
        return CKR_DEVICE_MEMORY;
    case PARSEC_PSA_ERROR_BUFFER_TOO_SMALL:
        return CKR_BUFFER_TOO_SMALL;
    case PARSEC_AUTHENTICATION_ERROR:
    case PARSEC_NOT_AUTHENTICATED:
    case PARSEC_AUTHENTICATOR_DOES_NOT_EXIST:
    case PARSEC_AUTHENTICATOR_NOT_REGISTERED:
    case PARSEC_CLIENT_ERROR_NO_AUTHENTICATOR:
        return CKR_USER_NOT_LOGGED_IN;
    case PARSEC_CLIENT_ERROR_CONNECT:
    case PARSEC_CLIENT_ERROR_TIMEOUT:
    case PARSEC_CLIENT_ERROR_IO:
        return CKR_DEVICE_REMOVED;
    default:
        return CKR_DEVICE_ERROR;
    }
}

/* ---- discovery ---------------------------------------------------------------------- */

static int pp11_has_opcode(const uint32_t *ops, size_t n, uint32_t op)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (ops[i] == op)
            return 1;
    return 0;
}

/* Whether the provider can use a key of this kind (CanDoCrypto; a service without it: yes). */
static int pp11_can_use(uint8_t provider, int have_can_do, uint8_t type, uint32_t bits,
                        uint32_t usage, uint8_t kind, uint8_t scheme, uint8_t hash, int check)
{
    parsec_key_attributes a = {0};

    if (!have_can_do)
        return 1;
    a.type = type;
    a.ecc_family = type == PARSEC_KEY_TYPE_ECC_KEY_PAIR ? PARSEC_ECC_FAMILY_SECP_R1 : 0;
    a.bits = bits;
    a.usage = usage;
    a.alg.kind = kind;
    a.alg.scheme = scheme;
    a.alg.hash = hash;
    return parsec_can_do_crypto(pp11_mod.client, provider, check, &a) == PARSEC_SUCCESS;
}

static void pp11_mech_add(pp11_slot *slot, ck_mechanism_type_t type, unsigned long min,
                          unsigned long max, ck_flags_t flags)
{
    size_t i;

    for (i = 0; i < slot->nmechs; i++) {
        if (slot->mechs[i] == type) {
            slot->mech_info[i].flags |= flags;
            return;
        }
    }
    if (slot->nmechs == sizeof(slot->mechs) / sizeof(slot->mechs[0]))
        return;
    slot->mechs[slot->nmechs] = type;
    slot->mech_info[slot->nmechs].min_key_size = min;
    slot->mech_info[slot->nmechs].max_key_size = max;
    slot->mech_info[slot->nmechs].flags = flags;
    slot->nmechs++;
}

#define PP11_EC_FLAGS (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)

/*
 * Mechanisms from what the provider answers: its opcodes, and CanDoCrypto
 * for one representative key per policy (RSA-2048, P-256), so a backend
 * that cannot do PSS or OAEP does not advertise them.
 */
static void pp11_slot_mechanisms(pp11_slot *slot)
{
    static const ck_mechanism_type_t rsa_pkcs[] = {CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS,
                                                   CKM_SHA512_RSA_PKCS};
    static const ck_mechanism_type_t rsa_pss[] = {CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS,
                                                  CKM_SHA512_RSA_PKCS_PSS};
    static const ck_mechanism_type_t ecdsa[] = {CKM_ECDSA_SHA256, CKM_ECDSA_SHA384,
                                                CKM_ECDSA_SHA512};
    static const ck_mechanism_type_t digests[] = {CKM_SHA_1, CKM_SHA224, CKM_SHA256, CKM_SHA384,
                                                  CKM_SHA512};
    const uint32_t sign_use = PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH;
    const uint32_t crypt_use = PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT;
    uint8_t p = (uint8_t)slot->id;
    uint32_t *ops = NULL;
    size_t nops = 0, i;
    int cando, sign, decrypt, gen, rsa = PARSEC_KEY_TYPE_RSA_KEY_PAIR,
                                   ec = PARSEC_KEY_TYPE_ECC_KEY_PAIR;
    ck_flags_t sv = CKF_SIGN | CKF_VERIFY;

    if (parsec_list_opcodes(pp11_mod.client, p, &ops, &nops) != PARSEC_SUCCESS)
        nops = 0;
    cando = pp11_has_opcode(ops, nops, PARSEC_OP_CAN_DO_CRYPTO);
    sign = pp11_has_opcode(ops, nops, PARSEC_OP_PSA_SIGN_HASH);
    decrypt = pp11_has_opcode(ops, nops, PARSEC_OP_PSA_ASYMMETRIC_DECRYPT);
    gen = pp11_has_opcode(ops, nops, PARSEC_OP_PSA_GENERATE_KEY);
    if (sign && pp11_can_use(p, cando, rsa, 2048, sign_use, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
                             PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_ANY, 1)) {
        pp11_mech_add(slot, CKM_RSA_PKCS, PP11_RSA_MIN, PP11_RSA_MAX, sv);
        for (i = 0; i < 3; i++)
            pp11_mech_add(slot, rsa_pkcs[i], PP11_RSA_MIN, PP11_RSA_MAX, sv);
    }
    if (sign && pp11_can_use(p, cando, rsa, 2048, sign_use, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
                             PARSEC_SIGN_RSA_PSS, PARSEC_HASH_ANY, 1)) {
        pp11_mech_add(slot, CKM_RSA_PKCS_PSS, PP11_RSA_MIN, PP11_RSA_MAX, sv);
        for (i = 0; i < 3; i++)
            pp11_mech_add(slot, rsa_pss[i], PP11_RSA_MIN, PP11_RSA_MAX, sv);
    }
    if (sign && pp11_can_use(p, cando, ec, 256, sign_use, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
                             PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY, 1)) {
        pp11_mech_add(slot, CKM_ECDSA, PP11_EC_MIN, PP11_EC_MAX, sv | PP11_EC_FLAGS);
        for (i = 0; i < 3; i++)
            pp11_mech_add(slot, ecdsa[i], PP11_EC_MIN, PP11_EC_MAX, sv | PP11_EC_FLAGS);
    }
    if (decrypt && pp11_can_use(p, cando, rsa, 2048, crypt_use, PARSEC_ALG_ASYMMETRIC_ENCRYPTION,
                                PARSEC_ENCRYPT_RSA_PKCS1V15, 0, 1))
        pp11_mech_add(slot, CKM_RSA_PKCS, PP11_RSA_MIN, PP11_RSA_MAX, CKF_ENCRYPT | CKF_DECRYPT);
    if (decrypt && pp11_can_use(p, cando, rsa, 2048, crypt_use, PARSEC_ALG_ASYMMETRIC_ENCRYPTION,
                                PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_256, 1))
        pp11_mech_add(slot, CKM_RSA_PKCS_OAEP, PP11_RSA_MIN, PP11_RSA_MAX,
                      CKF_ENCRYPT | CKF_DECRYPT);
    if (pp11_has_opcode(ops, nops, PARSEC_OP_PSA_RAW_KEY_AGREEMENT) &&
        pp11_can_use(p, cando, ec, 256, PARSEC_USAGE_DERIVE, PARSEC_ALG_KEY_AGREEMENT,
                     PARSEC_KA_ECDH, 0, 1))
        pp11_mech_add(slot, CKM_ECDH1_DERIVE, PP11_EC_MIN, PP11_EC_MAX, CKF_DERIVE | PP11_EC_FLAGS);
    if (gen && pp11_can_use(p, cando, rsa, 2048, sign_use, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
                            PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_ANY, 2))
        pp11_mech_add(slot, CKM_RSA_PKCS_KEY_PAIR_GEN, PP11_RSA_MIN, PP11_RSA_MAX,
                      CKF_GENERATE_KEY_PAIR);
    if (gen && pp11_can_use(p, cando, ec, 256, sign_use, PARSEC_ALG_ASYMMETRIC_SIGNATURE,
                            PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY, 2))
        pp11_mech_add(slot, CKM_EC_KEY_PAIR_GEN, PP11_EC_MIN, PP11_EC_MAX,
                      CKF_GENERATE_KEY_PAIR | PP11_EC_FLAGS);
    /* Digests run locally with OpenSSL. */
    for (i = 0; i < sizeof(digests) / sizeof(digests[0]); i++)
        pp11_mech_add(slot, digests[i], 0, 0, CKF_DIGEST);
    parsec_free(ops);
}

/* Token filter: `tokens = software,tpm` (names or provider IDs). */
static int pp11_token_wanted(const char *filter, uint8_t id)
{
    const char *name = pp11_backend_name(id), *p = filter;
    char idtext[8];
    size_t len;

    if (filter == NULL)
        return 1;
    snprintf(idtext, sizeof(idtext), "%u", id);
    while (*p != '\0') {
        while (*p == ',' || *p == ' ')
            p++;
        len = strcspn(p, ", ");
        if (len > 0 && ((name != NULL && strlen(name) == len && strncmp(p, name, len) == 0) ||
                        (strlen(idtext) == len && strncmp(p, idtext, len) == 0)))
            return 1;
        p += len;
    }
    return 0;
}

/*
 * One discovery at a time (parsec_client_discover sets fields of the shared
 * client), under its own lock so the module lock is never held across
 * service calls.
 */
static pthread_mutex_t pp11_discover_lock = PTHREAD_MUTEX_INITIALIZER;

void pp11_discover_atfork_child(void)
{
    pthread_mutex_init(&pp11_discover_lock, NULL);
}

static int pp11_discovered(void)
{
    int done;

    pthread_mutex_lock(&pp11_mod.lock);
    done = pp11_mod.discovered;
    pthread_mutex_unlock(&pp11_mod.lock);
    return done;
}

ck_rv_t pp11_discover(void)
{
    parsec_provider_info *provs = NULL;
    pp11_slot *slots = NULL;
    size_t nprovs = 0, nslots = 0, i;
    parsec_status st;
    ck_rv_t rv = CKR_OK;

    if (pp11_discovered())
        return CKR_OK;
    pthread_mutex_lock(&pp11_discover_lock);
    if (pp11_discovered())
        goto done;
    st = parsec_client_discover(pp11_mod.client, pp11_mod.cfg.app_name);
    if (st == PARSEC_SUCCESS)
        st = parsec_list_providers(pp11_mod.client, &provs, &nprovs);
    if (st != PARSEC_SUCCESS) {
        PP11_log("cannot reach the Parsec service at %s: %s (%s); no tokens until it answers",
                 parsec_client_get_endpoint(pp11_mod.client), parsec_status_message(st),
                 parsec_status_name(st));
        goto done;
    }
    slots = OPENSSL_zalloc(sizeof(*slots) * (nprovs > 0 ? nprovs : 1));
    if (slots == NULL) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    for (i = 0; i < nprovs && nslots < PP11_MAX_SLOTS; i++) {
        pp11_slot *slot = &slots[nslots];
        const char *name = pp11_backend_name(provs[i].id);

        if (provs[i].id == PARSEC_PROVIDER_CORE ||
            !pp11_token_wanted(pp11_mod.cfg.tokens, provs[i].id))
            continue;
        slot->id = provs[i].id;
        memcpy(slot->uuid, provs[i].uuid, sizeof(slot->uuid));
        if (name != NULL)
            snprintf(slot->label, sizeof(slot->label), "parsec %s", name);
        else
            snprintf(slot->label, sizeof(slot->label), "parsec provider %u", provs[i].id);
        pp11_slot_mechanisms(slot);
        nslots++;
    }
    pthread_mutex_lock(&pp11_mod.lock);
    memcpy(pp11_mod.slots, slots, sizeof(*slots) * nslots);
    pp11_mod.nslots = nslots;
    pp11_mod.discovered = 1;
    pthread_mutex_unlock(&pp11_mod.lock);
done:
    pthread_mutex_unlock(&pp11_discover_lock);
    parsec_provider_info_free(provs, nprovs);
    OPENSSL_free(slots);
    return rv;
}

const pp11_slot *pp11_slot_find(ck_slot_id_t id)
{
    size_t i;

    for (i = 0; i < pp11_mod.nslots; i++)
        if (pp11_mod.slots[i].id == id)
            return &pp11_mod.slots[i];
    return NULL;
}

ck_rv_t C_GetSlotList(unsigned char token_present, ck_slot_id_t *slot_list, unsigned long *count)
{
    ck_rv_t rv = pp11_check_initialized();
    size_t i;

    if (rv != CKR_OK)
        return rv;
    if (count == NULL)
        return CKR_ARGUMENTS_BAD;
    rv = pp11_discover();
    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&pp11_mod.lock);
    if (slot_list != NULL && *count < pp11_mod.nslots) {
        rv = CKR_BUFFER_TOO_SMALL;
    } else if (slot_list != NULL) {
        for (i = 0; i < pp11_mod.nslots; i++)
            slot_list[i] = pp11_mod.slots[i].id;
    }
    *count = pp11_mod.nslots;
    pthread_mutex_unlock(&pp11_mod.lock);
    return rv;
}

/*
 * Copy of a slot under the lock; CKR_SLOT_ID_INVALID if there is none,
 * CKR_ARGUMENTS_BAD if the caller's output pointer `arg` is NULL.
 */
static ck_rv_t pp11_slot_copy(ck_slot_id_t id, const void *arg, pp11_slot *out)
{
    const pp11_slot *slot;
    ck_rv_t rv = pp11_check_initialized();

    if (rv != CKR_OK)
        return rv;
    if (arg == NULL)
        return CKR_ARGUMENTS_BAD;
    rv = pp11_discover();
    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&pp11_mod.lock);
    slot = pp11_slot_find(id);
    if (slot != NULL)
        *out = *slot;
    pthread_mutex_unlock(&pp11_mod.lock);
    return slot != NULL ? CKR_OK : CKR_SLOT_ID_INVALID;
}

ck_rv_t C_GetSlotInfo(ck_slot_id_t slot_id, struct ck_slot_info *info)
{
    char desc[80];
    pp11_slot slot;
    ck_rv_t rv = pp11_slot_copy(slot_id, info, &slot);

    if (rv != CKR_OK)
        return rv;
    memset(info, 0, sizeof(*info));
    snprintf(desc, sizeof(desc), "Parsec service provider %s", slot.uuid);
    pp11_pad(info->slot_description, sizeof(info->slot_description), desc);
    pp11_pad(info->manufacturer_id, sizeof(info->manufacturer_id), PP11_MANUFACTURER);
    info->flags = CKF_TOKEN_PRESENT;
    return CKR_OK;
}

ck_rv_t C_GetTokenInfo(ck_slot_id_t slot_id, struct ck_token_info *info)
{
    char serial[17];
    pp11_slot slot;
    size_t i, j;
    ck_rv_t rv = pp11_slot_copy(slot_id, info, &slot);

    if (rv != CKR_OK)
        return rv;
    memset(info, 0, sizeof(*info));
    pp11_pad(info->label, sizeof(info->label), slot.label);
    pp11_pad(info->manufacturer_id, sizeof(info->manufacturer_id), PP11_MANUFACTURER);
    pp11_pad(info->model, sizeof(info->model), "Parsec service");
    /* Serial: the first 16 hex digits of the provider UUID (fixed per provider). */
    for (i = 0, j = 0; slot.uuid[i] != '\0' && j < 16; i++)
        if (slot.uuid[i] != '-')
            serial[j++] = slot.uuid[i];
    serial[j] = '\0';
    pp11_pad(info->serial_number, sizeof(info->serial_number), serial);
    info->flags = CKF_RNG | CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED;
    info->max_session_count = CK_EFFECTIVELY_INFINITE;
    info->max_rw_session_count = CK_EFFECTIVELY_INFINITE;
    info->session_count = CK_UNAVAILABLE_INFORMATION;
    info->rw_session_count = CK_UNAVAILABLE_INFORMATION;
    info->max_pin_len = 255;
    info->min_pin_len = 0;
    info->total_public_memory = CK_UNAVAILABLE_INFORMATION;
    info->free_public_memory = CK_UNAVAILABLE_INFORMATION;
    info->total_private_memory = CK_UNAVAILABLE_INFORMATION;
    info->free_private_memory = CK_UNAVAILABLE_INFORMATION;
    info->hardware_version.major = 1;
    info->firmware_version.major = 1;
    pp11_pad(info->utc_time, sizeof(info->utc_time), ""); /* no clock: CKF_CLOCK_ON_TOKEN unset */
    return CKR_OK;
}

ck_rv_t C_GetMechanismList(ck_slot_id_t slot_id, ck_mechanism_type_t *list, unsigned long *count)
{
    pp11_slot slot;
    ck_rv_t rv = pp11_slot_copy(slot_id, count, &slot);

    if (rv != CKR_OK)
        return rv;
    if (list != NULL && *count < slot.nmechs)
        rv = CKR_BUFFER_TOO_SMALL;
    else if (list != NULL)
        memcpy(list, slot.mechs, sizeof(*list) * slot.nmechs);
    *count = slot.nmechs;
    return rv;
}

ck_rv_t C_GetMechanismInfo(ck_slot_id_t slot_id, ck_mechanism_type_t type,
                           struct ck_mechanism_info *info)
{
    pp11_slot slot;
    size_t i;
    ck_rv_t rv = pp11_slot_copy(slot_id, info, &slot);

    if (rv != CKR_OK)
        return rv;
    for (i = 0; i < slot.nmechs; i++) {
        if (slot.mechs[i] == type) {
            *info = slot.mech_info[i];
            return CKR_OK;
        }
    }
    return CKR_MECHANISM_INVALID;
}

/* ---- sessions ---------------------------------------------------------------------- */

void pp11_op_clear(pp11_op *op)
{
    pp11_mech_clear(&op->mech);
    pp11_key_free(op->key);
    EVP_MD_CTX_free(op->md);
    OPENSSL_clear_free(op->buffered, op->buffered_len);
    OPENSSL_clear_free(op->result, op->result_len);
    OPENSSL_free(op->found);
    memset(op, 0, sizeof(*op));
}

static void pp11_session_destroy(pp11_session *s)
{
    pp11_op_clear(&s->op);
    pp11_op_clear(&s->find);
    pthread_mutex_destroy(&s->lock);
    OPENSSL_free(s);
}

ck_rv_t pp11_session_get(ck_session_handle_t h, pp11_session **out)
{
    ck_rv_t rv = pp11_check_initialized();
    size_t i;

    *out = NULL;
    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&pp11_mod.lock);
    for (i = 0; i < pp11_mod.nsessions; i++) {
        if (pp11_mod.sessions[i]->handle == h) {
            *out = pp11_mod.sessions[i];
            (*out)->refcount++;
            break;
        }
    }
    pthread_mutex_unlock(&pp11_mod.lock);
    return *out != NULL ? CKR_OK : CKR_SESSION_HANDLE_INVALID;
}

void pp11_session_release(pp11_session *s)
{
    int gone;

    if (s == NULL)
        return;
    pthread_mutex_lock(&pp11_mod.lock);
    gone = --s->refcount == 0 && s->closed;
    pthread_mutex_unlock(&pp11_mod.lock);
    if (gone)
        pp11_session_destroy(s);
}

ck_rv_t C_OpenSession(ck_slot_id_t slot_id, ck_flags_t flags, void *application, ck_notify_t notify,
                      ck_session_handle_t *session)
{
    pp11_session *s = NULL, **grown;
    pp11_slot slot;
    ck_rv_t rv = pp11_slot_copy(slot_id, session, &slot);

    if (rv != CKR_OK)
        return rv;
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    s = OPENSSL_zalloc(sizeof(*s));
    if (s == NULL)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(&s->lock, NULL);
    s->slot = slot_id;
    s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    pthread_mutex_lock(&pp11_mod.lock);
    grown = OPENSSL_realloc(pp11_mod.sessions, sizeof(*grown) * (pp11_mod.nsessions + 1));
    if (grown == NULL) {
        pthread_mutex_unlock(&pp11_mod.lock);
        pp11_session_destroy(s);
        return CKR_HOST_MEMORY;
    }
    pp11_mod.sessions = grown;
    s->handle = pp11_mod.next_session++;
    grown[pp11_mod.nsessions++] = s;
    *session = s->handle;
    pthread_mutex_unlock(&pp11_mod.lock);
    return CKR_OK;
}

ck_rv_t pp11_session_op(ck_session_handle_t session, int kind, pp11_session **s)
{
    ck_rv_t rv = pp11_session_get(session, s);

    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&(*s)->lock);
    if ((*s)->op.kind != kind) {
        pthread_mutex_unlock(&(*s)->lock);
        pp11_session_release(*s);
        *s = NULL;
        return CKR_OPERATION_NOT_INITIALIZED;
    }
    return CKR_OK;
}

/* Ends a call on the session's operation; `keep` leaves the operation active. */
void pp11_session_op_done(pp11_session *s, int keep)
{
    if (!keep)
        pp11_op_clear(&s->op);
    pthread_mutex_unlock(&s->lock);
    pp11_session_release(s);
}

/*
 * C_SignInit, C_VerifyInit, C_DecryptInit, C_EncryptInit: the mechanism, the
 * key (the private half for what the service does, either half for what
 * runs on the public key here) and whether the key's policy allows it.
 */
ck_rv_t pp11_op_init(ck_session_handle_t session, struct ck_mechanism *mechanism,
                     ck_object_handle_t key, ck_flags_t op)
{
    int service = op == CKF_SIGN || op == CKF_DECRYPT;
    pp11_session *s;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&s->lock);
    if (s->op.kind != PP11_OP_NONE) {
        rv = CKR_OPERATION_ACTIVE;
        goto done;
    }
    if (mechanism == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    rv = pp11_mech_parse(mechanism, op, &s->op.mech);
    if (rv == CKR_OK)
        rv = pp11_object_key(s, key, service ? PP11_OBJ_PRIVATE : 0, &s->op.key);
    if (rv == CKR_OK)
        rv = pp11_key_permits(s->op.key, &s->op.mech, op);
    if (rv == CKR_OK && !service && s->op.key->pub == NULL)
        rv = CKR_DEVICE_ERROR; /* the service did not export the public key */
    if (rv == CKR_OK && s->op.mech.hash_locally) {
        s->op.md = EVP_MD_CTX_new();
        if (s->op.md == NULL || !EVP_DigestInit_ex(s->op.md, pp11_md(s->op.mech.alg.hash), NULL))
            rv = CKR_HOST_MEMORY;
    }
    if (rv == CKR_OK) {
        s->op.kind = op == CKF_SIGN      ? PP11_OP_SIGN
                     : op == CKF_VERIFY  ? PP11_OP_VERIFY
                     : op == CKF_DECRYPT ? PP11_OP_DECRYPT
                                         : PP11_OP_ENCRYPT;
    } else {
        PP11_log("mechanism 0x%lx, key handle %lu: CKR 0x%lx", mechanism->mechanism, key, rv);
        pp11_op_clear(&s->op);
    }
done:
    pthread_mutex_unlock(&s->lock);
    pp11_session_release(s);
    return rv;
}

/* Unlinks a session (with the lock); destroys it now if no call is using it. */
static void pp11_session_close_locked(size_t index)
{
    pp11_session *s = pp11_mod.sessions[index];

    pp11_mod.sessions[index] = pp11_mod.sessions[--pp11_mod.nsessions];
    pp11_session_free_objects(s->handle);
    s->closed = 1;
    if (pp11_mod.nsessions == 0)
        pp11_mod.logged_in = 0;
    if (s->refcount == 0)
        pp11_session_destroy(s);
}

ck_rv_t C_CloseSession(ck_session_handle_t session)
{
    ck_rv_t rv = pp11_check_initialized();
    size_t i;

    if (rv != CKR_OK)
        return rv;
    rv = CKR_SESSION_HANDLE_INVALID;
    pthread_mutex_lock(&pp11_mod.lock);
    for (i = 0; i < pp11_mod.nsessions; i++) {
        if (pp11_mod.sessions[i]->handle == session) {
            pp11_session_close_locked(i);
            rv = CKR_OK;
            break;
        }
    }
    pthread_mutex_unlock(&pp11_mod.lock);
    return rv;
}

ck_rv_t C_CloseAllSessions(ck_slot_id_t slot_id)
{
    pp11_slot slot;
    size_t i;
    ck_rv_t rv = pp11_slot_copy(slot_id, &slot, &slot);

    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&pp11_mod.lock);
    for (i = pp11_mod.nsessions; i > 0; i--)
        if (pp11_mod.sessions[i - 1]->slot == slot_id)
            pp11_session_close_locked(i - 1);
    pthread_mutex_unlock(&pp11_mod.lock);
    return CKR_OK;
}

ck_rv_t C_GetSessionInfo(ck_session_handle_t session, struct ck_session_info *info)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_get(session, &s);
    int rw;

    if (rv != CKR_OK)
        return rv;
    if (info == NULL) {
        pp11_session_release(s);
        return CKR_ARGUMENTS_BAD;
    }
    rw = (s->flags & CKF_RW_SESSION) != 0;
    memset(info, 0, sizeof(*info));
    info->slot_id = s->slot;
    info->flags = s->flags;
    pthread_mutex_lock(&pp11_mod.lock);
    if (pp11_mod.logged_in)
        info->state = rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
    else
        info->state = rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
    pthread_mutex_unlock(&pp11_mod.lock);
    pp11_session_release(s);
    return CKR_OK;
}

/* The service authenticates the process: the PIN is accepted and never looked at. */
ck_rv_t C_Login(ck_session_handle_t session, ck_user_type_t user_type, unsigned char *pin,
                unsigned long pin_len)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&pp11_mod.lock);
    if (user_type == CKU_CONTEXT_SPECIFIC)
        rv = pp11_mod.logged_in ? CKR_OK : CKR_USER_NOT_LOGGED_IN;
    else if (user_type != CKU_USER)
        rv = CKR_USER_TYPE_INVALID;
    else if (pp11_mod.logged_in)
        rv = CKR_USER_ALREADY_LOGGED_IN;
    else
        pp11_mod.logged_in = 1;
    pthread_mutex_unlock(&pp11_mod.lock);
    pp11_session_release(s);
    return rv;
}

ck_rv_t C_Logout(ck_session_handle_t session)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    pthread_mutex_lock(&pp11_mod.lock);
    if (!pp11_mod.logged_in)
        rv = CKR_USER_NOT_LOGGED_IN;
    pp11_mod.logged_in = 0;
    pthread_mutex_unlock(&pp11_mod.lock);
    pp11_session_release(s);
    return rv;
}
