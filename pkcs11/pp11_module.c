/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libparsec-pkcs11.so: C_Initialize/C_Finalize, the function list, fork
 * handling, logging and the functions the module does not offer.
 *
 * PKCS#11 2.40 only: p11-kit's pkcs11.h (the OASIS header this project
 * uses) has no 3.0 CK_INTERFACE, and every application tested loads 2.40
 * modules through C_GetFunctionList.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "parsec_proc.h"
#include "pp11.h"

pp11_module pp11_mod = {.lock = PTHREAD_MUTEX_INITIALIZER};
int pp11_debug_enabled;
static pthread_once_t pp11_atfork_once = PTHREAD_ONCE_INIT;

void pp11_log_at(const char *func, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "parsec-pkcs11[%ld]: %s: %s\n", (long)getpid(), func, line);
}

/*
 * The module lock is never held across a service call, so taking it
 * around fork() leaves the child's tables consistent; the child then sees
 * CKR_CRYPTOKI_NOT_INITIALIZED (pid check) until it calls C_Initialize.
 */
static void pp11_atfork_prepare(void)
{
    pthread_mutex_lock(&pp11_mod.lock);
}

static void pp11_atfork_parent(void)
{
    pthread_mutex_unlock(&pp11_mod.lock);
}

static void pp11_atfork_child(void)
{
    pthread_mutex_unlock(&pp11_mod.lock);
    pp11_discover_atfork_child();
}

static void pp11_atfork_register(void)
{
    pthread_atfork(pp11_atfork_prepare, pp11_atfork_parent, pp11_atfork_child);
}

ck_rv_t pp11_check_initialized(void)
{
    if (!pp11_mod.initialized || pp11_mod.pid != parsec_proc_pid())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    return CKR_OK;
}

/* Everything C_Initialize built; called with the lock held (or in a fresh child). */
static void pp11_release_all(void)
{
    size_t i;

    for (i = 0; i < pp11_mod.nsessions; i++) {
        pp11_session *s = pp11_mod.sessions[i];

        if (s == NULL)
            continue;
        pp11_op_clear(&s->op);
        pp11_op_clear(&s->find);
        pthread_mutex_destroy(&s->lock);
        OPENSSL_free(s);
    }
    OPENSSL_free(pp11_mod.sessions);
    pp11_mod.sessions = NULL;
    pp11_mod.nsessions = 0;
    pp11_objects_free_all();
    parsec_client_free(pp11_mod.client);
    pp11_mod.client = NULL;
    pp11_config_clear(&pp11_mod.cfg);
    pp11_mod.nslots = 0;
    pp11_mod.discovered = 0;
    pp11_mod.logged_in = 0;
    pp11_mod.initialized = 0;
}

static ck_rv_t pp11_client_setup(void)
{
    pp11_config *cfg = &pp11_mod.cfg;
    parsec_status st;

    pp11_mod.client = parsec_client_new();
    if (pp11_mod.client == NULL)
        return CKR_HOST_MEMORY;
    if (cfg->endpoint != NULL) {
        st = parsec_client_set_endpoint(pp11_mod.client, cfg->endpoint);
        if (st != PARSEC_SUCCESS) {
            PP11_log("endpoint '%s': %s (use unix:/path/to/parsec.sock)", cfg->endpoint,
                     parsec_status_message(st));
            return CKR_ARGUMENTS_BAD;
        }
    }
    /* An application name alone means the direct authenticator. */
    if (cfg->auth == PARSEC_AUTH_NONE && cfg->app_name != NULL)
        cfg->auth = PARSEC_AUTH_DIRECT;
    if (cfg->auth != PARSEC_AUTH_NONE)
        parsec_client_set_auth(pp11_mod.client, (uint8_t)cfg->auth, cfg->app_name);
    parsec_client_set_keepalive(pp11_mod.client, cfg->keepalive);
    return CKR_OK;
}

ck_rv_t C_Initialize(void *init_args)
{
    const struct ck_c_initialize_args *args = init_args;
    const char *reserved = NULL;
    ck_rv_t rv;
    int nfuncs;

    pthread_once(&pp11_atfork_once, pp11_atfork_register);
    if (getenv(PP11_DEBUG_ENV) != NULL && getenv(PP11_DEBUG_ENV)[0] != '\0' &&
        strcmp(getenv(PP11_DEBUG_ENV), "0") != 0)
        pp11_debug_enabled = 1;
    if (args != NULL) {
        nfuncs = (args->create_mutex != NULL) + (args->destroy_mutex != NULL) +
                 (args->lock_mutex != NULL) + (args->unlock_mutex != NULL);
        if (nfuncs != 0 && nfuncs != 4)
            return CKR_ARGUMENTS_BAD;
        /* The module locks with pthreads: application mutexes alone cannot be used. */
        if (nfuncs == 4 && !(args->flags & CKF_OS_LOCKING_OK))
            return CKR_CANT_LOCK;
        reserved = args->reserved;
    }
    pthread_mutex_lock(&pp11_mod.lock);
    if (pp11_mod.initialized && pp11_mod.pid == parsec_proc_pid()) {
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
        goto done;
    }
    if (pp11_mod.initialized) /* a fork()ed child starting over */
        pp11_release_all();
    rv = pp11_config_load(&pp11_mod.cfg, reserved);
    if (rv != CKR_OK)
        goto done;
    if (pp11_mod.cfg.debug)
        pp11_debug_enabled = 1;
    rv = pp11_client_setup();
    if (rv != CKR_OK) {
        pp11_release_all();
        goto done;
    }
    if (pp11_mod.cfg.auth == PARSEC_AUTH_DIRECT)
        snprintf(pp11_mod.identity, sizeof(pp11_mod.identity), "app-%s", pp11_mod.cfg.app_name);
    else
        snprintf(pp11_mod.identity, sizeof(pp11_mod.identity), "uid-%lu", (unsigned long)geteuid());
    pp11_mod.pid = parsec_proc_pid();
    pp11_mod.next_session = 1;
    pp11_mod.initialized = 1;
    PP11_log("initialized: endpoint %s, identity %s", parsec_client_get_endpoint(pp11_mod.client),
             pp11_mod.identity);
done:
    pthread_mutex_unlock(&pp11_mod.lock);
    return rv;
}

