/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key-info store: which application owns which key name, on which backend,
 * with which attributes and backend blob. SQLite (WAL, synchronous=FULL,
 * one transaction per change) is the durable copy; an in-memory hash index
 * serves every lookup so key operations never touch SQLite.
 *
 * For backends whose whole key is the blob, a key is inserted only after
 * the blob exists, in one transaction, so a crash leaves the whole key or
 * nothing. Backends with objects of their own (reconcile hook) get a PENDING
 * row before they create and a REMOVING mark before they destroy, which
 * psd_reconcile.c settles at the next start. Key IDs come from a persistent
 * counter bumped before the backend is called, so an ID is never handed out
 * twice, even after a crash mid-generate.
 *
 * Hardening (docs/security.md): the files' owner and modes are checked at
 * open, a store deleted while running stops writes, deleted rows are zeroed
 * (secure_delete) and checkpointed out of the WAL, and with a KEK every blob
 * is stored wrapped (psd_kek.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psd_kek.h"
#include "psd_service.h"

#define PSD_SCHEMA_VERSION 1

struct psd_keystore {
    sqlite3 *db;
    pthread_mutex_t db_lock; /* SQLite connection and next_id */
    pthread_rwlock_t lock;   /* the index and entry states */
    psd_key_entry **buckets;
    size_t n_buckets;
    size_t count;
    uint64_t next_id;
    uint32_t max_keys_per_app;
    uint32_t tag;          /* meta 'store_tag': names this store's objects on devices */
    size_t n_unfinished;   /* rows loaded PENDING or REMOVING */
    psd_kek kek;           /* wraps every blob written (absent: plaintext) */
    psd_kek old_kek;       /* --rewrap: a previous KEK rows may still use */
    size_t n_plain, n_old; /* rows loaded without a KEK / under old_kek */
    char *path;
    int moved; /* db_lock: the file was unlinked or replaced */
};

static const char psd_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS keys ("
    "  auth_type INTEGER NOT NULL, app_name TEXT NOT NULL, key_name TEXT NOT NULL,"
    "  id INTEGER NOT NULL UNIQUE, provider_id INTEGER NOT NULL,"
    "  key_type INTEGER NOT NULL, ecc_family INTEGER NOT NULL, key_bits INTEGER NOT NULL,"
    "  usage_flags INTEGER NOT NULL, alg_kind INTEGER NOT NULL, alg_scheme INTEGER NOT NULL,"
    "  alg_hash INTEGER NOT NULL, blob BLOB NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 1,"
    "  PRIMARY KEY (auth_type, app_name, key_name));"
    "INSERT OR IGNORE INTO meta(name, value) VALUES ('schema', 1);"
    "INSERT OR IGNORE INTO meta(name, value) VALUES ('next_id', 1);";

static parsec_status psd_delete_row(psd_keystore *ks, const psd_key_entry *e);

/* SQLite's destructor for a wrapped blob (OPENSSL_malloc'd). */
static void psd_free_wrapped(void *p)
{
    OPENSSL_free(p);
}

/* FNV-1a over auth, app and name (with separators so ("a","bc") != ("ab","c")). */
static uint32_t psd_key_hash(uint8_t auth, const char *app, const char *name)
{
    uint32_t h = 2166136261u;
    const char *parts[2] = {app, name};

    h = (h ^ auth) * 16777619u;
    for (int i = 0; i < 2; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p != '\0'; p++)
            h = (h ^ *p) * 16777619u;
        h = (h ^ 0xFFu) * 16777619u;
    }
    return h;
}

static void psd_entry_free(psd_key_entry *e)
{
    if (e == NULL)
        return;
    OPENSSL_clear_free((void *)e->key.blob, e->key.blob_len);
    free(e->app_name);
    free((char *)e->key.name);
    free(e);
}

static void psd_entry_unref(psd_key_entry *e)
{
    if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1)
        psd_entry_free(e);
}

static psd_key_entry *psd_entry_new(uint8_t auth, const char *app, const char *name, uint64_t id,
                                    uint8_t provider_id, const parsec_key_attributes *attrs)
{
    psd_key_entry *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    e->app_name = strdup(app);
    e->key.name = strdup(name);
    if (e->app_name == NULL || e->key.name == NULL) {
        psd_entry_free(e);
        return NULL;
    }
    atomic_init(&e->refs, 1);
    e->auth_type = auth;
    e->provider_id = provider_id;
    e->attrs = *attrs;
    e->key.id = id;
    e->key.attrs = &e->attrs;
    e->hash = psd_key_hash(auth, app, name);
    return e;
}

/* Caller holds the lock (read or write). */
static psd_key_entry *psd_index_find(psd_keystore *ks, uint8_t auth, const char *app,
                                     const char *name, uint32_t hash)
{
    for (psd_key_entry *e = ks->buckets[hash & (ks->n_buckets - 1)]; e != NULL; e = e->next)
        if (e->hash == hash && e->auth_type == auth && strcmp(e->key.name, name) == 0 &&
            strcmp(e->app_name, app) == 0)
            return e;
    return NULL;
}

/* Caller holds the write lock; the index takes over the entry's first reference. */
static void psd_index_insert(psd_keystore *ks, psd_key_entry *e)
{
    size_t slot;

    if (ks->count + 1 > ks->n_buckets * 2) {
        size_t n = ks->n_buckets * 4;
        psd_key_entry **grown = calloc(n, sizeof(*grown));

        if (grown != NULL) { /* else keep the longer chains */
            for (size_t i = 0; i < ks->n_buckets; i++) {
                psd_key_entry *cur = ks->buckets[i], *next;

                for (; cur != NULL; cur = next) {
                    next = cur->next;
                    cur->next = grown[cur->hash & (n - 1)];
                    grown[cur->hash & (n - 1)] = cur;
                }
            }
            free(ks->buckets);
            ks->buckets = grown;
            ks->n_buckets = n;
        }
    }
    slot = e->hash & (ks->n_buckets - 1);
    e->next = ks->buckets[slot];
    ks->buckets[slot] = e;
    ks->count++;
}

