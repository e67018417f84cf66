#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `meson install` as README's Install section describes it: a fresh build
# installed under a prefix other than /usr lands entirely under the prefix
# (parsec.so too, not in dpkg's OpenSSL module folder), its programs run
# without ldconfig or LD_LIBRARY_PATH, an edited parsecd.conf survives a
# reinstall, parsec-client.pc builds a client, and the installed service,
# parsec-cli and the example openssl.cnf work together. With --prefix=/usr
# parsec.so goes to libcrypto's modulesdir; -Dopenssl_modulesdir= overrides.
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
# The installed parsecd must find its own backend modules, not the build's.
unset PARSECD_MODULE_DIR
D=$TESTDIR
P=$D/prefix
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
modulesdir=$(pkg-config --variable=modulesdir libcrypto)
installed() { meson introspect "$1" --installed | python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin).values())))'; }

ok "meson setup --prefix=$P" meson setup "$D/build" "$TEST_SRCDIR" --prefix="$P" -Dtests=false
ok "ninja" ninja -C "$D/build" -j 2
ok "meson install" meson install -C "$D/build"
check "  ... installs the default configuration, equal to the documented defaults" \
    cmp -s "$P/etc/parsec/parsecd.conf" "$TEST_SRCDIR/service/parsecd.conf.example"
installed "$D/build" >"$D/installed.txt"
check "every installed file is under the prefix" [ -z "$(grep -v "^$P/" "$D/installed.txt")" ]
for f in bin/parsec-cli sbin/parsecd "lib/$ma/libparsec-client.so.0" "lib/$ma/ossl-modules/parsec.so" \
    include/parsec/parsec_client.h include/parsec/parsec_types.h "lib/$ma/pkgconfig/parsec-client.pc" \
    etc/parsec/parsecd.conf lib/systemd/system/parsec.service lib/systemd/system/parsec.socket \
    lib/sysusers.d/parsec.conf lib/tmpfiles.d/parsec.conf share/man/man8/parsecd.8 \
    share/man/man5/parsecd.conf.5 share/man/man1/parsec-cli.1 share/man/man7/parsec-provider.7 \
    share/doc/parsecd/parsecd.conf.example share/doc/openssl-provider-parsec/examples/parsec-openssl.cnf \
    "lib/$ma/pkcs11/libparsec-pkcs11.so" share/p11-kit/modules/parsec-pkcs11.module \
    share/bash-completion/completions/parsec-cli; do
    check "  ... $f" [ -e "$P/$f" ]
done
# No installed program or library may name the build folder: it is gone, or
# holds other files, where they run. Debug sections aside (their
# DW_AT_comp_dir names it by design; packages move them to -dbgsym); run
# paths and all loaded data are searched.
no_build_path() {
    strip --strip-debug -o "$D/stripped" "$1" && ! grep -qaF "$D/build" "$D/stripped"
}
for f in sbin/parsecd bin/parsec-cli "lib/$ma/libparsec-client.so.0" "lib/$ma/ossl-modules/parsec.so" \
    "lib/$ma/pkcs11/libparsec-pkcs11.so" "lib/$ma/parsecd/psd-pkcs11.so" "lib/$ma/parsecd/psd-tpm.so"; do
    check "$f names no build-directory path" no_build_path "$P/$f"
done
ok "the installed parsecd --version" "$P/sbin/parsecd" --version
check "  ... names the installed module folder" last_output_has "^module folder: $P/lib/$ma/parsecd$"
printf '%s\n' "[listener]" "socket_path = $D/mod.sock" "[core]" "providers = pkcs11" \
    "[key_store]" "path = $D/mod/keys.sqlite3" "[pkcs11]" "module = $D/no-such-library.so" \
    "token_uri = pkcs11:token=x" "pin = 1234" >"$D/mod.conf"
fails "the installed parsecd with providers = pkcs11 and a missing PKCS#11 library" \
    "$P/sbin/parsecd" -c "$D/mod.conf"
check "  ... loads psd-pkcs11.so from the installed folder (its backend then refuses the library)" \
    last_output_has "backend 'pkcs11' failed to start"
