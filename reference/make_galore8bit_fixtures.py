#!/usr/bin/env python3
"""galore-torch 1.0's GaLoreAdamW8bit on bitsandbytes 0.50.2's CPU kernels, as transformers 5.23 builds it for TRL's
optim galore_adamw_8bit, for Tests/TrainingTests/GaLore8BitTests.swift.

transformers passes two parameter groups — every parameter that is not a target, then the targets' weights with
{rank, update_proj_gap, scale, proj_type} — and only `lr`, so betas, eps and weight decay are the class's defaults:
(0.9, 0.999), 1e-8, 1e-2. Its step() projects each target's gradient with GaLoreProjector, swaps the weight for
zeros of the projected shape, lets bitsandbytes' Optimizer2State("adam") update those (8-bit block-wise states when
the projected gradient has >= 4096 elements, float32 otherwise; the group's weight decay set to 0 meanwhile), adds
the result projected back times scale to the saved weight, then applies the weight decay (p += -lr * wd * p).
Other parameters take bitsandbytes' 8-bit AdamW as it is.

Two things keep the stock class from running as meant here, and this script says what it does about each:
  * step() calls torch.cuda.synchronize() after every update, which raises on a CPU build of torch: the script
    replaces it with a no-op (there is nothing to synchronise on the CPU).
  * Its constructor passes bitsandbytes' Optimizer2State its arguments by position: `..., 8, args, min_8bit_size,
    percentile_clipping=100, block_wise=True, is_paged=...`. bitsandbytes 0.50.0 removed percentile_clipping and
    block_wise from that signature, so 100 and True land on max_unorm and skip_zeros. max_unorm=100 makes the 32-bit
    update clip its norm to 100 x the norm of the parameter — the zeroed stand-in, norm 0 — so a target whose
    projected gradient has under 4096 elements takes no Adam update at all, only the weight decay applied after it
    (and a zero-initialised small non-target never moves). bitsandbytes <= 0.49.2 still has the old signature but
    no CPU kernel for the 8-bit block-wise update (optimizer_update_8bit_blockwise is registered for CUDA and XPU
    only; the CPU kernels came in 0.50.0, PR #1901), so no released bitsandbytes runs galore-torch 1.0's class as written on a CPU. The script therefore subclasses it,
    keeps its step() unchanged, and calls Optimizer2State's constructor with keywords: optim_bits=8,
    min_8bit_size=4096, max_unorm=0.0, skip_zeros=False — the semantics galore-torch intends (no update-norm
    clipping; percentile clipping 100 is "off"). It also runs the stock class once and records in expected.json that
    its small target only takes the weight decay, never an Adam update, so the choice is visible.

Writes Tests/TrainingTests/Fixtures/galore8bit/:
  * expected.json: versions, hyper-parameters, learning rate per step, targets, which parameters got 8-bit states,
    per-parameter steps, and what the stock class did;
  * galore_adamw_8bit.safetensors: `initial.<k>`, `grad.<step>.<k>`, `param.<step>.<k>` after every step, and the
    final `state1.<k>`, `state2.<k>` (uint8 codes or float32), `absmax1.<k>`, `absmax2.<k>` (8-bit states) and, for
    targets, `ortho.<k>`.
Parameters: 0 [64, 65] (4160 elements: 8-bit states) and 1 [7] (float32 states) are not targets; 2 [520, 12]
(m >= n: right projection to [520, 8], 4160 elements: 8-bit states, 16 full blocks and one of 64) and 3 [12, 40]
(m < n: left projection to [8, 40], 320 elements: float32 states) are, rank 8, update_proj_gap 2 (SVDs before steps
1 and 3), scale 0.25. Gradients span several decades per row so the dynamic map's exponent matters.

Run: python3 -m venv .venv-galore8 && .venv-galore8/bin/pip install -r reference/requirements-bnb.txt
     .venv-galore8/bin/pip install --no-deps -r reference/requirements-galore.txt
     .venv-galore8/bin/python reference/make_galore8bit_fixtures.py
"""
import json
import os
import platform
import warnings

import bitsandbytes as bnb
import torch

