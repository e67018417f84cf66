#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# curl 7.88 (Debian 12) presenting a client certificate whose private key is
# held by the Parsec service (mutual TLS). curl 7.88 cannot take a provider
# URI, but it reads --key with PEM_read_bio_PrivateKey(), which hands the
# key-reference PEM file to the parsec provider's decoder.
#
#   examples/curl-client-cert.sh https://server.example:8443/ [more curl options]
#
# The openssl.cnf must activate the default and parsec providers
# (examples/openssl.cnf). See docs/tls.md.
OPENSSL_CONF=${OPENSSL_CONF:-/etc/parsec/openssl.cnf}
export OPENSSL_CONF
exec curl --silent --show-error --fail \
    --cert /etc/parsec/client.crt \
    --key /etc/parsec/client.ref.pem \
    --cacert /etc/parsec/ca.crt \
    "$@"
