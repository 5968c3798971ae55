"""``eegaffect train``: staged, resumable training of the continuous emotion model into a bundle.

Example::

    eegaffect datasets synth-seed /tmp/synth --subjects 1 --sessions 1
    eegaffect train --data /tmp/synth --out /tmp/bundle --set data.subjects=[1]
    eegaffect train --data /tmp/synth --out /tmp/bundle --stage sac --resume   # redo one stage
    eegaffect datasets synth-deap /tmp/deap --subjects 1 --trials 8            # a fused bundle (docs/fusion.md)
    eegaffect train --data /tmp/deap --out /tmp/fused --set data.dataset=deap --set "fusion.physio=[ppg,eda]"

Under ``torchrun --nproc_per_node N -m eegaffect train ...`` the VQ-VAE and transformer train with
DistributedDataParallel (gloo on CPU, NCCL on CUDA); rank 0 writes the bundle.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args

#: What a full training run writes into OUT: the bundle files and the stage checkpoints.
TRAIN_OUTPUTS = ("bundle.json", "weights.safetensors", "sac_policy.zip", "checkpoints")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect train`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "train", help="train the VQ-VAE -> transformer -> SAC chain on a dataset and write a bundle",
        description="Featurise a dataset through the live signal pipeline, train the causal VQ-VAE, the masked "
                    "temporal transformer and the SAC trajectory optimiser (checkpoint per stage in "
                    "OUT/checkpoints), and write the bundle (bundle.json, weights.safetensors, sac_policy.zip). "
                    "With fusion.physio (a multimodal dataset: deap, amigos, dreamer) each trial's physiological "
                    "signals are featurised and fused with the EEG (docs/fusion.md).")
    parser.add_argument("--data", type=Path, required=True, help="dataset root (e.g. from datasets synth-seed)")
    parser.add_argument("--out", type=Path, required=True, help="bundle directory to write")
    parser.add_argument("--stage", choices=["all", "vqvae", "transformer", "sac"], default="all",
                        help="stage to run (default all); a single stage needs the earlier stages' checkpoints")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoints in OUT/checkpoints")
    parser.add_argument("--overwrite", action="store_true", help="replace the bundle and checkpoints already in "
                        "OUT and train from the start (refused otherwise; --resume continues from them instead)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the config's)")
    add_config_options(parser, "train")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect train`` with the parsed ``args``; return the exit code."""
    from eegaffect._files import output_dir
    from eegaffect._logging import logger
    from eegaffect.errors import UserInputError
    from eegaffect.models.bundle import BundleError
    from eegaffect.models.training import TrainConfig, train_bundle

    config = config_from_args(args, TrainConfig)
    if args.seed is not None:
        config.seed = args.seed
    if args.resume and args.overwrite:
        raise UserInputError("--resume continues from the checkpoints in OUT and --overwrite deletes them; pass one")
    if args.stage == "all" and not args.resume:  # a single stage is an explicit redo over the earlier checkpoints
        output_dir(args.out, TRAIN_OUTPUTS, overwrite=args.overwrite)
    if args.resume and not _has_checkpoint(args.out / "checkpoints"):
        logger.warning("--resume: no checkpoint in %s; training every stage from the start", args.out / "checkpoints")
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
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        report = doc.get("report", {})
        cb = report.get("codebook")
        print(f"bundle: {out}")
        if doc.get("modalities"):
            eeg = ["eeg"] if doc["modalities"].get("eeg", True) else []
            print(f"modalities: {', '.join(eeg + [m['kind'] for m in doc['modalities']['physio']])}")
        print(f"training time: {report.get('train_seconds', float('nan')):.1f} s")
        if cb:
            print(f"codebook: {cb['used_codes']}/{cb['n_codes']} codes used, perplexity {cb['perplexity']:.1f}, "
                  f"{cb['restarts']} dead-code restarts")
    else:
        print(f"stage {args.stage} done; checkpoints in {out / 'checkpoints'}")
    return 0


def _has_checkpoint(folder: Path) -> bool:
    """Whether ``folder`` holds any stage checkpoint (``*.pt`` or the SAC policy ``*.zip``)."""
    return folder.is_dir() and any(p.suffix in (".pt", ".zip") for p in folder.iterdir())
