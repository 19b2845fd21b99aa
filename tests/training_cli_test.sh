#!/usr/bin/env bash
# tests/training_cli_test.sh: the backward acceptance through the CLI:
# `onnxtrain run` on a training fixture (loss + Gradient graph) writes the
# loss and the weight gradients, which must match PyTorch autograd's
# (tests/fixtures/training, compared by tests/tools/compare_outputs.cc with
# the tolerance of tests/test_training_models.cc).
# usage: training_cli_test.sh path/to/onnxtrain path/to/compare_outputs source_dir [case ...]
set -u
bin=$1
compare=$2
src=$3
shift 3
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(smoke_opset17 mlp_opset14 mlp_opset17 lenet_opset14 lenet_opset17 resnet_block_opset14 resnet_block_opset17 transformer_opset14 transformer_opset17)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
# the comparer itself: accepts a fixture's own outputs, rejects another case's
fx=$src/tests/fixtures/training
if ! "$compare" "$fx/mlp_opset14/test_data_set_0" "$fx/mlp_opset14/test_data_set_0" >/dev/null; then
  fails=$((fails + 1))
  echo "FAIL: compare_outputs rejects identical outputs"
fi
if "$compare" "$fx/mlp_opset14/test_data_set_0" "$fx/lenet_opset14/test_data_set_0" >/dev/null 2>&1; then
  fails=$((fails + 1))
  echo "FAIL: compare_outputs accepts another model's outputs"
fi
for c in "${cases[@]}"; do
  dir=$fx/$c
  if ! "$bin" run "$dir/model.onnx" --input-dir "$dir/test_data_set_0" --output-dir "$tmp/$c" --quiet 2>"$tmp/err"; then
    fails=$((fails + 1))
    echo "FAIL: $c: onnxtrain run failed:"
    sed 's/^/    /' "$tmp/err"
  elif ! "$compare" "$dir/test_data_set_0" "$tmp/$c" 2>"$tmp/err"; then
    fails=$((fails + 1))
    echo "FAIL: $c: outputs differ from PyTorch's:"
    sed 's/^/    /' "$tmp/err"
  fi
done
echo "training cli: $fails failed (comparer self-check and ${#cases[@]} cases)"
[ "$fails" -eq 0 ]
