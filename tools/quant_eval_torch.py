"""Samples a tfmq quantized artifact with the PyTorch port, on the GPU machine, for FID at N in the thousands.

tfmq calibrates on the CPU (that is the implementation under test). Sampling thousands of images from the
fake-quantized model takes hours on 2 cores, but seconds on a GPU, which has PyTorch and no Java. This script
rebuilds the artifact's model in tools/unet2d.py exactly as QuantizationArtifact.read does in Java:
  * weights: w = Δ_c · (code − z_c) per output channel (float64, rounded to float32), from the packed codes;
  * bias correction: for every "bc/<layer>" tensor (δ per output channel, float64) the layer's bias becomes
    b_fp − δ, computed in float64 and rounded to float32 as BiasOffsets.install does;
  * activations: every site of the artifact, per-tensor fake quantization
    x̂ = Δ · (clip(round_half_even(x / Δ) + z, 0, 2^b − 1) − z) in float64, with the site's grid for the current
    time-step (per-step tables from FSC, or one shared grid; a step not in a table takes the nearest one):
      - "<layer>"            the input of that conv/linear
      - "time_embedding.act" the input of every time_emb_proj (SiLU(temb))
      - "<attn>.qkv_in"      the input of to_q, to_k and to_v
      - "<linear>:out"       the output of to_q / to_k / to_v
      - "<attn>.softmax"     the attention probabilities
  * temporal features: the recipe's strategy; for the cache (and members the selection gives to it) the
    time_emb_proj output is replaced by the dequantized cached vector Δ · (code − z) of that (time-step, member).
The result is checked against `tfmq sample --artifact` on the same noise (--compare DIR): fake quantization makes
an output a step function of its input, so rare elements whose float32 value lies within rounding error of a grid
boundary can land on the other side; the script reports how many pixels differ and by how much.

  python3 tools/quant_eval_torch.py --model models/fmnist-ddpm --artifact A.safetensors --steps 20 --num 5000 \
      --seed 0 --out DIR [--compare JAVA_PNG_DIR]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st_io  # noqa: E402
from sample_pngs_torch import tfmq_noise, to_bytes  # noqa: E402
from train_ddpm import alphas_cumprod, ddim_sample, write_png_gray  # noqa: E402
import unet2d  # noqa: E402


def unpack(packed, bits, count):
    """CodePacking.unpack: little-endian bit stream, low bits first."""
    bitsarr = np.unpackbits(np.asarray(packed, dtype=np.uint8), bitorder="little")[:count * bits]
    weights = (1 << np.arange(bits)).astype(np.int64)
    return (bitsarr.reshape(count, bits).astype(np.int64) * weights).sum(axis=1)


class Grid:
    """One site's per-step (or shared) per-tensor grids."""

    def __init__(self, ts, scales, zeros, bits):
        self.shared = len(ts) == 1 and ts[0] == -1
        self.ts = np.asarray(ts, dtype=np.int64)
        self.scales = np.asarray(scales, dtype=np.float64)
        self.zeros = np.asarray(zeros, dtype=np.int64)
        self.bits = bits
        order = np.argsort(self.ts)
        self.ts, self.scales, self.zeros = self.ts[order], self.scales[order], self.zeros[order]

    def at(self, t):
        if self.shared:
            return self.scales[0], int(self.zeros[0])
        i = np.searchsorted(self.ts, t)
        if i < len(self.ts) and self.ts[i] == t:
            j = i
        elif i == 0:
            j = 0
        elif i == len(self.ts):
            j = len(self.ts) - 1
        else:  # nearest, ties to the lower time-step (ActivationTable.lookup)
            j = i - 1 if t - self.ts[i - 1] <= self.ts[i] - t else i
        return self.scales[j], int(self.zeros[j])


def fake_quant(x, scale, zero, bits):
    q = torch.round(x.double() / scale) + zero
    q = q.clamp(0, (1 << bits) - 1)
    return (scale * (q - zero)).to(x.dtype)


