#!/usr/bin/python3
"""Train the bundled minictr story model on text Debian ships: Jane Austen's novels and the fortunes.

Steps: (1) read /usr/share/games/fortunes/* (Debian packages `fortunes` + `fortunes-min`) and
Jane Austen's six novels (Debian package `r-cran-janeaustenr`, read through Rscript), one text per
fortune and one per novel chapter,
(2) train a SentencePiece BPE vocab with llama's conventions (byte fallback, <unk>=0 <s>=1 </s>=2),
or reuse the one of --init-gguf,
(3) make chat-shaped texts from the training texts of both ("User: Tell me a story.\nAssistant:
<paragraph>\nUser: Go on.\nAssistant: <next paragraph>"), in the template of the server's
/v1/chat/completions,
(4) train the small llama in model.py for a fixed number of steps, each batch row drawn from
the novels, the chats or the fortunes with the weights given,
(5) save out/ckpt.pt and out/tokenizer.model for export_gguf.py.

The run is reproducible: the seed fixes the held-out texts, the chats, the batches and the
initial weights, the learning-rate schedule follows the step count (not the clock), torch runs
with deterministic algorithms on a fixed number of threads, and the log starts with the
versions of the Debian packages the corpus and the tools come from and the sha256 of the
corpus, and prints the sha256 of the weights at every evaluation.

Usage: /usr/bin/python3 train.py --out OUTDIR --steps N
"""
import argparse
import hashlib
import math
import os
import random
import re
import subprocess
import time

# Idle OpenMP/OpenBLAS threads must sleep, not spin: on 2 cores shared with other (un-niced)
# work, spinning threads burn the few time slices a nice-19 job gets. Measured here under load 8:
# 2 threads spinning 332 tokens/s, 1 thread 1,043, 2 threads passive 1,419.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sentencepiece as spm
import torch

from model import Config, Llama

FORTUNE_DIR = "/usr/share/games/fortunes"
PACKAGES = ["fortunes", "fortunes-min", "r-cran-janeaustenr", "r-base-core", "python3-torch",
            "python3-sentencepiece", "python3-numpy", "libopenblas0-pthread"]
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


AUSTEN_BOOKS = ["sensesensibility", "prideprejudice", "mansfieldpark", "emma", "northangerabbey", "persuasion"]
HEADING = re.compile(r"^(CHAPTER|Chapter|VOLUME|Volume) [IVXLC0-9]+\.?$")


def read_austen():
    """One text per chapter of Jane Austen's six novels, paragraphs reflowed to one line each.

    The R package janeaustenr keeps each novel as a character vector of its Project Gutenberg
    lines; Rscript prints them with a form feed between books. Title, author and chapter /
    volume headings are dropped, `_italics_` markers removed, non-ASCII paragraphs (one `£`)
    skipped."""
    script = ("library(janeaustenr); for (b in c(%s)) { writeLines(get(b)); cat('\\f\\n') }"
              % ", ".join(repr(b) for b in AUSTEN_BOOKS))
    out = subprocess.run(["Rscript", "-e", script], check=True, capture_output=True, text=True).stdout
    docs = []
    for book in out.split("\f\n")[:len(AUSTEN_BOOKS)]:
        lines = book.split("\n")
        starts = [i for i, l in enumerate(lines) if HEADING.match(l.strip()) and l.strip().split()[0].lower() == "chapter"]
        for a, b in zip(starts, starts[1:] + [len(lines)]):
            paras, cur = [], []
            for l in lines[a + 1:b] + [""]:
                l = l.strip()
                if l and not HEADING.match(l):
                    cur.append(l)
                elif cur:
                    p = re.sub(r"\s+", " ", " ".join(cur)).replace("_", "")
                    if p.isascii():
                        paras.append(p)
                    cur = []
            if paras:
                docs.append("\n".join(paras))
    return docs


def chunk(chapters, max_chars):
    """Training chapters cut into texts of whole paragraphs up to max_chars (0: whole chapters).

    The server starts every prompt with <s>. With whole chapters, <s> is followed by a novel only
    259 times against 14,000 fortunes, and the model answers any prompt with a fortune."""
    if max_chars <= 0:
        return chapters
    out = []
    for c in chapters:
        cur = ""
        for p in c.split("\n"):
            if cur and len(cur) + 1 + len(p) > max_chars:
                out.append(cur)
                cur = ""
            cur = cur + "\n" + p if cur else p
        if cur:
            out.append(cur)
    return out


