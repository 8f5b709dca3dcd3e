#!/usr/bin/env bash
# Build benchmark: `minictr build` against `podman build` (buildah) of the same
# Dockerfile and the same context, in the same run. Two Dockerfiles:
#   inference  images/inference/Dockerfile (the server compiled static in a stage on
#              the project's Debian build image, images/debian-build/make.sh; then
#              FROM scratch: 3 layers, 13.5 MB)
#   examples   examples/dockerfiles/Dockerfile.good (a RUN step in a build stage)
# For each: "cold" = a fresh store with only the base image loaded (untimed), so
# every step runs and every layer is written, "rebuild" = the cache after one changed source file. Best of RUNS
# (default 3). Prints the times and the ratios minictr/podman (< 1: minictr faster).
#   sudo bench/build/run.sh [MINICTR_BINARY]      (default build/runtime/minictr)
# podman gets a private --root/--runroot under a temp dir (the host's storage is
# not touched), the overlay storage driver (as minictr), the host's runc, and
# --network none for RUN (minictr's RUN is on its bridge: a private one here).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${MINICTR_BUILD:-$src/build}
minictr=${1:-${MINICTR:-$build/runtime/minictr}}
runs=${RUNS:-3}
[[ $(id -u) -eq 0 ]] || { echo "bench/build: needs root (both builders mount overlays)" >&2; exit 1; }
[[ -x $minictr ]] || { echo "bench/build: no minictr at $minictr (build first)" >&2; exit 1; }
command -v podman >/dev/null || { echo "bench/build: podman missing (apt-get install podman)" >&2; exit 1; }
busybox_tar=$build/images/busybox.tar
[[ -f $busybox_tar ]] || { echo "bench/build: build target images first" >&2; exit 1; }
# The inference Dockerfile's build stage: the project's Debian build image (made once, cached).
build_archive=$("$src/images/debian-build/make.sh" "$minictr")
build_image=minictr-debian-build:$(basename "$build_archive" .tar)

work=$(mktemp -d /tmp/minictr-bench-build.XXXXXX)
n=$(($$ % 200 + 20))
export MINICTR_ROOT=$work/mroot MINICTR_RUN_DIR=$work/mrun
export MINICTR_BRIDGE=mctrbb$n MINICTR_NFT_TABLE=minictr_bb$n MINICTR_SUBNET=10.196.$n.0/24
P=$work/podman
mkdir -p "$P"
printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nevents_logfile_path = "%s/events.log"\n' \
  "$P" >"$P/containers.conf"
PROOT=$P/root
pm() {
  CONTAINERS_CONF=$P/containers.conf podman --root "$PROOT" --runroot "$P/run" --tmpdir "$P/tmp" \
    --storage-driver overlay --runtime "$(command -v runc)" --cgroup-manager=cgroupfs --events-backend=file "$@"
}
# fresh_stores: empty state roots for both, the base image loaded into each.
fresh_stores() {
  pm system reset -f >/dev/null 2>&1 || true
  "$minictr" system prune >/dev/null 2>&1 || true
  rm -rf "$MINICTR_ROOT" "$PROOT"
  "$minictr" load -q "$busybox_tar" >/dev/null
  pm load -q -i "$busybox_tar" >/dev/null
  "$minictr" load -q "$build_archive" >/dev/null
  pm load -q -i "$build_archive" >/dev/null
}
cleanup() {
  set +e
  pm system reset -f >/dev/null 2>&1
  "$minictr" system prune >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
base_pm=localhost/busybox:latest

now() { date +%s.%N; }
# timed CMD...: run it quietly, print the seconds it took
timed() {
  local t0
  t0=$(now)
  "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; return 1; }
  echo "$(now) - $t0" | bc
}
best() { sort -g | head -1; }

# bench NAME DOCKERFILE CONTEXT_MAKER CHANGE_FILE
bench() {
  local name=$1 dockerfile=$2 make_ctx=$3 change=$4
  local ctx=$work/ctx-$name mc mr pc pr i
  rm -rf "$ctx"
  $make_ctx "$ctx"
  mf=(-f "$dockerfile" --build-arg BUSYBOX=busybox:latest --build-arg BUILD_IMAGE="$build_image")
  pf=(-f "$dockerfile" --build-arg BUSYBOX=$base_pm --build-arg BUILD_IMAGE="localhost/$build_image"
    --pull=never --network none --layers)
  # Dockerfiles that say FROM busybox: podman's short name would ask a registry.
  # Debian's podman 4.3 refuses RUN --network=none; it has --network none for every RUN.
  sed "s|^FROM busybox|FROM $base_pm|; s|^RUN --network=none |RUN |" "$dockerfile" >"$work/Dockerfile.$name.podman"
  pf[1]=$work/Dockerfile.$name.podman
  : >"$work/mc" && : >"$work/pc"
  for ((i = 0; i < runs; i++)); do
    fresh_stores
    timed "$minictr" build "${mf[@]}" -t "bench-$name" "$ctx" >>"$work/mc"
    timed pm build "${pf[@]}" -t "bench-$name" "$ctx" >>"$work/pc"
  done
  mc=$(best <"$work/mc") pc=$(best <"$work/pc")
  # Cache-hit rebuilds (the caches are primed by the last cold build): each run
  # changes the one file again.
  mr=$(for ((i = 0; i < runs; i++)); do
    echo "# change $i $RANDOM" >>"$ctx/$change"
    timed "$minictr" build "${mf[@]}" -t "bench-$name" "$ctx"
  done | best)
  grep -c ' CACHED$' "$work/last.log" >"$work/cached" || true
  pr=$(for ((i = 0; i < runs; i++)); do
    echo "# change p$i $RANDOM" >>"$ctx/$change"
    timed pm build "${pf[@]}" -t "bench-$name" "$ctx"
  done | best)
  grep -c 'Using cache' "$work/last.log" >"$work/pcached" || true
  printf '%-10s %-8s %9.2fs %9.2fs %7.2f\n' "$name" cold "$mc" "$pc" "$(echo "$mc / $pc" | bc -l)"
  printf '%-10s %-8s %9.2fs %9.2fs %7.2f   (steps cached: minictr %s, podman %s; changed %s)\n' "$name" rebuild \
    "$mr" "$pr" "$(echo "$mr / $pr" | bc -l)" "$(cat "$work/cached")" "$(cat "$work/pcached")" "$change"
}
inference_ctx() { bash "$src/images/inference/context.sh" "$1"; }
examples_ctx() { cp -r "$src/examples/dockerfiles/app" "$1"; }

echo "best of $runs; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); podman $(podman --version | awk '{print $3}')"
printf '%-10s %-8s %10s %10s %7s\n' dockerfile build minictr podman ratio
bench inference "$src/images/inference/Dockerfile" inference_ctx rootfs/etc/nsswitch.conf
bench examples "$src/examples/dockerfiles/Dockerfile.good" examples_ctx src/app.sh
