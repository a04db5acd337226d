#!/usr/bin/env python3
"""Checks what `orpo export --merge --format gguf` writes by loading it with gguf-py and with transformers' GGUF
loader (pinned: reference/requirements-gguf.txt), against the merged Hugging Face export of the same model.

For each GGUF file:
  (a) gguf-py's GGUFReader: every tensor has llama.cpp's name, the type the quantization asks for, and (after undoing
      llama.cpp's q/k row permutation for the llama architecture) dequantizes to the merged HF weight within the
      quantization's own error. F32 must be exact; F16/BF16/Q8_0/Q4_0/Q5_0 must be the very bytes gguf-py's own
      quantizer writes from the merged weight; Q4_K/Q6_K (which gguf-py cannot write) must be the bytes ggml writes
      (llama.cpp's ggml_quantize_chunk through the pinned llama-cpp-python's libggml), when that library is there;
  (b) transformers' AutoModelForCausalLM.from_pretrained(dir, gguf_file=...): the state dict against the merged HF
      weights (max |difference| recorded), and greedy generation of 32 new tokens (end-of-sequence ignored);
  (c) the generated ids from the f32 and f16 files must equal what the merged HF model generates through transformers
      (and, in --model mode, the text must equal `orpo generate` on the merged folder).

Tiny mode (default), for Tests/ModelsTests/Fixtures/gguf_export.json: DIR holds the GGUFs our code wrote from the tiny
ORPO fixture model with its TRL adapter merged (`ORPO_GGUF_EXPORT_DIR=DIR swift test --filter GGUFExportTests`), whose
merged HF export is Tests/ModelsTests/Fixtures/export/merged. Their sha256 and what the readers saw are recorded;
GGUFExportTests checks that our export still writes those bytes and generates those ids. The tiny Qwen3 and Phi-3
of ArchitectureTests are checked the same way (FAMILIES).
  .venv-gguf/bin/python reference/check_gguf_export.py --tiny DIR

Model mode, for a real model (no fixture; prints a report): runs ORPO (an `orpo` binary) to export MODEL merged as a
Hugging Face folder and as GGUF in every --quant into a temporary folder, then checks them as above.
  .venv-gguf/bin/python reference/check_gguf_export.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf \
      --orpo .build/debug/orpo [--adapter DIR] [--quants f32,f16]
A Gemma 3 GGUF exported again (tokenizer metadata, weights and greedy tokens through transformers):
  .venv-gguf/bin/python reference/check_gguf_export.py --gemma3 models/gemma-3-270m-q4_k_m.gguf
The default run's check (issue 15): train it briefly, then the same with its adapter, f32 and f16:
  .build/debug/orpo train --set max_steps=5 --set output_dir=/tmp/orpo-default --set save_steps=5
  .venv-gguf/bin/python reference/check_gguf_export.py --model models/SmolLM2-135M-Instruct.Q4_1.gguf \
      --adapter /tmp/orpo-default/adapter --quants f32,f16

Setup: python3 -m venv .venv-gguf && .venv-gguf/bin/pip install /opt/wheels/torch-2.13.0+cpu-*.whl \
  -r reference/requirements-gguf.txt
"""
import argparse
import ctypes
import glob
import hashlib
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.quants import dequantize, quantize
from safetensors.numpy import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

PINNED = {"gguf": "0.19.0", "numpy": "2.4.6", "transformers": "5.23.0", "safetensors": "0.8.0", "accelerate": "1.15.0"}
ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
TINY_MERGED = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "export", "merged")
OUT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "gguf_export.json")
TINY_PROMPT = [1, 17, 230, 5, 640, 899, 42]
QUANTS = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m"]
NEW_TOKENS = 32
HF_NAMES = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm", "attn_q": "self_attn.q_proj",
            "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
            "ffn_gate": "mlp.gate_proj", "ffn_down": "mlp.down_proj", "attn_q_norm": "self_attn.q_norm",
            "attn_k_norm": "self_attn.k_norm", "attn_qkv": "self_attn.qkv_proj"}


def versions():
    v = {name: importlib.metadata.version(name) for name in PINNED}
    for name, want in PINNED.items():
        assert v[name] == want, f"{name} {v[name]} installed, pinned {want}"
    v["torch"] = torch.__version__
    v["python"] = sys.version.split()[0]
    try:
        v["llama_cpp_python"] = importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        pass
    return v


