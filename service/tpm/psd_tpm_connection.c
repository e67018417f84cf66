/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM connection: TCTI, TPM2_Startup, the storage primary key, what the TPM
 * implements, response-code mapping, and reconnecting after the transport
 * broke (e.g. swtpm restarted under a running parsecd).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "psd_tpm.h"

/* Bounds for start-up against a TPM that is not there or never answers. */
#define PSD_TPM_CONNECT_TIMEOUT_MS 3000
#define PSD_TPM_STARTUP_TIMEOUT_MS 10000

TSS2_RC psd_tpm_rc_base(TSS2_RC rc)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
    if (layer == TSS2_RESMGR_TPM_RC_LAYER)
        rc &= ~TSS2_RC_LAYER_MASK; /* a TPM code relayed by a resource manager */
    else if (layer != 0)
        return rc;
    if (rc & TPM2_RC_FMT1)
        return rc & (TPM2_RC_FMT1 | 0x3F);
    return rc & 0xFFF;
}

static bool psd_tpm_rc_is_transport(TSS2_RC rc)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
    TSS2_RC base = rc & ~TSS2_RC_LAYER_MASK;
    if (layer == 0 || layer == TSS2_RESMGR_TPM_RC_LAYER)
        return false;
    if (layer == TSS2_TCTI_RC_LAYER)
        return true;
    return base == TSS2_BASE_RC_IO_ERROR || base == TSS2_BASE_RC_NO_CONNECTION ||
           base == TSS2_BASE_RC_TRY_AGAIN || base == TSS2_BASE_RC_MALFORMED_RESPONSE ||
           base == TSS2_BASE_RC_INSUFFICIENT_RESPONSE;
}

parsec_status psd_tpm_fail(psd_tpm *st, const char *what, TSS2_RC rc)
{
    TSS2_RC base = psd_tpm_rc_base(rc);
    parsec_status status;

    if (psd_tpm_rc_is_transport(rc)) {
        st->broken = true;
        psd_log(PSD_LOG_ERROR, "tpm: %s: connection to the TPM failed: %s", what,
                Tss2_RC_Decode(rc));
        return PARSEC_PSA_ERROR_COMMUNICATION_FAILURE;
    }
    /*
     * Our handles are gone or the TPM wants TPM2_Startup: it was reset
     * (swtpm restarted; the swtpm TCTI reconnects for every command).
     */
    if ((base >= TPM2_RC_REFERENCE_H0 && base <= TPM2_RC_REFERENCE_S6) ||
        base == TPM2_RC_INITIALIZE) {
        st->broken = true;
        psd_log(PSD_LOG_WARN, "tpm: %s: the TPM was reset (%s); starting again", what,
                Tss2_RC_Decode(rc));
        return PARSEC_PSA_ERROR_COMMUNICATION_FAILURE;
    }
    switch (base) {
    case TPM2_RC_OBJECT_MEMORY:
    case TPM2_RC_SESSION_MEMORY:
    case TPM2_RC_MEMORY:
    case TPM2_RC_OBJECT_HANDLES:
    case TPM2_RC_SESSION_HANDLES:
        status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        break;
    case TPM2_RC_INTEGRITY:
    case TPM2_RC_BINDING:
    case TPM2_RC_SENSITIVE:
        /* The blob does not belong under this TPM's storage key (TPM cleared?). */
        status = PARSEC_PSA_ERROR_DATA_INVALID;
        break;
    case TPM2_RC_ECC_POINT:
    case TPM2_RC_VALUE:
    case TPM2_RC_SIZE:
    case TPM2_RC_NO_RESULT:
        status = PARSEC_PSA_ERROR_INVALID_ARGUMENT;
        break;
    case TPM2_RC_SCHEME:
    case TPM2_RC_HASH:
    case TPM2_RC_CURVE:
    case TPM2_RC_KEY_SIZE:
    case TPM2_RC_ASYMMETRIC:
    case TPM2_RC_TYPE:
    case TPM2_RC_KDF:
    case TPM2_RC_COMMAND_CODE:
        status = PARSEC_PSA_ERROR_NOT_SUPPORTED;
        break;
    case TPM2_RC_AUTH_FAIL:
    case TPM2_RC_BAD_AUTH:
    case TPM2_RC_LOCKOUT:
    case TPM2_RC_AUTH_MISSING:
    case TPM2_RC_ATTRIBUTES:
    case TPM2_RC_POLICY_FAIL:
    case TPM2_RC_HIERARCHY:
        status = PARSEC_PSA_ERROR_NOT_PERMITTED;
        break;
    case TPM2_RC_FAILURE:
        status = PARSEC_PSA_ERROR_HARDWARE_FAILURE;
        break;
    default:
        status = rc == TSS2_ESYS_RC_MEMORY ? PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY
                                           : PARSEC_PSA_ERROR_GENERIC_ERROR;
        break;
    }
    psd_log(status == PARSEC_PSA_ERROR_INVALID_ARGUMENT ? PSD_LOG_INFO : PSD_LOG_WARN,
            "tpm: %s failed: 0x%x %s", what, (unsigned)rc, Tss2_RC_Decode(rc));
    return status;
}

