# SPDX-License-Identifier: Apache-2.0
# PKCS#11 backend for the shared harness: a SoftHSM2 token of its own inside
# $TESTDIR (own SOFTHSM2_CONF, own token directory), labelled "parsec".
# shellcheck shell=bash
#
# psd_start runs backend_setup in a command substitution (a subshell), so
# everything parsecd and the test script must inherit is exported here, when
# psd_start sources this file.
#
# Exported for tests:
#   SOFTHSM2_CONF          the token's SoftHSM2 configuration
#   PSD_PKCS11_MODULE      the PKCS#11 module (override before psd_start to use another)
#   PSD_PKCS11_TOKEN       token label ("parsec")
#   PSD_PKCS11_PIN         user PIN;  PSD_PKCS11_PIN_FILE  file holding it
#   PSD_PKCS11_SO_PIN      security-officer PIN
# Knob: PSD_PKCS11_EXTRA   extra lines for the [pkcs11] section (e.g. "sessions = 2").

: "${TESTDIR:?backend-pkcs11.sh needs TESTDIR (call psd_test_init first)}"
: "${PSD_PKCS11_MODULE:=/usr/lib/softhsm/libsofthsm2.so}"
PSD_PKCS11_DIR="$TESTDIR/softhsm"
PSD_PKCS11_TOKEN=parsec
PSD_PKCS11_PIN=parsec-user-1234
PSD_PKCS11_SO_PIN=parsec-so-5678
PSD_PKCS11_PIN_FILE="$PSD_PKCS11_DIR/user.pin"
SOFTHSM2_CONF="$PSD_PKCS11_DIR/softhsm2.conf"
export SOFTHSM2_CONF PSD_PKCS11_MODULE PSD_PKCS11_TOKEN PSD_PKCS11_PIN PSD_PKCS11_SO_PIN \
    PSD_PKCS11_PIN_FILE PSD_PKCS11_DIR

# pkcs11-tool on the test token, logged in: psd_pkcs11_tool ARGS...
psd_pkcs11_tool() {
    pkcs11-tool --module "$PSD_PKCS11_MODULE" --token-label "$PSD_PKCS11_TOKEN" \
        --login --pin "$PSD_PKCS11_PIN" "$@"
}

backend_setup() {
    # Everything on stdout becomes the config section: diagnostics go to stderr.
    if [ ! -r "$PSD_PKCS11_MODULE" ]; then
        echo "# PKCS#11 module $PSD_PKCS11_MODULE is missing (install softhsm2)" >&2
        return 1
    fi
    command -v softhsm2-util >/dev/null || { echo "# softhsm2-util is missing" >&2; return 1; }
    # Idempotent: a second psd_start in the same test keeps the token and its keys.
    if [ ! -f "$PSD_PKCS11_DIR/.initialized" ]; then
        mkdir -p "$PSD_PKCS11_DIR/tokens" || return 1
        chmod 700 "$PSD_PKCS11_DIR"
        {
            echo "directories.tokendir = $PSD_PKCS11_DIR/tokens"
            echo "objectstore.backend = file"
            echo "log.level = ERROR"
            echo "slots.removable = false"
        } >"$SOFTHSM2_CONF"
        if ! softhsm2-util --init-token --free --label "$PSD_PKCS11_TOKEN" \
            --pin "$PSD_PKCS11_PIN" --so-pin "$PSD_PKCS11_SO_PIN" >"$PSD_PKCS11_DIR/init.log" 2>&1; then
            echo "# softhsm2-util --init-token failed:" >&2
            sed 's/^/#   /' "$PSD_PKCS11_DIR/init.log" >&2
            return 1
        fi
        # A trailing newline, as `echo PIN > file` leaves it: parsecd strips it.
        (umask 077 && echo "$PSD_PKCS11_PIN" >"$PSD_PKCS11_PIN_FILE") || return 1
        touch "$PSD_PKCS11_DIR/.initialized"
    fi
    echo "[pkcs11]"
    echo "module = $PSD_PKCS11_MODULE"
    echo "token_uri = pkcs11:token=$PSD_PKCS11_TOKEN"
    echo "pin_file = $PSD_PKCS11_PIN_FILE"
    [ -n "${PSD_PKCS11_EXTRA:-}" ] && printf '%s\n' "$PSD_PKCS11_EXTRA"
    return 0
}

backend_teardown() {
    # The token lives in $TESTDIR, which the harness removes; nothing runs in the background.
    :
}
