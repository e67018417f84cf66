/* SPDX-License-Identifier: Apache-2.0 */
/* The key store's key-encryption key: loading (psd_kek.h) and AES-256-GCM wrapping. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "psd_kek.h"

#define PSD_KEK_VERSION 1
#define PSD_KEK_NONCE_LEN 12
#define PSD_KEK_TAG_LEN 16
#define PSD_KEK_OVERHEAD (1 + PSD_KEK_NONCE_LEN + PSD_KEK_TAG_LEN)

/* 32 raw bytes or 64 hex digits, then at most one newline. */
static int psd_kek_parse(const uint8_t *buf, size_t n, uint8_t key[PSD_KEK_LEN])
{
    if (n == PSD_KEK_LEN || (n == PSD_KEK_LEN + 1 && buf[PSD_KEK_LEN] == '\n')) {
        memcpy(key, buf, PSD_KEK_LEN);
        return 0;
    }
    char hex[2 * PSD_KEK_LEN + 1];
    size_t len = 0;
    int ok;

    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n != 2 * PSD_KEK_LEN)
        return -1;
    memcpy(hex, buf, n);
    hex[n] = '\0';
    ok = OPENSSL_hexstr2buf_ex(key, PSD_KEK_LEN, &len, hex, '\0') == 1 && len == PSD_KEK_LEN;
    OPENSSL_cleanse(hex, sizeof(hex));
    return ok ? 0 : -1;
}

static int psd_kek_name(psd_kek *kek)
{
    static const char label[] = "parsecd KEK id";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, label, sizeof(label) - 1) &&
             EVP_DigestUpdate(ctx, kek->key, PSD_KEK_LEN) && EVP_DigestFinal_ex(ctx, md, &mdlen);

    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    for (size_t i = 0; i < 8; i++)
        snprintf(kek->id + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int psd_kek_load_file(const char *path, const char *what, psd_kek *kek, char *err, size_t errlen)
{
    uint8_t buf[2 * PSD_KEK_LEN + 2];
    struct stat st;
    ssize_t n = 0;
    int fd, rc = -1;

    memset(kek, 0, sizeof(*kek));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read the key-encryption key (%s) %s: %s", what, path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "key-encryption key (%s) %s is not a regular file", what, path);
        goto done;
    }
    if (st.st_uid != geteuid() || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        snprintf(err, errlen,
                 "key-encryption key (%s) %s has owner uid %u and mode %04o: it must belong to"
                 " the service user (uid %u) and give nobody else access (chown %u %s;"
                 " chmod 400 %s)",
                 what, path, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777),
                 (unsigned int)geteuid(), (unsigned int)geteuid(), path, path);
        goto done;
    }
    n = read(fd, buf, sizeof(buf));
    if (n < 0) {
        snprintf(err, errlen, "cannot read the key-encryption key (%s) %s: %s", what, path,
                 strerror(errno));
        goto done;
    }
    if (psd_kek_parse(buf, (size_t)n, kek->key) != 0) {
        snprintf(err, errlen,
                 "key-encryption key (%s) %s must hold 32 random bytes or 64 hex digits"
                 " (openssl rand -out FILE 32)",
                 what, path);
        goto done;
    }
    if (psd_kek_name(kek) != 0) {
        snprintf(err, errlen, "cannot hash the key-encryption key");
        goto done;
    }
    kek->present = 1;
    rc = 0;
done:
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    if (rc != 0)
        psd_kek_clear(kek);
    return rc;
}

#define PSD_KEK_SEALED_MAX 4096

/* Make a KEK, seal it and write the sealed form to path (which must not exist). */
static int psd_kek_make_sealed(const psd_backend_ops *ops, void *state, const char *path,
                               psd_kek *kek, char *err, size_t errlen)
{
    psd_buf sealed = {0};
    parsec_status st;
    int fd = -1, rc = -1;

    if (RAND_priv_bytes(kek->key, PSD_KEK_LEN) != 1) {
        snprintf(err, errlen, "no random bytes for a key-encryption key");
        return -1;
    }
    st = ops->seal_secret(state, kek->key, PSD_KEK_LEN, &sealed);
    if (st != PARSEC_SUCCESS) {
        snprintf(err, errlen, "the %s backend cannot seal a key-encryption key (status %u)",
                 ops->name, (unsigned int)st);
        goto done;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, sealed.data, sealed.len) != (ssize_t)sealed.len || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write the sealed key-encryption key %s: %s", path,
                 strerror(errno));
        if (fd >= 0)
            unlink(path);
        goto done;
    }
    psd_log(PSD_LOG_INFO, "made a key-encryption key sealed by the %s backend: %s", ops->name,
            path);
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    psd_buf_clear(&sealed);
    return rc;
}

