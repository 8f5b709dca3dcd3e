#!/usr/bin/env bash
# Builds llama.cpp's llama-bench (CPU backend only), the peer that bench/inference/run.sh
# measures in the same run as minictr-infer-bench, and prints its path.
#
# Only Debian apt and npm are reachable from the build machines, so the llama.cpp source
# comes from the npm package node-llama-cpp 3.22.1 (MIT), which ships the whole llama.cpp tree
# as a git bundle (package/llama/gitRelease.bundle, ggml-org/llama.cpp commit de3ff815, tag
# v0.5.0 of its binaries, ggml 0.25.1). The tarball is checked against a fixed sha256 before
# anything in it is used.
#
# usage: bench/inference/llama-cpp.sh          prints the path of llama-bench
# env:   LLAMA_CPP_CACHE  cache directory (default /var/cache/minictr-bench)
#        LLAMA_CPP_JOBS   parallel compile jobs (default 2: the machine is shared)
# Idempotent: a finished build is reused (only the path is printed). Everything but the
# final path goes to stderr. A benchmark helper: never run by the build or the tests.
set -euo pipefail

version=3.22.1
sha256=a0d9dd80eacd2ab1cfe71aee57ac8a806487fd70b3d2a38fbec637752d9e5c5f
commit=de3ff815ea7d559ee917f063901b8986f038abc6
cache=${LLAMA_CPP_CACHE:-/var/cache/minictr-bench}
jobs=${LLAMA_CPP_JOBS:-2}
tarball=$cache/node-llama-cpp-$version.tgz
src=$cache/llama.cpp-${commit:0:8}
build=$src/build
bin=$build/bin/llama-bench

log() { echo "llama-cpp.sh: $*" >&2; }

if [[ -x $bin ]]; then
  echo "$bin"
  exit 0
fi
for tool in npm git cmake sha256sum tar; do
  command -v "$tool" >/dev/null || { log "$tool not found"; exit 1; }
done
mkdir -p "$cache"
tmp=
trap '[[ -z $tmp ]] || rm -rf "$tmp" "$src.tmp"' EXIT  # leftovers of a failed step

# 1. The npm tarball, verified.
if [[ ! -f $tarball ]]; then
  log "fetching node-llama-cpp@$version with npm pack"
  tmp=$(mktemp -d "$cache/npm.XXXXXX")
  (cd "$tmp" && npm pack --silent "node-llama-cpp@$version" >&2)
  mv "$tmp/node-llama-cpp-$version.tgz" "$tarball"
  rmdir "$tmp"
  tmp=
fi
if ! echo "$sha256  $tarball" | sha256sum --check --status; then
  log "$tarball: sha256 mismatch (want $sha256), removing it"
  rm -f "$tarball"
  exit 1
fi

# 2. The llama.cpp tree, cloned from the bundle inside the tarball, at the expected commit.
if [[ ! -d $src/.git ]]; then
  tmp=$(mktemp -d "$cache/unpack.XXXXXX")
  tar -xzf "$tarball" -C "$tmp" package/llama/gitRelease.bundle
  rm -rf "$src.tmp"
  git -c advice.detachedHead=false clone --quiet "$tmp/package/llama/gitRelease.bundle" "$src.tmp"
  head=$(git -C "$src.tmp" rev-parse HEAD)
  if [[ $head != "$commit" ]]; then
    log "bundle HEAD is $head, expected $commit"
    rm -rf "$src.tmp"
    exit 1
  fi
  mv "$src.tmp" "$src"
fi

# 3. Only llama-bench, CPU backend, Release with this CPU's instruction set (GGML_NATIVE),
# llama/ggml linked statically (only libgomp, libstdc++ and libc stay shared). OpenMP
# (llama.cpp's default thread pool on Linux when the compiler has it) is left at its default.
log "building llama-bench in $build (-j$jobs)"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF -DGGML_CCACHE=OFF >&2
cmake --build "$build" -j"$jobs" --target llama-bench >&2
[[ -x $bin ]] || { log "build finished but $bin is missing"; exit 1; }
echo "$bin"
