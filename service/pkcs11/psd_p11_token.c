/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PKCS#11 module and token: loading through p11-kit, choosing the token,
 * logging in, the session pool and its recovery, and CKR -> Parsec statuses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "psd_p11.h"

/* ---- CKR -> Parsec status ---- */

parsec_status psd_p11_status(CK_RV rv)
{
    switch (rv) {
    case CKR_OK:
        return PARSEC_SUCCESS;
    case CKR_KEY_FUNCTION_NOT_PERMITTED:
    case CKR_TOKEN_WRITE_PROTECTED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
        return PARSEC_PSA_ERROR_NOT_PERMITTED;
    case CKR_MECHANISM_INVALID:
    case CKR_MECHANISM_PARAM_INVALID:
    case CKR_FUNCTION_NOT_SUPPORTED:
    case CKR_KEY_SIZE_RANGE:
    case CKR_CURVE_NOT_SUPPORTED:
    case CKR_DOMAIN_PARAMS_INVALID:
    case CKR_TEMPLATE_INCONSISTENT:
    case CKR_TEMPLATE_INCOMPLETE:
    case CKR_ATTRIBUTE_TYPE_INVALID:
    case CKR_ATTRIBUTE_VALUE_INVALID:
    case CKR_ATTRIBUTE_READ_ONLY:
    case CKR_RANDOM_NO_RNG:
        return PARSEC_PSA_ERROR_NOT_SUPPORTED;
    case CKR_ARGUMENTS_BAD:
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
    case CKR_KEY_TYPE_INCONSISTENT:
    case CKR_KEY_NOT_NEEDED:
        return PARSEC_PSA_ERROR_INVALID_ARGUMENT;
    case CKR_SIGNATURE_INVALID:
    case CKR_SIGNATURE_LEN_RANGE:
        return PARSEC_PSA_ERROR_INVALID_SIGNATURE;
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
        return PARSEC_PSA_ERROR_INVALID_PADDING;
    case CKR_HOST_MEMORY:
    case CKR_DEVICE_MEMORY:
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    case CKR_BUFFER_TOO_SMALL:
        return PARSEC_PSA_ERROR_BUFFER_TOO_SMALL;
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
        return PARSEC_PSA_ERROR_DOES_NOT_EXIST;
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_COUNT:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SLOT_ID_INVALID:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
        return PARSEC_PSA_ERROR_COMMUNICATION_FAILURE;
    case CKR_DEVICE_ERROR:
        return PARSEC_PSA_ERROR_HARDWARE_FAILURE;
    case CKR_OPERATION_ACTIVE:
    case CKR_OPERATION_NOT_INITIALIZED:
        return PARSEC_PSA_ERROR_BAD_STATE;
    default:
        return PARSEC_PSA_ERROR_GENERIC_ERROR;
    }
}

const char *psd_p11_rv_name(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT:
        return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED:
        return "CKR_PIN_LOCKED";
    case CKR_PIN_EXPIRED:
        return "CKR_PIN_EXPIRED";
    case CKR_PIN_LEN_RANGE:
        return "CKR_PIN_LEN_RANGE";
    case CKR_SESSION_HANDLE_INVALID:
        return "CKR_SESSION_HANDLE_INVALID";
    case CKR_SESSION_CLOSED:
        return "CKR_SESSION_CLOSED";
    case CKR_DEVICE_REMOVED:
        return "CKR_DEVICE_REMOVED";
    case CKR_TOKEN_NOT_PRESENT:
        return "CKR_TOKEN_NOT_PRESENT";
    case CKR_USER_NOT_LOGGED_IN:
        return "CKR_USER_NOT_LOGGED_IN";
    default:
        return p11_kit_strerror(rv);
    }
}

unsigned long psd_p11_generation(psd_p11 *st)
{
    return __atomic_load_n(&st->generation, __ATOMIC_ACQUIRE);
}

static void psd_p11_bump_generation(psd_p11 *st)
{
    __atomic_add_fetch(&st->generation, 1, __ATOMIC_ACQ_REL);
}

