/* SPDX-License-Identifier: Apache-2.0 */
/*
 * p11module-test: libparsec-pkcs11.so driven through its function list, as
 * a PKCS#11 application does (dlopen + C_GetFunctionList), against the
 * parsecd that test/p11module/p11module.sh started.
 *
 *   p11module-test MODULE BACKEND all      every function, CKRs, threads, fork, isolation
 *   p11module-test MODULE BACKEND restart  signs, prints READY, waits for a line on stdin
 *                                          (parsecd is restarted meanwhile), signs again
 *
 * The module is configured through the C_Initialize reserved string the way
 * p11-kit passes it: "app_name=p11t-alice" (parsecd runs the direct
 * authenticator). Results are verified with OpenSSL, never by the module.
 * Prints "ok - ..." / "not ok - ..." lines and "N passed, M failed".
 */
#define CRYPTOKI_GNU 1

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#ifndef CK_TRUE
#define CK_TRUE 1
#define CK_FALSE 0
#endif

#define APP_ALICE "app_name=p11t-alice"
#define APP_BOB "app_name=p11t-bob"

static struct ck_function_list *f;
static int passed, failed;
static const char *backend;
static ck_slot_id_t slot;

static void report(int cond, const char *desc)
{
    if (cond) {
        passed++;
        printf("ok - %s\n", desc);
    } else {
        failed++;
        printf("not ok - %s\n", desc);
    }
    fflush(stdout);
}

#define CHECK(desc, cond) report((cond) != 0, desc)
#define CKR(desc, call, want)                                                                      \
    do {                                                                                           \
        ck_rv_t r_ = (call);                                                                       \
        report(r_ == (ck_rv_t)(want), desc);                                                       \
        if (r_ != (ck_rv_t)(want))                                                                 \
            printf("#   %s returned 0x%lx, expected 0x%lx\n", #call, r_, (ck_rv_t)(want));         \
    } while (0)

static unsigned char ck_true = CK_TRUE, ck_false = CK_FALSE;

/* ---- helpers ------------------------------------------------------------------------ */

static ck_rv_t init_as(const char *reserved)
{
    struct ck_c_initialize_args args;

    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    args.reserved = (void *)reserved;
    return f->C_Initialize(&args);
}

static ck_session_handle_t open_rw(void)
{
    ck_session_handle_t s = 0;

    if (f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK)
        return 0;
    return s;
}

/* Objects of a class with a label; returns how many (up to max). */
static unsigned long find(ck_session_handle_t s, unsigned long cls, const char *label,
                          ck_object_handle_t *out, unsigned long max)
{
    struct ck_attribute t[2] = {{CKA_CLASS, &cls, sizeof(cls)},
                                {CKA_LABEL, (void *)label, label ? strlen(label) : 0}};
    unsigned long n = 0;

    if (f->C_FindObjectsInit(s, t, label ? 2 : 1) != CKR_OK)
        return 0;
    if (f->C_FindObjects(s, out, max, &n) != CKR_OK)
        n = 0;
    f->C_FindObjectsFinal(s);
    return n;
}

static ck_object_handle_t find1(ck_session_handle_t s, unsigned long cls, const char *label)
{
    ck_object_handle_t h[4];

    return find(s, cls, label, h, 4) == 1 ? h[0] : CK_INVALID_HANDLE;
}

/* An attribute's value (malloc'ed), through the two-call convention. */
static unsigned char *get_attr(ck_session_handle_t s, ck_object_handle_t o,
                               ck_attribute_type_t type, unsigned long *len)
{
    struct ck_attribute a = {type, NULL, 0};
    unsigned char *buf;

    if (f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK || a.value_len == CK_UNAVAILABLE_INFORMATION)
        return NULL;
    buf = malloc(a.value_len + 1);
    a.value = buf;
    if (buf == NULL || f->C_GetAttributeValue(s, o, &a, 1) != CKR_OK) {
        free(buf);
        return NULL;
    }
    *len = a.value_len;
    return buf;
}

/* The public key as OpenSSL sees it, from CKA_PUBLIC_KEY_INFO. */
static EVP_PKEY *pubkey(ck_session_handle_t s, ck_object_handle_t pub)
{
    unsigned long len = 0;
    unsigned char *der = get_attr(s, pub, CKA_PUBLIC_KEY_INFO, &len);
    const unsigned char *p = der;
    EVP_PKEY *pk = der ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;

    free(der);
    return pk;
}

static int has_mech(ck_mechanism_type_t m)
{
    struct ck_mechanism_info info;

    return f->C_GetMechanismInfo(slot, m, &info) == CKR_OK;
}

static ck_rv_t sign(ck_session_handle_t s, ck_mechanism_type_t mt, void *param, unsigned long plen,
                    ck_object_handle_t key, const unsigned char *data, unsigned long len,
                    unsigned char *sig, unsigned long *siglen)
{
    struct ck_mechanism m = {mt, param, plen};
    ck_rv_t rv = f->C_SignInit(s, &m, key);

    if (rv != CKR_OK)
        return rv;
    return f->C_Sign(s, (unsigned char *)data, len, sig, siglen);
}

/* OpenSSL verification of a PKCS#11 signature (ECDSA r||s converted to DER). */
static int ossl_verify(EVP_PKEY *pk, const char *md, int pss, const unsigned char *msg,
                       size_t msglen, const unsigned char *sig, size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    int ok = 0, n;

    if (EVP_PKEY_is_a(pk, "EC")) {
        ECDSA_SIG *es = ECDSA_SIG_new();

        ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)siglen / 2, NULL),
                       BN_bin2bn(sig + siglen / 2, (int)siglen / 2, NULL));
        n = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        sig = der;
        siglen = n > 0 ? (size_t)n : 0;
    }
    if (ctx != NULL && EVP_DigestVerifyInit(ctx, &pctx, EVP_get_digestbyname(md), NULL, pk) == 1 &&
        (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)))
        ok = EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}

static ck_rv_t gen_keypair(ck_session_handle_t s, int rsa, const char *label,
                           const unsigned char *curve, size_t curvelen,
                           ck_mechanism_type_t *allowed, size_t nallowed, int sign_attr,
                           ck_object_handle_t *pub, ck_object_handle_t *priv)
{
    unsigned long bits = 2048;
    unsigned char e[] = {1, 0, 1};
    struct ck_mechanism m = {rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, NULL, 0};
    struct ck_attribute pubt[3], privt[4];
    unsigned long npub = 0, npriv = 0;

    pubt[npub++] = (struct ck_attribute){CKA_LABEL, (void *)label, strlen(label)};
    if (rsa) {
        pubt[npub++] = (struct ck_attribute){CKA_MODULUS_BITS, &bits, sizeof(bits)};
        pubt[npub++] = (struct ck_attribute){CKA_PUBLIC_EXPONENT, e, sizeof(e)};
    } else {
        pubt[npub++] = (struct ck_attribute){CKA_EC_PARAMS, (void *)curve, curvelen};
    }
    privt[npriv++] = (struct ck_attribute){CKA_TOKEN, &ck_true, 1};
    if (allowed != NULL)
        privt[npriv++] =
            (struct ck_attribute){CKA_ALLOWED_MECHANISMS, allowed, sizeof(*allowed) * nallowed};
    if (sign_attr >= 0)
        privt[npriv++] = (struct ck_attribute){CKA_SIGN, sign_attr ? &ck_true : &ck_false, 1};
    if (sign_attr == 0)
        privt[npriv++] = (struct ck_attribute){rsa ? CKA_DECRYPT : CKA_DERIVE, &ck_true, 1};
    return f->C_GenerateKeyPair(s, &m, pubt, npub, privt, npriv, pub, priv);
}

static const unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const unsigned char secp256k1[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};

/* ---- the parts of the test -------------------------------------------------------------- */

