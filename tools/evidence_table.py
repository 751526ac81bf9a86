"""Markdown table of issue 4's evidence from finished `tfmq run` directories.

  python3 tools/evidence_table.py [--fp FP_FID.json] RUN_DIR...

Per run directory (one recipe at one bit setting and step count):
  * quality: D/fid.json when present (`tfmq fid` output over samples drawn from the run's artifact, e.g. by
    tools/quant_eval_torch.py on the GPU machine), else the run's own streaming FID/sFID from summary.json;
    --fp gives the full-precision `tfmq fid` output for the same N, steps and seeds (else the run's FP side);
  * gap closed relative to q-diffusion at the same bits and steps: 1 - (FID - FID_fp) / (FID_qdiff - FID_fp);
  * calibration wall time (provenance time_total_s) and its ratio to q-diffusion's;
  * the Fig. 2 diagnostic from disturbance.csv: cosine similarity of the temporal features FP vs quantized, mean over
    the TIB members, at the first / middle / last sampling step and over all steps, with the minimum over
    (member, step) in brackets.
"""
import argparse
import csv
import json
import os
import sys

ORDER = ["q-diffusion", "ptq4dm", "tfmq-tiar-only", "tfmq-fsc-only", "tfmq-tib", "tfmq-cache", "tfmq"]


def fmt(v, lo=None, hi=None, digits=3):
    if v is None:
        return ""
    s = f"{v:.{digits}f}"
    if lo is not None and hi is not None:
        s += f" [{lo:.{digits}f}, {hi:.{digits}f}]"
    return s


def from_fid_json(p):
    with open(p) as f:
        d = json.load(f)
    ci = d.get("fid_ci") or {}
    return {"fid": d["fid"], "lo": ci.get("low"), "hi": ci.get("high"), "sfid": d.get("sfid"), "n": d["n_a"]}


def from_summary(side):
    f = side.get("fid") or {}
    s = side.get("sfid") or {}
    return {"fid": f.get("value"), "lo": f.get("low"), "hi": f.get("high"), "sfid": s.get("value"), "n": f.get("n")}


def cosine_by_step(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        vals = [1.0 - float(v) for k, v in r.items() if k.endswith(":cosine_distance") and v != ""]
        if vals:
            out.append((int(r["timestep"]), sum(vals) / len(vals), min(vals)))
    return out


def load(d, fp_override):
    with open(os.path.join(d, "summary.json")) as f:
        s = json.load(f)
    qprov = s.get("provenance", {}).get("quantization", {})
    q = from_fid_json(os.path.join(d, "fid.json")) if os.path.exists(os.path.join(d, "fid.json")) \
        else from_summary(s["quality"]["quantized"])
    fp = fp_override or from_summary(s["quality"]["fp"])
    steps = s.get("provenance", {}).get("config", {}).get("steps")
    cal = qprov.get("time_total_s")
    return {"recipe": s["recipe"]["name"], "bits": s["recipe"]["bits"], "q": q, "fp": fp,
            "cal": float(cal) if cal is not None else None, "cos": cosine_by_step(os.path.join(d, "disturbance.csv")),
            "steps": steps}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fp", help="`tfmq fid` JSON of the full-precision samples (same N, steps, seeds)")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    fp = from_fid_json(args.fp) if args.fp else None
    rows = []
    for d in args.dirs:
        if not os.path.exists(os.path.join(d, "summary.json")):
            print(f"skipping {d}: no summary.json", file=sys.stderr)
            continue
        rows.append(load(d, fp))
    rows.sort(key=lambda r: ORDER.index(r["recipe"]) if r["recipe"] in ORDER else len(ORDER))
    base = next((r for r in rows if r["recipe"] == "q-diffusion"), None)
    if rows:
        r0 = rows[0]
        print(f"FP: FID {fmt(r0['fp']['fid'], r0['fp']['lo'], r0['fp']['hi'])}, sFID {fmt(r0['fp']['sfid'], digits=2)}, "
              f"N = {r0['fp']['n']}\n")
    print("| recipe | bits | N | FID (95 % CI) | gap to FP closed vs q-diffusion | sFID | calibration s (× q-diffusion) |"
          " temporal-feature cosine: first / mid / last / mean (min) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        gap = ""
        if base is not None and r is not base and base["q"]["fid"] is not None:
            g0 = base["q"]["fid"] - base["fp"]["fid"]
            g = r["q"]["fid"] - r["fp"]["fid"]
            gap = f"{100 * (1 - g / g0):.0f} %" if g0 > 0 else "n/a"
        cal = ""
        if r["cal"] is not None:
            cal = f"{r['cal']:.0f}"
            if base is not None and base["cal"]:
                cal += f" ({r['cal'] / base['cal']:.2f}×)"
        cs = ""
        if r["cos"]:
            c = r["cos"]
            mean = sum(x[1] for x in c) / len(c)
            cs = f"{c[0][1]:.4f} / {c[len(c) // 2][1]:.4f} / {c[-1][1]:.4f} / {mean:.4f} ({min(x[2] for x in c):.4f})"
        q = r["q"]
        print(f"| {r['recipe']} | {r['bits']} | {q['n']} | {fmt(q['fid'], q['lo'], q['hi'])} | {gap} | "
              f"{fmt(q['sfid'], digits=2)} | {cal} | {cs} |")


if __name__ == "__main__":
    main()
