# SPDX-License-Identifier: Apache-2.0
# Shared shell harness for parsec-provider tests. Source it; see
# docs/testing.md ("test/lib/testenv.sh") for the interface.
# shellcheck shell=bash

: "${TEST_SRCDIR:?TEST_SRCDIR must point at the source tree (meson sets it)}"
: "${PARSECD:=${TEST_BUILDDIR:-}/service/parsecd}"

PSD_LIB_DIR="$TEST_SRCDIR/test/lib"
PSD_PASSED=0
PSD_FAILED=0
PSD_TRACKED_PIDS=""

psd_track_pid() {
    PSD_TRACKED_PIDS="$PSD_TRACKED_PIDS $1"
}

# Stop a PID politely, then firmly; never waits more than ~5 s.
psd_stop_pid() {
    local pid=$1 _
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

psd_cleanup() {
    local pid
    [ -n "${PSD_PID:-}" ] && psd_stop_pid "$PSD_PID"
    if declare -F backend_teardown >/dev/null; then backend_teardown || true; fi
    for pid in $PSD_TRACKED_PIDS; do psd_stop_pid "$pid"; done
    if [ -n "${TESTDIR:-}" ] && [ -d "$TESTDIR" ]; then
        if [ "${PSD_KEEP_TESTDIR:-0}" = 1 ] || [ "$PSD_FAILED" -gt 0 ]; then
            echo "# test directory kept: $TESTDIR" >&2
            [ -f "$TESTDIR/parsecd.log" ] && { echo "# --- tail of parsecd.log" >&2; tail -n 30 "$TESTDIR/parsecd.log" >&2; }
        else
            rm -rf "$TESTDIR"
        fi
    fi
}

psd_test_init() {
    TESTDIR=$(mktemp -d "${TMPDIR:-/tmp}/parsec-test.XXXXXX")
    export TESTDIR
    trap psd_cleanup EXIT
    trap 'exit 130' INT TERM
}

# ---- assertions -------------------------------------------------------

_psd_result() {
    local rc=$1 desc=$2
    if [ "$rc" = 0 ]; then
        PSD_PASSED=$((PSD_PASSED + 1))
        echo "ok - $desc"
    else
        PSD_FAILED=$((PSD_FAILED + 1))
        echo "not ok - $desc"
    fi
}

# ok "desc" cmd...: passes if cmd exits 0. Output goes to $TESTDIR/last.out.
ok() {
    local desc=$1 rc
    shift
    "$@" >"$TESTDIR/last.out" 2>&1
    rc=$?
    [ "$rc" != 0 ] && { echo "# '$*' exited $rc:"; sed 's/^/#   /' "$TESTDIR/last.out" | tail -n 15; }
    _psd_result "$rc" "$desc"
    return "$rc"
}

# fails "desc" cmd...: passes if cmd exits non-zero without being killed by a signal.
fails() {
    local desc=$1 rc
    shift
    "$@" >"$TESTDIR/last.out" 2>&1
    rc=$?
    if [ "$rc" = 0 ]; then
        echo "# '$*' succeeded but should have failed"
        _psd_result 1 "$desc"
        return 1
    elif [ "$rc" -ge 128 ]; then
        echo "# '$*' died with signal $((rc - 128)):"
        sed 's/^/#   /' "$TESTDIR/last.out" | tail -n 15
        _psd_result 1 "$desc"
        return 1
    fi
    _psd_result 0 "$desc"
}

# check "desc" expr...: like ok, for test(1)-style expressions or any command.
check() {
    local desc=$1 rc
    shift
    if [ "$1" = "[" ]; then "$@"; else "$@" >/dev/null 2>&1; fi
    rc=$?
    _psd_result "$rc" "$desc"
    return "$rc"
}

# Last command's output, for follow-up greps: last_output_has PATTERN
last_output_has() {
    grep -q -- "$1" "$TESTDIR/last.out"
}

psd_summary() {
    echo "$PSD_PASSED passed, $PSD_FAILED failed"
    [ "$PSD_FAILED" = 0 ] && [ "$PSD_PASSED" -gt 0 ]
}

# ---- parsecd ------------------------------------------------------------

_psd_write_conf() {
    local backend=$1 section=$2
    {
        echo "[listener]"
        echo "socket_path = $TESTDIR/parsec.sock"
        echo "socket_mode = 0666"
        echo "timeout_ms = ${PSD_TIMEOUT_MS:-3000}"
        [ -n "${PSD_LISTENER_CONF:-}" ] && printf '%s\n' "$PSD_LISTENER_CONF"
        echo "[core]"
        echo "threads = ${PSD_THREADS:-4}"
        echo "body_len_limit = ${PSD_BODY_LIMIT:-1048576}"
        echo "log_level = ${PSD_LOG_LEVEL:-info}"
        echo "providers = ${PSD_PROVIDERS:-$backend}"
        [ -n "${PSD_EXTRA_CONF:-}" ] && printf '%s\n' "$PSD_EXTRA_CONF"
        echo "[authenticator]"
        echo "type = ${PSD_AUTH:-unix-peer-credentials}"
        [ -n "${PSD_ADMINS:-}" ] && echo "admins = $PSD_ADMINS"
        echo "[key_store]"
        echo "path = $TESTDIR/keys.sqlite3"
        printf '%s\n' "$section"
    } >"$TESTDIR/parsecd.conf"
}

# Wait until parsecd answers on its socket (or died).
_psd_wait_ready() {
    local _
    for _ in $(seq 100); do
        if ! kill -0 "$PSD_PID" 2>/dev/null; then
            echo "# parsecd exited during start-up:" >&2
            sed 's/^/#   /' "$TESTDIR/parsecd.log" >&2
            return 1
        fi
        # A socket file may be left over from a killed parsecd: only an answer counts.
        if [ -S "$TESTDIR/parsec.sock" ]; then
            [ -x "${PARSEC_CLI:-}" ] || return 0
            "$PARSEC_CLI" -e "unix:$TESTDIR/parsec.sock" -t 1000 ping >/dev/null 2>&1 && return 0
        fi
        sleep 0.1
    done
    echo "# parsecd did not create its socket in 10 s" >&2
    return 1
}

_psd_launch() {
    "$PARSECD" -c "$TESTDIR/parsecd.conf" -f 2>>"$TESTDIR/parsecd.log" &
    PSD_PID=$!
    export PSD_PID
    _psd_wait_ready
}

psd_start() {
    local backend=${1:-${TEST_BACKEND:-software}} section
    [ -x "$PARSECD" ] || { echo "# parsecd not built at $PARSECD" >&2; return 1; }
    [ -f "$PSD_LIB_DIR/backend-$backend.sh" ] || { echo "# unknown backend '$backend'" >&2; return 1; }
    # shellcheck source=/dev/null
    . "$PSD_LIB_DIR/backend-$backend.sh"
    # Run in this shell (not a subshell) so its exports and psd_track_pid stick.
    backend_setup >"$TESTDIR/backend-section.conf" || { echo "# backend '$backend' setup failed" >&2; return 1; }
    section=$(cat "$TESTDIR/backend-section.conf")
    PSD_BACKEND=$backend
    export PSD_BACKEND
    _psd_write_conf "$backend" "$section"
    export PARSEC_SERVICE_ENDPOINT="unix:$TESTDIR/parsec.sock"
    _psd_launch
}

psd_stop() {
    [ -n "${PSD_PID:-}" ] && psd_stop_pid "$PSD_PID"
    PSD_PID=""
}

psd_restart() {
    psd_stop
    _psd_launch
}

psd_kill9() {
    [ -n "${PSD_PID:-}" ] || return 0
    kill -KILL "$PSD_PID" 2>/dev/null
    wait "$PSD_PID" 2>/dev/null
    PSD_PID=""
    return 0
}

# ---- OpenSSL configuration for the provider ------------------------------

# pprov_preload PROGRAM...: a sanitizer build of parsec.so loads into an
# uninstrumented program only with the runtime preloaded. With
# PPROV_PRELOAD=$(gcc -print-file-name=libasan.so) this puts wrappers that
# preload it for each PROGRAM first in PATH (nothing else gets it: not the
# harness's shells or daemons); without it, it does nothing.
pprov_preload() {
    local prog
    [ -n "${PPROV_PRELOAD:-}" ] || return 0
    mkdir -p "$TESTDIR/bin" && chmod 755 "$TESTDIR/bin"
    for prog in "$@"; do
        printf '#!/bin/sh\nLD_PRELOAD=%s exec %s "$@"\n' "$PPROV_PRELOAD" "$(command -v "$prog")" >"$TESTDIR/bin/$prog"
        chmod 755 "$TESTDIR/bin/$prog"
    done
    PATH="$TESTDIR/bin:$PATH"
}


# pprov_openssl_conf [app_name]: default + parsec providers, written to $TESTDIR/openssl.cnf.
pprov_openssl_conf() {
    local app=${1:-}
    {
        echo "openssl_conf = openssl_init"
        echo "[openssl_init]"
        echo "providers = provider_sect"
        echo "[provider_sect]"
        echo "default = default_sect"
        echo "parsec = parsec_sect"
        echo "[default_sect]"
        echo "activate = 1"
        echo "[parsec_sect]"
        echo "module = $PARSEC_PROVIDER_MODULE"
        echo "activate = 1"
        echo "endpoint = $PARSEC_SERVICE_ENDPOINT"
        if [ -n "$app" ]; then
            echo "auth = direct"
            echo "app_name = $app"
        fi
    } >"$TESTDIR/openssl.cnf"
    OPENSSL_CONF="$TESTDIR/openssl.cnf"
    export OPENSSL_CONF
}

# wait_for_line PATTERN FILE: up to 10 s for a line matching PATTERN (a log
# written by a daemon in the background).
wait_for_line() {
    local _
    for _ in $(seq 100); do
        grep -q -- "$1" "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# file_lacks PATTERN FILE: no line of FILE matches PATTERN.
file_lacks() { ! grep -q -- "$1" "$2"; }
