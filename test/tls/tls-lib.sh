# SPDX-License-Identifier: Apache-2.0
# Helpers shared by the TLS/decryption tests (test/tls/*.sh). Source after
# test/lib/testenv.sh.
# shellcheck shell=bash

TLS_APP=parsec-tls            # app_name in examples/openssl.cnf
TLS_CLIENT_TIMEOUT=${TLS_CLIENT_TIMEOUT:-30}
TLS_USED_PORTS=""

# tls_setup: temp dir, parsecd (direct authenticator, as examples/openssl.cnf
# expects), $TESTDIR/openssl.cnf from examples/openssl.cnf, a software CA.
tls_setup() {
    # parsecd logs every request at debug level: the tests count them.
    PSD_LOG_LEVEL=${PSD_LOG_LEVEL:-debug}
    psd_test_init
    command -v openssl >/dev/null || { echo "# openssl not found" >&2; exit 1; }
    [ -f "$PARSEC_PROVIDER_MODULE" ] || { echo "# provider not built at $PARSEC_PROVIDER_MODULE" >&2; exit 1; }
    PSD_AUTH=direct psd_start || { echo "# parsecd did not start" >&2; exit 1; }
    tls_write_openssl_cnf "$TESTDIR/openssl.cnf"
    TLS_CNF=$TESTDIR/openssl.cnf
    export TLS_CNF
    # Everything not explicitly run with the provider runs without it.
    OPENSSL_CONF=/dev/null
    export OPENSSL_CONF
    tls_make_ca || { echo "# cannot make the test CA" >&2; exit 1; }
}

# examples/openssl.cnf with this build's module and this test's service.
tls_write_openssl_cnf() {
    sed -e "s|^module = .*|module = $PARSEC_PROVIDER_MODULE|" \
        -e "s|^endpoint = .*|endpoint = $PARSEC_SERVICE_ENDPOINT|" \
        "$TEST_SRCDIR/examples/openssl.cnf" >"$1"
    grep -q "^module = $PARSEC_PROVIDER_MODULE\$" "$1" && grep -q "^endpoint = $PARSEC_SERVICE_ENDPOINT\$" "$1"
}

# openssl with the parsec provider (examples/openssl.cnf) / without it.
hw_openssl() { OPENSSL_CONF=$TLS_CNF openssl "$@"; }
sw_openssl() { OPENSSL_CONF=/dev/null openssl "$@"; }

# ---- keys in the service ----------------------------------------------------

# tls_parsec_cli ARGS...: the project's CLI as the same client as the provider.
tls_parsec_cli() {
    "$PARSEC_CLI" --app "$TLS_APP" "$@"
}

# tls_create_key NAME KIND: a key in the service with the policy KIND:
#   rsa-pkcs1-sign rsa-pss rsa-pkcs1-crypt rsa-oaep-sha1|sha256|sha384|sha512
#   ec-p256-ecdsa ec-p384-ecdsa ec-p256-ecdh ec-p384-ecdh
tls_create_key() {
    local name=$1 kind=$2
    case $kind in
    rsa-pkcs1-sign) tls_parsec_cli create-rsa-key -k "$name" -b 2048 --sign-pkcs1 --hash any ;;
    rsa-pss) tls_parsec_cli create-rsa-key -k "$name" -b 2048 --sign-pss --hash any ;;
    rsa-pkcs1-crypt) tls_parsec_cli create-rsa-key -k "$name" -b 2048 ;;
    rsa-oaep-*) tls_parsec_cli create-rsa-key -k "$name" -b 2048 --oaep --hash "${kind#rsa-oaep-}" ;;
    ec-p256-ecdsa) tls_parsec_cli create-ecc-key -k "$name" -c 256 --hash any ;;
    ec-p384-ecdsa) tls_parsec_cli create-ecc-key -k "$name" -c 384 --hash any ;;
    ec-p256-ecdh) tls_parsec_cli create-ecc-key -k "$name" -c 256 --ecdh ;;
    ec-p384-ecdh) tls_parsec_cli create-ecc-key -k "$name" -c 384 --ecdh ;;
    *) echo "# tls_create_key: unknown kind $kind" >&2; return 1 ;;
    esac
}

# tls_export_pub NAME OUT.pem: the key's public half (SubjectPublicKeyInfo PEM).
tls_export_pub() {
    tls_parsec_cli export-public-key -k "$1" -o "$2" && sw_openssl pkey -pubin -in "$2" -noout
}

