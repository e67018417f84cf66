#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fuzz/oss-fuzz/build.sh as OSS-Fuzz runs it, with clang's libFuzzer and
# AddressSanitizer: every target, dictionary, options file and seed corpus
# lands in $OUT, and each target then fuzzes its seed corpus for a few
# seconds without a finding.
# shellcheck source=test/lib/testenv.sh
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
src=$TEST_SRCDIR
# shellcheck source=fuzz/targets.sh
. "$src/fuzz/targets.sh"
out=$TESTDIR/out
work=$TESTDIR/work
seconds=${FUZZ_SMOKE_SECONDS:-5}

fails "build.sh refuses to run without LIB_FUZZING_ENGINE" \
    env -u LIB_FUZZING_ENGINE CC=clang OUT="$out" WORK="$work" "$src/fuzz/oss-fuzz/build.sh"
check "  ... and says which variable to set" last_output_has "set LIB_FUZZING_ENGINE"

ok "build.sh builds the targets with CC=clang and LIB_FUZZING_ENGINE=-fsanitize=fuzzer" \
    env CC=clang CFLAGS="-O1 -g -fsanitize=address -fsanitize=fuzzer-no-link" \
    LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT="$out" WORK="$work" JOBS=2 \
    "$src/fuzz/oss-fuzz/build.sh"

# The targets must not read the machine's OpenSSL configuration (ClusterFuzz has none).
export OPENSSL_CONF=/dev/null ASAN_OPTIONS=detect_leaks=1
for t in $all_targets; do
    check "$t: executable in \$OUT" [ -x "$out/$t" ]
    check "$t: dictionary in \$OUT" cmp "$(dict_of "$t")" "$out/$t.dict"
    check "$t: options file sets max_len $(max_len_of "$t")" \
        grep -qx "max_len = $(max_len_of "$t")" "$out/$t.options"
    corpus=$TESTDIR/corpus/$t
    mkdir -p "$corpus"
    ok "$t: seed corpus zip unpacks" unzip -q "$out/${t}_seed_corpus.zip" -d "$corpus"
    check "$t: seed corpus zip holds every file of fuzz/corpus/$t" \
        [ "$(find "$corpus" -type f | wc -l)" = "$(find "$src/fuzz/corpus/$t" -type f | wc -l)" ]
    ok "$t: fuzzes its seed corpus for ${seconds}s without a finding" \
        "$out/$t" -max_total_time="$seconds" -max_len="$(max_len_of "$t")" \
        -dict="$out/$t.dict" -artifact_prefix="$TESTDIR/artifact-$t-" "$corpus"
    check "$t: libFuzzer ran to the end (DONE line)" last_output_has "DONE"
done
psd_summary
exit $?
