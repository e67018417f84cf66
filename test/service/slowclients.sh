#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsecd against slow, idle and greedy local clients ([listener] settings
# in service/parsecd.conf.example): 32 trickling or idle connections of one
# user, or 32 trickling kept ones, do not hold up another user's requests; a UID past max_connections_per_uid
# is refused while another UID is served; out of file descriptors, parsecd
# lowers keepalive_max, does not spin and logs the failure a bounded number
# of times.
#
# Timing: each ordinary Ping must be answered within 100 ms while the attack
# runs. That bound is generous (a Ping takes well under a millisecond) and
# is there to prove the denial of service is gone: before, a trickling
# connection held a worker for as long as its client liked, so these Pings
# waited seconds or timed out. parsecd's threads and the ordinary client run
# at nice -5 so that other work on a shared test machine does not count
# against the bound; the attacker runs at normal priority (what it can do to
# parsecd does not depend on CPU priority).
set -u
: "${TEST_SRCDIR:?}" "${TEST_BUILDDIR:?}"
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
SC=$TEST_BUILDDIR/test/service/psd_slowclient
[ -x "$SC" ] || { echo "# $SC not built" >&2; exit 1; }
# The attacker is another user: the unprivileged 'nobody' must reach the socket.
chmod 711 "$TESTDIR"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
as_nobody true || { echo "# cannot run as nobody (setpriv)" >&2; exit 1; }

# listener_conf LINES...: [listener] keys for the next psd_restart.
listener_conf() {
    local f=$TESTDIR/parsecd.conf line
    sed -i '/^max_connections_per_uid\|^keepalive_\|^timeout_ms/d' "$f"
    for line in "$@"; do sed -i "/^\[listener\]/a $line" "$f"; done
}

# attack NAME ARGS...: psd_slowclient ARGS as nobody in the background (output in NAME.out).
attack() {
    local name=$1
    shift
    as_nobody "$SC" "$@" >"$TESTDIR/$name.out" 2>&1 &
    ATTACK_PID=$!
    psd_track_pid "$ATTACK_PID"
}

# favour_service: parsecd's threads at nice -5 (renice applies per thread).
favour_service() {
    local tasks=("/proc/$PSD_PID/task/"*)
    renice -n -5 -p "${tasks[@]##*/}" >/dev/null
}

# cpu_ticks PID: utime + stime (clock ticks) from /proc/PID/stat.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

psd_start software || { echo "# parsecd did not start" >&2; exit 1; }
favour_service

# 1. 32 connections of nobody trickle a Ping header a byte every 200 ms for 6 s
#    (each is refused after timeout_ms, 3 s, from its first byte, and reopened).
attack trickle trickle 32 200 6
sleep 0.5
ok "32 trickling connections of another user: 100 Pings over 4 s, each within 100 ms" \
    nice -n -5 "$SC" pings 100 40 100
sed 's/^/# /' "$TESTDIR/last.out"
wait "$ATTACK_PID"
sed 's/^/# attacker: /' "$TESTDIR/trickle.out"
# shellcheck disable=SC2016 # $1 belongs to the inner sh
check "parsecd closed the trickling connections at their deadline (timeout_ms from the first byte)" \
    sh -c '! grep -q "parsecd closed 0," "$1"' sh "$TESTDIR/trickle.out"
check "... and logged why, naming timeout_ms" grep -q "not complete within timeout_ms" "$TESTDIR/parsecd.log"

# 2. 32 idle connections (nothing sent) of nobody.
attack idle idle 32 5
sleep 0.5
ok "32 idle connections of another user: 100 Pings over 4 s, each within 100 ms" \
    nice -n -5 "$SC" pings 100 40 100
sed 's/^/# /' "$TESTDIR/last.out"
wait "$ATTACK_PID"

# 3. 32 kept connections of nobody trickle their next request; kept clients go on.
attack keeptrickle keep-trickle 32 200 6
sleep 0.5
ok "32 trickling kept connections of another user: a keep-alive client's 100 Pings each within 100 ms" \
    nice -n -5 "$SC" pings 100 40 100 keepalive
sed 's/^/# /' "$TESTDIR/last.out"
ok "... and a one-connection-per-request client's too" nice -n -5 "$SC" pings 30 40 100
wait "$ATTACK_PID"
sed 's/^/# attacker: /' "$TESTDIR/keeptrickle.out"
check "the attacker's connections were kept by keep-alive (none refused the flag)" \
    grep -q "not kept 0$" "$TESTDIR/keeptrickle.out"

