#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Crash consistency on the token: parsecd is SIGKILLed again and again in the
# middle of bursts of key creations and destructions on SoftHSM2. Afterwards
# every listed key is usable and every token object with an ID belongs to a
# listed key. Objects no store row names (as an older parsecd's crash left
# them) and SoftHSM2's half-written objects (no ID, no label) are reported,
# and removed with remove_orphans = true: then the token holds exactly the
# listed keys' objects.
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

# The token's objects as pkcs11-tool lists them: "ID LABEL" for those with an ID.
token_objects() { psd_pkcs11_tool --list-objects 2>/dev/null >"$TESTDIR/objects.txt"; }
objects_with_id() { awk '/Object;|^Data object/ {l = ""} /^ *label:/ {l = $2} /^ *ID:/ {print $2, l}' "$TESTDIR/objects.txt"; }
all_objects() { grep -Ec 'Object;|^Data object' "$TESTDIR/objects.txt"; }
label_listed() { grep -qx -- "$1" "$TESTDIR/listed"; }

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
token_objects
objects_with_id | sort >"$TESTDIR/ids"
check "the token holds exactly two objects with an ID per listed key" [ "$(wc -l <"$TESTDIR/ids")" = $((2 * nkeys)) ]
strays=0
while read -r _ label; do label_listed "$label" || strays=$((strays + 1)); done <"$TESTDIR/ids"
check "every token object with an ID belongs to a listed key" [ "$strays" = 0 ]
check "no crash left objects of a key without a row" sh -c "! grep -q 'does not record' '$TESTDIR/parsecd.log'"
blank=$(( $(all_objects) - 2 * nkeys ))
echo "# $blank objects with neither ID nor label (SoftHSM2 writes attributes after the object)"
[ "$blank" -gt 0 ] && check "  ... parsecd reported them" grep -q "objects with neither ID nor label" "$TESTDIR/parsecd.log"

# -- objects no row names: reported, then removed on request --
ok "create a key to orphan" "$CLI" create-ecc-key -k orphan
psd_stop
sqlite3 "$TESTDIR/keys.sqlite3" "DELETE FROM keys WHERE key_name = 'orphan'"
ok "restart with a store that forgot the key" psd_restart
check "parsecd reports the token's objects without a row" \
    grep -q "holds objects of key id [0-9]* that the key store does not record" "$TESTDIR/parsecd.log"
check "  ... and names the setting that removes them" grep -q "remove_orphans = true" "$TESTDIR/parsecd.log"
token_objects
check "  ... but leaves them alone by default" sh -c "awk '/^ *label:/ {print \$2}' '$TESTDIR/objects.txt' | grep -qx orphan"
psd_stop
conf_set remove_orphans true pkcs11
ok "restart with remove_orphans = true" psd_restart
check "parsecd removed the orphan's objects" grep -q "removed 2 objects of key id" "$TESTDIR/parsecd.log"
token_objects
check "  ... they are gone from the token" sh -c "! awk '/^ *label:/ {print \$2}' '$TESTDIR/objects.txt' | grep -qx orphan"
check "the token now holds only the listed keys' objects" [ "$(all_objects)" = $((2 * nkeys)) ]
ok "the other keys still list" "$CLI" list-keys
check "  ... all of them" [ "$(grep -c '^\* ' "$TESTDIR/last.out")" = "$nkeys" ]

psd_finish
exit $?
