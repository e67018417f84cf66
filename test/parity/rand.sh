#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsec.so's RAND (PARSEC-RAND): random bytes from the Parsec service, as
# the generator of `openssl rand -provider parsec` and as the seed source of
# OpenSSL's DRBG through openssl.cnf's [random] section; requests adapt to
# the service's buffer_size_limit; a service that cannot answer is an error,
# never output. Usage: rand.sh [software|pkcs11|tpm]
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
. "$TEST_SRCDIR/test/parity/parity-lib.sh"
BACKEND=${1:-software}
psd_test_init
parity_openssl_preload

requests() { grep -c "PsaGenerateRandom .*-> Success" "$TESTDIR/parsecd.log"; }
hex_len() { tr -d '\n' <"$TESTDIR/last.out" | wc -c; }

PSD_EXTRA_CONF="log_level = debug" psd_start "$BACKEND" ||
    { echo "not ok - parsecd ($BACKEND) did not start"; exit 1; }

# parsec.so alone: its RAND serves OpenSSL's DRBG names.
before=$(requests)
OPENSSL_CONF=/dev/null ok "openssl rand -provider parsec -hex 32" openssl rand -provider parsec -hex 32
check "it printed 32 bytes in hex" [ "$(hex_len)" = 64 ]
first=$(cat "$TESTDIR/last.out")
check "the bytes came from the service (PsaGenerateRandom answered)" [ "$(requests)" -gt "$before" ]
OPENSSL_CONF=/dev/null ok "a second run" openssl rand -provider parsec -hex 32
check "the second run printed other bytes" [ "$(cat "$TESTDIR/last.out")" != "$first" ]

# With the default provider activated first, OpenSSL keeps its own DRBG...
pprov_openssl_conf
before=$(requests)
ok "openssl rand with default and parsec activated" openssl rand -hex 16
check "the default DRBG is used unless configured (no request to the service)" [ "$(requests)" = "$before" ]
# ...and seeds it from the service when [random] says so.
sed -i 's/^providers = provider_sect$/providers = provider_sect\nrandom = random_sect/' "$OPENSSL_CONF"
printf '[random_sect]\nseed = PARSEC-RAND\nseed_properties = provider=parsec\n' >>"$OPENSSL_CONF"
ok "openssl rand with [random] seed = PARSEC-RAND" openssl rand -hex 16
check "it printed 16 bytes in hex" [ "$(hex_len)" = 32 ]
check "the DRBG's seed came from the service" [ "$(requests)" -gt "$before" ]

# Requests bounded by the service's limit: refused sizes are halved.
psd_stop
conf_set buffer_size_limit 1000 core
psd_restart || { echo "not ok - parsecd did not restart"; exit 1; }
# shellcheck disable=SC2016 # $1 belongs to the inner sh
OPENSSL_CONF=/dev/null ok "5000 bytes from a service with buffer_size_limit = 1000" \
    sh -c 'openssl rand -provider parsec -out "$1" 5000' sh "$TESTDIR/rand.bin"
check "all 5000 bytes were written" [ "$(stat -c %s "$TESTDIR/rand.bin")" = 5000 ]
check "the service refused the first size (ResponseTooLarge)" grep -q "PsaGenerateRandom .*-> ResponseTooLarge" "$TESTDIR/parsecd.log"

# No service: an error naming it, and no bytes.
psd_stop
OPENSSL_CONF=/dev/null fails "openssl rand -provider parsec without the service" openssl rand -provider parsec -hex 16
check "the error names the service and its endpoint" grep -q "cannot reach the Parsec service at $PARSEC_SERVICE_ENDPOINT" "$TESTDIR/last.out"
check "no random bytes were printed" bash -c "! grep -Eqx '[0-9a-f]{32}' '$TESTDIR/last.out'"
fails "openssl rand seeded by PARSEC-RAND without the service" openssl rand -hex 16
check "the DRBG reports that it has no entropy" grep -q "error retrieving entropy" "$TESTDIR/last.out"

check "parsecd logged no sanitizer report" no_sanitizer_report
psd_summary
exit $?
