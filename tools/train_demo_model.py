#!/usr/bin/env python3
"""Trains one of the two demo models shipped in configs/demo/ (demo-llama2, demo-llama3) on the King James
Bible, the text of Debian's bible-kjv package, with some books held out for evaluation.

  demo-llama2: LLaMA2 architecture (RMSNorm, rotate_half RoPE theta 1e4, SwiGLU, heads = kv heads), Float16,
               a SentencePiece BPE tokenizer with byte fallback (the sentencepiece package, LLaMA2's settings).
  demo-llama3: LLaMA3 architecture (GQA, theta 5e5), BFloat16, a byte-level BPE trained here, written in
               tiktoken's file format (base64 bytes, rank) with LLaMA3's pre-tokenizer regex and its 256
               special tokens after the ranked ones; the checkpoint sliced (small slice size) with a CRC trailer.

Everything follows from --seed: the data order, the initial weights, the tokenizer (no randomness there).
PyTorch runs on one CPU thread, so the run is deterministic on one machine. The checkpoint is written by
MindSpore's own save_checkpoint, with MindFormers' tensor names (DESIGN section 2.2).

    apt-get install bible-kjv
    python3 -m venv /tmp/venv-demo && /tmp/venv-demo/bin/pip install torch mindspore==2.10.0 sentencepiece \\
        tiktoken matplotlib
    nice -n 15 /tmp/venv-demo/bin/python tools/train_demo_model.py demo-llama2 --out configs/demo/demo-llama2

Writes OUT/NAME.ckpt, OUT/tokenizer.model, OUT/train_log.json (settings, loss curve, held-out perplexity)
and, with --plot FILE, the loss curve as a PNG. --heldout-out FILE writes the held-out text (the same for both
models) that the tests measure perplexity on.
"""
import argparse
import base64
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

# Held out of training: measured for perplexity, committed as tests/data/demo/heldout.txt.
HELDOUT_BOOKS = ("Ruth", "Jude")

MODELS = {
    "demo-llama2": dict(version=2, dim=192, n_layers=4, n_heads=6, n_kv_heads=6, ffn_dim=512, vocab=3072,
                        rope_theta=10000.0, dtype="Float16"),
    # 2816 ranked tokens + LLaMA3's 256 special tokens = 3072
    "demo-llama3": dict(version=3, dim=192, n_layers=4, n_heads=6, n_kv_heads=2, ffn_dim=512, vocab=3072,
                        rope_theta=500000.0, dtype="BFloat16"),
}
NORM_EPS = 1e-5
SEQ = 256  # training context, also the configs' max_seq_len

# LLaMA3's pre-tokenizer (llama/tokenizer.py), the one src/io/tokenizer_tiktoken.c uses.
LLAMA3_PAT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
              r"\s*[\r\n]+|\s+(?!\S)|\s+")
N_SPECIAL = 256


def llama3_special_names():
    names = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
             "<|reserved_special_token_1|>", "<|reserved_special_token_2|>", "<|reserved_special_token_3|>",
             "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>"]
    names += [f"<|reserved_special_token_{i}|>" for i in range(5, N_SPECIAL - 5)]
    assert len(names) == N_SPECIAL
    return names


# ---- data ----------------------------------------------------------------------------------------

def read_kjv():
    """[(book, [chapter text, ...])] in canonical order; chapter text is its verses, one a line."""
    out = subprocess.run(["bible", "-l100000", "gen1:1-rev22:21"], check=True, capture_output=True,
                         text=True).stdout
    books, book, chapter = [], None, None
    for line in out.splitlines():
        if not line.strip():
            continue
        m = re.match(r"^(\S.*) (\d+)$", line)
        if m:
            if book != m.group(1):
                book = m.group(1)
                books.append((book, []))
            chapter = []
            books[-1][1].append(chapter)
            continue
        m = re.match(r"^\s+(\d+) (.*)$", line)
        if not m or chapter is None:
            raise ValueError(f"unexpected line from bible: {line!r}")
        chapter.append(m.group(2).strip())
    books = [(b, ["\n".join(ch) + "\n" for ch in chs]) for b, chs in books]
    if len(books) != 66:
        raise ValueError(f"expected the 66 books of the KJV, got {len(books)}")
    return books


