#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages, built as a distribution would (dpkg-buildpackage -b
# from a copy of the source tree, DEB_BUILD_OPTIONS=nocheck), checked for
# their file lists, conffiles, symbols and lintian errors, then used the
# way the documentation says on a machine where they are installed:
# parsecd started as parsec.service's ExecStart under socket activation
# (as the parsec user that the package's sysusers.d entry creates), a key
# created by an unprivileged member of parsec-clients with parsec-cli, and
# used from openssl through the packaged provider and example openssl.cnf.
#
# The packages are unpacked into a throwaway root (dpkg -x); these machines
# run no systemd, so the socket is made and passed as systemd does
# (test/service/socket_activate.py). The only adjustments to installed
# files are paths into that root. The users it creates (parsec,
# parsec-clients, parsec-e2e) are removed at the end if they were new.
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
# The packaged parsecd must find its own backend modules, not the build's.
unset PARSECD_MODULE_DIR
D=$TESTDIR
chmod 0755 "$D"
[ "$(id -u)" = 0 ] || { echo "not ok - this test creates users and needs root"; exit 1; }
for tool in dpkg-buildpackage dh lintian fakeroot systemd-sysusers useradd runuser python3; do
    command -v "$tool" >/dev/null || { echo "not ok - $tool is missing (scripts/install-deps.sh)"; exit 1; }
done
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
modulesdir=$(pkg-config --variable=modulesdir libcrypto)

# -- build from a copy of the source (what git tracks, or the unpacked tarball) --
mkdir -p "$D/src"
if git -C "$TEST_SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$TEST_SRCDIR" && git ls-files -z | xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$D/src"
else
    (cd "$TEST_SRCDIR" && tar -cf - --exclude='./build*' --exclude=./obj-\* .) | tar -xf - -C "$D/src"
fi
ok "dpkg-buildpackage -b -uc -us" env -C "$D/src" DEB_BUILD_OPTIONS="nocheck parallel=2" \
    dpkg-buildpackage -b -uc -us
