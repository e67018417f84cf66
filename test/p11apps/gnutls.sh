#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# GnuTLS with keys held by the Parsec service through libparsec-pkcs11.so:
# p11tool lists the token's objects and signs with a key URL (--test-sign),
# certtool makes a self-signed certificate signing through the module, and a
# gnutls-serv whose key is a pkcs11: URI completes TLS 1.3 and TLS 1.2
# handshakes with gnutls-cli, which checks the certificate; and TLS client
# authentication with the client's certificate (stored with p11tool --write)
# and key both taken from the token.
#   gnutls.sh [software|pkcs11|tpm|softhsm2]      (default: $TEST_BACKEND)
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/p11apps/p11apps-lib.sh"
p11apps_need p11tool gnutls-bin
p11apps_need certtool gnutls-bin
p11apps_need gnutls-serv gnutls-bin
p11apps_setup "${1:-}"
T=$TESTDIR
# GnuTLS logs in only when the token says it needs it (SoftHSM2), with this PIN.
export GNUTLS_PIN=$P11APPS_PIN
LOGIN=()
p11apps_is_reference && LOGIN=(--login)

ok "ECDSA P-256 key tls-ec-key" p11apps_keygen ec tls-ec-key
ok "RSA-2048 key tls-rsa-key" p11apps_keygen rsa tls-rsa-key

# ---- p11tool -----------------------------------------------------------------------
ok "p11tool --list-tokens shows the token" p11tool --provider "$P11APPS_MODULE" --list-tokens
check "... labelled '$P11APPS_TOKEN'" last_output_has "Label: $P11APPS_TOKEN\$"
ok "p11tool --list-all" p11tool --provider "$P11APPS_MODULE" "${LOGIN[@]}" --list-all "$P11APPS_URI"
cp "$T/last.out" "$T/list-all.out"
for k in tls-ec-key tls-rsa-key; do
    for type in private public; do
        check "--list-all shows $k's $type key" grep -q "URL: pkcs11:.*object=$k;type=$type" "$T/list-all.out"
    done
done
check "--list-all: the EC key is P-256" grep -q "Type: Private key (EC/ECDSA-SECP256R1)" "$T/list-all.out"
check "--list-all: the RSA key has 2048 bits" grep -q "Type: Private key (RSA-2048)" "$T/list-all.out"
check "--list-all: private keys are sensitive" grep -q "CKA_SENSITIVE" "$T/list-all.out"
for k in tls-ec-key tls-rsa-key; do
    ok "p11tool --test-sign $k" p11tool --provider "$P11APPS_MODULE" "${LOGIN[@]}" --test-sign "$(p11apps_key_url "$k")"
    check "... verified against the token's public key ($k)" last_output_has "Verifying against public key in the token... ok"
done
p11tool --provider "$P11APPS_MODULE" "${LOGIN[@]}" --export-pubkey "$(p11apps_key_url tls-ec-key)" \
    >"$T/exported.pub.pem" 2>/dev/null
check "p11tool --export-pubkey gives the service's public key" p11apps_same_pub "$T/exported.pub.pem" "$T/tls-ec-key.pub.pem"

# ---- certtool ------------------------------------------------------------------------
ok "certtool --generate-self-signed with the pkcs11: key" p11apps_self_signed tls-ec-key "parsec gnutls test server"
ok "the certificate's signature verifies (openssl)" openssl verify -CAfile "$T/tls-ec-key.crt.pem" -check_ss_sig \
    "$T/tls-ec-key.crt.pem"
openssl x509 -in "$T/tls-ec-key.crt.pem" -noout -pubkey >"$T/cert.pub.pem" 2>/dev/null
check "the certificate carries the service's key" p11apps_same_pub "$T/cert.pub.pem" "$T/tls-ec-key.pub.pem"