# The people of the six novels, to ask for a story about someone who is in the passage.
AUSTEN_NAMES = ["Elinor", "Marianne", "Edward", "Willoughby", "Brandon", "Elizabeth", "Darcy", "Jane",
                "Bingley", "Wickham", "Lydia", "Collins", "Fanny", "Edmund", "Crawford", "Bertram",
                "Emma", "Knightley", "Harriet", "Weston", "Elton", "Churchill", "Catherine", "Tilney",
                "Thorpe", "Morland", "Anne", "Wentworth", "Elliot", "Musgrove", "Russell"]
STORY_ASKS = ["Tell me a story.", "Tell me a story, please.", "Can you tell me a story?",
              "Write a scene from a novel.", "Tell me a story about a family.", "Tell me a love story."]
NAMED_ASKS = ["Tell me a story about {}.", "Write a story about {}.", "What happened to {}?",
              "Tell me about {}."]
MORE_ASKS = ["Go on.", "Continue.", "What happened next?", "And then?", "Tell me more.", "Please go on."]
FORTUNE_ASKS = ["Tell me a fortune.", "Tell me a joke.", "Say something wise.", "Give me a quote.",
                "Tell me something funny.", "What is my fortune?"]


def chats(story_texts, fortunes, rng, max_turns=3):
    """Chat-shaped texts in the server's template (inference/server/chat_template.cpp).

    A story text gives a conversation of up to max_turns user/assistant turns: a request for a
    story (naming someone in it when one of AUSTEN_NAMES is), its first paragraph as the answer,
    then "Go on." and the next paragraph. A fortune answers a request for one. Replies start
    after "Assistant: " like the prompt the server renders, and the text ends with </s> (added
    by encode), so the model learns to stop where a reply ends."""
    out = []
    for text in story_texts:
        paras = text.split("\n")
        names = [n for n in AUSTEN_NAMES if re.search(r"\b" + n + r"\b", paras[0])]
        ask = rng.choice(NAMED_ASKS).format(rng.choice(names)) if names and rng.random() < 0.6 else rng.choice(STORY_ASKS)
        turns, i = [], 0
        while i < len(paras) and len(turns) < max_turns:
            turns.append(f"User: {ask if not turns else rng.choice(MORE_ASKS)}\nAssistant: {paras[i]}")
            i += 1
        out.append("\n".join(turns))
    for f in fortunes:
        out.append(f"User: {rng.choice(FORTUNE_ASKS)}\nAssistant: {f}")
    rng.shuffle(out)
    return out


