#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsecd with its PKCS#11 backend on a SoftHSM2 token, checked the way a user
# would: parsec-cli and the openssl CLI for results, pkcs11-tool for what is
# really stored on the token, parsecd's exit status and log for start-up errors.
#
# $1: pkcs11-test-client (operations parsec-cli has no command for).
set -u
. "$TEST_SRCDIR/test/lib/testenv.sh"

P11CLIENT=${1:?usage: pkcs11-service.sh PKCS11_TEST_CLIENT}
CLI=$PARSEC_CLI

psd_test_init
D=$TESTDIR/work
mkdir -p "$D"

for tool in pkcs11-tool softhsm2-util openssl; do
    command -v "$tool" >/dev/null || { echo "not ok - $tool is installed"; echo "0 passed, 1 failed"; exit 1; }
done
[ -x "$CLI" ] || { echo "not ok - parsec-cli is built ($CLI)"; echo "0 passed, 1 failed"; exit 1; }

ok "parsecd starts with the pkcs11 backend on a SoftHSM2 token" psd_start pkcs11 || { psd_summary; exit 1; }

ok "list-providers answers" "$CLI" list-providers
check "the PKCS #11 provider (ID 2) is listed first" \
    sh -c "grep -m1 '^ID:' '$TESTDIR/last.out' | grep -q '0x02'"
ok "list-opcodes -p 2 answers" "$CLI" list-opcodes -p 2
check "provider 2 lists PsaSignHash" last_output_has PsaSignHash
check "provider 2 lists PsaRawKeyAgreement" last_output_has PsaRawKeyAgreement
check "provider 2 does not list PsaExportKey" sh -c "! grep -q PsaExportKey '$TESTDIR/last.out'"

# ---- keys generated on the token ----
KEYS="r-pkcs1 r-pss r-pss3072 r-oaep r-crypt e256 e384 e521 e-dh"
ok "create RSA-2048 PKCS#1 v1.5 signing key" "$CLI" create-rsa-key -k r-pkcs1 --sign-pkcs1
ok "create RSA-2048 PSS signing key" "$CLI" create-rsa-key -k r-pss --sign-pss
ok "create RSA-3072 PSS signing key" "$CLI" create-rsa-key -k r-pss3072 -b 3072 --sign-pss --hash sha384
ok "create RSA-2048 OAEP-SHA256 key" "$CLI" create-rsa-key -k r-oaep --oaep --hash sha256
ok "create RSA-2048 PKCS#1 v1.5 encryption key" "$CLI" create-rsa-key -k r-crypt
ok "create ECDSA P-256 key" "$CLI" create-ecc-key -k e256
ok "create ECDSA P-384 key" "$CLI" create-ecc-key -k e384 -c 384
ok "create ECDSA P-521 key" "$CLI" create-ecc-key -k e521 -c 521
ok "create ECDH P-256 key" "$CLI" create-ecc-key -k e-dh --ecdh
fails "an RSA-1024 key is refused" "$CLI" create-rsa-key -k r-small -b 1024 --sign-pkcs1

# pkcs11-tool prints one block per object; block "Private Key Object" ... "Access: ...".
ok "pkcs11-tool lists the token's objects" psd_pkcs11_tool --list-objects
cp "$TESTDIR/last.out" "$D/objects.txt"
private_access() { # label -> the Access line of its private key object
    awk -v want="$1" '
        /^[A-Za-z].*Object;/ { priv = ($0 ~ /^Private Key Object/); label = "" }
        /^ *label:/ { sub(/^ *label: */, ""); label = $0 }
        /^ *Access:/ && priv && label == want { sub(/^ *Access: */, ""); print }
    ' "$D/objects.txt"
}
object_count() { # label -> number of objects with that label
    grep -c "^ *label: *$1\$" "$D/objects.txt"
}
for k in $KEYS; do
    check "token holds the key pair '$k' (2 objects)" [ "$(object_count "$k")" = 2 ]
    check "private key '$k' is sensitive, always sensitive, never extractable, local" \
        [ "$(private_access "$k")" = "sensitive, always sensitive, never extractable, local" ]
done
check "no object for the refused RSA-1024 key" [ "$(object_count r-small)" = 0 ]

