#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# libparsec-pkcs11.so through its function list (p11module-test), against a
# real parsecd on one backend with the direct authenticator, then the same
# session surviving a parsecd restart.
# Usage: p11module.sh BACKEND P11MODULE_TEST MODULE
set -u
. "$TEST_SRCDIR/test/lib/testenv.sh"
BACKEND=${1:?usage: p11module.sh BACKEND P11MODULE_TEST MODULE}
P11TEST=${2:?}
MODULE=${3:?}
psd_test_init

[ -f "$MODULE" ] || { echo "not ok - the module is built at $MODULE"; echo "0 passed, 1 failed"; exit 1; }
export PSD_AUTH=direct
# Certificates the module keeps stay inside the test directory.
export PARSEC_PKCS11_CERT_DIR="$TESTDIR/certs"
ok "parsecd starts on the $BACKEND backend" psd_start "$BACKEND" || { psd_summary; exit 1; }

"$P11TEST" "$MODULE" "$BACKEND" all
check "every check through the function list passed (lines above)" [ $? = 0 ]

# The restart: the test program waits on a FIFO while parsecd is restarted.
mkfifo "$TESTDIR/go"
"$P11TEST" "$MODULE" "$BACKEND" restart <"$TESTDIR/go" >"$TESTDIR/restart.out" 2>&1 &
restart_pid=$!
exec 3>"$TESTDIR/go"
for _ in $(seq 600); do
    grep -q '^READY' "$TESTDIR/restart.out" && break
    kill -0 "$restart_pid" 2>/dev/null || break
    sleep 0.1
done
check "the program signed and waits for the restart" grep -q '^READY' "$TESTDIR/restart.out"
ok "parsecd restarts under the running application" psd_restart
echo go >&3
exec 3>&-
wait "$restart_pid"
rc=$?
cat "$TESTDIR/restart.out"
check "the application's session and key handle work after the restart (lines above)" [ "$rc" = 0 ]

psd_summary
exit $?