import ieee_sqrt  # noqa: F401  (correctly rounded float32 square roots: the same fixtures on every CPU)
from bitsandbytes.optim.optimizer import Optimizer2State
from galore_torch import GaLoreAdamW8bit
from importlib.metadata import version
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "galore8bit")
SHAPES = [(64, 65), (7,), (520, 12), (12, 40)]
TARGETS = [2, 3]
RATES = [1e-2, 8e-3, 6e-3, 4e-3]
GALORE = {"rank": 8, "update_proj_gap": 2, "scale": 0.25, "proj_type": "std"}

# GaLoreAdamW8bit.step() synchronises CUDA after every update; a CPU build of torch has nothing to synchronise.
torch.cuda.synchronize = lambda *args, **kwargs: None


class IntendedGaLoreAdamW8bit(GaLoreAdamW8bit):
    """galore-torch's GaLoreAdamW8bit with its step() unchanged; only the constructor's call to bitsandbytes'
    Optimizer2State is made with keywords, so max_unorm and skip_zeros keep their defaults (0.0, False)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, min_8bit_size=4096,
                 is_paged=False):
        Optimizer2State.__init__(self, "adam", params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                 optim_bits=8, args=None, min_8bit_size=min_8bit_size, max_unorm=0.0,
                                 skip_zeros=False, is_paged=is_paged)


def run(cls):
    g = torch.Generator().manual_seed(0)
    initial = [torch.randn(*s, generator=g) for s in SHAPES]
    params = [torch.nn.Parameter(p.clone()) for p in initial]
    groups = [{"params": [p for k, p in enumerate(params) if k not in TARGETS]},
              {"params": [params[k] for k in TARGETS], **GALORE}]
    opt = cls(groups, lr=RATES[0])  # transformers: optimizer_kwargs = {"lr": learning_rate}
    tensors = {f"initial.{k}": p for k, p in enumerate(initial)}
    for step, lr in enumerate(RATES):
        for k, p in enumerate(params):
            # per-row magnitudes from 1e-4 to 10: blocks with very different absmax
            scale = 10.0 ** torch.empty(p.shape[0], *([1] * (p.dim() - 1))).uniform_(-4, 1, generator=g)
            grad = torch.randn(p.shape, generator=g) * scale
            tensors[f"grad.{step}.{k}"] = grad
            p.grad = grad.clone()
        for group in opt.param_groups:
            group["lr"] = lr
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt.step()
        for k, p in enumerate(params):
            tensors[f"param.{step}.{k}"] = p.detach().clone()
    return opt, params, tensors


def main():
    os.makedirs(OUT, exist_ok=True)
    opt, params, tensors = run(IntendedGaLoreAdamW8bit)
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
        if k in TARGETS:
            tensors[f"ortho.{k}"] = s["projector"].ortho_matrix.clone()
    assert eight_bit == [True, False, True, False], eight_bit
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, "galore_adamw_8bit.safetensors"))

    # The stock class on the same inputs (max_unorm=100, skip_zeros=True by position): the small target stays put.
    stock, stock_params, stock_tensors = run(GaLoreAdamW8bit)
    stock_config = stock.get_config(1, 1, stock.param_groups[1])
    only_decays, previous = True, stock_tensors["initial.3"]
    for step, lr in enumerate(RATES):
        decayed = previous.clone().add_(previous, alpha=-lr * stock.defaults["weight_decay"])
        only_decays &= torch.equal(stock_tensors[f"param.{step}.3"], decayed)
        previous = stock_tensors[f"param.{step}.3"]
    assert only_decays, "the stock class's small target took an Adam update: revisit the docstring"

    d = opt.defaults
    expected = {
        "versions": {"torch": torch.__version__, "bitsandbytes": bnb.__version__,
                     "galore_torch": version("galore-torch"), "python": platform.python_version()},
        "shapes": [list(s) for s in SHAPES], "targets": TARGETS, "rates": RATES, "galore": GALORE,
        "betas": list(d["betas"]), "eps": d["eps"], "weight_decay": d["weight_decay"],
        "eight_bit": eight_bit, "steps": [opt.state[p]["step"] for p in params],
        "stock_class": {"max_unorm": stock_config["max_unorm"], "skip_zeros": stock_config["skip_zeros"],
                        "small_target_only_decays": only_decays},
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
