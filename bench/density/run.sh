#!/usr/bin/env bash
# Density: N idle busybox containers (`run -d ... sleep 1d`), default 200.
# Prints, from one run:
#   - start time (`run -d` until it returns) with 0, 49, 99, 149, 199 and N
#     containers already running: the median of PROBES extra starts at each
#     point (each probe is removed again), and the ratio last / first; the
#     same for the CPU time each probe's supervisor used until the start
#     returned (/proc/PID/schedstat), which a loaded host does not inflate;
#   - host memory per idle container: the supervisor's PSS and RSS
#     (/proc/PID/smaps_rollup), the kernel memory charged to the container's
#     memory cgroup (v1 memory.kmem.usage_in_bytes, v2 memory.stat kernel),
#     and the host's MemAvailable / Slab change over the whole batch divided
#     by N (approximate: other processes on the host move these too);
#   - `stats --no-stream` over all N, `ps` and `ps -a`: wall time (hyperfine,
#     median), against the targets < 1 s and < 100 ms.
# Two series: the default bridge (what users run), then --network none
# (SERIES="bridge none"; the difference is the veth + bridge port + address).
#
#   bench/density/run.sh [N]         (needs root, hyperfine, a built tree)
#   env: MINICTR_BUILD (default build), MINICTR, PROBES (default 5),
#        SERIES (default "bridge none"), KEEP=1 (keep the temp dir),
#        BASELINE=/path/to/an/older/minictr: also time its `stats --no-stream`
#        and `ps` on the same containers (before/after of a change)
#
# Isolation: a private --root and run dir under a temp dir, bridge mctrdens<pid>,
# nft table minictr_dens<pid>, subnet 10.190.0.0/22. At exit (also on Ctrl-C or
# a failure) every container is removed and `system prune` drops the bridge and
# the table; then the script checks that nothing of it is left.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${MINICTR_BUILD:-$src/build}" && pwd)
minictr=${MINICTR:-$build/runtime/minictr}
image=$build/images/busybox.tar
n=${1:-200}
probes=${PROBES:-5}
series=${SERIES:-bridge none}
[[ $(id -u) -eq 0 ]] || { echo "bench/density: needs root" >&2; exit 1; }
[[ -x $minictr ]] || { echo "bench/density: no minictr at $minictr (build first)" >&2; exit 1; }
[[ -f $image ]] || { echo "bench/density: no image at $image (cmake --build $build --target busybox_image)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench/density: hyperfine missing (scripts/setup)" >&2; exit 1; }
((n >= 8)) || { echo "bench/density: N must be at least 8" >&2; exit 1; }

work=$(mktemp -d /tmp/minictr-density.XXXXXX)
export MINICTR_ROOT=$work/root MINICTR_RUN_DIR=$work/run
export MINICTR_BRIDGE=mctrdens$$ MINICTR_NFT_TABLE=minictr_dens$$ MINICTR_SUBNET=${MINICTR_SUBNET:-10.190.0.0/22}
export MINICTR_BRIDGE=${MINICTR_BRIDGE:0:15}
m() { "$minictr" "$@"; }