def ggml_library(path=None):
    """ggml's own quantizer (ggml_quantize_chunk in libggml-base): PATH, else the pinned llama-cpp-python's copy; None
    when neither is there. A libggml-base built from llama-cpp-python 0.3.36's sdist (vendor/llama.cpp) is the same
    code: `pip install llama-cpp-python==0.3.36` compiles it first, so its partial build will do."""
    if path is None:
        try:
            import llama_cpp
        except ImportError:
            return None
        libs = glob.glob(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-base.so*"))
        if not libs:
            return None
        path = libs[0]
    lib = ctypes.CDLL(path)
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_void_p]
    lib.ggml_row_size.restype = ctypes.c_size_t
    lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
    return lib


def ggml_quantize(lib, x, qtype):
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, n = x.shape
    out = np.zeros(lib.ggml_row_size(int(qtype), n) * rows, dtype=np.uint8)
    lib.ggml_quantize_chunk(int(qtype), x.ctypes.data, out.ctypes.data, 0, rows, n, None)
    return out


def hf_name(gguf_name):
    if gguf_name == "token_embd.weight":
        return "model.embed_tokens.weight"
    if gguf_name == "output_norm.weight":
        return "model.norm.weight"
    if gguf_name == "output.weight":
        return "lm_head.weight"
    _, layer, module, kind = gguf_name.split(".")
    if module == "ffn_up":
        return None  # mlp.up_proj, or Phi-3's mlp.gate_up_proj: decided by the caller
    return f"model.layers.{layer}.{HF_NAMES[module]}.{kind}"


def permute(w, heads):
    """llama.cpp's convert_hf_to_gguf.py LlamaModel.permute (rotate-half pairs to interleaved ones)."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def expected_types(names_shapes, quant, layers):
    """llama.cpp's choice of type per tensor (llama-quant.cpp llama_tensor_get_type for Q4_K_M; the plain type
    otherwise), written out here from llama.cpp's rules, independent of our Swift code."""
    plain = {"f32": T.F32, "f16": T.F16, "bf16": T.BF16, "q8_0": T.Q8_0, "q4_0": T.Q4_0}
    n_v = sum(1 for n, _ in names_shapes if n.endswith((".attn_v.weight", ".attn_qkv.weight")))
    tied = not any(n == "output.weight" for n, _ in names_shapes)
    more = lambda i, n: i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2
    i_v = i_down = 0
    out = []
    for name, shape in names_shapes:
        if len(shape) < 2:
            out.append(T.F32)
            continue
        cols = shape[-1]
        if quant != "q4_k_m":
            t = plain[quant]
        else:
            t = T.Q4_K
            if name == "output.weight" or (tied and name == "token_embd.weight"):
                t = T.Q6_K if cols % 256 == 0 else T.Q8_0
            elif name.endswith((".attn_v.weight", ".attn_qkv.weight")):
                t = T.Q6_K if more(i_v, n_v) else t
                i_v += 1
            elif name.endswith(".ffn_down.weight"):
                t = T.Q6_K if more(i_down, layers) else t
                i_down += 1
            if cols % 256:
                t = {T.Q4_K: T.Q5_0, T.Q6_K: T.Q8_0}.get(t, t)
        if cols % 32 and t not in (T.F32, T.F16, T.BF16):
            t = T.F16  # no block type fits the row (llama-quantize's last fallback)
        out.append(t)
    return out