/* ---- reaching a network TPM (swtpm/mssim TCTI) with a bounded wait ---- */

/*
 * The swtpm and mssim TCTIs connect with a blocking connect(): an address
 * that drops packets would hang start-up for minutes. Probe it first.
 */
static int psd_tpm_probe_network(const char *conf, char *err, size_t errlen)
{
    char host[256] = "localhost";
    char port[16] = "2321";
    const char *opts = strchr(conf, ':');
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int fd = -1, rc = -1, gai;
    const char *p;

    for (p = opts ? opts + 1 : NULL; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 5 && strncmp(p, "host=", 5) == 0 && n - 5 < sizeof(host))
            snprintf(host, sizeof(host), "%.*s", (int)(n - 5), p + 5);
        else if (n > 5 && strncmp(p, "port=", 5) == 0 && n - 5 < sizeof(port))
            snprintf(port, sizeof(port), "%.*s", (int)(n - 5), p + 5);
        p = end ? end + 1 : NULL;
    }
    gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "tpm: cannot resolve TPM host %s: %s", host, gai_strerror(gai));
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        int soerr = 0;
        socklen_t slen = sizeof(soerr);

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            rc = 0;
            break;
        }
        if (errno == EINPROGRESS) {
            pfd.fd = fd;
            pfd.events = POLLOUT;
            if (poll(&pfd, 1, PSD_TPM_CONNECT_TIMEOUT_MS) == 1 &&
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) == 0 && soerr == 0) {
                rc = 0;
                break;
            }
            errno = soerr ? soerr : ETIMEDOUT;
        }
        snprintf(err, errlen, "tpm: cannot reach the TPM at %s port %s (tcti '%s'): %s", host, port,
                 conf, strerror(errno));
        close(fd);
        fd = -1;
    }
    if (rc != 0 && !res)
        snprintf(err, errlen, "tpm: no address for TPM host %s", host);
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return rc;
}

static bool psd_tpm_tcti_is_network(const char *conf)
{
    return strncmp(conf, "swtpm", 5) == 0 || strncmp(conf, "mssim", 5) == 0;
}

/*
 * Opening the TCTI and TPM2_Startup, bounded in time. Neither can be bounded
 * from inside: the swtpm TCTI sends a control command at initialisation and
 * waits for the answer without a timeout, and it connects again for every
 * command with a blocking connect() that a busy swtpm (full listen backlog)
 * holds for minutes. So this runs in a thread; if it takes too long the
 * thread is abandoned and cleans up after itself whenever it returns.
 */
struct psd_tpm_open_job {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done, abandoned;
    char *conf;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    const char *failed; /* which step failed, or NULL */
    TSS2_RC rc;
};

