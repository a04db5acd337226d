#!/usr/bin/env python3
"""galore-torch 1.0's GaLoreAdamW as transformers 5.23 builds it for TRL's optim galore_adamw, for
Tests/TrainingTests/GaLoreTests.swift.

transformers (trainer_optimizer.py `_setup_low_rank_optimizer`) passes two parameter groups — every parameter that
is not a target, then the targets' weights with {rank, update_proj_gap, scale, proj_type} from optim_args — and only
`lr`: betas, eps and weight decay stay galore-torch's defaults ((0.9, 0.999), 1e-6, 0). Each target's gradient
[m, n] is projected to rank r through the SVD of the gradient (proj_type std: Vhᵀ's first r rows on the right when
m >= n, U's first r columns on the left otherwise), refreshed when the step count before the update is a multiple of
update_proj_gap; Adam runs on the projected gradient and its normalised update is projected back times scale.

Writes Tests/TrainingTests/Fixtures/galore/:
  * expected.json: versions, hyper-parameters, learning rate per step, which parameters are targets;
  * galore_adamw.safetensors: `initial.<k>`, `grad.<step>.<k>`, `param.<step>.<k>` after every step, and the final
    `exp_avg.<k>`, `exp_avg_sq.<k>` and, for targets, `ortho.<k>` (the projection matrix).
Parameters: 0 [6, 10] and 1 [7] are not targets; 2 [24, 16] (m >= n: right projection) and 3 [12, 40] (m < n: left)
are, rank 4, update_proj_gap 2 (SVDs at steps 1, 3 and 5), scale 0.25.

Run: python3 -m venv .venv-bnb && .venv-bnb/bin/pip install -r reference/requirements-bnb.txt
     .venv-bnb/bin/pip install --no-deps -r reference/requirements-galore.txt
     .venv-bnb/bin/python reference/make_galore_fixtures.py
"""
import json
import os
import platform
import warnings

import galore_torch
import torch
from importlib.metadata import version
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "galore")
SHAPES = [(6, 10), (7,), (24, 16), (12, 40)]
TARGETS = [2, 3]
RATES = [1e-2, 8e-3, 6e-3, 4e-3, 2e-3]
GALORE = {"rank": 4, "update_proj_gap": 2, "scale": 0.25, "proj_type": "std"}


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    initial = [torch.randn(*s, generator=g) for s in SHAPES]
    params = [torch.nn.Parameter(p.clone()) for p in initial]
    groups = [{"params": [p for k, p in enumerate(params) if k not in TARGETS]},
              {"params": [params[k] for k in TARGETS], **GALORE}]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # galore-torch's AdamW warns that transformers' AdamW is deprecated
        opt = galore_torch.GaLoreAdamW(groups, lr=RATES[0])
    tensors = {f"initial.{k}": p for k, p in enumerate(initial)}
    for step, lr in enumerate(RATES):
        for k, p in enumerate(params):
            grad = torch.randn(p.shape, generator=g)
            tensors[f"grad.{step}.{k}"] = grad
            p.grad = grad.clone()
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        for k, p in enumerate(params):
            tensors[f"param.{step}.{k}"] = p.detach().clone()
    for k, p in enumerate(params):
        s = opt.state[p]
        tensors[f"exp_avg.{k}"] = s["exp_avg"].clone()
        tensors[f"exp_avg_sq.{k}"] = s["exp_avg_sq"].clone()
        if k in TARGETS:
            tensors[f"ortho.{k}"] = s["projector"].ortho_matrix.clone()
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, "galore_adamw.safetensors"))
    d = opt.defaults
    expected = {
        "versions": {"torch": torch.__version__, "galore_torch": version("galore-torch"),
                     "python": platform.python_version()},
        "shapes": [list(s) for s in SHAPES], "targets": TARGETS, "rates": RATES, "galore": GALORE,
        "betas": list(d["betas"]), "eps": d["eps"], "weight_decay": d["weight_decay"],
        "step": opt.state[params[0]]["step"],
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