def check_file(path, quant, merged, arch, heads, kv_heads, layers, lib):
    """(a): gguf-py's view of one file against the merged weights. Returns per-tensor facts."""
    reader = GGUFReader(path)
    fields = {f.name: f for f in reader.fields.values()}
    assert fields["general.architecture"].contents() == arch, fields["general.architecture"].contents()
    tensors = list(reader.tensors)
    names_shapes = [(t.name, [int(d) for d in reversed(t.shape.tolist())]) for t in tensors]
    want_types = expected_types(names_shapes, quant, layers)
    report = {"tensors": len(tensors), "types": {}, "max_abs": {}, "bytes_equal_reference": 0, "bound_checked": 0}
    seen = set()
    for t, want_type in zip(tensors, want_types):
        assert t.tensor_type == want_type, f"{path}: {t.name} is {t.tensor_type.name}, llama.cpp picks {want_type.name}"
        report["types"][t.tensor_type.name] = report["types"].get(t.tensor_type.name, 0) + 1
        shape = [int(d) for d in reversed(t.shape.tolist())]
        name = hf_name(t.name)
        if name is None:
            layer = t.name.split(".")[1]
            name = f"model.layers.{layer}.mlp.up_proj.weight"
            if name not in merged:
                name = f"model.layers.{layer}.mlp.gate_up_proj.weight"
        if name == "lm_head.weight" and name not in merged:
            name = "model.embed_tokens.weight"
        x = merged[name].astype(np.float32)
        assert list(x.shape) == shape, f"{t.name}: shape {shape}, merged {list(x.shape)}"
        seen.add(name)
        if arch == "llama" and name.endswith("q_proj.weight"):
            x = permute(x, heads)
        if arch == "llama" and name.endswith("k_proj.weight"):
            x = permute(x, kv_heads)
        raw = np.asarray(t.data).view(np.uint8).reshape(-1)
        y = dequantize(np.asarray(t.data), t.tensor_type).reshape(shape)
        diff = float(np.abs(y - x).max())
        report["max_abs"][t.name] = diff
        qt = t.tensor_type
        if qt == T.F32:
            assert diff == 0, f"{t.name}: F32 differs by {diff}"
            report["bytes_equal_reference"] += 1
        elif qt in (T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q5_0):
            ref = np.asarray(quantize(x.reshape(-1, shape[-1]), qt)).view(np.uint8).reshape(-1)
            assert np.array_equal(raw, ref), f"{t.name}: {qt.name} bytes differ from gguf-py's quantizer"
            report["bytes_equal_reference"] += 1
        else:
            # Q4_K/Q6_K: ggml's bytes when the library is there; always the quantization's own error bound: half a
            # step of the group's grid plus what rounding the group's scale to 6 bits (Q4_K, over 63 levels of the
            # super-block's largest scale and min) or to int8 (Q6_K, 128 levels) can add: Q4_K (max − min) / 15 of
            # the group + (max − min) / 63 of the super-block, Q6_K max|x| / 31 of the group + max|x| / 128 of the
            # super-block.
            if lib is not None:
                ref = ggml_quantize(lib, x.reshape(-1, shape[-1]), qt)
                assert np.array_equal(raw, ref), f"{t.name}: {qt.name} bytes differ from ggml's quantizer"
                report["bytes_equal_reference"] += 1
            g = 32 if qt == T.Q4_K else 16
            xs, ys = x.reshape(-1, g), y.reshape(-1, g)
            supers = np.repeat(x.reshape(-1, 256), 256 // g, axis=0)
            if qt == T.Q4_K:
                span = lambda a: np.maximum(a.max(1), 0) - np.minimum(a.min(1), 0)
                bound = span(xs) / 15 + span(supers) / 63
            else:
                bound = np.abs(xs).max(1) / 31 + np.abs(supers).max(1) / 128
            excess = (np.abs(xs - ys).max(1) - bound).max()
            assert excess <= 1e-6, f"{t.name}: {qt.name} error beyond its bound by {excess}"
            report["bound_checked"] += 1
    missing = set(merged) - seen
    assert not missing, f"{path}: no GGUF tensor for {sorted(missing)[:3]}"
    return report


def generate(model, prompt):
    """Greedy, NEW_TOKENS new tokens, end-of-sequence ignored."""
    ids = torch.tensor([prompt])
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=NEW_TOKENS,
                             min_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=0)
    return out[0, len(prompt):].tolist()


