#!/usr/bin/env python3
"""bitsandbytes' 4-bit quantization (NF4/FP4, blocks of 64, double quantization) on its CPU path, for the Swift tests.

Writes
- Tests/NNTests/Fixtures/nf4/quantized.safetensors: a few weight matrices and, for each, what
  `bitsandbytes.functional.quantize_4bit` returns (packed codes, absmax; with compress_statistics the 8-bit absmax
  codes, their per-256 absmax and the fp32 offset), and what `dequantize_4bit` gives back; bitsandbytes' dynamic
  8-bit map (state2.code); and one `quantize_blockwise` (blocks of 256) of a plain vector, the double quantizer alone.
- Tests/ModelsTests/Fixtures/qlora/: a tiny Llama (bf16 safetensors) and expected.json with transformers' logits of
  the model as it is and loaded with BitsAndBytesConfig(load_in_4bit=True, nf4, double quantization, float32
  compute), and of an fp4 variant without double quantization.

Pins: reference/requirements-bnb.txt (bitsandbytes 0.50.2, torch 2.13.0 CPU, transformers 5.23.0).
    python3 -m venv .venv-bnb
    .venv-bnb/bin/pip install /opt/wheels/torch-2.13.0+cpu-*.whl -r reference/requirements-bnb.txt
    .venv-bnb/bin/python reference/make_nf4_fixtures.py
"""
import json
import os

import bitsandbytes
import bitsandbytes.functional as F
import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, BitsAndBytesConfig, LlamaConfig

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NN_OUT = os.path.join(ROOT, "Tests", "NNTests", "Fixtures", "nf4")
MODEL_OUT = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures", "qlora")
VERSIONS = {"bitsandbytes": bitsandbytes.__version__, "torch": torch.__version__,
            "transformers": transformers.__version__}


def quantizer_fixture():
    torch.manual_seed(0)
    weights = {
        # 64 blocks: one (partial) block of 256 absmax values under double quantization; one all-zero block.
        "a": torch.randn(32, 128) * 0.02,
        # 272 blocks: a full and a partial block of 256 absmax values.
        "b": torch.randn(272, 64) * 0.05 + 0.01,
        # bf16 input, 30 blocks.
        "c": (torch.randn(48, 40) * 0.1).to(torch.bfloat16),
        # 63 elements: a partial 4-bit block and an odd count (the last byte holds one code).
        "d": torch.randn(7, 9),
    }
    weights["a"][5, :64] = 0
    out = {}
    for name, w in weights.items():
        out[f"{name}.weight"] = w.contiguous()
        for quant_type in ("nf4", "fp4"):
            for nested in (False, True):
                tag = f"{name}.{quant_type}{'.nested' if nested else ''}"
                q, state = F.quantize_4bit(w, blocksize=64, quant_type=quant_type, compress_statistics=nested)
                out[f"{tag}.codes"] = q.reshape(-1).contiguous()
                if nested:
                    out[f"{tag}.absmax_codes"] = state.absmax.contiguous()
                    out[f"{tag}.absmax_absmax"] = state.state2.absmax.contiguous()
                    out[f"{tag}.offset"] = state.offset.reshape(1).float().contiguous()
                    out["dynamic_map"] = state.state2.code.contiguous()
                else:
                    out[f"{tag}.absmax"] = state.absmax.contiguous()
                # b is large: its codes and scales are checked, its dequantization is implied. The others are
                # dequantized in the two settings QLoRA recipes use (nf4 nested) and the plain fp4 one.
                if name != "b" and (quant_type, nested) in (("nf4", True), ("fp4", False)):
                    out[f"{tag}.dequantized"] = F.dequantize_4bit(q, state).float().contiguous()
    # The double quantizer alone: 8-bit dynamic codes in blocks of 256 (a partial last block).
    x = torch.randn(3000) * 0.3
    q8, state8 = F.quantize_blockwise(x, blocksize=256)
    out["blockwise.input"] = x
    out["blockwise.codes"] = q8.contiguous()
    out["blockwise.absmax"] = state8.absmax.contiguous()
    out["blockwise.dequantized"] = F.dequantize_blockwise(q8, state8).contiguous()
    os.makedirs(NN_OUT, exist_ok=True)
    save_file(out, os.path.join(NN_OUT, "quantized.safetensors"), metadata={k: v for k, v in VERSIONS.items()})


def model_fixture():
    torch.manual_seed(1)
    # Every in_features a multiple of 64: bitsandbytes 0.50.2's CPU dequantize_4bit kernel (AVX-512 path) indexes the
    # absmax per row, r·(n // 64) + j // 64, which is not the flat block order quantize_4bit (and CUDA) use when a row
    # is not whole blocks. Real models' widths are multiples of 64; the quantizer fixture above covers the rest.
    config = LlamaConfig(vocab_size=96, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5,
                         tie_word_embeddings=False)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
    os.makedirs(MODEL_OUT, exist_ok=True)
    model.to(torch.bfloat16).save_pretrained(MODEL_OUT, safe_serialization=True)
    path = os.path.join(MODEL_OUT, "generation_config.json")
    if os.path.exists(path):
        os.remove(path)

    g = torch.Generator().manual_seed(2)
    ids = torch.randint(0, config.vocab_size, (2, 12), generator=g)

    def logits(**kwargs):
        m = AutoModelForCausalLM.from_pretrained(MODEL_OUT, dtype=torch.float32, device_map="cpu",
                                                 attn_implementation="eager", **kwargs)
        # The state as loaded (an inference forward on an AVX512-BF16 CPU repacks it for its bf16 kernel).
        state = {}
        if kwargs:
            down = m.model.layers[1].mlp.down_proj.weight
            state = {"codes": down.data.reshape(-1).tolist(), "absmax_codes": down.quant_state.absmax.tolist(),
                     "absmax_absmax": down.quant_state.state2.absmax.tolist(), "offset": down.quant_state.offset.item()} \
                if down.quant_state.nested else {}
        # Training mode (no dropout in this model): bitsandbytes' training path, dequantize then matmul in the compute
        # dtype, the same on every CPU.
        m.train()
        with torch.no_grad():
            return m, m(input_ids=ids).logits, state

    _, dense, _ = logits()
    nf4_model, nf4, down_state = logits(quantization_config=BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.float32))
    _, fp4, _ = logits(quantization_config=BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_quant_type="fp4", bnb_4bit_use_double_quant=False,
        bnb_4bit_compute_dtype=torch.float32))
    # Which layers bitsandbytes quantized (transformers keeps lm_head dense).
    quantized = sorted(n for n, m in nf4_model.named_modules() if isinstance(m, bitsandbytes.nn.Linear4bit))
    expected = {
        "versions": VERSIONS,
        "input_ids": ids.tolist(),
        "logits_dense": dense.flatten().tolist(),
        "logits_nf4_double_quant": nf4.flatten().tolist(),
        "logits_fp4": fp4.flatten().tolist(),
        "shape": list(dense.shape),
        "max_abs_error_nf4": (nf4 - dense).abs().max().item(),
        "max_abs_error_fp4": (fp4 - dense).abs().max().item(),
        "quantized_modules": quantized,
        "layers.1.mlp.down_proj": down_state,
    }
    with open(os.path.join(MODEL_OUT, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    quantizer_fixture()
    model_fixture()
    print("wrote", NN_OUT, "and", MODEL_OUT)
