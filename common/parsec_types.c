/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Status names and messages, hash helpers and the PSA policy check.
 * Status names are the reference interface's enum names so logs and CLI
 * output can be matched against parsec-interface documentation.
 */
#include "parsec_types.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parsec_status_entry {
    parsec_status status;
    const char *name;
    const char *message;
};

static const struct parsec_status_entry parsec_status_table[] = {
    {PARSEC_SUCCESS, "Success", "the operation succeeded"},
    {PARSEC_WRONG_PROVIDER_ID, "WrongProviderId",
     "the request was sent to a provider that cannot handle this operation"},
    {PARSEC_CONTENT_TYPE_NOT_SUPPORTED, "ContentTypeNotSupported",
     "the body content type is not supported"},
    {PARSEC_ACCEPT_TYPE_NOT_SUPPORTED, "AcceptTypeNotSupported",
     "the requested response content type is not supported"},
    {PARSEC_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED, "WireProtocolVersionNotSupported",
     "the wire protocol version is not supported"},
    {PARSEC_PROVIDER_NOT_REGISTERED, "ProviderNotRegistered",
     "the provider is not configured in the service"},
    {PARSEC_PROVIDER_DOES_NOT_EXIST, "ProviderDoesNotExist", "the provider ID does not exist"},
    {PARSEC_DESERIALIZING_BODY_FAILED, "DeserializingBodyFailed",
     "the request body could not be decoded"},
    {PARSEC_SERIALIZING_BODY_FAILED, "SerializingBodyFailed",
     "the response body could not be encoded"},
    {PARSEC_OPCODE_DOES_NOT_EXIST, "OpcodeDoesNotExist", "the operation code does not exist"},
    {PARSEC_RESPONSE_TOO_LARGE, "ResponseTooLarge", "the response would be too large"},
    {PARSEC_AUTHENTICATION_ERROR, "AuthenticationError",
     "the service could not authenticate the request"},
    {PARSEC_AUTHENTICATOR_DOES_NOT_EXIST, "AuthenticatorDoesNotExist",
     "the authenticator type does not exist"},
    {PARSEC_AUTHENTICATOR_NOT_REGISTERED, "AuthenticatorNotRegistered",
     "the authenticator type is not the one the service uses"},
    {PARSEC_KEY_INFO_MANAGER_ERROR, "KeyInfoManagerError", "the service's key store failed"},
    {PARSEC_CONNECTION_ERROR, "ConnectionError",
     "the connection broke while the request was being read"},
    {PARSEC_INVALID_ENCODING, "InvalidEncoding",
     "a field of the request is missing or has an invalid value"},
    {PARSEC_INVALID_HEADER, "InvalidHeader", "the request header is malformed"},
    {PARSEC_WRONG_PROVIDER_UUID, "WrongProviderUuid", "the provider UUID is invalid"},
    {PARSEC_NOT_AUTHENTICATED, "NotAuthenticated",
     "the operation needs an authenticated application"},
    {PARSEC_BODY_SIZE_EXCEEDS_LIMIT, "BodySizeExceedsLimit",
     "the request body is larger than the service accepts"},
    {PARSEC_ADMIN_OPERATION, "AdminOperation", "the operation is reserved to administrators"},
    {PARSEC_DEPRECATED_PRIMITIVE, "DeprecatedPrimitive",
     "the algorithm or key type is deprecated and not allowed"},
    {PARSEC_PSA_ERROR_GENERIC_ERROR, "PsaErrorGenericError", "an unspecified error occurred"},
    {PARSEC_PSA_ERROR_NOT_PERMITTED, "PsaErrorNotPermitted",
     "the key's policy does not permit this operation"},
    {PARSEC_PSA_ERROR_NOT_SUPPORTED, "PsaErrorNotSupported",
     "the operation or a parameter is not supported"},
    {PARSEC_PSA_ERROR_INVALID_ARGUMENT, "PsaErrorInvalidArgument", "a parameter is invalid"},
    {PARSEC_PSA_ERROR_INVALID_HANDLE, "PsaErrorInvalidHandle",
     "the key cannot be used here (it may belong to another provider)"},
    {PARSEC_PSA_ERROR_BAD_STATE, "PsaErrorBadState",
     "the operation is not valid in the current state"},
    {PARSEC_PSA_ERROR_BUFFER_TOO_SMALL, "PsaErrorBufferTooSmall", "an output buffer is too small"},
    {PARSEC_PSA_ERROR_ALREADY_EXISTS, "PsaErrorAlreadyExists",
     "a key with this name already exists"},
    {PARSEC_PSA_ERROR_DOES_NOT_EXIST, "PsaErrorDoesNotExist", "the key does not exist"},
    {PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY, "PsaErrorInsufficientMemory",
     "the service ran out of memory"},
    {PARSEC_PSA_ERROR_INSUFFICIENT_STORAGE, "PsaErrorInsufficientStorage",
     "the service ran out of key storage"},
    {PARSEC_PSA_ERROR_INSUFFICIENT_DATA, "PsaErrorInsufficientData",
     "not enough data was supplied"},
    {PARSEC_PSA_ERROR_COMMUNICATION_FAILURE, "PsaErrorCommunicationFailure",
     "the service could not talk to the key store hardware"},
    {PARSEC_PSA_ERROR_STORAGE_FAILURE, "PsaErrorStorageFailure", "the key storage failed"},
    {PARSEC_PSA_ERROR_HARDWARE_FAILURE, "PsaErrorHardwareFailure", "the hardware failed"},
    {PARSEC_PSA_ERROR_INSUFFICIENT_ENTROPY, "PsaErrorInsufficientEntropy",
     "not enough entropy was available"},
    {PARSEC_PSA_ERROR_INVALID_SIGNATURE, "PsaErrorInvalidSignature", "the signature is not valid"},
    {PARSEC_PSA_ERROR_INVALID_PADDING, "PsaErrorInvalidPadding",
     "the decrypted data has invalid padding"},
    {PARSEC_PSA_ERROR_CORRUPTION_DETECTED, "PsaErrorCorruptionDetected",
     "the service detected memory corruption"},
    {PARSEC_PSA_ERROR_DATA_CORRUPT, "PsaErrorDataCorrupt", "stored key data is corrupt"},
    {PARSEC_PSA_ERROR_DATA_INVALID, "PsaErrorDataInvalid", "stored key data is invalid"},
    {PARSEC_CLIENT_ERROR_CONNECT, "ClientConnectFailed",
     "cannot connect to the Parsec service (is it running, is the endpoint right?)"},
    {PARSEC_CLIENT_ERROR_TIMEOUT, "ClientTimeout", "the Parsec service did not answer in time"},
    {PARSEC_CLIENT_ERROR_IO, "ClientIoError",
     "the connection to the Parsec service failed or closed before the response was complete"},
    {PARSEC_CLIENT_ERROR_PROTOCOL, "ClientProtocolError",
     "the Parsec service sent a malformed response"},
    {PARSEC_CLIENT_ERROR_TOO_LARGE, "ClientResponseTooLarge",
     "the response is larger than the client accepts"},
    {PARSEC_CLIENT_ERROR_ENDPOINT, "ClientBadEndpoint",
     "the service endpoint is not a valid unix:/path URI"},
    {PARSEC_CLIENT_ERROR_ARGUMENT, "ClientBadArgument", "invalid argument passed to the client"},
    {PARSEC_CLIENT_ERROR_MEMORY, "ClientOutOfMemory", "out of memory in the client"},
    {PARSEC_CLIENT_ERROR_NO_PROVIDER, "ClientNoProvider",
     "no cryptographic provider is available (none set, none discovered)"},
    {PARSEC_CLIENT_ERROR_NO_AUTHENTICATOR, "ClientNoAuthenticator",
     "the service offers no authenticator this client can use"},
};

