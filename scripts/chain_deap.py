"""The chain's ablation on a synthetic DEAP (EEG only): the same variants and budget as scripts/chain_ablation.yaml,
paired with the default over (seed, subject) units, against DE + ridge (docs/chain_stages.md, "Synthetic DEAP").

DEAP has no standard split and no continuous annotation: the targets are each trial's self-rating (noisy, constant
over the trial, ``(rating - 5) / 4``), the class is valence high/low (rating > 5), the features are the benchmark's
EEG differential entropy per 1-s frame corrected by the trial's own 3-s pre-stimulus baseline
(``eegaffect bench run``'s featurisation); subject-dependent protocol, the first ``N_TRAIN`` trials of each subject
train and the rest test. Every chain variant is ``EEGDancerBenchmarkModel`` with the ablation overrides, seeded.

Usage: .venv/bin/python scripts/chain_deap.py ROOT OUT_DIR CACHE_DIR [N_TRAIN [SUBJECTS [MODELS]]]
       (SUBJECTS and MODELS comma-separated; resumes from OUT_DIR/rows.jsonl)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ABL = ["transformer.mask_pretrain=false", "transformer.smooth_s=2.5", "transformer.smooth_trend_s=4.0",
       "transformer.smooth_labels=true", "vqvae.steps=150", "transformer.pretrain_steps=100",
       "transformer.finetune_steps=200", "sac.total_steps=1500", "sac.learning_starts=150", "sac.refit_steps=75"]
MODELS = ["eegdancer", "eegdancer-vq", "eegdancer-mask", "eegdancer-sac", "eegdancer-nosmooth", "eegdancer-legacy",
          "de-ridge"]


def _splits(root: str, cache: str, n_train: int, subjects):
    from eegaffect.benchmark.interface import SplitData
    from eegaffect.benchmark.multimodal import BenchRunConfig, MultimodalResult, _featurise, _frame_va
    from eegaffect.benchmark.protocols import make_folds
    from eegaffect.datasets import load_dataset

    config = BenchRunConfig(dataset="deap", models=["eeg-de-ridge"], cache_dir=cache, plots=False)
    data = load_dataset(Path(root), "deap", target_class="valence")
    if subjects:
        data = data.select(subjects=subjects)
    feats = _featurise(data, config, None, ["eeg"], MultimodalResult("deap", "subject-dependent", [], []))
    n_bands = len(config.pipeline.features.bands)
    x = [f.arrays["eeg"].reshape(f.n_frames, -1, n_bands) for f in feats]
    va = [_frame_va(t, f.n_frames, config) for t, f in zip(data.trials, feats)]
    infos = [t.info for t in data.trials]
    folds = make_folds(infos, "subject-dependent", dataset="deap", n_train=n_train)

    def split(idx):
        return SplitData(trial_infos=[infos[j] for j in idx], labels=[infos[j].label for j in idx],
                         va=[va[j] for j in idx], features=[x[j] for j in idx], sfreq=config.pipeline.sfreq,
                         class_names=list(data.class_names))

    return [(fold, split(fold.train), split(fold.test)) for fold in folds]


def main() -> int:
    from eegaffect.benchmark.ablation import ablation_markdown, paired_differences, row_jitter
    from eegaffect.benchmark.metrics import classification_metrics, regression_metrics
    from eegaffect.benchmark.registry import get_model

    root, out, cache = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    n_train = int(sys.argv[4]) if len(sys.argv) > 4 else 14
    subjects = [int(s) for s in sys.argv[5].split(",")] if len(sys.argv) > 5 and sys.argv[5] else None
    models = sys.argv[6].split(",") if len(sys.argv) > 6 else MODELS
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "rows.jsonl"
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()] if rows_path.exists() else []
    done = {(r["model"], r["seed"], r["subject"]) for r in rows}
    for fold, train, test in _splits(root, cache, n_train, subjects):
        for seed in (0, 1, 2):
            for name in models:
                if (name, seed, fold.subject) in done:
                    continue
                t0 = time.perf_counter()
                model = get_model(name, **({"alpha": 10.0} if name == "de-ridge" else {"overrides": ABL}))
                model.fit(train, seed=seed)
                pred = model.predict(test)
                p_va = np.concatenate(pred.va)
                row = {"model": name, "dataset": "deap", "seed": seed, "subject": fold.subject, "fold": fold.name,
                       **regression_metrics(test.step_va(), p_va), "fit_s": time.perf_counter() - t0}
                if pred.labels is not None:
                    row.update(classification_metrics(test.step_labels(), np.concatenate(pred.labels),
                                                      test.n_classes))
                stored = {"pred_va": p_va, "true_va": test.step_va(), "n_steps": test.n_steps}
                if pred.labels is not None:
                    stored["pred_labels"] = np.concatenate(pred.labels)
                row.update(row_jitter(stored))
                rows.append(row)
                with rows_path.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{name} s{fold.subject} seed{seed}: valence_ccc={row['valence_ccc']:.3f} "
                      f"accuracy={row.get('accuracy', float('nan')):.3f} ({row['fit_s']:.1f} s)", flush=True)
    if not any(r["model"] == "eegdancer" for r in rows):
        return 0
    table = paired_differences(rows, "eegdancer")
    md = ablation_markdown(table, "eegdancer")
    (out / "ablation.md").write_text(md)
    (out / "ablation.json").write_text(json.dumps(table, indent=1))
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
