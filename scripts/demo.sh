#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The main demo: build, start a throwaway parsecd in a temporary directory,
# create keys in it, sign with them, verify the signatures with plain
# `openssl`, use a key through the OpenSSL provider, and stop the service.
#   sudo scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
builddir=${BUILDDIR:-build}
[ -d "$builddir" ] || meson setup "$builddir" >/dev/null
ninja -C "$builddir" >/dev/null

TEST_BUILDDIR=$(cd "$builddir" && pwd)
export TEST_SRCDIR=$PWD TEST_BUILDDIR
export PARSECD=$TEST_BUILDDIR/service/parsecd
export PARSEC_PROVIDER_MODULE=$TEST_BUILDDIR/provider/parsec.so
cli=$TEST_BUILDDIR/cli/parsec-cli
. test/lib/testenv.sh
psd_test_init
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Start parsecd (software backend) in $TESTDIR"
PSD_AUTH=direct psd_start software
echo "endpoint: $PARSEC_SERVICE_ENDPOINT (pid $PSD_PID)"
run "$cli" ping
run "$cli" list-providers

step "Create an ECDSA P-256 key and an RSA-2048 PSS key inside the service"
run "$cli" --app demo create-ecc-key -k demo-ec
run "$cli" --app demo create-rsa-key -k demo-rsa --sign-pss
run "$cli" --app demo list-keys

step "Sign a file in the service, verify with openssl and the exported public key"
echo "hello from parsec-provider" >"$TESTDIR/msg.txt"
run "$cli" --app demo export-public-key -k demo-ec >"$TESTDIR/ec.pub.pem"
run "$cli" --app demo sign -k demo-ec -i "$TESTDIR/msg.txt" -o "$TESTDIR/msg.ec.sig"
run openssl dgst -sha256 -verify "$TESTDIR/ec.pub.pem" -signature "$TESTDIR/msg.ec.sig" "$TESTDIR/msg.txt"
run "$cli" --app demo export-public-key -k demo-rsa >"$TESTDIR/rsa.pub.pem"
run "$cli" --app demo sign -k demo-rsa -i "$TESTDIR/msg.txt" -o "$TESTDIR/msg.rsa.sig"
run openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
    -verify "$TESTDIR/rsa.pub.pem" -signature "$TESTDIR/msg.rsa.sig" "$TESTDIR/msg.txt"

step "Use the same key from any OpenSSL program through the provider"
pprov_openssl_conf demo
run openssl req -new -x509 -key parsec:demo-ec -subj "/CN=parsec demo" -days 1 -out "$TESTDIR/demo.crt"
run openssl x509 -in "$TESTDIR/demo.crt" -noout -subject -issuer -dates
OPENSSL_CONF=/dev/null run openssl verify -CAfile "$TESTDIR/demo.crt" "$TESTDIR/demo.crt"

step "Stop parsecd"
psd_stop
echo "demo finished: the private keys never left the service."
PSD_PASSED=1
