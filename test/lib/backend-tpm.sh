# SPDX-License-Identifier: Apache-2.0
# TPM backend for the shared harness: a swtpm (Debian's, libtpms) in
# $TESTDIR/tpm on free loopback ports, reached through the swtpm TCTI.
#
# State lives in files under $TESTDIR/tpm (port, swtpm.pid, swtpm.log, and
# state/, the TPM's NV state), so these helpers also work from subshells.
# The running swtpm's PID is registered with psd_track_pid (and dropped from
# it when stopped, since a stopped PID may be reused).
#
# Also for tests:
#   tpm_sim_stop      stop swtpm (state kept)
#   tpm_sim_start     start it again on the same ports with the same state
#   tpm_sim_restart   both (a TPM reset: loaded objects are gone, seeds kept)
#   tpm_sim_port      the command port;  tpm_sim_tcti  the TCTI string
# shellcheck shell=bash

TPM_SIM_DIR=${TPM_SIM_DIR:-}

_tpm_sim_dir() {
    echo "${TPM_SIM_DIR:-$TESTDIR/tpm}"
}

tpm_sim_port() {
    cat "$(_tpm_sim_dir)/port"
}

tpm_sim_tcti() {
    echo "swtpm:host=127.0.0.1,port=$(tpm_sim_port)"
}

# Nothing listening on, connected to or lingering on either port?
_tpm_ports_free() {
    local p=$1
    [ -z "$(ss -Htan "( sport = :$p or sport = :$((p + 1)) or dport = :$p or dport = :$((p + 1)) )" 2>/dev/null)" ]
}

_tpm_listening() {
    [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

# Start swtpm on the recorded port; 0 once it accepts connections.
tpm_sim_start() {
    local dir port pid _
    dir=$(_tpm_sim_dir)
    port=$(tpm_sim_port) || return 1
    command -v swtpm >/dev/null || { echo "# swtpm is not installed" >&2; return 1; }
    mkdir -p "$dir/state"
    # Own stdout/stderr: it must not hold the harness's command substitution open.
    swtpm socket --tpm2 \
        --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
        --ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" \
        --tpmstate "dir=$dir/state" \
        --flags not-need-init,startup-clear \
        </dev/null >>"$dir/swtpm.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/swtpm.pid"
    for _ in $(seq 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$dir/swtpm.pid"
            return 1
        fi
        if _tpm_listening "$port"; then
            declare -F psd_track_pid >/dev/null && psd_track_pid "$pid"
            return 0
        fi
        sleep 0.1
    done
    echo "# swtpm did not listen on port $port within 10 s" >&2
    kill -KILL "$pid" 2>/dev/null
    rm -f "$dir/swtpm.pid"
    return 1
}

tpm_sim_stop() {
    local dir pid _
    dir=$(_tpm_sim_dir)
    [ -f "$dir/swtpm.pid" ] || return 0
    pid=$(cat "$dir/swtpm.pid")
    rm -f "$dir/swtpm.pid"
    # No longer ours to stop at exit: the PID may be reused.
    PSD_TRACKED_PIDS=" ${PSD_TRACKED_PIDS:-} "
    PSD_TRACKED_PIDS=${PSD_TRACKED_PIDS// $pid / }
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    return 0
}

tpm_sim_restart() {
    tpm_sim_stop && tpm_sim_start
}

backend_setup() {
    local dir port _
    dir=$(_tpm_sim_dir)
    mkdir -p "$dir/state" || return 1
    # Random even ports, checked with ss; swtpm failing to bind means try again.
    for _ in $(seq 20); do
        port=$((20000 + 2 * (RANDOM % 15000)))
        _tpm_ports_free "$port" || continue
        echo "$port" >"$dir/port"
        if tpm_sim_start; then
            echo "[tpm]"
            echo "tcti = swtpm:host=127.0.0.1,port=$port"
            return 0
        fi
    done
    echo "# could not start swtpm (see $dir/swtpm.log)" >&2
    return 1
}

backend_teardown() {
    tpm_sim_stop
}
