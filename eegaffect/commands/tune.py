"""``eegaffect tune``: hyper-parameter search of the EEGDancer chain with Ray Tune (ASHA), leakage-free.

Example::

    eegaffect datasets synth-seed /tmp/synth --subjects 2
    eegaffect tune --root /tmp/synth --model eegdancer --protocol subject-dependent --trials 8 --out /tmp/tune
    eegaffect train --config /tmp/tune/best_config.yaml --data /tmp/synth --out /tmp/bundle
    eegaffect tune --root /data/seed --trials 64 --address head:6379 --cache /shared/cache --out tune/ \
        --set sac.total_steps=1500                  # every trial starts from train.yaml with this change
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args
from eegaffect.commands._execution import add_execution_options, execution_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect tune`` and its options to ``subparsers``."""
    from eegaffect.benchmark.tuning import TUNE_METRICS

    parser = subparsers.add_parser(
        "tune", help="search the chain's hyper-parameters with Ray Tune (ASHA) on validation folds of the "
                     "training data; write the best train config",
        description="Sample configs of the VQ-VAE -> transformer -> SAC chain (the search space is documented in "
                    "eegaffect.benchmark.tuning; --space FILE replaces it), score each on validation folds carved "
                    "from the training trials of the protocol's outer folds (test trials are never used), stop "
                    "poor trials early (ASHA), and write OUT/best_config.yaml for 'eegaffect train --config' and "
                    "OUT/trials.json.")
    parser.add_argument("--root", type=Path, required=True, help="dataset folder (DREAMER: DREAMER.mat)")
    parser.add_argument("--dataset", choices=["seed", "seed-iv", "dreamer"], default="seed",
                        help="dataset layout (default seed)")
    parser.add_argument("--model", default="eegdancer",
                        help="eegdancer or an ablation: eegdancer-novq, eegdancer-nomask, eegdancer-nosac")
    parser.add_argument("--protocol", choices=["subject-dependent", "loso", "cross-session", "kfold"],
                        default="subject-dependent", help="outer protocol (default subject-dependent)")
    parser.add_argument("--trials", type=int, default=8, help="configs to sample (default 8)")
    parser.add_argument("--max-folds", type=int, default=3,
                        help="outer folds each trial is scored on, the first ones of the protocol (default 3)")
    parser.add_argument("--metric", choices=list(TUNE_METRICS), default="va_ccc",
                        help="validation score to maximise (default va_ccc = mean of valence and arousal CCC)")
    parser.add_argument("--space", type=Path, default=None, metavar="FILE", help="search space YAML")
    parser.add_argument("--subjects", default=None, help="comma-separated subject numbers (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampler, folds and fits (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    add_execution_options(parser, workers_default=os.cpu_count() or 1,
                          workers_help="trials at a time on a local Ray instance the command starts and stops "
                                       "(default: every core)")
    # the base train config of every trial (and of the written config): the sampled keys are set on top of it
    add_config_options(parser, "train")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect tune`` with the parsed ``args``; return the exit code."""
    from eegaffect.benchmark.tuning import config_overrides, load_space, tune_chain
    from eegaffect.errors import UserInputError
    from eegaffect.models.benchmark import VARIANTS
    from eegaffect.models.training import TrainConfig

    if args.model not in VARIANTS:
        raise UserInputError(f"--model: expected one of {sorted(VARIANTS)}, got {args.model!r}")
    if args.trials < 1 or args.max_folds < 1:
        raise UserInputError(f"expected --trials >= 1 and --max-folds >= 1, got {args.trials} and {args.max_folds}")
    if not args.root.exists():
        raise FileNotFoundError(f"dataset root {args.root} does not exist")
    try:
        subjects = [int(v) for v in args.subjects.split(",") if v.strip()] if args.subjects else None
    except ValueError:
        raise UserInputError(f"--subjects: expected comma-separated integers, got {args.subjects!r}") from None
    result = tune_chain(args.root, args.out, dataset=args.dataset, model=args.model, protocol=args.protocol,
                        trials=args.trials, max_folds=args.max_folds, metric=args.metric,
                        space=load_space(args.space), overrides=config_overrides(config_from_args(args, TrainConfig)),
                        seed=args.seed, subjects=subjects,
                        cache_dir=args.cache_dir, execution=execution_from_args(args))
    done = [t for t in result.trials if t["score"] is not None]
    print(f"{len(done)} of {len(result.trials)} trial(s) scored; best mean validation {args.metric}: "
          f"{result.best_score:.4f}")
    for key, value in result.best_overrides.items():
        print(f"  {key} = {value}")
    print(f"wrote {result.config_path} (train with: eegaffect train --config {result.config_path} --data "
          f"{args.root} --out BUNDLE) and {args.out / 'trials.json'}")
    return 0
