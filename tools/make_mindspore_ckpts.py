#!/usr/bin/env python3
"""Writes the MindSpore-made checkpoint fixtures in tests/data/ckpt/ (the oracle for tests/test_ckpt.c).

Each NAME.ckpt is written by mindspore.save_checkpoint itself; NAME.expected.json lists every tensor the
reader must return (name, dtype, shape, byte count, offset into NAME.expected.bin) and the values MindSpore
skips for us (strings); NAME.expected.bin holds the expected raw bytes, taken from the arrays this script
saved, not from the checkpoint.

    python3 -m venv /tmp/ms && /tmp/ms/bin/pip install mindspore   # 2.10.0 was used (Python 3.11, x86_64)
    /tmp/ms/bin/python tools/make_mindspore_ckpts.py tests/data/ckpt

CI does not run this: the committed files are the fixture.
"""
import json
import os
import sys

import numpy as np
import mindspore as ms
from mindspore.train import serialization

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/ckpt"
rng = np.random.default_rng(1234)


def bf16_exact(shape):
    """float32 values that bfloat16 holds exactly, and their bf16 bit patterns (little-endian)."""
    f = rng.standard_normal(shape).astype(np.float32)
    bits = (f.view(np.uint32) >> 16).astype(np.uint16)
    return (bits.astype(np.uint32) << 16).view(np.float32), bits


def save(name, tensors, strings=(), crc=False, slice_kib=None, async_save=False):
    """tensors: list of (tag, ms dtype, MindSpore dtype name, array to save, expected raw bytes)."""
    old_slice = serialization.SLICE_SIZE
    if slice_kib is not None:
        serialization.SLICE_SIZE = slice_kib  # the writer cuts tensors over SLICE_SIZE KiB
    try:
        params = [{"name": tag, "data": ms.Tensor(arr, dtype=mstype)} for tag, mstype, _, arr, _ in tensors]
        append = {k: v for k, v in strings} or None
        path = os.path.join(OUT, name + ".ckpt")
        if os.path.exists(path):
            os.chmod(path, 0o644)
            os.remove(path)
        ms.save_checkpoint(params, path, append_dict=append, crc_check=crc, async_save=async_save)
        if async_save:
            from mindspore.train.serialization import _wait_async_thread_save_ckpt
            _wait_async_thread_save_ckpt()
        os.chmod(path, 0o644)
    finally:
        serialization.SLICE_SIZE = old_slice

    blob = bytearray()
    listing = []
    for tag, _, dtype_name, arr, raw in tensors:
        listing.append({"name": tag, "dtype": dtype_name, "shape": list(arr.shape), "offset": len(blob),
                        "bytes": len(raw)})
        blob += raw
    with open(os.path.join(OUT, name + ".expected.bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(OUT, name + ".expected.json"), "w") as f:
        json.dump({"mindspore": ms.__version__, "crc": crc, "tensors": listing,
                   "skipped": [k for k, _ in strings]}, f, indent=1)
        f.write("\n")
    # MindSpore's own reader must agree with what we expect, or the fixture is wrong.
    back = ms.load_checkpoint(path, crc_check=crc)
    for tag, _, _, arr, _ in tensors:
        got = back[tag].asnumpy() if back[tag].dtype != ms.bfloat16 else back[tag].float().asnumpy()
        assert got.shape == arr.shape and np.array_equal(got.astype(np.float64), arr.astype(np.float64)), tag
    print(f"{path}: {os.path.getsize(path)} bytes, {len(tensors)} tensors")


def main():
    os.makedirs(OUT, exist_ok=True)

    # 1. Float16 weights plus every other plain dtype, a 0-d scalar and a string (skipped by our reader).
    tensors = []
    w = (rng.standard_normal((24, 16)) * 0.1).astype(np.float16)
    tensors.append(("model.layers.0.attention.wq.weight", ms.float16, "Float16", w, w.tobytes()))
    n = rng.uniform(0.9, 1.1, (16,)).astype(np.float16)
    tensors.append(("model.norm_out.weight", ms.float16, "Float16", n, n.tobytes()))
    for tag, mstype, dname, np_type in [("f32", ms.float32, "Float32", np.float32),
                                        ("f64", ms.float64, "Float64", np.float64),
                                        ("i8", ms.int8, "Int8", np.int8), ("u8", ms.uint8, "UInt8", np.uint8),
                                        ("i16", ms.int16, "Int16", np.int16), ("u16", ms.uint16, "UInt16", np.uint16),
                                        ("i32", ms.int32, "Int32", np.int32), ("u32", ms.uint32, "UInt32", np.uint32),
                                        ("i64", ms.int64, "Int64", np.int64), ("u64", ms.uint64, "UInt64", np.uint64)]:
        a = (rng.standard_normal((3, 5)) * 100).astype(np_type)
        tensors.append(("dtype." + tag, mstype, dname, a, a.tobytes()))
    b = rng.integers(0, 2, (7,)).astype(np.bool_)
    tensors.append(("dtype.bool", ms.bool_, "Bool", b, b.tobytes()))
    s = np.array(42, dtype=np.int32)
    tensors.append(("scalar.step", ms.int32, "Int32", s, s.tobytes()))
    save("ms_f16_dtypes", tensors, strings=[("note", "written by make_mindspore_ckpts.py")])

    # 2. BFloat16, a tensor over the (lowered) slice size, and the CRC trailer. SLICE_SIZE = 4 KiB:
    #    the [300, 64] bf16 embedding (38400 bytes) is cut every 4096 raw bytes into 10 records.
    emb, emb_bits = bf16_exact((300, 64))
    wq, wq_bits = bf16_exact((64, 64))
    nrm, nrm_bits = bf16_exact((64,))
    save("ms_bf16_sliced_crc",
         [("model.tok_embeddings.embedding_weight", ms.bfloat16, "BFloat16", emb, emb_bits.tobytes()),
          ("model.layers.0.attention.wq.weight", ms.bfloat16, "BFloat16", wq, wq_bits.tobytes()),
          ("model.norm_out.weight", ms.bfloat16, "BFloat16", nrm, nrm_bits.tobytes())],
         crc=True, slice_kib=4)

    # 3. The older numpy path (async_save): np.array_split along axis 0 into near-equal parts.
    big = (rng.standard_normal((37, 40)) * 0.05).astype(np.float16)
    save("ms_f16_array_split",
         [("lm_head.weight", ms.float16, "Float16", big, big.tobytes())],
         slice_kib=1, async_save=True)


if __name__ == "__main__":
    main()
