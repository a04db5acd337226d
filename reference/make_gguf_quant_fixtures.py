# make_gguf_quant_fixtures.py — what gguf-py's reference quantizers (gguf.quants.quantize) write for small float32
# tensors, for the quantizers behind `orpo export --format gguf` (Sources/GGUF/Quantize.swift).
# Pinned: gguf==0.19.0, numpy==2.4.6 (requirements-gguf.txt). Run from the repository root:
#   python3 -m venv .venv-gguf && .venv-gguf/bin/pip install -r reference/requirements-gguf.txt
#   .venv-gguf/bin/python reference/make_gguf_quant_fixtures.py
# Writes Tests/GGUFTests/Fixtures/quant_cases.json: for each case the input values (float32 bit patterns, hex), the
# row length and, per type, the expected bytes (hex).
# Q4_K and Q6_K, which gguf-py cannot write, come from ggml itself (ggml_quantize_chunk in libggml-base, the
# quantizer llama-quantize runs, which calls quantize_row_q4_K_ref / quantize_row_q6_K_ref without an importance
# matrix) of llama-cpp-python 0.3.36's vendored llama.cpp: pass the library as the first argument (a partial
# `pip install llama-cpp-python==0.3.36` build leaves it under build/bin/); ggml's Q5_0 must equal gguf-py's.
import ctypes
import importlib.metadata
import json
import os
import sys

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

# Rows of 256 and more for the k-quants (super-blocks of 256): weights like a layer's, an outlier, positive only (Q4_K's
# min clamps at 0), a zero super-block and one below ggml's GROUP_MAX_EPS (1e-15), groups of very different scales.
kquant = []
kquant.append(("k_normal", (rng.standard_normal((2, 512)) * 0.05).astype(np.float32)))
x = (rng.standard_normal((1, 256)) * 0.02).astype(np.float32)
x[0, 7] = 1.5; x[0, 200] = -0.9
kquant.append(("k_outliers", x))
kquant.append(("k_positive", np.abs(rng.standard_normal((1, 256)) * 0.1).astype(np.float32)))
x = np.zeros((1, 768), dtype=np.float32)
x[0, 256:512] = (rng.standard_normal(256) * 1e-20).astype(np.float32)
x[0, 512:] = (rng.standard_normal(256) * np.repeat([1e-4, 1e-2, 1.0, 0.3], 64)).astype(np.float32)
kquant.append(("k_scales", x))
inputs += kquant

lib = None
if len(sys.argv) > 1:
    lib = ctypes.CDLL(sys.argv[1])
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_void_p]
    lib.ggml_row_size.restype = ctypes.c_size_t
    lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]


def ggml_quantize(x, qtype):
    x = np.ascontiguousarray(x, dtype=np.float32)
    rows, n = x.shape
    out = np.zeros(lib.ggml_row_size(int(qtype), n) * rows, dtype=np.uint8)
    lib.ggml_quantize_chunk(int(qtype), x.ctypes.data, out.ctypes.data, 0, rows, n, None)
    return out


cases = []
for name, x in inputs:
    case = {"name": name, "row_length": int(x.shape[-1]), "values": x.view(np.uint32).astype("<u4").tobytes().hex(),
            "expected": {}}
    for qtype in (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q5_0):
        if not np.isfinite(x).all() and qtype in (T.Q8_0, T.Q4_0, T.Q5_0):
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            q = quantize(x, qtype)
        case["expected"][qtype.name] = np.asarray(q).view(np.uint8).tobytes().hex()
        if lib is not None and qtype == T.Q5_0:
            assert ggml_quantize(x, qtype).tobytes().hex() == case["expected"]["Q5_0"], f"{name}: ggml and gguf-py Q5_0"
    if lib is not None and x.shape[-1] % 256 == 0:
        for qtype in (T.Q4_K, T.Q6_K):
            case["expected"][qtype.name] = ggml_quantize(x, qtype).tobytes().hex()
    cases.append(case)

with open(OUT, "w") as f:
    json.dump({"generator": "reference/make_gguf_quant_fixtures.py", **PINNED,
               "k_quants": "llama-cpp-python 0.3.36 libggml-base" if lib is not None else None, "cases": cases}, f,
              indent=1)
print(f"wrote {OUT}: {len(cases)} cases")