# 4. The per-UID cap: nobody holds 32 connections; the 33rd is refused, root is served.
listener_conf "max_connections_per_uid = 32" "timeout_ms = 30000"
psd_restart || exit 1
as_nobody "$SC" hold 32 8 "$TESTDIR/held" >"$TESTDIR/hold.out" 2>&1 &
HOLD_PID=$!
psd_track_pid "$HOLD_PID"
for _ in $(seq 200); do [ -f "$TESTDIR/held" ] && break; sleep 0.02; done
sleep 0.5 # parsecd accepts them (the connections are complete before accept)
check "nobody holds 32 connections" grep -q "held 32 of 32" "$TESTDIR/hold.out"
fails "the 33rd connection of the same UID is refused" as_nobody "$SC" raw-ping
check "... with ConnectionError" last_output_has "ConnectionError"
check "parsecd logged the refusal, naming the UID and the setting" \
    grep -q "refused a connection of uid 65534: it has 32 open already (max_connections_per_uid = 32" \
    "$TESTDIR/parsecd.log"
ok "another UID (root) is served meanwhile" "$SC" raw-ping
check "... with Success" last_output_has "status Success"
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
# shellcheck disable=SC2016 # $1 belongs to the inner sh
ok "once nobody's connections are closed, nobody is served again" sh -c \
    'for i in $(seq 50); do setpriv --reuid=nobody --regid=nogroup --clear-groups "$1" raw-ping && exit 0; sleep 0.1; done; exit 1' \
    sh "$SC"

# 5. Out of file descriptors: a soft limit of 90 leaves 90 - 64 reserved = 26, half for kept ones.
listener_conf "max_connections_per_uid = 0" "timeout_ms = 30000"
old_nofile=$(ulimit -Sn)
ulimit -Sn 90
psd_restart
rc=$?
ulimit -Sn "$old_nofile"
[ "$rc" = 0 ] || exit 1
check "parsecd logs keepalive_max lowered to 13 for RLIMIT_NOFILE 90, with the fix" \
    grep -q "keepalive_max lowered from 128 to 13: the descriptor limit (RLIMIT_NOFILE) is 90; raise it" \
    "$TESTDIR/parsecd.log"
check "parsecd logs the effective keepalive_max" \
    grep -q "connections: keepalive_max 13, max_connections_per_uid 0" "$TESTDIR/parsecd.log"
# A client of root keeps a connection, idle (keepalive_idle_ms is 10 s, longer than the test).
"$SC" keep-idle 6 >"$TESTDIR/keepidle.out" 2>&1 &
KEEPIDLE_PID=$!
psd_track_pid "$KEEPIDLE_PID"
sleep 0.5
as_nobody "$SC" hold 150 8 "$TESTDIR/held2" >"$TESTDIR/hold2.out" 2>&1 &
HOLD_PID=$!
psd_track_pid "$HOLD_PID"
for _ in $(seq 200); do [ -f "$TESTDIR/held2" ] && break; sleep 0.02; done
sleep 0.5
t0=$(cpu_ticks "$PSD_PID")
sleep 3
t1=$(cpu_ticks "$PSD_PID")
echo "# parsecd used $((t1 - t0)) clock ticks of CPU in 3 s out of descriptors"
# A generous bound (30 ticks = 0.3 s CPU in 3 s): spinning on EMFILE would burn whole seconds.
check "out of descriptors for 3 s, parsecd does not spin (under 0.3 s CPU)" [ $((t1 - t0)) -lt 30 ]
n=$(grep -c "accept: Too many open files" "$TESTDIR/parsecd.log")
echo "# $n accept failure lines logged"
check "the descriptor exhaustion was logged, once (not once per failure)" [ "$n" -eq 1 ]
check "... naming the fix" grep -q "Raise the descriptor limit (ulimit -n, or LimitNOFILE=" "$TESTDIR/parsecd.log"
wait "$KEEPIDLE_PID"
sed 's/^/# /' "$TESTDIR/keepidle.out"
check "out of descriptors, parsecd gave up the idle kept connection for a new one" \
    grep -q "kept connection closed by parsecd" "$TESTDIR/keepidle.out"
check "... and said so" grep -q "out of descriptors: closed an idle kept connection" "$TESTDIR/parsecd.log"
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
ok "once the connections are gone, clients are served again" "$SC" pings 5 10 5000

# shellcheck disable=SC2016 # $1 belongs to the inner sh
check "parsecd logged no error (nor a sanitizer report)" sh -c \
    '! grep -E " error:|AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error" "$1"' sh "$TESTDIR/parsecd.log"
psd_summary
exit $?
