#!/usr/bin/env python3
"""What transformers computes with the default GGUF (SmolLM2-135M-Instruct Q4_1), for
Tests/ModelsTests/Fixtures/smollm2_gguf.json: the chat-templated prompt ids, per-position logits at a fixed
sample of vocabulary columns plus each position's log-sum-exp and argmax (full logits would be megabytes), and
32 greedily generated tokens. Run after `make setup` (the model is in models/).
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.join(os.path.dirname(__file__), "..")
MODELS = os.path.join(ROOT, "models")
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "smollm2_gguf.json")


def main():
    tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=GGUF)
    model = AutoModelForCausalLM.from_pretrained(MODELS, gguf_file=GGUF, dtype=torch.float32).eval()
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt").input_ids
    g = torch.Generator().manual_seed(0)
    columns = sorted(torch.randperm(model.config.vocab_size, generator=g)[:64].tolist())
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0]
        out = model.generate(ids, max_new_tokens=32, do_sample=False, eos_token_id=None, pad_token_id=tok.eos_token_id)
    generated = out[0, ids.shape[1]:].tolist()
    fixture = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": sys.version.split()[0]},
        "gguf": GGUF,
        "prompt": prompt,
        "input_ids": ids[0].tolist(),
        "columns": columns,
        "logits_at_columns": logits[:, columns].tolist(),
        "logsumexp": torch.logsumexp(logits, dim=-1).tolist(),
        "argmax": logits.argmax(dim=-1).tolist(),
        "greedy_32": generated,
        "greedy_text": tok.decode(generated),
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f)
    print(repr(prompt))
    print(repr(fixture["greedy_text"]))


if __name__ == "__main__":
    main()
