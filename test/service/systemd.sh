#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The installed systemd units, sysusers.d and tmpfiles.d entries: the units
# pass `systemd-analyze verify`, the entries create the parsec user, the
# parsec-clients group and the folders, and parsecd runs as the unit's
# ExecStart under socket activation (LISTEN_FDS, as parsec.socket passes
# it) with the socket's mode and group deciding who may connect. These
# machines run no systemd: the socket is made and passed by
# socket_activate.py as systemd does, with nobody/nogroup standing in for
# parsec/parsec-clients (the host's user database is left alone).
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
psd_test_init
D=$TESTDIR
chmod 0755 "$D"
[ "$(id -u)" = 0 ] || { echo "not ok - this test switches users and needs root"; exit 1; }
for tool in systemd-analyze systemd-sysusers systemd-tmpfiles runuser python3; do
    command -v "$tool" >/dev/null || { echo "not ok - $tool is missing (scripts/install-deps.sh)"; exit 1; }
done

ok "meson install into a staging folder" meson install -C "$TEST_BUILDDIR" --no-rebuild --destdir "$D/root"
prefix=$(meson introspect "$TEST_BUILDDIR" --buildoptions | python3 -c \
    'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
R=$D/root
unit=$(find "$R" -name parsec.service -path '*/systemd/system/*')
socket=$(find "$R" -name parsec.socket -path '*/systemd/system/*')
sysusers=$(find "$R" -path '*/sysusers.d/parsec.conf')
tmpfiles=$(find "$R" -path '*/tmpfiles.d/parsec.conf')
check "parsec.service and parsec.socket are installed" [ -f "$unit" ] && [ -f "$socket" ]
check "sysusers.d and tmpfiles.d entries are installed" [ -f "$sysusers" ] && [ -f "$tmpfiles" ]

# -- systemd-analyze verify: the only change is where the staged binary is --
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
check "ExecStart runs the installed parsecd with the installed config" \
    [ "$exec_start" = "$prefix/sbin/parsecd -c $( [ "$prefix" = /usr ] && echo /etc || echo "$prefix/etc")/parsec/parsecd.conf" ]
mkdir -p "$D/verify"
sed "s|^ExecStart=$prefix/|ExecStart=$R$prefix/|" "$unit" >"$D/verify/parsec.service"
cp "$socket" "$D/verify/parsec.socket"
ok "systemd-analyze verify parsec.service parsec.socket" \
    systemd-analyze verify --man=no "$D/verify/parsec.service" "$D/verify/parsec.socket"
check "  ... without a single complaint" [ ! -s "$TESTDIR/last.out" ]
for setting in User=parsec ProtectSystem=strict StateDirectory=parsec RuntimeDirectory=parsec \
    NoNewPrivileges=yes PrivateTmp=yes "CapabilityBoundingSet=" Requires=parsec.socket; do
    check "  ... parsec.service has $setting" grep -qx -- "$setting" "$unit"
done
if grep -q "PSD_HAVE_SYSTEMD 1" "$TEST_BUILDDIR/config.h"; then
    check "  ... Type=notify (parsecd calls sd_notify)" grep -qx Type=notify "$unit"
else
    check "  ... Type=simple (parsecd built without libsystemd)" grep -qx Type=simple "$unit"
fi
for setting in ListenStream=/run/parsec/parsec.sock SocketMode=0660 SocketUser=parsec \
    SocketGroup=parsec-clients; do
    check "  ... parsec.socket has $setting" grep -qx -- "$setting" "$socket"
done

# -- sysusers.d and tmpfiles.d, applied to a throwaway root --
mkdir -p "$D/sysroot/etc"
ok "systemd-sysusers applies the entry" systemd-sysusers --root="$D/sysroot" "$sysusers"
check "  ... a parsec system user with home /var/lib/parsec and no login shell" \
    grep -Eq '^parsec:x:[0-9]+:[0-9]+:Parsec key service:/var/lib/parsec:/(usr/)?s?bin/nologin$' "$D/sysroot/etc/passwd"
check "  ... a parsec-clients group" grep -q '^parsec-clients:x:' "$D/sysroot/etc/group"
ok "systemd-tmpfiles applies the entry" systemd-tmpfiles --root="$D/sysroot" --create "$tmpfiles"
parsec_uid=$(awk -F: '$1 == "parsec" { print $3 }' "$D/sysroot/etc/passwd")
check "  ... /run/parsec 0755 owned by parsec" [ "$(stat -c %a:%u "$D/sysroot/run/parsec")" = "755:$parsec_uid" ]
check "  ... /var/lib/parsec 0700 owned by parsec" [ "$(stat -c %a:%u "$D/sysroot/var/lib/parsec")" = "700:$parsec_uid" ]

# -- the unit's ExecStart under socket activation --
config=${exec_start##* -c }
staged_config=$R$config
check "the default configuration is installed at the unit's -c path" [ -f "$staged_config" ]
check "  ... and equals the documented defaults (parsecd.conf.example)" \
    cmp -s "$staged_config" "$TEST_SRCDIR/service/parsecd.conf.example"
# What StateDirectory=parsec would give: the store in a folder of the service user.
mkdir -p "$D/state" && chown nobody:nogroup "$D/state" && chmod 0700 "$D/state"
sed -i "s|^path = /var/lib/parsec/|path = $D/state/|" "$staged_config"
chmod 0644 "$staged_config"
export PARSEC_SERVICE_ENDPOINT=unix:$D/parsec.sock
read -r -a cmd <<<"${exec_start/#$prefix/$R$prefix}"
cmd=("${cmd[@]/#$config/$staged_config}")
python3 "$TEST_SRCDIR/test/service/socket_activate.py" "$D/parsec.sock" 0660 nobody nogroup nobody \
    "${cmd[@]}" 2>"$D/activated.log" &
PID=$!
psd_track_pid "$PID"
check "parsecd started as the unit's ExecStart with the socket on fd 3" \
    wait_for_line "using the socket passed by systemd" "$D/activated.log"
check "  ... is listening" wait_for_line "listening on" "$D/activated.log"
ok "  ... answers a member of the socket's group (root)" "$PARSEC_CLI" ping
check "  ... runs as the unit's user" [ "$(ps -o user= -p "$PID")" = nobody ]
ok "  ... creates a key" "$PARSEC_CLI" create-ecc-key -k unit-key
check "  ... in the state folder" [ -f "$D/state/keys.sqlite3" ]
fails "a user outside the socket's group cannot connect" runuser -u daemon -- "$PARSEC_CLI" ping
check "  ... and is told it cannot connect" last_output_has "cannot connect to the Parsec service"
kill -TERM "$PID"
check "SIGTERM stops it cleanly" wait_for_line "stopped" "$D/activated.log"
check "  ... waking its workers through the socket it was given" file_lacks "waking the listener" "$D/activated.log"
check "  ... leaving the socket to systemd (it does not remove an inherited socket)" [ -S "$D/parsec.sock" ]
check "no sanitizer report" no_sanitizer_report
psd_summary
