# make_safetensors_fixtures.py — dumps Tests/TorchTests/Fixtures/safetensors/ with the pinned Python library.
# Pinned: safetensors==0.8.0 (with torch and numpy). Run from the repository root:
#   /work/main/.venv-ref/bin/python reference/make_safetensors_fixtures.py
# Writes:
#   all_dtypes.safetensors  every dtype the Swift side knows, plus a 0-d and an empty tensor, metadata {"format": "pt"}
#   names_and_escapes.safetensors  tricky names (sort order, unicode) and a metadata value needing JSON escapes
#   expected.json            per file: dtype, shape, raw bytes (hex) and values (as float64) of each tensor
# The Swift tests read both files, then rewrite them with SafeTensors.write and require byte-identical output:
# that is the check that Python reads what we write (it is the very file Python wrote).
import importlib.metadata
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file, load_file

PINNED = "0.8.0"
VERSION = importlib.metadata.version("safetensors")
assert VERSION == PINNED, f"safetensors {VERSION} installed, fixtures are pinned to {PINNED}"
OUT = os.path.join("Tests", "TorchTests", "Fixtures", "safetensors")
os.makedirs(OUT, exist_ok=True)
g = torch.Generator().manual_seed(20261123)
rng = np.random.default_rng(20261123)

tensors = {
    "f32": torch.randn(2, 3, generator=g),
    "f64": torch.randn(3, generator=g, dtype=torch.float64),
    "f16": torch.randn(2, 2, generator=g).half(),
    "bf16": torch.randn(5, generator=g).bfloat16(),
    "i64": torch.tensor([-(2**62), -1, 0, 2**62 + 12345], dtype=torch.int64),
    "i32": torch.tensor([[-(2**31), 7], [2**31 - 1, 0]], dtype=torch.int32),
    "i16": torch.tensor([-32768, 32767, 5], dtype=torch.int16),
    "i8": torch.tensor([-128, 127, 3], dtype=torch.int8),
    "u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True], dtype=torch.bool),
    "u16": torch.from_numpy(np.array([0, 65535, 1234], dtype=np.uint16)),
    "u32": torch.from_numpy(np.array([0, 4294967295, 99], dtype=np.uint32)),
    "u64": torch.from_numpy(np.array([0, 2**53, 42], dtype=np.uint64)),
    "f8_e4m3": torch.tensor([0.5, -1.75, 448.0, 0.0], dtype=torch.float32).to(torch.float8_e4m3fn),
    "f8_e5m2": torch.tensor([0.5, -1.75, 57344.0, 0.0], dtype=torch.float32).to(torch.float8_e5m2),
    "scalar": torch.tensor(3.25, dtype=torch.float32),
    "empty": torch.zeros(0, 4, dtype=torch.float32),
}


def describe(t):
    flat = t.reshape(-1)
    if t.dtype == torch.uint64:
        values = [float(int(v)) for v in flat.numpy()]
    else:
        values = [float(v) for v in flat.to(torch.float64).tolist()]
    raw = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
    return {"shape": list(t.shape), "bytes": raw.hex(), "values": values, "torch_dtype": str(t.dtype)}


expected = {"generator": "reference/make_safetensors_fixtures.py", "safetensors": VERSION,
            "torch": torch.__version__, "files": {}}

save_file(tensors, os.path.join(OUT, "all_dtypes.safetensors"), metadata={"format": "pt"})
expected["files"]["all_dtypes.safetensors"] = {"metadata": {"format": "pt"},
                                              "tensors": {k: describe(v) for k, v in tensors.items()}}

tricky = {name: torch.full((2,), float(i), dtype=torch.float32)
          for i, name in enumerate(["a", "B", "a.b", "a_1", "é", "z", "model.layers.10.w", "model.layers.2.w"])}
tricky["half"] = torch.ones(3, dtype=torch.float16)  # odd byte count: later tensors start unaligned
tricky["after_half"] = torch.ones(1, dtype=torch.int8)
note = "quote\" back\\ nl\n tab\t ctl\x01 unicode é ✓ slash /"
save_file(tricky, os.path.join(OUT, "names_and_escapes.safetensors"), metadata={"note": note})
expected["files"]["names_and_escapes.safetensors"] = {"metadata": {"note": note},
                                                     "tensors": {k: describe(v) for k, v in tricky.items()}}

# The library reads its own files back (sanity).
for name in expected["files"]:
    back = load_file(os.path.join(OUT, name))
    assert set(back) == set(expected["files"][name]["tensors"])

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, ensure_ascii=False)
print("wrote", OUT)
