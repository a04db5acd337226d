#!/usr/bin/env python3
"""The GGUF vocabulary that `orpo export --merge --format gguf` converts from a Hugging Face folder's tokenizer.json,
against llama.cpp's own converter: convert_hf_to_gguf.py and its gguf-py as vendored in llama-cpp-python 0.3.36's
source distribution (pins: reference/requirements-gguf.txt; the sdist is fetched with pip, or given with --llama-cpp).

llama.cpp's converter names the pre-tokenizer (`tokenizer.ggml.pre`) by a checksum of the ids the tokenizer gives for
a fixed text ("chkhsh"), and refuses checksums it does not list, as those of the small tokenizers trained for our
tests. Ours then reads the name off the pre-tokenizer's structure; so does this script (`structural_pre`, written
from tokenizers' JSON schema), handing that name to the converter in place of its refusal. The fixtures record the
checksum transformers gives (what ours must compute too) and whether llama.cpp's table knew it.

Writes:
  Tests/TokenizationTests/Fixtures/gguf_vocab.json: for the trained tokenizers of TokenizationTests (gpt2, llama3,
    qwen2, smollm2) in folders with the tokenizer_config.json / config.json / chat_template.jinja given here (CASES),
    every tokenizer.* key llama.cpp's converter (--vocab-only, Qwen2ForCausalLM: the plain byte-level BPE path)
    wrote, with its GGUF type; and transformers' GGUF loader reading that file against the folder's tokenizer on the
    557 corpus strings (ids equal, recorded).
  Tests/ModelsTests/Fixtures/gguf_from_hf.json: the tiny merged ORPO model (Tests/ModelsTests/Fixtures/export/merged)
    converted by llama.cpp (--outtype f32): every metadata key but general.*'s naming, and the FNV-1a of each tensor's
    bytes. Then `orpo export --merge --format gguf --quant f32|f16` (--orpo, a built binary) on the same folder:
    its metadata must equal llama.cpp's; transformers' GGUF loader on our file must encode the corpus strings and a
    rendered chat as the folder's tokenizer does, and generate (greedy, 32 new tokens) what the folder's model does.

Setup: python3 -m venv .venv-gguf && .venv-gguf/bin/pip install /opt/wheels/torch-2.13.0+cpu-*.whl \\
  -r reference/requirements-gguf.txt
  .venv-gguf/bin/python reference/check_gguf_vocab.py --orpo .build/debug/orpo
"""
import argparse
import ast
import glob
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
TOKENIZATION = os.path.join(ROOT, "Tests", "TokenizationTests", "Fixtures")
MERGED = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "export", "merged")
VOCAB_OUT = os.path.join(TOKENIZATION, "gguf_vocab.json")
MODEL_OUT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "gguf_from_hf.json")
PINNED = {"gguf": "0.19.0", "numpy": "2.4.6", "transformers": "5.23.0", "safetensors": "0.8.0", "accelerate": "1.15.0",
          "sentencepiece": "0.2.3"}
LLAMA_CPP_PYTHON = "0.3.36"
LLAMA_CPP_SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
NEW_TOKENS = 32
PROMPT = [1, 17, 230, 5, 640, 899, 42]

