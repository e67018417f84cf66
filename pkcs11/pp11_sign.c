/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C_Sign* through the service and C_Verify* in software with the key's
 * exported public half.
 *
 * A Parsec key permits one algorithm. Mechanisms map onto it as the
 * provider's signature/sig_rsa.c does: CKM_RSA_PKCS signs a DigestInfo,
 * which a key with an RSA PKCS#1 v1.5 (hash) policy signs as that hash
 * (the same signature bytes, RFC 8017 9.2), and a PKCS#1 v1.5 raw key signs
 * as given; CKM_SHA*_RSA_PKCS* and CKM_ECDSA_SHA* hash locally with
 * OpenSSL. Anything the policy does not allow is refused before the
 * service is asked (CKR_KEY_FUNCTION_NOT_PERMITTED), never signed otherwise.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "parsec_psa_crypto.h"
#include "pp11.h"

/* Data of CKM_RSA_PKCS / CKM_ECDSA collected by C_*Update (they are single-part in PKCS#11). */
#define PP11_MAX_BUFFERED 8192

int pp11_sign_alg(const pp11_key *key, uint8_t scheme, uint8_t hash, parsec_alg *req)
{
    const parsec_alg *policy = &key->attrs.alg;

    req->kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
    req->scheme = 0;
    req->hash = hash;
    if (policy->kind != PARSEC_ALG_ASYMMETRIC_SIGNATURE)
        return 0;
    if (scheme == PARSEC_SIGN_RSA_PKCS1V15 && policy->scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW) {
        req->scheme = PARSEC_SIGN_RSA_PKCS1V15_RAW;
        req->hash = 0;
    } else if (scheme == PARSEC_SIGN_ECDSA && policy->scheme == PARSEC_SIGN_ECDSA_ANY) {
        req->scheme = PARSEC_SIGN_ECDSA_ANY;
        req->hash = 0;
    } else if (scheme == PARSEC_SIGN_ECDSA && policy->scheme == PARSEC_SIGN_DETERMINISTIC_ECDSA) {
        req->scheme = PARSEC_SIGN_DETERMINISTIC_ECDSA;
    } else if (scheme == policy->scheme) {
        req->scheme = scheme;
    } else {
        return 0;
    }
    /* Hash not known before the data: the scheme matching is all that can be checked. */
    if (req->hash == 0 && parsec_hash_length(policy->hash) != 0 && req->scheme == policy->scheme)
        return 1;
    if (req->hash == 0 && policy->hash == PARSEC_HASH_ANY)
        return 1;
    return parsec_alg_permits(policy, req);
}

ck_rv_t pp11_key_permits(const pp11_key *key, const pp11_mech *mech, ck_flags_t op)
{
    const parsec_alg *policy = &key->attrs.alg;
    const uint32_t use = key->attrs.usage;
    parsec_alg req;

    if (pp11_key_cktype(key) != (unsigned long)mech->key_type)
        return CKR_KEY_TYPE_INCONSISTENT;
    switch (op) {
    case CKF_SIGN:
    case CKF_VERIFY:
        if (op == CKF_SIGN && !(use & (PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_SIGN_MESSAGE)))
            return CKR_KEY_FUNCTION_NOT_PERMITTED;
        return pp11_sign_alg(key, mech->alg.scheme, mech->alg.hash, &req)
                   ? CKR_OK
                   : CKR_KEY_FUNCTION_NOT_PERMITTED;
    case CKF_DECRYPT:
    case CKF_ENCRYPT:
        if (op == CKF_DECRYPT && !(use & PARSEC_USAGE_DECRYPT))
            return CKR_KEY_FUNCTION_NOT_PERMITTED;
        return policy->kind == PARSEC_ALG_ASYMMETRIC_ENCRYPTION &&
                       policy->scheme == mech->alg.scheme && policy->hash == mech->alg.hash
                   ? CKR_OK
                   : CKR_KEY_FUNCTION_NOT_PERMITTED;
    case CKF_DERIVE:
        return (use & PARSEC_USAGE_DERIVE) && policy->kind == PARSEC_ALG_KEY_AGREEMENT &&
                       policy->scheme == PARSEC_KA_ECDH
                   ? CKR_OK
                   : CKR_KEY_FUNCTION_NOT_PERMITTED;
    default:
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    }
}