static void test_init_and_slots(void)
{
    struct ck_c_initialize_args bad;
    ck_slot_id_t slots[8];
    unsigned long n = 0, mn = 0;
    struct ck_token_info ti, ti2;
    struct ck_slot_info si;
    struct ck_info info;
    char label[33], expect[33], serial[17];
    int dummy = 0;

    CKR("C_GetSlotList before C_Initialize: CKR_CRYPTOKI_NOT_INITIALIZED",
        f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    memset(&bad, 0, sizeof(bad));
    bad.create_mutex = (ck_createmutex_t)(void *)&dummy;
    CKR("C_Initialize with one mutex function of four: CKR_ARGUMENTS_BAD", f->C_Initialize(&bad),
        CKR_ARGUMENTS_BAD);
    CKR("C_Initialize with an unknown module option: CKR_ARGUMENTS_BAD", init_as("colour=blue"),
        CKR_ARGUMENTS_BAD);
    CKR("C_Initialize (app_name through the reserved string)", init_as(APP_ALICE), CKR_OK);
    CKR("a second C_Initialize: CKR_CRYPTOKI_ALREADY_INITIALIZED", init_as(APP_ALICE),
        CKR_CRYPTOKI_ALREADY_INITIALIZED);
    CKR("C_GetInfo", f->C_GetInfo(&info), CKR_OK);
    CHECK("  ... says PKCS#11 2.40",
          info.cryptoki_version.major == 2 && info.cryptoki_version.minor == 40);
    CKR("C_GetSlotList(NULL) gives the count", f->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    CHECK("  ... one token for the one provider parsecd runs", n == 1);
    mn = 0;
    CKR("C_GetSlotList with a too small buffer: CKR_BUFFER_TOO_SMALL",
        f->C_GetSlotList(CK_TRUE, slots, &mn), CKR_BUFFER_TOO_SMALL);
    CHECK("  ... and the needed count", mn == 1);
    n = 8;
    CKR("C_GetSlotList", f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    slot = slots[0];
    CHECK("  ... the slot ID is the Parsec provider ID",
          slot == (strcmp(backend, "software") == 0 ? 1u
                   : strcmp(backend, "pkcs11") == 0 ? 2u
                                                    : 3u));
    CKR("C_GetSlotInfo", f->C_GetSlotInfo(slot, &si), CKR_OK);
    CHECK("  ... a token is present", si.flags & CKF_TOKEN_PRESENT);
    CKR("C_GetTokenInfo", f->C_GetTokenInfo(slot, &ti), CKR_OK);
    memcpy(label, ti.label, 32);
    label[32] = '\0';
    snprintf(expect, sizeof(expect), "%-32s", "parsec ");
    memcpy(expect + 7, backend, strlen(backend));
    CHECK("  ... the label is 'parsec <backend>'", memcmp(label, expect, 32) == 0);
    CHECK("  ... no login required", !(ti.flags & CKF_LOGIN_REQUIRED));
    CHECK("  ... token has an RNG", ti.flags & CKF_RNG);
    CKR("C_GetTokenInfo of slot 99: CKR_SLOT_ID_INVALID", f->C_GetTokenInfo(99, &ti2),
        CKR_SLOT_ID_INVALID);
    CKR("C_GetTokenInfo(NULL): CKR_ARGUMENTS_BAD", f->C_GetTokenInfo(slot, NULL),
        CKR_ARGUMENTS_BAD);
    memcpy(serial, ti.serial_number, 16);
    serial[16] = '\0';
    CKR("C_Finalize", f->C_Finalize(NULL), CKR_OK);
    CKR("C_Finalize again: CKR_CRYPTOKI_NOT_INITIALIZED", f->C_Finalize(NULL),
        CKR_CRYPTOKI_NOT_INITIALIZED);
    CKR("C_Initialize after C_Finalize", init_as(APP_ALICE), CKR_OK);
    n = 8;
    f->C_GetSlotList(CK_TRUE, slots, &n);
    CKR("C_GetTokenInfo after re-initialising", f->C_GetTokenInfo(slot, &ti2), CKR_OK);
    CHECK("  ... the serial number is the same", memcmp(ti2.serial_number, serial, 16) == 0);
    CKR("C_Finalize(non-NULL): CKR_ARGUMENTS_BAD", f->C_Finalize(&dummy), CKR_ARGUMENTS_BAD);
}

static void test_mechanisms(void)
{
    ck_mechanism_type_t list[64];
    struct ck_mechanism_info info;
    unsigned long n = 0, small = 2;

    CKR("C_GetMechanismList(NULL) gives the count", f->C_GetMechanismList(slot, NULL, &n), CKR_OK);
    CKR("C_GetMechanismList with a too small buffer: CKR_BUFFER_TOO_SMALL",
        f->C_GetMechanismList(slot, list, &small), CKR_BUFFER_TOO_SMALL);
    CHECK("  ... and the needed count", small == n);
    n = 64;
    CKR("C_GetMechanismList", f->C_GetMechanismList(slot, list, &n), CKR_OK);
    CKR("C_GetMechanismInfo(CKM_ECDSA_SHA256)",
        f->C_GetMechanismInfo(slot, CKM_ECDSA_SHA256, &info), CKR_OK);
    CHECK("  ... signs and verifies", (info.flags & CKF_SIGN) && (info.flags & CKF_VERIFY));
    CKR("C_GetMechanismInfo(CKM_SHA256_RSA_PKCS)",
        f->C_GetMechanismInfo(slot, CKM_SHA256_RSA_PKCS, &info), CKR_OK);
    CHECK("  ... for 2048-bit keys", info.min_key_size <= 2048 && info.max_key_size >= 2048);
    CKR("C_GetMechanismInfo(CKM_AES_CBC): CKR_MECHANISM_INVALID",
        f->C_GetMechanismInfo(slot, CKM_AES_CBC, &info), CKR_MECHANISM_INVALID);
    CHECK("CKM_RSA_PKCS_KEY_PAIR_GEN and CKM_EC_KEY_PAIR_GEN are offered",
          has_mech(CKM_RSA_PKCS_KEY_PAIR_GEN) && has_mech(CKM_EC_KEY_PAIR_GEN));
}

static void test_sessions(void)
{
    ck_session_handle_t s = 0, ro = 0;
    struct ck_session_info si;

    CKR("C_OpenSession without CKF_SERIAL_SESSION: CKR_SESSION_PARALLEL_NOT_SUPPORTED",
        f->C_OpenSession(slot, 0, NULL, NULL, &s), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    CKR("C_OpenSession on slot 99: CKR_SLOT_ID_INVALID",
        f->C_OpenSession(99, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_SLOT_ID_INVALID);
    CKR("C_OpenSession read-only", f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro),
        CKR_OK);
    s = open_rw();
    CHECK("C_OpenSession read-write", s != 0);
    CKR("C_GetSessionInfo", f->C_GetSessionInfo(s, &si), CKR_OK);
    CHECK("  ... a R/W public session", si.state == CKS_RW_PUBLIC_SESSION && si.slot_id == slot);
    CKR("C_Login with any PIN", f->C_Login(s, CKU_USER, (unsigned char *)"0000", 4), CKR_OK);
    f->C_GetSessionInfo(ro, &si);
    CHECK("  ... every session of the application is logged in", si.state == CKS_RO_USER_FUNCTIONS);
    CKR("C_Login again: CKR_USER_ALREADY_LOGGED_IN", f->C_Login(s, CKU_USER, NULL, 0),
        CKR_USER_ALREADY_LOGGED_IN);
    CKR("C_Login as SO: CKR_USER_TYPE_INVALID", f->C_Login(s, 7, NULL, 0), CKR_USER_TYPE_INVALID);
    CKR("C_Logout", f->C_Logout(s), CKR_OK);
    CKR("C_Logout again: CKR_USER_NOT_LOGGED_IN", f->C_Logout(s), CKR_USER_NOT_LOGGED_IN);
    CKR("C_GetFunctionStatus: CKR_FUNCTION_NOT_PARALLEL", f->C_GetFunctionStatus(s),
        CKR_FUNCTION_NOT_PARALLEL);
    CKR("C_WaitForSlotEvent: CKR_FUNCTION_NOT_SUPPORTED",
        f->C_WaitForSlotEvent(CKF_DONT_BLOCK, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    CKR("C_CloseSession", f->C_CloseSession(ro), CKR_OK);
    CKR("C_CloseSession of a closed session: CKR_SESSION_HANDLE_INVALID", f->C_CloseSession(ro),
        CKR_SESSION_HANDLE_INVALID);
    CKR("C_SignInit on a closed session: CKR_SESSION_HANDLE_INVALID", f->C_SignInit(ro, NULL, 1),
        CKR_SESSION_HANDLE_INVALID);
    f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro);
    CKR("C_CloseAllSessions", f->C_CloseAllSessions(slot), CKR_OK);
    CKR("  ... closed every session of the slot", f->C_GetSessionInfo(ro, &si),
        CKR_SESSION_HANDLE_INVALID);
    CKR("  ... the first one too", f->C_GetSessionInfo(s, &si), CKR_SESSION_HANDLE_INVALID);
}

typedef struct keys {
    ck_object_handle_t rsa_pub, rsa_priv, ec_pub, ec_priv, pss_pub, pss_priv, oaep_pub, oaep_priv,
        dec_pub, dec_priv, dh_pub, dh_priv, ec384_pub, ec384_priv;
    EVP_PKEY *rsa, *ec, *pss, *oaep, *dec, *dh, *ec384;
} keys;

static void test_keygen(ck_session_handle_t s, keys *k)
{
    ck_session_handle_t ro = 0;
    ck_object_handle_t pub, priv;
    ck_mechanism_type_t pss[] = {CKM_RSA_PKCS_PSS}, oaep[] = {CKM_RSA_PKCS_OAEP};
    struct ck_mechanism m = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    unsigned long small = 512;
    struct ck_attribute pubt[2] = {{CKA_LABEL, "p11t-small", 10},
                                   {CKA_MODULUS_BITS, &small, sizeof(small)}};

    CKR("C_GenerateKeyPair RSA-2048 'p11t-rsa'",
        gen_keypair(s, 1, "p11t-rsa", NULL, 0, NULL, 0, -1, &k->rsa_pub, &k->rsa_priv), CKR_OK);
    CKR("C_GenerateKeyPair EC P-256 'p11t-ec'",
        gen_keypair(s, 0, "p11t-ec", p256, sizeof(p256), NULL, 0, -1, &k->ec_pub, &k->ec_priv),
        CKR_OK);
    CKR("C_GenerateKeyPair EC P-384 'p11t-ec384'",
        gen_keypair(s, 0, "p11t-ec384", p384, sizeof(p384), NULL, 0, -1, &k->ec384_pub,
                    &k->ec384_priv),
        CKR_OK);
    if (has_mech(CKM_RSA_PKCS_PSS))
        CKR("C_GenerateKeyPair RSA PSS key (CKA_ALLOWED_MECHANISMS = CKM_RSA_PKCS_PSS)",
            gen_keypair(s, 1, "p11t-pss", NULL, 0, pss, 1, -1, &k->pss_pub, &k->pss_priv), CKR_OK);
    if (has_mech(CKM_RSA_PKCS_OAEP))
        CKR("C_GenerateKeyPair RSA OAEP key (CKA_ALLOWED_MECHANISMS = CKM_RSA_PKCS_OAEP)",
            gen_keypair(s, 1, "p11t-oaep", NULL, 0, oaep, 1, -1, &k->oaep_pub, &k->oaep_priv),
            CKR_OK);
    CKR("C_GenerateKeyPair RSA decryption key (CKA_SIGN false, CKA_DECRYPT true)",
        gen_keypair(s, 1, "p11t-dec", NULL, 0, NULL, 0, 0, &k->dec_pub, &k->dec_priv), CKR_OK);
    if (has_mech(CKM_ECDH1_DERIVE))
        CKR("C_GenerateKeyPair ECDH key (CKA_SIGN false, CKA_DERIVE true)",
            gen_keypair(s, 0, "p11t-dh", p256, sizeof(p256), NULL, 0, 0, &k->dh_pub, &k->dh_priv),
            CKR_OK);
    CKR("C_GenerateKeyPair with a taken label: CKR_ATTRIBUTE_VALUE_INVALID",
        gen_keypair(s, 0, "p11t-ec", p256, sizeof(p256), NULL, 0, -1, &pub, &priv),
        CKR_ATTRIBUTE_VALUE_INVALID);
    CKR("C_GenerateKeyPair on secp256k1: CKR_CURVE_NOT_SUPPORTED",
        gen_keypair(s, 0, "p11t-k1", secp256k1, sizeof(secp256k1), NULL, 0, -1, &pub, &priv),
        CKR_CURVE_NOT_SUPPORTED);
    CKR("C_GenerateKeyPair RSA-512: CKR_KEY_SIZE_RANGE",
        f->C_GenerateKeyPair(s, &m, pubt, 2, NULL, 0, &pub, &priv), CKR_KEY_SIZE_RANGE);
    small = 2048;
    CKR("C_GenerateKeyPair without CKA_LABEL: CKR_TEMPLATE_INCOMPLETE",
        f->C_GenerateKeyPair(s, &m, pubt + 1, 1, NULL, 0, &pub, &priv), CKR_TEMPLATE_INCOMPLETE);
    m.mechanism = CKM_DSA_KEY_PAIR_GEN;
    CKR("C_GenerateKeyPair DSA: CKR_MECHANISM_INVALID",
        f->C_GenerateKeyPair(s, &m, pubt, 2, NULL, 0, &pub, &priv), CKR_MECHANISM_INVALID);
    f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro);
    CKR("C_GenerateKeyPair on a read-only session: CKR_SESSION_READ_ONLY",
        gen_keypair(ro, 0, "p11t-ro", p256, sizeof(p256), NULL, 0, -1, &pub, &priv),
        CKR_SESSION_READ_ONLY);
    f->C_CloseSession(ro);
    k->rsa = pubkey(s, k->rsa_pub);
    k->ec = pubkey(s, k->ec_pub);
    k->ec384 = pubkey(s, k->ec384_pub);
    k->pss = k->pss_pub ? pubkey(s, k->pss_pub) : NULL;
    k->oaep = k->oaep_pub ? pubkey(s, k->oaep_pub) : NULL;
    k->dec = pubkey(s, k->dec_pub);
    k->dh = k->dh_pub ? pubkey(s, k->dh_pub) : NULL;
    CHECK("CKA_PUBLIC_KEY_INFO of each new key is a public key OpenSSL reads",
          k->rsa && k->ec && k->ec384 && k->dec && (!k->pss_pub || k->pss) &&
              (!k->oaep_pub || k->oaep) && (!k->dh_pub || k->dh));
}

static void test_objects(ck_session_handle_t s, keys *k)
{
    ck_object_handle_t h[16];
    unsigned long n, len = 0, len2 = 0, cls = CKO_PRIVATE_KEY, kt = 0;
    unsigned char *id1, *id2, *v, buf[4];
    unsigned char sensitive = 0, extractable = 1, always_auth = 1;
    struct ck_attribute a[3] = {{CKA_SENSITIVE, &sensitive, 1},
                                {CKA_EXTRACTABLE, &extractable, 1},
                                {CKA_ALWAYS_AUTHENTICATE, &always_auth, 1}};
    struct ck_attribute kta = {CKA_KEY_TYPE, &kt, sizeof(kt)};
    struct ck_attribute secret = {CKA_PRIVATE_EXPONENT, NULL, 0}, unknown = {0x7777, NULL, 0};
    struct ck_attribute small = {CKA_LABEL, buf, sizeof(buf)};
    struct ck_attribute bycls = {CKA_CLASS, &cls, sizeof(cls)};
    BIGNUM *nbn = NULL;

    CHECK("C_FindObjects by class and label finds the private key",
          find1(s, CKO_PRIVATE_KEY, "p11t-rsa") == k->rsa_priv);
    CHECK("  ... and the public key", find1(s, CKO_PUBLIC_KEY, "p11t-rsa") == k->rsa_pub);
    CHECK("  ... handles are the same in another search",
          find1(s, CKO_PRIVATE_KEY, "p11t-rsa") == k->rsa_priv);
    CHECK("a label that no key has finds nothing",
          find(s, CKO_PRIVATE_KEY, "p11t-none", h, 16) == 0);
    CKR("C_FindObjectsInit(all private keys)", f->C_FindObjectsInit(s, &bycls, 1), CKR_OK);
    CKR("  ... a second C_FindObjectsInit: CKR_OPERATION_ACTIVE",
        f->C_FindObjectsInit(s, &bycls, 1), CKR_OPERATION_ACTIVE);
    n = 0;
    f->C_FindObjects(s, h, 1, &n);
    CHECK("  ... C_FindObjects returns at most max_count", n == 1);
    f->C_FindObjects(s, h, 16, &n);
    CHECK("  ... and the rest on the next call", n >= 3);
    CKR("  ... C_FindObjectsFinal", f->C_FindObjectsFinal(s), CKR_OK);
    CKR("C_FindObjects after C_FindObjectsFinal: CKR_OPERATION_NOT_INITIALIZED",
        f->C_FindObjects(s, h, 16, &n), CKR_OPERATION_NOT_INITIALIZED);
    id1 = get_attr(s, k->rsa_priv, CKA_ID, &len);
    id2 = get_attr(s, k->rsa_pub, CKA_ID, &len2);
    CHECK("CKA_ID of the private and the public key are equal",
          id1 && id2 && len == len2 && len > 0 && memcmp(id1, id2, len) == 0);
    free(id1);
    free(id2);
    CKR("CKA_KEY_TYPE of the RSA key", f->C_GetAttributeValue(s, k->rsa_priv, &kta, 1), CKR_OK);
    CHECK("  ... is CKK_RSA", kt == CKK_RSA);
    CKR("CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_AUTHENTICATE of the private key",
        f->C_GetAttributeValue(s, k->rsa_priv, a, 3), CKR_OK);
    CHECK("  ... sensitive, not extractable, no re-authentication",
          sensitive && !extractable && !always_auth);
    CKR("CKA_PRIVATE_EXPONENT: CKR_ATTRIBUTE_SENSITIVE",
        f->C_GetAttributeValue(s, k->rsa_priv, &secret, 1), CKR_ATTRIBUTE_SENSITIVE);
    CHECK("  ... with the length CK_UNAVAILABLE_INFORMATION",
          secret.value_len == CK_UNAVAILABLE_INFORMATION);
    CKR("an attribute the object does not have: CKR_ATTRIBUTE_TYPE_INVALID",
        f->C_GetAttributeValue(s, k->rsa_pub, &unknown, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    CKR("CKA_LABEL into a 4-byte buffer: CKR_BUFFER_TOO_SMALL",
        f->C_GetAttributeValue(s, k->rsa_pub, &small, 1), CKR_BUFFER_TOO_SMALL);
    v = get_attr(s, k->rsa_pub, CKA_MODULUS, &len);
    EVP_PKEY_get_bn_param(k->rsa, OSSL_PKEY_PARAM_RSA_N, &nbn);
    CHECK("CKA_MODULUS is the modulus of CKA_PUBLIC_KEY_INFO",
          v && nbn && len == 256 && BN_cmp(BN_bin2bn(v, (int)len, nbn), nbn) == 0);
    BN_free(nbn);
    free(v);
    v = get_attr(s, k->rsa_pub, CKA_PUBLIC_EXPONENT, &len);
    CHECK("CKA_PUBLIC_EXPONENT is 65537", v && len == 3 && v[0] == 1 && v[1] == 0 && v[2] == 1);
    free(v);
    v = get_attr(s, k->ec_pub, CKA_EC_PARAMS, &len);
    CHECK("CKA_EC_PARAMS is the P-256 OID", v && len == sizeof(p256) && memcmp(v, p256, len) == 0);
    free(v);
    v = get_attr(s, k->ec_pub, CKA_EC_POINT, &len);
    CHECK("CKA_EC_POINT is a DER OCTET STRING of the uncompressed point",
          v && len == 67 && v[0] == 0x04 && v[1] == 65 && v[2] == 0x04);
    free(v);
    v = get_attr(s, k->dec_priv, CKA_SIGN, &len);
    CHECK("the decryption key has CKA_SIGN false", v && len == 1 && v[0] == CK_FALSE);
    free(v);
    v = get_attr(s, k->dec_priv, CKA_DECRYPT, &len);
    CHECK("  ... and CKA_DECRYPT true", v && len == 1 && v[0] == CK_TRUE);
    free(v);
    CKR("C_GetObjectSize", f->C_GetObjectSize(s, k->rsa_pub, &len), CKR_OK);
    CHECK("  ... CK_UNAVAILABLE_INFORMATION (the service keeps the key)",
          len == CK_UNAVAILABLE_INFORMATION);
    CKR("C_SetAttributeValue: CKR_ACTION_PROHIBITED",
        f->C_SetAttributeValue(s, k->rsa_pub, &small, 1), CKR_ACTION_PROHIBITED);
    CKR("C_GetAttributeValue of handle 999999: CKR_OBJECT_HANDLE_INVALID",
        f->C_GetAttributeValue(s, 999999, &small, 1), CKR_OBJECT_HANDLE_INVALID);
}

static void test_sign(ck_session_handle_t s, keys *k)
{
    static const struct {
        ck_mechanism_type_t m;
        const char *md, *name;
        int ec, pss;
    } hashed[] = {
        {CKM_SHA256_RSA_PKCS, "SHA256", "CKM_SHA256_RSA_PKCS", 0, 0},
        {CKM_SHA384_RSA_PKCS, "SHA384", "CKM_SHA384_RSA_PKCS", 0, 0},
        {CKM_SHA512_RSA_PKCS, "SHA512", "CKM_SHA512_RSA_PKCS", 0, 0},
        {CKM_ECDSA_SHA256, "SHA256", "CKM_ECDSA_SHA256", 1, 0},
        {CKM_ECDSA_SHA384, "SHA384", "CKM_ECDSA_SHA384", 1, 0},
        {CKM_ECDSA_SHA512, "SHA512", "CKM_ECDSA_SHA512", 1, 0},
        {CKM_SHA256_RSA_PKCS_PSS, "SHA256", "CKM_SHA256_RSA_PKCS_PSS", 0, 1},
        {CKM_SHA384_RSA_PKCS_PSS, "SHA384", "CKM_SHA384_RSA_PKCS_PSS", 0, 1},
        {CKM_SHA512_RSA_PKCS_PSS, "SHA512", "CKM_SHA512_RSA_PKCS_PSS", 0, 1},
    };
    static const unsigned char msg[] = "a message to sign through the PKCS#11 module";
    unsigned char sig[512], hash[64], di[128], *dip;
    unsigned long siglen, need;
    unsigned int hlen = 0;
    size_t i;
    char desc[160];
    struct ck_rsa_pkcs_pss_params pssp = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    struct ck_mechanism m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    X509_SIG *xs;
    X509_ALGOR *alg;
    ASN1_OCTET_STRING *os;
    int dilen;

    for (i = 0; i < sizeof(hashed) / sizeof(hashed[0]); i++) {
        ck_object_handle_t key = hashed[i].ec    ? k->ec_priv
                                 : hashed[i].pss ? k->pss_priv
                                                 : k->rsa_priv;
        ck_object_handle_t pub = hashed[i].ec ? k->ec_pub : hashed[i].pss ? k->pss_pub : k->rsa_pub;
        EVP_PKEY *pk = hashed[i].ec ? k->ec : hashed[i].pss ? k->pss : k->rsa;
        struct ck_rsa_pkcs_pss_params p = {CKM_SHA256, CKG_MGF1_SHA256, 32};
        struct ck_mechanism vm = {hashed[i].m, NULL, 0};

        if (hashed[i].pss) {
            if (key == 0) {
                printf("# skip %s: the %s token does not offer RSA-PSS\n", hashed[i].name, backend);
                continue;
            }
            p.hash_alg = hashed[i].md[3] == '2'   ? CKM_SHA256
                         : hashed[i].md[3] == '3' ? CKM_SHA384
                                                  : CKM_SHA512;
            p.mgf = hashed[i].md[3] == '2'   ? CKG_MGF1_SHA256
                    : hashed[i].md[3] == '3' ? CKG_MGF1_SHA384
                                             : CKG_MGF1_SHA512;
            p.s_len = (unsigned long)EVP_MD_get_size(EVP_get_digestbyname(hashed[i].md));
            vm.parameter = &p;
            vm.parameter_len = sizeof(p);
        }
        siglen = sizeof(sig);
        snprintf(desc, sizeof(desc), "C_Sign %s", hashed[i].name);
        CKR(desc,
            sign(s, hashed[i].m, vm.parameter, vm.parameter_len, key, msg, sizeof(msg), sig,
                 &siglen),
            CKR_OK);
        snprintf(desc, sizeof(desc), "  ... OpenSSL verifies the %s signature", hashed[i].name);
        CHECK(desc, ossl_verify(pk, hashed[i].md, hashed[i].pss, msg, sizeof(msg), sig, siglen));
        snprintf(desc, sizeof(desc), "  ... C_Verify %s accepts it", hashed[i].name);
        CKR(desc,
            f->C_VerifyInit(s, &vm, pub) == CKR_OK
                ? f->C_Verify(s, (unsigned char *)msg, sizeof(msg), sig, siglen)
                : CKR_GENERAL_ERROR,
            CKR_OK);
        sig[siglen / 2] ^= 1;
        snprintf(desc, sizeof(desc),
                 "  ... C_Verify %s of a changed signature: CKR_SIGNATURE_INVALID", hashed[i].name);
        CKR(desc,
            f->C_VerifyInit(s, &vm, pub) == CKR_OK
                ? f->C_Verify(s, (unsigned char *)msg, sizeof(msg), sig, siglen)
                : CKR_GENERAL_ERROR,
            CKR_SIGNATURE_INVALID);
    }

    /* Two-call convention and multi-part. */
    CKR("C_SignInit CKM_SHA256_RSA_PKCS", f->C_SignInit(s, &m, k->rsa_priv), CKR_OK);
    CKR("  ... C_SignInit again: CKR_OPERATION_ACTIVE", f->C_SignInit(s, &m, k->rsa_priv),
        CKR_OPERATION_ACTIVE);
    need = 0;
    CKR("  ... C_Sign(NULL) gives the length",
        f->C_Sign(s, (unsigned char *)msg, sizeof(msg), NULL, &need), CKR_OK);
    CHECK("  ... 256 bytes for RSA-2048", need == 256);
    siglen = 10;
    CKR("  ... C_Sign into 10 bytes: CKR_BUFFER_TOO_SMALL",
        f->C_Sign(s, (unsigned char *)msg, sizeof(msg), sig, &siglen), CKR_BUFFER_TOO_SMALL);
    CHECK("  ... with the needed length", siglen == 256);
    siglen = sizeof(sig);
    CKR("  ... C_Sign with room: the operation was still active",
        f->C_Sign(s, (unsigned char *)msg, sizeof(msg), sig, &siglen), CKR_OK);
    CHECK("  ... OpenSSL verifies it",
          ossl_verify(k->rsa, "SHA256", 0, msg, sizeof(msg), sig, siglen));
    CKR("C_Sign without C_SignInit: CKR_OPERATION_NOT_INITIALIZED",
        f->C_Sign(s, (unsigned char *)msg, sizeof(msg), sig, &siglen),
        CKR_OPERATION_NOT_INITIALIZED);
    m.mechanism = CKM_ECDSA_SHA384;
    f->C_SignInit(s, &m, k->ec_priv);
    CKR("multi-part C_SignUpdate (1)", f->C_SignUpdate(s, (unsigned char *)msg, 10), CKR_OK);
    CKR("multi-part C_SignUpdate (2)",
        f->C_SignUpdate(s, (unsigned char *)msg + 10, sizeof(msg) - 10), CKR_OK);
    need = 0;
    CKR("  ... C_SignFinal(NULL) gives the length", f->C_SignFinal(s, NULL, &need), CKR_OK);
    CHECK("  ... 64 bytes for P-256", need == 64);
    siglen = sizeof(sig);
    CKR("  ... C_SignFinal", f->C_SignFinal(s, sig, &siglen), CKR_OK);
    CHECK("  ... OpenSSL verifies the multi-part ECDSA-SHA384 signature",
          ossl_verify(k->ec, "SHA384", 0, msg, sizeof(msg), sig, siglen));
    CKR("multi-part C_VerifyInit", f->C_VerifyInit(s, &m, k->ec_pub), CKR_OK);
    f->C_VerifyUpdate(s, (unsigned char *)msg, 7);
    f->C_VerifyUpdate(s, (unsigned char *)msg + 7, sizeof(msg) - 7);
    CKR("  ... C_VerifyFinal accepts it", f->C_VerifyFinal(s, sig, siglen), CKR_OK);
    CKR("C_Sign after C_SignUpdate: CKR_OPERATION_ACTIVE",
        f->C_SignInit(s, &m, k->ec_priv) == CKR_OK &&
                f->C_SignUpdate(s, (unsigned char *)msg, 3) == CKR_OK
            ? f->C_Sign(s, (unsigned char *)msg, sizeof(msg), sig, &siglen)
            : CKR_GENERAL_ERROR,
        CKR_OPERATION_ACTIVE);
    siglen = sizeof(sig);
    CKR("  ... C_SignFinal still ends it", f->C_SignFinal(s, sig, &siglen), CKR_OK);

    /* Raw mechanisms: CKM_ECDSA on a hash, CKM_RSA_PKCS on a DigestInfo. */
    EVP_Digest(msg, sizeof(msg), hash, &hlen, EVP_sha256(), NULL);
    siglen = sizeof(sig);
    CKR("C_Sign CKM_ECDSA of a SHA-256 hash (P-384 key)",
        sign(s, CKM_ECDSA, NULL, 0, k->ec384_priv, hash, hlen, sig, &siglen), CKR_OK);
    CHECK("  ... 96 bytes, OpenSSL verifies it",
          siglen == 96 && ossl_verify(k->ec384, "SHA256", 0, msg, sizeof(msg), sig, siglen));
    xs = X509_SIG_new();
    X509_SIG_getm(xs, &alg, &os);
    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
    ASN1_OCTET_STRING_set(os, hash, (int)hlen);
    dip = di;
    dilen = i2d_X509_SIG(xs, &dip);
    X509_SIG_free(xs);
    siglen = sizeof(sig);
    CKR("C_Sign CKM_RSA_PKCS of a SHA-256 DigestInfo",
        sign(s, CKM_RSA_PKCS, NULL, 0, k->rsa_priv, di, (unsigned long)dilen, sig, &siglen),
        CKR_OK);
    CHECK("  ... OpenSSL verifies it as SHA256withRSA",
          ossl_verify(k->rsa, "SHA256", 0, msg, sizeof(msg), sig, siglen));
    m.mechanism = CKM_RSA_PKCS;
    CKR("  ... C_Verify CKM_RSA_PKCS accepts it",
        f->C_VerifyInit(s, &m, k->rsa_pub) == CKR_OK
            ? f->C_Verify(s, di, (unsigned long)dilen, sig, siglen)
            : CKR_GENERAL_ERROR,
        CKR_OK);
    CKR("  ... C_Verify with a 100-byte signature: CKR_SIGNATURE_LEN_RANGE",
        f->C_VerifyInit(s, &m, k->rsa_pub) == CKR_OK
            ? f->C_Verify(s, di, (unsigned long)dilen, sig, 100)
            : CKR_GENERAL_ERROR,
        CKR_SIGNATURE_LEN_RANGE);
    if (k->pss_priv) {
        siglen = sizeof(sig);
        CKR("C_Sign CKM_RSA_PKCS_PSS of a SHA-256 hash",
            sign(s, CKM_RSA_PKCS_PSS, &pssp, sizeof(pssp), k->pss_priv, hash, hlen, sig, &siglen),
            CKR_OK);
        CHECK("  ... OpenSSL verifies it",
              ossl_verify(k->pss, "SHA256", 1, msg, sizeof(msg), sig, siglen));
        pssp.s_len = 20;
        CKR("CKM_RSA_PKCS_PSS with salt 20 for SHA-256: CKR_MECHANISM_PARAM_INVALID",
            sign(s, CKM_RSA_PKCS_PSS, &pssp, sizeof(pssp), k->pss_priv, hash, hlen, sig, &siglen),
            CKR_MECHANISM_PARAM_INVALID);
        pssp.s_len = 32;
        CKR("CKM_SHA256_RSA_PKCS on the PSS key: CKR_KEY_FUNCTION_NOT_PERMITTED",
            sign(s, CKM_SHA256_RSA_PKCS, NULL, 0, k->pss_priv, msg, sizeof(msg), sig, &siglen),
            CKR_KEY_FUNCTION_NOT_PERMITTED);
    }

    /* What the key's policy or type does not allow is refused, never signed otherwise. */
    CKR("CKM_SHA256_RSA_PKCS_PSS on the PKCS#1 v1.5 key: CKR_KEY_FUNCTION_NOT_PERMITTED",
        sign(s, CKM_SHA256_RSA_PKCS_PSS, &pssp, sizeof(pssp), k->rsa_priv, msg, sizeof(msg), sig,
             &siglen),
        CKR_KEY_FUNCTION_NOT_PERMITTED);
    siglen = sizeof(sig);
    CKR("CKM_RSA_PKCS of bytes that are no DigestInfo: CKR_KEY_FUNCTION_NOT_PERMITTED",
        sign(s, CKM_RSA_PKCS, NULL, 0, k->rsa_priv, msg, 20, sig, &siglen),
        CKR_KEY_FUNCTION_NOT_PERMITTED);
    CKR("  ... and the operation has ended", f->C_Sign(s, (unsigned char *)msg, 20, sig, &siglen),
        CKR_OPERATION_NOT_INITIALIZED);
    CKR("CKM_ECDSA_SHA256 with the RSA key: CKR_KEY_TYPE_INCONSISTENT",
        sign(s, CKM_ECDSA_SHA256, NULL, 0, k->rsa_priv, msg, sizeof(msg), sig, &siglen),
        CKR_KEY_TYPE_INCONSISTENT);
    CKR("C_SignInit with the public key: CKR_KEY_FUNCTION_NOT_PERMITTED",
        sign(s, CKM_ECDSA_SHA256, NULL, 0, k->ec_pub, msg, sizeof(msg), sig, &siglen),
        CKR_KEY_FUNCTION_NOT_PERMITTED);
    CKR("C_SignInit with the decryption key: CKR_KEY_FUNCTION_NOT_PERMITTED",
        sign(s, CKM_SHA256_RSA_PKCS, NULL, 0, k->dec_priv, msg, sizeof(msg), sig, &siglen),
        CKR_KEY_FUNCTION_NOT_PERMITTED);
    CKR("C_SignInit CKM_MD5_RSA_PKCS: CKR_MECHANISM_INVALID",
        sign(s, CKM_MD5_RSA_PKCS, NULL, 0, k->rsa_priv, msg, sizeof(msg), sig, &siglen),
        CKR_MECHANISM_INVALID);
    CKR("C_SignInit CKM_ECDSA with parameters: CKR_MECHANISM_PARAM_INVALID",
        sign(s, CKM_ECDSA, &pssp, sizeof(pssp), k->ec_priv, hash, hlen, sig, &siglen),
        CKR_MECHANISM_PARAM_INVALID);
    CKR("C_SignInit with handle 999999: CKR_KEY_HANDLE_INVALID",
        sign(s, CKM_ECDSA, NULL, 0, 999999, hash, hlen, sig, &siglen), CKR_KEY_HANDLE_INVALID);
    siglen = sizeof(sig);
    CKR("CKM_ECDSA of 17 bytes (no hash has that length): CKR_DATA_LEN_RANGE",
        sign(s, CKM_ECDSA, NULL, 0, k->ec_priv, hash, 17, sig, &siglen), CKR_DATA_LEN_RANGE);
}

static void test_decrypt(ck_session_handle_t s, keys *k)
{
    static const unsigned char secret[] = "a secret block for the module to decrypt";
    /* With its terminating zero: a TPM takes only such labels (TPM 2.0 Part 1, B.4). */
    static const unsigned char label[] = "oaep-label";
    unsigned char enc[512], out[512];
    size_t enclen = sizeof(enc);
    unsigned long outlen, need;
    struct ck_rsa_pkcs_oaep_params op = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED,
                                         (void *)label, sizeof(label)};
    struct ck_mechanism m = {CKM_RSA_PKCS, NULL, 0};
    EVP_PKEY_CTX *ctx;

    ctx = EVP_PKEY_CTX_new(k->dec, NULL);
    EVP_PKEY_encrypt_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
    CHECK("OpenSSL encrypts a block with PKCS#1 v1.5 to the decryption key",
          EVP_PKEY_encrypt(ctx, enc, &enclen, secret, sizeof(secret)) == 1);
    EVP_PKEY_CTX_free(ctx);
    CKR("C_DecryptInit CKM_RSA_PKCS", f->C_DecryptInit(s, &m, k->dec_priv), CKR_OK);
    need = 0;
    CKR("  ... C_Decrypt(NULL) gives a length",
        f->C_Decrypt(s, enc, (unsigned long)enclen, NULL, &need), CKR_OK);
    CHECK("  ... the modulus size, an upper bound", need == 256);
    outlen = 5;
    CKR("  ... C_Decrypt into 5 bytes: CKR_BUFFER_TOO_SMALL",
        f->C_Decrypt(s, enc, (unsigned long)enclen, out, &outlen), CKR_BUFFER_TOO_SMALL);
    CHECK("  ... with the exact length", outlen == sizeof(secret));
    outlen = sizeof(out);
    CKR("  ... C_Decrypt", f->C_Decrypt(s, enc, (unsigned long)enclen, out, &outlen), CKR_OK);
    CHECK("  ... gives back the block",
          outlen == sizeof(secret) && memcmp(out, secret, outlen) == 0);
    f->C_DecryptInit(s, &m, k->dec_priv);
    outlen = sizeof(out);
    CKR("C_Decrypt of 100 bytes: CKR_ENCRYPTED_DATA_LEN_RANGE",
        f->C_Decrypt(s, enc, 100, out, &outlen), CKR_ENCRYPTED_DATA_LEN_RANGE);
    CKR("C_DecryptInit CKM_RSA_PKCS with the signing key: CKR_KEY_FUNCTION_NOT_PERMITTED",
        f->C_DecryptInit(s, &m, k->rsa_priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    CKR("C_EncryptInit CKM_RSA_PKCS with the public key", f->C_EncryptInit(s, &m, k->dec_pub),
        CKR_OK);
    outlen = sizeof(enc);
    CKR("  ... C_Encrypt (in software)",
        f->C_Encrypt(s, (unsigned char *)secret, sizeof(secret), enc, &outlen), CKR_OK);
    f->C_DecryptInit(s, &m, k->dec_priv);
    enclen = outlen;
    outlen = sizeof(out);
    CKR("  ... C_Decrypt of it", f->C_Decrypt(s, enc, (unsigned long)enclen, out, &outlen), CKR_OK);
    CHECK("  ... round trip", outlen == sizeof(secret) && memcmp(out, secret, outlen) == 0);
    if (k->oaep_priv == 0) {
        printf("# skip CKM_RSA_PKCS_OAEP: the %s token does not offer it\n", backend);
        return;
    }
    ctx = EVP_PKEY_CTX_new(k->oaep, NULL);
    EVP_PKEY_encrypt_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256());
    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, OPENSSL_memdup(label, sizeof(label)), sizeof(label));
    enclen = sizeof(enc);
    CHECK("OpenSSL encrypts with OAEP-SHA256 and a label",
          EVP_PKEY_encrypt(ctx, enc, &enclen, secret, sizeof(secret)) == 1);
    EVP_PKEY_CTX_free(ctx);
    m.mechanism = CKM_RSA_PKCS_OAEP;
    m.parameter = &op;
    m.parameter_len = sizeof(op);
    CKR("C_DecryptInit CKM_RSA_PKCS_OAEP (SHA-256, label)", f->C_DecryptInit(s, &m, k->oaep_priv),
        CKR_OK);
    outlen = sizeof(out);
    CKR("  ... C_Decrypt", f->C_Decrypt(s, enc, (unsigned long)enclen, out, &outlen), CKR_OK);
    CHECK("  ... gives back the block",
          outlen == sizeof(secret) && memcmp(out, secret, outlen) == 0);
    CKR("C_EncryptInit CKM_RSA_PKCS_OAEP with the public key", f->C_EncryptInit(s, &m, k->oaep_pub),
        CKR_OK);
    outlen = sizeof(enc);
    CKR("  ... C_Encrypt (in software)",
        f->C_Encrypt(s, (unsigned char *)secret, sizeof(secret), enc, &outlen), CKR_OK);
    enclen = outlen;
    f->C_DecryptInit(s, &m, k->oaep_priv);
    outlen = sizeof(out);
    CKR("  ... C_Decrypt of it", f->C_Decrypt(s, enc, (unsigned long)enclen, out, &outlen), CKR_OK);
    CHECK("  ... round trip", outlen == sizeof(secret) && memcmp(out, secret, outlen) == 0);
    op.source_data_len = 3;
    f->C_DecryptInit(s, &m, k->oaep_priv);
    outlen = sizeof(out);
    CHECK("  ... with another label it fails",
          f->C_Decrypt(s, enc, (unsigned long)enclen, out, &outlen) != CKR_OK);
    op.hash_alg = CKM_SHA384;
    CKR("C_DecryptInit OAEP with SHA-256 but MGF1-SHA-384: CKR_MECHANISM_PARAM_INVALID",
        f->C_DecryptInit(s, &m, k->oaep_priv), CKR_MECHANISM_PARAM_INVALID);
    op.mgf = CKG_MGF1_SHA384;
    CKR("C_DecryptInit OAEP-SHA-384 with the OAEP-SHA-256 key: CKR_KEY_FUNCTION_NOT_PERMITTED",
        f->C_DecryptInit(s, &m, k->oaep_priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
}

static void test_derive(ck_session_handle_t s, keys *k)
{
    EVP_PKEY *peer = NULL;
    EVP_PKEY_CTX *ctx;
    unsigned char point[133], expect[66], *value;
    size_t pointlen = 0, expectlen = sizeof(expect);
    unsigned long len = 0, cls = CKO_SECRET_KEY, kt = CKK_GENERIC_SECRET;
    struct ck_ecdh1_derive_params p;
    struct ck_mechanism m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
    struct ck_attribute t[4] = {{CKA_CLASS, &cls, sizeof(cls)},
                                {CKA_KEY_TYPE, &kt, sizeof(kt)},
                                {CKA_TOKEN, &ck_false, 1},
                                {CKA_EXTRACTABLE, &ck_true, 1}};
    ck_object_handle_t secret = 0;

    if (k->dh_priv == 0) {
        printf("# skip CKM_ECDH1_DERIVE: the %s token does not offer it\n", backend);
        return;
    }
    peer = EVP_EC_gen("P-256");
    EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof(point),
                                    &pointlen);
    ctx = EVP_PKEY_CTX_new(peer, NULL);
    EVP_PKEY_derive_init(ctx);
    EVP_PKEY_derive_set_peer(ctx, k->dh);
    CHECK("OpenSSL computes the ECDH secret on the peer side",
          EVP_PKEY_derive(ctx, expect, &expectlen) == 1);
    EVP_PKEY_CTX_free(ctx);
    memset(&p, 0, sizeof(p));
    p.kdf = CKD_NULL;
    p.public_data = point;
    p.public_data_len = pointlen;
    CKR("C_DeriveKey CKM_ECDH1_DERIVE", f->C_DeriveKey(s, &m, k->dh_priv, t, 4, &secret), CKR_OK);
    value = get_attr(s, secret, CKA_VALUE, &len);
    CHECK("  ... CKA_VALUE of the derived key is the shared secret OpenSSL computed",
          value && len == expectlen && memcmp(value, expect, len) == 0);
    free(value);
    CKR("  ... C_DestroyObject of the secret", f->C_DestroyObject(s, secret), CKR_OK);
    p.kdf = CKD_SHA256_KDF;
    CKR("C_DeriveKey with CKD_SHA256_KDF: CKR_MECHANISM_PARAM_INVALID",
        f->C_DeriveKey(s, &m, k->dh_priv, t, 4, &secret), CKR_MECHANISM_PARAM_INVALID);
    p.kdf = CKD_NULL;
    CKR("C_DeriveKey with the ECDSA key: CKR_KEY_FUNCTION_NOT_PERMITTED",
        f->C_DeriveKey(s, &m, k->ec_priv, t, 4, &secret), CKR_KEY_FUNCTION_NOT_PERMITTED);
    EVP_PKEY_free(peer);
}

static void test_digest_random(ck_session_handle_t s)
{
    static const unsigned char data[] = "digest me";
    unsigned char md[64], expect[64], r1[100], r2[100], *big;
    unsigned int elen = 0;
    unsigned long len;
    struct ck_mechanism m = {CKM_SHA384, NULL, 0};
    size_t i, zeros = 0;

    EVP_Digest(data, sizeof(data), expect, &elen, EVP_sha384(), NULL);
    CKR("C_DigestInit CKM_SHA384", f->C_DigestInit(s, &m), CKR_OK);
    len = 0;
    CKR("  ... C_Digest(NULL) gives the length",
        f->C_Digest(s, (unsigned char *)data, sizeof(data), NULL, &len), CKR_OK);
    CHECK("  ... 48", len == 48);
    len = sizeof(md);
    CKR("  ... C_Digest", f->C_Digest(s, (unsigned char *)data, sizeof(data), md, &len), CKR_OK);
    CHECK("  ... equals OpenSSL's SHA-384", len == elen && memcmp(md, expect, len) == 0);
    f->C_DigestInit(s, &m);
    f->C_DigestUpdate(s, (unsigned char *)data, 4);
    f->C_DigestUpdate(s, (unsigned char *)data + 4, sizeof(data) - 4);
    len = sizeof(md);
    CKR("multi-part C_DigestFinal", f->C_DigestFinal(s, md, &len), CKR_OK);
    CHECK("  ... equals OpenSSL's SHA-384", len == elen && memcmp(md, expect, len) == 0);
    m.mechanism = CKM_MD5;
    CKR("C_DigestInit CKM_MD5: CKR_MECHANISM_INVALID", f->C_DigestInit(s, &m),
        CKR_MECHANISM_INVALID);
    CKR("C_GenerateRandom 100 bytes", f->C_GenerateRandom(s, r1, sizeof(r1)), CKR_OK);
    f->C_GenerateRandom(s, r2, sizeof(r2));
    CHECK("  ... two draws differ", memcmp(r1, r2, sizeof(r1)) != 0);
    big = calloc(1, 10000);
    CKR("C_GenerateRandom 10000 bytes (more than one request)", f->C_GenerateRandom(s, big, 10000),
        CKR_OK);
    for (i = 9000; i < 10000; i++)
        zeros += big[i] == 0;
    CHECK("  ... its last 1000 bytes are filled", zeros < 50);
    free(big);
    CKR("C_SeedRandom: CKR_RANDOM_SEED_NOT_SUPPORTED", f->C_SeedRandom(s, r1, 4),
        CKR_RANDOM_SEED_NOT_SUPPORTED);
}

/* A self-signed certificate for the test (its key is OpenSSL's own). */
static int make_cert(unsigned char **der)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    int n = 0;

    ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (unsigned char *)"p11t cert", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, pk);
    if (X509_sign(x, pk, EVP_sha256()) > 0)
        n = i2d_X509(x, der);
    X509_free(x);
    EVP_PKEY_free(pk);
    return n;
}

static void test_certificates(ck_session_handle_t s, keys *k)
{
    unsigned char *der = NULL, *id, *value;
    int derlen = make_cert(&der);
    unsigned long idlen = 0, len = 0, cls = CKO_CERTIFICATE, ct = CKC_X_509, pcls = CKO_PRIVATE_KEY;
    ck_object_handle_t cert = 0, found[4];
    ck_session_handle_t ro = 0;
    struct ck_attribute t[6];
    unsigned long n = 0;

    id = get_attr(s, k->ec_priv, CKA_ID, &idlen);
    t[0] = (struct ck_attribute){CKA_CLASS, &cls, sizeof(cls)};
    t[1] = (struct ck_attribute){CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)};
    t[2] = (struct ck_attribute){CKA_TOKEN, &ck_true, 1};
    t[3] = (struct ck_attribute){CKA_LABEL, "p11t-ec", 7};
    t[4] = (struct ck_attribute){CKA_ID, id, idlen};
    t[5] = (struct ck_attribute){CKA_VALUE, der, (unsigned long)derlen};
    CKR("C_CreateObject of an X.509 certificate with the EC key's CKA_ID",
        f->C_CreateObject(s, t, 6, &cert), CKR_OK);
    f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro);
    CKR("  ... on a read-only session: CKR_SESSION_READ_ONLY",
        f->C_CreateObject(ro, t, 6, &found[0]), CKR_SESSION_READ_ONLY);
    f->C_CloseSession(ro);
    t[0].value = &pcls;
    CKR("C_CreateObject of a private key: CKR_ATTRIBUTE_VALUE_INVALID (keys are made in the "
        "service)",
        f->C_CreateObject(s, t, 6, &found[0]), CKR_ATTRIBUTE_VALUE_INVALID);
    t[0].value = &cls;
    t[5].value_len = 10;
    CKR("C_CreateObject of a broken certificate: CKR_ATTRIBUTE_VALUE_INVALID",
        f->C_CreateObject(s, t, 6, &found[0]), CKR_ATTRIBUTE_VALUE_INVALID);
    CKR("C_Finalize", f->C_Finalize(NULL), CKR_OK);
    CKR("C_Initialize", init_as(APP_ALICE), CKR_OK);
    s = open_rw();
    t[1] = t[4];
    CKR("C_FindObjectsInit(certificate with the key's CKA_ID) in a new module instance",
        f->C_FindObjectsInit(s, t, 2), CKR_OK);
    f->C_FindObjects(s, found, 4, &n);
    f->C_FindObjectsFinal(s);
    CHECK("  ... the stored certificate is found", n == 1);
    value = n == 1 ? get_attr(s, found[0], CKA_VALUE, &len) : NULL;
    CHECK("  ... CKA_VALUE is the certificate",
          value && len == (unsigned long)derlen && memcmp(value, der, len) == 0);
    free(value);
    value = n == 1 ? get_attr(s, found[0], CKA_SUBJECT, &len) : NULL;
    CHECK("  ... CKA_SUBJECT is filled from it", value && len > 10);
    free(value);
    CKR("C_DestroyObject of the certificate",
        n == 1 ? f->C_DestroyObject(s, found[0]) : CKR_GENERAL_ERROR, CKR_OK);
    CKR("C_FindObjectsInit again", f->C_FindObjectsInit(s, t, 2), CKR_OK);
    f->C_FindObjects(s, found, 4, &n);
    f->C_FindObjectsFinal(s);
    CHECK("  ... the certificate is gone", n == 0);
    f->C_CloseSession(s);
    free(id);
    OPENSSL_free(der);
}

/* ---- threads, fork, isolation ------------------------------------------------------------ */

typedef struct worker {
    pthread_t thread;
    ck_object_handle_t key;
    EVP_PKEY *pub;
    int signatures, bad;
} worker;

static void *worker_run(void *arg)
{
    worker *w = arg;
    ck_session_handle_t s = 0;
    unsigned char msg[32], sig[128];
    unsigned long siglen;
    time_t end = time(NULL) + 3;

    if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
        w->bad++;
        return NULL;
    }
    while (time(NULL) < end) {
        RAND_bytes(msg, sizeof(msg));
        siglen = sizeof(sig);
        if (sign(s, CKM_ECDSA_SHA256, NULL, 0, w->key, msg, sizeof(msg), sig, &siglen) != CKR_OK ||
            !ossl_verify(w->pub, "SHA256", 0, msg, sizeof(msg), sig, siglen))
            w->bad++;
        w->signatures++;
    }
    f->C_CloseSession(s);
    return NULL;
}

/* Handles of a new module instance (C_Finalize forgets them). */
static void relookup(keys *k)
{
    ck_session_handle_t s = open_rw();
    struct {
        const char *label;
        ck_object_handle_t *pub, *priv;
    } all[] = {
        {"p11t-rsa", &k->rsa_pub, &k->rsa_priv},       {"p11t-ec", &k->ec_pub, &k->ec_priv},
        {"p11t-ec384", &k->ec384_pub, &k->ec384_priv}, {"p11t-pss", &k->pss_pub, &k->pss_priv},
        {"p11t-oaep", &k->oaep_pub, &k->oaep_priv},    {"p11t-dec", &k->dec_pub, &k->dec_priv},
        {"p11t-dh", &k->dh_pub, &k->dh_priv}};
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (*all[i].priv == 0)
            continue;
        *all[i].priv = find1(s, CKO_PRIVATE_KEY, all[i].label);
        *all[i].pub = find1(s, CKO_PUBLIC_KEY, all[i].label);
    }
    CHECK("every key is found again by label in the new module instance",
          k->rsa_priv && k->ec_priv && k->dec_priv);
    f->C_CloseSession(s);
}

