"""Ablation of the fused model (``eegaffect bench fusion``): EEG only, physiology only, fused, and fused with
each modality dropped at test time, over seeds, on the simulated person and on a DEAP-layout dataset.

Units and splits
----------------
- ``sim``: simulated persons (:func:`~eegaffect.models.fused_data.simulated_sequences`: EEG + ECG, EDA,
  respiration at the simulated devices' rates, one trajectory). For seed ``r`` and person ``p`` the models train
  on ``n_train`` sessions of 120 s (60-s pseudo-trials) and are scored on ``n_test`` new sessions of the same
  person, each featurised whole (as a live session runs).
- ``deap``: each subject of a DEAP-layout dataset (``eegaffect datasets synth-deap``; PPG, EDA, respiration,
  temperature; DEAP has no ECG), trials split by seed: trial ``t`` is a test trial when ``(t + r) % 4 == 0``.
  Targets are the trial's ratings on every frame.

Models per unit (one seeded training each): ``eeg`` (EEG-only chain, as every bundle before the fused model),
``physio`` (the fused architecture with the EEG always missing: physiology only), ``fused``; and, from the one
fused training, ``fused-no-<m>`` with modality ``m`` dropped at test time (its missing embedding throughout).
Scores over the unit's test frames pooled: valence/arousal CCC and RMSE. :func:`fusion_table` pairs every model
with ``fused`` on the same (dataset, seed, subject) unit (:func:`~eegaffect.benchmark.ablation.paired_differences`).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["FUSION_METRICS", "SIM_KINDS", "DEAP_KINDS", "fusion_config", "run_fusion_ablation", "fusion_table",
           "fusion_plot"]

logger = logging.getLogger("eegaffect")

#: Metrics of the fusion ablation.
FUSION_METRICS = ("valence_ccc", "arousal_ccc", "valence_rmse", "arousal_rmse")
#: Physiological kinds of each source.
SIM_KINDS = ("ecg", "eda", "resp")
DEAP_KINDS = ("ppg", "eda", "resp", "temp")


def fusion_config(seed: int, kinds: Sequence[str], *, use_eeg: bool = True, sfreq: float = 200.0,
                  physio_config: dict | None = None):
    """The training config of the ablation's models (the demo's sizes; ``kinds`` empty: EEG only;
    ``physio_config``: the physiological stages, keys of ``configs/physio.yaml``).
    """
    from eegaffect.models.config import FusionConfig, TrainConfig, TransformerConfig, VQVAEConfig
    from eegaffect.pipeline import PipelineConfig

    return TrainConfig(seed=seed, device="cpu", pipeline=PipelineConfig(sfreq=sfreq),
                       vqvae=VQVAEConfig(steps=120 if use_eeg else 0, batch_size=8),
                       transformer=TransformerConfig(finetune_steps=300, batch_size=8, class_head=False),
                       fusion=FusionConfig(physio=list(kinds), use_eeg=use_eeg, physio_config=physio_config or {}))


def run_fusion_ablation(out_dir: str | Path, seeds: Sequence[int] = (0, 1, 2), *, persons: Sequence[int] = (0, 1, 2, 3),
                        n_train: int = 4, n_test: int = 2, deap_root: str | Path | None = None,
                        deap_subjects: Sequence[int] | None = None, sim: bool = True,
                        physio_config: dict | None = None) -> list[dict]:
    """Run the ablation (module docstring); rows are appended to ``out_dir/fusion_rows.jsonl`` unit by unit, and
    units already there are skipped (a rerun resumes).

    Parameters
    ----------
    out_dir : str | Path
        Output folder.
    seeds : sequence of int
        Training (and split) seeds.
    persons : sequence of int
        Simulated persons.
    n_train, n_test : int
        Simulated sessions per person for training and for scoring.
    deap_root : str | Path | None
        A DEAP-layout dataset (None: no DEAP part).
    deap_subjects : sequence of int | None
        Its subjects (None: all).
    sim : bool
        Run the simulated part.
    physio_config : dict | None
        The physiological stages of every model (keys of ``configs/physio.yaml``, e.g. shorter lookbacks).

    Returns
    -------
    rows : list of dict
        Every row of ``fusion_rows.jsonl``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "fusion_rows.jsonl"
    rows = _read_rows(path)
    done = {(r["dataset"], r["seed"], r["subject"]) for r in rows}
    units = []
    if sim:
        units += [("sim", int(s), int(p)) for s in seeds for p in persons]
    if deap_root is not None:
        from eegaffect.datasets.deap import read_dataset

        subjects = sorted({t.info.subject for t in read_dataset(Path(deap_root)).trials})
        subjects = [s for s in subjects if deap_subjects is None or s in deap_subjects]
        units += [("deap", int(s), int(p)) for p in subjects for s in seeds]
    cache: dict = {}
    for dataset, seed, subject in units:
        if (dataset, seed, subject) in done:
            continue
        t0 = time.perf_counter()
        if dataset == "sim":
            train, test, kinds = _sim_unit(seed, subject, n_train, n_test, physio_config)
        else:
            train, test, kinds = _deap_unit(Path(deap_root), seed, subject, cache, physio_config)
        new = _score_unit(train, test, kinds, seed, physio_config)
        for r in new:
            r.update(dataset=dataset, seed=seed, subject=subject, seconds=time.perf_counter() - t0)
        with path.open("a", encoding="utf-8") as f:
            for r in new:
                f.write(json.dumps(r) + "\n")
        rows += new
        logger.info("fusion ablation %s seed %d subject %d: %s (%.0f s)", dataset, seed, subject,
                    {r["model"]: round(r["arousal_ccc"], 3) for r in new}, time.perf_counter() - t0)
    return rows


