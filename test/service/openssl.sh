#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The software backend interoperates with OpenSSL: its signatures verify with
# `openssl dgst`, and ciphertexts made by `openssl pkeyutl` decrypt through it.
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
psd_test_init
CLI=$PARSEC_CLI
MSG=$TESTDIR/msg
head -c 1000 /dev/urandom >"$MSG"
psd_start software || { echo "not ok - parsecd did not start"; exit 1; }

# sig_case NAME HASH VERIFY_OPTS... -- CREATE_ARGS...
sig_case() {
    local name=$1 hash=$2; shift 2
    local vopts=()
    while [ "$1" != -- ]; do vopts+=("$1"); shift; done
    shift
    ok "$name: create" "$CLI" "$@" -k "$name" &&
    ok "$name: export the public key" "$CLI" export-public-key -k "$name" -o "$TESTDIR/$name.pem" &&
    ok "$name: sign" "$CLI" sign -k "$name" -i "$MSG" -o "$TESTDIR/$name.sig" --hash "$hash" &&
    ok "$name: openssl dgst -$hash -verify accepts it" \
        openssl dgst "-$hash" -verify "$TESTDIR/$name.pem" "${vopts[@]}" -signature "$TESTDIR/$name.sig" "$MSG" &&
    ok "$name: the service verifies it too" \
        "$CLI" verify -k "$name" -i "$MSG" -s "$TESTDIR/$name.sig" --hash "$hash"
    head -c 1000 /dev/urandom >"$TESTDIR/other"
    fails "$name: openssl rejects it for another message" \
        openssl dgst "-$hash" -verify "$TESTDIR/$name.pem" "${vopts[@]}" -signature "$TESTDIR/$name.sig" "$TESTDIR/other"
}

sig_case rsa-pkcs1-sha256 sha256 -- create-rsa-key --sign-pkcs1
sig_case rsa-pkcs1-sha512 sha512 -- create-rsa-key --sign-pkcs1 --hash sha512 -b 3072
sig_case rsa-pss-sha256 sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -- create-rsa-key --sign-pss
sig_case rsa-pss-sha384 sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -- create-rsa-key --sign-pss --hash sha384 -b 4096
sig_case ecdsa-p256 sha256 -- create-ecc-key -c 256
sig_case ecdsa-p384 sha384 -- create-ecc-key -c 384 --hash sha384
sig_case ecdsa-p521 sha512 -- create-ecc-key -c 521 --hash sha512

# crypt_case NAME PKEYUTL_OPTS... -- CREATE_ARGS...
crypt_case() {
    local name=$1; shift
    local eopts=()
    while [ "$1" != -- ]; do eopts+=("$1"); shift; done
    shift
    head -c 100 /dev/urandom >"$TESTDIR/$name.plain"
    ok "$name: create" "$CLI" "$@" -k "$name" &&
    ok "$name: export the public key" "$CLI" export-public-key -k "$name" -o "$TESTDIR/$name.pem" &&
    ok "$name: openssl pkeyutl -encrypt" openssl pkeyutl -encrypt -pubin -inkey "$TESTDIR/$name.pem" \
        "${eopts[@]}" -in "$TESTDIR/$name.plain" -out "$TESTDIR/$name.ct" &&
    ok "$name: the service decrypts it" "$CLI" decrypt -k "$name" -i "$TESTDIR/$name.ct" -o "$TESTDIR/$name.out" &&
    check "$name: to the original plaintext" cmp -s "$TESTDIR/$name.plain" "$TESTDIR/$name.out"
    head -c 256 /dev/urandom >"$TESTDIR/$name.junk"
    fails "$name: random bytes do not decrypt" "$CLI" decrypt -k "$name" -i "$TESTDIR/$name.junk"
}

crypt_case rsa-pkcs1-crypt -- create-rsa-key
crypt_case rsa-oaep-sha256 -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -- create-rsa-key --oaep --hash sha256

psd_finish
exit $?
