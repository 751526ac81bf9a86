"""Writes the Java cross-check fixture for the bundled feature net.

Runs the exported (BatchNorm-folded) FashionFeatureNet from models/fmnist-features
in float32 on CPU on the first 16 Fashion-MNIST test images and writes
metrics/src/test/resources/fmnist-features/{x,pooled,spatial,logits}.npy:
  x        [16,1,28,28] float32 in [0,1] (raw pixels / 255, before normalisation)
  pooled   [16,256]     global-average-pooled last-stage features
  spatial  [16,1568]    stage-1 last conv output (after ReLU), channels 0..7, (C,H,W) order
  logits   [16,10]

  python3 tools/make_features_fixture.py [--model models/fmnist-features] [--n 16]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fmnist  # noqa: E402
import st_io  # noqa: E402
from feature_net import FoldedNet  # noqa: E402


def load_folded(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    net = FoldedNet(cfg)
    sd = st_io.load(os.path.join(model_dir, "model.safetensors"))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    return net.eval(), cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(HERE, "..", "models", "fmnist-features"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "metrics", "src", "test", "resources",
                                                  "fmnist-features"))
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--check-accuracy", action="store_true", help="also measure test accuracy on CPU")
    args = ap.parse_args()

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    net, cfg = load_folded(args.model)
    xte, yte, _ = fmnist.load("test")
    x = (xte[:args.n].astype(np.float32) / 255.0)[:, None]
    with torch.no_grad():
        pooled, spatial, logits = net(torch.from_numpy(x))
    os.makedirs(args.out, exist_ok=True)
    for name, a in (("x", x), ("pooled", pooled), ("spatial", spatial), ("logits", logits)):
        a = a.numpy() if torch.is_tensor(a) else a
        np.save(os.path.join(args.out, name + ".npy"), np.ascontiguousarray(a, dtype=np.float32))
        print(name, a.shape)
    pred = logits.argmax(1).numpy()
    print("predictions", pred.tolist())
    print("labels     ", yte[:args.n].tolist())
    if args.check_accuracy:
        correct = 0
        with torch.no_grad():
            for i in range(0, len(xte), 500):
                xb = torch.from_numpy((xte[i:i + 500].astype(np.float32) / 255.0)[:, None])
                correct += int((net(xb)[2].argmax(1).numpy() == yte[i:i + 500]).sum())
        acc = correct / len(xte)
        print("CPU float32 test accuracy %.4f (config says %s)" % (acc, cfg.get("test_accuracy")))


if __name__ == "__main__":
    main()