cp "$TESTDIR/last.out" "$D/build.log"
version=$(dpkg-parsechangelog -l "$D/src/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
for p in parsecd parsec-cli libparsec-client0 libparsec-client-dev openssl-provider-parsec libparsec-pkcs11; do
    check "package $p is built" [ -f "$D/${p}_${version}_$arch.deb" ]
done
check "the symbols file lists exactly the library's exports" file_lacks "dpkg-gensymbols: warning" "$D/build.log"

# -- file lists (documentation files of every package aside) --
files_of() {
    dpkg-deb -c "$D/$1_${version}_$arch.deb" | awk '{ print $6 }' | sed 's|^\./|/|' |
        grep -v '/$' | grep -v "^/usr/share/doc/$1/\(copyright\|changelog.gz\)$" | sort
}
expect() { printf '%s\n' "$@" | sort; }
same_files() { diff -u <(expect "${@:2}") <(files_of "$1") >"$D/$1.diff"; }
check "parsecd holds the service, its backend modules, units, sysusers/tmpfiles entries, config and man pages" \
    same_files parsecd /etc/parsec/parsecd.conf /lib/systemd/system/parsec.service \
    /lib/systemd/system/parsec.socket /usr/lib/sysusers.d/parsec.conf /usr/lib/tmpfiles.d/parsec.conf \
    "/usr/lib/$ma/parsecd/psd-pkcs11.so" "/usr/lib/$ma/parsecd/psd-tpm.so" /usr/sbin/parsecd \
    /usr/share/doc/parsecd/parsecd.conf.example.gz /usr/share/man/man5/parsecd.conf.5.gz \
    /usr/share/man/man8/parsecd.8.gz
check "parsec-cli holds the program, its man page and its bash completion" \
    same_files parsec-cli /usr/bin/parsec-cli /usr/share/man/man1/parsec-cli.1.gz \
    /usr/share/bash-completion/completions/parsec-cli
check "libparsec-client0 holds the shared library" \
    same_files libparsec-client0 "/usr/lib/$ma/libparsec-client.so.0" "/usr/lib/$ma/libparsec-client.so.${version%%-*}"
check "libparsec-client-dev holds the headers, the .so link and parsec-client.pc" \
    same_files libparsec-client-dev /usr/include/parsec/parsec_client.h /usr/include/parsec/parsec_types.h \
    "/usr/lib/$ma/libparsec-client.so" "/usr/lib/$ma/pkgconfig/parsec-client.pc"
check "openssl-provider-parsec holds the module in OpenSSL's module folder, an openssl.cnf and its man page" \
    same_files openssl-provider-parsec "$modulesdir/parsec.so" \
    /usr/share/doc/openssl-provider-parsec/examples/parsec-openssl.cnf \
    /usr/share/man/man7/parsec-provider.7.gz
check "libparsec-pkcs11 holds the PKCS#11 module in p11-kit's module folder and its registration" \
    same_files libparsec-pkcs11 "/usr/lib/$ma/pkcs11/libparsec-pkcs11.so" \
    /usr/share/p11-kit/modules/parsec-pkcs11.module
cat "$D"/*.diff | sed 's/^/#   /'
dpkg-deb -e "$D/parsecd_${version}_$arch.deb" "$D/parsecd.control"
check "parsecd's configuration is a conffile (upgrades keep local edits)" \
    [ "$(cat "$D/parsecd.control/conffiles")" = /etc/parsec/parsecd.conf ]
check "parsecd's postinst creates the users before the folders, then enables the units" \
    [ "$(grep -o 'systemd-sysusers\|systemd-tmpfiles\|deb-systemd-helper enable' "$D/parsecd.control/postinst" | uniq | tr '\n' ,)" = "systemd-sysusers,systemd-tmpfiles,deb-systemd-helper enable," ]

# -- lintian --
lintian --allow-root "$D/parsec-provider_${version}_$arch.changes" >"$D/lintian.out" 2>&1
check "lintian reports no errors" file_lacks "^E:" "$D/lintian.out"
grep "^[EW]:" "$D/lintian.out" | sed 's/^/#   /'

# -- installed: the service as its unit runs it, a key from an unprivileged client, openssl --
R=$D/root
for deb in "$D"/*_"${version}"_"$arch".deb; do
    case $deb in *-dbgsym_*) continue ;; esac
    dpkg -x "$deb" "$R"
done
ok "the packaged parsecd runs: --version" "$R/usr/sbin/parsecd" --version
check "  ... with the backends of the package" last_output_has "^backends: software (built in), pkcs11 (module psd-pkcs11.so), tpm (module psd-tpm.so)"

created=""
getent passwd parsec >/dev/null || created="$created user:parsec"
getent group parsec-clients >/dev/null || created="$created group:parsec-clients"
getent passwd parsec-e2e >/dev/null || created="$created user:parsec-e2e"
remove_users() {
    local u
    for u in $created; do
        case $u in
        user:*) userdel "${u#user:}" 2>/dev/null ;;
        group:*) groupdel "${u#group:}" 2>/dev/null ;;
        esac
    done
}
# Users go after the daemons running as them are stopped.
trap 'psd_cleanup; remove_users' EXIT
ok "the package's sysusers.d entry creates the service user and group" \
    systemd-sysusers "$R/usr/lib/sysusers.d/parsec.conf"
check "  ... parsec exists" getent passwd parsec
check "  ... parsec-clients exists" getent group parsec-clients
getent passwd parsec-e2e >/dev/null || useradd --no-create-home --shell /usr/sbin/nologin parsec-e2e
ok "an unprivileged user joins parsec-clients (usermod -a -G, as parsecd(8) says)" \
    usermod -a -G parsec-clients parsec-e2e

# StateDirectory=parsec and RuntimeDirectory=parsec, in the test's folder.
mkdir -p "$D/state" "$D/run"
chown parsec:parsec "$D/state" && chmod 0700 "$D/state"
chmod 0755 "$D/run"
unit=$R/lib/systemd/system/parsec.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
config=${exec_start##* -c }
mkdir -p "$D/etc"
sed -e "s|^path = /var/lib/parsec/|path = $D/state/|" \
    -e "s|^socket_path = /run/parsec/|socket_path = $D/run/|" "$R$config" >"$D/etc/parsecd.conf"
read -r -a cmd <<<"$R$exec_start"
cmd=("${cmd[@]/#$config/$D/etc/parsecd.conf}")
user=$(sed -n 's/^User=//p' "$unit")
socket_unit=$R/lib/systemd/system/parsec.socket
python3 "$TEST_SRCDIR/test/service/socket_activate.py" "$D/run/parsec.sock" \
    "$(sed -n 's/^SocketMode=//p' "$socket_unit")" "$(sed -n 's/^SocketUser=//p' "$socket_unit")" \
    "$(sed -n 's/^SocketGroup=//p' "$socket_unit")" \
    "$user" "${cmd[@]}" 2>"$D/parsecd.log" &
PID=$!
psd_track_pid "$PID"
check "parsecd starts as the unit's ExecStart, user $user, with the socket of parsec.socket" \
    wait_for_line "listening on" "$D/parsecd.log"
check "  ... runs as parsec" [ "$(ps -o user= -p "$PID")" = parsec ]

as_client() {
    runuser -u parsec-e2e -- env PARSEC_SERVICE_ENDPOINT="unix:$D/run/parsec.sock" \
        LD_LIBRARY_PATH="$R/usr/lib/$ma" OPENSSL_CONF="$D/openssl.cnf" "$@"
}
ok "a member of parsec-clients creates a key with the packaged parsec-cli" \
    as_client "$R/usr/bin/parsec-cli" create-ecc-key -k e2e-web
ok "  ... and lists it" as_client "$R/usr/bin/parsec-cli" list-keys
check "  ... as its own" last_output_has "e2e-web"
check "the key store is the service user's alone" \
    [ "$(stat -c %U:%a "$D/state/keys.sqlite3")" = parsec:600 ]
fails "a user outside parsec-clients cannot connect" \
    runuser -u daemon -- env PARSEC_SERVICE_ENDPOINT="unix:$D/run/parsec.sock" \
    LD_LIBRARY_PATH="$R/usr/lib/$ma" "$R/usr/bin/parsec-cli" list-keys
check "  ... and is told so" last_output_has "cannot connect to the Parsec service"

# The packaged example openssl.cnf; its module path points into the throwaway root.
sed "s|^module = |module = $R|" "$R/usr/share/doc/openssl-provider-parsec/examples/parsec-openssl.cnf" \
    >"$D/openssl.cnf"
check "the example openssl.cnf names the module in OpenSSL's module folder" \
    grep -qx "module = $modulesdir/parsec.so" "$R/usr/share/doc/openssl-provider-parsec/examples/parsec-openssl.cnf"
echo "signed by a key in the Parsec service" >"$D/data.txt"
chmod 0644 "$D/data.txt" "$D/openssl.cnf"
mkdir -p "$D/out" && chown parsec-e2e "$D/out"
ok "openssl signs with the key through the packaged provider" \
    as_client openssl dgst -sha256 -sign parsec:e2e-web -out "$D/out/data.sig" "$D/data.txt"
ok "openssl exports its public key" \
    as_client openssl pkey -in parsec:e2e-web -pubout -out "$D/out/e2e-web.pub.pem"
ok "the signature verifies with OpenSSL's default provider alone" \
    env OPENSSL_CONF=/dev/null openssl dgst -sha256 -verify "$D/out/e2e-web.pub.pem" \
    -signature "$D/out/data.sig" "$D/data.txt"
check "  ... Verified OK" last_output_has "Verified OK"
ok "pkcs11-tool lists the same key through the packaged PKCS#11 module" \
    as_client pkcs11-tool --module "$R/usr/lib/$ma/pkcs11/libparsec-pkcs11.so" --list-objects
check "  ... by its name" last_output_has "label: *e2e-web"
kill -TERM "$PID"
check "parsecd stops cleanly" wait_for_line "stopped" "$D/parsecd.log"
check "  ... waking its workers through the socket it was given" file_lacks "waking the listener" "$D/parsecd.log"
psd_summary
