#!/usr/bin/env bash
# Issue 4's evidence at a scale this 2-core machine can run: every recipe against full precision with the same
# seeds, sampler and the same reduced calibration budget.
#
#   tools/run_evidence.sh BITS STEPS SAMPLES [RECIPE...]
#   tools/run_evidence.sh w4a8 20 64                        # q-diffusion ptq4dm tfmq-tib tfmq-cache tfmq
#
# EVIDENCE_EXTRA adds further arguments to every run (e.g. "--set quantization.overrides.calibration.trajectories=shared":
# one set of 32 FP trajectories for all steps instead of 32 per step, which at 100 steps is 100x fewer UNet passes).
#
# Each run calibrates the recipe (the artifact lands in .tfmq-cache/artifacts/), measures the temporal-feature
# disturbance at every sampling step (disturbance.csv: the Fig. 2 diagnostic; it depends on the time-step only, so a
# small SAMPLES suffices) and records the calibration wall time, in runs/evidence/<recipe>-<bits>-ddim<steps>-n<SAMPLES>/.
# It appends "<run name> <artifact> <steps>" to runs/evidence/manifest.tsv. FID at N = 5000 then comes from
# tools/quant_eval_torch.py sampling each artifact on the GPU machine (README, "Evidence").
#
# The reduced budget (the same for every recipe, so the comparison stays fair; the full recipes are the configs):
#   calibration: 5 weight-calibration time-steps x 32 samples (activations: every sampling step x 32 samples);
#                PTQ4DM draws 160 samples from its normal time-step distribution (= 5 x 32)
#   reconstruction: 200 AdaRound/TIAR iterations, no BRECQ block reconstruction of the non-TIB layers (minutes
#                per block on 2 cores), Q-Diffusion's activation step-size reconstruction 200 iterations
set -euo pipefail
cd "$(dirname "$0")/.."
bits=${1:?bits: w4a8 or w8a8}; steps=${2:?DDIM steps}; samples=${3:?samples per side}; shift 3
recipes=("$@"); [ ${#recipes[@]} -gt 0 ] || recipes=(q-diffusion ptq4dm tfmq-tib tfmq-cache tfmq)
for r in "${recipes[@]}"; do
  dir="runs/evidence/$r-$bits-ddim$steps-n$samples"
  [ -f "$dir/summary.json" ] && { echo "== $r: done already ($dir)"; continue; }
  echo "== $r $bits DDIM $steps N=$samples -> $dir"
  resume=(); [ -f "$dir/config.conf" ] && resume=(--resume)
  ./tfmq run "configs/$r-$bits.conf" --run-dir "$dir" "${resume[@]}" \
    --set run.name="evidence-$r-$bits" --set run.samples="$samples" --set run.batch-size=64 \
    --set model.steps="$steps" --set dashboard.enabled=false --set gate.rules=[] \
    --set metrics.reference.count=10000 \
    --set quantization.overrides.calibration.weight-steps=5 \
    --set quantization.overrides.calibration.samples-per-step=32 \
    --set quantization.overrides.calibration.ptq4dm.samples=160 \
    --set quantization.overrides.recipe.reconstruction.iterations=200 \
    --set quantization.overrides.recipe.reconstruction.blocks=false \
    --set quantization.overrides.recipe.activation.step-size-reconstruction.iterations=200 \
    ${EVIDENCE_EXTRA:-} \
    || { rc=$?; [ $rc -eq 1 ] || exit $rc; }
  art=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["provenance"]["quantization"]["artifact"])' "$dir/summary.json")
  printf '%s\t%s\t%s\n' "$(basename "$dir")" "$art" "$steps" >> runs/evidence/manifest.tsv
done
