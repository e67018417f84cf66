#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What a key in the Parsec service costs, measured against the limits, in
# one table. Not a test: nothing here asserts a speed (bench/smoke.sh only
# checks that the table comes out).
#
#   bench/run.sh [BUILDDIR]              (default: ./build)
#
# For every row (RSA-2048 PKCS#1/PSS sign, RSA-2048 OAEP decrypt, RSA-3072
# sign, ECDSA P-256/P-384 sign, ECDH P-256, Ping) and 1, 2 and 8 client
# threads it measures ops/s, per-operation latency p50/p99 and CPU time per
# operation (the bench process plus parsecd, or plus the server or swtpm
# the path uses; a baseline in this process counts this process alone) through
#   - OpenSSL's default provider in this process (the software limit),
#   - parsec.so -> parsecd with the software backend (the provider keeps its
#     connection: keep-alive extension, docs/protocol-extensions.md) and the
#     same with one connection per request, as the reference clients do,
#   - SoftHSM2 driven directly (bench/p11_bench, same token and key objects)
#     and parsec.so -> parsecd with the pkcs11 backend on that token,
#   - for the signature rows, C_Sign through the PKCS#11 front-end
#     (bench/p11_bench on libparsec-pkcs11.so) on the same parsecd key as
#     parsec.so, software and pkcs11 backends (its baseline: parsec.so),
#   - Debian's tpm2-openssl provider and parsec.so -> parsecd with the tpm
#     backend, both on the same swtpm (one after the other: swtpm serves one
#     connection at a time; tpm2-openssl 1.1.1 is not thread-safe, so 1 thread),
#   - Ping: a minimal blocking-accept C server and parsecd, one connection
#     per request, and parsecd with keep-alive,
#   - for a few rows, one client thread with parsecd on the same CPU (taskset):
#     the cost of the service without the wake-ups across CPUs that an idle
#     virtual machine makes expensive (docs/performance.md),
#   - software and pkcs11 backends, Ping with keep-alive: the same with the
#     shared-memory hand-off off (clients with PARSEC_CLIENT_SHM_HANDOFF=0:
#     every message over the socket), and again with
#     busy-polling off on both sides (parsecd restarted with [listener]
#     busy_poll_us = 0, clients with PARSEC_CLIENT_BUSY_POLL_US=0), so what polling
#     costs in CPU and gains in latency shows in one run,
# plus parsecd's peak RSS (VmHWM) at rest, under the load and with 64
# clients connected, and its CPU time over an idle period. Each row shows
# its ratio to its baseline measured in the same run. A baseline and the
# path compared with it run alternately, BENCH_ROUNDS times, and the best
# round counts (the least disturbed by anything else on the machine).
#
# Environment:
#   BENCH_SECONDS=0.5       time per cell and round
#   BENCH_ROUNDS=2          alternating rounds per cell (best one reported)
#   BENCH_THREADS="1 2 8"   client thread counts
#   BENCH_TPM_SECONDS       time per TPM cell (default: BENCH_SECONDS)
#   BENCH_ITERATIONS=N      fixed iterations per thread instead of a time (smoke test)
#   BENCH_BACKENDS="software pkcs11 tpm"
#   BENCH_CLIENTS=64        connected clients for the RSS measurement
#   BENCH_LOG=FILE          raw cell lines and diagnostics (default: $TESTDIR/bench.log)
#   BENCH_PKCS11_MODULE     the PKCS#11 front-end measured (default: BUILDDIR/pkcs11/libparsec-pkcs11.so)
#   BENCH_BUSY_POLL_OFF_ROWS=1  the "busy-poll off" rows (0: leave them out)
#   BENCH_TLS=1             also the TLS tables (0: leave them out): bench/tls/tls_server_rate.sh
#                           (s_server and nginx, key in parsecd vs key file, BENCH_TLS_SECONDS=2
#                           whole seconds per run) and bench/tls/tls_handshake_rate.sh (in-process)
#   BENCH_NICE=-10          niceness of the whole run when allowed (root), so that other
#                           work on the machine disturbs the cells less; 0 = as started
set -u
BENCH_NICE=${BENCH_NICE:--10}
if [ "$BENCH_NICE" != 0 ] && [ -z "${BENCH_NICED:-}" ] && [ "$(id -u)" = 0 ]; then
    export BENCH_NICED=1
    exec nice -n "$BENCH_NICE" "$0" "$@"
