#!/usr/bin/env bash
# Lay out the build context of images/inference/Dockerfile.
#   context.sh CTX        then: minictr build --build-arg BUILD_IMAGE=... -t inference:latest CTX
#   CTX/Dockerfile
#   CTX/src/        what the build stage compiles: CMakeLists.txt (build-stage/),
#                   runtime/util/, inference/{CMakeLists.txt,model,server}/
#   CTX/models/     the model
#   CTX/rootfs/     /etc/passwd, /etc/group, /etc/nsswitch.conf, /tmp (1777),
#                   /app/data (the volume), /root (0700), mount points
# Copies, not links: minictr build reads the context's contents (its cache is
# keyed by them, mtimes do not count), so the same sources give the same image ID.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
ctx=${1:?usage: context.sh CTX}
model=${MODEL:-$top/inference/models/minictr-fortunes-f32.gguf}
[[ -f $model ]] || { echo "inference/context.sh: model $model missing" >&2; exit 1; }

umask 022
rm -rf "$ctx"
mkdir -p "$ctx/models" "$ctx/src/runtime" "$ctx/src/inference"
install -m 0644 "$here/Dockerfile" "$ctx/Dockerfile"
install -m 0644 "$model" "$ctx/models/minictr-fortunes-f32.gguf"

src=$ctx/src
install -m 0644 "$here/build-stage/CMakeLists.txt" "$src/CMakeLists.txt"
cp -r "$top/runtime/util" "$src/runtime/util"
install -m 0644 "$top/inference/CMakeLists.txt" "$src/inference/CMakeLists.txt"
cp -r "$top/inference/model" "$top/inference/server" "$src/inference/"
# Editor and build leftovers would change the cache key for nothing.
find "$src" -type f ! \( -name '*.cpp' -o -name '*.h' -o -name '*.cmake' -o -name CMakeLists.txt \
  -o -name '*.html' -o -name '*.css' -o -name '*.js' \) -delete

root=$ctx/rootfs
mkdir -p "$root"/{app/data,etc,tmp,proc,sys,dev,run,root}
install -m 0644 "$here/passwd" "$root/etc/passwd"
install -m 0644 "$here/group" "$root/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
