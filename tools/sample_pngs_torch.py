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


M64 = (1 << 64) - 1


def _mix(z):
    z = z.astype(np.uint64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def tfmq_noise(seed, first, n, values):
    """tfmq's NoiseSource, stream 0 (the initial x_T) of samples first..first+n-1: the algorithm its Javadoc states.

    Java uses StrictMath (fdlibm) for log/cos/sin; NumPy's libm may differ in the last ulp, so values agree to ~1e-16
    relative, far below the float32 rounding both sides apply.
    """
    with np.errstate(over="ignore"):
        k = _mix(np.array([(seed ^ 0x243F6A8885A308D3) & M64], dtype=np.uint64))
        idx = np.arange(first, first + n, dtype=np.uint64)
        k = _mix(k ^ (idx + np.uint64(0x13198A2E03707344)))
        key = _mix(k ^ np.uint64(0xA4093822299F31D0))  # stream 0
        pairs = (values + 1) // 2
        j = np.arange(1, 2 * pairs + 1, dtype=np.uint64)
        draws = _mix(key[:, None] + j[None, :] * np.uint64(0x9E3779B97F4A7C15))
    u1 = ((draws[:, 0::2] >> np.uint64(11)).astype(np.float64) + 1.0) * 2.0 ** -53
    u2 = (draws[:, 1::2] >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    r = np.sqrt(-2.0 * np.log(u1))
    th = 2.0 * np.pi * u2
    z = np.stack([r * np.cos(th), r * np.sin(th)], axis=2).reshape(n, 2 * pairs)[:, :values]
    return z.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="diffusers UNet2DModel folder")
    ap.add_argument("--steps", type=int, required=True, help="DDIM steps (eta = 0)")
    ap.add_argument("--num", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--out", required=True, help="folder for sample_000000.png ...")
    ap.add_argument("--noise", choices=["torch", "tfmq"], default="torch",
                    help="initial noise: torch's CPU generator, or tfmq's NoiseSource (then sample i equals "
                         "`tfmq sample --seed S` sample i up to float rounding)")
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
        if args.noise == "tfmq":
            noise = torch.from_numpy(tfmq_noise(args.seed, done, n, ch * size * size).reshape(n, ch, size, size)).to(dev)
        else:
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
                   "noise": args.noise, "device": str(dev), "torch": torch.__version__, "seconds": time.time() - t0}, f, indent=1)


if __name__ == "__main__":
    main()
