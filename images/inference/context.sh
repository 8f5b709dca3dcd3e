#!/usr/bin/env bash
# Lay out the build context of images/inference/Dockerfile.
#   context.sh CTX MINICTR_INFER        then: minictr build -t inference:latest CTX
# CTX/Dockerfile, CTX/models/<the model>, CTX/rootfs/ (the server, every shared
# library ldd lists and the loader, /etc/passwd, /etc/group, /etc/nsswitch.conf,
# /tmp 1777, /app/data). The same inputs give the same files, and minictr build
# fixes mtimes and owners in the layers: the same image ID every time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=server_root.sh
source "$here/server_root.sh"
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
server_root "$root" "$infer"