fi
cd "$(dirname "$0")/.." || exit 1
. bench/bench-env.sh
bench_env "${1:-build}" || exit 1
# Providers are loaded explicitly by the bench programs; the machine's openssl.cnf stays out.
export OPENSSL_CONF=/dev/null
SECS=${BENCH_SECONDS:-0.5}
ROUNDS=${BENCH_ROUNDS:-2}
THREADS=${BENCH_THREADS:-1 2 8}
TPM_SECS=${BENCH_TPM_SECONDS:-$SECS}
ITER=${BENCH_ITERATIONS:-}
BACKENDS=${BENCH_BACKENDS:-software pkcs11 tpm}
CLIENTS=${BENCH_CLIENTS:-64}
POLL_OFF_ROWS=${BENCH_BUSY_POLL_OFF_ROWS:-1}
# What a client needs to stop polling: libparsec-client's variable and the provider's override.
NOPOLL_ENV="env PARSEC_CLIENT_BUSY_POLL_US=0 PARSEC_PROVIDER_BUSY_POLL_US=0"
# ... and to keep every message on the socket (no shared-memory hand-off).
NOSHM_ENV="env PARSEC_CLIENT_SHM_HANDOFF=0 PARSEC_PROVIDER_SHM_HANDOFF=no"
# One user runs every client thread at once (each on its own kept connection).
export PSD_LISTENER_CONF="max_connections_per_uid = 0"
BDIR=$TEST_BUILDDIR/bench
PB=$BDIR/parsec_bench
P11B=$BDIR/p11_bench
P11MOD=${BENCH_PKCS11_MODULE:-$TEST_BUILDDIR/pkcs11/libparsec-pkcs11.so}
PINGB=$BDIR/ping_bench
SYS_MODULES=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
if [ ! -x "$PB" ] || [ ! -x "$PINGB" ]; then
    echo "bench programs not built (ninja -C $TEST_BUILDDIR)" >&2
    exit 1
fi
if [ ! -x "$PARSECD" ] || [ ! -f "$PARSEC_PROVIDER_MODULE" ]; then
    echo "parsecd/parsec.so not built in $TEST_BUILDDIR" >&2
    exit 1
fi

. test/lib/testenv.sh
psd_test_init
RESULTS=$TESTDIR/results
LOG=${BENCH_LOG:-$TESTDIR/bench.log}
: >"$RESULTS"
: >"$LOG"
START_TIME=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# Fails loudly: a missing component is an error, never a silently empty row.
die() { echo "bench: $*" >&2; [ -f "$LOG" ] && tail -n 20 "$LOG" >&2; exit 1; }
note() { echo "# $*" >>"$LOG"; }

# ---- rows ---------------------------------------------------------------------
# id | label | kind | digest | parsec-cli key arguments | default-provider key file | tpm2 genpkey args
ROWS="rsa2048-pkcs1|RSA-2048 PKCS#1 v1.5 sign|sign-pkcs1|sha256|create-rsa-key -b 2048 --sign-pkcs1 --hash any|rsa2048|-algorithm RSA -pkeyopt bits:2048
rsa2048-pss|RSA-2048 PSS sign|sign-pss|sha256|create-rsa-key -b 2048 --sign-pss --hash any|rsa2048|-algorithm RSA -pkeyopt bits:2048
rsa2048-oaep|RSA-2048 OAEP decrypt|decrypt-oaep|sha256|create-rsa-key -b 2048 --oaep --hash sha256|rsa2048|-algorithm RSA -pkeyopt bits:2048
rsa3072-pkcs1|RSA-3072 PKCS#1 v1.5 sign|sign-pkcs1|sha256|create-rsa-key -b 3072 --sign-pkcs1 --hash any|rsa3072|-algorithm RSA -pkeyopt bits:3072
p256-ecdsa|ECDSA P-256 sign|sign-ecdsa|sha256|create-ecc-key -c 256 --hash any|p256|-algorithm EC -pkeyopt group:P-256
p384-ecdsa|ECDSA P-384 sign|sign-ecdsa|sha384|create-ecc-key -c 384 --hash any|p384|-algorithm EC -pkeyopt group:P-384
p256-ecdh|ECDH P-256 derive|derive-ecdh|sha256|create-ecc-key -c 256 --ecdh|p256|-algorithm EC -pkeyopt group:P-256"
row_field() { echo "$ROWS" | awk -F'|' -v id="$1" -v f="$2" '$1 == id { print $f }'; }
ROW_IDS=$(echo "$ROWS" | cut -d'|' -f1)

# ---- cells ------------------------------------------------------------------------

# timing_args SECONDS: --seconds or --iterations
timing_args() {
    if [ -n "$ITER" ]; then echo "--iterations $ITER"; else echo "--seconds $1"; fi
}

