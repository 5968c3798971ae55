#!/usr/bin/env bash
# Ablation of the chain's stages (issue 18, docs/chain_stages.md): two synthetic SEED sets (3 subjects x 15 trials
# of 30 s; 2 subjects x 15 trials of 120 s), 3 seeds, subject-dependent protocol (9 train / 6 test trials), every
# variant on the same budget (scripts/chain_ablation.yaml); paired differences with 95% intervals against the
# default chain. Training is deterministic on CPU, so folds run separately (other subject subsets, other
# processes) give the same rows. Usage: scripts/chain_ablation.sh WORKDIR
set -euo pipefail
work=${1:-/tmp/chain_ablation}
ea=".venv/bin/eegaffect"
mkdir -p "$work"
[ -d "$work/short" ] || nice -n 10 $ea datasets synth-seed "$work/short" --subjects 3 --sessions 1 --trial-seconds 30 --seed 1
[ -d "$work/long" ] || nice -n 10 $ea datasets synth-seed "$work/long" --subjects 2 --sessions 1 --trial-seconds 120 --seed 2
# one dataset per process (the two can run side by side), then the joint table
for d in short long; do
  nice -n 10 $ea bench ablation --root "$work/$d" --seeds 0,1,2 --cache-dir "$work/cache" \
    --config scripts/chain_ablation.yaml --out "$work/ablation" &
done
wait
nice -n 10 $ea bench ablation --root "$work/short" --root "$work/long" --seeds 0,1,2 --cache-dir "$work/cache" \
  --config scripts/chain_ablation.yaml --out "$work/ablation"
.venv/bin/python scripts/chain_smoothing.py "$work/ablation" docs/chain_stages/smoothing.json 2.0