CK_RV psd_p11_get_attr(psd_p11 *st, ck_session_handle_t s, ck_object_handle_t obj,
                       ck_attribute_type_t type, uint8_t **out, size_t *outlen)
{
    struct ck_attribute a = {type, NULL, 0};
    uint8_t *buf = NULL;
    CK_RV rv;

    *out = NULL;
    *outlen = 0;
    rv = PSD_P11_CALL(st, C_GetAttributeValue, s, obj, &a, 1);
    if (rv != CKR_OK)
        return rv;
    if (a.value_len == CK_UNAVAILABLE_INFORMATION)
        return CKR_ATTRIBUTE_SENSITIVE;
    buf = OPENSSL_zalloc(a.value_len + 1);
    if (buf == NULL)
        return CKR_HOST_MEMORY;
    a.value = buf;
    rv = PSD_P11_CALL(st, C_GetAttributeValue, s, obj, &a, 1);
    if (rv != CKR_OK) {
        OPENSSL_clear_free(buf, a.value_len + 1);
        return rv;
    }
    *out = buf;
    *outlen = a.value_len;
    return CKR_OK;
}

/* ---- module loading ---- */

static int psd_p11_load_module(psd_p11 *st, const psd_p11_config *cfg, char *err, size_t errlen)
{
    CK_FUNCTION_LIST **all = NULL, *m;
    char *file = NULL, *name;
    char names[256] = "";
    size_t used = 0;
    int i, ret = -1;

    if (cfg->module_is_path) {
        if (access(cfg->module, R_OK) != 0) {
            snprintf(err, errlen, "pkcs11: PKCS#11 module %s not found: %s", cfg->module,
                     strerror(errno));
            goto done;
        }
        st->fn = p11_kit_module_load(cfg->module, 0);
        if (st->fn == NULL) {
            snprintf(err, errlen, "pkcs11: cannot load PKCS#11 module %s: %s", cfg->module,
                     p11_kit_message() ? p11_kit_message() : "unknown error");
            goto done;
        }
        st->module_name = OPENSSL_strdup(cfg->module);
        ret = st->module_name != NULL ? 0 : -1;
        goto done;
    }

    /* A module registered with p11-kit (/usr/share/p11-kit/modules/NAME.module). */
    all = p11_kit_modules_load(NULL, 0);
    m = all != NULL ? p11_kit_module_for_name(all, cfg->module) : NULL;
    if (m != NULL)
        file = p11_kit_module_get_filename(m);
    for (i = 0; m == NULL && all != NULL && all[i] != NULL; i++) {
        name = p11_kit_module_get_name(all[i]);
        if (name != NULL && used + strlen(name) + 3 < sizeof(names))
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "",
                                     name);
        free(name);
    }
    if (all != NULL)
        p11_kit_modules_release(all);
    if (file == NULL) {
        snprintf(err, errlen,
                 "pkcs11: PKCS#11 module '%s' not found: not a path and no p11-kit module "
                 "has that name (registered: %s)",
                 cfg->module, used ? names : "none");
        goto done;
    }
    st->fn = p11_kit_module_load(file, 0);
    if (st->fn == NULL) {
        snprintf(err, errlen, "pkcs11: cannot load PKCS#11 module '%s' (%s): %s", cfg->module, file,
                 p11_kit_message() ? p11_kit_message() : "unknown error");
        goto done;
    }
    st->module_name = OPENSSL_strdup(cfg->module);
    ret = st->module_name != NULL ? 0 : -1;
done:
    free(file);
    return ret;
}

/* ---- token selection ---- */

static void psd_p11_label(char out[33], const unsigned char *label)
{
    size_t n = p11_kit_space_strlen(label, 32);

    memcpy(out, label, n);
    out[n] = '\0';
}