# Folders built around the trained tokenizers: (tokenizer_config.json or None, config.json, chat_template.jinja or None).
# The converter's Qwen2 class takes the plain byte-level BPE path (no model-specific keys); model_type "llama" and
# tokenizer_class TokenizersBackend make transformers read tokenizer.json as it is (its Qwen2Tokenizer would add an
# <|endoftext|> of its own).
QWEN2 = {"architectures": ["Qwen2ForCausalLM"], "model_type": "llama", "hidden_size": 32, "num_hidden_layers": 1,
         "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 64}
CASES = {
    # Added tokens special (<mask>) and not ([SW], <extra>), ids past the tokenizer padded, named templates.
    "gpt2": ({"tokenizer_class": "TokenizersBackend", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
              "mask_token": "<mask>", "chat_template": [{"name": "default", "template": "{{ messages }}"},
                                                          {"name": "tool use", "template": "{{ tools }}"}]},
             dict(QWEN2, vocab_size=910, bos_token_id=0, eos_token_id=0), None),
    # BOS from the post-processor's template, EOS named; config's list-valued eos_token_id is skipped.
    "llama3": ({"tokenizer_class": "TokenizersBackend", "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                "chat_template": "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>"
                                 "{{ m['content'] }}<|eot_id|>{% endfor %}"},
               dict(QWEN2, vocab_size=1000, bos_token_id=0, eos_token_id=[1, 4]), None),
    # No BOS named (Qwen's null): config.json's bos_token_id; the template from chat_template.jinja; add_bos_token.
    "qwen2": ({"tokenizer_class": "TokenizersBackend", "bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "add_bos_token": False},
              dict(QWEN2, vocab_size=1000, bos_token_id=0, eos_token_id=2),
              "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"),
    # No tokenizer_config.json: only config.json's ids.
    "smollm2": (None, dict(QWEN2, vocab_size=900, bos_token_id=1, eos_token_id=2, pad_token_id=2), None),
}


def versions():
    v = {name: importlib.metadata.version(name) for name in PINNED}
    for name, want in PINNED.items():
        assert v[name] == want, f"{name} {v[name]} installed, pinned {want}"
    import torch
    v["torch"] = torch.__version__
    v["python"] = sys.version.split()[0]
    v["llama_cpp_python_sdist"] = LLAMA_CPP_PYTHON
    return v


def llama_cpp_source(given):
    """vendor/llama.cpp of llama-cpp-python's sdist: `given`, else fetched with pip into a temporary folder."""
    if given:
        return given
    folder = tempfile.mkdtemp(prefix="llama-cpp-sdist-")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-d", folder,
                    f"llama-cpp-python=={LLAMA_CPP_PYTHON}"], check=True)
    (archive,) = glob.glob(os.path.join(folder, "llama_cpp_python-*.tar.gz"))
    digest = hashlib.sha256(open(archive, "rb").read()).hexdigest()
    assert digest == LLAMA_CPP_SDIST_SHA256, f"{archive}: sha256 {digest}"
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return os.path.join(folder, f"llama_cpp_python-{LLAMA_CPP_PYTHON}", "vendor", "llama.cpp")


def check_text(source):
    """convert_hf_to_gguf's `chktxt`, read out of the vendored conversion/base.py."""
    for line in open(os.path.join(source, "conversion", "base.py"), encoding="utf-8"):
        if line.strip().startswith("chktxt = "):
            return ast.literal_eval(line.split("=", 1)[1].strip())
    raise RuntimeError("no chktxt in conversion/base.py")


def structural_pre(tokenizer_json):
    """The llama.cpp pre-tokenizer whose splitting tokenizer.json's pre_tokenizer does (GPT-2's byte-level regex,
    single digits then GPT-2's, Llama-3's or Qwen2's split then byte-level without regex)."""
    pre = tokenizer_json["pre_tokenizer"]
    llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    qwen2 = llama3.replace("\\p{N}{1,3}", "\\p{N}")
    if pre["type"] == "ByteLevel" and pre.get("use_regex", True):
        return "gpt-2"
    steps = pre.get("pretokenizers", [])
    if pre["type"] == "Sequence" and len(steps) == 2:
        a, b = steps
        if a["type"] == "Digits" and a["individual_digits"] and b["type"] == "ByteLevel" and b["use_regex"]:
            return "smollm"
        if a["type"] == "Split" and a["behavior"] == "Isolated" and not a["invert"] and b["type"] == "ByteLevel" \
                and not b["use_regex"]:
            return {llama3: "llama-bpe", qwen2: "qwen2"}.get(a["pattern"].get("Regex"))
    return None