static void psd_tpm_open_job_free(struct psd_tpm_open_job *job)
{
    if (job->esys)
        Esys_Finalize(&job->esys);
    if (job->tcti)
        Tss2_TctiLdr_Finalize(&job->tcti);
    pthread_cond_destroy(&job->cond);
    pthread_mutex_destroy(&job->lock);
    OPENSSL_free(job->conf);
    OPENSSL_free(job);
}

static void *psd_tpm_open_thread(void *arg)
{
    struct psd_tpm_open_job *job = arg;
    TSS2_RC rc;
    bool abandoned;

    rc = Tss2_TctiLdr_Initialize(job->conf, &job->tcti);
    if (rc != TSS2_RC_SUCCESS) {
        job->tcti = NULL;
        job->failed = "cannot open TCTI";
    } else if ((rc = Esys_Initialize(&job->esys, job->tcti, NULL)) != TSS2_RC_SUCCESS) {
        job->esys = NULL;
        job->failed = "ESYS initialisation failed for TCTI";
    } else {
        rc = Esys_Startup(job->esys, TPM2_SU_CLEAR);
        if (psd_tpm_rc_base(rc) == TPM2_RC_INITIALIZE)
            rc = TSS2_RC_SUCCESS; /* already started (by swtpm, firmware or a resource manager) */
        if (rc != TSS2_RC_SUCCESS)
            job->failed = "TPM2_Startup failed on TCTI";
    }
    pthread_mutex_lock(&job->lock);
    job->rc = rc;
    job->done = true;
    abandoned = job->abandoned;
    pthread_cond_signal(&job->cond);
    pthread_mutex_unlock(&job->lock);
    if (abandoned)
        psd_tpm_open_job_free(job);
    return NULL;
}

static int psd_tpm_open(psd_tpm *st, char *err, size_t errlen)
{
    struct psd_tpm_open_job *job = OPENSSL_zalloc(sizeof(*job));
    pthread_condattr_t ca;
    pthread_attr_t ta;
    pthread_t th;
    struct timespec deadline;
    int rc = -1, wait_rc = 0;

    if (!job || !(job->conf = OPENSSL_strdup(st->tcti_conf))) {
        snprintf(err, errlen, "tpm: out of memory");
        OPENSSL_free(job);
        return -1;
    }
    pthread_mutex_init(&job->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&job->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &ta, psd_tpm_open_thread, job) != 0) {
        pthread_attr_destroy(&ta);
        psd_tpm_open_job_free(job);
        snprintf(err, errlen, "tpm: cannot start a thread");
        return -1;
    }
    pthread_attr_destroy(&ta);

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += PSD_TPM_STARTUP_TIMEOUT_MS / 1000;
    pthread_mutex_lock(&job->lock);
    while (!job->done && wait_rc != ETIMEDOUT)
        wait_rc = pthread_cond_timedwait(&job->cond, &job->lock, &deadline);
    if (!job->done) {
        job->abandoned = true; /* the thread frees the job */
        pthread_mutex_unlock(&job->lock);
        snprintf(err, errlen,
                 "tpm: the TPM (tcti '%s') did not answer within %d s (busy with another "
                 "client?)",
                 st->tcti_conf, PSD_TPM_STARTUP_TIMEOUT_MS / 1000);
        return -1;
    }
    pthread_mutex_unlock(&job->lock);
    if (job->failed) {
        snprintf(err, errlen, "tpm: %s '%s': %s", job->failed, st->tcti_conf,
                 Tss2_RC_Decode(job->rc));
    } else {
        st->tcti = job->tcti;
        st->esys = job->esys;
        job->tcti = NULL;
        job->esys = NULL;
        rc = 0;
    }
    psd_tpm_open_job_free(job);
    return rc;
}

/*
 * Without a resource manager, objects a previous parsecd left loaded (it was
 * killed) keep their slots until TPM reset; with one, we see only our own.
 */
