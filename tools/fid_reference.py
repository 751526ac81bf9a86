#!/usr/bin/python3
"""Reference values for tfmq's metrics tests, computed with NumPy/SciPy in float64.

Run from the repository root:  /usr/bin/python3 tools/fid_reference.py
Writes metrics/src/test/resources/metrics/reference.json (+ two small .npz files).

Inputs are not stored as arrays: they come from a portable generator (SplitMix64 -> uniforms -> Irwin-Hall
normals) that uses only exactly-rounded IEEE operations, so the Java tests regenerate bit-identical inputs
(dev.tfmq.metrics.PortableRandom). That keeps the fixtures tiny even for the 2048-d case with N = 3000.

Feature model (per set): X = offset + Z W^T + E * e, with W [D, r], Z [N, r], E [N, D] portable normals,
e_j = 0.1 + u_j, offset = (5 + n_shared) + 0.1 n_own (a
shared part so that the covariance terms, not the means, dominate FID). Features are rounded to float32 (as networks deliver them) before
statistics are taken in float64. The large offset checks that the statistics do not cancel catastrophically.

FID is computed two ways:
  * "sqrtm": the pytorch-fid way, scipy.linalg.sqrtm(sigma1 @ sigma2), real part (imaginary magnitude recorded);
  * "eigen": eigh(sigma1) -> A = V sqrt(max(lambda, 0)); eigvalsh(A^T sigma2 A) clamped at 0; sum of square roots.
"""
import json
import os
import sys

import numpy as np
import scipy
import scipy.linalg
import scipy.signal

GAMMA = np.uint64(0x9E3779B97F4A7C15)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "metrics", "src", "test", "resources", "metrics")


def uniforms(seed, count):
    """i-th value = SplitMix64 output number i (0-based) of state `seed`, mapped to [0, 1) with 53 bits."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + (np.arange(count, dtype=np.uint64) + np.uint64(1)) * GAMMA
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)


def normals(seed, count):
    """Irwin-Hall(4) scaled to unit variance: ((u0+u1)+(u2+u3) - 2) * sqrt(3), summed in this exact order."""
    u = uniforms(seed, 4 * count).reshape(count, 4)
    return (((u[:, 0] + u[:, 1]) + (u[:, 2] + u[:, 3])) - 2.0) * 1.7320508075688772


def features(seed, n, d, r, scale):
    w = normals(seed + 1, d * r).reshape(d, r) * scale
    z = normals(seed + 2, n * r).reshape(n, r)
    e = 0.1 + uniforms(seed + 3, d)
    eps = normals(seed + 4, n * d).reshape(n, d)
    offset = (5.0 + normals(999, d)) + 0.1 * normals(seed + 5, d)
    x = offset + z @ w.T + eps * e
    return x.astype(np.float32)


def stats(x):
    x = x.astype(np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False)


def fid_sqrtm(mu1, s1, mu2, s2):
    covmean = scipy.linalg.sqrtm(s1.dot(s2), disp=False)[0]
    imag = float(np.max(np.abs(covmean.imag))) if np.iscomplexobj(covmean) else 0.0
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)), imag


def fid_eigen(mu1, s1, mu2, s2):
    lam, v = np.linalg.eigh(s1)
    a = v * np.sqrt(np.clip(lam, 0, None))
    ev = np.linalg.eigvalsh(a.T @ s2 @ a)
    diff = mu1 - mu2
    tr = np.sqrt(np.clip(ev, 0, None)).sum()
    return (float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * tr), int((ev < 0).sum() + (lam < 0).sum()),
            float(tr), float(diff.dot(diff)))


def fid_case(name, d, n1, n2, r, seed1, seed2, scale2, save_npz=False):
    x1 = features(seed1, n1, d, r, 1.0)
    x2 = features(seed2, n2, d, r, scale2)
    mu1, s1 = stats(x1)
    mu2, s2 = stats(x2)
    f_sqrtm, imag = fid_sqrtm(mu1, s1, mu2, s2)
    f_eigen, negative, trace_sqrt, mean_term = fid_eigen(mu1, s1, mu2, s2)
    if save_npz:
        np.savez(os.path.join(OUT, name + "_a.npz"), mu=mu1, sigma=s1)
        np.savez(os.path.join(OUT, name + "_b.npz"), mu=mu2, sigma=s2, mu_s=mu2[:8], sigma_s=s2[:8, :8])
    out = {
        "d": d, "n1": n1, "n2": n2, "rank": r, "seed1": seed1, "seed2": seed2, "scale2": scale2,
        "fid_sqrtm": f_sqrtm, "sqrtm_max_imag": imag, "fid_eigen": f_eigen, "eigen_negative": negative,
        "trace_sqrt": trace_sqrt, "mean_term": mean_term,
        "trace_sigma1": float(np.trace(s1)), "mu1_0": float(mu1[0]), "sigma1_00": float(s1[0, 0]),
        "sigma1_01": float(s1[0, 1]), "mu1_sum": float(mu1.sum()), "sigma1_sum": float(s1.sum()),
    }
    print(name, {k: out[k] for k in ("fid_sqrtm", "fid_eigen", "sqrtm_max_imag", "eigen_negative")}, file=sys.stderr)
    return out


def kid_full(x, y):
    """Unbiased MMD^2, cubic polynomial kernel, on the full sets (one 'subset' = everything)."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    d = x.shape[1]
    m = x.shape[0]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.sum() / (m * m))


