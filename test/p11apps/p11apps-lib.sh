# SPDX-License-Identifier: Apache-2.0
# Helpers shared by the PKCS#11 application tests (test/p11apps/*.sh).
# Source after test/lib/testenv.sh.
# shellcheck shell=bash
#
# Every test runs against one TARGET, its first argument or $TEST_BACKEND:
#   software | pkcs11 | tpm   libparsec-pkcs11.so on a parsecd started with
#                             that backend; keys are made in the service with
#                             parsec-cli, as an application's administrator would
#   softhsm2                  the same script against SoftHSM2 itself (no parsecd):
#                             the reference run that tells a broken script from a
#                             broken module
#
# After p11apps_setup:
#   P11APPS_MODULE   the PKCS#11 module the applications load
#   P11APPS_TOKEN    the label of the token the keys are on
#   P11APPS_PIN      a user PIN (SoftHSM2's; any string for the Parsec module,
#                    which needs no login: the service authenticates the caller)
#   P11APPS_URI      pkcs11:token=... for that token (RFC 7512)

P11APPS_PARSEC_MODULE=${P11APPS_PARSEC_MODULE:-${TEST_BUILDDIR:-}/pkcs11/libparsec-pkcs11.so}
P11APPS_SOFTHSM2_MODULE=/usr/lib/softhsm/libsofthsm2.so

# Server helpers (free ports, start/stop by PID) come from the TLS tests.
# shellcheck source=../tls/tls-lib.sh
. "$TEST_SRCDIR/test/tls/tls-lib.sh"

# p11apps_abort WHAT: a test that cannot go on fails with WHAT as its last check.
p11apps_abort() {
    _psd_result 1 "$1"
    psd_summary
    exit 1
}

# p11apps_need CMD [PACKAGE]: a missing program is a loud failure.
p11apps_need() {
    command -v "$1" >/dev/null && return 0
    p11apps_abort "$1 is installed (install ${2:-$1}: scripts/install-deps.sh)"
}

# RFC 7512 percent-encoding of a path attribute value (p11-kit's, through p11tool
# would need a token; the labels used here only need spaces and '%' escaped).
p11apps_uri_value() {
    local v=${1//%/%25}
    printf '%s' "${v// /%20}"
}

# A sanitizer build of the module loads into the (uninstrumented) applications only
# with the ASan runtime preloaded: with PPROV_PRELOAD set (scripts/test.sh, as for the
# openssl CLI in test/provider), every application below runs through a wrapper in
# $TESTDIR/bin that preloads it. Leak checking is off there: it would report the
# applications' own allocations (test/p11module checks the module's).
# ssh-agent starts ssh-pkcs11-helper (the process that loads the module) without
# LD_PRELOAD; it takes the helper's path from SSH_PKCS11_HELPER.
P11APPS_PROGRAMS="ssh ssh-keygen ssh-agent ssh-add p11tool gnutls-serv gnutls-cli certutil modutil
 pkcs11-tool p11-kit /usr/lib/openssh/ssh-pkcs11-helper"
p11apps_preload_wrappers() {
    local prog path
    mkdir -p "$TESTDIR/bin" || return 1
    for prog in $P11APPS_PROGRAMS; do
        path=$(command -v "$prog") || continue
        # shellcheck disable=SC2016 # the wrapper script expands these when it runs
        printf '#!/bin/sh\nLD_PRELOAD=%s ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 exec %s "$@"\n' \
            "$PPROV_PRELOAD" "$path" >"$TESTDIR/bin/${prog##*/}" || return 1
        chmod 755 "$TESTDIR/bin/${prog##*/}" || return 1
    done
    # certtool 3.7.9 with any PKCS#11 module (SoftHSM2's too) never exits when the ASan
    # runtime is preloaded: it deadlocks in libp11-kit's destructor (freelocale). Say so.
    printf '#!/bin/sh\necho "certtool cannot run with the ASan runtime preloaded (it deadlocks at exit in libp11-kit)" >&2\nexit 1\n' \
        >"$TESTDIR/bin/certtool" || return 1
    chmod 755 "$TESTDIR/bin/certtool" || return 1
    PATH=$TESTDIR/bin:$PATH
    SSH_PKCS11_HELPER=$TESTDIR/bin/ssh-pkcs11-helper
    export PATH SSH_PKCS11_HELPER
}

# p11apps_setup [TARGET]: test directory, the service (or SoftHSM2 token), the variables above.
p11apps_setup() {
    P11APPS_TARGET=${1:-${TEST_BACKEND:-software}}
    psd_test_init
    # The reference run loads nothing of this project: no runtime to preload there.
    if [ -n "${PPROV_PRELOAD:-}" ] && [ "$P11APPS_TARGET" != softhsm2 ]; then
        p11apps_preload_wrappers || p11apps_abort "wrappers preloading $PPROV_PRELOAD in $TESTDIR/bin"
    fi
    p11apps_need pkcs11-tool opensc
    p11apps_need openssl
    case $P11APPS_TARGET in
    softhsm2)
        # The token the pkcs11 backend of parsecd would use, made the same way (SoftHSM2).
        # shellcheck source=../lib/backend-pkcs11.sh
        . "$PSD_LIB_DIR/backend-pkcs11.sh"
        backend_setup >/dev/null || p11apps_abort "a SoftHSM2 token in the test directory"
        P11APPS_MODULE=$P11APPS_SOFTHSM2_MODULE
        P11APPS_TOKEN=$PSD_PKCS11_TOKEN
        P11APPS_PIN=$PSD_PKCS11_PIN
        ;;
    software | pkcs11 | tpm)
        [ -f "$P11APPS_PARSEC_MODULE" ] ||
            p11apps_abort "the PKCS#11 module is built at $P11APPS_PARSEC_MODULE (ninja -C <builddir>)"
        psd_start "$P11APPS_TARGET" || p11apps_abort "parsecd starts with the $P11APPS_TARGET backend"
        P11APPS_MODULE=$P11APPS_PARSEC_MODULE
        # Certificates stored on the token are files of the module: keep them in the test.
        PARSEC_PKCS11_CERT_DIR=$TESTDIR/pkcs11-certs
        export PARSEC_PKCS11_CERT_DIR
        P11APPS_TOKEN=$(p11apps_first_token) || p11apps_abort "the module shows a token (pkcs11-tool --list-token-slots)"
        P11APPS_PIN=unused-pin
        ;;
    *)
        p11apps_abort "target '$P11APPS_TARGET' is one of software, pkcs11, tpm, softhsm2"
        ;;
    esac
    P11APPS_URI="pkcs11:token=$(p11apps_uri_value "$P11APPS_TOKEN")"
    export P11APPS_MODULE P11APPS_TOKEN P11APPS_PIN P11APPS_URI P11APPS_TARGET
    echo "# target $P11APPS_TARGET: module $P11APPS_MODULE, token '$P11APPS_TOKEN'"
}