ck_rv_t C_Finalize(void *reserved)
{
    ck_rv_t rv;

    if (reserved != NULL)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&pp11_mod.lock);
    rv = pp11_check_initialized();
    if (rv == CKR_OK)
        pp11_release_all();
    pthread_mutex_unlock(&pp11_mod.lock);
    return rv;
}

void pp11_pad(unsigned char *field, size_t size, const char *text)
{
    size_t n = strlen(text);

    memset(field, ' ', size);
    memcpy(field, text, n < size ? n : size);
}

ck_rv_t C_GetInfo(struct ck_info *info)
{
    ck_rv_t rv = pp11_check_initialized();

    if (rv != CKR_OK)
        return rv;
    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    memset(info, 0, sizeof(*info));
    info->cryptoki_version.major = CRYPTOKI_VERSION_MAJOR;
    info->cryptoki_version.minor = CRYPTOKI_VERSION_MINOR;
    pp11_pad(info->manufacturer_id, sizeof(info->manufacturer_id), PP11_MANUFACTURER);
    pp11_pad(info->library_description, sizeof(info->library_description),
             PP11_LIBRARY_DESCRIPTION);
    info->library_version.major = 0;
    info->library_version.minor = 1;
    return CKR_OK;
}

/* ---- functions the module does not offer -------------------------------------- */

#define PP11_UNSUPPORTED(name, args)                                                               \
    ck_rv_t name args                                                                              \
    {                                                                                              \
        ck_rv_t rv = pp11_check_initialized();                                                     \
        return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_SUPPORTED;                                     \
    }

PP11_UNSUPPORTED(C_InitToken, (ck_slot_id_t slot_id, unsigned char *pin, unsigned long pin_len,
                               unsigned char *label))
PP11_UNSUPPORTED(C_InitPIN,
                 (ck_session_handle_t session, unsigned char *pin, unsigned long pin_len))
PP11_UNSUPPORTED(C_SetPIN, (ck_session_handle_t session, unsigned char *old_pin,
                            unsigned long old_len, unsigned char *new_pin, unsigned long new_len))
PP11_UNSUPPORTED(C_GetOperationState,
                 (ck_session_handle_t session, unsigned char *state, unsigned long *state_len))
PP11_UNSUPPORTED(C_SetOperationState,
                 (ck_session_handle_t session, unsigned char *state, unsigned long state_len,
                  ck_object_handle_t enc_key, ck_object_handle_t auth_key))
PP11_UNSUPPORTED(C_CopyObject,
                 (ck_session_handle_t session, ck_object_handle_t object,
                  struct ck_attribute *templ, unsigned long count, ck_object_handle_t *new_object))
PP11_UNSUPPORTED(C_EncryptUpdate,
                 (ck_session_handle_t session, unsigned char *part, unsigned long part_len,
                  unsigned char *enc, unsigned long *enc_len))
PP11_UNSUPPORTED(C_EncryptFinal,
                 (ck_session_handle_t session, unsigned char *last, unsigned long *last_len))
PP11_UNSUPPORTED(C_DecryptUpdate,
                 (ck_session_handle_t session, unsigned char *enc, unsigned long enc_len,
                  unsigned char *part, unsigned long *part_len))
PP11_UNSUPPORTED(C_DecryptFinal,
                 (ck_session_handle_t session, unsigned char *last, unsigned long *last_len))
PP11_UNSUPPORTED(C_DigestKey, (ck_session_handle_t session, ck_object_handle_t key))
PP11_UNSUPPORTED(C_SignRecoverInit, (ck_session_handle_t session, struct ck_mechanism *mechanism,
                                     ck_object_handle_t key))
PP11_UNSUPPORTED(C_SignRecover,
                 (ck_session_handle_t session, unsigned char *data, unsigned long data_len,
                  unsigned char *sig, unsigned long *sig_len))
PP11_UNSUPPORTED(C_VerifyRecoverInit, (ck_session_handle_t session, struct ck_mechanism *mechanism,
                                       ck_object_handle_t key))
