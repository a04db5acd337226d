#!/usr/bin/env python3
"""transformers generating from text prompts with the real Gemma 3 270M GGUF (`ORPO_GEMMA3=1 scripts/setup.sh`;
SHA-256 checked), for Tests/ModelsTests/Fixtures/gemma3_270m_generation.json: each prompt's ids from the GGUF's own
tokenizer (`AutoTokenizer.from_pretrained(dir, gguf_file=...)`, BOS added), greedy generation of 32 tokens with
end-of-sequence ignored (as `orpo generate --temperature 0 --ignore-eos --max-new-tokens 32`), and their decode.
The model is dequantized to float32 as transformers loads GGUF files.

Pins: transformers 5.23.0, tokenizers 0.23.3, gguf 0.19.0 with the CPU wheel of torch 2.13.0 (`.venv-models`, as
make_gemma3_tokenizer_fixtures.py):
    .venv-models/bin/python reference/make_gemma3_generation_fixtures.py [models/gemma-3-270m-q4_k_m.gguf]
"""
import hashlib
import importlib.metadata
import json
import os
import sys

import tokenizers
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

assert transformers.__version__ == "5.23.0", transformers.__version__
ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "gemma-3-270m-q4_k_m.gguf")
SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
OUT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "gemma3_270m_generation.json")
STEPS = 32
PROMPTS = [
    "The capital of France is",
    "<start_of_turn>user\nWrite a haiku about the sea.<end_of_turn>\n<start_of_turn>model\n",
    "def fibonacci(n):\n    ",
    "Résumé: naïve café owner, 😀 — list three facts.\n1.",
]


def main():
    digest = hashlib.sha256(open(MODEL, "rb").read()).hexdigest()
    assert digest == SHA256, f"{MODEL}: SHA-256 {digest}, expected {SHA256}"
    folder, name = os.path.split(os.path.abspath(MODEL))
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    rows = []
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
            out = model.generate(ids, max_new_tokens=STEPS, min_new_tokens=STEPS, do_sample=False, num_beams=1,
                                 eos_token_id=None, pad_token_id=tokenizer.pad_token_id)
            generated = out[0, ids.shape[1]:].tolist()
            rows.append({"prompt": prompt, "prompt_ids": ids[0].tolist(), "generated_ids": generated,
                         "generated_text": tokenizer.decode(generated, skip_special_tokens=True)})
            print(repr(prompt), "->", repr(rows[-1]["generated_text"]))
    fixture = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "gguf": importlib.metadata.version("gguf"),
                     "python": sys.version.split()[0]},
        "model_sha256": SHA256, "max_new_tokens": STEPS, "rows": rows,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
