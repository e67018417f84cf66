#!/bin/bash
# New-session TLS handshakes per second of `openssl s_server` with a key held
# by the Parsec service versus the same kind of key in software, measured
# with `openssl s_time -new` over loopback. RSA-2048 (RsaPss policy, TLS 1.3
# RSA-PSS) and ECDSA P-256. Not a test: prints a table for the README.
#
#   bench/tls/tls_handshake_rate.sh [BUILDDIR]        (default: ./build)
#   env: BACKEND=software|pkcs11|tpm  SECONDS_PER_RUN=10  TLS_VERSION=-tls1_3|-tls1_2
set -u
cd "$(dirname "$0")/../.."
TEST_SRCDIR=$PWD
TEST_BUILDDIR=$(cd "${1:-build}" && pwd) || { echo "build directory not found" >&2; exit 1; }
export TEST_SRCDIR TEST_BUILDDIR
export PARSECD=$TEST_BUILDDIR/service/parsecd PARSEC_CLI=$TEST_BUILDDIR/cli/parsec-cli
export PARSEC_PROVIDER_MODULE=$TEST_BUILDDIR/provider/parsec.so OPENSSL_MODULES=$TEST_BUILDDIR/provider
export TEST_BACKEND=${BACKEND:-software}
SECS=${SECONDS_PER_RUN:-10}
VERSION=${TLS_VERSION:--tls1_3}
. test/lib/testenv.sh
. test/tls/tls-lib.sh
tls_setup >/dev/null
T=$TESTDIR

# rate PORT: new-session handshakes per wall-clock second (s_time -new).
rate() {
    local out n secs
    out=$(OPENSSL_CONF=/dev/null timeout $((SECS + 30)) openssl s_time -connect "127.0.0.1:$1" -new \
        "$VERSION" -time "$SECS" -CAfile "$T/ca.crt" 2>/dev/null | grep "connections in .* real seconds")
    n=$(echo "$out" | awk '{print $1}')
    secs=$(echo "$out" | awk '{print $4}')
    if [ -z "$n" ] || [ -z "$secs" ] || [ "$secs" = 0 ]; then echo "0"; return; fi
    awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", n / s }'
}

# measure LABEL HW-KEY-NAME KIND SOFT-GENPKEY-ARGS... : prints one table row.
measure() {
    local label=$1 name=$2 kind=$3 sigopt=() p_hw p_sw r_hw r_sw
    shift 3
    [ "$kind" = rsa-pss ] && sigopt=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest)
    tls_create_key "$name" "$kind" >/dev/null 2>&1 && tls_key_ref "$name" "$T/$name.ref.pem" >/dev/null 2>&1 &&
        tls_cert_for_key "$T/$name.ref.pem" localhost "$T/$name.crt" "${sigopt[@]}" >/dev/null 2>&1 ||
        { echo "cannot create $label key in the service" >&2; return 1; }
    sw_openssl genpkey "$@" -out "$T/$name.soft.key" 2>/dev/null &&
        tls_cert_for_key "$T/$name.soft.key" localhost "$T/$name.soft.crt" >/dev/null 2>&1 ||
        { echo "cannot create the software $label key" >&2; return 1; }
    tls_free_port p_hw && tls_free_port p_sw
    tls_s_server "hw-$name" "$p_hw" -key "$T/$name.ref.pem" -cert "$T/$name.crt" -quiet || return 1
    tls_start "sw-$name" "$p_sw" env OPENSSL_CONF=/dev/null openssl s_server -accept "127.0.0.1:$p_sw" -www \
        -quiet -key "$T/$name.soft.key" -cert "$T/$name.soft.crt" || return 1
    r_sw=$(rate "$p_sw")
    r_hw=$(rate "$p_hw")
    tls_stop "hw-$name"
    tls_stop "sw-$name"
    awk -v l="$label" -v s="$r_sw" -v h="$r_hw" \
        'BEGIN { printf "| %-9s | %12s | %12s | %9s |\n", l, s, h, (s > 0 ? sprintf("%.2f", h / s) : "-") }'
}

echo "TLS handshakes per second, new sessions, openssl s_server -www, s_time $VERSION, ${SECS}s each"
echo "parsecd backend: $TEST_BACKEND; $(openssl version); $(nproc) CPU(s)"
echo
echo "| key       | software /s  | parsec /s    | ratio     |"
echo "|-----------|--------------|--------------|-----------|"
measure RSA-2048 bench-rsa rsa-pss -algorithm RSA -pkeyopt rsa_keygen_bits:2048
measure P-256 bench-p256 ec-p256-ecdsa -algorithm EC -pkeyopt ec_paramgen_curve:P-256
PSD_PASSED=1
