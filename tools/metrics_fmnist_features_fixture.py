#!/usr/bin/python3
"""PyTorch reference for tfmq's Java FashionFeatureNet forward pass (dev.tfmq.metrics.features).

Builds the FashionFeatureNet architecture with seeded random weights (small stages, so the fixture stays tiny;
the Java loader is generic in `stages`), saves config.json + model.safetensors in the bundled-model layout, and
the outputs of a forward pass on seeded inputs:

  metrics/src/test/resources/fmnist-features-random/{config.json, model.safetensors, x.npy, pooled.npy,
                                                      spatial.npy, logits.npy}

Architecture (must match FashionFeatureNet.java):
  x in [0,1] [B,1,H,W] -> (x - mean)/std -> for each stage: 3x3 conv (stride 1, pad 1) + ReLU per entry;
  2x2 max-pool stride 2 between consecutive stages (none after the last) -> pooled = global average of the last
  stage; logits = fc(pooled); spatial = last conv of stage spatial_tap.stage after ReLU, first
  spatial_tap.channels channels flattened in (C, H, W) order.
Run: /usr/bin/python3 tools/metrics_fmnist_features_fixture.py
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "metrics", "src", "test", "resources", "fmnist-features-random")

CONFIG = {
    "_class_name": "FashionFeatureNet",
    "version": 1,
    "in_channels": 1,
    "image_size": 28,
    "normalize": {"mean": 0.2860, "std": 0.3530},
    "stages": [[8, 8], [16, 16], [16, 24]],
    "pooled_dim": 24,
    "spatial_tap": {"stage": 1, "channels": 3},
    "num_classes": 10,
}


class FashionFeatureNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        c = cfg["in_channels"]
        self.stages = nn.ModuleList()
        for stage in cfg["stages"]:
            convs = nn.ModuleList()
            for out in stage:
                convs.append(nn.Conv2d(c, out, 3, 1, 1))
                c = out
            self.stages.append(convs)
        self.fc = nn.Linear(c, cfg["num_classes"])

    def forward(self, x):
        x = (x - self.cfg["normalize"]["mean"]) / self.cfg["normalize"]["std"]
        spatial = None
        for s, convs in enumerate(self.stages):
            if s > 0:
                x = F.max_pool2d(x, 2, 2)
            for conv in convs:
                x = F.relu(conv(x))
            if s == self.cfg["spatial_tap"]["stage"]:
                spatial = x[:, : self.cfg["spatial_tap"]["channels"]].reshape(x.shape[0], -1)
        pooled = x.mean(dim=(2, 3))
        return pooled, spatial, self.fc(pooled)


def save_safetensors(path, tensors):
    header = {}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    torch.manual_seed(1234)
    net = FashionFeatureNet(CONFIG).eval()
    with torch.no_grad():
        for p in net.parameters():  # non-zero biases so a missing bias add would show
            if p.dim() == 1:
                p.uniform_(-0.2, 0.2)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)
    save_safetensors(os.path.join(OUT, "model.safetensors"), net.state_dict())
    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(99))
    with torch.no_grad():
        pooled, spatial, logits = net(x)
    for name, a in (("x", x), ("pooled", pooled), ("spatial", spatial), ("logits", logits)):
        np.save(os.path.join(OUT, name + ".npy"), a.numpy().astype(np.float32))
    print({k: tuple(v.shape) for k, v in net.state_dict().items()}, spatial.shape)


if __name__ == "__main__":
    main()
