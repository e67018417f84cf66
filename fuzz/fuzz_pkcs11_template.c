/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PKCS#11 front-end's parsing of what applications hand it
 * (pkcs11/pp11_template.c): mechanisms with their parameters, attribute
 * templates, CKA_EC_PARAMS and PKCS#1 DigestInfo blocks.
 *
 * Input: byte 0 selects the parser (mod 4), the rest feeds it:
 *   0 mechanism   [mech index][operation][parameter shape] then fields:
 *                 shape 0 no parameter, 1 the rest as raw parameter bytes
 *                 (never a whole OAEP or ECDH struct: those hold pointers),
 *                 2 PSS (hash, mgf, sLen as LE u32), 3 OAEP (hash, mgf,
 *                 source as LE u32, the rest is the label), 4 ECDH (kdf LE
 *                 u32, shared-data length byte, the rest is public data)
 *   1 template    items of [type LE u32][length byte][value bytes]
 *   2 EC params   the rest as CKA_EC_PARAMS
 *   3 DigestInfo  the rest as CKM_RSA_PKCS input
 * Every pointer the harness builds covers exactly the bytes its length
 * says (in its own allocation), as the PKCS#11 caller contract requires,
 * so ASan sees any read past them.
 * Oracles besides the sanitizers: only the CKRs the spec names for each
 * step, parsed results consistent with the input (PSS salt = hash length,
 * OAEP label copied whole, ECDH point uncompressed, curve OID round trip,
 * digest inside the DigestInfo and as long as its hash).
 */
#include <string.h>

#include <openssl/crypto.h>

#include "fuzz.h"
#include "pp11.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static const ck_mechanism_type_t fuzz_mechs[] = {
    CKM_RSA_PKCS,
    CKM_RSA_PKCS_PSS,
    CKM_RSA_PKCS_OAEP,
    CKM_ECDSA,
    CKM_ECDH1_DERIVE,
    CKM_SHA256_RSA_PKCS,
    CKM_SHA384_RSA_PKCS,
    CKM_SHA512_RSA_PKCS,
    CKM_SHA256_RSA_PKCS_PSS,
    CKM_SHA384_RSA_PKCS_PSS,
    CKM_SHA512_RSA_PKCS_PSS,
    CKM_ECDSA_SHA256,
    CKM_ECDSA_SHA384,
    CKM_ECDSA_SHA512,
    CKM_SHA_1,
    CKM_SHA224,
    CKM_SHA256,
    CKM_SHA384,
    CKM_SHA512,
    CKM_MD5,
    CKM_AES_CBC,
    CKM_RSA_X_509,
};
static const ck_flags_t fuzz_ops[] = {CKF_SIGN,    CKF_VERIFY, CKF_DECRYPT,
                                      CKF_ENCRYPT, CKF_DERIVE, CKF_DIGEST};

static uint32_t fuzz_u32(const uint8_t **p, size_t *n)
{
    uint32_t v = 0;
    size_t i;

    for (i = 0; i < 4 && *n > 0; i++, (*p)++, (*n)--)
        v |= (uint32_t) * *p << (8 * i);
    return v;
}

/* A copy of len bytes in an allocation of exactly that size (NULL for 0). */
static unsigned char *fuzz_dup(const uint8_t *p, size_t len)
{
    unsigned char *d;

    if (len == 0)
        return NULL;
    d = malloc(len);
    FUZZ_ASSERT(d != NULL);
    memcpy(d, p, len);
    return d;
}

