#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# NSS with keys held by the Parsec service through libparsec-pkcs11.so: the
# module added to a test NSS database with modutil; a certificate stored next
# to its key on the token (C_CreateObject through pkcs11-tool); certutil
# lists the token, the certificate (as a user certificate: NSS found its
# private key) and the keys, and signs a certificate request with the key;
# NSS stores and deletes a certificate on the token itself.
#   nss.sh [software|pkcs11|tpm|softhsm2]      (default: $TEST_BACKEND)
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/p11apps/p11apps-lib.sh"
p11apps_need certutil libnss3-tools
p11apps_need modutil libnss3-tools
p11apps_need certtool gnutls-bin
p11apps_setup "${1:-}"
T=$TESTDIR
DB=sql:$T/nss
# NSS asks for the token's PIN only when the token says it needs a login (SoftHSM2).
(umask 077 && echo "$P11APPS_PIN" >"$T/token.pin")

ok "ECDSA P-256 key nss-ec-key" p11apps_keygen ec nss-ec-key
ok "RSA-2048 key nss-rsa-key" p11apps_keygen rsa nss-rsa-key
KEY_ID=$(p11apps_key_id nss-ec-key)
check "nss-ec-key has a CKA_ID" [ -n "$KEY_ID" ]

# ---- the certificate, kept on the token next to its key ----------------------------------
ok "self-signed certificate for nss-ec-key" p11apps_self_signed nss-ec-key "parsec nss test"
ok "pkcs11-tool --write-object stores it on the token (CKA_ID $KEY_ID)" p11apps_tool --write-object \
    "$T/nss-ec-key.crt.der" --type cert --label nss-ec-key --id "$KEY_ID"
ok "pkcs11-tool lists the certificate" p11apps_tool --list-objects --type cert
check "... with the key's label" last_output_has "label:[[:space:]]*nss-ec-key"

# ---- modutil ------------------------------------------------------------------------------
mkdir -p "$T/nss"
ok "certutil -N: an empty NSS database" certutil -N -d "$DB" --empty-password
ok "modutil -add the module" modutil -dbdir "$DB" -add "Parsec" -libfile "$P11APPS_MODULE" -force
check "... added" last_output_has 'Module "Parsec" added to database'
ok "modutil -list Parsec" modutil -dbdir "$DB" -list Parsec
check "... the module is loaded" last_output_has "Status: Enabled"
check "... its token is '$P11APPS_TOKEN'" last_output_has "Token Name: $P11APPS_TOKEN *$"

# ---- certutil ---------------------------------------------------------------------------------
ok "certutil -L -h all" certutil -L -d "$DB" -h all -f "$T/token.pin"
cp "$T/last.out" "$T/certs.out"
check "certutil lists the stored certificate as $P11APPS_TOKEN:nss-ec-key" \
    grep -q "^$P11APPS_TOKEN:nss-ec-key[[:space:]]" "$T/certs.out"
check "... with its private key found (trust u,u,u)" grep -q "^$P11APPS_TOKEN:nss-ec-key[[:space:]]*u,u,u" "$T/certs.out"
ok "certutil -L -n shows the certificate" certutil -L -d "$DB" -h "$P11APPS_TOKEN" -f "$T/token.pin" \
    -n "$P11APPS_TOKEN:nss-ec-key" -a
sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$T/last.out" >"$T/from-nss.crt.pem"
check "... the same certificate that was stored" sh -c \
    "[ \"\$(openssl x509 -in '$T/from-nss.crt.pem' -outform DER | od -An -tx1)\" = \"\$(od -An -tx1 '$T/nss-ec-key.crt.der')\" ]"
ok "certutil -K -h token lists the keys" certutil -K -d "$DB" -h "$P11APPS_TOKEN" -f "$T/token.pin"
check "... the EC key" last_output_has "ec .*nss-ec-key"
check "... the RSA key" last_output_has "rsa .*nss-rsa-key"

# A certificate request NSS signs with the token's key (chosen by its CKA_ID).
ok "certutil -R signs a request with nss-ec-key" certutil -R -d "$DB" -h "$P11APPS_TOKEN" -f "$T/token.pin" \
    -k "0x$KEY_ID" -s "CN=parsec nss request" -o "$T/req.der"
ok "the request's signature verifies (openssl)" openssl req -inform DER -in "$T/req.der" -verify -noout
openssl req -inform DER -in "$T/req.der" -noout -pubkey >"$T/req.pub.pem" 2>/dev/null
check "... it carries the service's key" p11apps_same_pub "$T/req.pub.pem" "$T/nss-ec-key.pub.pem"

# NSS storing a certificate itself (C_CreateObject with NSS's own CKA_ID) and deleting it.
ok "second certificate for nss-rsa-key" p11apps_self_signed nss-rsa-key "parsec nss second"
ok "certutil -A stores it on the token" certutil -A -d "$DB" -h "$P11APPS_TOKEN" -f "$T/token.pin" \
    -n nss-imported -t ,, -i "$T/nss-rsa-key.crt.der"
ok "certutil -L -h all" certutil -L -d "$DB" -h all -f "$T/token.pin"
check "... lists $P11APPS_TOKEN:nss-imported" last_output_has "^$P11APPS_TOKEN:nss-imported[[:space:]]"
ok "certutil -D deletes it from the token" certutil -D -d "$DB" -f "$T/token.pin" -n "$P11APPS_TOKEN:nss-imported"
ok "certutil -L -h all" certutil -L -d "$DB" -h all -f "$T/token.pin"
check "... no longer lists it" sh -c "! grep -q nss-imported '$T/last.out'"
check "... and still lists nss-ec-key" last_output_has "^$P11APPS_TOKEN:nss-ec-key[[:space:]]"

ok "modutil -delete the module" modutil -dbdir "$DB" -delete "Parsec" -force
ok "certutil -L -h all after it is gone" certutil -L -d "$DB" -h all -f "$T/token.pin"
check "... no longer lists the certificate" sh -c "! grep -q nss-ec-key '$T/last.out'"

psd_summary
exit $?