size_t pp11_key_mechanisms(const pp11_key *key, ck_mechanism_type_t *out, size_t max)
{
    static const ck_mechanism_type_t sign[] = {
        CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS,
        CKM_ECDSA,    CKM_ECDSA_SHA256,    CKM_ECDSA_SHA384,    CKM_ECDSA_SHA512,
    };
    static const ck_mechanism_type_t pss[] = {CKM_SHA256_RSA_PKCS_PSS, CKM_SHA384_RSA_PKCS_PSS,
                                              CKM_SHA512_RSA_PKCS_PSS};
    size_t n = 0, i;
    pp11_mech m;

    for (i = 0; i < sizeof(sign) / sizeof(sign[0]) && n < max; i++) {
        struct ck_mechanism cm = {sign[i], NULL, 0};

        if (pp11_mech_parse(&cm, CKF_SIGN, &m) == CKR_OK &&
            pp11_key_permits(key, &m, CKF_SIGN) == CKR_OK)
            out[n++] = sign[i];
        pp11_mech_clear(&m);
    }
    /* PSS: the generic mechanism when any of the hashed ones is allowed. */
    for (i = 0; i < 3 && n + 1 < max; i++) {
        uint8_t h = PARSEC_HASH_SHA_256 + (uint8_t)i;
        /* CKG_MGF1_SHA256, _SHA384, _SHA512 are 2, 3, 4. */
        struct ck_rsa_pkcs_pss_params p = {pp11_ckm_from_hash(h), CKG_MGF1_SHA256 + i,
                                           parsec_hash_length(h)};
        struct ck_mechanism cm = {pss[i], &p, sizeof(p)};

        if (pp11_mech_parse(&cm, CKF_SIGN, &m) == CKR_OK &&
            pp11_key_permits(key, &m, CKF_SIGN) == CKR_OK) {
            if (n == 0 || out[0] != CKM_RSA_PKCS_PSS) {
                memmove(out + 1, out, sizeof(*out) * n);
                out[0] = CKM_RSA_PKCS_PSS;
                n++;
            }
            out[n++] = pss[i];
        }
        pp11_mech_clear(&m);
    }
    if (key->attrs.alg.kind == PARSEC_ALG_ASYMMETRIC_ENCRYPTION && n < max)
        out[n++] =
            key->attrs.alg.scheme == PARSEC_ENCRYPT_RSA_OAEP ? CKM_RSA_PKCS_OAEP : CKM_RSA_PKCS;
    if (key->attrs.alg.kind == PARSEC_ALG_KEY_AGREEMENT && n < max)
        out[n++] = CKM_ECDH1_DERIVE;
    return n;
}

/* ---- the operation ---------------------------------------------------------------- */

ck_rv_t C_SignInit(ck_session_handle_t session, struct ck_mechanism *mechanism,
                   ck_object_handle_t key)
{
    return pp11_op_init(session, mechanism, key, CKF_SIGN);
}

ck_rv_t C_VerifyInit(ck_session_handle_t session, struct ck_mechanism *mechanism,
                     ck_object_handle_t key)
{
    return pp11_op_init(session, mechanism, key, CKF_VERIFY);
}

static ck_rv_t pp11_sig_update(pp11_op *op, const unsigned char *part, unsigned long len)
{
    unsigned char *grown;

    if (part == NULL && len > 0)
        return CKR_ARGUMENTS_BAD;
    op->multipart = 1;
    if (op->md != NULL)
        return EVP_DigestUpdate(op->md, part, len) ? CKR_OK : CKR_FUNCTION_FAILED;
    if (op->buffered_len + len > PP11_MAX_BUFFERED)
        return CKR_DATA_LEN_RANGE;
    grown = OPENSSL_realloc(op->buffered, op->buffered_len + len + 1);
    if (grown == NULL)
        return CKR_HOST_MEMORY;
    if (len > 0)
        memcpy(grown + op->buffered_len, part, len);
    op->buffered = grown;
    op->buffered_len += len;
    return CKR_OK;
}

