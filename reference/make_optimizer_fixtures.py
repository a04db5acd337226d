#!/usr/bin/env python3
"""torch.optim.AdamW and torch.nn.utils.clip_grad_norm_ on tiny tensors, for Tests/TrainingTests/OptimizerTests.swift.

Writes Tests/TrainingTests/Fixtures/optimizer/expected.json:
  * `adamw`: two parameters (3x4 and 5), AdamW(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1), three steps with
    fresh random gradients and a learning rate changed before each step (as the trainer's schedule does); the
    parameters after every step and both moments after the last;
  * `adamw_fused`: the same with AdamW(fused=True) (transformers' optim adamw_torch_fused, its default with torch
    >= 2.8 and so TRL's), over a 17x23 parameter (the kernel's vector loop and its scalar tail) and a 5-element one, with gradients spanning
    six decades: there the fused kernel's values differ from the single-tensor loop's in the last bit of a few;
  * `clip`: clip_grad_norm_ over two gradients, once with max_norm=1.0 (it clips) and once with max_norm=100
    (the clamped coefficient 1.0 is still multiplied in); the returned total norm and the gradients after.
On CPU both take PyTorch's default path unless told otherwise: AdamW's single-tensor loop (`foreach` is for
accelerators only) and clip_grad_norm_'s foreach norms. Every number is a float32 value written as a Python float.

Run: python3 -m venv .venv-opt && .venv-opt/bin/pip install -r reference/requirements-optimizer.txt
     .venv-opt/bin/python reference/make_optimizer_fixtures.py
"""
import json
import os
import platform

import torch

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "Tests", "TrainingTests", "Fixtures", "optimizer")


def values(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def adamw_case(shapes=((3, 4), (5,)), spread=False, **kwargs):
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(*shape, generator=g) for shape in shapes]
    initial = [values(p) for p in params]
    params = [torch.nn.Parameter(p.clone()) for p in params]
    opt = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, **kwargs)
    steps = []
    for lr in [1e-2, 5e-3, 2e-3]:
        grads = [torch.randn(p.shape, generator=g) for p in params]
        if spread:  # each gradient value times 10^-6 ... 10^0, as LoRA's gradients span decades
            grads = [x * 10.0 ** torch.randint(-6, 1, x.shape, generator=g).float() for x in grads]
        for p, grad in zip(params, grads):
            p.grad = grad.clone()
        opt.param_groups[0]["lr"] = lr
        opt.step()
        steps.append({"lr": lr, "grads": [values(x) for x in grads], "params": [values(p) for p in params]})
    state = [opt.state[p] for p in params]
    return {
        "shapes": [list(p.shape) for p in params],
        "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1,
        "initial": initial,
        "steps": steps,
        "exp_avg": [values(s["exp_avg"]) for s in state],
        "exp_avg_sq": [values(s["exp_avg_sq"]) for s in state],
        "step": int(state[0]["step"].item()),
    }


def clip_case(max_norm):
    g = torch.Generator().manual_seed(1)
    grads = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
    params = [torch.nn.Parameter(torch.zeros(x.shape)) for x in grads]
    for p, grad in zip(params, grads):
        p.grad = grad.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm=max_norm)
    return {"max_norm": max_norm, "shapes": [list(x.shape) for x in grads], "grads": [values(x) for x in grads],
            "total_norm": float(total.item()), "clipped": [values(p.grad) for p in params]}


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "adamw": adamw_case(),
        "adamw_fused": adamw_case(shapes=((17, 23), (5,)), spread=True, fused=True),
        "clip": [clip_case(1.0), clip_case(100.0)],
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
