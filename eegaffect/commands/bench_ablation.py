"""``eegaffect bench ablation``: models over several seeds and datasets, paired differences with 95% intervals.

Example::

    eegaffect datasets synth-seed /tmp/short --subjects 3 --sessions 1 --trial-seconds 30
    eegaffect datasets synth-seed /tmp/long --subjects 2 --sessions 1 --trial-seconds 120 --seed 2
    eegaffect bench ablation --root /tmp/short --root /tmp/long --seeds 0,1,2 --out /tmp/ablation
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args

#: Models of the default ablation: the chain, one variant per stage, the former chain and the DE + ridge baseline.
DEFAULT_ABLATION = ["eegdancer", "eegdancer-vq", "eegdancer-mask", "eegdancer-sac", "eegdancer-nosmooth",
                    "eegdancer-legacy", "de-ridge"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect bench ablation`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "ablation", help="ablations over seeds and datasets: paired differences with 95%% intervals",
        description="Run the dataset benchmark (as 'bench seed') for every --root and every seed, pair each model "
                    "with --reference on the same (dataset, seed, subject), and print the mean difference "
                    "reference - model with its Student-t 95%% interval for valence CCC, accuracy, arousal CCC and "
                    "the output jitter and label flips. Writes ablation.md, ablation.json and ablation_rows.json to "
                    "--out (every (dataset, seed) run resumes like 'bench seed').")
    parser.add_argument("--root", type=Path, action="append", required=True,
                        help="dataset folder (repeatable: one per dataset)")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default: 0,1,2)")
    parser.add_argument("--models", default=",".join(DEFAULT_ABLATION),
                        help=f"comma-separated model names (default: {','.join(DEFAULT_ABLATION)})")
    parser.add_argument("--reference", default="eegdancer", help="model the others are paired with")
    parser.add_argument("--subjects", default=None, help="comma-separated subject numbers (default: all)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="feature cache root (default: user cache)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    add_config_options(parser, "bench_seed")
    parser.set_defaults(func=run)


def _ints(text: str, what: str) -> list[int]:
    from eegaffect.errors import UserInputError

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserInputError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not values:
        raise UserInputError(f"{what} must name at least one integer, got {text!r}")
    return values


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect bench ablation`` with the parsed ``args``; return the exit code."""
    import json

    from eegaffect.benchmark.ablation import (
        ablation_markdown,
        paired_differences,
        run_ablation,
    )
    from eegaffect.benchmark.runner import BenchSeedConfig
    from eegaffect.commands.bench_seed import check_inputs
    from eegaffect.config import validate_update
    from eegaffect.errors import UserInputError

    seeds = _ints(args.seeds, "--seeds")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.reference not in models:
        raise UserInputError(f"--reference {args.reference!r} must be one of --models {models}")
    config = validate_update(config_from_args(args, BenchSeedConfig), {
        "models": models, "subjects": _ints(args.subjects, "--subjects") if args.subjects else None,
        "cache_dir": None if args.cache_dir is None else str(args.cache_dir), "plots": False,
    }, {"models": "--models", "subjects": "--subjects", "cache_dir": "--cache-dir", "plots": "--no-plots"})
    for root in args.root:
        check_inputs(root, config)
    if len({r.name for r in args.root}) != len(args.root):
        raise UserInputError(f"--root folders must have distinct names (results go to OUT/<name>), got "
                             f"{[str(r) for r in args.root]}")
    rows = run_ablation(args.root, config, args.out, seeds)
    table = paired_differences(rows, args.reference)
    text = ablation_markdown(table, args.reference)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation.md").write_text(text, encoding="utf-8")
    (args.out / "ablation.json").write_text(json.dumps(table, indent=1), encoding="utf-8")
    print(text)
    print(f"wrote {args.out / 'ablation.md'}, {args.out / 'ablation.json'} and {args.out / 'ablation_rows.json'}",
          file=sys.stderr)
    return 0
