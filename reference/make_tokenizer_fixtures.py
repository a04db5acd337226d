#!/usr/bin/env python3
# Dumps the Tokenization test fixtures: small tokenizers trained with HF `tokenizers`, a corpus, and HF's ids.
"""Reference fixtures for Tests/TokenizationTests (pinned: tokenizers==0.23.3, transformers==5.23.0).

What it writes to Tests/TokenizationTests/Fixtures/:
  corpus.json                      >= 500 strings (unicode, CJK, emoji/ZWJ, combining marks, whitespace runs,
                                   digits, code, contractions in caps, special tokens inside text, "")
  <kind>/tokenizer.json            a small tokenizer of each kind, trained here on the corpus + filler text:
      gpt2        ByteLevel(use_regex) + added tokens with lstrip/rstrip/single_word/normalized
      llama3      Split(Llama-3 regex) + ByteLevel, ignore_merges, TemplateProcessing adds <|begin_of_text|>
      qwen2       NFC + Split(Qwen2 regex) + ByteLevel, no BOS
      smollm2     Digits(individual) + ByteLevel(use_regex), no BOS
      llama2      SentencePiece-style BPE: Prepend+Replace normalizer, byte fallback, <s> added
      mistral     the same vocabulary with Metaspace(prepend_scheme "first", split false), as transformers
                  builds a Llama/Mistral tokenizer (and a GGUF "llama" vocabulary)
  <kind>/expected.json             HF ids for every corpus string without special tokens, the prefix/suffix the
                                   post-processor adds (checked here to hold for every string), and decodes
  gguf_<kind>.gguf                 tokenizer-only GGUF files (no tensors) for the gpt2/llama-bpe and llama
                                   vocabularies, with transformers' ids for them in gguf_<kind>.expected.json
  smollm2_gguf_expected.json       ids of the real SmolLM2-135M-Instruct GGUF vocabulary, as transformers
                                   builds it (AutoTokenizer.from_pretrained(dir, gguf_file=...)); only ids.

Run: /work/main/.venv-ref/bin/python reference/make_tokenizer_fixtures.py [--models models]
"""
import argparse
import json
import os
import random
import shutil
import tempfile
import unicodedata

import tokenizers
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "TokenizationTests", "Fixtures")

GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def versions():
    return {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__}


# ---------------------------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------------------------

