# SPDX-License-Identifier: Apache-2.0
# Sourced by the bench scripts, from the top of the source tree.
# shellcheck shell=bash

# bench_env [BUILDDIR]: export what test/lib/testenv.sh and the bench programs
# read: TEST_SRCDIR (this directory), TEST_BUILDDIR (default ./build), the
# built parsecd, parsec-cli and parsec.so in it, and the folder parsecd loads
# its backend modules from (PARSECD_MODULE_DIR).
bench_env() {
    TEST_SRCDIR=$PWD
    TEST_BUILDDIR=$(cd "${1:-build}" 2>/dev/null && pwd) || {
        echo "build directory ${1:-build} not found" >&2
        return 1
    }
    export TEST_SRCDIR TEST_BUILDDIR
    export PARSECD=$TEST_BUILDDIR/service/parsecd PARSEC_CLI=$TEST_BUILDDIR/cli/parsec-cli
    export PARSECD_MODULE_DIR=$TEST_BUILDDIR/service
    export PARSEC_PROVIDER_MODULE=$TEST_BUILDDIR/provider/parsec.so OPENSSL_MODULES=$TEST_BUILDDIR/provider
}
