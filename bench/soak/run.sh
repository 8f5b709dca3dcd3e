#!/usr/bin/env bash
# Soak: N containers through run -d / exec / stop / rm in parallel batches,
# every other one with a published port (-p 0:80), while every 5th has its
# supervisor killed with SIGKILL instead of being stopped. At the end:
# every container's recorded exit was right, and nothing is left (mounts,
# cgroups, veths, nft rules, address leases, files under the root,
# processes). Prints the time per start of the first and the last batch.
#
#   bench/soak/run.sh [N]      (default 200; needs root and a built tree)
#   env: BATCH (parallel containers, default 8), MINICTR, MINICTR_BUILD;
#        MINICTR_ROOT / MINICTR_BRIDGE / ... when run from a test (lib.sh),
#        else a private root, bridge, subnet and table of its own.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${MINICTR_BUILD:-$src/build}
minictr=${MINICTR:-$build/runtime/minictr}
n=${1:-200}
batch=${BATCH:-8}
[[ $(id -u) -eq 0 ]] || { echo "bench/soak: needs root" >&2; exit 1; }

work=$(mktemp -d /tmp/minictr-soak.XXXXXX)
own_env=0
if [[ -z ${MINICTR_ROOT:-} ]]; then
  own_env=1
  export MINICTR_ROOT=$work/root MINICTR_RUN_DIR=$work/run MINICTR_BRIDGE=mctrsoak$$
  export MINICTR_BRIDGE=${MINICTR_BRIDGE:0:15} MINICTR_NFT_TABLE=minictr_soak$$ MINICTR_SUBNET=10.197.0.0/22
fi
m() { "$minictr" "$@"; }
cleanup() {
  local rc=$?
  if ((own_env)); then
    m ps -a -q 2>/dev/null | xargs -r "$minictr" rm -f >/dev/null 2>&1 || true
    m system prune >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
m load -q "$build/images/busybox.tar" >/dev/null

# One container's life; prints "start_ms result" (result "ok" or what went wrong).
life() {
  local i=$1 name=soak$1 port=() t0 t1 want got init sup
  ((i % 2)) && port=(-p 0:80)
  t0=$(date +%s%N)
  if ! m run -d --name "$name" "${port[@]}" busybox sh -c 'trap "exit 0" TERM; sleep 1000 & wait' >/dev/null 2>"$work/err.$i"; then
    echo "0 run-failed:$(head -c 200 "$work/err.$i" | tr '\n ' '__')"
    return
  fi
  t1=$(date +%s%N)
  m inspect -f '{{.Id}}' "$name" >>"$work/ids"
  [[ $(m exec "$name" echo alive 2>&1) == alive ]] || { echo "$(((t1 - t0) / 1000000)) exec-failed"; return; }
  if ((i % 5 == 0)); then
    init=$(m inspect -f '{{.State.Pid}}' "$name")
    sup=$(awk '{print $4}' "/proc/$init/stat")
    kill -9 "$sup"
    for _ in $(seq 100); do kill -0 "$init" 2>/dev/null || break; sleep 0.05; done
    want="exited 137"
  else
    m stop -t 5 "$name" >/dev/null
    want="exited 0"
  fi
  got=$(m inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$name")
  m rm -f "$name" >/dev/null 2>&1 || { echo "$(((t1 - t0) / 1000000)) rm-failed"; return; }
  [[ $got == "$want" ]] || { echo "$(((t1 - t0) / 1000000)) state:$got,want:${want// /_}"; return; }
  echo "$(((t1 - t0) / 1000000)) ok"
}

results=$work/results
: >"$results"
: >"$work/ids"
started=$(date +%s)
for ((first = 1; first <= n; first += batch)); do
  for ((i = first; i < first + batch && i <= n; i++)); do
    { echo "$i $(life "$i")" >>"$results"; } &
  done
  wait
done
elapsed=$(($(date +%s) - started))

# Leaks: anything of this root, bridge or table still on the host.
leaks=()
[[ -z $(m ps -a -q) ]] || leaks+=("containers: $(m ps -a -q | wc -l)")
[[ -z $(ls -A "$MINICTR_ROOT/containers" 2>/dev/null) ]] || leaks+=("container dirs: $(ls "$MINICTR_ROOT/containers" | wc -l)")
mounts=$(grep -c " $MINICTR_ROOT" /proc/self/mountinfo || true)
((mounts == 0)) || leaks+=("mounts: $mounts")
veths=$(ls "/sys/class/net/$MINICTR_BRIDGE/brif" 2>/dev/null | wc -l)
((veths == 0)) || leaks+=("veths on $MINICTR_BRIDGE: $veths")
rules=$( (nft list table ip "$MINICTR_NFT_TABLE" 2>/dev/null || true) | grep -c 'dnat to' || true)
((rules == 0)) || leaks+=("DNAT rules: $rules")
leases_file=${MINICTR_RUN_DIR:-/run/minictr}/networks/$MINICTR_BRIDGE/leases
leases=$(grep -vc '^#' "$leases_file" 2>/dev/null || true)
leases=${leases:-0}
((leases == 0)) || leaks+=("address leases: $leases")
shims=$(pgrep -f "minictr-shim" -a 2>/dev/null | grep -c "$MINICTR_ROOT" || true)
((shims == 0)) || leaks+=("supervisors: $shims")
cgroups=0
while read -r id; do
  [[ -z $(find /sys/fs/cgroup -maxdepth 4 -name "$id" 2>/dev/null) ]] || cgroups=$((cgroups + 1))
done <"$work/ids"
((cgroups == 0)) || leaks+=("cgroups: $cgroups")

sort -n "$results" >"$work/sorted"
failures=$(grep -vc ' ok$' "$work/sorted" || true)
per_batch() { awk -v from="$1" -v to="$2" '$1 >= from && $1 <= to && $3 == "ok" { s += $2; c++ } END { if (c) printf "%.0f", s / c; else print "-" }' "$work/sorted"; }
echo "soak: $n containers in batches of $batch, $elapsed s"
echo "  time per start (run -d), first batch: $(per_batch 1 "$batch") ms, last batch: $(per_batch $((n - batch + 1)) "$n") ms"
echo "  failures: $failures"
{ grep -v ' ok$' "$work/sorted" || true; } | head -5 | sed 's/^/    /'
if ((${#leaks[@]})); then
  printf '  LEAK: %s\n' "${leaks[@]}"
  exit 1
fi
echo "  leaks: none (containers, dirs, mounts, veths, DNAT rules, leases, supervisors, cgroups)"
((failures == 0))
