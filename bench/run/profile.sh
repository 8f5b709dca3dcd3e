#!/usr/bin/env bash
# Where does `minictr run --rm --network none busybox true` (or RUN_ARGS) spend its time?
# Runs it N times under `strace -f --seccomp-bpf -ttt` (only the milestone syscalls are
# traced, so the overhead is small) and prints the median/mean of each phase
# (bench/run/phases.py --summary), plus the full milestone list of the median run.
#   bench/run/profile.sh [BUILD_DIR]     env: N (default 10), NICE (default -20; "" = off),
#   RUN_ARGS (default "--network none"; e.g. "-p 18080:80" profiles the bridge network path,
#   with MINICTR_BRIDGE/MINICTR_NFT_TABLE/MINICTR_SUBNET defaulting to mctrb0/minictr_bench/10.198.0.0/24)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-${MINICTR_BUILD:-$src/build}}" && pwd)
minictr=${MINICTR:-$build/runtime/minictr}
image=${IMAGE:-$build/images/busybox.tar}
n=${N:-10}
read -r -a run_args <<<"${RUN_ARGS:---network none}"
export MINICTR_BRIDGE=${MINICTR_BRIDGE:-mctrb0}
export MINICTR_NFT_TABLE=${MINICTR_NFT_TABLE:-minictr_bench}
export MINICTR_SUBNET=${MINICTR_SUBNET:-10.198.0.0/24}
nice_level=${NICE--20}
command -v strace >/dev/null || { echo "bench/run/profile: strace missing" >&2; exit 1; }
work=$(mktemp -d /tmp/minictr-bench-prof.XXXXXX)
trap '"$minictr" --root "$work/root" system prune >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
"$minictr" --root "$work/root" load -q "$image" >/dev/null
prefix=()
[[ -n $nice_level ]] && prefix=(nice -n "$nice_level")
traced=sendmsg,execve,clone,clone3,fsync,fdatasync,mount,pivot_root,seccomp,exit_group,wait4,sendto,mkdir,rmdir,umount2,unshare,openat
"$minictr" --root "$work/root" run --rm "${run_args[@]}" busybox true  # warm the caches
for ((i = 1; i <= n; i++)); do
  "${prefix[@]}" strace -f --seccomp-bpf -ttt -T -e trace=$traced -o "$work/trace$i.txt" \
    "$minictr" --root "$work/root" run --rm "${run_args[@]}" busybox true
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$src/bench/run/phases.py" --summary "$work"/trace*.txt
if [[ ${VERBOSE:-0} == 1 ]]; then
  echo; echo "milestones of run 1:"; python3 "$src/bench/run/phases.py" "$work/trace1.txt"
fi
