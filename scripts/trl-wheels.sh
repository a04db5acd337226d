#!/usr/bin/env bash
# trl-wheels.sh — the wheels a GPU machine's Python lacks for `orpo bench train --compare-trl` (TRL and datasets, at the
# versions reference/requirements.txt pins, and their two small pure-Python needs), downloaded into .whl/ (git-ignored)
# for Python 3.12 on x86_64 Linux, to be carried with the repository; scripts/gpu-check.sh installs them into a folder
# of its own. The GPU machine's image already holds transformers, peft, accelerate, pyarrow and pandas (~1.8 MB here).
# Usage: scripts/trl-wheels.sh [PYTHON_VERSION]   (default 3.12)
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-3.12}
pins=()
for name in trl datasets dill multiprocess; do
  pin=$(grep -i -E "^${name}==" reference/requirements.txt) || { echo "trl-wheels.sh: reference/requirements.txt pins no $name" >&2; exit 1; }
  pins+=("$pin")
done
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$version" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl "${pins[@]}"
ls -la .whl