def inception_score(logits, splits):
    logits = logits.astype(np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    n = p.shape[0]
    scores = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        py = part.mean(axis=0, keepdims=True)
        kl = (part * (np.log(part) - np.log(py))).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))


def precision_recall(real, fake, k=3):
    real = real.astype(np.float64)
    fake = fake.astype(np.float64)

    def sqdist(a, b):
        return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)

    r_real = np.sort(sqdist(real, real), axis=1)[:, k]  # index 0 is the point itself
    r_fake = np.sort(sqdist(fake, fake), axis=1)[:, k]
    precision = float((sqdist(fake, real) <= r_real[None, :]).any(axis=1).mean())
    recall = float((sqdist(real, fake) <= r_fake[None, :]).any(axis=1).mean())
    return precision, recall


def gaussian_window(size=11, sigma=1.5):
    ax = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(ax ** 2) / (2 * sigma ** 2))
    w = np.outer(g, g)
    return w / w.sum()


def ssim_channel(a, b, data_range=1.0):
    """Wang et al. 2004: Gaussian 11x11, sigma 1.5, K1 0.01, K2 0.03, 'valid' filtering, mean of the SSIM map."""
    w = gaussian_window()
    f = lambda img: scipy.signal.correlate2d(img, w, mode="valid")
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mu_a, mu_b = f(a), f(b)
    saa = f(a * a) - mu_a ** 2
    sbb = f(b * b) - mu_b ** 2
    sab = f(a * b) - mu_a * mu_b
    m = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return m.mean()


def paired_images(seed, n, c, h, w):
    clean = uniforms(seed, n * c * h * w).reshape(n, c, h, w)
    # smooth-ish images: average each pixel with its right neighbour (wrapping) so SSIM sees structure
    clean = 0.5 * (clean + np.roll(clean, 1, axis=3))
    noise = (uniforms(seed + 7, n * c * h * w).reshape(n, c, h, w) - 0.5) * 0.1
    noisy = np.clip(clean + noise * (np.arange(n) + 1)[:, None, None, None] / n, 0.0, 1.0)
    return clean.astype(np.float32), noisy.astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    ref = {"numpy": np.__version__, "scipy": scipy.__version__, "fid": {}}
    ref["fid"]["full64"] = fid_case("full64", 64, 500, 400, 8, 1000, 2000, 1.3, save_npz=True)
    ref["fid"]["deficient128"] = fid_case("deficient128", 128, 50, 60, 8, 3000, 4000, 0.8)
    ref["fid"]["identical32"] = fid_case("identical32", 32, 300, 300, 4, 5000, 5000, 1.0)
    ref["fid"]["lowrank2048"] = fid_case("lowrank2048", 2048, 3000, 3000, 32, 6000, 7000, 1.1)

    # KID / precision-recall on 16-d features; the fake set is shifted and scaled
    real = features(8000, 200, 16, 4, 1.0)
    fake = features(9000, 200, 16, 4, 1.5)
    ref["kid_full"] = {"seed_real": 8000, "seed_fake": 9000, "n": 200, "d": 16, "rank": 4, "scale_fake": 1.5,
                       "kid": kid_full(real, fake)}
    p, r = precision_recall(real, fake, 3)
    ref["precision_recall"] = {"k": 3, "precision": p, "recall": r}

    logits = (normals(10000, 100 * 10).reshape(100, 10) * 3.0).astype(np.float32)
    is_mean, is_std = inception_score(logits, 4)
    ref["inception_score"] = {"seed": 10000, "n": 100, "classes": 10, "scale": 3.0, "splits": 4,
                              "mean": is_mean, "std": is_std}

    clean, noisy = paired_images(11000, 6, 2, 28, 28)
    mse = ((clean.astype(np.float64) - noisy.astype(np.float64)) ** 2).reshape(6, -1).mean(axis=1)
    ssim = [float(np.mean([ssim_channel(clean[i, ch].astype(np.float64), noisy[i, ch].astype(np.float64))
                           for ch in range(2)])) for i in range(6)]
    ref["paired"] = {"seed": 11000, "n": 6, "c": 2, "h": 28, "w": 28, "mse": mse.tolist(),
                     "psnr": (10 * np.log10(1.0 / mse)).tolist(), "ssim": ssim}

    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
