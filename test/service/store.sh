#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The key store under hostile use: quotas and bounded answers, space given
# back, destroyed keys gone from the files, a deleted store noticed, unsafe
# file permissions refused. Usage: store.sh
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
psd_test_init
CLI=$PARSEC_CLI
STORE=$TESTDIR/keys.sqlite3
PSD_ADMINS=$(id -u)
export PSD_ADMINS

# A name of exactly N bytes: prefix, then padding.
long_name() { local p=$1 n=$2; printf '%s%s' "$p" "$(head -c $((n - ${#p})) /dev/zero | tr '\0' n)"; }

# The private scalar of a software P-256 key, read from the stopped store's
# blob (an RFC 5915 ECPrivateKey: 30 77 02 01 01 04 20 <32-byte scalar>).
ec_scalar() {
    sqlite3 "$STORE" "SELECT CASE WHEN hex(substr(blob, 1, 7)) = '30770201010420'
        THEN hex(substr(blob, 8, 32)) END FROM keys WHERE key_name = '$1'" | tr A-F a-f
}

psd_start software || { echo "not ok - parsecd did not start"; exit 1; }

# -- a destroyed key's bytes do not linger in the store or its WAL --
ok "destroy: create a key" "$CLI" create-ecc-key -k doomed
psd_stop
scalar=$(ec_scalar doomed)
check "destroy: the key's private scalar read from the store" [ ${#scalar} = 64 ]
# OpenSSL takes its fast P-256 code (nistz256) only for a key that names its curve.
named_p256() {
    local text
    text=$(OPENSSL_CONF=/dev/null openssl ec -inform DER -in "$1" -noout -text 2>&1) &&
        grep -q "ASN1 OID: prime256v1" <<<"$text" && ! grep -q "Field Type" <<<"$text"
}
sqlite3 "$STORE" "SELECT writefile('$TESTDIR/doomed.der', blob) FROM keys WHERE key_name = 'doomed'" >/dev/null
check "the stored P-256 key names its curve (no explicit parameters)" named_p256 "$TESTDIR/doomed.der"
rm -f "$TESTDIR/doomed.der"
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }
ok "destroy: sign once (the key is in use)" "$CLI" sign -k doomed -i "$STORE" -o "$TESTDIR/sig"
check "destroy: the scalar is in the store files before" in_store_files "$scalar"
ok "destroy: delete-key" "$CLI" delete-key -k doomed
check "destroy: no trace in the store or WAL while running" not_in_store_files "$scalar"
psd_kill9
check "destroy: none after a SIGKILL either" not_in_store_files "$scalar"
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }

# -- per-application key limit --
psd_stop
conf_set max_keys_per_app 5 key_store
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }
for i in 1 2 3 4 5; do ok "quota: key $i of 5" "$CLI" create-ecc-key -k "q$i"; done
fails "quota: a 6th key is refused" "$CLI" create-ecc-key -k q6
check "quota: the refusal says storage is exhausted" last_output_has PsaErrorInsufficientStorage
check "quota: parsecd names the setting" grep -q "max_keys_per_app" "$TESTDIR/parsecd.log"
ok "quota: destroy one key" "$CLI" delete-key -k q1
ok "quota: room for one more" "$CLI" create-ecc-key -k q6
ok "quota: the existing keys still sign" "$CLI" sign -k q2 -i "$STORE" -o "$TESTDIR/sig"
for i in 2 3 4 5 6; do "$CLI" delete-key -k "q$i" >/dev/null 2>&1; done

# -- ListKeys bounded by buffer_size_limit --
psd_stop
conf_set max_keys_per_app 10000 key_store
conf_set buffer_size_limit 4096 core
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }
for i in $(seq 1 30); do
    "$CLI" create-ecc-key -k "$(long_name "big$i-" 200)" >/dev/null 2>&1 || echo "# create big$i failed"
done
fails "ListKeys: 30 keys x 200-byte names do not fit 4096 bytes" "$CLI" list-keys
check "ListKeys: answered ResponseTooLarge" last_output_has ResponseTooLarge
ok "parsecd still answers" "$CLI" ping
psd_stop
conf_set buffer_size_limit 1048576 core
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }
ok "ListKeys: fits with the default limit" "$CLI" list-keys
check "ListKeys: every key listed" [ "$(grep -c '^\* big' "$TESTDIR/last.out")" = 30 ]

# -- the store gives space back after DeleteClient --
for i in $(seq 1 200); do
    "$CLI" create-ecc-key -k "$(long_name "fill$i-" 256)" >/dev/null 2>&1 || echo "# create fill$i failed"
