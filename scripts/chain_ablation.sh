#!/usr/bin/env bash
# Ablation of the chain's stages (issue 18): two synthetic SEED sets (short trials; long trials), 3 seeds,
# subject-dependent protocol, every variant with the packaged configs/train.yaml budget; paired differences with
# 95% intervals against the default chain. Usage: scripts/chain_ablation.sh WORKDIR [SUBJECTS]
set -euo pipefail
work=${1:-/tmp/chain_ablation}
subjects=${2:-1}
ea=".venv/bin/eegaffect"
mkdir -p "$work"
[ -d "$work/short" ] || nice -n 10 $ea datasets synth-seed "$work/short" --subjects 3 --sessions 1 --trial-seconds 30 --seed 1
[ -d "$work/long" ] || nice -n 10 $ea datasets synth-seed "$work/long" --subjects 2 --sessions 1 --trial-seconds 120 --seed 2
# one dataset per process (the two can run side by side), then the joint table
for d in short long; do
  nice -n 10 $ea bench ablation --root "$work/$d" --seeds 0,1,2 --subjects "$subjects" \
    --cache-dir "$work/cache" --config scripts/chain_ablation.yaml --out "$work/ablation" &
done
wait
nice -n 10 $ea bench ablation --root "$work/short" --root "$work/long" --seeds 0,1,2 --subjects "$subjects" \
  --cache-dir "$work/cache" --config scripts/chain_ablation.yaml --out "$work/ablation"
