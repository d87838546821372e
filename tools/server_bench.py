#!/usr/bin/env python3
"""Aggregate decode speed of llama-vk-server with 1, 2, 4, 8 concurrent streams, and time to first token
under load. Raw HTTP only (no openai module needed). Not a ctest: it takes minutes on lavapipe.

    server_bench.py BIN_DIR CONFIG.json [-n TOKENS] [--streams 1,2,4,8] [--prompt-words N]

CONFIG.json: a model config whose "checkpoint" exists (write one with llama-vk-testmodel). Per stream count C:
C streaming completions at once, each `-n` tokens at temperature 0; aggregate tok/s = all tokens after each
stream's first / (last stream's end - first stream's first token). TTFT under load: with 7 streams decoding,
one more request with a prompt of --prompt-words words; its time from sending to the first token.
"""
import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time


def stream(port, prompt, n, out):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    t0 = time.time()
    c.request("POST", "/v1/completions", json.dumps({"prompt": prompt, "max_tokens": n, "temperature": 0,
                                                     "stream": True}), {"Content-Type": "application/json"})
    r = c.getresponse()
    first = None
    tokens = 0
    for line in r:
        if line.startswith(b"data: {"):
            j = json.loads(line[6:])
            if first is None:
                first = time.time()
            if "usage" in j:
                tokens = j["usage"]["completion_tokens"]
    end = time.time()
    c.close()
    out.append({"start": t0, "first": first, "end": end, "tokens": tokens})


def run_streams(port, count, n, tag):
    out = []
    threads = [threading.Thread(target=stream, args=(port, "%s stream %d: Once upon a time" % (tag, i), n, out))
               for i in range(count)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("config")
    ap.add_argument("-n", type=int, default=32)
    ap.add_argument("--streams", default="1,2,4,8")
    ap.add_argument("--prompt-words", type=int, default=100)
    ap.add_argument("-c", "--context", type=int, default=1024, help="positions per slot (the demo models have 256)")
    a = ap.parse_args()
    log = open("/tmp/server_bench_%d.log" % os.getpid(), "w+b")
    p = subprocess.Popen([os.path.join(a.bin, "llama-vk-server"), "-C", a.config, "--no-crc", "--port", "0",
                          "--parallel", "8", "--queue", "8", "-c", str(a.context)], stdout=log, stderr=subprocess.STDOUT)
    port = None
    while port is None:
        time.sleep(0.2)
        log.seek(0)
        text = log.read().decode("utf-8", "replace")
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
        if m:
            port = int(m.group(1))
        if p.poll() is not None:
            sys.exit("the server did not start:\n" + text)
    print(text.strip())
    run_streams(port, 1, 4, "warm")  # records the single-stream steps once
    results = {}
    for count in [int(x) for x in a.streams.split(",")]:
        run_streams(port, count, 4, "warm%d" % count)  # and the steps of this shape
        out = run_streams(port, count, a.n, "run%d" % count)
        after_first = sum(max(o["tokens"] - 1, 0) for o in out)
        window = max(o["end"] for o in out) - min(o["first"] for o in out)
        ttft = [o["first"] - o["start"] for o in out]
        results[count] = {"aggregate_tok_s": after_first / window, "per_stream_tok_s": after_first / window / count,
                          "ttft_mean_s": sum(ttft) / len(ttft), "ttft_max_s": max(ttft)}
        print("%d stream(s): %.2f tok/s aggregate, %.2f per stream; TTFT mean %.2f s, max %.2f s" % (
            count, results[count]["aggregate_tok_s"], results[count]["per_stream_tok_s"],
            results[count]["ttft_mean_s"], results[count]["ttft_max_s"]), flush=True)
    # TTFT of a new request while 7 streams decode
    busy = []
    threads = [threading.Thread(target=stream, args=(port, "busy %d" % i, a.n * 3, busy)) for i in range(7)]
    [t.start() for t in threads]
    time.sleep(0.5)
    while json.loads(http_get(port, "/health"))["requests_queued"] > 0:
        time.sleep(0.1)
    time.sleep(2.0)  # decoding by now
    probe = []
    stream(port, "word " * a.prompt_words, 4, probe)
    [t.join() for t in threads]
    idle = []
    stream(port, "word " * a.prompt_words, 4, idle)
    print("TTFT of a %d-word prompt: %.2f s with 7 streams decoding, %.2f s alone" % (
        a.prompt_words, probe[0]["first"] - probe[0]["start"], idle[0]["first"] - idle[0]["start"]))
    p.send_signal(signal.SIGINT)
    p.wait(120)
    print(json.dumps(results))


def http_get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", path)
    body = c.getresponse().read()
    c.close()
    return body


if __name__ == "__main__":
    main()
