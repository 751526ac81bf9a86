#!/usr/bin/env bash
# On the GPU machine: samples every artifact of a manifest (lines "<run name> <artifact> <steps>", as
# tools/run_evidence.sh writes them, optionally with a fourth column of extra quant_eval_torch.py arguments such as
# "--serve tib") with tools/quant_eval_torch.py, N samples each, seed 0 (the seeds of the FP cells
# in the README), and tars each run's PNG folder into $OUT/<run name>.tar (one per run: results come back under a size
# limit per file) for `tfmq fid` on the CPU machine.
#
#   tools/gpu_evidence.sh MANIFEST N
set -euo pipefail
manifest=${1:?manifest}; n=${2:?samples}
work=$(mktemp -d)
while IFS=$'\t' read -r name artifact steps extra; do
  [ -n "$name" ] || continue
  # shellcheck disable=SC2086 # extra holds separate arguments
  python3 tools/quant_eval_torch.py --model models/fmnist-ddpm --artifact "$artifact" --steps "$steps" --num "$n" \
    --seed 0 --batch 2500 --out "$work/$name" ${extra:-} | tail -1
  tar cf "${OUT:?}/$name.tar" -C "$work" "$name"
done < "$manifest"
