/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attribute templates and mechanism parameters as applications pass them:
 * everything here reads caller memory only through the lengths the caller
 * gave, so it is what fuzz/fuzz_pkcs11_template.c exercises.
 */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "pp11.h"

const struct ck_attribute *pp11_attr_find(const struct ck_attribute *tmpl, unsigned long count,
                                          ck_attribute_type_t type)
{
    unsigned long i;

    if (tmpl == NULL)
        return NULL;
    for (i = 0; i < count; i++)
        if (tmpl[i].type == type)
            return &tmpl[i];
    return NULL;
}

ck_rv_t pp11_attr_bool(const struct ck_attribute *tmpl, unsigned long count,
                       ck_attribute_type_t type, int *out)
{
    const struct ck_attribute *a = pp11_attr_find(tmpl, count, type);

    if (a == NULL)
        return CKR_OK;
    if (a->value == NULL || a->value_len != sizeof(unsigned char))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *out = *(const unsigned char *)a->value != 0;
    return CKR_OK;
}

ck_rv_t pp11_attr_ulong(const struct ck_attribute *tmpl, unsigned long count,
                        ck_attribute_type_t type, unsigned long *out)
{
    const struct ck_attribute *a = pp11_attr_find(tmpl, count, type);

    if (a == NULL)
        return CKR_OK;
    if (a->value == NULL || a->value_len != sizeof(unsigned long))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(out, a->value, sizeof(unsigned long));
    return CKR_OK;
}

ck_rv_t pp11_template_check(const struct ck_attribute *tmpl, unsigned long count)
{
    unsigned long i, j;

    if (count > 0 && tmpl == NULL)
        return CKR_ARGUMENTS_BAD;
    /* Longer templates than any object has attributes are not a real request. */
    if (count > 256)
        return CKR_TEMPLATE_INCONSISTENT;
    for (i = 0; i < count; i++) {
        if (tmpl[i].value == NULL && tmpl[i].value_len != 0)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        for (j = i + 1; j < count; j++)
            if (tmpl[i].type == tmpl[j].type)
                return CKR_TEMPLATE_INCONSISTENT;
    }
    return CKR_OK;
}

/* ---- curves ---------------------------------------------------------------- */

static const struct {
    uint32_t bits;
    int nid;
} pp11_curves[] = {
    {256, NID_X9_62_prime256v1},
    {384, NID_secp384r1},
    {521, NID_secp521r1},
};

uint32_t pp11_curve_bits_from_params(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    ASN1_OBJECT *oid;
    uint32_t bits = 0;
    size_t i;
    int nid;

    if (der == NULL || len == 0 || len > 64)
        return 0;
    oid = d2i_ASN1_OBJECT(NULL, &p, (long)len);
    if (oid == NULL)
        return 0;
    nid = p == der + len ? OBJ_obj2nid(oid) : NID_undef;
    for (i = 0; i < sizeof(pp11_curves) / sizeof(pp11_curves[0]); i++)
        if (pp11_curves[i].nid == nid)
            bits = pp11_curves[i].bits;
    ASN1_OBJECT_free(oid);
    /* d2i_ASN1_OBJECT ignores the tag class: only the exact DER of the OID counts. */
    if (bits != 0) {
        unsigned char *canon = NULL;
        size_t canonlen = 0;

        if (!pp11_curve_params(bits, &canon, &canonlen) || canonlen != len ||
            memcmp(canon, der, len) != 0)
            bits = 0;
        OPENSSL_free(canon);
    }
    return bits;
}

int pp11_curve_params(uint32_t bits, unsigned char **der, size_t *len)
{
    size_t i;
    int n;

    *der = NULL;
    for (i = 0; i < sizeof(pp11_curves) / sizeof(pp11_curves[0]); i++) {
        if (pp11_curves[i].bits != bits)
            continue;
        n = i2d_ASN1_OBJECT(OBJ_nid2obj(pp11_curves[i].nid), der);
        if (n <= 0)
            return 0;
        *len = (size_t)n;
        return 1;
    }
    return 0;
}

/* ---- hashes --------------------------------------------------------------------- */

