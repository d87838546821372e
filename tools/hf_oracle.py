#!/usr/bin/env python3
"""An oracle we did not write: HuggingFace transformers' LlamaForCausalLM on llama-vk test models.

For each fixture below, this script
  1. writes the test model with the project's own writer (llama-vk-testmodel, deterministic --seed),
  2. reads that MindSpore .ckpt itself (a small protobuf parser here, DESIGN §2.1: records
     0x0A <varint len> Value{tag=1, tensor=2{dims=1, tensor_type=2, tensor_content=3}}, slices of one tag
     concatenated, optional 17-byte "crc_num" trailer),
  3. maps the MindFormers names onto LlamaForCausalLM (DESIGN §2.2; wq/wk are HF layout, no permutation),
  4. runs a fixed token sequence in float32 (weights upcast exactly from fp16/bf16), eager attention,
  5. writes tests/data/hf/<name>.logits.bin (float32 little-endian [n_tokens, vocab], every position) and
     tests/data/hf/<name>.json (tokens, config, the writer's arguments and seed, sha256 of the .ckpt).

tests/test_ref_llama.c regenerates the same .ckpt, checks its sha256 against the json (a drift in the writer
is caught) and compares the C reference forward with these logits. CI needs no torch: only the fixtures.

Usage (needs `pip install torch transformers numpy`):
  python3 tools/hf_oracle.py --bin-dir build [--out tests/data/hf] [--work /tmp] [--only NAME]
  python3 tools/hf_oracle.py --ckpt FILE --config JSON_CONFIG_FIELDS --tokens 1,2,3 --out-prefix PATH
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

import numpy as np

# Each fixture: the llama-vk-testmodel arguments (without -o) and the model numbers those imply that the
# checkpoint does not carry (heads, rope theta, eps come from the built-in config of -V, see configs/*.json).
FIXTURES = [
    {
        "name": "llama2_tiny",
        "version": 2,
        "testmodel_args": ["-V", "2", "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "4",
                           "--ffn", "172", "--vocab", "320", "--dtype", "Float16", "--seed", "11"],
        "config": {"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 4, "ffn_dim": 172, "vocab_size": 320,
                   "norm_eps": 1e-5, "rope_theta": 10000.0},
        "tokens": [1, 5, 300, 42, 42, 17, 2, 250, 99, 3, 128, 319],
    },
    {
        "name": "llama3_tiny",
        "version": 3,
        # odd --slice-bytes: every tensor over 4099 bytes is cut into records, some cuts inside an element
        "testmodel_args": ["-V", "3", "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2",
                           "--ffn", "160", "--vocab", "256", "--dtype", "BFloat16", "--seed", "12",
                           "--slice-bytes", "4099", "--crc"],
        "config": {"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "ffn_dim": 160, "vocab_size": 256,
                   "norm_eps": 1e-5, "rope_theta": 500000.0},
        "tokens": [1, 200, 7, 7, 255, 0, 64, 128, 33, 90, 2, 11],
    },
    {
        "name": "f32_mqa_tiny",
        "version": 2,
        # Float32 weights and one kv head shared by both query heads (multi-query attention)
        "testmodel_args": ["-V", "2", "--dim", "32", "--layers", "1", "--heads", "2", "--kv-heads", "1",
                           "--ffn", "96", "--vocab", "128", "--dtype", "Float32", "--seed", "13"],
        "config": {"dim": 32, "n_layers": 1, "n_heads": 2, "n_kv_heads": 1, "ffn_dim": 96, "vocab_size": 128,
                   "norm_eps": 1e-5, "rope_theta": 10000.0},
        "tokens": [1, 127, 64, 3, 3, 100, 2, 50, 9, 77, 0, 31],
    },
]


# ---- the .ckpt format ------------------------------------------------------------------------

def read_varint(buf, at):
    value, shift = 0, 0
    while True:
        if at >= len(buf):
            raise ValueError("varint runs past the end")
        b = buf[at]
        at += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, at
        shift += 7


def fields(buf):
    """Yields (field number, wire type, value) of one protobuf message; value is int or bytes."""
    at = 0
    while at < len(buf):
        key, at = read_varint(buf, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = read_varint(buf, at)
        elif wire == 2:
            n, at = read_varint(buf, at)
            value = buf[at:at + n]
            if len(value) != n:
                raise ValueError("length-delimited field runs past the end")
            at += n
        elif wire == 1:
            value, at = buf[at:at + 8], at + 8
        elif wire == 5:
            value, at = buf[at:at + 4], at + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield field, wire, value


DTYPES = {"Float16": np.float16, "BFloat16": "bf16", "Float32": np.float32}


def read_ckpt(path):
    """{name: float32 numpy array} of every tensor; slices of one tag are concatenated in file order."""
    data = open(path, "rb").read()
    if len(data) >= 17 and data[-17:-10] == b"crc_num":
        data = data[:-17]
    tensors = {}  # name -> [dims, type, [content pieces]]
    order = []
    for field, wire, value in fields(memoryview(data)):
        if field != 1 or wire != 2:
            continue
        tag, dims, ttype, content = None, [], None, None
        for vf, vw, vv in fields(value):
            if vf == 1 and vw == 2:
                tag = bytes(vv).decode()
            elif vf == 2 and vw == 2:
                for tf, tw, tv in fields(vv):
                    if tf == 1 and tw == 0:
                        dims.append(tv)
                    elif tf == 1 and tw == 2:  # packed dims
                        at = 0
                        while at < len(tv):
                            d, at = read_varint(tv, at)
                            dims.append(d)
                    elif tf == 2:
                        ttype = bytes(tv).decode()
                    elif tf == 3:
                        content = bytes(tv)
        if tag is None or ttype is None or content is None:
            continue
        if tag in tensors:
            tensors[tag][2].append(content)
        else:
            tensors[tag] = [dims, ttype, [content]]
            order.append(tag)
    out = {}
    for name in order:
        dims, ttype, pieces = tensors[name]
        raw = b"".join(pieces)
        if ttype not in DTYPES:
            raise ValueError(f"{path}: tensor {name}: dtype {ttype} not supported")
        if ttype == "BFloat16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(DTYPES[ttype]).newbyteorder("<")).astype(np.float32)
        out[name] = arr.reshape(dims)
    return out


# ---- MindFormers -> HF -------------------------------------------------------------------------

def hf_state_dict(ms, n_layers):
    import torch
    names = {"model.tok_embeddings.embedding_weight": "model.embed_tokens.weight",
             "model.norm_out.weight": "model.norm.weight",
             "lm_head.weight": "lm_head.weight"}
    per_layer = {"attention.wq": "self_attn.q_proj", "attention.wk": "self_attn.k_proj",
                 "attention.wv": "self_attn.v_proj", "attention.wo": "self_attn.o_proj",
                 "feed_forward.w1": "mlp.gate_proj", "feed_forward.w3": "mlp.up_proj",
                 "feed_forward.w2": "mlp.down_proj",
                 "attention_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm"}
    for i in range(n_layers):
        for ms_part, hf_part in per_layer.items():
            names[f"model.layers.{i}.{ms_part}.weight"] = f"model.layers.{i}.{hf_part}.weight"
    missing = [n for n in names if n not in ms]
    if missing:
        raise ValueError(f"checkpoint lacks {missing}")
    return {hf: torch.from_numpy(np.ascontiguousarray(ms[name])) for name, hf in names.items()}


def hf_logits(ckpt_path, cfg, tokens):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=cfg["vocab_size"], hidden_size=cfg["dim"], intermediate_size=cfg["ffn_dim"],
                         num_hidden_layers=cfg["n_layers"], num_attention_heads=cfg["n_heads"],
                         num_key_value_heads=cfg["n_kv_heads"], rms_norm_eps=cfg["norm_eps"],
                         rope_theta=cfg["rope_theta"], max_position_embeddings=max(128, len(tokens)),
                         hidden_act="silu", tie_word_embeddings=False, attention_bias=False,
                         bos_token_id=None, eos_token_id=None, pad_token_id=None)
    config._attn_implementation = "eager"
    model = LlamaForCausalLM(config).float().eval()
    model.load_state_dict(hf_state_dict(read_ckpt(ckpt_path), cfg["n_layers"]), strict=True)
    with torch.no_grad():
        out = model(torch.tensor([tokens], dtype=torch.long), use_cache=False)
    return out.logits[0].to(torch.float32).numpy()


# ---- fixtures ----------------------------------------------------------------------------------

def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_fixture(prefix, name, ckpt, cfg, tokens, extra):
    import torch
    import transformers
    logits = hf_logits(ckpt, cfg, tokens)
    assert logits.shape == (len(tokens), cfg["vocab_size"])
    logits.astype("<f4").tofile(prefix + ".logits.bin")
    top2 = np.sort(logits, axis=1)[:, -2:]
    meta = dict(extra)
    meta.update({
        "name": name,
        "tokens": tokens,
        "config": cfg,
        "ckpt_sha256": sha256_of(ckpt),
        "ckpt_bytes": os.path.getsize(ckpt),
        "logits_file": os.path.basename(prefix) + ".logits.bin",
        "logits_shape": [len(tokens), cfg["vocab_size"]],
        "logits_dtype": "float32 little-endian, row-major [n_tokens, vocab], logits of every position",
        "argmax": [int(a) for a in logits.argmax(axis=1)],
        "min_top2_margin": float((top2[:, 1] - top2[:, 0]).min()),
        "made_by": "tools/hf_oracle.py: transformers LlamaForCausalLM, float32, eager attention, use_cache=False",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    })
    with open(prefix + ".json", "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"{name}: {prefix}.logits.bin {logits.shape}, argmax {meta['argmax']}, "
          f"smallest top-2 margin {meta['min_top2_margin']:.4g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", help="build folder holding llama-vk-testmodel (fixture mode)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "hf"))
    ap.add_argument("--work", default="/tmp", help="where the .ckpt files are written")
    ap.add_argument("--only", help="one fixture name")
    ap.add_argument("--ckpt", help="any checkpoint (single mode), with --config and --tokens")
    ap.add_argument("--config", help='JSON: {"dim", "n_layers", "n_heads", "n_kv_heads", "ffn_dim", "vocab_size", '
                                     '"norm_eps", "rope_theta"}')
    ap.add_argument("--tokens", help="comma-separated ids")
    ap.add_argument("--out-prefix", help="single mode: writes PREFIX.logits.bin and PREFIX.json")
    a = ap.parse_args()

    if a.ckpt:
        if not (a.config and a.tokens and a.out_prefix):
            ap.error("--ckpt needs --config, --tokens and --out-prefix")
        tokens = [int(t) for t in a.tokens.split(",")]
        write_fixture(a.out_prefix, os.path.basename(a.out_prefix), a.ckpt, json.loads(a.config), tokens, {})
        return 0
    if not a.bin_dir:
        ap.error("give --bin-dir (fixture mode) or --ckpt (single mode)")
    writer = os.path.join(a.bin_dir, "llama-vk-testmodel")
    os.makedirs(a.out, exist_ok=True)
    for fx in FIXTURES:
        if a.only and fx["name"] != a.only:
            continue
        ckpt = os.path.join(a.work, fx["name"] + ".ckpt")
        subprocess.run([writer, "-o", ckpt] + fx["testmodel_args"], check=True)
        extra = {"version": fx["version"], "testmodel_args": fx["testmodel_args"],
                 "testmodel_command": "llama-vk-testmodel -o " + fx["name"] + ".ckpt " + " ".join(fx["testmodel_args"])}
        write_fixture(os.path.join(a.out, fx["name"]), fx["name"], ckpt, fx["config"], fx["tokens"], extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
