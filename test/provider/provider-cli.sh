#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsec.so through the real `openssl` command line, against a real parsecd
# (backend $TEST_BACKEND): key generation (URI and PEM key reference),
# public-key export, raw and digest signing, CSRs, self-signed and CA-signed
# certificates, `openssl ca`, CMS, store listing, and the failures a user
# meets (unknown key, another application's key, service down, a policy
# that forbids the operation). Every signature made through the provider is
# also verified by OpenSSL's default provider alone with the exported
# public key.
. "$TEST_SRCDIR/test/lib/testenv.sh"

APP=pprov-app1
OTHER_APP=pprov-app2
T=(timeout 120)
PPROV_API_TEST=${1:+$(realpath "$1")}

psd_test_init
# Under a sanitizer build, every openssl call preloads the runtime (PPROV_PRELOAD).
pprov_preload openssl
[ -f "$PARSEC_PROVIDER_MODULE" ] || { echo "not ok - parsec.so missing at $PARSEC_PROVIDER_MODULE"; exit 1; }
PSD_AUTH=direct psd_start || { echo "not ok - parsecd did not start (backend ${TEST_BACKEND:-software})"; exit 1; }
echo "# backend: $PSD_BACKEND, endpoint $PARSEC_SERVICE_ENDPOINT"
pprov_openssl_conf "$APP"
cd "$TESTDIR" || exit 1

# OpenSSL with nothing but its default provider: the independent verifier.
plain() { OPENSSL_CONF=/dev/null "$@"; }

# fails_with "desc" PATTERN cmd...: must fail (no signal) and say PATTERN.
fails_with() {
    local desc=$1 pattern=$2
    shift 2
    if fails "$desc" "$@"; then
        if ! last_output_has "$pattern"; then
            echo "# expected the message to contain: $pattern"
            sed 's/^/#   /' "$TESTDIR/last.out" | tail -n 8
            _psd_result 1 "$desc: error message names the cause"
            return 1
        fi
        _psd_result 0 "$desc: error message names the cause"
    fi
}

printf 'The quick brown fox jumps over the lazy dog\n' >msg.txt
head -c 100000 /dev/urandom >big.bin

check "openssl lists the parsec provider as active" \
    sh -c 'openssl list -providers | grep -A3 "^  parsec" | grep -q "status: active"'
ok "openssl list shows the name" sh -c 'openssl list -providers | grep -q "Parsec OpenSSL Provider"'

