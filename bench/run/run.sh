#!/usr/bin/env bash
# Container start-to-exit benchmark: `minictr run --rm --network none busybox true`
# against `runc run` of the same rootfs (the busybox image's layer unpacked into a
# runc bundle). Both are timed by hyperfine in the same invocation, ROUNDS times,
# and the mean/median of each and the ratio minictr/runc are printed. Target <= 0.25x.
#
#   bench/run/run.sh [BUILD_DIR]        (default build; needs root, runc, hyperfine)
#   env: RUNS (per round, default 30), WARMUP (default 3), ROUNDS (default 3), KEEP=1,
#        NICE=-20 (run at high priority on a busy host)
#
# Everything lives under a temp dir: a private minictr --root, a private runc --root,
# the bundle. Nothing else on the host is touched (--network none: no bridge, no nft).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-${MINICTR_BUILD:-$src/build}}" && pwd)
minictr=${MINICTR:-$build/runtime/minictr}
image=${IMAGE:-$build/images/busybox.tar}
runs=${RUNS:-30}
warmup=${WARMUP:-3}
rounds=${ROUNDS:-3}
[[ $(id -u) -eq 0 ]] || { echo "bench/run: needs root" >&2; exit 1; }
[[ -x $minictr ]] || { echo "bench/run: no minictr at $minictr (build first)" >&2; exit 1; }
[[ -f $image ]] || { echo "bench/run: no image at $image (cmake --build $build --target images)" >&2; exit 1; }
for t in runc hyperfine python3; do
  command -v $t >/dev/null || { echo "bench/run: $t missing (scripts/setup)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/minictr-bench-run.XXXXXX)
cleanup() {
  runc --root "$work/runc" delete -f mctr-bench-runc >/dev/null 2>&1 || true
  "$minictr" --root "$work/root" system prune >/dev/null 2>&1 || true
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

"$minictr" --root "$work/root" load -q "$image" >/dev/null
python3 "$src/bench/run/oci_bundle.py" "$image" "$work/bundle" true
# Sanity: both really run the command and exit 0.
"$minictr" --root "$work/root" run --rm --network none busybox true
runc --root "$work/runc" run --bundle "$work/bundle" mctr-bench-runc </dev/null

echo "minictr: $minictr ($(git -C "$src" describe --always --dirty 2>/dev/null || echo '?'))"
echo "runc:    $(runc --version | head -1)"
m_cmd="$minictr --root $work/root run --rm --network none busybox true"
r_cmd="runc --root $work/runc run --bundle $work/bundle mctr-bench-runc"
source "$src/bench/compare.sh"
compare_rounds runc 0.25 "$m_cmd" "$r_cmd"