/* Hash of a CKM_ECDSA input, from its length. */
static uint8_t pp11_hash_by_length(size_t len)
{
    static const uint8_t hashes[] = {PARSEC_HASH_SHA_1, PARSEC_HASH_SHA_224, PARSEC_HASH_SHA_256,
                                     PARSEC_HASH_SHA_384, PARSEC_HASH_SHA_512};
    size_t i;

    for (i = 0; i < sizeof(hashes); i++)
        if (parsec_hash_length(hashes[i]) == len)
            return hashes[i];
    return PARSEC_HASH_NONE;
}

/* DER DigestInfo of a digest (for keys whose policy is PKCS#1 v1.5 raw). */
static int pp11_digest_info(uint8_t hash, const unsigned char *dig, size_t len, unsigned char **out,
                            size_t *outlen)
{
    X509_SIG *sig = X509_SIG_new();
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING *os = NULL;
    const EVP_MD *md = pp11_md(hash);
    int n = 0;

    *out = NULL;
    if (sig != NULL && md != NULL) {
        X509_SIG_getm(sig, &alg, &os);
        if (X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL) &&
            ASN1_OCTET_STRING_set(os, dig, (int)len))
            n = i2d_X509_SIG(sig, out);
    }
    X509_SIG_free(sig);
    if (n <= 0)
        return 0;
    *outlen = (size_t)n;
    return 1;
}

/*
 * The Parsec request and the bytes to send for the data of an operation
 * (`data` is the digest for mechanisms that hash locally). *input may be
 * set to an allocated DigestInfo the caller frees.
 */
static ck_rv_t pp11_sig_prepare(const pp11_op *op, const unsigned char *data, size_t len,
                                parsec_alg *req, const unsigned char **in, size_t *inlen,
                                unsigned char **alloc)
{
    const pp11_key *key = op->key;
    uint8_t hash = op->mech.alg.hash;
    const unsigned char *dig = data;
    size_t diglen = len;

    *alloc = NULL;
    if (op->mech.alg.scheme == PARSEC_SIGN_ECDSA && !op->mech.hash_locally)
        hash = pp11_hash_by_length(len);
    if (op->mech.alg.scheme == PARSEC_SIGN_RSA_PKCS1V15 && !op->mech.hash_locally &&
        key->attrs.alg.scheme != PARSEC_SIGN_RSA_PKCS1V15_RAW) {
        /* CKM_RSA_PKCS on a hash policy: the input must be a DigestInfo we can name. */
        if (!pp11_digest_info_parse(data, len, &hash, &dig, &diglen)) {
            PP11_log("key '%s' signs PKCS#1 v1.5 with a named hash: CKM_RSA_PKCS input must be a"
                     " DigestInfo of SHA-1/224/256/384/512",
                     key->name);
            return CKR_KEY_FUNCTION_NOT_PERMITTED;
        }
    }
    if (op->mech.alg.scheme != PARSEC_SIGN_RSA_PKCS1V15 ||
        key->attrs.alg.scheme != PARSEC_SIGN_RSA_PKCS1V15_RAW) {
        if (hash == PARSEC_HASH_NONE || diglen != parsec_hash_length(hash))
            return CKR_DATA_LEN_RANGE;
    }
    if (!pp11_sign_alg(key, op->mech.alg.scheme, hash, req)) {
        PP11_log("key '%s': its Parsec policy does not allow this signature (hash %s)", key->name,
                 parsec_hash_ossl_name(hash) != NULL ? parsec_hash_ossl_name(hash) : "none");
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    }
    *in = dig;
    *inlen = diglen;
    if (req->scheme == PARSEC_SIGN_RSA_PKCS1V15_RAW) {
        *in = data;
        *inlen = len;
        if (op->mech.hash_locally) {
            if (!pp11_digest_info(hash, data, len, alloc, inlen))
                return CKR_HOST_MEMORY;
            *in = *alloc;
        }
        if (*inlen + 11 > pp11_key_sig_len(key))
            return CKR_DATA_LEN_RANGE;
    }
    return CKR_OK;
}

