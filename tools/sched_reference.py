#!/usr/bin/env python3
"""Independent NumPy re-implementation of the diffusers 0.25 DDPM/DDIM scheduler formulas, in float64.

Writes small reference files for the Java scheduler tests into model/src/test/resources/data/scheduler/:
  timesteps.npz  set_timesteps(N) for leading/trailing/linspace spacing (numpy arithmetic exactly as diffusers),
                 key "<spacing>_<offset>_<N>" -> int64 time-steps; "quadratic_<N>" -> the quadratic skip sequence
  betas.npz      "linear", "scaled_linear", "squaredcos_cap_v2", "linear_zero_snr" (1000 train steps)
  loops.npz + loops.json
                 short sampling loops driven by recorded random model outputs and noise: per case
                 "<case>__x_T", "__model_out" [K, ...], "__noise" [K, ...], "__x0" [K, ...], "__samples" [K, ...],
                 "__timesteps", "__prev"; loops.json lists each case's scheduler config, class and eta.
  noise.npz      the first 11 values of the NoiseSource algorithm, re-implemented from its Javadoc

Usage: /usr/bin/python3 tools/sched_reference.py [OUT_DIR]
"""
import json
import math
import os
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "model", "src", "test", "resources", "data", "scheduler")

DEFAULTS = dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear",
                trained_betas=None, prediction_type="epsilon", clip_sample=True, clip_sample_range=1.0,
                set_alpha_to_one=True, steps_offset=0, timestep_spacing="leading", variance_type="fixed_small",
                thresholding=False, rescale_betas_zero_snr=False, dynamic_thresholding_ratio=0.995,
                sample_max_value=1.0)


def betas_of(c):
    n = c["num_train_timesteps"]
    if c["trained_betas"] is not None:
        b = np.asarray(c["trained_betas"], dtype=np.float64)
    elif c["beta_schedule"] == "linear":
        b = np.linspace(c["beta_start"], c["beta_end"], n, dtype=np.float64)
    elif c["beta_schedule"] == "scaled_linear":
        b = np.linspace(c["beta_start"] ** 0.5, c["beta_end"] ** 0.5, n, dtype=np.float64) ** 2
    elif c["beta_schedule"] == "squaredcos_cap_v2":
        f = lambda s: math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2
        b = np.array([min(1 - f((i + 1) / n) / f(i / n), 0.999) for i in range(n)], dtype=np.float64)
    else:
        raise ValueError(c["beta_schedule"])
    if c["rescale_betas_zero_snr"]:
        s = np.sqrt(np.cumprod(1.0 - b))
        s0, sT = s[0], s[-1]
        s = (s - sT) * s0 / (s0 - sT)
        bar = s ** 2
        alphas = np.concatenate([bar[0:1], bar[1:] / bar[:-1]])
        b = 1 - alphas
    return b


def set_timesteps(c, n):
    T = c["num_train_timesteps"]
    sp = c["timestep_spacing"]
    if sp == "linspace":
        ts = np.linspace(0, T - 1, n).round()[::-1].copy().astype(np.int64)
    elif sp == "leading":
        r = T // n
        ts = (np.arange(0, n) * r).round()[::-1].copy().astype(np.int64)
        ts += c["steps_offset"]
    elif sp == "trailing":
        r = T / n
        ts = np.round(np.arange(T, 0, -r)).astype(np.int64)
        ts -= 1
    else:
        raise ValueError(sp)
    prev = ts - T // n
    prev[prev < 0] = -1
    return ts, prev


def quadratic(T, n):
    seq = [int(s) for s in list(np.linspace(0, np.sqrt(T * 0.8), n) ** 2)]
    ts = np.array(seq[::-1], dtype=np.int64)
    prev = np.array(([-1] + seq[:-1])[::-1], dtype=np.int64)
    return ts, prev