/* Append "'label' (slot N)" to a list for error messages. */
static void psd_p11_list_token(char *list, size_t size, ck_slot_id_t slot,
                               const struct ck_token_info *ti)
{
    char label[33];
    size_t used = strlen(list);

    psd_p11_label(label, ti->label);
    if (used + 48 < size)
        snprintf(list + used, size - used, "%s'%s' (slot %lu)", used ? ", " : "", label,
                 (unsigned long)slot);
}

/*
 * Find the configured token among the slots with a token present.
 * 0 found (st->slot set), -1 error (err written).
 */
static int psd_p11_find_token(psd_p11 *st, char *err, size_t errlen)
{
    ck_slot_id_t *slots = NULL;
    unsigned long nslots = 0, i;
    struct ck_info info;
    struct ck_slot_info si;
    struct ck_token_info ti;
    ck_slot_id_t uri_slot, found = 0;
    char present[256] = "";
    int matches = 0, ret = -1;
    CK_RV rv;

    if (st->fixed_slot) {
        rv = st->fn->C_GetSlotInfo(st->slot, &si);
        if (rv != CKR_OK) {
            snprintf(err, errlen, "pkcs11: no slot %lu in module %s: %s", (unsigned long)st->slot,
                     st->module_name, psd_p11_rv_name(rv));
            goto done;
        }
        if (!(si.flags & CKF_TOKEN_PRESENT)) {
            snprintf(err, errlen, "pkcs11: no token in slot %lu of module %s",
                     (unsigned long)st->slot, st->module_name);
            goto done;
        }
        ret = 0;
        goto done;
    }

    rv = st->fn->C_GetSlotList(CK_TRUE, NULL, &nslots);
    if (rv == CKR_OK && nslots > 0) {
        slots = OPENSSL_malloc(nslots * sizeof(*slots));
        if (slots == NULL) {
            snprintf(err, errlen, "pkcs11: out of memory");
            goto done;
        }
        rv = st->fn->C_GetSlotList(CK_TRUE, slots, &nslots);
    }
    if (rv != CKR_OK) {
        snprintf(err, errlen, "pkcs11: C_GetSlotList failed in module %s: %s", st->module_name,
                 psd_p11_rv_name(rv));
        goto done;
    }
    if (st->uri != NULL && st->fn->C_GetInfo(&info) == CKR_OK &&
        !p11_kit_uri_match_module_info(st->uri, &info)) {
        snprintf(err, errlen, "pkcs11: token_uri does not match module %s", st->module_name);
        goto done;
    }
    uri_slot = st->uri != NULL ? p11_kit_uri_get_slot_id(st->uri) : (ck_slot_id_t)-1;
    for (i = 0; i < nslots; i++) {
        if (st->fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        psd_p11_list_token(present, sizeof(present), slots[i], &ti);
        if (st->uri != NULL) {
            if (uri_slot != (ck_slot_id_t)-1 && uri_slot != slots[i])
                continue;
            if (st->fn->C_GetSlotInfo(slots[i], &si) != CKR_OK ||
                !p11_kit_uri_match_slot_info(st->uri, &si))
                continue;
            if (!p11_kit_uri_match_token_info(st->uri, &ti))
                continue;
        }
        if (matches++ == 0)
            found = slots[i];
    }
    if (matches == 0 && st->uri == NULL) {
        snprintf(err, errlen, "pkcs11: no token present in module %s", st->module_name);
        goto done;
    }
    if (matches == 0) {
        snprintf(err, errlen,
                 "pkcs11: no token in module %s matches token_uri (tokens present: %s)",
                 st->module_name, present[0] ? present : "none");
        goto done;
    }
    if (matches > 1) {
        snprintf(err, errlen,
                 "pkcs11: %d tokens in module %s match%s; choose one with token_uri or slot "
                 "(tokens present: %s)",
                 matches, st->module_name, st->uri != NULL ? " token_uri" : "", present);
        goto done;
    }
    st->slot = found;
    ret = 0;
done:
    OPENSSL_free(slots);
    return ret;
}

static void psd_p11_read_caps(psd_p11 *st)
{
    ck_mechanism_type_t *mechs = NULL;
    unsigned long n = 0, i;
    struct ck_mechanism_info mi;
    psd_p11_caps *c = &st->caps;

    memset(c, 0, sizeof(*c));
    if (st->fn->C_GetMechanismList(st->slot, NULL, &n) != CKR_OK || n == 0)
        return;
    mechs = OPENSSL_malloc(n * sizeof(*mechs));
    if (mechs == NULL || st->fn->C_GetMechanismList(st->slot, mechs, &n) != CKR_OK)
        goto done;
    for (i = 0; i < n; i++) {
        if (st->fn->C_GetMechanismInfo(st->slot, mechs[i], &mi) != CKR_OK)
            continue;
        switch (mechs[i]) {
        case CKM_RSA_PKCS_KEY_PAIR_GEN:
            c->rsa_gen = (mi.flags & CKF_GENERATE_KEY_PAIR) != 0;
            c->rsa_min_bits = mi.min_key_size;
            c->rsa_max_bits = mi.max_key_size;
            break;
        case CKM_EC_KEY_PAIR_GEN:
            c->ec_gen = (mi.flags & CKF_GENERATE_KEY_PAIR) != 0;
            c->ec_min_bits = mi.min_key_size;
            c->ec_max_bits = mi.max_key_size;
            break;
        case CKM_RSA_PKCS:
            c->rsa_pkcs_sign = (mi.flags & CKF_SIGN) != 0;
            c->rsa_pkcs_decrypt = (mi.flags & CKF_DECRYPT) != 0;
            break;
        case CKM_RSA_PKCS_PSS:
            c->rsa_pss_sign = (mi.flags & CKF_SIGN) != 0;
            break;
        case CKM_RSA_PKCS_OAEP:
            c->rsa_oaep_decrypt = (mi.flags & CKF_DECRYPT) != 0;
            break;
        case CKM_RSA_X_509:
            c->rsa_x509_decrypt = (mi.flags & CKF_DECRYPT) != 0;
            break;
        case CKM_ECDSA:
            c->ecdsa_sign = (mi.flags & CKF_SIGN) != 0;
            break;
        case CKM_ECDH1_DERIVE:
            c->ecdh_derive = (mi.flags & CKF_DERIVE) != 0;
            break;
        case CKM_AES_KEY_GEN:
            c->aes_gen = (mi.flags & CKF_GENERATE) != 0;
            c->aes_min_bytes = mi.min_key_size;
            c->aes_max_bytes = mi.max_key_size;
            break;
        case CKM_AES_GCM:
            c->aes_gcm = (mi.flags & CKF_ENCRYPT) != 0 && (mi.flags & CKF_DECRYPT) != 0;
            break;
        default:
            break;
        }
    }
done:
    OPENSSL_free(mechs);
}

/* ---- login ---- */

/* Caller holds pool_lock (or is single-threaded init). */
static CK_RV psd_p11_login(psd_p11 *st, ck_session_handle_t s)
{
    CK_RV rv;

    if (st->login_refused)
        return CKR_USER_NOT_LOGGED_IN;
    rv = PSD_P11_CALL(st, C_Login, s, CKU_USER, (unsigned char *)st->pin, st->pin_len);
    if (rv == CKR_USER_ALREADY_LOGGED_IN)
        rv = CKR_OK;
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED ||
        rv == CKR_PIN_LEN_RANGE) {
        /* A token counts failed logins; never spend another attempt on our own. */
        st->login_refused = 1;
        psd_log(PSD_LOG_ERROR,
                "pkcs11: token '%s' refused the PIN on re-login (%s); not retrying until "
                "parsecd restarts",
                st->token_label, psd_p11_rv_name(rv));
    }
    return rv;
}

