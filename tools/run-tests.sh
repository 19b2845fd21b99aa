#!/usr/bin/env bash
# tools/run-tests.sh: install dependencies, build with -Werror, run the whole
# test suite (unit tests, ONNX conformance, CLI checks), the demo with its
# exported model checked in ONNX Runtime, then the fast tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer, with the
# optimizers' AVX2 loops, and the optimizer tests with their baseline loops.
#   OT_SKIP_SANITIZE=1   skip the sanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."

OT_CMAKE_ARGS="-DOT_WERROR=ON" tools/setup.sh
ctest --test-dir build --output-on-failure

# The demo, shortened, ends by running its exported model in ONNX Runtime
# (npm's onnxruntime-node) and comparing the outputs with ours.
echo "== demo (30 steps) and its exported model in ONNX Runtime"
OT_DEMO_STEPS=30 OT_DEMO_OUT=build/demo-check tools/run-demo.sh >build/demo-check.log 2>&1 ||
  { cat build/demo-check.log; exit 1; }
grep -A3 "== ONNX Runtime" build/demo-check.log

if [ "${OT_SKIP_SANITIZE:-0}" != 1 ]; then
  # The optimizers' AVX2 loops here, then their baseline ones (the release
  # build runs the AVX-512 ones on these machines): all three are checked
  # against the torch fixtures.
  isa=""
  grep -qw avx2 /proc/cpuinfo && isa="-DOT_OPTIM_ISA=avx2"
  echo "== fast tests under ASan + UBSan ${isa:+(optimizers pinned to AVX2)}"
  OT_BUILD_DIR=build-asan OT_CMAKE_ARGS="-DOT_WERROR=ON -DOT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $isa" tools/setup.sh
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -L fast
  echo "== optimizer tests with the optimizers pinned to baseline x86-64"
  OT_BUILD_DIR=build-asan OT_CMAKE_ARGS="-DOT_WERROR=ON -DOT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DOT_OPTIM_ISA=baseline" \
    tools/setup.sh
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 OMP_NUM_THREADS=2 \
    build-asan/tests/ot_tests --gtest_brief=1 --gtest_filter='*Optim*:*Adam*:*SGD*:*Ort*:Clip*:Plugin*'
fi