def package_versions(names):
    """The installed Debian version of each package (the corpus and the tools of the run)."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n"] + names,
                         capture_output=True, text=True).stdout
    return out.strip().replace("\n", ", ")


def sha256_of_texts(*groups):
    h = hashlib.sha256()
    for docs in groups:
        for d in docs:
            h.update(d.encode() + b"\0")
    return h.hexdigest()


def sha256_of_weights(model):
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode() + t.detach().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


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


def load_gguf_f32(path):
    """Read an F32 GGUF written by export_gguf.py back into a Llama (to continue training it).

    Undoes export_gguf.permute_qk on attn_q / attn_k (adjacent pairs -> rotate_half halves)."""
    import numpy as np
    import struct
    buf = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal pos
        n = take("Q")
        s = buf[pos:pos + n].decode("utf-8")
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "B", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    assert buf[:4] == b"GGUF"
    pos = 4
    _, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        t, off = take("I"), take("Q")
        assert t == 0, f"{name}: only F32 GGUF can be loaded for training"
        infos.append((name, dims, off))
    align = kv.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    t = {}
    for name, dims, off in infos:
        n = int(np.prod(dims))
        t[name] = torch.from_numpy(np.frombuffer(buf, "<f4", n, base + off).reshape(list(reversed(dims))).copy())
    cfg = Config(vocab_size=kv["llama.vocab_size"], dim=kv["llama.embedding_length"],
                 n_layers=kv["llama.block_count"], n_heads=kv["llama.attention.head_count"],
                 n_kv_heads=kv["llama.attention.head_count_kv"], hidden_dim=kv["llama.feed_forward_length"],
                 max_seq_len=kv["llama.context_length"], norm_eps=kv["llama.attention.layer_norm_rms_epsilon"],
                 rope_theta=kv["llama.rope.freq_base"])

    def unpermute(w, n_head):
        rows, cols = w.shape
        return w.reshape(n_head, rows // n_head // 2, 2, cols).transpose(1, 2).reshape(rows, cols)

    sd = {"embed_tokens.weight": t["token_embd.weight"], "norm.weight": t["output_norm.weight"],
          "lm_head.weight": t["output.weight"]}
    for l in range(cfg.n_layers):
        p, b = f"layers.{l}.", f"blk.{l}."
        sd[p + "input_layernorm.weight"] = t[b + "attn_norm.weight"]
        sd[p + "self_attn.q_proj.weight"] = unpermute(t[b + "attn_q.weight"], cfg.n_heads)
        sd[p + "self_attn.k_proj.weight"] = unpermute(t[b + "attn_k.weight"], cfg.n_kv_heads)
        sd[p + "self_attn.v_proj.weight"] = t[b + "attn_v.weight"]
        sd[p + "self_attn.o_proj.weight"] = t[b + "attn_output.weight"]
        sd[p + "post_attention_layernorm.weight"] = t[b + "ffn_norm.weight"]
        sd[p + "mlp.gate_proj.weight"] = t[b + "ffn_gate.weight"]
        sd[p + "mlp.up_proj.weight"] = t[b + "ffn_up.weight"]
        sd[p + "mlp.down_proj.weight"] = t[b + "ffn_down.weight"]
    model = Llama(cfg)
    model.load_state_dict(sd)
    return cfg, model


def dedup(docs):
    """Drop repeated texts (the same fortune appears in several files), comparing case- and space-folded."""
    seen, out = set(), []
    for d in docs:
        key = " ".join(d.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def encode(sp, docs):
    ids = []
    for d in docs:
        ids += [sp.bos_id()] + sp.encode(d) + [sp.eos_id()]
    return torch.tensor(ids, dtype=torch.long)


def split_texts(seed, with_novels, story_chunk_chars, with_chats):
    """The training and held-out texts of every source, the same for the same seed.

    Fortunes: de-duplicated, 2% of them held out at random. Novels: whole chapters held out (4%,
    at random, at least 5), the training chapters cut into texts of up to story_chunk_chars.
    Chats: made from the training texts only, and the held-out chats from held-out texts, so no
    reply in validation was ever trained on."""
    all_fortunes = read_fortunes()
    chapters = read_austen() if with_novels else []
    random.Random(seed).shuffle(chapters)
    n_val_ch = max(5, len(chapters) // 25) if chapters else 0
    docs = dedup(all_fortunes)
    random.Random(seed).shuffle(docs)
    n_val_docs = len(docs) // 50
    t = {"all_fortunes": all_fortunes, "chapters": chapters,
         "val_chapters": chapters[:n_val_ch], "train_chapters": chapters[n_val_ch:],
         "val_fortunes": docs[:n_val_docs], "train_fortunes": docs[n_val_docs:],
         "train_chats": [], "val_chats": []}
    t["train_stories"] = chunk(t["train_chapters"], story_chunk_chars)
    if with_chats:
        rng = random.Random(seed)
        t["train_chats"] = chats(t["train_stories"], t["train_fortunes"], rng)
        t["val_chats"] = chats(chunk(t["val_chapters"], story_chunk_chars), t["val_fortunes"], rng)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, required=True, help="optimizer steps; the schedule follows them")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--dim", type=int, default=Config.dim)
    ap.add_argument("--layers", type=int, default=Config.n_layers)
    ap.add_argument("--heads", type=int, default=Config.n_heads)
    ap.add_argument("--kv-heads", type=int, default=Config.n_kv_heads)
    ap.add_argument("--hidden", type=int, default=Config.hidden_dim)
    ap.add_argument("--vocab", type=int, default=Config.vocab_size)
    ap.add_argument("--bench", type=int, default=0, help="only time this many steps")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--story-chunk-chars", type=int, default=1200,
                    help="cut training chapters into texts of whole paragraphs up to this size (0: no)")
    ap.add_argument("--stories-weight", type=float, default=0.75,
                    help="share of batch rows drawn from the novels (0: fortunes only, no R needed)")
    ap.add_argument("--chat-weight", type=float, default=0.0,
                    help="share of batch rows drawn from chat-shaped texts (taken from the other rows' share)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)  # the build machine has 2 shared cores: run under nice -n 19
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    random.seed(args.seed)
    log_file = open(os.path.join(args.out, "training-log.txt"), "a")

    def log(msg):
        print(msg, flush=True)
        log_file.write(msg + "\n")
        log_file.flush()

    log(f"packages: {package_versions(PACKAGES)}")
    t = split_texts(args.seed, args.stories_weight > 0, args.story_chunk_chars, args.chat_weight > 0)
    cfg = Config(vocab_size=args.vocab, dim=args.dim, n_layers=args.layers, n_heads=args.heads,
                 n_kv_heads=args.kv_heads, hidden_dim=args.hidden, max_seq_len=args.seq)
    sp = train_tokenizer(t["train_fortunes"] + t["train_chapters"] + t["train_chats"], args.out, cfg.vocab_size)
    model = Llama(cfg)

    def source(name, train_docs, val_docs, weight):
        tr, va = encode(sp, train_docs), encode(sp, val_docs)
        log(f"{name}: train_texts={len(train_docs)} val_texts={len(val_docs)} train_tokens={len(tr)} "
            f"val_tokens={len(va)} val_chars={sum(len(d) for d in val_docs)}")
        return (tr, va, sum(len(d) for d in val_docs), weight)

    log(f"fortunes: docs={len(t['all_fortunes'])} unique={len(t['train_fortunes']) + len(t['val_fortunes'])}")
    story_w = args.stories_weight if t["chapters"] else 0.0
    sources = {"fortunes": source("fortunes", t["train_fortunes"], t["val_fortunes"],
                                  (1.0 - story_w) * (1.0 - args.chat_weight))}
    if t["chapters"]:
        log(f"austen: chapters={len(t['chapters'])} held out: {[c[:40] for c in t['val_chapters']]}")
        sources["austen"] = source("austen", t["train_stories"], t["val_chapters"], story_w * (1.0 - args.chat_weight))
    log(f"corpus sha256={sha256_of_texts(t['all_fortunes'], t['chapters'])}")
    if args.chat_weight > 0:
        log(f"chat example: {t['train_chats'][0][:300]!r}")
        sources["chat"] = source("chat", t["train_chats"], t["val_chats"], args.chat_weight)
    log(f"config={cfg.to_dict()}")
    log(f"params={sum(p.numel() for p in model.parameters())/1e6:.2f}M threads={args.threads} "
        f"batch={args.batch}x{args.seq} lr={args.lr} warmup={args.warmup} steps={args.steps} "
        f"weights={ {n: round(w, 3) for n, (*_, w) in sources.items()} } torch={torch.__version__}")
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)

    names = list(sources)
    weights = [sources[n][3] for n in names]
    rng = random.Random(args.seed + 1)

    def batch():
        rows = []
        for _ in range(args.batch):
            src = sources[rng.choices(names, weights)[0]][0]
            i = rng.randrange(len(src) - args.seq - 1)
            rows.append(src[i:i + args.seq + 1])
        b = torch.stack(rows)
        return b[:, :-1].contiguous(), b[:, 1:].contiguous()

    @torch.no_grad()
    def val_loss_of(val, val_chars):
        """Mean loss over every validation token of one source (fixed windows), and nats per character."""
        model.eval()
        n = (len(val) - 1) // args.seq
        x = val[:n * args.seq].view(n, args.seq)
        y = val[1:n * args.seq + 1].view(n, args.seq)
        total = 0.0
        for i in range(0, n, 32):
            total += torch.nn.functional.cross_entropy(
                model(x[i:i + 32]).view(-1, cfg.vocab_size), y[i:i + 32].reshape(-1), reduction="sum").item()
        model.train()
        ntok = n * args.seq
        return total / ntok, total / (val_chars * ntok / len(val))

    def val_loss():
        """Per source (loss, nats/char), and their mix-weighted mean loss (what picks ckpt.pt)."""
        per = {name: val_loss_of(v, vc) for name, (_, v, vc, _) in sources.items()}
        mixed = sum(per[name][0] * w for name, (_, _, _, w) in sources.items()) / sum(w for *_, w in sources.values())
        return mixed, per

    def fmt(per):
        return " ".join(f"val_{name}={l:.3f} ({c:.3f} nats/char)" for name, (l, c) in per.items())

    @torch.no_grad()
    def sample(prompt, temperature, n=48, seed=0):
        model.eval()
        g = torch.Generator().manual_seed(seed)
        ids = [sp.bos_id()] + sp.encode(prompt)
        start_len = len(ids)
        for _ in range(n):
            logits = model(torch.tensor([ids[-cfg.max_seq_len:]]))[0, -1]
            if temperature == 0:
                nxt = int(logits.argmax())
            else:
                nxt = int(torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=g))
            if nxt == sp.eos_id():
                break
            ids.append(nxt)
        model.train()
        return sp.decode(ids[start_len:])

    def save(path, step, val):
        torch.save({"config": cfg.to_dict(), "model": model.state_dict(), "steps": step,
                    "tokens_seen": step * args.batch * args.seq, "val_loss": val}, path)

    def show_samples():
        for prompt in ["Once upon a time", "A programmer is"]:
            log(f"  greedy   {prompt!r} -> {sample(prompt, 0.0)!r}")
        for prompt, seed in [("", 1), ("Once upon a time, there was a little robot", 2),
                             ("User: Tell me a story.\nAssistant:", 3),
                             ("User: Tell me a story about a little robot.\nAssistant:", 4)]:
            log(f"  t=0.8    {prompt!r} -> {sample(prompt, 0.8, n=64, seed=seed)!r}")

    if not args.bench:
        v, per = val_loss()
        log(f"start: val={v:.3f} {fmt(per)}")
        show_samples()
    start = time.time()
    step, best, cpu0 = 0, float("inf"), time.process_time()
    while step < args.steps:
        frac = step / args.steps
        if args.bench and step == args.bench:
            break
        # linear warmup, then cosine decay to 10% over the steps
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch()
        loss = torch.nn.functional.cross_entropy(model(x).view(-1, cfg.vocab_size), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0:
            el = time.time() - start
            load = os.getloadavg()[0]
            cpu = (time.process_time() - cpu0) / max(el, 1e-9)
            log(f"step {step} t={el:.0f}s lr={lr:.2e} loss={loss.item():.3f} load1={load:.2f} cpu={cpu:.2f}")
        if not args.bench and step > 0 and step % args.eval_every == 0:
            v, per = val_loss()
            save(os.path.join(args.out, "ckpt-last.pt"), step, v)
            mark = ""
            if v < best:
                best = v
                save(os.path.join(args.out, "ckpt.pt"), step, v)
                mark = " (best, saved ckpt.pt)"
            log(f"eval step {step} t={time.time()-start:.0f}s val={v:.3f} {fmt(per)}{mark} "
                f"weights sha256={sha256_of_weights(model)}")
            show_samples()
        step += 1
    el = time.time() - start
    if args.bench:
        log(f"bench: {step} steps in {el:.1f}s = {step*args.batch*args.seq/el:.0f} tokens/s "
            f"weights sha256={sha256_of_weights(model)}")
        return
    v, per = val_loss()
    save(os.path.join(args.out, "ckpt-last.pt"), step, v)
    if v < best:
        best = v
        save(os.path.join(args.out, "ckpt.pt"), step, v)
    log(f"done: steps={step} t={el:.0f}s tokens_seen={step*args.batch*args.seq} "
        f"tokens/s={step*args.batch*args.seq/el:.0f} val={v:.3f} {fmt(per)} best_val={best:.3f} "
        f"weights sha256={sha256_of_weights(model)}")
    show_samples()


if __name__ == "__main__":
    main()