static int psd_p11_first_login(psd_p11 *st, ck_session_handle_t s, char *err, size_t errlen)
{
    struct ck_token_info ti;
    CK_RV rv;

    rv = st->fn->C_GetTokenInfo(st->slot, &ti);
    if (rv != CKR_OK) {
        snprintf(err, errlen, "pkcs11: C_GetTokenInfo failed: %s", psd_p11_rv_name(rv));
        return -1;
    }
    if (ti.flags & CKF_USER_PIN_LOCKED) {
        snprintf(err, errlen,
                 "pkcs11: the user PIN of token '%s' is locked (CKF_USER_PIN_LOCKED); the "
                 "security officer must reset it",
                 st->token_label);
        return -1;
    }
    if (ti.flags & CKF_USER_PIN_FINAL_TRY) {
        snprintf(err, errlen,
                 "pkcs11: token '%s' locks its user PIN after one more failed login "
                 "(CKF_USER_PIN_FINAL_TRY); parsecd will not risk it: log in once by hand "
                 "(e.g. pkcs11-tool --login) to reset the counter",
                 st->token_label);
        return -1;
    }
    if (ti.flags & CKF_USER_PIN_COUNT_LOW)
        psd_log(PSD_LOG_WARN, "pkcs11: token '%s' has seen failed logins (CKF_USER_PIN_COUNT_LOW)",
                st->token_label);
    /* With a PIN pad (protected authentication path) and no PIN set, the reader asks. */
    rv = st->fn->C_Login(s, CKU_USER, (unsigned char *)st->pin, st->pin_len);
    switch (rv) {
    case CKR_OK:
    case CKR_USER_ALREADY_LOGGED_IN:
        return 0;
    case CKR_PIN_INCORRECT:
        snprintf(err, errlen,
                 "pkcs11: wrong PIN for token '%s' (CKR_PIN_INCORRECT); not retrying, so the "
                 "token's PIN retry counter is not used up: fix pin/pin_file",
                 st->token_label);
        return -1;
    case CKR_PIN_LOCKED:
        snprintf(err, errlen, "pkcs11: the user PIN of token '%s' is locked (CKR_PIN_LOCKED)",
                 st->token_label);
        return -1;
    case CKR_PIN_EXPIRED:
        snprintf(err, errlen, "pkcs11: the user PIN of token '%s' has expired (CKR_PIN_EXPIRED)",
                 st->token_label);
        return -1;
    case CKR_PIN_LEN_RANGE:
        snprintf(err, errlen,
                 "pkcs11: the PIN length is outside what token '%s' accepts (CKR_PIN_LEN_RANGE)",
                 st->token_label);
        return -1;
    case CKR_USER_PIN_NOT_INITIALIZED:
        snprintf(err, errlen, "pkcs11: token '%s' has no user PIN set yet", st->token_label);
        return -1;
    default:
        snprintf(err, errlen, "pkcs11: login to token '%s' failed: %s", st->token_label,
                 psd_p11_rv_name(rv));
        return -1;
    }
}

