#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# New TLS connections per second that real servers complete with their key
# in the Parsec service (parsecd, software backend, through parsec.so)
# versus the same key in a PEM file. Not a test: prints a table (bench/run.sh
# runs it with BENCH_TLS=1).
#
#   bench/tls/tls_server_rate.sh [BUILDDIR]          (default: ./build)
#   env: SECONDS_PER_RUN=2 (whole seconds, openssl s_time -time)
#        TLS_ROUNDS=2 (alternating rounds; the fastest run of each server counts)
#        TLS_VERSION=tls1_3|tls1_2 (default tls1_3)
#
# The same key both ways: generated with openssl genpkey into a PEM file and
# imported into parsecd (parsec-cli import-key), so both servers present the
# same certificate. Servers: openssl s_server -www, and nginx configured as
# examples/nginx.conf (two workers). The client is openssl s_time -new (one
# connection at a time, a full handshake each, no session reuse) without
# the provider. Key exchange: ECDHE (X25519 in TLS 1.3, ECDHE suites in
# TLS 1.2); signatures: RSA-2048 PSS and ECDSA P-256. "CPU ms/conn" is the
# server's processes plus parsecd, from utime+stime in /proc/PID/stat
# (clock ticks: coarse, hence whole seconds per run).
set -u
cd "$(dirname "$0")/../.." || exit 1
. bench/bench-env.sh
bench_env "${1:-build}" || exit 1
export TEST_BACKEND=software
SECS=${SECONDS_PER_RUN:-2}
ROUNDS=${TLS_ROUNDS:-2}
VERSION=${TLS_VERSION:-tls1_3}
NGINX=${NGINX:-/usr/sbin/nginx}
case $SECS in '' | *[!0-9]* | 0) echo "SECONDS_PER_RUN: whole seconds (s_time -time), not '$SECS'" >&2; exit 1 ;; esac
case $ROUNDS in '' | *[!0-9]* | 0) echo "TLS_ROUNDS: a positive integer, not '$ROUNDS'" >&2; exit 1 ;; esac
case $VERSION in
tls1_3) CLIENT_OPTS=(-tls1_3) ;;
tls1_2) CLIENT_OPTS=(-tls1_2 -cipher 'ECDHE+AESGCM') ;;
*) echo "TLS_VERSION: tls1_3 or tls1_2, not '$VERSION'" >&2; exit 1 ;;
esac
[ -x "$NGINX" ] || { echo "nginx not installed at $NGINX (Debian package nginx-light)" >&2; exit 1; }
. test/lib/testenv.sh
. test/tls/tls-lib.sh
PSD_LOG_LEVEL=info tls_setup >/dev/null
T=$TESTDIR
fail() { echo "tls_server_rate: $*" >&2; exit 1; }

# ticks PID...: utime + stime of the processes, in clock ticks.
ticks() {
    local pid sum=0
    for pid in "$@"; do
        sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
    done
    echo "$sum"
}

# measure PORT PID...: "conn_per_s cpu_ms_per_conn" of s_time against PORT,
# CPU of the PIDs (the server's processes and parsecd) over the run.
measure() {
    local port=$1 out a b n secs
    shift
    a=$(ticks "$@")
    out=$(OPENSSL_CONF=/dev/null openssl s_time -connect "127.0.0.1:$port" -new -time "$SECS" \
        -CAfile "$T/ca.crt" -verify 1 "${CLIENT_OPTS[@]}" 2>&1) || { echo "$out" >&2; return 1; }
    b=$(ticks "$@")
    # "N connections in S real seconds, ..."
    read -r n secs < <(echo "$out" | sed -n 's/^\([0-9]*\) connections in \([0-9.]*\) real seconds.*/\1 \2/p')
    if [ -z "${n:-}" ] || [ "$n" = 0 ]; then
        echo "$out" >&2
        return 1
    fi
    awk -v n="$n" -v s="$secs" -v t=$((b - a)) -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.1f %.2f\n", n / (s > 0 ? s : 1), 1000 * t / hz / n }'
}

