/* SPDX-License-Identifier: Apache-2.0 */
/*
 * C_GenerateKeyPair: a service key named by CKA_LABEL.
 *
 * A Parsec key permits one algorithm, so the templates choose it:
 *  - CKA_ALLOWED_MECHANISMS (private template): the first mechanism the
 *    module knows decides (e.g. CKM_RSA_PKCS_PSS -> RSA-PSS with any hash,
 *    CKM_RSA_PKCS_OAEP -> OAEP with SHA-256, CKM_ECDH1_DERIVE -> ECDH);
 *  - otherwise CKA_SIGN (default), then CKA_DECRYPT, then CKA_DERIVE:
 *    RSA PKCS#1 v1.5 signing with any hash / ECDSA with any hash,
 *    RSA PKCS#1 v1.5 decryption, ECDH.
 * CKA_ID in a template is not kept: IDs are derived from the key name.
 */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "pp11.h"

#define PP11_SIGN_USAGE                                                                            \
    (PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH | PARSEC_USAGE_SIGN_MESSAGE |               \
     PARSEC_USAGE_VERIFY_MESSAGE)
#define PP11_CRYPT_USAGE (PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT)

/* Policy from CKA_ALLOWED_MECHANISMS; 1 if one was chosen, 0 if none applies, -1 bad value. */
static int pp11_policy_from_mechs(const struct ck_attribute *a, int rsa, parsec_key_attributes *k)
{
    ck_mechanism_type_t m;
    size_t i, n;

    if (a->value == NULL || a->value_len % sizeof(m) != 0)
        return -1;
    n = a->value_len / sizeof(m);
    for (i = 0; i < n; i++) {
        memcpy(&m, (const unsigned char *)a->value + i * sizeof(m), sizeof(m));
        k->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
        k->alg.hash = PARSEC_HASH_ANY;
        k->usage = PP11_SIGN_USAGE;
        if (rsa && (m == CKM_RSA_PKCS_PSS || m == CKM_SHA256_RSA_PKCS_PSS ||
                    m == CKM_SHA384_RSA_PKCS_PSS || m == CKM_SHA512_RSA_PKCS_PSS)) {
            k->alg.scheme = PARSEC_SIGN_RSA_PSS;
            return 1;
        }
        if (rsa &&
            (m == CKM_SHA256_RSA_PKCS || m == CKM_SHA384_RSA_PKCS || m == CKM_SHA512_RSA_PKCS)) {
            k->alg.scheme = PARSEC_SIGN_RSA_PKCS1V15;
            return 1;
        }
        if (!rsa && (m == CKM_ECDSA || m == CKM_ECDSA_SHA256 || m == CKM_ECDSA_SHA384 ||
                     m == CKM_ECDSA_SHA512)) {
            k->alg.scheme = PARSEC_SIGN_ECDSA;
            return 1;
        }
        k->alg.kind = PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
        k->alg.hash = 0;
        k->usage = PP11_CRYPT_USAGE;
        if (rsa && m == CKM_RSA_PKCS_OAEP) {
            k->alg.scheme = PARSEC_ENCRYPT_RSA_OAEP;
            k->alg.hash = PARSEC_HASH_SHA_256;
            return 1;
        }
        if (!rsa && m == CKM_ECDH1_DERIVE) {
            k->alg.kind = PARSEC_ALG_KEY_AGREEMENT;
            k->alg.scheme = PARSEC_KA_ECDH;
            k->usage = PARSEC_USAGE_DERIVE;
            return 1;
        }
    }
    /* CKM_RSA_PKCS alone: signing (what SSH, TLS 1.2 and pkcs11-tool --sign use). */
    for (i = 0; i < n && rsa; i++) {
        memcpy(&m, (const unsigned char *)a->value + i * sizeof(m), sizeof(m));
        if (m == CKM_RSA_PKCS) {
            k->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
            k->alg.scheme = PARSEC_SIGN_RSA_PKCS1V15;
            k->alg.hash = PARSEC_HASH_ANY;
            k->usage = PP11_SIGN_USAGE;
            return 1;
        }
    }
    return 0;
}

