#!/usr/bin/env python3
"""Checks what `orpo export` writes for the architectures beyond the Llama family by loading it with peft and
transformers, and records what they compute, in Tests/ModelsTests/Fixtures/export_architectures/<family>/expected.json.

The folders adapter/ and merged/ there were written by OUR code (Tests/ModelsTests/ArchitectureExportTests.swift;
rewrite them with `ORPO_UPDATE_FIXTURES=1 swift test --filter ArchitectureExportTests`) from the tiny random
models Tests/ModelsTests/Fixtures/<family> (reference/make_architecture_fixtures.py) with a seeded LoRA adapter:
  adapter/: the base model + the adapter through peft.PeftModel.from_pretrained;
  merged/:  AutoModelForCausalLM.from_pretrained (its class must be the base's) and AutoTokenizer.from_pretrained.
Both must agree with each other and with peft's own merge_and_unload; Swift must agree with both
(ArchitectureExportTests).

Pins: reference/requirements.txt (transformers 5.23.0, peft 0.21.2, torch 2.15.0):
    .venv-ref/bin/python reference/check_architecture_export.py
"""
import json
import os
import sys

import peft
import torch
import transformers
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

assert transformers.__version__ == "5.23.0", transformers.__version__
assert peft.__version__ == "0.21.2", peft.__version__
ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
FIXTURES = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")
INPUT_IDS = [[1, 17, 30, 5, 64, 89, 42, 2], [2, 33, 34, 35, 12, 0, 45, 77]]
FAMILIES = sys.argv[1:] or ["qwen3", "phi3", "gemma3"]


def main():
    ids = torch.tensor(INPUT_IDS)
    for family in FAMILIES:
        folder = os.path.join(FIXTURES, "export_architectures", family)
        base = AutoModelForCausalLM.from_pretrained(os.path.join(FIXTURES, family), dtype=torch.float32).eval()
        architecture = type(base).__name__
        with_adapter = PeftModel.from_pretrained(base, os.path.join(folder, "adapter")).eval()
        merged_dir = os.path.join(folder, "merged")
        merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
        assert type(merged).__name__ == architecture, f"{family}: merged/ loads as {type(merged).__name__}"
        tok = AutoTokenizer.from_pretrained(merged_dir)
        with torch.no_grad():
            logits_adapter = with_adapter(input_ids=ids).logits
            logits_merged = merged(input_ids=ids).logits
            with with_adapter.disable_adapter():
                logits_base = with_adapter(input_ids=ids).logits
            theirs = with_adapter.merge_and_unload().state_dict()
            ours = merged.state_dict()
            worst_weight = max((v - ours[k]).abs().max().item() for k, v in theirs.items())
        gap = (logits_adapter - logits_merged).abs().max().item()
        effect = (logits_adapter - logits_base).abs().max().item()
        assert gap < 1e-5, f"{family}: adapter path and merged model differ by {gap}"
        assert worst_weight < 1e-6, f"{family}: PEFT's merge_and_unload differs from our merged weights by {worst_weight}"
        assert effect > 1e-3, f"{family}: the adapter barely changes the logits ({effect})"
        fixture = {
            "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                         "transformers": transformers.__version__, "peft": peft.__version__},
            "architecture": architecture,
            "input_ids": INPUT_IDS,
            "logits_adapter": logits_adapter.tolist(),
            "logits_merged": logits_merged.tolist(),
            "max_abs_adapter_vs_merged": gap,
            "max_abs_peft_merge_vs_ours": worst_weight,
            "max_abs_adapter_effect": effect,
            "tokenizer": {"class": type(tok).__name__, "bos_token": tok.bos_token, "eos_token": tok.eos_token,
                          "len": len(tok)},
        }
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump(fixture, f)
        print(f"{family}: {architecture}, adapter vs merged {gap:.2e}, PEFT merge vs ours {worst_weight:.2e}, "
              f"adapter effect {effect:.2e}")


if __name__ == "__main__":
    main()