def check_transformers(folder, file, merged_model, overrides):
    """(b): transformers' GGUF loader; max |difference| of its state dict from the merged HF model's. `overrides` are
    config values transformers' GGUF mapping does not read from the file (see FAMILIES)."""
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32, **overrides).eval()
    ours = merged_model.state_dict()
    worst = 0.0
    for k, v in model.state_dict().items():
        if k in ours:
            worst = max(worst, (v.float() - ours[k].float()).abs().max().item())
    return model, worst


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def fnv1a64(path):
    """64-bit FNV-1a of the file's bytes (what Support's StableHash computes), for the Swift test."""
    h = 0xCBF29CE484222325
    for b in open(path, "rb").read():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def check_all(folder, files, merged_dir, prompt, lib, overrides=None):
    merged_model = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    config = merged_model.config
    arch = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "phi3": "phi3"}[config.model_type]
    merged = {}
    for f in sorted(glob.glob(os.path.join(merged_dir, "*.safetensors"))):
        merged.update(load_file(f))
    reference_ids = generate(merged_model, prompt)
    results = {}
    for quant, file in files.items():
        path = os.path.join(folder, file)
        facts = check_file(path, quant, merged, arch, config.num_attention_heads, config.num_key_value_heads,
                           config.num_hidden_layers, lib)
        model, worst = check_transformers(folder, file, merged_model, overrides or {})
        ids = generate(model, prompt)
        facts.update({"sha256": sha256(path), "fnv1a64": fnv1a64(path), "transformers_max_abs": worst, "generated_ids": ids,
                      "generation_equals_merged": ids == reference_ids})
        if quant in ("f32", "f16"):
            assert ids == reference_ids, f"{file}: transformers generates {ids}, the merged model {reference_ids}"
        results[quant] = facts
        print(f"{file}: {facts['types']}, gguf-py max|diff| {max(facts['max_abs'].values()):.3g}, "
              f"transformers max|diff| {worst:.3g}, reference bytes {facts['bytes_equal_reference']}/{facts['tensors']}, "
              f"generation equal {facts['generation_equals_merged']}")
    return reference_ids, results


# The tiny Qwen3 and Phi-3 of ArchitectureTests (Tests/ModelsTests/Fixtures/<family>, no adapter: the folder is the
# "merged" model), exported by GGUFExportTests.otherArchitecturesUseLlamaCppNames. transformers 5.23's GGUF mapping
# does not read qwen3.attention.key_length (llama.cpp does; Qwen3Config's default head_dim 128 would be used) nor
# phi3.attention.sliding_window, and Phi3Config's default pad/bos/eos ids (32000, 1, 32000) lie outside the tiny
# vocabulary: those config values are passed to from_pretrained as they are in the fixture's config.json.
FAMILIES = {
    "qwen3": {"overrides": {"head_dim": 16}, "quants": ["f32", "f16", "q4_k_m"]},
    "phi3": {"overrides": {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "sliding_window": 5},
             "quants": ["f32", "f16", "q4_k_m"]},
}
FAMILY_PROMPT = [1, 17, 23, 5, 64, 89, 42]


def tiny(folder, lib):
    files = {q: f"orpo-{q}.gguf" for q in QUANTS}
    reference_ids, results = check_all(folder, files, TINY_MERGED, TINY_PROMPT, lib)
    fixture = {"generator": "reference/check_gguf_export.py", "versions": versions(),
               "ggml_reference": lib is not None, "prompt": TINY_PROMPT, "new_tokens": NEW_TOKENS,
               "merged_generated_ids": reference_ids, "files": {files[q]: r for q, r in results.items()},
               "families": {}}
    for family, spec in FAMILIES.items():
        family_files = {q: f"{family}-{q}.gguf" for q in spec["quants"]}
        merged_dir = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", family)
        ids, family_results = check_all(folder, family_files, merged_dir, FAMILY_PROMPT, lib, spec["overrides"])
        fixture["families"][family] = {"prompt": FAMILY_PROMPT, "merged_generated_ids": ids,
                                       "transformers_overrides": spec["overrides"]}
        fixture["files"].update({family_files[q]: r for q, r in family_results.items()})
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")


