#!/usr/bin/env python3
"""A Hugging Face model folder with random weights of a config.json's shape, for benchmarks that both trainers load
(`orpo bench train --model FOLDER --compare-trl PYTHON`): transformers' own initialization under a fixed seed, saved as
safetensors in the config's dtype, with the tokenizer files of another folder copied beside it.

Usage: python reference/random_model.py --config configs/models/llama-3.2-1b/config.json \
           --tokenizer-from Tests/TrainingTests/Fixtures/orpo --out /tmp/llama-1b [--device cuda] [--seed 0]
"""
import argparse
import shutil
import sys
from pathlib import Path

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, help="a config.json file, or the folder holding one")
    ap.add_argument("--tokenizer-from", required=True, help="a folder holding tokenizer.json (its files are copied)")
    ap.add_argument("--out", required=True, help="the folder to write (replaced when it exists)")
    ap.add_argument("--device", default="cpu", help="where to initialize the weights (cpu or cuda; cuda is faster)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config_path = Path(args.config)
    if config_path.is_dir():
        config_path = config_path / "config.json"
    tokenizer_dir = Path(args.tokenizer_from)
    if not (tokenizer_dir / "tokenizer.json").is_file():
        print(f"random_model.py: {tokenizer_dir}/tokenizer.json: no such file", file=sys.stderr)
        return 2
    config = AutoConfig.from_pretrained(config_path)
    dtype = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None) or torch.float32
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    torch.manual_seed(args.seed)
    with torch.device(args.device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial, safe_serialization=True)
    for name in TOKENIZER_FILES:
        if (tokenizer_dir / name).is_file():
            shutil.copy(tokenizer_dir / name, partial / name)
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)  # whole or not at all
    count = sum(p.numel() for p in model.parameters())
    print(f"{out}: {count / 1e6:.1f}M parameters, {dtype}, seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
