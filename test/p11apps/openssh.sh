#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# OpenSSH with keys held by the Parsec service through libparsec-pkcs11.so:
# ssh-keygen -D prints the public keys; a real sshd (Debian's openssh-server,
# its own host key and configuration in the test directory, on 127.0.0.1)
# accepts a login by `ssh -I MODULE` with an RSA and an ECDSA key, and by a
# test ssh-agent that loaded the keys with `ssh-add -s MODULE`.
#   openssh.sh [software|pkcs11|tpm|softhsm2]      (default: $TEST_BACKEND)
. "$TEST_SRCDIR/test/lib/testenv.sh"
. "$TEST_SRCDIR/test/p11apps/p11apps-lib.sh"
p11apps_need ssh openssh-client
p11apps_need ssh-agent openssh-client
p11apps_need /usr/sbin/sshd openssh-server
# sshd authenticates a login only when it runs as root (privilege separation).
[ "$(id -u)" = 0 ] || p11apps_abort "running as root, as the test sshd needs (uid $(id -u))"
p11apps_setup "${1:-}"
T=$TESTDIR

ok "RSA-2048 key ssh-rsa-key" p11apps_keygen rsa ssh-rsa-key
ok "ECDSA P-256 key ssh-ec-key" p11apps_keygen ec ssh-ec-key

# ---- ssh-keygen -D ---------------------------------------------------------------
ok "ssh-keygen -D lists the token's keys" ssh-keygen -D "$P11APPS_MODULE"
cp "$T/last.out" "$T/keygen-D.out"
for k in ssh-rsa-key ssh-ec-key; do
    ssh-keygen -i -m PKCS8 -f "$T/$k.pub.pem" >"$T/$k.expected.pub" 2>/dev/null
    # The public key the module shows is the key the service holds (compared without comment).
    check "ssh-keygen -D prints $k's public key" \
        grep -qF "$(cut -d' ' -f1-2 "$T/$k.expected.pub")" "$T/keygen-D.out"
    grep -F "$(cut -d' ' -f1-2 "$T/$k.expected.pub")" "$T/keygen-D.out" >"$T/$k.pub"
    chmod 600 "$T/$k.pub"
done
check "ssh-keygen -D comments the keys with their labels" grep -q ' ssh-ec-key$' "$T/keygen-D.out"

# ---- sshd -----------------------------------------------------------------------
# Debian's sshd insists on its privilege-separation directory (made by its
# systemd unit or tmpfiles.d, absent in a container).
[ -d /run/sshd ] || mkdir -m 0755 /run/sshd
ok "sshd host key" ssh-keygen -q -t ed25519 -N '' -C p11apps-host -f "$T/ssh_host_ed25519_key"
cat "$T/ssh-rsa-key.pub" "$T/ssh-ec-key.pub" >"$T/authorized_keys"
tls_free_port SSH_PORT
cat >"$T/sshd_config" <<EOF
ListenAddress 127.0.0.1:$SSH_PORT
HostKey $T/ssh_host_ed25519_key
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin yes
LogLevel VERBOSE
EOF
ok "sshd_config is valid (sshd -t)" /usr/sbin/sshd -t -f "$T/sshd_config"
ok "sshd on 127.0.0.1:$SSH_PORT" tls_start sshd "$SSH_PORT" /usr/sbin/sshd -D -e -f "$T/sshd_config"
echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1-2 "$T/ssh_host_ed25519_key.pub")" >"$T/known_hosts"

# p11apps_ssh ARGS...: ssh to the test sshd as the current user, nothing from ~/.ssh,
# the PIN (SoftHSM2's; never asked for by the Parsec module) from an askpass program.
printf '#!/bin/sh\necho "%s"\n' "$P11APPS_PIN" >"$T/askpass"
chmod 700 "$T/askpass"
p11apps_ssh() {
    SSH_ASKPASS=$T/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
        timeout 60 ssh -F none -p "$SSH_PORT" -o UserKnownHostsFile="$T/known_hosts" \
        -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o ConnectTimeout=20 \
        -l "$(id -un)" "$@" </dev/null
}

# ssh_refused ARGS...: p11apps_ssh, with ssh's own failure status (255) as 1 for `fails`.
ssh_refused() {
    if p11apps_ssh "$@"; then return 0; fi
    return 1
}

