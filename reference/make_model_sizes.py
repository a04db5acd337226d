#!/usr/bin/env python3
"""Parameter counts of the seed architectures (configs/models/*/config.json) as transformers builds them, for
Tests/TrainingTests/Fixtures/model_sizes.json (the dry-run's counts are checked against it).

Models are built on the meta device: shapes only, no memory. Also counts, per model, the elements of its
projections (every nn.Linear but lm_head: what 4-bit quantization stores in blocks) and the LoRA parameters of
r = 16 on all-linear (peft's target_modules="all-linear", which leaves lm_head out).

    .venv-bnb/bin/python reference/make_model_sizes.py      # transformers 5.23.0 (requirements-bnb.txt)
"""
import json
import os

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = os.path.join(ROOT, "configs", "models")
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "model_sizes.json")


def main():
    sizes = {"versions": {"transformers": transformers.__version__, "torch": torch.__version__}}
    for name in sorted(os.listdir(MODELS)):
        path = os.path.join(MODELS, name)
        if not os.path.isdir(path):
            continue
        config = AutoConfig.from_pretrained(path)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
        linears = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and n != "lm_head"]
        sizes[name] = {
            "parameters": model.num_parameters(),
            "projection_elements": sum(m.weight.numel() for _, m in linears),
            "lora_r16_all_linear": sum(16 * (m.in_features + m.out_features) for _, m in linears),
            "projections": len(linears),
        }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(sizes, f, indent=1, sort_keys=True)
    print(json.dumps(sizes, indent=1))


if __name__ == "__main__":
    main()
