#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Keep-alive extension (docs/protocol-extensions.md) between libparsec-client
# and parsecd: many requests on one connection, flags 0 for requests that
# do not ask, fallback against a server that closes after each answer,
# fork safety, one connection per thread, the idle timeout, the cap on kept
# connections, a service restart under a kept connection, busy-polling
# (docs/performance.md) and the shared-memory hand-off: on and off alike,
# large messages beside it, a connection closed while the client polls, no
# CPU with 64 idle kept connections.
set -u
: "${TEST_SRCDIR:?}" "${TEST_BUILDDIR:?}"
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
KA=$TEST_BUILDDIR/test/keepalive/keepalive_client
[ -x "$KA" ] || { echo "# $KA not built" >&2; exit 1; }

# listener_conf LINES...: [listener] keys for the next psd_restart.
listener_conf() {
    local f=$TESTDIR/parsecd.conf line
    sed -i '/^keepalive_/d; /^busy_poll_us/d; /^shm_handoff/d' "$f"
    for line in "$@"; do sed -i "/^\[listener\]/a $line" "$f"; done
}

# Sockets parsecd has open besides its listening one.
psd_conns() {
    local n
    n=$(find "/proc/$PSD_PID/fd" -lname 'socket:*' 2>/dev/null | wc -l)
    echo $((n - 1))
}

# Shared-memory hand-off regions (parsec_lane.h) a process has mapped.
lanes() { grep -c 'memfd:parsec-lane' "/proc/$1/maps"; }

# lanes_gone PID: the process unmaps the regions of connections that closed (within 2 s).
lanes_gone() {
    local _
    for _ in $(seq 100); do
        [ "$(lanes "$1")" -eq 0 ] && return 0
        sleep 0.02
    done
    return 1
}

# conns_drop_to N: parsecd closes connections whose clients went away (within 2 s).
conns_drop_to() {
    local _
    for _ in $(seq 100); do
        [ "$(psd_conns)" -le "$1" ] && return 0
        sleep 0.02
    done
    echo "# parsecd still has $(psd_conns) connections" >&2
    return 1
}

psd_start software || { echo "# parsecd did not start" >&2; exit 1; }

ok "200 Pings with keep-alive use one connection" "$KA" reuse 200
ok "without keep-alive no connection stays open" "$KA" off 20
ok "raw wire: flags 0 and close unless asked; echo and keep when asked (errors too)" "$KA" wire
ok "raw shared-memory hand-off: an answer and a request through it; garbage, bad lengths, a missing body and two requests at once refused" "$KA" lane
ok "fallback: a server that closes after its answer (flags 0) gets one connection per request" "$KA" fallback
ok "a kept connection the service stops reading: a Ping is resent on a new connection, a DestroyKey is not" "$KA" stall
ok "a forked child opens its own connection and leaves the parent's alone" "$KA" fork
ok "a process that changed its effective or real uid opens a new connection, never its old uid's" "$KA" uid
ok "8 threads sharing a client hold one connection each, closed when they exit" "$KA" threads 8 50

# Kept connections are closed by parsecd when idle; the client resends once on a new one.
listener_conf "keepalive_idle_ms = 300"
psd_restart || exit 1
ok "after the idle timeout closed the kept connection, the next request succeeds on a new one" \
    "$KA" idle 1200
check "parsecd closes the kept connection of a client that exited" conns_drop_to 0

# The cap: more threads than keepalive_max all succeed; parsecd keeps at most the cap.
listener_conf "keepalive_max = 2"
psd_restart || exit 1
"$KA" pause "$TESTDIR/r1" "$TESTDIR/go" >"$TESTDIR/p1.out" 2>&1 &
p1=$!
"$KA" pause "$TESTDIR/r2" "$TESTDIR/go" >"$TESTDIR/p2.out" 2>&1 &
p2=$!
for _ in $(seq 300); do [ -f "$TESTDIR/r1" ] && [ -f "$TESTDIR/r2" ] && break; sleep 0.02; done
check "two clients hold two kept connections (keepalive_max = 2)" [ "$(psd_conns)" -eq 2 ]
ok "a third keep-alive client past the cap is served, one connection per request" "$KA" off 5
ok "past the cap, keep-alive requests from 4 threads succeed, none kept" "$KA" threads 4 20 0
check "parsecd still keeps no more than 2" [ "$(psd_conns)" -le 2 ]
touch "$TESTDIR/go"
check "the two kept clients finish" wait "$p1" "$p2"

# A restart under a kept connection: the first request after it is resent on a new connection.
listener_conf
psd_restart || exit 1
rm -f "$TESTDIR/r1" "$TESTDIR/go"
"$KA" pause "$TESTDIR/r1" "$TESTDIR/go" >"$TESTDIR/p3.out" 2>&1 &
p3=$!
for _ in $(seq 300); do [ -f "$TESTDIR/r1" ] && break; sleep 0.02; done
psd_restart || exit 1
touch "$TESTDIR/go"
check "a request after a parsecd restart succeeds (resent on a new connection)" wait "$p3"
[ -s "$TESTDIR/p3.out" ] && sed 's/^/# /' "$TESTDIR/p3.out"

