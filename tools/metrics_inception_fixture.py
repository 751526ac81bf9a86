#!/usr/bin/python3
"""PyTorch reference for tfmq's Java InceptionV3 (pytorch-fid FID variant) and its resize.

The real weights cannot be shipped, so the network is filled with seeded pseudo-random parameters from the
portable generator of tools/fid_reference.py; the manifest lists every tensor (name, shape, seed, value =
add + mul * generator) so the Java test rebuilds the identical state dict, folds batch norm exactly as
tools/metrics_convert_inception.py does, and compares its forward pass with the outputs saved here.

Architecture written from the pytorch-fid FID Inception description: torchvision-style Inception-v3 with
1008 classes, Mixed_5b-5d = FIDInceptionA (avg pool without padding in the count), Mixed_6b-6e = FIDInceptionC
(same), Mixed_7b = FIDInceptionE_1 (same), Mixed_7c = FIDInceptionE_2 (3x3 max pool in the pool branch).
Input: [0,1] images -> bilinear resize to 299 (align_corners=False) -> 2x - 1.

Writes metrics/src/test/resources/inception-random/{manifest.json, x.npy, pooled.npy, spatial.npy, logits.npy}
and resize fixtures {resize_in.npy, resize_up.npy, resize_down.npy}.
Run: /usr/bin/python3 tools/metrics_inception_fixture.py
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fid_reference import normals, uniforms  # noqa: E402
import metrics_convert_inception as conv  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "metrics", "src", "test", "resources", "inception-random")


class Basic(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class A(nn.Module):
    def __init__(self, cin, pool):
        super().__init__()
        self.branch1x1 = Basic(cin, 64, kernel_size=1)
        self.branch5x5_1 = Basic(cin, 48, kernel_size=1)
        self.branch5x5_2 = Basic(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = Basic(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = Basic(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = Basic(96, 96, kernel_size=3, padding=1)
        self.branch_pool = Basic(cin, pool, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
        return torch.cat([b1, b5, b3, bp], 1)


class B(nn.Module):  # Mixed_6a
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = Basic(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = Basic(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = Basic(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = Basic(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b3, bd, F.max_pool2d(x, 3, 2)], 1)


class C(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = Basic(cin, 192, kernel_size=1)
        self.branch7x7_1 = Basic(cin, c7, kernel_size=1)
        self.branch7x7_2 = Basic(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = Basic(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = Basic(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = Basic(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = Basic(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = Basic(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = Basic(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = Basic(cin, 192, kernel_size=1)
        self.tap = None

    def forward(self, x):
        b1 = self.branch1x1(x)
        self.tap = b1
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = x
        for m in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                  self.branch7x7dbl_5):
            bd = m(bd)
        bp = self.branch_pool(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
        return torch.cat([b1, b7, bd, bp], 1)


class D(nn.Module):  # Mixed_7a
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = Basic(cin, 192, kernel_size=1)
        self.branch3x3_2 = Basic(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = Basic(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = Basic(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = Basic(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = Basic(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, 3, 2)], 1)


class E(nn.Module):
    def __init__(self, cin, max_pool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = Basic(cin, 320, kernel_size=1)
        self.branch3x3_1 = Basic(cin, 384, kernel_size=1)
        self.branch3x3_2a = Basic(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = Basic(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = Basic(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = Basic(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = Basic(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = Basic(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = Basic(cin, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        t = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(t), self.branch3x3_2b(t)], 1)
        t = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(t), self.branch3x3dbl_3b(t)], 1)
        if self.max_pool:
            p = F.max_pool2d(x, 3, 1, 1)
        else:
            p = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
        return torch.cat([b1, b3, bd, self.branch_pool(p)], 1)


class FIDInception(nn.Module):
    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = Basic(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = Basic(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = Basic(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = Basic(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = Basic(80, 192, kernel_size=3)
        self.Mixed_5b = A(192, 32)
        self.Mixed_5c = A(256, 64)
        self.Mixed_5d = A(288, 64)
        self.Mixed_6a = B(288)
        self.Mixed_6b = C(768, 128)
        self.Mixed_6c = C(768, 160)
        self.Mixed_6d = C(768, 160)
        self.Mixed_6e = C(768, 192)
        self.Mixed_7a = D(768)
        self.Mixed_7b = E(1280, False)
        self.Mixed_7c = E(2048, True)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, x):
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, 2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, 2)
        for name in ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
                     "Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(self, name)(x)
        pooled = x.mean(dim=(2, 3))
        tap = self.Mixed_6d.tap[:, :7]  # TF mixed_6/conv, first 7 channels
        spatial = tap.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # (H, W, C) order, as ADM flattens NHWC
        return pooled, spatial, self.fc(pooled)


def main():
    net = FIDInception().eval()
    manifest = []
    state = {}
    for i, (name, t) in enumerate(net.state_dict().items()):
        if name.endswith("num_batches_tracked"):
            continue
        n = t.numel()
        seed = 500000 + 16 * i
        if name.endswith(".conv.weight"):
            fan_in = t.shape[1] * t.shape[2] * t.shape[3]
            dist, add, mul = "normal", 0.0, float(np.sqrt(2.0 / fan_in))
        elif name.endswith(".bn.weight"):
            dist, add, mul = "normal", 1.0, 0.1
        elif name.endswith(".bn.running_var"):
            dist, add, mul = "uniform", 1.0, 0.5
        elif name == "fc.weight":
            dist, add, mul = "normal", 0.0, float(np.sqrt(1.0 / 2048))
        else:  # bn.bias, bn.running_mean, fc.bias
            dist, add, mul = "normal", 0.0, 0.1
        base = normals(seed, n) if dist == "normal" else uniforms(seed, n)
        values = (add + mul * base).astype(np.float32).reshape(tuple(t.shape))
        state[name] = values
        manifest.append({"name": name, "shape": list(t.shape), "seed": seed, "dist": dist, "add": add, "mul": mul})
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"bn_eps": conv.BN_EPS, "config": conv.CONFIG, "tensors": manifest}, f)
    # Inputs: 2 RGB images of 32x32 in [0,1] (upsampled to 299 inside)
    x = uniforms(777, 2 * 3 * 32 * 32).reshape(2, 3, 32, 32).astype(np.float32)
    with torch.no_grad():
        pooled, spatial, logits = net(torch.from_numpy(x))
    for name, a in (("x", x), ("pooled", pooled.numpy()), ("spatial", spatial.numpy()), ("logits", logits.numpy())):
        np.save(os.path.join(OUT, name + ".npy"), np.asarray(a, dtype=np.float32))
    print("pooled", pooled.shape, float(pooled.abs().max()), "spatial", spatial.shape, float(spatial.abs().max()),
          "logits", float(logits.abs().max()))
    # Resize fixtures: upsampling = bilinear align_corners=False; downsampling = antialiased bilinear (triangle
    # filter widened by the scale factor, as PIL and torch antialias=True do)
    r = uniforms(778, 2 * 1 * 40 * 30).reshape(2, 1, 40, 30).astype(np.float32)
    t = torch.from_numpy(r)
    up = F.interpolate(t, size=(97, 61), mode="bilinear", align_corners=False)
    down = F.interpolate(t, size=(17, 13), mode="bilinear", align_corners=False, antialias=True)
    np.save(os.path.join(OUT, "resize_in.npy"), r)
    np.save(os.path.join(OUT, "resize_up.npy"), up.numpy())
    np.save(os.path.join(OUT, "resize_down.npy"), down.numpy())


if __name__ == "__main__":
    main()