# ---- per key type --------------------------------------------------------------------------
# genspec: algorithm and options; pss=1 when the signature needs PSS options to verify.
run_key_suite() {
    local id=$1 alg=$2 opt=$3 verify_opts=() sigopts=() signopts=() dgstopts=() keyopts=()
    local name="k-$id" ref="$id.ref.pem" pub="$id.pub.pem"

    if [ "$alg" = RSA ]; then
        # RSA keys are made RSA-PSS-only by default (TLS 1.3 needs PSS). Tools that
        # assume OpenSSL's default padding (PKCS#1 v1.5) must ask for PSS; the
        # default provider must verify PSS with salt = digest length.
        signopts=(-pkeyopt rsa_padding_mode:pss)
        dgstopts=(-sigopt rsa_padding_mode:pss)
        keyopts=(-keyopt rsa_padding_mode:pss)
        verify_opts=(-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest)
        sigopts=(-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest)
    fi

    echo "# ---- $id ($alg $opt)"
    ok "$id: genpkey creates the key in the service and writes a key reference" \
        "${T[@]}" openssl genpkey -propquery provider=parsec -algorithm "$alg" -pkeyopt "$opt" \
        -pkeyopt "parsec_key_name:$name" -out "$ref"
    check "$id: the written file is a PARSEC KEY REFERENCE, holding no key material" \
        sh -c "grep -q 'BEGIN PARSEC KEY REFERENCE' '$ref' && ! grep -q 'PRIVATE KEY' '$ref'"
    ok "$id: pkey -pubout through the URI" "${T[@]}" openssl pkey -in "parsec:$name" -pubout -out "$pub"
    ok "$id: pkey -pubout through the reference file" "${T[@]}" openssl pkey -in "$ref" -pubout -out "$id.pub2.pem"
    check "$id: both routes give the same public key" cmp "$pub" "$id.pub2.pem"
    ok "$id: the default provider alone reads the exported public key" \
        plain openssl pkey -pubin -in "$pub" -noout
    ok "$id: pkey -text describes the key" "${T[@]}" openssl pkey -in "$ref" -text -noout
    check "$id: description names the key and backend" \
        sh -c "grep -q 'key name: $name' '$TESTDIR/last.out' && grep -q 'backend:  $PSD_BACKEND' '$TESTDIR/last.out'"

    # pre-hashed input
    openssl dgst -sha256 -binary msg.txt >msg.sha256
    ok "$id: pkeyutl -sign of a SHA-256 hash (URI)" \
        "${T[@]}" openssl pkeyutl -sign -inkey "parsec:$name" -pkeyopt digest:sha256 "${signopts[@]}" -in msg.sha256 -out "$id.hash.sig"
    ok "$id: default provider verifies the pre-hashed signature" \
        plain openssl pkeyutl -verify -pubin -inkey "$pub" -pkeyopt digest:sha256 "${verify_opts[@]}" \
        -in msg.sha256 -sigfile "$id.hash.sig"
    ok "$id: pkeyutl -verify through the provider" \
        "${T[@]}" openssl pkeyutl -verify -inkey "parsec:$name" -pkeyopt digest:sha256 "${signopts[@]}" -in msg.sha256 -sigfile "$id.hash.sig"
    printf 'X' | cat - msg.txt | openssl dgst -sha256 -binary >bad.sha256
    fails "$id: a signature does not verify for another hash" \
        plain openssl pkeyutl -verify -pubin -inkey "$pub" -pkeyopt digest:sha256 "${verify_opts[@]}" \
        -in bad.sha256 -sigfile "$id.hash.sig"

    # -rawin: the provider hashes
    ok "$id: pkeyutl -sign -rawin -digest sha384 (reference file)" \
        "${T[@]}" openssl pkeyutl -sign -rawin -digest sha384 -inkey "$ref" "${signopts[@]}" -in big.bin -out "$id.raw.sig"
    ok "$id: default provider verifies the -rawin signature" \
        plain openssl pkeyutl -verify -rawin -digest sha384 -pubin -inkey "$pub" "${verify_opts[@]}" \
        -in big.bin -sigfile "$id.raw.sig"

    ok "$id: dgst -sha512 -sign" "${T[@]}" openssl dgst -sha512 -sign "parsec:$name" "${dgstopts[@]}" -out "$id.dgst.sig" big.bin
    ok "$id: default provider verifies the dgst signature" \
        plain openssl dgst -sha512 -verify "$pub" "${sigopts[@]}" -signature "$id.dgst.sig" big.bin

    # certificates
    ok "$id: req -new makes a CSR" \
        "${T[@]}" openssl req -new -key "parsec:$name" -subj "/CN=$name csr" -out "$id.csr"
    ok "$id: default provider verifies the CSR (req -verify)" plain openssl req -in "$id.csr" -verify -noout
    ok "$id: req -verify through the provider" "${T[@]}" openssl req -in "$id.csr" -verify -noout
    ok "$id: req -x509 self-signs a CA certificate" \
        "${T[@]}" openssl req -x509 -new -key "$ref" -subj "/CN=$name CA" -days 2 -out "$id.ca.crt" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign,digitalSignature
    ok "$id: default provider verifies the self-signed certificate" \
        plain openssl verify -CAfile "$id.ca.crt" "$id.ca.crt"
    check "$id: the certificate carries the key's public half" \
        sh -c "openssl x509 -in '$id.ca.crt' -pubkey -noout | cmp - '$pub'"

    plain openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$id.leaf.key" \
        -subj "/CN=leaf of $name" -out "$id.leaf.csr" 2>/dev/null
    ok "$id: x509 -req signs a software key's CSR with the Parsec CA key" \
        "${T[@]}" openssl x509 -req -in "$id.leaf.csr" -CA "$id.ca.crt" -CAkey "parsec:$name" -CAcreateserial \
        -days 1 -out "$id.leaf.crt"
    ok "$id: default provider verifies the CA-signed certificate" \
        plain openssl verify -CAfile "$id.ca.crt" "$id.leaf.crt"

    # openssl ca with a minimal CA directory
    mkdir -p "$id.ca/newcerts"
    : >"$id.ca/index.txt"
    echo 1000 >"$id.ca/serial"
    cat >"$id.ca/ca.cnf" <<EOF
[ca]
default_ca = parsec_ca
[parsec_ca]
dir = $TESTDIR/$id.ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
default_days = 1
policy = any_policy
copy_extensions = none
[any_policy]
commonName = supplied
EOF
    ok "$id: openssl ca issues a certificate with the Parsec key" \
        "${T[@]}" openssl ca -batch -config "$id.ca/ca.cnf" -cert "$id.ca.crt" -keyfile "parsec:$name" \
        -in "$id.leaf.csr" -out "$id.ca-issued.crt"
    ok "$id: default provider verifies the openssl ca certificate" \
        plain openssl verify -CAfile "$id.ca.crt" "$id.ca-issued.crt"
    ok "$id: openssl ca -gencrl signs a CRL" \
        "${T[@]}" openssl ca -gencrl -config "$id.ca/ca.cnf" -cert "$id.ca.crt" -keyfile "$ref" -crldays 1 -out "$id.crl"
    ok "$id: default provider verifies the CRL" \
        plain openssl crl -in "$id.crl" -CAfile "$id.ca.crt" -noout

    # CMS
    ok "$id: cms -sign" \
        "${T[@]}" openssl cms -sign -nodetach -binary -in msg.txt -signer "$id.ca.crt" -inkey "parsec:$name" \
        "${keyopts[@]}" -outform PEM -out "$id.cms"
    ok "$id: default provider verifies the CMS signature" \
        plain openssl cms -verify -inform PEM -in "$id.cms" -CAfile "$id.ca.crt" -binary -out "$id.cms.out"
    check "$id: CMS content round-trips" cmp msg.txt "$id.cms.out"
    ok "$id: cms -verify through the provider" \
        "${T[@]}" openssl cms -verify -inform PEM -in "$id.cms" -CAfile "$id.ca.crt" -binary -out /dev/null
}