# cpu_args PATH: the processes besides the bench program whose CPU time the
# path's cells count: parsecd for the paths through it, swtpm for both TPM
# paths; none for the baselines that run in the bench process.
cpu_args() {
    local pidfile
    case $1 in
    default | p11-direct | minimal-server*) ;;
    tpm2-openssl) ;;
    *) [ -n "${PSD_PID:-}" ] && echo "--cpu-pid $PSD_PID" ;;
    esac
    case $1 in *tpm*)
        pidfile=$TESTDIR/tpm/swtpm.pid
        [ -s "$pidfile" ] && echo "--cpu-pid $(cat "$pidfile")" ;;
    esac
}

# cell OP PATH THREADS SECONDS PROGRAM ARGS...: one measurement, appended to $RESULTS.
cell() {
    local op=$1 path=$2 threads=$3 secs=$4 out
    shift 4
    # shellcheck disable=SC2046 # timing_args and cpu_args print options with their values
    if ! out=$("$@" --op "$op" --path "$path" --threads "$threads" $(timing_args "$secs") $(cpu_args "$path") 2>>"$LOG") ||
        ! echo "$out" | grep -q '^cell '; then
        echo "cell op=$op path=$path threads=$threads ERR" >>"$RESULTS"
        note "FAILED: $op/$path/$threads: $*"
        touch "$TESTDIR/failed"
        return 1
    fi
    echo "$out" >>"$LOG"
    echo "$out" | grep '^cell ' >>"$RESULTS"
}

# na OP PATH REASON: a row this path cannot run (says why in the table).
na() {
    echo "cell op=$1 path=$2 threads=0 NA $3" >>"$RESULTS"
}

