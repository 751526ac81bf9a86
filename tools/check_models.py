"""Sanity checks of the bundled models on CPU (float32).

1. Loads models/fmnist-ddpm (config.json + safetensors) into tools/unet2d.py,
   regenerates the first --n samples of samples_pytorch.png with the same
   noise (torch.manual_seed-style CPU generator, seed from the manifest) and the
   same 100-step DDIM, and compares them with the PNG's pixels.
2. Classifies those samples with models/fmnist-features and prints the class
   histogram (a coarse check that all garment classes are generated).

  python3 tools/check_models.py [--n 64]
"""
import argparse
import json
import os
import sys
import time
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fmnist  # noqa: E402
import st_io  # noqa: E402
from make_features_fixture import load_folded  # noqa: E402
from train_ddpm import alphas_cumprod, ddim_sample  # noqa: E402
from unet2d import UNet2DModel  # noqa: E402


def read_png_gray(path):
    """Minimal reader for the 8-bit grayscale, filter-0 PNGs written by train_ddpm.write_png_gray."""
    with open(path, "rb") as f:
        b = f.read()
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(b):
        n = int.from_bytes(b[pos:pos + 4], "big")
        tag, data = b[pos + 4:pos + 8], b[pos + 8:pos + 8 + n]
        if tag == b"IHDR":
            w, h = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
            assert data[8] == 8 and data[9] == 0
        elif tag == b"IDAT":
            idat += data
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, w + 1)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ddpm", default=os.path.join(HERE, "..", "models", "fmnist-ddpm"))
    ap.add_argument("--features", default=os.path.join(HERE, "..", "models", "fmnist-features"))
    ap.add_argument("--n", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    with open(os.path.join(args.ddpm, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(args.ddpm, "manifest.json")) as f:
        man = json.load(f)
    unet = UNet2DModel(cfg).eval()
    sd = st_io.load(os.path.join(args.ddpm, "diffusion_pytorch_model.safetensors"))
    unet.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)

    s = man["samples"]
    g = torch.Generator(device="cpu")
    g.manual_seed(s["noise_seed"])
    noise = torch.randn((s["n"], 1, 28, 28), generator=g)[:args.n]
    t0 = time.time()
    x = ddim_sample(unet, noise, alphas_cumprod(), steps=s["steps"])
    print("CPU DDIM: %d samples x %d steps in %.1fs" % (args.n, s["steps"], time.time() - t0))
    mine = ((x.clamp(-1, 1) + 1) * 127.5).round().numpy()[:, 0]

    grid = read_png_gray(os.path.join(args.ddpm, s["file"]))
    scale, pad = 3, 2
    grid = grid[::scale, ::scale]
    ref = np.stack([grid[pad + (i // 8) * 30:pad + (i // 8) * 30 + 28, pad + (i % 8) * 30:pad + (i % 8) * 30 + 28]
                    for i in range(args.n)]).astype(np.float64)
    d = np.abs(mine - ref)
    per = d.reshape(args.n, -1).mean(1)
    print("CPU float32 vs GPU PNG: mean abs %.2f grey levels, worst image %.2f, max pixel %d"
          % (d.mean(), per.max(), d.max()))

    net, _ = load_folded(args.features)
    with torch.no_grad():
        probs = torch.softmax(net(torch.from_numpy(ref[:, None].astype(np.float32) / 255.0))[2], 1)
    pred = probs.argmax(1).numpy()
    hist = np.bincount(pred, minlength=10)
    for c in range(10):
        print("  %-12s %d" % (fmnist.CLASSES[c], hist[c]))
    print("mean max-probability %.3f; classes present %d/10" % (float(probs.max(1).values.mean()),
                                                                int((hist > 0).sum())))


if __name__ == "__main__":
    main()
