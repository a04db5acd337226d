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
    rendered chat as the folder's tokenizer does (but for numerals: transformers has no "smollm" split), and generate
    (greedy, 32 new tokens) what the folder's model does. With --libllama, llama.cpp itself (llama-cpp-python
    0.3.36's bindings over a libllama built from the same sdist) must tokenize every string as the folder does and
    generate the same greedy tokens.

Setup: python3 -m venv .venv-gguf && .venv-gguf/bin/pip install /opt/wheels/torch-2.13.0+cpu-*.whl \\
  -r reference/requirements-gguf.txt
  .venv-gguf/bin/python reference/check_gguf_vocab.py --orpo .build/debug/orpo [--libllama DIR]
libllama (optional; minutes on two cores), from the sdist the script fetched or one given with --llama-cpp:
  cmake -S SDIST/vendor/llama.cpp -B /tmp/llama-build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF \\
      -DLLAMA_BUILD_COMMON=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \\
      -DLLAMA_BUILD_SERVER=OFF && cmake --build /tmp/llama-build --target llama -j2   # DIR = /tmp/llama-build/bin
  .venv-gguf/bin/python reference/check_gguf_vocab.py --smollm2 models/SmolLM2-135M-Instruct.Q4_1.gguf   # report
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

import numpy as np

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


LLAMA = {}


def llama_cpp(source, libdir):
    """llama-cpp-python 0.3.36's bindings (the sdist's llama_cpp package, beside vendor/) over a libllama built from
    the same sdist (`cmake -S vendor/llama.cpp -B build && cmake --build build --target llama`), or None."""
    if not libdir:
        return None
    if "module" not in LLAMA:
        os.environ["LLAMA_CPP_LIB_PATH"] = libdir
        sys.path.insert(0, os.path.normpath(os.path.join(source, "..", "..")))
        import llama_cpp as module
        assert module.__version__ == LLAMA_CPP_PYTHON, module.__version__
        LLAMA["module"] = module
    return LLAMA["module"]


def llama_cpp_differs(module, path, folder, strings):
    """llama.cpp's own tokenizer on a GGUF against the folder's tokenizer (transformers): strings whose ids differ,
    without and with the special tokens each adds (special tokens in the text parsed as such by both)."""
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(folder)
    vocab = module.Llama(model_path=path, vocab_only=True, verbose=False)
    differ = []
    for s in strings:
        for special in (False, True):
            a = hf(s, add_special_tokens=special)["input_ids"]
            b = vocab.tokenize(s.encode("utf-8"), add_bos=special, special=True)
            if a != b:
                differ.append({"text": s, "add_special_tokens": special, "folder": a, "llama_cpp": b})
    return differ


def llama_cpp_generate(module, path, prompt):
    """llama.cpp's greedy NEW_TOKENS tokens after `prompt` (argmax of its logits, end-of-sequence ignored)."""
    llm = module.Llama(model_path=path, n_ctx=len(prompt) + NEW_TOKENS + 8, n_threads=2, logits_all=True, verbose=False)
    llm.eval(prompt)
    out = []
    for _ in range(NEW_TOKENS):
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        out.append(token)
        llm.eval([token])
    return out


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


