#!/usr/bin/env python3
"""bitsandbytes 0.50.2's AdamW with 8-bit and 32-bit states on its CPU backend, for Tests/TrainingTests/
BitsAndBytesAdamWTests.swift (TRL's optim adamw_8bit / paged_adamw_8bit / paged_adamw_32bit).

transformers builds these as `bitsandbytes.optim.AdamW(params, lr, betas, eps, weight_decay, optim_bits=8 or 32,
is_paged=...)` (trainer_optimizer.py `_get_bitsandbytes_optimizer`). On the CPU, bitsandbytes registers its own
kernels for both updates (backends/cpu/ops.py `_optimizer_update_8bit_blockwise_cpu`, `_optimizer_update_32bit_cpu`):
the 8-bit one dequantizes both states (blocks of 256, the signed dynamic map for exp_avg, the unsigned one for
exp_avg_sq), runs Adam in float32 and requantizes with the native CPU quantize_blockwise. Tensors under
min_8bit_size = 4096 elements keep 32-bit states. "Paged" falls back to plain buffers on the CPU (bitsandbytes warns).

Writes Tests/TrainingTests/Fixtures/adam8bit/ (paged_adamw_8bit is checked to give adamw_8bit's bytes, not stored):
  * expected.json: versions, hyper-parameters, learning rate per step, the unsigned dynamic map's float32 bits,
    and per case which parameters got 8-bit states;
  * <case>.safetensors: initial parameters `initial.<k>`, gradients `grad.<step>.<k>`, parameters after every step
    `param.<step>.<k>`, and the final state: `state1.<k>`/`state2.<k>` (uint8 codes or float32), `absmax1.<k>`,
    `absmax2.<k>` for 8-bit parameters.
Parameter 0 is [40, 110] (4400 elements: 17 full blocks and one of 48), parameter 1 is [5, 7] (35 elements: 32-bit
states even under optim_bits=8). Gradients span several decades so the dynamic map's exponent matters.

Run: python3 -m venv .venv-bnb && .venv-bnb/bin/pip install -r reference/requirements-bnb.txt
     .venv-bnb/bin/python reference/make_adam8bit_fixtures.py
"""
import json
import os
import platform
import struct
import warnings

import bitsandbytes as bnb
import bitsandbytes.functional as F
import torch

import ieee_sqrt  # noqa: F401  (correctly rounded float32 square roots: the same fixtures on every CPU)
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "adam8bit")
SHAPES = [(40, 110), (5, 7)]
RATES = [1e-2, 5e-3, 2e-3]
BETAS, EPS, WEIGHT_DECAY = (0.9, 0.999), 1e-8, 0.1


def run(name, optim_bits, is_paged, write=True):
    g = torch.Generator().manual_seed(0)
    initial = [torch.randn(*s, generator=g) for s in SHAPES]
    params = [torch.nn.Parameter(p.clone()) for p in initial]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Paged optimizers are not supported on CPU"
        opt = bnb.optim.AdamW(params, lr=RATES[0], betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY,
                              optim_bits=optim_bits, is_paged=is_paged)
    tensors = {f"initial.{k}": p for k, p in enumerate(initial)}
    for step, lr in enumerate(RATES):
        for k, p in enumerate(params):
            # per-row magnitudes from 1e-4 to 10: blocks with very different absmax
            scale = 10.0 ** torch.empty(p.shape[0], 1).uniform_(-4, 1, generator=g)
            grad = torch.randn(p.shape, generator=g) * scale
            tensors[f"grad.{step}.{k}"] = grad
            p.grad = grad.clone()
        opt.param_groups[0]["lr"] = lr
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt.step()
        for k, p in enumerate(params):
            tensors[f"param.{step}.{k}"] = p.detach().clone()
    eight_bit = []
    for k, p in enumerate(params):
        s = opt.state[p]
        tensors[f"state1.{k}"] = s["state1"].clone()
        tensors[f"state2.{k}"] = s["state2"].clone()
        is8 = s["state1"].dtype == torch.uint8
        eight_bit.append(is8)
        if is8:
            tensors[f"absmax1.{k}"] = s["absmax1"].clone()
            tensors[f"absmax2.{k}"] = s["absmax2"].clone()
    if write:
        save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, f"{name}.safetensors"))
    return tensors, {"optim_bits": optim_bits, "is_paged": is_paged, "eight_bit": eight_bit,
            "step": int(opt.state[params[0]]["step"])}


def bits(values):
    return [struct.unpack("<I", struct.pack("<f", float(v)))[0] for v in values]


def main():
    os.makedirs(OUT, exist_ok=True)
    unsigned = F.create_dynamic_map(signed=False)
    expected = {
        "versions": {"torch": torch.__version__, "bitsandbytes": bnb.__version__, "python": platform.python_version()},
        "shapes": [list(s) for s in SHAPES], "rates": RATES, "betas": list(BETAS), "eps": EPS,
        "weight_decay": WEIGHT_DECAY, "block_size": 256, "min_8bit_size": 4096,
        "signed_map_bits": bits(F.create_dynamic_map(signed=True).tolist()),
        "unsigned_map_bits": bits(unsigned.tolist()),
        "cases": {},
    }
    plain, expected["cases"]["adamw_8bit"] = run("adamw_8bit", 8, False)
    paged, _ = run("paged_adamw_8bit", 8, True, write=False)
    # paged_adamw_8bit on the CPU is adamw_8bit: check it rather than store it twice
    assert all(torch.equal(plain[k], paged[k]) for k in plain), "paged 8-bit differs from plain on the CPU"
    expected["paged_adamw_8bit_equals_adamw_8bit"] = True
    _, expected["cases"]["paged_adamw_32bit"] = run("paged_adamw_32bit", 32, True)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
