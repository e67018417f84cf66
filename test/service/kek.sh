#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Keys encrypted at rest: with a key-encryption key no private-key bytes are
# in the store files; parsecd --rewrap migrates plaintext stores and rotates
# the KEK; a wrong or missing KEK refuses to start and loses nothing; the KEK
# may come from a file or a systemd credential. Usage: kek.sh
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
psd_test_init
CLI=$PARSEC_CLI
STORE=$TESTDIR/keys.sqlite3
echo "signed text" >"$TESTDIR/msg"

# Hex of a named BIGNUM field of `openssl pkey -text` (leading zero byte dropped).
pkey_field() {
    openssl pkey -inform DER -in "$1" -noout -text |
        awk -v f="$2:" '$1 == f {on = 1; next} on && /^ +[0-9a-f:]+$/ {printf "%s", $1; next} on {exit}' |
        tr -d ':' | sed 's/^00//'
}
# The parsecd command for one start that must fail: its stderr in last.out.
refuses_start() { fails "$1" "$PARSECD" -c "$TESTDIR/parsecd.conf"; }
sign_verify() {
    local k=$1
    "$CLI" sign -k "$k" -i "$TESTDIR/msg" -o "$TESTDIR/$k.sig" &&
        openssl dgst -sha256 -verify "$TESTDIR/$k.pem" -signature "$TESTDIR/$k.sig" "$TESTDIR/msg"
}
all_rows_under() { [ "$(sqlite3 "$STORE" "SELECT count(*) FROM keys WHERE kek_id IS NOT '$1'")" = 0 ]; }

psd_start software || { echo "not ok - parsecd did not start"; exit 1; }

# -- a plaintext store, as before: remember the private values --
ok "plaintext: create an ECDSA P-256 key" "$CLI" create-ecc-key -k ec
ok "plaintext: create an RSA-2048 signing key" "$CLI" create-rsa-key -k rsa --sign-pkcs1
ok "export ec" "$CLI" export-public-key -k ec -o "$TESTDIR/ec.pem"
ok "export rsa" "$CLI" export-public-key -k rsa -o "$TESTDIR/rsa.pem"
psd_stop
sqlite3 "$STORE" "SELECT writefile('$TESTDIR/ec.der', blob) FROM keys WHERE key_name = 'ec';
                  SELECT writefile('$TESTDIR/rsa.der', blob) FROM keys WHERE key_name = 'rsa';" >/dev/null
