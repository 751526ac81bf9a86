"""Trains the bundled Fashion-MNIST DDPM (diffusers UNet2DModel layout) for tfmq.

Writes to --out (default models/fmnist-ddpm):
  config.json                         complete diffusers 0.25.1 UNet2DModel config
  diffusion_pytorch_model.safetensors float32 EMA weights, diffusers key names
  scheduler/scheduler_config.json     DDPMScheduler, linear betas 1e-4..0.02, 1000 steps
  manifest.json                       data hash, seed, hyper-parameters, loss, timing, sizes
  loss.csv                            step,loss,lr,seconds (mean loss over each logging window)
  samples_pytorch.png                 8x8 grid of 100-step DDIM samples from the EMA weights

Optionally --ckpt-out DIR writes a resumable checkpoint (ckpt_model.pt, ckpt_opt.pt);
--resume DIR continues from one (same seed stream is re-derived from the step count).

Typical use (one GPU):
  PYTHONUNBUFFERED=1 python3 tools/train_ddpm.py --steps 40000 --out models/fmnist-ddpm
"""
import argparse
import json
import math
import os
import sys
import time
import zlib
import struct

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402
import st_io  # noqa: E402
from unet2d import UNet2DModel, count_flops, count_params, full_config  # noqa: E402

UNET_CONFIG = {
    "_class_name": "UNet2DModel",
    "_diffusers_version": "0.25.1",
    "act_fn": "silu",
    "add_attention": True,
    "attention_head_dim": 16,
    "attn_norm_num_groups": None,
    "block_out_channels": [24, 64, 96],
    "center_input_sample": False,
    "class_embed_type": None,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"],
    "downsample_padding": 1,
    "downsample_type": "conv",
    "dropout": 0.0,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 1,
    "layers_per_block": 1,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 8,
    "num_class_embeds": None,
    "num_train_timesteps": None,
    "out_channels": 1,
    "resnet_time_scale_shift": "default",
    "sample_size": 28,
    "time_embedding_type": "positional",
    "up_block_types": ["AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
    "upsample_type": "conv",
}

SCHEDULER_CONFIG = {
    "_class_name": "DDPMScheduler",
    "_diffusers_version": "0.25.1",
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "beta_start": 0.0001,
    "clip_sample": True,
    "clip_sample_range": 1.0,
    "dynamic_thresholding_ratio": 0.995,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "rescale_betas_zero_snr": False,
    "sample_max_value": 1.0,
    "steps_offset": 0,
    "thresholding": False,
    "timestep_spacing": "leading",
    "trained_betas": None,
    "variance_type": "fixed_small",
}


def alphas_cumprod(n=1000, beta_start=1e-4, beta_end=0.02):
    betas = torch.linspace(beta_start, beta_end, n, dtype=torch.float32)
    return torch.cumprod(1.0 - betas, dim=0)


@torch.no_grad()
def ddim_sample(model, noise, ac, steps=100, num_train=1000, eta=0.0, clip=True,
                clip_range=1.0, set_alpha_to_one=True, steps_offset=0, eps_trace=None):
    """DDIM sampling as diffusers' DDIMScheduler (leading spacing, epsilon prediction).

    eta must be 0 (deterministic); ac: float32 alphas_cumprod on noise.device.
    """
    assert eta == 0.0
    ratio = num_train // steps
    timesteps = (np.arange(0, steps) * ratio).round()[::-1].astype(np.int64) + steps_offset
    final_ac = torch.tensor(1.0, device=ac.device) if set_alpha_to_one else ac[0]
    x = noise
    for t in timesteps:
        t = int(t)
        prev = t - ratio
        a_t = ac[t]
        a_prev = ac[prev] if prev >= 0 else final_ac
        eps = model(x, torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)).float()
        if eps_trace is not None:
            eps_trace.append(eps.cpu().numpy())
        x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5
        if clip:
            x0 = x0.clamp(-clip_range, clip_range)
        x = a_prev ** 0.5 * x0 + (1 - a_prev) ** 0.5 * eps
    return x


