#!/usr/bin/env python3
"""Writes tests/data/chat/{llama2,llama3}.jsonl: conversations rendered to token ids by HF transformers'
apply_chat_template with the models' own chat_template strings, the oracle for src/io/chat_template.c.

    python3 -m venv /tmp/venv-chat && /tmp/venv-chat/bin/pip install transformers jinja2 sentencepiece \
        tiktoken tokenizers protobuf
    /tmp/venv-chat/bin/python tools/chat_template_oracle.py      # from the repository root

No torch needed. The tokenizers are built from the real files in tests/data/tokenizers/ the way the models'
HF repos define them (their tokenizer.json):
- LLaMA-2: SentencePiece BPE with byte fallback, normalizer Prepend("▁") + Replace(" ", "▁") applied to each
  run of text between the special tokens <s> </s> (so "<s>[INST]" is <s> "▁[" ..., as in Meta's own
  chat_completion code). bos_token "<s>", eos_token "</s>".
- LLaMA-3: tiktoken ranks as byte-level BPE with the LLaMA-3 split regex, the 256 special tokens of
  special_tokens.txt; bos_token "<|begin_of_text|>" (the instruct template writes it as text).
Every rendering is checked a second time without transformers: the rendered text is split at the special
tokens and each run encoded by sentencepiece / tiktoken themselves. Each line of the output:
{"name", "messages", "add_generation_prompt", "text" (the rendered string), "ids"}.
"""
import json
import os
import re
import sys

import sentencepiece
import tiktoken
from tiktoken.load import load_tiktoken_bpe
from tokenizers import AddedToken, Tokenizer, decoders, normalizers
from tokenizers.models import BPE
from transformers import PreTrainedTokenizerFast
from transformers.convert_slow_tokenizer import SentencePieceExtractor, TikTokenConverter, generate_merges

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TOK = os.path.join(ROOT, "tests", "data", "tokenizers")
OUT = os.path.join(ROOT, "tests", "data", "chat")

# meta-llama/Llama-2-7b-chat-hf, tokenizer_config.json "chat_template" (the JSON's \\n is Jinja's '\n').
LLAMA2_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)

# meta-llama/Meta-Llama-3-8B-Instruct, tokenizer_config.json "chat_template" (real newlines in the string).
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim"
    " + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)


def S(text):
    return {"role": "system", "content": text}


def U(text):
    return {"role": "user", "content": text}


def A(text):
    return {"role": "assistant", "content": text}


# (name, messages, add_generation_prompt, templates it is valid for)
BOTH, ONLY3 = ("llama2", "llama3"), ("llama3",)
CONVERSATIONS = [
    ("one_user_turn", [U("Hello!")], True, BOTH),
    ("system_and_user", [S("You are a helpful assistant."), U("What is the capital of France?")], True, BOTH),
    ("two_turns_with_system",
     [S("You are a pirate."), U("Hi, who are you?"), A("Arr, I be Captain Byte."), U("Where is your ship?")],
     True, BOTH),
    ("three_turns_no_system",
     [U("Count to three."), A("1, 2, 3."), U("Now backwards."), A("3, 2, 1."), U("Thanks!")], True, BOTH),
    ("chinese",
     [S("你是一个乐于助人的助手。"), U("北京是哪个国家的首都？"), A("北京是中国的首都。"), U("请用一句话介绍一下长城。")],
     True, BOTH),
    ("empty_user", [U("")], True, BOTH),
    ("empty_user_with_system", [S("Be brief."), U("")], True, BOTH),
    ("empty_system", [S(""), U("Hello")], True, BOTH),
    ("whitespace_only_contents",
     [S("   "), U(" \n\t "), A("  "), U("\n")], True, BOTH),
    ("edge_whitespace",
     [S("  You are terse.  \n"), U("\n  What is 2+2?  \n"), A(" 4 \n"), U("\t and 3+3 ?\t")], True, BOTH),
    ("multi_line_code",
     [U("Fix this:\n\n```c\nint main(void) {\n    return 0\n}\n```\n"),
      A("Add the semicolon:\n\n```c\nint main(void) {\n    return 0;\n}\n```"),
      U("Why?\nPlease explain\nline by line.")], True, BOTH),
    ("unicode_whitespace_edges",
     [U("\u3000\u3000你好，世界\u3000"), A("\u00a0Hi\u00a0\u2028"), U("\u2003emoji 👋🏽 ok\u205f")], True, BOTH),
    ("template_lookalike_text",
     [U("What does [INST] mean, and <<SYS>>?"), A("They are [/INST] markers."), U("And [/INST]?")], True, BOTH),
    ("ends_with_assistant", [U("Say hi."), A("Hi!")], True, BOTH),
    ("no_generation_prompt", [S("Sys."), U("Question?"), A("Answer."), U("Next?")], False, BOTH),
    ("system_only", [S("You are a helpful assistant.")], True, BOTH),
    ("llama3_any_role_order",
     [U("first"), U("second"), S("a late system message"), A("ok"), A("again")], True, ONLY3),
]


