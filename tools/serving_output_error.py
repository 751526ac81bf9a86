#!/usr/bin/env python3
"""Would a selection measured on the denoiser's output pick the same temporal-feature serving as the feature metric?

For one quantized artifact, runs the full-precision DDIM trajectory (tfmq's noise, N samples) and at every step
feeds the same x_t to the FP UNet and to the quantized UNet with its temporal features served by the quantized TIB
and by the cache. Prints, per step, the relative L2 error of each serving's noise prediction against FP, then the
mean over steps and how many steps each serving wins.

  python3 tools/serving_output_error.py --model models/fmnist-ddpm --artifact A.safetensors --steps 100 --num 16

The artifact must hold a cache (strategy cache or selection). A one-step error is not what FID measures: the
samples come from the quantized trajectory, whose errors accumulate over the steps.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
import unet2d  # noqa: E402
from quant_eval_torch import QuantizedUNet  # noqa: E402
from sample_pngs_torch import tfmq_noise  # noqa: E402
from train_ddpm import alphas_cumprod  # noqa: E402


def rel(a, b):
    return float((a - b).norm() / b.norm())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--num", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    qm = QuantizedUNet(args.model, args.artifact, torch.device("cpu"))
    if not qm.cache:
        sys.exit(f"{args.artifact}: no cache in this artifact; nothing to compare the TIB with")
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    fp = unet2d.UNet2DModel(cfg).eval()
    sd = st_io.load(os.path.join(args.model, "diffusion_pytorch_model.safetensors"))
    fp.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    with open(os.path.join(args.model, "scheduler", "scheduler_config.json")) as f:
        sched = json.load(f)
    num_train = sched["num_train_timesteps"]
    ac = alphas_cumprod(num_train, sched["beta_start"], sched["beta_end"])
    size, ch = cfg["sample_size"], cfg["in_channels"]
    x = torch.from_numpy(tfmq_noise(args.seed, 0, args.num, ch * size * size).reshape(args.num, ch, size, size))
    # DDIM, leading spacing, eta 0, as the artifact's schedule
    step = num_train // args.steps
    ts = list(range(0, num_train, step))[::-1]
    rows = []
    with torch.no_grad():
        for i, t in enumerate(ts):
            tt = torch.full((args.num,), t, dtype=torch.long)
            eps_fp = fp(x, tt)
            errs = {}
            for serve in ("tib", "cache"):
                qm.strategy = serve
                errs[serve] = rel(qm(x, tt), eps_fp)
            rows.append((t, errs["tib"], errs["cache"]))
            a_t = ac[t]
            a_prev = ac[ts[i + 1]] if i + 1 < len(ts) else (torch.tensor(1.0) if sched.get("set_alpha_to_one", True) else ac[0])
            x0 = (x - (1 - a_t).sqrt() * eps_fp) / a_t.sqrt()
            if sched.get("clip_sample", True):
                x0 = x0.clamp(-1, 1)
            x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps_fp
    print("t\ttib_rel_l2\tcache_rel_l2")
    for t, a, b in rows:
        print(f"{t}\t{a:.5f}\t{b:.5f}")
    tib = np.array([r[1] for r in rows])
    cache = np.array([r[2] for r in rows])
    print(json.dumps({"artifact": args.artifact, "steps": args.steps, "num": args.num,
                      "mean_tib": float(tib.mean()), "mean_cache": float(cache.mean()),
                      "steps_tib_better": int((tib < cache).sum()), "steps_cache_better": int((cache < tib).sum())}))


if __name__ == "__main__":
    main()
