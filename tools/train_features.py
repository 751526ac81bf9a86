"""Trains FashionFeatureNet on Fashion-MNIST and exports models/fmnist-features/.

Writes config.json, model.safetensors (BatchNorm folded: conv+bias+ReLU only),
manifest.json. The test accuracy is measured on the exported (folded) net.

  PYTHONUNBUFFERED=1 python3 tools/train_features.py --epochs 24 --out models/fmnist-features
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist  # noqa: E402
import st_io  # noqa: E402
from feature_net import FoldedNet, TrainNet, make_config  # noqa: E402


def augment(x, gen):
    """x: float [B,1,28,28]; random crop with 2-pixel zero padding + horizontal flip."""
    b = x.shape[0]
    xp = F.pad(x, (2, 2, 2, 2))
    dy = torch.randint(0, 5, (b,), device=x.device, generator=gen)
    dx = torch.randint(0, 5, (b,), device=x.device, generator=gen)
    ar = torch.arange(28, device=x.device)
    rows = (dy[:, None] + ar[None, :])[:, :, None]
    cols = (dx[:, None] + ar[None, :])[:, None, :]
    out = xp[torch.arange(b, device=x.device)[:, None, None], 0, rows, cols].unsqueeze(1)
    flip = torch.rand(b, device=x.device, generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


@torch.no_grad()
def accuracy(fn, x, y, bs=1000):
    correct = 0
    for i in range(0, x.shape[0], bs):
        correct += (fn(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models", "fmnist-features"))
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--subset", type=int, default=0, help="debug: use only this many train/test images")
    args = ap.parse_args()

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    gen = torch.Generator(device=dev)
    gen.manual_seed(args.seed)

    xtr, ytr, sha_tr = fmnist.load("train")
    xte, yte, sha_te = fmnist.load("test")
    if args.subset:
        xtr, ytr, xte, yte = xtr[:args.subset], ytr[:args.subset], xte[:args.subset], yte[:args.subset]
    xtr = torch.from_numpy(xtr.copy()).to(dev).float().div_(255).unsqueeze(1)
    ytr = torch.from_numpy(ytr.astype(np.int64)).to(dev)
    xte = torch.from_numpy(xte.copy()).to(dev).float().div_(255).unsqueeze(1)
    yte = torch.from_numpy(yte.astype(np.int64)).to(dev)

    net = TrainNet(dropout=args.dropout).to(dev).to(memory_format=torch.channels_last)
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        (decay if p.dim() > 1 else no_decay).append(p)
    opt = torch.optim.SGD([{"params": decay, "weight_decay": args.weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=args.lr, momentum=0.9, nesterov=True)
    n = xtr.shape[0]
    steps_per_epoch = n // args.batch
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.15)
    use_bf16 = dev.type == "cuda"

    t0 = time.time()
    for ep in range(args.epochs):
        net.train()
        perm = torch.randperm(n, device=dev, generator=gen)
        tot = torch.zeros((), device=dev)
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch:(i + 1) * args.batch]
            xb = augment(xtr[idx], gen).contiguous(memory_format=torch.channels_last)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_bf16):
                logits = net(xb)
            loss = F.cross_entropy(logits.float(), ytr[idx], label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.detach()
        net.eval()
        acc = accuracy(net, xte, yte)
        print("epoch %2d  loss %.4f  test acc %.4f  %.0fs" % (ep + 1, float(tot) / steps_per_epoch, acc,
                                                              time.time() - t0), flush=True)
    train_time = time.time() - t0

    # export: fold BN, then measure the folded net in float32 (no TF32)
    net.eval()
    sd = net.folded_state_dict()
    cfg = make_config()
    folded = FoldedNet(cfg)
    folded.load_state_dict({k: v for k, v in sd.items()}, strict=True)
    folded = folded.to(dev).eval()
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    acc_folded = accuracy(lambda x: folded(x)[2], xte, yte)
    acc_bn = accuracy(lambda x: net(x), xte, yte)
    print("test accuracy: folded export %.4f, BN net %.4f" % (acc_folded, acc_bn))
    cfg["test_accuracy"] = round(acc_folded, 4)

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    st_io.save(os.path.join(args.out, "model.safetensors"), sd, {"format": "pt"})
    manifest = {
        "model": "fmnist-features",
        "data": {"train_sha256_idx_images_and_labels": sha_tr, "test_sha256_idx_images_and_labels": sha_te},
        "seed": args.seed,
        "epochs": args.epochs,
        "batch_size": args.batch,
        "optimizer": "SGD nesterov momentum 0.9, weight decay %g (conv/fc weights), OneCycle max lr %g"
                     % (args.weight_decay, args.lr),
        "label_smoothing": args.label_smoothing,
        "dropout": args.dropout,
        "augmentation": "random crop (2-pixel zero padding), random horizontal flip",
        "precision": "bf16 autocast for training" if use_bf16 else "float32",
        "test_accuracy_folded": acc_folded,
        "test_accuracy_bn": acc_bn,
        "test_accuracy_note": "folded net, float32 (TF32 off), 10000 Fashion-MNIST test images",
        "train_wall_time_s": round(train_time, 1),
        "torch_version": torch.__version__,
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
        "param_count": int(sum(v.numel() for v in sd.values())),
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("wrote", os.path.abspath(args.out))


if __name__ == "__main__":
    main()