static ck_rv_t pp11_sign_run(pp11_op *op, const unsigned char *data, size_t len, unsigned char *sig,
                             unsigned long *sig_len)
{
    const unsigned char *in = NULL;
    unsigned char *alloc = NULL;
    uint8_t *out = NULL;
    size_t inlen = 0, outlen = 0;
    parsec_alg req;
    parsec_status st;
    ck_rv_t rv;

    rv = pp11_sig_prepare(op, data, len, &req, &in, &inlen, &alloc);
    if (rv != CKR_OK)
        goto done;
    st = parsec_sign_hash(pp11_mod.client, op->key->provider_id, op->key->name, &req, in, inlen,
                          &out, &outlen);
    if (st != PARSEC_SUCCESS) {
        PP11_log("SignHash with '%s': %s (%s)", op->key->name, parsec_status_message(st),
                 parsec_status_name(st));
        rv = pp11_ckr_from_status(st);
        goto done;
    }
    if (outlen > *sig_len) {
        *sig_len = outlen;
        rv = CKR_BUFFER_TOO_SMALL;
        goto done;
    }
    memcpy(sig, out, outlen);
    *sig_len = outlen;
done:
    OPENSSL_free(alloc);
    parsec_free(out);
    return rv;
}

/* NULL buffer: the length; too small: CKR_BUFFER_TOO_SMALL, the operation stays (PKCS#11 5.2). */
static int pp11_length_query(const pp11_op *op, unsigned char *buf, unsigned long *len, ck_rv_t *rv)
{
    size_t need = pp11_key_sig_len(op->key);

    if (buf == NULL) {
        *len = need;
        *rv = CKR_OK;
        return 1;
    }
    if (*len < need) {
        *len = need;
        *rv = CKR_BUFFER_TOO_SMALL;
        return 1;
    }
    return 0;
}

/* Finish the local digest (on a copy, so a later retry finds the context intact). */
static ck_rv_t pp11_digest_final(pp11_op *op, unsigned char *md, unsigned int *mdlen)
{
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    int ok =
        copy != NULL && EVP_MD_CTX_copy_ex(copy, op->md) && EVP_DigestFinal_ex(copy, md, mdlen);

    EVP_MD_CTX_free(copy);
    return ok ? CKR_OK : CKR_FUNCTION_FAILED;
}

static ck_rv_t pp11_verify_run(pp11_op *op, const unsigned char *data, size_t len,
                               const unsigned char *sig, size_t siglen);

/* The bytes a signature covers: the local digest (hashing mechanisms) or the data itself. */
static ck_rv_t pp11_sig_input(pp11_op *op, int final, const unsigned char *data, size_t len,
                              unsigned char md[EVP_MAX_MD_SIZE], const unsigned char **in,
                              size_t *inlen)
{
    unsigned int mdlen = 0;
    ck_rv_t rv;

    if (op->md == NULL) {
        *in = final ? op->buffered : data;
        *inlen = final ? op->buffered_len : len;
        return CKR_OK;
    }
    if (!final && !EVP_DigestUpdate(op->md, data, len))
        return CKR_FUNCTION_FAILED;
    rv = pp11_digest_final(op, md, &mdlen);
    *in = md;
    *inlen = mdlen;
    return rv;
}

/*
 * C_Sign, C_SignFinal, C_Verify, C_VerifyFinal (`final`: the data came
 * through C_*Update). For verification *sig_len is the signature's length.
 */
static ck_rv_t pp11_sig_finish(ck_session_handle_t session, int kind, int final,
                               const unsigned char *data, unsigned long data_len,
                               unsigned char *sig, unsigned long *sig_len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    const unsigned char *in = NULL;
    size_t inlen = 0;
    pp11_session *s;
    int keep = 0;
    ck_rv_t rv = pp11_session_op(session, kind, &s);

    if (rv != CKR_OK)
        return rv;
    if ((data == NULL && data_len > 0) || sig_len == NULL ||
        (kind == PP11_OP_VERIFY && sig == NULL)) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (!final && s->op.multipart) {
        rv = CKR_OPERATION_ACTIVE; /* a multi-part operation ends with C_*Final only */
        keep = 1;
    } else if (kind == PP11_OP_SIGN && pp11_length_query(&s->op, sig, sig_len, &rv)) {
        keep = 1;
    } else {
        rv = pp11_sig_input(&s->op, final, data, data_len, md, &in, &inlen);
        if (rv == CKR_OK && kind == PP11_OP_SIGN)
            rv = pp11_sign_run(&s->op, in, inlen, sig, sig_len);
        else if (rv == CKR_OK)
            rv = pp11_verify_run(&s->op, in, inlen, sig, *sig_len);
        keep = rv == CKR_BUFFER_TOO_SMALL;
    }
    pp11_session_op_done(s, keep);
    return rv;
}

