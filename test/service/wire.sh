#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every malformed or refused request gets the reference service's status
# (docs/wire-protocol.md §1.2), and parsecd then still answers a Ping from
# another client. Usage: wire.sh PSD_PROBE
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
PROBE=${1:?usage: wire.sh PSD_PROBE}
psd_test_init


run_group() {
    local group=$1 label=$2 c
    for c in $("$PROBE" --list "$group"); do
        ok "$label: $c" "$PROBE" "$c"
        ok "$label: parsecd answers another client after $c" "$PROBE" ping
    done
}

# -- unix peer credentials (the default authenticator) --
export PSD_TIMEOUT_MS=1000
psd_start software || { echo "not ok - parsecd did not start"; exit 1; }
run_group wire unix
run_group route unix
run_group unix unix
run_group keys unix
run_group admin-denied unix
ok "parsecd is still the same process" kill -0 "$PSD_PID"

# A client stalled mid-request occupies one worker only: others keep being served.
"$PROBE" stalled-body >"$TESTDIR/stalled.out" 2>&1 &
stalled=$!
ok "ping while another client stalls mid-request" "$PROBE" ping
check "the stalled client got ConnectionError" wait "$stalled"

# -- direct authentication, with an administrator --
psd_stop
conf_set type direct authenticator
conf_set admins boss authenticator
psd_restart || { echo "not ok - parsecd (direct) did not start"; exit 1; }
export PROBE_APP=app-one
run_group route direct
run_group direct direct
run_group keys direct
run_group admin-denied direct
PROBE_APP=boss ok "direct: an admin may list and delete clients" "$PROBE" admin-allowed

psd_finish
exit $?