# tls_key_ref NAME OUT.pem: the key-reference PEM file nginx/curl read.
tls_key_ref() {
    hw_openssl pkey -in "parsec:$1" -out "$2" && grep -q "BEGIN PARSEC KEY REFERENCE" "$2"
}

# tls_key_ref_pss NAME OUT.pem: reference file presenting an RsaPss key as an
# RSA-PSS (RSASSA-PSS) key instead of an rsaEncryption one.
tls_key_ref_pss() {
    hw_openssl pkey -in "parsec:$1?type=rsa-pss" -out "$2" && grep -q "BEGIN PARSEC KEY REFERENCE" "$2"
}

# ---- certificates ------------------------------------------------------------

tls_make_ca() {
    sw_openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$TESTDIR/ca.key" -out "$TESTDIR/ca.crt" -days 2 -subj "/CN=parsec-provider test CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
        >/dev/null 2>&1
}

# tls_sign_csr CSR OUT.crt [extensions...]: the CA signs a CSR for localhost.
tls_sign_csr() {
    local csr=$1 out=$2 ext="$TESTDIR/ext.$$"
    {
        echo "subjectAltName=DNS:localhost,IP:127.0.0.1"
        echo "basicConstraints=critical,CA:FALSE"
        echo "extendedKeyUsage=serverAuth,clientAuth"
    } >"$ext"
    sw_openssl x509 -req -in "$csr" -CA "$TESTDIR/ca.crt" -CAkey "$TESTDIR/ca.key" \
        -CAcreateserial -days 2 -extfile "$ext" -out "$out" >/dev/null 2>&1
}

# tls_cert_for_key KEYFILE_OR_URI CN OUT.crt [req options...]: the key signs its
# own request in the service, the CA issues the certificate.
tls_cert_for_key() {
    local key=$1 cn=$2 out=$3
    shift 3
    hw_openssl req -new -key "$key" -subj "/CN=$cn" -out "$out.csr" "$@" && tls_sign_csr "$out.csr" "$out"
}

# tls_cert_for_pub PUB.pem CN OUT.crt: certificate for a key that cannot sign
# (a decryption key): the CSR is signed by a throwaway key, the certificate
# carries the service key's public half.
tls_cert_for_pub() {
    local pub=$1 cn=$2 out=$3
    sw_openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$out.tmpkey" \
        -subj "/CN=$cn" -out "$out.csr" >/dev/null 2>&1 || return 1
    {
        echo "subjectAltName=DNS:localhost,IP:127.0.0.1"
        echo "keyUsage=critical,keyEncipherment"
        echo "extendedKeyUsage=serverAuth,emailProtection"
    } >"$out.ext"
    sw_openssl x509 -req -in "$out.csr" -CA "$TESTDIR/ca.crt" -CAkey "$TESTDIR/ca.key" \
        -CAcreateserial -days 2 -force_pubkey "$pub" -extfile "$out.ext" -out "$out" >/dev/null 2>&1
    rm -f "$out.tmpkey"
}

# ---- what the service did ------------------------------------------------------

# tls_service_count OPCODE-NAME: successful requests of that kind in parsecd's
# log so far (PsaSignHash, PsaAsymmetricDecrypt, PsaRawKeyAgreement).
tls_service_count() {
    grep -c "debug: $1 .*-> Success (0)" "$TESTDIR/parsecd.log"
}

# tls_service_did OPCODE-NAME N CMD...: CMD succeeds and parsecd served exactly
# N more successful OPCODE-NAME requests meanwhile.
tls_service_did() {
    local op=$1 want=$2 before after
    shift 2
    before=$(tls_service_count "$op")
    "$@" || { echo "# '$*' failed"; return 1; }
    sleep 0.2 # the log line is written after the answer
    after=$(tls_service_count "$op")
    echo "# parsecd served $((after - before)) $op request(s), expected $want"
    [ $((after - before)) = "$want" ]
}

# ---- servers -----------------------------------------------------------------

# tls_free_port VAR: a TCP port on 127.0.0.1 nobody listens on, not handed out before.
tls_free_port() {
    local p _
    for _ in $(seq 500); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        case " $TLS_USED_PORTS " in *" $p "*) continue ;; esac
        if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]; then
            TLS_USED_PORTS="$TLS_USED_PORTS $p"
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    echo "# no free port found" >&2
    return 1
}