static const struct parsec_status_entry *parsec_status_lookup(parsec_status status)
{
    for (size_t i = 0; i < sizeof(parsec_status_table) / sizeof(parsec_status_table[0]); i++) {
        if (parsec_status_table[i].status == status)
            return &parsec_status_table[i];
    }
    return NULL;
}

const char *parsec_status_name(parsec_status status)
{
    const struct parsec_status_entry *e = parsec_status_lookup(status);
    return e ? e->name : "UnknownStatus";
}

const char *parsec_status_message(parsec_status status)
{
    const struct parsec_status_entry *e = parsec_status_lookup(status);
    return e ? e->message : "unknown status code";
}

int parsec_status_is_known(uint32_t value)
{
    if (value <= PARSEC_DEPRECATED_PRIMITIVE)
        return 1;
    return value >= PARSEC_PSA_ERROR_GENERIC_ERROR && value <= PARSEC_PSA_ERROR_DATA_INVALID &&
           value != 1144;
}

struct parsec_hash_entry {
    uint8_t hash;
    uint8_t len;
    const char *ossl_name;
    /* Other spellings OpenSSL and users use, including the OID. */
    const char *aliases[4];
};

static const struct parsec_hash_entry parsec_hash_table[] = {
    {PARSEC_HASH_MD2, 16, "MD2", {"1.2.840.113549.2.2", NULL, NULL, NULL}},
    {PARSEC_HASH_MD4, 16, "MD4", {"1.2.840.113549.2.4", NULL, NULL, NULL}},
    {PARSEC_HASH_MD5, 16, "MD5", {"SSL3-MD5", "1.2.840.113549.2.5", NULL, NULL}},
    {PARSEC_HASH_RIPEMD160, 20, "RIPEMD160", {"RIPEMD-160", "RIPEMD", "RMD160", "1.3.36.3.2.1"}},
    {PARSEC_HASH_SHA_1, 20, "SHA1", {"SHA-1", "SSL3-SHA1", "1.3.14.3.2.26", NULL}},
    {PARSEC_HASH_SHA_224, 28, "SHA224", {"SHA2-224", "SHA-224", "2.16.840.1.101.3.4.2.4", NULL}},
    {PARSEC_HASH_SHA_256, 32, "SHA256", {"SHA2-256", "SHA-256", "2.16.840.1.101.3.4.2.1", NULL}},
    {PARSEC_HASH_SHA_384, 48, "SHA384", {"SHA2-384", "SHA-384", "2.16.840.1.101.3.4.2.2", NULL}},
    {PARSEC_HASH_SHA_512, 64, "SHA512", {"SHA2-512", "SHA-512", "2.16.840.1.101.3.4.2.3", NULL}},
    {PARSEC_HASH_SHA_512_224,
     28,
     "SHA512-224",
     {"SHA2-512/224", "SHA-512/224", "2.16.840.1.101.3.4.2.5", NULL}},
    {PARSEC_HASH_SHA_512_256,
     32,
     "SHA512-256",
     {"SHA2-512/256", "SHA-512/256", "2.16.840.1.101.3.4.2.6", NULL}},
    {PARSEC_HASH_SHA3_224, 28, "SHA3-224", {"2.16.840.1.101.3.4.2.7", NULL, NULL, NULL}},
    {PARSEC_HASH_SHA3_256, 32, "SHA3-256", {"2.16.840.1.101.3.4.2.8", NULL, NULL, NULL}},
    {PARSEC_HASH_SHA3_384, 48, "SHA3-384", {"2.16.840.1.101.3.4.2.9", NULL, NULL, NULL}},
    {PARSEC_HASH_SHA3_512, 64, "SHA3-512", {"2.16.840.1.101.3.4.2.10", NULL, NULL, NULL}},
};