# ---- no private key ever leaves the token ----
fails "ExportKey of a token key is refused" "$P11CLIENT" export-key r-pkcs1 "$D/exported.der"
check "ExportKey answers a Parsec error status" last_output_has "status: "
check "nothing was exported" [ ! -s "$D/exported.der" ]
fails "an exportable key cannot be created on the token" "$P11CLIENT" create-exportable-ecc e-export
check "... with PsaErrorNotSupported" last_output_has "PsaErrorNotSupported"

# ---- signatures verify with the openssl CLI ----
head -c 1000 /dev/urandom >"$D/msg"
for k in $KEYS; do
    case $k in r-crypt|r-oaep|e-dh) continue ;; esac
    ok "export the public key of $k" "$CLI" export-public-key -k "$k" -o "$D/$k.pem"
done
sign_verify() { # key digest [openssl signature options]
    local k=$1 md=$2
    shift 2
    ok "sign with $k" "$CLI" sign -k "$k" -i "$D/msg" -o "$D/$k.sig" &&
    ok "openssl verifies the $k signature" \
        openssl dgst "-$md" -verify "$D/$k.pem" -signature "$D/$k.sig" "$@" "$D/msg"
}
sign_verify r-pkcs1 sha256
sign_verify r-pss sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
sign_verify r-pss3072 sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
sign_verify e256 sha256
sign_verify e384 sha384
sign_verify e521 sha512
ok "parsec-cli verifies the e256 signature through the service" \
    "$CLI" verify -k e256 -i "$D/msg" -s "$D/e256.sig"
echo tampered >>"$D/msg"
fails "the service rejects the e256 signature of a changed message" \
    "$CLI" verify -k e256 -i "$D/msg" -s "$D/e256.sig"
fails "openssl rejects the r-pss signature of a changed message" \
    openssl dgst -sha256 -verify "$D/r-pss.pem" -signature "$D/r-pss.sig" \
    -sigopt rsa_padding_mode:pss "$D/msg"

# ---- decryption of openssl-made ciphertext ----
ok "export the public key of r-crypt" "$CLI" export-public-key -k r-crypt -o "$D/r-crypt.pem"
ok "export the public key of r-oaep" "$CLI" export-public-key -k r-oaep -o "$D/r-oaep.pem"
head -c 100 /dev/urandom >"$D/secret"
ok "openssl encrypts (PKCS#1 v1.5) to r-crypt" \
    openssl pkeyutl -encrypt -pubin -inkey "$D/r-crypt.pem" -in "$D/secret" -out "$D/ct1"
ok "the token decrypts it" "$CLI" decrypt -k r-crypt -i "$D/ct1" -o "$D/pt1"
check "PKCS#1 v1.5 plaintext matches" cmp "$D/secret" "$D/pt1"
ok "openssl encrypts (OAEP SHA-256) to r-oaep" \
    openssl pkeyutl -encrypt -pubin -inkey "$D/r-oaep.pem" -in "$D/secret" -out "$D/ct2" \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256
ok "the token decrypts it" "$CLI" decrypt -k r-oaep -i "$D/ct2" -o "$D/pt2"
check "OAEP plaintext matches" cmp "$D/secret" "$D/pt2"
ok "openssl encrypts (OAEP SHA-256, label 'parsec-label') to r-oaep" \
    openssl pkeyutl -encrypt -pubin -inkey "$D/r-oaep.pem" -in "$D/secret" -out "$D/ct3" \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 \
    -pkeyopt rsa_oaep_label:706172736563
ok "the token decrypts it with the label" "$P11CLIENT" decrypt-oaep r-oaep parsec "$D/ct3" "$D/pt3"
check "OAEP-with-label plaintext matches" cmp "$D/secret" "$D/pt3"
fails "a wrong label is refused" "$P11CLIENT" decrypt-oaep r-oaep other "$D/ct3" "$D/pt4"
check "... as a padding error" last_output_has "PsaErrorInvalidPadding"
ok "encrypt through the service (r-oaep)" "$CLI" encrypt -k r-oaep -i "$D/secret" -o "$D/ct5"
ok "decrypt through the service (r-oaep)" "$CLI" decrypt -k r-oaep -i "$D/ct5" -o "$D/pt5"
check "service round trip matches" cmp "$D/secret" "$D/pt5"