HAND_WRITTEN = [
    "", " ", "  ", "\n", "\t", "\r\n", " \n ", "a", "A", "Hello world", "Hello world!", " Hello world",
    "hello  world", "hello   world  ", "Hello\nworld", "Hello\n\nworld", "Hello \n world", "line1\r\nline2\r\n",
    "tabs\there\t\tand\tthere", "trailing spaces   ", "   leading spaces", "\n\n\n", "  \n\n  \n", "x \t\n y",
    "I'm here", "I'M HERE", "you're", "YOU'RE", "we've", "WE'VE", "she'll", "SHE'LL", "he'd", "HE'D",
    "it's", "IT'S", "don't", "DON'T", "They'Re", "'s", "'S", "''s", "'ſ", "Iſ'ſ", "'ſa", "'Ka", "'LLama", "l'll", "rock'n'roll",
    "1", "12", "123", "1234", "12345", "123456789", "3.14159", "1,000,000", "-42", "+7", "0x1F", "2024-01-31",
    "١٢٣ Arabic digits", "Ⅻ roman", "½ and ¾", "²³ superscripts", "phone: +1 (555) 123-4567",
    "日本語のテキスト", "中文测试句子。", "한국어 문장입니다", "Привет, мир!", "Γειά σου Κόσμε", "שלום עולם",
    "مرحبا بالعالم", "नमस्ते दुनिया", "ภาษาไทย", "Tiếng Việt có dấu", "Ελληνικά και English",
    "café", "cafe\u0301", "naïve résumé", "Å Å", "e\u0301\u0301", "\u0301 leading combining mark",
    "ﬁ ligature", "Ｆｕｌｌｗｉｄｔｈ", "①②③", "ⓐⓑⓒ", "™ ® ©", "x²", "H₂O",
    "😀", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦 family", "🏳️‍🌈 flag", "🇫🇷🇩🇪 flags", "❤️", "a😀b", " 😀 ", "emoji at end 🎉",
    "zero\u200bwidth", "nbsp\u00a0here", "ideographic\u3000space", "em\u2003space", "line\u2028sep", "nel\u0085x",
    "\u00ad soft hyphen", "bidi \u202e override", "\ufeffBOM", "control \x01\x02 chars", "del \x7f char",
    "def foo(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) { a[i] = b[i]; }",
    "if x == 1:\n\tprint('one')\nelse:\n\tpass", "<div class=\"a\">text</div>", "SELECT * FROM t WHERE id=1;",
    "x => x + 1", "a && b || !c", "path/to/file.txt", "https://example.com/a?b=c&d=e#f", "user@example.com",
    "#include <stdio.h>", "    indented code", "\tfunc main() {}", "snake_case_name", "camelCaseName",
    "SCREAMING_CASE", "kebab-case-name", "$HOME/.config", "~/bin", "C:\\Windows\\System32", "`code`", "```swift\nlet x = 1\n```",
    "**bold** _italic_", "- item\n- item 2", "1. first\n2. second", "> quote", "| a | b |\n|---|---|",
    "...", "!!!", "???", "?!", "—", "–", "…", "«quotes»", "„German“", "'single'", "\"double\"", "(parens)",
    "[brackets]", "{braces}", "a-b", "a_b", "a.b", "a,b", "a;b", "a:b", "a/b", "a\\b", "a|b", "a~b",
    "<|endoftext|>", "Hello<|endoftext|>world", "Hello <|endoftext|> world", "<|im_start|>user\nHi<|im_end|>\n",
    "<|im_start|>assistant\nHello!<|im_end|>", "<s>Hello</s>", "<s> Hello </s>", "text <s> inside",
    "<|begin_of_text|>Hi", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>", "<unk>", "<mask>",
    "fill <mask> here", "fill<mask>here", "x  <mask>  y", "[SW] alone", "a[SW]b", "word [SW]", "[sw]",
    "<extra> token", "<EXTRA>", "<|endoftext|><|endoftext|>", "<|im_end|><|im_start|>", "<s><s></s>",
    "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "the the the the",
    "Supercalifragilisticexpialidocious", "antidisestablishmentarianism", "aaaaaaaaaaaaaaaaaaaa",
    "abababababababab", "ZZZZZZZZZZ", "1111111111", "0000", "a1b2c3d4", "abc123def456", "v1.2.3-beta",
    "x\u0000y", "\u2581already meta", "\u2581\u2581", "▁ spaces ▁", "Ġ", "Ċ", "ĠĠ",
    " leading", "  two leading", "trailing ", "a  b  c", "a\u3000b", "\u00a0\u00a0",
]

WORDS = ("the of and to in is you that it he was for on are as with his they I at be this have from or one had by "
         "word but not what all were we when your can said there use an each which she do how their if will up "
         "other about out many then them these so some her would make like him into time has look two more write "
         "go see number no way could people my than first water been call who oil its now find long down day did "
         "get come made may part Über straße façade coöperate mañana Zürich Ångström smörgåsbord piñata").split()

FRAGMENTS = ["日本", "语言", "한국", "😀", "👍🏽", "👨‍💻", "é", "e\u0301", "ß", "Σ", "ς", "42", "7", "2025",
             "3.5", "'s", "'LL", "'Re", "\n", "\n\n", "\t", "  ", "   ", "\r\n", "<|endoftext|>", "<|im_start|>",
             "<|im_end|>", "<s>", "</s>", "<mask>", "[SW]", "!", "?", "...", "()", "{}", "->", "::", "==", "//",
             "#", "@", "$", "%", "^", "&", "*", "+", "=", "`", "~", "\u00a0", "\u3000", "ı", "İ", "ǅ", "ﬃ"]


