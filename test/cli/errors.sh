#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every error a person meets names the cause and the fix (issue "every error
# says what to do", cases 1-4 and 8 on the software backend): the message
# text is checked, not only the exit status.
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
pprov_preload openssl
CLI=$PARSEC_CLI

# has "desc" PATTERN: the last ok/fails output contains PATTERN (fixed string).
has() {
    check "$1" grep -qF -- "$2" "$TESTDIR/last.out" || sed 's/^/#   /' "$TESTDIR/last.out"
}

command -v setpriv >/dev/null || { echo "not ok - setpriv (util-linux) is missing"; exit 1; }
id nobody >/dev/null || { echo "not ok - user nobody is missing"; exit 1; }

psd_start software || { echo "not ok - parsecd did not start"; psd_summary; exit 1; }
SOCK=$TESTDIR/parsec.sock

# ---- case 1: the cause of a failed connect reaches the user -------------------------
fails "connect to a missing socket fails" "$CLI" -e "unix:$TESTDIR/missing.sock" ping
has "the path and errno are named" "cannot connect to $TESTDIR/missing.sock: No such file or directory (ENOENT)"
has "the fix is named (start parsecd / socket_path)" "start parsecd, or set the endpoint"

# A user outside the socket's group: the socket is 0660 root:daemon, the directory passable.
chmod 711 "$TESTDIR"
chgrp daemon "$SOCK" && chmod 660 "$SOCK"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
fails "a user outside the socket's group cannot ping" as_nobody "$CLI" ping
has "EACCES and the socket path are named" "cannot connect to $SOCK: Permission denied (EACCES)"
has "the socket's group is named as the fix" "add the user to the socket's group 'daemon'"
as_nobody "$CLI" ping >/dev/null 2>&1
check "parsec-cli exits 3 for an unreachable service" [ $? -eq 3 ]

pprov_openssl_conf
chmod 644 "$OPENSSL_CONF"
"$CLI" create-ecc-key -k conn-key >/dev/null
fails "openssl as that user cannot load a key" as_nobody openssl pkey -in parsec:conn-key -pubout
has "openssl's error queue names EACCES and the socket" "cannot connect to $SOCK: Permission denied (EACCES)"
has "openssl's error queue names the group" "socket's group 'daemon'"
chmod 666 "$SOCK"

# ---- case 2: authenticator mismatch names the service's authenticator and the setting --
fails "direct auth against a unix-peer service is refused" "$CLI" --auth direct list-keys
has "the service's authenticator is named" "uses unix-peer-credentials authentication"
has "the identity the client used is named" "direct authentication as application 'parsec-tool'"
has "the CLI setting is named" "choose the service's authenticator with --auth"

pprov_openssl_conf someapp
fails "openssl with auth = direct cannot load a unix-peer key" openssl pkey -in parsec:conn-key -pubout
has "openssl names the service's authenticator" "uses unix-peer-credentials authentication, this client used direct authentication as application 'someapp'"
has "openssl names the openssl.cnf setting" "set auth (and app_name) in the parsec provider's openssl.cnf section"

# ---- case 3: NotSupported is explained (CLI) and logged (parsecd) ----------------------
fails "a 1024-bit RSA key is refused" "$CLI" create-rsa-key -k small -b 1024
has "the CLI names the refused size and the ones that work" "does not create 1024-bit RSA keys; it creates: 2048 3072 4096"
check "parsecd logs the refused request and the setting at info" grep -q \
    "info: PsaGenerateKey of key 'small' refused: RSA key pairs of 1024 bits are below \[core\] min_rsa_bits (2048)" \
    "$TESTDIR/parsecd.log"
fails "a 2560-bit RSA key is refused by the backend" "$CLI" create-rsa-key -k odd -b 2560
check "parsecd logs the refused attribute at info" grep -q "info: software: RSA key pairs of 2560 bits refused" "$TESTDIR/parsecd.log"
check "parsecd logs the refused request" grep -q "GenerateKey of key 'odd' refused by the software backend" "$TESTDIR/parsecd.log"

# ---- case 4: admin operations name the setting ----------------------------------------
fails "list-clients by a non-admin is refused" "$CLI" list-clients
has "the status is reported" "(AdminOperation)"
has "the admins setting and identity are named" "add this client, uid $(id -u) (unix-peer-credentials), to 'admins' in [authenticator] of parsecd.conf"

# ---- case 6: genpkey without -propquery: OpenSSL's message, the documented fix ------------
pprov_openssl_conf
fails "genpkey with parsec options but without -propquery fails" \
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt parsec_key_name:gen1 -out "$TESTDIR/gen1.pem"
has "OpenSSL names the parameter it could not set" "Error setting parsec_key_name"
check "docs/provider.md's troubleshooting quotes that message" \
    grep -qF 'Error setting parsec_key_name' "$TEST_SRCDIR/docs/provider.md"
# shellcheck disable=SC2016 # the backquotes are Markdown, matched literally
check "and gives the one-line fix" grep -qF -- '`-propquery provider=parsec` is missing' "$TEST_SRCDIR/docs/provider.md"
ok "the documented fix works" openssl genpkey -propquery provider=parsec -algorithm EC \
    -pkeyopt ec_paramgen_curve:P-256 -pkeyopt parsec_key_name:gen1 -out "$TESTDIR/gen1.pem"

# ---- case 2 (direct): an empty listing names the application --------------------------
psd_stop
PSD_AUTH=direct psd_start software || { echo "not ok - parsecd (direct) did not start"; psd_summary; exit 1; }
ok "a key made as application 'owner'" "$CLI" --app owner create-ecc-key -k owned
ok "list-keys under the default name" "$CLI" list-keys
has "the empty listing names the application used" "No keys for application 'parsec-tool' (direct authentication"
has "and how to pick another" "--app NAME"
ok "list-keys as the owner" "$CLI" --app owner list-keys
has "the owner sees its key" "* owned"

psd_summary
exit $?
