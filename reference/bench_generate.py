#!/usr/bin/env python3
"""Greedy generation speed of transformers on the CPU with the default GGUF (SmolLM2-135M-Instruct Q4_1, loaded
as float32), for comparison with `orpo generate --chat ... --temperature 0 --max-new-tokens 64 --ignore-eos`.

Two threads (torch.set_num_threads(2)), the chat prompt "What is the capital of France?", 64 new tokens with EOS
ignored so every run makes exactly 64, load time excluded. Each run is timed separately; prints every run and the
median. Usage: .venv-ref/bin/python reference/bench_generate.py [--runs 3] [--max-new-tokens 64]
"""
import argparse
import os
import statistics
import sys
import time

import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = os.path.join(os.path.dirname(__file__), "..")
MODELS = os.path.join(ROOT, "models")
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(MODELS, gguf_file=GGUF)
    model = AutoModelForCausalLM.from_pretrained(MODELS, gguf_file=GGUF, dtype=torch.float32).eval()
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]

    rates = []
    for run in range(args.runs):
        start = time.perf_counter()
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.max_new_tokens,
                                 min_new_tokens=args.max_new_tokens, do_sample=False, eos_token_id=None,
                                 pad_token_id=tok.eos_token_id)
        elapsed = time.perf_counter() - start
        new = out.shape[1] - ids.shape[1]
        rates.append(new / elapsed)
        print(f"run {run + 1}: {new} tokens in {elapsed:.2f} s: {new / elapsed:.1f} tokens/s")
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"prompt {ids.shape[1]} tokens: median {statistics.median(rates):.1f} tokens/s")
    print(repr(tok.decode(out[0, ids.shape[1]:])), file=sys.stderr)


if __name__ == "__main__":
    main()
