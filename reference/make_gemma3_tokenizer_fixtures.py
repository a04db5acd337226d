#!/usr/bin/env python3
"""transformers' tokenizer of the real Gemma 3 270M GGUF (`ORPO_GEMMA3=1 scripts/setup.sh`; SHA-256 checked), as
`AutoTokenizer.from_pretrained(dir, gguf_file=...)` builds it (integrations/gguf/gguf_tokenizer_mapping.py:
gemma_tokenizer -> GemmaTokenizer), for Tests/TokenizationTests/Fixtures/:

  gemma3_270m_gguf_expected.json   ids of the shared corpus (corpus.json) and of Gemma-specific strings (turn
                                   markers, whitespace runs, tabs, HTML tags, newlines), decodes, special tokens,
                                   added-token ids, BOS/EOS rule
  gemma3_tiny_vocab.gguf           a tokenizer-only GGUF holding a subset of the real vocabulary (every token with
  (+ .expected.json)               id < 3000, the tab runs, the image markers) with its types and scores, so the
                                   Gemma rules are tested without the 250 MB model

Pins: transformers 5.23.0, tokenizers 0.23.3, gguf 0.19.0 (reference/requirements.txt); the GGUF reader imports
torch, and the CPU wheel of torch 2.13.0 does (the `.venv-models` set of make_architecture_fixtures.py, plus gguf):
    .venv-models/bin/pip install gguf==0.19.0
    .venv-models/bin/python reference/make_gemma3_tokenizer_fixtures.py [models/gemma-3-270m-q4_k_m.gguf]
"""
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile

import gguf
import tokenizers
import transformers
from transformers import AutoTokenizer

assert transformers.__version__ == "5.23.0", transformers.__version__
assert tokenizers.__version__ == "0.23.3", tokenizers.__version__
assert importlib.metadata.version("gguf") == "0.19.0"
ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "gemma-3-270m-q4_k_m.gguf")
SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
OUT = os.path.join(ROOT, "Tests", "TokenizationTests", "Fixtures")

# Gemma-specific strings beside the shared corpus: its turn format (the GGUF carries no chat template, so the
# two-turn conversation is written out as Gemma 3's template renders it), control and user-defined tokens inside
# text, whitespace runs the vocabulary has tokens for, and text long enough to be one big BPE word.
TWO_TURNS = ("<bos><start_of_turn>user\nWhat is 2 + 3?<end_of_turn>\n<start_of_turn>model\n5.<end_of_turn>\n"
             "<start_of_turn>user\nAnd times 4?  Answer in words.<end_of_turn>\n<start_of_turn>model\n")
EXTRA = [
    TWO_TURNS,
    "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello! 👋<end_of_turn>\n",
    "<bos>text after bos", "a<eos>b", "<pad><unk><mask>", "<unused0> <unused42>", "[multimodal]",
    "<start_of_image><end_of_image>", "<table><tr><td>1</td></tr></table>", "<s>not special</s>", "<h1>Title</h1>",
    "\t", "\t\tindented", "\t \t", "two  spaces", "ten          spaces", " lead", "  lead2", "trail ", "trail2  ",
    "\n", "\n\n", "\n\n\nthree", "a\n \nb", "x\r\ny", "mixed \t\n whitespace \n\t ",
    "The quick brown fox jumps over the lazy dog. " * 8,
    "Numbers 0 1 22 333 4444 55555 3.14159 -7 1e10 2024-12-05",
    "def f(x):\n    return x ** 2  # square\n",
    "Ünïcödé façade — “quotes” ‘single’ … ½ ² ™", "日本語と中文と한국어", "😀😃😄 👨‍👩‍👧‍👦 🇫🇷 ❤️",
    "\u200b\u00a0\u3000", "\ufffd", "control \x01\x02 chars", "",
]


def versions():
    return {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
            "gguf": importlib.metadata.version("gguf"), "python": sys.version.split()[0]}