int psd_kek_load_sealed(const psd_backend_ops *ops, void *state, const char *path, psd_kek *kek,
                        char *err, size_t errlen)
{
    uint8_t buf[PSD_KEK_SEALED_MAX];
    psd_buf plain = {0};
    struct stat st;
    ssize_t n;
    parsec_status ps;
    int fd, rc = -1;

    memset(kek, 0, sizeof(*kek));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT) {
        if (psd_kek_make_sealed(ops, state, path, kek, err, errlen) != 0)
            goto fail;
        goto named;
    }
    if (fd < 0) {
        snprintf(err, errlen, "cannot read the sealed key-encryption key %s: %s", path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        snprintf(err, errlen,
                 "sealed key-encryption key %s must be a regular file of the service user"
                 " (uid %u) that group and others cannot write (chown %u %s; chmod 600 %s)",
                 path, (unsigned int)geteuid(), (unsigned int)geteuid(), path, path);
        close(fd);
        return -1;
    }
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n <= 0 || (size_t)n == sizeof(buf)) {
        snprintf(err, errlen, "sealed key-encryption key %s is empty or too large", path);
        return -1;
    }
    ps = ops->unseal_secret(state, buf, (size_t)n, &plain);
    if (ps != PARSEC_SUCCESS || plain.len != PSD_KEK_LEN) {
        snprintf(err, errlen,
                 "the %s backend cannot unseal the key-encryption key in %s (status %u): the"
                 " file is damaged, was sealed by another TPM, or the TPM was cleared; restore"
                 " the file from a backup (the keys it protects cannot be read without it)",
                 ops->name, path, (unsigned int)ps);
        goto fail;
    }
    memcpy(kek->key, plain.data, PSD_KEK_LEN);
named:
    if (psd_kek_name(kek) != 0) {
        snprintf(err, errlen, "cannot hash the key-encryption key");
        goto fail;
    }
    kek->present = 1;
    rc = 0;
fail:
    psd_buf_clear(&plain);
    if (rc != 0)
        psd_kek_clear(kek);
    return rc;
}

void psd_kek_clear(psd_kek *kek)
{
    if (kek != NULL)
        OPENSSL_cleanse(kek, sizeof(*kek));
}

static void psd_kek_aad(uint64_t key_id, uint8_t aad[9])
{
    aad[0] = PSD_KEK_VERSION;
    for (int i = 0; i < 8; i++)
        aad[1 + i] = (uint8_t)(key_id >> (56 - 8 * i));
}

int psd_kek_wrap(const psd_kek *kek, uint64_t key_id, const uint8_t *in, size_t len, uint8_t **out,
                 size_t *outlen)
{
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t aad[9], *buf = NULL;
    int n = 0, fin = 0, rc = -1;

    *out = NULL;
    *outlen = 0;
    if (len > INT32_MAX - PSD_KEK_OVERHEAD)
        return -1;
    buf = OPENSSL_malloc(len + PSD_KEK_OVERHEAD);
    ctx = EVP_CIPHER_CTX_new();
    if (buf == NULL || ctx == NULL)
        goto done;
    buf[0] = PSD_KEK_VERSION;
    psd_kek_aad(key_id, aad);
    if (RAND_bytes(buf + 1, PSD_KEK_NONCE_LEN) != 1 ||
        !EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek->key, buf + 1) ||
        !EVP_EncryptUpdate(ctx, NULL, &n, aad, sizeof(aad)) ||
        !EVP_EncryptUpdate(ctx, buf + 1 + PSD_KEK_NONCE_LEN, &n, in, (int)len) ||
        !EVP_EncryptFinal_ex(ctx, buf + 1 + PSD_KEK_NONCE_LEN + n, &fin) ||
        !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, PSD_KEK_TAG_LEN,
                             buf + 1 + PSD_KEK_NONCE_LEN + len))
        goto done;
    *out = buf;
    *outlen = len + PSD_KEK_OVERHEAD;
    buf = NULL;
    rc = 0;
done:
    OPENSSL_free(buf); /* holds no plaintext: only ciphertext is written to it */
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int psd_kek_unwrap(const psd_kek *kek, uint64_t key_id, const uint8_t *in, size_t len,
                   uint8_t **out, size_t *outlen)
{
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t aad[9], *buf = NULL;
    size_t plen;
    int n = 0, fin = 0, rc = -1;

    *out = NULL;
    *outlen = 0;
    if (len < PSD_KEK_OVERHEAD || len > INT32_MAX || in[0] != PSD_KEK_VERSION)
        return -1;
    plen = len - PSD_KEK_OVERHEAD;
    buf = OPENSSL_malloc(plen > 0 ? plen : 1);
    ctx = EVP_CIPHER_CTX_new();
    if (buf == NULL || ctx == NULL)
        goto done;
    psd_kek_aad(key_id, aad);
    if (!EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek->key, in + 1) ||
        !EVP_DecryptUpdate(ctx, NULL, &n, aad, sizeof(aad)) ||
        !EVP_DecryptUpdate(ctx, buf, &n, in + 1 + PSD_KEK_NONCE_LEN, (int)plen) ||
        !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, PSD_KEK_TAG_LEN,
                             (void *)(in + 1 + PSD_KEK_NONCE_LEN + plen)) ||
        EVP_DecryptFinal_ex(ctx, buf + n, &fin) <= 0)
        goto done;
    *out = buf;
    *outlen = plen;
    buf = NULL;
    rc = 0;
done:
    OPENSSL_clear_free(buf, plen > 0 ? plen : 1);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}