def llama2_tokenizer():
    path = os.path.join(TOK, "llama2", "tokenizer.model")
    sp = sentencepiece.SentencePieceProcessor(model_file=path)
    vocab = SentencePieceExtractor(path).extract(BPE)["vocab"]
    # Merges ranked by the pieces' scores, as SentencePiece applies them (and as the models' tokenizer.json has
    # them): ranked by id instead, "  [" would become "▁▁" "[" where SentencePiece gives "▁" "▁[".
    scores = {sp.id_to_piece(i): sp.get_score(i) for i in range(sp.get_piece_size())}
    merges = generate_merges(vocab, scores)
    tok = Tokenizer(BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ("<unk>", "<s>", "</s>")])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    hf.chat_template = LLAMA2_TEMPLATE
    return hf, sp


def llama3_tokenizer():
    path = os.path.join(TOK, "llama3", "tokenizer.model")
    specials = {}
    with open(os.path.join(TOK, "llama3", "special_tokens.txt"), encoding="utf-8") as f:
        for line in f:
            i, name = line.rstrip("\n").split("\t")
            specials[name] = int(i)
    tok = TikTokenConverter(vocab_file=path, pattern=LLAMA3_PATTERN, extra_special_tokens=list(specials)).converted()
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
    hf.chat_template = LLAMA3_TEMPLATE
    for name, i in specials.items():
        assert hf.convert_tokens_to_ids(name) == i, name
    tt = tiktoken.Encoding("llama3", pat_str=LLAMA3_PATTERN, mergeable_ranks=load_tiktoken_bpe(path),
                           special_tokens=specials)
    return hf, tt


def check_llama2(sp, text):
    """<s>/</s> as ids, every run between them encoded by SentencePiece (dummy prefix included)."""
    ids = []
    for part in re.split(r"(<s>|</s>)", text):
        if part == "<s>":
            ids.append(1)
        elif part == "</s>":
            ids.append(2)
        elif part:
            ids.extend(sp.encode(part))
    return ids


def main():
    os.makedirs(OUT, exist_ok=True)
    l2, sp = llama2_tokenizer()
    l3, tt = llama3_tokenizer()
    oracles = {"llama2": (l2, lambda text: check_llama2(sp, text)),
               "llama3": (l3, lambda text: tt.encode(text, allowed_special="all"))}
    for name, (hf, check) in oracles.items():
        lines = []
        for conv, messages, gen, valid in CONVERSATIONS:
            if name not in valid:
                continue
            text = hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)
            ids = hf.apply_chat_template(messages, tokenize=True, add_generation_prompt=gen)
            if not isinstance(ids, list):  # transformers 5 returns a BatchEncoding
                ids = ids["input_ids"]
            if ids != check(text):
                sys.exit(f"{name} {conv}: transformers and the reference encoder disagree:\n{ids}\n{check(text)}")
            lines.append(json.dumps({"name": conv, "messages": messages, "add_generation_prompt": gen,
                                     "text": text, "ids": ids}, ensure_ascii=True))
        with open(os.path.join(OUT, f"{name}.jsonl"), "w", encoding="ascii", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        print(f"{name}: {len(lines)} conversations")
    # What the roles rule does in transformers (the C code gives a clear error instead).
    try:
        l2.apply_chat_template([U("a"), U("b")], tokenize=False)
        sys.exit("llama2: non-alternating roles were accepted")
    except Exception as e:  # jinja2 TemplateError
        print(f"llama2 refuses user, user: {e}")


if __name__ == "__main__":
    main()
