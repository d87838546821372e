#!/usr/bin/env python3
"""The weights table of docs/benchmarks.md from tools/device_bench.sh's output folder:
one row per bench_v{2,3}_{format}.out (llama-vk-bench --json), and each format's decode speed as a
multiple of the same model's stored one from the same run.

    tools/bench_table.py OUT_DIR
"""
import glob
import json
import os
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = {}
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "bench_v*_*.out"))):
        shape, fmt = os.path.basename(path)[len("bench_v"):-len(".out")].split("_", 1)
        try:
            with open(path) as f:
                rows[(shape, fmt)] = json.load(f)
        except (OSError, ValueError) as e:
            print(f"skipped {path}: {e}", file=sys.stderr)
    print("| model | weights | bytes | bits/weight | load s | prefill tok/s | decode tok/s | decode vs stored |")
    print("|---|---|---|---|---|---|---|---|")
    for (shape, fmt), b in rows.items():
        base = rows.get((shape, "stored"))
        ratio = b["decode_tok_s"] / base["decode_tok_s"] if base and base["decode_tok_s"] else 0
        print(f"| {b['model']} | {b['weights']} | {b['weight_bytes'] / 1e9:.2f} GB | {b['bits_per_weight']:.2f} | "
              f"{b['load_s']:.1f} | {b['prefill_tok_s']:.2f} | {b['decode_tok_s']:.3f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
