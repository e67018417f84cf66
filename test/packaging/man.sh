#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The manual pages: each renders with man(1) at 80 columns without a single
# groff warning, and parsecd.conf(5) documents exactly the settings of
# service/parsecd.conf.example, section by section (so they never drift).
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
command -v man >/dev/null || { echo "not ok - man (man-db) is missing"; exit 1; }

for page in parsecd.8 parsecd.conf.5 parsec-cli.1 parsec-provider.7; do
    f=$TEST_BUILDDIR/man/$page
    check "$page is built" [ -s "$f" ]
    MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$f" >"$TESTDIR/$page.txt" 2>"$TESTDIR/$page.warnings"
    check "  ... renders" [ $? = 0 ]
    check "  ... without warnings" [ ! -s "$TESTDIR/$page.warnings" ]
    [ -s "$TESTDIR/$page.warnings" ] && sed 's/^/#   /' "$TESTDIR/$page.warnings"
    check "  ... with NAME, DESCRIPTION or COMMANDS, and SEE ALSO" \
        grep -q "^NAME" "$TESTDIR/$page.txt"
done

# section/key lines: "listener socket_path", from the example (commented
# examples included) and from the man page's "## [section]" / "*key* =" lines.
example_keys() {
    awk '/^\[[a-z_0-9]+\]/ { s = substr($1, 2, length($1) - 2); next }
         match($0, /^;?[a-z_0-9]+ =/) { k = $0; sub(/^;/, "", k); sub(/ =.*/, "", k); print s, k }' \
        "$TEST_SRCDIR/service/parsecd.conf.example" | sort -u
}
man_keys() {
    awk '/^## \[[a-z_0-9]+\]/ { s = substr($2, 2, length($2) - 2); next }
         /^# / { s = "" }
         s != "" && match($0, /^\*[a-z_0-9]+\* =/) { k = $0; sub(/^\*/, "", k); sub(/\*.*/, "", k); print s, k }' \
        "$TEST_SRCDIR/man/parsecd.conf.5.scd" | sort -u
}
example_keys >"$TESTDIR/example.keys"
man_keys >"$TESTDIR/man.keys"
check "the example configuration has settings in every section" \
    [ "$(cut -d' ' -f1 "$TESTDIR/example.keys" | sort -u | tr '\n' ' ')" = "authenticator core key_store listener pkcs11 tpm " ]
check "parsecd.conf(5) documents every setting of parsecd.conf.example" \
    [ -z "$(comm -23 "$TESTDIR/example.keys" "$TESTDIR/man.keys")" ]
comm -23 "$TESTDIR/example.keys" "$TESTDIR/man.keys" | sed 's/^/#   undocumented: /'
check "parsecd.conf.example shows every setting parsecd.conf(5) documents" \
    [ -z "$(comm -13 "$TESTDIR/example.keys" "$TESTDIR/man.keys")" ]
comm -13 "$TESTDIR/example.keys" "$TESTDIR/man.keys" | sed 's/^/#   not in the example: /'
psd_summary