WRAPPER = r"""
import json, os, runpy, sys
from hashlib import sha256
source, record = sys.argv[1], sys.argv[2]
sys.path.insert(0, source)
import conversion.base as base
listed = base.TextModel.get_vocab_base_pre
def get_vocab_base_pre(self, tokenizer):
    chkhsh = sha256(str(tokenizer.encode(json.loads(os.environ["CHKTXT"]))).encode()).hexdigest()
    try:
        name, known = listed(self, tokenizer), True
    except NotImplementedError:
        name, known = os.environ["STRUCTURAL_PRE"], False
    json.dump({"chkhsh": chkhsh, "pre": name, "llama_cpp_lists_checksum": known}, open(record, "w"))
    return name
base.TextModel.get_vocab_base_pre = get_vocab_base_pre
sys.argv = [os.path.join(source, "convert_hf_to_gguf.py")] + sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def convert(source, folder, out, extra):
    """llama.cpp's converter on `folder`; returns what get_vocab_base_pre saw."""
    work = tempfile.mkdtemp(prefix="llama-cpp-convert-")
    wrapper, record = os.path.join(work, "wrap.py"), os.path.join(work, "pre.json")
    open(wrapper, "w").write(WRAPPER)
    env = dict(os.environ, CHKTXT=json.dumps(check_text(source)),
               STRUCTURAL_PRE=structural_pre(json.load(open(os.path.join(folder, "tokenizer.json")))) or "")
    subprocess.run([sys.executable, wrapper, source, record, folder, "--outfile", out] + extra, check=True, env=env,
                   capture_output=True)
    return json.load(open(record))


def fields(path, skip=("GGUF.",)):
    """Every metadata key of a GGUF: [type, value] (arrays: ["array", element type, values])."""
    from gguf import GGUFReader
    out = {}
    for f in GGUFReader(path).fields.values():
        if f.name.startswith(skip):
            continue
        types = [t.name.lower() for t in f.types]
        value = f.contents()
        out[f.name] = ["array", types[1], value] if types[0] == "array" else [types[0], value]
    return out


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in bytes(data):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def corpus():
    return json.load(open(os.path.join(TOKENIZATION, "corpus.json")))["strings"]


def compare_encodings(folder, gguf_dir, gguf_file, strings):
    """transformers' tokenizer from the GGUF against the folder's: strings whose ids differ, with and without the
    special tokens encode adds."""
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(folder)
    ours = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=gguf_file)
    differ = []
    for s in strings:
        for special in (False, True):
            a, b = hf(s, add_special_tokens=special)["input_ids"], ours(s, add_special_tokens=special)["input_ids"]
            if a != b:
                differ.append({"text": s, "add_special_tokens": special, "folder": a, "gguf": b})
    return differ


def vocab_cases(source, strings):
    results = {}
    for name, (tokenizer_config, config, jinja) in CASES.items():
        folder = tempfile.mkdtemp(prefix=f"gguf-vocab-{name}-")
        shutil.copy(os.path.join(TOKENIZATION, name, "tokenizer.json"), folder)
        if tokenizer_config is not None:
            json.dump(tokenizer_config, open(os.path.join(folder, "tokenizer_config.json"), "w"), indent=1)
        json.dump(config, open(os.path.join(folder, "config.json"), "w"), indent=1)
        if jinja is not None:
            open(os.path.join(folder, "chat_template.jinja"), "w").write(jinja)
        out = os.path.join(folder, "vocab.gguf")
        pre = convert(source, folder, out, ["--vocab-only"])
        metadata = {k: v for k, v in fields(out).items() if k.startswith("tokenizer.")}
        differ = compare_encodings(folder, folder, "vocab.gguf", strings)
        print(f"{name}: pre {pre['pre']} (llama.cpp lists the checksum: {pre['llama_cpp_lists_checksum']}), "
              f"{len(metadata)} tokenizer keys, transformers' GGUF tokenizer differs from the folder's on "
              f"{len(differ)} of {2 * len(strings)} encodings")
        results[name] = {"tokenizer_config": tokenizer_config, "config": config, "chat_template_jinja": jinja,
                         "checksum": pre["chkhsh"], "llama_cpp_lists_checksum": pre["llama_cpp_lists_checksum"],
                         "metadata": metadata, "transformers_differs": differ[:20],
                         "transformers_differ_count": len(differ)}
    return results


def generate(model, prompt):
    import torch
    ids = torch.tensor([prompt])
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=NEW_TOKENS,
                             min_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=0)
    return out[0, len(prompt):].tolist()