def real(model, orpo, adapter, lib, prompt_text, quants=QUANTS):
    folder = tempfile.mkdtemp(prefix="orpo-gguf-check-")
    base = [orpo, "export", "--model", model, "--merge"] + (["--adapter", adapter] if adapter else [])
    merged_dir = os.path.join(folder, "merged")
    subprocess.run(base + ["--out", merged_dir], check=True)
    files = {}
    for q in quants:
        files[q] = f"model-{q}.gguf"
        subprocess.run(base + ["--format", "gguf", "--quant", q, "--out", os.path.join(folder, files[q])], check=True)
    tok = AutoTokenizer.from_pretrained(merged_dir)
    prompt = tok(prompt_text, add_special_tokens=True)["input_ids"]
    reference_ids, results = check_all(folder, files, merged_dir, prompt, lib)
    text = tok.decode(reference_ids, skip_special_tokens=True)
    ours = subprocess.run([orpo, "generate", "--model", merged_dir, "--prompt", prompt_text, "--max-new-tokens",
                           str(NEW_TOKENS), "--temperature", "0", "--ignore-eos"], check=True, capture_output=True,
                          text=True).stdout
    print(f"transformers, merged: {text!r}")
    print(f"orpo generate, merged: {ours!r}")
    assert ours.rstrip("\n") == text, "orpo generate differs from transformers on the merged model"
    for q, r in results.items():
        print(f"{q}: generation equal to orpo generate: {r['generation_equals_merged']}")
    print(f"files in {folder}")


def gemma3(model, orpo, prompt_text, quant="f32"):
    """A Gemma 3 GGUF (the real 270M Q4_K_M) exported again by `orpo export --merge --format gguf` (no adapter): the
    tokenizer metadata as it was, transformers' GGUF loader reads the same weights (norms round-trip through 1 + w)
    and generates the same greedy 32 tokens from both files."""
    folder = tempfile.mkdtemp(prefix="orpo-gguf-gemma3-")
    file = f"gemma3-{quant}.gguf"
    subprocess.run([orpo, "export", "--model", model, "--merge", "--format", "gguf", "--quant", quant, "--out",
                    os.path.join(folder, file)], check=True)
    ours, original = GGUFReader(os.path.join(folder, file)), GGUFReader(model)
    def tokenizer_fields(r):
        return {f.name: f.contents() for f in r.fields.values() if f.name.startswith("tokenizer.")}
    assert tokenizer_fields(ours) == tokenizer_fields(original), "tokenizer metadata differs"
    arch = {f.name: f.contents() for f in ours.fields.values() if f.name.startswith("gemma3.")}
    want = {f.name: f.contents() for f in original.fields.values() if f.name.startswith("gemma3.")}
    print("gemma3.* keys:", "equal to the original's" if arch == want else
          {k: (arch.get(k), want.get(k)) for k in set(arch) | set(want) if arch.get(k) != want.get(k)})
    tok = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(model)), gguf_file=os.path.basename(model))
    prompt = tok(prompt_text)["input_ids"]
    a = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(model)), gguf_file=os.path.basename(model),
                                             dtype=torch.float32).eval()
    b = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32).eval()
    worst = max((v.float() - b.state_dict()[k].float()).abs().max().item() for k, v in a.state_dict().items())
    ids_a, ids_b = generate(a, prompt), generate(b, prompt)
    print(f"transformers: max |weight difference| {worst:.3g}; greedy {NEW_TOKENS} from the original "
          f"{tok.decode(ids_a)!r}, from ours {tok.decode(ids_b)!r}")
    assert ids_a == ids_b, "greedy generation differs"
    print(f"files in {folder}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tiny", metavar="DIR")
    p.add_argument("--model")
    p.add_argument("--adapter")
    p.add_argument("--orpo", default=os.path.join(ROOT, ".build", "debug", "orpo"))
    p.add_argument("--prompt", default="The capital of France is")
    p.add_argument("--ggml-lib", help="a libggml-base.so to take Q4_K/Q6_K reference bytes from")
    p.add_argument("--gemma3", metavar="GGUF", help="re-export a Gemma 3 GGUF and compare (prints a report)")
    p.add_argument("--quants", default=",".join(QUANTS), help="--model mode: the --quant values to export and check")
    a = p.parse_args()
    versions()
    lib = ggml_library(a.ggml_lib)
    print("ggml reference quantizer:", "llama-cpp-python's libggml-base" if lib else "not installed (bounds only)")
    if a.gemma3:
        gemma3(a.gemma3, a.orpo, a.prompt)
    elif a.tiny:
        tiny(a.tiny, lib)
    elif a.model:
        real(a.model, a.orpo, a.adapter, lib, a.prompt, a.quants.split(","))
    else:
        p.error("give --tiny DIR or --model MODEL")


if __name__ == "__main__":
    main()