# Busy-polling and the shared-memory hand-off change how the client and
# parsecd wait and where a message goes, never what they answer.
for variant in 0 200 "200 client-no-handoff" "200 service-no-handoff"; do
    bp=${variant%% *}
    conf=("busy_poll_us = $bp")
    unset PARSEC_CLIENT_SHM_HANDOFF
    case $variant in
    *client-no-handoff) export PARSEC_CLIENT_SHM_HANDOFF=0 ;;
    *service-no-handoff) conf+=("shm_handoff = false") ;;
    esac
    listener_conf "${conf[@]}"
    psd_restart || exit 1
    export PARSEC_CLIENT_BUSY_POLL_US=$bp
    ok "busy_poll_us = $variant: 200 Pings on one kept connection" "$KA" reuse 200
    # shellcheck disable=SC2016 # $1 and $2 belong to the inner sh
    ok "busy_poll_us = $variant: 2 threads x 100 rounds of Ping, ListProviders, HashCompute (3 and 3000 bytes), GenerateRandom (3000) answer alike" \
        sh -c '"$1" answers 100 2 >"$2"' sh "$KA" "$TESTDIR/answers.${variant// /.}"
    ok "busy_poll_us = $variant: a kept connection closed while the client polls: the Ping is resent" \
        "$KA" drop 0
    ok "busy_poll_us = $variant: a kept connection closed after the client stopped polling: resent" \
        "$KA" drop 20000
    ok "busy_poll_us = $variant: a server without keep-alive gets one connection per request" \
        "$KA" fallback
    # Whether the hand-off is set up: parsecd maps a region per kept connection that asked.
    rm -f "$TESTDIR/r1"
    "$KA" hold 4 "$TESTDIR/r1" >"$TESTDIR/hold.out" 2>&1 &
    ph=$!
    for _ in $(seq 500); do [ -f "$TESTDIR/r1" ] && break; sleep 0.02; done
    want=4
    [ "$variant" != "${variant%no-handoff}" ] && want=0
    check "busy_poll_us = $variant: 4 kept connections, $want shared-memory regions in parsecd and in the client" \
        [ "$(lanes "$PSD_PID")/$(lanes "$ph")" = "$want/$want" ]
    kill -USR1 "$ph"
    check "busy_poll_us = $variant: ... and they still answer" wait "$ph"
    check "busy_poll_us = $variant: ... and parsecd unmaps them when the connections close" \
        lanes_gone "$PSD_PID"
done
unset PARSEC_CLIENT_BUSY_POLL_US PARSEC_CLIENT_SHM_HANDOFF
for variant in 200 200.client-no-handoff 200.service-no-handoff; do
    check "busy-polling off and $variant: the same answers" cmp "$TESTDIR/answers.0" "$TESTDIR/answers.$variant"
done
sed 's/^/# answers: /' "$TESTDIR/answers.200"

# proc_cpu_ticks PID: utime + stime of a process, in clock ticks.
proc_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# 64 kept connections, idle: neither parsecd nor the client spins (busy_poll_us on).
listener_conf "busy_poll_us = 200" "keepalive_idle_ms = 60000"
psd_restart || exit 1
rm -f "$TESTDIR/r1"
"$KA" hold 64 "$TESTDIR/r1" >"$TESTDIR/hold.out" 2>&1 &
ph=$!
for _ in $(seq 500); do [ -f "$TESTDIR/r1" ] && break; sleep 0.02; done
check "64 client threads hold 64 kept connections" [ "$(psd_conns)" -eq 64 ]
check "... each with its shared-memory hand-off, in parsecd and in the client" \
    [ "$(lanes "$PSD_PID")/$(lanes "$ph")" = "64/64" ]
sleep 0.5 # past any busy-poll budget (at most busy_poll_us)
psd_a=$(proc_cpu_ticks "$PSD_PID")
cli_a=$(proc_cpu_ticks "$ph")
sleep 3
psd_b=$(proc_cpu_ticks "$PSD_PID")
cli_b=$(proc_cpu_ticks "$ph")
echo "# idle 3 s with 64 kept connections: parsecd $((psd_b - psd_a)) ticks, client $((cli_b - cli_a)) ticks (of $(getconf CLK_TCK)/s)"
# ThreadSanitizer's runtime has a thread of its own in each process it is built into (parsecd
# and the client under PSD_SANITIZER=thread) that wakes every 100 ms: a tick or two in 3 s is its.
idle_max=0
[ "${PSD_SANITIZER:-}" = thread ] && idle_max=2
check "parsecd with 64 idle kept connections uses no CPU in 3 s" [ $((psd_b - psd_a)) -le $idle_max ]
check "the idle client holding them uses no CPU in 3 s" [ $((cli_b - cli_a)) -le $idle_max ]
kill -USR1 "$ph"
check "the 64 threads Ping again on their kept connections" wait "$ph"

# shellcheck disable=SC2016 # $1 belongs to the inner sh
check "parsecd logged no error (nor a sanitizer report)" sh -c \
    '! grep -E " (error|warn):|AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error" "$1"' sh "$TESTDIR/parsecd.log"
psd_summary
exit $?
