#!/usr/bin/env python3
"""Checks what `orpo export` writes by loading it with peft/transformers (pinned: reference/requirements.txt),
and records what they compute.

Default mode, for Tests/ModelsTests/Fixtures/export/expected.json. The folders there were exported by OUR code
(Tests/ModelsTests/ExportTests.swift; rewrite them with `ORPO_UPDATE_FIXTURES=1 swift test --filter ExportTests`)
from the tiny ORPO fixture: base model Tests/TrainingTests/Fixtures/orpo with its TRL adapter
adapter_final.safetensors (r=4, alpha=8) attached.
  (a) adapter/: the base model + the adapter through peft.PeftModel.from_pretrained;
  (b) merged/:  AutoModelForCausalLM.from_pretrained, and AutoTokenizer.from_pretrained, whose chat template
      is applied to fixed messages;
  (c) full/:    a full fine-tune as `orpo train` (finetuning_type: full) saves it, written by the same code as
      merged/: the base with its output layer tied to the embedding (as SmolLM2's) and the adapter folded into
      its weights, through AutoModelForCausalLM and AutoTokenizer.from_pretrained.
All give logits for fixed input ids; (a) and (b) must agree with each other, (c) must hold merged/'s weights
with lm_head tied (checked here); all three must agree with Swift (checked by ExportTests).

--gguf-folder DIR, for Tests/TokenizationTests/Fixtures/smollm2_gguf_export.json. DIR holds
`orpo export --merge --out DIR` of the default GGUF (models/SmolLM2-135M-Instruct.Q4_1.gguf, no adapter). Its
tokenizer.json, read by tokenizers.Tokenizer.from_file, PreTrainedTokenizerFast(tokenizer_file=...) and
AutoTokenizer.from_pretrained(DIR), must give transformers' ids for the GGUF itself
(Tests/TokenizationTests/Fixtures/smollm2_gguf_expected.json) on the whole corpus; and AutoModelForCausalLM on DIR
must give transformers' own GGUF logits (Tests/ModelsTests/Fixtures/smollm2_gguf.json). The ids are recorded.

Usage: .venv-ref/bin/python reference/check_export.py [--gguf-folder DIR]
"""
import argparse
import json
import os
import sys

import numpy as np
import peft
import safetensors
import tokenizers
import torch
import transformers
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
BASE = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "orpo")
EXPORT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "export")
TOKENIZATION = os.path.join(ROOT, "Tests", "TokenizationTests", "Fixtures")
INPUT_IDS = [[1, 17, 230, 5, 640, 899, 42, 2], [2, 300, 301, 302, 12, 0, 455, 77]]
MESSAGES = [{"role": "user", "content": "What is 2 plus 3?"}, {"role": "assistant", "content": "2 plus 3 is 5."}]


def versions():
    return {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
            "peft": peft.__version__, "tokenizers": tokenizers.__version__, "safetensors": safetensors.__version__,
            "numpy": np.__version__}


def float32_list(t):
    """Nested lists of the float32 values, each printed as its shortest float32 text (exact, and compact)."""
    a = t.detach().to(torch.float32).numpy()
    return json.loads(np.array2string(a, separator=",", threshold=sys.maxsize, max_line_width=sys.maxsize,
                                      floatmode="unique"))


