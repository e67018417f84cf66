#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Messages of the pkcs11 and tpm backends name cause and fix: a refused key
# attribute (CLI explanation and parsecd's info log), a world-readable PIN
# file, SoftHSM2 that cannot initialise, a TPM device that cannot be opened.
# Usage: errors-backends.sh pkcs11|tpm
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
BACKEND=${1:?backend}
CLI=$PARSEC_CLI

has() {
    check "$1" grep -qF -- "$2" "$TESTDIR/last.out" || sed 's/^/#   /' "$TESTDIR/last.out"
}
log_has() {
    check "$1" grep -qF -- "$2" "$TESTDIR/parsecd.log" || tail -n 5 "$TESTDIR/parsecd.log" | sed 's/^/#   /'
}

# run_parsecd_once CONF: parsecd in the foreground with a config it must reject; output to last.out.
run_parsecd_once() {
    timeout 60 "$PARSECD" -c "$1" -f >"$TESTDIR/last.out" 2>&1
}

case $BACKEND in
pkcs11)
    psd_start pkcs11 || { echo "not ok - parsecd (pkcs11) did not start"; psd_summary; exit 1; }
    fails "an exportable key pair is refused by the token" "$CLI" -p pkcs11 create-ecc-key -k exp --exportable
    has "the CLI says the backend makes no exportable keys" "the pkcs11 backend does not create exportable keys: leave out --exportable"
    log_has "parsecd logs why at info" "info: pkcs11: usage 'export' refused: key pairs are created on the token with CKA_EXTRACTABLE=FALSE"
    ok "the same key without --exportable is created" "$CLI" -p pkcs11 create-ecc-key -k exp

    # Case 8: a PIN file others can read is warned about at start.
    psd_stop
    chmod 644 "$PSD_PKCS11_PIN_FILE"
    psd_restart || { echo "not ok - parsecd did not restart"; psd_summary; exit 1; }
    log_has "a world-readable PIN file is warned about" "warn: pkcs11: pin_file $PSD_PKCS11_PIN_FILE is readable by every user (mode 0644)"
    log_has "the warning names the fix" "run chmod 600 $PSD_PKCS11_PIN_FILE"
    psd_stop
    chmod 600 "$PSD_PKCS11_PIN_FILE"
    : >"$TESTDIR/parsecd.log"
    psd_restart || { echo "not ok - parsecd did not restart"; psd_summary; exit 1; }
    check "a 0600 PIN file is not warned about" bash -c "! grep -q 'pin_file.*readable' '$TESTDIR/parsecd.log'"
    psd_stop

    # Case 5: SoftHSM2 without its configuration fails C_Initialize; the message says where to look.
    SOFTHSM2_CONF=$TESTDIR/missing-softhsm2.conf fails "parsecd refuses to start when SoftHSM2 cannot initialise" \
        run_parsecd_once "$TESTDIR/parsecd.conf"
    has "C_Initialize and the module are named" "C_Initialize of module"
    has "the config file and token directory are suggested" "SoftHSM2 must read its configuration (SOFTHSM2_CONF"
    has "the softhsm group is suggested" "add the service user to the softhsm group"
    ;;
tpm)
    psd_start tpm || { echo "not ok - parsecd (tpm) did not start"; psd_summary; exit 1; }
    fails "a 4096-bit RSA key is refused by swtpm" "$CLI" -p tpm create-rsa-key -k big -b 4096 --sign-pkcs1
    has "the CLI names the size and the sizes that work" "the tpm backend does not create 4096-bit RSA keys; it creates: 2048 3072"
    log_has "parsecd logs the TPM's RSA sizes at info" "info: tpm: RSA keys of 4096 bits are not supported: this TPM creates RSA keys of"
    ok "a 3072-bit key is created" "$CLI" -p tpm create-rsa-key -k big -b 3072 --sign-pkcs1
    psd_stop

    # Case 5: a device TCTI that cannot be opened names the errno (and, for EACCES, the tss group).
    sed "s|^tcti = .*|tcti = device:$TESTDIR/no-tpm|" "$TESTDIR/parsecd.conf" >"$TESTDIR/device.conf"
    fails "parsecd refuses a missing TPM device" run_parsecd_once "$TESTDIR/device.conf"
    has "the device path and ENOENT are named" "cannot open TCTI 'device:$TESTDIR/no-tpm': $TESTDIR/no-tpm: No such file or directory (ENOENT)"
    has "the resource manager device is suggested" "device:/dev/tpmrm0"
    # EACCES needs a user that is not root: parsecd as nobody on a device file only root may open.
    : >"$TESTDIR/root-only-tpm" && chmod 600 "$TESTDIR/root-only-tpm"
    chmod 711 "$TESTDIR"
    mkdir "$TESTDIR/as-nobody" && chown nobody "$TESTDIR/as-nobody"
    sed -e "s|^tcti = .*|tcti = device:$TESTDIR/root-only-tpm|" \
        -e "s|^socket_path = .*|socket_path = $TESTDIR/as-nobody/parsec.sock|" \
        -e "s|^path = .*|path = $TESTDIR/as-nobody/keys.sqlite3|" "$TESTDIR/parsecd.conf" >"$TESTDIR/eacces.conf"
    chmod 644 "$TESTDIR/eacces.conf"
    fails "parsecd as another user cannot open a root-only TPM device" \
        setpriv --reuid=nobody --regid=nogroup --clear-groups timeout 60 "$PARSECD" -c "$TESTDIR/eacces.conf" -f
    if grep -qF "Permission denied (EACCES)" "$TESTDIR/last.out"; then
        has "EACCES is named" "Permission denied (EACCES)"
        has "the device's group is suggested" "add the service user to the device's group 'root'"
    else
        # parsecd checks the socket and key store before the backend: say which message came.
        sed 's/^/#   /' "$TESTDIR/last.out"
        check "EACCES on the TPM device is reported" false
    fi
    ;;
*)
    echo "not ok - unknown backend '$BACKEND'"
    exit 1
    ;;
esac

psd_summary
exit $?
