#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsec.so with the curves the software backend gained: secp256k1 and
# brainpoolP256r1/384r1/512r1 keys generated through the provider sign
# (ECDSA) and derive (ECDH), checked by OpenSSL's default provider alone.
# X25519/X448 stay service-only (parsec.so has no X25519 KEYMGMT).
# Usage: provider-curves.sh
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
. "$TEST_SRCDIR/test/parity/parity-lib.sh"
psd_test_init
parity_openssl_preload
[ -f "$PARSEC_PROVIDER_MODULE" ] || { echo "not ok - parsec.so missing at $PARSEC_PROVIDER_MODULE"; exit 1; }
PSD_AUTH=direct psd_start software || { echo "not ok - parsecd did not start"; exit 1; }
pprov_openssl_conf curves-app
cd "$TESTDIR" || exit 1
plain() { OPENSSL_CONF=/dev/null "$@"; }
printf 'a message for every curve\n' >msg.txt

for curve in secp256k1 brainpoolP256r1 brainpoolP384r1 brainpoolP512r1; do
    ok "$curve: genpkey through parsec.so" openssl genpkey -propquery provider=parsec -algorithm EC \
        -pkeyopt "group:$curve" -pkeyopt "parsec_key_name:sig-$curve" -out "sig-$curve.pem"
    ok "$curve: public key exported" openssl pkey -in "parsec:sig-$curve" -pubout -out "sig-$curve.pub"
    ok "$curve: the exported key is on $curve" plain openssl pkey -pubin -in "sig-$curve.pub" -noout -text
    check "$curve: OpenSSL names the curve" grep -q "ASN1 OID: $curve" "$TESTDIR/last.out"
    ok "$curve: dgst -sign with the Parsec key" openssl dgst -sha256 -sign "parsec:sig-$curve" -out "$curve.sig" msg.txt
    ok "$curve: OpenSSL alone verifies the signature" \
        plain openssl dgst -sha256 -verify "sig-$curve.pub" -signature "$curve.sig" msg.txt

    ok "$curve: an ECDH key through parsec.so" openssl genpkey -propquery provider=parsec -algorithm EC \
        -pkeyopt "group:$curve" -pkeyopt parsec_policy:ecdh -pkeyopt "parsec_key_name:dh-$curve" -out "dh-$curve.pem"
    ok "$curve: its public key" openssl pkey -in "parsec:dh-$curve" -pubout -out "dh-$curve.pub"
    ok "$curve: a software peer key" plain openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out "peer-$curve.pem"
    ok "$curve: the peer's public key" plain openssl pkey -in "peer-$curve.pem" -pubout -out "peer-$curve.pub"
    ok "$curve: pkeyutl -derive with the Parsec key" \
        openssl pkeyutl -derive -inkey "parsec:dh-$curve" -peerkey "peer-$curve.pub" -out "ours-$curve.bin"
    ok "$curve: the peer derives with OpenSSL alone" \
        plain openssl pkeyutl -derive -inkey "peer-$curve.pem" -peerkey "dh-$curve.pub" -out "theirs-$curve.bin"
    check "$curve: both sides have the same secret" cmp -s "ours-$curve.bin" "theirs-$curve.bin"
done

fails "genpkey on a curve Parsec does not have" openssl genpkey -propquery provider=parsec -algorithm EC \
    -pkeyopt group:sect283k1 -pkeyopt parsec_key_name:nope -out nope.pem
check "the error lists the curves" grep -q "unsupported curve 'sect283k1' (Parsec keys use P-256, P-384, P-521, secp256k1, brainpoolP256r1" "$TESTDIR/last.out"

psd_finish
exit $?
