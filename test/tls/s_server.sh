#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# openssl s_server with private keys held by the Parsec service, against a
# plain software openssl s_client:
#   - RSA-2048, PSS policy: TLS 1.3 (every suite) and TLS 1.2 (every ECDHE-RSA suite)
#   - RSA-2048, PKCS#1 v1.5 signing policy: TLS 1.2 with the server restricted
#     to RSA+SHA* signature algorithms; TLS 1.3 correctly impossible
#   - RSA-PSS key (RSASSA-PSS certificate): TLS 1.3 and TLS 1.2
#   - ECDSA P-256 and P-384: TLS 1.3 (every suite), TLS 1.2 (every ECDHE-ECDSA suite)
#   - RSA key exchange (TLS 1.2 kRSA) with a PKCS#1 v1.5 decryption key
#   - mutual TLS: the client key in the service (s_server -Verify 1)
#   - with parsecd stopped handshakes fail (the key is not in the process),
#     after restarting it they work again without restarting s_server.
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/tls/tls-lib.sh"
tls_setup
T=$TESTDIR

TLS13_SUITES="TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256 TLS_AES_128_GCM_SHA256 TLS_AES_128_CCM_SHA256 TLS_AES_128_CCM_8_SHA256"
TLS13_ALL=$(echo "$TLS13_SUITES" | tr ' ' ':')

# server_key NAME KIND [req options]: key in the service, reference file, certificate.
server_key() {
    local name=$1 kind=$2
    shift 2
    ok "create key $name ($kind)" tls_create_key "$name" "$kind" &&
        ok "key-reference file for $name" tls_key_ref "$name" "$T/$name.ref.pem" &&
        ok "certificate for $name (its request signed in the service)" \
            tls_cert_for_key "$T/$name.ref.pem" localhost "$T/$name.crt" "$@"
}

# serve NAME KEYNAME [s_server options]: s_server on a fresh port; sets PORT.
serve() {
    local name=$1 key=$2
    shift 2
    tls_free_port PORT || return 1
    # shellcheck disable=SC2153 # tls_free_port assigns PORT by name
    ok "s_server up with $key" tls_s_server "$name" "$PORT" -key "$T/$key.ref.pem" -cert "$T/$key.crt" \
        -cipher ALL -ciphersuites "$TLS13_ALL" "$@"
}

# matrix13 WHAT PATTERN...: every TLS 1.3 suite against $PORT.
matrix13() {
    local what=$1 s
    shift
    for s in $TLS13_SUITES; do
        ok "$what: TLS 1.3 $s" tls_client_expect "$PORT" "New, TLSv1.3, Cipher is $s" "$@" \
            -- -tls1_3 -ciphersuites "$s"
    done
}

# matrix12 WHAT SUITES PATTERN...: each TLS 1.2 suite against $PORT.
matrix12() {
    local what=$1 suites=$2 s
    shift 2
    [ -n "$suites" ] || { check "$what: TLS 1.2 suites to test exist" false; return; }
    for s in $suites; do
        ok "$what: TLS 1.2 $s" tls_client_expect "$PORT" "Protocol  : TLSv1.2" "Cipher is $s" "$@" \
            -- -tls1_2 -cipher "$s"
    done
}

ECDHE_RSA=$(tls_suites 'ECDHE+aRSA')
ECDHE_ECDSA=$(tls_suites 'ECDHE+aECDSA')
KRSA=$(tls_suites 'kRSA')

# ---- RSA-2048 with the RsaPss policy (rsaEncryption certificate) ---------------
server_key rsa-pss rsa-pss -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
serve s-rsa-pss rsa-pss
matrix13 "RSA-2048 (PSS policy)" "Peer signature type: RSA-PSS" "Server Temp Key: X25519"
matrix12 "RSA-2048 (PSS policy)" "$ECDHE_RSA" "Peer signature type: RSA-PSS" "Server Temp Key: X25519"
ok "TLS 1.3 with the P-384 group and SHA-384 PSS" tls_client_expect "$PORT" \
    "Server Temp Key: ECDH, secp384r1" "Peer signing digest: SHA384" "Peer signature type: RSA-PSS" \
    -- -tls1_3 -groups P-384 -sigalgs rsa_pss_rsae_sha384