# cells OP SECONDS THREADS PATH 'CMD' [PATH 'CMD']...: the paths alternately, round after round.
cells() {
    local op=$1 secs=$2 threads=$3 t i
    shift 3
    local -a spec=("$@")
    for _ in $(seq "$ROUNDS"); do
        for t in $threads; do
            for ((i = 0; i < ${#spec[@]}; i += 2)); do
                # shellcheck disable=SC2086 # each spec command is a word list
                cell "$op" "${spec[i]}" "$t" "$secs" ${spec[i + 1]}
            done
        done
    done
}

# on_cpu0 CMD...: CMD and parsecd both on CPU 0 (a ping-pong with no cross-CPU wake-up).
on_cpu0() {
    local rc
    taskset -apc 0 "$PSD_PID" >/dev/null || return 1
    taskset -c 0 "$@"
    rc=$?
    taskset -apc "0-$(($(nproc) - 1))" "$PSD_PID" >/dev/null
    return "$rc"
}

# ---- parsecd resources -----------------------------------------------------------

hwm_kib() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$PSD_PID/status"; }
# Peak RSS counts from here on (clear_refs 5 resets VmHWM; Linux >= 4.0).
hwm_reset() { echo 5 >"/proc/$PSD_PID/clear_refs" 2>/dev/null || note "cannot reset VmHWM of $PSD_PID"; }
# rss BACKEND WHAT: record VmHWM now.
rss() { echo "rss backend=$1 what=$2 kib=$(hwm_kib)" >>"$RESULTS"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PSD_PID/stat"; }
# idle_cpu BACKEND: parsecd's CPU time over 2 s with nothing to do.
idle_cpu() {
    local a b
    a=$(cpu_ticks)
    sleep 2
    b=$(cpu_ticks)
    echo "idle backend=$1 ticks=$((b - a)) hz=$(getconf CLK_TCK)" >>"$RESULTS"
}

start_backend() {
    local backend=$1
    # Each backend starts from an empty key store (names are unique across backends).
    rm -f "$TESTDIR/keys.sqlite3"
    PSD_LOG_LEVEL=${PSD_LOG_LEVEL:-info} psd_start "$backend" >>"$LOG" 2>&1 ||
        die "parsecd with the $backend backend did not start (see $TESTDIR/parsecd.log)"
    # At rest: started, published its socket, answered one Ping.
    "$PARSEC_CLI" ping >>"$LOG" 2>&1 || die "parsecd ($backend) does not answer"
    sleep 0.2
    rss "$backend" rest
    idle_cpu "$backend"
}

# busy_poll_off: parsecd again, same store and backend section, with busy_poll_us = 0.
busy_poll_off() {
    psd_stop
    PSD_LISTENER_CONF="$PSD_LISTENER_CONF
busy_poll_us = 0" _psd_write_conf "$PSD_BACKEND" "$(cat "$TESTDIR/backend-section.conf")"
    grep -q '^busy_poll_us = 0$' "$TESTDIR/parsecd.conf" || die "cannot write busy_poll_us = 0 into $TESTDIR/parsecd.conf"
    _psd_launch >>"$LOG" 2>&1 ||
        die "parsecd ($PSD_BACKEND) did not start with [listener] busy_poll_us = 0 (see $TESTDIR/parsecd.log; BENCH_BUSY_POLL_OFF_ROWS=0 leaves these rows out)"
}

# parsec_key BACKEND ROW: create the row's key in parsecd; echoes its name.
parsec_key() {
    local name="$1-$2" args
    args=$(row_field "$2" 5)
    # shellcheck disable=SC2086 # args is "subcommand options..."
    if "$PARSEC_CLI" ${args%% *} -k "$name" ${args#* } >>"$LOG" 2>&1; then
        echo "$name"
    else
        note "parsecd ($1) cannot create the $2 key"
        return 1
    fi
}

# ---- default-provider keys (the software limit) -------------------------------------
for k in rsa2048:RSA:rsa_keygen_bits:2048 rsa3072:RSA:rsa_keygen_bits:3072 \
    p256:EC:ec_paramgen_curve:P-256 p384:EC:ec_paramgen_curve:P-384; do
    IFS=: read -r name alg opt val <<<"$k"
    openssl genpkey -algorithm "$alg" -pkeyopt "$opt:$val" -out "$TESTDIR/$name.pem" 2>>"$LOG" ||
        die "openssl genpkey $alg failed"
done
default_cmd() { echo "$PB --key $TESTDIR/$(row_field "$1" 6).pem --kind $(row_field "$1" 3) --md $(row_field "$1" 4)"; }
parsec_cmd() { echo "$PB --provider parsec --key parsec:$2 --kind $(row_field "$1" 3) --md $(row_field "$1" 4)"; }
# p11mod_cmd ROW KEY: C_Sign through libparsec-pkcs11.so on the parsecd key KEY (its only
# token; no login: the service authenticates the caller). Empty for rows that are not C_Sign.
p11mod_cmd() {
    case $(row_field "$1" 3) in sign-*) ;; *) return 0 ;; esac
    if [ ! -x "$P11B" ] || [ ! -f "$P11MOD" ]; then
        die "p11_bench or $P11MOD not built (the module's row needs both)"
    fi
    echo "$P11B --module $P11MOD --token-uri pkcs11: --label $2 --kind $(row_field "$1" 3) --md $(row_field "$1" 4)"
}

# load_clients BACKEND SECONDS KEY: peak RSS of a fresh parsecd (start-up included) with
# BENCH_CLIENTS clients signing at once, each on its own kept connection.
load_clients() {
    psd_restart >>"$LOG" 2>&1 || die "parsecd ($1) did not restart"
    # shellcheck disable=SC2046 # parsec_cmd prints a command line
    cell clients "parsec-$1" "$CLIENTS" "$2" $(parsec_cmd p256-ecdsa "$3")
    rss "$1" clients
}

# ---- software backend (also: Ping) ----------------------------------------------
run_software() {
    local id key modcmd
    start_backend software
    for id in $ROW_IDS; do
        key=$(parsec_key software "$id") || { na "$id" parsec-software "key not supported"; continue; }
        eval "KEY_$(echo "$id" | tr - _)=$key"
    done
    # Ping: each request on its own connection, as the reference clients do; and kept.
    cells ping "$SECS" "$THREADS" minimal-server "$PINGB --minimal-server" parsecd "$PINGB" \
        parsecd-keepalive "$PINGB --keepalive" parsecd-keepalive-noshm "$NOSHM_ENV $PINGB --keepalive"
    # One client on one CPU with parsecd: what is left without wake-ups across CPUs.
    cells ping "$SECS" 1 minimal-server-1cpu "taskset -c 0 $PINGB --minimal-server" \
        parsecd-1cpu "on_cpu0 $PINGB" parsecd-keepalive-1cpu "on_cpu0 $PINGB --keepalive"
    hwm_reset
    for id in $ROW_IDS; do
        key=$(eval echo "\${KEY_$(echo "$id" | tr - _):-}")
        if [ -z "$key" ]; then
            cells "$id" "$SECS" "$THREADS" default "$(default_cmd "$id")"
        else
            # The provider keeps its connection (default); and as the reference clients do.
            modcmd=$(p11mod_cmd "$id" "$key") || exit 1
            cells "$id" "$SECS" "$THREADS" default "$(default_cmd "$id")" \
                parsec-software "$(parsec_cmd "$id" "$key")" \
                parsec-software-1conn "env PARSEC_PROVIDER_KEEPALIVE=no $(parsec_cmd "$id" "$key")" \
                parsec-software-noshm "$NOSHM_ENV $(parsec_cmd "$id" "$key")" \
                ${modcmd:+p11mod-software "$modcmd"}
            case $id in rsa2048-pkcs1 | p256-ecdsa)
                cells "$id" "$SECS" 1 default "$(default_cmd "$id")" \
                    parsec-software-1cpu "on_cpu0 $(parsec_cmd "$id" "$key")" ;;
            esac
        fi
    done
    rss software load
    [ -n "${KEY_p256_ecdsa:-}" ] && load_clients software "$SECS" "$KEY_p256_ecdsa"
    if [ "$POLL_OFF_ROWS" = 1 ]; then
        busy_poll_off
        cells ping "$SECS" "$THREADS" minimal-server "$PINGB --minimal-server" \
            parsecd-keepalive-nopoll "$NOPOLL_ENV $PINGB --keepalive"
        for id in $ROW_IDS; do
            key=$(eval echo "\${KEY_$(echo "$id" | tr - _):-}")
            [ -n "$key" ] && cells "$id" "$SECS" "$THREADS" default "$(default_cmd "$id")" \
                parsec-software-nopoll "$NOPOLL_ENV $(parsec_cmd "$id" "$key")"
        done
    fi
    psd_stop
}

# ---- pkcs11 backend vs SoftHSM2 driven directly -----------------------------------
run_pkcs11() {
    local id key p11cmd modcmd
    [ -x "$P11B" ] || die "p11_bench not built (the pkcs11 backend is off in this build?)"
    start_backend pkcs11
    hwm_reset
    for id in $ROW_IDS; do
        key=$(parsec_key pkcs11 "$id") || { na "$id" parsec-pkcs11 "key not supported"; continue; }
        p11cmd="$P11B --module $PSD_PKCS11_MODULE --token-uri pkcs11:token=$PSD_PKCS11_TOKEN --pin-file $PSD_PKCS11_PIN_FILE --label $key --kind $(row_field "$id" 3) --md $(row_field "$id" 4)"
        # Signature rows: also C_Sign through the front-end, on the same SoftHSM2 object.
        modcmd=$(p11mod_cmd "$id" "$key") || exit 1
        cells "$id" "$SECS" "$THREADS" p11-direct "$p11cmd" parsec-pkcs11 "$(parsec_cmd "$id" "$key")" \
            parsec-pkcs11-noshm "$NOSHM_ENV $(parsec_cmd "$id" "$key")" ${modcmd:+p11mod-pkcs11 "$modcmd"}
        [ "$id" = rsa2048-pkcs1 ] && cells "$id" "$SECS" 1 p11-direct "$p11cmd" \
            parsec-pkcs11-1cpu "on_cpu0 $(parsec_cmd "$id" "$key")"
        eval "KEY_p11_$(echo "$id" | tr - _)=$key"
    done
    rss pkcs11 load
    [ -n "${KEY_p11_p256_ecdsa:-}" ] && load_clients pkcs11 "$SECS" "$KEY_p11_p256_ecdsa"
    if [ "$POLL_OFF_ROWS" = 1 ]; then
        busy_poll_off
        for id in $ROW_IDS; do
            key=$(eval echo "\${KEY_p11_$(echo "$id" | tr - _):-}")
            [ -n "$key" ] || continue
            p11cmd="$P11B --module $PSD_PKCS11_MODULE --token-uri pkcs11:token=$PSD_PKCS11_TOKEN --pin-file $PSD_PKCS11_PIN_FILE --label $key --kind $(row_field "$id" 3) --md $(row_field "$id" 4)"
            cells "$id" "$SECS" "$THREADS" p11-direct "$p11cmd" \
                parsec-pkcs11-nopoll "$NOPOLL_ENV $(parsec_cmd "$id" "$key")"
        done
    fi
    psd_stop
}

# ---- tpm backend vs tpm2-openssl on the same swtpm -----------------------------------
# swtpm serves one connection at a time and parsecd keeps its own open, so
# the two alternate by stopping and starting parsecd around its cells (its
# keys stay loadable: their parent is the same primary key, made again).
# Both sides start every operation from its init call (--per-op-init):
# tpm2-openssl signs only through EVP_DigestSign and keeps a decryption's
# result in its context, so reusing one context is not an option there.
# tpm2-openssl 1.1.1 is not thread-safe (one ESYS context, no lock): 1 thread.
run_tpm() {
    local id key tcti file cmd t ids="" peak=0 kib
    [ -f "$SYS_MODULES/tpm2.so" ] || die "tpm2-openssl is not installed ($SYS_MODULES/tpm2.so)"
    start_backend tpm
    tcti=$(tpm_sim_tcti)
    for id in $ROW_IDS; do
        key=$(parsec_key tpm "$id") || { na "$id" parsec-tpm "key not supported"; continue; }
        eval "KEY_tpm_$(echo "$id" | tr - _)=$key"
        ids="$ids $id"
    done
    psd_stop
    for id in $ROW_IDS; do
        file=$TESTDIR/tpm2-$id.pem
        # shellcheck disable=SC2046 # field 7 is a list of genpkey options
        if ! TPM2OPENSSL_TCTI=$tcti OPENSSL_MODULES=$SYS_MODULES openssl genpkey -provider tpm2 \
            -provider default $(row_field "$id" 7) -out "$file" >>"$LOG" 2>&1; then
            na "$id" tpm2-openssl "genpkey failed"
            rm -f "$file"
            continue
        fi
        cmd="$PB --provider tpm2 --key $file --kind $(row_field "$id" 3) --md $(row_field "$id" 4) --per-op-init"
        # What tpm2-openssl 1.1.1 cannot do (OAEP parameters) is a row it has not, not an error.
        # shellcheck disable=SC2086 # cmd is a command line
        if ! TPM2OPENSSL_TCTI=$tcti OPENSSL_MODULES=$SYS_MODULES $cmd --iterations 1 --threads 1 >>"$LOG" 2>&1; then
            na "$id" tpm2-openssl "tpm2-openssl $(dpkg-query -W -f '${Version}' tpm2-openssl 2>/dev/null) cannot (see log)"
            rm -f "$file"
        fi
    done
    for id in $ROW_IDS; do
        key=$(eval echo "\${KEY_tpm_$(echo "$id" | tr - _):-}")
        file=$TESTDIR/tpm2-$id.pem
        for _ in $(seq "$ROUNDS"); do
            if [ -n "$key" ]; then
                _psd_launch >>"$LOG" 2>&1 || die "parsecd (tpm) did not restart"
                hwm_reset
                for t in $THREADS; do
                    # shellcheck disable=SC2046 # parsec_cmd prints a command line
                    cell "$id" parsec-tpm "$t" "$TPM_SECS" $(parsec_cmd "$id" "$key") --per-op-init
                done
                kib=$(hwm_kib)
                [ "$kib" -gt "$peak" ] && peak=$kib
                psd_stop
            fi
            if [ -f "$file" ]; then
                # shellcheck disable=SC2046 # row fields are split like the other command lines
                TPM2OPENSSL_TCTI=$tcti OPENSSL_MODULES=$SYS_MODULES cell "$id" tpm2-openssl 1 "$TPM_SECS" \
                    "$PB" --provider tpm2 --key "$file" --kind $(row_field "$id" 3) --md $(row_field "$id" 4) --per-op-init
            fi
        done
    done
    echo "rss backend=tpm what=load kib=$peak" >>"$RESULTS"
    if [ -n "${KEY_tpm_p256_ecdsa:-}" ]; then
        load_clients tpm "$TPM_SECS" "$KEY_tpm_p256_ecdsa"
        psd_stop
    fi
}

for b in $BACKENDS; do
    case $b in
    software) run_software ;;
    pkcs11) run_pkcs11 ;;
    tpm) run_tpm ;;
    *) die "unknown backend $b" ;;
    esac
