#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Debian 12's nginx 1.22 serving HTTPS with keys held by the Parsec service,
# configured exactly as examples/nginx.conf and examples/openssl.cnf (only
# paths and ports substituted): two workers, TLS 1.2 and 1.3, an RSA
# (RsaPss policy) and an ECDSA P-256 server, each key given to
# ssl_certificate_key as a key-reference PEM file. curl (software) fetches
# pages; a hundred sequential requests; the workers keep signing after
# parsecd is restarted under them.
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/tls/tls-lib.sh"
NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$NGINX" ] || { echo "# nginx not installed at $NGINX (Debian package nginx-light)"; echo "0 passed, 1 failed"; exit 1; }
tls_setup
T=$TESTDIR
N=$T/nginx
mkdir -p "$N/www" "$N/tmp"
# Workers run as www-data: they need the service socket and the document root.
chmod 711 "$T"
echo "served with a key that lives in the Parsec service" >"$N/www/index.html"
chmod -R a+rX "$N"

ok "create the RSA-2048 server key (RsaPss policy)" tls_create_key nginx-rsa rsa-pss
ok "its key-reference file" tls_key_ref nginx-rsa "$N/rsa.ref.pem"
ok "its certificate" tls_cert_for_key "$N/rsa.ref.pem" localhost "$N/rsa.crt" \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest
ok "create the ECDSA P-256 server key" tls_create_key nginx-ec ec-p256-ecdsa
ok "its key-reference file" tls_key_ref nginx-ec "$N/ec.ref.pem"
ok "its certificate" tls_cert_for_key "$N/ec.ref.pem" localhost "$N/ec.crt"
check "the reference files hold no key material" sh -c "! grep -q 'PRIVATE KEY' '$N/rsa.ref.pem' '$N/ec.ref.pem'"

tls_free_port P_RSA
tls_free_port P_EC
tls_nginx_conf "$N" "$P_RSA" "$P_EC"
check "examples/nginx.conf was fully adapted to the test directory" \
    sh -c "! grep -E '/etc/nginx|/var/|/run/|:844[34]' '$N/nginx.conf'"

ok "nginx -t loads both keys through the provider" \
    env OPENSSL_CONF="$TLS_CNF" "$NGINX" -t -c "$N/nginx.conf" -g "daemon off;"
# As root, in the foreground, master + 2 workers; stopped by PID at the end.
TLS_PID_nginx=""
tls_start nginx "$P_RSA" env OPENSSL_CONF="$TLS_CNF" "$NGINX" -c "$N/nginx.conf" -g "daemon off; master_process on;"
ok "nginx started (master + workers)" tls_wait_port "$TLS_PID_nginx" "$P_EC"
# `env` execs nginx, so the tracked PID is the master's.
workers() { pgrep -P "$TLS_PID_nginx" | sort; }
for i in $(seq 50); do [ "$(workers | wc -l)" = 2 ] && break; sleep 0.1; done
check "nginx runs two worker processes" [ "$(workers | wc -l)" = 2 ]
WORKERS_BEFORE=$(workers | tr '\n' ' ')

# fetch PORT CURL-OPTIONS...: one HTTPS request, software curl, our CA.
fetch() {
    local port=$1
    shift
    OPENSSL_CONF=/dev/null timeout "$TLS_CLIENT_TIMEOUT" curl --silent --show-error --fail -v \
        --cacert "$T/ca.crt" --resolve "localhost:$port:127.0.0.1" "$@" \
        "https://localhost:$port/" >"$T/page.out" 2>"$T/curl.err"
    local rc=$?
    cat "$T/curl.err"
    [ "$rc" = 0 ] && grep -q "served with a key that lives in the Parsec service" "$T/page.out"
}
# fetch_expect PORT PATTERN CURL-OPTIONS...
fetch_expect() {
    local port=$1 pat=$2
    shift 2
    fetch "$port" "$@" && grep -q -- "$pat" "$T/curl.err"
}

ok "RSA server, TLS 1.3 (RSA-PSS in the service)" fetch_expect "$P_RSA" "SSL connection using TLSv1.3" --tlsv1.3
ok "RSA server, TLS 1.2 ECDHE-RSA" fetch_expect "$P_RSA" "SSL connection using TLSv1.2 / ECDHE-RSA" \
    --tlsv1.2 --tls-max 1.2
ok "ECDSA server, TLS 1.3" fetch_expect "$P_EC" "SSL connection using TLSv1.3" --tlsv1.3
ok "ECDSA server, TLS 1.2 ECDHE-ECDSA" fetch_expect "$P_EC" "SSL connection using TLSv1.2 / ECDHE-ECDSA" \
    --tlsv1.2 --tls-max 1.2
check "the RSA server presented the RSA certificate" \
    sh -c "OPENSSL_CONF=/dev/null timeout 20 openssl s_client -connect 127.0.0.1:$P_RSA -servername localhost \
        -CAfile '$T/ca.crt' </dev/null 2>/dev/null | grep -q 'Peer signature type: RSA-PSS'"

# A hundred sequential requests, alternating servers and protocol versions.
hundred() {
    local i good=0 port opt
    for i in $(seq 100); do
        if [ $((i % 2)) = 0 ]; then port=$P_RSA; else port=$P_EC; fi
        if [ $((i % 4)) -lt 2 ]; then opt=(--tlsv1.3); else opt=(--tlsv1.2 --tls-max 1.2); fi
        fetch "$port" "${opt[@]}" >/dev/null 2>&1 && good=$((good + 1))
    done
    echo "$good of 100 requests succeeded"
    [ "$good" = 100 ]
}
: >"$N/parsec-access.log"
ok "100 sequential HTTPS requests all succeed, each signed by parsecd (100 PsaSignHash)" \
    tls_service_did PsaSignHash 100 hundred
served_by=$(grep -o 'worker=[0-9]*' "$N/parsec-access.log" | sort -u | wc -l)
echo "# requests were served by $served_by worker(s): $(grep -o 'worker=[0-9]*' "$N/parsec-access.log" | sort | uniq -c | tr '\n' ' ')"
check "both workers handled handshakes (reuseport spreads connections)" [ "$served_by" = 2 ]
check "both protocol versions were used" \
    sh -c "grep -q TLSv1.3 '$N/parsec-access.log' && grep -q TLSv1.2 '$N/parsec-access.log'"

# parsecd restarted under running workers.
ok "stop parsecd" psd_stop
fails "with parsecd stopped, a new handshake fails" fetch "$P_EC" --tlsv1.3
check "nginx is still running" kill -0 "$TLS_PID_nginx"
ok "restart parsecd (same keys)" psd_restart
ok "the same workers sign again: ECDSA, TLS 1.3" fetch "$P_EC" --tlsv1.3
ok "the same workers sign again: RSA, TLS 1.2" fetch "$P_RSA" --tlsv1.2 --tls-max 1.2
ten() {
    local i good=0
    for i in $(seq 10); do fetch "$P_RSA" --tlsv1.3 >/dev/null 2>&1 && good=$((good + 1)); done
    for i in $(seq 10); do fetch "$P_EC" --tlsv1.2 --tls-max 1.2 >/dev/null 2>&1 && good=$((good + 1)); done
    echo "$good of 20 requests succeeded"
    [ "$good" = 20 ]
}
ok "20 more requests after the restart all succeed" ten
check "no worker was replaced (no crash)" [ "$(workers | tr '\n' ' ')" = "$WORKERS_BEFORE" ]
check "no worker crash in nginx's error log" sh -c "! grep -E 'exited on signal|worker process .* exited' '$N/parsec-error.log'"

tls_stop nginx
psd_summary
exit $?