ok "one TLS 1.3 handshake = one PsaSignHash in parsecd" \
    tls_service_did PsaSignHash 1 tls_client_expect "$PORT" "Peer signature type: RSA-PSS" -- -tls1_3
ok "one TLS 1.2 ECDHE handshake = one PsaSignHash in parsecd" \
    tls_service_did PsaSignHash 1 tls_client_expect "$PORT" "Peer signature type: RSA-PSS" -- -tls1_2

# The service is the only place the key exists.
ok "stop parsecd" psd_stop
fails "with parsecd stopped the TLS 1.3 handshake fails" tls_s_client "$PORT" -tls1_3
fails "with parsecd stopped the TLS 1.2 handshake fails" tls_s_client "$PORT" -tls1_2
check "s_server reports the unreachable service" grep -q -i "parsec" "$T/s-rsa-pss.log"
ok "restart parsecd (same key store)" psd_restart
ok "the same s_server handshakes again (TLS 1.3)" tls_client_expect "$PORT" \
    "Peer signature type: RSA-PSS" -- -tls1_3
tls_stop s-rsa-pss

# ---- RSA-2048 with the PKCS#1 v1.5 signing policy: TLS 1.2 only ----------------
server_key rsa-pkcs1 rsa-pkcs1-sign
serve s-rsa-pkcs1 rsa-pkcs1 -sigalgs "RSA+SHA256:RSA+SHA384:RSA+SHA512"
matrix12 "RSA-2048 (PKCS#1 policy)" "$ECDHE_RSA" "Peer signature type: RSA$" "Server Temp Key: X25519"
fails "TLS 1.3 cannot use a PKCS#1-only key (TLS 1.3 signs with RSA-PSS)" tls_s_client "$PORT" -tls1_3
tls_stop s-rsa-pkcs1

# ---- RSA-PSS key type (id-RSASSA-PSS certificate) ------------------------------
ok "create key rsapss-type (RsaPss policy)" tls_create_key rsapss-type rsa-pss
ok "key-reference file presenting it as an RSA-PSS key" tls_key_ref_pss rsapss-type "$T/rsapss-type.ref.pem"
ok "certificate for it" tls_cert_for_key "$T/rsapss-type.ref.pem" localhost "$T/rsapss-type.crt"
check "the certificate's key is an RSASSA-PSS key" \
    sh -c "openssl x509 -in '$T/rsapss-type.crt' -noout -text | grep -q 'Public Key Algorithm: rsassaPss'"
serve s-rsapss rsapss-type
matrix13 "RSA-PSS key" "Peer signature type: RSA-PSS"
matrix12 "RSA-PSS key" "$ECDHE_RSA" "Peer signature type: RSA-PSS"
tls_stop s-rsapss

# ---- ECDSA P-256 and P-384 -----------------------------------------------------
for c in 256 384; do
    server_key "ec-p$c" "ec-p$c-ecdsa"
    serve "s-ec-p$c" "ec-p$c"
    matrix13 "ECDSA P-$c" "Peer signature type: ECDSA" "Peer signing digest: SHA$c" "Server Temp Key: X25519"
    matrix12 "ECDSA P-$c" "$ECDHE_ECDSA" "Peer signature type: ECDSA" "Server Temp Key: X25519"
    tls_stop "s-ec-p$c"
done

# ---- URI instead of a reference file -------------------------------------------
tls_free_port PORT
ok "s_server -key parsec:ec-p256 (store URI)" tls_s_server s-uri "$PORT" -key parsec:ec-p256 \
    -cert "$T/ec-p256.crt"
ok "handshake with the URI-loaded key" tls_client_expect "$PORT" "Peer signature type: ECDSA" -- -tls1_3
tls_stop s-uri

