/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsec protocol constants and the C form of PSA key attributes and
 * algorithms, shared by the client library, the service and the provider.
 * Numeric values are the wire values (parsec-interface 0.27..0.30).
 */
#ifndef PARSEC_TYPES_H
#define PARSEC_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* ---- provider IDs (header byte 10) ---- */
enum parsec_provider_id {
    PARSEC_PROVIDER_CORE = 0,
    PARSEC_PROVIDER_MBED_CRYPTO = 1, /* our software backend presents as this */
    PARSEC_PROVIDER_PKCS11 = 2,
    PARSEC_PROVIDER_TPM = 3,
    PARSEC_PROVIDER_TRUSTED_SERVICE = 4,
    PARSEC_PROVIDER_CRYPTOAUTHLIB = 5,
};
#define PARSEC_PROVIDER_MAX 5
/* In client calls: "the client's default provider" (Core is never a crypto provider). */
#define PARSEC_PROVIDER_DEFAULT 0

/* Short name of a provider ID as settings spell it: "software", "pkcs11", "tpm", ... */
const char *parsec_provider_short_name(uint8_t id);
/*
 * "software" | "mbed-crypto" | "pkcs11" | "tpm" | a decimal ID 1..PARSEC_PROVIDER_MAX
 * (case-insensitive) -> *id; 1 on success, 0 on anything else.
 */
int parsec_provider_parse(const char *text, uint8_t *id);
/* A decimal number of digits only (no sign, space or suffix), at most max: 0; else -1. */
int parsec_parse_decimal(const char *text, unsigned long max, unsigned long *value);

/* ---- authenticator types (header byte 21) ---- */
enum parsec_auth_type {
    PARSEC_AUTH_NONE = 0,
    PARSEC_AUTH_DIRECT = 1,
    PARSEC_AUTH_JWT = 2,
    PARSEC_AUTH_UNIX_PEER = 3,
    PARSEC_AUTH_JWT_SVID = 4,
};
#define PARSEC_AUTH_MAX 4

/* ---- opcodes ---- */
enum parsec_opcode {
    PARSEC_OP_PING = 0x01,
    PARSEC_OP_PSA_GENERATE_KEY = 0x02,
    PARSEC_OP_PSA_DESTROY_KEY = 0x03,
    PARSEC_OP_PSA_SIGN_HASH = 0x04,
    PARSEC_OP_PSA_VERIFY_HASH = 0x05,
    PARSEC_OP_PSA_IMPORT_KEY = 0x06,
    PARSEC_OP_PSA_EXPORT_PUBLIC_KEY = 0x07,
    PARSEC_OP_LIST_PROVIDERS = 0x08,
    PARSEC_OP_LIST_OPCODES = 0x09,
    PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT = 0x0A,
    PARSEC_OP_PSA_ASYMMETRIC_DECRYPT = 0x0B,
    PARSEC_OP_PSA_EXPORT_KEY = 0x0C,
    PARSEC_OP_PSA_GENERATE_RANDOM = 0x0D,
    PARSEC_OP_LIST_AUTHENTICATORS = 0x0E,
    PARSEC_OP_PSA_HASH_COMPUTE = 0x0F,
    PARSEC_OP_PSA_HASH_COMPARE = 0x10,
    PARSEC_OP_PSA_AEAD_ENCRYPT = 0x11,
    PARSEC_OP_PSA_AEAD_DECRYPT = 0x12,
    PARSEC_OP_PSA_RAW_KEY_AGREEMENT = 0x13,
    PARSEC_OP_PSA_CIPHER_ENCRYPT = 0x14,
    PARSEC_OP_PSA_CIPHER_DECRYPT = 0x15,
    PARSEC_OP_PSA_SIGN_MESSAGE = 0x18,
    PARSEC_OP_PSA_VERIFY_MESSAGE = 0x19,
    PARSEC_OP_LIST_KEYS = 0x1A,
    PARSEC_OP_LIST_CLIENTS = 0x1B,
    PARSEC_OP_DELETE_CLIENT = 0x1C,
    PARSEC_OP_ATTEST_KEY = 0x1E,
    PARSEC_OP_PREPARE_KEY_ATTESTATION = 0x1F,
    PARSEC_OP_CAN_DO_CRYPTO = 0x20,
};

