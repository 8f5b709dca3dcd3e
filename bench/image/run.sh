#!/usr/bin/env bash
# Image load benchmark: minictr load vs umoci unpack of the same ~200 MB,
# 5-layer OCI image (gzip layers). Prints best-of-N wall times, the ratio, and
# minictr's peak RSS (GNU time). Needs root (both tools chown files).
#   bench/image/run.sh [MINICTR_BINARY]   (default build/runtime/minictr)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
minictr=${1:-${MINICTR:-$src/build/runtime/minictr}}
runs=${RUNS:-3}
mb=${BENCH_MB:-200}
work=${BENCH_DIR:-/tmp/minictr-bench-image}
[[ -x $minictr ]] || { echo "no minictr at $minictr (build first)" >&2; exit 1; }
command -v umoci >/dev/null || { echo "umoci missing (scripts/setup)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time missing (apt-get install time)" >&2; exit 1; }

mkdir -p "$work"
# The image is built once and kept (same bytes every time: fixed seed, mkimage is reproducible).
if [[ ! -f $work/image.tar || ! -d $work/layout ]]; then
  echo "building the ${mb} MB benchmark image in $work ..."
  rm -rf "$work/rootfs" "$work/layout" "$work/image.tar"
  python3 "$src/bench/image/make_rootfs.py" "$work/rootfs" --mb "$mb"
  echo '{"Cmd": ["/bin/sh"]}' >"$work/config.json"
  layers=()
  for d in "$work"/rootfs/layer*; do layers+=(--layer "$d"); done
  python3 "$src/images/mkimage.py" "${layers[@]}" --config "$work/config.json" --tag bench:latest \
    --format oci-dir --out "$work/layout"
  python3 "$src/images/mkimage.py" "${layers[@]}" --config "$work/config.json" --tag bench:latest \
    --out "$work/image.tar"
  rm -rf "$work/rootfs"
fi
echo "image: $(du -sh "$work/image.tar" | cut -f1) compressed (gzip), $(du -sh --apparent-size "$work/layout" | cut -f1) layout, 5 layers"

cleanup() { rm -rf "$work/root" "$work/bundle"; }
trap cleanup EXIT

best() { sort -n | head -1; }
time_minictr() {  # $1: what to load
  local t
  for ((i = 0; i < runs; i++)); do
    rm -rf "$work/root"
    sync
    /usr/bin/time -f "%e %M %U %S" -o "$work/time.out" "$minictr" --root "$work/root" load -q "$1"
    cat "$work/time.out"
  done
}
time_umoci() {
  for ((i = 0; i < runs; i++)); do
    rm -rf "$work/bundle"
    sync
    /usr/bin/time -f "%e %M %U %S" -o "$work/time.out" umoci unpack --image "$work/layout:latest" "$work/bundle" >/dev/null
    cat "$work/time.out"
  done
}

m_dir=$(time_minictr "$work/layout")
m_tar=$(time_minictr "$work/image.tar")
u=$(time_umoci)
m_dir_t=$(cut -d' ' -f1 <<<"$m_dir" | best)
m_tar_t=$(cut -d' ' -f1 <<<"$m_tar" | best)
u_t=$(cut -d' ' -f1 <<<"$u" | best)
m_rss=$(cut -d' ' -f2 <<<"$m_dir"$'\n'"$m_tar" | sort -n | tail -1)
cpu() { awk '{print $3 + $4}' | sort -n | head -1; }  # user+sys seconds: less noisy on a shared host
m_cpu=$(cpu <<<"$m_dir")
u_cpu=$(cpu <<<"$u")
u_rss=$(cut -d' ' -f2 <<<"$u" | sort -n | tail -1)

printf '%-40s %8s s   peak RSS %6d kB\n' "minictr load (OCI layout dir)" "$m_dir_t" "$(cut -d' ' -f2 <<<"$m_dir" | sort -n | tail -1)"
printf '%-40s %8s s   peak RSS %6d kB\n' "minictr load (OCI archive tar)" "$m_tar_t" "$(cut -d' ' -f2 <<<"$m_tar" | sort -n | tail -1)"
printf '%-40s %8s s   peak RSS %6d kB\n' "umoci unpack (same OCI layout dir)" "$u_t" "$u_rss"
ratio=$(python3 -c "print(f'{$u_t / max($m_dir_t, 0.001):.2f}')")
echo "speedup minictr vs umoci (layout dir, best of $runs): ${ratio}x wall (target >= 2x)"
echo "CPU (user+sys): minictr ${m_cpu} s, umoci ${u_cpu} s: $(python3 -c "print(f'{$u_cpu / max($m_cpu, 0.001):.2f}')")x"
echo "minictr peak RSS: $((m_rss / 1024)) MB (target < 64 MB)"