# logged_in_with FINGERPRINT-FILE: sshd accepted a login with exactly that key.
logged_in_with() {
    local fp
    fp=$(ssh-keygen -l -f "$1" | cut -d' ' -f2)
    # sshd -e ends its lines with CR LF.
    grep -q "Accepted publickey for $(id -un) from 127.0.0.1 .* $fp.\?\$" "$T/sshd.log"
}

for k in ssh-rsa-key ssh-ec-key; do
    # shellcheck disable=SC2016 # $((6*7)) is for the remote shell to expand
    ok "ssh -I MODULE logs in with $k" p11apps_ssh -i "$T/$k.pub" -I "$P11APPS_MODULE" 127.0.0.1 \
        'echo remote-ok-$((6*7))'
    check "the remote command ran ($k)" grep -qx 'remote-ok-42' "$T/last.out"
    sleep 0.2 # sshd logs the acceptance right after the answer
    check "sshd accepted $k (its fingerprint in sshd's log)" logged_in_with "$T/$k.pub"
done
# RSA with both SHA-2 signature algorithms OpenSSH offers (DigestInfo for SHA-256 and SHA-512).
for alg in rsa-sha2-256 rsa-sha2-512; do
    ok "ssh -I MODULE with $alg" p11apps_ssh -i "$T/ssh-rsa-key.pub" -I "$P11APPS_MODULE" \
        -o PubkeyAcceptedAlgorithms="$alg" 127.0.0.1 true
done
# The PKCS11Provider setting of ssh_config, as a user would write it.
printf 'Host parsec-test\n  HostName 127.0.0.1\n  PKCS11Provider %s\n  IdentityFile %s\n' \
    "$P11APPS_MODULE" "$T/ssh-ec-key.pub" >"$T/ssh_config"
ok "ssh_config PKCS11Provider logs in" env SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    timeout 60 ssh -F "$T/ssh_config" -p "$SSH_PORT" -o UserKnownHostsFile="$T/known_hosts" \
    -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -l "$(id -un)" parsec-test true
fails "a key not in the token is refused" ssh_refused -o BatchMode=yes -i "$T/ssh_host_ed25519_key.pub" \
    -I "$P11APPS_MODULE" 127.0.0.1 true
check "... as sshd's 'Permission denied'" grep -q "Permission denied (publickey)" "$T/last.out"

# ---- ssh-agent -------------------------------------------------------------------
# ssh-agent loads PKCS#11 modules only from an allow-list of (real) paths: -P.
MODULE_REAL=$(realpath "$P11APPS_MODULE")
ssh-agent -D -a "$T/agent.sock" -P "${MODULE_REAL%/*}/*" </dev/null >"$T/ssh-agent.log" 2>&1 &
AGENT_PID=$!
psd_track_pid "$AGENT_PID"
for _ in $(seq 100); do [ -S "$T/agent.sock" ] && break; sleep 0.1; done
check "ssh-agent listens on its socket" [ -S "$T/agent.sock" ]
export SSH_AUTH_SOCK=$T/agent.sock
ok "ssh-add -s MODULE" env SSH_ASKPASS="$T/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
    ssh-add -s "$P11APPS_MODULE"
ok "ssh-add -L" ssh-add -L
cp "$T/last.out" "$T/agent-keys.out"
for k in ssh-rsa-key ssh-ec-key; do
    check "the agent holds $k" grep -qF "$(cut -d' ' -f1-2 "$T/$k.pub")" "$T/agent-keys.out"
    ok "ssh through the agent logs in with $k" p11apps_ssh -o BatchMode=yes -i "$T/$k.pub" 127.0.0.1 true
done
if ! p11apps_is_reference; then
    # The agent's module keeps running while the service restarts: its next call reconnects.
    ok "parsecd restarts under the running agent" psd_restart
    ok "the agent still logs in with ssh-ec-key" p11apps_ssh -o BatchMode=yes -i "$T/ssh-ec-key.pub" 127.0.0.1 true
    ok "... and with ssh-rsa-key" p11apps_ssh -o BatchMode=yes -i "$T/ssh-rsa-key.pub" 127.0.0.1 true
fi
ok "ssh-add -e MODULE" ssh-add -e "$P11APPS_MODULE"
fails "after ssh-add -e the agent no longer logs in" ssh_refused -o BatchMode=yes -i "$T/ssh-ec-key.pub" 127.0.0.1 true
unset SSH_AUTH_SOCK

psd_summary
exit $?
