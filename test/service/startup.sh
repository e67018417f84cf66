#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# parsecd starting as a service would: it creates its socket and key-store
# folders, names path, errno and user when it cannot, reports several
# configuration errors each with its line, logs with the time zone (bare
# lines under the journal, or to a file), reloads log level and admins on
# SIGHUP, and tells systemd when it is ready (sd_notify).
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/service/common.sh"
psd_test_init
P=$PARSECD
D=$TESTDIR
# The unprivileged runs below need to reach the test directory.
chmod 0755 "$D"
[ "$(id -u)" = 0 ] || { echo "not ok - this test runs parsecd as another user and needs root"; exit 1; }
command -v runuser >/dev/null || { echo "not ok - runuser (util-linux) is missing"; exit 1; }

# conf FILE [LINES...]: a minimal config with the socket and store under $D/run and $D/state.
conf() {
    local file=$1
    shift
    printf '%s\n' "[listener]" "socket_path = $D/run/parsec/parsec.sock" "[core]" \
        "providers = software" "[key_store]" "path = $D/state/parsec/keys.sqlite3" "$@" >"$file"
}
# start_bg CONFIG LOG [ENV...]: parsecd in the background, tracked; waits for "listening"
# in LOG (its stderr), or in $WATCH when set (a log_file).
start_bg() {
    local cfg=$1 log=$2 _
    shift 2
    env "$@" "$P" -c "$cfg" 2>"$log" &
    BG_PID=$!
    psd_track_pid "$BG_PID"
    for _ in $(seq 100); do
        grep -q "listening on" "${WATCH:-$log}" 2>/dev/null && return 0
        kill -0 "$BG_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
mode_of() { stat -c %a "$1"; }
as_nobody() { runuser -u nobody -- "$@"; }

# -- folders created with safe modes --
conf "$D/a.conf"
ok "parsecd starts with neither its socket folder nor its key-store folder present" \
    start_bg "$D/a.conf" "$D/a.log"
check "  ... the socket folder is created 0755 (clients must reach the socket)" \
    [ "$(mode_of "$D/run/parsec")" = 755 ]
check "  ... the key-store folder is created 0700 (it holds private keys)" \
    [ "$(mode_of "$D/state/parsec")" = 700 ]
check "  ... it logs which folders it created" grep -q "created directory $D/run/parsec (mode 0755)" "$D/a.log"
ok "  ... and answers" "$PARSEC_CLI" -e "unix:$D/run/parsec/parsec.sock" ping
psd_stop_pid "$BG_PID"

# -- what it says when it cannot --
mkdir -p "$D/rootonly" && chmod 0755 "$D/rootonly"
conf "$D/b.conf" "[listener]" "socket_path = $D/rootonly/run/parsec.sock"
chmod 0644 "$D/b.conf"
fails "a socket folder the service user cannot create" as_nobody "$P" -c "$D/b.conf"
check "  ... names the folder, the setting, errno and the user" last_output_has \
    "cannot create directory $D/rootonly/run (for \[listener\] socket_path): Permission denied (parsecd runs as user nobody, uid $(id -u nobody))"
conf "$D/c.conf" "[listener]" "socket_path = $D/nobody-run/parsec.sock" "[key_store]" \
    "path = $D/rootonly/keys/keys.sqlite3"
chmod 0644 "$D/c.conf"
mkdir -p "$D/nobody-run" && chown nobody "$D/nobody-run"
fails "a key-store folder the service user cannot create" as_nobody "$P" -c "$D/c.conf"
check "  ... names the folder, the setting, errno and the user" last_output_has \
    "cannot create directory $D/rootonly/keys (for \[key_store\] path): Permission denied (parsecd runs as user nobody"
conf "$D/g.conf" "[listener]" "socket_path = $D/nobody-run/parsec.sock" "socket_group = root" \
    "[key_store]" "path = $D/nobody-run/keys.sqlite3"
chmod 0644 "$D/g.conf"
fails "a socket_group the service user is not in" as_nobody "$P" -c "$D/g.conf"
check "  ... names the group and says the service user must belong to it" last_output_has \
    "cannot give socket $D/nobody-run/parsec.sock to group 'root': Operation not permitted; the service user (user nobody, uid $(id -u nobody)) must belong to group 'root'"
check "  ... and leaves no socket behind" [ -z "$(find "$D/nobody-run" -type s)" ]
fails "-c with a folder" "$P" -c "$D"
check "  ... says it is a folder and what to give instead" last_output_has \
    "parsecd: $D is a directory: -c takes the configuration file (e.g. $D/parsecd.conf)"
conf "$D/private.conf"
chmod 0600 "$D/private.conf"
fails "a configuration the service user cannot read" as_nobody "$P" -c "$D/private.conf"
check "  ... names the file, errno and the user" last_output_has \
    "cannot read configuration file $D/private.conf: Permission denied (parsecd runs as user nobody"

# -- several configuration errors, each with its own line --
printf '%s\n' "[core]" "thread = 4" "log_level = chatty" "[frontend]" "x = 1" "y = 2" \
    "[listener]" "socket_mode = 999" >"$D/many.conf"
fails "a configuration with four errors" "$P" -c "$D/many.conf"
check "  ... line 2: the unknown key" last_output_has "parsecd: $D/many.conf:2: unknown key 'thread' in section \[core\]"
check "  ... line 3: the bad log level" last_output_has "parsecd: $D/many.conf:3: log_level 'chatty'"
check "  ... line 5: the unknown section, once for its keys" last_output_has "parsecd: $D/many.conf:5: unknown section \[frontend\]"
check "  ... line 8: the bad socket mode" last_output_has "parsecd: $D/many.conf:8: socket_mode '999'"
check "  ... and nothing else" [ "$(wc -l <"$TESTDIR/last.out")" = 4 ]
printf '%s\n' "[core]" "threads = 2" "just words" "threads = 0" >"$D/syntax.conf"
fails "a syntax error before a bad value" "$P" -c "$D/syntax.conf"
check "  ... both reported, in line order" [ "$(grep -o "syntax.conf:[0-9]*: [a-z]*" "$TESTDIR/last.out" | tr '\n' ' ')" = "syntax.conf:3: syntax syntax.conf:4: threads " ]

# -- --version --
ok "--version" "$P" --version
check "  ... prints the version" last_output_has "^parsecd [0-9]*\.[0-9]*\.[0-9]*$"
check "  ... lists the software backend as built in" last_output_has "^backends: software (built in)"
for b in pkcs11 tpm; do
    if grep -q "PSD_HAVE_${b^^} 1" "$TEST_BUILDDIR/config.h"; then
        check "  ... lists the $b backend module" last_output_has "$b (module psd-$b.so)"
    fi
done

# -- log lines: time zone offset; bare under the journal --
conf "$D/l.conf"
ok "parsecd with TZ=Asia/Kolkata" start_bg "$D/l.conf" "$D/tz.log" TZ=Asia/Kolkata
psd_stop_pid "$BG_PID"
check "  ... stamps lines with the local time and its offset (RFC 3339)" \
    grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+05:30 parsecd\[[0-9]+\] info: ' "$D/tz.log"
: >"$D/journal.log"
ok "parsecd with stderr being the journal (JOURNAL_STREAM)" start_bg "$D/l.conf" "$D/journal.log" \
    "JOURNAL_STREAM=$(stat -c %d:%i "$D/journal.log")"
psd_stop_pid "$BG_PID"
check "  ... writes syslog priorities and no timestamps" grep -q '^<6>info: parsecd .* listening on' "$D/journal.log"
check "  ... on every line" [ -z "$(grep -v '^<[3467]>' "$D/journal.log")" ]
ok "parsecd with a JOURNAL_STREAM that is not its stderr" start_bg "$D/l.conf" "$D/notjournal.log" \
    "JOURNAL_STREAM=1:1"
psd_stop_pid "$BG_PID"
check "  ... keeps its timestamps" grep -Eq '^[0-9]{4}-.*parsecd\[[0-9]+\] info: .*listening on' "$D/notjournal.log"

# -- log file, SIGHUP: reopen, log level, admins, what needs a restart --
conf "$D/h.conf" "[core]" "log_level = info" "log_target = file" "log_file = logs/parsecd.log"
mkdir -p "$D/logs"
WATCH=$D/logs/parsecd.log ok "parsecd logging to a file" start_bg "$D/h.conf" "$D/h.stderr"
check "  ... its lines go to log_file (relative to the config's folder)" grep -q "listening on" "$D/logs/parsecd.log"
check "  ... and not to stderr" [ ! -s "$D/h.stderr" ]
export PARSEC_SERVICE_ENDPOINT=unix:$D/run/parsec/parsec.sock
for _ in $(seq 50); do "$PARSEC_CLI" ping >/dev/null 2>&1 && break; sleep 0.1; done
fails "list-clients before root is an admin" "$PARSEC_CLI" list-clients
check "  ... is refused by the service" last_output_has "AdminOperation"
mv "$D/logs/parsecd.log" "$D/logs/parsecd.log.1"
sed -i 's/^log_level = info/log_level = debug/' "$D/h.conf"
printf '%s\n' "[authenticator]" "admins = $(id -u)" >>"$D/h.conf"
kill -HUP "$BG_PID"
check "SIGHUP reopens the log file (after rotation)" wait_for_line "SIGHUP: configuration $D/h.conf reloaded (log level debug, 1 admins)" "$D/logs/parsecd.log"
ok "  ... admins are reloaded: list-clients works for root" "$PARSEC_CLI" list-clients
check "  ... the debug level is in force (one line per request)" wait_for_line "debug: .*ListClients" "$D/logs/parsecd.log"
check "  ... nothing needed a restart" file_lacks "restart parsecd" "$D/logs/parsecd.log"
printf '%s\n' "[core]" "threads = 2" >>"$D/h.conf"
kill -HUP "$BG_PID"
check "a changed thread count on SIGHUP says a restart is needed" \
    wait_for_line "warn: SIGHUP: \[core\] threads changed: restart parsecd to apply it" "$D/logs/parsecd.log"
echo "nonsense" >>"$D/h.conf"
kill -HUP "$BG_PID"
check "a broken configuration on SIGHUP is refused with its line" \
    wait_for_line "error: SIGHUP: $D/h.conf not reloaded, the running configuration stays: $D/h.conf:[0-9]*: syntax error" "$D/logs/parsecd.log"
ok "  ... and the service keeps answering" "$PARSEC_CLI" ping
ok "  ... with the admins it had" "$PARSEC_CLI" list-clients
psd_stop_pid "$BG_PID"
unset PARSEC_SERVICE_ENDPOINT

# -- log_target = syslog, received on a /dev/log of the test's own (a private mount namespace) --
command -v unshare >/dev/null || { echo "not ok - unshare (util-linux) is missing"; exit 1; }
mkdir -p "$D/dev"
python3 - "$D/dev/log" "$D/syslog.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "w") as out:
    try:
        while True:
            out.write(s.recv(4096).decode() + "\n")
            out.flush()
    except socket.timeout:
        pass
PY
psd_track_pid $!
for _ in $(seq 50); do [ -S "$D/dev/log" ] && break; sleep 0.1; done
conf "$D/s.conf" "[core]" "log_target = syslog"
# shellcheck disable=SC2016 # $1 and $@ belong to the inner bash
unshare --mount --propagation private bash -c '
    d=$1; shift
    for n in null zero random urandom; do : >"$d/$n" && mount --bind "/dev/$n" "$d/$n" || exit 1; done
    mount --bind "$d" /dev || exit 1
    exec "$@"' _ "$D/dev" "$P" -c "$D/s.conf" 2>"$D/s.stderr" &
SPID=$!
psd_track_pid "$SPID"
check "log_target = syslog: lines reach syslog (facility daemon, priority info)" \
    wait_for_line '^<30>.*parsecd\[[0-9]*\]: info: parsecd .* listening on' "$D/syslog.out"
psd_stop_pid "$SPID"
check "  ... and nothing goes to stderr" [ ! -s "$D/s.stderr" ]

# -- readiness notification (Type=notify) --
if grep -q "PSD_HAVE_SYSTEMD 1" "$TEST_BUILDDIR/config.h"; then
    python3 - "$D/notify.sock" "$D/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "w") as out:
    try:
        while True:
            msg = s.recv(4096).decode()
            out.write(msg + "\n")
            out.flush()
            if "STOPPING=1" in msg:
                break
    except socket.timeout:
        pass
PY
    NPID=$!
    psd_track_pid "$NPID"
    for _ in $(seq 50); do [ -S "$D/notify.sock" ] && break; sleep 0.1; done
    conf "$D/n.conf"
    ok "parsecd with NOTIFY_SOCKET" start_bg "$D/n.conf" "$D/n.log" "NOTIFY_SOCKET=$D/notify.sock"
    check "  ... sends READY=1 once listening" wait_for_line "^READY=1" "$D/notify.out"
    kill -HUP "$BG_PID"
    check "  ... RELOADING=1 on SIGHUP" wait_for_line "^RELOADING=1" "$D/notify.out"
    psd_stop_pid "$BG_PID"
    check "  ... STOPPING=1 on SIGTERM" wait_for_line "^STOPPING=1" "$D/notify.out"
else
    echo "# parsecd built without libsystemd: no readiness notification to check"
fi

check "no parsecd log has a sanitizer report" no_sanitizer_report
psd_summary
