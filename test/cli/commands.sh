#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsec-cli commands at parity with parsec-tool, checked as a user would:
# CSRs and certificates with openssl req/x509/verify, imported keys by
# verifying their signatures with the PEM's public key, exported keys by
# their public half, --json with python3's json module, the bash completion.
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
CLI=$PARSEC_CLI
D=$TESTDIR

has() {
    check "$1" grep -qF -- "$2" "$D/last.out" || sed 's/^/#   /' "$D/last.out"
}
# json_get FILE PYTHON-EXPR: evaluates EXPR on the parsed document `d`.
json_get() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

command -v python3 >/dev/null || { echo "not ok - python3 is missing"; exit 1; }
psd_start software || { echo "not ok - parsecd did not start"; psd_summary; exit 1; }

# ---- -p by name ------------------------------------------------------------------------
ok "create-rsa-key with -p software" "$CLI" -p software create-rsa-key -k tls-rsa --sign-pss --hash any
ok "create-ecc-key with -p mbed-crypto (upstream alias)" "$CLI" -p mbed-crypto create-ecc-key -k tls-ec --exportable
ok "create-rsa-key PKCS#1 signing" "$CLI" -p 1 create-rsa-key -k pkcs1-rsa --sign-pkcs1
fails "an unknown provider name is refused" "$CLI" -p hsm ping
has "the message lists the names" "invalid provider 'hsm' (software, mbed-crypto, pkcs11, tpm"

# ---- key-info --------------------------------------------------------------------------
ok "key-info" "$CLI" key-info -k tls-ec
has "key-info names the backend and its -p name" "0x01 (Mbed Crypto provider): parsec-cli -p software"
has "key-info shows the policy" "algorithm:  Ecdsa(SHA256)"
has "key-info shows exportability" "exportable: yes"
has "key-info shows the OpenSSL URI" "parsec:tls-ec through the parsec provider"
fails "key-info of a missing key" "$CLI" key-info -k missing
has "the missing key is reported" "PsaErrorDoesNotExist"

# ---- create-csr: verified by openssl, subject and SAN checked -----------------------------
for k in tls-rsa pkcs1-rsa tls-ec; do
    ok "create-csr with $k" "$CLI" create-csr -k "$k" --cn www.example.org --c GB --st England \
        --l Cambridge --o "Example Ltd" --ou Web --serialNumber 42 \
        --san www.example.org --san DNS:alt.example.org --san IP:192.0.2.7 -o "$D/$k.csr"
    ok "openssl req -verify accepts the $k CSR" openssl req -in "$D/$k.csr" -verify -noout
    has "the $k CSR's signature verifies" "verify OK"
    openssl req -in "$D/$k.csr" -noout -subject -nameopt RFC2253 >"$D/last.out" 2>&1
    has "the $k CSR's subject is complete" "subject=serialNumber=42,CN=www.example.org,OU=Web,O=Example Ltd,L=Cambridge,ST=England,C=GB"
    openssl req -in "$D/$k.csr" -noout -text >"$D/last.out" 2>&1
    has "the $k CSR has the SANs" "DNS:www.example.org, DNS:alt.example.org, IP Address:192.0.2.7"
    "$CLI" export-public-key -k "$k" -o "$D/$k.pub"
    openssl req -in "$D/$k.csr" -noout -pubkey >"$D/$k.csr.pub"
    check "the $k CSR carries the service key's public key" cmp -s "$D/$k.pub" "$D/$k.csr.pub"
done
openssl req -in "$D/tls-rsa.csr" -noout -text >"$D/last.out"
has "a PSS key's CSR is signed RSASSA-PSS" "Signature Algorithm: rsassaPss"
openssl req -in "$D/pkcs1-rsa.csr" -noout -text >"$D/last.out"
has "a PKCS#1 key's CSR is signed sha256WithRSAEncryption" "Signature Algorithm: sha256WithRSAEncryption"
openssl req -in "$D/tls-ec.csr" -noout -text >"$D/last.out"
has "an ECDSA key's CSR is signed ecdsa-with-SHA256" "Signature Algorithm: ecdsa-with-SHA256"
fails "create-csr without --cn" "$CLI" create-csr -k tls-ec
has "the missing option is named" "create-csr needs -k NAME and --cn COMMON_NAME"
ok "an encryption key" "$CLI" create-rsa-key -k enc-rsa
fails "create-csr with an encryption key" "$CLI" create-csr -k enc-rsa --cn x
has "the refusal says how to make a signing key" "is not a signing key"

# ---- create-self-signed ----------------------------------------------------------------------
ok "create-self-signed" "$CLI" create-self-signed -k tls-ec --cn self.example.org --san self.example.org --days 30 -o "$D/self.pem"
ok "the certificate verifies against itself" openssl verify -CAfile "$D/self.pem" "$D/self.pem"
openssl x509 -in "$D/self.pem" -noout -subject -ext subjectAltName >"$D/last.out" 2>&1
has "its subject is the CN" "subject=CN = self.example.org"
has "its SAN is there" "DNS:self.example.org"

# ---- import-key: the imported key signs and the PEM's public key verifies ---------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/nginx-rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$D/nginx-ec.pem" 2>/dev/null
echo "message to sign" >"$D/msg"
ok "import an RSA PEM key as a PKCS#1 signing key" "$CLI" import-key -k imp-rsa -i "$D/nginx-rsa.pem" --sign-pkcs1
has "the import says the file may go" "delete $D/nginx-rsa.pem"
ok "import an EC P-384 PEM key" "$CLI" import-key -k imp-ec -i "$D/nginx-ec.pem"
for k in rsa ec; do
    openssl pkey -in "$D/nginx-$k.pem" -pubout -out "$D/nginx-$k.pub"
    "$CLI" export-public-key -k "imp-$k" -o "$D/imp-$k.pub"
    check "imported $k: the service's public key is the PEM's" cmp -s "$D/nginx-$k.pub" "$D/imp-$k.pub"
