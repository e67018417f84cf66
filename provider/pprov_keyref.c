/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The key-reference file format: a DER structure naming a key held by the
 * Parsec service, wrapped in PEM as "-----BEGIN PARSEC KEY REFERENCE-----".
 * It holds no secret: whoever reads it still has to authenticate to the
 * service as the key's owner.
 *
 *   ParsecKeyReference ::= SEQUENCE {
 *       version      INTEGER (1),
 *       keyName      UTF8String,
 *       backend      [0] IMPLICIT INTEGER OPTIONAL,   -- Parsec provider ID
 *       keyType      [1] IMPLICIT INTEGER OPTIONAL,   -- 1 RSA, 2 RSA-PSS, 3 EC
 *       description  [2] IMPLICIT UTF8String OPTIONAL -- for people, ignored
 *   }
 */
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/err.h>

#include "pprov.h"

#define PPROV_KEYREF_VERSION 1
#define PPROV_KEYREF_DESCRIPTION "Parsec key reference (the private key stays in the service)"

typedef struct {
    ASN1_INTEGER *version;
    ASN1_UTF8STRING *name;
    ASN1_INTEGER *backend;
    ASN1_INTEGER *keytype;
    ASN1_UTF8STRING *description;
} PPROV_KEYREF;

ASN1_SEQUENCE(PPROV_KEYREF) =
    {
        ASN1_SIMPLE(PPROV_KEYREF, version, ASN1_INTEGER),
        ASN1_SIMPLE(PPROV_KEYREF, name, ASN1_UTF8STRING),
        ASN1_IMP_OPT(PPROV_KEYREF, backend, ASN1_INTEGER, 0),
        ASN1_IMP_OPT(PPROV_KEYREF, keytype, ASN1_INTEGER, 1),
        ASN1_IMP_OPT(PPROV_KEYREF, description, ASN1_UTF8STRING, 2),
} static_ASN1_SEQUENCE_END(PPROV_KEYREF)

        static PPROV_KEYREF
    * pprov_keyref_new(void)
{
    return (PPROV_KEYREF *)ASN1_item_new(ASN1_ITEM_rptr(PPROV_KEYREF));
}

static void pprov_keyref_free(PPROV_KEYREF *ref)
{
    ASN1_item_free((ASN1_VALUE *)ref, ASN1_ITEM_rptr(PPROV_KEYREF));
}

int pprov_keyref_encode(const pprov_key *key, unsigned char **der, size_t *derlen)
{
    PPROV_KEYREF *ref = NULL;
    unsigned char *out = NULL;
    int len, ok = 0;

    *der = NULL;
    *derlen = 0;
    if (key->name == NULL)
        return 0;
    ref = pprov_keyref_new();
    if (ref == NULL || (ref->backend = ASN1_INTEGER_new()) == NULL ||
        (ref->keytype = ASN1_INTEGER_new()) == NULL ||
        (ref->description = ASN1_UTF8STRING_new()) == NULL ||
        !ASN1_INTEGER_set(ref->version, PPROV_KEYREF_VERSION) ||
        !ASN1_STRING_set(ref->name, key->name, (int)strlen(key->name)) ||
        !ASN1_INTEGER_set(ref->backend, key->provider_id) ||
        !ASN1_INTEGER_set(ref->keytype, key->type) ||
        !ASN1_STRING_set(ref->description, PPROV_KEYREF_DESCRIPTION, -1))
        goto done;
    len = ASN1_item_i2d((ASN1_VALUE *)ref, &out, ASN1_ITEM_rptr(PPROV_KEYREF));
    if (len <= 0)
        goto done;
    *der = out;
    *derlen = (size_t)len;
    ok = 1;
done:
    if (!ok)
        PPROV_raise(key->ctx, PPROV_R_MALLOC_FAILURE, "cannot encode the key reference");
    pprov_keyref_free(ref);
    return ok;
}

int pprov_keyref_decode(const unsigned char *der, size_t derlen, char **name, uint8_t *backend,
                        int *type)
{
    PPROV_KEYREF *ref = NULL;
    const unsigned char *p = der;
    long v;
    int ok = 0;

    *name = NULL;
    *backend = 0;
    *type = 0;
    /*
     * Foreign DER is expected here (decoders see every PEM/DER): keep the error queue clean,
     * ASN1_INTEGER_get() of an oversized INTEGER included.
     */
    ERR_set_mark();
    ref = (PPROV_KEYREF *)ASN1_item_d2i(NULL, &p, (long)derlen, ASN1_ITEM_rptr(PPROV_KEYREF));
    if (ref == NULL || p != der + derlen)
        goto done;
    if (ASN1_INTEGER_get(ref->version) != PPROV_KEYREF_VERSION)
        goto done;
    if (ASN1_STRING_length(ref->name) <= 0 ||
        memchr(ASN1_STRING_get0_data(ref->name), 0, (size_t)ASN1_STRING_length(ref->name)) != NULL)
        goto done;
    if (ref->backend != NULL) {
        v = ASN1_INTEGER_get(ref->backend);
        if (v < 0 || v > PARSEC_PROVIDER_MAX)
            goto done;
        *backend = (uint8_t)v;
    }
    if (ref->keytype != NULL) {
        v = ASN1_INTEGER_get(ref->keytype);
        if (v != PPROV_KEY_RSA && v != PPROV_KEY_RSA_PSS && v != PPROV_KEY_EC)
            goto done;
        *type = (int)v;
    }
    *name = OPENSSL_strndup((const char *)ASN1_STRING_get0_data(ref->name),
                            (size_t)ASN1_STRING_length(ref->name));
    ok = *name != NULL;
done:
    ERR_pop_to_mark();
    pprov_keyref_free(ref);
    return ok;
}
