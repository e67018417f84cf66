/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parsecd internals shared by the service's own files (not by backends,
 * which only see psd_backend.h).
 */
#ifndef PSD_SERVICE_H
#define PSD_SERVICE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "parsec_busy_poll.h"
#include "parsec_lane.h"
#include "parsec_types.h"
#include "psd_backend.h"

#define PSD_MAX_BACKENDS 3
#define PSD_MAX_SETTINGS 64
/* Keep-alive extension (docs/protocol-extensions.md): kept connections at most, idle limit. */
#define PSD_DEFAULT_KEEPALIVE_MAX 128
#define PSD_DEFAULT_KEEPALIVE_IDLE_MS 10000
/* Longest key name a key can be created with, in bytes (docs/security.md). */
#define PSD_KEY_NAME_MAX 256
#define PSD_DEFAULT_MAX_KEYS_PER_APP 10000
/* Connections one peer UID may have open at once (parsecd.conf.example, [listener]). */
#define PSD_DEFAULT_MAX_CONNECTIONS_PER_UID 64

/* ---- configuration (psd_config.c) ---- */

typedef struct psd_backend_conf {
    const char *name; /* "software", "pkcs11", "tpm" */
    psd_setting items[PSD_MAX_SETTINGS];
    size_t count;
} psd_backend_conf;

typedef struct psd_config {
    char *config_dir;
    /* [listener] */
    char *socket_path;
    unsigned int socket_mode;
    char *socket_owner;
    char *socket_group;
    unsigned int timeout_ms;
    unsigned int keepalive_max; /* 0: never keep a connection */
    unsigned int keepalive_idle_ms;
    unsigned int max_connections_per_uid; /* 0: no cap */
    unsigned int busy_poll_us;            /* kept connections: poll for the next request; 0 off */
    int shm_handoff; /* kept connections: offer a shared-memory hand-off (parsec_lane.h) */
    /* [core] */
    unsigned int threads;
    uint32_t body_len_limit;
    size_t buffer_size_limit;
    int log_level;
    int log_target; /* PSD_LOG_TO_* */
    char *log_file; /* log_target = file */
    char *providers[PSD_MAX_BACKENDS];
    size_t n_providers;
    uint32_t min_rsa_bits; /* smallest RSA key pair generated or imported */
    int allow_deprecated;  /* templates with deprecated primitives are accepted */
    char *module_dir;      /* backend modules; NULL: the folder they install to */
    /* [authenticator] */
    uint8_t auth_type;
    char **admins;
    size_t n_admins;
    /* [key_store] */
    char *key_store_path;
    uint32_t max_keys_per_app;
    char *kek_file;       /* key-encryption key (docs/security.md) */
    char *kek_credential; /* ... or the name of a systemd credential holding it */
    char *kek_tpm_file;   /* ... or a file with it sealed by the tpm backend */
    /* backend sections */
    psd_backend_conf backends[PSD_MAX_BACKENDS];
} psd_config;

enum psd_log_target { PSD_LOG_TO_STDERR = 0, PSD_LOG_TO_SYSLOG = 1, PSD_LOG_TO_FILE = 2 };

/*
 * 0 on success; otherwise the reasons in err, one line ("FILE:LINE: what")
 * per error, separated by '\n'.
 */
int psd_config_load(const char *path, psd_config *cfg, char *err, size_t errlen);
void psd_config_free(psd_config *cfg);
/* [authenticator] admins, which SIGHUP replaces while workers read them. */
int psd_config_is_admin(const psd_config *cfg, const char *app);
void psd_config_swap_admins(psd_config *live, psd_config *fresh);
/* Settings of one backend section (empty if the section is absent). */
void psd_config_backend_settings(const psd_config *cfg, const char *name, psd_settings *out);
/* "error" -> PSD_LOG_ERROR ...; -1 if unknown. */
int psd_log_level_from_name(const char *name);
const char *psd_log_level_name(int level);

/* ---- paths (psd_paths.c) ---- */
/* "user NAME, uid N" of the effective user, for error messages; returns buf. */
const char *psd_running_user(char *buf, size_t len);
/*
 * mkdir -p of path's parent folders; folders it creates get exactly mode.
 * what names the setting in messages. 0, or -1 with the reason in err.
 */