class QuantizedUNet:
    def __init__(self, model_dir, artifact, device):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        self.unet = unet2d.UNet2DModel(cfg).eval()
        sd = st_io.load(os.path.join(model_dir, "diffusion_pytorch_model.safetensors"))
        self.unet.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
        tensors, meta = st_io.load(artifact, with_metadata=True)
        if meta.get("format") != "tfmq-quantized/1":
            sys.exit(f"{artifact}: not a tfmq-quantized/1 artifact")
        self.meta = meta
        modules = dict(self.unet.named_modules())
        # weights
        layers = json.loads(meta["layers"])
        with torch.no_grad():
            for path, info in layers.items():
                w = modules[path].weight
                n = w.numel()
                codes = unpack(tensors[f"w/{path}/codes"], info["bits"], n).reshape(w.shape[0], -1)
                sc = tensors[f"w/{path}/scale"].astype(np.float64)[:, None]
                zp = tensors[f"w/{path}/zero"].astype(np.int64)[:, None]
                deq = (sc * (codes - zp)).astype(np.float32).reshape(tuple(w.shape))
                w.copy_(torch.from_numpy(deq))
            self.bias_corrected = 0
            for key, delta in tensors.items():
                if not key.startswith("bc/"):
                    continue
                path = key[len("bc/"):]
                bias = getattr(modules.get(path), "bias", None)
                if bias is None:
                    sys.exit(f"{artifact}: bias correction of '{path}', which is no layer with a bias")
                if delta.shape != tuple(bias.shape):
                    sys.exit(f"{artifact}: bias correction of '{path}' has shape {delta.shape}, the bias {tuple(bias.shape)}")
                fixed = (bias.detach().numpy().astype(np.float64) - delta.astype(np.float64)).astype(np.float32)
                bias.copy_(torch.from_numpy(fixed))
                self.bias_corrected += 1
        self.unet.to(device)
        self.device = device
        # activation sites
        sites = json.loads(meta.get("sites", "{}"))
        self.grids = {k: Grid(tensors[f"a/{k}/t"], tensors[f"a/{k}/scale"], tensors[f"a/{k}/zero"], v["bits"])
                      for k, v in sites.items()}
        self.t = None
        self.hooks = []
        for key, g in self.grids.items():
            kind = sites[key]["kind"]
            if kind == "INPUT":
                if key == "time_embedding.act":
                    targets = [p for p in modules if p.endswith(".time_emb_proj")]
                elif key.endswith(".qkv_in"):
                    a = key[:-len(".qkv_in")]
                    targets = [a + ".to_q", a + ".to_k", a + ".to_v"]
                else:
                    targets = [key]
                for p in targets:
                    self.hooks.append(modules[p].register_forward_pre_hook(self._pre(g)))
            elif kind == "OUTPUT":
                p = key[:-len(":out")]
                self.hooks.append(modules[p].register_forward_hook(self._post(g)))
            elif kind == "SOFTMAX":
                modules[key[:-len(".softmax")]].probs_hook = self._probs(g)
            else:
                sys.exit(f"{artifact}: unknown site kind {kind} at {key}")
        # temporal strategy (the recipe is stored as JSON)
        self.strategy = json.loads(meta.get("recipe") or "{}").get("temporal", {}).get("strategy", "tib")
        if self.strategy not in ("tib", "cache", "selection"):
            sys.exit(f"{artifact}: unknown temporal strategy {self.strategy}")
        self.cache = {}
        if "cache" in meta:
            cmeta = json.loads(meta["cache"])
            ts = tensors["c/t"].astype(np.int64)
            for p, m in modules.items():
                if not p.endswith(".time_emb_proj"):
                    continue
                dim = m.out_features
                codes = tensors[f"c/{p}/codes"]
                sc = tensors[f"c/{p}/scale"].astype(np.float32).astype(np.float64)
                zp = tensors[f"c/{p}/zero"].astype(np.int64)
                for i, t in enumerate(ts):
                    c = unpack(codes[i], cmeta["bits"], dim)
                    v = torch.from_numpy((sc[i] * (c - zp[i])).astype(np.float32)).to(device)
                    self.cache.setdefault(int(t), {})[p] = v
            self.selection = json.loads(meta["selection"]) if "selection" in meta else None
            for p, m in modules.items():
                if p.endswith(".time_emb_proj"):
                    self.hooks.append(m.register_forward_hook(self._temporal(p)))

    def _pre(self, g):
        def hook(mod, inputs):
            s, z = g.at(self.t)
            return (fake_quant(inputs[0], s, z, g.bits),) + tuple(inputs[1:])
        return hook

    def _post(self, g):
        def hook(mod, inputs, out):
            s, z = g.at(self.t)
            return fake_quant(out, s, z, g.bits)
        return hook

    def _probs(self, g):
        def hook(att):
            s, z = g.at(self.t)
            return fake_quant(att, s, z, g.bits)
        return hook

    def _uses_cache(self, member, t):
        if self.strategy == "cache":
            return True
        if self.strategy == "split":
            return t < self.split_t
        if self.strategy != "selection":
            return False
        sel = self.selection
        if sel["granularity"] == "MEMBER":
            return sel["member"][member]["strategy"] == "CACHE"
        if sel["granularity"] == "STEP":  # measure = output: one serving per time-step for every member
            return sel["step"][str(t)]["strategy"] == "CACHE"
        return sel["member_step"][member][str(t)]["strategy"] == "CACHE"

    def _temporal(self, member):
        def hook(mod, inputs, out):
            if not self._uses_cache(member, self.t):
                return out
            if self.t not in self.cache:
                raise KeyError(f"time-step {self.t} is not cached (cached: {sorted(self.cache)[:8]}...)")
            return self.cache[self.t][member].expand_as(out).clone()
        return hook

    @torch.no_grad()
    def __call__(self, x, t):
        ts = t.unique()
        if len(ts) != 1:
            raise ValueError("one time-step per batch")
        self.t = int(ts[0])
        return self.unet(x, t)


