# make_gguf_quant_fixtures.py — what gguf-py's reference quantizers (gguf.quants.quantize) write for small float32
# tensors, for the quantizers behind `orpo export --format gguf` (Sources/GGUF/Quantize.swift).
# Pinned: gguf==0.19.0, numpy==2.4.6 (requirements-gguf.txt). Run from the repository root:
#   python3 -m venv .venv-gguf && .venv-gguf/bin/pip install -r reference/requirements-gguf.txt
#   .venv-gguf/bin/python reference/make_gguf_quant_fixtures.py
# Writes Tests/GGUFTests/Fixtures/quant_cases.json: for each case the input values (float32 bit patterns, hex), the
# row length and, per type, the expected bytes (hex).
import importlib.metadata
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize

PINNED = {"gguf": "0.19.0", "numpy": "2.4.6"}
for name, version in PINNED.items():
    assert importlib.metadata.version(name) == version, f"{name} {importlib.metadata.version(name)} installed, pinned {version}"
OUT = os.path.join("Tests", "GGUFTests", "Fixtures", "quant_cases.json")
rng = np.random.default_rng(20261205)

inputs = []
# Ordinary weights: two rows of 64, scaled like a linear layer's.
inputs.append(("normal", (rng.standard_normal((2, 64)) * 0.05).astype(np.float32)))
# Wide range and outliers: one huge value per block, tiny ones beside it.
x = (rng.standard_normal((1, 96)) * 1e-3).astype(np.float32)
x[0, 5] = 3.0; x[0, 40] = -7.5; x[0, 95] = 1e4
inputs.append(("outliers", x))
# Ties: values landing exactly on .5 after scaling (q8_0 rounds half away from zero), equal magnitudes of both signs
# (q4_0 keeps the first), an all-zero block, negative zero, and values that overflow f16.
ties = np.zeros((1, 128), dtype=np.float32)
ties[0, :32] = np.arange(-16, 16, dtype=np.float32) * (127 / 254)      # x/d = k + 0.5 for q8_0 (d = 127/254·16/127)
ties[0, 0] = 16 * 127 / 254 * -1
ties[0, 32:64] = np.tile(np.array([-2.0, 2.0, 1.0, -1.0], dtype=np.float32), 8)
ties[0, 64:96] = 0.0
ties[0, 96:128] = np.linspace(-1, 1, 32, dtype=np.float32)
ties[0, 97] = -0.0
inputs.append(("ties", ties))
big = np.array([[70000.0, -70000.0, 65504.0, 65520.0, 1e-8, -1e-8, 6e-8, 3.0e-5] * 4], dtype=np.float32)
inputs.append(("f16_edges", big))
sub = np.array([[1.0000001, 1.0078125, 1.00390625, 1.01171875, 3.4e38, -3.4e38, 1e-40, np.inf] * 4], dtype=np.float32)
inputs.append(("bf16_rounding", sub))

cases = []
for name, x in inputs:
    case = {"name": name, "row_length": int(x.shape[-1]), "values": x.view(np.uint32).astype("<u4").tobytes().hex(),
            "expected": {}}
    for qtype in (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0):
        if not np.isfinite(x).all() and qtype in (T.Q8_0, T.Q4_0):
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            q = quantize(x, qtype)
        case["expected"][qtype.name] = np.asarray(q).view(np.uint8).tobytes().hex()
    cases.append(case)

with open(OUT, "w") as f:
    json.dump({"generator": "reference/make_gguf_quant_fixtures.py", **PINNED, "cases": cases}, f, indent=1)
print(f"wrote {OUT}: {len(cases)} cases")