int psd_make_parent_dirs(const char *path, mode_t mode, const char *what, char *err, size_t errlen);

/* ---- logging (psd_log.c) ---- */
void psd_log_set_level(int level);
int psd_log_enabled(int level);
/* Before any thread starts: the configured log target (stderr, syslog, file). */
int psd_log_start(const psd_config *cfg, char *err, size_t errlen);
/* SIGHUP: reopen the log file (after log rotation); no-op for other targets. */
int psd_log_reopen(const psd_config *cfg, char *err, size_t errlen);
void psd_log_stop(void);

/*
 * A message a peer can cause at will (refused connections, descriptor
 * exhaustion): logged at most once per interval, with how many were held back.
 */
typedef struct psd_log_limit {
    _Atomic int64_t next_ms; /* monotonic time the next line may go out */
    atomic_uint held_back;
    unsigned int interval_ms;
} psd_log_limit;
__attribute__((format(printf, 3, 4))) void psd_log_limited(psd_log_limit *lim, int level,
                                                           const char *fmt, ...);
int64_t psd_monotonic_ms(void);

/* ---- key-info store (psd_keystore.c) ---- */

enum psd_key_state {
    PSD_KEY_PENDING = 0, /* being generated/imported: invisible, name taken */
    PSD_KEY_READY = 1,
    PSD_KEY_REMOVING = 2, /* being destroyed: invisible, name still taken */
};

/*
 * One key of one application. Immutable once READY, except state and refs;
 * reference-counted so a destroy never frees a key another thread is using.
 */
typedef struct psd_key_entry {
    struct psd_key_entry *next; /* hash chain */
    uint32_t hash;
    atomic_int refs;
    int state;   /* guarded by the store's lock */
    int tracked; /* its row records PENDING/REMOVING before the backend acts */
    uint8_t auth_type;
    uint8_t provider_id;
    char *app_name;
    psd_key key; /* id, name, attrs (-> attrs below), blob */
    parsec_key_attributes attrs;
} psd_key_entry;

typedef struct psd_keystore psd_keystore;

/*
 * The store at cfg->key_store_path, with the [key_store] settings of cfg.
 * kek: a KEK the caller has already (sealed by a backend), or NULL to use
 * kek_file / kek_credential.
 */
struct psd_kek;
int psd_keystore_open(const psd_config *cfg, const struct psd_kek *kek, psd_keystore **out,
                      char *err, size_t errlen);
void psd_keystore_close(psd_keystore *ks);
/*
 * parsecd --rewrap: rewrite every stored key under the configured KEK (in
 * plaintext if none); rows under old_kek_path's KEK (NULL: none) are read too.
 */
int psd_keystore_rewrap(const psd_config *cfg, const struct psd_kek *kek, const char *old_kek_path,
                        char *err, size_t errlen);
/* A READY key with a reference taken, or PARSEC_PSA_ERROR_DOES_NOT_EXIST. */
parsec_status psd_keystore_get(psd_keystore *ks, uint8_t auth, const char *app, const char *name,
                               psd_key_entry **out);
void psd_keystore_release(psd_keystore *ks, psd_key_entry *e);
/*
 * Take the name and a fresh id: PENDING entry, PARSEC_PSA_ERROR_ALREADY_EXISTS,
 * or PARSEC_PSA_ERROR_INSUFFICIENT_STORAGE when the application has
 * max_keys_per_app keys already.
 */
parsec_status psd_keystore_reserve(psd_keystore *ks, uint8_t auth, const char *app,
                                   const char *name, uint8_t provider_id,
                                   const parsec_key_attributes *attrs, psd_key_entry **out);
/*
 * For backends that keep objects of their own (those with a reconcile hook):
 * write the reservation's row now, PENDING, so that a crash while the
 * backend creates the key is rolled back at the next start.
 */
parsec_status psd_keystore_track(psd_keystore *ks, psd_key_entry *e);
/* Store the backend blob durably, then make the key visible. Consumes the reservation. */
parsec_status psd_keystore_commit(psd_keystore *ks, psd_key_entry *e, const uint8_t *blob,
                                  size_t blob_len);