static void psd_tpm_flush_leftovers(psd_tpm *st)
{
    static const TPM2_HANDLE ranges[] = {TPM2_TRANSIENT_FIRST, TPM2_LOADED_SESSION_FIRST};

    for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
        TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_NO;
        TSS2_RC rc =
            Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                               ranges[r], TPM2_MAX_CAP_HANDLES, &more, &cap);
        if (rc != TSS2_RC_SUCCESS) {
            Esys_Free(cap);
            continue;
        }
        for (UINT32 i = 0; i < cap->data.handles.count; i++) {
            TPM2_HANDLE h = cap->data.handles.handle[i];
            ESYS_TR tr = ESYS_TR_NONE;
            if (Esys_TR_FromTPMPublic(st->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr) !=
                TSS2_RC_SUCCESS)
                continue;
            if (Esys_FlushContext(st->esys, tr) == TSS2_RC_SUCCESS)
                psd_log(PSD_LOG_INFO, "tpm: flushed handle 0x%08x left loaded by an earlier user",
                        (unsigned)h);
            else
                Esys_TR_Close(st->esys, &tr);
        }
        Esys_Free(cap);
    }
}

/* ---- capabilities ---- */

static void psd_tpm_read_algs(psd_tpm *st)
{
    TPM2_ALG_ID next = TPM2_ALG_FIRST;
    TPMI_YES_NO more = TPM2_YES;
    psd_tpm_caps *c = &st->caps;

    while (more == TPM2_YES) {
        TPMS_CAPABILITY_DATA *cap = NULL;
        if (Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_ALGS,
                               next, TPM2_MAX_CAP_ALGS, &more, &cap) != TSS2_RC_SUCCESS) {
            Esys_Free(cap);
            return;
        }
        for (UINT32 i = 0; i < cap->data.algorithms.count; i++) {
            TPM2_ALG_ID a = cap->data.algorithms.algProperties[i].alg;
            switch (a) {
            case TPM2_ALG_RSA:
                c->rsa = true;
                break;
            case TPM2_ALG_ECC:
                c->ecc = true;
                break;
            case TPM2_ALG_RSASSA:
                c->rsassa = true;
                break;
            case TPM2_ALG_RSAPSS:
                c->rsapss = true;
                break;
            case TPM2_ALG_RSAES:
                c->rsaes = true;
                break;
            case TPM2_ALG_OAEP:
                c->oaep = true;
                break;
            case TPM2_ALG_ECDSA:
                c->ecdsa = true;
                break;
            case TPM2_ALG_ECDH:
                c->ecdh = true;
                break;
            case TPM2_ALG_SHA1:
                c->sha1 = true;
                break;
            case TPM2_ALG_SHA256:
                c->sha256 = true;
                break;
            case TPM2_ALG_SHA384:
                c->sha384 = true;
                break;
            case TPM2_ALG_SHA512:
                c->sha512 = true;
                break;
            default:
                break;
            }
            next = a + 1;
        }
        if (cap->data.algorithms.count == 0)
            more = TPM2_NO;
        Esys_Free(cap);
    }
}

static void psd_tpm_read_commands(psd_tpm *st)
{
    TPM2_CC next = TPM2_CC_FIRST;
    TPMI_YES_NO more = TPM2_YES;
    psd_tpm_caps *c = &st->caps;

    while (more == TPM2_YES) {
        TPMS_CAPABILITY_DATA *cap = NULL;
        if (Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               TPM2_CAP_COMMANDS, next, TPM2_MAX_CAP_CC, &more,
                               &cap) != TSS2_RC_SUCCESS) {
            Esys_Free(cap);
            return;
        }
        for (UINT32 i = 0; i < cap->data.command.count; i++) {
            TPM2_CC cc = cap->data.command.commandAttributes[i] & TPMA_CC_COMMANDINDEX_MASK;
            switch (cc) {
            case TPM2_CC_Create:
                c->cmd_create = true;
                break;
            case TPM2_CC_Load:
                c->cmd_load = true;
                break;
            case TPM2_CC_Sign:
                c->cmd_sign = true;
                break;
            case TPM2_CC_RSA_Decrypt:
                c->cmd_rsa_decrypt = true;
                break;
            case TPM2_CC_ECDH_ZGen:
                c->cmd_ecdh_zgen = true;
                break;
            case TPM2_CC_GetRandom:
                c->cmd_get_random = true;
                break;
            case TPM2_CC_ActivateCredential:
                c->cmd_activate_credential = true;
                break;
            case TPM2_CC_PolicySecret:
                c->cmd_policy_secret = true;
                break;
            default:
                break;
            }
            next = cc + 1;
        }
        if (cap->data.command.count == 0)
            more = TPM2_NO;
        Esys_Free(cap);
    }
}

