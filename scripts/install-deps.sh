#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package the build, the demo and the test suite need.
# Idempotent: re-running it on a prepared machine only checks what is there.
set -eu
PKGS="build-essential pkg-config meson ninja-build
 libssl-dev openssl libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev sqlite3
 libinih-dev libcmocka-dev libp11-kit-dev p11-kit softhsm2 opensc libjson-c-dev
 libtss2-dev libtss2-tcti-swtpm0 swtpm swtpm-tools tpm2-tools tpm2-openssl
 nginx-light curl procps psmisc python3 bash-completion
 openssh-client openssh-server gnutls-bin libnss3-tools p11-kit-modules
 shellcheck clang-format
 cargo rustc librust-parsec-interface-dev librust-zeroize-dev librust-libc-dev
 clang libclang-rt-14-dev zip
 libsystemd-dev systemd scdoc man-db debhelper dpkg-dev fakeroot lintian"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "install-deps: missing packages:$missing (run as root)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    # nginx's postinst would start a system nginx on port 80; tests start their own.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get update -qq
    # shellcheck disable=SC2086 # one argument per package name
    apt-get install -y -qq --no-install-recommends $missing
fi
