/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Start-up crash recovery. The key store records a key of a backend with
 * device objects (reconcile hook) before the backend creates or destroys
 * them, so after a crash each row says what was under way:
 *  - PENDING (create interrupted): the client never got a success answer;
 *    the backend removes what it may have made and the row goes;
 *  - REMOVING (destroy interrupted): the destroy is finished.
 * Then the backend reports device objects of this store that no row names.
 */
#include <stdlib.h>

#include "psd_service.h"

static int psd_id_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Interrupted destroys of prov's keys: the backend removes the objects, then the row goes. */
static void psd_finish_removals(psd_service *svc, psd_provider *prov, psd_key_entry **keys,
                                size_t n)
{
    for (size_t i = 0; i < n; i++) {
        psd_key_entry *e = keys[i];
        parsec_status st;

        if (e->state != PSD_KEY_REMOVING)
            continue;
        st = prov->ops->destroy_key(prov->state, &e->key);
        if (st == PARSEC_SUCCESS)
            st = psd_keystore_drop(svc->store, e);
        if (st == PARSEC_SUCCESS)
            psd_log(PSD_LOG_WARN,
                    "recovery: finished destroying key '%s' of %s (id %llu) that a"
                    " crash interrupted",
                    e->key.name, e->app_name, (unsigned long long)e->key.id);
        else
            psd_log(PSD_LOG_ERROR,
                    "recovery: cannot finish destroying key '%s' of %s (id %llu):"
                    " %s; it stays hidden and is retried at the next start",
                    e->key.name, e->app_name, (unsigned long long)e->key.id,
                    parsec_status_name(st));
    }
}

static void psd_reconcile_provider(psd_service *svc, psd_provider *prov)
{
    psd_key_entry **all = NULL, **unfinished = NULL;
    size_t n_all = 0, n_unfinished = 0, n_pending = 0;
    uint64_t *known = NULL, *pending = NULL;
    parsec_status st;

    if (psd_keystore_all(svc->store, prov->ops->provider_id, &all, &n_all) != PARSEC_SUCCESS ||
        psd_keystore_unfinished(svc->store, prov->ops->provider_id, &unfinished, &n_unfinished) !=
            PARSEC_SUCCESS)
        goto oom;
    psd_finish_removals(svc, prov, unfinished, n_unfinished);
    known = calloc(n_all + 1, sizeof(*known));
    pending = calloc(n_unfinished + 1, sizeof(*pending));
    if (known == NULL || pending == NULL)
        goto oom;
    for (size_t i = 0; i < n_all; i++)
        known[i] = all[i]->key.id;
    qsort(known, n_all, sizeof(*known), psd_id_cmp);
    for (size_t i = 0; i < n_unfinished; i++)
        if (unfinished[i]->state == PSD_KEY_PENDING)
            pending[n_pending++] = unfinished[i]->key.id;
    st = prov->ops->reconcile(prov->state, psd_keystore_tag(svc->store), known, n_all, pending,
                              n_pending);
    for (size_t i = 0; st == PARSEC_SUCCESS && i < n_unfinished; i++) {
        psd_key_entry *e = unfinished[i];

        if (e->state != PSD_KEY_PENDING)
            continue;
        if (psd_keystore_drop(svc->store, e) == PARSEC_SUCCESS)
            psd_log(PSD_LOG_WARN,
                    "recovery: rolled back key '%s' of %s (id %llu), whose creation"
                    " a crash interrupted",
                    e->key.name, e->app_name, (unsigned long long)e->key.id);
    }
    if (st != PARSEC_SUCCESS)
        psd_log(PSD_LOG_ERROR,
                "recovery: backend '%s' could not clean up %zu interrupted"
                " creations (%s); they stay hidden and are retried at the next start",
                prov->ops->name, n_pending, parsec_status_name(st));
    goto done;
oom:
    psd_log(PSD_LOG_ERROR, "recovery: out of memory; backend '%s' not checked", prov->ops->name);
done:
    free(known);
    free(pending);
    psd_keystore_list_free(svc->store, all, n_all);
    psd_keystore_list_free(svc->store, unfinished, n_unfinished);
}

void psd_reconcile(psd_service *svc)
{
    for (size_t i = 0; i < svc->n_providers; i++)
        if (svc->providers[i].ops->reconcile != NULL)
            psd_reconcile_provider(svc, &svc->providers[i]);
}
