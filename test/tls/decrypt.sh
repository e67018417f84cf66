#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Decryption and key agreement with keys held by the Parsec service, through
# the provider, checked against plain software OpenSSL:
#   openssl pkeyutl -decrypt  (PKCS#1 v1.5; OAEP SHA-256/384/512, with a label;
#                              RsaOaep(SHA-1) keys are refused by Parsec: deprecated)
#   openssl cms -encrypt / -decrypt  (PKCS#1 v1.5 and OAEP key transport)
#   openssl pkeyutl -derive  (ECDH P-256/P-384; same secret as the software side)
# plus the refusals the one-algorithm-per-key policy implies.
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/tls/tls-lib.sh"
tls_setup
T=$TESTDIR

head -c 48 /dev/urandom >"$T/secret.bin"
printf 'parsec-provider CMS test message\n' >"$T/msg.txt"

# has_error PATTERN: the last command's output (errors included) contains PATTERN.
has_error() { grep -q -- "$1" "$T/last.out"; }

# ---- PKCS#1 v1.5 --------------------------------------------------------------
ok "create an RSA-2048 decryption key (policy RsaPkcs1v15Crypt)" tls_create_key dec-pkcs1 rsa-pkcs1-crypt
ok "export its public key" tls_export_pub dec-pkcs1 "$T/dec-pkcs1.pub"
ok "software encrypts to it with PKCS#1 v1.5" \
    sw_openssl pkeyutl -encrypt -pubin -inkey "$T/dec-pkcs1.pub" -in "$T/secret.bin" -out "$T/pkcs1.ct"
ok "pkeyutl -decrypt -inkey parsec:dec-pkcs1 (one PsaAsymmetricDecrypt in parsecd)" \
    tls_service_did PsaAsymmetricDecrypt 1 hw_openssl pkeyutl -decrypt -inkey parsec:dec-pkcs1 -in "$T/pkcs1.ct" -out "$T/pkcs1.pt"
check "the plaintext is the original" cmp "$T/secret.bin" "$T/pkcs1.pt"
ok "write a key-reference file for it" tls_key_ref dec-pkcs1 "$T/dec-pkcs1.ref.pem"
rm -f "$T/pkcs1.pt"
ok "pkeyutl -decrypt through the key-reference file" \
    hw_openssl pkeyutl -decrypt -inkey "$T/dec-pkcs1.ref.pem" -in "$T/pkcs1.ct" -out "$T/pkcs1.pt"
check "the plaintext is the original" cmp "$T/secret.bin" "$T/pkcs1.pt"
ok "the provider encrypts with the key's public half (PKCS#1 v1.5)" \
    hw_openssl pkeyutl -encrypt -inkey parsec:dec-pkcs1 -in "$T/secret.bin" -out "$T/pkcs1-hw.ct"
ok "... and the service decrypts that" \
    hw_openssl pkeyutl -decrypt -inkey parsec:dec-pkcs1 -in "$T/pkcs1-hw.ct" -out "$T/pkcs1-hw.pt"
check "the plaintext is the original" cmp "$T/secret.bin" "$T/pkcs1-hw.pt"
head -c 256 /dev/urandom >"$T/garbage.ct"
fails "a random ciphertext does not decrypt" \
    hw_openssl pkeyutl -decrypt -inkey parsec:dec-pkcs1 -in "$T/garbage.ct" -out "$T/garbage.pt"
fails "OAEP decryption with the PKCS#1 v1.5 key is refused" \
    hw_openssl pkeyutl -decrypt -inkey parsec:dec-pkcs1 -pkeyopt rsa_padding_mode:oaep \
    -in "$T/pkcs1.ct" -out "$T/x.pt"
check "... and the error names the key's policy" has_error "RsaPkcs1v15Crypt"
fails "raw RSA (no padding) is refused" \
    hw_openssl pkeyutl -decrypt -inkey parsec:dec-pkcs1 -pkeyopt rsa_padding_mode:none \
    -in "$T/pkcs1.ct" -out "$T/x.pt"
check "... saying Parsec has no raw RSA decryption" has_error "no padding"

