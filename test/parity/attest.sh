#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Key attestation through the client library and parsec-cli, over the
# socket: PrepareKeyAttestation gives the key's TPM name and the TPM's
# endorsement key; a verifier makes the challenge with TPM2_MakeCredential
# (tpm2_makecredential, software implementation, -T none) against that EK;
# AttestKey (TPM2_ActivateCredential in the swtpm) recovers its secret.
# Usage: attest.sh   (TPM backend)
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
CLI=$PARSEC_CLI
psd_test_init
command -v tpm2_makecredential >/dev/null ||
    { echo "not ok - tpm2_makecredential (tpm2-tools) is not installed"; exit 1; }

psd_start tpm || { echo "not ok - parsecd (tpm) did not start"; exit 1; }
T=$TESTDIR

ok "an ECDSA key in the TPM" "$CLI" create-ecc-key -k attested
ok "another key in the TPM" "$CLI" create-ecc-key -k other
ok "prepare-key-attestation" "$CLI" prepare-key-attestation -k attested -o "$T/att"
name_hex=$(xxd -p -c 256 "$T/att.name")
check "it prints the key's name" grep -qx "name: $name_hex" "$T/last.out"
check "the name is SHA-256 (000b) and 32 bytes" [ "${name_hex:0:4}" = 000b -a "${#name_hex}" = 68 ]
check "the name is the hash of the public area it came with" \
    [ "000b$(openssl dgst -sha256 -binary "$T/att.pub" | xxd -p -c 256)" = "$name_hex" ]
ok "the endorsement key is an RSA-2048 public key" openssl pkey -pubin -in "$T/att.ek.pem" -noout -text
check "of 2048 bits" grep -q "Public-Key: (2048 bit)" "$T/last.out"

head -c 32 /dev/urandom >"$T/secret"
ok "TPM2_MakeCredential against the EK for the key's name" \
    tpm2_makecredential -T none -G rsa -u "$T/att.ek.pem" -s "$T/secret" -n "$name_hex" -o "$T/challenge"
ok "attest-key answers the challenge" "$CLI" attest-key -k attested -i "$T/challenge" -o "$T/answer"
check "the secret came back" cmp -s "$T/secret" "$T/answer"

# A challenge made for another key's name: only that key could answer it.
ok "prepare-key-attestation for the other key" "$CLI" prepare-key-attestation -k other -o "$T/oth"
check "two keys, two names" differ "$T/att.name" "$T/oth.name"
ok "a challenge for the other key" \
    tpm2_makecredential -T none -G rsa -u "$T/oth.ek.pem" -s "$T/secret" -n "$(xxd -p -c 256 "$T/oth.name")" -o "$T/challenge2"
fails "the attested key cannot answer it" "$CLI" attest-key -k attested -i "$T/challenge2" -o "$T/answer2"
check "the error says the challenge was not made for this key" \
    grep -q 'the TPM refused the challenge in .*: it was not made for key "attested"' "$T/last.out"
check "nothing was written" [ ! -e "$T/answer2" ]
ok "the other key answers it" "$CLI" attest-key -k other -i "$T/challenge2" -o "$T/answer3"
check "with the same secret" cmp -s "$T/secret" "$T/answer3"

printf 'not a challenge' >"$T/junk"
fails "attest-key with a file that is no credential file" "$CLI" attest-key -k attested -i "$T/junk"
check "the error names the expected format" grep -q "is not a credential file (tpm2_makecredential -o" "$T/last.out"
fails "prepare-key-attestation without -o" "$CLI" prepare-key-attestation -k attested
check "the error asks for -o PREFIX" grep -q "needs -o PREFIX" "$T/last.out"
fails "prepare-key-attestation of a missing key" "$CLI" prepare-key-attestation -k nosuch -o "$T/x"
check "the error names the missing key" grep -q "PsaErrorDoesNotExist" "$T/last.out"

psd_finish
exit $?
