#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# nginx reload with keys in the Parsec service (docs/tls.md, section 5,
# Reload): `nginx -s reload` parses the configuration in a new process, so
# it needs OPENSSL_CONF like the start; without it the reload is refused with
# the message docs/tls.md's troubleshooting quotes, and nginx keeps serving.
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/tls/tls-lib.sh"
NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$NGINX" ] || { echo "not ok - nginx not installed at $NGINX (Debian package nginx-light)"; echo "0 passed, 1 failed"; exit 1; }
tls_setup
pprov_preload openssl nginx
if [ -n "${PPROV_PRELOAD:-}" ]; then
    # nginx never frees its cycle pool at exit (ngx_memalign): its leak, not parsec.so's.
    printf '#!/bin/sh\nASAN_OPTIONS=%s exec %s "$@"\n' "${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        "$TESTDIR/bin/nginx" >"$TESTDIR/bin/nginx-sanitized"
    chmod 755 "$TESTDIR/bin/nginx-sanitized"
    NGINX=$TESTDIR/bin/nginx-sanitized
fi
T=$TESTDIR
N=$T/nginx
mkdir -p "$N/www" "$N/tmp"
chmod 711 "$T"
echo "reloaded" >"$N/www/index.html"
chmod -R a+rX "$N"

ok "an ECDSA server key" tls_create_key reload-ec ec-p256-ecdsa
ok "its key-reference file" tls_key_ref reload-ec "$N/ec.ref.pem"
ok "its certificate" tls_cert_for_key "$N/ec.ref.pem" localhost "$N/ec.crt"
cp "$N/ec.ref.pem" "$N/rsa.ref.pem" && cp "$N/ec.crt" "$N/rsa.crt"
tls_free_port P_A
tls_free_port P_B
tls_nginx_conf "$N" "$P_A" "$P_B"

TLS_PID_nginx=""
tls_start nginx "$P_A" env OPENSSL_CONF="$TLS_CNF" "$NGINX" -c "$N/nginx.conf" -g "daemon off; master_process on;"
ok "nginx started with OPENSSL_CONF" tls_wait_port "$TLS_PID_nginx" "$P_B"

# /dev/null stands for "no provider configuration" without reading the host's openssl.cnf.
fails "nginx -s reload without OPENSSL_CONF is refused" \
    env OPENSSL_CONF=/dev/null "$NGINX" -c "$N/nginx.conf" -g "daemon off; master_process on;" -s reload
check "the refusal is the one docs/tls.md quotes (no decoder for the reference)" grep -q "DECODER routines::unsupported" "$T/last.out"
check "docs/tls.md names the reload fix" grep -qF 'OPENSSL_CONF=/etc/parsec/openssl.cnf nginx -s reload' "$TEST_SRCDIR/docs/tls.md"
check "nginx still runs after the refused reload" kill -0 "$TLS_PID_nginx"
ok "nginx -s reload with OPENSSL_CONF is accepted" \
    env OPENSSL_CONF="$TLS_CNF" "$NGINX" -c "$N/nginx.conf" -g "daemon off; master_process on;" -s reload
ok "HTTPS works after the reload" env OPENSSL_CONF=/dev/null timeout "$TLS_CLIENT_TIMEOUT" curl --silent --show-error --fail \
    --cacert "$T/ca.crt" --resolve "localhost:$P_B:127.0.0.1" "https://localhost:$P_B/"
check "the page came back" grep -q reloaded "$T/last.out"

psd_summary
exit $?