def model_case(source, orpo, strings, libdir=None):
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
        # transformers' GGUF loader has no split for llama.cpp's "smollm" pre-tokenizer (each numeric character on its
        # own first): it groups numerals as GPT-2's regex does. Every other string must encode as the folder does.
        differ = compare_encodings(MERGED, work, file, strings + [chat])
        digitless = [d for d in differ if not any(c.isnumeric() for c in d["text"])]
        assert not digitless, f"{file}: transformers' GGUF tokenizer differs on {digitless[:2]}"
        model = AutoModelForCausalLM.from_pretrained(work, gguf_file=file, dtype=torch.float32).eval()
        ids = generate(model, PROMPT)
        assert ids == want_ids, f"{file}: transformers generates {ids}, the folder's model {want_ids}"
        module = llama_cpp(source, libdir)
        if module is not None:
            # llama.cpp itself: its tokenizer (with the "smollm" split) encodes every string as the folder does, and
            # its greedy tokens are the folder's model's.
            llama_differ = llama_cpp_differs(module, os.path.join(work, file), MERGED, strings + [chat])
            assert not llama_differ, f"{file}: llama.cpp's tokenizer differs on {llama_differ[:2]}"
            llama_ids = llama_cpp_generate(module, os.path.join(work, file), PROMPT)
            assert llama_ids == want_ids, f"{file}: llama.cpp generates {llama_ids}, the folder's model {want_ids}"
            print(f"{file}: llama.cpp's tokenizer equal on {2 * (len(strings) + 1)} encodings, greedy {NEW_TOKENS} equal")
        report[file] = {"compared_with_llama_cpp": quant == "f32", "encodings_checked": 2 * (len(strings) + 1),
                        "llama_cpp_tokenizer_and_greedy_equal": module is not None,
                        "transformers_differ_count": len(differ), "transformers_differs": differ[:10],
                        "generated_ids": ids}
        print(f"{file}: {'metadata and tensors equal llama.cpp f32 conversion; ' if quant == 'f32' else ''}"
              f"transformers' tokenizer differs on "
              f"{len(differ)} of {2 * (len(strings) + 1)} encodings (all with numerals); greedy {NEW_TOKENS} equal: True")
    return {"checksum": pre["chkhsh"], "llama_cpp_lists_checksum": pre["llama_cpp_lists_checksum"],
            "pre": pre["pre"], "metadata": want, "tensors_fnv1a64": tensors, "prompt": PROMPT,
            "generated_ids": want_ids, "chat": chat, "ours": report}