run_key_suite rsa2048 RSA rsa_keygen_bits:2048
run_key_suite rsa3072 RSA rsa_keygen_bits:3072
run_key_suite p256 EC ec_paramgen_curve:P-256
run_key_suite p384 EC ec_paramgen_curve:P-384

# ---- listing ------------------------------------------------------------------------------------
ok "storeutl parsec: lists the application's keys" "${T[@]}" openssl storeutl parsec:
check "the listing names every key" \
    sh -c "for k in k-rsa2048 k-rsa3072 k-p256 k-p384; do grep -q \"parsec:\$k\$\" '$TESTDIR/last.out' || exit 1; done"
check "the listing describes keys (type, backend, policy)" \
    sh -c "grep -q 'RSA 2048-bit key in the $PSD_BACKEND backend; policy RsaPss(any hash)' '$TESTDIR/last.out'"
ok "storeutl -keys parsec: loads the keys" "${T[@]}" openssl storeutl -keys parsec:
check "storeutl -keys found 4 keys" grep -q "Total found: 4" "$TESTDIR/last.out"
ok "storeutl parsec:?type=ec filters" "${T[@]}" openssl storeutl "parsec:?type=ec"
check "the EC filter found 2 keys" grep -q "Total found: 2" "$TESTDIR/last.out"

# ---- RSA-PSS keymgmt and policies ------------------------------------------------------------------
ok "genpkey -algorithm RSA-PSS with a pinned digest" \
    "${T[@]}" openssl genpkey -propquery provider=parsec -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 \
    -pkeyopt rsa_pss_keygen_md:sha256 -pkeyopt parsec_key_name:k-rsapss -out rsapss.ref.pem