not_listed_module() { ! grep -q "^$modulesdir/" "$D/installed.txt"; }
check "parsec.so is not put into OpenSSL's own module folder" not_listed_module
ok "the installed parsec-cli runs without ldconfig or LD_LIBRARY_PATH" env -u LD_LIBRARY_PATH "$P/bin/parsec-cli" --version
check "  ... finding libparsec-client under the prefix" \
    bash -c "env -u LD_LIBRARY_PATH ldd '$P/bin/parsec-cli' | grep -q 'libparsec-client.so.0 => $P/lib/$ma/'"
check "the unit runs the installed parsecd with the installed config" \
    grep -qx "ExecStart=$P/sbin/parsecd -c $P/etc/parsec/parsecd.conf" "$P/lib/systemd/system/parsec.service"
check "the example openssl.cnf names the installed module" \
    grep -qx "module = $P/lib/$ma/ossl-modules/parsec.so" "$P/share/doc/openssl-provider-parsec/examples/parsec-openssl.cnf"

# The installed pieces together: the config's paths moved into the test's folder.
sed -i -e "s|^socket_path = .*|socket_path = $D/run/parsec.sock|" \
    -e "s|^path = .*|path = $D/state/keys.sqlite3|" "$P/etc/parsec/parsecd.conf"
"$P/sbin/parsecd" -c "$P/etc/parsec/parsecd.conf" 2>"$D/parsecd.log" &
PID=$!
psd_track_pid "$PID"
check "the installed parsecd starts with the installed config" wait_for_line "listening on" "$D/parsecd.log"
export PARSEC_SERVICE_ENDPOINT=unix:$D/run/parsec.sock
ok "the installed parsec-cli creates a key" env -u LD_LIBRARY_PATH "$P/bin/parsec-cli" create-ecc-key -k installed
echo data >"$D/data"
ok "openssl signs with it through the installed provider and example openssl.cnf" \
    env OPENSSL_CONF="$P/share/doc/openssl-provider-parsec/examples/parsec-openssl.cnf" \
    openssl dgst -sha256 -sign parsec:installed -out "$D/data.sig" "$D/data"
ok "  ... verifiable with the exported public key" \
    bash -c "env -u LD_LIBRARY_PATH '$P/bin/parsec-cli' export-public-key -k installed >'$D/pub.pem' &&
             OPENSSL_CONF=/dev/null openssl dgst -sha256 -verify '$D/pub.pem' -signature '$D/data.sig' '$D/data'"
# parsec-client.pc
cat >"$D/client.c" <<'C'
#include <parsec_client.h>
#include <stdio.h>
int main(void)
{
    parsec_client *c = parsec_client_new();
    uint8_t maj = 0, min = 0;
    parsec_status st = c != NULL ? parsec_ping(c, &maj, &min) : PARSEC_CLIENT_ERROR_MEMORY;
    printf("%s: wire protocol %u.%u\n", parsec_status_name(st), maj, min);
    parsec_client_free(c);
    return st != PARSEC_SUCCESS;
}
C
ok "a client program builds with pkg-config parsec-client" \
    bash -c "cc -o '$D/client' '$D/client.c' \$(PKG_CONFIG_PATH='$P/lib/$ma/pkgconfig' pkg-config --cflags --libs parsec-client)"
ok "  ... and pings the service" env LD_LIBRARY_PATH="$P/lib/$ma" "$D/client"
check "  ... successfully" last_output_has "^Success: wire protocol 1.0"

psd_stop_pid "$PID"


# Reinstalling keeps an edited configuration.
echo "; edited by the administrator" >>"$P/etc/parsec/parsecd.conf"
ok "meson install again" meson install -C "$D/build" --no-rebuild
check "  ... and keeps the edit" grep -q "edited by the administrator" "$P/etc/parsec/parsecd.conf"

# Where parsec.so goes for prefix /usr, and the override.
ok "meson setup --prefix=/usr" meson setup "$D/build-usr" "$TEST_SRCDIR" --prefix=/usr -Dtests=false
check "  ... parsec.so goes into libcrypto's modulesdir ($modulesdir)" \
    bash -c "meson introspect '$D/build-usr' --installed | grep -q '\"$modulesdir/parsec.so\"'"
ok "meson setup -Dopenssl_modulesdir=$D/mods" meson setup "$D/build-mods" "$TEST_SRCDIR" --prefix=/usr \
    -Dtests=false -Dopenssl_modulesdir="$D/mods"
check "  ... parsec.so goes there instead" \
    bash -c "meson introspect '$D/build-mods' --installed | grep -q '\"$D/mods/parsec.so\"'"
psd_summary
