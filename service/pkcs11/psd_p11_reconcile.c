/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Start-up recovery on the token (psd_backend.h, reconcile): remove the
 * objects of keys whose creation a crash interrupted, and report (or, with
 * remove_orphans = true, remove) objects named after this key store that no
 * store row names, and objects with neither ID nor label.
 */
#include <stdlib.h>
#include <string.h>

#include "psd_p11.h"

typedef struct psd_p11_scan_ctx {
    uint32_t tag;
    uint64_t *ids; /* key ids found on the token under this store's tag */
    size_t n, cap;
    ck_object_handle_t *blank; /* objects with neither CKA_ID nor CKA_LABEL */
    size_t n_blank, cap_blank;
    unsigned long removed_blank;
} psd_p11_scan_ctx;

static int psd_p11_grow(void **arr, size_t *cap, size_t n, size_t size)
{
    size_t want;
    void *grown;

    if (n < *cap)
        return 0;
    want = *cap ? *cap * 2 : 64;
    grown = realloc(*arr, want * size);
    if (grown == NULL)
        return -1;
    *arr = grown;
    *cap = want;
    return 0;
}

static int psd_p11_attr_empty(const struct ck_attribute *a)
{
    return a->value_len == 0 || a->value_len == CK_UNAVAILABLE_INFORMATION;
}

static int psd_p11_id_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The key id in a CKA_ID of this store (psd_p11_key_ckid), or 0 if it is not one. */
static int psd_p11_ckid_key(const uint8_t *ckid, uint32_t tag, uint64_t *id)
{
    uint32_t t = 0;
    uint64_t v = 0;

    if (memcmp(ckid, PSD_P11_ID_MAGIC, 4) != 0)
        return 0;
    for (int i = 0; i < 4; i++)
        t = t << 8 | ckid[4 + i];
    if (t != tag)
        return 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | ckid[8 + i];
    *id = v;
    return 1;
}

static parsec_status psd_p11_scan_op(psd_p11 *st, ck_session_handle_t s, void *arg, CK_RV *rv)
{
    psd_p11_scan_ctx *sc = arg;
    ck_object_handle_t found[64];
    parsec_status status = PARSEC_SUCCESS;
    unsigned long n = 0;

    sc->n = 0;
    sc->n_blank = 0;
    /* Every object: a half-written one may lack even CKA_TOKEN (no session objects exist yet). */
    *rv = PSD_P11_CALL(st, C_FindObjectsInit, s, NULL, 0);
    if (*rv != CKR_OK)
        return psd_p11_status(*rv);
    do {
        *rv = PSD_P11_CALL(st, C_FindObjects, s, found, 64, &n);
        if (*rv != CKR_OK) {
            status = psd_p11_status(*rv);
            break;
        }
        for (unsigned long i = 0; i < n; i++) {
            uint8_t ckid[PSD_P11_ID_LEN];
            struct ck_attribute a = {CKA_ID, ckid, sizeof(ckid)};
            struct ck_attribute lens[] = {{CKA_ID, NULL, 0}, {CKA_LABEL, NULL, 0}};
            uint64_t id;

            /*
             * SoftHSM2 writes an object's file before its attributes: a kill in
             * between leaves an object with no ID and no label, which nobody
             * can have made on purpose.
             */
            (void)st->fn->C_GetAttributeValue(s, found[i], lens, 2);
            if (psd_p11_attr_empty(&lens[0]) && psd_p11_attr_empty(&lens[1])) {
                if (psd_p11_grow((void **)&sc->blank, &sc->cap_blank, sc->n_blank,
                                 sizeof(*sc->blank)) != 0) {
                    status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
                    break;
                }
                sc->blank[sc->n_blank++] = found[i];
                continue;
            }
            /* Objects with another ID are not this store's. */
            if (st->fn->C_GetAttributeValue(s, found[i], &a, 1) != CKR_OK ||
                a.value_len != PSD_P11_ID_LEN || !psd_p11_ckid_key(ckid, sc->tag, &id))
                continue;
            if (psd_p11_grow((void **)&sc->ids, &sc->cap, sc->n, sizeof(*sc->ids)) != 0) {
                status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
                break;
            }
            sc->ids[sc->n++] = id;
        }
    } while (status == PARSEC_SUCCESS && n > 0);
    st->fn->C_FindObjectsFinal(s);
    for (size_t i = 0; status == PARSEC_SUCCESS && st->remove_orphans && i < sc->n_blank; i++)
        if (PSD_P11_CALL(st, C_DestroyObject, s, sc->blank[i]) == CKR_OK)
            sc->removed_blank++;
    *rv = status == PARSEC_SUCCESS ? CKR_OK : *rv;
    return status;
}

