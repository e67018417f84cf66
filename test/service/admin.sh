#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# ListClients and DeleteClient: administrators only; DeleteClient removes
# every key of the client (durably) and succeeds for an unknown client.
# Usage: admin.sh PSD_PROBE
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
PROBE=${1:?usage: admin.sh PSD_PROBE}
psd_test_init
CLI=$PARSEC_CLI
as() { local app=$1; shift; "$CLI" -a direct --app "$app" "$@"; }
clients_are() { [ "$(grep -v '^#' "$TESTDIR/last.out" | tr -s ' \n' ' ' | sed 's/ $//')" = "$*" ]; }
no_keys() { ! grep -q '^\* ' "$TESTDIR/last.out"; }

export PSD_AUTH=direct PSD_ADMINS="boss, root-app"
psd_start software || { echo "not ok - parsecd did not start"; exit 1; }

ok "alice creates two keys" as alice create-ecc-key -k a1
ok "  ..." as alice create-rsa-key -k a2
ok "bob creates a key" as bob create-ecc-key -k b1
ok "boss lists the clients" as boss list-clients
check "  ... alice and bob, sorted, boss (no keys) absent" clients_are alice bob
fails "alice may not list clients" as alice list-clients
check "  ... AdminOperation" last_output_has AdminOperation
fails "alice may not delete bob" as alice delete-client -c bob
check "  ... AdminOperation" last_output_has AdminOperation
PROBE_APP=alice ok "raw: non-admin gets AdminOperation (21)" "$PROBE" admin-denied
ok "raw: anonymous gets NotAuthenticated (19)" "$PROBE" admin-anonymous
PROBE_APP=root-app ok "raw: the second admin of the list may administer" "$PROBE" admin-allowed

ok "boss deletes client alice" as boss delete-client -c alice
ok "alice lists her keys" as alice list-keys
check "  ... none left" no_keys
fails "alice's key is gone" as alice export-public-key -k a1
ok "bob's key is untouched" as bob export-public-key -k b1
ok "boss lists the clients" as boss list-clients
check "  ... only bob" clients_are bob
ok "deleting a client that has no keys succeeds" as boss delete-client -c nobody-at-all
ok "restart" psd_restart
ok "alice lists her keys after the restart" as alice list-keys
check "  ... still none" no_keys
ok "bob's key survived the restart" as bob export-public-key -k b1
ok "alice may create 'a1' again" as alice create-ecc-key -k a1

psd_finish
exit $?
