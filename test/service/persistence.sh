#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Keys survive a clean restart and a SIGKILL; a destroyed key stays destroyed.
# Usage: persistence.sh [BACKEND]
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
BACKEND=${1:-software}
psd_test_init
CLI=$PARSEC_CLI
echo "persistent message" >"$TESTDIR/msg"
psd_start "$BACKEND" || { echo "not ok - parsecd did not start"; exit 1; }

ok "create an ECDSA P-256 key" "$CLI" create-ecc-key -k ec
ok "create an RSA PKCS#1 signing key" "$CLI" create-rsa-key -k rsa --sign-pkcs1
ok "create a key to destroy later" "$CLI" create-ecc-key -k doomed
ok "export ec" "$CLI" export-public-key -k ec -o "$TESTDIR/ec.pem"
ok "export rsa" "$CLI" export-public-key -k rsa -o "$TESTDIR/rsa.pem"
fails "a refused generate (unsupported size)" "$CLI" create-rsa-key -k bad -b 1000

# psd_restart over a stale socket file cannot tell when the new parsecd is
# ready (the file is already there): wait for its "listening" log line.
started() {
    local want=$1 _
    for _ in $(seq 100); do
        [ "$(grep -c "listening on" "$TESTDIR/parsecd.log")" -ge "$want" ] && return 0
        kill -0 "$PSD_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

verify_all() {
    local when=$1 name
    for name in ec rsa; do
        ok "$when: $name public key unchanged" "$CLI" export-public-key -k "$name" -o "$TESTDIR/$name.now.pem"
        check "$when: $name public key identical" cmp -s "$TESTDIR/$name.pem" "$TESTDIR/$name.now.pem"
        ok "$when: sign with $name" "$CLI" sign -k "$name" -i "$TESTDIR/msg" -o "$TESTDIR/$name.sig"
        ok "$when: OpenSSL verifies the $name signature" \
            openssl dgst -sha256 -verify "$TESTDIR/$name.pem" -signature "$TESTDIR/$name.sig" "$TESTDIR/msg"
    done
    ok "$when: list keys" "$CLI" list-keys
    check "$when: the refused key left nothing behind" not_listed bad
}

ok "restart (SIGTERM, start)" psd_restart
verify_all "after restart"
ok "destroy 'doomed'" "$CLI" delete-key -k doomed

psd_kill9
check "SIGKILL leaves the socket file behind" [ -S "$TESTDIR/parsec.sock" ]
ok "start again over the stale socket" psd_restart
check "  ... it is up" started 3
check "  ... the stale socket was noticed" grep -q "removed stale socket" "$TESTDIR/parsecd.log"
verify_all "after SIGKILL"
fails "the destroyed key stays destroyed" "$CLI" export-public-key -k doomed
ok "create a key, then SIGKILL right away" "$CLI" create-ecc-key -k late
psd_kill9
ok "start after the second SIGKILL" psd_restart
check "  ... it is up" started 4
ok "the key created just before SIGKILL is there" "$CLI" export-public-key -k late

psd_finish
exit $?
