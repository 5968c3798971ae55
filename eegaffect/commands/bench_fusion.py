"""``eegaffect bench fusion``: the fused model's ablation (EEG only, physiology only, fused, fused with each modality
dropped at test time) on the simulated person and a DEAP-layout dataset, paired differences with 95% intervals.

Example::

    eegaffect datasets synth-deap /tmp/deap --subjects 3 --trials 24
    eegaffect bench fusion --deap /tmp/deap --seeds 0,1,2 --out /tmp/fusion
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eegaffect.commands import add_config_options, config_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``eegaffect bench fusion`` and its options to ``subparsers``."""
    parser = subparsers.add_parser(
        "fusion", help="fused-model ablation: EEG, physiology, fused, fused minus each modality (95%% intervals)",
        description="Train the EEG-only, physiology-only and fused chains per (seed, simulated person) and per "
                    "(seed, DEAP subject), score them on held-out sessions/trials (the fused one also with each "
                    "modality dropped at test time), and pair every model with the fused one. Writes "
                    "fusion_rows.jsonl (resumable: finished units are skipped), fusion.json, fusion.md and "
                    "fusion.png to --out.")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default: 0,1,2)")
    parser.add_argument("--persons", default="0,1,2,3", help="simulated persons (default: 0,1,2,3)")
    parser.add_argument("--no-sim", action="store_true", help="skip the simulated person")
    parser.add_argument("--deap", type=Path, default=None, help="DEAP-layout dataset folder (e.g. synth-deap)")
    parser.add_argument("--deap-subjects", default=None, help="comma-separated DEAP subjects (default: all)")
    parser.add_argument("--lookback", action="append", default=[], metavar="KIND=SECONDS",
                        help="lookback of a physiological kind's features (configs/physio.yaml KIND.lookback_s), "
                             "repeatable, e.g. --lookback ecg=10 (a shorthand of --set ecg.lookback_s=10)")
    add_config_options(parser, "physio", example="ecg.lookback_s=10")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``eegaffect bench fusion`` with the parsed ``args``; return the exit code."""
    import json

    from eegaffect.benchmark.ablation import ablation_markdown
    from eegaffect.benchmark.fused_ablation import FUSION_METRICS, fusion_plot, fusion_table, run_fusion_ablation
    from eegaffect.commands.bench_ablation import _ints
    from eegaffect.errors import UserInputError

    if args.deap is not None and not args.deap.is_dir():
        raise UserInputError(f"--deap {args.deap}: no such folder (expected a DEAP-layout dataset, e.g. from "
                             "'eegaffect datasets synth-deap')")
    if args.no_sim and args.deap is None:
        raise UserInputError("--no-sim without --deap leaves nothing to run")
    lookbacks = {}
    for item in args.lookback:
        kind, _, sec = item.partition("=")
        try:
            lookbacks[kind.strip()] = {"lookback_s": float(sec)}
        except ValueError:
            raise UserInputError(f"--lookback {item!r}: expected KIND=SECONDS, e.g. ecg=10") from None
    from eegaffect.physio.config import PhysioConfig

    if lookbacks:
        from pydantic import ValidationError

        try:
            PhysioConfig.model_validate(lookbacks)
        except ValidationError as exc:
            raise UserInputError(f"--lookback: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    if args.config is not None or args.overrides:  # the physiological stages of every model (configs/physio.yaml)
        stages = config_from_args(args, PhysioConfig).model_dump(mode="json")
        for kind, over in lookbacks.items():
            stages[kind].update(over)
        lookbacks = stages
    rows = run_fusion_ablation(args.out, _ints(args.seeds, "--seeds"), persons=_ints(args.persons, "--persons"),
                               deap_root=args.deap, sim=not args.no_sim, physio_config=lookbacks or None,
                               deap_subjects=_ints(args.deap_subjects, "--deap-subjects") if args.deap_subjects
                               else None)
    tables, text = {}, []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        tables[ds] = fusion_table(rows, ds)
        md = ablation_markdown(tables[ds], "fused", FUSION_METRICS)
        md = md.replace(" (for jitter, mean |change| per step where lower is smoother, Δ > 0 means it jitters more)",
                        " (for RMSE, where lower is better, Δ > 0 means the fused model errs more)")
        text.append(f"## {ds}\n\n" + md)
    (args.out / "fusion.json").write_text(json.dumps(tables, indent=2), encoding="utf-8")
    (args.out / "fusion.md").write_text("\n".join(text), encoding="utf-8")
    if rows:
        fusion_plot(rows, args.out / "fusion.png")
    print("\n".join(text))
    return 0
