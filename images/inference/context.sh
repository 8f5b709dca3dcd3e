#!/usr/bin/env bash
# Lay out the build context of images/inference/Dockerfile.
#   context.sh CTX MINICTR_INFER        then: minictr build -t inference:latest CTX
# CTX/Dockerfile, CTX/models/<the model>, CTX/rootfs/ (the server, every shared
# library ldd lists and the loader, /etc/passwd, /etc/group, /etc/nsswitch.conf,
# /tmp 1777, /app/data). The same inputs give the same files, and minictr build
# fixes mtimes and owners in the layers: the same image ID every time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ctx=$1
infer=$2
model=${MODEL:-$here/../../inference/models/minictr-fortunes-f32.gguf}
[[ -x $infer ]] || { echo "inference/context.sh: server binary $infer missing (build target minictr-infer)" >&2; exit 1; }
[[ -f $model ]] || { echo "inference/context.sh: model $model missing" >&2; exit 1; }

umask 022
rm -rf "$ctx"
mkdir -p "$ctx/models"
install -m 0644 "$here/Dockerfile" "$ctx/Dockerfile"
install -m 0644 "$model" "$ctx/models/minictr-fortunes-f32.gguf"

root=$ctx/rootfs
mkdir -p "$root"/{app/data,etc,tmp,proc,sys,dev,run,root,usr/bin,usr/lib/x86_64-linux-gnu,usr/lib64}
# Debian 12 is merged-/usr: /lib and /lib64 are symlinks into /usr, as on the host,
# so the paths ldd prints (/lib/x86_64-linux-gnu/..., /lib64/ld-linux-...) resolve.
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
ln -s usr/bin "$root/bin"
# --strip-debug is deterministic: the same binary gives the same stripped bytes.
objcopy --strip-debug "$infer" "$root/app/minictr-infer"
chmod 0755 "$root/app/minictr-infer"
# Every library ldd resolves ("name => /path (addr)") and the loader ("/path (addr)"),
# copied (cp -L: the file a soname symlink names) below the real merged-/usr directory.
libs=$(ldd "$infer" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
[[ -n $libs ]] || { echo "inference/context.sh: ldd listed no libraries for $infer" >&2; exit 1; }
for lib in $libs; do
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
