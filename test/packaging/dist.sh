#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `meson dist` from a clean clone of the committed tree: the tarball holds
# the sources, LICENSE, NOTICE, the packaging and the manual pages (and no
# build output), and the unpacked tarball builds and passes its unit tests.
# (RELEASING.md's release step runs the tarball's whole suite.)
. "$TEST_SRCDIR/test/lib/testenv.sh"
psd_test_init
D=$TESTDIR
command -v git >/dev/null || { echo "not ok - git is missing"; exit 1; }

ok "git clone of the committed tree" git clone --quiet "$TEST_SRCDIR" "$D/clone"
ok "meson setup in the clone" meson setup "$D/clone/build" "$D/clone" -Dtests=false
version=$(meson introspect "$D/clone/build" --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
ok "meson dist --no-tests" meson dist -C "$D/clone/build" --no-tests --formats xztar
tarball=$D/clone/build/meson-dist/parsec-provider-$version.tar.xz
check "  ... writes parsec-provider-$version.tar.xz" [ -f "$tarball" ]
ok "  ... and its checksum, which matches" \
    bash -c "cd '$D/clone/build/meson-dist' && sha256sum -c 'parsec-provider-$version.tar.xz.sha256sum'"
tar -tJf "$tarball" | sed "s|^parsec-provider-$version/||" | sort >"$D/contents"
for f in LICENSE NOTICE README.md CHANGELOG.md RELEASING.md meson.build meson_options.txt \
    debian/control debian/rules debian/changelog debian/libparsec-client0.symbols \
    systemd/parsec.service.in systemd/parsec.socket man/parsecd.conf.5.scd \
    service/parsecd.conf.example proto/ping.proto; do
    check "  ... holds $f" grep -qx -- "$f" "$D/contents"
done
check "  ... and no build output or VCS data" \
    [ -z "$(grep -E '^(build[^/]*|obj-[^/]*|\.git)/' "$D/contents")" ]
check "  ... exactly the files git tracks" \
    diff <(git -C "$D/clone" ls-files | sort) <(grep -v -e '/$' -e '^$' "$D/contents")

mkdir -p "$D/unpacked"
tar -xJf "$tarball" -C "$D/unpacked"
src=$D/unpacked/parsec-provider-$version
ok "the unpacked tarball configures" meson setup "$D/tarball-build" "$src"
ok "  ... builds" ninja -C "$D/tarball-build" -j 2
ok "  ... and passes its unit tests" meson test -C "$D/tarball-build" --suite unit
psd_summary
