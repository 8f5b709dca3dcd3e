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
# shellcheck source=server_root.sh
source "$here/server_root.sh"
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
server_root "$root" "$infer"

"${PYTHON:-python3}" "$here/../mkimage.py" --layer "$stage/model" --layer "$root" \
  --config "$here/config.json" --tag inference:latest --out "$out" "$@"