#define PARSEC_HASH_TABLE_LEN (sizeof(parsec_hash_table) / sizeof(parsec_hash_table[0]))

static const struct parsec_hash_entry *parsec_hash_lookup(uint8_t hash)
{
    for (size_t i = 0; i < PARSEC_HASH_TABLE_LEN; i++) {
        if (parsec_hash_table[i].hash == hash)
            return &parsec_hash_table[i];
    }
    return NULL;
}

size_t parsec_hash_length(uint8_t hash)
{
    const struct parsec_hash_entry *e = parsec_hash_lookup(hash);
    return e ? e->len : 0;
}

const char *parsec_hash_ossl_name(uint8_t hash)
{
    const struct parsec_hash_entry *e = parsec_hash_lookup(hash);
    return e ? e->ossl_name : NULL;
}

uint8_t parsec_hash_from_ossl_name(const char *name)
{
    if (name == NULL)
        return PARSEC_HASH_NONE;
    for (size_t i = 0; i < PARSEC_HASH_TABLE_LEN; i++) {
        const struct parsec_hash_entry *e = &parsec_hash_table[i];
        if (strcasecmp(name, e->ossl_name) == 0)
            return e->hash;
        for (size_t j = 0; j < sizeof(e->aliases) / sizeof(e->aliases[0]) && e->aliases[j]; j++) {
            if (strcasecmp(name, e->aliases[j]) == 0)
                return e->hash;
        }
    }
    return PARSEC_HASH_NONE;
}