remove_all() {
  m ps -a -q 2>/dev/null | xargs -r -P 4 -n 20 "$minictr" rm -f >/dev/null 2>&1 || true
}
cleanup() {
  local rc=$?
  set +e
  trap - INT TERM
  remove_all
  m system prune >/dev/null 2>&1
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | while read -r mnt; do umount -l "$mnt"; done
  [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

m load -q "$image" >/dev/null
: >"$work/supervisors"  # of every series, to check they are gone at the end
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

now_us() { echo "${EPOCHREALTIME/./}"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }  # kB

net_args=()
# $1: name; prints the wall time of `run -d` in µs, and appends to $work/cpu
# the CPU time its supervisor has used by then (µs, /proc/PID/schedstat):
# unlike wall time, that does not grow with the host's load.
start_one() {
  local t0 t1 id sup
  t0=$(now_us)
  id=$(m run -d --name "$1" "${net_args[@]}" busybox sleep 1d)
  t1=$(now_us)
  sup=$(jq -r .SupervisorPid "$MINICTR_ROOT/containers/$id/state.json")
  awk '{ print int($1 / 1000) }' "/proc/$sup/schedstat" >>"$work/cpu"
  echo $((t1 - t0))
}

# Median start time of PROBES extra containers, each removed again, with
# $1 containers running; and the median of their supervisors' CPU time, in
# $work/probe_cpu.
probe() {
  local i
  : >"$work/cpu"
  for ((i = 0; i < probes; i++)); do
    start_one probe >>"$work/probe"
    m rm -f probe >/dev/null
  done
  median <"$work/cpu" >"$work/probe_cpu"
  median <"$work/probe"
  : >"$work/probe"
}

# hyperfine's median of a command, in ms.
hf_median_ms() {  # $1: runs, rest: command
  local runs=$1
  shift
  hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$work/hf.json" "$*" >/dev/null 2>&1
  jq -r '.results[0].median * 1000' "$work/hf.json"
}

# Per running container: the supervisor's Pss and Rss (kB) and the kernel
# memory charged to its cgroup (bytes), one "pss rss kmem" line each.
memory_per_container() {
  local sup paths cg kmem
  : >"$work/mem"
  while read -r sup paths; do
    echo "$sup" >>"$work/supervisors"
    # CgroupPath: one directory on v2; on v1 one per hierarchy, space-separated.
    cg=$paths
    for p in $paths; do [[ $p == */memory/* ]] && cg=$p; done
    if [[ -f $cg/memory.kmem.usage_in_bytes ]]; then  # v1
      kmem=$(cat "$cg/memory.kmem.usage_in_bytes")
    else  # v2
      kmem=$(awk '$1 == "kernel" { print $2 }' "$cg/memory.stat")
    fi
    echo "$(awk '/^Pss:/ { p = $2 } /^Rss:/ { r = $2 } END { print p, r }' "/proc/$sup/smaps_rollup") $kmem" >>"$work/mem"
  done < <(jq -r 'select(.Status == "running") | "\(.SupervisorPid) \(.CgroupPath)"' "$MINICTR_ROOT"/containers/*/state.json)
}
column_median() { awk -v c="$1" '{ print $c }' "$work/mem" | median; }

printf 'density: %d idle busybox containers (sleep 1d) per series, %d probes per point; %d CPUs, %s\n' \
  "$n" "$probes" "$(nproc)" "$(uname -r)"
echo "load average before: $load_before"
points=(1 $((n / 4)) $((n / 2)) $((3 * n / 4)) "$n" $((n + 1)))
verdicts=()
for s in $series; do
  case $s in
    bridge) net_args=() ;;
    none) net_args=(--network none) ;;
    *) echo "bench/density: unknown series $s" >&2; exit 1 ;;
  esac
  mem_avail0=$(meminfo MemAvailable) slab0=$(meminfo Slab) sunreclaim0=$(meminfo SUnreclaim)
  declare -A start_ms=() cpu_us=()
  # Not measured: the series' first starts make the bridge and its nft table and compile the
  # seccomp profile into the cache; the first point would count that and make the ratio
  # of the last to the first look better than it is.
  probe >/dev/null
  : >"$work/fill"
  t_fill0=$(now_us)
  for ((i = 1; i <= n + 1; i++)); do
    for p in "${points[@]}"; do
      ((p == i)) && start_ms[$p]=$(probe) && cpu_us[$p]=$(cat "$work/probe_cpu")
    done
    ((i <= n)) && start_one "c$i" >>"$work/fill"
  done
  fill_s=$(awk -v t=$(($(now_us) - t_fill0)) 'BEGIN { printf "%.1f", t / 1e6 }')
  running=$(m ps -q | wc -l)
  ((running == n)) || { echo "bench/density: $running containers running, expected $n" >&2; exit 1; }
  sleep 1  # let the last ones settle (page cache of their state files, slab frees)
  mem_avail1=$(meminfo MemAvailable) slab1=$(meminfo Slab) sunreclaim1=$(meminfo SUnreclaim)
  memory_per_container

  stats_ms=$(hf_median_ms 3 "$minictr" stats --no-stream)
  [[ -z ${BASELINE:-} ]] || base_stats_ms=$(hf_median_ms 3 "$BASELINE" stats --no-stream)
  stats_rows=$(m stats --no-stream --format '{{.ID}}' | wc -l)
  ps_ms=$(hf_median_ms 10 "$minictr" ps)
  [[ -z ${BASELINE:-} ]] || base_ps_ms=$(hf_median_ms 10 "$BASELINE" ps)
  psa_ms=$(hf_median_ms 10 "$minictr" ps -a)
  psq_ms=$(hf_median_ms 10 "$minictr" ps -q)

  echo
  echo "series: $s ($n containers started in $fill_s s, one after another)"
  printf '  %-44s' "start time (ms), containers running:"
  for p in "${points[@]}"; do printf ' %7d' $((p - 1)); done
  echo
  printf '  %-44s' "  median of $probes starts (the Nth container)"
  for p in "${points[@]}"; do printf ' %7.1f' "$(awk -v u="${start_ms[$p]}" 'BEGIN { print u / 1000 }')"; done
  echo
  printf '  %-44s' "  its supervisor's CPU time until started"
  for p in "${points[@]}"; do printf ' %7.1f' "$(awk -v u="${cpu_us[$p]}" 'BEGIN { print u / 1000 }')"; done
  echo
  # The fill itself, in blocks of n/4: each container started once.
  printf '  %-44s' "  fill: median start per quarter of the batch"
  for ((q = 0; q < 4; q++)); do
    printf ' %7.1f' "$(sed -n "$((q * n / 4 + 1)),$(((q + 1) * n / 4))p" "$work/fill" | median | awk '{ print $1 / 1000 }')"
  done
  echo
  ratio=$(awk -v a="${start_ms[1]}" -v b="${start_ms[$((n + 1))]}" 'BEGIN { printf "%.2f", b / a }')
  printf '  %-44s %.2f MB PSS, %.2f MB RSS (median of %d)\n' "supervisor (minictr-shim) per container:" \
    "$(column_median 1 | awk '{ print $1 / 1024 }')" "$(column_median 2 | awk '{ print $1 / 1024 }')" "$(wc -l <"$work/mem")"
  printf '  %-44s %.2f MB (median), %.1f MB all %d\n' "kernel memory of the container's cgroup:" \
    "$(column_median 3 | awk '{ print $1 / 1048576 }')" "$(awk '{ s += $3 } END { print s / 1048576 }' "$work/mem")" "$(wc -l <"$work/mem")"
  printf '  %-44s MemAvailable %+.2f MB, Slab %+.2f MB (SUnreclaim %+.2f MB)\n' "host, per container (approx., whole batch / N):" \
    "$(awk -v a="$mem_avail0" -v b="$mem_avail1" -v n="$n" 'BEGIN { print (b - a) / n / 1024 }')" \
    "$(awk -v a="$slab0" -v b="$slab1" -v n="$n" 'BEGIN { print (b - a) / n / 1024 }')" \
    "$(awk -v a="$sunreclaim0" -v b="$sunreclaim1" -v n="$n" 'BEGIN { print (b - a) / n / 1024 }')"
  eval "slab_per_${s}=\$(awk -v a=$slab0 -v b=$slab1 -v n=$n 'BEGIN { print (b - a) / n / 1024 }')"
  eval "avail_per_${s}=\$(awk -v a=$mem_avail0 -v b=$mem_avail1 -v n=$n 'BEGIN { print (b - a) / n / 1024 }')"
  printf '  %-44s %8.1f ms (%d rows)\n' "stats --no-stream over all $n (median of 3):" "$stats_ms" "$stats_rows"
  [[ -z ${BASELINE:-} ]] || printf '  %-44s %8.1f ms (%s)\n' "  the same with BASELINE:" "$base_stats_ms" "$BASELINE"
  printf '  %-44s %8.1f ms\n' "ps (median of 10):" "$ps_ms"
  [[ -z ${BASELINE:-} ]] || printf '  %-44s %8.1f ms\n' "  the same with BASELINE:" "$base_ps_ms"
  printf '  %-44s %8.1f ms\n' "ps -a (median of 10):" "$psa_ms"
  printf '  %-44s %8.1f ms\n' "ps -q (median of 10):" "$psq_ms"
  verdict() { awk -v v="$2" -v t="$3" 'BEGIN { exit !(v < t) }' && echo "MET" || echo "NOT MET"; }
  verdicts+=("$s: start of the $((n + 1))th / the 1st: ${ratio}x (flat: <= 1.2x) -> $(awk -v r="$ratio" 'BEGIN { exit !(r <= 1.2) }' && echo MET || echo "NOT MET")")
  cpu_ratio=$(awk -v a="${cpu_us[1]}" -v b="${cpu_us[$((n + 1))]}" 'BEGIN { printf "%.2f", b / a }')
  verdicts+=("$s: supervisor CPU of the $((n + 1))th / the 1st: ${cpu_ratio}x (flat: <= 1.2x) -> $(awk -v r="$cpu_ratio" 'BEGIN { exit !(r <= 1.2) }' && echo MET || echo "NOT MET")")
  verdicts+=("$s: stats --no-stream over $n: $(printf %.0f "$stats_ms") ms (target < 1000 ms) -> $(verdict x "$stats_ms" 1000)")
  verdicts+=("$s: ps: $(printf %.1f "$ps_ms") ms, ps -a: $(printf %.1f "$psa_ms") ms (target < 100 ms) -> $(verdict x "$(awk -v a="$ps_ms" -v b="$psa_ms" 'BEGIN { print (a > b ? a : b) }')" 100)")
  remove_all
  m system prune >/dev/null 2>&1
  unset start_ms
