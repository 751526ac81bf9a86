"""Times tools/unet2d.py (the same UNet2DModel architecture as the Java runtime) in PyTorch on the CPU.

Called by `tfmq bench forward` in the same run so that the report's Java/PyTorch ratio compares like with like:
    python3 tools/bench_forward_torch.py --config CONFIG.json --batches 1,16,64 --iters 5 --threads 2
Prints one JSON object per batch size: {"batch": B, "median_s": ..., "runs": [...]}.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
from unet2d import UNet2DModel  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--batches", default="1,16,64")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(args.config) as f:
        cfg = json.load(f)
    model = UNet2DModel(cfg).eval()
    size = cfg.get("sample_size") or 32
    for b in [int(s) for s in args.batches.split(",")]:
        x = torch.randn(b, cfg.get("in_channels", 3), size, size)
        t = torch.randint(0, 1000, (b,))
        runs = []
        with torch.no_grad():
            for i in range(args.iters + 2):
                t0 = time.perf_counter()
                model(x, t)
                dt = time.perf_counter() - t0
                if i >= 2:
                    runs.append(dt)
        print(json.dumps({"batch": b, "median_s": statistics.median(runs), "runs": runs,
                          "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
