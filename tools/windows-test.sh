#!/usr/bin/env bash
# bash tools/windows-test.sh BUILD_DIR
#
# Runs the Windows build of tools/windows-build.sh under Wine (Debian's wine64) and Xvfb on
# lavapipe (winevulkan hands the .exe files the host's Vulkan driver):
#   1. ctest: every cmocka test program, through CMAKE_CROSSCOMPILING_EMULATOR (tools/wine-run.sh);
#   2. vk-selftest.exe (LVK_WIN_SELFTEST_ARGS, default: the whole default run);
#   3. llama-vk.exe without vulkan-1.dll: the loader message and an exit status in 1..127;
#   4. llama-vk.exe end to end on a small model in a folder with a non-ASCII name, a Chinese
#      prompt, --temp 0 -n 8 --json, with -M/-F and with a -C config in that folder: the prompt and
#      generated ids and the text equal the Linux build's.
# The Linux build for step 4: $LVK_LINUX_BUILD (a build folder with llama-vk and
# llama-vk-testmodel), else one is built in BUILD_DIR/linux. Exit 0 only if everything passes.
# Needs: wine64 xvfb xauth mesa-vulkan-drivers.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: bash tools/windows-test.sh BUILD_DIR" >&2; exit 2; }
src=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "$1" && pwd)
W=$B/build
[ -f "$W/llama-vk.exe" ] || { echo "windows-test: no $W/llama-vk.exe: run tools/windows-build.sh $1 first" >&2; exit 2; }

# Wine's winevulkan needs its X11 driver: run everything below on one Xvfb display.
if [ -z "${LVK_WINDOWS_TEST_XVFB:-}" ]; then
  exec env LVK_WINDOWS_TEST_XVFB=1 xvfb-run -a -s "-screen 0 640x480x24" bash "$0" "$@"
fi

t0=$(date +%s)
export WINEPREFIX=$B/wineprefix WINEDEBUG=-all LC_ALL=C.UTF-8
wine=$src/tools/wine-run.sh
failed=()
step() { printf '\n--- %s (%s s)\n' "$1" "$(( $(date +%s) - t0 ))"; }

# The Linux build first (step 4 compares with it), while no Wine runs.
linux=${LVK_LINUX_BUILD:-$B/linux}
if [ ! -x "$linux/llama-vk" ] || [ ! -x "$linux/llama-vk-testmodel" ]; then
  step "Linux build for the comparison ($linux)"
  cmake -S "$src" -B "$linux" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMAVK_TESTS=OFF >/dev/null
  ninja -C "$linux" -j "${LLAMAVK_JOBS:-2}" llama-vk llama-vk-testmodel >/dev/null
fi
linux=$(cd "$linux" && pwd)

# Wine starts once: the prefix (first run only), a persistent wineserver, and the desktop
# process that user32 (loaded with winevulkan) starts. Started here with their output to
# /dev/null: started by a test instead, they would keep ctest's output pipe open and ctest
# would wait for them forever.
step "Wine start"
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT
mkdir -p "$WINEPREFIX"
wineserver -p </dev/null >/dev/null
wineboot -u </dev/null >/dev/null 2>&1 || { echo "windows-test: wineboot failed" >&2; exit 1; }
"$wine" "$W/llama-vk.exe" --list-devices >"$B/wine-devices.txt" 2>&1 </dev/null || true
cat "$B/wine-devices.txt"
grep -q '^\[0\]' "$B/wine-devices.txt" || { echo "windows-test: llama-vk.exe sees no Vulkan device under Wine" >&2; exit 1; }

step "ctest under Wine"
ctest --test-dir "$W" --output-on-failure -j2 --timeout 900 </dev/null || failed+=(ctest)

step "vk-selftest.exe ${LVK_WIN_SELFTEST_ARGS:-}"
# shellcheck disable=SC2086 # the arguments are words on purpose
"$wine" "$W/vk-selftest.exe" ${LVK_WIN_SELFTEST_ARGS:-} </dev/null || failed+=(vk-selftest)