done

echo
if [[ -n ${slab_per_bridge:-} && -n ${slab_per_none:-} ]]; then
  printf 'veth + bridge port + address (bridge - none, approx.): MemAvailable %+.2f MB, Slab %+.2f MB per container\n' \
    "$(awk -v a="$avail_per_bridge" -v b="$avail_per_none" 'BEGIN { print a - b }')" \
    "$(awk -v a="$slab_per_bridge" -v b="$slab_per_none" 'BEGIN { print a - b }')"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "${verdicts[@]}"

# Leftovers of this run on the host (containers are gone by now).
left=()
[[ -z $(m ps -a -q) ]] || left+=("containers: $(m ps -a -q | wc -l)")
# A supervisor is gone once it is a zombie: its parent here is the host's
# PID 1 (the supervisor double-forks), which reaps it when it will.
alive() { [[ -e /proc/$1/stat ]] && [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
for _ in $(seq 50); do  # `rm -f` returns before the last supervisors have exited
  sups=0
  while read -r sup; do alive "$sup" && sups=$((sups + 1)); done <"$work/supervisors"
  ((sups == 0)) && break
  sleep 0.1
done
((sups == 0)) || left+=("supervisors: $sups")
grep -c " $work" /proc/self/mountinfo >/dev/null && left+=("mounts: $(grep -c " $work" /proc/self/mountinfo)")
[[ ! -e /sys/class/net/$MINICTR_BRIDGE ]] || [[ -z $(ls "/sys/class/net/$MINICTR_BRIDGE/brif") ]] || left+=("veths on $MINICTR_BRIDGE")
((${#left[@]} == 0)) || { printf 'LEFT BEHIND: %s\n' "${left[@]}" >&2; exit 1; }