def write_png_gray(path, img):
    """img: uint8 [H, W]; minimal PNG writer (8-bit grayscale, no filter)."""
    h, w = img.shape
    raw = b"".join(b"\x00" + img[i].tobytes() for i in range(h))

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def image_grid(x, nrow=8, pad=2, scale=3):
    """x: float [N,1,H,W] in [-1,1] -> uint8 grid image (nearest-upscaled by `scale`)."""
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()[:, 0]
    n, h, w = x.shape
    ncol = int(math.ceil(n / nrow))
    grid = np.full((ncol * (h + pad) + pad, nrow * (w + pad) + pad), 64, np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = x[i]
    return np.kron(grid, np.ones((scale, scale), np.uint8))


def save_model(out, model_sd, manifest, loss_rows, samples=None):
    os.makedirs(os.path.join(out, "scheduler"), exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(full_config(UNET_CONFIG), f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump(SCHEDULER_CONFIG, f, indent=2)
        f.write("\n")
    st_io.save(os.path.join(out, "diffusion_pytorch_model.safetensors"),
               {k: v.detach().float().cpu() for k, v in model_sd.items()}, {"format": "pt"})
    with open(os.path.join(out, "loss.csv"), "w") as f:
        f.write("step,loss,lr,seconds\n")
        for r in loss_rows:
            f.write("%d,%.6f,%.6g,%.1f\n" % tuple(r))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    if samples is not None:
        write_png_gray(os.path.join(out, "samples_pytorch.png"), image_grid(samples))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models", "fmnist-ddpm"))
    ap.add_argument("--steps", type=int, default=40000, help="total optimizer steps (including resumed)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--ema", type=float, default=0.9995)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=0, help="stop training after this many seconds (0: none)")
    ap.add_argument("--log-every", type=int, default=500)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--cuda-graph", action="store_true",
                    help="after the lr warm-up, replay forward+backward+optimizer as one CUDA graph")
    ap.add_argument("--no-bf16", action="store_true")
    ap.add_argument("--sample-n", type=int, default=64)
    ap.add_argument("--sample-steps", type=int, default=100)
    ap.add_argument("--sample-seed", type=int, default=1234)
    ap.add_argument("--ckpt-out", default=None)
    ap.add_argument("--resume", default=None)
    ap.add_argument("--bench", type=int, default=0, help="only time this many steps and exit")
    args = ap.parse_args()

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    use_bf16 = dev.type == "cuda" and not args.no_bf16

    imgs, _, data_sha = fmnist.load("train")
    data = torch.from_numpy(imgs.copy()).to(dev)  # uint8 [N,28,28], resident on the device
    n = data.shape[0]

    model = UNet2DModel(UNET_CONFIG).to(dev)
    params = count_params(model)
    flops = count_flops(model, (1, 1, 28, 28))
    print("params %d  flops/image %.1f M" % (params, flops / 1e6))
    ema = UNet2DModel(UNET_CONFIG).to(dev)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)

    opt_kw = dict(lr=args.lr, betas=(0.9, 0.999), weight_decay=args.weight_decay)
    if dev.type == "cuda":
        opt_kw["fused"] = True
        opt_kw["capturable"] = True
    opt = torch.optim.AdamW(model.parameters(), **opt_kw)

    step0, loss_rows, train_time0 = 0, [], 0.0
    if args.resume:
        ck = torch.load(os.path.join(args.resume, "ckpt_model.pt"), map_location=dev)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        step0, loss_rows, train_time0 = ck["step"], ck["loss_rows"], ck["train_time"]
        opt.load_state_dict(torch.load(os.path.join(args.resume, "ckpt_opt.pt"), map_location=dev))
        print("resumed at step %d (%.0f s trained)" % (step0, train_time0))

    ac = alphas_cumprod().to(dev)
    fwd = torch.compile(model) if args.compile else model
    m_params = [p for p in model.parameters()]
    e_params = [p for p in ema.parameters()]

    gen = torch.Generator(device=dev)
    gen.manual_seed(args.seed * 1000003 + step0)

    def make_batch():
        idx = torch.randint(0, n, (args.batch,), device=dev, generator=gen)
        x0 = data[idx].unsqueeze(1).float() / 127.5 - 1.0
        flip = torch.rand(args.batch, device=dev, generator=gen) < 0.5
        x0 = torch.where(flip[:, None, None, None], x0.flip(3), x0)
        t = torch.randint(0, 1000, (args.batch,), device=dev, generator=gen)
        noise = torch.randn(x0.shape, device=dev, generator=gen)
        a = ac[t][:, None, None, None]
        xt = a.sqrt() * x0 + (1 - a).sqrt() * noise
        return xt, t, noise

    def lr_at(step):
        return args.lr * min(1.0, (step + 1) / args.warmup)

    def body(xt, t, noise):
        """forward + backward + clip + optimizer step (graph-capturable: no host syncs)."""
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16, cache_enabled=False):
            pred = fwd(xt, t)
        loss = F.mse_loss(pred.float(), noise)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m_params, 1.0)
        opt.step()
        return loss.detach()

    def ema_update(step):
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_mul_(e_params, decay)
            torch._foreach_add_(e_params, m_params, alpha=1 - decay)

    def eager_step(step):
        xt, t, noise = make_batch()
        lr = lr_at(step)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss = body(xt, t, noise)
        ema_update(step)
        return loss, lr

    graph = {}

    def build_graph(step):
        """Captures body() into a CUDA graph (constant lr); returns the number of warm-up steps run."""
        for g in opt.param_groups:
            g["lr"] = args.lr
        sx = torch.zeros((args.batch, 1, 28, 28), device=dev)
        st = torch.zeros((args.batch,), dtype=torch.long, device=dev)
        sn = torch.zeros((args.batch, 1, 28, 28), device=dev)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for i in range(3):
                xt, t, noise = make_batch()
                sx.copy_(xt), st.copy_(t), sn.copy_(noise)
                opt.zero_grad(set_to_none=True)
                body(sx, st, sn)
                ema_update(step + i)
        torch.cuda.current_stream().wait_stream(side)
        opt.zero_grad(set_to_none=True)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            sl = body(sx, st, sn)
        graph.update(g=g, x=sx, t=st, n=sn, loss=sl)
        return 3

    def graph_step(step):
        xt, t, noise = make_batch()
        graph["x"].copy_(xt)
        graph["t"].copy_(t)
        graph["n"].copy_(noise)
        graph["g"].replay()
        ema_update(step)
        return graph["loss"], args.lr

    use_graph = args.cuda_graph and dev.type == "cuda"

    if args.bench:
        s = 0
        for s in range(args.warmup if use_graph else 20):
            eager_step(s)
        if use_graph:
            build_graph(s)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.time()
        for s in range(args.bench):
            (graph_step if use_graph else eager_step)(args.warmup + s)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        dt = (time.time() - t0) / args.bench
        print("BENCH batch %d compile %s graph %s: %.2f ms/step" % (args.batch, args.compile, use_graph, dt * 1e3))
        return

    t_start = time.time()
    acc = torch.zeros((), device=dev)
    acc_n = 0
    step = step0
    stopped_early = False
    print("training steps %d..%d, batch %d, cuda graph %s" % (step0, args.steps, args.batch, use_graph))
    while step < args.steps:
        if use_graph and not graph and step >= args.warmup:
            try:
                k = build_graph(step)
                step += k
                print("captured CUDA graph at step %d" % step)
            except Exception as e:  # fall back to eager steps
                print("CUDA graph capture failed (%s); continuing eagerly" % e)
                use_graph = False
                graph.clear()
            continue
        loss, lr = (graph_step if graph else eager_step)(step)
        acc += loss
        acc_n += 1
        step += 1
        if step % args.log_every == 0 or step == args.steps:
            el = train_time0 + time.time() - t_start
            row = (step, float(acc) / max(acc_n, 1), lr, el)
            loss_rows.append(row)
            print("step %6d  loss %.5f  lr %.2e  %.0fs" % row, flush=True)
            acc.zero_()
            acc_n = 0
            if args.time_limit and time.time() - t_start > args.time_limit:
                stopped_early = True
                print("time limit reached at step %d" % step)
                break
    if dev.type == "cuda":
        torch.cuda.synchronize()
    train_time = train_time0 + time.time() - t_start

    if args.ckpt_out:
        os.makedirs(args.ckpt_out, exist_ok=True)
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "step": step,
                    "loss_rows": loss_rows, "train_time": train_time},
                   os.path.join(args.ckpt_out, "ckpt_model.pt"))
        torch.save(opt.state_dict(), os.path.join(args.ckpt_out, "ckpt_opt.pt"))

    # samples from the EMA weights, float32
    ema.eval()
    g = torch.Generator(device="cpu")
    g.manual_seed(args.sample_seed)
    noise = torch.randn((args.sample_n, 1, 28, 28), generator=g).to(dev)
    t0 = time.time()
    samples = ddim_sample(ema, noise, ac, steps=args.sample_steps)
    print("sampled %d images with %d DDIM steps in %.1fs" % (args.sample_n, args.sample_steps, time.time() - t0))

    recent = [r[1] for r in loss_rows[-4:]]
    manifest = {
        "model": "fmnist-ddpm",
        "description": "Unconditional DDPM on Fashion-MNIST 28x28 grayscale, images scaled to [-1,1]",
        "data": {"name": "Fashion-MNIST train", "n_images": int(n),
                 "sha256_idx_train_images_and_labels": data_sha},
        "seed": args.seed,
        "steps": step,
        "steps_planned": args.steps,
        "stopped_by_time_limit": stopped_early,
        "batch_size": args.batch,
        "optimizer": "AdamW(betas=(0.9,0.999), weight_decay=%g), grad clip 1.0" % args.weight_decay,
        "lr": args.lr,
        "lr_warmup_steps": args.warmup,
        "lr_schedule": "linear warm-up then constant",
        "cuda_graph": bool(graph),
        "ema_decay": args.ema,
        "ema_warmup": "decay = min(ema_decay, (1+step)/(10+step))",
        "augmentation": "random horizontal flip",
        "loss": "MSE on epsilon, t uniform in [0,999]",
        "precision": "bf16 autocast, TF32" if use_bf16 else "float32",
        "final_loss": float(np.mean(recent)) if recent else None,
        "final_loss_window_steps": args.log_every * len(recent),
        "train_wall_time_s": round(train_time, 1),
        "torch_version": torch.__version__,
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
        "param_count": params,
        "flops_per_image_forward": flops,
        "flops_note": "multiply-add = 2 FLOPs; convolutions, linear layers and attention matmuls",
        "weights": "EMA, float32",
        "samples": {"file": "samples_pytorch.png", "n": args.sample_n, "sampler": "DDIM",
                    "steps": args.sample_steps, "eta": 0.0, "timestep_spacing": "leading",
                    "set_alpha_to_one": True, "clip_sample": True, "noise_seed": args.sample_seed,
                    "noise": "torch.randn on CPU generator, shape [64,1,28,28]"},
    }
    save_model(args.out, ema.state_dict(), manifest, loss_rows, samples)
    print(json.dumps({k: manifest[k] for k in ("steps", "final_loss", "train_wall_time_s", "param_count",
                                                "flops_per_image_forward")}))
    print("wrote", os.path.abspath(args.out))


if __name__ == "__main__":
    main()
