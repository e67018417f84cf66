# SPDX-License-Identifier: Apache-2.0
# Software backend for the shared harness: nothing to start.
# shellcheck shell=bash
backend_setup() {
    echo "[software]"
}
backend_teardown() {
    :
}
