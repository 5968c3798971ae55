"""``eegaffect teacher train``: train the topographic-map teacher on any dataset with valence/arousal targets."""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect teacher train`` and its options to ``subparsers``."""
    parser = subparsers.add_parser("teacher", help="topographic-map teacher for distillation (train)")
    actions = parser.add_subparsers(dest="teacher_action", metavar="ACTION")
    train = actions.add_parser("train", help="train a teacher on EEG topographic maps with V/A targets",
                               description="Featurise every trial into band-power/DE topographic maps, train the "
                                           "CNN teacher (validation split by trial) and save a checksummed "
                                           "bundle (teacher.safetensors + teacher.json).")
    train.add_argument("--data", required=True, type=Path, metavar="DIR",
                       help="dataset folder (SEED, SEED-IV, DREAMER, recordings); the reader is chosen by "
                            "the config's 'dataset' key (auto-detected by default)")
    train.add_argument("--out", required=True, type=Path, metavar="TEACHER", help="bundle folder to write")
    train.add_argument("--overwrite", action="store_true", help="replace an existing bundle in TEACHER")
    add_config_options(train, "teacher")
    train.set_defaults(func=run_train)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def run_train(args: argparse.Namespace) -> int:
    """Run ``eegaffect teacher train`` with the parsed ``args``; return the exit code."""
    from eegaffect.distill.teacher import TeacherConfig, dataset_topomaps, save_teacher, train_teacher

    config = config_from_args(args, TeacherConfig)
    existing = [p for p in (args.out / "teacher.safetensors", args.out / "teacher.json") if p.exists()]
    if existing and not args.overwrite:  # checked before the (long) training
        raise FileExistsError(f"{args.out} already holds a teacher bundle ({', '.join(p.name for p in existing)}); "
                              "pass --overwrite to replace it")
    if not args.data.exists():
        raise FileNotFoundError(f"dataset folder {args.data} does not exist")
    dataset = _load(args.data, config.dataset)
    data = dataset_topomaps(dataset, config)
    bundle = train_teacher(data, config)
    save_teacher(bundle, args.out)
    print(f"teacher saved to {args.out} (sha256 {bundle.checksum[:16]}..., validation MSE "
          f"{bundle.meta['val_mse']:.4f}, {len(bundle.meta['train_trials'])} training / "
          f"{len(bundle.meta['val_trials'])} held-out trials)")
    return 0


def _load(root: Path, name: str):
    from eegaffect.datasets import load_dataset

    return load_dataset(root, None if name == "auto" else name)