static void fuzz_mechanism(const uint8_t *p, size_t n)
{
    struct ck_rsa_pkcs_pss_params *pss = NULL;
    struct ck_rsa_pkcs_oaep_params *oaep = NULL;
    struct ck_ecdh1_derive_params *ecdh = NULL;
    unsigned char *raw = NULL, *label = NULL, *shared = NULL, *pub = NULL;
    struct ck_mechanism m = {0, NULL, 0};
    pp11_mech out;
    ck_flags_t op;
    ck_rv_t rv;
    int shape;

    if (n < 3)
        return;
    m.mechanism = fuzz_mechs[p[0] % (sizeof(fuzz_mechs) / sizeof(fuzz_mechs[0]))];
    op = fuzz_ops[p[1] % (sizeof(fuzz_ops) / sizeof(fuzz_ops[0]))];
    shape = p[2] % 5;
    p += 3;
    n -= 3;
    switch (shape) {
    case 1:
        /*
         * The OAEP and ECDH parameters hold pointers the caller must make
         * valid; raw bytes of exactly their size would be pointers chosen by
         * the fuzzer, so cut one byte (which still exercises the size check).
         */
        if ((m.mechanism == CKM_RSA_PKCS_OAEP && n == sizeof(*oaep)) ||
            (m.mechanism == CKM_ECDH1_DERIVE && n == sizeof(*ecdh)))
            n--;
        raw = fuzz_dup(p, n);
        m.parameter = raw;
        m.parameter_len = n;
        break;
    case 2:
        pss = malloc(sizeof(*pss));
        FUZZ_ASSERT(pss != NULL);
        pss->hash_alg = fuzz_mechs[fuzz_u32(&p, &n) % (sizeof(fuzz_mechs) / sizeof(fuzz_mechs[0]))];
        pss->mgf = fuzz_u32(&p, &n) % 8;
        pss->s_len = fuzz_u32(&p, &n) % 80;
        m.parameter = pss;
        m.parameter_len = sizeof(*pss);
        break;
    case 3:
        oaep = malloc(sizeof(*oaep));
        FUZZ_ASSERT(oaep != NULL);
        oaep->hash_alg =
            fuzz_mechs[fuzz_u32(&p, &n) % (sizeof(fuzz_mechs) / sizeof(fuzz_mechs[0]))];
        oaep->mgf = fuzz_u32(&p, &n) % 8;
        oaep->source = fuzz_u32(&p, &n) % 3;
        label = fuzz_dup(p, n);
        oaep->source_data = label;
        oaep->source_data_len = n;
        m.parameter = oaep;
        m.parameter_len = sizeof(*oaep);
        break;
    case 4: {
        size_t slen;

        ecdh = malloc(sizeof(*ecdh));
        FUZZ_ASSERT(ecdh != NULL);
        ecdh->kdf = fuzz_u32(&p, &n) % 10;
        slen = n > 0 ? *p % 4 : 0;
        if (n > 0) {
            p++;
            n--;
        }
        slen = slen < n ? slen : n;
        shared = fuzz_dup(p, slen);
        ecdh->shared_data = shared;
        ecdh->shared_data_len = slen;
        pub = fuzz_dup(p + slen, n - slen);
        ecdh->public_data = pub;
        ecdh->public_data_len = n - slen;
        m.parameter = ecdh;
        m.parameter_len = sizeof(*ecdh);
        break;
    }
    default:
        break;
    }
    rv = pp11_mech_parse(&m, op, &out);
    FUZZ_ASSERT(rv == CKR_OK || rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID);
    if (rv == CKR_OK) {
        FUZZ_ASSERT(out.type == m.mechanism);
        if (op == CKF_DIGEST)
            FUZZ_ASSERT(out.alg.kind == PARSEC_ALG_HASH && parsec_hash_length(out.alg.hash) > 0);
        else
            FUZZ_ASSERT(out.key_type == (int)CKK_RSA || out.key_type == (int)CKK_EC);
        if (pss != NULL && out.alg.scheme == PARSEC_SIGN_RSA_PSS)
            FUZZ_ASSERT(pss->s_len == parsec_hash_length(out.alg.hash));
        if (oaep != NULL)
            FUZZ_ASSERT(out.label_len == oaep->source_data_len &&
                        (out.label_len == 0 || memcmp(out.label, label, out.label_len) == 0));
        if (ecdh != NULL)
            FUZZ_ASSERT(ecdh->kdf == CKD_NULL && out.peer_len > 0 && out.peer[0] == 0x04 &&
                        out.peer_len % 2 == 1 && out.peer_len <= ecdh->public_data_len);
        if (out.hash_locally)
            FUZZ_ASSERT(parsec_hash_length(out.alg.hash) > 0);
    }
    pp11_mech_clear(&out);
    free(raw);
    free(label);
    free(shared);
    free(pub);
    free(pss);
    free(oaep);
    free(ecdh);
}

static void fuzz_template(const uint8_t *p, size_t n)
{
    struct ck_attribute t[32];
    unsigned long count = 0, ul = 7, i;
    int b = 2;
    ck_rv_t rv;

    while (n >= 5 && count < 32) {
        size_t len;

        t[count].type = fuzz_u32(&p, &n) % 0x180;
        len = *p++ % 24;
        n--;
        len = len < n ? len : n;
        t[count].value = fuzz_dup(p, len);
        t[count].value_len = len;
        p += len;
        n -= len;
        count++;
    }
    rv = pp11_template_check(t, count);
    FUZZ_ASSERT(rv == CKR_OK || rv == CKR_TEMPLATE_INCONSISTENT ||
                rv == CKR_ATTRIBUTE_VALUE_INVALID);
    if (rv == CKR_OK) {
        for (i = 0; i < count; i++)
            FUZZ_ASSERT(pp11_attr_find(t, count, t[i].type) == &t[i]);
    }
    rv = pp11_attr_bool(t, count, CKA_TOKEN, &b);
    FUZZ_ASSERT(rv == CKR_OK || rv == CKR_ATTRIBUTE_VALUE_INVALID);
    FUZZ_ASSERT(b == 0 || b == 1 ||
                (b == 2 && (rv != CKR_OK || pp11_attr_find(t, count, CKA_TOKEN) == NULL)));
    rv = pp11_attr_ulong(t, count, CKA_CLASS, &ul);
    FUZZ_ASSERT(rv == CKR_OK || rv == CKR_ATTRIBUTE_VALUE_INVALID);
    for (i = 0; i < count; i++)
        free(t[i].value);
}

static void fuzz_ec_params(const uint8_t *p, size_t n)
{
    unsigned char *in = fuzz_dup(p, n), *der = NULL;
    uint32_t bits = pp11_curve_bits_from_params(in, n);
    size_t len = 0;

    FUZZ_ASSERT(bits == 0 || bits == 256 || bits == 384 || bits == 521);
    if (bits != 0) {
        FUZZ_ASSERT(pp11_curve_params(bits, &der, &len));
        FUZZ_ASSERT(len == n && memcmp(der, in, n) == 0);
        OPENSSL_free(der);
    }
    free(in);
}

static void fuzz_digest_info(const uint8_t *p, size_t n)
{
    unsigned char *in = fuzz_dup(p, n);
    const unsigned char *digest = NULL;
    size_t dlen = 0;
    uint8_t hash = 0;

    if (pp11_digest_info_parse(in, n, &hash, &digest, &dlen)) {
        FUZZ_ASSERT(dlen == parsec_hash_length(hash) && dlen > 0);
        FUZZ_ASSERT(digest >= in && digest + dlen == in + n);
    }
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        fuzz_mechanism(data + 1, size - 1);
        break;
    case 1:
        fuzz_template(data + 1, size - 1);
        break;
    case 2:
        fuzz_ec_params(data + 1, size - 1);
        break;
    default:
        fuzz_digest_info(data + 1, size - 1);
        break;
    }
    return 0;
}