static void psd_tpm_read_curves(psd_tpm *st)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;

    if (Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_ECC_CURVES,
                           TPM2_ECC_NONE, TPM2_MAX_ECC_CURVES, &more, &cap) == TSS2_RC_SUCCESS) {
        for (UINT32 i = 0; i < cap->data.eccCurves.count; i++) {
            switch (cap->data.eccCurves.eccCurves[i]) {
            case TPM2_ECC_NIST_P256:
                st->caps.p256 = true;
                break;
            case TPM2_ECC_NIST_P384:
                st->caps.p384 = true;
                break;
            case TPM2_ECC_NIST_P521:
                st->caps.p521 = true;
                break;
            default:
                break;
            }
        }
    }
    Esys_Free(cap);
}

/* RSA key sizes have no capability: TPM2_TestParms says which are accepted. */
static bool psd_tpm_rsa_size_ok(psd_tpm *st, UINT16 bits)
{
    TPMT_PUBLIC_PARMS parms = {.type = TPM2_ALG_RSA};
    parms.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    parms.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    parms.parameters.rsaDetail.keyBits = bits;
    return Esys_TestParms(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &parms) ==
           TSS2_RC_SUCCESS;
}

static void psd_tpm_read_caps(psd_tpm *st)
{
    memset(&st->caps, 0, sizeof(st->caps));
    psd_tpm_read_algs(st);
    psd_tpm_read_commands(st);
    if (st->caps.ecc)
        psd_tpm_read_curves(st);
    if (st->caps.rsa) {
        st->caps.rsa1024 = psd_tpm_rsa_size_ok(st, 1024);
        st->caps.rsa2048 = psd_tpm_rsa_size_ok(st, 2048);
        st->caps.rsa3072 = psd_tpm_rsa_size_ok(st, 3072);
        st->caps.rsa4096 = psd_tpm_rsa_size_ok(st, 4096);
    }
}

static unsigned psd_tpm_transient_avail(psd_tpm *st)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    unsigned n = 0;

    if (Esys_GetCapability(st->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                           TPM2_CAP_TPM_PROPERTIES, TPM2_PT_HR_TRANSIENT_AVAIL, 1, &more,
                           &cap) == TSS2_RC_SUCCESS &&
        cap->data.tpmProperties.count == 1 &&
        cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_HR_TRANSIENT_AVAIL)
        n = cap->data.tpmProperties.tpmProperty[0].value;
    Esys_Free(cap);
    return n;
}

/* ---- the storage primary ---- */

/* The TCG "Provisioning Guidance" SRK templates (restricted decrypt, AES-128-CFB). */
static void psd_tpm_srk_template(TPM2_ALG_ID alg, TPM2B_PUBLIC *t)
{
    memset(t, 0, sizeof(*t));
    t->publicArea.type = alg;
    t->publicArea.nameAlg = TPM2_ALG_SHA256;
    t->publicArea.objectAttributes =
        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
        TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    if (alg == TPM2_ALG_ECC) {
        TPMS_ECC_PARMS *p = &t->publicArea.parameters.eccDetail;
        p->symmetric.algorithm = TPM2_ALG_AES;
        p->symmetric.keyBits.aes = 128;
        p->symmetric.mode.aes = TPM2_ALG_CFB;
        p->scheme.scheme = TPM2_ALG_NULL;
        p->curveID = TPM2_ECC_NIST_P256;
        p->kdf.scheme = TPM2_ALG_NULL;
        t->publicArea.unique.ecc.x.size = 32;
        t->publicArea.unique.ecc.y.size = 32;
    } else {
        TPMS_RSA_PARMS *p = &t->publicArea.parameters.rsaDetail;
        p->symmetric.algorithm = TPM2_ALG_AES;
        p->symmetric.keyBits.aes = 128;
        p->symmetric.mode.aes = TPM2_ALG_CFB;
        p->scheme.scheme = TPM2_ALG_NULL;
        p->keyBits = 2048;
        p->exponent = 0;
        t->publicArea.unique.rsa.size = 256;
    }
}

