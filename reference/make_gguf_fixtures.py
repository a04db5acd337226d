# make_gguf_fixtures.py — dumps the GGUF fixtures in Tests/GGUFTests/Fixtures/ with the pinned gguf-py package.
# Pinned: gguf==0.19.0 (with numpy). Run from the repository root:
#   /work/main/.venv-ref/bin/python reference/make_gguf_fixtures.py [models/SmolLM2-135M-Instruct.Q4_1.gguf]
# Writes:
#   dequant_cases.json   small random blocks of each supported ggml type and gguf.quants.dequantize's output
#   python_writer.gguf   a tiny file written by gguf.GGUFWriter (every metadata type, a few tensor types)
#   python_writer.json   what that file holds (metadata and dequantized tensors)
#   smollm2_rows.json    facts and a few dequantized rows of the real default model (skipped if it is absent)
import hashlib
import importlib.metadata
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize, dequantize

PINNED = "0.19.0"
VERSION = importlib.metadata.version("gguf")
assert VERSION == PINNED, f"gguf {VERSION} installed, fixtures are pinned to {PINNED}"
OUT = os.path.join("Tests", "GGUFTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261123)
header = {"generator": "reference/make_gguf_fixtures.py", "gguf": VERSION, "numpy": np.__version__}


def floats(a):
    return [float(x) for x in np.asarray(a, dtype=np.float32).reshape(-1)]


def f16_bytes(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8)


# --- 1. dequantization cases -------------------------------------------------------------------------------
cases = []
# Types gguf-py can quantize: quantize random data, then dequantize.
for qtype, n in [(T.F32, 16), (T.F16, 16), (T.BF16, 16), (T.Q4_0, 64), (T.Q4_1, 64), (T.Q5_0, 64),
                 (T.Q5_1, 64), (T.Q8_0, 64)]:
    x = (rng.standard_normal(n) * 0.7).astype(np.float32)
    q = quantize(x, qtype) if qtype != T.F32 else x
    raw = np.asarray(q).view(np.uint8).reshape(-1)
    y = dequantize(raw if qtype not in (T.F32, T.F16) else np.asarray(q), qtype)
    cases.append({"type": qtype.name, "count": n, "bytes": raw.tobytes().hex(), "values": floats(y)})

# k-quants (gguf-py only dequantizes them): random blocks with small, finite f16 super-block scales.
QK_K = 256
for qtype in (T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(2, type_size), dtype=np.uint8)
    d = rng.uniform(0.002, 0.05, size=2)
    dmin = rng.uniform(0.001, 0.02, size=2)
    for b in range(2):
        if qtype == T.Q2_K:      # scales[16] qs[64] d dmin
            blocks[b, 80:82] = f16_bytes([d[b]]); blocks[b, 82:84] = f16_bytes([dmin[b]])
        elif qtype == T.Q3_K:    # hmask[32] qs[64] scales[12] d
            blocks[b, 108:110] = f16_bytes([d[b]])
        elif qtype in (T.Q4_K, T.Q5_K):  # d dmin scales[12] ...
            blocks[b, 0:2] = f16_bytes([d[b]]); blocks[b, 2:4] = f16_bytes([dmin[b]])
        elif qtype == T.Q6_K:    # ql[128] qh[64] scales[16] d
            blocks[b, 208:210] = f16_bytes([d[b]])
    raw = blocks.reshape(-1)
    y = dequantize(blocks, qtype)
    cases.append({"type": qtype.name, "count": 2 * QK_K, "bytes": raw.tobytes().hex(), "values": floats(y)})

with open(os.path.join(OUT, "dequant_cases.json"), "w") as f:
    json.dump({**header, "cases": cases}, f)

# --- 2. a tiny file written by gguf.GGUFWriter --------------------------------------------------------------
path = os.path.join(OUT, "python_writer.gguf")
w = gguf.GGUFWriter(path, "llama")
w.add_uint8("t.u8", 200)
w.add_int8("t.i8", -100)
w.add_uint16("t.u16", 60000)
w.add_int16("t.i16", -30000)
w.add_uint32("t.u32", 4_000_000_000)
w.add_int32("t.i32", -2_000_000_000)
w.add_uint64("t.u64", 18_000_000_000_000_000_000)
w.add_int64("t.i64", -9_000_000_000_000_000_000)
w.add_float32("t.f32", 0.1)
w.add_float64("t.f64", -2.5e-300)
w.add_bool("t.bool", True)
w.add_string("t.string", "héllo ✓ 世界")
w.add_array("t.strings", ["a", "", "Ġthe", "<|im_end|>"])
w.add_array("t.ints", [1, -2, 3])
w.add_array("t.floats", [0.5, -1.25])
w.add_array("t.nested", [[1, 2], [3]])
w.add_array("t.bools", [True, False])
tensors = {}
a = rng.standard_normal((3, 4)).astype(np.float32)
w.add_tensor("f32.weight", a)
tensors["f32.weight"] = {"type": "F32", "shape": [4, 3], "values": floats(a)}
h = rng.standard_normal(8).astype(np.float16)
w.add_tensor("f16.weight", h)
tensors["f16.weight"] = {"type": "F16", "shape": [8], "values": floats(h.astype(np.float32))}
x = rng.standard_normal((2, 64)).astype(np.float32)
for qtype in (T.Q8_0, T.Q4_1, T.BF16):
    q = quantize(x, qtype)
    name = f"{qtype.name.lower()}.weight"
    w.add_tensor(name, q, raw_dtype=qtype)
    tensors[name] = {"type": qtype.name, "shape": [64, 2], "values": floats(dequantize(q, qtype))}
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
with open(path, "rb") as f:
    digest = hashlib.sha256(f.read()).hexdigest()
with open(os.path.join(OUT, "python_writer.json"), "w") as f:
    json.dump({**header, "sha256": digest, "tensors": tensors}, f, indent=1)

# --- 3. the real default model -------------------------------------------------------------------------------
model = sys.argv[1] if len(sys.argv) > 1 else os.path.join("models", "SmolLM2-135M-Instruct.Q4_1.gguf")
if os.path.exists(model):
    r = gguf.GGUFReader(model)
    def tensor(name):
        return next(t for t in r.tensors if t.name == name)
    picks = {"token_embd.weight": [0, 1, 2, 1000, 49151], "blk.0.attn_q.weight": [0, 575],
             "blk.29.ffn_down.weight": [7], "output_norm.weight": [0]}
    rows = {}
    for name, which in picks.items():
        t = tensor(name)
        full = dequantize(t.data, t.tensor_type).reshape(-1, int(t.shape[0]))
        rows[name] = {"type": t.tensor_type.name, "shape": [int(s) for s in t.shape],
                      "rows": {str(i): floats(full[i]) for i in which}}
    tokens = r.fields["tokenizer.ggml.tokens"]
    with open(os.path.join(OUT, "smollm2_rows.json"), "w") as f:
        json.dump({**header, "model": os.path.basename(model), "size": os.path.getsize(model),
                   "tensor_count": len(r.tensors), "kv_count": len(r.fields) - 3,
                   "token_count": len(tokens.data),
                   "first_tokens": [tokens.contents(i) for i in range(4)],
                   "tensors": rows}, f)
else:
    print(f"{model} not found; smollm2_rows.json not written", file=sys.stderr)
print("wrote fixtures to", OUT)
