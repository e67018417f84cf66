#!/bin/bash
# parsecd answers like the reference Parsec service (1.1.0, Mbed Crypto
# provider) where issue-tracked differences were found: CanDoCrypto check
# types, GenerateKey of public keys, implied usage flags, RSA-1024 and
# deprecated primitives behind their settings. Usage: parity.sh PARITY_PROBE
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
PROBE=${1:?usage: parity.sh PARITY_PROBE}
psd_test_init

psd_start software || { echo "not ok - parsecd did not start"; exit 1; }
for c in $("$PROBE" --list); do
    ok "reference answer: $c" "$PROBE" "$c"
done

# Settings that move an answer away from the reference's default.
psd_stop
conf_set min_rsa_bits 1024 core
conf_set allow_deprecated true core
psd_restart || { echo "not ok - parsecd (min_rsa_bits 1024) did not start"; exit 1; }
ok "min_rsa_bits = 1024: RSA-1024 keys are generated and sign" "$PROBE" rsa1024-generate Success
ok "min_rsa_bits = 1024: CanDoCrypto agrees" "$PROBE" rsa1024-cando Success
ok "min_rsa_bits = 1024: public keys below 1024 bits are still refused" "$PROBE" rsa1024-public-import
ok "allow_deprecated = true: RSA-OAEP-SHA1 keys are created and work" "$PROBE" deprecated-oaep-sha1 Success

# Bad values stop the service with the setting named.
psd_stop
conf_set min_rsa_bits 512 core
fails "min_rsa_bits = 512 is refused at start" "$PARSECD" -c "$TESTDIR/parsecd.conf"
check "the error names min_rsa_bits and its range" grep -q "min_rsa_bits '512' must be 1024..16384" "$TESTDIR/last.out"
conf_set min_rsa_bits 2048 core
conf_set allow_deprecated yes core
fails "allow_deprecated = yes is refused at start" "$PARSECD" -c "$TESTDIR/parsecd.conf"
check "the error names allow_deprecated" grep -q "allow_deprecated 'yes' must be true or false" "$TESTDIR/last.out"
conf_set allow_deprecated false core
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }

psd_finish
exit $?
