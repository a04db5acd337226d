#!/usr/bin/env python3
"""A tiny random Gemma 3 text model (`Gemma3ForCausalLM`, model_type gemma3_text) and its logits, for
Tests/ModelsTests/Fixtures/gemma3/ (the layout of make_architecture_fixtures.py: config.json, model.safetensors
(float32, save_pretrained), expected.json with input ids, right-padded masks, transformers' eager logits and
parameter names).

What the shape exercises: sliding and full layers interleaved (sliding_window_pattern 2, a window shorter than the
sequence), two RoPE bases (rope_local_base_freq for sliding layers; rope_theta with linear scaling for full ones),
query_pre_attn_scalar other than head_dim, head_dim other than hidden/heads, GQA, q/k norms, the four norms per
layer with non-trivial (1 + w) weights, tied embeddings, the embedding scaled by sqrt(hidden); and, in a second set
of logits from the same weights, final_logit_softcapping. (transformers 5.23 keeps attn_logit_softcapping in the
config but does not pass it to the attention, so it changes nothing there; the model file follows that.)

Pins: reference/requirements.txt (transformers 5.23.0, torch 2.15.0):
    .venv-ref/bin/python reference/make_gemma3_fixtures.py
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, Gemma3TextConfig

assert transformers.__version__ == "5.23.0", transformers.__version__
OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "ModelsTests", "Fixtures", "gemma3")


def main():
    torch.manual_seed(0)
    cfg = Gemma3TextConfig(
        vocab_size=96, hidden_size=32, intermediate_size=48, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=24, max_position_embeddings=256,
        rms_norm_eps=1e-6, sliding_window=4, sliding_window_pattern=2, rope_theta=1000000.0,
        rope_local_base_freq=10000.0, rope_scaling={"rope_type": "linear", "factor": 2.0},
        tie_word_embeddings=True, pad_token_id=0, eos_token_id=1, bos_token_id=2)
    assert cfg.layer_types == ["sliding_attention", "full_attention"] * 2, cfg.layer_types
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager").float().eval()
    # Non-trivial norm weights (random init leaves Gemma's at 0, i.e. a scale of 1) and a larger embedding.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(0.3 * torch.randn_like(p))
            if n.endswith("embed_tokens.weight"):
                p.mul_(10)
    os.makedirs(OUT, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    path = os.path.join(OUT, "generation_config.json")
    if os.path.exists(path):
        os.remove(path)
    model = AutoModelForCausalLM.from_pretrained(OUT, attn_implementation="eager").float().eval()
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, cfg.vocab_size, (3, 9), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0  # right padding, as TRL's collator produces
    mask[2, 3:] = 0
    with torch.no_grad():
        full = model(input_ids=ids[:1]).logits
        padded = model(input_ids=ids, attention_mask=mask).logits
        model.config.final_logit_softcapping = 0.5
        capped = model(input_ids=ids[:1]).logits
        model.config.final_logit_softcapping = None
    assert (capped.abs() <= 0.5).all() and (full - capped).abs().max() > 1e-2
    expected = {
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": sys.version.split()[0]},
        "attn_implementation": "eager",
        "parameter_names": [n for n, _ in model.named_parameters()],
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "logits_unpadded_row0": full[0].tolist(),
        "logits_padded": padded.tolist(),
        "final_logit_softcapping": 0.5,
        "logits_softcapped_row0": capped[0].tolist(),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)
    print("written:", sorted(os.listdir(OUT)), "max |logit|", full.abs().max().item())


if __name__ == "__main__":
    main()
