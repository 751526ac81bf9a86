#!/usr/bin/python3
"""One-time conversion of the pytorch-fid Inception-v3 weights (FID variant) for tfmq.

tfmq cannot ship these weights. Obtain them yourself: pytorch-fid downloads
  pt_inception-2015-12-05-6726825d.pth
(its FID_WEIGHTS_URL; a port of TensorFlow's 2015-12-05 Inception graph). Then run

  /usr/bin/python3 tools/metrics_convert_inception.py pt_inception-2015-12-05-6726825d.pth models/inception-fid/

which writes models/inception-fid/model.safetensors and config.json, read by
dev.tfmq.metrics.features.InceptionV3 (and `--features inception --weights models/inception-fid`).

What the conversion does:
  * every BasicConv2d (conv without bias + BatchNorm, eps 0.001) is folded into one conv with bias:
      s = gamma / sqrt(running_var + 0.001);  W' = W * s[:, None, None, None];  b' = beta - running_mean * s
    computed in float64 from the stored float32 values, then stored as float32;
  * keys lose the '.conv' part: 'Mixed_5b.branch1x1.conv.weight' -> 'Mixed_5b.branch1x1.weight' (+ '.bias');
  * fc.weight [1008, 2048] and fc.bias are kept (logits for the Inception Score);
  * num_batches_tracked and any other buffers are dropped.
Only PyTorch is needed to read the .pth (torch.load); numpy writes the safetensors file.
"""
import json
import os
import struct
import sys

import numpy as np

BN_EPS = 0.001

CONFIG = {
    "_class_name": "InceptionV3FID",
    "version": 1,
    "source": "pytorch-fid pt_inception-2015-12-05 (TF 2015-12-05 graph port), BN folded",
    "image_size": 299,
    "pooled_dim": 2048,
    "num_classes": 1008,
    "spatial_tap": {"block": "Mixed_6d.branch1x1", "tf_name": "mixed_6/conv", "channels": 7, "order": "HWC"},
}


def fold(state):
    """pytorch-fid state dict (name -> numpy array) -> folded tensors (name -> float32 array), in order."""
    out = {}
    convs = [k[: -len(".conv.weight")] for k in state if k.endswith(".conv.weight")]
    for name in convs:
        w = state[name + ".conv.weight"].astype(np.float64)
        gamma = state[name + ".bn.weight"].astype(np.float64)
        beta = state[name + ".bn.bias"].astype(np.float64)
        mean = state[name + ".bn.running_mean"].astype(np.float64)
        var = state[name + ".bn.running_var"].astype(np.float64)
        s = gamma / np.sqrt(var + BN_EPS)
        out[name + ".weight"] = (w * s[:, None, None, None]).astype(np.float32)
        out[name + ".bias"] = (beta - mean * s).astype(np.float32)
    out["fc.weight"] = state["fc.weight"].astype(np.float32)
    out["fc.bias"] = state["fc.bias"].astype(np.float32)
    return out


def save_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name, a in tensors.items():
        n = a.size * 4
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for a in tensors.values():
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())


def write_model(out_dir, state):
    os.makedirs(out_dir, exist_ok=True)
    save_safetensors(os.path.join(out_dir, "model.safetensors"), fold(state), {"format": "tfmq-inception-fid"})
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=1)
        f.write("\n")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    import torch
    sd = torch.load(sys.argv[1], map_location="cpu")
    state = {k: v.numpy() for k, v in sd.items() if hasattr(v, "numpy")}
    missing = [k for k in ("fc.weight", "fc.bias", "Conv2d_1a_3x3.conv.weight") if k not in state]
    if missing:
        sys.exit("not a pytorch-fid FID Inception state dict: missing " + ", ".join(missing))
    write_model(sys.argv[2], state)
    print("wrote", sys.argv[2])


if __name__ == "__main__":
    main()
