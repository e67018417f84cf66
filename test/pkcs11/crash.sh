#!/bin/bash
# Crash consistency on the token: parsecd is SIGKILLed again and again in the
# middle of bursts of key creations and destructions on SoftHSM2. Afterwards
# every listed key is usable, and the token holds no key object that the
# key store does not list. Then objects no store row names (as an older
# parsecd's crash left them) are reported, and removed with remove_orphans.
set -u
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
CLI=$PARSEC_CLI
ROUNDS=${CRASH_ROUNDS:-8}
WORKERS=3

psd_test_init
for tool in pkcs11-tool softhsm2-util sqlite3; do
    command -v "$tool" >/dev/null || { echo "not ok - $tool is installed"; echo "0 passed, 1 failed"; exit 1; }
done
psd_start pkcs11 || { echo "not ok - parsecd starts with the pkcs11 backend"; echo "0 passed, 1 failed"; exit 1; }
echo "message" >"$TESTDIR/msg"

# One client: creates keys and destroys every other one, until killed.
burst() {
    local tag=$1 i=0
    while :; do
        i=$((i + 1))
        "$CLI" -t 10000 create-ecc-key -k "$tag-$i" >/dev/null 2>&1
        [ $((i % 2)) = 0 ] && "$CLI" -t 10000 delete-key -k "$tag-$((i - 1))" >/dev/null 2>&1
    done
}

# Labels of the token's key objects, one per line (pkcs11-tool's listing).
token_labels() {
    psd_pkcs11_tool --list-objects 2>/dev/null | sed -n 's/^ *label: *//p' | sort
}
token_key_objects() {
    psd_pkcs11_tool --list-objects 2>/dev/null | grep -c "Key Object"
}

for round in $(seq "$ROUNDS"); do
    pids=""
    for w in $(seq "$WORKERS"); do
        burst "r$round-w$w" &
        pids="$pids $!"
        psd_track_pid "$!"
    done
    # Kill somewhere inside the burst (each create takes a few ms on SoftHSM2).
    sleep "0.$((3 + RANDOM % 7))"
    psd_kill9
    for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    psd_restart || { echo "not ok - parsecd restarts after SIGKILL round $round"; break; }
done
check "parsecd restarted after every SIGKILL" kill -0 "$PSD_PID"
grep -E "recovery:|pkcs11: (removed|token)" "$TESTDIR/parsecd.log" | sed 's/^/# /' | tail -n 20

ok "list-keys after $ROUNDS crashes" "$CLI" list-keys
sed -n 's/^\* //p' "$TESTDIR/last.out" | sort >"$TESTDIR/listed"
nkeys=$(wc -l <"$TESTDIR/listed")
echo "# $nkeys keys listed"
check "the bursts left keys behind" [ "$nkeys" -gt 0 ]
unusable=0
while read -r name; do
    "$CLI" sign -k "$name" -i "$TESTDIR/msg" -o "$TESTDIR/sig" >"$TESTDIR/sign.out" 2>&1 ||
        { unusable=$((unusable + 1)); echo "# '$name' cannot sign: $(cat "$TESTDIR/sign.out")"; }
done <"$TESTDIR/listed"
check "every listed key signs" [ "$unusable" = 0 ]
token_labels >"$TESTDIR/labels"
check "the token holds exactly two objects per listed key" [ "$(token_key_objects)" = $((2 * nkeys)) ]
check "every token object belongs to a listed key" \
    sh -c "sort -u '$TESTDIR/labels' | comm -23 - '$TESTDIR/listed' | grep -q . && exit 1 || exit 0"

# -- objects no row names: reported, then removed on request --
ok "create a key to orphan" "$CLI" create-ecc-key -k orphan
psd_stop
sqlite3 "$TESTDIR/keys.sqlite3" "DELETE FROM keys WHERE key_name = 'orphan'"
ok "restart with a store that forgot the key" psd_restart
check "parsecd reports the token's objects without a row" \
    grep -q "holds objects of key id [0-9]* that the key store does not record" "$TESTDIR/parsecd.log"
check "  ... and names the setting that removes them" grep -q "remove_orphans = true" "$TESTDIR/parsecd.log"
check "  ... but leaves them alone by default" sh -c "$(declare -f psd_pkcs11_tool token_labels); token_labels | grep -qx orphan"
psd_stop
conf_set remove_orphans true pkcs11
ok "restart with remove_orphans = true" psd_restart
check "parsecd removed them" grep -q "removed 2 objects of key id" "$TESTDIR/parsecd.log"
check "  ... they are gone from the token" sh -c "$(declare -f psd_pkcs11_tool token_labels); ! token_labels | grep -qx orphan"
ok "the other keys still list" "$CLI" list-keys
check "  ... all of them" [ "$(grep -c '^\* ' "$TESTDIR/last.out")" = "$nkeys" ]

psd_finish
exit $?
