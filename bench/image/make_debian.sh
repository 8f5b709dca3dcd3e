#!/usr/bin/env bash
# Make (once) the three layer directories of a Debian-like benchmark image,
# split the way a real image is:
#   layer1  Debian bookworm minbase (mmdebstrap), the "FROM debian:bookworm"
#   layer2  what `apt-get install python3 git curl ca-certificates` adds:
#           the files that differ from layer1 (rsync --compare-dest) plus
#           whiteouts for the files it removed
#   layer3  a small config layer (a few files, one whiteout)
# and print the directory holding them. They live in $MINICTR_CACHE/bench-image
# (default /var/cache/minictr-ci, outside the checkout), named after a hash of
# this script; reused while it stays the same.
#
#   bench/image/make_debian.sh          (root: mmdebstrap --mode=root)
set -euo pipefail

[[ $(id -u) -eq 0 ]] || { echo "make_debian: needs root (mmdebstrap)" >&2; exit 1; }
for tool in mmdebstrap rsync; do
  command -v "$tool" >/dev/null || { echo "make_debian: $tool missing (apt-get install $tool)" >&2; exit 1; }
done
cache=${MINICTR_CACHE:-/var/cache/minictr-ci}/bench-image
key=$(sha256sum "$0" | cut -c1-12)
out=$cache/debian-$key
mkdir -p "$cache"
exec 9>"$cache/debian.lock"
flock 9
if [[ -d $out ]]; then
  echo "$out"
  exit 0
fi

rm -rf --one-file-system "$cache"/debian-*.tmp  # an interrupted build's
tmp=$out.tmp
mkdir -p "$tmp"
trap 'rm -rf --one-file-system "$tmp"' EXIT
echo "make_debian: mmdebstrap bookworm twice (minbase; minbase + python3 git curl), a few minutes" >&2
mmdebstrap --quiet --variant=minbase --mode=root bookworm "$tmp/base"
mmdebstrap --quiet --variant=minbase --mode=root --include=python3,git,curl,ca-certificates \
  bookworm "$tmp/full"

mv "$tmp/base" "$tmp/layer1"
# Layer 2: only what the install changed (same content = same file, compared by checksum).
rsync -a --checksum --prune-empty-dirs --compare-dest="$tmp/layer1/" "$tmp/full/" "$tmp/layer2/"
(cd "$tmp/layer1" && find . -mindepth 1 | sort) >"$tmp/before"
(cd "$tmp/full" && find . -mindepth 1 | sort) >"$tmp/after"
comm -23 "$tmp/before" "$tmp/after" | while read -r gone; do
  parent=$(dirname "$gone")
  [[ -e $tmp/full/$parent ]] || continue  # its parent is gone too: one whiteout is enough
  mkdir -p "$tmp/layer2/$parent"
  : >"$tmp/layer2/$parent/.wh.$(basename "$gone")"
done
rm -rf --one-file-system "$tmp/full" "$tmp/before" "$tmp/after"

# Layer 3: what a Dockerfile's last lines add.
mkdir -p "$tmp/layer3/etc" "$tmp/layer3/usr/local/bin" "$tmp/layer3/app" "$tmp/layer3/var/log"
printf '[app]\nlisten = 0.0.0.0:8080\nworkers = 2\n' >"$tmp/layer3/etc/app.conf"
printf '#!/bin/sh\nexec python3 /app/main.py "$@"\n' >"$tmp/layer3/usr/local/bin/entrypoint"
chmod 755 "$tmp/layer3/usr/local/bin/entrypoint"
printf 'print("hello from the benchmark image")\n' >"$tmp/layer3/app/main.py"
: >"$tmp/layer3/var/log/.wh.dpkg.log"

mv "$tmp" "$out"
trap - EXIT
echo "$out"
