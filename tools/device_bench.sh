#!/bin/sh
# Every check and benchmark of llama-vk on this machine's Vulkan device, each program's output in
# OUT_DIR (NAME.out and NAME.err): the device list, vk-selftest (the table, then --bench), and
# llama-vk-bench with and without --profile on random-weight models at the real LLaMA2-7b (fp16) and
# LLaMA3-8b (bf16) shapes. Made for a GPU machine lent for a few minutes: run it once, read OUT_DIR.
#
#   tools/device_bench.sh BIN_DIR OUT_DIR [MODEL_DIR]
#
# BIN_DIR holds the built programs. The models (13.5 and 16 GB) are written to MODEL_DIR (default
# OUT_DIR) unless already there. Environment: P and N, the prompt and decoded tokens of the benchmark
# (default 512 and 128); SHAPES, which models (default "2 3": LLaMA2-7b and LLaMA3-8b); WEIGHTS, the
# --weights formats benchmarked (default "stored q8 q4"). tools/bench_table.py OUT_DIR makes the table of
# docs/benchmarks.md from the bench_v*_*.out files.
# Every step runs even when one fails; the exit status is 1 if any step failed (the failed ones are
# listed at the end), else 0.
set -u
if [ $# -lt 2 ]; then
    echo "usage: tools/device_bench.sh BIN_DIR OUT_DIR [MODEL_DIR]" >&2
    exit 2
fi
bin=$1
out=$2
models=${3:-$2}
mkdir -p "$out" "$models" || exit 1

failed=""

# run NAME PROGRAM ARGS...: output to OUT_DIR/NAME.out and .err, one line of progress here.
run() {
    name=$1
    shift
    start=$(date +%s)
    "$@" > "$out/$name.out" 2> "$out/$name.err"
    rc=$?
    echo "$name: exit $rc in $(($(date +%s) - start)) s ($*)"
    [ $rc -eq 0 ] || failed="$failed $name"
}

run devices "$bin/llama-vk" --list-devices
run selftest "$bin/vk-selftest"
[ -n "${SKIP_SELFTEST:-}" ] || run selftest_bench "$bin/vk-selftest" --bench
for v in ${SHAPES:-2 3}; do
    case $v in
    2) model=$models/llama2_7b.ckpt ;;
    3) model=$models/llama3_8b.ckpt ;;
    *) echo "SHAPES: $v is not 2 or 3" >&2; exit 2 ;;
    esac
    [ -f "$model" ] || run "testmodel_v$v" "$bin/llama-vk-testmodel" -o "$model" -V "$v" --seed 1
    for w in ${WEIGHTS:-stored q8 q4}; do
        run "bench_v${v}_$w" "$bin/llama-vk-bench" -M "$model" -V "$v" -p "${P:-512}" -n "${N:-128}" --weights "$w" \
            --no-crc --json
    done
    run "profile_v$v" "$bin/llama-vk-bench" -M "$model" -V "$v" -p 16 -n 16 --no-crc --profile
done
if [ -n "$failed" ]; then
    echo "failed:$failed (see their .err files in $out)"
    exit 1
fi
echo "all steps passed"
