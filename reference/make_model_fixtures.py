#!/usr/bin/env python3
"""Tiny random Llama-family models and their logits, for Tests/ModelsTests/Fixtures/<family>/.

Each folder holds config.json and model.safetensors (float32, written by transformers' save_pretrained) and
expected.json: input ids, right-padded attention masks, and the logits transformers computes (eager attention,
float32), plus the versions used. Families: llama3 (GQA, untied, llama3 rope scaling), mistral (sliding window
smaller than the sequence), qwen2 (q/k/v biases), smollm2 (tied embeddings, Llama architecture).
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "ModelsTests", "Fixtures")
COMMON = dict(vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
              max_position_embeddings=256, rms_norm_eps=1e-5)


def configs():
    yield "llama3", LlamaConfig(**COMMON, num_key_value_heads=2, tie_word_embeddings=False,
                                rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                                 "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                 "original_max_position_embeddings": 16})
    yield "mistral", MistralConfig(**COMMON, num_key_value_heads=1, sliding_window=5, tie_word_embeddings=False)
    yield "qwen2", Qwen2Config(**COMMON, num_key_value_heads=2, tie_word_embeddings=False)
    yield "smollm2", LlamaConfig(**COMMON, num_key_value_heads=4, tie_word_embeddings=True,
                                 rope_parameters={"rope_type": "default", "rope_theta": 100000.0})


def main():
    torch.manual_seed(0)
    for name, cfg in configs():
        cfg._attn_implementation = "eager"
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
        for extra in ("generation_config.json",):
            path = os.path.join(folder, extra)
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
