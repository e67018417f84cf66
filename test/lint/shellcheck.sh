#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Runs shellcheck on every shell script of the source tree: the files git tracks
# (or, outside a git checkout, every file but build directories) named *.sh
# or *.bash, or starting with a sh/bash shebang. One ok/not ok line per
# script, its findings below it; configuration in .shellcheckrc at the top.
. "$TEST_SRCDIR/test/lib/testenv.sh"
if ! command -v shellcheck >/dev/null 2>&1; then
    echo "not ok - shellcheck is not installed: apt-get install shellcheck (listed in scripts/install-deps.sh)"
    echo "0 passed, 1 failed"
    exit 1
fi
psd_test_init
# Sourced files are found relative to the current directory (.shellcheckrc).
cd "$TEST_SRCDIR" || exit 1

# source_files: NUL-separated paths relative to the top of the tree.
source_files() {
    local top builddir
    top=$(git rev-parse --show-toplevel 2>/dev/null)
    if [ -n "$top" ] && [ "$top" -ef . ]; then
        git ls-files -z
        return
    fi
    # The build directory may sit inside the tree under any name.
    builddir=./$(realpath -m --relative-to=. "${TEST_BUILDDIR:-build}")
    find . -type d \( -name .git -o -name 'build*' -o -path "$builddir" \) -prune -o -type f -print0 |
        sed -z 's|^\./||'
}

# is_shell_script PATH
is_shell_script() {
    case "$1" in
    *.sh | *.bash) return 0 ;;
    esac
    head -n 1 "$1" 2>/dev/null |
        LC_ALL=C grep -qaE '^#![[:space:]]*/[^[:space:]]*/(env[[:space:]]+)?(ba|da)?sh([[:space:]]|$)'
}

scripts=()
while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue # tracked but deleted in the working tree
    is_shell_script "$f" && scripts+=("$f")
done < <(source_files)

check "found the tree's shell scripts (${#scripts[@]}, test/lib/testenv.sh among them)" \
    sh -c 'printf "%s\n" "$@" | grep -qx test/lib/testenv.sh' sh "${scripts[@]}"
[ "${#scripts[@]}" -gt 0 ] || { psd_summary; exit 1; }

findings=$TESTDIR/findings.txt
shellcheck --version | sed -n 's/^version: /# shellcheck /p'
shellcheck -f gcc -- "${scripts[@]}" >"$findings" 2>"$TESTDIR/shellcheck.err"
rc=$?
# 0: clean, 1: findings; anything else is shellcheck failing to run.
if [ "$rc" -gt 1 ]; then
    sed 's/^/# /' "$TESTDIR/shellcheck.err"
    check "shellcheck ran (exit $rc)" false
fi

for f in "${scripts[@]}"; do
    awk -v prefix="$f:" 'index($0, prefix) == 1' "$findings" >"$TESTDIR/one.txt"
    if [ -s "$TESTDIR/one.txt" ]; then
        sed 's/^/#   /' "$TESTDIR/one.txt"
        check "shellcheck: $f" false
    else
        check "shellcheck: $f" true
    fi
done
# Also catches a finding reported under another name (a sourced file).
if ! check "shellcheck reports nothing" [ ! -s "$findings" ]; then
    echo "# $(wc -l <"$findings") finding(s). Reproduce from the top of the tree with"
    echo "# 'shellcheck FILE'; fix them, or where a finding is intended, put"
    echo "# '# shellcheck disable=SCxxxx # reason' on the line before (see .shellcheckrc)."
fi
psd_summary
exit $?
