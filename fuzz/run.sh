#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes each one
# for SECONDS (default 60), then merges the inputs that found new coverage
# into fuzz/corpus/<target> (the corpora the 'fuzz' test suite replays).
#   fuzz/run.sh [SECONDS] [TARGET...]   fuzz (every target by default)
#   fuzz/run.sh --seeds                 regenerate the seed files of fuzz/corpus
#   fuzz/run.sh --minimise [TARGET...]  shrink fuzz/corpus/<target> to a smallest set of
#                                       inputs with the same coverage (-set_cover_merge=1)
# Environment: BUILDDIR (default build-fuzz), FUZZ_JOBS (parallel fuzzing
# processes per target, default 1), FUZZ_ARGS (extra libFuzzer options).
# Crashes are written to $BUILDDIR/fuzz-artifacts/<target>/; the script goes
# on with the other targets and exits 1 if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
builddir=$(realpath -m "${BUILDDIR:-build-fuzz}")
jobs=${FUZZ_JOBS:-1}
# shellcheck source=fuzz/targets.sh
. "$src/fuzz/targets.sh"

setup() {
    if [ ! -d "$builddir" ]; then
        CC=clang meson setup "$builddir" "$src" -Dfuzzing=true \
            -Db_sanitize=address,undefined -Db_lundef=false
    elif ! meson introspect --buildoptions "$builddir" |
        python3 -c 'import json,sys; o={x["name"]: x["value"] for x in json.load(sys.stdin)}; sys.exit(0 if o["fuzzing"] else 1)'; then
        echo "run.sh: $builddir is not a fuzzing build (reconfigure with -Dfuzzing=true, CC=clang)" >&2
        exit 2
    fi
}

if [ "${1:-}" = "--seeds" ]; then
    setup
    ninja -C "$builddir" fuzz/fuzz_make_seeds
    "$builddir/fuzz/fuzz_make_seeds" "$src/fuzz/corpus"
    "$src/fuzz/make_provider_seeds.sh" "$src/fuzz/corpus"
    exit 0
fi

# libFuzzer names what a merge keeps by the SHA-1 of its bytes: keep the
# committed file of each (its name says what it is), drop the rest.
minimise() {
    local t=$1 bin="$builddir/fuzz/$1" corpus="$src/fuzz/corpus/$1"
    local kept="$builddir/fuzz-minimise/$1" f h before
    local -A wanted=()
    rm -rf "$kept"
    mkdir -p "$kept"
    before=$(find "$corpus" -type f | wc -l)
    # A greedy set cover keeps every coverage feature of the corpus with fewer
    # inputs than -merge=1 (which keeps each input that adds a feature in size
    # order). No -max_len: a longer committed input is judged whole, not truncated.
    if ! "$bin" -set_cover_merge=1 -timeout=25 -rss_limit_mb=4096 "$kept" "$corpus" \
        > "$builddir/minimise-$t.log" 2>&1; then
        echo "!!! $t: merge failed, see $builddir/minimise-$t.log"
        return 1
    fi
    for f in "$kept"/*; do
        wanted[$(basename "$f")]=1
    done
    for f in "$corpus"/*; do
        h=$(sha1sum < "$f" | cut -d' ' -f1)
        if [ -n "${wanted[$h]:-}" ]; then
            unset "wanted[$h]"
        else
            rm "$f"
        fi
    done
    echo "$t: corpus $before -> $(find "$corpus" -type f | wc -l) files," \
        "$(du -sh --apparent-size "$corpus" | cut -f1)"
}

if [ "${1:-}" = "--minimise" ]; then
    shift
    targets=${*:-$all_targets}
    setup
    for t in $targets; do
        ninja -C "$builddir" "fuzz/$t"
    done
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} OPENSSL_CONF=/dev/null
    rc=0
    for t in $targets; do
        minimise "$t" || rc=1
    done
    exit $rc
fi

seconds=60
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
targets=${*:-$all_targets}
for t in $targets; do
    case " $all_targets " in
    *" $t "*) ;;
    *) echo "run.sh: unknown target $t (one of: $all_targets)" >&2; exit 2 ;;
    esac
done

setup
fuzz_programs=()
for t in $targets; do fuzz_programs+=("fuzz/$t"); done
ninja -C "$builddir" "${fuzz_programs[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The service and the client must not pick up the machine's OpenSSL configuration.
export OPENSSL_CONF=/dev/null

failed=""
for t in $targets; do
    bin="$builddir/fuzz/$t"
    corpus="$src/fuzz/corpus/$t"
    work="$builddir/fuzz-work/$t"
    artifacts="$builddir/fuzz-artifacts/$t"
    mkdir -p "$work" "$artifacts" "$corpus"
    echo "=== $t: ${seconds}s, max_len $(max_len_of "$t") ==="
    # New inputs go to the first directory (the work corpus); the committed
    # corpus is only read, and gets the useful ones at the merge below.
    parallel=()
    [ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
    rc=0
    # From the build dir: with -jobs, libFuzzer writes fuzz-<n>.log files to the current directory.
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of libFuzzer options
    (cd "$builddir" && "$bin" -max_total_time="$seconds" -max_len="$(max_len_of "$t")" \
        -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 "${parallel[@]}" \
        -dict="$(dict_of "$t")" -artifact_prefix="$artifacts/" \
        ${FUZZ_ARGS:-} "$work" "$corpus") > "$builddir/fuzz-$t.log" 2>&1 || rc=$?
    grep -hE '^(#[0-9]+[[:space:]]+DONE|stat::)|SUMMARY|ERROR' "$builddir/fuzz-$t.log" \
        "$builddir"/fuzz-[0-9]*.log 2>/dev/null || true
    if [ "$rc" != 0 ]; then
        echo "!!! $t failed (exit $rc): see $builddir/fuzz-$t.log and $artifacts/"
        failed="$failed $t"
    fi
    before=$(find "$corpus" -type f | wc -l)
    "$bin" -merge=1 -max_len="$(max_len_of "$t")" -timeout=25 -rss_limit_mb=4096 \
        -dict="$(dict_of "$t")" "$corpus" "$work" > "$builddir/merge-$t.log" 2>&1 ||
        echo "!!! $t: merge failed, see $builddir/merge-$t.log"
    echo "$t: corpus $before -> $(find "$corpus" -type f | wc -l) files"
done

if [ -n "$failed" ]; then
    echo "crashed:$failed"
    exit 1
fi
echo "no crash in: $targets"