def build_corpus(seed=1234, size=560):
    rng = random.Random(seed)
    corpus = list(HAND_WRITTEN)
    while len(corpus) < size:
        parts = []
        for _ in range(rng.randint(1, 7)):
            r = rng.random()
            if r < 0.55:
                word = rng.choice(WORDS)
                style = rng.random()
                word = word.upper() if style < 0.15 else (word.capitalize() if style < 0.35 else word)
                parts.append(word)
            elif r < 0.85:
                parts.append(rng.choice(FRAGMENTS))
            else:
                parts.append(str(rng.randint(0, 10 ** rng.randint(1, 7))))
            parts.append(rng.choice([" ", " ", " ", "", "  ", "\n", ", ", ". "]))
        text = "".join(parts)
        if rng.random() < 0.3:
            text = text.strip()
        corpus.append(text)
    # Keep order, drop duplicates.
    seen, out = set(), []
    for s in corpus:
        if s not in seen:
            seen.add(s)
            out.append(s)
    assert len(out) >= 500, len(out)
    return out


def training_text(corpus, seed=99):
    rng = random.Random(seed)
    filler = []
    for _ in range(3000):
        filler.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))))
    code = ["def f(x):\n    return x + 1\n", "for i in range(10):\n\tprint(i)\n", "int main() { return 0; }",
            "let value = compute(a, b) // note", "if (a == b) { c = d; } else { e(); }"] * 40
    return filler + code + corpus * 2


# ---------------------------------------------------------------------------------------------------------------
# Tokenizers of each kind
# ---------------------------------------------------------------------------------------------------------------

def train_byte_level(text, vocab_size, specials, pre_tokenizer, normalizer=None, ignore_merges=False):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(text, trainer)
    return tok


def make_gpt2(text):
    tok = train_byte_level(text, 900, ["<|endoftext|>"], pre_tokenizers.ByteLevel(add_prefix_space=False))
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    # Added tokens exercising lstrip/rstrip/single_word/normalized (RoBERTa's <mask> is lstrip).
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)])
    tok.add_tokens([AddedToken("[SW]", single_word=True, normalized=False),
                    AddedToken("<extra>", rstrip=True, normalized=True)])
    return tok


def make_llama3(text):
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok = train_byte_level(text, 1000, specials, pre, ignore_merges=True)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    return tok


def make_qwen2(text):
    pre = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok = train_byte_level(text, 1000, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], pre,
                           normalizer=normalizers.NFC())
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def make_smollm2(text):
    pre = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                   pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    tok = train_byte_level(text, 900, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], pre)
    tok.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B:1", special_tokens=[])
    return tok


BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]