ok "the RSA-PSS key signs (reference file)" \
    "${T[@]}" openssl dgst -sha256 -sign rsapss.ref.pem -out rsapss.sig msg.txt
ok "its public key exports as RSASSA-PSS" sh -c "openssl pkey -in rsapss.ref.pem -pubout -out rsapss.pub && openssl asn1parse -in rsapss.pub | grep -q rsassaPss"
ok "default provider verifies the RSA-PSS signature" \
    plain openssl dgst -sha256 -verify rsapss.pub -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
    -signature rsapss.sig msg.txt
fails_with "an RSA-PSS key with a pinned SHA-256 refuses SHA-384" "permits only RsaPss(SHA256)" \
    "${T[@]}" openssl dgst -sha384 -sign rsapss.ref.pem -out /dev/null msg.txt

ok "genpkey an RSA PKCS#1 v1.5 signing key (parsec_policy:pkcs1)" \
    "${T[@]}" openssl genpkey -propquery provider=parsec -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -pkeyopt parsec_policy:pkcs1 -pkeyopt parsec_key_name:k-pkcs1 -out pkcs1.ref.pem
openssl pkey -in pkcs1.ref.pem -pubout -out pkcs1.pub 2>/dev/null
ok "the PKCS#1 key signs PKCS#1 v1.5 by default" "${T[@]}" openssl dgst -sha256 -sign parsec:k-pkcs1 -out pkcs1.sig msg.txt
ok "default provider verifies the PKCS#1 v1.5 signature" \
    plain openssl dgst -sha256 -verify pkcs1.pub -signature pkcs1.sig msg.txt
ok "the PKCS#1 key self-signs a certificate (sha256WithRSAEncryption)" \
    "${T[@]}" openssl req -x509 -new -key parsec:k-pkcs1 -subj /CN=pkcs1 -days 1 -out pkcs1.crt
check "the certificate says sha256WithRSAEncryption" \
    sh -c "openssl x509 -in pkcs1.crt -noout -text | grep -q 'Signature Algorithm: sha256WithRSAEncryption'"
ok "default provider verifies it" plain openssl verify -CAfile pkcs1.crt pkcs1.crt

# ---- parsec-cli keys load through the URI --------------------------------------------------------------
if [ -x "${PARSEC_CLI:-}" ]; then
    ok "parsec-cli creates an ECDSA key for the same application" \
        "${T[@]}" "$PARSEC_CLI" --app "$APP" create-ecc-key -k cli-ec
    ok "parsec-cli creates an RSA-PSS signing key" \
        "${T[@]}" "$PARSEC_CLI" --app "$APP" create-rsa-key -k cli-rsa --sign-pss
    "$PARSEC_CLI" --app "$APP" export-public-key -k cli-ec -o cli-ec.pub >/dev/null 2>&1
    "$PARSEC_CLI" --app "$APP" export-public-key -k cli-rsa -o cli-rsa.pub >/dev/null 2>&1
    ok "a parsec-cli EC key signs through parsec:cli-ec" \
        "${T[@]}" openssl dgst -sha256 -sign parsec:cli-ec -out cli-ec.sig msg.txt
    ok "default provider verifies it with parsec-cli's exported public key" \
        plain openssl dgst -sha256 -verify cli-ec.pub -signature cli-ec.sig msg.txt
    ok "a parsec-cli RSA-PSS key signs through parsec:cli-rsa" \
        "${T[@]}" openssl dgst -sha256 -sign parsec:cli-rsa -sigopt rsa_padding_mode:pss -out cli-rsa.sig msg.txt
    ok "default provider verifies it" \
        plain openssl dgst -sha256 -verify cli-rsa.pub -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest \
        -signature cli-rsa.sig msg.txt
    ok "parsec-cli verifies the provider's signature in the service" \
        "${T[@]}" "$PARSEC_CLI" --app "$APP" verify -k cli-ec -i msg.txt -s cli-ec.sig
else
    _psd_result 1 "parsec-cli missing at ${PARSEC_CLI:-?}"
fi