# ---- TLS 1.2 RSA key exchange with a decryption key ----------------------------
ok "create key rsa-kx (RsaPkcs1v15Crypt, decrypt usage)" tls_create_key rsa-kx rsa-pkcs1-crypt
ok "key-reference file for rsa-kx" tls_key_ref rsa-kx "$T/rsa-kx.ref.pem"
ok "export its public key" tls_export_pub rsa-kx "$T/rsa-kx.pub"
ok "certificate for rsa-kx (keyEncipherment)" tls_cert_for_pub "$T/rsa-kx.pub" localhost "$T/rsa-kx.crt"
serve s-rsa-kx rsa-kx -cipher kRSA
for s in $KRSA; do
    ok "RSA key exchange: TLS 1.2 $s" tls_client_expect "$PORT" "Cipher is $s" -- -tls1_2 -cipher "$s"
    check "... with no ephemeral key (the premaster was decrypted in the service)" \
        sh -c "! grep -q 'Server Temp Key' '$T/client.out'"
done
ok "one RSA key exchange = one PsaAsymmetricDecrypt in parsecd, no signature" \
    tls_service_did PsaSignHash 0 tls_service_did PsaAsymmetricDecrypt 1 \
    tls_client_expect "$PORT" "Cipher is AES128-GCM-SHA256" \
    -- -tls1_2 -cipher AES128-GCM-SHA256
ok "premaster decryption keeps OpenSSL's implicit-rejection contract" \
    env OPENSSL_CONF="$TLS_CNF" "$TEST_BUILDDIR/test/tls/tls_premaster_check" "$T/rsa-kx.ref.pem" "$T/rsa-kx.pub"
tls_stop s-rsa-kx

# ---- mutual TLS: the client's key is in the service ----------------------------
ok "software server key" sw_openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/soft.key"
ok "software server certificate" tls_cert_for_key "$T/soft.key" localhost "$T/soft.crt"
tls_free_port PORT
ok "s_server -Verify 1 with a software key" tls_s_server s-mtls "$PORT" -key "$T/soft.key" \
    -cert "$T/soft.crt" -Verify 1 -CAfile "$T/ca.crt" -verify_return_error
server_key cli-ec ec-p256-ecdsa
server_key cli-rsa rsa-pss -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest

# mtls_expect KEY SIGTYPE TLSOPT: GET / presenting KEY's certificate; the s_server
# status page must show the client certificate and the client's signature type.
mtls_expect() {
    local key=$1 sigtype=$2
    shift 2
    TLS_CLIENT_CONF=$TLS_CNF TLS_CLIENT_INPUT='GET / HTTP/1.0\r\n\r\n' \
        tls_s_client "$PORT" -ign_eof -cert "$T/$key.crt" -key "$T/$key.ref.pem" "$@" || return 1
    cat "$T/client.out"
    # The status page follows the "Ciphers supported in s_server binary" line.
    sed -n '/Ciphers supported in s_server binary/,$p' "$T/client.out" >"$T/page.out"
    grep -q "Client certificate" "$T/page.out" && grep -q "Subject: CN *= *localhost" "$T/page.out" &&
        grep -q "Peer signature type: $sigtype" "$T/page.out"
}
ok "mutual TLS 1.3, client ECDSA key in the service (one PsaSignHash)" \
    tls_service_did PsaSignHash 1 mtls_expect cli-ec ECDSA -tls1_3
ok "mutual TLS 1.2, client ECDSA key in the service" mtls_expect cli-ec ECDSA -tls1_2
ok "mutual TLS 1.3, client RSA key in the service" mtls_expect cli-rsa RSA-PSS -tls1_3
ok "mutual TLS 1.2, client RSA key in the service" mtls_expect cli-rsa RSA-PSS -tls1_2
TLS_CLIENT_INPUT='GET / HTTP/1.0\r\n\r\n' fails "without a client certificate the server refuses" \
    tls_s_client "$PORT" -ign_eof -tls1_2
ok "stop parsecd" psd_stop
fails "with parsecd stopped the client cannot authenticate" mtls_expect cli-ec ECDSA -tls1_3
ok "restart parsecd" psd_restart
tls_stop s-mtls

psd_summary
exit $?