static void psd_p11_ckid_of(const psd_p11 *st, uint64_t id, uint8_t ckid[PSD_P11_ID_LEN])
{
    (void)psd_p11_key_ckid(st, id, ckid); /* never random: the tag is set */
}

parsec_status psd_p11_reconcile(void *state, uint32_t store_tag, const uint64_t *known,
                                size_t n_known, const uint64_t *pending, size_t n_pending)
{
    psd_p11 *st = state;
    psd_p11_scan_ctx sc = {.tag = store_tag};
    parsec_status status = PARSEC_SUCCESS, scan;
    uint8_t ckid[PSD_P11_ID_LEN];
    size_t orphans = 0;

    st->store_tag = store_tag;
    st->have_store_tag = 1;
    for (size_t i = 0; i < n_pending; i++) {
        unsigned long destroyed = 0;
        parsec_status one;

        psd_p11_ckid_of(st, pending[i], ckid);
        one = psd_p11_destroy_ckid(st, ckid, &destroyed);
        if (one != PARSEC_SUCCESS)
            status = one;
        else if (destroyed > 0)
            psd_log(PSD_LOG_WARN,
                    "pkcs11: removed %lu objects of key id %llu from token '%s'"
                    " (its creation was interrupted)",
                    destroyed, (unsigned long long)pending[i], st->token_label);
    }

    scan = psd_p11_run_exclusive(st, psd_p11_scan_op, &sc);
    if (scan != PARSEC_SUCCESS) {
        psd_log(PSD_LOG_WARN, "pkcs11: cannot look for leftover objects on token '%s' (status %u)",
                st->token_label, (unsigned int)scan);
        goto done;
    }
    if (sc.removed_blank > 0)
        psd_log(PSD_LOG_WARN,
                "pkcs11: removed %lu objects with neither ID nor label from token"
                " '%s' (left by interrupted object creations; remove_orphans = true)",
                sc.removed_blank, st->token_label);
    else if (sc.n_blank > 0)
        psd_log(PSD_LOG_WARN,
                "pkcs11: token '%s' holds %zu objects with neither ID nor label"
                " (what an interrupted object creation leaves, e.g. on SoftHSM2); set"
                " remove_orphans = true in [pkcs11] to remove them at start",
                st->token_label, sc.n_blank);
    if (sc.n > 1)
        qsort(sc.ids, sc.n, sizeof(*sc.ids), psd_p11_id_cmp);
    for (size_t i = 0; i < sc.n; i++) {
        uint64_t id = sc.ids[i];
        unsigned long destroyed = 0;

        if ((i > 0 && sc.ids[i - 1] == id) ||
            (n_known > 0 && bsearch(&id, known, n_known, sizeof(*known), psd_p11_id_cmp) != NULL))
            continue;
        orphans++;
        if (!st->remove_orphans) {
            psd_log(PSD_LOG_WARN,
                    "pkcs11: token '%s' holds objects of key id %llu that the key"
                    " store does not record (left by a crash or an older store); set"
                    " remove_orphans = true in [pkcs11] to remove them at start",
                    st->token_label, (unsigned long long)id);
            continue;
        }
        psd_p11_ckid_of(st, id, ckid);
        if (psd_p11_destroy_ckid(st, ckid, &destroyed) == PARSEC_SUCCESS)
            psd_log(PSD_LOG_WARN,
                    "pkcs11: removed %lu objects of key id %llu from token '%s':"
                    " the key store does not record them (remove_orphans = true)",
                    destroyed, (unsigned long long)id, st->token_label);
        else
            psd_log(PSD_LOG_ERROR,
                    "pkcs11: cannot remove the objects of key id %llu from"
                    " token '%s'",
                    (unsigned long long)id, st->token_label);
    }
    if (orphans > 0)
        psd_log(PSD_LOG_WARN, "pkcs11: %zu keys on token '%s' without a key-store row", orphans,
                st->token_label);
done:
    free(sc.ids);
    free(sc.blank);
    return status;
}