# ---- ECDH matches openssl pkeyutl -derive ----
ok "export the public key of e-dh" "$CLI" export-public-key -k e-dh -o "$D/e-dh.pem"
ok "openssl makes a P-256 peer key" \
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/peer.pem"
ok "openssl extracts the peer public key" openssl pkey -in "$D/peer.pem" -pubout -out "$D/peer.pub.pem"
ok "openssl derives the shared secret" \
    openssl pkeyutl -derive -inkey "$D/peer.pem" -peerkey "$D/e-dh.pem" -out "$D/ecdh.expected"
ok "the token derives it (RawKeyAgreement)" "$P11CLIENT" ecdh e-dh "$D/peer.pub.pem" "$D/ecdh.got"
check "ECDH secrets match" cmp "$D/ecdh.expected" "$D/ecdh.got"
check "ECDH secret is 32 bytes" [ "$(stat -c %s "$D/ecdh.got")" = 32 ]
ok "pkcs11-tool lists the token's objects" psd_pkcs11_tool --list-objects
check "no secret object is left on the token" sh -c "! grep -q 'Secret Key Object' '$TESTDIR/last.out'"

# ---- imported keys ----
ok "openssl makes an RSA-2048 key" openssl genrsa -out "$D/imp-rsa.pem" 2048
ok "import it (DER RSAPrivateKey)" "$P11CLIENT" import-rsa imp-rsa "$D/imp-rsa.pem"
ok "sign with the imported RSA key" "$CLI" sign -k imp-rsa -i "$D/msg" -o "$D/imp-rsa.sig"
ok "openssl verifies it with the original key" \
    openssl dgst -sha256 -prverify "$D/imp-rsa.pem" -signature "$D/imp-rsa.sig" "$D/msg"
ok "openssl makes a P-256 key" \
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/imp-ec.pem"
ok "import it (private scalar)" "$P11CLIENT" import-ecc imp-ec "$D/imp-ec.pem"
ok "export its public key" "$CLI" export-public-key -k imp-ec -o "$D/imp-ec.pub.pem"
openssl pkey -in "$D/imp-ec.pem" -pubout -out "$D/imp-ec.ref.pem" 2>/dev/null
check "the token's public key is the imported one" cmp "$D/imp-ec.ref.pem" "$D/imp-ec.pub.pem"
ok "sign with the imported EC key" "$CLI" sign -k imp-ec -i "$D/msg" -o "$D/imp-ec.sig"
ok "openssl verifies it" openssl dgst -sha256 -verify "$D/imp-ec.ref.pem" -signature "$D/imp-ec.sig" "$D/msg"
ok "pkcs11-tool lists the token's objects" psd_pkcs11_tool --list-objects
cp "$TESTDIR/last.out" "$D/objects.txt"
# Imported material was outside the token once: sensitive and not extractable
# from now on, but not "always sensitive"/"never extractable"/"local".
for k in imp-rsa imp-ec; do
    check "imported private key $k is sensitive and not extractable on the token" \
        [ "$(private_access "$k")" = sensitive ]
done
fails "import of garbage is refused" "$P11CLIENT" import-rsa bad "$D/msg"

# ---- random ----
ok "GenerateRandom 32 bytes from the token" "$CLI" generate-random -n 32
check "64 hex digits" grep -qE '^[0-9a-f]{64}$' "$TESTDIR/last.out"

# ---- keys survive a restart ----
ok "parsecd restarts" psd_restart
ok "list-keys after restart" "$CLI" list-keys
for k in $KEYS imp-rsa imp-ec; do
    check "key $k is still listed" grep -q "$k" "$TESTDIR/last.out"
done
head -c 500 /dev/urandom >"$D/msg2"
ok "sign with e384 after restart" "$CLI" sign -k e384 -i "$D/msg2" -o "$D/e384b.sig"
ok "openssl verifies it with the key exported before the restart" \
    openssl dgst -sha384 -verify "$D/e384.pem" -signature "$D/e384b.sig" "$D/msg2"
ok "decrypt with r-crypt after restart" "$CLI" decrypt -k r-crypt -i "$D/ct1" -o "$D/pt1b"
check "plaintext matches after restart" cmp "$D/secret" "$D/pt1b"

