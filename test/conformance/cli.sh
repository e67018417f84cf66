#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsec-cli as a person uses it, against a real parsecd: parsec-tool's
# defaults, results checked with the openssl command, error messages and
# exit codes (0 ok, 1 service error, 2 usage, 3 service unreachable).
# shellcheck shell=bash
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
CLI=$PARSEC_CLI
cd "$TESTDIR" || exit 1

# exits_with CODE cmd...: the command's exit status is exactly CODE.
exits_with() {
    local want=$1 rc
    shift
    "$@" >"$TESTDIR/ew.out" 2>"$TESTDIR/ew.err"
    rc=$?
    [ "$rc" = "$want" ] || { echo "# exit $rc, expected $want: $*"; sed 's/^/#   /' "$TESTDIR/ew.err"; }
    [ "$rc" = "$want" ]
}
# check_exit "desc" CODE cmd...
check_exit() {
    local desc=$1
    shift
    exits_with "$@"
    check "$desc" [ $? = 0 ]
}

[ -x "$CLI" ] || { check "parsec-cli is built ($CLI)" false; psd_summary; exit 1; }

# ---- without a service
PARSEC_SERVICE_ENDPOINT="unix:$TESTDIR/nothing.sock" \
    check_exit "no service: exit 3" 3 "$CLI" ping
check "no service: message names the operation and the status" \
    grep -q "^parsec-cli: ping: .*(ClientConnectFailed)$" "$TESTDIR/ew.err"
check_exit "no command: exit 2" 2 "$CLI"
check_exit "unknown command: exit 2" 2 "$CLI" frobnicate
check_exit "missing -k: exit 2" 2 "$CLI" create-rsa-key
check_exit "bad endpoint URI: exit 2" 2 "$CLI" -e tcp://127.0.0.1:1 ping
check_exit "bad provider ID: exit 2" 2 "$CLI" -p 9 ping
check_exit "bad auth type: exit 2" 2 "$CLI" -a jwt ping
ok "--help" "$CLI" --help

# ---- unix peer credentials, this user an administrator
export PSD_AUTH=unix-peer-credentials PSD_ADMINS
PSD_ADMINS=$(id -u)
psd_start || { check "parsecd starts" false; psd_summary; exit 1; }

ok "ping" "$CLI" ping
check "ping prints the wire protocol version" last_output_has "version: 1.0"
ok "list-providers" "$CLI" list-providers
check "list-providers: the software provider first" \
    sh -c "grep '^ID:' '$TESTDIR/last.out' | head -n1 | grep -q 0x01"
check "list-providers: Core last" sh -c "grep '^ID:' '$TESTDIR/last.out' | tail -n1 | grep -q 0x00"
ok "list-authenticators" "$CLI" list-authenticators
check "list-authenticators: unix peer credentials" last_output_has "0x03"
ok "list-opcodes of the default provider" "$CLI" list-opcodes
check "list-opcodes lists PsaSignHash" last_output_has "PsaSignHash"
ok "list-opcodes -p 0" "$CLI" list-opcodes -p 0
check "Core lists ListKeys" last_output_has "ListKeys"
ok "list-keys with no keys" "$CLI" list-keys
check "list-keys says there are none" last_output_has "No keys"

printf 'the quick brown fox\n' >msg
printf 'the quick brown fix\n' >msg.bad

ok "create-ecc-key (default: P-256 ECDSA SHA-256)" "$CLI" create-ecc-key -k ec256
ok "create-ecc-key -c 384" "$CLI" create-ecc-key -k ec384 -c 384
ok "create-ecc-key -c 521" "$CLI" create-ecc-key -k ec521 -c 521
ok "create-rsa-key --sign-pkcs1" "$CLI" create-rsa-key -k rsa-pkcs1 --sign-pkcs1
ok "create-rsa-key --sign-pss" "$CLI" create-rsa-key -k rsa-pss --sign-pss
ok "create-rsa-key (default: PKCS#1 v1.5 encryption)" "$CLI" create-rsa-key -k rsa-crypt
ok "create-rsa-key --oaep" "$CLI" create-rsa-key -k rsa-oaep --oaep
check_exit "creating an existing key fails with exit 1" 1 "$CLI" create-ecc-key -k ec256
check "... and says PsaErrorAlreadyExists" grep -q "(PsaErrorAlreadyExists)$" "$TESTDIR/ew.err"

ok "list-keys" "$CLI" list-keys
for k in ec256 ec384 ec521 rsa-pkcs1 rsa-pss rsa-crypt rsa-oaep; do
    check "list-keys shows $k" last_output_has "* $k"
done
check "list-keys shows the default RSA key's policy" last_output_has "RsaPkcs1v15Crypt"

for k in ec256 ec384 ec521 rsa-pkcs1 rsa-pss rsa-crypt rsa-oaep; do
    ok "export-public-key $k" "$CLI" export-public-key -k "$k" -o "$k.pem"
    ok "openssl reads $k.pem as a SubjectPublicKeyInfo" openssl pkey -pubin -in "$k.pem" -noout
done
ok "export-public-key to stdout" "$CLI" export-public-key -k ec256
check "stdout holds a PEM public key" last_output_has "BEGIN PUBLIC KEY"

