#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Keys survive restarts of parsecd and of swtpm (state kept), in every order:
# parsecd restarted, swtpm restarted under a running parsecd, both
# restarted, parsecd killed with keys loaded, swtpm away for a while.
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
CLI=$PARSEC_CLI
D=$TESTDIR

ok "parsecd starts with the TPM backend" psd_start tpm || { psd_summary; exit 1; }
head -c 1000 /dev/urandom >"$D/msg"
printf 'kept across restarts' >"$D/pt"
ok "create an ECDSA key" "$CLI" create-ecc-key -k ec
ok "create an RSA PKCS#1 signing key" "$CLI" create-rsa-key -k rsa --sign-pkcs1
ok "create an RSA OAEP key" "$CLI" create-rsa-key -k dec --oaep
for k in ec rsa dec; do "$CLI" export-public-key -k $k -o "$D/$k.pem"; done
ok "openssl encrypts to the OAEP key" openssl pkeyutl -encrypt -pubin -inkey "$D/dec.pem" \
    -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 \
    -in "$D/pt" -out "$D/ct"
ok "sign once before any restart" "$CLI" sign -k rsa -i "$D/msg" -o "$D/rsa.sig0"

# All three keys still work, checked against the public keys exported at the start.
keys_work() {
    local when=$1
    ok "$when: ECDSA key signs, openssl verifies" bash -c \
        "'$CLI' sign -k ec -i '$D/msg' -o '$D/ec.sig' &&
         openssl dgst -sha256 -verify '$D/ec.pem' -signature '$D/ec.sig' '$D/msg'"
    ok "$when: RSA key signs, openssl verifies" bash -c \
        "'$CLI' sign -k rsa -i '$D/msg' -o '$D/rsa.sig' &&
         openssl dgst -sha256 -verify '$D/rsa.pem' -signature '$D/rsa.sig' '$D/msg'"
    check "$when: same PKCS#1 v1.5 signature as before (same key)" cmp "$D/rsa.sig0" "$D/rsa.sig"
    ok "$when: the old ciphertext decrypts" "$CLI" decrypt -k dec -i "$D/ct" -o "$D/pt.out"
    check "$when: to the old plaintext" cmp "$D/pt" "$D/pt.out"
    "$CLI" export-public-key -k ec -o "$D/ec.now.pem" >/dev/null 2>&1
    check "$when: the public key is unchanged" cmp "$D/ec.pem" "$D/ec.now.pem"
}

keys_work "before restarts"

psd_restart
keys_work "parsecd restarted"

ok "swtpm restarted under a running parsecd (state kept)" tpm_sim_restart
keys_work "swtpm restarted"

psd_stop
ok "swtpm restarted while parsecd is down" tpm_sim_restart
ok "parsecd starts again" _psd_launch
keys_work "both restarted"

# parsecd killed while keys are loaded in the TPM: nothing flushed them.
"$CLI" sign -k ec -i "$D/msg" -o /dev/null
"$CLI" sign -k rsa -i "$D/msg" -o /dev/null
psd_kill9
# The killed parsecd left its socket behind: the harness would take it for the new one.
rm -f "$D/parsec.sock"
ok "parsecd starts after being killed" _psd_launch
keys_work "after kill -9"
check "the objects the killed parsecd left in the TPM were flushed" \
    grep -q "left loaded by an earlier user" "$D/parsecd.log"

# swtpm away: a clear error, no hang; back: everything works again.
tpm_sim_stop
fails "signing while the TPM is away fails" timeout 60 "$CLI" sign -k ec -i "$D/msg" -o "$D/x.sig"
check "with a communication failure" last_output_has "CommunicationFailure"
check "parsecd is still running" kill -0 "$PSD_PID"
ok "swtpm back (same state)" tpm_sim_start
keys_work "TPM back"

ok "keys are still listed" "$CLI" list-keys
check "all three" [ "$(grep -c '^\* ' "$D/last.out")" = 3 ]

psd_summary
exit $?
