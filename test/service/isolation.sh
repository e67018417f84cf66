#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Applications never see, use or delete each other's keys: two direct-auth
# application names, then root against another uid with unix peer credentials.
# Usage: isolation.sh [BACKEND]
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
BACKEND=${1:-software}
psd_test_init

CLI=$PARSEC_CLI
echo "some data to sign" >"$TESTDIR/msg"

as() { local app=$1; shift; "$CLI" -a direct --app "$app" "$@"; }
last_has() { last_output_has "$1"; }

export PSD_AUTH=direct
psd_start "$BACKEND" || { echo "not ok - parsecd did not start"; exit 1; }

ok "alice creates key 'shared-name'" as alice create-ecc-key -k shared-name
ok "alice exports its public key" as alice export-public-key -k shared-name -o "$TESTDIR/alice.pem"
ok "bob lists his keys" as bob list-keys
check "bob does not see alice's key" not_listed shared-name
fails "bob cannot sign with alice's key" as bob sign -k shared-name -i "$TESTDIR/msg"
check "  ... the service says it does not exist" last_has PsaErrorDoesNotExist
fails "bob cannot export alice's public key" as bob export-public-key -k shared-name
fails "bob cannot delete alice's key" as bob delete-key -k shared-name
check "  ... the service says it does not exist" last_has PsaErrorDoesNotExist
ok "bob creates his own 'shared-name'" as bob create-ecc-key -k shared-name
ok "bob exports his public key" as bob export-public-key -k shared-name -o "$TESTDIR/bob.pem"
check "bob's key is a different key" differ "$TESTDIR/alice.pem" "$TESTDIR/bob.pem"
ok "bob deletes his key" as bob delete-key -k shared-name
ok "alice still signs with hers" as alice sign -k shared-name -i "$TESTDIR/msg" -o "$TESTDIR/sig"
ok "  ... and OpenSSL verifies it with alice's public key" \
    openssl dgst -sha256 -verify "$TESTDIR/alice.pem" -signature "$TESTDIR/sig" "$TESTDIR/msg"
ok "alice lists her keys" as alice list-keys
check "  ... 'shared-name' is there" listed shared-name
fails "an application name differing by case is another application" as Alice sign -k shared-name -i "$TESTDIR/msg"
ok "alice deletes her key" as alice delete-key -k shared-name

# -- unix peer credentials: root and an unprivileged uid --
psd_stop
conf_set type unix-peer-credentials authenticator
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$CLI" -a unix "$@"; }
    chmod 755 "$TESTDIR"
    if setpriv --reuid=65534 --regid=65534 --clear-groups "$CLI" ping >/dev/null 2>&1; then
        ok "root creates 'k'" "$CLI" -a unix create-ecc-key -k k
        ok "uid 65534 lists its keys" nobody list-keys
        check "  ... root's key is not there" not_listed k
        fails "uid 65534 cannot sign with root's key" nobody sign -k k -i "$TESTDIR/msg"
        check "  ... the service says it does not exist" last_has PsaErrorDoesNotExist
        fails "uid 65534 cannot delete root's key" nobody delete-key -k k
        ok "uid 65534 creates its own 'k'" nobody create-ecc-key -k k
        ok "root still signs with its 'k'" "$CLI" -a unix sign -k k -i "$TESTDIR/msg"
        ok "uid 65534 deletes its 'k'" nobody delete-key -k k
        ok "root's 'k' survives that" "$CLI" -a unix sign -k k -i "$TESTDIR/msg"
        ok "root deletes 'k'" "$CLI" -a unix delete-key -k k
    else
        echo "not ok - uid 65534 cannot run $CLI (build directory not readable by others?)"
        PSD_FAILED=$((PSD_FAILED + 1))
    fi
else
    echo "# unix-peer isolation between two uids needs root and setpriv: not run"
fi

psd_finish
exit $?
