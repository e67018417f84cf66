/* SPDX-License-Identifier: Apache-2.0 */
/* The protobuf bodies of every opcode (see fuzz_bodies.h). */
#include "fuzz_bodies.h"

#include "attest_key.pb-c.h"
#include "can_do_crypto.pb-c.h"
#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"
#include "prepare_key_attestation.pb-c.h"
#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_mac_compute.pb-c.h"
#include "psa_mac_verify.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"

#include "parsec_types.h"

const fuzz_body_kind parsec_fuzz_body_kinds[] = {
    {PARSEC_OP_PING, &ping__operation__descriptor, &ping__result__descriptor},
    {PARSEC_OP_PSA_GENERATE_KEY, &psa_generate_key__operation__descriptor,
     &psa_generate_key__result__descriptor},
    {PARSEC_OP_PSA_DESTROY_KEY, &psa_destroy_key__operation__descriptor,
     &psa_destroy_key__result__descriptor},
    {PARSEC_OP_PSA_SIGN_HASH, &psa_sign_hash__operation__descriptor,
     &psa_sign_hash__result__descriptor},
    {PARSEC_OP_PSA_VERIFY_HASH, &psa_verify_hash__operation__descriptor,
     &psa_verify_hash__result__descriptor},
    {PARSEC_OP_PSA_IMPORT_KEY, &psa_import_key__operation__descriptor,
     &psa_import_key__result__descriptor},
    {PARSEC_OP_PSA_EXPORT_PUBLIC_KEY, &psa_export_public_key__operation__descriptor,
     &psa_export_public_key__result__descriptor},
    {PARSEC_OP_LIST_PROVIDERS, &list_providers__operation__descriptor,
     &list_providers__result__descriptor},
    {PARSEC_OP_LIST_OPCODES, &list_opcodes__operation__descriptor,
     &list_opcodes__result__descriptor},
    {PARSEC_OP_PSA_ASYMMETRIC_ENCRYPT, &psa_asymmetric_encrypt__operation__descriptor,
     &psa_asymmetric_encrypt__result__descriptor},
    {PARSEC_OP_PSA_ASYMMETRIC_DECRYPT, &psa_asymmetric_decrypt__operation__descriptor,
     &psa_asymmetric_decrypt__result__descriptor},
    {PARSEC_OP_PSA_EXPORT_KEY, &psa_export_key__operation__descriptor,
     &psa_export_key__result__descriptor},
    {PARSEC_OP_PSA_GENERATE_RANDOM, &psa_generate_random__operation__descriptor,
     &psa_generate_random__result__descriptor},
    {PARSEC_OP_LIST_AUTHENTICATORS, &list_authenticators__operation__descriptor,
     &list_authenticators__result__descriptor},
    {PARSEC_OP_PSA_HASH_COMPUTE, &psa_hash_compute__operation__descriptor,
     &psa_hash_compute__result__descriptor},
    {PARSEC_OP_PSA_HASH_COMPARE, &psa_hash_compare__operation__descriptor,
     &psa_hash_compare__result__descriptor},
    {PARSEC_OP_PSA_AEAD_ENCRYPT, &psa_aead_encrypt__operation__descriptor,
     &psa_aead_encrypt__result__descriptor},
    {PARSEC_OP_PSA_AEAD_DECRYPT, &psa_aead_decrypt__operation__descriptor,
     &psa_aead_decrypt__result__descriptor},
    {PARSEC_OP_PSA_RAW_KEY_AGREEMENT, &psa_raw_key_agreement__operation__descriptor,
     &psa_raw_key_agreement__result__descriptor},
    {PARSEC_OP_PSA_CIPHER_ENCRYPT, &psa_cipher_encrypt__operation__descriptor,
     &psa_cipher_encrypt__result__descriptor},
    {PARSEC_OP_PSA_CIPHER_DECRYPT, &psa_cipher_decrypt__operation__descriptor,
     &psa_cipher_decrypt__result__descriptor},
    {FUZZ_OP_PSA_MAC_COMPUTE, &psa_mac_compute__operation__descriptor,
     &psa_mac_compute__result__descriptor},
    {FUZZ_OP_PSA_MAC_VERIFY, &psa_mac_verify__operation__descriptor,
     &psa_mac_verify__result__descriptor},
    {PARSEC_OP_PSA_SIGN_MESSAGE, &psa_sign_message__operation__descriptor,
     &psa_sign_message__result__descriptor},
    {PARSEC_OP_PSA_VERIFY_MESSAGE, &psa_verify_message__operation__descriptor,
     &psa_verify_message__result__descriptor},
    {PARSEC_OP_LIST_KEYS, &list_keys__operation__descriptor, &list_keys__result__descriptor},
    {PARSEC_OP_LIST_CLIENTS, &list_clients__operation__descriptor,
     &list_clients__result__descriptor},
    {PARSEC_OP_DELETE_CLIENT, &delete_client__operation__descriptor,
     &delete_client__result__descriptor},
    {PARSEC_OP_ATTEST_KEY, &attest_key__operation__descriptor, &attest_key__result__descriptor},
    {PARSEC_OP_PREPARE_KEY_ATTESTATION, &prepare_key_attestation__operation__descriptor,
     &prepare_key_attestation__result__descriptor},
    {PARSEC_OP_CAN_DO_CRYPTO, &can_do_crypto__operation__descriptor,
     &can_do_crypto__result__descriptor},
};
const size_t parsec_fuzz_n_body_kinds =
    sizeof(parsec_fuzz_body_kinds) / sizeof(parsec_fuzz_body_kinds[0]);

int parsec_fuzz_body_index(uint32_t opcode)
{
    for (size_t i = 0; i < parsec_fuzz_n_body_kinds; i++)
        if (parsec_fuzz_body_kinds[i].opcode == opcode)
            return (int)i;
    return -1;
}

const fuzz_body_kind *parsec_fuzz_body_kind(uint32_t opcode)
{
    int i = parsec_fuzz_body_index(opcode);

    return i < 0 ? NULL : &parsec_fuzz_body_kinds[i];
}
