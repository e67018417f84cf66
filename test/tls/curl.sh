#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Debian 12's curl 7.88 as a TLS client presenting a certificate whose key is
# held by the Parsec service (examples/curl-client-cert.sh, only paths
# substituted) against `openssl s_server -Verify 1 -www` with a software key;
# RSA and ECDSA client keys, TLS 1.2 and 1.3; fails when the service is down.
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/tls/tls-lib.sh"
command -v curl >/dev/null || { echo "# curl not installed"; echo "0 passed, 1 failed"; exit 1; }
tls_setup
T=$TESTDIR

ok "software server key" sw_openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/server.key"
ok "software server certificate" tls_cert_for_key "$T/server.key" localhost "$T/server.crt"
tls_free_port PORT
# shellcheck disable=SC2153 # tls_free_port assigns PORT by name
ok "s_server -Verify 1 -www (software key)" tls_start mtls "$PORT" env OPENSSL_CONF=/dev/null \
    openssl s_server -accept "127.0.0.1:$PORT" -www -key "$T/server.key" -cert "$T/server.crt" \
    -Verify 1 -CAfile "$T/ca.crt" -verify_return_error

# client_setup NAME KIND CN [req options]: key, reference file, certificate and
# the example script with its paths pointing at them.
client_setup() {
    local name=$1 kind=$2 cn=$3
    shift 3
    ok "create client key $name ($kind)" tls_create_key "$name" "$kind"
    ok "key-reference file for $name" tls_key_ref "$name" "$T/$name.ref.pem"
    ok "client certificate for $name" tls_cert_for_key "$T/$name.ref.pem" "$cn" "$T/$name.crt" "$@"
    sed -e "s|/etc/parsec/openssl.cnf|$TLS_CNF|" \
        -e "s|/etc/parsec/client.crt|$T/$name.crt|" \
        -e "s|/etc/parsec/client.ref.pem|$T/$name.ref.pem|" \
        -e "s|/etc/parsec/ca.crt|$T/ca.crt|" \
        "$TEST_SRCDIR/examples/curl-client-cert.sh" >"$T/curl-$name.sh"
    chmod +x "$T/curl-$name.sh"
    check "examples/curl-client-cert.sh adapted for $name" sh -c "! grep -q /etc/parsec '$T/curl-$name.sh'"
}

# present NAME CN SIGTYPE CURL-OPTIONS...: GET / through the example script (with
# its own default OPENSSL_CONF); the s_server status page must show our
# certificate and the signature the client made in the service.
present() {
    local name=$1 cn=$2 sigtype=$3
    shift 3
    env -u OPENSSL_CONF timeout "$TLS_CLIENT_TIMEOUT" "$T/curl-$name.sh" \
        --resolve "localhost:$PORT:127.0.0.1" "$@" "https://localhost:$PORT/" >"$T/page.out" 2>&1
    local rc=$?
    cat "$T/page.out"
    [ "$rc" = 0 ] || { echo "# curl exited $rc"; return 1; }
    grep -q "Client certificate" "$T/page.out" && grep -q "Subject: CN *= *$cn" "$T/page.out" &&
        grep -q "Peer signature type: $sigtype" "$T/page.out"
}

client_setup cli-rsa rsa-pss "parsec client rsa" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
client_setup cli-ec ec-p256-ecdsa "parsec client ec"

ok "curl, RSA client key in the service, TLS 1.3 (one PsaSignHash)" \
    tls_service_did PsaSignHash 1 present cli-rsa "parsec client rsa" RSA-PSS --tlsv1.3
ok "curl, RSA client key in the service, TLS 1.2" present cli-rsa "parsec client rsa" RSA-PSS --tlsv1.2 --tls-max 1.2
ok "curl, ECDSA client key in the service, TLS 1.3" present cli-ec "parsec client ec" ECDSA --tlsv1.3
ok "curl, ECDSA client key in the service, TLS 1.2" present cli-ec "parsec client ec" ECDSA --tlsv1.2 --tls-max 1.2
fails "curl without a client certificate is refused" \
    env OPENSSL_CONF=/dev/null timeout "$TLS_CLIENT_TIMEOUT" curl --silent --fail --cacert "$T/ca.crt" \
    --resolve "localhost:$PORT:127.0.0.1" --tlsv1.2 --tls-max 1.2 "https://localhost:$PORT/"

ok "stop parsecd" psd_stop
fails "with parsecd stopped, curl cannot present the RSA key (TLS 1.3)" \
    present cli-rsa "parsec client rsa" RSA-PSS --tlsv1.3
fails "with parsecd stopped, curl cannot present the ECDSA key (TLS 1.2)" \
    present cli-ec "parsec client ec" ECDSA --tlsv1.2 --tls-max 1.2
ok "restart parsecd" psd_restart
ok "curl presents the ECDSA key again" present cli-ec "parsec client ec" ECDSA --tlsv1.3

tls_stop mtls
psd_summary
exit $?
