#!/usr/bin/env python3
"""Write N layer directories of deterministic "random-ish" files for the image benchmark.

  make_rootfs.py OUTDIR [--mb 200]

Half of the bytes are random (incompressible), half are repeated text
(compressible), in files from 1 KB to 64 MB, spread over 5 layers; the last
layer deletes a file of the first one (a whiteout).
"""
import argparse
import os
import random

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--mb", type=int, default=200)
args = p.parse_args()
rng = random.Random(42)
scale = args.mb / 200.0
TEXT = b"minictr image benchmark: the quick brown fox jumps over the lazy dog 0123456789\n" * 1024


def content(size):
    if rng.random() < 0.5:
        return rng.randbytes(size)
    reps = size // len(TEXT) + 1
    return (TEXT * reps)[:size]


def write(path, size):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 << 20)
            f.write(content(n))
            left -= n


# (layer, number of files, size per file)
plan = [
    (0, int(3000 * scale), 4 << 10),    # many small files: ~12 MB
    (1, int(400 * scale), 128 << 10),   # medium: ~50 MB
    (2, 2, int(32 << 20) if scale >= 1 else int((32 << 20) * scale)),  # two large: ~64 MB
    (3, int(40 * scale), 1 << 20),      # ~40 MB
    (4, int(2000 * scale), 16 << 10),   # ~32 MB, plus a whiteout
]
for layer, count, size in plan:
    root = os.path.join(args.out, f"layer{layer}")
    for i in range(count):
        write(os.path.join(root, f"d{i % 37}", f"f{layer}_{i}.bin"), size)
os.makedirs(os.path.join(args.out, "layer4", "d0"), exist_ok=True)
open(os.path.join(args.out, "layer4", "d0", ".wh.f0_0.bin"), "wb").close()