def predict(c, a, x, m):
    if c["prediction_type"] == "epsilon":
        x0 = (x - (1 - a) ** 0.5 * m) / a ** 0.5
        eps = m
    elif c["prediction_type"] == "sample":
        x0 = m
        eps = (x - a ** 0.5 * x0) / (1 - a) ** 0.5
    else:
        x0 = a ** 0.5 * x - (1 - a) ** 0.5 * m
        eps = a ** 0.5 * m + (1 - a) ** 0.5 * x
    if c["clip_sample"]:
        r = c["clip_sample_range"]
        x0 = np.clip(x0, -r, r)
    return x0, eps


def ddim_step(c, ac, eta, t, prev, x, m, z):
    a = ac[t]
    ap = ac[prev] if prev >= 0 else (1.0 if c["set_alpha_to_one"] else ac[0])
    x0, eps = predict(c, a, x, m)
    var = (1 - ap) / (1 - a) * (1 - a / ap)
    std = eta * var ** 0.5
    out = ap ** 0.5 * x0 + (1 - ap - std ** 2) ** 0.5 * eps
    if eta > 0:
        out = out + std * z
    return x0, out


def ddpm_step(c, ac, t, prev, x, m, z):
    a = ac[t]
    ap = ac[prev] if prev >= 0 else 1.0
    alpha_t = a / ap
    beta_t = 1 - alpha_t
    x0, _ = predict(c, a, x, m)
    out = (ap ** 0.5 * beta_t) / (1 - a) * x0 + alpha_t ** 0.5 * (1 - ap) / (1 - a) * x
    if t > 0:
        var = max((1 - ap) / (1 - a) * beta_t, 1e-20)
        vt = c["variance_type"]
        if vt == "fixed_small":
            std = var ** 0.5
        elif vt == "fixed_small_log":
            std = math.exp(0.5 * math.log(var))
        else:  # fixed_large; fixed_large_log taken as its named variance beta_t
            std = beta_t ** 0.5
        out = out + std * z
    return x0, out


