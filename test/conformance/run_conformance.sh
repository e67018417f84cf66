#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Conformance of parsec-provider with parsec-interface 0.27.0, the reference
# Rust implementation of the Parsec protocol (Debian's librust-parsec-interface-dev):
#  1. build test/conformance (Rust) offline with Debian's cargo against
#     /usr/share/cargo/registry (see .cargo/config.toml), into the build dir;
#  2. capture the requests libparsec-client sends (capture_requests) and check
#     parsec-interface decodes each to the intended operation;
#  3. start parsecd (direct, then unix-peer-credentials authentication) and
#     drive it with requests encoded, and responses decoded, by parsec-interface.
# Usage: run_conformance.sh CAPTURE_REQUESTS_PROGRAM
# shellcheck shell=bash
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init

capture=$1
src="$TEST_SRCDIR/test/conformance"
work="$TEST_BUILDDIR/test/conformance"
# Debian's toolchain only (a rustup cargo/rustc earlier in PATH must not be used),
# and a private CARGO_HOME so no user configuration or registry cache leaks in.
export CARGO_HOME="$work/cargo-home"
export CARGO_TARGET_DIR="$work/cargo-target"
export RUSTC=/usr/bin/rustc
export PATH="/usr/bin:/bin:$PATH"
conformance="$CARGO_TARGET_DIR/debug/parsec-conformance"
app="conformance-app"

# Turns the Rust program's "ok - x" / "not ok - x" lines into harness checks.
report() {
    local prefix=$1 file=$2 line
    while IFS= read -r line; do
        case "$line" in
        "ok - "*) check "$prefix${line#ok - }" true ;;
        "not ok - "*) check "$prefix${line#not ok - }" false ;;
        "#"*) echo "$line" ;;
        esac
    done <"$file"
}

mkdir -p "$CARGO_HOME"
ok "conformance program builds offline against Debian's parsec-interface 0.27.0" \
    sh -c "cd '$src' && /usr/bin/cargo build --offline --locked --quiet"

# --- requests written by our C client, decoded by the reference code
mkdir -p "$TESTDIR/captures"
ok "libparsec-client requests captured" "$capture" "$TESTDIR/captures"
"$conformance" parse "$TESTDIR/captures" >"$TESTDIR/parse.out" 2>&1
rc=$?
report "client request " "$TESTDIR/parse.out"
check "parsec-interface decodes every libparsec-client request as intended" [ "$rc" = 0 ]

# --- parsecd driven by the reference code, under both authenticators
for auth in direct unix-peer-credentials; do
    if [ "$auth" = direct ]; then
        export PSD_AUTH=direct PSD_ADMINS=$app
        arg="direct:$app"
    else
        PSD_ADMINS=$(id -u)
        export PSD_AUTH=unix-peer-credentials PSD_ADMINS
        arg=unix
    fi
    rm -f "$TESTDIR/parsec.sock"
    if ! psd_start; then
        check "parsecd starts ($auth)" false
        continue
    fi
    check "parsecd starts ($auth)" true
    "$conformance" service "${PARSEC_SERVICE_ENDPOINT#unix:}" "$arg" >"$TESTDIR/service-$auth.out" 2>&1
    rc=$?
    report "[$auth] " "$TESTDIR/service-$auth.out"
    check "parsecd answers parsec-interface as the reference service does ($auth)" [ "$rc" = 0 ]
    psd_stop
done

psd_summary
exit $?
