#!/usr/bin/env bash
# tools/check-in-ort.sh: does ONNX Runtime give the same outputs as
# onnxtrain for MODEL.onnx fed DIR/input_K.pb (TensorProto, K-th graph
# input)? ONNX Runtime is the npm package onnxruntime-node, at the version
# pinned in tools/ort-check/package-lock.json, installed once into
# build/ort-check (needs node and npm: Debian's nodejs and npm packages are
# installed when missing, and the npm registry).
#   tools/check-in-ort.sh MODEL.onnx INPUT_DIR [RTOL ATOL]   (default 1e-4 1e-5)
# Exit status: 0 same outputs; 1 different outputs or an error; 3 ONNX
# Runtime could not be installed (no npm registry), nothing was compared.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: tools/check-in-ort.sh MODEL.onnx INPUT_DIR [RTOL ATOL]" >&2
  exit 2
fi
model=$1 inputs=$2 rtol=${3:-1e-4} atol=${4:-1e-5}
dir=build/ort-check
if [ ! -f "$dir/node_modules/onnxruntime-node/package.json" ]; then
  if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends nodejs npm >/dev/null ||
      { echo "ONNX Runtime check skipped: node and npm could not be installed"; exit 3; }
  fi
  mkdir -p "$dir"
  cp tools/ort-check/package.json tools/ort-check/package-lock.json "$dir/"
  # The CPU runtime ships inside the package; its install script only
  # fetches GPU providers (from nuget.org), hence --ignore-scripts.
  if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts >npm.log 2>&1); then
    echo "ONNX Runtime check skipped: npm could not install onnxruntime-node (see $dir/npm.log)"
    exit 3
  fi
fi
ours=$(mktemp -d)
trap 'rm -rf "$ours"' EXIT
build/onnxtrain run "$model" --input-dir "$inputs" --output-dir "$ours" --quiet
NODE_PATH="$PWD/$dir/node_modules" node tools/ort-check/compare.js "$model" "$inputs" "$ours" "$rtol" "$atol"