def model_case(source, orpo, strings):
    import torch
    from gguf import GGUFReader
    from transformers import AutoModelForCausalLM, AutoTokenizer
    work = tempfile.mkdtemp(prefix="gguf-from-hf-")
    reference = os.path.join(work, "llama-cpp-f32.gguf")
    pre = convert(source, MERGED, reference, ["--outtype", "f32"])
    naming = ("general.name", "general.size_label", "general.tags", "general.type", "general.basename",
              "general.finetune")
    want = {k: v for k, v in fields(reference).items() if k not in naming}
    tensors = {t.name: fnv1a64(t.data.tobytes()) for t in GGUFReader(reference).tensors}
    folder_model = AutoModelForCausalLM.from_pretrained(MERGED, dtype=torch.float32).eval()
    want_ids = generate(folder_model, PROMPT)
    chat = AutoTokenizer.from_pretrained(MERGED).apply_chat_template(
        [{"role": "user", "content": "What is 12 + 30?"}, {"role": "assistant", "content": "42, I think."}],
        tokenize=False, add_generation_prompt=True)
    report = {}
    for quant in ("f32", "f16"):
        file = f"orpo-{quant}.gguf"
        subprocess.run([orpo, "export", "--model", MERGED, "--merge", "--format", "gguf", "--quant", quant, "--out",
                        os.path.join(work, file)], check=True)
        ours = {k: v for k, v in fields(os.path.join(work, file)).items() if k not in naming}
        if quant == "f32":
            assert ours == want, f"{file}: metadata differs from llama.cpp's: " + str(
                sorted(k for k in set(ours) | set(want) if ours.get(k) != want.get(k)))
            ours_tensors = {t.name: fnv1a64(t.data.tobytes()) for t in GGUFReader(os.path.join(work, file)).tensors}
            assert ours_tensors == tensors, f"{file}: tensors differ from llama.cpp's"
        # transformers' GGUF loader has no split for llama.cpp's "smollm" pre-tokenizer (single digits first): it
        # encodes digits as GPT-2's regex groups them. Every other string must encode as the folder does.
        differ = compare_encodings(MERGED, work, file, strings + [chat])
        digitless = [d for d in differ if not any(c.isdigit() for c in d["text"])]
        assert not digitless, f"{file}: transformers' GGUF tokenizer differs on {digitless[:2]}"
        model = AutoModelForCausalLM.from_pretrained(work, gguf_file=file, dtype=torch.float32).eval()
        ids = generate(model, PROMPT)
        assert ids == want_ids, f"{file}: transformers generates {ids}, the folder's model {want_ids}"
        report[file] = {"compared_with_llama_cpp": quant == "f32", "encodings_checked": 2 * (len(strings) + 1),
                        "transformers_differ_count": len(differ), "transformers_differs": differ[:10],
                        "generated_ids": ids}
        print(f"{file}: {'metadata and tensors equal llama.cpp f32 conversion; ' if quant == 'f32' else ''}"
              f"transformers' tokenizer differs on "
              f"{len(differ)} of {2 * (len(strings) + 1)} encodings (all with digits); greedy {NEW_TOKENS} equal: True")
    return {"checksum": pre["chkhsh"], "llama_cpp_lists_checksum": pre["llama_cpp_lists_checksum"],
            "pre": pre["pre"], "metadata": want, "tensors_fnv1a64": tensors, "prompt": PROMPT,
            "generated_ids": want_ids, "chat": chat, "ours": report}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--llama-cpp", help="vendor/llama.cpp of an extracted llama-cpp-python 0.3.36 sdist")
    p.add_argument("--orpo", default=os.path.join(ROOT, ".build", "debug", "orpo"))
    a = p.parse_args()
    v = versions()
    source = llama_cpp_source(a.llama_cpp)
    text = check_text(source)
    strings = corpus()
    common = {"generator": "reference/check_gguf_vocab.py", "versions": v,
              "chktxt_sha256": hashlib.sha256(text.encode()).hexdigest()}
    vocab = dict(common, cases=vocab_cases(source, strings))
    with open(VOCAB_OUT, "w") as f:
        json.dump(vocab, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {VOCAB_OUT}")
    model = dict(common, **model_case(source, a.orpo, strings))
    with open(MODEL_OUT, "w") as f:
        json.dump(model, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {MODEL_OUT}")


if __name__ == "__main__":
    main()
