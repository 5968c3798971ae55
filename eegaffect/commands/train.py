"""``eegaffect train``: staged, resumable training of the continuous emotion model into a bundle.

Example::

    eegaffect datasets synth-seed /tmp/synth --subjects 1 --sessions 1
    eegaffect train --data /tmp/synth --out /tmp/bundle --set data.subjects=[1]
    eegaffect train --data /tmp/synth --out /tmp/bundle --stage sac --resume   # redo one stage

Under ``torchrun --nproc_per_node N -m eegaffect train ...`` the VQ-VAE and transformer train with
DistributedDataParallel (gloo on CPU, NCCL on CUDA); rank 0 writes the bundle.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect train`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "train", help="train the VQ-VAE -> transformer -> SAC chain on a dataset and write a bundle",
        description="Featurise a dataset through the live signal pipeline, train the causal VQ-VAE, the masked "
                    "temporal transformer and the SAC trajectory optimiser (checkpoint per stage in "
                    "OUT/checkpoints), and write the bundle (bundle.json, weights.safetensors, sac_policy.zip).")
    parser.add_argument("--data", type=Path, required=True, help="dataset root (e.g. from datasets synth-seed)")
    parser.add_argument("--out", type=Path, required=True, help="bundle directory to write")
    parser.add_argument("--stage", choices=["all", "vqvae", "transformer", "sac"], default="all",
                        help="stage to run (default all); a single stage needs the earlier stages' checkpoints")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoints in OUT/checkpoints")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the config's)")
    add_config_options(parser, "train")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect train`` with the parsed ``args``; return the exit code."""
    from eegaffect.models.bundle import BundleError
    from eegaffect.models.training import TrainConfig, train_bundle

    config = config_from_args(args, TrainConfig)
    if args.seed is not None:
        config.seed = args.seed
    if not args.data.exists():
        print(f"eegaffect train: dataset folder {args.data} does not exist", file=sys.stderr)
        return 2
    try:
        out = train_bundle(args.data, args.out, config, stage=args.stage, resume=args.resume)
    except (FileNotFoundError, BundleError, ValueError) as exc:
        print(f"eegaffect train: {exc}", file=sys.stderr)
        return 2
    doc_path = out / "bundle.json"
    if doc_path.is_file():
        report = json.loads(doc_path.read_text(encoding="utf-8")).get("report", {})
        cb = report.get("codebook")
        print(f"bundle: {out}")
        print(f"training time: {report.get('train_seconds', float('nan')):.1f} s")
        if cb:
            print(f"codebook: {cb['used_codes']}/{cb['n_codes']} codes used, perplexity {cb['perplexity']:.1f}, "
                  f"{cb['restarts']} dead-code restarts")
    else:
        print(f"stage {args.stage} done; checkpoints in {out / 'checkpoints'}")
    return 0
