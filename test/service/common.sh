# SPDX-License-Identifier: Apache-2.0
# Helpers shared by the service tests (sourced after test/lib/testenv.sh).
# shellcheck shell=bash

# Change a key of the test's parsecd.conf (added under [SECTION] if absent).
# Tests call psd_start once and switch settings with psd_restart, because
# some backends (the TPM simulator) are set up once per test.
conf_set() {
    local key=$1 value=$2 section=$3
    if grep -q "^$key = " "$TESTDIR/parsecd.conf"; then
        sed -i "s|^$key = .*|$key = $value|" "$TESTDIR/parsecd.conf"
    else
        sed -i "s|^\\[$section\\]\$|[$section]\\n$key = $value|" "$TESTDIR/parsecd.conf"
    fi
}

# After a list-keys run through ok/fails: is key NAME in its output?
listed() { grep -q -- "^\* $1\$" "$TESTDIR/last.out"; }
not_listed() { ! listed "$1"; }
differ() { ! cmp -s "$1" "$2"; }

# Hex of a file's bytes; is hex string $1 in the key store $STORE or a file
# SQLite keeps next to it (WAL, SHM, journal)?
file_hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }
in_store_files() {
    local f
    for f in "$STORE" "$STORE-wal" "$STORE-shm" "$STORE-journal"; do
        [ -f "$f" ] && file_hex "$f" | grep -q "$1" && return 0
    done
    return 1
}
not_in_store_files() { ! in_store_files "$1"; }

# No AddressSanitizer/LeakSanitizer/UBSan report in any parsecd log of this test.
no_sanitizer_report() {
    ! grep -Eqs "ERROR: (Address|Leak)Sanitizer|runtime error:" "$TESTDIR"/*.log
}

# Stop parsecd (leak reports are written at exit), then check its logs.
psd_finish() {
    psd_stop
    check "parsecd logged no sanitizer report" no_sanitizer_report
    psd_summary
}
