#!/bin/bash
# Remake the two llama.cpp-written GGUF headers in tests/data from the bundled models, after the
# bundled model was retrained with another vocabulary or shape (the headers carry both).
#
# Needs the llama.cpp tree of tests/data/README.md (commit de3ff815; bench/inference unpacks it
# into /var/cache/minictr-bench) and builds its converter, quantizer and llama-simple in a build
# directory of their own beside it. Prints each header's size and sha256, the sizes and sha256
# of the whole files, and llama-simple's greedy text for the prompts test_llamacpp_files uses.
#
# Usage: tests/data/make-llamacpp-headers.sh [LLAMA_CPP_TREE]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
models=$here/../../inference/models
llama=${1:-/var/cache/minictr-bench/llama.cpp-de3ff815}
build=$llama/build-tools
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake -S "$llama" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
  -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" \
  --target llama-convert-llama2c-to-ggml llama-quantize llama-simple >/dev/null

# The data of a GGUF starts at the first aligned offset after the tensor table.
data_offset() {
  PYTHONPATH=$llama/gguf-py /usr/bin/python3 -c \
    'import sys; from gguf import GGUFReader; print(GGUFReader(sys.argv[1]).data_offset)' "$1"
}
keep_header() {  # FILE NAME
  local off
  off=$(data_offset "$1")
  head -c "$off" "$1" >"$here/$2"
  echo "$2: header $off bytes, sha256 $(sha256sum <"$here/$2" | cut -d' ' -f1);" \
    "whole file $(stat -c %s "$1") bytes, sha256 $(sha256sum <"$1" | cut -d' ' -f1)"
}

# 1. llama2.c checkpoint -> llama-convert-llama2c-to-ggml (the vocabulary copied from our GGUF).
PYTHONPATH=$llama/gguf-py /usr/bin/python3 "$here/gguf_to_llama2c.py" \
  "$models/minictr-fortunes-f32.gguf" "$work/stories.bin"
"$build/bin/llama-convert-llama2c-to-ggml" --copy-vocab-from-model "$models/minictr-fortunes-f32.gguf" \
  --llama2c-model "$work/stories.bin" --llama2c-output-model "$work/converted.gguf" >"$work/convert.log" 2>&1 ||
  { cat "$work/convert.log"; exit 1; }
keep_header "$work/converted.gguf" fortunes-f32.llama2c-converted.gguf-header

# 2. llama-quantize to Q8_0.
"$build/bin/llama-quantize" "$models/minictr-fortunes-f32.gguf" "$work/q8_0.gguf" Q8_0 >"$work/quantize.log" 2>&1 ||
  { cat "$work/quantize.log"; exit 1; }
keep_header "$work/q8_0.gguf" fortunes-q8_0.llama-quantize.gguf-header
# llama-quantize orders the tensors its own way: compare them by name.
PYTHONPATH=$llama/gguf-py /usr/bin/python3 - "$work/q8_0.gguf" "$models/minictr-fortunes-q8_0.gguf" <<'PY'
import sys
from gguf import GGUFReader
theirs, ours = ({t.name: bytes(t.data) for t in GGUFReader(f).tensors} for f in sys.argv[1:])
assert theirs.keys() == ours.keys() and all(theirs[k] == ours[k] for k in ours), "Q8_0 tensors differ"
print(f"llama-quantize's Q8_0 tensors are byte for byte ours ({len(ours)} tensors)")
PY

# 3. llama.cpp's greedy text (llama-simple samples greedily) for the tests' prompts.
# llama-simple prints the prompt's pieces (with "<s>"), the continuation, then a newline: keep
# the continuation, as a C++ string literal for test_llamacpp_files.
greedy_text() {  # FILE N PROMPT
  "$build/bin/llama-simple" -m "$work/$1" -n "$2" "$3" 2>/dev/null |
    /usr/bin/python3 -c 'import json, sys
out, prompt = sys.stdin.read(), sys.argv[1]
assert out.startswith("<s> " + prompt) and out.endswith("\n"), repr(out)
print(sys.argv[2], json.dumps(out[len("<s> " + prompt):-1]))' "$3" "llama-simple $1 -n $2 '$3':"
}
greedy_text converted.gguf 100 "A programmer"
greedy_text q8_0.gguf 40 "Q: Why"
