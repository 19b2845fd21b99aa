#!/usr/bin/env bash
# tools/run-demo.sh: install dependencies, build, and run the main job on the
# bundled default: train the demo CNN (examples/demo/cnn.onnx, a PyTorch
# export) on 20,000 Fashion-MNIST training images (Debian's
# dataset-fashion-mnist), export the trained inference model, run it on 8
# test images, and check that ONNX Runtime (tools/check-in-ort.sh) gives the
# same outputs.
#   OT_DEMO_OUT   output folder (default: build/demo-output)
#   OT_DEMO_STEPS training steps (default: 600)
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
out="${OT_DEMO_OUT:-build/demo-output}"
steps="${OT_DEMO_STEPS:-600}"
data=/usr/share/datasets/fashion-mnist
mkdir -p "$out"
ot=build/onnxtrain

$ot inspect examples/demo/cnn.onnx
echo
echo "== data: Fashion-MNIST IDX -> .npz"
$ot idx-to-npz "$data/train-images-idx3-ubyte.gz" "$data/train-labels-idx1-ubyte.gz" -o "$out/train.npz" --limit 20000
echo
echo "== prepare: cross-entropy on the logits (before the final Softmax); weights drawn afresh"
echo "   (He/Kaiming normal for ReLU networks); AdamW without decay on biases and"
echo "   norm weights; linear warmup then cosine decay; gradients clipped to norm 1"
$ot prepare examples/demo/cnn.onnx -o "$out/train.onnx" --loss cross_entropy --output /fc/Gemm_output_0 \
  --init kaiming_normal --init-nonlinearity relu --seed 1 \
  --optimizer adamw --lr 3e-3 --weight-decay 0.01 --no-decay-1d \
  --lr-schedule warmup_cosine --warmup-steps $((steps / 10)) --total-steps "$steps" --clip-grad-norm 1
echo
echo "== train: $steps steps of 64 images"
$ot train "$out/train.onnx" --data "$out/train.npz" --batch-size 64 --steps "$steps" --seed 1 \
  --log "$out/train_log.csv" --checkpoint "$out/checkpoint.onnx"
echo
echo "== export: the inference model with the trained weights"
$ot export "$out/checkpoint.onnx" -o "$out/cnn_trained.onnx"
echo
echo "== run: 8 Fashion-MNIST test images (their labels: 9 2 1 1 6 1 4 6)"
$ot run "$out/cnn_trained.onnx" --input-dir examples/demo --output-dir "$out"
echo
echo "== ONNX Runtime: the exported model, run by ONNX Runtime on the same images"
rc=0
tools/check-in-ort.sh "$out/cnn_trained.onnx" examples/demo || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || exit "$rc" # 3: ONNX Runtime unavailable (no npm registry)
echo "loss per step: $out/train_log.csv; trained model: $out/cnn_trained.onnx"