# ---- OAEP, one key per hash (Parsec's RsaOaep(hash) fixes OAEP and MGF1 digest) --
# SHA-1 is a deprecated primitive for Parsec: no key can have RsaOaep(SHA-1).
fails "the service refuses an RsaOaep(SHA-1) key" tls_create_key dec-oaep-sha1 rsa-oaep-sha1
check "... as a deprecated primitive" has_error "deprecated"
# The label ends in a zero byte: TPM2_RSA_Decrypt only takes NUL-terminated labels.
LABEL=7061727365632d6c6162656c00
for h in sha256 sha384 sha512; do
    key=dec-oaep-$h
    oaep=(-pkeyopt rsa_padding_mode:oaep -pkeyopt "rsa_oaep_md:$h" -pkeyopt "rsa_mgf1_md:$h")
    ok "create an RSA-2048 key with policy RsaOaep($h)" tls_create_key "$key" "rsa-oaep-$h"
    ok "export its public key" tls_export_pub "$key" "$T/$key.pub"
    ok "software encrypts with OAEP $h" \
        sw_openssl pkeyutl -encrypt -pubin -inkey "$T/$key.pub" "${oaep[@]}" \
        -in "$T/secret.bin" -out "$T/$key.ct"
    ok "pkeyutl -decrypt OAEP $h in the service" \
        hw_openssl pkeyutl -decrypt -inkey "parsec:$key" "${oaep[@]}" -in "$T/$key.ct" -out "$T/$key.pt"
    check "the plaintext is the original (OAEP $h)" cmp "$T/secret.bin" "$T/$key.pt"
    ok "software encrypts with OAEP $h and a label" \
        sw_openssl pkeyutl -encrypt -pubin -inkey "$T/$key.pub" "${oaep[@]}" \
        -pkeyopt rsa_oaep_label:$LABEL -in "$T/secret.bin" -out "$T/$key.lct"
    ok "pkeyutl -decrypt OAEP $h with the label" \
        hw_openssl pkeyutl -decrypt -inkey "parsec:$key" "${oaep[@]}" \
        -pkeyopt rsa_oaep_label:$LABEL -in "$T/$key.lct" -out "$T/$key.lpt"
    check "the plaintext is the original (OAEP $h, label)" cmp "$T/secret.bin" "$T/$key.lpt"
    fails "a wrong label does not decrypt (OAEP $h)" \
        hw_openssl pkeyutl -decrypt -inkey "parsec:$key" "${oaep[@]}" \
        -pkeyopt rsa_oaep_label:6f746865722d6c6162656c00 -in "$T/$key.lct" -out "$T/x.pt"
done

fails "OAEP with a different MGF1 digest is refused" \
    hw_openssl pkeyutl -decrypt -inkey parsec:dec-oaep-sha256 -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha1 -in "$T/dec-oaep-sha256.ct" -out "$T/x.pt"
check "... explaining that Parsec uses one hash for both" has_error "one hash for both"
fails "OAEP with OpenSSL's default digest (SHA-1) and the RsaOaep(SHA-256) key is refused" \
    hw_openssl pkeyutl -decrypt -inkey parsec:dec-oaep-sha256 -pkeyopt rsa_padding_mode:oaep \
    -in "$T/dec-oaep-sha256.ct" -out "$T/x.pt"
check "... naming the policy" has_error "RsaOaep(SHA-256)"
fails "PKCS#1 v1.5 with the OAEP key is refused" \
    hw_openssl pkeyutl -decrypt -inkey parsec:dec-oaep-sha256 -in "$T/pkcs1.ct" -out "$T/x.pt"
check "... naming the policy" has_error "RsaOaep(SHA-256)"
ok "create an RSA-PSS signing key" tls_create_key sign-pss rsa-pss
fails "a signing key does not decrypt" \
    hw_openssl pkeyutl -decrypt -inkey parsec:sign-pss -in "$T/pkcs1.ct" -out "$T/x.pt"
check "... and the error says it is a signing key" has_error "signing key"

# ---- CMS (S/MIME) --------------------------------------------------------------
ok "certificate for the PKCS#1 v1.5 key" tls_cert_for_pub "$T/dec-pkcs1.pub" "cms pkcs1" "$T/dec-pkcs1.crt"
ok "cms -encrypt to it (software)" \
    sw_openssl cms -encrypt -binary -aes-256-cbc -in "$T/msg.txt" -out "$T/msg.pkcs1.cms" "$T/dec-pkcs1.crt"
ok "cms -decrypt with parsec:dec-pkcs1" \
    hw_openssl cms -decrypt -in "$T/msg.pkcs1.cms" -recip "$T/dec-pkcs1.crt" -inkey parsec:dec-pkcs1 \
    -out "$T/msg.pkcs1.out"