/* Drop a reservation (the generate failed). */
void psd_keystore_abort(psd_keystore *ks, psd_key_entry *e);
/*
 * READY -> REMOVING; PARSEC_PSA_ERROR_DOES_NOT_EXIST if absent. durable: the
 * row records REMOVING before returning (backends with a reconcile hook).
 */
parsec_status psd_keystore_begin_remove(psd_keystore *ks, psd_key_entry *e, int durable);
/* Delete the row and forget the key (done = 1) or make it READY again (done = 0). */
parsec_status psd_keystore_end_remove(psd_keystore *ks, psd_key_entry *e, int done);
/* References to every READY key of (auth, app); app NULL = of every app. Release each. */
parsec_status psd_keystore_list(psd_keystore *ks, uint8_t auth, const char *app,
                                psd_key_entry ***out, size_t *n);
void psd_keystore_list_free(psd_keystore *ks, psd_key_entry **list, size_t n);
/* Start-up recovery (psd_reconcile.c): the store's tag, keys of a provider in every state. */
uint32_t psd_keystore_tag(const psd_keystore *ks);
parsec_status psd_keystore_all(psd_keystore *ks, uint8_t provider_id, psd_key_entry ***out,
                               size_t *n);
/* Keys of a provider whose create (PENDING) or destroy (REMOVING) a crash interrupted. */
parsec_status psd_keystore_unfinished(psd_keystore *ks, uint8_t provider_id, psd_key_entry ***out,
                                      size_t *n);
/* Delete the row and forget the key. */
parsec_status psd_keystore_drop(psd_keystore *ks, psd_key_entry *e);
/* Sorted distinct application names owning READY keys under this auth type (malloc'd). */
parsec_status psd_keystore_clients(psd_keystore *ks, uint8_t auth, char ***out, size_t *n);

/* ---- the service ---- */

typedef struct psd_provider {
    const psd_backend_ops *ops;
    void *state;
    uint32_t opcodes[64];
    size_t n_opcodes;
} psd_provider;

typedef struct psd_service {
    const psd_config *cfg;
    psd_provider providers[PSD_MAX_BACKENDS]; /* priority order */
    size_t n_providers;
    psd_keystore *store;
} psd_service;

/* Who sent a request. */
typedef struct psd_identity {
    int authenticated;
    int admin;
    uint8_t auth_type;
    char *app; /* NUL-terminated identity (owned by the connection handler) */
} psd_identity;

/* Backend by provider ID, NULL if not configured. */
psd_provider *psd_service_provider(psd_service *svc, uint8_t id);

/* Serve one connection: read one request, answer, close fd. */
void psd_handle_connection(psd_service *svc, int fd);

/* What a connection handler knows about its peer across requests. */
typedef struct psd_peer {
    int have_uid; /* SO_PEERCRED read (it is fixed at connect time) */
    uid_t uid;
    char app[16]; /* the uid as the application name ("" until first needed) */
    int admin;    /* that name is in [authenticator] admins */
} psd_peer;

/*
 * A request that asks for keep-alive (PARSEC_WIRE_FLAG_KEEPALIVE) and was
 * read exactly: may its connection stay open? 1 = yes (the caller has room
 * for it), 0 = answer without the flag and close.
 */
typedef int (*psd_keep_fn)(void *arg);

/*
 * Read one request from fd (waiting up to timeout_ms for all of it) and
 * answer it; never closes fd. For callers that own a thread per connection
 * (tests, fuzzing): the listener reads with psd_reader_fill. Returns 1 when
 * the answer echoed keep-alive and the connection stays open for another
 * request, 0 when the caller must close it. keep may be NULL (never keep).
 */
int psd_serve_request(psd_service *svc, int fd, psd_peer *peer, psd_keep_fn keep, void *keep_arg);

/* Read a Unix peer's uid (SO_PEERCRED) into peer; 0 on success. */
int psd_peer_read_uid(int fd, psd_peer *peer);

/*
 * A request read without blocking, as its bytes arrive. Its buffer is the
 * caller's (a stack array: the common case of a request that came whole)
 * until the connection must wait for more; then psd_reader_detach() moves
 * the bytes to the heap and the connection waits on the listener's epoll set.
 */
/* Most requests fit: header, body and auth usually arrive in one read of this size. */
#define PSD_FIRST_READ 4096