/* ---- response status codes ---- */
typedef enum parsec_status {
    PARSEC_SUCCESS = 0,
    PARSEC_WRONG_PROVIDER_ID = 1,
    PARSEC_CONTENT_TYPE_NOT_SUPPORTED = 2,
    PARSEC_ACCEPT_TYPE_NOT_SUPPORTED = 3,
    PARSEC_WIRE_PROTOCOL_VERSION_NOT_SUPPORTED = 4,
    PARSEC_PROVIDER_NOT_REGISTERED = 5,
    PARSEC_PROVIDER_DOES_NOT_EXIST = 6,
    PARSEC_DESERIALIZING_BODY_FAILED = 7,
    PARSEC_SERIALIZING_BODY_FAILED = 8,
    PARSEC_OPCODE_DOES_NOT_EXIST = 9,
    PARSEC_RESPONSE_TOO_LARGE = 10,
    PARSEC_AUTHENTICATION_ERROR = 11,
    PARSEC_AUTHENTICATOR_DOES_NOT_EXIST = 12,
    PARSEC_AUTHENTICATOR_NOT_REGISTERED = 13,
    PARSEC_KEY_INFO_MANAGER_ERROR = 14,
    PARSEC_CONNECTION_ERROR = 15,
    PARSEC_INVALID_ENCODING = 16,
    PARSEC_INVALID_HEADER = 17,
    PARSEC_WRONG_PROVIDER_UUID = 18,
    PARSEC_NOT_AUTHENTICATED = 19,
    PARSEC_BODY_SIZE_EXCEEDS_LIMIT = 20,
    PARSEC_ADMIN_OPERATION = 21,
    PARSEC_DEPRECATED_PRIMITIVE = 22,
    PARSEC_PSA_ERROR_GENERIC_ERROR = 1132,
    PARSEC_PSA_ERROR_NOT_PERMITTED = 1133,
    PARSEC_PSA_ERROR_NOT_SUPPORTED = 1134,
    PARSEC_PSA_ERROR_INVALID_ARGUMENT = 1135,
    PARSEC_PSA_ERROR_INVALID_HANDLE = 1136,
    PARSEC_PSA_ERROR_BAD_STATE = 1137,
    PARSEC_PSA_ERROR_BUFFER_TOO_SMALL = 1138,
    PARSEC_PSA_ERROR_ALREADY_EXISTS = 1139,
    PARSEC_PSA_ERROR_DOES_NOT_EXIST = 1140,
    PARSEC_PSA_ERROR_INSUFFICIENT_MEMORY = 1141,
    PARSEC_PSA_ERROR_INSUFFICIENT_STORAGE = 1142,
    PARSEC_PSA_ERROR_INSUFFICIENT_DATA = 1143,
    PARSEC_PSA_ERROR_COMMUNICATION_FAILURE = 1145,
    PARSEC_PSA_ERROR_STORAGE_FAILURE = 1146,
    PARSEC_PSA_ERROR_HARDWARE_FAILURE = 1147,
    PARSEC_PSA_ERROR_INSUFFICIENT_ENTROPY = 1148,
    PARSEC_PSA_ERROR_INVALID_SIGNATURE = 1149,
    PARSEC_PSA_ERROR_INVALID_PADDING = 1150,
    PARSEC_PSA_ERROR_CORRUPTION_DETECTED = 1151,
    PARSEC_PSA_ERROR_DATA_CORRUPT = 1152,
    PARSEC_PSA_ERROR_DATA_INVALID = 1153,

    /*
     * Client-side conditions that never travel on the wire (values above
     * the u16 range so they cannot collide with a service status).
     */
    PARSEC_CLIENT_ERROR_CONNECT = 0x10001,   /* socket missing / refused */
    PARSEC_CLIENT_ERROR_TIMEOUT = 0x10002,   /* read or write timed out */
    PARSEC_CLIENT_ERROR_IO = 0x10003,        /* connection closed mid-response */
    PARSEC_CLIENT_ERROR_PROTOCOL = 0x10004,  /* malformed response header/body */
    PARSEC_CLIENT_ERROR_TOO_LARGE = 0x10005, /* response over the client's limit */
    PARSEC_CLIENT_ERROR_ENDPOINT = 0x10006,  /* bad PARSEC_SERVICE_ENDPOINT */
    PARSEC_CLIENT_ERROR_ARGUMENT = 0x10007,  /* caller passed bad arguments */
    PARSEC_CLIENT_ERROR_MEMORY = 0x10008,
    PARSEC_CLIENT_ERROR_NO_PROVIDER = 0x10009, /* discovery found no crypto provider */
    PARSEC_CLIENT_ERROR_NO_AUTHENTICATOR = 0x1000A,
} parsec_status;

/* Name ("PsaErrorDoesNotExist") and a sentence for a person; never NULL. */
const char *parsec_status_name(parsec_status status);
const char *parsec_status_message(parsec_status status);
/* 1 if the value is a status the reference interface knows (0..22, 1132..1153 but 1144). */
int parsec_status_is_known(uint32_t value);

