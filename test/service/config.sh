#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsecd's command line and configuration: clear one-line errors and a
# non-zero exit for bad input; clean SIGTERM/SIGINT exits; socket and key
# store permissions; stale sockets; a second instance refused.
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
psd_test_init
P=$PARSECD
D=$TESTDIR

# base [EXTRA-LINES...] -> a valid config on stdout (sockets and stores in $D/cfg)
base() {
    printf '%s\n' "[listener]" "socket_path = $D/cfg.sock" "[core]" "providers = software" \
        "[key_store]" "path = $D/cfg/keys.sqlite3" "$@"
}
# refuses DESC PATTERN CONFIG-TEXT: parsecd exits non-zero, with one stderr line matching PATTERN.
refuses() {
    local desc=$1 pattern=$2
    printf '%s\n' "$3" >"$D/bad.conf"
    fails "$desc" "$P" -c "$D/bad.conf"
    check "  ... one line saying so" one_line_matching "$pattern"
}
absent() { ! grep -q -- "$1" "$2"; }
# Start-up progress lines (timestamped log lines) may precede it; the error itself is one line.
one_line_matching() {
    local errors
    errors=$(grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$D/last.out")
    [ "$(printf '%s\n' "$errors" | wc -l)" = 1 ] && printf '%s\n' "$errors" | grep -q -- "$1"
}

ok "--version" "$P" --version
check "  ... prints the version" last_output_has "parsecd [0-9]"
ok "--help" "$P" --help
check "  ... shows the usage" last_output_has "Usage: parsecd -c CONFIG"
fails "no -c" "$P"
check "  ... one line saying so" one_line_matching "no configuration file"
fails "an unknown option" "$P" --bogus -c x
fails "a missing config file" "$P" -c "$D/missing.conf"
check "  ... one line naming it" one_line_matching "missing.conf"
fails "an unknown --log-level" "$P" -c /dev/null --log-level loud

refuses "an unknown section" "unknown section \[frontend\]" "$(base "[frontend]" "x = 1")"
refuses "an unknown key" "unknown key 'thread' in section \[core\]" "$(base "[core]" "thread = 4")"
refuses "an unknown backend" "unknown backend 'mbed'" "$(base "[core]" "providers = mbed")"
refuses "a backend listed twice" "listed twice" "$(base "[core]" "providers = software, software")"
refuses "a bad log level" "log_level 'chatty'" "$(base "[core]" "log_level = chatty")"
refuses "a bad socket mode" "socket_mode '999'" "$(base "[listener]" "socket_mode = 999")"
refuses "a bad max_connections_per_uid" "max_connections_per_uid '-1' must be 0..1000000" "$(base "[listener]" "max_connections_per_uid = -1")"
refuses "a bad shm_handoff" "shm_handoff 'maybe' must be true or false" "$(base "[listener]" "shm_handoff = maybe")"
refuses "zero threads" "threads '0'" "$(base "[core]" "threads = 0")"
refuses "an empty module_dir" "module_dir is empty" "$(base "[core]" "module_dir =")"
refuses "an unknown authenticator" "authenticator type 'jwt'" "$(base "[authenticator]" "type = jwt")"
refuses "a line that is not key = value" "syntax error" "$(base "just words")"
refuses "a socket path too long" "too long" "$(base "[listener]" "socket_path = $D/$(printf 'x%.0s' $(seq 120))")"
touch "$D/regular"
refuses "a socket path that is a regular file" "not a socket" "$(base "[listener]" "socket_path = $D/regular")"
refuses "a socket below a regular file" "$D/regular exists and is not a directory" \
    "$(base "[listener]" "socket_path = $D/regular/s.sock")"
refuses "an unknown socket owner" "socket_owner 'no-such-user-xyz'" "$(base "[listener]" "socket_owner = no-such-user-xyz")"
refuses "a setting the software backend does not have" "backend 'software' failed to start: unknown setting 'speed'" \
    "$(base "[software]" "speed = fast")"
if grep -q "PSD_HAVE_PKCS11 1" "$TEST_BUILDDIR/config.h"; then
    refuses "a PKCS#11 backend whose module is missing" "backend 'pkcs11' failed to start" \
        "$(base "[core]" "providers = software, pkcs11" "[pkcs11]" "module = $D/no-such-module.so" \
            "token_uri = pkcs11:token=x" "pin = Qx7-never-logged")"
    check "  ... without the PIN in the message" absent Qx7-never-logged "$D/last.out"
    # Where psd-pkcs11.so comes from: PARSECD_MODULE_DIR (the tests' environment
    # points it at the build tree), else [core] module_dir, else the installed folder.
    pkcs11_conf=$(base "[core]" "providers = software, pkcs11" "[pkcs11]" "module = $D/no-such-module.so" \
        "token_uri = pkcs11:token=x" "pin = Qx7-never-logged")
    printf '%s\n' "$pkcs11_conf" "[core]" "module_dir = no-modules" >"$D/moddir.conf"
    fails "a module_dir without the backend module" env -u PARSECD_MODULE_DIR "$P" -c "$D/moddir.conf"
    check "  ... names the file tried (relative to the config's folder), errno and the setting to change" \
        last_output_has "^parsecd: cannot load the pkcs11 backend: $D/no-modules/psd-pkcs11.so: No such file or directory (ENOENT). The folder $D/no-modules comes from \[core\] module_dir: set it to the folder holding psd-pkcs11.so$"
    fails "a PARSECD_MODULE_DIR without the backend module" env PARSECD_MODULE_DIR="$D/elsewhere" "$P" -c "$D/moddir.conf"
    check "  ... wins over module_dir, and the message says to unset or fix the variable" \
        last_output_has "^parsecd: cannot load the pkcs11 backend: $D/elsewhere/psd-pkcs11.so: No such file or directory (ENOENT). The folder $D/elsewhere comes from the environment variable PARSECD_MODULE_DIR: unset it, or point it to the folder holding psd-pkcs11.so$"
    printf '%s\n' "$pkcs11_conf" "[core]" "module_dir = $TEST_BUILDDIR/service" >"$D/moddir.conf"
    fails "module_dir naming the build's modules" env -u PARSECD_MODULE_DIR "$P" -c "$D/moddir.conf"
    check "  ... loads psd-pkcs11.so from there (the backend then fails on its missing PKCS#11 library)" \
        last_output_has "backend 'pkcs11' failed to start"
    installed_dir=$("$P" --version | sed -n 's/^module folder: //p')
    check "--version names the installed module folder" [ -n "$installed_dir" ]
    printf '%s\n' "$pkcs11_conf" "[core]" "log_level = debug" >"$D/moddir.conf"
    fails "neither module_dir nor PARSECD_MODULE_DIR" env -u PARSECD_MODULE_DIR "$P" -c "$D/moddir.conf"
    check "  ... looks in the installed module folder" last_output_has "$installed_dir/psd-pkcs11.so"
    [ -e "$installed_dir/psd-pkcs11.so" ] ||
        check "  ... and, finding no module there, says to install it or set module_dir" \
            last_output_has "is where the modules install (parsecd --version): install the module there, or set \[core\] module_dir to the folder holding psd-pkcs11.so$"
else
    refuses "a backend that is not built in" "not built into this parsecd" "$(base "[core]" "providers = pkcs11")"
fi
check "no refused start left a socket behind" [ ! -e "$D/cfg.sock" ]

# -- a good start: permissions, stale socket, second instance, signals --
base "[listener]" "socket_mode = 0660" "[core]" "log_level = debug" >"$D/good.conf"
# A socket file nobody answers on (as after a crash).
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$D/cfg.sock"
check "a stale socket file is there" [ -S "$D/cfg.sock" ]
"$P" -c "$D/good.conf" 2>"$D/good.log" &
pid=$!
psd_track_pid "$pid"
for _ in $(seq 100); do grep -q listening "$D/good.log" 2>/dev/null && break; sleep 0.1; done
check "parsecd replaced the stale socket and started" grep -q "removed stale socket" "$D/good.log"
export PARSEC_SERVICE_ENDPOINT=unix:$D/cfg.sock
ok "it answers" "$PARSEC_CLI" ping
check "socket mode is the configured 0660" [ "$(stat -c %a "$D/cfg.sock")" = 660 ]
check "key store directory was created 0700" [ "$(stat -c %a "$D/cfg")" = 700 ]
check "key store file is 0600" [ "$(stat -c %a "$D/cfg/keys.sqlite3")" = 600 ]
ok "a key is created" "$PARSEC_CLI" create-ecc-key -k k
check "debug level logs the request" grep -q "PsaGenerateKey provider=1" "$D/good.log"
fails "a second parsecd on the same socket is refused" "$P" -c "$D/good.conf"
check "  ... because the first one answers there" last_output_has "already listening"
sed "s|$D/cfg.sock|$D/other.sock|" "$D/good.conf" >"$D/second.conf"
fails "a second parsecd on the same key store is refused" "$P" -c "$D/second.conf"
check "  ... with a reason" last_output_has "key store"
check "  ... and without leaving its socket" [ ! -e "$D/other.sock" ]
ok "the first one still answers" "$PARSEC_CLI" ping
kill -TERM "$pid"
wait "$pid"
check "SIGTERM: exit status 0" [ $? = 0 ]
check "SIGTERM: socket removed" [ ! -e "$D/cfg.sock" ]
check "SIGTERM: said so in the log" grep -q "SIGTERM received" "$D/good.log"

"$P" -c "$D/good.conf" --log-level error 2>"$D/quiet.log" &
pid=$!
psd_track_pid "$pid"
for _ in $(seq 100); do [ -S "$D/cfg.sock" ] && break; sleep 0.1; done
ok "restarted, the key is still there" "$PARSEC_CLI" export-public-key -k k
check "--log-level error overrides the file's debug" [ ! -s "$D/quiet.log" ]
kill -INT "$pid"
wait "$pid"
check "SIGINT: exit status 0" [ $? = 0 ]

# The shipped example must be a valid configuration.
sed -e "s|^socket_path = .*|socket_path = $D/example.sock|" -e "s|^path = .*|path = $D/example/keys.sqlite3|" \
    "$TEST_SRCDIR/service/parsecd.conf.example" >"$D/example.conf"
"$P" -c "$D/example.conf" 2>"$D/example.log" &
pid=$!
psd_track_pid "$pid"
for _ in $(seq 100); do [ -S "$D/example.sock" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
PARSEC_SERVICE_ENDPOINT=unix:$D/example.sock ok "parsecd.conf.example starts a working service" "$PARSEC_CLI" ping
kill -TERM "$pid"
wait "$pid"

psd_finish
exit $?