static void test_threads(keys *k)
{
    worker w[8];
    int i, total = 0, bad = 0;
    char desc[128];

    memset(w, 0, sizeof(w));
    for (i = 0; i < 8; i++) {
        w[i].key = k->ec_priv;
        w[i].pub = k->ec;
        pthread_create(&w[i].thread, NULL, worker_run, &w[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(w[i].thread, NULL);
        total += w[i].signatures;
        bad += w[i].bad;
    }
    snprintf(desc, sizeof(desc),
             "8 threads, one session each, signed for 3 s: %d signatures, %d failed", total, bad);
    CHECK(desc, total >= 8 && bad == 0);
}

/* Runs fn in a fork()ed child; the child's exit status is the number of failures. */
static int in_child(int (*fn)(keys *), keys *k)
{
    pid_t pid;
    int status = 0;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        int rc = fn(k);
        fflush(stdout);
        _exit(rc);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int child_signs(keys *k)
{
    unsigned long n = 0, siglen = sizeof((unsigned char[128]){0});
    unsigned char sig[128];
    static const unsigned char msg[] = "signed by a child";
    ck_session_handle_t s;
    int fails = 0;

    if (f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_CRYPTOKI_NOT_INITIALIZED) {
        printf("# child: C_GetSlotList before C_Initialize did not answer "
               "CKR_CRYPTOKI_NOT_INITIALIZED\n");
        fails++;
    }
    if (init_as(APP_ALICE) != CKR_OK)
        return fails + 1;
    s = open_rw();
    if (s == 0 ||
        sign(s, CKM_ECDSA_SHA256, NULL, 0, find1(s, CKO_PRIVATE_KEY, "p11t-ec"), msg, sizeof(msg),
             sig, &siglen) != CKR_OK ||
        !ossl_verify(k->ec, "SHA256", 0, msg, sizeof(msg), sig, siglen))
        fails++;
    f->C_Finalize(NULL);
    return fails;
}

static int child_as_bob(keys *k)
{
    ck_object_handle_t pub, priv;
    ck_session_handle_t s;
    int fails = 0;

    if (init_as(APP_BOB) != CKR_OK)
        return 1;
    s = open_rw();
    if (find1(s, CKO_PRIVATE_KEY, "p11t-ec") != CK_INVALID_HANDLE) {
        printf("# bob sees alice's key p11t-ec\n");
        fails++;
    }
    if (gen_keypair(s, 0, "p11t-bob", p256, sizeof(p256), NULL, 0, -1, &pub, &priv) != CKR_OK ||
        find1(s, CKO_PRIVATE_KEY, "p11t-bob") != priv) {
        printf("# bob cannot make and find his own key\n");
        fails++;
    }
    /* p11t-bob stays: the parent checks that alice cannot see it. */
    /* Bob's key with alice's key name: a different key. */
    if (gen_keypair(s, 0, "p11t-ec", p256, sizeof(p256), NULL, 0, -1, &pub, &priv) != CKR_OK) {
        printf("# bob cannot use a name alice uses\n");
        fails++;
    } else {
        EVP_PKEY *bobs = pubkey(s, pub);

        if (bobs == NULL || EVP_PKEY_eq(bobs, k->ec) == 1) {
            printf("# bob's 'p11t-ec' is alice's key\n");
            fails++;
        }
        EVP_PKEY_free(bobs);
        f->C_DestroyObject(s, priv);
    }
    f->C_Finalize(NULL);
    return fails;
}

static void test_fork_isolation(keys *k)
{
    ck_session_handle_t s;
    unsigned char sig[128];
    unsigned long siglen = sizeof(sig);
    static const unsigned char msg[] = "parent after the child";

    CKR("a fork()ed child re-initialises and signs (exit status = failures)",
        in_child(child_signs, k), 0);
    s = open_rw();
    CKR("the parent still signs after the child finalized",
        sign(s, CKM_ECDSA_SHA256, NULL, 0, k->ec_priv, msg, sizeof(msg), sig, &siglen), CKR_OK);
    CKR("a child as application 'p11t-bob' sees none of alice's keys and has its own",
        in_child(child_as_bob, k), 0);
    CHECK("alice does not see bob's key",
          find1(s, CKO_PRIVATE_KEY, "p11t-bob") == CK_INVALID_HANDLE);
    f->C_CloseSession(s);
}

static void test_destroy(keys *k)
{
    ck_object_handle_t all[] = {k->rsa_priv,  k->ec_pub,   k->ec384_priv, k->pss_priv,
                                k->oaep_priv, k->dec_priv, k->dh_priv};
    ck_session_handle_t s = open_rw(), ro = 0;
    unsigned long cls = CKO_PRIVATE_KEY;
    struct ck_attribute t = {CKA_CLASS, &cls, sizeof(cls)};
    size_t i;
    int ok = 1;

    f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ro);
    CKR("C_DestroyObject on a read-only session: CKR_SESSION_READ_ONLY",
        f->C_DestroyObject(ro, k->rsa_priv), CKR_SESSION_READ_ONLY);
    f->C_CloseSession(ro);
    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (all[i] != 0 && f->C_DestroyObject(s, all[i]) != CKR_OK)
            ok = 0;
    CHECK("C_DestroyObject of every test key (a public key handle destroys the pair)", ok);
    CHECK("  ... the EC private key is gone too",
          find1(s, CKO_PRIVATE_KEY, "p11t-ec") == CK_INVALID_HANDLE);
    CKR("  ... its old handle: CKR_OBJECT_HANDLE_INVALID",
        f->C_GetAttributeValue(s, k->ec_priv, &t, 1), CKR_OBJECT_HANDLE_INVALID);
    f->C_CloseSession(s);
}

static int run_all(void)
{
    keys k;
    ck_session_handle_t s;

    memset(&k, 0, sizeof(k));
    test_init_and_slots();
    test_mechanisms();
    test_sessions();
    s = open_rw();
    test_keygen(s, &k);
    test_objects(s, &k);
    test_sign(s, &k);
    test_decrypt(s, &k);
    test_derive(s, &k);
    test_digest_random(s);
    test_certificates(s, &k); /* finalizes and re-initialises the module */
    relookup(&k);
    test_threads(&k);
    test_fork_isolation(&k);
    test_destroy(&k);
    CKR("C_Finalize", f->C_Finalize(NULL), CKR_OK);
    CKR("C_OpenSession after C_Finalize: CKR_CRYPTOKI_NOT_INITIALIZED",
        f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_CRYPTOKI_NOT_INITIALIZED);
    EVP_PKEY_free(k.rsa);
    EVP_PKEY_free(k.ec);
    EVP_PKEY_free(k.ec384);
    EVP_PKEY_free(k.pss);
    EVP_PKEY_free(k.oaep);
    EVP_PKEY_free(k.dec);
    EVP_PKEY_free(k.dh);
    return 0;
}

/* Same session and handles across a parsecd restart. */
static int run_restart(void)
{
    ck_slot_id_t slots[4];
    unsigned long n = 4, siglen;
    ck_object_handle_t pub, priv;
    ck_session_handle_t s;
    unsigned char sig[128], line[16];
    static const unsigned char msg[] = "across a restart";
    EVP_PKEY *pk;

    CKR("C_Initialize", init_as(APP_ALICE), CKR_OK);
    f->C_GetSlotList(CK_TRUE, slots, &n);
    slot = slots[0];
    s = open_rw();
    CKR("C_GenerateKeyPair 'p11t-restart'",
        gen_keypair(s, 0, "p11t-restart", p256, sizeof(p256), NULL, 0, -1, &pub, &priv), CKR_OK);
    pk = pubkey(s, pub);
    siglen = sizeof(sig);
    CKR("C_Sign before the restart",
        sign(s, CKM_ECDSA_SHA256, NULL, 0, priv, msg, sizeof(msg), sig, &siglen), CKR_OK);
    printf("READY\n");
    fflush(stdout);
    if (fgets((char *)line, sizeof(line), stdin) == NULL)
        report(0, "the test script said go");
    siglen = sizeof(sig);
    CKR("C_Sign on the same session and handle after parsecd restarted",
        sign(s, CKM_ECDSA_SHA256, NULL, 0, priv, msg, sizeof(msg), sig, &siglen), CKR_OK);
    CHECK("  ... OpenSSL verifies it",
          pk && ossl_verify(pk, "SHA256", 0, msg, sizeof(msg), sig, siglen));
    CHECK("  ... the key is still found by label",
          find1(s, CKO_PRIVATE_KEY, "p11t-restart") == priv);
    CKR("C_DestroyObject", f->C_DestroyObject(s, priv), CKR_OK);
    CKR("C_Finalize", f->C_Finalize(NULL), CKR_OK);
    EVP_PKEY_free(pk);
    return 0;
}

int main(int argc, char **argv)
{
    CK_C_GetFunctionList get;
    void *lib;

    if (argc != 4) {
        fprintf(stderr, "usage: p11module-test MODULE BACKEND all|restart\n");
        return 2;
    }
    backend = argv[2];
    lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        printf("not ok - dlopen %s: %s\n0 passed, 1 failed\n", argv[1], dlerror());
        return 1;
    }
    get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
    CHECK("the module exports C_GetFunctionList", get != NULL);
    if (get == NULL || get(&f) != CKR_OK || f == NULL) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    CHECK("the function list says 2.40", f->version.major == 2 && f->version.minor == 40);
    if (strcmp(argv[3], "restart") == 0)
        run_restart();
    else
        run_all();
    /* The module stays loaded: atfork handlers and OpenSSL's exit handlers may point into it. */
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
