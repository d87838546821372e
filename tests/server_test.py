#!/usr/bin/env python3
"""llama-vk-server against the real `openai` client and raw HTTP, on loopback with a small test model.

    server_test.py BIN_DIR TEST_DATA TMP_DIR [--soak]      (ctest runs it; exit 0 = pass, 77 = skipped)

Default: every endpoint streaming and not; greedy answers of 4 parallel clients equal the same requests
run one at a time; stop strings; overload gives 503 with Retry-After and every admitted request completes;
clients that disconnect mid-stream free their slots; every bad input gets its OpenAI-style error.
--soak: 200+ requests from 8 concurrent clients with random cancellations and bad requests, bounded in
time; all answered or refused cleanly, the slots all idle afterwards, and the server exits 0 on Ctrl-C
(under ASan that includes the leak check).
"""
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

BIN, DATA, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
SOAK = "--soak" in sys.argv[4:]
KEY = "sk-test-%d" % os.getpid()
PREFIX = "server_soak" if SOAK else "server_test"  # ctest -j runs both at once: their files apart
CONTEXT = 2048

try:
    import openai
except ImportError:
    print("SKIPPED: the Python module 'openai' is missing (pip install openai, or configure with "
          "-DLLAMAVK_TEST_PYTHON=/path/to/venv/bin/python)")
    sys.exit(77)

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg, flush=True)
    return cond