static int psd_tpm_load_primary(psd_tpm *st, char *err, size_t errlen)
{
    TSS2_RC rc;

    if (st->primary_persistent) {
        TPM2B_PUBLIC *pub = NULL;
        TPMA_OBJECT want = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
        rc = Esys_TR_FromTPMPublic(st->esys, st->primary_persistent, ESYS_TR_NONE, ESYS_TR_NONE,
                                   ESYS_TR_NONE, &st->primary);
        if (rc != TSS2_RC_SUCCESS) {
            snprintf(err, errlen, "tpm: no key at primary_handle 0x%08x: %s",
                     (unsigned)st->primary_persistent, Tss2_RC_Decode(rc));
            return -1;
        }
        rc = Esys_ReadPublic(st->esys, st->primary, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
                             NULL, NULL);
        if (rc != TSS2_RC_SUCCESS ||
            (pub->publicArea.objectAttributes & (want | TPMA_OBJECT_SIGN_ENCRYPT)) != want) {
            snprintf(err, errlen,
                     "tpm: primary_handle 0x%08x is not a storage key (restricted decrypt)",
                     (unsigned)st->primary_persistent);
            Esys_Free(pub);
            return -1;
        }
        Esys_Free(pub);
        return 0;
    }

    {
        TPM2B_PUBLIC tmpl;
        TPM2B_SENSITIVE_CREATE sens = {0};
        TPM2B_DATA outside = {0};
        TPML_PCR_SELECTION pcrs = {0};

        psd_tpm_srk_template(st->primary_alg, &tmpl);
        rc = Esys_TR_SetAuth(st->esys, ESYS_TR_RH_OWNER, &st->owner_auth);
        if (rc == TSS2_RC_SUCCESS)
            rc = Esys_CreatePrimary(st->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &st->primary, NULL,
                                    NULL, NULL, NULL);
        if (rc != TSS2_RC_SUCCESS) {
            TSS2_RC base = psd_tpm_rc_base(rc);
            snprintf(err, errlen,
                     "tpm: creating the storage primary key in the owner hierarchy "
                     "failed: %s%s",
                     Tss2_RC_Decode(rc),
                     base == TPM2_RC_BAD_AUTH || base == TPM2_RC_AUTH_FAIL ? " (check owner_auth)"
                                                                           : "");
            st->primary = ESYS_TR_NONE;
            return -1;
        }
    }
    return 0;
}

/* ---- connect / disconnect ---- */

void psd_tpm_disconnect(psd_tpm *st)
{
    if (st->esys) {
        if (!st->broken) {
            psd_tpm_cache_flush_all(st);
            if (!st->primary_persistent && st->primary != ESYS_TR_NONE)
                Esys_FlushContext(st->esys, st->primary);
        }
        Esys_Finalize(&st->esys);
    }
    if (st->tcti)
        Tss2_TctiLdr_Finalize(&st->tcti);
    memset(st->cache, 0, sizeof(st->cache));
    st->esys = NULL;
    st->tcti = NULL;
    st->primary = ESYS_TR_NONE;
}

/*
 * device:PATH: open it once ourselves, since the device TCTI only reports
 * "IO failure" and the errno decides the fix (group, missing device, busy).
 */