# row LABEL PARSEC_RESULT FILE_RESULT
row() {
    local hp cp hf cf
    read -r hp cp <<<"$2"
    read -r hf cf <<<"$3"
    awk -v l="$1" -v hp="$hp" -v cp="$cp" -v hf="$hf" -v cf="$cf" \
        'BEGIN { printf "| %s | %.0f | %.2f | %.0f | %.2f | %.2f |\n", l, hp, cp, hf, cf, hp / hf }'
}

# keys: name | label | parsec-cli import-key policy | genpkey options | req options
KEYS="rsa|RSA-2048 PSS|--sign-pss --hash any|-algorithm RSA -pkeyopt rsa_keygen_bits:2048|-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
ec|ECDSA P-256|--hash any|-algorithm EC -pkeyopt ec_paramgen_curve:P-256|"
N=$T/nginx
mkdir -p "$N/www" "$N/tmp"
chmod 711 "$T" # nginx's workers (www-data) reach the service socket and the files
echo ok >"$N/www/index.html"
while IFS='|' read -r name label policy genopts reqopts; do
    # shellcheck disable=SC2086 # option lists
    sw_openssl genpkey $genopts -out "$N/$name.key" 2>/dev/null ||
        fail "openssl genpkey ($label) failed"
    # shellcheck disable=SC2086
    tls_parsec_cli import-key -k "bench-tls-$name" -i "$N/$name.key" $policy >/dev/null ||
        fail "parsec-cli import-key ($label) failed"
    tls_key_ref "bench-tls-$name" "$N/$name.ref.pem" >/dev/null 2>&1 ||
        fail "no key-reference file for bench-tls-$name"
    # The service's key signs the request: proof that it is the same key as the file.
    # shellcheck disable=SC2086
    tls_cert_for_key "$N/$name.ref.pem" localhost "$N/$name.crt" $reqopts >/dev/null 2>&1 ||
        fail "no certificate for the $label key"
    if ! sw_openssl x509 -in "$N/$name.crt" -noout -pubkey | cmp -s - <(sw_openssl pkey -in "$N/$name.key" -pubout); then
        fail "the $label certificate does not carry the imported key"
    fi
done <<<"$KEYS"
chmod -R a+rX "$N"

# keep_best KEY RESULT: RESULT[KEY] = the run with more connections per second.
declare -A RESULT
keep_best() {
    if [ -z "${RESULT[$1]:-}" ] || awk -v a="${2%% *}" -v b="${RESULT[$1]%% *}" 'BEGIN { exit !(a > b) }'; then
        RESULT[$1]=$2
    fi
}

# servers NAME PORT_PARSEC PIDS_PARSEC PORT_FILE PIDS_FILE: the two alternately,
# ROUNDS times; the fastest run of each counts (the least disturbed).
servers() {
    local name=$1 out
    for _ in $(seq "$ROUNDS"); do
        # shellcheck disable=SC2086 # PID lists
        out=$(measure "$2" $3 "$PSD_PID") || fail "s_time against $name (key in parsecd) failed"
        keep_best "$name-parsec" "$out"
        # shellcheck disable=SC2086
        out=$(measure "$4" $5 "$PSD_PID") || fail "s_time against $name (key file) failed"
        keep_best "$name-file" "$out"
    done
}

# s_server: the key by reference through the provider, and the same key's file.
port_hw="" port_sw=""
while IFS='|' read -r name label _; do
    tls_free_port port_hw
    tls_free_port port_sw
    tls_s_server "s_server-$name" "$port_hw" -key "$N/$name.ref.pem" -cert "$N/$name.crt" >/dev/null ||
        fail "s_server with the $label key in parsecd did not start"
    tls_start "s_server-file-$name" "$port_sw" env OPENSSL_CONF=/dev/null openssl s_server \
        -accept "127.0.0.1:$port_sw" -www -key "$N/$name.key" -cert "$N/$name.crt" >/dev/null ||
        fail "s_server with the $label key file did not start"
    servers "s_server-$name" "$port_hw" "$(eval echo "\$TLS_PID_s_server_$name")" \
        "$port_sw" "$(eval echo "\$TLS_PID_s_server_file_$name")"
    tls_stop "s_server-$name"
    tls_stop "s_server-file-$name"
