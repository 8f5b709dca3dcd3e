#!/usr/bin/env bash
# Build the inference image from images/inference/Dockerfile with `minictr build`
# and save it (the CMake target inference-image, MINICTR_INFERENCE_IMAGE=dockerfile).
#   dockerfile.sh OUT.tar MINICTR ROOT
# ROOT is a state root of its own (under the build dir): it keeps the build
# image and minictr build's layer cache between builds, so the server is only
# compiled again when its sources (or the build image) change. Needs root
# (minictr build: namespaces, overlay mounts) and, the first time on a
# machine, Debian's mirrors (images/debian-build/make.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: dockerfile.sh OUT.tar MINICTR ROOT}
minictr=${2:?usage: dockerfile.sh OUT.tar MINICTR ROOT}
root=${3:?usage: dockerfile.sh OUT.tar MINICTR ROOT}
[[ $(id -u) -eq 0 ]] || {
  echo "inference/dockerfile.sh: minictr build needs root (or configure with -DMINICTR_INFERENCE_IMAGE=packed)" >&2
  exit 1
}

archive=$("$here/../debian-build/make.sh" "$minictr")
build_image=minictr-debian-build:$(basename "$archive" .tar)
mctr() { MINICTR_ROOT=$root MINICTR_RUN_DIR=$root/run "$minictr" "$@"; }

# The build image, loaded once per recipe. An older recipe's goes, and the
# cached steps made on it with it (rmi removes every layer no image names).
if [[ -z $(mctr images -q "$build_image") ]]; then
  for old in $(mctr images --format '{{.Repository}}:{{.Tag}}' | grep '^minictr-debian-build:' || true); do
    mctr rmi "$old" >/dev/null
  done
  mctr load -q "$archive" >/dev/null
fi

ctx=$(mktemp -d "$(dirname "$out")/.inference-context.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
bash "$here/context.sh" "$ctx"
mctr build --build-arg BUILD_IMAGE="$build_image" -t inference:latest "$ctx"
mctr save -o "$out.tmp" inference:latest
mv "$out.tmp" "$out"
# No prune here: removing an image sweeps every layer no image names, the
# cache's too. An earlier inference:latest stays behind, untagged (its server
# layer, a few MB); `rm -rf ROOT` starts afresh.
