#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsecd answers like the reference Parsec service (1.1.0, Mbed Crypto
# provider) where issue-tracked differences were found: CanDoCrypto check
# types, GenerateKey of public keys, implied usage flags, RSA-1024 and
# deprecated primitives behind their settings, AEAD and symmetric keys.
# Usage: parity.sh PARITY_PROBE [software|pkcs11|tpm]
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
PROBE=${1:?usage: parity.sh PARITY_PROBE [BACKEND]}
BACKEND=${2:-software}
psd_test_init

# Every case holds for the software backend except those about backends
# without an algorithm. A PKCS#11 token (SoftHSM2) offers AES-GCM but not CCM
# or ChaCha20-Poly1305 and never exports keys; the TPM backend offers no AEAD.
COMMON="cando-use-no-flags cando-use-alg-none cando-use-derive-only cando-use-ok
 cando-use-incompatible cando-generate-public cando-generate-no-flags cando-generate-alg-none
 cando-generate-ok cando-import-no-flags cando-import-public-ok cando-derive
 cando-agrees-with-generate generate-public implied-flags rsa1024-generate rsa1024-cando
 rsa1024-public-import deprecated-oaep-sha1"
case $BACKEND in
software) CASES="$COMMON sign-message aead-vector-gcm aead-vector-ccm aead-vector-chacha20
 aead-roundtrip-generated aead-roundtrip-imported-gcm aead-errors-gcm aead-errors-nonce
 aead-key-and-opcodes cipher-vectors cipher-modes cipher-errors curves-ecdsa curves-ecdh x25519-vector ripemd160" ;;
pkcs11) CASES="$COMMON aead-vector-gcm aead-roundtrip-imported-gcm aead-errors-gcm
 aead-key-and-opcodes aead-ccm-chacha-not-offered" ;;
tpm) CASES="cando-use-no-flags cando-use-alg-none cando-generate-public cando-generate-no-flags
 cando-derive generate-public aead-not-offered" ;;
*) echo "not ok - unknown backend $BACKEND"; exit 1 ;;
esac

psd_start "$BACKEND" || { echo "not ok - parsecd ($BACKEND) did not start"; exit 1; }
for c in $CASES; do
    ok "$BACKEND: reference answer: $c" "$PROBE" "$c"
done
if [ "$BACKEND" != software ]; then
    psd_finish
    exit $?
fi

# AES keys and AEAD from the command line.
CLI=$PARSEC_CLI
printf 'secret message\n' >"$TESTDIR/msg"
printf 'header' >"$TESTDIR/aad"
ok "create-aes-key makes an AES-256-GCM key" "$CLI" create-aes-key -k cli-aes
check "create-aes-key says what it made" grep -q 'Key "cli-aes" created (AES, 256 bits, Gcm)' "$TESTDIR/last.out"
ok "list-keys shows the AES key" "$CLI" list-keys
check "list-keys names its algorithm" grep -q "Gcm" "$TESTDIR/last.out"
ok "aead-encrypt" "$CLI" aead-encrypt -k cli-aes -i "$TESTDIR/msg" -o "$TESTDIR/msg.enc" --aad "$TESTDIR/aad"
check "aead-encrypt output is nonce (12) + data (15) + tag (16)" [ "$(stat -c %s "$TESTDIR/msg.enc")" = 43 ]
ok "aead-decrypt" "$CLI" aead-decrypt -k cli-aes -i "$TESTDIR/msg.enc" -o "$TESTDIR/msg.dec" --aad "$TESTDIR/aad"
check "aead-decrypt gives the message back" cmp -s "$TESTDIR/msg" "$TESTDIR/msg.dec"
fails "aead-decrypt with other additional data" "$CLI" aead-decrypt -k cli-aes -i "$TESTDIR/msg.enc" -o "$TESTDIR/bad.dec"
check "the error says the data, key or --aad do not match" grep -q 'was not encrypted with key "cli-aes" and this --aad, or was modified' "$TESTDIR/last.out"
check "nothing was written for the refused ciphertext" [ ! -e "$TESTDIR/bad.dec" ]
ok "create-aes-key --ccm -b 128" "$CLI" create-aes-key -k cli-ccm --ccm -b 128
ok "aead-encrypt with CCM" "$CLI" aead-encrypt -k cli-ccm -i "$TESTDIR/msg" -o "$TESTDIR/ccm.enc"
check "CCM output is nonce (13) + data (15) + tag (16)" [ "$(stat -c %s "$TESTDIR/ccm.enc")" = 44 ]
ok "aead-decrypt with CCM" "$CLI" aead-decrypt -k cli-ccm -i "$TESTDIR/ccm.enc" -o "$TESTDIR/ccm.dec"
check "CCM round trip" cmp -s "$TESTDIR/msg" "$TESTDIR/ccm.dec"
fails "create-aes-key -b 512 is refused" "$CLI" create-aes-key -k cli-bad -b 512
check "the error lists the AES sizes" grep -q "unsupported AES key size 512 (128, 192, 256)" "$TESTDIR/last.out"
ok "an ECC key for the next check" "$CLI" create-ecc-key -k cli-ecc
fails "aead-encrypt with an ECDSA key is refused" "$CLI" aead-encrypt -k cli-ecc -i "$TESTDIR/msg"
check "the error says the key is not an AEAD key" grep -q 'key "cli-ecc" is not an AEAD key' "$TESTDIR/last.out"

# Settings that move an answer away from the reference's default.
psd_stop
conf_set min_rsa_bits 1024 core
conf_set allow_deprecated true core
psd_restart || { echo "not ok - parsecd (min_rsa_bits 1024) did not start"; exit 1; }
ok "min_rsa_bits = 1024: RSA-1024 keys are generated and sign" "$PROBE" rsa1024-generate Success
ok "min_rsa_bits = 1024: CanDoCrypto agrees" "$PROBE" rsa1024-cando Success
ok "min_rsa_bits = 1024: public keys below 1024 bits are still refused" "$PROBE" rsa1024-public-import
ok "allow_deprecated = true: RSA-OAEP-SHA1 keys are created and work" "$PROBE" deprecated-oaep-sha1 Success

# Bad values stop the service with the setting named.
psd_stop
conf_set min_rsa_bits 512 core
fails "min_rsa_bits = 512 is refused at start" "$PARSECD" -c "$TESTDIR/parsecd.conf"
check "the error names min_rsa_bits and its range" grep -q "min_rsa_bits '512' must be 1024..16384" "$TESTDIR/last.out"
conf_set min_rsa_bits 2048 core
conf_set allow_deprecated yes core
fails "allow_deprecated = yes is refused at start" "$PARSECD" -c "$TESTDIR/parsecd.conf"
check "the error names allow_deprecated" grep -q "allow_deprecated 'yes' must be true or false" "$TESTDIR/last.out"
conf_set allow_deprecated false core
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }

psd_finish
exit $?