/* ---- session pool ---- */

/* Caller holds pool_lock. */
static CK_RV psd_p11_session_open(psd_p11 *st, psd_p11_session *ps)
{
    struct ck_session_info info;
    CK_RV rv;

    rv = PSD_P11_CALL(st, C_OpenSession, st->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                      &ps->handle);
    if (rv != CKR_OK)
        return rv;
    ps->open = 1;
    if (!st->login_required)
        return CKR_OK;
    /* Login is per token: a new session inherits it unless the token dropped it. */
    rv = st->fn->C_GetSessionInfo(ps->handle, &info);
    if (rv == CKR_OK && info.state != CKS_RW_USER_FUNCTIONS)
        st->need_login = 1;
    return CKR_OK;
}

static CK_RV psd_p11_acquire(psd_p11 *st, size_t *idx, unsigned long *gen)
{
    psd_p11_session *ps = NULL;
    CK_RV rv = CKR_OK;
    size_t i;

    pthread_mutex_lock(&st->pool_lock);
    for (;;) {
        for (i = 0; i < st->nsessions; i++)
            if (!st->sessions[i].busy)
                break;
        if (i < st->nsessions)
            break;
        pthread_cond_wait(&st->pool_cond, &st->pool_lock);
    }
    ps = &st->sessions[i];
    ps->busy = 1;
    *gen = psd_p11_generation(st);
    if (!ps->open)
        rv = psd_p11_session_open(st, ps);
    if (rv == CKR_OK && st->need_login) {
        rv = psd_p11_login(st, ps->handle);
        if (rv == CKR_OK) {
            st->need_login = 0;
            /*
             * The login ended with the token's sessions, and a token may
             * number its objects anew after that (SoftHSM2 forgets every
             * handle): a cached handle could now name another key.
             */
            psd_p11_bump_generation(st);
        }
    }
    if (rv != CKR_OK) {
        ps->busy = 0;
        pthread_cond_signal(&st->pool_cond);
    }
    pthread_mutex_unlock(&st->pool_lock);
    *idx = i;
    return rv;
}

