#!/usr/bin/env bash
# tools/setup.sh: install onnxtrain's Debian 12 dependencies (if missing)
# and build it into build/. Safe to run again: it only installs what is
# missing and rebuilds incrementally.
#   OT_BUILD_DIR   build folder (default: build)
#   OT_CMAKE_ARGS  extra cmake arguments (e.g. -DOT_SANITIZE=ON)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev    # ONNX protobuf, C code generated at build time
  libdnnl-dev libopenblas-dev                          # kernels
  zlib1g-dev                                           # .npz archives (deflate)
  libgtest-dev                                         # tests
  flatbuffers-compiler                                 # tests: flatc checks our ORT checkpoints
  libonnx-testdata                                     # ONNX conformance cases
  dataset-fashion-mnist                                # real training data
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update
  $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

build="${OT_BUILD_DIR:-build}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release ${OT_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)"
