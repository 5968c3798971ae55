#!/usr/bin/env bash
# Ablation of the chain's stages (issue 18, docs/chain_stages.md): three synthetic SEED sets (3 subjects x 15 trials
# of 30 s; 2 subjects x 15 trials of 120 s; 4 subjects x 15 trials of 60 s), 3 seeds, subject-dependent protocol
# (9 train / 6 test trials), every variant on the same budget (scripts/chain_ablation.yaml); paired differences with
# 95% intervals against the default chain; then the same variants on a synthetic DEAP (EEG only). Training is
# deterministic on CPU, so folds run separately (other subject subsets, other processes) give the same rows.
# Usage: scripts/chain_ablation.sh WORKDIR
set -euo pipefail
work=${1:-/tmp/chain_ablation}
ea=".venv/bin/eegaffect"
stages="eegdancer,eegdancer-vq,eegdancer-mask,eegdancer-sac,eegdancer-nosmooth,de-ridge"
mkdir -p "$work"
[ -d "$work/short" ] || nice -n 19 $ea datasets synth-seed "$work/short" --subjects 3 --sessions 1 --trial-seconds 30 --seed 1
[ -d "$work/long" ] || nice -n 19 $ea datasets synth-seed "$work/long" --subjects 2 --sessions 1 --trial-seconds 120 --seed 2
[ -d "$work/medium" ] || nice -n 19 $ea datasets synth-seed "$work/medium" --subjects 4 --sessions 1 --trial-seconds 60 --seed 3
[ -d "$work/deap" ] || nice -n 19 $ea datasets synth-deap "$work/deap" --subjects 4 --trials 20 --trial-seconds 40 --seed 5
# one dataset per process (they can run side by side)
for d in short long medium; do
  nice -n 19 $ea bench ablation --root "$work/$d" --seeds 0,1,2 --cache-dir "$work/cache" \
    --config scripts/chain_ablation.yaml --out "$work/ablation" --models "$stages" &
done
nice -n 19 .venv/bin/python scripts/chain_deap.py "$work/deap" "$work/ablation_deap" "$work/cache" 14 "" "$stages" &
wait
# the joint table from the runs' stores (nothing refits; units where every model has a row)
.venv/bin/python scripts/chain_ablation_collect.py "$work/joint" "$work/ablation" "$stages"
.venv/bin/python scripts/chain_smoothing.py "$work/ablation" docs/chain_stages/smoothing.json 2.5 4.0