/* Caller holds the write lock; drops the index's reference. */
static void psd_index_remove(psd_keystore *ks, psd_key_entry *e)
{
    psd_key_entry **pp = &ks->buckets[e->hash & (ks->n_buckets - 1)];

    for (; *pp != NULL; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            e->next = NULL;
            ks->count--;
            psd_entry_unref(e);
            return;
        }
}

static int psd_exec(psd_keystore *ks, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;

    if (sqlite3_exec(ks->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg != NULL ? msg : sqlite3_errmsg(ks->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/*
 * Whoever can write the store's folder can swap the store; whoever can read
 * a store file (or the WAL SQLite creates next to it, with the store's mode)
 * reads the software backend's private keys.
 */
static int psd_check_store_dir(const char *path, char *err, size_t errlen)
{
    char *copy = strdup(path);
    const char *dir;
    struct stat st;
    int fd = -1, rc = -1;

    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    dir = dirname(copy);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "key store folder %s: %s", dir, strerror(errno));
        goto done;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(err, errlen,
                 "key store folder %s belongs to uid %u, who could replace the store: it must"
                 " belong to the service user (uid %u) or root (chown %u %s)",
                 dir, (unsigned int)st.st_uid, (unsigned int)geteuid(), (unsigned int)geteuid(),
                 dir);
        goto done;
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
        snprintf(err, errlen,
                 "key store folder %s is writable by %s (mode %04o) without the sticky bit:"
                 " others could replace the store (chmod go-w %s)",
                 dir, (st.st_mode & S_IWOTH) != 0 ? "everyone" : "its group",
                 (unsigned int)(st.st_mode & 07777), dir);
        goto done;
    }
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

/* One store file, opened without following links; create: make it (0600) if missing. */
static int psd_check_store_file(const char *file, int create, char *err, size_t errlen)
{
    struct stat st;
    int fd, rc = -1;

    fd = open(file, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | (create ? O_CREAT : 0), 0600);
    if (fd < 0 && !create && errno == ENOENT)
        return 0;
    if (fd < 0) {
        int e = errno;
        char user[160];

        snprintf(err, errlen, "cannot open key store file %s: %s%s (parsecd runs as %s)", file,
                 strerror(e), e == ELOOP ? " (a symbolic link: give the real path)" : "",
                 psd_running_user(user, sizeof(user)));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "key store file %s: %s", file, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "key store file %s is not a regular file", file);
        goto done;
    }
    if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH | S_IROTH)) != 0) {
        snprintf(err, errlen,
                 "key store file %s has owner uid %u and mode %04o: it must belong to the"
                 " service user (uid %u) and be neither readable by others nor writable by"
                 " group or others (chown %u %s; chmod 600 %s)",
                 file, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777),
                 (unsigned int)geteuid(), (unsigned int)geteuid(), file, file);
        goto done;
    }
    rc = 0;
done:
    close(fd);
    return rc;
}