done

# ---- the table ---------------------------------------------------------------------------
ELAPSED=$(($(date +%s) - START_TIME))
echo "parsec-provider benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPU(s) $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(openssl version | cut -d' ' -f1-2)"
if [ -n "$ITER" ]; then
    echo "$ITER iterations per thread and cell, $ROUNDS round(s); load average $LOAD_BEFORE -> $(cut -d' ' -f1-3 /proc/loadavg); $ELAPSED s"
else
    echo "${SECS} s per cell (TPM ${TPM_SECS} s), best of $ROUNDS alternating round(s) (x base: best / best, and in brackets the lowest and highest ratio within one round), nice $(nice); load average $LOAD_BEFORE -> $(cut -d' ' -f1-3 /proc/loadavg); $ELAPSED s"
fi
echo
awk -v threads="$THREADS" -v rows="$(echo "$ROWS" | cut -d'|' -f1,2 | tr '\n' ';')" '
function kv(line, key,   re, m) {
    re = " " key "=[^ ]*"
    if (match(" " line, re)) { m = substr(" " line, RSTART + length(key) + 2, RLENGTH - length(key) - 2); return m }
    return ""
}
BEGIN {
    nt = split(threads, T, " ")
    nr = split(rows, R, ";")
    for (i = 1; i <= nr; i++) { if (R[i] == "") continue; split(R[i], f, "|"); order[++nops] = f[1]; label[f[1]] = f[2] }
    order[++nops] = "ping"; label["ping"] = "Ping"
    np = split("default parsec-software parsec-software-1conn parsec-software-1cpu parsec-software-noshm parsec-software-nopoll p11mod-software p11-direct parsec-pkcs11 parsec-pkcs11-1cpu parsec-pkcs11-noshm parsec-pkcs11-nopoll p11mod-pkcs11 tpm2-openssl parsec-tpm minimal-server parsecd parsecd-keepalive parsecd-keepalive-noshm parsecd-keepalive-nopoll minimal-server-1cpu parsecd-1cpu parsecd-keepalive-1cpu", P, " ")
    base["parsec-software"] = "default"; base["parsec-software-1conn"] = "default"
    base["parsec-software-1cpu"] = "default"; base["parsec-software-nopoll"] = "default"
    base["parsec-pkcs11-nopoll"] = "p11-direct"; base["parsecd-keepalive-nopoll"] = "minimal-server"
    base["parsec-software-noshm"] = "default"; base["parsec-pkcs11-noshm"] = "p11-direct"
    base["parsecd-keepalive-noshm"] = "minimal-server"
    base["parsec-pkcs11"] = "p11-direct"; base["parsec-pkcs11-1cpu"] = "p11-direct"
    base["parsec-tpm"] = "tpm2-openssl"
    base["p11mod-software"] = "parsec-software"; base["p11mod-pkcs11"] = "parsec-pkcs11"
    base["parsecd"] = "minimal-server"; base["parsecd-keepalive"] = "minimal-server"
    base["parsecd-1cpu"] = "minimal-server-1cpu"; base["parsecd-keepalive-1cpu"] = "minimal-server-1cpu"
    pl["default"] = "OpenSSL default provider, in-process"
    pl["parsec-software"] = "parsec.so -> parsecd software"
    pl["parsec-software-1conn"] = "same, 1 connection per request"
    pl["parsec-software-1cpu"] = "same, client and parsecd on one CPU"
    pl["parsec-pkcs11-1cpu"] = "same, client and parsecd on one CPU"
    pl["parsec-software-nopoll"] = "same, busy-poll off"
    pl["parsec-software-noshm"] = "same, shared-memory hand-off off"
    pl["parsec-pkcs11-noshm"] = "same, shared-memory hand-off off"
    pl["parsecd-keepalive-noshm"] = "same, shared-memory hand-off off"
    pl["parsec-pkcs11-nopoll"] = "same, busy-poll off"
    pl["parsecd-keepalive-nopoll"] = "same, busy-poll off"
    pl["minimal-server-1cpu"] = "minimal C server, client and server on one CPU"
    pl["parsecd-1cpu"] = "libparsec-client -> parsecd, on one CPU"
    pl["parsecd-keepalive-1cpu"] = "libparsec-client -> parsecd, keep-alive, on one CPU"
    pl["p11-direct"] = "SoftHSM2 direct (PKCS#11)"
    pl["p11mod-software"] = "libparsec-pkcs11.so C_Sign -> parsecd software (base: parsec.so)"
    pl["p11mod-pkcs11"] = "libparsec-pkcs11.so C_Sign -> parsecd pkcs11 (base: parsec.so)"
    pl["parsec-pkcs11"] = "parsec.so -> parsecd pkcs11 (SoftHSM2)"
    pl["tpm2-openssl"] = "tpm2-openssl -> swtpm"
    pl["parsec-tpm"] = "parsec.so -> parsecd tpm (swtpm)"
    pl["minimal-server"] = "minimal C server (blocking accept)"
    pl["parsecd"] = "libparsec-client -> parsecd"
    pl["parsecd-keepalive"] = "libparsec-client -> parsecd, keep-alive"
}
/^cell / {
    op = kv($0, "op"); p = kv($0, "path"); t = kv($0, "threads")
    seen[op, p] = 1
    if ($0 ~ / ERR/) { if (!((op, p, t) in ops)) err[op, p, t] = 1; last[op, p, t] = 0; next }
    if ($0 ~ / NA /) { na[op, p] = substr($0, index($0, " NA ") + 4); next }
    v = kv($0, "ops_s") + 0
    # The noise of the run itself: the ratio of every round to the base cell measured just before.
    b = base[p]
    if (b != "" && last[op, b, t] > 0 && v > 0) {
        x = v / last[op, b, t]
        if (!((op, p, t) in lo) || x < lo[op, p, t]) lo[op, p, t] = x
        if (!((op, p, t) in hi) || x > hi[op, p, t]) hi[op, p, t] = x
        nratio[op, p, t]++
    }
    last[op, p, t] = v
    if (!((op, p, t) in ops) || v > ops[op, p, t]) {
        ops[op, p, t] = v; p50[op, p, t] = kv($0, "p50_us"); p99[op, p, t] = kv($0, "p99_us")
        cpu[op, p, t] = kv($0, "cpu_us_op")
    }
    delete err[op, p, t]
}
/^rss / { rssv[kv($0, "backend"), kv($0, "what")] = sprintf("%.1f", kv($0, "kib") / 1024); bk[kv($0, "backend")] = 1 }
/^idle / { idle[kv($0, "backend")] = sprintf("%.2f", kv($0, "ticks") / kv($0, "hz")) }
END {
    printf "| operation | path |"
    for (j = 1; j <= nt; j++) printf " %s thr ops/s | p50 us | p99 us | CPU us/op | x base |", T[j]
    printf "\n|---|---|"
    for (j = 1; j <= nt; j++) printf "---:|---:|---:|---:|---:|"
    printf "\n"
    for (i = 1; i <= nops; i++) {
        op = order[i]
        for (k = 1; k <= np; k++) {
            p = P[k]
            if (!((op, p) in seen)) continue
            printf "| %s | %s |", label[op], pl[p]
            if ((op, p) in na) { printf " n/a: %s |", na[op, p]; for (j = 2; j <= 5 * nt; j++) printf " |"; printf "\n"; continue }
            for (j = 1; j <= nt; j++) {
                t = T[j]
                if ((op, p, t) in err) { printf " ERR | | | | |"; continue }
                if (!((op, p, t) in ops)) { printf " - | | | | |"; continue }
                printf " %.0f | %.1f | %.1f | %s |", ops[op, p, t], p50[op, p, t], p99[op, p, t], cpu[op, p, t] == "" ? "-" : sprintf("%.1f", cpu[op, p, t])
                b = base[p]
                if (b == "") printf " base |"
                else if ((op, b, t) in ops && ops[op, b, t] > 0) printf " %.2f%s |", ops[op, p, t] / ops[op, b, t], (nratio[op, p, t] > 1 ? sprintf(" (%.2f-%.2f)", lo[op, p, t], hi[op, p, t]) : "")
                else printf " - |"
            }
            printf "\n"
        }
    }
    nb = split("software pkcs11 tpm", B, " ")
    for (i = 1; i <= nb; i++) {
        b = B[i]
        if (!(b in bk)) continue
        printf "| parsecd peak RSS (VmHWM) | %s backend | rest %s MiB; load %s MiB; %s clients %s MiB; CPU idle 2 s: %s s |", b, rssv[b, "rest"], rssv[b, "load"], clients, rssv[b, "clients"], idle[b]
        for (j = 2; j <= 5 * nt; j++) printf " |"
        printf "\n"
    }
}' clients="$CLIENTS" "$RESULTS"
# TLS servers, key in parsecd vs key file; and the in-process handshake loop (bench/tls/).
if [ "${BENCH_TLS:-1}" = 1 ]; then
    echo
    if ! SECONDS_PER_RUN=${BENCH_TLS_SECONDS:-2} TLS_ROUNDS=$ROUNDS bench/tls/tls_server_rate.sh "$TEST_BUILDDIR" 2>>"$LOG"; then
        echo "bench/tls/tls_server_rate.sh failed: see $LOG" >&2
        touch "$TESTDIR/failed"
    fi
    echo
    if ! SECONDS_PER_RUN=$SECS bench/tls/tls_handshake_rate.sh "$TEST_BUILDDIR" 2>>"$LOG"; then
        echo "bench/tls/tls_handshake_rate.sh failed: see $LOG" >&2
        touch "$TESTDIR/failed"
    fi
fi
if [ -f "$TESTDIR/failed" ]; then
    echo
    echo "some cells failed (ERR): see $LOG" >&2
    PSD_KEEP_TESTDIR=1
    exit 1
fi
exit 0
