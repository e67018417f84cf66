#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, as CI runs it: installs the Debian packages, builds,
# runs every test (all backends), then the unit, service, backend and
# provider suites and the fuzz corpora again under ASan + UBSan, and the
# keep-alive and slow-client tests under ThreadSanitizer.
#   sudo scripts/test.sh            # everything
#   scripts/test.sh --no-sanitize   # skip the sanitizer pass
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=1
[ "${1:-}" = "--no-sanitize" ] && sanitize=0

sh scripts/install-deps.sh

builddir=${BUILDDIR:-build}
# Warnings are errors here (CI); a packager's build keeps werror off (the default).
[ -d "$builddir" ] || meson setup -Dwerror=true "$builddir"
ninja -C "$builddir"
meson test -C "$builddir" --print-errorlogs --num-processes 2

if [ "$sanitize" = 1 ]; then
    asandir=${BUILDDIR:-build}-asan
    [ -d "$asandir" ] || meson setup -Dwerror=true "$asandir" -Db_sanitize=address,undefined -Db_lundef=false
    ninja -C "$asandir"
    # The openssl CLI is not instrumented: the provider tests preload the ASan
    # runtime into the openssl commands only (PPROV_PRELOAD, docs/provider.md).
    PPROV_PRELOAD=$(gcc -print-file-name=libasan.so) \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        meson test -C "$asandir" --print-errorlogs --num-processes 2 \
        --suite unit --suite service --suite pkcs11 --suite tpm --suite provider --suite cli \
        --suite parity --suite p11module --suite fuzz --no-suite oss-fuzz

    # Thread races in the listener, the kept connections and busy-polling:
    # parsecd and the keep-alive clients under ThreadSanitizer.
    tsandir=${BUILDDIR:-build}-tsan
    [ -d "$tsandir" ] || meson setup -Dwerror=true "$tsandir" -Db_sanitize=thread -Db_lundef=false \
        -Dbench=false
    ninja -C "$tsandir" service/parsecd test/keepalive/keepalive_client \
        test/service/psd_slowclient test/unit/test_busy_poll
    PSD_SANITIZER=thread TSAN_OPTIONS=halt_on_error=1 \
        meson test -C "$tsandir" --no-rebuild --print-errorlogs \
        keepalive service-slowclients test_busy_poll
fi
