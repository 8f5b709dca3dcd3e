#!/bin/sh
# The dependency step, as a package manager's install would do it: get each
# dependency deps.txt names, unpack it in a work dir, build it, and install
# the result under $PREFIX. The build has no network, so "getting" is
# generating the source with awk (deterministic: srand(1)); sorting and
# compressing it is the build. It takes a while and leaves its work dir
# (sources, intermediates) behind, as real builds leave toolchains and
# object files.
set -eu
PREFIX=${PREFIX:-/opt/deps}
WORK=${WORK:-/var/cache/deps-build}
mkdir -p "$PREFIX" "$WORK"
while read -r name lines; do
  case $name in '' | '#'*) continue ;; esac
  awk -v n="$lines" -v name="$name" 'BEGIN { srand(1); for (i = 0; i < n; i++) printf "%s-%08d line %d\n", name, int(rand() * 1e8), i }' >"$WORK/$name.src"
  sort "$WORK/$name.src" >"$WORK/$name.sorted"
  gzip -9 -n -c "$WORK/$name.sorted" >"$PREFIX/$name.gz"
  echo "installed $name: $(wc -l <"$WORK/$name.sorted") entries"
done <deps.txt
