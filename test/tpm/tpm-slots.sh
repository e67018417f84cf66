#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsecd on a swtpm: 200 keys, each used once, far more keys than the TPM's
# three object slots; signing from several clients at once.
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
CLI=$PARSEC_CLI
N=200

ok "parsecd starts with the TPM backend" psd_start tpm || { psd_summary; exit 1; }

created=0
for i in $(seq $N); do
    # One key in ten is RSA (slower to create, bigger objects), the rest ECC.
    if [ $((i % 10)) = 0 ]; then
        "$CLI" create-rsa-key -k "key$i" --sign-pkcs1 >/dev/null 2>>"$TESTDIR/cli.err"
    else
        "$CLI" create-ecc-key -k "key$i" >/dev/null 2>>"$TESTDIR/cli.err"
    fi && created=$((created + 1))
done
check "$N keys created" [ "$created" = "$N" ]
check "list-keys shows $N keys" [ "$("$CLI" list-keys | grep -c '^\* key')" = "$N" ]

# Each key signs once; four clients at a time, in an order no cache can follow.
sign_range() {
    local from=$1 step=$2 i
    for ((i = from; i <= N; i += step)); do
        echo "message $i" >"$TESTDIR/msg$i"
        "$CLI" sign -k "key$i" -i "$TESTDIR/msg$i" -o "$TESTDIR/sig$i" 2>>"$TESTDIR/cli.err" &&
            "$CLI" export-public-key -k "key$i" -o "$TESTDIR/pub$i.pem" 2>>"$TESTDIR/cli.err"
    done
}
workers=""
for w in 1 2 3 4; do
    sign_range "$w" 4 &
    workers="$workers $!"
done
# Only the workers: a bare `wait` would also wait for parsecd.
# shellcheck disable=SC2086 # workers is a list of PIDs
wait $workers

verified=0
for i in $(seq $N); do
    [ -s "$TESTDIR/sig$i" ] &&
        openssl dgst -sha256 -verify "$TESTDIR/pub$i.pem" -signature "$TESTDIR/sig$i" \
            "$TESTDIR/msg$i" >/dev/null 2>&1 && verified=$((verified + 1))
done
check "each of the $N keys signed once and openssl verifies all $N signatures" [ "$verified" = "$N" ]
[ -s "$TESTDIR/cli.err" ] && sed 's/^/# cli: /' "$TESTDIR/cli.err" | head -n 10
check "the TPM never ran out of object slots" [ "$(grep -ci 'memory for object' "$TESTDIR/parsecd.log")" = 0 ]

# Keys used again after all that, in reverse order, still work.
again=0
for i in 199 150 101 52 3; do
    "$CLI" sign -k "key$i" -i "$TESTDIR/msg$i" -o "$TESTDIR/again$i" >/dev/null 2>&1 &&
        openssl dgst -sha256 -verify "$TESTDIR/pub$i.pem" -signature "$TESTDIR/again$i" \
            "$TESTDIR/msg$i" >/dev/null 2>&1 && again=$((again + 1))
done
check "keys signed long ago sign again" [ "$again" = 5 ]

deleted=0
for i in $(seq $N); do
    "$CLI" delete-key -k "key$i" >/dev/null 2>&1 && deleted=$((deleted + 1))
done
check "all $N keys deleted" [ "$deleted" = "$N" ]
check "no key left" [ "$("$CLI" list-keys | grep -c '^\* key')" = 0 ]

psd_summary
exit $?
