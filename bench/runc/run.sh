#!/usr/bin/env bash
# minictr as a runc drop-in (issue 20), start to exit through the real clients:
#   podman --runtime RT run --rm busybox true
#   ctr run --rm --runc-binary RT busybox true      (a private containerd)
# with RT = minictr-runc and RT = runc, timed by hyperfine in ROUNDS rounds
# that alternate which runtime goes first; prints mean/median of each and the
# ratio minictr-runc/runc per client (target: no slower than runc, <= 1.0x).
#
#   bench/runc/run.sh [BUILD_DIR]    (default build; needs root, podman, containerd, runc, hyperfine)
#   env: RUNS (per round, default 10), WARMUP (default 2), ROUNDS (default 2), KEEP=1,
#        NICE=-20, MINICTR_RUNC (default BUILD/runtime/minictr-runc), RUNC (default runc),
#        CLIENTS ("podman ctr", the default, or one of them)
#
# podman: private --root/--runroot/--tmpdir and CONTAINERS_CONF (cgroupfs,
# events off), `--network none` (the network is podman's own work, the same
# for both runtimes) and the --ulimit flags podman needs on this host (its
# default nofile/nproc exceed what the host allows a container). containerd:
# tests/runc/containerd.sh (own root, state, socket, minimal config). Both
# are removed at exit, with podman's libpod_parent cgroups if we made them.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-${MINICTR_BUILD:-$src/build}}" && pwd)
minictr_runc=${MINICTR_RUNC:-$build/runtime/minictr-runc}
runc=${RUNC:-$(command -v runc || true)}
image=${IMAGE:-$build/images/busybox.tar}
runs=${RUNS:-10}
warmup=${WARMUP:-2}
rounds=${ROUNDS:-2}
clients=${CLIENTS:-podman ctr}
[[ $(id -u) -eq 0 ]] || { echo "bench/runc: needs root" >&2; exit 1; }
[[ -x $minictr_runc ]] || { echo "bench/runc: no minictr-runc at $minictr_runc (build target minictr-runc)" >&2; exit 1; }
[[ -f $image ]] || { echo "bench/runc: no image at $image (cmake --build $build --target images)" >&2; exit 1; }
for t in podman containerd ctr hyperfine python3; do
  command -v $t >/dev/null || { echo "bench/runc: $t missing (scripts/setup)" >&2; exit 1; }
done
[[ -x $runc ]] || { echo "bench/runc: runc missing (scripts/setup)" >&2; exit 1; }

work=$(mktemp -d /tmp/minictr-bench-runc.XXXXXX)
had_libpod_cg=0
[[ -d /sys/fs/cgroup/memory/libpod_parent || -d /sys/fs/cgroup/unified/libpod_parent || -d /sys/fs/cgroup/libpod_parent ]] && had_libpod_cg=1

mkdir -p "$work"/podman/{root,runroot,tmp}
cat >"$work/podman/containers.conf" <<CONF
[engine]
events_logger = "none"
cgroup_manager = "cgroupfs"
CONF
export CONTAINERS_CONF=$work/podman/containers.conf
podman=(podman --root "$work/podman/root" --runroot "$work/podman/runroot" --tmpdir "$work/podman/tmp"
  --cgroup-manager=cgroupfs)
pm_run=(run --rm --network none --ulimit nofile=20000:20000 --ulimit nproc=32768:32768)

source "$src/tests/runc/containerd.sh"

cleanup() {
  set +e
  ctd_stop
  if [[ $clients == *podman* ]]; then
    "${podman[@]}" rm -af >/dev/null 2>&1
    "${podman[@]}" system reset -f >/dev/null 2>&1
  fi
  if ((!had_libpod_cg)); then
    for d in /sys/fs/cgroup/libpod_parent /sys/fs/cgroup/*/libpod_parent; do
      [[ -d $d ]] || continue
      find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
      rmdir "$d" 2>/dev/null
    done
  fi
  grep -F " $work/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

echo "minictr-runc: $minictr_runc ($(git -C "$src" describe --always --dirty 2>/dev/null || echo '?'))"
echo "runc:         $runc ($("$runc" --version | head -1))"
source "$src/bench/compare.sh"

for client in $clients; do
  case $client in
    podman)
      "${podman[@]}" load -q -i "$image" >/dev/null
      pm_image=$("${podman[@]}" images -q | head -1)
      # Sanity: both really run it and exit 0.
      "${podman[@]}" --runtime "$runc" "${pm_run[@]}" "$pm_image" true
      "${podman[@]}" --runtime "$minictr_runc" "${pm_run[@]}" "$pm_image" true
      echo
      echo "== podman ($(podman --version)): run --rm --network none busybox true =="
      compare_rounds runc 1.0 \
        "${podman[*]} --runtime $minictr_runc ${pm_run[*]} $pm_image true" \
        "${podman[*]} --runtime $runc ${pm_run[*]} $pm_image true"
      ;;
    ctr)
      ctd_start "$work/containerd" "minictr-bench-$$"
      c images import --all-platforms "$image" >/dev/null
      ctr_image=$(c images ls -q | grep -m1 busybox)
      ctr_run() {  # RUNTIME NAME -> the command line (hyperfine -N splits it at spaces)
        echo "ctr -a $CTD_SOCK -n $CTD_NS run --rm ${CTD_FIFOS[*]} --runc-binary $1 --runc-root $work/containerd/runc-$2 $ctr_image bench-$2 true"
      }
      $(ctr_run "$runc" runc)
      $(ctr_run "$minictr_runc" minictr)
      echo
      echo "== containerd ($(containerd --version | cut -d' ' -f3)): ctr run --rm busybox true =="
      compare_rounds runc 1.0 "$(ctr_run "$minictr_runc" minictr)" "$(ctr_run "$runc" runc)"
      ;;
    *) echo "bench/runc: unknown client $client (CLIENTS: podman ctr)" >&2; exit 2 ;;
  esac
done
