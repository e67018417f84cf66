#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Remoting through p11-kit: `p11-kit server --provider libparsec-pkcs11.so`
# exports the module's token on a Unix socket, and pkcs11-tool signs through
# p11-kit's client module (p11-kit-client.so) on that socket; openssl verifies
# every signature with the public key the service gives. This is what a user
# forwards with `ssh -R` to reach a machine's Parsec keys from another one
# (docs/pkcs11.md, "Remote use").
#   p11kit-remote.sh [software|pkcs11|tpm|softhsm2]      (default: $TEST_BACKEND)
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/p11apps/p11apps-lib.sh"
p11apps_need p11-kit p11-kit
p11apps_need ssh-keygen openssh-client
P11KIT_CLIENT=$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)/p11-kit-client.so
[ -f "$P11KIT_CLIENT" ] || P11KIT_CLIENT=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
[ -f "$P11KIT_CLIENT" ] || p11apps_abort "p11-kit-client.so is installed (install p11-kit-modules)"
# The clients load p11-kit-client.so, not the module under test: they run without the
# ASan runtime of a sanitizer pass (p11-kit 0.24's client reads past the caller's
# buffer in C_GetMechanismList, which ASan would report as the client's error).
CLIENT_PKCS11_TOOL=$(command -v pkcs11-tool)
CLIENT_SSH_KEYGEN=$(command -v ssh-keygen)
p11apps_setup "${1:-}"
T=$TESTDIR

ok "ECDSA P-256 key remote-ec-key" p11apps_keygen ec remote-ec-key
ok "RSA-2048 key remote-rsa-key" p11apps_keygen rsa remote-rsa-key

# ---- the server --------------------------------------------------------------------
p11-kit server -f --provider "$P11APPS_MODULE" -n "$T/p11-kit.sock" "$P11APPS_URI" \
    </dev/null >"$T/p11-kit-server.log" 2>&1 &
SERVER_PID=$!
psd_track_pid "$SERVER_PID"
for _ in $(seq 100); do
    [ -S "$T/p11-kit.sock" ] || ! kill -0 "$SERVER_PID" 2>/dev/null && break
    sleep 0.1
done
check "p11-kit server listens on $T/p11-kit.sock" [ -S "$T/p11-kit.sock" ]
check "... and prints the address clients use" \
    grep -q "^P11_KIT_SERVER_ADDRESS=unix:path=$T/p11-kit.sock;" "$T/p11-kit-server.log"
export P11_KIT_SERVER_ADDRESS=unix:path=$T/p11-kit.sock

# remote_tool ARGS...: pkcs11-tool on the exported token, through p11-kit-client.so.
remote_tool() {
    if p11apps_is_reference; then
        "$CLIENT_PKCS11_TOOL" --module "$P11KIT_CLIENT" --token-label "$P11APPS_TOKEN" --login --pin "$P11APPS_PIN" "$@"
    else
        "$CLIENT_PKCS11_TOOL" --module "$P11KIT_CLIENT" --token-label "$P11APPS_TOKEN" "$@"
    fi
}

ok "pkcs11-tool -L through p11-kit-client.so" "$CLIENT_PKCS11_TOOL" --module "$P11KIT_CLIENT" --list-token-slots
check "... shows the exported token '$P11APPS_TOKEN'" last_output_has "token label *: $P11APPS_TOKEN\$"
ok "pkcs11-tool --list-objects through the socket" remote_tool --list-objects
check "... lists remote-ec-key" last_output_has "label:[[:space:]]*remote-ec-key"
check "... lists remote-rsa-key" last_output_has "label:[[:space:]]*remote-rsa-key"

# What a user on the other end of a forwarded socket does first (docs/pkcs11.md).
ok "ssh-keygen -D p11-kit-client.so prints the exported keys" "$CLIENT_SSH_KEYGEN" -D "$P11KIT_CLIENT"
ssh-keygen -i -m PKCS8 -f "$T/remote-ec-key.pub.pem" >"$T/remote-ec-key.ssh.pub" 2>/dev/null
check "... among them remote-ec-key" last_output_has "$(cut -d' ' -f1-2 "$T/remote-ec-key.ssh.pub")"

# ---- signatures through the socket, verified by openssl ------------------------------------
head -c 3000 /dev/urandom >"$T/data.bin"
openssl dgst -sha256 -binary "$T/data.bin" >"$T/data.sha256"
openssl dgst -sha384 -binary "$T/data.bin" >"$T/data.sha384"