static const struct {
    uint8_t hash;
    ck_mechanism_type_t digest, rsa_pkcs, rsa_pss, ecdsa;
    ck_rsa_pkcs_mgf_type_t mgf;
} pp11_hashes[] = {
    {PARSEC_HASH_SHA_1, CKM_SHA_1, 0, 0, 0, CKG_MGF1_SHA1},
    {PARSEC_HASH_SHA_224, CKM_SHA224, 0, 0, 0, CKG_MGF1_SHA224},
    {PARSEC_HASH_SHA_256, CKM_SHA256, CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS,
     CKM_ECDSA_SHA256, CKG_MGF1_SHA256},
    {PARSEC_HASH_SHA_384, CKM_SHA384, CKM_SHA384_RSA_PKCS, CKM_SHA384_RSA_PKCS_PSS,
     CKM_ECDSA_SHA384, CKG_MGF1_SHA384},
    {PARSEC_HASH_SHA_512, CKM_SHA512, CKM_SHA512_RSA_PKCS, CKM_SHA512_RSA_PKCS_PSS,
     CKM_ECDSA_SHA512, CKG_MGF1_SHA512},
};
#define PP11_NHASHES (sizeof(pp11_hashes) / sizeof(pp11_hashes[0]))

uint8_t pp11_hash_from_ckm(ck_mechanism_type_t mech)
{
    size_t i;

    for (i = 0; i < PP11_NHASHES; i++)
        if (pp11_hashes[i].digest == mech)
            return pp11_hashes[i].hash;
    return PARSEC_HASH_NONE;
}

uint8_t pp11_hash_from_mgf(ck_rsa_pkcs_mgf_type_t mgf)
{
    size_t i;

    for (i = 0; i < PP11_NHASHES; i++)
        if (pp11_hashes[i].mgf == mgf)
            return pp11_hashes[i].hash;
    return PARSEC_HASH_NONE;
}

const EVP_MD *pp11_md(uint8_t hash)
{
    const char *name = parsec_hash_ossl_name(hash);

    return name != NULL ? EVP_get_digestbyname(name) : NULL;
}

ck_mechanism_type_t pp11_ckm_from_hash(uint8_t hash)
{
    size_t i;

    for (i = 0; i < PP11_NHASHES; i++)
        if (pp11_hashes[i].hash == hash)
            return pp11_hashes[i].digest;
    return CKM_VENDOR_DEFINED;
}

/* ---- mechanisms --------------------------------------------------------------------- */

static int pp11_no_params(const struct ck_mechanism *m)
{
    return m->parameter_len == 0;
}

/* PSS parameters must be what PSA's RSA-PSS does: MGF1 with the signature hash, salt = hash length. */
static ck_rv_t pp11_parse_pss(const struct ck_mechanism *m, uint8_t want_hash, pp11_mech *out)
{
    struct ck_rsa_pkcs_pss_params pss;
    uint8_t hash;

    if (m->parameter == NULL || m->parameter_len != sizeof(pss))
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(&pss, m->parameter, sizeof(pss));
    hash = pp11_hash_from_ckm(pss.hash_alg);
    if (hash == PARSEC_HASH_NONE || hash == PARSEC_HASH_SHA_1 || hash == PARSEC_HASH_SHA_224 ||
        (want_hash != PARSEC_HASH_NONE && hash != want_hash) ||
        pp11_hash_from_mgf(pss.mgf) != hash || pss.s_len != parsec_hash_length(hash))
        return CKR_MECHANISM_PARAM_INVALID;
    out->alg.hash = hash;
    return CKR_OK;
}

