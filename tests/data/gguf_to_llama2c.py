#!/usr/bin/python3
"""Write an F32 GGUF of ours as a llama2.c checkpoint (the input of llama.cpp's
llama-convert-llama2c-to-ggml), used by make-llamacpp-headers.sh.

llama2.c's legacy format: seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
vocab_size, seq_len; a negative vocab_size says the output matrix follows and is not the
embedding), then the float32 tensors grouped by kind across layers. A GGUF tensor of dims
[in, out] holds the same bytes as llama2.c's [out][in] rows, and our attn_q / attn_k rows are
already in the adjacent-pair RoPE order llama2.c and llama.cpp use, so every tensor is copied
as it is. Reads the GGUF with llama.cpp's own gguf-py (PYTHONPATH=<llama.cpp>/gguf-py).

Usage: gguf_to_llama2c.py MODEL_F32.gguf OUT.bin
"""
import struct
import sys

import numpy as np
from gguf import GGUFReader


def main():
    src, dst = sys.argv[1], sys.argv[2]
    r = GGUFReader(src)

    def kv(key):
        f = r.fields[key]
        return f.parts[f.data[0]][0]

    t = {x.name: x for x in r.tensors}
    dim, hidden = int(kv("llama.embedding_length")), int(kv("llama.feed_forward_length"))
    layers, heads, kv_heads = int(kv("llama.block_count")), int(kv("llama.attention.head_count")), \
        int(kv("llama.attention.head_count_kv"))
    vocab, seq = t["token_embd.weight"].shape[1], int(kv("llama.context_length"))
    with open(dst, "wb") as out:
        out.write(struct.pack("<7i", dim, hidden, layers, heads, kv_heads, -int(vocab), seq))

        def put(name):
            assert t[name].tensor_type == 0, f"{name}: only F32 can be written"
            out.write(np.ascontiguousarray(t[name].data, dtype="<f4").tobytes())

        put("token_embd.weight")
        for kind in ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                     "ffn_gate", "ffn_down", "ffn_up"]:
            for layer in range(layers):
                put(f"blk.{layer}.{kind}.weight")
        put("output_norm.weight")
        # freq_cis_real and freq_cis_imag: the converter skips them, so zeros of the right size.
        out.write(bytes(4 * seq * (dim // heads)))
        put("output.weight")


if __name__ == "__main__":
    main()