/* ---- PSA key types: values are the KeyType oneof field numbers ---- */
typedef enum parsec_key_type {
    PARSEC_KEY_TYPE_NONE = 0,
    PARSEC_KEY_TYPE_RAW_DATA = 1,
    PARSEC_KEY_TYPE_HMAC = 2,
    PARSEC_KEY_TYPE_DERIVE = 3,
    PARSEC_KEY_TYPE_AES = 4,
    PARSEC_KEY_TYPE_DES = 5,
    PARSEC_KEY_TYPE_CAMELLIA = 6,
    PARSEC_KEY_TYPE_ARC4 = 7,
    PARSEC_KEY_TYPE_CHACHA20 = 8,
    PARSEC_KEY_TYPE_RSA_PUBLIC_KEY = 9,
    PARSEC_KEY_TYPE_RSA_KEY_PAIR = 10,
    PARSEC_KEY_TYPE_ECC_KEY_PAIR = 11,
    PARSEC_KEY_TYPE_ECC_PUBLIC_KEY = 12,
    PARSEC_KEY_TYPE_DH_KEY_PAIR = 13,
    PARSEC_KEY_TYPE_DH_PUBLIC_KEY = 14,
} parsec_key_type;

/* EccFamily enum values (only SECP_R1 is used by this project's backends). */
enum parsec_ecc_family {
    PARSEC_ECC_FAMILY_NONE = 0,
    PARSEC_ECC_FAMILY_SECP_K1 = 1,
    PARSEC_ECC_FAMILY_SECP_R1 = 2,
    PARSEC_ECC_FAMILY_SECP_R2 = 3,
    PARSEC_ECC_FAMILY_SECT_K1 = 4,
    PARSEC_ECC_FAMILY_SECT_R1 = 5,
    PARSEC_ECC_FAMILY_SECT_R2 = 6,
    PARSEC_ECC_FAMILY_BRAINPOOL_P_R1 = 7,
    PARSEC_ECC_FAMILY_FRP = 8,
    PARSEC_ECC_FAMILY_MONTGOMERY = 9,
};

/* Hash enum values; PARSEC_HASH_ANY is the SignHash.any wildcard (not a wire enum value). */
enum parsec_hash {
    PARSEC_HASH_NONE = 0,
    PARSEC_HASH_MD2 = 1,
    PARSEC_HASH_MD4 = 2,
    PARSEC_HASH_MD5 = 3,
    PARSEC_HASH_RIPEMD160 = 4,
    PARSEC_HASH_SHA_1 = 5,
    PARSEC_HASH_SHA_224 = 6,
    PARSEC_HASH_SHA_256 = 7,
    PARSEC_HASH_SHA_384 = 8,
    PARSEC_HASH_SHA_512 = 9,
    PARSEC_HASH_SHA_512_224 = 10,
    PARSEC_HASH_SHA_512_256 = 11,
    PARSEC_HASH_SHA3_224 = 12,
    PARSEC_HASH_SHA3_256 = 13,
    PARSEC_HASH_SHA3_384 = 14,
    PARSEC_HASH_SHA3_512 = 15,
    PARSEC_HASH_ANY = 0xFF,
};

/* Usage flags: bit (field number - 1) of UsageFlags. */
#define PARSEC_USAGE_EXPORT (1u << 0)
#define PARSEC_USAGE_COPY (1u << 1)
#define PARSEC_USAGE_CACHE (1u << 2)
#define PARSEC_USAGE_ENCRYPT (1u << 3)
#define PARSEC_USAGE_DECRYPT (1u << 4)
#define PARSEC_USAGE_SIGN_MESSAGE (1u << 5)
#define PARSEC_USAGE_VERIFY_MESSAGE (1u << 6)
#define PARSEC_USAGE_SIGN_HASH (1u << 7)
#define PARSEC_USAGE_VERIFY_HASH (1u << 8)
#define PARSEC_USAGE_DERIVE (1u << 9)

/* Algorithm kinds: values are the Algorithm oneof field numbers. */
enum parsec_alg_kind {
    PARSEC_ALG_NONE = 1,
    PARSEC_ALG_HASH = 2,
    PARSEC_ALG_MAC = 3,
    PARSEC_ALG_CIPHER = 4,
    PARSEC_ALG_AEAD = 5,
    PARSEC_ALG_ASYMMETRIC_SIGNATURE = 6,
    PARSEC_ALG_ASYMMETRIC_ENCRYPTION = 7,
    PARSEC_ALG_KEY_AGREEMENT = 8,
    PARSEC_ALG_KEY_DERIVATION = 9,
};