# ---- tokenizers ----------------------------------------------------------------------------------

def without_temp_paths(blob):
    """The model file records the trainer's input and output paths (a random temporary folder): fixed names
    instead, so the same seed gives the same bytes. Encoding does not read them."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    m = pb.ModelProto()
    m.ParseFromString(blob)
    del m.trainer_spec.input[:]
    m.trainer_spec.input.append("kjv-train.txt")
    m.trainer_spec.model_prefix = "tokenizer"
    return m.SerializeToString()


def train_sentencepiece(train_text, vocab, out_path):
    import sentencepiece as spm
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "train.txt")
        with open(src, "w") as f:
            f.write(train_text)
        # LLaMA2's trainer settings (its tokenizer.model's trainer_spec) where they matter for the format.
        spm.SentencePieceTrainer.train(
            input=src, model_prefix=os.path.join(tmp, "m"), model_type="bpe", vocab_size=vocab,
            byte_fallback=True, split_digits=True, allow_whitespace_only_pieces=True,
            normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=True,
            character_coverage=0.99995, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1,
            max_sentence_length=100000, minloglevel=2)
        with open(os.path.join(tmp, "m.model"), "rb") as f:
            blob = without_temp_paths(f.read())
    with open(out_path, "wb") as f:
        f.write(blob)
    sp = spm.SentencePieceProcessor(model_file=out_path)
    return dict(encode=lambda s: sp.encode(s), decode=lambda i: sp.decode(i), bos=sp.bos_id(), eos=[sp.eos_id()], n=sp.get_piece_size())


def train_bpe_ranks(train_text, n_ranked):
    """Byte-level BPE on LLaMA3's pre-tokenized pieces: ranks 0-255 are the bytes, each merge the next rank.
    Ties go to the smallest (rank, rank) pair, so the result depends on the text alone."""
    import regex
    from collections import Counter, defaultdict
    counts = Counter(m.group(0).encode() for m in regex.finditer(LLAMA3_PAT, train_text))
    words = [list(w) for w in counts]
    freq = [counts[w] for w in counts]
    tokens = [bytes([b]) for b in range(256)]
    pairs = Counter()
    where = defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pairs[(a, b)] += freq[i]
            where[(a, b)].add(i)
    while len(tokens) < n_ranked:
        best = max(pairs.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]), default=None)
        if best is None or best[1] <= 0:
            raise ValueError("the text has too few pairs left for the vocabulary asked")
        (a, b), _ = best
        new = len(tokens)
        tokens.append(tokens[a] + tokens[b])
        for i in list(where[(a, b)]):
            w = words[i]
            for x, y in zip(w, w[1:]):
                pairs[(x, y)] -= freq[i]
                if pairs[(x, y)] == 0:
                    del pairs[(x, y)]
            merged, k = [], 0
            while k < len(w):
                if k + 1 < len(w) and w[k] == a and w[k + 1] == b:
                    merged.append(new)
                    k += 2
                else:
                    merged.append(w[k])
                    k += 1
            words[i] = merged
            for x, y in zip(merged, merged[1:]):
                pairs[(x, y)] += freq[i]
                where[(x, y)].add(i)
        del where[(a, b)]
    return tokens


def train_tiktoken(train_text, vocab, out_path):
    import tiktoken
    n_ranked = vocab - N_SPECIAL
    tokens = train_bpe_ranks(train_text, n_ranked)
    with open(out_path, "w") as f:
        for rank, t in enumerate(tokens):
            f.write(f"{base64.b64encode(t).decode()} {rank}\n")
    names = llama3_special_names()
    enc = tiktoken.Encoding(name="demo-llama3", pat_str=LLAMA3_PAT,
                            mergeable_ranks={t: r for r, t in enumerate(tokens)},
                            special_tokens={n: n_ranked + i for i, n in enumerate(names)})
    return dict(encode=lambda s: enc.encode(s, disallowed_special=()), decode=lambda i: enc.decode(i), bos=n_ranked, eos=[n_ranked + 1, n_ranked + 9],
                n=n_ranked + N_SPECIAL)


# ---- the model (written here, not taken from transformers: HF is the tests' independent oracle) ------

def build_model(cfg):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class RMSNorm(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(dim))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + NORM_EPS) * self.weight

    def rotate_half(x):
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            d, hd = cfg["dim"], cfg["dim"] // cfg["n_heads"]
            self.attention_norm = RMSNorm(d)
            self.wq = nn.Linear(d, cfg["n_heads"] * hd, bias=False)
            self.wk = nn.Linear(d, cfg["n_kv_heads"] * hd, bias=False)
            self.wv = nn.Linear(d, cfg["n_kv_heads"] * hd, bias=False)
            self.wo = nn.Linear(cfg["n_heads"] * hd, d, bias=False)
            self.ffn_norm = RMSNorm(d)
            self.w1 = nn.Linear(d, cfg["ffn_dim"], bias=False)
            self.w2 = nn.Linear(cfg["ffn_dim"], d, bias=False)
            self.w3 = nn.Linear(d, cfg["ffn_dim"], bias=False)

        def forward(self, x, cos, sin):
            B, T, _ = x.shape
            nh, nkv = cfg["n_heads"], cfg["n_kv_heads"]
            hd = cfg["dim"] // nh
            h = self.attention_norm(x)
            q = self.wq(h).view(B, T, nh, hd).transpose(1, 2)
            k = self.wk(h).view(B, T, nkv, hd).transpose(1, 2)
            v = self.wv(h).view(B, T, nkv, hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if nkv != nh:  # query head j uses kv head j // (nh / nkv)
                k = k.repeat_interleave(nh // nkv, dim=1)
                v = v.repeat_interleave(nh // nkv, dim=1)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.wo(a.transpose(1, 2).reshape(B, T, nh * hd))
            h = self.ffn_norm(x)
            return x + self.w2(F.silu(self.w1(h)) * self.w3(h))

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok_embeddings = nn.Embedding(cfg["vocab"], cfg["dim"])
            self.layers = nn.ModuleList(Block() for _ in range(cfg["n_layers"]))
            self.norm_out = RMSNorm(cfg["dim"])
            self.lm_head = nn.Linear(cfg["dim"], cfg["vocab"], bias=False)
            hd = cfg["dim"] // cfg["n_heads"]
            inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
            ang = torch.outer(torch.arange(SEQ, dtype=torch.float64), inv)
            ang = torch.cat((ang, ang), dim=-1)
            self.register_buffer("cos", ang.cos().float(), persistent=False)
            self.register_buffer("sin", ang.sin().float(), persistent=False)
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    std = 0.02 / math.sqrt(2 * cfg["n_layers"]) if name.endswith(("wo.weight", "w2.weight")) else 0.02
                    nn.init.normal_(p, 0.0, std)

        def forward(self, ids):
            T = ids.shape[1]
            x = self.tok_embeddings(ids)
            for layer in self.layers:
                x = layer(x, self.cos[:T], self.sin[:T])
            return self.lm_head(self.norm_out(x))

    return Llama()


def mindformers_state(model):
    """{MindFormers name: float32 numpy array} (DESIGN 2.2)."""
    out = {}
    for name, p in model.state_dict().items():
        a = p.detach().float().numpy()
        if name == "tok_embeddings.weight":
            out["model.tok_embeddings.embedding_weight"] = a
        elif name == "norm_out.weight":
            out["model.norm_out.weight"] = a
        elif name == "lm_head.weight":
            out["lm_head.weight"] = a
        else:
            i, rest = re.match(r"layers\.(\d+)\.(.*)$", name).groups()
            part = {"wq": "attention.wq", "wk": "attention.wk", "wv": "attention.wv", "wo": "attention.wo",
                    "w1": "feed_forward.w1", "w2": "feed_forward.w2", "w3": "feed_forward.w3",
                    "attention_norm": "attention_norm", "ffn_norm": "ffn_norm"}[rest.split(".")[0]]
            out[f"model.layers.{i}.{part}.weight"] = a
    return out


def round_to(dtype, a):
    """float32 values the checkpoint's dtype holds (round to nearest even), and their raw 16-bit patterns."""
    if dtype == "Float16":
        h = a.astype(np.float16)
        return h.astype(np.float32), h
    bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return (bits.astype(np.uint32) << 16).view(np.float32), bits


