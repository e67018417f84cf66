/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key-encryption key (KEK) of the key store: every stored key blob is
 * wrapped with AES-256-GCM under it (docs/security.md, "Keys at rest").
 */
#ifndef PSD_KEK_H
#define PSD_KEK_H

#include <stddef.h>
#include <stdint.h>

#include "psd_backend.h"

#define PSD_KEK_LEN 32

typedef struct psd_kek {
    int present;
    uint8_t key[PSD_KEK_LEN];
    char id[17]; /* first 8 bytes of SHA-256("parsecd KEK id" || key), hex: names the KEK */
} psd_kek;

/*
 * The KEK in a file: 32 raw bytes (`openssl rand -out FILE 32`) or 64 hex
 * digits (`openssl rand -hex 32`), with an optional final newline. The file
 * must belong to the service user and give nobody else any access. what
 * names the source in messages ("kek_file", "credential ...").
 */
int psd_kek_load_file(const char *path, const char *what, psd_kek *kek, char *err, size_t errlen);
/*
 * The KEK sealed by a backend (seal_secret/unseal_secret, e.g. the TPM's)
 * and kept in file path; at the first start, when path does not exist, a
 * fresh KEK is made, sealed and written there (0600).
 */
int psd_kek_load_sealed(const psd_backend_ops *ops, void *state, const char *path, psd_kek *kek,
                        char *err, size_t errlen);
void psd_kek_clear(psd_kek *kek);

/*
 * Wrapped form: version 1 || 12-byte nonce || ciphertext || 16-byte tag.
 * The key id is authenticated, so a blob copied to another row fails.
 * OPENSSL_malloc'd output; 0 on success.
 */
int psd_kek_wrap(const psd_kek *kek, uint64_t key_id, const uint8_t *in, size_t len, uint8_t **out,
                 size_t *outlen);
/* 0 on success (OPENSSL_clear_free the output); -1 if damaged or another KEK. */
int psd_kek_unwrap(const psd_kek *kek, uint64_t key_id, const uint8_t *in, size_t len,
                   uint8_t **out, size_t *outlen);

#endif
