#!/usr/bin/env bash
# tools/run-tests.sh: install dependencies, build with -Werror, run the whole
# test suite (unit tests, ONNX conformance, CLI checks), then the fast tests
# again under AddressSanitizer + UndefinedBehaviorSanitizer.
#   OT_SKIP_SANITIZE=1   skip the sanitizer build
set -euo pipefail
cd "$(dirname "$0")/.."

OT_CMAKE_ARGS="-DOT_WERROR=ON" tools/setup.sh
ctest --test-dir build --output-on-failure

if [ "${OT_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== fast tests under ASan + UBSan"
  OT_BUILD_DIR=build-asan OT_CMAKE_ARGS="-DOT_WERROR=ON -DOT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" tools/setup.sh
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -L fast
fi
