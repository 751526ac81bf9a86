"""Generates many samples of a diffusers UNet2DModel folder with the PyTorch port (tools/unet2d.py) and writes
each one as an 8-bit PNG, for `./tfmq fid DIR models/fmnist-features/fashion-mnist-train.npz`.

Why it exists: the FP FID cells of the README at N = 5000 and at 100 DDIM steps need 10^5..5*10^5 UNet forwards,
hours on the 2-core CPU machine but seconds on the GPU machine (PyTorch, no Java). The samples come from the same
weights, the same deterministic DDIM (diffusers' DDIMScheduler: leading spacing, set_alpha_to_one, clip_sample)
and the same float->byte mapping as `tfmq sample --save-images` (v = floor(clamp(255*(x+1)/2 + 0.5, 0, 255))).
Only the noise differs (torch's generator instead of tfmq's counter-based one), so the FID is an estimate of the
same distribution's distance; the README compares one cell computed both ways. The features and the FID are
computed by the Java metrics code, as for every other cell.

  python3 tools/sample_pngs_torch.py --model models/fmnist-ddpm --steps 100 --num 5000 --seed 0 --out DIR
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st_io  # noqa: E402
from train_ddpm import alphas_cumprod, ddim_sample, write_png_gray  # noqa: E402
from unet2d import UNet2DModel  # noqa: E402


def to_bytes(x):
    """[-1, 1] floats -> uint8 exactly as tfmq's PixelRange.MINUS_ONE_ONE.toByte (NaN -> 0)."""
    s = (x.astype(np.float64) + 1.0) / 2.0 * 255.0 + 0.5
    s = np.nan_to_num(s, nan=0.0)
    return np.floor(np.clip(s, 0.0, 255.0)).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="diffusers UNet2DModel folder")
    ap.add_argument("--steps", type=int, required=True, help="DDIM steps (eta = 0)")
    ap.add_argument("--num", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--out", required=True, help="folder for sample_000000.png ...")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()

    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    sched_path = os.path.join(args.model, "scheduler", "scheduler_config.json")
    if not os.path.exists(sched_path):
        sched_path = os.path.join(args.model, "scheduler_config.json")
    with open(sched_path) as f:
        sched = json.load(f)
    if sched.get("beta_schedule") != "linear" or sched.get("prediction_type") != "epsilon" \
            or sched.get("timestep_spacing", "leading") != "leading":
        sys.exit(f"{sched_path}: only linear betas, epsilon prediction and leading spacing are reproduced here")

    dev = torch.device(args.device)
    # Full float32 like the Java runtime: no TF32 in cuDNN convolutions or matmuls.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    unet = UNet2DModel(cfg).eval().to(dev)
    sd = st_io.load(os.path.join(args.model, "diffusion_pytorch_model.safetensors"))
    unet.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    ac = alphas_cumprod(sched["num_train_timesteps"], sched["beta_start"], sched["beta_end"]).to(dev)

    os.makedirs(args.out, exist_ok=True)
    size, ch = cfg["sample_size"], cfg["in_channels"]
    if ch != 1:
        sys.exit(f"{args.model}: in_channels {ch}; this script writes gray PNGs only")
    g = torch.Generator(device="cpu")
    g.manual_seed(args.seed)
    t0 = time.time()
    done = 0
    while done < args.num:
        n = min(args.batch, args.num - done)
        noise = torch.randn((n, ch, size, size), generator=g).to(dev)
        x = ddim_sample(unet, noise, ac, steps=args.steps, num_train=sched["num_train_timesteps"],
                        clip=sched.get("clip_sample", True), clip_range=sched.get("clip_sample_range", 1.0),
                        set_alpha_to_one=sched.get("set_alpha_to_one", True),
                        steps_offset=sched.get("steps_offset", 0))
        imgs = to_bytes(x.float().cpu().numpy())
        for i in range(n):
            write_png_gray(os.path.join(args.out, f"sample_{done + i:06d}.png"), imgs[i, 0])
        done += n
        print(f"{done}/{args.num} samples, {time.time() - t0:.1f} s", flush=True)
    with open(os.path.join(args.out, "..", os.path.basename(args.out.rstrip('/')) + ".json"), "w") as f:
        json.dump({"model": args.model, "steps": args.steps, "num": args.num, "seed": args.seed,
                   "device": str(dev), "torch": torch.__version__, "seconds": time.time() - t0}, f, indent=1)


if __name__ == "__main__":
    main()