# ---- DestroyKey removes both objects ----
ok "delete r-crypt" "$CLI" delete-key -k r-crypt
ok "pkcs11-tool lists the token's objects" psd_pkcs11_tool --list-objects
cp "$TESTDIR/last.out" "$D/objects.txt"
check "no object of r-crypt is left on the token" [ "$(object_count r-crypt)" = 0 ]
check "other keys are untouched" [ "$(object_count r-pkcs1)" = 2 ]
fails "r-crypt is gone from the service" "$CLI" decrypt -k r-crypt -i "$D/ct1" -o "$D/pt1c"

check "the PIN never appears in parsecd's log" sh -c "! grep -qF '$PSD_PKCS11_PIN' '$TESTDIR/parsecd.log'"
ok "parsecd stops" psd_stop

# ---- start-up errors ----
# A parsecd that must refuse to start: non-zero exit, not a crash, not a hang.
start_refused() { # conf -> runs parsecd, output in $TESTDIR/last.out
    local rc
    timeout 30 "$PARSECD" -c "$1" -f
    rc=$?
    [ "$rc" = 124 ] && { echo "parsecd did not exit (still running after 30 s)"; return 0; }
    [ "$rc" -ge 128 ] && { echo "parsecd died with signal $((rc - 128))"; return 0; }
    return "$rc"
}
make_conf() { # name, then [pkcs11] lines on stdin
    {
        sed -n '1,/^\[pkcs11\]/p' "$TESTDIR/parsecd.conf" | sed '$d' |
            sed "s|^socket_path = .*|socket_path = $TESTDIR/$1.sock|"
        echo "[pkcs11]"
        cat
    } >"$TESTDIR/$1.conf"
}
echo "0000-wrong" >"$D/wrong.pin"
make_conf wrongpin <<EOF
module = $PSD_PKCS11_MODULE
token_uri = pkcs11:token=parsec
pin_file = $D/wrong.pin
EOF
for i in 1 2 3 4 5; do
    fails "start with a wrong PIN is refused (attempt $i)" start_refused "$TESTDIR/wrongpin.conf"
    check "... with a clear wrong-PIN error (attempt $i)" last_output_has "CKR_PIN_INCORRECT"
    check "... that does not show the PIN (attempt $i)" sh -c "! grep -q 0000-wrong '$TESTDIR/last.out'"
    check "... and does not leave a socket (attempt $i)" [ ! -e "$TESTDIR/wrongpin.sock" ]
done
ok "after 5 wrong PINs the token still accepts the right PIN (not locked)" \
    pkcs11-tool --module "$PSD_PKCS11_MODULE" --token-label parsec --login --pin "$PSD_PKCS11_PIN" --list-objects
ok "pkcs11-tool shows the token's flags" pkcs11-tool --module "$PSD_PKCS11_MODULE" --list-token-slots
check "the token's flags do not say the user PIN is locked or at its final try" \
    sh -c "grep -q 'token flags *:.*PIN initialized' '$TESTDIR/last.out' &&
           ! grep -qiE 'user PIN (locked|final try)' '$TESTDIR/last.out'"

make_conf nomodule <<EOF
module = /nonexistent/libpkcs11-missing.so
token_uri = pkcs11:token=parsec
pin_file = $PSD_PKCS11_PIN_FILE
EOF
fails "start with a missing module is refused" start_refused "$TESTDIR/nomodule.conf"
check "... naming the missing module" last_output_has "/nonexistent/libpkcs11-missing.so"
check "... saying it was not found" last_output_has "not found"

make_conf notoken <<EOF
module = $PSD_PKCS11_MODULE
token_uri = pkcs11:token=no-such-token
pin_file = $PSD_PKCS11_PIN_FILE
EOF
fails "start with a token URI that matches nothing is refused" start_refused "$TESTDIR/notoken.conf"
check "... with a clear error" last_output_has "no token"

ok "parsecd starts again with the right PIN" psd_restart
ok "and its keys still work" "$CLI" sign -k e256 -i "$D/msg2" -o "$D/e256c.sig"
ok "openssl verifies that signature" \
    openssl dgst -sha256 -verify "$D/e256.pem" -signature "$D/e256c.sig" "$D/msg2"

psd_summary
exit $?
