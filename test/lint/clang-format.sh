#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every C source and header is formatted as .clang-format says (clang-format
# --dry-run: a file it would change fails, with the lines it would change).
# Usage: clang-format.sh (meson sets TEST_SRCDIR).
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
cd "$TEST_SRCDIR" || exit 1

if ! command -v clang-format >/dev/null; then
    echo "not ok - clang-format is missing: install the clang-format package (scripts/install-deps.sh)"
    exit 1
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z '*.c' '*.h' >"$TESTDIR/files"
else
    find . \( -name .git -o -name 'build*' \) -prune -o \( -name '*.c' -o -name '*.h' \) -print0 \
        >"$TESTDIR/files"
fi
check "there are C files to check" [ -s "$TESTDIR/files" ]
while IFS= read -r -d '' f; do
    if clang-format --dry-run --Werror "$f" >"$TESTDIR/out" 2>&1; then
        PSD_PASSED=$((PSD_PASSED + 1))
    else
        echo "not ok - clang-format: $f"
        head -n 20 "$TESTDIR/out" | sed 's/^/#   /'
        PSD_FAILED=$((PSD_FAILED + 1))
    fi
done <"$TESTDIR/files"
[ "$PSD_FAILED" = 0 ] || echo "# fix with: clang-format -i FILE (from the top of the tree)"
psd_summary
exit $?
