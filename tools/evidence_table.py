"""Markdown table of issue 4's evidence from finished `tfmq run` directories (summary.json + disturbance.csv).

  python3 tools/evidence_table.py runs/evidence/*-w4a8-ddim20-n512

Per recipe: FP and quantized FID / sFID / KID with their intervals (same seeds, so the FP columns agree across rows),
the gap closed relative to q-diffusion (1 - (FID_q - FID_fp) / (FID_qdiff - FID_fp)), calibration wall time and its
ratio to q-diffusion's, and the Fig. 2 diagnostic: cosine similarity of the temporal features FP vs quantized,
averaged over the TIB members, at the first, middle and last sampling step and over all steps (min over members in
brackets).
"""
import csv
import json
import os
import sys


def interval(m):
    lo, hi = m.get("low"), m.get("high")
    if lo is None or hi is None:
        return f"{m['value']:.3f}"
    return f"{m['value']:.3f} [{lo:.3f}, {hi:.3f}]"


def metric(side, name):
    m = side.get(name)
    if m is None:
        return None
    if isinstance(m, dict) and "value" in m:
        return m
    return {"value": m}


def cosine_by_step(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        vals = [1.0 - float(v) for k, v in r.items() if k.endswith(":cosine_distance") and v != ""]
        if vals:
            out.append((int(r["timestep"]), sum(vals) / len(vals), min(vals)))
    return out


def main(dirs):
    rows = []
    for d in dirs:
        p = os.path.join(d, "summary.json")
        if not os.path.exists(p):
            print(f"skipping {d}: no summary.json", file=sys.stderr)
            continue
        with open(p) as f:
            s = json.load(f)
        prov = s.get("provenance", {})
        qa = s["quality"]
        qprov = prov.get("quantization") if isinstance(prov.get("quantization"), dict) else {}
        cal = float(qprov["time_total_s"]) if qprov.get("time_total_s") is not None else None
        rows.append({"recipe": s["recipe"]["name"], "bits": s["recipe"]["bits"], "n": s["run"]["samples_per_side"],
                     "fp": qa["fp"], "q": qa["quantized"], "cal": cal, "cos": cosine_by_step(os.path.join(d, "disturbance.csv")),
                     "hit": s["recipe"].get("artifact_cache_hit")})
    order = ["q-diffusion", "ptq4dm", "tfmq-tiar-only", "tfmq-fsc-only", "tfmq-tib", "tfmq-cache", "tfmq"]
    rows.sort(key=lambda r: order.index(r["recipe"]) if r["recipe"] in order else len(order))
    base = next((r for r in rows if r["recipe"] == "q-diffusion"), None)
    print("| recipe | bits | N | FID FP | FID quantized | gap closed vs q-diffusion | sFID quantized | KID quantized |"
          " calibration s (× q-diffusion) | temporal cosine first / mid / last / mean (min) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        fid_fp, fid_q = metric(r["fp"], "fid"), metric(r["q"], "fid")
        gap = ""
        if base is not None and r is not base:
            g0 = metric(base["q"], "fid")["value"] - metric(base["fp"], "fid")["value"]
            g = fid_q["value"] - fid_fp["value"]
            gap = f"{100 * (1 - g / g0):.0f}%" if g0 > 0 else "n/a"
        cal = ""
        if r["cal"] is not None:
            cal = f"{r['cal']:.0f}"
            if base is not None and base["cal"]:
                cal += f" ({r['cal'] / base['cal']:.2f}×)"
        elif r["hit"]:
            cal = "cached"
        cos = r["cos"]
        cs = ""
        if cos:
            mid = cos[len(cos) // 2]
            mean = sum(c[1] for c in cos) / len(cos)
            cs = f"{cos[0][1]:.4f} / {mid[1]:.4f} / {cos[-1][1]:.4f} / {mean:.4f} ({min(c[2] for c in cos):.4f})"
        sfid, kid = metric(r["q"], "sfid"), metric(r["q"], "kid")
        print(f"| {r['recipe']} | {r['bits']} | {r['n']} | {interval(fid_fp)} | {interval(fid_q)} | {gap} | "
              f"{interval(sfid) if sfid else ''} | {interval(kid) if kid else ''} | {cal} | {cs} |")


if __name__ == "__main__":
    main(sys.argv[1:])