def save_ckpt(state, dtype, path, sliced):
    import mindspore as ms
    from mindspore.train import serialization
    params = []
    for name, a in state.items():
        _, raw = round_to(dtype, a)
        if dtype == "Float16":
            t = ms.Tensor(raw, dtype=ms.float16)
        else:  # bfloat16 from its bit pattern: float32 with the low 16 bits zero converts exactly
            t = ms.Tensor((raw.astype(np.uint32) << 16).view(np.float32), dtype=ms.bfloat16)
        params.append({"name": name, "data": t})
    old = serialization.SLICE_SIZE
    if sliced:
        serialization.SLICE_SIZE = 64  # KiB: the embedding and lm_head (1152 KiB each) are cut into records
    try:
        if os.path.exists(path):
            os.remove(path)
        ms.save_checkpoint(params, path, crc_check=sliced)
        os.chmod(path, 0o644)  # MindSpore leaves it read-only for its owner
    finally:
        serialization.SLICE_SIZE = old
    back = ms.load_checkpoint(path, crc_check=sliced)
    for name, a in state.items():
        got = back[name].float().asnumpy() if back[name].dtype == ms.bfloat16 else back[name].asnumpy()
        assert np.array_equal(got.astype(np.float32), round_to(dtype, a)[0]), name


# ---- evaluation ------------------------------------------------------------------------------------

