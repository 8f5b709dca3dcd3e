#!/usr/bin/python3
"""Validation loss of a bundled-format F32 GGUF on the held-out texts of train.py's split.

Rebuilds the split train.py makes from scratch with the same seed (the 10 held-out novel
chapters, 2% of the de-duplicated fortunes, the chats made from both) and prints the mean loss
per token and per character on each. Per character is what compares models with different
tokenizers. Used for the "before and after" figures in README.md.

Usage: evaluate.py MODEL_F32.gguf TOKENIZER.model [--seed 1337 --seq 256 --story-chunk-chars 1200]
"""
import argparse

import sentencepiece as spm
import torch

import train


@torch.no_grad()
def loss_per_char(model, cfg, ids, chars, seq):
    """Mean loss over fixed windows of `seq` tokens, per token and per character of the text."""
    n = (len(ids) - 1) // seq
    x, y = ids[:n * seq].view(n, seq), ids[1:n * seq + 1].view(n, seq)
    total = 0.0
    for i in range(0, n, 32):
        total += torch.nn.functional.cross_entropy(
            model(x[i:i + 32]).view(-1, cfg.vocab_size), y[i:i + 32].reshape(-1), reduction="sum").item()
    ntok = n * seq
    return total / ntok, total / (chars * ntok / len(ids))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("gguf")
    ap.add_argument("tokenizer")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--story-chunk-chars", type=int, default=1200)
    args = ap.parse_args()
    torch.set_num_threads(2)
    cfg, model = train.load_gguf_f32(args.gguf)
    model.eval()
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    t = train.split_texts(args.seed, True, args.story_chunk_chars, True)
    val = {"novels": t["val_chapters"], "fortunes": t["val_fortunes"], "chat": t["val_chats"]}
    for name, docs in val.items():
        ids = train.encode(sp, docs)
        per_tok, per_char = loss_per_char(model, cfg, ids, sum(len(d) for d in docs), min(args.seq, cfg.max_seq_len))
        print(f"{name}: {len(docs)} texts, {len(ids)} tokens, loss {per_tok:.3f} per token, "
              f"{per_char:.3f} nats per character")


if __name__ == "__main__":
    main()