# ---- gnutls-serv / gnutls-cli -----------------------------------------------------------
tls_free_port PORT
# shellcheck disable=SC2153 # tls_free_port assigns PORT by name
ok "gnutls-serv --x509keyfile pkcs11:... on 127.0.0.1:$PORT" tls_start gnutls-serv "$PORT" \
    gnutls-serv --provider "$P11APPS_MODULE" --x509certfile "$T/tls-ec-key.crt.pem" \
    --x509keyfile "$(p11apps_key_url tls-ec-key)" --echo -p "$PORT"

# handshake PRIORITY: gnutls-cli trusting only the test certificate; echoes a line back.
handshake() {
    echo "hello through $1" | timeout 60 gnutls-cli --x509cafile "$T/tls-ec-key.crt.pem" \
        --verify-hostname 127.0.0.1 --priority "$1" -p "$PORT" 127.0.0.1
}
for v in TLS1.3 TLS1.2; do
    ok "gnutls-cli handshake, $v" handshake "NORMAL:-VERS-ALL:+VERS-$v"
    check "... server certificate trusted ($v)" last_output_has "The certificate is trusted"
    check "... an ECDSA signature made by the key ($v)" last_output_has "Description: (${v}[-)].*(ECDSA-"
    check "... data went both ways ($v)" last_output_has "^hello through NORMAL"
done
# shellcheck disable=SC2154 # set by tls_start
check "gnutls-serv is still running" kill -0 "$TLS_PID_gnutls_serv"
tls_stop gnutls-serv

# ---- client authentication: certificate and key both on the token -----------------------
ok "ECDSA P-256 key tls-client-key" p11apps_keygen ec tls-client-key
ok "client certificate for tls-client-key" p11apps_self_signed tls-client-key "parsec gnutls test client"
CLIENT_ID=$(p11apps_key_id tls-client-key)
ok "p11tool --write stores it on the token next to its key (CKA_ID $CLIENT_ID)" \
    p11tool --provider "$P11APPS_MODULE" "${LOGIN[@]}" --write --load-certificate "$T/tls-client-key.crt.pem" \
    --label tls-client-key --id "$CLIENT_ID" "$P11APPS_URI"
ok "p11tool --list-all-certs" p11tool --provider "$P11APPS_MODULE" "${LOGIN[@]}" --list-all-certs "$P11APPS_URI"
check "... shows it with the key's ID" sh -c "grep -q 'object=tls-client-key;type=cert' '$T/last.out' &&
    grep -qi 'ID: $(echo "$CLIENT_ID" | sed 's/../&:/g; s/:$//')' '$T/last.out'"
tls_free_port PORT
ok "gnutls-serv requiring a client certificate on 127.0.0.1:$PORT" tls_start gnutls-serv-mtls "$PORT" \
    gnutls-serv --provider "$P11APPS_MODULE" --x509certfile "$T/tls-ec-key.crt.pem" \
    --x509keyfile "$(p11apps_key_url tls-ec-key)" --echo -p "$PORT" \
    --require-client-cert --verify-client-cert --x509cafile "$T/tls-client-key.crt.pem"
client_auth() {
    echo "hello from the client" | timeout 60 gnutls-cli --provider "$P11APPS_MODULE" \
        --x509cafile "$T/tls-ec-key.crt.pem" --verify-hostname 127.0.0.1 \
        --x509certfile "$P11APPS_URI;object=tls-client-key;type=cert" \
        --x509keyfile "$(p11apps_key_url tls-client-key)" -p "$PORT" 127.0.0.1
}
ok "gnutls-cli presents the token's certificate and signs with the token's key" client_auth
check "... data went both ways" last_output_has "^hello from the client"
sleep 0.2 # the server logs after answering
check "the server trusted the client certificate" grep -q "The certificate is trusted" "$T/gnutls-serv-mtls.log"
check "... CN=parsec gnutls test client" grep -q "Subject: CN=parsec gnutls test client" "$T/gnutls-serv-mtls.log"
check "... which signed the handshake (ECDSA)" grep -q "Client Signature: ECDSA" "$T/gnutls-serv-mtls.log"
tls_stop gnutls-serv-mtls

psd_summary
exit $?
