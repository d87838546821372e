#!/usr/bin/env python3
"""llama-vk --chat driven through a pseudo-terminal, as a person types: several turns, a turn continued
with a trailing backslash, a Chinese turn, invalid UTF-8, Ctrl-C in the middle of an answer, a context
overflow, /reset, /exit.
Checks that turn 2 prefills only its new tokens (the number llama-vk-tokenize gives for the new turn, plus
the last answer's pending token and end-of-turn id) after everything turn 1 left in the cache.

    chat_pty.py BIN_DIR TEST_DATA TMP_DIR      (ctest runs it; exit 0 = pass)
"""
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

BIN, DATA, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
N = 24  # tokens per answer (-n)
STATS = re.compile(rb"\((\d+) new tokens prefilled after (\d+) in the cache; (\d+) tokens")


def fail(msg, screen=b""):
    print("FAIL:", msg)
    if screen:
        print("---- screen ----\n" + screen.decode("utf-8", "replace")[-3000:])
    sys.exit(1)


def setup():
    ckpt = os.path.join(TMP, "chat_pty.ckpt")
    subprocess.run([os.path.join(BIN, "llama-vk-testmodel"), "-o", ckpt, "-V", "2", "--dim", "64", "--layers", "2",
                    "--heads", "4", "--kv-heads", "4", "--ffn", "160", "--vocab", "32000", "--seed", "31"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cfg = {"name": "chat-pty", "chat_template": "llama2",
           "model": {"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 4, "ffn_dim": 160, "vocab_size": 32000,
                     "norm_eps": 1e-5, "rope_theta": 10000.0, "max_seq_len": 256},
           "tokenizer": {"type": "sentencepiece", "file": os.path.join(DATA, "tokenizers/llama2/tokenizer.model"),
                         "bos_id": 1, "eos_ids": [2]},
           "checkpoint": ckpt}
    path = os.path.join(TMP, "chat_pty.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def rendered_length(text):
    """Ids of one user turn under the llama2 template, by the project's tokenizer tool."""
    path = os.path.join(TMP, "chat_pty_turn.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"messages": [{"role": "user", "content": text}]}, f)
    out = subprocess.run([os.path.join(BIN, "llama-vk-tokenize"), "--chat-template", "llama2", "--messages", path,
                          "-F", os.path.join(DATA, "tokenizers/llama2/tokenizer.model"), "--json"],
                         check=True, capture_output=True).stdout
    return len(json.loads(out)["ids"])


class Session:
    def __init__(self, args):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execv(args[0], args)
        self.screen = b""

    def read_until(self, pattern, timeout=60.0, since=0):
        deadline = time.time() + timeout
        while True:
            m = re.search(pattern, self.screen[since:])
            if m:
                return m
            left = deadline - time.time()
            if left <= 0:
                fail("timed out waiting for %r" % pattern, self.screen)
            r, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    fail("llama-vk ended while waiting for %r" % pattern, self.screen)
                self.screen += data

    def send(self, text):
        os.write(self.fd, text.encode("utf-8"))

    def turn(self, text):
        """Types a turn, waits for its stats line: (prefilled, cached, made)."""
        mark = len(self.screen)
        self.send(text + "\r")
        m = self.read_until(STATS, since=mark)
        self.read_until(rb"> $", since=mark)
        return tuple(int(g) for g in m.groups())


def main():
    cfg = setup()
    s = Session([os.path.join(BIN, "llama-vk"), "--chat", "-C", cfg, "-c", "160", "-n", str(N), "--temp", "0"])
    s.read_until(rb"> $")

    p1, c1, n1 = s.turn("Hello there")
    if c1 != 0 or n1 != N:
        fail("turn 1: %d cached, %d made" % (c1, n1), s.screen)
    if p1 != rendered_length("Hello there"):
        fail("turn 1 prefilled %d tokens, the rendering has %d" % (p1, rendered_length("Hello there")), s.screen)

    # Turn 2, typed over two lines: only its own tokens, plus the answer's last token and its </s>.
    p2, c2, _ = s.turn("What is a GPU? \\\rAnswer briefly.")
    new = rendered_length("What is a GPU? \nAnswer briefly.")
    if c2 != p1 + N - 1 or p2 != new + 2:
        fail("turn 2: prefilled %d after %d cached; expected %d after %d" % (p2, c2, new + 2, p1 + N - 1), s.screen)
    print("turn 2 prefilled %d tokens (the new turn is %d) after %d in the cache" % (p2, new, c2))

    # Ctrl-C in the middle of an answer: the answer stops, the session goes on.
    s2 = Session([os.path.join(BIN, "llama-vk"), "--chat", "-C", cfg, "-c", "256", "-n", "2000", "--temp", "0"])
    s2.read_until(rb"> $")
    mark = len(s2.screen)
    s2.send("Tell me a long story\r")
    s2.read_until(rb"\S{3}", since=mark + 25)  # some of the answer is out
    os.kill(s2.pid, signal.SIGINT)
    m = s2.read_until(STATS, since=mark)
    s2.read_until(rb"stopped by Ctrl-C", since=mark)
    if int(m.group(3)) >= 2000 - 200:
        fail("Ctrl-C did not stop the answer early", s2.screen)
    p, c, _ = s2.turn("Go on")
    if c == 0:
        fail("after Ctrl-C the conversation was lost", s2.screen)
    s2.send("/exit\r")
    os.waitpid(s2.pid, 0)

    # Invalid UTF-8 in a turn: a clear message, and the session goes on.
    mark = len(s.screen)
    os.write(s.fd, b"bad \xff\xfe bytes\r")
    s.read_until(rb"error: .*UTF-8", since=mark)
    s.read_until(rb"> $", since=mark)

    # A Chinese turn: prefilled as rendered, the answer streamed.
    _, c3, _ = s.turn("你好，GPU 是什么？")
    if c3 <= c2:
        fail("the Chinese turn did not go after the earlier ones", s.screen)

    # The context overflows (160 positions, ~35 a turn): the oldest turns go, and it says so.
    mark = len(s.screen)
    for i in range(4):
        s.turn("Turn number %d, please." % i)
    s.read_until(rb"the context was full", since=mark)

    # /reset: a new conversation starts with an empty cache.
    s.send("/reset\r")
    s.read_until(rb"a new conversation")
    _, c, _ = s.turn("Hello again")
    if c != 0:
        fail("after /reset the cache held %d tokens" % c, s.screen)

    s.send("/exit\r")
    _, status = os.waitpid(s.pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        fail("llama-vk --chat exited with %r" % status, s.screen)
    print("chat through a pseudo-terminal: 1 passed, 0 failed")


if __name__ == "__main__":
    main()