def make_llama2(text):
    """Llama-2 style: <unk>,<s>,</s>, then <0x00>..<0xFF> as plain vocabulary entries, then learned merges."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = None
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    trainer = trainers.BpeTrainer(vocab_size=1100, special_tokens=["<unk>", "<s>", "</s>"] + BYTE_TOKENS,
                                  limit_alphabet=120, show_progress=False)
    tok.train_from_iterator(text, trainer)
    data = json.loads(tok.to_str())
    # Byte tokens are ordinary vocabulary entries in Llama-2, not added tokens.
    data["added_tokens"] = [t for t in data["added_tokens"] if t["content"] not in BYTE_TOKENS]
    tok = Tokenizer.from_str(json.dumps(data))
    s = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B:1",
                                                       special_tokens=[("<s>", s)])
    return tok


def make_mistral(llama2):
    data = json.loads(llama2.to_str())
    data["normalizer"] = None
    data["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}
    return Tokenizer.from_str(json.dumps(data))


# ---------------------------------------------------------------------------------------------------------------
# Dumping
# ---------------------------------------------------------------------------------------------------------------


def prefix_and_suffix(pairs):
    """The one (prefix, suffix) such that special == prefix + plain + suffix for every (plain, special) pair."""
    common = None
    for a, b in pairs:
        n = len(b) - len(a)
        options = {(tuple(b[:k]), tuple(b[k + len(a):])) for k in range(n + 1) if b[k:k + len(a)] == a} if n >= 0 else set()
        common = options if common is None else common & options
    assert common is not None and len(common) == 1, f"post-processor is not a fixed prefix/suffix: {common}"
    prefix, suffix = next(iter(common))
    return list(prefix), list(suffix)

def expected_for(tok, corpus):
    """Ids without special tokens for every string, the prefix/suffix the post-processor adds, and decodes."""
    plain = tok.encode_batch(corpus, add_special_tokens=False)
    special = tok.encode_batch(corpus, add_special_tokens=True)
    prefix, suffix = prefix_and_suffix([(p.ids, q.ids) for p, q in zip(plain, special)])
    entries = []
    for text, p, s in zip(corpus, plain, special):
        entry = {"ids": p.ids}
        decoded = tok.decode(p.ids, skip_special_tokens=False)
        if decoded != text:
            entry["decoded"] = decoded
        skipped = tok.decode(s.ids, skip_special_tokens=True)
        if skipped != decoded:
            entry["decoded_skip_special"] = skipped
        entries.append(entry)
    return {"versions": versions(), "prefix": prefix or [], "suffix": suffix or [], "entries": entries}


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def gguf_tokenizer_file(path, model, pre, tokens, token_types, merges=None, scores=None, bos=None, eos=None,
                        unk=None, pad=None, add_bos=None, add_eos=None, chat_template=None, arch="llama"):
    """A GGUF file with tokenizer metadata only (no tensors)."""
    import gguf
    w = gguf.GGUFWriter(path, arch)
    w.add_tokenizer_model(model)
    if pre is not None:
        w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(token_types)
    if scores is not None:
        w.add_token_scores(scores)
    if merges is not None:
        w.add_token_merges(merges)
    if bos is not None:
        w.add_bos_token_id(bos)
    if eos is not None:
        w.add_eos_token_id(eos)
    if unk is not None:
        w.add_unk_token_id(unk)
    if pad is not None:
        w.add_pad_token_id(pad)
    if add_bos is not None:
        w.add_add_bos_token(add_bos)
    if add_eos is not None:
        w.add_add_eos_token(add_eos)
    if chat_template is not None:
        w.add_chat_template(chat_template)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def vocab_list(tok):
    vocab = tok.get_vocab(with_added_tokens=True)
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    assert all(t is not None for t in tokens)
    return tokens


def transformers_gguf_ids(directory, filename, corpus):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(directory, gguf_file=filename)
    plain = [tok(text, add_special_tokens=False)["input_ids"] for text in corpus]
    special = [tok(text, add_special_tokens=True)["input_ids"] for text in corpus]
    prefix, suffix = prefix_and_suffix(list(zip(plain, special)))
    info = {"bos_token": tok.bos_token, "eos_token": tok.eos_token, "pad_token": tok.pad_token,
            "unk_token": tok.unk_token, "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
            "pad_token_id": tok.pad_token_id, "len": len(tok)}
    return tok, {"versions": versions(), "tokenizer": info, "prefix": prefix, "suffix": suffix, "ids": plain}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=os.path.join(HERE, "..", "models"))
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    corpus = build_corpus()
    write_json(os.path.join(OUT, "corpus.json"), {"versions": versions(), "strings": corpus})
    text = training_text(corpus)

    kinds = {}
    kinds["gpt2"] = make_gpt2(text)
    kinds["llama3"] = make_llama3(text)
    kinds["qwen2"] = make_qwen2(text)
    kinds["smollm2"] = make_smollm2(text)
    kinds["llama2"] = make_llama2(text)
    kinds["mistral"] = make_mistral(kinds["llama2"])
    for name, tok in kinds.items():
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        tok.save(os.path.join(folder, "tokenizer.json"), pretty=False)
        # Reload from disk so the ids come from exactly the file the Swift tests read.
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        write_json(os.path.join(folder, "expected.json"), expected_for(tok, corpus))
        print(name, tok.get_vocab_size(), "tokens")

    # A full model folder (tokenizer.json + tokenizer_config.json) read through transformers: named special tokens
    # given as a string and as an AddedToken dict, add_bos_token + add_eos_token, and a list of named templates.
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": False, "normalized": False,
                      "rstrip": False, "single_word": False, "special": True},
        "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "add_bos_token": True, "add_eos_token": True,
        "chat_template": [{"name": "default", "template": "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"},
                          {"name": "tool_use", "template": "{{ tools }}"}],
    }
    folder = os.path.join(OUT, "llama2")
    write_json(os.path.join(folder, "tokenizer_config.json"), config)
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(folder)
    sample = corpus[:40]
    plain = [hf(t, add_special_tokens=False)["input_ids"] for t in sample]
    special = [hf(t, add_special_tokens=True)["input_ids"] for t in sample]
    prefix, suffix = prefix_and_suffix(list(zip(plain, special)))
    write_json(os.path.join(folder, "expected_folder.json"), {
        "versions": versions(), "count": len(sample), "prefix": prefix, "suffix": suffix, "ids": plain,
        "tokenizer": {"bos_token": hf.bos_token, "eos_token": hf.eos_token, "pad_token": hf.pad_token,
                      "unk_token": hf.unk_token, "bos_token_id": hf.bos_token_id, "eos_token_id": hf.eos_token_id,
                      "pad_token_id": hf.pad_token_id, "len": len(hf), "chat_template": hf.chat_template}})
    print("llama2 folder", prefix, suffix, hf.pad_token_id, len(hf))

    # TRL's setup_chat_format: ChatML markers appended to the vocabulary as special tokens.
    gpt2 = Tokenizer.from_file(os.path.join(OUT, "gpt2", "tokenizer.json"))
    gpt2.add_special_tokens(["<|im_start|>", "<|im_end|>"])
    chat = ["<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>", "a<|im_start|>b"]
    write_json(os.path.join(OUT, "gpt2", "expected_chatml.json"), {
        "versions": versions(), "added": [gpt2.token_to_id("<|im_start|>"), gpt2.token_to_id("<|im_end|>")],
        "vocab_size": gpt2.get_vocab_size(with_added_tokens=True), "strings": chat,
        "ids": [gpt2.encode(t, add_special_tokens=False).ids for t in chat]})

    # Tokenizer-only GGUF files built from two of the vocabularies, read back through transformers.
    template = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    with tempfile.TemporaryDirectory() as tmp:
        llama3 = kinds["llama3"]
        tokens = vocab_list(llama3)
        specials = {t.content for t in llama3.get_added_tokens_decoder().values()}
        merges = [" ".join(m) for m in json.loads(llama3.to_str())["model"]["merges"]]
        gguf_tokenizer_file(os.path.join(tmp, "gguf_llama_bpe.gguf"), "gpt2", "llama-bpe", tokens,
                            [3 if t in specials else 1 for t in tokens], merges=merges,
                            bos=llama3.token_to_id("<|begin_of_text|>"), eos=llama3.token_to_id("<|eot_id|>"),
                            add_bos=True, chat_template=template)
        llama2 = kinds["llama2"]
        tokens = vocab_list(llama2)
        types = [3 if t in ("<s>", "</s>") else 2 if t == "<unk>" else 6 if t in BYTE_TOKENS else 1 for t in tokens]
        # SentencePiece scores: later tokens merge later, so score = -id; no merges, so transformers rebuilds them.
        gguf_tokenizer_file(os.path.join(tmp, "gguf_llama_spm.gguf"), "llama", "default", tokens, types,
                            scores=[-float(i) for i in range(len(tokens))], bos=llama2.token_to_id("<s>"),
                            eos=llama2.token_to_id("</s>"), unk=llama2.token_to_id("<unk>"), chat_template=template)
        for name in ("gguf_llama_bpe", "gguf_llama_spm"):
            shutil.copy(os.path.join(tmp, name + ".gguf"), os.path.join(OUT, name + ".gguf"))
            _, expected = transformers_gguf_ids(tmp, name + ".gguf", corpus)
            write_json(os.path.join(OUT, name + ".expected.json"), expected)
            print(name, expected["tokenizer"])

    # The real default vocabulary: ids only, the 49k vocabulary itself stays out of the repository.
    gguf_path = os.path.join(args.models, "SmolLM2-135M-Instruct.Q4_1.gguf")
    if os.path.exists(gguf_path):
        _, expected = transformers_gguf_ids(args.models, "SmolLM2-135M-Instruct.Q4_1.gguf", corpus)
        write_json(os.path.join(OUT, "smollm2_gguf_expected.json"), expected)
        print("smollm2 gguf", expected["tokenizer"])
    else:
        print("skipping the SmolLM2 GGUF ids:", gguf_path, "not found")


if __name__ == "__main__":
    main()
