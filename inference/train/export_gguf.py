#!/usr/bin/python3
"""Export the trained checkpoint to GGUF v3 (llama.cpp conventions) and write reference logits.

GGUF layout written here: magic, version 3, counts, metadata (general.*, llama.*,
tokenizer.ggml.*), tensor infos, then tensor data aligned to 32 bytes. Tensor names follow
llama.cpp (token_embd.weight, blk.N.attn_q.weight, ..., output_norm.weight, output.weight).
Like llama.cpp's convert_hf_to_gguf.py, the rows of Wq and Wk are permuted: the PyTorch model
rotates halves of each head (rotate_half), llama.cpp rotates adjacent pairs.

Usage: /usr/bin/python3 export_gguf.py --ckpt OUT/ckpt.pt --tokenizer OUT/tokenizer.model \
          --out ../models/minictr-fortunes-f32.gguf [--type f32|f16|q8_0] [--reference ../models/reference_logits.json]
"""
import argparse
import json
import struct

import numpy as np
import sentencepiece as spm
import torch

from model import Config, Llama

GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8
T_U32, T_F32, T_BOOL, T_STRING, T_ARRAY, T_I32 = 4, 6, 7, 8, 9, 5


class GGUFWriter:
    def __init__(self):
        self.kv = []
        self.tensors = []

    @staticmethod
    def _str(s):
        b = s.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    def u32(self, k, v): self.kv.append(self._str(k) + struct.pack("<II", T_U32, v))
    def f32(self, k, v): self.kv.append(self._str(k) + struct.pack("<If", T_F32, v))
    def bool(self, k, v): self.kv.append(self._str(k) + struct.pack("<IB", T_BOOL, 1 if v else 0))
    def string(self, k, v): self.kv.append(self._str(k) + struct.pack("<I", T_STRING) + self._str(v))

    def array(self, k, etype, values):
        body = struct.pack("<IIQ", T_ARRAY, etype, len(values))
        if etype == T_STRING:
            body += b"".join(self._str(v) for v in values)
        elif etype == T_F32:
            body += np.asarray(values, dtype="<f4").tobytes()
        elif etype == T_I32:
            body += np.asarray(values, dtype="<i4").tobytes()
        self.kv.append(self._str(k) + body)

    def tensor(self, name, arr, ggml_type):
        """arr: numpy float32 of shape [rows, cols] (or [n]); GGUF dims are reversed."""
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if ggml_type == GGML_F32:
            data = arr.astype("<f4").tobytes()
        elif ggml_type == GGML_F16:
            data = arr.astype("<f2").tobytes()
        else:
            data = quantize_q8_0(arr)
        self.tensors.append((name, list(reversed(arr.shape)), ggml_type, data))

    def write(self, path, align=32):
        out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv)))
        for kv in self.kv:
            out += kv
        offset = 0
        for name, dims, t, data in self.tensors:
            out += self._str(name) + struct.pack("<I", len(dims))
            out += b"".join(struct.pack("<Q", d) for d in dims)
            out += struct.pack("<IQ", t, offset)
            offset += (len(data) + align - 1) // align * align
        for _, _, _, data in self.tensors:
            out += b"\0" * (-len(out) % align)
            out += data
        with open(path, "wb") as f:
            f.write(out)


def quantize_q8_0(arr):
    """ggml's quantize_row_q8_0_ref: per 32 values, d = max|x|/127 (stored fp16), q = roundf(x/d)."""
    x = arr.reshape(-1, 32).astype(np.float32)
    amax = np.abs(x).max(axis=1, keepdims=True)
    d = amax / 127.0
    inv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0).astype(np.float32)
    v = x * inv
    q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)  # round half away from zero
    blocks = np.zeros(x.shape[0], dtype=[("d", "<f2"), ("qs", "i1", 32)])
    blocks["d"] = d[:, 0].astype(np.float16)
    blocks["qs"] = q
    return blocks.tobytes()


