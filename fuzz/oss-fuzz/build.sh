#!/bin/bash -eu
# SPDX-License-Identifier: Apache-2.0
# OSS-Fuzz build script (contract: https://google.github.io/oss-fuzz/getting-started/new-project-guide/):
# builds every target of fuzz/targets.sh with $CC and $CFLAGS, links it with
# $LIB_FUZZING_ENGINE and writes to $OUT, per target: the binary,
# <target>.dict, <target>.options (libFuzzer max_len) and
# <target>_seed_corpus.zip (the committed corpus, fuzz/corpus/<target>).
# Intermediate files go to $WORK.
#
# In the image of fuzz/oss-fuzz/Dockerfile, OpenSSL 3 is built from
# $SRC/openssl first (statically, with the same flags: the runner image has
# no libcrypto 3). Elsewhere the system's OpenSSL is used, e.g. on Debian 12:
#   CC=clang CFLAGS="-O1 -g -fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=$PWD/out WORK=$PWD/work fuzz/oss-fuzz/build.sh
# Environment: JOBS (parallel compile jobs, default: nproc).
src=$(cd "$(dirname "$0")/../.." && pwd)
: "${CC:?set CC (clang)}" "${CFLAGS=}" "${OUT:?set OUT (output directory)}"
: "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE (e.g. -fsanitize=fuzzer)}"
: "${WORK:?set WORK (directory for intermediate files)}"
jobs=${JOBS:-$(nproc)}
# shellcheck source=fuzz/targets.sh
. "$src/fuzz/targets.sh"
mkdir -p "$OUT" "$WORK"

if [ -d "${SRC:-}/openssl" ]; then
    if [ ! -e "$WORK/openssl/lib/libcrypto.a" ]; then
        # shellcheck disable=SC2086 # CFLAGS is a list of flags
        (cd "$SRC/openssl" && ./config --prefix="$WORK/openssl" --libdir=lib \
            no-shared no-tests no-module $CFLAGS &&
            make -j"$jobs" build_libs && make install_dev)
    fi
    export PKG_CONFIG_PATH="$WORK/openssl/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
fi

# Meson compiles with CFLAGS but links with LDFLAGS: the sanitizer runtimes need both.
export CC CFLAGS LDFLAGS="$CFLAGS ${LDFLAGS:-}"
builddir="$WORK/build"
setup=(setup)
[ -e "$builddir/build.ninja" ] && setup=(setup --wipe)
meson "${setup[@]}" "$builddir" "$src" \
    -Dfuzzing=true -Dfuzzing_engine="$LIB_FUZZING_ENGINE" -Dbackends=software \
    -Dbuildtype=plain -Dwerror=false -Db_lundef=false \
    -Dprefer_static=true -Ddefault_library=static
ninja_targets=()
for t in $all_targets; do
    ninja_targets+=("fuzz/$t")
done
ninja -C "$builddir" -j "$jobs" "${ninja_targets[@]}"

for t in $all_targets; do
    cp "$builddir/fuzz/$t" "$OUT/$t"
    cp "$(dict_of "$t")" "$OUT/$t.dict"
    printf '[libfuzzer]\nmax_len = %s\n' "$(max_len_of "$t")" > "$OUT/$t.options"
    rm -f "$OUT/${t}_seed_corpus.zip"
    (cd "$src/fuzz/corpus/$t" && zip -q -X -r "$OUT/${t}_seed_corpus.zip" .)
done
echo "build.sh: ${#ninja_targets[@]} targets in $OUT"