p11apps_is_reference() {
    [ "$P11APPS_TARGET" = softhsm2 ]
}

# The label of the module's first token with a token present.
p11apps_first_token() {
    pkcs11-tool --module "$P11APPS_MODULE" --list-token-slots 2>/dev/null |
        sed -n 's/^[[:space:]]*token label[[:space:]]*:[[:space:]]*//p' | head -n 1 | grep .
}

# p11apps_tool ARGS...: pkcs11-tool on the test token, logged in where the token wants it.
p11apps_tool() {
    if p11apps_is_reference; then
        pkcs11-tool --module "$P11APPS_MODULE" --token-label "$P11APPS_TOKEN" --login --pin "$P11APPS_PIN" "$@"
    else
        pkcs11-tool --module "$P11APPS_MODULE" --token-label "$P11APPS_TOKEN" "$@"
    fi
}

# p11apps_keygen rsa|ec NAME: a signing key pair labelled NAME, with its public half in
# $TESTDIR/NAME.pub.pem taken from outside the module under test where there is one.
#   rsa: RSA-2048, PKCS#1 v1.5 signatures with any hash (OpenSSH's rsa-sha2-256/512)
#   ec:  ECDSA P-256 with any hash
p11apps_keygen() {
    local kind=$1 name=$2 id
    if p11apps_is_reference; then
        id=$(printf '%s' "$name" | od -An -tx1 | tr -d ' \n')
        case $kind in
        rsa) p11apps_tool --keypairgen --key-type rsa:2048 --label "$name" --id "$id" ;;
        ec) p11apps_tool --keypairgen --key-type EC:prime256v1 --label "$name" --id "$id" ;;
        *) return 1 ;;
        esac >"$TESTDIR/keygen-$name.log" 2>&1 || { cat "$TESTDIR/keygen-$name.log"; return 1; }
        p11apps_tool --read-object --type pubkey --label "$name" -o "$TESTDIR/$name.pub.der" >/dev/null 2>&1 &&
            openssl pkey -pubin -inform DER -in "$TESTDIR/$name.pub.der" -out "$TESTDIR/$name.pub.pem"
    else
        case $kind in
        rsa) "$PARSEC_CLI" create-rsa-key -k "$name" -b 2048 --sign-pkcs1 --hash any ;;
        ec) "$PARSEC_CLI" create-ecc-key -k "$name" -c 256 --hash any ;;
        *) return 1 ;;
        esac || return 1
        "$PARSEC_CLI" export-public-key -k "$name" -o "$TESTDIR/$name.pub.pem"
    fi
}

# p11apps_key_id NAME: CKA_ID of the private key labelled NAME, in hex.
p11apps_key_id() {
    p11apps_tool --list-objects --type privkey 2>/dev/null | awk -v want="$1" '
        /^Private Key Object/ { label = ""; next }
        $1 == "label:" { sub(/^[[:space:]]*label:[[:space:]]*/, ""); label = $0; next }
        $1 == "ID:" && label == want { print $2; exit }'
}

# p11apps_self_signed NAME CN: a self-signed certificate for NAME's key, made by GnuTLS's
# certtool signing through the module, in $TESTDIR/NAME.crt.pem (and .der).
p11apps_self_signed() {
    local name=$1 cn=$2
    {
        echo "cn = \"$cn\""
        echo "ip_address = \"127.0.0.1\""
        echo "expiration_days = 2"
        echo "tls_www_server"
        echo "tls_www_client"
        echo "signing_key"
    } >"$TESTDIR/$name.tmpl"
    GNUTLS_PIN=$P11APPS_PIN certtool --provider "$P11APPS_MODULE" --generate-self-signed \
        --load-privkey "$(p11apps_key_url "$name")" --template "$TESTDIR/$name.tmpl" \
        --outfile "$TESTDIR/$name.crt.pem" &&
        openssl x509 -in "$TESTDIR/$name.crt.pem" -outform DER -out "$TESTDIR/$name.crt.der"
}

# p11apps_key_url NAME: the pkcs11: URI of NAME's private key.
p11apps_key_url() {
    echo "$P11APPS_URI;object=$(p11apps_uri_value "$1");type=private"
}

# p11apps_same_pub A.pem B.pem: both files hold the same public key.
p11apps_same_pub() {
    [ -n "$(openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | od -An -tx1)" ] &&
        [ "$(openssl pkey -pubin -in "$1" -outform DER | od -An -tx1)" = "$(openssl pkey -pubin -in "$2" -outform DER | od -An -tx1)" ]
}
