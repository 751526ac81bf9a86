"""Cross-check fixtures for the Java UNet on configurations the diffusers-made fixture does not cover.

Variant `ddpm-cifar-structure`: the original DDPM CIFAR-10 *structure* (google/ddpm-cifar10-32).

The real checkpoint (35.7 M parameters) cannot be fetched here, so this builds the same architecture at reduced
width with tools/unet2d.py (a PyTorch port checked against diffusers by tools/check_unet2d.py): 4 levels, 32x32 RGB,
attention only at the 16x16 level and in the mid block with one head (attention_head_dim null), downsample_padding 0
(diffusers' asymmetric bottom/right pad), freq_shift 1, flip_sin_to_cos false, norm_eps 1e-6, layers_per_block 2.
Weights are random and saved under the pre-0.15 attention key names (query/key/value/proj_attn), as old
google/ddpm-* checkpoints store them.

Variant `scale-shift`: resnet_time_scale_shift "scale_shift" (time_emb_proj gives scale and shift after norm2;
the mid-block attention then has no group norm), center_input_sample, mid_block_scale_factor sqrt(2), two input
channels, 16x16.

    /usr/bin/python3 tools/make_unet_fixtures.py model/src/test/resources/fixtures/ddpm-cifar-structure
    /usr/bin/python3 tools/make_unet_fixtures.py model/src/test/resources/fixtures/scale-shift scale-shift

Writes config.json, diffusion_pytorch_model.safetensors, x.npy, t.npy, out.npy (float32) and out64.npy (float64).
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from unet2d import UNet2DModel, full_config  # noqa: E402

CONFIG = {
    "_class_name": "UNet2DModel",
    "_diffusers_version": "0.25.1",
    "act_fn": "silu",
    "attention_head_dim": None,
    "block_out_channels": [16, 32, 32, 32],
    "center_input_sample": False,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
    "downsample_padding": 0,
    "flip_sin_to_cos": False,
    "freq_shift": 1,
    "in_channels": 3,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-06,
    "norm_num_groups": 4,
    "out_channels": 3,
    "sample_size": 32,
    "time_embedding_type": "positional",
    "up_block_types": ["UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
}

SCALE_SHIFT = {
    "_class_name": "UNet2DModel",
    "_diffusers_version": "0.25.1",
    "attention_head_dim": 8,
    "block_out_channels": [16, 32],
    "center_input_sample": True,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
    "in_channels": 2,
    "layers_per_block": 1,
    "mid_block_scale_factor": 1.4142135623730951,
    "norm_num_groups": 4,
    "out_channels": 2,
    "resnet_time_scale_shift": "scale_shift",
    "sample_size": 16,
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
}

LEGACY = {".to_q.": ".query.", ".to_k.": ".key.", ".to_v.": ".value.", ".to_out.0.": ".proj_attn."}


def main():
    out_dir = sys.argv[1]
    variant = sys.argv[2] if len(sys.argv) > 2 else "ddpm-cifar-structure"
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(1234)
    if variant == "scale-shift":
        config, build, legacy = SCALE_SHIFT, SCALE_SHIFT, False
    else:
        # attention_head_dim null means one head spanning all channels; every attention here has 32 channels
        config, build, legacy = CONFIG, dict(CONFIG, attention_head_dim=32), True
    model = UNet2DModel(build).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            # perturb so that no layer is an identity or zero (zero-initialised layers hide bugs)
            p.add_(0.05 * torch.randn_like(p))
    state = {}
    for k, v in model.state_dict().items():
        for new, old in LEGACY.items():
            if legacy and ".attentions." in k:
                k = k.replace(new, old)
        state[k] = v.detach().float().numpy()
    st_io.save(os.path.join(out_dir, "diffusion_pytorch_model.safetensors"), state, {"format": "pt"})
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(full_config(config), f, indent=2, sort_keys=True)
    size = config["sample_size"]
    x = torch.randn(2, config["in_channels"], size, size)
    t = torch.tensor([3, 777], dtype=torch.long)
    with torch.no_grad():
        out = model(x, t)
        out64 = model.double()(x.double(), t)
    np.save(os.path.join(out_dir, "x.npy"), x.numpy())
    np.save(os.path.join(out_dir, "t.npy"), t.numpy())
    np.save(os.path.join(out_dir, "out.npy"), out.numpy())
    np.save(os.path.join(out_dir, "out64.npy"), out64.numpy())
    n = sum(v.size for v in state.values())
    print(f"wrote {out_dir}: {n} parameters, out max |.| {float(out.abs().max()):.4f}")


if __name__ == "__main__":
    main()
