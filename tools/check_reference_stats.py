"""Cross-checks the bundled reference statistics (computed by the Java code) against PyTorch + NumPy.

    /usr/bin/python3 tools/check_reference_stats.py models/fmnist-features/fashion-mnist-train.npz

Runs the exported fmnist-features net (tools/feature_net.py FoldedNet, float32, CPU) over Fashion-MNIST train,
accumulates mean and covariance in float64 with NumPy (np.cov, N-1), and prints the largest deviations of
mu, sigma, mu_s and sigma_s from the .npz, relative to each array's largest magnitude. Exit code 1 above 1e-5.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402
import st_io  # noqa: E402
from feature_net import FoldedNet  # noqa: E402


def main():
    npz = np.load(sys.argv[1])
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "fmnist-features")
    with open(os.path.join(root, "config.json")) as f:
        cfg = json.load(f)
    net = FoldedNet(cfg).eval()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in st_io.load(os.path.join(root, "model.safetensors")).items()})
    torch.set_num_threads(2)
    images, _, _ = fmnist.load("train")
    pooled, spatial = [], []
    with torch.no_grad():
        for i in range(0, len(images), 500):
            x = torch.from_numpy(images[i:i + 500].astype(np.float32) / 255.0)[:, None]
            p, s, _ = net(x)
            pooled.append(p.double().numpy())
            spatial.append(s.double().numpy())
    pooled = np.concatenate(pooled)
    spatial = np.concatenate(spatial)
    ref = {"mu": pooled.mean(0), "sigma": np.cov(pooled, rowvar=False),
           "mu_s": spatial.mean(0), "sigma_s": np.cov(spatial, rowvar=False)}
    worst = 0.0
    for k, v in ref.items():
        err = float(np.abs(npz[k] - v).max() / np.abs(v).max())
        worst = max(worst, err)
        print(f"{k:8s} shape {v.shape}: max |java - numpy| / max |numpy| = {err:.2e}")
    print(f"N = {len(pooled)}")
    sys.exit(0 if worst < 1e-5 else 1)


if __name__ == "__main__":
    main()
