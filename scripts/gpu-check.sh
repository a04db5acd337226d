#!/usr/bin/env bash
# gpu-check.sh — what to run on a GPU machine that has PyTorch 2.11 but no Swift, from a copy of this repository
# with .carry/orpo.xz (`make carry`) beside it: the carried binary's env, `orpo selftest --device cuda`, the bf16
# matmul peak, `orpo bench train` on a Llama-3.2-1B-shaped model (random weights, bf16, rows near 2048 tokens) side by
# side with TRL when its wheels are carried (.whl/, scripts/trl-wheels.sh), then prompt sharing against the padded
# batch. Most important first; a failing step is reported and the rest still run. Results go to $OUT (default
# /tmp/gpu-check), each as soon as it is known. Usage: PYTHON=/opt/torch/.venv/bin/python3 scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/opt/torch/.venv/bin/python3}
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
BIN="$OUT/orpo"
"$PY" -c "import lzma,sys; sys.stdout.buffer.write(lzma.open('.carry/orpo.xz').read())" > "$BIN"
chmod +x "$BIN"
export LD_LIBRARY_PATH="$("$PY" -c "import torch,os; print(os.path.dirname(torch.__file__))")/lib"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/nvidia-smi.txt" || true
# The binary's shared libraries (libtorch's from the Python above; glibc, libstdc++, zlib, zstd and SQLite from the
# system): a missing one is named here rather than by the loader at each step.
ldd "$BIN" | tee "$OUT/ldd.txt" | grep "not found" && echo "MISSING LIBRARIES (see $OUT/ldd.txt)" || true

"$BIN" env | tee "$OUT/env.txt" || echo "env FAILED"
"$BIN" selftest --device cuda | tee "$OUT/selftest.txt" || echo "selftest FAILED (see $OUT/selftest.txt)"
"$BIN" bench matmul --device cuda --dtype bfloat16 --size 8192 | tee "$OUT/matmul-bf16.json" || echo "bf16 matmul FAILED"
"$BIN" bench matmul --device cuda --size 8192 | tee "$OUT/matmul-fp32.json" || echo "fp32 matmul FAILED"

# Preference rows of about 2048 tokens with the ORPO fixture's tokenizer (a long shared prompt, two answers).
"$PY" - > "$OUT/long.jsonl" <<'PYEOF'
import json, random
random.seed(0)
words = "the of and a to in is it that was for on are as with his they at be this from have or by one had".split()
for i in range(64):
    prompt = " ".join(random.choice(words) for _ in range(700))
    chosen = " ".join(random.choice(words) for _ in range(250))
    rejected = " ".join(random.choice(words) for _ in range(250))
    print(json.dumps({"prompt": prompt, "chosen": chosen, "rejected": rejected}))
PYEOF

# Side by side with TRL (issue 8's GPU targets: tokens/s and peak CUDA memory against TRL's), when its wheels were
# carried (scripts/trl-wheels.sh fills .whl/): the same random Llama-3.2-1B-shaped weights as a model folder both
# trainers load (reference/random_model.py), the same rows, bf16, batch 4, max_length 2048, two alternating rounds.
if compgen -G ".whl/trl-*.whl" > /dev/null; then
  # One chain (&&): `set -e` does not act inside a list that ends in ||, so a failed install stops the rest here.
  (
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/trl-site .whl/*.whl &&
    export PYTHONPATH=/tmp/trl-site &&
    { "$PY" -m pip show trl datasets transformers peft accelerate pyarrow fsspec huggingface_hub 2>/dev/null \
      | grep -E "^(Name|Version)" > "$OUT/trl-versions.txt" || true; } &&
    "$PY" -c "import trl, datasets, peft; from trl.experimental.orpo import ORPOTrainer" &&
    "$PY" reference/random_model.py --config configs/models/llama-3.2-1b --tokenizer-from Tests/TrainingTests/Fixtures/orpo \
      --out /tmp/llama-1b-random --device cuda &&
    "$BIN" bench train --device cuda --set bf16=true --model /tmp/llama-1b-random --data "$OUT/long.jsonl" \
      --max-length 2048 --per-device-train-batch-size 4 --steps 5 --warmup 2 --compare-trl "$PY" --rounds 2 --json \
      | tee "$OUT/bench-trl.json"
  ) 2>&1 | tee "$OUT/trl.log" | tail -40 || echo "TRL comparison FAILED (see $OUT/trl.log)"
else
  echo "no .whl/trl-*.whl: run scripts/trl-wheels.sh here and carry .whl to compare with TRL" | tee "$OUT/trl.log"
fi

# Prompt sharing against TRL's padded batch, ours alone (the model's shape, random weights, the fixture's tokenizer).
for layout in "" "--padded"; do
  "$BIN" bench train --device cuda --set bf16=true --random-weights configs/models/llama-3.2-1b \
    --model Tests/TrainingTests/Fixtures/orpo --data "$OUT/long.jsonl" --max-length 2048 \
    --per-device-train-batch-size 4 --steps 5 --warmup 2 $layout --json | tee -a "$OUT/bench-train.jsonl" \
    || echo "bench train $layout FAILED"
done
