# Regenerates */random_expected.jsonl (see README.md). Deterministic for fixed library versions.
import random, json, unicodedata
import tiktoken, sentencepiece as spm
from tiktoken.load import load_tiktoken_bpe
import os
D=os.path.dirname(os.path.abspath(__file__))
# 'assigned' below means assigned in Python's Unicode tables, which must be 14.0 (Python 3.11) to match PCRE2 10.42.
assert unicodedata.unidata_version == '14.0.0', 'run with Python 3.11 (Unicode 14.0)'
pat=r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
enc=tiktoken.Encoding(name='llama3',pat_str=pat,mergeable_ranks=load_tiktoken_bpe(D+'/llama3/tokenizer.model'),special_tokens={})
sp=spm.SentencePieceProcessor(model_file=D+'/llama2/tokenizer.model')
random.seed(20261128)
special=[0x85,0xA0,0x1680,0x180E,0x2000,0x200A,0x200B,0x200D,0x2028,0x2029,0x202F,0x205F,0x3000,0xFEFF,0x17F,0x212A,0x130,0x131,0x9,0xA,0xB,0xC,0xD,0x1C,0x1D,0x1E,0x1F,0x301,0x660,0x966,0xFF10,0x2160,0xBD,0x1F600,0x1F468]
pieces=["'s","'S","'t","'re","'ve","'m","'ll","'d","'\u017f","'K","  ","\n\n"," \n","\r\n","123456","hello","World","中文","日本語","한국어","...","\u180e "," \u180e\u180e"]
def ch():
    r=random.random()
    if r<0.3: return chr(random.randint(0x20,0x7e))
    if r<0.45: return chr(random.choice(special))
    if r<0.55: return random.choice(pieces)
    if r<0.85:
        while True:
            c=random.randint(1,0x2FFFF)
            # only characters assigned in Unicode 14 (what PCRE2 10.42's tables know)
            if not (0xD800<=c<=0xDFFF) and unicodedata.category(chr(c))!='Cn': return chr(c)
    return chr(random.randint(0x4E00,0x9FFF))
texts=["G\u870e\u180e&R","a\u180eb","\u180e\u180e x","x \u180e\ny"]
while len(texts)<500:
    s=''.join(ch() for _ in range(random.randint(1,random.choice([5,20,60]))))
    texts.append(s.replace('\u2581','_'))
with open(D+'/llama3/random_expected.jsonl','w') as f3, open(D+'/llama2/random_expected.jsonl','w') as f2:
    for i,s in enumerate(texts):
        ids=enc.encode(s); f3.write(json.dumps({'i':i,'text':s,'ids':ids,'decoded':enc.decode(ids)})+'\n')
        ids=sp.encode(s); f2.write(json.dumps({'i':i,'text':s,'ids':ids,'decoded':sp.decode(ids)})+'\n')
print(tiktoken.__version__, spm.__version__, unicodedata.unidata_version)
