#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Seed files of the provider's targets, from the docs and tests:
#   fuzz/corpus/fuzz_store_uri/uri-*     every "parsec:" URI the docs and tests use,
#                                        plus one per rule of the grammar (docs/provider.md)
#   fuzz/corpus/fuzz_keyref/doc-*        the DER of the key-reference PEM files in the docs
#   fuzz/corpus/fuzz_keyref/asn1-*       references written with `openssl asn1parse -genconf`:
#                                        each optional field, and each thing the decoder refuses
# Usage: fuzz/make_provider_seeds.sh [CORPUS_DIR]   (default fuzz/corpus; run.sh --seeds calls it)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-fuzz/corpus}
uris=$corpus/fuzz_store_uri
refs=$corpus/fuzz_keyref
mkdir -p "$uris" "$refs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# URIs as the docs and tests write them (shell variables included: they are input too).
n=0
git grep -ohE "parsec:[^][:space:]\"'\`<>)(,;|]*" -- '*.md' 'test/*.sh' 'test/*.c' 'examples/*' |
    sort -u > "$tmp/uris"
while IFS= read -r uri; do
    n=$((n + 1))
    printf '%s' "$uri" > "$uris/uri-doc-$(printf '%03d' "$n")"
done < "$tmp/uris"
grammar=(
    'parsec:'                       # a listing
    'parsec:?backend=software'      # filtered listings
    'parsec:?type=rsa-pss&backend=3'
    'PARSEC:Key'                    # the scheme is case-insensitive
    'parsec:a%3Fb%25c%26d%23e%20f'  # every escape docs/provider.md names
    'parsec:k?backend=pkcs11&type=ec'
    'parsec:k?type=RSA'
    'parsec:k?backend=9'            # refused: unknown backend ID
    'parsec:k?colour=blue'          # refused: unknown attribute
    'parsec:k?type'                 # refused: attribute without a value
    'parsec:bad%zzname'             # refused: bad escape
    'parsec:nul%00name'             # refused: %00
    'parsec:trailing%4'             # refused: short escape
    'parsec:k?&&'
    'file:/etc/passwd'              # not ours
)
for i in "${!grammar[@]}"; do
    printf '%s' "${grammar[$i]}" > "$uris/uri-grammar-$(printf '%02d' "$i")"
done

# The PEM examples of the docs, decoded (examples shortened with "..." are skipped).
n=0
for doc in README.md docs/*.md; do
    awk '/-----BEGIN PARSEC KEY REFERENCE-----/{p=1; next}
         /-----END PARSEC KEY REFERENCE-----/{p=0; print "--"; next}
         p{gsub(/^[ \t]+/, ""); print}' "$doc" > "$tmp/blocks"
    block=""
    while IFS= read -r line; do
        if [ "$line" = "--" ]; then
            if [[ $block != *...* ]]; then
                n=$((n + 1))
                printf '%s\n' "$block" | openssl base64 -d > "$refs/doc-$(printf '%02d' "$n")"
            fi
            block=""
        else
            block+=${block:+$'\n'}$line
        fi
    done < "$tmp/blocks"
done

# ParsecKeyReference variants (structure in provider/pprov_keyref.c).
genref() { # NAME FIELD...   fields: asn1parse -genconf lines of the SEQUENCE
    local name=$1
    shift
    {
        echo "asn1 = SEQUENCE:ref"
        echo "[ref]"
        printf '%s\n' "$@"
    } > "$tmp/$name.cnf"
    openssl asn1parse -genconf "$tmp/$name.cnf" -noout -out "$refs/asn1-$name"
}
genref full 'v = INTEGER:1' 'n = UTF8String:web-rsa' 'b = IMPLICIT:0,INTEGER:1' \
    't = IMPLICIT:1,INTEGER:2' 'd = IMPLICIT:2,UTF8String:for people'
genref name-only 'v = INTEGER:1' 'n = UTF8String:k'
genref backend-only 'v = INTEGER:1' 'n = UTF8String:k' 'b = IMPLICIT:0,INTEGER:3'
genref type-ec 'v = INTEGER:1' 'n = UTF8String:k' 't = IMPLICIT:1,INTEGER:3'
genref utf8-name 'v = INTEGER:1' 'n = FORMAT:UTF8,UTF8String:clé-✓'
genref version-2 'v = INTEGER:2' 'n = UTF8String:k'
genref empty-name 'v = INTEGER:1' 'n = UTF8String:'
genref nul-in-name 'v = INTEGER:1' 'n = IMPLICIT:12U,FORMAT:HEX,OCTETSTRING:6100620063'
genref backend-6 'v = INTEGER:1' 'n = UTF8String:k' 'b = IMPLICIT:0,INTEGER:6'
genref backend-negative 'v = INTEGER:1' 'n = UTF8String:k' 'b = IMPLICIT:0,INTEGER:-1'
genref type-4 'v = INTEGER:1' 'n = UTF8String:k' 't = IMPLICIT:1,INTEGER:4'
genref huge-version 'v = INTEGER:0x0100000000000000000001' 'n = UTF8String:k'
genref wrong-order 'v = INTEGER:1' 'n = UTF8String:k' 't = IMPLICIT:1,INTEGER:1' \
    'b = IMPLICIT:0,INTEGER:1'
genref printable-name 'v = INTEGER:1' 'n = PRINTABLESTRING:k'
# Another provider's DER goes through the same decoders: an EC private key's outer shape.
genref foreign 'v = INTEGER:1' 'n = FORMAT:HEX,OCTETSTRING:00112233' \
    'o = EXPLICIT:0,OID:prime256v1'
echo "seeds: $(find "$uris" -type f | wc -l) in $uris, $(find "$refs" -type f | wc -l) in $refs"