def read_png(path):
    from check_models import read_png_gray
    return read_png_gray(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--artifact", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--num", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--compare", help="folder of `tfmq sample --artifact --save-images` PNGs of the same seed")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--serve", choices=("artifact", "tib", "cache", "split"), default="artifact",
                    help="temporal features from the artifact's strategy (default), or forced from the quantized TIB "
                         "or the cache for every member, or (split) from the TIB at t >= --split-t and the cache "
                         "below: diagnostics that separate how features are served from how the rest of the "
                         "artifact was calibrated")
    ap.add_argument("--split-t", type=int, default=500, help="first time-step served by the TIB under --serve split")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(args.device)
    qm = QuantizedUNet(args.model, args.artifact, dev)
    if args.serve != "artifact":
        if args.serve in ("cache", "split") and not qm.cache:
            sys.exit(f"{args.artifact}: --serve {args.serve}, but the artifact holds no cache")
        qm.strategy = args.serve
        qm.split_t = args.split_t
    cfg = qm.unet.config
    sched_path = os.path.join(args.model, "scheduler", "scheduler_config.json")
    with open(sched_path) as f:
        sched = json.load(f)
    ac = alphas_cumprod(sched["num_train_timesteps"], sched["beta_start"], sched["beta_end"]).to(dev)
    size, ch = cfg["sample_size"], cfg["in_channels"]
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    done = 0
    while done < args.num:
        n = min(args.batch, args.num - done)
        noise = torch.from_numpy(tfmq_noise(args.seed, done, n, ch * size * size).reshape(n, ch, size, size)).to(dev)
        x = ddim_sample(qm, noise, ac, steps=args.steps, num_train=sched["num_train_timesteps"],
                        clip=sched.get("clip_sample", True), clip_range=sched.get("clip_sample_range", 1.0),
                        set_alpha_to_one=sched.get("set_alpha_to_one", True), steps_offset=sched.get("steps_offset", 0))
        imgs = to_bytes(x.float().cpu().numpy())
        for i in range(n):
            write_png_gray(os.path.join(args.out, f"sample_{done + i:06d}.png"), imgs[i, 0])
        done += n
        print(f"{done}/{args.num} samples, {time.time() - t0:.1f} s", flush=True)
    report = {"artifact": args.artifact, "strategy": qm.strategy, "serve": args.serve,
              "split_t": args.split_t if args.serve == "split" else None, "sites": len(qm.grids),
              "bias_corrected_layers": qm.bias_corrected, "steps": args.steps,
              "num": args.num, "seed": args.seed, "seconds": time.time() - t0, "torch": torch.__version__}
    if args.compare:
        names = sorted(p for p in os.listdir(args.compare) if p.endswith(".png"))
        diffs = []
        for i, name in enumerate(names[:args.num]):
            a = read_png(os.path.join(args.compare, name)).astype(int)
            b = read_png(os.path.join(args.out, f"sample_{i:06d}.png")).astype(int)
            diffs.append(np.abs(a - b))
        d = np.stack(diffs)
        per_image = d.reshape(len(diffs), -1)
        report["compare"] = {"images": len(diffs), "max_abs_diff": int(d.max()), "mean_abs_diff": float(d.mean()),
                             "pixels_differing": float((d > 0).mean()), "pixels_diff_gt_2": float((d > 2).mean()),
                             "images_identical": int((per_image.max(axis=1) == 0).sum()),
                             "images_max_diff_le_2": int((per_image.max(axis=1) <= 2).sum())}
    print(json.dumps(report, indent=1))
    with open(os.path.join(args.out, "..", os.path.basename(args.out.rstrip("/")) + ".json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
