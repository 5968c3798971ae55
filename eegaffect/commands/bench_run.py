"""``eegaffect bench run``: one benchmark command for every dataset (DEAP, AMIGOS, WESAD, DREAMER, SEED, SEED-IV),
with EEG-only, physiology-only and fused baselines (see :mod:`eegaffect.benchmark.multimodal`).

Example::

    eegaffect datasets synth-deap /tmp/deap --subjects 3 --trials 20 --trial-seconds 30
    eegaffect bench run --root /tmp/deap --protocol subject-dependent --out /tmp/bench-deap
    eegaffect bench run --root /tmp/deap --out /tmp/bench-deap --workers 2        # units on a local Ray
    eegaffect bench run --root /data/deap --out bench --address head:6379       # units on a Ray cluster

``bench seed`` stays as it was (EEG models, including the end-to-end networks, on SEED / SEED-IV / DREAMER); with
only ``bench seed``'s model names and one of its datasets, ``bench run`` hands over to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args
from eegaffect.commands._execution import add_execution_options, execution_from_args, execution_lines


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect bench run`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "run", help="dataset benchmark for every dataset: EEG, physiology and fusion baselines by protocol",
        description="Featurise a dataset (EEG band features and physiological features on one frame clock, each "
                    "trial corrected by its own pre-stimulus baseline), split it by a leakage-free protocol, fit "
                    "and score each model per fold, and write results.json, results.csv, results.md (the "
                    "modality table, fusion against the best single modality) and plots to --out.")
    parser.add_argument("--root", type=Path, default=None, help="dataset folder (DREAMER: DREAMER.mat)")
    parser.add_argument("--dataset", choices=["deap", "amigos", "wesad", "dreamer", "seed", "seed-iv"], default=None,
                        help="dataset layout (default: detected from --root)")
    parser.add_argument("--protocol", choices=["subject-dependent", "kfold", "loso", "cross-session", "wesad-loso"],
                        default=None, help="evaluation protocol (default subject-dependent)")
    parser.add_argument("--models", default=None, help="comma-separated model names (default: EEG, physiology and "
                                                       "fusion baselines; --list-models shows them)")
    parser.add_argument("--subjects", default=None, help="comma-separated subject numbers (default: all)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    parser.add_argument("--k", type=int, default=None, help="folds of k-fold by trial (default 5)")
    parser.add_argument("--threshold", type=float, default=None, help="high/low split of 1..9 ratings (default 5)")
    parser.add_argument("--inclusive", action="store_true", help="rating >= threshold is high (default: >)")
    parser.add_argument("--no-baseline", action="store_true", help="no per-trial baseline correction")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--list-models", action="store_true", help="list the models and exit")
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    add_execution_options(parser, cache_help="keep the features per subject file in this folder (default: none). "
                                             "The units' features always travel to Ray workers through the "
                                             "object store (they are small), so it need not be shared")
    add_config_options(parser, None)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect bench run`` with the parsed ``args``; return the exit code."""
    from eegaffect.benchmark.multimodal import (
        MODALITY_MODELS,
        BenchRunConfig,
        modality_of,
    )
    from eegaffect.config import validate_update
    from eegaffect.errors import UserInputError

    if args.list_models:
        for name in MODALITY_MODELS:
            print(f"{name}  ({modality_of(name)})")
        return 0
    if args.root is None or args.out is None:
        raise UserInputError("bench run: --root and --out are required")
    if not args.root.exists():
        raise FileNotFoundError(f"dataset root {args.root} does not exist")
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    try:
        subjects = [int(v) for v in args.subjects.split(",") if v.strip()] if args.subjects else None
    except ValueError:
        raise UserInputError(f"--subjects must be comma-separated integers, got {args.subjects!r}") from None
    config = validate_update(config_from_args(args, BenchRunConfig), {
        "dataset": args.dataset, "protocol": args.protocol, "models": models, "subjects": subjects,
        "seed": args.seed, "k": args.k, "threshold": args.threshold, "inclusive": True if args.inclusive else None,
        "baseline_correction": False if args.no_baseline else None,
        "cache_dir": args.cache_dir,
        "plots": False if args.no_plots else None,
    }, {"dataset": "--dataset", "protocol": "--protocol", "models": "--models", "subjects": "--subjects",
        "seed": "--seed", "k": "--k", "threshold": "--threshold", "inclusive": "--inclusive",
        "baseline_correction": "--no-baseline", "cache_dir": "--cache-dir", "plots": "--no-plots"})
    if models is None and not _physio_available():
        import logging

        dropped = [m for m in config.models if m not in ("eeg-de-svm", "eeg-de-logreg", "eeg-de-ridge")]
        logging.getLogger("eegaffect").warning("the physiological pipeline (eegaffect.physio) is not installed; "
                                               "running the EEG models only (skipped %s)", dropped)
        config = validate_update(config, {"models": [m for m in config.models if m not in dropped]})
    legacy = _legacy(args, config)
    if legacy is not None:
        return legacy
    unknown = [m for m in config.models if m not in MODALITY_MODELS]
    if unknown:
        raise UserInputError(f"--models: unknown model(s) {unknown}; bench run has {list(MODALITY_MODELS)} (the "
                             "EEG networks of bench seed run there: eegaffect bench seed --models ...)")
    from eegaffect.benchmark.multimodal import run_multimodal_benchmark

    execution = execution_from_args(args)
    try:
        result = run_multimodal_benchmark(args.root, config, args.out, execution=execution, show_progress=True)
    except ValueError as exc:
        if type(exc).__name__ == "DatasetFormatError":
            raise
        raise UserInputError(f"bench run: {exc}") from exc
    print(Path(result.files["markdown"]).read_text(encoding="utf-8"))
    if result.subject_seconds:
        times = ", ".join(f"{s}: {v:.2f} s ({result.subject_cpu_s.get(s, 0.0):.2f} s CPU)"
                          for s, v in sorted(result.subject_seconds.items()))
        print(f"featurisation per subject (wall, CPU): {times}")
    for line in execution_lines(result, execution):
        print(line)
    print(f"peak resident memory {result.peak_rss_mb:.0f} MiB; wrote "
          f"{', '.join(str(p) for p in result.files.values())}")
    return 1 if result.failed else 0


def _legacy(args: argparse.Namespace, config) -> int | None:
    """Hand over to ``bench seed`` when every model is one of its models and the dataset one of its datasets."""
    from eegaffect.benchmark.multimodal import MODALITY_MODELS

    if not config.models or any(m in MODALITY_MODELS for m in config.models):
        return None
    from eegaffect.datasets import detect_dataset

    dataset = config.dataset or detect_dataset(args.root)
    if dataset not in ("seed", "seed-iv", "dreamer") or config.protocol == "wesad-loso":
        return None
    from eegaffect.commands import bench_seed

    # parsed by bench seed's own parser, so every option it has gets its default
    parser = argparse.ArgumentParser(prog="eegaffect bench")
    bench_seed.register(parser.add_subparsers())
    argv = ["seed", "--root", str(args.root), "--dataset", dataset, "--protocol", config.protocol,
            "--models", ",".join(config.models), "--out", str(args.out), "--workers", str(args.workers)]
    for flag, value in (("--subjects", args.subjects), ("--seed", args.seed), ("--cache", args.cache_dir),
                        ("--address", args.address)):
        if value is not None:
            argv += [flag, str(value)]
    legacy = parser.parse_args(argv + (["--no-plots"] if args.no_plots else []))
    return bench_seed.run(legacy)


def _physio_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("eegaffect.physio") is not None
