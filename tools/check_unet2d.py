"""Checks tools/unet2d.py against a real diffusers 0.25.1 UNet2DModel fixture.

Loads <fixture>/unet/config.json and diffusion_pytorch_model.safetensors with
st_io, requires the state_dict keys and shapes to match exactly, runs the model
on x.npy / t.npy in float32 on CPU and compares with out.npy (max abs <= 1e-4).

  python3 tools/check_unet2d.py [/work/shared/fixtures/diffusers/tiny-gray28]
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402
from unet2d import UNet2DModel, count_flops, count_params  # noqa: E402

TOL = 1e-4


def main():
    fx = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures/diffusers/tiny-gray28"
    with open(os.path.join(fx, "unet", "config.json")) as f:
        cfg = json.load(f)
    weights = st_io.load(os.path.join(fx, "unet", "diffusion_pytorch_model.safetensors"))
    model = UNet2DModel(cfg).eval()
    sd = model.state_dict()
    missing = sorted(set(sd) - set(weights))
    extra = sorted(set(weights) - set(sd))
    if missing or extra:
        print("key mismatch: missing", missing, "unexpected", extra)
        return 1
    for k, v in weights.items():
        if tuple(sd[k].shape) != v.shape:
            print("shape mismatch", k, tuple(sd[k].shape), v.shape)
            return 1
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    x = torch.from_numpy(np.load(os.path.join(fx, "x.npy")).astype(np.float32))
    t = torch.from_numpy(np.load(os.path.join(fx, "t.npy")))
    ref = np.load(os.path.join(fx, "out.npy"))
    with torch.no_grad():
        out = model(x, t).numpy()
    err = float(np.abs(out - ref).max())
    print("keys %d ok; params %d; flops/image %d" % (len(sd), count_params(model),
                                                     count_flops(model, (1,) + tuple(x.shape[1:]))))
    print("max abs error vs diffusers out.npy: %.3g (tol %g)" % (err, TOL))
    # round trip through the writer
    tmp = "/tmp/_st_roundtrip.safetensors"
    st_io.save(tmp, {k: v for k, v in sd.items()}, {"format": "pt"})
    back = st_io.load(tmp)
    assert all(np.array_equal(back[k], weights[k]) for k in weights), "st_io round trip failed"
    with open(tmp, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
    assert n % 8 == 0
    print("st_io round trip ok")
    # DDIM sampler of train_ddpm.py against the fixture's diffusers DDIMPipeline run
    from train_ddpm import alphas_cumprod, ddim_sample
    sdir = os.path.join(fx, "sampling")
    ok = True
    if os.path.isdir(sdir):
        ac = alphas_cumprod()
        ac_err = float(np.abs(ac.numpy() - np.load(os.path.join(sdir, "alphas_cumprod.npy"))).max())
        noise = torch.from_numpy(np.load(os.path.join(sdir, "noise.npy")))
        trace = []
        final = ddim_sample(model, noise, ac, steps=len(np.load(os.path.join(sdir, "timesteps.npy"))),
                            eps_trace=trace).numpy()
        d_err = float(np.abs(final - np.load(os.path.join(sdir, "final.npy"))).max())
        e_err = float(np.abs(np.stack(trace) - np.load(os.path.join(sdir, "eps.npy"))).max())
        print("alphas_cumprod max abs %.3g; DDIM eps trace max abs %.3g; final sample max abs %.3g"
              % (ac_err, e_err, d_err))
        ok = ac_err < 1e-6 and e_err < TOL and d_err < 1e-3
    if err > TOL or not ok:
        print("FAIL")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