static int psd_p11_session_lost(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED;
}

static int psd_p11_device_lost(CK_RV rv)
{
    return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_SLOT_ID_INVALID;
}

static void psd_p11_release(psd_p11 *st, size_t idx, CK_RV rv)
{
    psd_p11_session *ps = &st->sessions[idx];

    pthread_mutex_lock(&st->pool_lock);
    if (ps->open && (ps->stale || psd_p11_session_lost(rv))) {
        st->fn->C_CloseSession(ps->handle);
        ps->open = 0;
    }
    ps->stale = 0;
    ps->busy = 0;
    pthread_cond_signal(&st->pool_cond);
    pthread_mutex_unlock(&st->pool_lock);
}

static int psd_p11_recoverable(CK_RV rv)
{
    return psd_p11_session_lost(rv) || psd_p11_device_lost(rv) || rv == CKR_USER_NOT_LOGGED_IN ||
           rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID;
}

/* gen: the generation seen when the failing session was taken. */
static void psd_p11_recover(psd_p11 *st, CK_RV rv, unsigned long gen)
{
    char err[256];
    size_t i;

    pthread_mutex_lock(&st->pool_lock);
    if (rv == CKR_USER_NOT_LOGGED_IN) {
        psd_log(PSD_LOG_WARN, "pkcs11: token '%s' dropped the login; logging in again",
                st->token_label);
        st->need_login = st->login_required;
    } else if (rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID) {
        /* Cached handles may be stale (objects re-created by someone else). */
        if (gen == psd_p11_generation(st))
            psd_p11_bump_generation(st);
    } else if (psd_p11_device_lost(rv) && gen == psd_p11_generation(st)) {
        psd_log(PSD_LOG_WARN, "pkcs11: token '%s' went away (%s); reopening sessions",
                st->token_label, psd_p11_rv_name(rv));
        /*
         * Close what is idle; sessions in use close when released, so their
         * handle numbers cannot be handed to another thread meanwhile.
         */
        for (i = 0; i < st->nsessions; i++) {
            if (st->sessions[i].busy) {
                st->sessions[i].stale = 1;
            } else if (st->sessions[i].open) {
                st->fn->C_CloseSession(st->sessions[i].handle);
                st->sessions[i].open = 0;
            }
        }
        if (psd_p11_find_token(st, err, sizeof(err)) != 0)
            psd_log(PSD_LOG_ERROR, "%s", err);
        st->need_login = st->login_required;
        psd_p11_bump_generation(st);
    }
    pthread_mutex_unlock(&st->pool_lock);
}

__thread const char *psd_p11_last_call;