static int psd_tpm_probe_device(const char *conf, char *err, size_t errlen)
{
    const char *path = conf[6] == ':' && conf[7] != '\0' ? conf + 7 : "/dev/tpm0";
    char hint[160] = "";
    struct stat sb;
    int fd = open(path, O_RDWR | O_CLOEXEC), saved = errno;

    if (fd >= 0) {
        close(fd);
        return 0;
    }
    switch (saved) {
    case EACCES:
    case EPERM: {
        struct group grp, *found = NULL;
        char buf[1024];

        if (stat(path, &sb) != 0 || getgrgid_r(sb.st_gid, &grp, buf, sizeof(buf), &found) != 0)
            found = NULL;
        snprintf(hint, sizeof(hint),
                 ": add the service user to the device's group '%s'"
                 " (usermod -aG %s USER; Debian's is tss)",
                 found ? found->gr_name : "tss", found ? found->gr_name : "tss");
        break;
    }
    case ENOENT:
        snprintf(hint, sizeof(hint),
                 ": is the TPM enabled (ls /dev/tpm*)? prefer"
                 " device:/dev/tpmrm0; without a TPM use swtpm (docs/tpm.md)");
        break;
    case EBUSY:
        snprintf(hint, sizeof(hint),
                 ": another program holds it; use device:/dev/tpmrm0,"
                 " the kernel resource manager");
        break;
    default:
        break;
    }
    snprintf(err, errlen, "tpm: cannot open TCTI '%s': %s: %s (%s)%s", conf, path, strerror(saved),
             strerrorname_np(saved), hint);
    return -1;
}

int psd_tpm_connect(psd_tpm *st, char *err, size_t errlen)
{
    unsigned avail;

    st->primary = ESYS_TR_NONE;
    if (psd_tpm_tcti_is_network(st->tcti_conf) &&
        psd_tpm_probe_network(st->tcti_conf, err, errlen) != 0)
        return -1;
    if (strncmp(st->tcti_conf, "device", 6) == 0 &&
        (st->tcti_conf[6] == '\0' || st->tcti_conf[6] == ':') &&
        psd_tpm_probe_device(st->tcti_conf, err, errlen) != 0)
        return -1;
    if (psd_tpm_open(st, err, errlen) != 0)
        goto fail;
    psd_tpm_flush_leftovers(st);
    /* Once: the same TPM after a reconnect, and worker threads read caps unlocked. */
    if (!st->caps_known) {
        psd_tpm_read_caps(st);
        st->caps_known = true;
    }
    if (!st->primary_persistent && st->primary_alg == TPM2_ALG_ECC && !st->caps.ecc)
        st->primary_alg = TPM2_ALG_RSA;
    if (psd_tpm_load_primary(st, err, errlen) != 0)
        goto fail;

    avail = psd_tpm_transient_avail(st);
    st->object_slots = avail ? avail : 1;
    st->cache_cap = st->object_slots < PSD_TPM_CACHE_MAX ? st->object_slots : PSD_TPM_CACHE_MAX;
    st->broken = false;
    return 0;

fail:
    st->broken = true; /* nothing to flush on a half-open connection */
    psd_tpm_disconnect(st);
    return -1;
}

parsec_status psd_tpm_run(psd_tpm *st, psd_tpm_locked_fn fn, void *arg)
{
    parsec_status status = PARSEC_PSA_ERROR_COMMUNICATION_FAILURE;

    pthread_mutex_lock(&st->lock);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (st->broken || !st->esys) {
            char err[256];
            psd_tpm_disconnect(st);
            if (psd_tpm_connect(st, err, sizeof(err)) != 0) {
                psd_log(PSD_LOG_ERROR, "%s", err);
                status = PARSEC_PSA_ERROR_COMMUNICATION_FAILURE;
                break;
            }
            psd_log(PSD_LOG_WARN, "tpm: reconnected to the TPM (tcti '%s')", st->tcti_conf);
        }
        status = fn(st, arg);
        if (status == PARSEC_SUCCESS || !st->broken)
            break;
    }
    pthread_mutex_unlock(&st->lock);
    return status;
}