static int psd_check_store_files(const char *path, char *err, size_t errlen)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char file[PATH_MAX];

    if (psd_check_store_dir(path, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if ((size_t)snprintf(file, sizeof(file), "%s%s", path, suffixes[i]) >= sizeof(file)) {
            snprintf(err, errlen, "key store path %s is too long", path);
            return -1;
        }
        /* The store and its WAL are made here, so SQLite finds them with these rules. */
        if (psd_check_store_file(file, i < 2, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* A row's blob into e, unwrapped with the KEK its kek_id names. */
static int psd_load_blob(psd_keystore *ks, psd_key_entry *e, const char *kek_id,
                         const uint8_t *blob, size_t len, char *err, size_t errlen)
{
    const psd_kek *kek = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0;

    if (kek_id == NULL) {
        plain = OPENSSL_malloc(len > 0 ? len : 1);
        if (plain == NULL) {
            snprintf(err, errlen, "out of memory loading the key store");
            return -1;
        }
        if (len > 0)
            memcpy(plain, blob, len);
        plain_len = len;
        ks->n_plain += len > 0;
        goto found;
    }
    if (ks->kek.present && strcmp(kek_id, ks->kek.id) == 0)
        kek = &ks->kek;
    else if (ks->old_kek.present && strcmp(kek_id, ks->old_kek.id) == 0)
        kek = &ks->old_kek;
    if (kek == NULL) {
        if (!ks->kek.present)
            snprintf(err, errlen,
                     "key store %s holds keys encrypted with key-encryption key %s, and none"
                     " is configured: set kek_file or kek_credential in [key_store]",
                     ks->path, kek_id);
        else
            snprintf(err, errlen,
                     "key store %s holds keys encrypted with key-encryption key %s, not with"
                     " the configured one (%s): configure the right KEK, or migrate with"
                     " parsecd --rewrap --old-kek-file OLD",
                     ks->path, kek_id, ks->kek.id);
        return -1;
    }
    if (psd_kek_unwrap(kek, e->key.id, blob, len, &plain, &plain_len) != 0) {
        snprintf(err, errlen,
                 "key store %s: key id %llu does not decrypt with key-encryption key %s:"
                 " the store is damaged or was altered",
                 ks->path, (unsigned long long)e->key.id, kek_id);
        return -1;
    }
    ks->n_old += kek == &ks->old_kek;
found:
    e->key.blob = plain;
    e->key.blob_len = plain_len;
    return 0;
}

static int psd_load_keys(psd_keystore *ks, char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT auth_type, app_name, key_name, id, provider_id, key_type, ecc_family, key_bits,"
        " usage_flags, alg_kind, alg_scheme, alg_hash, blob, state, kek_id FROM keys";
    sqlite3_stmt *st = NULL;
    int rc = -1, step;

    if (sqlite3_prepare_v2(ks->db, "SELECT value FROM meta WHERE name = 'next_id'", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        snprintf(err, errlen, "reading the key store: %s", sqlite3_errmsg(ks->db));
        goto done;
    }
    ks->next_id = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(ks->db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "reading the key store: %s", sqlite3_errmsg(ks->db));
        goto done;
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        parsec_key_attributes attrs = {
            .type = (uint8_t)sqlite3_column_int(st, 5),
            .ecc_family = (uint8_t)sqlite3_column_int(st, 6),
            .bits = (uint32_t)sqlite3_column_int64(st, 7),
            .usage = (uint32_t)sqlite3_column_int64(st, 8),
            .alg = {.kind = (uint8_t)sqlite3_column_int(st, 9),
                    .scheme = (uint8_t)sqlite3_column_int(st, 10),
                    .hash = (uint8_t)sqlite3_column_int(st, 11)},
        };
        const char *app = (const char *)sqlite3_column_text(st, 1);
        const char *name = (const char *)sqlite3_column_text(st, 2);
        const void *blob = sqlite3_column_blob(st, 12);
        int blob_len = sqlite3_column_bytes(st, 12);
        psd_key_entry *e;

        if (app == NULL || name == NULL)
            continue;
        e = psd_entry_new((uint8_t)sqlite3_column_int(st, 0), app, name,
                          (uint64_t)sqlite3_column_int64(st, 3), (uint8_t)sqlite3_column_int(st, 4),
                          &attrs);
        if (e == NULL) {
            snprintf(err, errlen, "out of memory loading the key store");
            goto done;
        }
        if (psd_load_blob(ks, e, (const char *)sqlite3_column_text(st, 14), blob,
                          (size_t)(blob_len > 0 ? blob_len : 0), err, errlen) != 0) {
            psd_entry_free(e);
            goto done;
        }
        /* An interrupted create or destroy: invisible, name taken, until psd_reconcile. */
        e->state = sqlite3_column_int(st, 13);
        if (e->state != PSD_KEY_READY) {
            e->state = e->state == PSD_KEY_PENDING ? PSD_KEY_PENDING : PSD_KEY_REMOVING;
            e->tracked = 1;
            ks->n_unfinished++;
        }
        if (e->key.id >= ks->next_id)
            ks->next_id = e->key.id + 1;
        psd_index_insert(ks, e);
    }
    if (step != SQLITE_DONE) {
        snprintf(err, errlen, "reading the key store: %s", sqlite3_errmsg(ks->db));
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    return rc;
}

/*
 * Space of deleted keys goes back to the file system (issue: a store grown
 * by huge names never shrank). auto_vacuum only takes effect on a store
 * created with it, so an older store is rebuilt once with VACUUM.
 */
static int psd_enable_auto_vacuum(psd_keystore *ks, const char *path, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int mode = -1;

    if (sqlite3_prepare_v2(ks->db, "PRAGMA auto_vacuum", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        mode = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (mode == 1)
        return 0;
    psd_log(PSD_LOG_INFO, "key store %s: turning on auto_vacuum (one-time VACUUM)", path);
    return psd_exec(ks, "PRAGMA auto_vacuum = FULL; VACUUM;", err, errlen);
}

/* Stores made before a column existed get it (with its default) once. */
static int psd_add_column(psd_keystore *ks, const char *column, const char *decl, char *err,
                          size_t errlen)
{
    sqlite3_stmt *st = NULL;
    char sql[160];
    int have = 0;

    if (sqlite3_prepare_v2(ks->db, "SELECT 1 FROM pragma_table_info('keys') WHERE name = ?", -1,
                           &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(ks->db));
        return -1;
    }
    sqlite3_bind_text(st, 1, column, -1, SQLITE_STATIC);
    have = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (have)
        return 0;
    snprintf(sql, sizeof(sql), "ALTER TABLE keys ADD COLUMN %s %s", column, decl);
    return psd_exec(ks, sql, err, errlen);
}

/* A random tag for this store, made once: device objects carry it in their IDs. */
static int psd_load_tag(psd_keystore *ks, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    uint32_t fresh;
    char sql[96];

    if (RAND_bytes((unsigned char *)&fresh, sizeof(fresh)) != 1) {
        snprintf(err, errlen, "no random bytes for the store tag");
        return -1;
    }
    snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO meta(name, value) VALUES ('store_tag', %u)",
             (unsigned int)fresh);
    if (psd_exec(ks, sql, err, errlen) != 0)
        return -1;
    if (sqlite3_prepare_v2(ks->db, "SELECT value FROM meta WHERE name = 'store_tag'", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(ks->db));
        sqlite3_finalize(st);
        return -1;
    }
    ks->tag = (uint32_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* The configured KEK: [key_store] kek_file, or kek_credential in $CREDENTIALS_DIRECTORY. */
static int psd_kek_configured(const psd_config *cfg, const psd_kek *preset, psd_kek *kek, char *err,
                              size_t errlen)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    char path[PATH_MAX], what[128];

    memset(kek, 0, sizeof(*kek));
    if ((cfg->kek_file != NULL) + (cfg->kek_credential != NULL) + (cfg->kek_tpm_file != NULL) > 1) {
        snprintf(err, errlen,
                 "[key_store] sets more than one of kek_file, kek_credential, kek_tpm_file:"
                 " keep one");
        return -1;
    }
    if (preset != NULL) {
        *kek = *preset;
        return 0;
    }
    if (cfg->kek_tpm_file != NULL) {
        snprintf(err, errlen, "kek_tpm_file needs the tpm backend: add tpm to [core] providers");
        return -1;
    }
    if (cfg->kek_file != NULL)
        return psd_kek_load_file(cfg->kek_file, "kek_file", kek, err, errlen);
    if (cfg->kek_credential == NULL)
        return 0;
    if (dir == NULL || dir[0] == '\0') {
        snprintf(err, errlen,
                 "kek_credential = %s, but CREDENTIALS_DIRECTORY is not set: start parsecd"
                 " from systemd with LoadCredential=%s:FILE (or LoadCredentialEncrypted=)",
                 cfg->kek_credential, cfg->kek_credential);
        return -1;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, cfg->kek_credential) >= sizeof(path)) {
        snprintf(err, errlen, "credential path %s/%s is too long", dir, cfg->kek_credential);
        return -1;
    }
    snprintf(what, sizeof(what), "credential %s", cfg->kek_credential);
    return psd_kek_load_file(path, what, kek, err, errlen);
}

static int psd_keystore_open_with(const psd_config *cfg, const psd_kek *preset,
                                  const char *old_kek_path, psd_keystore **out, char *err,
                                  size_t errlen)
{
    psd_keystore *ks = calloc(1, sizeof(*ks));
    const char *path = cfg->key_store_path;

    *out = NULL;
    if (ks == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&ks->db_lock, NULL);
    pthread_rwlock_init(&ks->lock, NULL);
    ks->max_keys_per_app = cfg->max_keys_per_app;
    ks->path = strdup(path);
    ks->n_buckets = 256;
    ks->buckets = calloc(ks->n_buckets, sizeof(*ks->buckets));
    if (ks->buckets == NULL || ks->path == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* New folders are private: only the service reads the store. */
    if (psd_make_parent_dirs(path, 0700, "[key_store] path", err, errlen) != 0)
        goto fail;
    if (psd_check_store_files(path, err, errlen) != 0)
        goto fail;
    /* A KEK file that cannot be used stops parsecd before the store is touched. */
    if (psd_kek_configured(cfg, preset, &ks->kek, err, errlen) != 0 ||
        (old_kek_path != NULL &&
         psd_kek_load_file(old_kek_path, "--old-kek-file", &ks->old_kek, err, errlen) != 0))
        goto fail;
    if (sqlite3_open_v2(path, &ks->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open key store %s: %s", path,
                 ks->db != NULL ? sqlite3_errmsg(ks->db) : "out of memory");
        goto fail;
    }
    /*
     * Exclusive locking: a second parsecd on the same store fails at start
     * instead of both serving diverging copies.
     */
    if (psd_exec(ks, "PRAGMA auto_vacuum = FULL;", err, errlen) != 0 ||
        psd_exec(ks,
                 "PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;"
                 " PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;",
                 err, errlen) != 0 ||
        psd_exec(ks, "BEGIN IMMEDIATE", err, errlen) != 0) {
        char reason[200];

        snprintf(reason, sizeof(reason), "%s", err);
        snprintf(err, errlen, "key store %s unusable (in use by another parsecd?): %s", path,
                 reason);
        goto fail;
    }
    if (psd_exec(ks, psd_schema_sql, err, errlen) != 0 ||
        psd_add_column(ks, "state", "INTEGER NOT NULL DEFAULT 1", err, errlen) != 0 ||
        psd_add_column(ks, "kek_id", "TEXT", err, errlen) != 0 ||
        psd_load_tag(ks, err, errlen) != 0 || psd_exec(ks, "COMMIT", err, errlen) != 0) {
        char reason[200];

        snprintf(reason, sizeof(reason), "%s", err);
        snprintf(err, errlen, "key store %s: %s", path, reason);
        goto fail;
    }
    if (psd_enable_auto_vacuum(ks, path, err, errlen) != 0) {
        char reason[200];

        snprintf(reason, sizeof(reason), "%s", err);
        snprintf(err, errlen, "key store %s: %s", path, reason);
        goto fail;
    }
    if (psd_load_keys(ks, err, errlen) != 0)
        goto fail;
    psd_log(PSD_LOG_INFO, "key store %s: %zu keys%s%s", path, ks->count,
            ks->kek.present ? ", encrypted with key-encryption key " : "",
            ks->kek.present ? ks->kek.id : "");
    if (ks->kek.present && ks->n_plain > 0 && old_kek_path == NULL)
        psd_log(PSD_LOG_WARN,
                "key store %s: %zu keys are stored without the key-encryption key; stop"
                " parsecd and run parsecd -c CONFIG --rewrap to encrypt them",
                path, ks->n_plain);
    *out = ks;
    return 0;
fail:
    psd_keystore_close(ks);
    return -1;
}

int psd_keystore_open(const psd_config *cfg, const psd_kek *kek, psd_keystore **out, char *err,
                      size_t errlen)
{
    return psd_keystore_open_with(cfg, kek, NULL, out, err, errlen);
}

void psd_keystore_close(psd_keystore *ks)
{
    if (ks == NULL)
        return;
    psd_kek_clear(&ks->kek);
    psd_kek_clear(&ks->old_kek);
    if (ks->db != NULL)
        sqlite3_close(ks->db);
    if (ks->buckets != NULL) {
        for (size_t i = 0; i < ks->n_buckets; i++) {
            psd_key_entry *e = ks->buckets[i], *next;

            for (; e != NULL; e = next) {
                next = e->next;
                psd_entry_unref(e);
            }
        }
        free(ks->buckets);
    }
    pthread_rwlock_destroy(&ks->lock);
    pthread_mutex_destroy(&ks->db_lock);
    free(ks->path);
    free(ks);
}

parsec_status psd_keystore_get(psd_keystore *ks, uint8_t auth, const char *app, const char *name,
                               psd_key_entry **out)
{
    uint32_t hash = psd_key_hash(auth, app, name);
    psd_key_entry *e;

    pthread_rwlock_rdlock(&ks->lock);
    e = psd_index_find(ks, auth, app, name, hash);
    if (e != NULL && e->state == PSD_KEY_READY)
        atomic_fetch_add(&e->refs, 1);
    else
        e = NULL;
    pthread_rwlock_unlock(&ks->lock);
    *out = e;
    return e != NULL ? PARSEC_SUCCESS : PARSEC_PSA_ERROR_DOES_NOT_EXIST;
}

void psd_keystore_release(psd_keystore *ks, psd_key_entry *e)
{
    psd_entry_unref(e);
}

/*
 * A store deleted (or renamed over) while parsecd runs would take every key
 * written from then on with it at the next start. SQLite's unix VFS tells
 * (st_nlink == 0 on the open descriptor, or another inode at the path).
 * Caller holds db_lock; refuses writes from the first time on.
 */
static int psd_store_moved(psd_keystore *ks)
{
    int moved = 0;

    if (ks->moved)
        return 1;
    if (sqlite3_file_control(ks->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK || !moved)
        return 0;
    ks->moved = 1;
    psd_log(PSD_LOG_ERROR,
            "key store %s was deleted or replaced while parsecd runs: refusing to create or"
            " destroy keys from now on (they would be lost at the next start). Keys already"
            " loaded stay usable until parsecd stops. Put the file back (from a backup) and"
            " restart parsecd; restarting without it starts an empty store.",
            ks->path);
    return 1;
}

/* Durably reserve one key ID. Caller holds db_lock. */
static parsec_status psd_next_id(psd_keystore *ks, uint64_t *id)
{
    char sql[96];
    char err[160];

    if (psd_store_moved(ks))
        return PARSEC_PSA_ERROR_STORAGE_FAILURE;
    snprintf(sql, sizeof(sql), "UPDATE meta SET value = %llu WHERE name = 'next_id'",
             (unsigned long long)(ks->next_id + 1));
    if (psd_exec(ks, sql, err, sizeof(err)) != 0) {
        psd_log(PSD_LOG_ERROR, "key store: cannot reserve a key id: %s", err);
        return PARSEC_PSA_ERROR_STORAGE_FAILURE;
    }
    *id = ks->next_id++;
    return PARSEC_SUCCESS;
}

/* Keys of one application, pending and removing ones included. Caller holds the lock. */
static uint32_t psd_app_key_count(psd_keystore *ks, uint8_t auth, const char *app)
{
    uint32_t n = 0;

    for (size_t i = 0; i < ks->n_buckets; i++)
        for (psd_key_entry *e = ks->buckets[i]; e != NULL; e = e->next)
            if (e->auth_type == auth && strcmp(e->app_name, app) == 0 && n < UINT32_MAX)
                n++;
    return n;
}

parsec_status psd_keystore_reserve(psd_keystore *ks, uint8_t auth, const char *app,
                                   const char *name, uint8_t provider_id,
                                   const parsec_key_attributes *attrs, psd_key_entry **out)
{
    uint32_t hash = psd_key_hash(auth, app, name);
    parsec_status st;
    psd_key_entry *e;
    uint64_t id;
    int taken;

    *out = NULL;
    pthread_rwlock_rdlock(&ks->lock);
    taken = psd_index_find(ks, auth, app, name, hash) != NULL;
    pthread_rwlock_unlock(&ks->lock);
    if (taken)
        return PARSEC_PSA_ERROR_ALREADY_EXISTS;

    pthread_mutex_lock(&ks->db_lock);
    st = psd_next_id(ks, &id);
    pthread_mutex_unlock(&ks->db_lock);
    if (st != PARSEC_SUCCESS)
        return st;
    e = psd_entry_new(auth, app, name, id, provider_id, attrs);
    if (e == NULL)
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    e->state = PSD_KEY_PENDING;

    /* Check again: another thread may have taken the name meanwhile; exactly one wins. */
    pthread_rwlock_wrlock(&ks->lock);
    if (psd_index_find(ks, auth, app, name, hash) != NULL) {
        pthread_rwlock_unlock(&ks->lock);
        psd_entry_free(e);
        return PARSEC_PSA_ERROR_ALREADY_EXISTS;
    }
    if (psd_app_key_count(ks, auth, app) >= ks->max_keys_per_app) {
        pthread_rwlock_unlock(&ks->lock);
        psd_entry_free(e);
        psd_log(PSD_LOG_WARN,
                "application %s has %u keys, the most [key_store] max_keys_per_app allows:"
                " key refused",
                app, ks->max_keys_per_app);
        return PARSEC_PSA_ERROR_INSUFFICIENT_STORAGE;
    }
    atomic_fetch_add(&e->refs, 1); /* the caller's */
    psd_index_insert(ks, e);
    pthread_rwlock_unlock(&ks->lock);
    *out = e;
    return PARSEC_SUCCESS;
}

/*
 * e's blob into parameters blob_col and kek_col: wrapped under the KEK when
 * one is configured (an empty blob, of a PENDING row, stays empty).
 */
static int psd_bind_blob(psd_keystore *ks, sqlite3_stmt *st, int blob_col, int kek_col,
                         const psd_key_entry *e)
{
    uint8_t *wrapped = NULL;
    size_t wrapped_len = 0;

    if (e->key.blob == NULL || e->key.blob_len == 0) {
        sqlite3_bind_zeroblob(st, blob_col, 0);
        sqlite3_bind_null(st, kek_col);
        return 0;
    }
    if (!ks->kek.present) {
        sqlite3_bind_blob(st, blob_col, e->key.blob, (int)e->key.blob_len, SQLITE_STATIC);
        sqlite3_bind_null(st, kek_col);
        return 0;
    }
    if (psd_kek_wrap(&ks->kek, e->key.id, e->key.blob, e->key.blob_len, &wrapped, &wrapped_len) !=
        0)
        return -1;
    sqlite3_bind_blob(st, blob_col, wrapped, (int)wrapped_len, psd_free_wrapped);
    sqlite3_bind_text(st, kek_col, ks->kek.id, -1, SQLITE_TRANSIENT);
    return 0;
}

/* A new row in state (PENDING before the backend acts, READY once it has). */
static parsec_status psd_insert_row(psd_keystore *ks, const psd_key_entry *e, int state)
{
    static const char sql[] =
        "INSERT INTO keys (auth_type, app_name, key_name, id, provider_id, key_type, ecc_family,"
        " key_bits, usage_flags, alg_kind, alg_scheme, alg_hash, blob, state, kek_id)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    parsec_status st = PARSEC_PSA_ERROR_STORAGE_FAILURE;
    sqlite3_stmt *ins = NULL;
    char err[160] = "";

    pthread_mutex_lock(&ks->db_lock);
    if (psd_store_moved(ks)) {
        snprintf(err, sizeof(err), "the store file was deleted or replaced");
        goto done;
    }
    if (psd_exec(ks, "BEGIN IMMEDIATE", err, sizeof(err)) != 0)
        goto done;
    if (sqlite3_prepare_v2(ks->db, sql, -1, &ins, NULL) != SQLITE_OK) {
        snprintf(err, sizeof(err), "%s", sqlite3_errmsg(ks->db));
        goto rollback;
    }
    sqlite3_bind_int(ins, 1, e->auth_type);
    sqlite3_bind_text(ins, 2, e->app_name, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, e->key.name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 4, (sqlite3_int64)e->key.id);
    sqlite3_bind_int(ins, 5, e->provider_id);
    sqlite3_bind_int(ins, 6, e->attrs.type);
    sqlite3_bind_int(ins, 7, e->attrs.ecc_family);
    sqlite3_bind_int64(ins, 8, e->attrs.bits);
    sqlite3_bind_int64(ins, 9, e->attrs.usage);
    sqlite3_bind_int(ins, 10, e->attrs.alg.kind);
    sqlite3_bind_int(ins, 11, e->attrs.alg.scheme);
    sqlite3_bind_int(ins, 12, e->attrs.alg.hash);
    if (psd_bind_blob(ks, ins, 13, 15, e) != 0) {
        snprintf(err, sizeof(err), "cannot encrypt the key");
        goto rollback;
    }
    sqlite3_bind_int(ins, 14, state);
    if (sqlite3_step(ins) != SQLITE_DONE) {
        snprintf(err, sizeof(err), "%s", sqlite3_errmsg(ks->db));
        goto rollback;
    }
    if (psd_exec(ks, "COMMIT", err, sizeof(err)) != 0)
        goto rollback;
    st = PARSEC_SUCCESS;
    goto done;
rollback : {
    char ignored[160];

    psd_exec(ks, "ROLLBACK", ignored, sizeof(ignored));
}
done:
    sqlite3_finalize(ins);
    pthread_mutex_unlock(&ks->db_lock);
    if (st != PARSEC_SUCCESS)
        psd_log(PSD_LOG_ERROR, "key store: cannot store key id %llu: %s",
                (unsigned long long)e->key.id, err);
    return st;
}

/* Set a row's state (and its blob when with_blob). */
static parsec_status psd_update_row(psd_keystore *ks, const psd_key_entry *e, int state,
                                    int with_blob)
{
    parsec_status st = PARSEC_PSA_ERROR_STORAGE_FAILURE;
    sqlite3_stmt *up = NULL;

    pthread_mutex_lock(&ks->db_lock);
    if (psd_store_moved(ks))
        goto done;
    if (sqlite3_prepare_v2(ks->db,
                           with_blob
                               ? "UPDATE keys SET state = ?, blob = ?, kek_id = ? WHERE id = ?"
                               : "UPDATE keys SET state = ? WHERE id = ?",
                           -1, &up, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_int(up, 1, state);
    if (with_blob && psd_bind_blob(ks, up, 2, 3, e) != 0)
        goto done;
    sqlite3_bind_int64(up, with_blob ? 4 : 2, (sqlite3_int64)e->key.id);
    if (sqlite3_step(up) == SQLITE_DONE && sqlite3_changes(ks->db) == 1)
        st = PARSEC_SUCCESS;
done:
    if (st != PARSEC_SUCCESS)
        psd_log(PSD_LOG_ERROR, "key store: cannot update key id %llu: %s",
                (unsigned long long)e->key.id, sqlite3_errmsg(ks->db));
    sqlite3_finalize(up);
    pthread_mutex_unlock(&ks->db_lock);
    return st;
}

parsec_status psd_keystore_track(psd_keystore *ks, psd_key_entry *e)
{
    parsec_status st = psd_insert_row(ks, e, PSD_KEY_PENDING);

    if (st == PARSEC_SUCCESS)
        e->tracked = 1;
    return st;
}

parsec_status psd_keystore_commit(psd_keystore *ks, psd_key_entry *e, const uint8_t *blob,
                                  size_t blob_len)
{
    uint8_t *copy;
    parsec_status st;

    if (blob_len > INT32_MAX)
        return PARSEC_PSA_ERROR_INSUFFICIENT_STORAGE;
    copy = OPENSSL_malloc(blob_len > 0 ? blob_len : 1);
    if (copy == NULL) {
        psd_keystore_abort(ks, e);
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    }
    if (blob_len > 0)
        memcpy(copy, blob, blob_len);
    e->key.blob = copy; /* nobody else reads a PENDING entry's blob */
    e->key.blob_len = blob_len;
    st =
        e->tracked ? psd_update_row(ks, e, PSD_KEY_READY, 1) : psd_insert_row(ks, e, PSD_KEY_READY);
    if (st != PARSEC_SUCCESS) {
        psd_keystore_abort(ks, e);
        return st;
    }
    pthread_rwlock_wrlock(&ks->lock);
    e->state = PSD_KEY_READY;
    pthread_rwlock_unlock(&ks->lock);
    psd_entry_unref(e);
    return PARSEC_SUCCESS;
}

void psd_keystore_abort(psd_keystore *ks, psd_key_entry *e)
{
    /* A row left behind is rolled back at the next start (psd_reconcile). */
    if (e->tracked)
        (void)psd_delete_row(ks, e);
    pthread_rwlock_wrlock(&ks->lock);
    psd_index_remove(ks, e);
    pthread_rwlock_unlock(&ks->lock);
    psd_entry_unref(e);
}

parsec_status psd_keystore_begin_remove(psd_keystore *ks, psd_key_entry *e, int durable)
{
    parsec_status st = PARSEC_PSA_ERROR_DOES_NOT_EXIST;
    int moved;

    /* Before the backend forgets the key: its row could not be deleted. */
    pthread_mutex_lock(&ks->db_lock);
    moved = psd_store_moved(ks);
    pthread_mutex_unlock(&ks->db_lock);
    if (moved)
        return PARSEC_PSA_ERROR_STORAGE_FAILURE;

    pthread_rwlock_wrlock(&ks->lock);
    if (e->state == PSD_KEY_READY) {
        e->state = PSD_KEY_REMOVING;
        st = PARSEC_SUCCESS;
    }
    pthread_rwlock_unlock(&ks->lock);
    /* Recorded before the backend acts: a crash now is finished at the next start. */
    if (st == PARSEC_SUCCESS && durable) {
        st = psd_update_row(ks, e, PSD_KEY_REMOVING, 0);
        if (st != PARSEC_SUCCESS) {
            pthread_rwlock_wrlock(&ks->lock);
            e->state = PSD_KEY_READY;
            pthread_rwlock_unlock(&ks->lock);
        } else {
            e->tracked = 1;
        }
    }
    return st;
}

static void psd_checkpoint(psd_keystore *ks)
{
    int rc = sqlite3_wal_checkpoint_v2(ks->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);

    if (rc != SQLITE_OK)
        psd_log(PSD_LOG_WARN, "key store: WAL checkpoint after a destroy failed: %s",
                sqlite3_errmsg(ks->db));
}

static parsec_status psd_delete_row(psd_keystore *ks, const psd_key_entry *e)
{
    parsec_status st = PARSEC_PSA_ERROR_STORAGE_FAILURE;
    sqlite3_stmt *del = NULL;

    pthread_mutex_lock(&ks->db_lock);
    if (psd_store_moved(ks)) {
        pthread_mutex_unlock(&ks->db_lock);
        return st;
    }
    if (sqlite3_prepare_v2(ks->db, "DELETE FROM keys WHERE id = ?", -1, &del, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(del, 1, (sqlite3_int64)e->key.id);
        if (sqlite3_step(del) == SQLITE_DONE)
            st = PARSEC_SUCCESS;
    }
    if (st != PARSEC_SUCCESS)
        psd_log(PSD_LOG_ERROR, "key store: cannot delete key id %llu: %s",
                (unsigned long long)e->key.id, sqlite3_errmsg(ks->db));
    sqlite3_finalize(del);
    /*
     * secure_delete zeroed the row in the new page image, but the WAL still
     * holds older images with the key: fold them into the store and empty it.
     */
    if (st == PARSEC_SUCCESS)
        psd_checkpoint(ks);
    pthread_mutex_unlock(&ks->db_lock);
    return st;
}

parsec_status psd_keystore_end_remove(psd_keystore *ks, psd_key_entry *e, int done)
{
    parsec_status st = PARSEC_SUCCESS;

    if (done)
        st = psd_delete_row(ks, e);
    else if (e->tracked)
        st = psd_update_row(ks, e, PSD_KEY_READY, 0);
    pthread_rwlock_wrlock(&ks->lock);
    if (done)
        psd_index_remove(ks, e); /* the backend already forgot it: never serve it again */
    else
        e->state = PSD_KEY_READY;
    pthread_rwlock_unlock(&ks->lock);
    return st;
}

/* What a collection of entries takes (psd_collect). */
typedef struct psd_match {
    int any_state;  /* else READY only */
    int unfinished; /* only rows a crash left PENDING/REMOVING */
    int by_provider;
    uint8_t provider_id;
    uint8_t auth;    /* when !by_provider */
    const char *app; /* when !by_provider; NULL: every app */
} psd_match;

static int psd_matches(const psd_key_entry *e, const psd_match *m)
{
    if (m->unfinished && !(e->tracked && e->state != PSD_KEY_READY))
        return 0;
    if (!m->any_state && e->state != PSD_KEY_READY)
        return 0;
    if (m->by_provider)
        return e->provider_id == m->provider_id;
    return e->auth_type == m->auth && (m->app == NULL || strcmp(e->app_name, m->app) == 0);
}

/* References to every entry m takes. Release with psd_keystore_list_free. */
static parsec_status psd_collect(psd_keystore *ks, const psd_match *m, psd_key_entry ***out,
                                 size_t *n)
{
    psd_key_entry **list;
    size_t count = 0;

    *out = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&ks->lock);
    list = calloc(ks->count + 1, sizeof(*list));
    if (list == NULL) {
        pthread_rwlock_unlock(&ks->lock);
        return PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
    }
    for (size_t i = 0; i < ks->n_buckets; i++)
        for (psd_key_entry *e = ks->buckets[i]; e != NULL; e = e->next)
            if (psd_matches(e, m)) {
                atomic_fetch_add(&e->refs, 1);
                list[count++] = e;
            }
    pthread_rwlock_unlock(&ks->lock);
    *out = list;
    *n = count;
    return PARSEC_SUCCESS;
}

parsec_status psd_keystore_list(psd_keystore *ks, uint8_t auth, const char *app,
                                psd_key_entry ***out, size_t *n)
{
    psd_match m = {.auth = auth, .app = app};

    return psd_collect(ks, &m, out, n);
}

void psd_keystore_list_free(psd_keystore *ks, psd_key_entry **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        psd_entry_unref(list[i]);
    free(list);
}

static int psd_strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

parsec_status psd_keystore_clients(psd_keystore *ks, uint8_t auth, char ***out, size_t *n)
{
    psd_key_entry **keys = NULL;
    size_t nkeys = 0, count = 0;
    char **names = NULL;
    parsec_status st;

    *out = NULL;
    *n = 0;
    st = psd_keystore_list(ks, auth, NULL, &keys, &nkeys);
    if (st != PARSEC_SUCCESS)
        return st;
    names = calloc(nkeys + 1, sizeof(*names));
    if (names == NULL) {
        st = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
        goto done;
    }
    for (size_t i = 0; i < nkeys; i++)
        names[i] = keys[i]->app_name;
    qsort(names, nkeys, sizeof(*names), psd_strcmp_ptr);
    for (size_t i = 0; i < nkeys; i++) {
        if (count > 0 && strcmp(names[count - 1], names[i]) == 0)
            continue;
        names[count++] = names[i];
    }
    for (size_t i = 0; i < count; i++) {
        names[i] = strdup(names[i]);
        if (names[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(names[j]);
            free(names);
            names = NULL;
            count = 0;
            st = PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY;
            goto done;
        }
    }
    *out = names;
    *n = count;
done:
    psd_keystore_list_free(ks, keys, nkeys);
    return st;
}

uint32_t psd_keystore_tag(const psd_keystore *ks)
{
    return ks->tag;
}

parsec_status psd_keystore_all(psd_keystore *ks, uint8_t provider_id, psd_key_entry ***out,
                               size_t *n)
{
    psd_match m = {.any_state = 1, .by_provider = 1, .provider_id = provider_id};

    return psd_collect(ks, &m, out, n);
}

parsec_status psd_keystore_unfinished(psd_keystore *ks, uint8_t provider_id, psd_key_entry ***out,
                                      size_t *n)
{
    psd_match m = {.any_state = 1, .unfinished = 1, .by_provider = 1, .provider_id = provider_id};

    return psd_collect(ks, &m, out, n);
}

parsec_status psd_keystore_drop(psd_keystore *ks, psd_key_entry *e)
{
    parsec_status st = psd_delete_row(ks, e);

    if (st != PARSEC_SUCCESS)
        return st;
    pthread_rwlock_wrlock(&ks->lock);
    psd_index_remove(ks, e);
    pthread_rwlock_unlock(&ks->lock);
    return PARSEC_SUCCESS;
}

/*
 * parsecd --rewrap: every row under the configured KEK (or in plaintext if
 * none is configured), in one transaction; then VACUUM and a checkpoint, so
 * that no page of the file keeps an older form of a key.
 */
int psd_keystore_rewrap(const psd_config *cfg, const psd_kek *kek, const char *old_kek_path,
                        char *err, size_t errlen)
{
    psd_keystore *ks = NULL;
    size_t done = 0;
    int rc = -1;

    if (psd_keystore_open_with(cfg, kek, old_kek_path, &ks, err, errlen) != 0)
        return -1;
    if (psd_exec(ks, "BEGIN IMMEDIATE", err, errlen) != 0)
        goto done;
    for (size_t i = 0; i < ks->n_buckets; i++)
        for (psd_key_entry *e = ks->buckets[i]; e != NULL; e = e->next) {
            sqlite3_stmt *up = NULL;
            int ok;

            if (e->key.blob_len == 0)
                continue;
            ok = sqlite3_prepare_v2(ks->db, "UPDATE keys SET blob = ?, kek_id = ? WHERE id = ?", -1,
                                    &up, NULL) == SQLITE_OK &&
                 psd_bind_blob(ks, up, 1, 2, e) == 0 &&
                 sqlite3_bind_int64(up, 3, (sqlite3_int64)e->key.id) == SQLITE_OK &&
                 sqlite3_step(up) == SQLITE_DONE;
            if (!ok)
                snprintf(err, errlen, "key store %s: cannot rewrap key id %llu: %s", ks->path,
                         (unsigned long long)e->key.id, sqlite3_errmsg(ks->db));
            sqlite3_finalize(up);
            if (!ok) {
                char ignored[160];

                psd_exec(ks, "ROLLBACK", ignored, sizeof(ignored));
                goto done;
            }
            done++;
        }
    if (psd_exec(ks, "COMMIT", err, errlen) != 0 || psd_exec(ks, "VACUUM", err, errlen) != 0)
        goto done;
    psd_checkpoint(ks);
    psd_log(PSD_LOG_INFO, "key store %s: %zu keys rewrapped %s%s", ks->path, done,
            ks->kek.present ? "with key-encryption key " : "in plaintext (no KEK configured)",
            ks->kek.present ? ks->kek.id : "");
    rc = 0;
done:
    psd_keystore_close(ks);
    return rc;
}