# ---- negative: policies ------------------------------------------------------------------------------
fails_with "PSS with a PKCS#1 v1.5 key is refused, naming policy and request" \
    "permits only RsaPkcs1v15Sign(any hash).*not the requested RsaPss(SHA256)" \
    "${T[@]}" openssl dgst -sha256 -sign parsec:k-pkcs1 -sigopt rsa_padding_mode:pss -out /dev/null msg.txt
fails_with "a PSS key signing with OpenSSL's default padding is refused with a hint" \
    "ask for PSS" \
    "${T[@]}" openssl dgst -sha256 -sign parsec:k-rsa2048 -out /dev/null msg.txt
fails_with "CMS without -keyopt for a PSS key is refused, not mislabelled" "ask for PSS" \
    "${T[@]}" openssl cms -sign -nodetach -in msg.txt -signer rsa2048.ca.crt -inkey parsec:k-rsa2048 -out /dev/null
fails_with "PKCS#1 v1.5 with a PSS key is refused" \
    "permits only RsaPss(any hash).*not the requested RsaPkcs1v15Sign(SHA256)" \
    "${T[@]}" openssl dgst -sha256 -sign parsec:k-rsa2048 -sigopt rsa_padding_mode:pkcs1 -out /dev/null msg.txt
fails_with "PSS with salt length max is refused (PSA salt = digest length)" "salt" \
    "${T[@]}" openssl dgst -sha256 -sign parsec:k-rsa2048 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:max -out /dev/null msg.txt
ok "genpkey an RSA OAEP decryption key" \
    "${T[@]}" openssl genpkey -propquery provider=parsec -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -pkeyopt parsec_policy:oaep -pkeyopt parsec_key_name:k-oaep -out oaep.ref.pem
fails_with "signing with an encryption key is refused" "may not sign: its policy is RsaOaep(SHA256)" \
    "${T[@]}" openssl dgst -sha256 -sign parsec:k-oaep -out /dev/null msg.txt
ok "genpkey an ECDH key" \
    "${T[@]}" openssl genpkey -propquery provider=parsec -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -pkeyopt parsec_policy:ecdh -pkeyopt parsec_key_name:k-ecdh -out ecdh.ref.pem
fails_with "signing with an ECDH key is refused" "may not sign: its policy is RawKeyAgreement(ECDH)" \
    "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey ecdh.ref.pem -in msg.txt -out /dev/null
fails_with "an unknown policy is refused at generation" "unknown RSA key policy 'bogus'" \
    "${T[@]}" openssl genpkey -propquery provider=parsec -algorithm RSA -pkeyopt parsec_policy:bogus
fails_with "a second key with the same name is refused" "already exists" \
    "${T[@]}" openssl genpkey -propquery provider=parsec -algorithm EC -pkeyopt parsec_key_name:k-p256

# ---- negative: names and applications ---------------------------------------------------------------------
fails_with "an unknown key name is a clear error (URI)" "no Parsec key named 'no-such-key' for application '$APP'" \
    "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey parsec:no-such-key -in msg.txt -out /dev/null
ok "a key to delete behind its reference file's back" \
    "${T[@]}" openssl genpkey -propquery provider=parsec -algorithm EC -pkeyopt parsec_key_name:k-gone -out gone.ref.pem
ok "parsec-cli deletes it" "${T[@]}" "$PARSEC_CLI" --app "$APP" delete-key -k k-gone
fails_with "a reference file whose key was deleted is a clear error" "no Parsec key named 'k-gone'" \
    "${T[@]}" openssl dgst -sha256 -sign gone.ref.pem -out /dev/null msg.txt
fails_with "a malformed URI is a clear error" "bad key name" \
    "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey 'parsec:bad%zzname' -in msg.txt -out /dev/null
fails_with "an unknown URI attribute is a clear error" "bad attribute" \
    "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey 'parsec:k-p256?colour=blue' -in msg.txt -out /dev/null
fails_with "a key asked for in the wrong backend is a clear error" "is held by the" \
    "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey "parsec:k-p256?backend=$([ "$PSD_BACKEND" = tpm ] && echo pkcs11 || echo tpm)" -in msg.txt -out /dev/null
