#!/usr/local/bin/bash
# Runs INSIDE the VM (bench/vm/run.sh boots it): start-to-exit times of
#   minictr run --rm --network none busybox true
#   minictr run --rm busybox true                  (the default bridge)
#   minictr-runc run --no-pivot --bundle B ID      (the same bundle as runc)
#   runc run --no-pivot --bundle B ID              (if runc was copied in)
# --no-pivot: the VM's root is its initramfs, where pivot_root(2) is refused;
# runc fails without it, minictr-runc would fall back to the same move + chroot.
# in interleaved rounds (each round runs every tool once, the order rotating),
# then median and mean of each and the ratios to runc.
set -euo pipefail
runs=${1:-20}
M=/usr/local/bin/minictr R=/usr/local/bin/minictr-runc RUNC=/usr/local/bin/runc
export MINICTR_ROOT=/var/lib/minictr
mkdir -p $MINICTR_ROOT
mount -t tmpfs tmpfs $MINICTR_ROOT  # overlayfs needs xattrs for its upper dir
$M load /images/busybox.tar >/dev/null

# One bundle for both runc-style runtimes: the image's layers, runc's default
# spec (minictr-runc spec writes the same), no terminal, `true`.
b=/tmp/bundle img=/tmp/img
mkdir -p $b/rootfs $img
tar xf /images/busybox.tar -C $img
manifest=$(grep -o 'sha256:[0-9a-f]*' $img/index.json | head -1)
for layer in $(sed -n '/"layers"/,$p' "$img/blobs/sha256/${manifest#sha256:}" | grep -o 'sha256:[0-9a-f]*'); do
  tar xzf "$img/blobs/sha256/${layer#sha256:}" -C $b/rootfs
done
(cd $b && $R spec)
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/^\([[:space:]]*\)"sh"$/\1"true"/' $b/config.json

tools=(none bridge minictr-runc)
[[ -x $RUNC ]] && tools+=(runc)
declare -A cmd=(
  [none]="$M run --rm --network none busybox true"
  [bridge]="$M run --rm busybox true"
  [minictr-runc]="$R run --no-pivot --bundle $b bench"
  [runc]="$RUNC run --no-pivot --bundle $b bench"
)
declare -A samples
for t in "${tools[@]}"; do
  ${cmd[$t]} >/dev/null 2>&1 </dev/null || true  # warm-up; the real runs must succeed
  samples[$t]=""
done
for ((i = 0; i < runs; i++)); do
  for ((j = 0; j < ${#tools[@]}; j++)); do
    t=${tools[(i + j) % ${#tools[@]}]}
    t0=$EPOCHREALTIME
    ${cmd[$t]} >/dev/null </dev/null || { echo "bench/vm: $t failed: ${cmd[$t]}" >&2; exit 1; }
    t1=$EPOCHREALTIME
    samples[$t]+="$(( (${t1/./} - ${t0/./}) / 1000 )) "
  done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
mean() { tr ' ' '\n' | sed '/^$/d' | awk '{s+=$1} END {printf "%d", s/NR}'; }
echo "bench/vm: $runs interleaved rounds, kernel $(uname -r), pure cgroup v2, qemu TCG, $(nproc) vCPUs"
printf '%-14s %10s %10s  %s\n' tool median_ms mean_ms command
declare -A med
for t in "${tools[@]}"; do
  med[$t]=$(median <<<"${samples[$t]}")
  printf '%-14s %10s %10s  %s\n' "$t" "${med[$t]}" "$(mean <<<"${samples[$t]}")" "${cmd[$t]}"
done
if [[ -n ${med[runc]:-} ]]; then
  for t in none bridge minictr-runc; do
    awk -v a="${med[$t]}" -v b="${med[runc]}" -v t="$t" 'BEGIN {printf "ratio %s / runc (median): %.2fx\n", t, a / b}'
  done
else
  echo "ratio: no runc in the VM"
fi
