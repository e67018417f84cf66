/*
 * Start-up recovery on the token (psd_backend.h, reconcile): remove the
 * objects of keys whose creation a crash interrupted, and report (or, with
 * remove_orphans = true, remove) objects named after this key store that no
 * store row names.
 */
#include <stdlib.h>
#include <string.h>

#include "psd_p11.h"

typedef struct psd_p11_scan_ctx {
    uint32_t tag;
    uint64_t *ids;  /* key ids found on the token under this store's tag */
    size_t n, cap;
} psd_p11_scan_ctx;

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
    unsigned char yes = CK_TRUE;
    struct ck_attribute tmpl[] = { { CKA_TOKEN, &yes, sizeof(yes) } };
    ck_object_handle_t found[64];
    parsec_status status = PARSEC_SUCCESS;
    unsigned long n = 0;

    sc->n = 0;
    *rv = PSD_P11_CALL(st, C_FindObjectsInit, s, tmpl, 1);
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
            struct ck_attribute a = { CKA_ID, ckid, sizeof(ckid) };
            uint64_t id;

            /* Objects without an ID, or another length, are not parsecd's. */
            if (st->fn->C_GetAttributeValue(s, found[i], &a, 1) != CKR_OK ||
                a.value_len != PSD_P11_ID_LEN || !psd_p11_ckid_key(ckid, sc->tag, &id))
                continue;
            if (sc->n == sc->cap) {
                size_t cap = sc->cap ? sc->cap * 2 : 64;
                uint64_t *grown = realloc(sc->ids, cap * sizeof(*grown));

                if (grown == NULL) {
                    status = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
                    break;
                }
                sc->ids = grown;
                sc->cap = cap;
            }
            sc->ids[sc->n++] = id;
        }
    } while (status == PARSEC_SUCCESS && n > 0);
    st->fn->C_FindObjectsFinal(s);
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
    psd_p11_scan_ctx sc = { store_tag, NULL, 0, 0 };
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
            psd_log(PSD_LOG_WARN, "pkcs11: removed %lu objects of key id %llu from token '%s'"
                    " (its creation was interrupted)", destroyed,
                    (unsigned long long)pending[i], st->token_label);
    }

    scan = psd_p11_run(st, psd_p11_scan_op, &sc);
    if (scan != PARSEC_SUCCESS) {
        psd_log(PSD_LOG_WARN, "pkcs11: cannot look for leftover objects on token '%s' (status %u)",
                st->token_label, (unsigned int)scan);
        goto done;
    }
    qsort(sc.ids, sc.n, sizeof(*sc.ids), psd_p11_id_cmp);
    for (size_t i = 0; i < sc.n; i++) {
        uint64_t id = sc.ids[i];
        unsigned long destroyed = 0;

        if ((i > 0 && sc.ids[i - 1] == id) ||
            bsearch(&id, known, n_known, sizeof(*known), psd_p11_id_cmp) != NULL)
            continue;
        orphans++;
        if (!st->remove_orphans) {
            psd_log(PSD_LOG_WARN, "pkcs11: token '%s' holds objects of key id %llu that the key"
                    " store does not record (left by a crash or an older store); set"
                    " remove_orphans = true in [pkcs11] to remove them at start",
                    st->token_label, (unsigned long long)id);
            continue;
        }
        psd_p11_ckid_of(st, id, ckid);
        if (psd_p11_destroy_ckid(st, ckid, &destroyed) == PARSEC_SUCCESS)
            psd_log(PSD_LOG_WARN, "pkcs11: removed %lu objects of key id %llu from token '%s':"
                    " the key store does not record them (remove_orphans = true)",
                    destroyed, (unsigned long long)id, st->token_label);
        else
            psd_log(PSD_LOG_ERROR, "pkcs11: cannot remove the objects of key id %llu from"
                    " token '%s'", (unsigned long long)id, st->token_label);
    }
    if (orphans > 0)
        psd_log(PSD_LOG_WARN, "pkcs11: %zu keys on token '%s' without a key-store row",
                orphans, st->token_label);
done:
    free(sc.ids);
    return status;
}
