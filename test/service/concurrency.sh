#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# 32 concurrent clients get correct answers (signatures checked by OpenSSL),
# racing generates of one name let exactly one through, with a small and a
# single-thread worker pool. Usage: concurrency.sh BACKEND PSD_STRESS
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
BACKEND=${1:?usage: concurrency.sh BACKEND PSD_STRESS}
STRESS=${2:?usage: concurrency.sh BACKEND PSD_STRESS}
psd_test_init

case $BACKEND in
    software) export PROBE_PROVIDER=1 ;;
    pkcs11) export PROBE_PROVIDER=2 ;;
    tpm) export PROBE_PROVIDER=3 ;;
esac

PSD_THREADS=4 psd_start "$BACKEND" || { echo "not ok - parsecd did not start"; exit 1; }
for threads in 4 1; do
    conf_set threads "$threads" core
    psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }
    ok "32 clients x 10 rounds against $threads worker thread(s)" "$STRESS" 32 10
    ok "  ... parsecd still answers" "$PARSEC_CLI" ping
done

psd_stop
conf_set threads 4 core
conf_set type direct authenticator
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }
PROBE_APP=stress-a "$STRESS" 32 5 >"$TESTDIR/stress-a.out" 2>&1 &
a=$!
PROBE_APP=stress-b ok "32 clients of application B (direct auth)" "$STRESS" 32 5
check "32 clients of application A at the same time" wait "$a" || sed 's/^/#   /' "$TESTDIR/stress-a.out"
psd_finish
exit $?
