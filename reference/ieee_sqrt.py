"""Correctly rounded float32 square roots for the optimizer fixture scripts (imported for its effect).

torch.sqrt on the CPU goes through MKL's vector math (vmsSqrt), and what it returns depends on the CPU: on an AMD EPYC
Zen 4 (AVX-512) about 15% of float32 results come out one ulp above the correctly rounded value, with every
ATEN_CPU_CAPABILITY and MKL_CBWR setting; on the machine the fixtures were first dumped on, a few in 10,000 did
(measured 6 Dec 2026 with torch 2.13.0). An optimizer divides by sqrt(v), so a fixture dumped on one CPU was off by an
ulp on another. With this module imported, float32 CPU square roots (torch.sqrt, Tensor.sqrt, Tensor.sqrt_) are taken
in float64 and rounded once to float32 — correctly rounded, since float64 carries more than twice float32's bits — so
the fixtures are the same on every CPU, and orpo's CPU square root (the IEEE instruction, Sources/CTorch/math.cpp)
matches them bit for bit everywhere. Everything else the scripts run is the libraries' own code, unchanged.
"""
import torch

_sqrt, _method, _inplace = torch.sqrt, torch.Tensor.sqrt, torch.Tensor.sqrt_


def _exact(x):
    return x.device.type == "cpu" and x.dtype == torch.float32


def sqrt(x, *args, **kwargs):
    if _exact(x) and not args and not kwargs:
        return _sqrt(x.double()).float()
    return _sqrt(x, *args, **kwargs)


def sqrt_method(self):
    return _sqrt(self.double()).float() if _exact(self) else _method(self)


def sqrt_inplace(self):
    return self.copy_(_sqrt(self.double())) if _exact(self) else _inplace(self)


torch.sqrt = sqrt
torch.Tensor.sqrt = sqrt_method
torch.Tensor.sqrt_ = sqrt_inplace