/* AsymmetricSignature variants (oneof field numbers). */
enum parsec_sign_scheme {
    PARSEC_SIGN_RSA_PKCS1V15 = 1,
    PARSEC_SIGN_RSA_PKCS1V15_RAW = 2,
    PARSEC_SIGN_RSA_PSS = 3,
    PARSEC_SIGN_ECDSA = 4,
    PARSEC_SIGN_ECDSA_ANY = 5,
    PARSEC_SIGN_DETERMINISTIC_ECDSA = 6,
};

/* AsymmetricEncryption variants (oneof field numbers). */
enum parsec_encrypt_scheme {
    PARSEC_ENCRYPT_RSA_PKCS1V15 = 1,
    PARSEC_ENCRYPT_RSA_OAEP = 2,
};

/* KeyAgreement.Raw values (only the raw variant is supported). */
enum parsec_key_agreement {
    PARSEC_KA_FFDH = 1,
    PARSEC_KA_ECDH = 2,
};

/* Algorithm.Cipher values (unauthenticated ciphers). */
enum parsec_cipher {
    PARSEC_CIPHER_STREAM = 1, /* ChaCha20 */
    PARSEC_CIPHER_CTR = 2,
    PARSEC_CIPHER_CFB = 3,
    PARSEC_CIPHER_OFB = 4,
    PARSEC_CIPHER_XTS = 5,
    PARSEC_CIPHER_ECB_NO_PADDING = 6,
    PARSEC_CIPHER_CBC_NO_PADDING = 7,
    PARSEC_CIPHER_CBC_PKCS7 = 8,
};

/* Aead.AeadWithDefaultLengthTag values. */
enum parsec_aead_alg {
    PARSEC_AEAD_CCM = 1,
    PARSEC_AEAD_GCM = 2,
    PARSEC_AEAD_CHACHA20_POLY1305 = 3,
};
/* Tag length of an AEAD algorithm without a shortened tag. */
#define PARSEC_AEAD_DEFAULT_TAG_LEN 16

/*
 * One PSA algorithm, flattened. Only the kinds an asymmetric-key service needs
 * are represented in detail; MAC/cipher/AEAD/KDF algorithms convert to
 * PARSEC_PSA_ERROR_NOT_SUPPORTED.
 *   kind NONE:                   scheme = hash = 0
 *   kind HASH:                   hash
 *   kind ASYMMETRIC_SIGNATURE:   scheme = parsec_sign_scheme, hash (ANY allowed in
 *                                policies; 0 for the *_RAW/ECDSA_ANY schemes)
 *   kind ASYMMETRIC_ENCRYPTION:  scheme = parsec_encrypt_scheme, hash (OAEP only)
 *   kind KEY_AGREEMENT:          scheme = parsec_key_agreement (raw)
 *   kind CIPHER:                 scheme = parsec_cipher
 *   kind AEAD:                   scheme = parsec_aead_alg, hash = the shortened
 *                                tag's length in bytes (0: the default tag)
 */
typedef struct parsec_alg {
    uint8_t kind;
    uint8_t scheme;
    uint8_t hash;
} parsec_alg;

typedef struct parsec_key_attributes {
    uint8_t type;       /* parsec_key_type */
    uint8_t ecc_family; /* parsec_ecc_family, for ECC types */
    uint32_t bits;
    uint32_t usage; /* PARSEC_USAGE_* */
    parsec_alg alg; /* the one permitted algorithm */
} parsec_key_attributes;

/* Tag length in bytes of an AEAD algorithm (kind AEAD), 0 for other kinds. */
static inline size_t parsec_aead_tag_length(const parsec_alg *alg)
{
    if (alg == NULL || alg->kind != PARSEC_ALG_AEAD)
        return 0;
    return alg->hash != 0 ? alg->hash : PARSEC_AEAD_DEFAULT_TAG_LEN;
}

/* Digest length of a hash, 0 if unknown/ANY. */
size_t parsec_hash_length(uint8_t hash);
/* OpenSSL digest name ("SHA256") for a hash, NULL if none. */
const char *parsec_hash_ossl_name(uint8_t hash);
/* Inverse: OpenSSL/any common digest name -> PARSEC_HASH_*, PARSEC_HASH_NONE if unknown. */
uint8_t parsec_hash_from_ossl_name(const char *name);

/*
 * PSA policy check done by the service before any backend call: 1 if a key
 * with `policy` may perform `requested` (hash wildcard honoured), else 0.
 */
int parsec_alg_permits(const parsec_alg *policy, const parsec_alg *requested);

#endif
