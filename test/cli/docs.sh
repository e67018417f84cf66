#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Documentation consistency: every parsec-cli command and option that
# README.md and docs/*.md use exists (is listed by --help / --list-commands),
# and the bash completion knows every command.
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
command -v python3 >/dev/null || { echo "not ok - python3 is missing"; exit 1; }

"$PARSEC_CLI" --help >"$TESTDIR/help.txt" || { echo "not ok - parsec-cli --help failed"; exit 1; }
"$PARSEC_CLI" --list-commands >"$TESTDIR/commands.txt"
python3 "$TEST_SRCDIR/test/cli/doc_invocations.py" "$PARSEC_CLI" \
    "$TEST_SRCDIR/README.md" "$TEST_SRCDIR"/docs/*.md >"$TESTDIR/uses.txt" ||
    { echo "not ok - reading the documentation failed"; exit 1; }
check "the documentation uses parsec-cli at all (the extraction works)" [ "$(grep -c '^command' "$TESTDIR/uses.txt")" -ge 10 ]

while IFS=$'\t' read -r kind word where; do
    where=${where#"$TEST_SRCDIR"/}
    case $kind in
    command)
        check "$where: command '$word' exists" grep -qx -- "$word" "$TESTDIR/commands.txt"
        check "$where: command '$word' is in --help" grep -qE -- "^  $word( |$)" "$TESTDIR/help.txt"
        ;;
    option)
        check "$where: option '$word' is in --help" grep -qE -- "(^|[ ,(])$word([ ,=)]|$)" "$TESTDIR/help.txt"
        ;;
    esac
done < <(sort -u -k1,2 "$TESTDIR/uses.txt")

# Every long option the program accepts is in --help (parsec-tool spellings included).
while read -r opt; do
    check "option --$opt (cli/parsec_cli.c) is in --help" grep -qE -- "(^|[ ,(])--$opt([ ,=)]|$)" "$TESTDIR/help.txt"
done < <(sed -n 's/^ *{"\([A-Za-z-]*\)", \(no\|required\)_argument.*/\1/p' "$TEST_SRCDIR/cli/parsec_cli.c")

# Every command is completed by bash (it asks the program) and documented in help.
while read -r c; do
    check "help describes '$c'" grep -qE -- "^  $c( |$)" "$TESTDIR/help.txt"
done <"$TESTDIR/commands.txt"
check "the completion asks the program for its commands" grep -qF -- "--list-commands" "$TEST_SRCDIR/cli/parsec-cli.bash-completion"

psd_summary
exit $?