static ck_rv_t pp11_parse_oaep(const struct ck_mechanism *m, pp11_mech *out)
{
    struct ck_rsa_pkcs_oaep_params oaep;
    uint8_t hash;

    if (m->parameter == NULL || m->parameter_len != sizeof(oaep))
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(&oaep, m->parameter, sizeof(oaep));
    hash = pp11_hash_from_ckm(oaep.hash_alg);
    if (hash == PARSEC_HASH_NONE || pp11_hash_from_mgf(oaep.mgf) != hash)
        return CKR_MECHANISM_PARAM_INVALID;
    if (oaep.source == 0) {
        if (oaep.source_data_len != 0)
            return CKR_MECHANISM_PARAM_INVALID;
    } else if (oaep.source != CKZ_DATA_SPECIFIED ||
               (oaep.source_data == NULL && oaep.source_data_len != 0) ||
               oaep.source_data_len > 4096) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (oaep.source_data_len > 0) {
        out->label = OPENSSL_memdup(oaep.source_data, oaep.source_data_len);
        if (out->label == NULL)
            return CKR_HOST_MEMORY;
        out->label_len = oaep.source_data_len;
    }
    out->alg.hash = hash;
    return CKR_OK;
}

/*
 * ECDH public data: the uncompressed point, or (as some applications send
 * CKA_EC_POINT unchanged) that point in a DER OCTET STRING.
 */
static ck_rv_t pp11_parse_ecdh(const struct ck_mechanism *m, pp11_mech *out)
{
    struct ck_ecdh1_derive_params ecdh;
    const unsigned char *point, *p;
    ASN1_OCTET_STRING *os = NULL;
    size_t len;
    ck_rv_t rv = CKR_MECHANISM_PARAM_INVALID;

    if (m->parameter == NULL || m->parameter_len != sizeof(ecdh))
        return CKR_MECHANISM_PARAM_INVALID;
    memcpy(&ecdh, m->parameter, sizeof(ecdh));
    /* Only the raw shared secret (CKD_NULL): Parsec has no KDF on key agreement. */
    if (ecdh.kdf != CKD_NULL || ecdh.shared_data_len != 0 || ecdh.public_data == NULL ||
        ecdh.public_data_len == 0 || ecdh.public_data_len > 1024)
        return CKR_MECHANISM_PARAM_INVALID;
    point = ecdh.public_data;
    len = ecdh.public_data_len;
    if (point[0] == 0x04 && len % 2 == 1) {
        /* already a point */
    } else {
        p = ecdh.public_data;
        os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)ecdh.public_data_len);
        if (os == NULL || p != ecdh.public_data + ecdh.public_data_len)
            goto done;
        point = ASN1_STRING_get0_data(os);
        len = (size_t)ASN1_STRING_length(os);
        if (len == 0 || point[0] != 0x04 || len % 2 != 1)
            goto done;
    }
    out->peer = OPENSSL_memdup(point, len);
    if (out->peer == NULL) {
        rv = CKR_HOST_MEMORY;
        goto done;
    }
    out->peer_len = len;
    rv = CKR_OK;
done:
    ASN1_OCTET_STRING_free(os);
    return rv;
}

