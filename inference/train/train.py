#!/usr/bin/python3
"""Train the bundled minictr story model on Debian's fortune cookie files.

Steps: (1) read /usr/share/games/fortunes/* (Debian packages `fortunes` + `fortunes-min`),
(2) train a SentencePiece BPE vocab with llama's conventions (byte fallback, <unk>=0 <s>=1 </s>=2),
(3) train the small llama in model.py for a fixed wall-clock budget on one CPU thread,
(4) save out/ckpt.pt and out/tokenizer.model for export_gguf.py.

Usage: /usr/bin/python3 train.py --out OUTDIR [--minutes 22]
"""
import argparse
import math
import os
import random
import re
import time

import sentencepiece as spm
import torch

from model import Config, Llama

FORTUNE_DIR = "/usr/share/games/fortunes"
SKIP = {"art", "ascii-art", "translate-me"}  # pictures, not prose


def read_fortunes():
    docs = []
    for name in sorted(os.listdir(FORTUNE_DIR)):
        path = os.path.join(FORTUNE_DIR, name)
        if "." in name or name in SKIP or not os.path.isfile(path):
            continue
        text = open(path, encoding="utf-8", errors="replace").read()
        text = re.sub(r".\x08", "", text)  # overstriking (x BS x) used for bold/underline
        for doc in text.split("\n%\n"):
            lines = [re.sub(r"[ \t]+", " ", l).strip() for l in doc.split("\n")]
            doc = "\n".join(l for l in lines if l)
            if doc and doc.isascii() and len(doc) < 1200:
                docs.append(doc)
    return docs


def train_tokenizer(docs, out, vocab):
    corpus = os.path.join(out, "corpus.txt")
    with open(corpus, "w") as f:
        for d in docs:
            f.write(d.replace("\n", " ") + "\n")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=os.path.join(out, "tokenizer"), vocab_size=vocab,
        model_type="bpe", byte_fallback=True, character_coverage=1.0,
        normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, split_digits=True, unk_id=0, bos_id=1, eos_id=2,
        pad_id=-1, num_threads=1, minloglevel=2)
    return spm.SentencePieceProcessor(model_file=os.path.join(out, "tokenizer.model"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=22.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1337)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(1)  # the build machine has 2 shared cores
    torch.manual_seed(args.seed)
    random.seed(args.seed)

    docs = read_fortunes()
    cfg = Config()
    sp = train_tokenizer(docs, args.out, cfg.vocab_size)
    ids = []
    for d in docs:
        ids += [sp.bos_id()] + sp.encode(d) + [sp.eos_id()]
    data = torch.tensor(ids, dtype=torch.long)
    n_val = len(data) // 50
    train, val = data[:-n_val], data[-n_val:]
    print(f"docs={len(docs)} tokens={len(data)} train={len(train)} val={len(val)}", flush=True)

    model = Llama(cfg)
    print(f"params={sum(p.numel() for p in model.parameters())/1e6:.2f}M", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)

    def batch(src):
        ix = torch.randint(len(src) - args.seq - 1, (args.batch,))
        x = torch.stack([src[i:i + args.seq] for i in ix])
        y = torch.stack([src[i + 1:i + args.seq + 1] for i in ix])
        return x, y

    @torch.no_grad()
    def val_loss():
        model.eval()
        g = torch.Generator().manual_seed(0)
        losses = []
        for _ in range(8):
            ix = torch.randint(len(val) - args.seq - 1, (16,), generator=g)
            x = torch.stack([val[i:i + args.seq] for i in ix])
            y = torch.stack([val[i + 1:i + args.seq + 1] for i in ix])
            losses.append(torch.nn.functional.cross_entropy(
                model(x).view(-1, cfg.vocab_size), y.view(-1)).item())
        model.train()
        return sum(losses) / len(losses)

    budget = args.minutes * 60
    start = time.time()
    step = 0
    while True:
        frac = (time.time() - start) / budget
        if frac >= 1.0:
            break
        # warmup then cosine decay over the wall-clock budget
        lr = args.lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch(train)
        loss = torch.nn.functional.cross_entropy(model(x).view(-1, cfg.vocab_size), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0:
            el = time.time() - start
            print(f"step {step} t={el:.0f}s lr={lr:.2e} loss={loss.item():.3f}"
                  + (f" val={val_loss():.3f}" if step % 500 == 0 else ""), flush=True)
        step += 1
    print(f"done: steps={step} tokens_seen={step*args.batch*args.seq} val={val_loss():.3f}", flush=True)
    torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "steps": step,
                "tokens_seen": step * args.batch * args.seq}, os.path.join(args.out, "ckpt.pt"))


if __name__ == "__main__":
    main()
