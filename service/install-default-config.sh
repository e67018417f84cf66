#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# meson install script: installs the default parsecd.conf only where none
# exists, so an edited configuration survives a reinstall or an upgrade.
# $1: the example to copy, $2: the configuration's absolute path.
set -eu
src=$1
dest=${DESTDIR:-}$2
if [ -e "$dest" ]; then
    echo "Keeping existing $dest (the new default is $src)"
    exit 0
fi
mkdir -p "$(dirname "$dest")"
install -m 0644 "$src" "$dest"
echo "Installing $src to $dest"