def write_model(name, template):
    ckpt = os.path.join(TMP, PREFIX + ".ckpt")
    if not os.path.exists(ckpt):
        subprocess.run([os.path.join(BIN, "llama-vk-testmodel"), "-o", ckpt, "-V", "2", "--dim", "64", "--layers",
                        "2", "--heads", "4", "--kv-heads", "4", "--ffn", "160", "--vocab", "32000", "--seed", "31"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cfg = {"name": name, "chat_template": template,
           "model": {"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 4, "ffn_dim": 160, "vocab_size": 32000,
                     "norm_eps": 1e-5, "rope_theta": 10000.0, "max_seq_len": CONTEXT},
           "tokenizer": {"type": "sentencepiece", "file": os.path.join(DATA, "tokenizers/llama2/tokenizer.model"),
                         "bos_id": 1, "eos_ids": [2]},
           "checkpoint": ckpt}
    path = os.path.join(TMP, "%s_%s.json" % (PREFIX, name))
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


class Server:
    """llama-vk-server on 127.0.0.1 and a free port (--port 0: it prints the one it got)."""

    def __init__(self, cfg, *args):
        self.cfg = cfg
        self.log_path = os.path.join(TMP, "%s_%d.log" % (PREFIX, id(self)))
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([os.path.join(BIN, "llama-vk-server"), "-C", cfg, "--host", "127.0.0.1",
                                      "--port", "0"] + list(args), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        self.port = None
        while self.port is None:
            if self.proc.poll() is not None or time.time() > deadline:
                print(self.text())
                sys.exit("FAIL: the server did not start")
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.text())
            if m:
                self.port = int(m.group(1))
            time.sleep(0.05)
        status, body, _ = raw(self.port, "GET", "/health")
        check(status == 200 and json.loads(body)["status"] == "ok", "/health after start: %d %r" % (status, body))

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """Ctrl-C; the exit status (0, or ASan's leak report)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        self.log.close()
        log = self.text()
        check(rc == 0, "the server exited with %r on Ctrl-C:\n%s" % (rc, log[-4000:]))
        check("AddressSanitizer" not in log and "runtime error" not in log, "sanitizer report:\n" + log[-4000:])
        return log


def raw(port, method, path, body=None, headers=None, key=KEY, timeout=120):
    """(status, body text, headers) of one request over a plain http.client connection."""
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = body if isinstance(body, (bytes, type(None))) else (
        body.encode() if isinstance(body, str) else json.dumps(body).encode())
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, text, dict(r.getheaders())


def open_stream(port, path, body):
    """A streaming request on a bare socket, read up to its first token: the socket, for the test to drop."""
    data = json.dumps(body).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                 b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (path.encode(), KEY.encode(),
                                                                                     len(data)) + data)
    got = b""
    while b"\ndata: {" not in got:
        chunk = sock.recv(4096)
        if not chunk:
            break
        got += chunk
    return sock, got


def drop(sock):
    """The client goes away: the connection is reset rather than closed politely."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


def sse_events(text):
    """The data: payloads of an SSE stream, and whether it ended with [DONE]."""
    events = [line[6:] for line in text.split("\n") if line.startswith("data: ")]
    done = bool(events) and events[-1] == "[DONE]"
    return [json.loads(e) for e in events if e != "[DONE]"], done


def stream_text(events, chat):
    if chat:
        return "".join(e["choices"][0]["delta"].get("content") or "" for e in events)
    return "".join(e["choices"][0]["text"] for e in events)


# ---- the checks ---------------------------------------------------------------------------------------------

def endpoints(s, client):
    port = s.port
    status, body, _ = raw(port, "GET", "/v1/models")
    models = json.loads(body)
    check(status == 200 and models["object"] == "list" and models["data"][0]["id"] == "tiny", "/v1/models: " + body)
    check([m.id for m in client.models.list().data] == ["tiny"], "openai models.list")

    # completions: not streamed, streamed (openai and raw) give the same greedy text
    r = client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=12, temperature=0)
    text = r.choices[0].text
    check(r.object == "text_completion" and r.choices[0].finish_reason == "length" and
          r.usage.completion_tokens == 12 and r.usage.prompt_tokens > 1 and len(text) > 0, "completion: %r" % r)
    streamed = "".join(c.choices[0].text for c in
                       client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=12,
                                                 temperature=0, stream=True))
    check(streamed == text, "streamed completion %r != %r" % (streamed, text))
    status, body, headers = raw(port, "POST", "/v1/completions",
                                {"prompt": "Once upon a time", "max_tokens": 12, "temperature": 0, "stream": True})
    events, done = sse_events(body)
    check(status == 200 and headers.get("Content-Type") == "text/event-stream" and done and
          events[-1]["choices"][0]["finish_reason"] == "length" and stream_text(events, False) == text,
          "raw streamed completion: %d %r" % (status, body[-300:]))
    status, body, _ = raw(port, "POST", "/v1/completions", {"prompt": "Once upon a time", "max_tokens": 12,
                                                            "temperature": 0})
    j = json.loads(body)
    check(status == 200 and j["choices"][0]["text"] == text and j["usage"]["total_tokens"] ==
          j["usage"]["prompt_tokens"] + 12, "raw completion: " + body)

    # chat: the same, with the llama2 template
    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is a GPU?"}]
    r = client.chat.completions.create(model="tiny", messages=msgs, max_tokens=10, temperature=0)
    ctext = r.choices[0].message.content
    check(r.object == "chat.completion" and r.choices[0].message.role == "assistant" and
          r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 10, "chat: %r" % r)
    chunks = list(client.chat.completions.create(model="tiny", messages=msgs, max_tokens=10, temperature=0,
                                                 stream=True))
    check(chunks[0].choices[0].delta.role == "assistant" and chunks[-1].choices[0].finish_reason == "length" and
          "".join(c.choices[0].delta.content or "" for c in chunks) == ctext, "streamed chat != %r" % ctext)
    status, body, _ = raw(port, "POST", "/v1/chat/completions", {"messages": msgs, "max_tokens": 10,
                                                                 "temperature": 0, "stream": True})
    events, done = sse_events(body)
    check(status == 200 and done and stream_text(events, True) == ctext, "raw streamed chat: " + body[-300:])

    # a sampled answer repeats with its seed
    a = client.completions.create(model="tiny", prompt="Seeded", max_tokens=16, temperature=0.9, top_p=0.9, seed=7)
    b = client.completions.create(model="tiny", prompt="Seeded", max_tokens=16, temperature=0.9, top_p=0.9, seed=7)
    check(a.choices[0].text == b.choices[0].text, "the same seed gave different answers")

    # stop strings: the answer ends before the first match, finish_reason "stop", streamed or not
    long = client.completions.create(model="tiny", prompt="Stop here", max_tokens=24, temperature=0).choices[0].text
    stop = long[len(long) // 2:len(long) // 2 + 3]
    want = long[:long.index(stop)]
    r = client.completions.create(model="tiny", prompt="Stop here", max_tokens=24, temperature=0, stop=[stop, "\x01"])
    check(r.choices[0].text == want and r.choices[0].finish_reason == "stop",
          "stop %r: %r, expected %r" % (stop, r.choices[0].text, want))
    got = list(client.completions.create(model="tiny", prompt="Stop here", max_tokens=24, temperature=0, stop=stop,
                                         stream=True))
    check("".join(c.choices[0].text for c in got) == want and got[-1].choices[0].finish_reason == "stop",
          "streamed stop %r" % stop)


def parallel_equals_serial(s, client):
    # the last is longer than a step (64 tokens): its prefill goes in chunks beside the others' decoding
    prompts = ["The quick brown fox", "In a galaxy far away", "你好，世界",
               " ".join("word%d" % i for i in range(60))]
    ask = lambda p: client.completions.create(model="tiny", prompt=p, max_tokens=32, temperature=0).choices[0].text
    serial = [ask(p) for p in prompts]
    # the oracle: llama-vk's own generation loop, one prompt per process
    for i in (0, 3):
        cli = subprocess.run([os.path.join(BIN, "llama-vk"), "-C", s.cfg, "-c", str(CONTEXT), "-p", prompts[i],
                              "-n", "32", "--temp", "0", "--json", "-q"], capture_output=True, check=True).stdout
        check(json.loads(cli)["text"] == serial[i], "server %r != llama-vk %r" % (serial[i], json.loads(cli)["text"]))
    out = [None] * 4
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, ask(prompts[i]))) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    for i in range(4):
        check(out[i] == serial[i], "parallel answer %d %r != serial %r" % (i, out[i], serial[i]))
    # and streamed chats in parallel
    msgs = lambda p: [{"role": "user", "content": p}]
    chat = lambda p, st: client.chat.completions.create(model="tiny", messages=msgs(p), max_tokens=24,
                                                        temperature=0, stream=st)
    serial = [chat(p, False).choices[0].message.content for p in prompts]
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(
        i, "".join(c.choices[0].delta.content or "" for c in chat(prompts[i], True)))) for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    for i in range(4):
        check(out[i] == serial[i], "parallel streamed chat %d %r != %r" % (i, out[i], serial[i]))