done
ok "reclaim: 230 keys listed" "$CLI" list-keys
# Stopped, SQLite has folded the WAL into the store: compare the store itself.
psd_stop
before=$(stat -c %s "$STORE")
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }
ok "reclaim: DeleteClient removes every key" "$CLI" delete-client -c "$(id -u)"
ok "reclaim: list after DeleteClient" "$CLI" list-keys
check "reclaim: no key left" last_output_has "No keys"
psd_stop
after=$(stat -c %s "$STORE")
echo "# store: $before bytes with 230 keys, $after bytes after DeleteClient"
check "reclaim: the store shrank to under a quarter" [ "$((after * 4))" -lt "$before" ]
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }

# -- unsafe store files and folders are refused at start --
# starts_refusing DESC PATTERN STORE-PATH: parsecd exits with one error matching PATTERN.
starts_refusing() {
    local desc=$1 pattern=$2
    sed -e "s|^path = .*|path = $3|" -e "s|^socket_path = .*|socket_path = $TESTDIR/unsafe.sock|" \
        "$TESTDIR/parsecd.conf" >"$TESTDIR/unsafe.conf"
    fails "$desc" "$PARSECD" -c "$TESTDIR/unsafe.conf"
    check "  ... saying why and how to fix it" last_output_has "$pattern"
}
U=$TESTDIR/unsafe
mkdir -m 700 "$U"
OTHER=nobody
if [ "$(id -u)" != 0 ]; then
    echo "not ok - the store ownership cases need root (to give files to '$OTHER')"
    PSD_FAILED=$((PSD_FAILED + 1))
else
    : >"$U/other.sqlite3"
    chown "$OTHER" "$U/other.sqlite3"
    chmod 600 "$U/other.sqlite3"
    starts_refusing "a store owned by another user" "has owner uid $(id -u $OTHER) and mode 0600: it must belong to the service user" "$U/other.sqlite3"
    mkdir -m 700 "$U/theirs"
    chown "$OTHER" "$U/theirs"
    starts_refusing "a store folder owned by another user" "belongs to uid $(id -u $OTHER), who could replace the store" "$U/theirs/keys.sqlite3"
    : >"$U/wal.sqlite3-wal"
    chown "$OTHER" "$U/wal.sqlite3-wal"
    starts_refusing "a WAL planted by another user" "wal.sqlite3-wal has owner uid $(id -u $OTHER)" "$U/wal.sqlite3"
fi
install -m 644 /dev/null "$U/readable.sqlite3"
starts_refusing "a store others can read (0644)" "mode 0644" "$U/readable.sqlite3"
install -m 620 /dev/null "$U/groupw.sqlite3"
starts_refusing "a store the group can write (0620)" "chmod 600" "$U/groupw.sqlite3"
mkdir -m 777 "$U/open"
starts_refusing "a world-writable folder without the sticky bit" "writable by everyone (mode 0777) without the sticky bit" "$U/open/keys.sqlite3"
ln -s "$STORE" "$U/link.sqlite3"
starts_refusing "a store reached through a symbolic link" "symbolic link" "$U/link.sqlite3"
check "no refused start created a WAL" [ ! -e "$U/open/keys.sqlite3-wal" ]
mkdir -m 1777 "$U/sticky"
sed -e "s|^path = .*|path = $U/sticky/keys.sqlite3|" -e "s|^socket_path = .*|socket_path = $TESTDIR/sticky.sock|" \
    "$TESTDIR/parsecd.conf" >"$TESTDIR/sticky.conf"
"$PARSECD" -c "$TESTDIR/sticky.conf" 2>"$TESTDIR/sticky.log" &
sticky_pid=$!
psd_track_pid "$sticky_pid"
for _ in $(seq 100); do grep -q listening "$TESTDIR/sticky.log" && break; sleep 0.1; done
PARSEC_SERVICE_ENDPOINT=unix:$TESTDIR/sticky.sock ok "a sticky world-writable folder (like /tmp) is accepted" "$CLI" create-ecc-key -k s
check "  ... the store it made is 0600" [ "$(stat -c %a "$U/sticky/keys.sqlite3")" = 600 ]
check "  ... and its WAL too" [ "$(stat -c %a "$U/sticky/keys.sqlite3-wal")" = 600 ]
psd_stop_pid "$sticky_pid"

# -- the store deleted while parsecd runs --
ok "unlinked: create a key" "$CLI" create-ecc-key -k kept
rm -f "$STORE"
fails "unlinked: a new key is refused" "$CLI" create-ecc-key -k lost
check "unlinked: the client is told storage failed" last_output_has PsaErrorStorageFailure
check "unlinked: parsecd says why, loudly" grep -q "keys.sqlite3 was deleted or replaced while parsecd runs" "$TESTDIR/parsecd.log"
fails "unlinked: a destroy is refused" "$CLI" delete-key -k kept
check "unlinked: refused with StorageFailure" last_output_has PsaErrorStorageFailure
ok "unlinked: the loaded key still signs" "$CLI" sign -k kept -i "$TESTDIR/parsecd.conf" -o "$TESTDIR/sig"
ok "unlinked: parsecd still answers" "$CLI" ping

psd_finish
exit $?