# Signatures verified by openssl with the exported public keys.
for spec in ec256:sha256 ec384:sha384 ec521:sha512 rsa-pkcs1:sha256; do
    k=${spec%%:*} md=${spec#*:}
    ok "sign with $k" "$CLI" sign -k "$k" -i msg -o "$k.sig"
    ok "openssl dgst -$md verifies the $k signature" \
        openssl dgst "-$md" -verify "$k.pem" -signature "$k.sig" msg
    ok "parsec-cli verify accepts the $k signature" "$CLI" verify -k "$k" -i msg -s "$k.sig"
    check "parsec-cli verify rejects another message ($k): exit 1" \
        exits_with 1 "$CLI" verify -k "$k" -i msg.bad -s "$k.sig"
    check "... with PsaErrorInvalidSignature" grep -q "(PsaErrorInvalidSignature)$" "$TESTDIR/ew.err"
done
ok "sign with rsa-pss" "$CLI" sign -k rsa-pss -i msg -o rsa-pss.sig
ok "openssl verifies the RSA-PSS signature (salt = digest length)" \
    openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
    -verify rsa-pss.pem -signature rsa-pss.sig msg
ok "a signature by another ECDSA key is rejected by the service" sh -c \
    "openssl ecparam -name prime256v1 -genkey -noout -out other.key 2>/dev/null &&
     openssl dgst -sha256 -sign other.key -out other.sig msg &&
     ! '$CLI' verify -k ec256 -i msg -s other.sig >/dev/null 2>&1"
ok "sign without -o prints base64" "$CLI" sign -k ec256 -i msg
check "the base64 decodes to a DER signature" \
    sh -c "base64 -d '$TESTDIR/last.out' | openssl asn1parse -inform DER >/dev/null"
check_exit "signing with an encryption key is refused" 2 "$CLI" sign -k rsa-crypt -i msg

# Encryption: openssl encrypts with the exported key, the service decrypts, and back.
ok "openssl encrypts to rsa-crypt (PKCS#1 v1.5)" \
    openssl pkeyutl -encrypt -pubin -inkey rsa-crypt.pem -in msg -out msg.v15
ok "decrypt" "$CLI" decrypt -k rsa-crypt -i msg.v15 -o msg.v15.out
check "decrypt recovers the message" cmp -s msg msg.v15.out
ok "openssl encrypts to rsa-oaep (OAEP SHA-256)" \
    openssl pkeyutl -encrypt -pubin -inkey rsa-oaep.pem -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in msg -out msg.oaep
ok "decrypt OAEP" "$CLI" decrypt -k rsa-oaep -i msg.oaep -o msg.oaep.out
check "decrypt OAEP recovers the message" cmp -s msg msg.oaep.out
ok "encrypt" "$CLI" encrypt -k rsa-oaep -i msg -o msg.enc
ok "decrypt what encrypt produced" "$CLI" decrypt -k rsa-oaep -i msg.enc -o msg.enc.out
check "round trip through the service" cmp -s msg msg.enc.out
check_exit "decrypting garbage fails with exit 1" 1 "$CLI" decrypt -k rsa-crypt -i msg

ok "generate-random -n 32" "$CLI" generate-random -n 32
check "64 hex digits" grep -Eqx '[0-9a-f]{64}' "$TESTDIR/last.out"
ok "generate-random -n 16 -o FILE" "$CLI" generate-random -n 16 -o rnd.bin
check "16 bytes written" [ "$(stat -c %s rnd.bin)" = 16 ]

ok "list-clients (administrator)" "$CLI" list-clients
check "list-clients shows this uid" grep -qx "$(id -u)" "$TESTDIR/last.out"
ok "delete-client of a client without keys" "$CLI" delete-client -c nobody

ok "delete-key" "$CLI" delete-key -k ec521
check_exit "deleting it again: exit 1" 1 "$CLI" delete-key -k ec521
check "... with PsaErrorDoesNotExist" grep -q "^parsec-cli: delete-key: .*(PsaErrorDoesNotExist)$" "$TESTDIR/ew.err"
check_exit "signing with a deleted key: exit 1" 1 "$CLI" sign -k ec521 -i msg -o x.sig
check_exit "forcing the wrong authenticator: exit 1" 1 "$CLI" -a direct list-keys
check "... with AuthenticatorNotRegistered" grep -q "(AuthenticatorNotRegistered)$" "$TESTDIR/ew.err"
psd_stop

# ---- direct authentication: the application name is the identity
export PSD_AUTH=direct PSD_ADMINS=admin-app
rm -f "$TESTDIR/parsec.sock"
psd_start || { check "parsecd starts (direct)" false; psd_summary; exit 1; }
ok "direct: app-a creates a key" "$CLI" --app app-a create-ecc-key -k shared-name
ok "direct: app-b creates a key with the same name" "$CLI" --app app-b create-ecc-key -k shared-name
ok "direct: app-a lists its keys" "$CLI" --app app-a list-keys
check "app-a sees its key" last_output_has "* shared-name"
ok "direct: app-c lists its keys" "$CLI" --app app-c list-keys
check "app-c sees none" last_output_has "No keys"
ok "direct: app-a signs" "$CLI" --app app-a sign -k shared-name -i msg -o a.sig
ok "direct: app-b exports its public key" "$CLI" --app app-b export-public-key -k shared-name -o b.pem
check "app-b's key does not verify app-a's signature" \
    sh -c "! openssl dgst -sha256 -verify b.pem -signature a.sig msg >/dev/null 2>&1"
check_exit "non-administrator list-clients: exit 1" 1 "$CLI" --app app-a list-clients
check "... with AdminOperation" grep -q "(AdminOperation)$" "$TESTDIR/ew.err"
ok "administrator list-clients" "$CLI" --app admin-app list-clients
check "lists app-a" grep -qx app-a "$TESTDIR/last.out"
check "lists app-b" grep -qx app-b "$TESTDIR/last.out"
ok "administrator deletes app-b" "$CLI" --app admin-app delete-client -c app-b
ok "app-b lists its keys" "$CLI" --app app-b list-keys
check "app-b's keys are gone" last_output_has "No keys"
ok "app-a's key is still there" "$CLI" --app app-a export-public-key -k shared-name

psd_summary
exit $?