parsec_status psd_p11_run(psd_p11 *st, psd_p11_op_fn fn, void *ctx)
{
    parsec_status status = PARSEC_PSA_ERROR_GENERIC_ERROR;
    unsigned long gen = 0;
    size_t idx = 0;
    int attempt;
    CK_RV rv;

    /* Stale handles, then a lost login, can each cost one retry. */
    for (attempt = 0; attempt < 3; attempt++) {
        psd_p11_last_call = NULL;
        rv = psd_p11_acquire(st, &idx, &gen);
        if (rv == CKR_OK) {
            status = fn(st, st->sessions[idx].handle, ctx, &rv);
            psd_p11_release(st, idx, rv);
        } else {
            status = psd_p11_status(rv);
        }
        if (status != PARSEC_SUCCESS && rv != CKR_OK)
            psd_log(PSD_LOG_WARN, "pkcs11: %s on token '%s' failed: %s (CKR 0x%lx)%s",
                    psd_p11_last_call != NULL ? psd_p11_last_call : "a PKCS#11 call",
                    st->token_label, psd_p11_rv_name(rv), (unsigned long)rv,
                    psd_p11_recoverable(rv) && attempt < 2 ? " (recovering and retrying)" : "");
        if (status == PARSEC_SUCCESS || rv == CKR_OK || !psd_p11_recoverable(rv))
            break;
        psd_p11_recover(st, rv, gen);
    }
    return status;
}

parsec_status psd_p11_run_exclusive(psd_p11 *st, psd_p11_op_fn fn, void *ctx)
{
    parsec_status status;

    pthread_mutex_lock(&st->object_lock);
    status = psd_p11_run(st, fn, ctx);
    pthread_mutex_unlock(&st->object_lock);
    return status;
}

/* ---- open / close ---- */

