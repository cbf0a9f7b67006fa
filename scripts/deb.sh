#!/usr/bin/env bash
# make deb: builds the Debian packages from this tree (committed or not) into $DEB_DIR
# (default build/deb, ignored by git). The build runs in a copy, so it never cleans the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${DEB_DIR:-$root/build/deb}
src=$out/src/gencontrol

rm -rf "$out"
mkdir -p "$src"
# Tracked and new files, not what .gitignore excludes (build output, caches).
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    (cd "$root" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
    tar -C "$root" --null -T - -cf - | tar -C "$src" -xf -
else
  tar -C "$root" --exclude=./build --exclude=./build-fuzz -cf - . | tar -C "$src" -xf -
fi

jobs=$(nproc 2>/dev/null || echo 2)
# -b: binary packages only (the source is this repository); unsigned; the .debs land in $out.
(cd "$src" && dpkg-buildpackage -b -us -uc -j"$jobs") >"$out/build.log" 2>&1 || {
  tail -n 60 "$out/build.log" >&2
  echo "deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
  exit 1
}
# dpkg-buildpackage writes next to the source directory.
mv "$out"/src/*.deb "$out"/src/*.buildinfo "$out"/src/*.changes "$out"/ 2>/dev/null || true
rm -rf "$out/src"
echo "deb: built into $out:"
(cd "$out" && ls -1 *.deb)