SECRETS="$(pkey_field "$TESTDIR/ec.der" priv) $(pkey_field "$TESTDIR/rsa.der" prime1) $(pkey_field "$TESTDIR/rsa.der" prime2)"
n=0; for s in $SECRETS; do [ ${#s} -ge 64 ] && n=$((n + 1)); done
check "the EC scalar and both RSA primes were read from the plaintext store" [ "$n" = 3 ]
found=0; for s in $SECRETS; do in_store_files "$s" && found=$((found + 1)); done
check "without a KEK they are in the store file (what a KEK changes)" [ "$found" = 3 ]

# -- a KEK: the existing store is migrated with --rewrap --
(umask 077 && openssl rand -out "$TESTDIR/kek" 32)
conf_set kek_file "$TESTDIR/kek" key_store
ok "restart with a KEK over a plaintext store" psd_restart
check "parsecd says the old keys are still in plaintext" grep -q "2 keys are stored without the key-encryption key" "$TESTDIR/parsecd.log"
check "  ... and how to fix it" grep -q "parsecd -c CONFIG --rewrap" "$TESTDIR/parsecd.log"
ok "create a key under the KEK" "$CLI" create-ecc-key -k new
ok "export new" "$CLI" export-public-key -k new -o "$TESTDIR/new.pem"
psd_stop
ok "parsecd --rewrap" "$PARSECD" -c "$TESTDIR/parsecd.conf" --rewrap
check "  ... reports the keys it rewrapped" last_output_has "3 keys rewrapped with key-encryption key"
kek_id=$(sqlite3 "$STORE" "SELECT kek_id FROM keys WHERE key_name = 'new'")
check "every row names the KEK that protects it" all_rows_under "$kek_id"
for s in $SECRETS; do check "no private value in the store files after --rewrap" not_in_store_files "$s"; done
ok "restart with the right KEK" psd_restart
for k in ec rsa new; do ok "$k signs, OpenSSL verifies with the old public key" sign_verify "$k"; done
for s in $SECRETS; do check "no private value in the store files while running" not_in_store_files "$s"; done
psd_kill9
for s in $SECRETS; do check "  ... nor after a SIGKILL" not_in_store_files "$s"; done

# -- wrong, missing, unsafe KEKs refuse to start and change nothing --
store_rows() { sqlite3 "$STORE" "SELECT id, key_name, kek_id, hex(blob) FROM keys ORDER BY id" | sha256sum; }
sum=$(store_rows)
(umask 077 && openssl rand -out "$TESTDIR/wrong" 32)
conf_set kek_file "$TESTDIR/wrong" key_store
refuses_start "a wrong KEK refuses to start"
check "  ... naming both KEKs and --rewrap" last_output_has "encrypted with key-encryption key $kek_id, not with the configured one"
sed -i '/^kek_file = /d' "$TESTDIR/parsecd.conf"
refuses_start "no KEK refuses to start"
check "  ... naming the settings" last_output_has "and none is configured: set kek_file or kek_credential in \[key_store\]"
chmod 644 "$TESTDIR/kek"
conf_set kek_file "$TESTDIR/kek" key_store
refuses_start "a KEK file others can read refuses to start"
check "  ... with the fix" last_output_has "chmod 400"
chmod 400 "$TESTDIR/kek"
printf 'short' >"$TESTDIR/short"; chmod 400 "$TESTDIR/short"
conf_set kek_file "$TESTDIR/short" key_store
refuses_start "a KEK file that is not 32 bytes refuses to start"
check "  ... saying what it must hold" last_output_has "32 random bytes or 64 hex digits"
check "the refused starts left every stored key unchanged" [ "$(store_rows)" = "$sum" ]

# -- rotation: old KEK -> new KEK, the new one given as 64 hex digits --
(umask 077 && openssl rand -hex 32 >"$TESTDIR/kek2")
conf_set kek_file "$TESTDIR/kek2" key_store
refuses_start "the new KEK alone cannot read the store"
ok "parsecd --rewrap --old-kek-file" "$PARSECD" -c "$TESTDIR/parsecd.conf" --rewrap --old-kek-file "$TESTDIR/kek"
kek2_id=$(sqlite3 "$STORE" "SELECT kek_id FROM keys WHERE key_name = 'new'")
check "rows now name the new KEK" [ "$kek2_id" != "$kek_id" ]
check "  ... every one of them" all_rows_under "$kek2_id"
ok "start with the new KEK" psd_restart
for k in ec rsa new; do ok "after rotation, $k signs and verifies" sign_verify "$k"; done
psd_stop

# -- the KEK as a systemd credential --
mkdir -m 700 "$TESTDIR/creds"
install -m 400 "$TESTDIR/kek2" "$TESTDIR/creds/parsec-kek"
sed -i '/^kek_file = /d' "$TESTDIR/parsecd.conf"
conf_set kek_credential parsec-kek key_store
refuses_start "kek_credential without CREDENTIALS_DIRECTORY refuses to start"
check "  ... pointing at LoadCredential=" last_output_has "LoadCredential=parsec-kek"
export CREDENTIALS_DIRECTORY=$TESTDIR/creds
ok "start with the KEK from \$CREDENTIALS_DIRECTORY" psd_restart
for k in ec rsa new; do ok "with the credential, $k signs and verifies" sign_verify "$k"; done
ok "list-keys: nothing lost" "$CLI" list-keys
for k in ec rsa new; do check "  ... $k listed" listed "$k"; done

# -- back to plaintext, if ever wanted: --rewrap with no KEK configured --
psd_stop
sed -i '/^kek_credential = /d' "$TESTDIR/parsecd.conf"
ok "parsecd --rewrap to plaintext" "$PARSECD" -c "$TESTDIR/parsecd.conf" --rewrap --old-kek-file "$TESTDIR/creds/parsec-kek"
check "  ... no row names a KEK" [ "$(sqlite3 "$STORE" "SELECT count(*) FROM keys WHERE kek_id IS NOT NULL")" = 0 ]
ok "start without a KEK" psd_restart
ok "ec still signs" sign_verify ec

psd_finish
exit $?
