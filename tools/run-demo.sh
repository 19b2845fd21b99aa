#!/usr/bin/env bash
# tools/run-demo.sh: install dependencies, build, and run the main job on the
# bundled default: the demo CNN (examples/demo/cnn.onnx) on 8 Fashion-MNIST
# test images, printing class probabilities and the predicted classes.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
out="${OT_DEMO_OUT:-build/demo-output}"
mkdir -p "$out"
build/onnxtrain inspect examples/demo/cnn.onnx
echo
build/onnxtrain run examples/demo/cnn.onnx --input-dir examples/demo --output-dir "$out"
echo "outputs written to $out/ (TensorProto .pb); PyTorch's are in examples/demo/output_0.pb"