check "the message is the original" cmp "$T/msg.txt" "$T/msg.pkcs1.out"
ok "cms -decrypt with the key-reference file" \
    hw_openssl cms -decrypt -in "$T/msg.pkcs1.cms" -recip "$T/dec-pkcs1.crt" \
    -inkey "$T/dec-pkcs1.ref.pem" -out "$T/msg.pkcs1.out2"
check "the message is the original" cmp "$T/msg.txt" "$T/msg.pkcs1.out2"
ok "certificate for the RsaOaep(SHA-256) key" \
    tls_cert_for_pub "$T/dec-oaep-sha256.pub" "cms oaep" "$T/dec-oaep-sha256.crt"
ok "cms -encrypt with RSA-OAEP SHA-256 key transport (software)" \
    sw_openssl cms -encrypt -binary -aes-128-cbc -in "$T/msg.txt" -out "$T/msg.oaep.cms" \
    -recip "$T/dec-oaep-sha256.crt" -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 \
    -keyopt rsa_mgf1_md:sha256
ok "cms -decrypt with parsec:dec-oaep-sha256" \
    hw_openssl cms -decrypt -in "$T/msg.oaep.cms" -recip "$T/dec-oaep-sha256.crt" \
    -inkey parsec:dec-oaep-sha256 -out "$T/msg.oaep.out"
check "the message is the original" cmp "$T/msg.txt" "$T/msg.oaep.out"

# ---- ECDH ----------------------------------------------------------------------
for curve in P-256 P-384; do
    c=${curve#P-}
    key=ecdh-p$c
    ok "create an ECDH $curve key (policy KeyAgreement Raw ECDH, usage derive)" \
        tls_create_key "$key" "ec-p$c-ecdh"
    ok "export its public key" tls_export_pub "$key" "$T/$key.pub"
    ok "software peer key on $curve" \
        sw_openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out "$T/peer$c.pem"
    ok "peer public key" sw_openssl pkey -in "$T/peer$c.pem" -pubout -out "$T/peer$c.pub"
    ok "pkeyutl -derive -inkey parsec:$key -peerkey peer (one PsaRawKeyAgreement in parsecd)" \
        tls_service_did PsaRawKeyAgreement 1 hw_openssl pkeyutl -derive -inkey "parsec:$key" -peerkey "$T/peer$c.pub" -out "$T/hw$c.secret"
    ok "software derive -inkey peer -peerkey <exported public key>" \
        sw_openssl pkeyutl -derive -inkey "$T/peer$c.pem" -peerkey "$T/$key.pub" -out "$T/sw$c.secret"
    check "both sides hold the same $curve secret" cmp "$T/hw$c.secret" "$T/sw$c.secret"
    check "the secret is the full x-coordinate ($c bits)" \
        [ "$(stat -c %s "$T/hw$c.secret")" = "$(((c + 7) / 8))" ]
done
ok "key-reference file for the P-256 ECDH key" tls_key_ref ecdh-p256 "$T/ecdh-p256.ref.pem"
ok "pkeyutl -derive through the key-reference file" \
    hw_openssl pkeyutl -derive -inkey "$T/ecdh-p256.ref.pem" -peerkey "$T/peer256.pub" -out "$T/ref.secret"
check "same secret" cmp "$T/ref.secret" "$T/sw256.secret"
fails "a peer on another curve is refused" \
    hw_openssl pkeyutl -derive -inkey parsec:ecdh-p256 -peerkey "$T/peer384.pub" -out "$T/x.secret"
ok "create an ECDSA P-256 key" tls_create_key ecdsa-p256 ec-p256-ecdsa
fails "an ECDSA key does not derive" \
    hw_openssl pkeyutl -derive -inkey parsec:ecdsa-p256 -peerkey "$T/peer256.pub" -out "$T/x.secret"
check "... and the error says ECDH needs an ECDH key" has_error "ECDH"

# ---- contexts OpenSSL duplicates ------------------------------------------------
ok "EVP_PKEY_CTX_dup of decryption and ECDH contexts works like the original" \
    env OPENSSL_CONF="$TLS_CNF" "$TEST_BUILDDIR/test/tls/tls_dupctx_check" parsec:dec-pkcs1 \
    "$T/dec-pkcs1.pub" "$T/ecdh-p256.ref.pem" "$T/peer256.pem"

psd_summary
exit $?