done <<<"$KEYS"

# nginx as examples/nginx.conf (two workers): reference files, and in a second
# nginx on other ports the key files in their place.
# nginx_start VARIANT OPENSSL_CONF: sets NGINX_PIDS to the master's and
# workers' PIDs. Not run in a subshell: the master must be tracked (and
# stopped at exit) by this shell.
nginx_start() {
    local variant=$1 master
    tls_start "nginx-$variant" "$(sed -n 's/^ *listen 127.0.0.1:\([0-9]*\) .*/\1/p' "$N/nginx-$variant.conf" | head -n1)" \
        env OPENSSL_CONF="$2" "$NGINX" -c "$N/nginx-$variant.conf" -g "daemon off; master_process on;" \
        >/dev/null || fail "nginx ($variant keys) did not start (see $TESTDIR/nginx-$variant.log)"
    master=$(eval echo "\$TLS_PID_nginx_$variant")
    for _ in $(seq 50); do [ "$(pgrep -P "$master" | wc -l)" -ge 2 ] && break; sleep 0.1; done
    # env execs nginx: the tracked PID is the master's.
    NGINX_PIDS="$master $(pgrep -P "$master" | tr '\n' ' ')"
}
P_RSA="" P_EC="" P_RSA_FILE="" P_EC_FILE=""
tls_free_port P_RSA
tls_free_port P_EC
tls_nginx_conf "$N" "$P_RSA" "$P_EC"
mv "$N/nginx.conf" "$N/nginx-parsec.conf"
tls_free_port P_RSA_FILE
tls_free_port P_EC_FILE
sed -e "s|$N/rsa.ref.pem|$N/rsa.key|" -e "s|$N/ec.ref.pem|$N/ec.key|" -e "s|$N/nginx.pid|$N/nginx-file.pid|" \
    -e "s|127.0.0.1:$P_RSA |127.0.0.1:$P_RSA_FILE |" -e "s|127.0.0.1:$P_EC |127.0.0.1:$P_EC_FILE |" \
    "$N/nginx-parsec.conf" >"$N/nginx-file.conf"
if ! grep -q "$N/ec.key;" "$N/nginx-file.conf" || ! grep -q ":$P_EC_FILE " "$N/nginx-file.conf"; then
    fail "cannot point the second nginx configuration at the key files and its ports"
fi
nginx_start parsec "$TLS_CNF"
PIDS_HW=$NGINX_PIDS
nginx_start file /dev/null
PIDS_SW=$NGINX_PIDS
servers nginx-rsa "$P_RSA" "$PIDS_HW" "$P_RSA_FILE" "$PIDS_SW"
servers nginx-ec "$P_EC" "$PIDS_HW" "$P_EC_FILE" "$PIDS_SW"
tls_stop nginx-parsec
tls_stop nginx-file

echo "New TLS connections per second ($VERSION, ECDHE; openssl s_time -new, one at a time, ${SECS} s per run, best of $ROUNDS)"
echo "parsecd software backend; $(openssl version | cut -d' ' -f1-2); $(nproc) CPU(s)"
echo
echo "| server, key | Parsec conn/s | Parsec CPU ms/conn | file conn/s | file CPU ms/conn | Parsec / file |"
echo "|---|---:|---:|---:|---:|---:|"
while IFS='|' read -r name label _; do
    row "s_server, $label" "${RESULT[s_server-$name-parsec]}" "${RESULT[s_server-$name-file]}"
done <<<"$KEYS"
while IFS='|' read -r name label _; do
    row "nginx, $label" "${RESULT[nginx-$name-parsec]}" "${RESULT[nginx-$name-file]}"
done <<<"$KEYS"
PSD_PASSED=1
