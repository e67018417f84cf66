#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The key store's key-encryption key sealed by the TPM backend
# ([key_store] kek_tpm_file): made and sealed at the first start, unsealed at
# every start after; software keys then live in the store encrypted, and
# parsecd --rewrap moves plaintext keys under it. A sealed file the TPM cannot
# unseal stops parsecd and loses nothing.
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
psd_test_init
CLI=$PARSEC_CLI
D=$TESTDIR
STORE=$D/keys.sqlite3
SEALED=$D/kek.sealed
echo "signed text" >"$D/msg"
export PSD_PROVIDERS="software, tpm"

sign_verify() {
    "$CLI" -p 1 sign -k "$1" -i "$D/msg" -o "$D/$1.sig" &&
        openssl dgst -sha256 -verify "$D/$1.pem" -signature "$D/$1.sig" "$D/msg"
}
rows_without_kek() { sqlite3 "$STORE" "SELECT count(*) FROM keys WHERE kek_id IS NULL"; }
store_rows() { sqlite3 "$STORE" "SELECT id, key_name, kek_id, hex(blob) FROM keys ORDER BY id" | sha256sum; }

ok "parsecd starts with the software and TPM backends" psd_start tpm || { psd_summary; exit 1; }
ok "a software key made before any KEK" "$CLI" -p 1 create-ecc-key -k plain
ok "export plain" "$CLI" -p 1 export-public-key -k plain -o "$D/plain.pem"
psd_stop
scalar=$(sqlite3 "$STORE" "SELECT hex(substr(blob, 8, 32)) FROM keys WHERE key_name = 'plain'" | tr A-F a-f)
check "its private scalar is in the plaintext store" in_store_files "$scalar"

conf_set kek_tpm_file "$SEALED" key_store
ok "start with kek_tpm_file" psd_restart
check "parsecd made and sealed a KEK" grep -q "made a key-encryption key sealed by the tpm backend: $SEALED" "$D/parsecd.log"
check "  ... the sealed file is the service user's, mode 0600" [ "$(stat -c '%u %a' "$SEALED")" = "$(id -u) 600" ]
check "  ... and holds no 32-byte key in the clear (a TPM object)" [ "$(stat -c %s "$SEALED")" -gt 100 ]
check "parsecd asks for --rewrap for the older key" grep -q "1 keys are stored without the key-encryption key" "$D/parsecd.log"
ok "a software key made under the sealed KEK" "$CLI" -p 1 create-ecc-key -k sealed
ok "export sealed" "$CLI" -p 1 export-public-key -k sealed -o "$D/sealed.pem"
psd_stop
ok "parsecd --rewrap unseals the KEK and encrypts the older key" "$PARSECD" -c "$D/parsecd.conf" --rewrap
check "  ... every row is under the KEK" [ "$(rows_without_kek)" = 0 ]
check "  ... the older key's scalar is gone from the store files" not_in_store_files "$scalar"
ok "restart: the KEK is unsealed again" psd_restart
for k in plain sealed; do ok "$k signs, OpenSSL verifies" sign_verify "$k"; done
psd_stop

sum=$(store_rows)
cp "$SEALED" "$D/kek.sealed.good"
head -c 200 /dev/urandom >"$SEALED"
fails "a damaged sealed KEK file stops parsecd" "$PARSECD" -c "$D/parsecd.conf"
check "  ... saying it cannot be unsealed" last_output_has "cannot unseal the key-encryption key in $SEALED"
check "  ... and nothing in the store changed" [ "$(store_rows)" = "$sum" ]
cp "$D/kek.sealed.good" "$SEALED"
ok "with the right sealed file it starts again" psd_restart
for k in plain sealed; do ok "$k still signs" sign_verify "$k"; done

psd_finish
exit $?
