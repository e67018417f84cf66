# SPDX-License-Identifier: Apache-2.0
# The fuzz targets and how each is run; sourced by fuzz/run.sh and
# fuzz/oss-fuzz/build.sh (needs $src, the repository root).
# shellcheck shell=bash
: "${src:?fuzz/targets.sh needs src, the repository root}"
all_targets="fuzz_wire_header fuzz_request_body fuzz_client_response fuzz_service_request"
all_targets+=" fuzz_store_uri fuzz_keyref fuzz_pkcs11_template"

# Longest input per target: a header (+ body limit), a protobuf body, a
# response (an RSA-4096 export is ~2.4 KiB), a whole request, a URI, a key
# reference (the decoder reads at most 8 KiB), a PKCS#11 mechanism and template.
max_len_of() {
    case $1 in
    fuzz_wire_header) echo 64 ;;
    fuzz_request_body) echo 4096 ;;
    fuzz_store_uri) echo 1024 ;;
    fuzz_pkcs11_template) echo 1024 ;;
    *) echo 8192 ;;
    esac
}

# Dictionary per target: the wire protocol's, or the provider parsers' own.
dict_of() {
    case $1 in
    fuzz_store_uri) echo "$src/fuzz/store_uri.dict" ;;
    fuzz_keyref) echo "$src/fuzz/keyref.dict" ;;
    *) echo "$src/fuzz/parsec.dict" ;;
    esac
}
