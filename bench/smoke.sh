#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench-smoke: bench/run.sh with 10 iterations per thread and cell prints
# its table with every row filled for the backends built (arguments).
# Asserts nothing about speed.
set -u
: "${TEST_SRCDIR:?}" "${TEST_BUILDDIR:?}"
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
backends=${*:-software}
out=$TESTDIR/table.txt

# shellcheck disable=SC2016 # $1..$3 belong to the inner sh
ok "bench/run.sh runs 10 iterations per row on: $backends" \
    env BENCH_ITERATIONS=10 BENCH_ROUNDS=1 BENCH_BACKENDS="$backends" BENCH_LOG="$TESTDIR/bench.log" \
    BENCH_TLS=1 BENCH_TLS_SECONDS=1 BENCH_BUSY_POLL_OFF_ROWS=1 \
    sh -c '"$1/bench/run.sh" "$2" >"$3"' sh "$TEST_SRCDIR" "$TEST_BUILDDIR" "$out"
sed 's/^/# /' "$out"
[ -s "$TESTDIR/bench.log" ] && grep -v '^cell ' "$TESTDIR/bench.log" | grep -i -E 'fail|error' | sed 's/^/# log: /' | head -n 20

check "the table has its header, CPU per operation included" \
    grep -q '^| operation | path | 1 thr ops/s | p50 us | p99 us | CPU us/op | x base |' "$out"
# ROW PATH: the row's first thread count has ops/s, p50, p99 and CPU us/op as numbers.
cpu_filled() {
    awk -F'|' -v op="$1" -v p="$2" '
        function t(s) { gsub(/^ +| +$/, "", s); return s }
        t($2) == op && t($3) == p && t($4) ~ /^[0-9]+$/ && t($7) ~ /^[0-9.]+$/ { found = 1 }
        END { exit !found }' "$out"
}
# OP PATH: a PATH ("same, ...") row filled in the pkcs11 block (after "SoftHSM2 direct").
pkcs11_same() {
    awk -F'|' -v op="$1" -v p="$2" '
        function t(s) { gsub(/^ +| +$/, "", s); return s }
        t($2) == op && t($3) == "SoftHSM2 direct (PKCS#11)" { in_p11 = 1 }
        in_p11 && t($2) == op && t($3) == p && t($7) ~ /^[0-9.]+$/ { found = 1 }
        END { exit !found }' "$out"
}
# shellcheck disable=SC2016 # $1 belongs to the inner sh
check "no cell failed" sh -c '! grep -q "| ERR |" "$1"' sh "$out"
row() { grep -q "^| $1 | $2 |" "$out"; }
for op in "RSA-2048 PKCS#1 v1.5 sign" "RSA-2048 PSS sign" "RSA-2048 OAEP decrypt" \
    "RSA-3072 PKCS#1 v1.5 sign" "ECDSA P-256 sign" "ECDSA P-384 sign" "ECDH P-256 derive"; do
    case " $backends " in *" software "*)
        check "row: $op, OpenSSL default provider" row "$op" "OpenSSL default provider, in-process"
        check "row: $op, parsecd software" row "$op" "parsec.so -> parsecd software"
        check "CPU us/op: $op, OpenSSL default provider" cpu_filled "$op" "OpenSSL default provider, in-process"
        check "CPU us/op: $op, parsecd software" cpu_filled "$op" "parsec.so -> parsecd software"
        check "row: $op, parsecd software, busy-poll off" cpu_filled "$op" "same, busy-poll off"
        check "row: $op, parsecd software, hand-off off" cpu_filled "$op" "same, shared-memory hand-off off"
        check "row: $op, parsecd software, 1 connection per request" row "$op" "same, 1 connection per request"
        case $op in *sign)
            check "row: $op, libparsec-pkcs11.so, parsecd software" row "$op" \
                "libparsec-pkcs11.so C_Sign -> parsecd software (base: parsec.so)" ;;
        esac ;;
    esac
    case " $backends " in *" pkcs11 "*)
        check "row: $op, SoftHSM2 direct" row "$op" "SoftHSM2 direct (PKCS#11)"
        check "row: $op, parsecd pkcs11" row "$op" "parsec.so -> parsecd pkcs11 (SoftHSM2)"
        check "CPU us/op: $op, parsecd pkcs11" cpu_filled "$op" "parsec.so -> parsecd pkcs11 (SoftHSM2)"
        check "row: $op, parsecd pkcs11, busy-poll off" pkcs11_same "$op" "same, busy-poll off"
        check "row: $op, parsecd pkcs11, hand-off off" pkcs11_same "$op" "same, shared-memory hand-off off"
        case $op in *sign)
            check "row: $op, libparsec-pkcs11.so, parsecd pkcs11" row "$op" \
                "libparsec-pkcs11.so C_Sign -> parsecd pkcs11 (base: parsec.so)" ;;
        esac ;;
    esac
    case " $backends " in *" tpm "*)
        check "row: $op, tpm2-openssl" row "$op" "tpm2-openssl -> swtpm"
        check "row: $op, parsecd tpm" row "$op" "parsec.so -> parsecd tpm (swtpm)" ;;
    esac
done
case " $backends " in *" software "*)
    check "row: Ping, minimal server" row Ping "minimal C server (blocking accept)"
    check "row: Ping, parsecd" row Ping "libparsec-client -> parsecd"
    check "row: Ping, parsecd with keep-alive" row Ping "libparsec-client -> parsecd, keep-alive"
    check "row: Ping, parsecd with keep-alive on one CPU" row Ping "libparsec-client -> parsecd, keep-alive, on one CPU"
    check "row: Ping, parsecd with keep-alive, busy-poll off" cpu_filled Ping "same, busy-poll off"
    check "row: Ping, parsecd with keep-alive, hand-off off" cpu_filled Ping "same, shared-memory hand-off off" ;;
esac
case " $backends " in *" software "*)
    for key in "RSA-2048 PSS" "ECDSA P-256"; do
        for server in s_server nginx; do
            check "TLS: $server, $key, key in parsecd vs key file" \
                grep -Eq "^\| $server, $key \| [0-9]+ \| [0-9.]+ \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \|$" "$out"
        done
    done
    check "TLS: the in-process handshake table" grep -Eq '^\| P-256 +\| +[0-9]+ \|' "$out" ;;
esac
for b in $backends; do
    check "row: parsecd peak RSS with the $b backend" grep -q "^| parsecd peak RSS (VmHWM) | $b backend | rest [0-9.]* MiB" "$out"
done
psd_summary
exit $?
