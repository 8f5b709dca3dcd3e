#!/usr/bin/env bash
# The pictures in docs/ are up to date with their graphviz sources: each
# docs/pictures/NAME.svg is what NAME.dot renders to now (scripts/pictures
# --check). No root, no network; skipped without graphviz.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v dot >/dev/null; then
  echo "test_pictures: skipped: no dot (apt-get install graphviz, in scripts/setup)"
  exit 0
fi
n=0
for src in "$repo"/docs/pictures/*.dot; do
  [[ -f ${src%.dot}.svg ]] || { echo "FAIL: ${src#"$repo"/} has no rendered .svg next to it" >&2; exit 1; }
  grep -c "pictures/$(basename "${src%.dot}").svg" "$repo"/docs/0*.md >/dev/null ||
    { echo "FAIL: no chapter shows ${src#"$repo"/}" >&2; exit 1; }
  n=$((n + 1))
done
((n >= 4)) || { echo "FAIL: expected the 4 pictures of issue 24, found $n" >&2; exit 1; }
"$repo/scripts/pictures" --check
echo "test_pictures: ok ($n pictures)"