# tls_wait_port PID PORT: wait until PORT listens (PID must stay alive), 20 s max.
tls_wait_port() {
    local pid=$1 port=$2 _
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || return 1
        [ -n "$(ss -Htln "( sport = :$port )" 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}

# tls_nginx_conf DIR PORT_RSA PORT_EC: examples/nginx.conf with its paths moved
# to DIR (certificates, references, pid, logs, temp) and its ports replaced.
tls_nginx_conf() {
    local dir=$1
    sed -e "s|/etc/nginx/parsec|$dir|g" \
        -e "s|/run/nginx-parsec.pid|$dir/nginx.pid|" \
        -e "s|/var/log/nginx/|$dir/|g" \
        -e "s|/var/lib/nginx/|$dir/tmp/|g" \
        -e "s|127.0.0.1:8443|127.0.0.1:$2|" \
        -e "s|127.0.0.1:8444|127.0.0.1:$3|" \
        "$TEST_SRCDIR/examples/nginx.conf" >"$dir/nginx.conf"
}

# tls_start NAME PORT CMD...: start a server in the background (output in
# $TESTDIR/NAME.log), track its PID, wait for its port. Sets TLS_PID_<NAME>
# (non-alphanumerics in NAME become _).
tls_start() {
    local name=$1 port=$2 pid
    shift 2
    "$@" </dev/null >"$TESTDIR/$name.log" 2>&1 &
    pid=$!
    psd_track_pid "$pid"
    printf -v "TLS_PID_${name//[^A-Za-z0-9_]/_}" '%s' "$pid"
    if ! tls_wait_port "$pid" "$port"; then
        echo "# server '$name' did not come up on port $port:"
        sed 's/^/#   /' "$TESTDIR/$name.log" | tail -n 20
        return 1
    fi
}

# tls_stop NAME: stop a server started with tls_start, by its PID.
tls_stop() {
    local var="TLS_PID_${1//[^A-Za-z0-9_]/_}"
    [ -n "${!var:-}" ] && psd_stop_pid "${!var}"
    printf -v "$var" '%s' ""
}

# openssl s_server with the parsec provider; hardware key on port PORT.
tls_s_server() {
    local name=$1 port=$2
    shift 2
    tls_start "$name" "$port" env OPENSSL_CONF="$TLS_CNF" openssl s_server -accept "127.0.0.1:$port" -www "$@"
}

# ---- clients -----------------------------------------------------------------

# tls_client_expect PORT "pattern"... -- s_client options...
# Software s_client (no provider) against 127.0.0.1:PORT, verifying with the
# test CA; passes if the handshake verified and every pattern appears.
tls_client_expect() {
    local port=$1 pat patterns=() rc=0
    shift
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        patterns+=("$1")
        shift
    done
    [ "${1:-}" = "--" ] && shift
    tls_s_client "$port" "$@"
    rc=$?
    cat "$TESTDIR/client.out"
    [ "$rc" = 0 ] || { echo "# s_client exited $rc"; return 1; }
    grep -q "Verify return code: 0 (ok)" "$TESTDIR/client.out" || { echo "# certificate not verified"; return 1; }
    for pat in "${patterns[@]}"; do
        grep -q -- "$pat" "$TESTDIR/client.out" || { echo "# missing: $pat"; return 1; }
    done
    return 0
}

# tls_s_client PORT s_client-options...: output in $TESTDIR/client.out.
# Sends $TLS_CLIENT_INPUT (default "Q": quit right after the handshake).
# TLS_CLIENT_CONF=$TLS_CNF gives the client the parsec provider (client keys).
tls_s_client() {
    local port=$1
    shift
    printf '%b' "${TLS_CLIENT_INPUT:-Q\n}" | OPENSSL_CONF=${TLS_CLIENT_CONF:-/dev/null} \
        timeout "$TLS_CLIENT_TIMEOUT" openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost -CAfile "$TESTDIR/ca.crt" -verify_return_error "$@" \
        >"$TESTDIR/client.out" 2>&1
}

# tls_suites LIST-SPEC: the TLS 1.2 cipher suites this OpenSSL offers for a spec.
tls_suites() {
    openssl ciphers -s -tls1_2 "$1" | tr ':' ' '
}