def _read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sim_unit(seed: int, person: int, n_train: int, n_test: int, physio_config: dict | None = None):
    from eegaffect.models.fused_data import simulated_sequences

    config = fusion_config(seed, SIM_KINDS, physio_config=physio_config)
    base = 100_000 * (seed + 1) + 1_000 * person
    train = simulated_sequences([base + i for i in range(n_train)], person, config, kinds=SIM_KINDS)
    test = simulated_sequences([base + 500 + i for i in range(n_test)], person, config, kinds=SIM_KINDS,
                               trial_s=120.0)
    return train, test, SIM_KINDS


def _deap_unit(root: Path, seed: int, subject: int, cache: dict, physio_config: dict | None = None):
    from eegaffect.models.fused_data import deap_sequences

    if subject not in cache:
        cache.clear()  # one subject's features at a time
        cache[subject] = deap_sequences(root, fusion_config(0, DEAP_KINDS, physio_config=physio_config), subject,
                                        kinds=DEAP_KINDS)
    seqs, numbers = cache[subject]
    test = [i for i, t in enumerate(numbers) if (t + seed) % 4 == 0]
    train = [i for i in range(len(numbers)) if i not in test]
    return seqs.subset(train), seqs.subset(test), DEAP_KINDS


def _score_unit(train, test, kinds, seed: int, physio_config: dict | None = None) -> list[dict]:
    from eegaffect.models.fit import fit_chain

    rows = []
    for model, cfg in (("eeg", fusion_config(seed, ())),
                       ("physio", fusion_config(seed, kinds, use_eeg=False, physio_config=physio_config)),
                       ("fused", fusion_config(seed, kinds, physio_config=physio_config))):
        chain, _ = fit_chain(train, cfg, progress_bar=False)
        variants = [(model, ())]
        if model == "fused":
            variants += [(f"fused-no-{m}", (m,)) for m in ("eeg", *kinds)]
        for name, drop in variants:
            preds = [chain.run(f, p if chain.physio is not None else None, drop)["va"]
                     for f, p in zip(test.features, test.physio)]
            rows.append({"model": name, **_scores(np.concatenate(preds), np.concatenate(test.va))})
    return rows


def _scores(pred: np.ndarray, true: np.ndarray) -> dict:
    from eegaffect.benchmark.metrics import ccc, rmse

    ok = np.all(np.isfinite(true), axis=1)
    out = {}
    for d, name in enumerate(("valence", "arousal")):
        out[f"{name}_ccc"] = float(ccc(true[ok, d], pred[ok, d]))
        out[f"{name}_rmse"] = float(rmse(true[ok, d], pred[ok, d]))
    return out


def fusion_table(rows: Sequence[dict], dataset: str) -> list[dict]:
    """Paired differences ``fused - model`` of one dataset's rows over (dataset, seed, subject) units."""
    from eegaffect.benchmark.ablation import paired_differences

    mine = [r for r in rows if r["dataset"] == dataset]
    return paired_differences(mine, "fused", FUSION_METRICS)


def fusion_plot(rows: Sequence[dict], path: str | Path) -> Path:
    """Mean valence and arousal CCC per model and dataset with 95% intervals over units (one panel per dataset)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eegaffect.benchmark.metrics import t_half_width

    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 3.8), squeeze=False)
    for ax, ds in zip(axes[0], datasets):
        mine = [r for r in rows if r["dataset"] == ds]
        models = list(dict.fromkeys(r["model"] for r in mine))
        x = np.arange(len(models))
        for k, (metric, colour) in enumerate((("valence_ccc", "tab:blue"), ("arousal_ccc", "tab:orange"))):
            means, halves = [], []
            for m in models:
                v = np.array([r[metric] for r in mine if r["model"] == m and np.isfinite(r[metric])])
                means.append(v.mean() if len(v) else np.nan)
                halves.append(t_half_width(v) if len(v) > 1 else 0)
            ax.bar(x + (k - 0.5) * 0.38, means, 0.38, yerr=halves, capsize=3, color=colour,
                   label=metric.replace("_", " "))
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(x, models, rotation=30, ha="right")
        n = len({(r["seed"], r["subject"]) for r in mine})
        ax.set_title(f"{ds}: CCC on held-out data (mean, 95% CI over {n} units)")
        ax.set_ylabel("CCC")
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
