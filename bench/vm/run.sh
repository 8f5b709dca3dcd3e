#!/usr/bin/env bash
# minictr on pure cgroup v2 (issue 25 item 4): boots the test VM (scripts/vm:
# Debian's kernel under qemu TCG, busybox initramfs, cgroup v2 only) and times
# start-to-exit of `minictr run --rm --network none busybox true`, the same on
# the default bridge, minictr-runc and runc running one bundle, all in the same
# VM in interleaved rounds (bench/vm/inner.sh); prints medians and the ratios
# to runc. Not part of CI. TCG emulates the CPU: absolute times are several
# times a real machine's, the ratios are what to read.
#
#   bench/vm/run.sh [BUILD_DIR]     (default build; needs qemu-system-x86, a kernel in /boot)
#   env: RUNS (rounds, default 20), RUNC (default: runc on PATH; "" to leave it out),
#        MINICTR_VM_ACCEL=kvm where /dev/kvm exists
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-${MINICTR_BUILD:-$src/build}}" && pwd)
runs=${RUNS:-20}
runc=${RUNC-$(command -v runc || true)}
minictr=$build/runtime/minictr
image=$build/images/busybox.tar
[[ -x $minictr ]] || { echo "bench/vm: no $minictr (cmake --build $build --target minictr)" >&2; exit 1; }
[[ -f $image ]] || { echo "bench/vm: no $image (cmake --build $build --target images)" >&2; exit 1; }
files=(-f "$minictr:/usr/local/bin/minictr" -f "$minictr:/usr/local/bin/minictr-runc"
  -f "$image:/images/busybox.tar" -f "$src/bench/vm/inner.sh:/bench/inner.sh" -f /bin/bash:/usr/local/bin/bash)
if [[ -n $runc ]]; then
  [[ -x $runc ]] || { echo "bench/vm: runc not found at '$runc'" >&2; exit 1; }
  files+=(-f "$runc:/usr/local/bin/runc")  # with its libseccomp (ldd)
  echo "bench/vm: runc $("$runc" --version | head -1)"
fi
exec "$src/scripts/vm" --timeout $((120 + runs * 30)) --memory 1024 -m overlay "${files[@]}" \
  -- /usr/local/bin/bash /bench/inner.sh "$runs"
