#!/usr/bin/env bash
# Image load benchmark: `minictr load` vs `umoci unpack` of the same image,
# both measured in the same run, interleaved round by round. Prints each
# tool's best and median wall time, CPU (user+sys) and peak RSS (GNU time)
# and the ratios. Needs root (both tools chown files).
#
#   bench/image/run.sh [MINICTR_BINARY]      (default build/runtime/minictr)
#
#   IMAGE=debian     (default) a 3-layer Debian bookworm image: minbase, then
#                    python3/git/curl, then a small config layer
#                    (bench/image/make_debian.sh, mmdebstrap, cached outside
#                    the checkout)
#   IMAGE=synthetic  200 MB of generated files in 5 layers (make_rootfs.py;
#                    BENCH_MB sets the size)
#   COMPRESS="gzip zstd none"   the layer compressions measured (default all three)
#   RUNS=3           rounds
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
minictr=${1:-${MINICTR:-$src/build/runtime/minictr}}
runs=${RUNS:-3}
image=${IMAGE:-debian}
compressions=${COMPRESS:-gzip zstd none}
work=${BENCH_DIR:-/tmp/minictr-bench-image}/$image
[[ -x $minictr ]] || { echo "no minictr at $minictr (build first)" >&2; exit 1; }
command -v umoci >/dev/null || { echo "umoci missing (scripts/setup)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time missing (apt-get install time)" >&2; exit 1; }

# The layer directories, made once (same bytes every time for the synthetic one).
layers=()
case $image in
  debian)
    dirs=$("$src/bench/image/make_debian.sh")
    layers=(--keep-owner --xattrs --layer "$dirs/layer1" --layer "$dirs/layer2" --layer "$dirs/layer3")
    ;;
  synthetic)
    dirs=$work/rootfs
    if [[ ! -d $dirs ]]; then
      python3 "$src/bench/image/make_rootfs.py" "$dirs.tmp" --mb "${BENCH_MB:-200}"
      mv "$dirs.tmp" "$dirs"
    fi
    for d in "$dirs"/layer*; do layers+=(--layer "$d"); done
    ;;
  *) echo "IMAGE must be debian or synthetic" >&2; exit 2 ;;
esac

# The images: an OCI layout dir (what umoci reads) and the same as an
# OCI archive tar, per layer compression.
mkdir -p "$work"
echo '{"Cmd": ["/bin/sh"]}' >"$work/config.json"
for c in $compressions; do
  if [[ ! -d $work/layout-$c || ! -f $work/image-$c.tar ]]; then
    echo "packing the $image image ($c layers) in $work ..."
    rm -rf "$work/layout-$c" "$work/image-$c.tar"
    python3 "$src/images/mkimage.py" "${layers[@]}" --config "$work/config.json" --tag bench:latest \
      --format oci-dir --compress "$c" --out "$work/layout-$c"
    python3 "$src/images/mkimage.py" "${layers[@]}" --config "$work/config.json" --tag bench:latest \
      --format oci --compress "$c" --out "$work/image-$c.tar"
  fi
done

# Every run unpacks into a new directory, and the trees are deleted only at
# the end (~300 MB each for the Debian image): on ext4 a directory made right after thousands of inodes were
# freed has its new inodes searched past the freed ones (docs/performance.md,
# the nurseries), which would time the previous round's `rm -rf`, not the
# unpack. The parent is an ext4 "top directory" (chattr +T): each run's
# directory goes to a little used block group.
runs_dir=$work/runs
rm -rf "$runs_dir"
mkdir "$runs_dir"
chattr +T "$runs_dir" 2>/dev/null || true
cleanup() { rm -rf "$runs_dir" "$work/time.out" "$work/err.out" "$work/umoci.err"; }
trap cleanup EXIT

# One timed run: prints "wall maxrss_kB user sys"; fails as the command does.
timed() {
  local rc=0
  sync
  /usr/bin/time -f "%e %M %U %S" -o "$work/time.out" "$@" >/dev/null 2>"$work/err.out" || rc=$?
  tail -1 "$work/time.out"
  return $rc
}
best() { sort -n | head -1; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { awk -v c="$1" '{print (c == "cpu") ? $3 + $4 : $c}'; }
ratio() { python3 -c "print(f'{$1 / max($2, 0.001):.2f}')"; }

echo "image: $image, $(nproc) CPUs, $runs interleaved rounds, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $compressions; do
  layout=$work/layout-$c tar=$work/image-$c.tar
  echo
  echo "== $image image, $c layers: $(du -sh --apparent-size "$tar" | cut -f1)B archive"
  m_dir="" m_tar="" u="" umoci_ok=1
  for ((i = 0; i < runs; i++)); do
    m_dir+=$(timed "$minictr" --root "$runs_dir/$c-dir$i" load -q "$layout")$'\n'
    m_tar+=$(timed "$minictr" --root "$runs_dir/$c-tar$i" load -q "$tar")$'\n'
    if [[ $umoci_ok ]] && t=$(timed umoci unpack --image "$layout:latest" "$runs_dir/$c-umoci$i"); then
      u+=$t$'\n'
    elif [[ $umoci_ok ]]; then
      umoci_ok=""  # e.g. Debian's umoci 0.4.7 refuses zstd layers
      cp "$work/err.out" "$work/umoci.err"
    fi
  done
  m_dir=${m_dir%$'\n'} m_tar=${m_tar%$'\n'} u=${u%$'\n'}
  row() {  # label, samples
    printf '%-36s wall best %6.2f s median %6.2f s   CPU median %6.2f s   peak RSS %6d kB\n' "$1" \
      "$(col 1 <<<"$2" | best)" "$(col 1 <<<"$2" | median)" "$(col cpu <<<"$2" | median)" \
      "$(col 2 <<<"$2" | sort -n | tail -1)"
  }
  row "minictr load (OCI layout dir)" "$m_dir"
  row "minictr load (OCI archive tar)" "$m_tar"
  if [[ ! $umoci_ok ]]; then
    echo "umoci cannot unpack these layers: $(grep -m1 . "$work/umoci.err" | sed 's/^ *//')"
    continue
  fi
  row "umoci unpack (same layout dir)" "$u"
  echo "minictr vs umoci (layout dir): $(ratio "$(col 1 <<<"$u" | best)" "$(col 1 <<<"$m_dir" | best)")x wall (best)," \
    "$(ratio "$(col 1 <<<"$u" | median)" "$(col 1 <<<"$m_dir" | median)")x wall (median)," \
    "$(ratio "$(col cpu <<<"$u" | median)" "$(col cpu <<<"$m_dir" | median)")x CPU (median)"
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