typedef struct psd_reader {
    uint8_t *buf;
    size_t cap;
    size_t have;         /* bytes of the connection consumed (may run past this request) */
    int on_heap;         /* buf is OPENSSL_malloc'd */
    int64_t deadline_ms; /* whole request, header and body, from its first byte (0: none) */
} psd_reader;

typedef enum psd_read_result {
    PSD_READ_DONE = 0,  /* a whole request is in buf */
    PSD_READ_MORE = 1,  /* incomplete, and nothing more to read for now */
    PSD_READ_EOF = 2,   /* closed before the first byte of a request */
    PSD_READ_CLOSE = 3, /* answered with an error status, or the peer broke off: close */
} psd_read_result;

/* Read what is there (never blocks); judge the header as reference steps 1-6 do. */
psd_read_result psd_reader_fill(const psd_config *cfg, int fd, psd_reader *rd);
/* Move the bytes read so far to the heap (buf may be stack memory); -1 if out of memory. */
int psd_reader_detach(psd_reader *rd);
/* Cleanse (requests may hold key material) and forget; buf is then NULL. */
void psd_reader_clear(psd_reader *rd);
/*
 * A whole request handed over through the connection's shared-memory lane
 * (parsec_lane.h; its request state was MESSAGE): copied out into rd's
 * buffer (at least PARSEC_LANE_AREA bytes) and judged like bytes from the
 * socket. PSD_READ_DONE, or PSD_READ_CLOSE after an error answer.
 */
psd_read_result psd_reader_load(const psd_config *cfg, int fd, psd_reader *rd, parsec_lane *lane);
/*
 * Answer a whole request (PSD_READ_DONE); returns 1 if the connection stays
 * open (keep-alive). lane: the connection's shared-memory hand-off, owned by
 * the caller (NULL: this caller never keeps one). If *lane is NULL and a
 * kept request asks for one, it is set up here and *lane set; the answer
 * goes through *lane when the client is watching it.
 */
int psd_answer_request(psd_service *svc, int fd, psd_peer *peer, const psd_reader *rd,
                       psd_keep_fn keep, void *keep_arg, parsec_lane **lane);
/* Answer with an error status before any request was decoded (flags 0, as the reference does). */
void psd_send_refusal(int fd, parsec_status status);

/*
 * Operation handlers (psd_ops_core.c, psd_ops_keys.c): decode body, run,
 * encode the result into *resp (OPENSSL_malloc'd, cleansed by the caller).
 * prov is NULL for core operations.
 */
typedef struct psd_request {
    psd_service *svc;
    psd_provider *prov;
    const psd_identity *id;
    uint32_t opcode;
    const uint8_t *body;
    size_t body_len;
} psd_request;

parsec_status psd_core_dispatch(const psd_request *rq, psd_buf *resp);
/* 0 if a string field of the body has a NUL or invalid UTF-8 (-> DeserializingBodyFailed). */
int psd_body_text_valid(const psd_request *rq);
parsec_status psd_keys_dispatch(const psd_request *rq, psd_buf *resp);
/*
 * Start-up crash recovery (psd_reconcile.c), before serving: interrupted
 * creates are rolled back, interrupted destroys finished, and backends
 * with a reconcile hook look for objects the store does not record.
 */
void psd_reconcile(psd_service *svc);
/* Destroy every key of a client (DeleteClient); keeps going past failures. */
parsec_status psd_keys_delete_client(psd_service *svc, uint8_t auth, const char *app);

/* Pack a protobuf-c message into an OPENSSL_malloc'd psd_buf (PARSEC_SERIALIZING_BODY_FAILED). */
struct ProtobufCMessage;
parsec_status psd_pack(const struct ProtobufCMessage *msg, psd_buf *out);

/* ---- listener (psd_listener.c) ---- */
typedef struct psd_listener psd_listener;
/* Socket from systemd or a fresh one at cfg->socket_path. */
int psd_listener_open(const psd_config *cfg, psd_listener **out, char *err, size_t errlen);
/* The worker pool (each worker accepts and serves); publishes the socket once it runs. */
int psd_listener_start(psd_listener *l, psd_service *svc, unsigned int threads, char *err,
                       size_t errlen);
/* Stop accepting, finish in-flight requests, join threads, remove the socket. */
void psd_listener_stop(psd_listener *l);

#endif