ck_rv_t pp11_mech_parse(const struct ck_mechanism *m, ck_flags_t op, pp11_mech *out)
{
    int sign = op == CKF_SIGN || op == CKF_VERIFY;
    int crypt = op == CKF_DECRYPT || op == CKF_ENCRYPT;
    size_t i;

    memset(out, 0, sizeof(*out));
    if (m == NULL)
        return CKR_ARGUMENTS_BAD;
    if (m->parameter == NULL && m->parameter_len != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    out->type = m->mechanism;
    switch (m->mechanism) {
    case CKM_RSA_PKCS:
        if (!sign && !crypt)
            return CKR_MECHANISM_INVALID;
        out->key_type = CKK_RSA;
        out->alg.kind = sign ? PARSEC_ALG_ASYMMETRIC_SIGNATURE : PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
        out->alg.scheme = sign ? PARSEC_SIGN_RSA_PKCS1V15 : PARSEC_ENCRYPT_RSA_PKCS1V15;
        return pp11_no_params(m) ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
    case CKM_RSA_PKCS_PSS:
        if (!sign)
            return CKR_MECHANISM_INVALID;
        out->key_type = CKK_RSA;
        out->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
        out->alg.scheme = PARSEC_SIGN_RSA_PSS;
        return pp11_parse_pss(m, PARSEC_HASH_NONE, out);
    case CKM_ECDSA:
        if (!sign)
            return CKR_MECHANISM_INVALID;
        out->key_type = CKK_EC;
        out->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
        out->alg.scheme = PARSEC_SIGN_ECDSA;
        return pp11_no_params(m) ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
    case CKM_RSA_PKCS_OAEP:
        if (!crypt)
            return CKR_MECHANISM_INVALID;
        out->key_type = CKK_RSA;
        out->alg.kind = PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
        out->alg.scheme = PARSEC_ENCRYPT_RSA_OAEP;
        return pp11_parse_oaep(m, out);
    case CKM_ECDH1_DERIVE:
        if (op != CKF_DERIVE)
            return CKR_MECHANISM_INVALID;
        out->key_type = CKK_EC;
        out->alg.kind = PARSEC_ALG_KEY_AGREEMENT;
        out->alg.scheme = PARSEC_KA_ECDH;
        return pp11_parse_ecdh(m, out);
    default:
        break;
    }
    for (i = 0; i < PP11_NHASHES; i++) {
        if (op == CKF_DIGEST && m->mechanism == pp11_hashes[i].digest) {
            out->alg.kind = PARSEC_ALG_HASH;
            out->alg.hash = pp11_hashes[i].hash;
            return pp11_no_params(m) ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
        }
        if (!sign || pp11_hashes[i].rsa_pkcs == 0)
            continue;
        out->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
        out->alg.hash = pp11_hashes[i].hash;
        out->hash_locally = 1;
        if (m->mechanism == pp11_hashes[i].rsa_pkcs) {
            out->key_type = CKK_RSA;
            out->alg.scheme = PARSEC_SIGN_RSA_PKCS1V15;
            return pp11_no_params(m) ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
        }
        if (m->mechanism == pp11_hashes[i].rsa_pss) {
            out->key_type = CKK_RSA;
            out->alg.scheme = PARSEC_SIGN_RSA_PSS;
            return pp11_parse_pss(m, pp11_hashes[i].hash, out);
        }
        if (m->mechanism == pp11_hashes[i].ecdsa) {
            out->key_type = CKK_EC;
            out->alg.scheme = PARSEC_SIGN_ECDSA;
            return pp11_no_params(m) ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
        }
    }
    memset(out, 0, sizeof(*out));
    return CKR_MECHANISM_INVALID;
}

void pp11_mech_clear(pp11_mech *m)
{
    if (m == NULL)
        return;
    OPENSSL_free(m->label);
    OPENSSL_free(m->peer);
    memset(m, 0, sizeof(*m));
}

int pp11_digest_info_parse(const unsigned char *in, size_t len, uint8_t *hash,
                           const unsigned char **digest, size_t *digest_len)
{
    const unsigned char *p = in;
    const X509_ALGOR *algor = NULL;
    const ASN1_OCTET_STRING *dig = NULL;
    const ASN1_OBJECT *oid = NULL;
    unsigned char *der = NULL;
    X509_SIG *sig = NULL;
    int ptype = V_ASN1_UNDEF, derlen, ok = 0;
    uint8_t h;

    if (in == NULL || len == 0 || len > 128)
        return 0;
    sig = d2i_X509_SIG(NULL, &p, (long)len);
    if (sig == NULL || p != in + len)
        goto done;
    /* Only the canonical encoding: the service rebuilds exactly that one. */
    derlen = i2d_X509_SIG(sig, &der);
    if (derlen <= 0 || (size_t)derlen != len || memcmp(der, in, len) != 0)
        goto done;
    X509_SIG_get0(sig, &algor, &dig);
    X509_ALGOR_get0(&oid, &ptype, NULL, algor);
    if (ptype != V_ASN1_NULL)
        goto done;
    h = parsec_hash_from_ossl_name(OBJ_nid2sn(OBJ_obj2nid(oid)));
    if (h == PARSEC_HASH_NONE || (size_t)ASN1_STRING_length(dig) != parsec_hash_length(h))
        goto done;
    *hash = h;
    *digest_len = (size_t)ASN1_STRING_length(dig);
    /* The digest sits at the end of the DER (OCTET STRING is the last field). */
    *digest = in + len - *digest_len;
    ok = 1;
done:
    OPENSSL_free(der);
    X509_SIG_free(sig);
    return ok;
}