def overload(s):
    """16 long requests at once on 4 slots + a queue of 4: the rest get 503 + Retry-After; the admitted finish."""
    results = []
    lock = threading.Lock()
    go = threading.Event()

    def one(i):
        go.wait()
        status, body, headers = raw(s.port, "POST", "/v1/completions",
                                    {"prompt": "Overload %d" % i, "max_tokens": 400, "temperature": 0,
                                     "stream": i % 2 == 0})
        with lock:
            results.append((i, status, body, headers))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    [t.start() for t in threads]
    go.set()
    [t.join() for t in threads]
    refused = [r for r in results if r[1] == 503]
    served = [r for r in results if r[1] == 200]
    check(len(refused) + len(served) == 16, "overload: statuses %r" % [r[1] for r in results])
    check(len(refused) >= 1 and len(served) >= 8, "overload: %d served, %d refused" % (len(served), len(refused)))
    for i, status, body, headers in refused:
        check(headers.get("Retry-After") == "1" and json.loads(body)["error"]["code"] == "overloaded",
              "503 without Retry-After or error: %r %r" % (headers, body))
    for i, status, body, headers in served:
        if i % 2 == 0:
            events, done = sse_events(body)
            check(done and events[-1]["usage"]["completion_tokens"] == 400, "admitted stream %d incomplete" % i)
        else:
            check(json.loads(body)["usage"]["completion_tokens"] == 400, "admitted request %d incomplete" % i)


def health(port):
    return json.loads(raw(port, "GET", "/health", key=None)[1])