def main():
    os.makedirs(OUT, exist_ok=True)
    base = dict(DEFAULTS)

    ts = {}
    for sp in ("leading", "trailing", "linspace"):
        for off in ((0, 1) if sp == "leading" else (0,)):
            for n in (1, 2, 3, 6, 7, 10, 11, 13, 20, 25, 50, 64, 100, 250, 333, 999, 1000):
                c = dict(base, timestep_spacing=sp, steps_offset=off)
                ts[f"{sp}_{off}_{n}"] = set_timesteps(c, n)[0]
    for n in (10, 20, 50, 100, 250):
        ts[f"quadratic_{n}"] = quadratic(1000, n)[0]
    np.savez(os.path.join(OUT, "timesteps.npz"), **ts)

    betas = {
        "linear": betas_of(base),
        "scaled_linear": betas_of(dict(base, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)),
        "squaredcos_cap_v2": betas_of(dict(base, beta_schedule="squaredcos_cap_v2")),
        "linear_zero_snr": betas_of(dict(base, rescale_betas_zero_snr=True)),
    }
    np.savez(os.path.join(OUT, "betas.npz"), **betas)

    cases = [
        ("ddim_eps_eta0", "DDIMScheduler", 0.0, {}, ("spaced", 8)),
        ("ddim_eps_eta07_noclip", "DDIMScheduler", 0.7, dict(clip_sample=False), ("spaced", 8)),
        ("ddim_v_trailing", "DDIMScheduler", 0.0, dict(prediction_type="v_prediction", timestep_spacing="trailing",
                                                       beta_schedule="scaled_linear", beta_start=0.00085,
                                                       beta_end=0.012, clip_sample=False), ("spaced", 6)),
        ("ddim_sample_noalpha1", "DDIMScheduler", 1.0, dict(prediction_type="sample", set_alpha_to_one=False,
                                                            steps_offset=1, clip_sample_range=0.8), ("spaced", 5)),
        ("ddim_linspace_cos", "DDIMScheduler", 0.3, dict(timestep_spacing="linspace",
                                                         beta_schedule="squaredcos_cap_v2"), ("spaced", 7)),
        ("ddim_quadratic", "DDIMScheduler", 0.0, {}, ("quadratic", 12)),
        ("ddpm_small", "DDPMScheduler", 0.0, {}, ("spaced", 10)),
        ("ddpm_small_log_v", "DDPMScheduler", 0.0, dict(variance_type="fixed_small_log",
                                                        prediction_type="v_prediction"), ("spaced", 7)),
        ("ddpm_large_sample", "DDPMScheduler", 0.0, dict(variance_type="fixed_large", prediction_type="sample",
                                                         clip_sample=False, timestep_spacing="trailing"), ("spaced", 9)),
        ("ddpm_full_cos", "DDPMScheduler", 0.0, dict(beta_schedule="squaredcos_cap_v2", num_train_timesteps=40),
         ("spaced", 40)),
    ]
    rng = np.random.default_rng(20240611)
    arrays, meta = {}, []
    shape = (2, 1, 3, 4)
    for name, cls, eta, over, (kind, n) in cases:
        c = dict(base, **over)
        ac = np.cumprod(1 - betas_of(c))
        t_list, p_list = set_timesteps(c, n) if kind == "spaced" else quadratic(c["num_train_timesteps"], n)
        K = len(t_list)
        x = rng.standard_normal(shape)
        m = rng.standard_normal((K,) + shape)
        z = rng.standard_normal((K,) + shape)
        arrays[name + "__x_T"] = x.copy()
        x0s, xs = [], []
        for k in range(K):
            t, p = int(t_list[k]), int(p_list[k])
            if cls == "DDIMScheduler":
                x0, x = ddim_step(c, ac, eta, t, p, x, m[k], z[k])
            else:
                x0, x = ddpm_step(c, ac, t, p, x, m[k], z[k])
            x0s.append(x0)
            xs.append(x)
        arrays[name + "__model_out"] = m
        arrays[name + "__noise"] = z
        arrays[name + "__x0"] = np.array(x0s)
        arrays[name + "__samples"] = np.array(xs)
        arrays[name + "__timesteps"] = np.asarray(t_list, dtype=np.int64)
        arrays[name + "__prev"] = np.asarray(p_list, dtype=np.int64)
        cfg = {"_class_name": cls}
        cfg.update(c)
        meta.append(dict(name=name, eta=eta, schedule=kind, steps=n, config=cfg))
    np.savez(os.path.join(OUT, "loops.npz"), **arrays)
    with open(os.path.join(OUT, "loops.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    write_noise()
    print("wrote", OUT, len(ts), "time-step lists,", len(cases), "loops, noise")


def noise_reference(seed, sample_index, stream, n):
    """The NoiseSource algorithm as documented in its Javadoc, re-implemented from the text."""
    M = (1 << 64) - 1

    def mix(z):
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)

    key = mix(mix(mix((seed & M) ^ 0x243F6A8885A308D3) ^ ((sample_index + 0x13198A2E03707344) & M))
              ^ ((stream + 0xA4093822299F31D0) & M))
    state = key
    out = []
    while len(out) < n:
        state = (state + 0x9E3779B97F4A7C15) & M
        a = mix(state)
        state = (state + 0x9E3779B97F4A7C15) & M
        b = mix(state)
        u1 = ((a >> 11) + 1) * 2.0 ** -53
        u2 = (b >> 11) * 2.0 ** -53
        r = math.sqrt(-2.0 * math.log(u1))
        out += [r * math.cos(2.0 * math.pi * u2), r * math.sin(2.0 * math.pi * u2)]
    return np.array(out[:n])


def write_noise():
    arrays = {f"seed{s}_sample{i}_stream{st}": noise_reference(s, i, st, 11)
              for s, i, st in ((1234, 0, 0), (1234, 7, 3), (-5, 123456789, 0), (0, 0, 0))}
    np.savez(os.path.join(OUT, "noise.npz"), **arrays)


if __name__ == "__main__":
    main()