def permute_qk(w, n_head):
    """convert_hf_to_gguf.py's permute: rotate_half layout -> adjacent-pair layout, per head."""
    rows, cols = w.shape
    return w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def export(model, cfg, sp, path, ggml_type):
    g = GGUFWriter()
    g.string("general.architecture", "llama")
    g.string("general.name", "minictr-stories")
    g.string("general.license", "BSD-3-Clause")
    g.string("general.source.description", "trained by minictr inference/train on Debian's fortunes and Jane Austen's novels (r-cran-janeaustenr)")
    g.u32("general.file_type", {GGML_F32: 0, GGML_F16: 1, GGML_Q8_0: 7}[ggml_type])
    g.u32("general.alignment", 32)
    g.u32("llama.context_length", cfg.max_seq_len)
    g.u32("llama.embedding_length", cfg.dim)
    g.u32("llama.block_count", cfg.n_layers)
    g.u32("llama.feed_forward_length", cfg.hidden_dim)
    g.u32("llama.rope.dimension_count", cfg.dim // cfg.n_heads)
    g.u32("llama.attention.head_count", cfg.n_heads)
    g.u32("llama.attention.head_count_kv", cfg.n_kv_heads)
    g.f32("llama.attention.layer_norm_rms_epsilon", cfg.norm_eps)
    g.f32("llama.rope.freq_base", cfg.rope_theta)
    g.u32("llama.vocab_size", cfg.vocab_size)

    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(2)
        elif sp.is_control(i):
            types.append(3)
        elif sp.is_byte(i):
            types.append(6)
        elif sp.is_unused(i):
            types.append(5)
        else:
            types.append(1)
    g.string("tokenizer.ggml.model", "llama")
    g.array("tokenizer.ggml.tokens", T_STRING, tokens)
    g.array("tokenizer.ggml.scores", T_F32, scores)
    g.array("tokenizer.ggml.token_type", T_I32, types)
    g.u32("tokenizer.ggml.bos_token_id", sp.bos_id())
    g.u32("tokenizer.ggml.eos_token_id", sp.eos_id())
    g.u32("tokenizer.ggml.unknown_token_id", sp.unk_id())
    g.bool("tokenizer.ggml.add_bos_token", True)
    g.bool("tokenizer.ggml.add_eos_token", False)

    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    # llama.cpp keeps the 1-D norm weights in F32 whatever the file type.
    g.tensor("token_embd.weight", sd["embed_tokens.weight"], ggml_type)
    for l in range(cfg.n_layers):
        p = f"layers.{l}."
        b = f"blk.{l}."
        g.tensor(b + "attn_norm.weight", sd[p + "input_layernorm.weight"], GGML_F32)
        g.tensor(b + "attn_q.weight", permute_qk(sd[p + "self_attn.q_proj.weight"], cfg.n_heads), ggml_type)
        g.tensor(b + "attn_k.weight", permute_qk(sd[p + "self_attn.k_proj.weight"], cfg.n_kv_heads), ggml_type)
        g.tensor(b + "attn_v.weight", sd[p + "self_attn.v_proj.weight"], ggml_type)
        g.tensor(b + "attn_output.weight", sd[p + "self_attn.o_proj.weight"], ggml_type)
        g.tensor(b + "ffn_norm.weight", sd[p + "post_attention_layernorm.weight"], GGML_F32)
        g.tensor(b + "ffn_gate.weight", sd[p + "mlp.gate_proj.weight"], ggml_type)
        g.tensor(b + "ffn_up.weight", sd[p + "mlp.up_proj.weight"], ggml_type)
        g.tensor(b + "ffn_down.weight", sd[p + "mlp.down_proj.weight"], ggml_type)
    g.tensor("output_norm.weight", sd["norm.weight"], GGML_F32)
    g.tensor("output.weight", sd["lm_head.weight"], ggml_type)
    g.write(path)


REFERENCE_PROMPTS = [
    "Once upon a time",
    "The best way to",
    "A programmer is",
    "Q: Why did the chicken cross the road?\nA:",
]
TOKENIZER_SAMPLES = [
    "Hello world", "  two  spaces", "It's 42 o'clock.\nNew line\ttab", "caf\u00e9 \u20ac5", "",
    "supercalifragilistic", "The quick brown fox jumps over the lazy dog.",
]


@torch.no_grad()
def reference(model, sp, path, n_greedy=24):
    ref = {"prompts": [], "tokenizer": []}
    for text in REFERENCE_PROMPTS:
        ids = [sp.bos_id()] + sp.encode(text)
        logits = model(torch.tensor([ids]))[0]
        positions = sorted({0, len(ids) // 2, len(ids) - 1})
        greedy = list(ids)
        for _ in range(n_greedy):  # greedy continuation, no penalties
            nxt = int(model(torch.tensor([greedy]))[0, -1].argmax())
            if nxt == sp.eos_id():
                break
            greedy.append(nxt)
        ref["prompts"].append({
            "text": text, "tokens": ids,
            "logits": {str(p): [round(float(v), 6) for v in logits[p]] for p in positions},
            "greedy": greedy[len(ids):],
            "greedy_text": sp.decode(greedy[len(ids):]),
        })
    for text in TOKENIZER_SAMPLES:
        ref["tokenizer"].append({"text": text, "tokens": sp.encode(text)})
    with open(path, "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--type", default="f32", choices=["f32", "f16", "q8_0"])
    ap.add_argument("--reference")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(args.ckpt, map_location="cpu")
    cfg = Config(**ck["config"])
    model = Llama(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    export(model, cfg, sp, args.out, {"f32": GGML_F32, "f16": GGML_F16, "q8_0": GGML_Q8_0}[args.type])
    print(f"wrote {args.out}")
    if args.reference:
        reference(model, sp, args.reference)
        print(f"wrote {args.reference}")


if __name__ == "__main__":
    main()