def wait_idle(port, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        h = health(port)
        if h["slots_processing"] == 0 and h["requests_queued"] == 0:
            return h
        time.sleep(0.05)
    return health(port)


def disconnects(s, client):
    """4 clients leave mid-stream (each asked for all the context): their slots free at once."""
    before = s.text().count("cancelled")
    socks = []
    for i in range(4):
        sock, got = open_stream(s.port, "/v1/completions", {"prompt": "Leave %d" % i, "temperature": 0,
                                                            "stream": True})
        check(got.startswith(b"HTTP/1.1 200") and b"data: {" in got, "disconnect stream %d: %r" % (i, got[:200]))
        socks.append(sock)
    check(health(s.port)["slots_processing"] == 4, "4 streams should be running")
    made = health(s.port)["tokens_generated"]
    for sock in socks:
        drop(sock)
    h = wait_idle(s.port, 10)
    check(h["slots_processing"] == 0, "the slots of the clients that left are still busy: %r" % h)
    # each asked for ~2040 tokens: far fewer were made before the slots freed
    check(h["tokens_generated"] - made < 4 * 1000, "the abandoned streams ran on: %r" % h)
    deadline = time.time() + 5
    while s.text().count("cancelled") - before < 4 and time.time() < deadline:
        time.sleep(0.05)
    check(s.text().count("cancelled") - before == 4, "the server did not log 4 cancelled requests")
    # every slot serves again: 4 parallel requests complete
    out = []
    threads = [threading.Thread(target=lambda i=i: out.append(client.completions.create(
        model="tiny", prompt="Again %d" % i, max_tokens=8, temperature=0).usage.completion_tokens))
        for i in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    check(out == [8, 8, 8, 8], "after the disconnects: %r" % out)


def bad_inputs(s, client):
    port = s.port

    def expect(status, body, param=None, code=None, path="/v1/completions", key=KEY, contains=None):
        st, text, _ = raw(port, "POST", path, body, key=key)
        try:
            err = json.loads(text)["error"]
            shaped = set(err) == {"message", "type", "param", "code"} and err["message"]
        except (ValueError, KeyError, TypeError):
            err, shaped = {}, False
        ok = st == status and shaped and (param is None or err.get("param") == param) and (
            code is None or err.get("code") == code) and (contains is None or all(c in err["message"] for c in contains))
        check(ok, "%s %r: expected %d %s %s, got %d %s" % (path, body if len(str(body)) < 200 else "(long)", status,
                                                           param, code, st, text[:300]))

    expect(400, b"{not json")
    expect(400, b"")
    expect(400, b"[1, 2]")
    expect(400, b"\xff\xfe{}")
    expect(400, {"prompt": 5}, "prompt")
    expect(400, {"max_tokens": 4}, "prompt")
    expect(400, {"prompt": "x", "max_tokens": "8"}, "max_tokens")
    expect(400, {"prompt": "x", "max_tokens": 0}, "max_tokens")
    expect(400, {"prompt": "x", "max_tokens": 2.5}, "max_tokens")
    expect(400, {"prompt": "x", "temperature": 5}, "temperature")
    expect(400, {"prompt": "x", "temperature": "hot"}, "temperature")
    expect(400, {"prompt": "x", "top_p": 0}, "top_p")
    expect(400, {"prompt": "x", "seed": "s"}, "seed")
    expect(400, {"prompt": "x", "stop": 3}, "stop")
    expect(400, {"prompt": "x", "stop": ["a", "b", "c", "d", "e"]}, "stop")
    expect(400, {"prompt": "x", "stream": "yes"}, "stream")
    expect(400, {"prompt": "x", "n": 2}, "n")
    expect(400, {"prompt": "\ud800"})  # a lone surrogate: cJSON refuses it as JSON
    expect(400, {"messages": "hi"}, "messages", path="/v1/chat/completions")
    expect(400, {"messages": []}, "messages", path="/v1/chat/completions")
    expect(400, {"messages": [{"role": "robot", "content": "x"}]}, "messages", path="/v1/chat/completions")
    expect(400, {"messages": [{"role": "user", "content": 7}]}, "messages", path="/v1/chat/completions")
    expect(400, {"messages": [{"role": "assistant", "content": "x"}]}, "messages", path="/v1/chat/completions")
    expect(404, {"prompt": "x", "model": "gpt-4"}, "model", "model_not_found")
    # the prompt longer than the context: the numbers are in the message
    expect(400, {"prompt": "hello " * 2500}, "prompt", "context_length_exceeded", contains=["tokens long", str(CONTEXT)])
    st, text, _ = raw(port, "POST", "/v1/completions", {"prompt": "hello " * 2500})
    m = re.search(r"the prompt is (\d+) tokens long", text)
    check(m and int(m.group(1)) > CONTEXT, "the refusal does not give the prompt's length: " + text)
    # a body over --max-body: 413, announced (Content-Length) or not (chunked)
    expect(413, {"prompt": "x" * 70000}, code="request_too_large")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.putrequest("POST", "/v1/completions")
    c.putheader("Authorization", "Bearer " + KEY)
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    try:
        for _ in range(10):
            c.send(b"2000\r\n" + b"x" * 0x2000 + b"\r\n")
        c.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may answer and close before it has read everything
    r = c.getresponse()
    check(r.status == 413, "chunked body over the limit: %d" % r.status)
    c.close()
    # the key: missing, wrong, a prefix of the right one, right but not Bearer
    expect(401, {"prompt": "x"}, key=None, code="invalid_api_key")
    expect(401, {"prompt": "x"}, key="wrong", code="invalid_api_key")
    expect(401, {"prompt": "x"}, key=KEY[:-1], code="invalid_api_key")
    expect(401, {"prompt": "x"}, key=KEY + "x", code="invalid_api_key")
    st, _, _ = raw(port, "GET", "/v1/models", key=None)
    check(st == 401, "/v1/models without the key: %d" % st)
    st, _, _ = raw(port, "GET", "/v1/nothing")
    check(st == 404, "unknown path: %d" % st)
    st, _, headers = raw(port, "GET", "/v1/completions")
    check(st == 405, "GET /v1/completions: %d" % st)
    # and through the openai client: its own exception types
    for call, exc in [(lambda: client.completions.create(model="tiny", prompt="x", temperature=5),
                       openai.BadRequestError),
                      (lambda: client.completions.create(model="nope", prompt="x"), openai.NotFoundError),
                      (lambda: openai.OpenAI(base_url=client.base_url, api_key="wrong", max_retries=0)
                       .completions.create(model="tiny", prompt="x"), openai.AuthenticationError)]:
        try:
            call()
            check(False, "no %s" % exc.__name__)
        except exc:
            pass
    # the server still answers after all that
    check(health(port)["status"] == "ok", "health after the bad inputs")


def no_template():
    """A base model without a chat template: /v1/chat/completions says so; completions work."""
    s = Server(write_model("base", "none"), "--parallel", "1", "--queue", "0")
    st, body, _ = raw(s.port, "POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
    check(st == 400 and "chat template" in json.loads(body)["error"]["message"], "no template: %d %s" % (st, body))
    st, body, _ = raw(s.port, "POST", "/v1/completions", {"prompt": "hi", "max_tokens": 3})
    check(st == 200 and json.loads(body)["usage"]["completion_tokens"] == 3, "base completion: " + body)
    s.stop()


def soak(s):
    """8 clients, 30 requests each: random endpoint, stream or not, lengths, cancellations and bad bodies."""
    counts = {"done": 0, "cancelled": 0, "refused": 0, "bad": 0}
    lock = threading.Lock()
    deadline = time.time() + 240

    def client_thread(seed):
        rng = random.Random(seed)
        for n in range(30):
            if time.time() > deadline:
                return
            chat = rng.random() < 0.5
            stream = rng.random() < 0.5
            path = "/v1/chat/completions" if chat else "/v1/completions"
            body = {"max_tokens": rng.randint(1, 48), "temperature": rng.choice([0, 0.7, 1.2]), "stream": stream,
                    "seed": rng.randint(0, 1000)}
            if rng.random() < 0.2:
                body["stop"] = rng.choice(["e", "the", ["a", "\n"]])
            text = "soak %d %d " % (seed, n) + "word " * rng.randint(0, 80)
            if chat:
                body["messages"] = [{"role": "user", "content": text}]
            else:
                body["prompt"] = text
            kind = rng.random()
            if kind < 0.08:  # a bad request
                body["max_tokens"] = "many"
                st, resp, _ = raw(s.port, "POST", path, body)
                ok = check(st == 400, "soak bad request: %d" % st)
                with lock:
                    counts["bad"] += ok
                continue
            cancel = kind < 0.3
            if cancel and (not stream or rng.random() < 0.3):  # gone before the answer
                sock = socket.create_connection(("127.0.0.1", s.port), timeout=60)
                data = json.dumps(body).encode()
                sock.sendall(b"POST %s HTTP/1.1\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n" %
                             (path.encode(), KEY.encode(), len(data)) + data)
                time.sleep(rng.random() * 0.2)
                drop(sock)
                with lock:
                    counts["cancelled"] += 1
                continue
            if cancel:  # gone mid-stream (or refused before)
                sock, got = open_stream(s.port, path, body)
                check(got.startswith(b"HTTP/1.1 200") or got.startswith(b"HTTP/1.1 503"),
                      "soak stream: %r" % got[:100])
                drop(sock)
                with lock:
                    counts["cancelled"] += 1
                continue
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=120)
            c.request("POST", path, json.dumps(body), {"Authorization": "Bearer " + KEY,
                                                       "Content-Type": "application/json"})
            r = c.getresponse()
            if r.status == 503:
                check(r.getheader("Retry-After") == "1", "soak 503 without Retry-After")
                r.read()
                c.close()
                with lock:
                    counts["refused"] += 1
                continue
            check(r.status == 200, "soak: status %d" % r.status)
            data = r.read().decode("utf-8", "replace")
            c.close()
            if stream:
                events, done = sse_events(data)
                ok = check(done and events and events[-1]["choices"][0]["finish_reason"] in ("stop", "length"),
                           "soak stream incomplete: %r" % data[-200:])
            else:
                j = json.loads(data)
                ok = check(j["choices"][0]["finish_reason"] in ("stop", "length") and
                           j["usage"]["completion_tokens"] <= body["max_tokens"], "soak answer: %r" % data[:200])
            with lock:
                counts["done"] += ok

    threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(8)]
    start = time.time()
    [t.start() for t in threads]
    [t.join() for t in threads]
    total = sum(counts.values())
    print("soak: %d requests in %.1f s: %r" % (total, time.time() - start, counts))
    check(total >= 200, "soak: only %d requests in the time allowed" % total)
    h = wait_idle(s.port, 30)
    check(h["slots_processing"] == 0 and h["requests_queued"] == 0, "soak: not idle afterwards: %r" % h)
    out = [client_ok(s.port, i) for i in range(4)]
    check(all(out), "soak: the server does not answer afterwards")


def client_ok(port, i):
    st, body, _ = raw(port, "POST", "/v1/completions", {"prompt": "after %d" % i, "max_tokens": 4})
    return st == 200 and json.loads(body)["usage"]["completion_tokens"] == 4


def main():
    cfg = write_model("tiny", "llama2")
    s = Server(cfg, "--parallel", "4", "--queue", "4", "--api-key", KEY, "--max-body", "65536", "-c", str(CONTEXT))
    client = openai.OpenAI(base_url="http://127.0.0.1:%d/v1" % s.port, api_key=KEY, max_retries=0, timeout=120)
    try:
        if SOAK:
            soak(s)
        else:
            for step in (endpoints, parallel_equals_serial, bad_inputs, disconnects):
                step(s, client)
                print("%s: %s" % (step.__name__, "failed" if failures else "ok"), flush=True)
            overload(s)
            print("overload: %s" % ("failed" if failures else "ok"), flush=True)
    finally:
        s.stop()
    if not SOAK:
        no_template()
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("llama-vk-server%s: all checks passed" % (" soak" if SOAK else ""))


if __name__ == "__main__":
    main()
