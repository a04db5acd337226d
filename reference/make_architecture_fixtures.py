#!/usr/bin/env python3
"""Tiny random models of the architectures beyond the Llama family, and their logits, for
Tests/ModelsTests/Fixtures/<family>/ (the same layout as make_model_fixtures.py: config.json, model.safetensors
(float32, save_pretrained), expected.json with input ids, right-padded masks and transformers' eager logits).
Families: qwen3 (q/k norms per head, GQA, tied embeddings, head_dim other than hidden/heads); phi3 (fused qkv_proj
and gate_up_proj, GQA, a sliding window shorter than the sequence).

Pins: torch 2.13.0 (CPU wheel) and transformers 5.23.0 (reference/requirements.txt's transformers):
    python3 -m venv .venv-models && .venv-models/bin/pip install /opt/wheels/torch-2.13.0+cpu-*.whl \
        transformers==5.23.0 safetensors==0.8.0
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, Phi3Config, Qwen3Config

assert transformers.__version__ == "5.23.0", transformers.__version__
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "ModelsTests", "Fixtures")
COMMON = dict(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
              max_position_embeddings=256, rms_norm_eps=1e-6)


def configs():
    yield "qwen3", Qwen3Config(**COMMON, num_key_value_heads=2, head_dim=16, tie_word_embeddings=True,
                               rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})
    yield "phi3", Phi3Config(**COMMON, num_key_value_heads=2, sliding_window=5, tie_word_embeddings=False,
                             pad_token_id=0, bos_token_id=1, eos_token_id=2)


def main():
    torch.manual_seed(0)
    for name, cfg in configs():
        model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager").float().eval()
        # Non-trivial norm weights and biases (random init leaves them at 1 / 0).
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n.endswith("norm.weight"):
                    p.copy_(1 + 0.1 * torch.randn_like(p))
                if n.endswith(".bias"):
                    p.copy_(0.1 * torch.randn_like(p))
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        path = os.path.join(folder, "generation_config.json")
        if os.path.exists(path):
            os.remove(path)
        g = torch.Generator().manual_seed(1)
        ids = torch.randint(0, cfg.vocab_size, (3, 9), generator=g)
        mask = torch.ones_like(ids)
        mask[1, 6:] = 0  # right padding, as TRL's collator produces
        mask[2, 3:] = 0
        with torch.no_grad():
            full = model(input_ids=ids[:1]).logits
            padded = model(input_ids=ids, attention_mask=mask).logits
        expected = {
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                         "python": sys.version.split()[0]},
            "attn_implementation": "eager",
            "parameter_names": [n for n, _ in model.named_parameters()],
            "input_ids": ids.tolist(),
            "attention_mask": mask.tolist(),
            "logits_unpadded_row0": full[0].tolist(),
            "logits_padded": padded.tolist(),
        }
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump(expected, f)
        print(name, "written:", sorted(os.listdir(folder)))


if __name__ == "__main__":
    main()
