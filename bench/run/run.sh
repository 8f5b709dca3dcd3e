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
echo "host:    $(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rounds: $rounds x (warmup $warmup + $runs runs each), order alternates per round"
m_cmd="$minictr --root $work/root run --rm --network none busybox true"
r_cmd="runc --root $work/runc run --bundle $work/bundle mctr-bench-runc"
prefix=()
# NICE=-20: run both sides at a higher CPU priority, so other users' jobs on a shared
# host add less scheduler noise (the container's init still competes from its cgroup).
[[ -n ${NICE:-} ]] && prefix=(nice -n "$NICE") && echo "running at nice $NICE"
jsons=()
for ((r = 1; r <= rounds; r++)); do
  # hyperfine runs all of one command, then all of the other: alternate the
  # order so a change in host load does not always hit the same side.
  if ((r % 2)); then order=("$m_cmd" "$r_cmd"); else order=("$r_cmd" "$m_cmd"); fi
  "${prefix[@]}" hyperfine -N --style none --warmup "$warmup" --runs "$runs" --output null \
    --export-json "$work/round$r.json" "${order[@]}" >/dev/null
  # stats.py wants minictr first.
  python3 - "$work/round$r.json" "$m_cmd" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["results"].sort(key=lambda r: r["command"] != sys.argv[2])
json.dump(d, open(sys.argv[1], "w"))
PY
  jsons+=("$work/round$r.json")
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$src/bench/run/stats.py" minictr runc 0.25 "${jsons[@]}"