done
ok "the imported RSA key signs" "$CLI" sign -k imp-rsa -i "$D/msg" -o "$D/msg.rsa.sig"
ok "the PEM's public key verifies it" openssl dgst -sha256 -verify "$D/nginx-rsa.pub" -signature "$D/msg.rsa.sig" "$D/msg"
ok "the imported EC key signs" "$CLI" sign -k imp-ec -i "$D/msg" -o "$D/msg.ec.sig"
ok "the PEM's public key verifies it" openssl dgst -sha384 -verify "$D/nginx-ec.pub" -signature "$D/msg.ec.sig" "$D/msg"
echo "not a key" >"$D/junk.pem"
fails "import of a file without a key" "$CLI" import-key -k junk -i "$D/junk.pem"
has "the message names the file and format" "$D/junk.pem holds no PEM private key"
ok "the failed import left no key behind" "$CLI" list-keys
check "no key 'junk'" bash -c "! grep -q '^\* junk$' '$D/last.out'"

# ---- export-key --------------------------------------------------------------------------------
ok "export-key of an exportable key" "$CLI" export-key -k tls-ec -o "$D/tls-ec.key"
check "the exported key file is mode 0600" [ "$(stat -c %a "$D/tls-ec.key")" = 600 ]
openssl pkey -in "$D/tls-ec.key" -pubout -out "$D/tls-ec.key.pub"
"$CLI" export-public-key -k tls-ec -o "$D/tls-ec.pub"
check "the exported private key's public half is the service's" cmp -s "$D/tls-ec.pub" "$D/tls-ec.key.pub"
fails "export-key of a key not created exportable" "$CLI" export-key -k tls-rsa
has "the refusal explains --exportable" "was not created exportable"

# ---- --json ------------------------------------------------------------------------------------
for cmd in list-providers list-authenticators list-opcodes list-keys; do
    "$CLI" "$cmd" --json >"$D/$cmd.json" 2>"$D/last.out"
    ok "$cmd --json is valid JSON" python3 -m json.tool "$D/$cmd.json"
done
check "list-providers --json names the software provider" [ "$(json_get "$D/list-providers.json" 'd[0]["name"]')" = software ]
check "list-opcodes --json lists PsaGenerateKey" [ "$(json_get "$D/list-opcodes.json" '[o["name"] for o in d["opcodes"]].count("PsaGenerateKey")')" = 1 ]
check "list-keys --json has every key" [ "$(json_get "$D/list-keys.json" 'sorted(k["name"] for k in d)')" = "['enc-rsa', 'imp-ec', 'imp-rsa', 'pkcs1-rsa', 'tls-ec', 'tls-rsa']" ]
"$CLI" key-info -k tls-ec --json >"$D/key-info.json"
ok "key-info --json is valid JSON" python3 -m json.tool "$D/key-info.json"
check "key-info --json: usage and exportable" [ "$(json_get "$D/key-info.json" '(d["exportable"], "sign_hash" in d["usage"], d["bits"])')" = "(True, True, 256)" ]
# Names with characters JSON must escape come back intact.
ok "a key named with quotes, backslash and UTF-8" "$CLI" create-ecc-key -k 'we"ird\ kéy'
"$CLI" list-keys --json >"$D/weird.json"
check "the escaped name parses back" [ "$(json_get "$D/weird.json" '"we\"ird\\ kéy" in [k["name"] for k in d]')" = True ]

psd_stop
PSD_ADMINS=$(id -u) psd_start software || { echo "not ok - parsecd with admins did not start"; psd_summary; exit 1; }
"$CLI" list-clients --json >"$D/clients.json" 2>"$D/last.out"
ok "list-clients --json is valid JSON" python3 -m json.tool "$D/clients.json"
fails "--json on a command without JSON output" "$CLI" --json ping
has "the refusal names where --json applies" "--json applies to list-* commands and key-info"

# ---- help and completion -----------------------------------------------------------------------
ok "help" "$CLI" help
has "help lists create-csr" "create-csr -k NAME --cn CN"
ok "help COMMAND" "$CLI" help import-key
has "help import-key shows its usage" "Usage: parsec-cli [global options] import-key -k NAME -i PEMFILE"
fails "help of an unknown command" "$CLI" help frobnicate
has "the unknown command is named" "help: unknown command 'frobnicate'"
COMPLETION=$TEST_SRCDIR/cli/parsec-cli.bash-completion
if [ -r /usr/share/bash-completion/bash_completion ]; then
    out=$(bash -c '. /usr/share/bash-completion/bash_completion; . "$1"
        COMP_WORDS=(parsec-cli create-); COMP_CWORD=1; COMP_LINE="parsec-cli create-"; COMP_POINT=${#COMP_LINE}
        PATH=$(dirname "$2"):$PATH _parsec_cli; printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$CLI")
    check "bash completion offers every create- command" \
        [ "$(echo "$out" | sort | tr '\n' ' ')" = "create-aes-key create-csr create-ecc-key create-rsa-key create-self-signed " ]
else
    echo "not ok - bash-completion is not installed (scripts/install-deps.sh)"; PSD_FAILED=$((PSD_FAILED + 1))
fi

psd_summary
exit $?
