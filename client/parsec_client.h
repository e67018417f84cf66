/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libparsec-client: a C client of the Parsec service.
 *
 * One connection per request, as the reference clients do, so a client
 * object holds configuration only: it is safe to share between threads and
 * across fork() (a child never reuses a parent's socket). With keep-alive
 * (parsec_client_set_keepalive) each thread keeps one connection open to
 * a service that agrees to it (docs/protocol-extensions.md).
 *
 * Every call returns a parsec_status: PARSEC_SUCCESS, a status the service
 * answered, or one of the PARSEC_CLIENT_ERROR_* values.
 * Buffers returned through uint8_t ** are allocated by the library; release
 * them with parsec_free(), or parsec_clear_free() when they held secrets
 * (plaintext, shared secrets, exported private keys).
 */
#ifndef PARSEC_CLIENT_H
#define PARSEC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "parsec_types.h"

#define PARSEC_DEFAULT_ENDPOINT "unix:/run/parsec/parsec.sock"
#define PARSEC_ENDPOINT_ENV "PARSEC_SERVICE_ENDPOINT"
#define PARSEC_DEFAULT_TIMEOUT_MS 60000
/* "1" turns keep-alive on for new client objects, "0" off (the default). */
#define PARSEC_KEEPALIVE_ENV "PARSEC_CLIENT_KEEPALIVE"
#define PARSEC_BUSY_POLL_ENV "PARSEC_CLIENT_BUSY_POLL_US"
#define PARSEC_SHM_HANDOFF_ENV "PARSEC_CLIENT_SHM_HANDOFF"

typedef struct parsec_client parsec_client;

typedef struct parsec_provider_info {
    char uuid[37];
    char *description;
    char *vendor;
    uint32_t version_maj, version_min, version_rev;
    uint8_t id;
} parsec_provider_info;

typedef struct parsec_authenticator_info {
    char *description;
    uint32_t version_maj, version_min, version_rev;
    uint8_t id;
} parsec_authenticator_info;

typedef struct parsec_key_info {
    char *name;
    uint8_t provider_id;
    parsec_key_attributes attributes;
} parsec_key_info;

/*
 * New client: endpoint from $PARSEC_SERVICE_ENDPOINT or the default,
 * authentication NONE, provider DEFAULT (unset until discovery),
 * timeout PARSEC_DEFAULT_TIMEOUT_MS, no response size limit beyond 64 MiB.
 */
parsec_client *parsec_client_new(void);
void parsec_client_free(parsec_client *c);

/* "unix:/path", "unix:///path" (only the unix scheme exists). */
parsec_status parsec_client_set_endpoint(parsec_client *c, const char *uri);
const char *parsec_client_get_endpoint(const parsec_client *c); /* the socket path */
/* app_name is needed for DIRECT; ignored otherwise. */
parsec_status parsec_client_set_auth(parsec_client *c, uint8_t auth_type, const char *app_name);
uint8_t parsec_client_get_auth(const parsec_client *c);
/*
 * Bounds, each on its own: connecting, sending the whole request and
 * receiving the whole response; 0 = wait forever.
 */
void parsec_client_set_timeout(parsec_client *c, unsigned int timeout_ms);
void parsec_client_set_max_response(parsec_client *c, size_t max_body);
/*
 * Keep-alive extension: requests carry PARSEC_WIRE_FLAG_KEEPALIVE and the
 * connection stays open (one per thread and endpoint, closed when the
 * thread exits) while the service echoes the flag; a service that does not
 * (the reference Parsec service) just closes it, and every request then has
 * its own connection as without keep-alive. A request that finds its kept
 * connection closed before any byte of the answer is sent again once on a
 * fresh connection. Never shared with a fork()ed child. Default: off, or
 * $PARSEC_CLIENT_KEEPALIVE at parsec_client_new.
 */
void parsec_client_set_keepalive(parsec_client *c, int on);
int parsec_client_get_keepalive(const parsec_client *c);
/*
 * On a kept connection, wait for the answer by polling the socket for up to
 * `us` microseconds before blocking, so that the thread's CPU does not halt
 * and wake again for a short operation (docs/performance.md, "Busy-polling").
 * The time is adapted to the answer times seen recently for the same kind
 * of request on this thread (operations longer than `us` are not polled
 * for); nothing is polled for while the process has another request in
 * flight, and polling backs off while other threads need the CPU. 0 turns
 * it off; at most 100000. No effect without keep-alive. Default 500, or $PARSEC_CLIENT_BUSY_POLL_US at parsec_client_new.
 */
void parsec_client_set_busy_poll(parsec_client *c, unsigned int us);
unsigned int parsec_client_get_busy_poll(const parsec_client *c);
/*
 * On a kept connection, ask the service for a shared-memory hand-off
 * (docs/protocol-extensions.md): while one side polls for the next
 * message, the other puts it into a small region the two share instead of
 * onto the socket. Messages that do not fit, and every message while the
 * receiver is not polling, still go over the socket. No effect without
 * keep-alive, or with a service that does not offer it. Default: on, or
 * $PARSEC_CLIENT_SHM_HANDOFF (0 or 1) at parsec_client_new.
 */
void parsec_client_set_shm_handoff(parsec_client *c, int on);
int parsec_client_get_shm_handoff(const parsec_client *c);
/* The provider used when a call passes PARSEC_PROVIDER_DEFAULT. */
void parsec_client_set_provider(parsec_client *c, uint8_t provider);
uint8_t parsec_client_get_provider(const parsec_client *c);

/*
 * What a person needs beyond the status of the last call that failed with
 * c on the calling thread, or NULL: the socket path and errno of a failed
 * connect ("cannot connect to /run/parsec/parsec.sock: Permission denied
 * (EACCES): ..."), the authenticator the service uses when it refused ours
 * (the library asks ListAuthenticators after such a refusal).
 * The string belongs to the library and stays valid until the next call
 * made on this thread (with any client); a successful call clears it.
 * Kept per thread, since a client object is shared between threads.
 */
const char *parsec_client_last_error(const parsec_client *c);

/*
 * Discovery as the reference clients do it: ListProviders -> first entry is
 * the default provider (unless one was set); ListAuthenticators -> first
 * authenticator this library supports (DIRECT needs app_name) unless auth was
 * set explicitly. Safe to call more than once.
 */
parsec_status parsec_client_discover(parsec_client *c, const char *app_name);

/* ---- core operations ---- */
parsec_status parsec_ping(parsec_client *c, uint8_t *maj, uint8_t *min);
parsec_status parsec_list_providers(parsec_client *c, parsec_provider_info **out, size_t *n);
void parsec_provider_info_free(parsec_provider_info *p, size_t n);
parsec_status parsec_list_authenticators(parsec_client *c, parsec_authenticator_info **out,
                                         size_t *n);
void parsec_authenticator_info_free(parsec_authenticator_info *a, size_t n);
parsec_status parsec_list_opcodes(parsec_client *c, uint8_t provider, uint32_t **out, size_t *n);
parsec_status parsec_list_keys(parsec_client *c, parsec_key_info **out, size_t *n);
void parsec_key_info_free(parsec_key_info *k, size_t n);
/* Look one key up through ListKeys (the protocol has no dedicated call). */
parsec_status parsec_key_attributes_get(parsec_client *c, const char *name, uint8_t *provider_id,
                                        parsec_key_attributes *attrs);
parsec_status parsec_list_clients(parsec_client *c, char ***out, size_t *n);
void parsec_string_list_free(char **list, size_t n);
parsec_status parsec_delete_client(parsec_client *c, const char *client);

/* ---- key management (provider: PARSEC_PROVIDER_DEFAULT or an ID) ---- */
parsec_status parsec_generate_key(parsec_client *c, uint8_t provider, const char *name,
                                  const parsec_key_attributes *attrs);
parsec_status parsec_import_key(parsec_client *c, uint8_t provider, const char *name,
                                const parsec_key_attributes *attrs, const uint8_t *data,
                                size_t len);
parsec_status parsec_export_public_key(parsec_client *c, uint8_t provider, const char *name,
                                       uint8_t **out, size_t *outlen);
parsec_status parsec_export_key(parsec_client *c, uint8_t provider, const char *name, uint8_t **out,
                                size_t *outlen);
parsec_status parsec_destroy_key(parsec_client *c, uint8_t provider, const char *name);

/* ---- cryptography ---- */
parsec_status parsec_sign_hash(parsec_client *c, uint8_t provider, const char *name,
                               const parsec_alg *alg, const uint8_t *hash, size_t hashlen,
                               uint8_t **sig, size_t *siglen);
parsec_status parsec_verify_hash(parsec_client *c, uint8_t provider, const char *name,
                                 const parsec_alg *alg, const uint8_t *hash, size_t hashlen,
                                 const uint8_t *sig, size_t siglen);
parsec_status parsec_asymmetric_encrypt(parsec_client *c, uint8_t provider, const char *name,
                                        const parsec_alg *alg, const uint8_t *in, size_t inlen,
                                        const uint8_t *salt, size_t saltlen, uint8_t **out,
                                        size_t *outlen);
parsec_status parsec_asymmetric_decrypt(parsec_client *c, uint8_t provider, const char *name,
                                        const parsec_alg *alg, const uint8_t *in, size_t inlen,
                                        const uint8_t *salt, size_t saltlen, uint8_t **out,
                                        size_t *outlen);
parsec_status parsec_raw_key_agreement(parsec_client *c, uint8_t provider, const parsec_alg *alg,
                                       const char *private_key_name, const uint8_t *peer,
                                       size_t peerlen, uint8_t **out, size_t *outlen);
parsec_status parsec_generate_random(parsec_client *c, uint8_t provider, size_t size,
                                     uint8_t **out);
parsec_status parsec_hash_compute(parsec_client *c, uint8_t provider, uint8_t hash,
                                  const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen);
parsec_status parsec_hash_compare(parsec_client *c, uint8_t provider, uint8_t hash,
                                  const uint8_t *in, size_t inlen, const uint8_t *expected,
                                  size_t expectedlen);
/*
 * Unauthenticated ciphers (alg kind PARSEC_ALG_CIPHER), as psa_cipher_encrypt:
 * the service draws the IV; the ciphertext is IV || encrypted data (no IV
 * for ECB), which is what decrypt takes. Release the plaintext with
 * parsec_clear_free().
 */
parsec_status parsec_cipher_encrypt(parsec_client *c, uint8_t provider, const char *name,
                                    const parsec_alg *alg, const uint8_t *in, size_t inlen,
                                    uint8_t **out, size_t *outlen);
parsec_status parsec_cipher_decrypt(parsec_client *c, uint8_t provider, const char *name,
                                    const parsec_alg *alg, const uint8_t *in, size_t inlen,
                                    uint8_t **out, size_t *outlen);
/* Sign or verify a message: the service hashes it with the algorithm's hash. */
parsec_status parsec_sign_message(parsec_client *c, uint8_t provider, const char *name,
                                  const parsec_alg *alg, const uint8_t *msg, size_t msglen,
                                  uint8_t **sig, size_t *siglen);
parsec_status parsec_verify_message(parsec_client *c, uint8_t provider, const char *name,
                                    const parsec_alg *alg, const uint8_t *msg, size_t msglen,
                                    const uint8_t *sig, size_t siglen);
/*
 * AEAD with a symmetric key (alg kind PARSEC_ALG_AEAD). The ciphertext is
 * the encrypted data followed by the tag; decrypting with a wrong tag,
 * nonce, additional data or key answers PARSEC_PSA_ERROR_INVALID_SIGNATURE.
 * Release the plaintext with parsec_clear_free().
 */
parsec_status parsec_aead_encrypt(parsec_client *c, uint8_t provider, const char *name,
                                  const parsec_alg *alg, const uint8_t *nonce, size_t noncelen,
                                  const uint8_t *ad, size_t adlen, const uint8_t *in, size_t inlen,
                                  uint8_t **out, size_t *outlen);
parsec_status parsec_aead_decrypt(parsec_client *c, uint8_t provider, const char *name,
                                  const parsec_alg *alg, const uint8_t *nonce, size_t noncelen,
                                  const uint8_t *ad, size_t adlen, const uint8_t *in, size_t inlen,
                                  uint8_t **out, size_t *outlen);
/*
 * Key attestation, ActivateCredential mechanism (the TPM backend's).
 * attesting NULL or "" = the backend's default attesting key (the TPM's
 * endorsement key). Prepare gives what a verifier's TPM2_MakeCredential
 * needs: the attested key's TPM name, its public area and the attesting
 * key's public key (DER RSAPublicKey); release each with parsec_free().
 * AttestKey returns the credential the challenge protected (release with
 * parsec_clear_free()).
 */
parsec_status parsec_prepare_key_attestation(parsec_client *c, uint8_t provider,
                                             const char *attested, const char *attesting,
                                             uint8_t **name, size_t *namelen, uint8_t **pub,
                                             size_t *publen, uint8_t **attesting_pub,
                                             size_t *attesting_publen);
parsec_status parsec_attest_key(parsec_client *c, uint8_t provider, const char *attested,
                                const char *attesting, const uint8_t *credential_blob, size_t cblen,
                                const uint8_t *secret, size_t slen, uint8_t **credential,
                                size_t *credlen);
/* check_type: 1 use, 2 generate, 3 import, 4 derive. */
parsec_status parsec_can_do_crypto(parsec_client *c, uint8_t provider, int check_type,
                                   const parsec_key_attributes *attrs);

void parsec_free(void *p);
void parsec_clear_free(void *p, size_t len);

#endif