def perplexity(model, ids, bos, ctx):
    """llama.cpp's perplexity (tools/perplexity): the text encoded with BOS first, cut into chunks of ctx
    tokens, each chunk's first token replaced by BOS, the logits at positions ctx/2 .. ctx-2 scored against
    the next token. Returns (ppl, its standard error, tokens scored). tools/llama_vk_perplexity.c does the
    same; ids here is without the BOS."""
    import torch
    import torch.nn.functional as F
    ids = [bos] + list(ids)
    nll = []
    first = ctx // 2
    with torch.no_grad():
        for c in range(len(ids) // ctx):
            chunk = [bos] + ids[c * ctx + 1:(c + 1) * ctx]
            lp = F.log_softmax(model(torch.tensor([chunk]))[0].double(), dim=-1)
            for pos in range(first, ctx - 1):
                nll.append(-lp[pos, chunk[pos + 1]].item())
    nll = np.array(nll)
    mean = nll.mean()
    se = nll.std() / math.sqrt(len(nll) - 1) if len(nll) > 1 else 0.0
    return math.exp(mean), math.exp(mean) * se, len(nll)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", choices=sorted(MODELS))
    ap.add_argument("--out", required=True, help="folder for NAME.ckpt, tokenizer.model, train_log.json")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=900)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--ppl-ctx", type=int, default=128)
    ap.add_argument("--plot", help="PNG of the loss curve")
    ap.add_argument("--heldout-out", help="write the held-out text here")
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    cfg = MODELS[args.name]
    os.makedirs(args.out, exist_ok=True)

    books = read_kjv()
    train_text = "".join(ch for b, chs in books if b not in HELDOUT_BOOKS for ch in chs)
    held_text = "".join(ch for b, chs in books if b in HELDOUT_BOOKS for ch in chs)
    if args.heldout_out:
        with open(args.heldout_out, "w") as f:
            f.write(held_text)

    t0 = time.time()
    tok_path = os.path.join(args.out, "tokenizer.model")
    if cfg["version"] == 2:
        tok = train_sentencepiece(train_text, cfg["vocab"], tok_path)
    else:
        tok = train_tiktoken(train_text, cfg["vocab"], tok_path)
    assert tok["n"] == cfg["vocab"]
    train_ids = np.array(tok["encode"](train_text), dtype=np.int64)
    held_ids = np.array(tok["encode"](held_text), dtype=np.int64)
    print(f"tokenizer: {tok['n']} tokens in {time.time() - t0:.0f} s; train {len(train_ids)} tokens "
          f"({len(train_text)} chars), held out {len(held_ids)} tokens", flush=True)

    model = build_model(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    warmup = max(1, args.steps // 20)

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        p = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))

    def held_loss(n=8):
        # fixed windows of the held-out text, BOS first, every position scored
        with torch.no_grad():
            offs = np.linspace(0, len(held_ids) - SEQ, n).astype(np.int64)
            x = torch.tensor(np.stack([np.concatenate(([tok["bos"]], held_ids[o:o + SEQ - 1])) for o in offs]))
            y = torch.tensor(np.stack([held_ids[o:o + SEQ] for o in offs]))
            return F.cross_entropy(model(x).reshape(-1, cfg["vocab"]), y.reshape(-1)).item()

    log = {"train": [], "heldout": []}
    t0 = time.time()
    for step in range(args.steps):
        offs = rng.integers(0, len(train_ids) - SEQ, size=args.batch)
        x = torch.tensor(np.stack([np.concatenate(([tok["bos"]], train_ids[o:o + SEQ - 1])) for o in offs]))
        y = torch.tensor(np.stack([train_ids[o:o + SEQ] for o in offs]))
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        loss = F.cross_entropy(model(x).reshape(-1, cfg["vocab"]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        log["train"].append([step, loss.item()])
        if step % args.eval_every == 0 or step == args.steps - 1:
            hl = held_loss()
            log["heldout"].append([step, hl])
            print(f"step {step} loss {loss.item():.3f} held-out {hl:.3f} lr {lr_at(step):.2e} "
                  f"{time.time() - t0:.0f} s", flush=True)
    train_s = time.time() - t0

    # What ships is the rounded weights: measure those.
    state = mindformers_state(model)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(round_to(cfg["dtype"], p.detach().numpy())[0]))
    model.eval()
    ppl, ppl_se, n_scored = perplexity(model, held_ids, tok["bos"], args.ppl_ctx)
    print(f"held-out perplexity ({cfg['dtype']} weights, ctx {args.ppl_ctx}): {ppl:.3f} +- {ppl_se:.3f} "
          f"over {n_scored} tokens", flush=True)

    # A look at what it writes (greedy).
    with torch.no_grad():
        ids = [tok["bos"]] + tok["encode"]("In the beginning")
        for _ in range(40):
            ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    sample_ids = ids
    print("greedy:", repr(tok["decode"](ids[1:])), flush=True)

    ckpt = os.path.join(args.out, f"{args.name}.ckpt")
    save_ckpt(state, cfg["dtype"], ckpt, sliced=cfg["version"] == 3)
    log.update(name=args.name, seed=args.seed, steps=args.steps, batch=args.batch, seq=SEQ, lr=args.lr,
               config={k: v for k, v in cfg.items()}, params=n_params, train_tokens=int(len(train_ids)),
               heldout_books=list(HELDOUT_BOOKS), heldout_tokens=int(len(held_ids)), train_seconds=round(train_s),
               heldout_ppl=ppl, heldout_ppl_stderr=ppl_se, heldout_ppl_ctx=args.ppl_ctx, heldout_scored=n_scored,
               greedy_sample_ids=sample_ids, torch=torch.__version__)
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(log, f)
        f.write("\n")
    print(f"{ckpt}: {os.path.getsize(ckpt)} bytes, {n_params} parameters, trained {train_s:.0f} s; sample ids "
          f"{sample_ids}", flush=True)

    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        tr = np.array(log["train"])
        k = min(20, len(tr))
        smooth = np.convolve(tr[:, 1], np.ones(k) / k, mode="valid")
        plt.figure(figsize=(7, 4))
        plt.plot(tr[k - 1:, 0], smooth, label="training (mean of 20 steps)")
        he = np.array(log["heldout"])
        plt.plot(he[:, 0], he[:, 1], "o-", ms=3, label=f"held out ({', '.join(HELDOUT_BOOKS)})")
        plt.xlabel("step")
        plt.ylabel("cross-entropy (nats/token)")
        plt.title(f"{args.name}: {n_params / 1e6:.1f} M parameters, {args.steps} steps x {args.batch} x {SEQ} tokens")
        plt.grid(alpha=0.3)
        plt.legend()
        plt.tight_layout()
        plt.savefig(args.plot, dpi=90)


if __name__ == "__main__":
    sys.exit(main())
