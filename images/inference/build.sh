#!/usr/bin/env bash
# Build the inference server image (inference:latest) without Docker.
#   build.sh OUT.tar MINICTR_INFER [mkimage.py options]
# Two layers, lowest first:
#   1. the model:  /app/models/minictr-fortunes-f32.gguf (changes rarely, so it is
#      its own layer and stays shared in the store when only the binary changes)
#   2. the server: /app/minictr-infer (debug info stripped), every shared library
#      `ldd` lists, copied to the same path, plus the dynamic loader; /etc/passwd,
#      /etc/group, /etc/nsswitch.conf, /tmp (1777), /app/data (the volume).
# No shell, no package manager: only what the server needs to run.
# Same inputs -> same bytes -> same digest (mkimage.py fixes mtimes, owners, order).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
infer=$2
shift 2
model=${MODEL:-$here/../../inference/models/minictr-fortunes-f32.gguf}
[[ -x $infer ]] || { echo "inference/build.sh: server binary $infer missing (build target minictr-infer)" >&2; exit 1; }
[[ -f $model ]] || { echo "inference/build.sh: model $model missing" >&2; exit 1; }

stage=$(mktemp -d "$(dirname "$out")/.inference-rootfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
umask 022

# Layer 1: the model.
models=$stage/model/app/models
mkdir -p "$models"
install -m 0644 "$model" "$models/minictr-fortunes-f32.gguf"

# Layer 2: the server and its shared libraries.
root=$stage/server
mkdir -p "$root"/{app/data,etc,tmp,proc,sys,dev,run,root,usr/bin,usr/lib/x86_64-linux-gnu,usr/lib64}
# Debian 12 is merged-/usr: /lib and /lib64 are symlinks into /usr, as on the host,
# so the paths ldd prints (/lib/x86_64-linux-gnu/..., /lib64/ld-linux-...) resolve.
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
ln -s usr/bin "$root/bin"
# --strip-debug is deterministic: the same binary gives the same stripped bytes.
objcopy --strip-debug "$infer" "$root/app/minictr-infer"
chmod 0755 "$root/app/minictr-infer"

# Every library ldd resolves ("name => /path (addr)") and the loader ("/path (addr)").
# cp -L copies the file a soname symlink points to, under the soname's path.
libs=$(ldd "$infer" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
[[ -n $libs ]] || { echo "inference/build.sh: ldd listed no libraries for $infer" >&2; exit 1; }
for lib in $libs; do
  # Copy below the real (merged-/usr) directory, keeping the name ldd printed.
  dir=$(realpath "$(dirname "$lib")")
  mkdir -p "$root$dir"
  cp -L "$lib" "$root$dir/$(basename "$lib")"
  chmod 0755 "$root$dir/$(basename "$lib")"
done

install -m 0644 "$here/passwd" "$root/etc/passwd"
install -m 0644 "$here/group" "$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

"${PYTHON:-python3}" "$here/../mkimage.py" --layer "$stage/model" --layer "$root" \
  --config "$here/config.json" --tag inference:latest --out "$out" "$@"
