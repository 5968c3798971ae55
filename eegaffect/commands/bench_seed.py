"""``eegaffect bench seed``: the offline dataset benchmark (protocols x models), resumable, with plots.

Example::

    eegaffect datasets synth-seed /tmp/synth --subjects 3
    eegaffect bench seed --root /tmp/synth --models de-svm,de-ridge --out /tmp/bench
    eegaffect bench seed --root /tmp/synth --out /tmp/bench --workers 2          # units on a local Ray
    eegaffect bench seed --root /data/seed --out bench --address head:6379 --cache /shared/cache
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args
from eegaffect.commands._execution import add_execution_options, execution_from_args, execution_lines


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect bench seed`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "seed", help="dataset benchmark: protocols, baselines and metrics on SEED / SEED-IV / DREAMER",
        description="Featurise a dataset (cached), split it by a leakage-free protocol, fit and score each "
                    "model per fold, and write results.csv, results.json, results.md and plots to --out. "
                    "Rerunning into the same --out resumes: every finished (model, fold) whose settings are "
                    "unchanged is reused, also when other models are added or removed.")
    parser.add_argument("--root", type=Path, default=None, help="dataset folder (DREAMER: DREAMER.mat)")
    parser.add_argument("--dataset", choices=["seed", "seed-iv", "dreamer"], default=None,
                        help="dataset layout (default: the config's, seed)")
    parser.add_argument("--protocol", choices=["subject-dependent", "loso", "cross-session", "kfold",
                                               "loso-calibrated"],
                        default=None, help="evaluation protocol (default: the config's, subject-dependent); "
                                           "loso-calibrated: leave-one-subject-out, the held-out subject's first "
                                           "--calibration-trials trials calibrate, the rest test")
    parser.add_argument("--calibration-trials", type=int, default=None, metavar="K",
                        help="loso-calibrated: calibration trials of the held-out subject (default: the config's, 3)")
    parser.add_argument("--models", default=None,
                        help="comma-separated model names (default: de-svm,de-logreg,de-ridge,eegnet,shallow)")
    parser.add_argument("--subjects", default=None, help="comma-separated subject numbers (default: all)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the config's, 0)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--list-models", action="store_true", help="list registered models and exit")
    parser.add_argument("--measure-session", action="store_true",
                        help="time the featurisation of one full-length synthetic SEED session (62 ch, 3394 s at "
                             "200 Hz) with the config's pipeline, print it and exit (target: <= 3 s)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (required unless --list-models)")
    add_execution_options(parser)
    add_config_options(parser, "bench_seed")
    parser.set_defaults(func=run)


def _remove_empty_folders(root: Path, keep_root: bool) -> None:
    """Remove the empty folders under ``root`` (deepest first), and ``root`` itself when empty and not kept."""
    if not root.is_dir():
        return
    for folder in sorted((p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()),
                         key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not keep_root and not any(root.iterdir()):
        root.rmdir()


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise SystemExit(f"eegaffect bench seed: {what} must be comma-separated integers, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect bench seed`` with the parsed ``args``; return the exit code."""
    from eegaffect.benchmark.registry import available_models
    from eegaffect.benchmark.report import featurisation_lines
    from eegaffect.benchmark.runner import BenchSeedConfig, run_benchmark

    if args.list_models:
        for name in available_models():
            print(name)
        return 0
    if args.measure_session:
        return _measure_session(config_from_args(args, BenchSeedConfig))
    if args.root is None or args.out is None:
        print("eegaffect bench seed: --root and --out are required", file=sys.stderr)
        return 2
    from eegaffect.config import validate_update

    # an empty --models "" is an empty list (refused by the config's min_length), never the default models
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models is not None else None
    config = validate_update(config_from_args(args, BenchSeedConfig), {
        "dataset": args.dataset, "protocol": args.protocol, "models": models,
        "subjects": _ints(args.subjects, "--subjects") if args.subjects else None, "seed": args.seed,
        "cache_dir": args.cache_dir,
        "plots": False if args.no_plots else None, "n_calibration": args.calibration_trials,
    }, {"dataset": "--dataset", "protocol": "--protocol", "models": "--models", "subjects": "--subjects",
        "seed": "--seed", "cache_dir": "--cache", "plots": "--no-plots", "n_calibration": "--calibration-trials"})
    execution = execution_from_args(args)
    check_inputs(args.root, config)  # before --out is created: a typo must not leave an empty folder behind
    t0 = time.perf_counter()
    existed = args.out.exists()
    try:
        result = run_benchmark(args.root, config, args.out, execution=execution)
    except BaseException:
        _remove_empty_folders(args.out, keep_root=existed)  # a failed run leaves no empty out/ or partial/ behind
        raise
    elapsed = time.perf_counter() - t0

    print(Path(result.files["markdown"]).read_text(encoding="utf-8"))
    for line in featurisation_lines(result):
        print(line)
    print(f"folds: {result.folds_run} fitted, {result.folds_skipped} resumed from a previous run; "
          f"total {elapsed:.1f} s; peak resident memory {result.peak_rss_mb:.0f} MiB")
    for line in execution_lines(result, execution, rerun_hint="; a rerun retries them"):
        print(line)
    print(f"wrote {', '.join(str(p) for k, p in result.files.items() if not k.startswith('plot:'))} and "
          f"{sum(k.startswith('plot:') for k in result.files)} plot(s) to {args.out}")
    return 1 if result.failed else 0


def check_inputs(root: Path, config) -> None:
    """Check the dataset folder, the model names, the subjects and the protocol's folds without featurising.

    Parameters
    ----------
    root : Path
        The dataset folder (``--root``).
    config : BenchSeedConfig
        The validated config.

    Raises
    ------
    FileNotFoundError
        ``root`` does not exist.
    DatasetFormatError
        ``root`` does not hold the dataset's layout.
    UserInputError
        Unknown model, subject not in the dataset, or a protocol the data cannot split (e.g. cross-session with
        one session).
    """
    from eegaffect.benchmark.protocols import make_folds
    from eegaffect.benchmark.registry import requested_models
    from eegaffect.datasets import load_dataset
    from eegaffect.errors import UserInputError

    if not root.exists():
        raise FileNotFoundError(f"dataset root {root} does not exist")
    try:
        requested_models(config.models)
    except ValueError as exc:
        raise UserInputError(f"--models: {exc}") from exc
    full = load_dataset(root, config.dataset)
    try:
        data = full.select(subjects=config.subjects) if config.subjects else full
    except ValueError as exc:
        raise UserInputError(f"--subjects: {exc}") from exc
    if len(data) == 0:
        raise UserInputError(f"{root}: no trials to benchmark in dataset {config.dataset!r}")
    try:
        make_folds([t.info for t in data.trials], config.protocol, dataset=full.name, n_train=config.n_train,
                   k=config.k, seed=config.seed, n_calibration=config.n_calibration)
    except ValueError as exc:
        raise UserInputError(f"--protocol {config.protocol}: {exc}") from exc


def _measure_session(config) -> int:
    from eegaffect.datasets.features import measure_session

    for kind in ("features", "raw"):
        m = measure_session(config.pipeline, kind)
        print(f"{kind}: one SEED session (62 ch, {m['eeg_seconds']:.0f} s at 200 Hz, {m['n_windows']} windows) "
              f"featurised in {m['wall_s']:.2f} s wall ({m['cpu_s']:.2f} s CPU) = {m['throughput']:.0f} s of EEG "
              f"per second "
              f"(target <= 3 s: {'met' if m['wall_s'] <= 3 else 'missed'}); peak traced memory "
              f"{m['peak_mb']:.0f} MiB")
    return 0
