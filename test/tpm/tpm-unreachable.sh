#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# A TPM that cannot be used stops parsecd at start-up with a clear message
# and a non-zero exit, within a bounded time (never a hang).
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
D=$TESTDIR
# Well above the backend's own bounds (3 s connect, 10 s TPM2_Startup).
LIMIT=60

# start_with "desc" "[tpm] section lines" "expected message"
start_with() {
    local desc=$1 section=$2 expect=$3 rc
    _psd_write_conf tpm "$section"
    timeout "$LIMIT" "$PARSECD" -c "$D/parsecd.conf" >"$D/out" 2>&1
    rc=$?
    sed 's/^/#   /' "$D/out" | tail -n 3
    check "$desc: parsecd exits with an error" [ "$rc" != 0 ]
    check "$desc: it does not hang (ends within ${LIMIT} s)" [ "$rc" != 124 ]
    check "$desc: it says why" grep -q -- "$expect" "$D/out"
    check "$desc: no socket left" [ ! -e "$D/parsec.sock" ]
}

# A port nobody listens on.
port=$((20000 + 2 * (RANDOM % 15000)))
while [ -n "$(ss -Htan "( sport = :$port or dport = :$port )")" ]; do port=$((port + 2)); done
start_with "closed port" "$(printf '[tpm]\ntcti = swtpm:host=127.0.0.1,port=%s' $port)" \
    "cannot reach the TPM at 127.0.0.1 port $port"
start_with "mssim TCTI, closed port" "$(printf '[tpm]\ntcti = mssim:host=127.0.0.1,port=%s' $port)" \
    "cannot reach the TPM"
start_with "missing device" "$(printf '[tpm]\ntcti = device:%s/no-tpm' "$D")" "cannot open TCTI"
start_with "unknown TCTI" "$(printf '[tpm]\ntcti = nosuch:thing')" "cannot open TCTI 'nosuch:thing'"
start_with "typo in a setting" "$(printf '[tpm]\ntcti = swtpm\nowner_pass = x')" \
    "unknown setting 'owner_pass'"

# A real swtpm, but unusable.
. "$TEST_SRCDIR/test/lib/backend-tpm.sh"
ok "swtpm starts" backend_setup
tcti=$(tpm_sim_tcti)
start_with "wrong owner hierarchy password" \
    "$(printf '[tpm]\ntcti = %s\nowner_auth = str:wrong' "$tcti")" "check owner_auth"
start_with "primary_handle with no key" \
    "$(printf '[tpm]\ntcti = %s\nprimary_handle = 0x81000123' "$tcti")" "no key at primary_handle"

# swtpm serves one connection at a time: hold it, and the TPM never answers.
exec 7<>"/dev/tcp/127.0.0.1/$(tpm_sim_port)"
start_with "TPM that never answers" "$(printf '[tpm]\ntcti = %s' "$tcti")" \
    "did not \(answer\|finish\) within"
exec 7>&-

# And the same swtpm, free again, works.
_psd_write_conf tpm "$(printf '[tpm]\ntcti = %s' "$tcti")"
export PARSEC_SERVICE_ENDPOINT="unix:$D/parsec.sock"
ok "parsecd starts once the TPM answers" _psd_launch
ok "and serves requests" "$PARSEC_CLI" generate-random -n 8

psd_summary
exit $?
