#!/usr/bin/env python3
"""Writes the fixtures that tests/test_demo_models.c and tests/test_tokenizer_conformance.c hold the shipped
demo models (configs/demo/) to, from implementations we did not write:

  tests/data/demo/<name>.greedy.json     HF transformers' LlamaForCausalLM (float32, eager attention) on the
                                         checkpoint's weights, read as tools/hf_oracle.py reads them: greedy
                                         continuations of fixed prompts (ids and text), prompts encoded by the
                                         reference tokenizer; plus its held-out perplexity by llama.cpp's
                                         method (the numbers the test's bound is set from) and the
                                         checkpoint's sha256, so a retrained model with stale fixtures shows.
  tests/data/tokenizers/<name>/expected.jsonl   ids and decoded text by sentencepiece / tiktoken for the
                                         strings of tests/data/tokenizers/llama*/ (expected + random) and
                                         some held-out verses, in the format test_tokenizer_conformance reads.

    /tmp/venv-demo/bin/pip install transformers      # beside what train_demo_model.py needs
    /tmp/venv-demo/bin/python tools/make_demo_fixtures.py [CONFIGS_DIR]   # default: configs/

CI does not run this: the committed files are the fixture.
"""
import hashlib
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import hf_oracle  # noqa: E402
import train_demo_model as tdm  # noqa: E402

PROMPTS = ["In the beginning", "And the LORD said unto Moses,", "Blessed are the", "The LORD is my shepherd;"]
N_NEW = 32  # kept short: a near-tie between two logits late in a long continuation could flip (fp16 vs fp32)
PPL_CTX = 128


def reference_tokenizer(name, folder):
    path = os.path.join(folder, "tokenizer.model")
    if tdm.MODELS[name]["version"] == 2:
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=path)
        return dict(encode=sp.encode, decode=sp.decode, bos=sp.bos_id(), eos=[sp.eos_id()])
    import base64
    import tiktoken
    ranks = {}
    for line in open(path):
        tok, rank = line.split()
        ranks[base64.b64decode(tok)] = int(rank)
    n = len(ranks)
    enc = tiktoken.Encoding(name=name, pat_str=tdm.LLAMA3_PAT, mergeable_ranks=ranks,
                            special_tokens={s: n + i for i, s in enumerate(tdm.llama3_special_names())})
    return dict(encode=lambda s: enc.encode(s, disallowed_special=()), decode=enc.decode, bos=n, eos=[n + 1, n + 9])


def hf_model(ckpt, cfg):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    config = LlamaConfig(vocab_size=cfg["vocab"], hidden_size=cfg["dim"], intermediate_size=cfg["ffn_dim"],
                         num_hidden_layers=cfg["n_layers"], num_attention_heads=cfg["n_heads"],
                         num_key_value_heads=cfg["n_kv_heads"], rms_norm_eps=tdm.NORM_EPS,
                         rope_theta=cfg["rope_theta"], max_position_embeddings=tdm.SEQ, hidden_act="silu",
                         tie_word_embeddings=False, attention_bias=False, bos_token_id=None, eos_token_id=None,
                         pad_token_id=None)
    config._attn_implementation = "eager"
    model = LlamaForCausalLM(config).float().eval()
    model.load_state_dict(hf_oracle.hf_state_dict(hf_oracle.read_ckpt(ckpt), cfg["n_layers"]), strict=True)
    return model


def main():
    import torch
    torch.set_num_threads(1)
    held = open(os.path.join(ROOT, "tests/data/demo/heldout.txt")).read()
    strings = []
    for model_dir in ("llama2", "llama3"):
        for f in ("expected.jsonl", "random_expected.jsonl"):
            for line in open(os.path.join(ROOT, "tests/data/tokenizers", model_dir, f)):
                strings.append(json.loads(line)["text"])
    strings += held.splitlines()[:40] + PROMPTS + [held[:2000]]
    strings = list(dict.fromkeys(strings))  # unique, first order kept

    for name, cfg in tdm.MODELS.items():
        folder = os.path.join(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "configs"), "demo", name)
        ckpt = os.path.join(folder, name + ".ckpt")
        tok = reference_tokenizer(name, folder)

        out_dir = os.path.join(ROOT, "tests/data/tokenizers", name)
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "expected.jsonl"), "w") as f:
            for i, s in enumerate(strings):
                ids = tok["encode"](s)
                f.write(json.dumps({"i": i, "text": s, "ids": ids, "decoded": tok["decode"](ids)}) + "\n")

        model = hf_model(ckpt, cfg)
        cases = []
        with torch.no_grad():
            for p in PROMPTS:
                prompt = [tok["bos"]] + tok["encode"](p)
                ids = list(prompt)
                margins = []
                for _ in range(N_NEW):
                    logits = model(torch.tensor([ids]), use_cache=False).logits[0, -1]
                    top2 = torch.topk(logits, 2).values
                    margins.append(float(top2[0] - top2[1]))
                    nxt = int(logits.argmax())
                    ids.append(nxt)
                    if nxt in tok["eos"]:
                        break
                gen = ids[len(prompt):]
                cases.append({"prompt": p, "prompt_ids": prompt, "generated_ids": gen, "text": tok["decode"](gen),
                              "min_top2_margin": min(margins)})
                print(f"{name}: {p!r} -> {tok['decode'](gen)!r}")
        # llama.cpp's perplexity with HF's logits (tdm.perplexity calls model(ids) -> logits)
        held_ids = tok["encode"](held)

        class Logits(torch.nn.Module):
            def forward(self, x):
                return model(x, use_cache=False).logits
        ppl, se, n = tdm.perplexity(Logits(), held_ids, tok["bos"], PPL_CTX)
        ppl4, se4, n4 = tdm.perplexity(Logits(), held_ids[:4 * PPL_CTX - 1], tok["bos"], PPL_CTX)
        print(f"{name}: held-out perplexity {ppl:.4f} +- {se:.4f} over {n} tokens; first 4 chunks {ppl4:.4f}")
        fixture = {"model": name, "ckpt_sha256": hashlib.sha256(open(ckpt, "rb").read()).hexdigest(),
                   "oracle": "transformers LlamaForCausalLM float32 eager", "n_new": N_NEW, "cases": cases,
                   "heldout": {"ctx": PPL_CTX, "ppl": ppl, "ppl_stderr": se, "tokens": n,
                               "chunks4_ppl": ppl4, "chunks4_tokens": n4}}
        with open(os.path.join(ROOT, "tests/data/demo", name + ".greedy.json"), "w") as f:
            json.dump(fixture, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
