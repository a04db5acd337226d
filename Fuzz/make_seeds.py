#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora into Fuzz/Corpus/<harness>/: small valid inputs (a few KB each, no weights) that
start each harness deep in its parser. Standard library only, except the Parquet seeds (pyarrow==26.0.1, as in
reference/requirements-parquet.txt; skipped when pyarrow is missing). Run from the repository root:
    python3 -m venv .venv-fuzz && .venv-fuzz/bin/pip install pyarrow==26.0.1 && .venv-fuzz/bin/python Fuzz/make_seeds.py
"""
import json
import os
import random
import shutil
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus")
rng = random.Random(14)


def out(harness, name, data):
    folder = os.path.join(ROOT, harness)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# JSON: every value kind, escapes, surrogates, deep nesting, numbers at the edges.
def json_seeds():
    docs = {
        "object": '{"a": [1, 2.5e3, -0, 1E-7, "x\\u00e9\\n\\"", null, true, false], "b": {"c": {}, "d": []}}',
        "numbers": "[0, -1, 9007199254740993, 1.7976931348623157e308, 5e-324, 123456789012345678901234567890, 0.1]",
        "strings": '["", "\\ud83d\\ude00", "\\ud800", "tab\\there", "\\/\\\\\\b\\f\\r", "ünïcödé 🙂"]',
        "nested": "[" * 40 + "]" * 40,
        "duplicate": '{"k": 1, "k": 2, "k": {"k": [3]}}',
        "scalar": '  "just a string"  ',
        "serde": json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}}, "list": list(range(10))}, indent=2),
    }
    for name, text in docs.items():
        out("JSON", name + ".json", text)


# GGUF (v3, little-endian): metadata of every wire type, a tokenizer, and small tensors of each dequantizable type.
def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_value(kind, value):
    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
    if kind == 8:
        return gguf_string(value)
    if kind == 9:
        item_kind, items = value
        return struct.pack("<IQ", item_kind, len(items)) + b"".join(gguf_value(item_kind, v) for v in items)
    return struct.pack(scalar[kind], value)


BLOCKS = {0: (1, 4), 1: (1, 2), 30: (1, 2), 28: (1, 8), 24: (1, 1), 25: (1, 2), 26: (1, 4),
          2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
          10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210)}


def gguf(metadata, tensors, version=3, alignment=32):
    body = struct.pack("<IIQQ", 0x46554747, version, len(tensors), len(metadata))
    for key, (kind, value) in metadata.items():
        body += gguf_string(key) + struct.pack("<I", kind) + gguf_value(kind, value)
    data = b""
    for name, ggml_type, shape in tensors:
        block, size = BLOCKS[ggml_type]
        count = 1
        for d in shape:
            count *= d
        payload = bytes(rng.randrange(256) for _ in range(count // block * size))
        if ggml_type in (1, 30):  # keep float halves finite-ish
            payload = b"".join(struct.pack("<H", rng.randrange(0x3000, 0x4000)) for _ in range(count))
        data += b"\0" * ((-len(data)) % alignment)
        body += gguf_string(name) + struct.pack("<I", len(shape)) + b"".join(struct.pack("<Q", d) for d in shape)
        body += struct.pack("<IQ", ggml_type, len(data))
        data += payload
    body += b"\0" * ((-len(body)) % alignment)
    return body + data


def gguf_seeds():
    every_kind = {"general.architecture": (8, "llama"), "general.alignment": (4, 32), "u8": (0, 7), "i8": (1, -7),
                  "u16": (2, 700), "i16": (3, -700), "i32": (5, -70000), "f32": (6, 0.5), "bool": (7, True),
                  "u64": (10, 1 << 40), "i64": (11, -(1 << 40)), "f64": (12, 2.5),
                  "array.i32": (9, (5, [1, 2, 3])), "array.str": (9, (8, ["a", "b"])),
                  "array.nested": (9, (9, [(4, [1]), (4, [2, 3])]))}
    out("GGUF", "metadata.gguf", gguf(every_kind, []))
    for ggml_type in sorted(BLOCKS):
        block = BLOCKS[ggml_type][0]
        shape = [block * 2, 2] if block > 1 else [8, 3]
        out("GGUF", f"tensor-{ggml_type}.gguf", gguf({"general.architecture": (8, "llama")},
                                                     [("blk.0.w", ggml_type, shape), ("b", 0, [4])]))
    out("GGUF", "v2.gguf", gguf({"general.alignment": (4, 64)}, [("t", 0, [16])], version=2, alignment=64))
    # Tokenizers: byte-level BPE (gpt2) and SentencePiece (llama), tiny vocabularies.
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    gpt2_tokens = ["<|endoftext|>", "Ġ", "!", "1", "2"] + letters + ["Ġh", "he", "ll", "Ġhe", "llo", "Ġhello"]
    merges = ["Ġ h", "h e", "l l", "Ġh e", "ll o", "Ġhe llo"]
    out("GGUF", "tokenizer-gpt2.gguf", gguf({
        "tokenizer.ggml.model": (8, "gpt2"), "tokenizer.ggml.pre": (8, "smollm"),
        "tokenizer.ggml.tokens": (9, (8, gpt2_tokens)), "tokenizer.ggml.merges": (9, (8, merges)),
        "tokenizer.ggml.token_type": (9, (5, [3] + [1] * (len(gpt2_tokens) - 1))),
        "tokenizer.ggml.bos_token_id": (4, 0), "tokenizer.ggml.eos_token_id": (4, 0),
        "tokenizer.chat_template": (8, "{% for m in messages %}{{ m.content }}{% endfor %}")}, []))
    spm_tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(16)] + ["▁", "▁h", "he", "▁he", "llo"] + letters
    out("GGUF", "tokenizer-llama.gguf", gguf({
        "tokenizer.ggml.model": (8, "llama"), "tokenizer.ggml.tokens": (9, (8, spm_tokens)),
        "tokenizer.ggml.scores": (9, (6, [-float(i) for i in range(len(spm_tokens))])),
        "tokenizer.ggml.token_type": (9, (5, [2, 3, 3] + [6] * 16 + [1] * (len(spm_tokens) - 19))),
        "tokenizer.ggml.bos_token_id": (4, 1), "tokenizer.ggml.eos_token_id": (4, 2),
        "tokenizer.ggml.add_bos_token": (7, True)}, []))


# safetensors: header + data, every dtype, metadata, an empty tensor, a scalar.
def safetensors(tensors, metadata=None):
    sizes = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        count = 1
        for d in shape:
            count *= d
        payload = bytes(rng.randrange(2) if dtype == "BOOL" else rng.randrange(256) for _ in range(count * sizes[dtype]))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    dtypes = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"]
    out("SafeTensors", "dtypes.safetensors", safetensors([(f"t.{d}", d, [2, 3]) for d in dtypes], {"format": "pt"}))
    out("SafeTensors", "shapes.safetensors", safetensors([("scalar", "F32", []), ("empty", "F32", [0, 4]),
                                                          ("w", "F32", [4, 2, 2])]))
    out("SafeTensors", "lora.safetensors", safetensors([
        ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "F32", [4, 16]),
        ("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", "F32", [16, 4])]))
    out("SafeTensors", "empty.safetensors", safetensors([]))


# tokenizer.json: the test fixtures' pipelines (normalizers, pre-tokenizers, post-processors, decoders) with their
# vocabularies cut to a few dozen tokens and the merges that stay inside them.
def tokenizer_seeds():
    fixtures = os.path.join(os.path.dirname(ROOT), "..", "Tests", "TokenizationTests", "Fixtures")
    for family in ["gpt2", "llama2", "llama3", "mistral", "qwen2", "smollm2"]:
        with open(os.path.join(fixtures, family, "tokenizer.json")) as f:
            tokenizer = json.load(f)
        model = tokenizer["model"]
        keep = sorted(model["vocab"].items(), key=lambda kv: kv[1])[:60]
        vocab = {token: index for index, (token, _) in enumerate(keep)}
        merges = []
        for merge in model.get("merges", []):
            a, b = merge.split(" ", 1) if isinstance(merge, str) else merge
            if a in vocab and b in vocab and a + b in vocab:
                merges.append(merge)
        model["vocab"], model["merges"] = vocab, merges
        tokenizer["added_tokens"] = [dict(t, id=len(vocab) + i) for i, t in enumerate(tokenizer.get("added_tokens", []))]
        if tokenizer.get("post_processor") and "special_tokens" in tokenizer["post_processor"]:
            for entry in tokenizer["post_processor"]["special_tokens"].values():
                entry["ids"] = [min(i, len(vocab) - 1) for i in entry.get("ids", [])]
        out("Tokenizer", family + ".json", json.dumps(tokenizer, ensure_ascii=False))


# Jinja: the chat templates the tests render, plus a few constructs on their own.
def chat_template_seeds():
    fixtures = os.path.join(os.path.dirname(ROOT), "..", "Tests", "ChatTemplatesTests", "Fixtures", "templates")
    for name in sorted(os.listdir(fixtures)):
        shutil.copy(os.path.join(fixtures, name), os.path.join(ROOT, "ChatTemplate", name))
    out("ChatTemplate", "constructs.jinja",
        "{%- set ns = namespace(n=0) -%}{% macro m(x, y=2) %}{{ x ~ y }}{% endmacro %}"
        "{% for i in range(3) if i is odd %}{{ m(i) }}{{ loop.index }}{% else %}none{% endfor %}"
        "{{ messages | map(attribute='role') | join(', ') | upper }}{{ {'a': [1, 2][-1:]} | tojson }}"
        "{% if not add_generation_prompt %}{{ raise_exception('x') }}{% elif 1 in [1] %}{{ '%d' % 3 }}{% endif %}"
        "{{ messages[0]['content'].split(' ')[0].strip() | length }}{{ strftime_now('%Y') }}"
        "{% set x %}block{% endset %}{{ x | trim }}{{ 'a' if true else 'b' }}{# comment #}")


# Parquet (pyarrow): one small table of the types the reader knows, under each codec, page version and encoding.
def parquet_seeds():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        print("pyarrow missing: Parquet seeds skipped")
        return
    table = pa.table({
        "prompt": ["What is 2+2?", None, "Name a colour.", "ünïcödé"],
        "chosen": [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "4"}], [], None,
                   [{"role": "assistant", "content": "red"}]],
        "score": pa.array([1.5, None, -2.0, 0.0], pa.float64()),
        "count": pa.array([1, 2, None, 4], pa.int32()),
        "big": pa.array([1 << 40, None, -1, 0], pa.int64()),
        "flag": [True, False, None, True],
        "tags": [["a", "b"], None, [], ["c"]],
        "f": pa.array([0.5, 1.5, None, 2.5], pa.float32()),
    })
    folder = os.path.join(ROOT, "Parquet")
    os.makedirs(folder, exist_ok=True)
    for codec in ["none", "snappy", "gzip", "zstd"]:
        for version in ["1.0", "2.0"]:
            for dictionary in [True, False]:
                name = f"{codec}-v{version[0]}-{'dict' if dictionary else 'plain'}.parquet"
                pq.write_table(table, os.path.join(folder, name), compression=codec, data_page_version=version,
                               use_dictionary=dictionary, row_group_size=2)


if __name__ == "__main__":
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    json_seeds()
    gguf_seeds()
    safetensors_seeds()
    tokenizer_seeds()
    os.makedirs(os.path.join(ROOT, "ChatTemplate"), exist_ok=True)
    chat_template_seeds()
    parquet_seeds()