step "no vulkan-1.dll: a clear message"
# Wine's override with an empty value disables the DLL, as if no GPU driver had installed it.
set +e
WINEDLLOVERRIDES="vulkan-1=" "$wine" "$W/llama-vk.exe" --list-devices >"$B/novulkan.out" 2>"$B/novulkan.err" </dev/null
rc=$?
set -e
cat "$B/novulkan.err"
if [ "$rc" -lt 1 ] || [ "$rc" -gt 127 ] || ! grep -q 'the Vulkan loader was not found (vulkan-1.dll): install or update your GPU' "$B/novulkan.err"; then
  echo "windows-test: without vulkan-1.dll: exit $rc, not the loader message" >&2
  failed+=(no-vulkan-dll)
fi

step "llama-vk.exe end to end: non-ASCII model folder, Chinese prompt, same output as Linux"
dir="$B/e2e/模型 测试-ü"
rm -rf "$B/e2e"
mkdir -p "$dir"
"$linux/llama-vk-testmodel" -o "$dir/l3.ckpt" -V 3 --dim 64 --layers 2 --heads 4 --kv-heads 2 --ffn 160 \
  --vocab 128256 --seed 5 --crc >/dev/null
cp "$src/tests/data/tokenizers/llama3/tokenizer.model" "$dir/tokenizer.model"
# Once with -M/-F (the rest of the config assumed from -V 3), once through a config in that folder
# whose relative file names resolve against the folder (the model's real head count).
cat >"$dir/l3.json" <<'EOF'
{"name": "l3-small", "model": {"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "ffn_dim": 160,
 "vocab_size": 128256, "rope_theta": 500000.0, "norm_eps": 1e-5, "max_seq_len": 256},
 "tokenizer": {"type": "tiktoken", "file": "tokenizer.model", "bos_id": 128000, "eos_ids": [128001, 128009]},
 "checkpoint": "l3.ckpt"}
EOF
gen=(-p "用中文回答：什么是GPU？" --temp 0 -n 8 --json -q)
"$linux/llama-vk" -V 3 -M "$dir/l3.ckpt" -F "$dir/tokenizer.model" "${gen[@]}" >"$B/e2e/linux.json"
"$linux/llama-vk" -C "$dir/l3.json" "${gen[@]}" >"$B/e2e/linux-config.json"
# The Windows program gets Windows paths (Z: is Wine's drive for /).
windir="Z:${dir//\//\\}"
if "$wine" "$W/llama-vk.exe" -V 3 -M "$windir\\l3.ckpt" -F "$windir\\tokenizer.model" "${gen[@]}" \
     >"$B/e2e/windows.json" </dev/null &&
   "$wine" "$W/llama-vk.exe" -C "$windir\\l3.json" "${gen[@]}" >"$B/e2e/windows-config.json" </dev/null; then
  if python3 - "$B"/e2e/{linux,windows,linux-config,windows-config}.json <<'EOF'
import json, sys
lin, win, lin_c, win_c = (json.load(open(p, encoding="utf-8")) for p in sys.argv[1:5])
ok = True
for what, a, b in (("-M -F", lin, win), ("-C", lin_c, win_c)):
    print(f"{what:5s} linux:  ", a["generated_ids"], repr(a["text"]))
    print(f"{what:5s} windows:", b["generated_ids"], repr(b["text"]))
    ok &= len(a["generated_ids"]) == 8 and all(a[k] == b[k] for k in ("prompt_ids", "generated_ids", "text", "stop"))
sys.exit(0 if ok else 1)
EOF
  then echo "equal"; else echo "windows-test: llama-vk.exe differs from the Linux build" >&2; failed+=(end-to-end); fi
else
  echo "windows-test: llama-vk.exe failed" >&2
  failed+=(end-to-end)
fi

step "done"
if [ ${#failed[@]} -gt 0 ]; then
  echo "windows-test: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "windows-test: all passed in $(( $(date +%s) - t0 )) s"
