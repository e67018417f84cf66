#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A key destroyed and created again under the same name is the new key in
# every operation, even after the old one was used (and its parsed form and
# operation contexts cached by the backend): signatures verify with the new
# public key only, ECDH gives the new key's shared secret.
# Usage: recreate.sh [BACKEND]
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
BACKEND=${1:-software}
psd_test_init
CLI=$PARSEC_CLI
T=$TESTDIR
echo "the same message, twice" >"$T/msg"
psd_start "$BACKEND" || { echo "not ok - parsecd did not start"; exit 1; }
pprov_openssl_conf
pprov_preload openssl
sw_openssl() { OPENSSL_CONF=/dev/null openssl "$@"; }
verifies() { sw_openssl dgst -sha256 -verify "$1" -signature "$2" "$T/msg" >/dev/null 2>&1; }
not_verifies() { ! verifies "$@"; }

# signing KIND NAME CREATE-ARGS...: sign, destroy, create again, sign.
signing() {
    local kind=$1 name=$2
    shift 2
    ok "$kind: create '$name'" "$CLI" "$@" -k "$name"
    ok "$kind: export its public key" "$CLI" export-public-key -k "$name" -o "$T/$name.1.pem"
    ok "$kind: sign (the key is now in use)" "$CLI" sign -k "$name" -i "$T/msg" -o "$T/$name.1.sig"
    ok "$kind: sign again (from what the backend kept)" "$CLI" sign -k "$name" -i "$T/msg" -o "$T/$name.1b.sig"
    check "$kind: the signature verifies with its public key" verifies "$T/$name.1.pem" "$T/$name.1b.sig"
    ok "$kind: destroy '$name'" "$CLI" delete-key -k "$name"
    ok "$kind: create '$name' again" "$CLI" "$@" -k "$name"
    ok "$kind: export the new public key" "$CLI" export-public-key -k "$name" -o "$T/$name.2.pem"
    check "$kind: the new key is another key" differ "$T/$name.1.pem" "$T/$name.2.pem"
    ok "$kind: sign with the new key" "$CLI" sign -k "$name" -i "$T/msg" -o "$T/$name.2.sig"
    check "$kind: the signature verifies with the new public key" verifies "$T/$name.2.pem" "$T/$name.2.sig"
    check "$kind: and not with the destroyed key's" not_verifies "$T/$name.1.pem" "$T/$name.2.sig"
    ok "$kind: the service verifies it too" "$CLI" verify -k "$name" -i "$T/msg" -s "$T/$name.2.sig"
    fails "$kind: the service refuses the destroyed key's signature" \
        "$CLI" verify -k "$name" -i "$T/msg" -s "$T/$name.1.sig"
}
signing "ECDSA P-256" ec create-ecc-key -c 256 --hash any
signing "RSA-2048 PKCS#1 v1.5" rsa create-rsa-key -b 2048 --sign-pkcs1 --hash any

# ECDH through the provider: the service's secret equals the software side's
# with the public key exported at that moment.
ok "ECDH: a software peer key" sw_openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/peer.key"
ok "ECDH: its public key" sw_openssl pkey -in "$T/peer.key" -pubout -out "$T/peer.pub"
# derive ROUND: shared secret from both sides, into $T/dh.ROUND.{srv,sw}.
derive() {
    "$CLI" export-public-key -k dh -o "$T/dh.$1.pem" &&
        openssl pkeyutl -derive -inkey parsec:dh -peerkey "$T/peer.pub" -out "$T/dh.$1.srv" &&
        sw_openssl pkeyutl -derive -inkey "$T/peer.key" -peerkey "$T/dh.$1.pem" -out "$T/dh.$1.sw" &&
        cmp "$T/dh.$1.srv" "$T/dh.$1.sw"
}
ok "ECDH: create 'dh'" "$CLI" create-ecc-key -k dh -c 256 --ecdh
ok "ECDH: the service's secret is the software side's" derive 1
ok "ECDH: and again (from what the backend kept)" derive 1b
ok "ECDH: destroy 'dh'" "$CLI" delete-key -k dh
ok "ECDH: create 'dh' again" "$CLI" create-ecc-key -k dh -c 256 --ecdh
ok "ECDH: the service's secret is the new key's" derive 2
check "ECDH: not the destroyed key's" differ "$T/dh.1.srv" "$T/dh.2.srv"

psd_finish
exit $?