def check_tiny():
    ids = torch.tensor(INPUT_IDS)
    base = AutoModelForCausalLM.from_pretrained(BASE, dtype=torch.float32).eval()
    with_adapter = PeftModel.from_pretrained(base, os.path.join(EXPORT, "adapter")).eval()
    merged_dir = os.path.join(EXPORT, "merged")
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    full_dir = os.path.join(EXPORT, "full")
    full = AutoModelForCausalLM.from_pretrained(full_dir, dtype=torch.float32).eval()
    full_tok = AutoTokenizer.from_pretrained(full_dir)
    with torch.no_grad():
        logits_adapter = with_adapter(input_ids=ids).logits
        logits_merged = merged(input_ids=ids).logits
        logits_full = full(input_ids=ids).logits
        # PEFT's own merge of our adapter must equal our merged weights.
        peft_merged = with_adapter.merge_and_unload()
        ours = dict(merged.state_dict())
        worst_weight = max((v - ours[k]).abs().max().item() for k, v in peft_merged.state_dict().items())
    gap = (logits_adapter - logits_merged).abs().max().item()
    assert gap < 1e-5, f"adapter path and merged model differ by {gap}"
    assert worst_weight < 1e-6, f"PEFT's merge_and_unload differs from our merged weights by {worst_weight}"
    # full/ = merged/'s weights, but lm_head is the embedding (tied, not stored).
    assert full.config.tie_word_embeddings, "full/ is not tied"
    assert full.lm_head.weight.data_ptr() == full.model.embed_tokens.weight.data_ptr(), "lm_head not tied on load"
    merged_weights = merged.state_dict()
    full_gap = max((v - merged_weights[k]).abs().max().item() for k, v in full.state_dict().items() if k != "lm_head.weight")
    assert full_gap == 0, f"full/ and merged/ weights differ by {full_gap}"
    text = "What is 2 plus 3?"
    assert full_tok(text)["input_ids"] == AutoTokenizer.from_pretrained(BASE)(text)["input_ids"], "full/ tokenizer"

    tok = AutoTokenizer.from_pretrained(merged_dir)
    assert tok.chat_template, "the merged folder's tokenizer has no chat template"
    chat = []
    for add in (False, True):
        shown = MESSAGES[:1] if add else MESSAGES
        text = tok.apply_chat_template(shown, tokenize=False, add_generation_prompt=add)
        chat.append({"add_generation_prompt": add, "text": text,
                     "ids": tok(text, add_special_tokens=False)["input_ids"]})
    fixture = {
        "versions": versions(),
        "input_ids": INPUT_IDS,
        "logits_adapter": float32_list(logits_adapter),
        "logits_merged": float32_list(logits_merged),
        "logits_full": float32_list(logits_full),
        "max_abs_adapter_vs_merged": gap,
        "max_abs_peft_merge_vs_ours": worst_weight,
        "messages": MESSAGES,
        "chat": chat,
        "tokenizer": {"class": type(tok).__name__, "bos_token": tok.bos_token, "eos_token": tok.eos_token,
                      "pad_token": tok.pad_token, "len": len(tok)},
    }
    out = os.path.join(EXPORT, "expected.json")
    with open(out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"{out}: adapter vs merged {gap:.2e}, PEFT merge vs ours {worst_weight:.2e}")
    print(repr(chat[1]["text"]))


def check_gguf(folder):
    corpus = json.load(open(os.path.join(TOKENIZATION, "corpus.json")))["strings"]
    want = json.load(open(os.path.join(TOKENIZATION, "smollm2_gguf_expected.json")))
    path = os.path.join(folder, "tokenizer.json")
    loaders = {
        "tokenizers.Tokenizer": Tokenizer_ids(tokenizers.Tokenizer.from_file(path)),
        "PreTrainedTokenizerFast": HF_ids(PreTrainedTokenizerFast(tokenizer_file=path)),
        "AutoTokenizer": HF_ids(AutoTokenizer.from_pretrained(folder)),
    }
    ids = None
    for name, encode in loaders.items():
        got = [encode(s, False) for s in corpus]
        bad = [i for i, (g, w) in enumerate(zip(got, want["ids"])) if g != w]
        assert not bad, f"{name}: {len(bad)} corpus strings differ from transformers' GGUF ids, first {bad[:5]}"
        with_special = [encode(s, True) for s in corpus]
        assert all(g == want["prefix"] + i + want["suffix"] for g, i in zip(with_special, got)), name
        ids = ids or got
    tok = AutoTokenizer.from_pretrained(folder)
    templated = tok.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True)

    reference = json.load(open(os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "smollm2_gguf.json")))
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([reference["input_ids"]])).logits[0]
    gap = (logits[:, reference["columns"]] - torch.tensor(reference["logits_at_columns"])).abs().max().item()
    lse_gap = (torch.logsumexp(logits, -1) - torch.tensor(reference["logsumexp"])).abs().max().item()
    assert gap < 1e-3 and lse_gap < 1e-3, f"merged folder logits differ from transformers' GGUF logits by {gap}"

    fixture = {
        "versions": versions(),
        "source": "orpo export --merge of models/SmolLM2-135M-Instruct.Q4_1.gguf",
        "loaders": list(loaders),
        "matches_transformers_gguf": True,
        "prefix": want["prefix"],
        "suffix": want["suffix"],
        "chat_template_output": templated,
        "max_abs_logits_vs_transformers_gguf": gap,
        "max_abs_logsumexp_vs_transformers_gguf": lse_gap,
        "ids": ids,
    }
    out = os.path.join(TOKENIZATION, "smollm2_gguf_export.json")
    with open(out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    print(f"{out}: {len(corpus)} corpus strings identical through {', '.join(loaders)}; "
          f"logits vs transformers' GGUF {gap:.2e} (log-sum-exp {lse_gap:.2e})")


def Tokenizer_ids(t):
    return lambda s, special: t.encode(s, add_special_tokens=special).ids


def HF_ids(t):
    return lambda s, special: t(s, add_special_tokens=special)["input_ids"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gguf-folder", help="a folder `orpo export --merge` wrote from the default GGUF")
    args = parser.parse_args()
    if args.gguf_folder:
        check_gguf(args.gguf_folder)
    else:
        check_tiny()