static ck_rv_t pp11_keygen_policy(const struct ck_attribute *priv, unsigned long npriv, int rsa,
                                  parsec_key_attributes *k)
{
    const struct ck_attribute *allowed = pp11_attr_find(priv, npriv, CKA_ALLOWED_MECHANISMS);
    int sign = -1, decrypt = 0, derive = 0, r;
    ck_rv_t rv;

    if (allowed != NULL) {
        r = pp11_policy_from_mechs(allowed, rsa, k);
        if (r < 0)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        if (r > 0)
            return CKR_OK;
        return CKR_TEMPLATE_INCONSISTENT;
    }
    rv = pp11_attr_bool(priv, npriv, CKA_SIGN, &sign);
    if (rv == CKR_OK)
        rv = pp11_attr_bool(priv, npriv, CKA_DECRYPT, &decrypt);
    if (rv == CKR_OK)
        rv = pp11_attr_bool(priv, npriv, CKA_DERIVE, &derive);
    if (rv != CKR_OK)
        return rv;
    if (sign != 0 && (sign == 1 || (!decrypt && !derive))) {
        k->alg.kind = PARSEC_ALG_ASYMMETRIC_SIGNATURE;
        k->alg.scheme = rsa ? PARSEC_SIGN_RSA_PKCS1V15 : PARSEC_SIGN_ECDSA;
        k->alg.hash = PARSEC_HASH_ANY;
        k->usage = PP11_SIGN_USAGE;
    } else if (decrypt && rsa) {
        k->alg.kind = PARSEC_ALG_ASYMMETRIC_ENCRYPTION;
        k->alg.scheme = PARSEC_ENCRYPT_RSA_PKCS1V15;
        k->usage = PP11_CRYPT_USAGE;
    } else if (derive && !rsa) {
        k->alg.kind = PARSEC_ALG_KEY_AGREEMENT;
        k->alg.scheme = PARSEC_KA_ECDH;
        k->usage = PARSEC_USAGE_DERIVE;
    } else {
        return CKR_TEMPLATE_INCONSISTENT;
    }
    return CKR_OK;
}

/* Key name: CKA_LABEL of the private template, else of the public one. */
static ck_rv_t pp11_keygen_name(const struct ck_attribute *pub, unsigned long npub,
                                const struct ck_attribute *priv, unsigned long npriv, char **name)
{
    const struct ck_attribute *label = pp11_attr_find(priv, npriv, CKA_LABEL);

    if (label == NULL)
        label = pp11_attr_find(pub, npub, CKA_LABEL);
    if (label == NULL || label->value_len == 0) {
        PP11_log("C_GenerateKeyPair needs CKA_LABEL: it names the key in the Parsec service");
        return CKR_TEMPLATE_INCOMPLETE;
    }
    if (label->value_len > PP11_MAX_LABEL || memchr(label->value, 0, label->value_len) != NULL)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *name = OPENSSL_strndup(label->value, label->value_len);
    return *name != NULL ? CKR_OK : CKR_HOST_MEMORY;
}

