#!/usr/bin/python3
"""tools/make_demo_model.py: writes the bundled demo model and input.

examples/demo/cnn.onnx   a small Fashion-MNIST CNN (Conv, Relu, MaxPool,
                         BatchNormalization, Gemm, Softmax), seeded random
                         weights, exported by torch.onnx at opset 17
examples/demo/input_0.pb the first 8 test images of Fashion-MNIST, scaled to [0, 1]
examples/demo/output_0.pb PyTorch's output for them (the reference)

Run with Debian's interpreter: /usr/bin/python3 tools/make_demo_model.py
"""
import gzip
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "examples", "demo")
MNIST = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


class SmallCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.fc = torch.nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return torch.softmax(self.fc(torch.flatten(x, 1)), dim=1)


def main():
    torch.manual_seed(0)
    model = SmallCnn().eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        model.bn1.running_mean.uniform_(-0.1, 0.1)
        model.bn1.running_var.uniform_(0.5, 1.5)
    with gzip.open(MNIST, "rb") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    x = torch.from_numpy(images[:8].astype(np.float32) / 255.0)
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "cnn.onnx")
    torch.onnx.export(model, x, path, opset_version=17, input_names=["image"], output_names=["probs"],
                      dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    onnx.checker.check_model(onnx.load(path))
    with torch.no_grad():
        y = model(x)
    for name, arr in (("input_0.pb", x.numpy()), ("output_0.pb", y.numpy())):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(numpy_helper.from_array(arr).SerializeToString())


if __name__ == "__main__":
    main()