static ck_rv_t pp11_sig_update_call(ck_session_handle_t session, int kind,
                                    const unsigned char *part, unsigned long part_len)
{
    pp11_session *s;
    ck_rv_t rv = pp11_session_op(session, kind, &s);

    if (rv != CKR_OK)
        return rv;
    rv = pp11_sig_update(&s->op, part, part_len);
    pp11_session_op_done(s, rv == CKR_OK);
    return rv;
}

ck_rv_t C_Sign(ck_session_handle_t session, unsigned char *data, unsigned long data_len,
               unsigned char *sig, unsigned long *sig_len)
{
    return pp11_sig_finish(session, PP11_OP_SIGN, 0, data, data_len, sig, sig_len);
}

ck_rv_t C_SignUpdate(ck_session_handle_t session, unsigned char *part, unsigned long part_len)
{
    return pp11_sig_update_call(session, PP11_OP_SIGN, part, part_len);
}

ck_rv_t C_SignFinal(ck_session_handle_t session, unsigned char *sig, unsigned long *sig_len)
{
    return pp11_sig_finish(session, PP11_OP_SIGN, 1, NULL, 0, sig, sig_len);
}

/* ---- verification in software -------------------------------------------------------- */

static ck_rv_t pp11_verify_run(pp11_op *op, const unsigned char *data, size_t len,
                               const unsigned char *sig, size_t siglen)
{
    const unsigned char *in = data;
    unsigned char *der = NULL;
    size_t inlen = len;
    EVP_PKEY_CTX *ctx = NULL;
    uint8_t hash = op->mech.alg.hash;
    ck_rv_t rv = CKR_FUNCTION_FAILED;
    int ec = op->mech.key_type == CKK_EC, res;

    if (siglen != pp11_key_sig_len(op->key))
        return CKR_SIGNATURE_LEN_RANGE;
    if (ec && !op->mech.hash_locally)
        hash = pp11_hash_by_length(len);
    if (op->mech.alg.scheme == PARSEC_SIGN_RSA_PSS && len != parsec_hash_length(hash))
        return CKR_DATA_LEN_RANGE;
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, op->key->pub, NULL);
    if (ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0)
        goto done;
    if (ec) {
        /* r||s (PKCS#11 ECDSA) -> DER ECDSA-Sig-Value, what OpenSSL verifies. */
        if (!parsec_ecdsa_raw_to_der(sig, siglen, &der, &siglen))
            goto done;
        sig = der;
    } else if (op->mech.alg.scheme == PARSEC_SIGN_RSA_PSS) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_signature_md(ctx, pp11_md(hash)) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, pp11_md(hash)) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)parsec_hash_length(hash)) <= 0)
            goto done;
    } else {
        /* Without a digest set, OpenSSL compares the whole recovered block with the input. */
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
            goto done;
        if (op->mech.hash_locally && EVP_PKEY_CTX_set_signature_md(ctx, pp11_md(hash)) <= 0)
            goto done;
    }
    res = EVP_PKEY_verify(ctx, sig, siglen, in, inlen);
    rv = res == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
done:
    OPENSSL_free(der);
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

ck_rv_t C_Verify(ck_session_handle_t session, unsigned char *data, unsigned long data_len,
                 unsigned char *sig, unsigned long sig_len)
{
    return pp11_sig_finish(session, PP11_OP_VERIFY, 0, data, data_len, sig, &sig_len);
}

ck_rv_t C_VerifyUpdate(ck_session_handle_t session, unsigned char *part, unsigned long part_len)
{
    return pp11_sig_update_call(session, PP11_OP_VERIFY, part, part_len);
}

ck_rv_t C_VerifyFinal(ck_session_handle_t session, unsigned char *sig, unsigned long sig_len)
{
    return pp11_sig_finish(session, PP11_OP_VERIFY, 1, NULL, 0, sig, &sig_len);
}
