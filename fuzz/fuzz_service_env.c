/* SPDX-License-Identifier: Apache-2.0 */
/* In-process parsecd for the service fuzz target and the seed generator (see the header). */
#include "fuzz_service_env.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parsec_psa_pb.h"
#include "parsec_wire.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psd_service.h"

/* Key material the presets are imported from (made once per process). */
enum fuzz_material {
    FUZZ_RSA_PRIV,
    FUZZ_RSA_PUB,
    FUZZ_EC_PRIV,
    FUZZ_EC_PUB,
    FUZZ_AES,
    FUZZ_N_MATERIAL
};

typedef struct fuzz_preset {
    const char *name;
    parsec_key_attributes attrs;
    enum fuzz_material material;
} fuzz_preset;

#define FUZZ_SIGN (PARSEC_USAGE_SIGN_HASH | PARSEC_USAGE_VERIFY_HASH)
#define FUZZ_CRYPT (PARSEC_USAGE_ENCRYPT | PARSEC_USAGE_DECRYPT)

/* One key per policy the service checks, so mutated requests reach every backend call. */
static const fuzz_preset fuzz_presets[] = {
    {"rsa-pss",
     {PARSEC_KEY_TYPE_RSA_KEY_PAIR,
      0,
      2048,
      FUZZ_SIGN,
      {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PSS, PARSEC_HASH_ANY}},
     FUZZ_RSA_PRIV},
    {"rsa-pkcs1",
     {PARSEC_KEY_TYPE_RSA_KEY_PAIR,
      0,
      2048,
      FUZZ_SIGN | PARSEC_USAGE_EXPORT,
      {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_SHA_256}},
     FUZZ_RSA_PRIV},
    {"rsa-raw",
     {PARSEC_KEY_TYPE_RSA_KEY_PAIR,
      0,
      2048,
      FUZZ_SIGN,
      {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15_RAW, 0}},
     FUZZ_RSA_PRIV},
    {"rsa-oaep",
     {PARSEC_KEY_TYPE_RSA_KEY_PAIR,
      0,
      2048,
      FUZZ_CRYPT,
      {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_OAEP, PARSEC_HASH_SHA_256}},
     FUZZ_RSA_PRIV},
    {"rsa-crypt",
     {PARSEC_KEY_TYPE_RSA_KEY_PAIR,
      0,
      2048,
      FUZZ_CRYPT | PARSEC_USAGE_EXPORT,
      {PARSEC_ALG_ASYMMETRIC_ENCRYPTION, PARSEC_ENCRYPT_RSA_PKCS1V15, 0}},
     FUZZ_RSA_PRIV},
    {"rsa-pub",
     {PARSEC_KEY_TYPE_RSA_PUBLIC_KEY,
      0,
      2048,
      PARSEC_USAGE_VERIFY_HASH | PARSEC_USAGE_ENCRYPT,
      {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_RSA_PKCS1V15, PARSEC_HASH_ANY}},
     FUZZ_RSA_PUB},
    {"ec-sign",
     {PARSEC_KEY_TYPE_ECC_KEY_PAIR,
      PARSEC_ECC_FAMILY_SECP_R1,
      256,
      FUZZ_SIGN | PARSEC_USAGE_EXPORT,
      {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY}},
     FUZZ_EC_PRIV},
    {"ec-any",
     {PARSEC_KEY_TYPE_ECC_KEY_PAIR,
      PARSEC_ECC_FAMILY_SECP_R1,
      256,
      FUZZ_SIGN,
      {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA_ANY, 0}},
     FUZZ_EC_PRIV},
    {"ecdh",
     {PARSEC_KEY_TYPE_ECC_KEY_PAIR,
      PARSEC_ECC_FAMILY_SECP_R1,
      256,
      PARSEC_USAGE_DERIVE,
      {PARSEC_ALG_KEY_AGREEMENT, PARSEC_KA_ECDH, 0}},
     FUZZ_EC_PRIV},
    {"ec-pub",
     {PARSEC_KEY_TYPE_ECC_PUBLIC_KEY,
      PARSEC_ECC_FAMILY_SECP_R1,
      256,
      PARSEC_USAGE_VERIFY_HASH,
      {PARSEC_ALG_ASYMMETRIC_SIGNATURE, PARSEC_SIGN_ECDSA, PARSEC_HASH_ANY}},
     FUZZ_EC_PUB},
    {"aes-gcm",
     {PARSEC_KEY_TYPE_AES, 0, 256, FUZZ_CRYPT, {PARSEC_ALG_AEAD, PARSEC_AEAD_GCM, 0}},
     FUZZ_AES},
    {"aes-cbc",
     {PARSEC_KEY_TYPE_AES, 0, 256, FUZZ_CRYPT, {PARSEC_ALG_CIPHER, PARSEC_CIPHER_CBC_PKCS7, 0}},
     FUZZ_AES},
};
#define FUZZ_N_PRESETS (sizeof(fuzz_presets) / sizeof(fuzz_presets[0]))