int psd_p11_open(psd_p11 *st, const psd_p11_config *cfg, char *err, size_t errlen)
{
    struct ck_token_info ti;
    int code;
    CK_RV rv;

    memset(st, 0, sizeof(*st));
    pthread_mutex_init(&st->pool_lock, NULL);
    pthread_cond_init(&st->pool_cond, NULL);
    pthread_mutex_init(&st->cache_lock, NULL);
    pthread_mutex_init(&st->object_lock, NULL);

    if (cfg->token_uri != NULL) {
        st->uri = p11_kit_uri_new();
        if (st->uri == NULL) {
            snprintf(err, errlen, "pkcs11: out of memory");
            return -1;
        }
        code = p11_kit_uri_parse(cfg->token_uri,
                                 P11_KIT_URI_FOR_TOKEN | P11_KIT_URI_FOR_SLOT |
                                     P11_KIT_URI_FOR_MODULE_WITH_VERSION,
                                 st->uri);
        if (code != P11_KIT_URI_OK) {
            snprintf(err, errlen, "pkcs11: token_uri '%s' is not a PKCS#11 URI: %s", cfg->token_uri,
                     p11_kit_uri_message(code));
            return -1;
        }
    } else if (cfg->have_slot) {
        st->fixed_slot = 1;
        st->slot = cfg->slot;
    }
    if (psd_p11_tables_make(st) != 0) {
        snprintf(err, errlen,
                 "pkcs11: OpenSSL cannot make the P-256/384/521 groups or SHA-1/SHA-2 digests: "
                 "check its configuration (OPENSSL_CONF) and that the default provider loads");
        return -1;
    }

    if (psd_p11_load_module(st, cfg, err, errlen) != 0)
        return -1;
    rv = p11_kit_module_initialize(st->fn);
    if (rv != CKR_OK) {
        /* SoftHSM2 answers CKR_GENERAL_ERROR for an unreadable config or token directory. */
        snprintf(err, errlen, "pkcs11: C_Initialize of module %s failed: %s%s", st->module_name,
                 psd_p11_rv_name(rv),
                 strstr(st->module_name, "softhsm") == NULL
                     ? ""
                     : ": SoftHSM2 must read its configuration (SOFTHSM2_CONF, default"
                       " /etc/softhsm/softhsm2.conf) and read-write its token directory"
                       " (directories.tokendir, default /var/lib/softhsm/tokens, group 'softhsm'):"
                       " add the service user to the softhsm group (usermod -aG softhsm USER)"
                       " and check both paths' permissions");
        return -1;
    }
    st->initialized = 1;

    if (psd_p11_find_token(st, err, errlen) != 0)
        return -1;
    rv = st->fn->C_GetTokenInfo(st->slot, &ti);
    if (rv != CKR_OK) {
        snprintf(err, errlen, "pkcs11: C_GetTokenInfo(slot %lu) failed: %s",
                 (unsigned long)st->slot, psd_p11_rv_name(rv));
        return -1;
    }
    psd_p11_label(st->token_label, ti.label);
    if (!(ti.flags & CKF_TOKEN_INITIALIZED)) {
        snprintf(err, errlen, "pkcs11: the token in slot %lu is not initialized",
                 (unsigned long)st->slot);
        return -1;
    }
    if (ti.flags & CKF_WRITE_PROTECTED) {
        snprintf(err, errlen, "pkcs11: token '%s' is write-protected", st->token_label);
        return -1;
    }
    st->login_required = (ti.flags & CKF_LOGIN_REQUIRED) != 0;
    if (st->login_required && !cfg->have_pin && !(ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH)) {
        snprintf(err, errlen, "pkcs11: token '%s' needs a user PIN: set pin_file (or pin)",
                 st->token_label);
        return -1;
    }
    if (st->login_required && cfg->have_pin) {
        st->pin = OPENSSL_malloc(cfg->pin_len + 1);
        if (st->pin == NULL) {
            snprintf(err, errlen, "pkcs11: out of memory");
            return -1;
        }
        memcpy(st->pin, cfg->pin, cfg->pin_len + 1);
        st->pin_len = cfg->pin_len;
    }

    psd_p11_read_caps(st);
    st->caps.rng = (ti.flags & CKF_RNG) != 0;

    st->nsessions = cfg->sessions;
    if (ti.max_session_count != CK_UNAVAILABLE_INFORMATION &&
        ti.max_session_count != CK_EFFECTIVELY_INFINITE && ti.max_session_count < st->nsessions)
        st->nsessions = ti.max_session_count > 0 ? ti.max_session_count : 1;
    st->sessions = OPENSSL_zalloc(st->nsessions * sizeof(*st->sessions));
    if (st->sessions == NULL) {
        snprintf(err, errlen, "pkcs11: out of memory");
        return -1;
    }
    rv = st->fn->C_OpenSession(st->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
                               &st->sessions[0].handle);
    if (rv != CKR_OK) {
        snprintf(err, errlen, "pkcs11: cannot open a session on token '%s': %s", st->token_label,
                 psd_p11_rv_name(rv));
        return -1;
    }
    st->sessions[0].open = 1;
    /* One login serves every session of this application (PKCS#11 login is per token). */
    if (st->login_required && psd_p11_first_login(st, st->sessions[0].handle, err, errlen) != 0)
        return -1;

    psd_log(PSD_LOG_INFO, "pkcs11: token '%s' in slot %lu of module %s, %zu sessions%s",
            st->token_label, (unsigned long)st->slot, st->module_name, st->nsessions,
            st->login_required ? ", logged in" : "");
    return 0;
}

void psd_p11_close(psd_p11 *st)
{
    size_t i;

    if (st == NULL)
        return;
    psd_p11_cache_clear(st);
    if (st->initialized) {
        for (i = 0; st->sessions != NULL && i < st->nsessions; i++)
            if (st->sessions[i].open)
                st->fn->C_CloseSession(st->sessions[i].handle);
        p11_kit_module_finalize(st->fn);
    }
    if (st->fn != NULL)
        p11_kit_module_release(st->fn);
    OPENSSL_free(st->sessions);
    if (st->pin != NULL)
        OPENSSL_clear_free(st->pin, st->pin_len + 1);
    if (st->uri != NULL)
        p11_kit_uri_free(st->uri);
    OPENSSL_free(st->module_name);
    psd_p11_tables_free(st);
    pthread_mutex_destroy(&st->object_lock);
    pthread_mutex_destroy(&st->cache_lock);
    pthread_cond_destroy(&st->pool_cond);
    pthread_mutex_destroy(&st->pool_lock);
    memset(st, 0, sizeof(*st));
}