/* Signature schemes whose policy carries a SignHash (and so may be a wildcard). */
static int parsec_sign_scheme_has_hash(uint8_t scheme)
{
    return scheme == PARSEC_SIGN_RSA_PKCS1V15 || scheme == PARSEC_SIGN_RSA_PSS ||
           scheme == PARSEC_SIGN_ECDSA || scheme == PARSEC_SIGN_DETERMINISTIC_ECDSA;
}

int parsec_alg_permits(const parsec_alg *policy, const parsec_alg *requested)
{
    if (policy == NULL || requested == NULL)
        return 0;
    /* A key whose policy is "none" permits nothing (PSA). */
    if (policy->kind == PARSEC_ALG_NONE || policy->kind != requested->kind)
        return 0;
    if (policy->kind == PARSEC_ALG_ASYMMETRIC_SIGNATURE &&
        parsec_sign_scheme_has_hash(policy->scheme)) {
        if (requested->scheme != policy->scheme)
            return 0;
        /* An operation must name a specific, known hash; ANY only lives in policies. */
        if (parsec_hash_length(requested->hash) == 0)
            return 0;
        return policy->hash == PARSEC_HASH_ANY || policy->hash == requested->hash;
    }
    return policy->scheme == requested->scheme && policy->hash == requested->hash;
}

const char *parsec_provider_short_name(uint8_t id)
{
    static const char *const names[] = {"core", "software",        "pkcs11",
                                        "tpm",  "trusted-service", "cryptoauthlib"};

    return id < sizeof(names) / sizeof(names[0]) ? names[id] : "unknown";
}

int parsec_parse_decimal(const char *text, unsigned long max, unsigned long *value)
{
    char *end = NULL;
    unsigned long v;

    if (text == NULL || *text < '0' || *text > '9')
        return -1;
    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *value = v;
    return 0;
}

int parsec_provider_parse(const char *text, uint8_t *id)
{
    static const struct {
        const char *name;
        uint8_t id;
    } names[] = {
        {"software", PARSEC_PROVIDER_MBED_CRYPTO},
        {"mbed-crypto", PARSEC_PROVIDER_MBED_CRYPTO},
        {"mbedcrypto", PARSEC_PROVIDER_MBED_CRYPTO},
        {"pkcs11", PARSEC_PROVIDER_PKCS11},
        {"tpm", PARSEC_PROVIDER_TPM},
    };
    unsigned long v;

    if (text == NULL || *text == '\0')
        return 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(text, names[i].name) == 0) {
            *id = names[i].id;
            return 1;
        }
    }
    if (parsec_parse_decimal(text, PARSEC_PROVIDER_MAX, &v) != 0 || v == 0)
        return 0;
    *id = (uint8_t)v;
    return 1;
}
