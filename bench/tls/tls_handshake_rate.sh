#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# New-session TLS handshakes per second with a key held by the Parsec
# service versus the same kind of key in software. Not a test: prints a
# table for the README.
#
#   bench/tls/tls_handshake_rate.sh [BUILDDIR]        (default: ./build)
#   env: BACKEND=software|pkcs11|tpm (parsecd backend, default software)
#        SECONDS_PER_RUN=5   TLS_VERSION=tls1_3|tls1_2
#
# bench/tls/tls_handshake_bench runs client and server in one process over a
# BIO pair (no network, no session reuse) and times the server side alone:
# "server/s" is what one server thread can do (1 / server time per
# handshake), "loop/s" the whole client+server loop. RSA-2048 keys have the
# RsaPss policy (TLS 1.3 rsa_pss_rsae_sha256), P-256 keys Ecdsa.
set -u
cd "$(dirname "$0")/../.." || exit 1
. bench/bench-env.sh
bench_env "${1:-build}" || exit 1
export TEST_BACKEND=${BACKEND:-software}
BENCH=$TEST_BUILDDIR/bench/tls/tls_handshake_bench
SECS=${SECONDS_PER_RUN:-5}
VERSION=${TLS_VERSION:-tls1_3}
[ -x "$BENCH" ] || { echo "$BENCH not built (ninja -C $TEST_BUILDDIR)" >&2; exit 1; }
. test/lib/testenv.sh
. test/tls/tls-lib.sh
PSD_LOG_LEVEL=info tls_setup >/dev/null
T=$TESTDIR

# field NAME LINE: value of NAME=... in the bench output.
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# row LABEL NAME KIND GENPKEY-ARGS...: one key kind, software then Parsec.
row() {
    local label=$1 name=$2 kind=$3 sigopt=() sw hw
    shift 3
    [ "$kind" = rsa-pss ] && sigopt=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest)
    if ! { tls_create_key "$name" "$kind" && tls_key_ref "$name" "$T/$name.ref.pem" &&
        tls_cert_for_key "$T/$name.ref.pem" localhost "$T/$name.crt" "${sigopt[@]}"; } >/dev/null 2>&1; then
        echo "cannot create the $label key in the service" >&2
        return 1
    fi
    if ! { sw_openssl genpkey "$@" -out "$T/$name.soft.key" 2>/dev/null &&
        tls_cert_for_key "$T/$name.soft.key" localhost "$T/$name.soft.crt" >/dev/null 2>&1; }; then
        echo "cannot create the software $label key" >&2
        return 1
    fi
    sw=$(OPENSSL_CONF=/dev/null "$BENCH" "$T/$name.soft.key" "$T/$name.soft.crt" "$T/ca.crt" "$SECS" "$VERSION") ||
        { echo "software $label run failed" >&2; return 1; }
    hw=$(OPENSSL_CONF=$TLS_CNF "$BENCH" "$T/$name.ref.pem" "$T/$name.crt" "$T/ca.crt" "$SECS" "$VERSION") ||
        { echo "Parsec $label run failed" >&2; return 1; }
    awk -v l="$label" -v ss="$(field server_per_s "$sw")" -v hs="$(field server_per_s "$hw")" \
        -v sm="$(field server_ms "$sw")" -v hm="$(field server_ms "$hw")" \
        -v sl="$(field total_per_s "$sw")" -v hl="$(field total_per_s "$hw")" \
        'BEGIN { printf "| %-8s | %9.0f | %9.0f | %7.2f | %8.2f | %8.2f | %8.0f | %8.0f |\n",
                 l, ss, hs, hs / ss, sm, hm, sl, hl }'
}

echo "New-session TLS handshakes ($VERSION), in-process loop, ${SECS} s per run"
echo "parsecd backend: $TEST_BACKEND; $(openssl version | cut -d' ' -f1-2); $(nproc) CPU(s)"
echo
echo "| key      | server/s  | server/s  | ratio   | ms/hs    | ms/hs    | loop/s   | loop/s   |"
echo "|          | software  | Parsec    | P / sw  | software | Parsec   | software | Parsec   |"
echo "|----------|-----------|-----------|---------|----------|----------|----------|----------|"
row RSA-2048 bench-rsa rsa-pss -algorithm RSA -pkeyopt rsa_keygen_bits:2048
row P-256 bench-p256 ec-p256-ecdsa -algorithm EC -pkeyopt ec_paramgen_curve:P-256
PSD_PASSED=1