PP11_UNSUPPORTED(C_VerifyRecover,
                 (ck_session_handle_t session, unsigned char *sig, unsigned long sig_len,
                  unsigned char *data, unsigned long *data_len))
PP11_UNSUPPORTED(C_DigestEncryptUpdate,
                 (ck_session_handle_t session, unsigned char *part, unsigned long part_len,
                  unsigned char *enc, unsigned long *enc_len))
PP11_UNSUPPORTED(C_DecryptDigestUpdate,
                 (ck_session_handle_t session, unsigned char *enc, unsigned long enc_len,
                  unsigned char *part, unsigned long *part_len))
PP11_UNSUPPORTED(C_SignEncryptUpdate,
                 (ck_session_handle_t session, unsigned char *part, unsigned long part_len,
                  unsigned char *enc, unsigned long *enc_len))
PP11_UNSUPPORTED(C_DecryptVerifyUpdate,
                 (ck_session_handle_t session, unsigned char *enc, unsigned long enc_len,
                  unsigned char *part, unsigned long *part_len))
PP11_UNSUPPORTED(C_GenerateKey,
                 (ck_session_handle_t session, struct ck_mechanism *mechanism,
                  struct ck_attribute *templ, unsigned long count, ck_object_handle_t *key))
PP11_UNSUPPORTED(C_WrapKey, (ck_session_handle_t session, struct ck_mechanism *mechanism,
                             ck_object_handle_t wrapping_key, ck_object_handle_t key,
                             unsigned char *wrapped, unsigned long *wrapped_len))
PP11_UNSUPPORTED(C_UnwrapKey, (ck_session_handle_t session, struct ck_mechanism *mechanism,
                               ck_object_handle_t unwrapping_key, unsigned char *wrapped,
                               unsigned long wrapped_len, struct ck_attribute *templ,
                               unsigned long count, ck_object_handle_t *key))
PP11_UNSUPPORTED(C_WaitForSlotEvent, (ck_flags_t flags, ck_slot_id_t *slot, void *reserved))

ck_rv_t C_SeedRandom(ck_session_handle_t session, unsigned char *seed, unsigned long seed_len)
{
    ck_rv_t rv = pp11_check_initialized();

    /* The service's generator is seeded by the backend; no entropy can be added. */
    return rv != CKR_OK ? rv : CKR_RANDOM_SEED_NOT_SUPPORTED;
}

ck_rv_t C_GetFunctionStatus(ck_session_handle_t session)
{
    ck_rv_t rv = pp11_check_initialized();

    return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_PARALLEL;
}

ck_rv_t C_CancelFunction(ck_session_handle_t session)
{
    ck_rv_t rv = pp11_check_initialized();

    return rv != CKR_OK ? rv : CKR_FUNCTION_NOT_PARALLEL;
}

static struct ck_function_list pp11_function_list = {
    {CRYPTOKI_VERSION_MAJOR, CRYPTOKI_VERSION_MINOR},
    C_Initialize,
    C_Finalize,
    C_GetInfo,
    C_GetFunctionList,
    C_GetSlotList,
    C_GetSlotInfo,
    C_GetTokenInfo,
    C_GetMechanismList,
    C_GetMechanismInfo,
    C_InitToken,
    C_InitPIN,
    C_SetPIN,
    C_OpenSession,
    C_CloseSession,
    C_CloseAllSessions,
    C_GetSessionInfo,
    C_GetOperationState,
    C_SetOperationState,
    C_Login,
    C_Logout,
    C_CreateObject,
    C_CopyObject,
    C_DestroyObject,
    C_GetObjectSize,
    C_GetAttributeValue,
    C_SetAttributeValue,
    C_FindObjectsInit,
    C_FindObjects,
    C_FindObjectsFinal,
    C_EncryptInit,
    C_Encrypt,
    C_EncryptUpdate,
    C_EncryptFinal,
    C_DecryptInit,
    C_Decrypt,
    C_DecryptUpdate,
    C_DecryptFinal,
    C_DigestInit,
    C_Digest,
    C_DigestUpdate,
    C_DigestKey,
    C_DigestFinal,
    C_SignInit,
    C_Sign,
    C_SignUpdate,
    C_SignFinal,
    C_SignRecoverInit,
    C_SignRecover,
    C_VerifyInit,
    C_Verify,
    C_VerifyUpdate,
    C_VerifyFinal,
    C_VerifyRecoverInit,
    C_VerifyRecover,
    C_DigestEncryptUpdate,
    C_DecryptDigestUpdate,
    C_SignEncryptUpdate,
    C_DecryptVerifyUpdate,
    C_GenerateKey,
    C_GenerateKeyPair,
    C_WrapKey,
    C_UnwrapKey,
    C_DeriveKey,
    C_SeedRandom,
    C_GenerateRandom,
    C_GetFunctionStatus,
    C_CancelFunction,
    C_WaitForSlotEvent,
};

ck_rv_t C_GetFunctionList(struct ck_function_list **function_list)
{
    if (function_list == NULL)
        return CKR_ARGUMENTS_BAD;
    *function_list = &pp11_function_list;
    return CKR_OK;
}