def ranges(ids):
    """Sorted ids as [first, last] runs."""
    out = []
    for i in sorted(ids):
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def expected_for(tok, strings):
    entries = []
    for text in strings:
        plain = tok(text, add_special_tokens=False)["input_ids"]
        special = tok(text, add_special_tokens=True)["input_ids"]
        assert special == [tok.bos_token_id] + plain, (text, special, plain)
        entry = {"ids": plain}
        decoded = tok.decode(plain, skip_special_tokens=False)
        if decoded != text:
            entry["decoded"] = decoded
        skipped = tok.decode(special, skip_special_tokens=True)
        if skipped != decoded:
            entry["decoded_skip_special"] = skipped
        entries.append(entry)
    return entries


def describe(tok):
    """Special tokens, the BOS/EOS rule and every added token (all are unstripped and match the raw text)."""
    added = tok.backend_tokenizer.get_added_tokens_decoder()
    for token in added.values():
        assert not token.normalized and not token.lstrip and not token.rstrip and not token.single_word, token
    return {
        "class": type(tok).__name__, "len": len(tok), "chat_template": tok.chat_template,
        "bos_token": tok.bos_token, "eos_token": tok.eos_token, "pad_token": tok.pad_token, "unk_token": tok.unk_token,
        "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id, "pad_token_id": tok.pad_token_id,
        "unk_token_id": tok.unk_token_id,
        "prefix": tok("", add_special_tokens=True)["input_ids"],
        "added_special_ids": ranges(i for i, t in added.items() if t.special),
        "added_plain_ids": ranges(i for i, t in added.items() if not t.special),
        "normalizer": json.loads(tok.backend_tokenizer.normalizer.__getstate__()),
        "pre_tokenizer": json.loads(tok.backend_tokenizer.pre_tokenizer.__getstate__()),
        "decoder": json.loads(tok.backend_tokenizer.decoder.__getstate__()),
    }


def tiny_vocabulary_file(path, reader):
    """A tokenizer-only GGUF with a subset of the real vocabulary, types and scores, and the same special ids."""
    tokens = reader.fields["tokenizer.ggml.tokens"].contents()
    types = reader.fields["tokenizer.ggml.token_type"].contents()
    scores = reader.fields["tokenizer.ggml.scores"].contents()
    keep = list(range(3000)) + [i for i, t in enumerate(tokens) if t.startswith("\t") and not t.strip()]
    keep += [tokens.index("<start_of_image>"), tokens.index("<end_of_image>")]
    writer = gguf.GGUFWriter(path, "gemma3")
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([tokens[i] for i in keep])
    writer.add_token_scores([scores[i] for i in keep])
    writer.add_token_types([types[i] for i in keep])
    for key in ("bos_token_id", "eos_token_id", "unknown_token_id", "padding_token_id"):
        writer.add_uint32(f"tokenizer.ggml.{key}", keep.index(reader.fields[f"tokenizer.ggml.{key}"].contents()))
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    digest = hashlib.sha256(open(MODEL, "rb").read()).hexdigest()
    assert digest == SHA256, f"{MODEL}: SHA-256 {digest}, expected {SHA256}"
    corpus = json.load(open(os.path.join(OUT, "corpus.json"), encoding="utf-8"))["strings"]
    strings = corpus + EXTRA
    folder, name = os.path.split(os.path.abspath(MODEL))
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    fixture = {"versions": versions(), "model_sha256": SHA256, "tokenizer": describe(tok),
               "extra_strings": EXTRA, "entries": expected_for(tok, strings)}
    write_json(os.path.join(OUT, "gemma3_270m_gguf_expected.json"), fixture)
    print("gemma3 270m:", {k: v for k, v in fixture["tokenizer"].items() if not k.startswith("added")})

    with tempfile.TemporaryDirectory() as tmp:
        tiny = os.path.join(tmp, "gemma3_tiny_vocab.gguf")
        tiny_vocabulary_file(tiny, gguf.GGUFReader(MODEL))
        shutil.copy(tiny, os.path.join(OUT, "gemma3_tiny_vocab.gguf"))
        small = AutoTokenizer.from_pretrained(tmp, gguf_file="gemma3_tiny_vocab.gguf")
        write_json(os.path.join(OUT, "gemma3_tiny_vocab.expected.json"),
                   {"versions": versions(), "tokenizer": describe(small), "extra_strings": EXTRA,
                    "entries": expected_for(small, strings)})
        print("tiny:", {k: v for k, v in describe(small).items() if not k.startswith("added")})


if __name__ == "__main__":
    main()