const char *parsec_fuzz_preset_name(size_t i)
{
    return i < FUZZ_N_PRESETS ? fuzz_presets[i].name : NULL;
}

static struct {
    char dir[96];
    char conf_path[128];
    psd_config cfg;
    psd_service svc;
    int started;
    uint8_t *material[FUZZ_N_MATERIAL];
    size_t material_len[FUZZ_N_MATERIAL];
} fuzz_env;

__attribute__((noreturn, format(printf, 1, 2))) static void fuzz_env_die(const char *fmt, ...);

static void fuzz_env_die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("fuzz service: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void parsec_fuzz_service_exchange(const uint8_t *req, size_t len, uint8_t **resp, size_t *resp_len)
{
    int sv[2], sndbuf = 4 * FUZZ_MAX_REQUEST;
    size_t sent = 0, cap = 0, got = 0;
    uint8_t *buf = NULL;

    *resp = NULL;
    *resp_len = 0;
    if (len > FUZZ_MAX_REQUEST)
        len = FUZZ_MAX_REQUEST;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        fuzz_env_die("socketpair: %s", strerror(errno));
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    /* Never block on our own side: what does not fit is cut off (the handler sees EOF). */
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    while (sent < len) {
        ssize_t n = send(sv[0], req + sent, len - sent, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    shutdown(sv[0], SHUT_WR);
    psd_handle_connection(&fuzz_env.svc, sv[1]); /* closes sv[1] */
    /* The handler has closed its end: everything it said is queued. */
    for (;;) {
        ssize_t n;

        if (got == cap) {
            uint8_t *grown = realloc(buf, cap = cap ? cap * 2 : 4096);

            if (grown == NULL)
                fuzz_env_die("out of memory");
            buf = grown;
        }
        n = recv(sv[0], buf + got, cap - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(sv[0]);
    if (got == 0) {
        free(buf);
        return;
    }
    *resp = buf;
    *resp_len = got;
}

/* Whatever the handler has answered so far (it has returned: nothing more is coming). */
static void fuzz_env_read_answer(int fd, uint8_t **resp, size_t *resp_len)
{
    size_t cap = 0, got = 0;
    uint8_t *buf = NULL;

    for (;;) {
        ssize_t n;

        if (got == cap) {
            uint8_t *grown = realloc(buf, cap = cap ? cap * 2 : 4096);

            if (grown == NULL)
                fuzz_env_die("out of memory");
            buf = grown;
        }
        n = recv(fd, buf + got, cap - got, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == 0) {
        free(buf);
        buf = NULL;
    }
    *resp = buf;
    *resp_len = got;
}

/* Length of the request at the start of data, or len if it cannot be told. */
static size_t fuzz_env_request_len(const uint8_t *data, size_t len)
{
    parsec_wire_header h;
    size_t total;

    if (len < PARSEC_WIRE_HEADER_SIZE)
        return len;
    parsec_wire_header_decode(data, &h);
    if (h.magic != PARSEC_WIRE_MAGIC || h.hdr_size != PARSEC_WIRE_HDR_SIZE_FIELD)
        return len;
    total = PARSEC_WIRE_HEADER_SIZE + (size_t)h.body_len + h.auth_len;
    return total < len ? total : len;
}

/* The listener's decision for a kept connection; here there is always room. */
static int fuzz_env_keep(void *arg)
{
    return 1;
}

size_t parsec_fuzz_service_session(const uint8_t *data, size_t len, fuzz_exchange *out)
{
    int sv[2], sndbuf = 4 * FUZZ_MAX_REQUEST;
    psd_peer peer = {0};
    size_t off = 0, n = 0;

    if (len > FUZZ_MAX_REQUEST)
        len = FUZZ_MAX_REQUEST;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        fuzz_env_die("socketpair: %s", strerror(errno));
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    while (n < FUZZ_MAX_EXCHANGES) {
        size_t chunk = off < len ? fuzz_env_request_len(data + off, len - off) : 0, sent = 0;
        int last = off + chunk == len || n == FUZZ_MAX_EXCHANGES - 1, kept;

        if (last)
            chunk = len - off;
        while (sent < chunk) {
            ssize_t w = send(sv[0], data + off + sent, chunk - sent, MSG_NOSIGNAL);

            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            sent += (size_t)w;
        }
        if (last)
            shutdown(sv[0], SHUT_WR);
        kept = psd_serve_request(&fuzz_env.svc, sv[1], &peer, fuzz_env_keep, NULL);
        out[n].req = data + off;
        out[n].req_len = chunk;
        fuzz_env_read_answer(sv[0], &out[n].resp, &out[n].resp_len);
        n++;
        off += chunk;
        /* Closed by the service, or the client has nothing more to say (then the EOF is served). */
        if (!kept || (last && chunk == 0))
            break;
    }
    close(sv[1]);
    close(sv[0]);
    return n;
}

void parsec_fuzz_exchanges_free(fuzz_exchange *ex, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ex[i].resp);
        ex[i].resp = NULL;
    }
}

/* Header + packed body + application name, as libparsec-client sends it. */
static uint8_t *fuzz_env_request(uint32_t opcode, uint8_t provider, const char *app,
                                 const ProtobufCMessage *body, size_t *len)
{
    size_t body_len = protobuf_c_message_get_packed_size(body), app_len = strlen(app);
    parsec_wire_header h;
    uint8_t *req = malloc(PARSEC_WIRE_HEADER_SIZE + body_len + app_len);

    if (req == NULL)
        fuzz_env_die("out of memory");
    parsec_wire_request_init(&h, provider, opcode, PARSEC_AUTH_DIRECT, (uint32_t)body_len,
                             (uint16_t)app_len);
    parsec_wire_header_encode(&h, req);
    protobuf_c_message_pack(body, req + PARSEC_WIRE_HEADER_SIZE);
    memcpy(req + PARSEC_WIRE_HEADER_SIZE + body_len, app, app_len);
    *len = PARSEC_WIRE_HEADER_SIZE + body_len + app_len;
    return req;
}

/* Sends a request built here; its status (aborts if there is no well-formed answer). */
static parsec_status fuzz_env_call(uint32_t opcode, uint8_t provider, const char *app,
                                   const ProtobufCMessage *body)
{
    size_t len, resp_len;
    uint8_t *req = fuzz_env_request(opcode, provider, app, body, &len), *resp;
    parsec_wire_header h;

    parsec_fuzz_service_exchange(req, len, &resp, &resp_len);
    OPENSSL_clear_free(req, len);
    if (resp_len < PARSEC_WIRE_HEADER_SIZE)
        fuzz_env_die("%s: no answer", parsec_opcode_name(opcode));
    parsec_wire_header_decode(resp, &h);
    free(resp);
    return (parsec_status)h.status;
}

static void fuzz_env_import(const fuzz_preset *p)
{
    PsaImportKey__Operation op = PSA_IMPORT_KEY__OPERATION__INIT;
    parsec_status st;

    op.key_name = (char *)p->name;
    op.attributes = parsec_pb_key_attributes_from_c(&p->attrs);
    op.data.data = fuzz_env.material[p->material];
    op.data.len = fuzz_env.material_len[p->material];
    if (op.attributes == NULL)
        fuzz_env_die("preset %s: attributes not representable", p->name);
    st = fuzz_env_call(PARSEC_OP_PSA_IMPORT_KEY, PARSEC_PROVIDER_MBED_CRYPTO, FUZZ_APP, &op.base);
    psa_key_attributes__key_attributes__free_unpacked(op.attributes, NULL);
    if (st != PARSEC_SUCCESS)
        fuzz_env_die("importing preset key %s: %s", p->name, parsec_status_name(st));
}

static const fuzz_preset *fuzz_env_preset(const psd_key_entry *e)
{
    if (strcmp(e->app_name, FUZZ_APP) != 0)
        return NULL;
    for (size_t i = 0; i < FUZZ_N_PRESETS; i++)
        if (strcmp(fuzz_presets[i].name, e->key.name) == 0)
            return &fuzz_presets[i];
    return NULL;
}

static int fuzz_env_same_attrs(const parsec_key_attributes *a, const parsec_key_attributes *b)
{
    return a->type == b->type && a->ecc_family == b->ecc_family && a->bits == b->bits &&
           a->usage == b->usage && a->alg.kind == b->alg.kind && a->alg.scheme == b->alg.scheme &&
           a->alg.hash == b->alg.hash;
}

void parsec_fuzz_service_reset(void)
{
    psd_keystore *ks = fuzz_env.svc.store;
    psd_key_entry **keys = NULL;
    size_t n = 0;
    char **apps, **names;
    uint8_t *provs;
    size_t n_del = 0;

    if (psd_keystore_list(ks, PARSEC_AUTH_DIRECT, NULL, &keys, &n) != PARSEC_SUCCESS)
        fuzz_env_die("listing keys failed");
    apps = calloc(n + 1, sizeof(*apps));
    names = calloc(n + 1, sizeof(*names));
    provs = calloc(n + 1, 1);
    if (apps == NULL || names == NULL || provs == NULL)
        fuzz_env_die("out of memory");
    for (size_t i = 0; i < n; i++) {
        const fuzz_preset *p = fuzz_env_preset(keys[i]);

        if (p != NULL && fuzz_env_same_attrs(&p->attrs, &keys[i]->attrs))
            continue;
        apps[n_del] = strdup(keys[i]->app_name);
        names[n_del] = strdup(keys[i]->key.name);
        provs[n_del] = keys[i]->provider_id;
        if (apps[n_del] == NULL || names[n_del] == NULL)
            fuzz_env_die("out of memory");
        n_del++;
    }
    psd_keystore_list_free(ks, keys, n);
    /* Through the handler, as its owner would: a key its owner cannot destroy is a finding. */
    for (size_t i = 0; i < n_del; i++) {
        PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;
        parsec_status st;

        op.key_name = names[i];
        st = fuzz_env_call(PARSEC_OP_PSA_DESTROY_KEY, provs[i], apps[i], &op.base);
        if (st != PARSEC_SUCCESS)
            fuzz_env_die("application '%s' cannot destroy its key '%s': %s", apps[i], names[i],
                         parsec_status_name(st));
        free(apps[i]);
        free(names[i]);
    }
    free(apps);
    free(names);
    free(provs);
    for (size_t i = 0; i < FUZZ_N_PRESETS; i++) {
        psd_key_entry *e = NULL;

        if (psd_keystore_get(ks, PARSEC_AUTH_DIRECT, FUZZ_APP, fuzz_presets[i].name, &e) ==
            PARSEC_SUCCESS) {
            psd_keystore_release(ks, e);
            continue;
        }
        fuzz_env_import(&fuzz_presets[i]);
    }
}

static void fuzz_env_make_material(void)
{
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *der;
    BIGNUM *priv = NULL;
    int n;

    if (rsa == NULL || ec == NULL)
        fuzz_env_die("key generation failed");
    der = NULL;
    n = i2d_PrivateKey(rsa, &der); /* PKCS#1 RSAPrivateKey */
    if (n <= 0)
        fuzz_env_die("RSA private key encoding failed");
    fuzz_env.material[FUZZ_RSA_PRIV] = der;
    fuzz_env.material_len[FUZZ_RSA_PRIV] = (size_t)n;
    der = NULL;
    n = i2d_PublicKey(rsa, &der); /* PKCS#1 RSAPublicKey */
    if (n <= 0)
        fuzz_env_die("RSA public key encoding failed");
    fuzz_env.material[FUZZ_RSA_PUB] = der;
    fuzz_env.material_len[FUZZ_RSA_PUB] = (size_t)n;

    fuzz_env.material[FUZZ_EC_PRIV] = OPENSSL_malloc(32);
    fuzz_env.material[FUZZ_EC_PUB] = OPENSSL_malloc(65);
    if (fuzz_env.material[FUZZ_EC_PRIV] == NULL || fuzz_env.material[FUZZ_EC_PUB] == NULL ||
        !EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_PRIV_KEY, &priv) ||
        BN_bn2binpad(priv, fuzz_env.material[FUZZ_EC_PRIV], 32) != 32 ||
        !EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY,
                                         fuzz_env.material[FUZZ_EC_PUB], 65,
                                         &fuzz_env.material_len[FUZZ_EC_PUB]) ||
        fuzz_env.material_len[FUZZ_EC_PUB] != 65)
        fuzz_env_die("EC key encoding failed");
    fuzz_env.material_len[FUZZ_EC_PRIV] = 32;
    fuzz_env.material[FUZZ_AES] = OPENSSL_malloc(32);
    if (fuzz_env.material[FUZZ_AES] == NULL || RAND_bytes(fuzz_env.material[FUZZ_AES], 32) != 1)
        fuzz_env_die("AES key generation failed");
    fuzz_env.material_len[FUZZ_AES] = 32;
    BN_clear_free(priv);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

static void fuzz_env_remove(const char *name)
{
    char path[192];

    snprintf(path, sizeof(path), "%s/%s", fuzz_env.dir, name);
    unlink(path);
}

static void fuzz_env_stop(void)
{
    if (!fuzz_env.started)
        return;
    fuzz_env.started = 0;
    for (size_t i = fuzz_env.svc.n_providers; i-- > 0;)
        if (fuzz_env.svc.providers[i].ops->fini != NULL)
            fuzz_env.svc.providers[i].ops->fini(fuzz_env.svc.providers[i].state);
    psd_keystore_close(fuzz_env.svc.store);
    psd_config_free(&fuzz_env.cfg);
    for (size_t i = 0; i < FUZZ_N_MATERIAL; i++)
        OPENSSL_clear_free(fuzz_env.material[i], fuzz_env.material_len[i]);
    fuzz_env_remove("keys.sqlite3");
    fuzz_env_remove("keys.sqlite3-wal");
    fuzz_env_remove("keys.sqlite3-shm");
    fuzz_env_remove("keys.sqlite3-journal");
    fuzz_env_remove("parsecd.conf");
    rmdir(fuzz_env.dir);
}

void parsec_fuzz_service_start(void)
{
    const char *tmp = getenv("TMPDIR");
    psd_provider *p = &fuzz_env.svc.providers[0];
    psd_settings settings;
    char err[512];
    FILE *f;

    if (fuzz_env.started)
        return;
    /* tmpfs when there is one: the key store syncs every write. */
    if (access("/dev/shm", W_OK) == 0)
        tmp = "/dev/shm";
    else if (tmp == NULL || strlen(tmp) > 60)
        tmp = "/tmp";
    snprintf(fuzz_env.dir, sizeof(fuzz_env.dir), "%s/parsec-fuzz-XXXXXX", tmp);
    if (mkdtemp(fuzz_env.dir) == NULL)
        fuzz_env_die("mkdtemp %s: %s", fuzz_env.dir, strerror(errno));
    snprintf(fuzz_env.conf_path, sizeof(fuzz_env.conf_path), "%s/parsecd.conf", fuzz_env.dir);
    f = fopen(fuzz_env.conf_path, "w");
    if (f == NULL)
        fuzz_env_die("%s: %s", fuzz_env.conf_path, strerror(errno));
    fprintf(f,
            "[listener]\nsocket_path = parsec.sock\ntimeout_ms = 200\n"
            "[core]\nthreads = 1\nbuffer_size_limit = %u\nlog_level = error\n"
            "providers = software\n"
            "[authenticator]\ntype = direct\nadmins = %s\n"
            "[key_store]\npath = keys.sqlite3\n"
            "[software]\n",
            FUZZ_BUFFER_LIMIT, FUZZ_ADMIN_APP);
    fclose(f);
    fuzz_env.started = 1;
    atexit(fuzz_env_stop);

    if (psd_config_load(fuzz_env.conf_path, &fuzz_env.cfg, err, sizeof(err)) != 0)
        fuzz_env_die("%s", err);
    psd_log_set_level(fuzz_env.cfg.log_level);
    fuzz_env.svc.cfg = &fuzz_env.cfg;
    /* As parsecd: never the machine's openssl.cnf (it may load the Parsec provider). */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    signal(SIGPIPE, SIG_IGN);

    psd_config_backend_settings(&fuzz_env.cfg, psd_software_backend.name, &settings);
    err[0] = '\0';
    if (psd_software_backend.init(&p->state, &settings, err, sizeof(err)) != 0)
        fuzz_env_die("software backend: %s", err);
    p->ops = &psd_software_backend;
    p->n_opcodes =
        p->ops->opcodes(p->state, p->opcodes, sizeof(p->opcodes) / sizeof(p->opcodes[0]));
    fuzz_env.svc.n_providers = 1;
    if (psd_keystore_open(&fuzz_env.cfg, NULL, &fuzz_env.svc.store, err, sizeof(err)) != 0)
        fuzz_env_die("%s", err);

    fuzz_env_make_material();
    parsec_fuzz_service_reset();
}
