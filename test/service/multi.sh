#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Two backends in one parsecd (software first, then PKCS#11): provider order,
# per-provider key placement, ListKeys across backends, and a key used through
# the wrong provider answered with PsaErrorInvalidHandle (1136) like the
# reference service.
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
psd_test_init
CLI=$PARSEC_CLI
echo data >"$TESTDIR/msg"
export PSD_PROVIDERS="software, pkcs11"
psd_start pkcs11 || { echo "not ok - parsecd did not start"; exit 1; }

ok "list providers" "$CLI" list-providers
check "  ... software (1), then PKCS#11 (2), then the core (0)" \
    [ "$(grep -o '^ID: 0x0[0-9]' "$TESTDIR/last.out" | tr '\n' ' ')" = "ID: 0x01 ID: 0x02 ID: 0x00 " ]
ok "a key on the software backend (the default)" "$CLI" create-ecc-key -k soft
ok "a key on the PKCS#11 backend" "$CLI" -p 2 create-ecc-key -k token
ok "list keys" "$CLI" list-keys
check "  ... both, each with its provider" \
    [ "$(grep -c 'provider:  0x01' "$TESTDIR/last.out")" = 1 -a "$(grep -c 'provider:  0x02' "$TESTDIR/last.out")" = 1 ]
ok "sign with the token key through provider 2" "$CLI" -p 2 sign -k token -i "$TESTDIR/msg"
fails "the token key through provider 1" "$CLI" -p 1 sign -k token -i "$TESTDIR/msg"
check "  ... PsaErrorInvalidHandle" last_output_has PsaErrorInvalidHandle
fails "the software key through provider 2" "$CLI" -p 2 export-public-key -k soft
check "  ... PsaErrorInvalidHandle" last_output_has PsaErrorInvalidHandle
fails "the same name on the other backend" "$CLI" -p 2 create-ecc-key -k soft
check "  ... PsaErrorAlreadyExists (one namespace per application)" last_output_has PsaErrorAlreadyExists
ok "restart" psd_restart
ok "the token key still signs" "$CLI" -p 2 sign -k token -i "$TESTDIR/msg"
ok "the software key still signs" "$CLI" -p 1 sign -k soft -i "$TESTDIR/msg"
ok "delete both" "$CLI" -p 2 delete-key -k token
ok "  ..." "$CLI" -p 1 delete-key -k soft

psd_finish
exit $?