SMOLLM_PRE_TOKENIZER = {"type": "Sequence", "pretokenizers": [
    {"type": "Digits", "individual_digits": True},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}


def smollm2_case(source, orpo, model_gguf, strings, libdir=None):
    """SmolLM2-135M-Instruct from a Hugging Face folder. No such folder ships with the project (its model is the GGUF),
    so it is rebuilt: `orpo export --merge` of the GGUF (weights, config, tokenizer.json as transformers' GGUF reader
    builds it, which has no "smollm" split), with tokenizer.json's pre-tokenizer set back to SmolLM's (single digits,
    then GPT-2's byte-level split). transformers' checksum of that tokenizer must be llama.cpp's listed SmolLM one;
    llama.cpp's converter and `orpo export --format gguf` on the folder must write the same metadata and tensors
    (f32); transformers' GGUF loader on ours must generate (greedy, 32) what the folder's model generates."""
    import torch
    from gguf import GGUFReader
    from transformers import AutoModelForCausalLM, AutoTokenizer
    work = tempfile.mkdtemp(prefix="gguf-smollm2-")
    folder = os.path.join(work, "hf")
    subprocess.run([orpo, "export", "--model", model_gguf, "--merge", "--out", folder], check=True)
    path = os.path.join(folder, "tokenizer.json")
    tokenizer_json = json.load(open(path, encoding="utf-8"))
    tokenizer_json["pre_tokenizer"] = SMOLLM_PRE_TOKENIZER
    json.dump(tokenizer_json, open(path, "w", encoding="utf-8"), ensure_ascii=False, indent=2)
    reference = os.path.join(work, "llama-cpp-f32.gguf")
    pre = convert(source, folder, reference, ["--outtype", "f32"])
    assert pre["llama_cpp_lists_checksum"] and pre["pre"] == "smollm", pre
    ours = os.path.join(work, "orpo-f32.gguf")
    subprocess.run([orpo, "export", "--model", folder, "--merge", "--format", "gguf", "--quant", "f32", "--out", ours],
                   check=True)
    naming = ("general.name", "general.size_label", "general.tags", "general.type", "general.basename",
              "general.finetune", "general.quantized_by")
    want = {k: v for k, v in fields(reference).items() if k not in naming}
    got = {k: v for k, v in fields(ours).items() if k not in naming}
    differ = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    assert not differ, f"metadata differs from llama.cpp's conversion: {differ}"
    ref_tensors = {t.name: t for t in GGUFReader(reference).tensors}
    for t in GGUFReader(ours).tensors:
        assert np.array_equal(np.asarray(t.data), np.asarray(ref_tensors[t.name].data)), t.name
    assert len(ref_tensors) == len(GGUFReader(ours).tensors)
    original = {k: v for k, v in fields(model_gguf).items() if k.startswith("tokenizer.")}
    vs_original = sorted(k for k in set(original) | {k for k in got if k.startswith("tokenizer.")}
                         if original.get(k) != got.get(k))
    hf_tok = AutoTokenizer.from_pretrained(folder)
    chat = hf_tok.apply_chat_template([{"role": "user", "content": "What is 12 + 30?"}], tokenize=False,
                                      add_generation_prompt=True)
    enc = compare_encodings(folder, work, "orpo-f32.gguf", strings + [chat])
    prompt = hf_tok("The capital of France is")["input_ids"]
    want_ids = generate(AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval(), prompt)
    ids = generate(AutoModelForCausalLM.from_pretrained(work, gguf_file="orpo-f32.gguf", dtype=torch.float32).eval(),
                   prompt)
    assert ids == want_ids, f"transformers on our GGUF generates {ids}, on the folder {want_ids}"
    module = llama_cpp(source, libdir)
    if module is not None:
        llama_differ = llama_cpp_differs(module, ours, folder, strings + [chat])
        llama_ids = llama_cpp_generate(module, ours, prompt)
        print(f"llama.cpp on our GGUF: tokenizer differs from the folder's on {len(llama_differ)} encodings "
              f"{[d['text'] for d in llama_differ[:3]]}; greedy {NEW_TOKENS} equal to transformers on the folder: "
              f"{llama_ids == want_ids} {hf_tok.decode(llama_ids)!r}")
    print(f"SmolLM2 from a Hugging Face folder: chkhsh {pre['chkhsh']} is llama.cpp's \"smollm\"; metadata "
          f"({len(got)} keys) and {len(ref_tensors)} tensors equal llama.cpp's f32 conversion; tokenizer keys that "
          f"differ from the original GGUF's: {vs_original}; transformers' GGUF tokenizer differs from the folder's "
          f"on {len(enc)} of {2 * (len(strings) + 1)} encodings ({sum(any(c.isnumeric() for c in d['text']) for d in enc)} "
          f"with digits); greedy {NEW_TOKENS} equal: {hf_tok.decode(ids)!r}")
    print(f"files in {work}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--llama-cpp", help="vendor/llama.cpp of an extracted llama-cpp-python 0.3.36 sdist")
    p.add_argument("--orpo", default=os.path.join(ROOT, ".build", "debug", "orpo"))
    p.add_argument("--libllama", metavar="DIR", help="a folder with libllama.so built from the same sdist: also check "
                   "llama.cpp's own tokenizer and greedy generation on our files")
    p.add_argument("--smollm2", metavar="GGUF", help="check SmolLM2 from a Hugging Face folder rebuilt from this GGUF "
                   "(no fixture; prints a report)")
    a = p.parse_args()
    v = versions()
    source = llama_cpp_source(a.llama_cpp)
    if a.smollm2:
        smollm2_case(source, a.orpo, a.smollm2, corpus(), a.libllama)
        return
    text = check_text(source)
    strings = corpus()
    common = {"generator": "reference/check_gguf_vocab.py", "versions": v,
              "chktxt_sha256": hashlib.sha256(text.encode()).hexdigest()}
    vocab = dict(common, cases=vocab_cases(source, strings))
    with open(VOCAB_OUT, "w") as f:
        json.dump(vocab, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {VOCAB_OUT}")
    model = dict(common, **model_case(source, a.orpo, strings, a.libllama))
    with open(MODEL_OUT, "w") as f:
        json.dump(model, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {MODEL_OUT}")


if __name__ == "__main__":
    main()
