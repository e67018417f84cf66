# SPDX-License-Identifier: Apache-2.0
# Shared by the parity tests that run the openssl command with parsec.so.
# shellcheck shell=bash

# A sanitizer build of parsec.so loads into the uninstrumented openssl only
# with the runtime preloaded (PPROV_PRELOAD, as scripts/test.sh sets it):
# put an openssl wrapper first in PATH that preloads it for openssl alone.
parity_openssl_preload() {
    [ -n "${PPROV_PRELOAD:-}" ] || return 0
    mkdir -p "$TESTDIR/bin"
    printf '#!/bin/sh\nLD_PRELOAD=%s exec %s "$@"\n' "$PPROV_PRELOAD" "$(command -v openssl)" \
        >"$TESTDIR/bin/openssl"
    chmod +x "$TESTDIR/bin/openssl"
    PATH="$TESTDIR/bin:$PATH"
}