# pkcs11-tool 0.23 picks the signing key by --id only (with --label alone: the first key).
EC_ID=$(p11apps_key_id remote-ec-key)
RSA_ID=$(p11apps_key_id remote-rsa-key)
# shellcheck disable=SC2016 # $1 and $2 are the inner shell's arguments
check "both keys have a CKA_ID" sh -c '[ -n "$1" ] && [ -n "$2" ]' sh "$EC_ID" "$RSA_ID"

ok "ECDSA (CKM_ECDSA) on a SHA-256 hash" remote_tool --sign -m ECDSA --id "$EC_ID" \
    --signature-format openssl -i "$T/data.sha256" -o "$T/ecdsa.sig"
ok "... verifies (openssl pkeyutl)" openssl pkeyutl -verify -pubin -inkey "$T/remote-ec-key.pub.pem" \
    -in "$T/data.sha256" -sigfile "$T/ecdsa.sig"
ok "SHA256-RSA-PKCS (multi-part, hashed by the module)" remote_tool --sign -m SHA256-RSA-PKCS --id "$RSA_ID" \
    -i "$T/data.bin" -o "$T/rsa-sha256.sig"
ok "... verifies (openssl dgst)" openssl dgst -sha256 -verify "$T/remote-rsa-key.pub.pem" \
    -signature "$T/rsa-sha256.sig" "$T/data.bin"
# CKM_RSA_PKCS signs what it is given: here a SHA-384 DigestInfo (RFC 8017, 9.2, note 1).
printf '\x30\x41\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x02\x05\x00\x04\x30' |
    cat - "$T/data.sha384" >"$T/data.di384"
ok "RSA-PKCS on a SHA-384 DigestInfo" remote_tool --sign -m RSA-PKCS --id "$RSA_ID" \
    -i "$T/data.di384" -o "$T/rsa-pkcs.sig"
ok "... verifies (openssl dgst -sha384)" openssl dgst -sha384 -verify "$T/remote-rsa-key.pub.pem" \
    -signature "$T/rsa-pkcs.sig" "$T/data.bin"
# p11-kit 0.24's RPC carries only mechanisms it knows the parameters of: of the
# module's, not CKM_ECDSA_SHA*, the CKM_SHA*_RSA_PKCS_PSS family nor CKM_ECDH1_DERIVE
# (pkcs11-tool -M through the client shows what it carries).
ok "pkcs11-tool -M through the socket" remote_tool --list-mechanisms
cp "$T/last.out" "$T/remote-mechs.out"
check "... carries RSA-PKCS, SHA256-RSA-PKCS and ECDSA" sh -c \
    "grep -q '^ *RSA-PKCS,' '$T/remote-mechs.out' && grep -q '^ *SHA256-RSA-PKCS,' '$T/remote-mechs.out' && grep -q '^ *ECDSA,' '$T/remote-mechs.out'"
if p11apps_is_reference; then
    # SoftHSM2's keys carry no policy to refuse PSS with.
    echo "# reference run: the policy refusal runs on the Parsec module only"
else
    # The key's Parsec policy is PKCS#1 v1.5: PSS is refused before anything is signed, as
    # not permitted for the key when the token offers PSS, as no such mechanism when not.
    want=CKR_MECHANISM_INVALID
    grep -q '^ *RSA-PKCS-PSS,' "$T/remote-mechs.out" && want=CKR_KEY_FUNCTION_NOT_PERMITTED
    fails "an RSA key made for PKCS#1 v1.5 refuses PSS" remote_tool --sign -m RSA-PKCS-PSS \
        --hash-algorithm SHA256 --mgf MGF1-SHA256 --id "$RSA_ID" -i "$T/data.sha256" -o "$T/rsa-pss.sig"
    check "... with $want" last_output_has "$want"
    check "... and wrote no signature" [ ! -s "$T/rsa-pss.sig" ]
fi

if ! p11apps_is_reference; then
    # p11-kit server keeps the module loaded while the service restarts under it.
    ok "parsecd restarts under the running p11-kit server" psd_restart
    ok "ECDSA through the socket after the restart" remote_tool --sign -m ECDSA --id "$EC_ID" \
        --signature-format openssl -i "$T/data.sha256" -o "$T/ecdsa-after.sig"
    ok "... verifies (openssl pkeyutl)" openssl pkeyutl -verify -pubin -inkey "$T/remote-ec-key.pub.pem" \
        -in "$T/data.sha256" -sigfile "$T/ecdsa-after.sig"
fi

# The server serves one client after another: a second client, then the server stops.
ok "a second client lists the token" "$CLIENT_PKCS11_TOOL" --module "$P11KIT_CLIENT" --list-token-slots
check "p11-kit server is still running" kill -0 "$SERVER_PID"
psd_stop_pid "$SERVER_PID"
fails "with the server stopped the client sees no token" remote_tool --list-objects

psd_summary
exit $?
