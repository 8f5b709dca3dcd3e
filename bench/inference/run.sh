#!/usr/bin/env bash
# Inference benchmark: prompt and generation tokens/s of minictr-infer's engine with 1 and 2
# threads, on the bundled model and on random-weight models of the stories15M and
# stories110M shapes (F32, F16, Q8_0), plus peak RSS, and the ratio to llama.cpp's
# generation speed on the same machine (590 / 120 / 190 tok/s for 15M F32 / 110M F32 /
# 110M Q8_0 with 2 threads).
# Each process also measures the memory read bandwidth (1 and 2 threads, a 512 MB buffer) and
# prints every row's roofline: bandwidth / bytes read per generated token, and how close the
# generation speed comes to it (--bandwidth-mb 0 skips it).
#
# usage: bench/inference/run.sh [build-dir] [extra minictr-infer-bench flags]
# Each model runs in its own process so the peak RSS column is that model's alone.
# The random models are written once to $WORKDIR (default /tmp/minictr-infer-bench) and
# removed at the end unless KEEP=1.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
shift || true
workdir=${WORKDIR:-/tmp/minictr-infer-bench}
cmake --build "$build" -j2 --target minictr-infer-bench >/dev/null
bench="$build/inference/minictr-infer-bench"
cleanup() { [[ ${KEEP:-0} == 1 ]] || rm -rf "$workdir"; }
trap cleanup EXIT

models=$src/inference/models
run() { "$bench" --workdir "$workdir" "$@"; }
run --bundled "$models/minictr-fortunes-f32.gguf" --models bundled "$@"
run --bundled "$models/minictr-fortunes-q8_0.gguf" --models bundled "$@" | tail -n +2 | grep -v '^simd'
for type in F32 F16 Q8_0; do
  run --bundled "$models/minictr-fortunes-f32.gguf" --models 15M --types "$type" "$@" | tail -n +2 | grep -v '^simd'
done
for type in F32 F16 Q8_0; do
  run --bundled "$models/minictr-fortunes-f32.gguf" --models 110M --types "$type" --prompt 32 --gen 32 "$@" | tail -n +2 | grep -v '^simd'
done
