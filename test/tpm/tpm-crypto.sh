#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsecd on a swtpm, checked with the openssl CLI: signatures verify,
# openssl-made RSA ciphertexts decrypt, ECDH matches `openssl pkeyutl -derive`.
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
CLI=$PARSEC_CLI
ECDH=$TEST_BUILDDIR/test/tpm/tpm_ecdh_client
D=$TESTDIR

ok "parsecd starts with the TPM backend" psd_start tpm || { psd_summary; exit 1; }
check "the ECDH test client is built" [ -x "$ECDH" ]
head -c 3000 /dev/urandom >"$D/msg"

# name, create command..., then: digest, extra openssl dgst options
sig_case() {
    local name=$1 desc=$2 md=$3 sigopts
    read -ra sigopts <<<"$4"
    shift 4
    ok "create $desc key" "$CLI" "$@" -k "$name" &&
        ok "$desc: export public key" "$CLI" export-public-key -k "$name" -o "$D/$name.pem" &&
        ok "$desc: sign" "$CLI" sign -k "$name" -i "$D/msg" -o "$D/$name.sig" &&
        ok "$desc: openssl verifies the signature" openssl dgst "-$md" "${sigopts[@]}" \
            -verify "$D/$name.pem" -signature "$D/$name.sig" "$D/msg" &&
        ok "$desc: the service verifies it too" "$CLI" verify -k "$name" -i "$D/msg" -s "$D/$name.sig"
    cp "$D/msg" "$D/msg2" && printf x >>"$D/msg2"
    fails "$desc: openssl rejects it for other data" openssl dgst "-$md" "${sigopts[@]}" \
        -verify "$D/$name.pem" -signature "$D/$name.sig" "$D/msg2"
}

sig_case ec256 "ECDSA P-256 SHA-256" sha256 "" create-ecc-key -c 256
sig_case ec384 "ECDSA P-384 SHA-384" sha384 "" create-ecc-key -c 384 --hash sha384
sig_case rsa2k "RSA-2048 PKCS#1 v1.5 SHA-256" sha256 "" create-rsa-key -b 2048 --sign-pkcs1
sig_case rsapss "RSA-2048 PSS SHA-256" sha256 \
    "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest" create-rsa-key -b 2048 --sign-pss
sig_case rsa3k "RSA-3072 PSS SHA-384" sha384 \
    "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest" create-rsa-key -b 3072 --sign-pss --hash sha384

# ---- RSA decryption of openssl-made ciphertexts ----
printf 'a secret for the TPM' >"$D/pt"
ok "create RSA PKCS#1 v1.5 encryption key" "$CLI" create-rsa-key -k dec1
ok "export it" "$CLI" export-public-key -k dec1 -o "$D/dec1.pem"
ok "openssl encrypts with PKCS#1 v1.5" openssl pkeyutl -encrypt -pubin -inkey "$D/dec1.pem" \
    -in "$D/pt" -out "$D/ct1"
ok "the TPM decrypts it" "$CLI" decrypt -k dec1 -i "$D/ct1" -o "$D/pt1"
check "plaintext matches (PKCS#1 v1.5)" cmp "$D/pt" "$D/pt1"

ok "create RSA OAEP SHA-256 key" "$CLI" create-rsa-key -k dec2 --oaep --hash sha256
ok "export it" "$CLI" export-public-key -k dec2 -o "$D/dec2.pem"
ok "openssl encrypts with OAEP SHA-256" openssl pkeyutl -encrypt -pubin -inkey "$D/dec2.pem" \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 \
    -in "$D/pt" -out "$D/ct2"
ok "the TPM decrypts it" "$CLI" decrypt -k dec2 -i "$D/ct2" -o "$D/pt2"
check "plaintext matches (OAEP SHA-256)" cmp "$D/pt" "$D/pt2"
ok "the service encrypts (OAEP SHA-256)" "$CLI" encrypt -k dec2 -i "$D/pt" -o "$D/ct3"
ok "and decrypts its own ciphertext" "$CLI" decrypt -k dec2 -i "$D/ct3" -o "$D/pt3"
check "plaintext matches (round trip)" cmp "$D/pt" "$D/pt3"
head -c 256 /dev/urandom >"$D/junk"
fails "a random 'ciphertext' is refused" "$CLI" decrypt -k dec2 -i "$D/junk" -o "$D/ptj"
check "with a padding error" last_output_has "Padding"
fails "a PKCS#1 ciphertext does not decrypt as OAEP" "$CLI" decrypt -k dec2 -i "$D/ct1" -o "$D/ptx"

# ---- ECDH ----
ok "create ECDH P-256 key" "$CLI" create-ecc-key -k dh --ecdh
ok "export it" "$CLI" export-public-key -k dh -o "$D/dh.pem"
ok "openssl makes a peer key" openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$D/peer.key"
ok "and its public key" openssl pkey -in "$D/peer.key" -pubout -out "$D/peer.pem"
ok "openssl derives the peer's side" openssl pkeyutl -derive -inkey "$D/peer.key" \
    -peerkey "$D/dh.pem" -out "$D/z.bin"
ok "the TPM derives its side (RawKeyAgreement)" "$ECDH" dh "$D/peer.pem"
tpm_z=$(cat "$D/last.out")
check "the shared secrets are equal" [ "$tpm_z" = "$(od -An -v -tx1 "$D/z.bin" | tr -d ' \n')" ]
check "and 32 bytes long" [ ${#tpm_z} = 64 ]
fails "a signing key cannot derive" "$ECDH" ec256 "$D/peer.pem"

# ---- random, and what a TPM cannot do ----
ok "random bytes from the TPM" "$CLI" generate-random -n 100
r1=$(cat "$D/last.out")
ok "more random bytes" "$CLI" generate-random -n 100
check "100 bytes each time, different each time" [ ${#r1} = 200 -a "$r1" != "$(cat "$D/last.out")" ]
fails "RSA-4096 is refused (this TPM has no RSA-4096)" "$CLI" create-rsa-key -k big -b 4096
check "as not supported" last_output_has "NotSupported"
ok "list the TPM provider's operations" "$CLI" list-opcodes -p 3
check "ExportKey is not among them (keys never leave the TPM)" \
    [ "$(grep -c 'PsaExportKey$' "$D/last.out")" = 0 ]
check "ExportPublicKey is" [ "$(grep -c 'PsaExportPublicKey$' "$D/last.out")" = 1 ]
check "key attestation is (ActivateCredential)" \
    [ "$(grep -cE ' (PrepareKeyAttestation|AttestKey)$' "$D/last.out")" = 2 ]

psd_summary
exit $?
