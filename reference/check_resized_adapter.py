#!/usr/bin/env python3
"""Checks LoRA adapters our code saved after a vocabulary resize by loading them with peft, and records what peft
and transformers compute, in Tests/ModelsTests/Fixtures/export_resized/<case>/expected.json.

The folders adapter/ and merged/ there were written by OUR code (Tests/ModelsTests/ResizedAdapterTests.swift;
rewrite them with `ORPO_UPDATE_FIXTURES=1 swift test --filter ResizedAdapterTests`):
  llama_clone:   the untied tiny Llama of Fixtures/clone_chat_template/target after clone_chat_template (291 -> 320 rows)
  gemma3_chatml: the tied tiny Gemma 3 of Fixtures/gemma3 after setup_chat_format rounded to 64 (96 -> 128 rows)
each with a seeded LoRA adapter (r=2, alpha=4, all linear layers) and moved new embedding rows.

  adapter/: the base model, resized to the rows of the adapter's embeddings as a user must before loading it,
            + peft.PeftModel.from_pretrained, and the tokenizer saved beside it; then peft's own
            get_peft_model_state_dict (save_embedding_layers="auto") must name exactly the keys our file holds;
  merged/:  AutoModelForCausalLM.from_pretrained, which must agree with the adapter path and with peft's
            merge_and_unload.

Pins: reference/requirements.txt (transformers 5.23.0, peft 0.21.2; torch 2.13.0 CPU wheel of `.venv-models`):
    .venv-models/bin/pip install peft==0.21.2 accelerate==1.15.0
    .venv-models/bin/python reference/check_resized_adapter.py      (from the repository root: the adapters name
                                                                    their base by a path relative to it)
"""
import json
import os
import sys
import warnings

import peft
import torch
import transformers
from peft import PeftModel
from peft.utils import get_peft_model_state_dict
from safetensors import safe_open
from transformers import AutoModelForCausalLM, AutoTokenizer

assert transformers.__version__ == "5.23.0", transformers.__version__
assert peft.__version__ == "0.21.2", peft.__version__
ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
FIXTURES = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")
CASES = {
    "llama_clone": [[1, 17, 30, 291, 292, 300, 319, 2], [2, 33, 291, 35, 12, 0, 318, 77]],
    "gemma3_chatml": [[2, 17, 30, 90, 91, 92, 127, 1], [1, 91, 34, 96, 12, 0, 120, 77]],
}


def main():
    os.chdir(ROOT)
    for case, input_ids in CASES.items():
        folder = os.path.join(FIXTURES, "export_resized", case)
        adapter_dir = os.path.join(folder, "adapter")
        config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
        with safe_open(os.path.join(adapter_dir, "adapter_model.safetensors"), "pt") as f:
            ours = sorted(f.keys())
            rows = f.get_tensor("base_model.model.model.embed_tokens.weight").shape[0]
        tok = AutoTokenizer.from_pretrained(adapter_dir)
        # clone_chat_template fills every row with a token; setup_chat_format's rounding leaves rows without one.
        assert len(tok) == rows if case == "llama_clone" else len(tok) <= rows, f"{case}: {len(tok)} tokens, {rows} rows"
        base = AutoModelForCausalLM.from_pretrained(config["base_model_name_or_path"], dtype=torch.float32).eval()
        base_rows = base.config.vocab_size
        base.resize_token_embeddings(rows)
        with_adapter = PeftModel.from_pretrained(base, adapter_dir).eval()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            saved = sorted(get_peft_model_state_dict(with_adapter, save_embedding_layers="auto").keys())
        assert saved == ours, f"{case}: peft would save {saved}, our file has {ours}"
        assert any("resized" in str(w.message) for w in caught), f"{case}: peft did not see the resize"
        merged = AutoModelForCausalLM.from_pretrained(os.path.join(folder, "merged"), dtype=torch.float32).eval()
        ids = torch.tensor(input_ids)
        with torch.no_grad():
            logits_adapter = with_adapter(input_ids=ids).logits
            logits_merged = merged(input_ids=ids).logits
            theirs = with_adapter.merge_and_unload().state_dict()
            mine = merged.state_dict()
            worst_weight = max((v - mine[k]).abs().max().item() for k, v in theirs.items())
        gap = (logits_adapter - logits_merged).abs().max().item()
        assert gap < 1e-5, f"{case}: adapter path and merged model differ by {gap}"
        assert worst_weight < 1e-6, f"{case}: PEFT's merge_and_unload differs from our merged weights by {worst_weight}"
        fixture = {
            "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                         "transformers": transformers.__version__, "peft": peft.__version__},
            "architecture": type(merged).__name__,
            "tied": bool(merged.config.tie_word_embeddings),
            "base_vocab_size": base_rows,
            "vocab_size": rows,
            "peft_saved_keys": saved,
            "input_ids": input_ids,
            "logits_adapter": logits_adapter.tolist(),
            "logits_merged": logits_merged.tolist(),
            "max_abs_adapter_vs_merged": gap,
            "max_abs_peft_merge_vs_ours": worst_weight,
            "tokenizer_len": len(tok),
        }
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump(fixture, f)
        print(f"{case}: {fixture['architecture']} (tied {fixture['tied']}), {base_rows} -> {rows} rows, "
              f"{len(saved)} keys, adapter vs merged {gap:.2e}, PEFT merge vs ours {worst_weight:.2e}")


if __name__ == "__main__":
    main()