ok "a backend attribute naming the right backend works" \
    "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey "parsec:k-p256?backend=$PSD_BACKEND" -in msg.txt -out /dev/null
fails_with "a parsec: URI holds no certificate" "certificate" \
    "${T[@]}" openssl x509 -in parsec:k-p256 -noout

pprov_openssl_conf "$OTHER_APP"
ok "another application creates its own key" \
    "${T[@]}" openssl genpkey -propquery provider=parsec -algorithm EC -pkeyopt parsec_key_name:app2-key -out app2.ref.pem
fails_with "another application's key is invisible (by URI)" "no Parsec key named 'k-p256' for application '$OTHER_APP'" \
    "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey parsec:k-p256 -in msg.txt -out /dev/null
fails_with "another application's key is invisible (by reference file)" "no Parsec key named 'k-p256'" \
    "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey p256.ref.pem -in msg.txt -out /dev/null
ok "the other application lists only its own key" "${T[@]}" openssl storeutl parsec:
check "... exactly one" grep -q "Total found: 1" "$TESTDIR/last.out"
pprov_openssl_conf "$APP"
fails_with "and the first application cannot use the second's key" "no Parsec key named 'app2-key'" \
    "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey app2.ref.pem -in msg.txt -out /dev/null

# ---- negative: configuration ------------------------------------------------------------------------------
fails_with "a bad backend in the configuration is reported when used" "invalid backend 'floppy'" \
    env PARSEC_PROVIDER_BACKEND=floppy "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey parsec:k-p256 -in msg.txt -out /dev/null
ok "programs that do not use Parsec keys are not affected by a bad setting" \
    env PARSEC_PROVIDER_BACKEND=floppy openssl dgst -sha256 msg.txt
fails_with "a bad shm_handoff in the configuration is reported when used" "invalid shm_handoff 'maybe' (use yes or no)" \
    env PARSEC_PROVIDER_SHM_HANDOFF=maybe "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey parsec:k-p256 -in msg.txt -out /dev/null

# ---- negative: service down ----------------------------------------------------------------------------------
psd_stop
fails_with "service down: signing by URI fails with a clear error" "cannot reach the Parsec service" \
    "${T[@]}" openssl pkeyutl -sign -rawin -digest sha256 -inkey parsec:k-p256 -in msg.txt -out /dev/null
fails_with "service down: signing by reference file fails with a clear error" "cannot reach the Parsec service" \
    "${T[@]}" openssl dgst -sha256 -sign p256.ref.pem -out /dev/null msg.txt
fails_with "service down: listing fails with a clear error" "cannot reach the Parsec service" \
    "${T[@]}" openssl storeutl parsec:
ok "service down: the provider still loads (lazy connection)" openssl list -providers
ok "service down: verification with a public key needs no service" \
    openssl dgst -sha512 -verify p256.pub.pem -signature p256.dgst.sig big.bin
psd_restart
ok "service back: the same reference works again" \
    "${T[@]}" openssl dgst -sha256 -sign p256.ref.pem -out p256.again.sig msg.txt
ok "default provider verifies it" plain openssl dgst -sha256 -verify p256.pub.pem -signature p256.again.sig msg.txt

# ---- the C API test -------------------------------------------------------------------------------------------
if [ -x "${PPROV_API_TEST:-}" ]; then
    ok "API test: EVP_PKEY_eq, X509_check_private_key, SSL_CTX_use_PrivateKey, fork (EC)" \
        "${T[@]}" "$PPROV_API_TEST" parsec:k-p256 p256.ref.pem p256.ca.crt p384.ca.crt
    ok "API test: the same with an RSA key" \
        "${T[@]}" "$PPROV_API_TEST" parsec:k-rsa2048 rsa2048.ref.pem rsa2048.ca.crt rsa3072.ca.crt
else
    _psd_result 1 "pprov_api_test missing at ${PPROV_API_TEST:-?}"
fi

psd_summary
exit $?