static ck_rv_t pp11_keygen_attrs(const struct ck_mechanism *m, const struct ck_attribute *pub,
                                 unsigned long npub, parsec_key_attributes *k)
{
    const struct ck_attribute *a;
    unsigned long bits = 0;
    ck_rv_t rv;

    if (m->parameter_len != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (m->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN) {
        k->type = PARSEC_KEY_TYPE_RSA_KEY_PAIR;
        rv = pp11_attr_ulong(pub, npub, CKA_MODULUS_BITS, &bits);
        if (rv != CKR_OK)
            return rv;
        if (bits == 0)
            return CKR_TEMPLATE_INCOMPLETE;
        if (bits < PP11_RSA_MIN || bits > PP11_RSA_MAX)
            return CKR_KEY_SIZE_RANGE;
        k->bits = (uint32_t)bits;
        a = pp11_attr_find(pub, npub, CKA_PUBLIC_EXPONENT);
        if (a != NULL) {
            /* Parsec generates with e = 65537 only. */
            BIGNUM *e = a->value != NULL ? BN_bin2bn(a->value, (int)a->value_len, NULL) : NULL;
            int is65537 = e != NULL && BN_get_word(e) == 65537;

            BN_free(e);
            if (!is65537)
                return CKR_ATTRIBUTE_VALUE_INVALID;
        }
        return CKR_OK;
    }
    if (m->mechanism == CKM_EC_KEY_PAIR_GEN) {
        k->type = PARSEC_KEY_TYPE_ECC_KEY_PAIR;
        k->ecc_family = PARSEC_ECC_FAMILY_SECP_R1;
        a = pp11_attr_find(pub, npub, CKA_EC_PARAMS);
        if (a == NULL)
            return CKR_TEMPLATE_INCOMPLETE;
        k->bits = pp11_curve_bits_from_params(a->value, a->value_len);
        return k->bits != 0 ? CKR_OK : CKR_CURVE_NOT_SUPPORTED;
    }
    return CKR_MECHANISM_INVALID;
}

/* Handles of the new key's two objects (refreshes the token's objects). */
static ck_rv_t pp11_keygen_handles(const pp11_session *s, const char *name,
                                   ck_object_handle_t *pubh, ck_object_handle_t *privh)
{
    size_t i;
    ck_rv_t rv = pp11_objects_refresh(s->slot);

    if (rv != CKR_OK)
        return rv;
    *pubh = *privh = CK_INVALID_HANDLE;
    pthread_mutex_lock(&pp11_mod.lock);
    for (i = 0; i < pp11_mod.nobjects; i++) {
        pp11_object *obj = pp11_mod.objects[i];

        if (!obj->live || obj->slot != s->slot || obj->key == NULL ||
            strcmp(obj->key->name, name) != 0)
            continue;
        if (obj->kind == PP11_OBJ_PRIVATE)
            *privh = obj->handle;
        else if (obj->kind == PP11_OBJ_PUBLIC)
            *pubh = obj->handle;
    }
    pthread_mutex_unlock(&pp11_mod.lock);
    return *pubh != CK_INVALID_HANDLE && *privh != CK_INVALID_HANDLE ? CKR_OK : CKR_DEVICE_ERROR;
}

ck_rv_t C_GenerateKeyPair(ck_session_handle_t session, struct ck_mechanism *mechanism,
                          struct ck_attribute *pub_templ, unsigned long npub,
                          struct ck_attribute *priv_templ, unsigned long npriv,
                          ck_object_handle_t *pub_key, ck_object_handle_t *priv_key)
{
    parsec_key_attributes k = {0};
    pp11_session *s;
    char *name = NULL;
    parsec_status st;
    int token = 1;
    ck_rv_t rv = pp11_session_get(session, &s);

    if (rv != CKR_OK)
        return rv;
    if (mechanism == NULL || pub_key == NULL || priv_key == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto done;
    }
    if (mechanism->mechanism != CKM_RSA_PKCS_KEY_PAIR_GEN &&
        mechanism->mechanism != CKM_EC_KEY_PAIR_GEN) {
        rv = CKR_MECHANISM_INVALID;
        goto done;
    }
    rv = pp11_template_check(pub_templ, npub);
    if (rv == CKR_OK)
        rv = pp11_template_check(priv_templ, npriv);
    if (rv == CKR_OK)
        rv = pp11_keygen_attrs(mechanism, pub_templ, npub, &k);
    if (rv == CKR_OK)
        rv = pp11_keygen_policy(priv_templ, npriv, k.type == PARSEC_KEY_TYPE_RSA_KEY_PAIR, &k);
    if (rv == CKR_OK)
        rv = pp11_attr_bool(priv_templ, npriv, CKA_TOKEN, &token);
    if (rv == CKR_OK && !token)
        rv = CKR_TEMPLATE_INCONSISTENT; /* service keys are always token objects */
    if (rv == CKR_OK)
        rv = pp11_keygen_name(pub_templ, npub, priv_templ, npriv, &name);
    if (rv != CKR_OK)
        goto done;
    if (!(s->flags & CKF_RW_SESSION)) {
        rv = CKR_SESSION_READ_ONLY;
        goto done;
    }
    st = parsec_generate_key(pp11_mod.client, (uint8_t)s->slot, name, &k);
    if (st != PARSEC_SUCCESS) {
        PP11_log("GenerateKey '%s': %s (%s)%s", name, parsec_status_message(st),
                 parsec_status_name(st),
                 st == PARSEC_PSA_ERROR_ALREADY_EXISTS ? ": choose another CKA_LABEL" : "");
        rv = st == PARSEC_PSA_ERROR_NOT_SUPPORTED ? CKR_TEMPLATE_INCONSISTENT
                                                  : pp11_ckr_from_status(st);
        goto done;
    }
    rv = pp11_keygen_handles(s, name, pub_key, priv_key);
done:
    OPENSSL_free(name);
    pp11_session_release(s);
    return rv;
}
