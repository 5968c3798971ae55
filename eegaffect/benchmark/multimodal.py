"""The multimodal benchmark: EEG-only, physiology-only and fused baselines on one frame clock, by leakage-free
protocols (``eegaffect bench run``).

Features (:mod:`eegaffect.benchmark.multimodal_features`): per trial, one row per frame of the EEG frame clock,
``eeg`` (differential entropy per channel and band) and ``physio`` (physiological pipeline features per channel),
each corrected by the trial's own pre-stimulus baseline; cached per subject file with ``cache_dir``.

Models (:mod:`eegaffect.benchmark.fusion`, ``--models``): ``eeg-*``, ``physio-*`` and the fusion models
(``fusion-early-*``, ``fusion-late``, ``fusion-stack``); :data:`MODALITY_MODELS` lists them.

Results (:mod:`eegaffect.benchmark.multimodal_report`): ``results.json``, ``results.csv``, ``results.md`` (a
table per modality and the fusion-vs-best-single comparison), ``run.json`` and a summary plot.

Tasks: where trials carry high/low classes of valence and arousal (DEAP, AMIGOS, DREAMER) every classifier is
fitted twice, once per dimension, and scored as ``valence_accuracy``, ``valence_f1``, ``arousal_accuracy``,
``arousal_f1`` (macro F1); where the dataset has class labels (SEED, SEED-IV, WESAD) as ``accuracy``,
``macro_f1``, ``balanced_accuracy``, and for WESAD also the binary stress task (``stress_accuracy``,
``stress_f1``: stress vs baseline + amusement). Regression models give ``valence_ccc`` etc. as in
:mod:`eegaffect.benchmark.metrics`. Scores are per frame (window accuracy), as in ``bench seed``.

Protocols (:func:`eegaffect.benchmark.protocols.make_folds`): ``subject-dependent`` (k-fold by trial within each
subject where the dataset has no standard split), ``kfold``, ``loso``, ``cross-session``, and ``wesad-loso``
(leave-one-subject-out; on WESAD the standard 3-class and binary stress tasks).
"""

from __future__ import annotations

import logging
import resource
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from pydantic import Field

from eegaffect.benchmark.fusion import (
    MODALITY_MODELS,
    FeatureModel,
    make_model,
    modality_of,
    resolve_modalities,
)
from eegaffect.benchmark.metrics import classification_metrics, regression_metrics, summarise
from eegaffect.benchmark.multimodal_features import (
    PhysioFn,
    TrialFeatures,
    _featurise,
    extract_features,
    pipeline_physio_features,
)
from eegaffect.benchmark.multimodal_report import (
    ROW_KEYS,
    RUN_METRICS,
    _write,
    fusion_comparison,
    modality_table,
)
from eegaffect.benchmark.protocols import make_folds
from eegaffect.config import ConfigModel
from eegaffect.pipeline import PipelineConfig

# the features, models and reports live in their own modules (re-exported here, where they were defined before)
__all__ = ["BenchRunConfig", "MultimodalResult", "MODALITY_MODELS", "DEFAULT_RUN_MODELS", "RUN_METRICS",
           "TrialFeatures", "extract_features", "pipeline_physio_features", "run_multimodal_benchmark",
           "make_model", "FeatureModel", "PhysioFn", "ROW_KEYS", "fusion_comparison", "modality_table",
           "modality_of", "resolve_modalities"]

logger = logging.getLogger("eegaffect")

DEFAULT_RUN_MODELS = ["eeg-de-svm", "eeg-de-logreg", "eeg-de-ridge", "physio-svm", "physio-logreg", "physio-ridge",
                      "fusion-early-logreg", "fusion-early-ridge", "fusion-late", "fusion-stack", "physio-chest-logreg",
                      "physio-wrist-logreg"]


def _default_params() -> dict[str, dict[str, Any]]:
    return {"eeg-de-svm": {"C": 0.01}, "eeg-de-logreg": {"C": 0.1}, "eeg-de-ridge": {"alpha": 10.0},
            "physio-svm": {"C": 0.01}, "physio-logreg": {"C": 0.1}, "physio-ridge": {"alpha": 10.0},
            "fusion-early-logreg": {"C": 0.1, "k_best": 64}, "fusion-early-ridge": {"alpha": 10.0, "k_best": 64},
            "fusion-late": {"C": 0.1}, "fusion-stack": {"C": 0.1}, "physio-chest-logreg": {"C": 0.1},
            "physio-wrist-logreg": {"C": 0.1}}


class BenchRunConfig(ConfigModel):
    """Settings of ``eegaffect bench run``."""

    dataset: Literal["deap", "amigos", "wesad", "dreamer", "seed", "seed-iv"] | None = Field(
        None, description="dataset layout; null detects it from --root")
    protocol: Literal["subject-dependent", "kfold", "loso", "cross-session", "wesad-loso"] = "subject-dependent"
    models: list[str] = Field(default_factory=lambda: list(DEFAULT_RUN_MODELS), min_length=1)
    subjects: list[int] | None = None
    seed: int = Field(0, ge=0)
    k: int = Field(5, ge=2, description="folds of k-fold by trial")
    n_train: int | None = Field(None, ge=1)
    threshold: float | None = Field(None, description="high/low split of DEAP/AMIGOS ratings (null: 5)")
    inclusive: bool = Field(False, description="rating >= threshold is high (default: > threshold)")
    baseline_correction: bool = True
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    cache_dir: str | None = None
    model_params: dict[str, dict[str, Any]] = Field(default_factory=_default_params)
    plots: bool = True


@dataclass
class MultimodalResult:
    """What :func:`run_multimodal_benchmark` produced (``rows``/``summary`` as in ``bench seed``; ``failed``,
    ``executor``, ``startup_s``, ``shutdown_s`` and ``unit_timings`` as in
    :class:`~eegaffect.benchmark.runner.BenchmarkResult`).
    """

    dataset: str
    protocol: str
    rows: list[dict]
    summary: list[dict]
    modalities: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    subject_seconds: dict[int, float] = field(default_factory=dict)
    subject_cpu_s: dict[int, float] = field(default_factory=dict)
    feature_wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    comparison: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    executor: str = "none"
    startup_s: float = 0.0
    shutdown_s: float = 0.0
    unit_timings: list[dict] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------------ runner
def run_multimodal_benchmark(root: str | Path, config: BenchRunConfig, out_dir: str | Path, *,
                             physio_fn: PhysioFn | None = pipeline_physio_features, dataset=None,
                             reader_options: dict | None = None, execution=None,
                             show_progress: bool = False) -> MultimodalResult:
    """Featurise, split, fit and score every model; write ``results.json``, ``results.csv``, ``results.md``.

    Parameters
    ----------
    root : str | Path
        Dataset folder (or ``DREAMER.mat``).
    config : BenchRunConfig
        What to run.
    out_dir : str | Path
        Output folder (created).
    physio_fn : callable | None
        Physiological feature function (default: the physiological pipeline); None runs without physiology.
    dataset : EEGDataset | None
        An already opened dataset (otherwise opened from ``root``).
    reader_options : dict | None
        Extra options of the dataset reader.
    execution : Execution | None
        Where the (model, fold) units run (:class:`eegaffect.benchmark.execution.Execution`: in this process, on a
        local Ray instance, on a cluster; the features travel through Ray's object store); None runs them here,
        one after the other. The rows do not depend on it.
    show_progress : bool
        Show a progress bar over the units.

    Returns
    -------
    result : MultimodalResult
    """
    if not isinstance(config, BenchRunConfig):
        raise TypeError(f"config must be a BenchRunConfig, got {type(config).__name__}")
    if execution is not None:
        from eegaffect.benchmark.execution import Execution

        if not isinstance(execution, Execution):
            raise TypeError(f"execution must be an Execution or None, got {type(execution).__name__}")
    unknown = [m for m in config.models if m not in MODALITY_MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown} for bench run; available: {sorted(MODALITY_MODELS)}")
    root, out_dir = Path(root), Path(out_dir)
    data, name = _open(root, config, dataset, reader_options)
    tasks = _tasks(data, name)
    needed = sorted({m.split(".")[0] for n in config.models for m in MODALITY_MODELS[n][0]})
    if "physio" in needed and physio_fn is None:
        raise ValueError("models " + str([n for n in config.models if "physio" in MODALITY_MODELS[n][0]])
                         + " need physiological features, but no physio_fn was given")
    result = MultimodalResult(dataset=name, protocol=config.protocol, rows=[], summary=[])
    feats = _featurise(data, config, physio_fn, needed, result)
    available = {m for f in feats for m in f.arrays}
    models = []
    for n in config.models:
        missing = [m for m in resolve_modalities(n, available) if m not in available]
        if missing:
            level = logging.INFO if any("." in m for m in missing) else logging.WARNING
            logger.log(level, "skipping %s: dataset %s has no %s features", n, name, missing)
            continue
        if MODALITY_MODELS[n][2] == "regression" and not _has_va(data):
            logger.warning("skipping %s: dataset %s lacks valence/arousal targets for every trial", n, name)
            continue
        if MODALITY_MODELS[n][2] == "classification" and not tasks:
            logger.warning("skipping %s: dataset %s has no class target", n, name)
            continue
        models.append(n)
    if not models:
        raise ValueError(f"none of the models {config.models} applies to dataset {name!r}")
    protocol = "loso" if config.protocol == "wesad-loso" else config.protocol
    infos = [t.info for t in data.trials]
    folds = make_folds(infos, protocol, dataset=name, n_train=config.n_train, k=config.k, seed=config.seed)
    context = MultimodalContext(feats=feats, va=[_frame_va(t, f.n_frames, config) for t, f in zip(data.trials, feats)],
                                labels={prefix: np.array([label_of(t) for t in data.trials], dtype=np.int64)
                                        for prefix, label_of in tasks},
                                config=config, available=tuple(sorted(available)))
    _run_units(folds, models, context, result, execution, show_progress)
    result.modalities = {m: modality_of(m, available) for m in models}
    result.summary = summarise(result.rows, RUN_METRICS)
    for s in result.summary:
        s["modality"] = result.modalities[s["model"]]
    result.comparison = fusion_comparison(result.summary)
    result.peak_rss_mb = _peak_rss_mb()
    result.files = _write(result, out_dir, config)
    return result


def _open(root: Path, config: BenchRunConfig, dataset, reader_options):
    from eegaffect.datasets import detect_dataset, load_dataset

    options = dict(reader_options or {})
    name = config.dataset or (dataset.name if dataset is not None else detect_dataset(root))
    if config.protocol == "wesad-loso" and name != "wesad":
        raise ValueError(f"protocol 'wesad-loso' is WESAD's standard evaluation; the dataset is {name!r}")
    if dataset is None:
        if name in ("deap", "amigos") and config.threshold is not None:
            options.setdefault("threshold", config.threshold)
        if name in ("deap", "amigos"):
            options.setdefault("inclusive", config.inclusive)
        if name == "dreamer":
            options.setdefault("ecg", True)
            options.setdefault("baseline", config.baseline_correction)
        dataset = load_dataset(root, name, **options)
    data = dataset.select(subjects=config.subjects) if config.subjects else dataset
    if len(data) == 0:
        raise ValueError(f"{root}: no trials to benchmark in dataset {name!r}")
    return data, name


def _tasks(data, name: str) -> list[tuple[str, Callable[[Any], int]]]:
    """Classification tasks: (metric prefix, trial -> class) pairs."""
    trials = data.trials
    ratings = [getattr(t, "ratings", {}) for t in trials]
    tasks: list[tuple[str, Callable[[Any], int]]] = []
    if data.class_names and all(t.info.label is not None for t in trials):
        tasks.append(("", lambda t: int(t.info.label)))
    if name == "wesad" and all("condition" in r for r in ratings):
        tasks.append(("stress", lambda t: int(t.ratings["condition"] == "stress")))
    for dim in ("valence", "arousal"):
        if ratings and all(f"{dim}_class" in r for r in ratings) and not data.class_names:
            tasks.append((dim, lambda t, d=dim: int(t.ratings[f"{d}_class"])))
    return tasks


def _has_va(data) -> bool:
    return all(t.info.valence is not None and t.info.arousal is not None for t in data.trials)


def _frame_va(trial, n_frames: int, config: BenchRunConfig) -> np.ndarray:
    """Per-frame valence/arousal: the project's one rule (:func:`eegaffect.targets.trial_frame_targets` at the
    frames' end times, :func:`eegaffect.pipeline.frame_times`); NaN where unknown.
    """
    from eegaffect.pipeline import frame_times, window_hop
    from eegaffect.targets import trial_frame_targets

    window, hop = window_hop(config.pipeline)
    return trial_frame_targets(trial, frame_times(n_frames, window, hop, config.pipeline.sfreq))


def _stack(idx, feats, mods) -> dict[str, np.ndarray]:
    return {m: np.concatenate([feats[j].arrays[m] for j in idx], axis=0) for m in mods}


@dataclass
class MultimodalContext:
    """What every unit of a ``bench run`` shares (shipped once per run; to Ray workers through the object store).

    Attributes
    ----------
    feats : list of TrialFeatures
        Per trial (indexed like the folds' indices), its features of every modality.
    va : list of ndarray, shape (n_frames, 2)
        Per trial, per-frame valence/arousal (NaN where unknown).
    labels : dict of str to ndarray of int, shape (n_trials,)
        Per classification task (metric prefix, ``""`` for the dataset's own classes), each trial's class.
    config : BenchRunConfig
        The run's config (model parameters, seed).
    available : tuple of str
        Modalities the dataset has (``"eeg"``, ``"physio"``, ``"physio.{group}"``).
    """

    feats: list[TrialFeatures]
    va: list[np.ndarray]
    labels: dict[str, np.ndarray]
    config: BenchRunConfig
    available: tuple[str, ...]


@dataclass
class MultimodalUnitSpec:
    """One ``bench run`` unit: one model on one fold (seed: the run's).

    Attributes
    ----------
    unit : Unit
        Its identity (``model/fold/seed{seed}``).
    fold : Fold
        The fold (train and test trial indices, subject and session of the row).
    """

    unit: Any
    fold: Any


def run_multimodal_unit(spec: MultimodalUnitSpec, context: MultimodalContext):
    """Fit and score one model on one fold; never raises (a failure comes back with its traceback).

    Parameters
    ----------
    spec : MultimodalUnitSpec
        The unit.
    context : MultimodalContext
        The run's shared features and targets.

    Returns
    -------
    outcome : UnitOutcome
        The row (``payload`` empty), or the error.
    """
    import os
    import socket
    import time
    import traceback

    from eegaffect.benchmark.units import UnitOutcome

    started, t0, cpu0 = time.time(), time.perf_counter(), time.process_time()
    try:
        row, error = _fit_score(spec.unit.model, context, spec.fold), None
    except Exception:  # noqa: BLE001 - any failure of one unit is reported, the others go on
        row, error = None, traceback.format_exc()
    return UnitOutcome(spec.unit, row, {}, error, time.perf_counter() - t0, time.process_time() - cpu0, started,
                       os.nice(0), os.getpid(), socket.gethostname())


def _run_units(folds, models: list[str], context: MultimodalContext, result: "MultimodalResult", execution,
               show_progress: bool) -> None:
    """Run every (model, fold) unit on the executor ``execution`` asks for; rows in the sequential order."""
    from eegaffect.benchmark.execution import UnitProgress, make_executor, note_outcome
    from eegaffect.benchmark.units import make_units

    units = make_units(folds, models, [context.config.seed])
    by_name = {f.name: f for f in folds}
    specs = [MultimodalUnitSpec(u, by_name[u.fold]) for u in units]
    rows: dict = {}

    def on_outcome(outcome) -> None:
        if note_outcome(result, outcome, logger):
            rows[outcome.unit] = outcome.row

    executor = make_executor(execution)
    result.executor = executor.name
    bar = None
    try:
        with executor:
            result.startup_s = getattr(executor, "startup_s", 0.0)
            shared = executor.prepare(context)
            bar = UnitProgress(len(specs), desc=f"{context.config.protocol} units", show=show_progress)
            executor.run(specs, shared, on_outcome, bar, fn=run_multimodal_unit)
    finally:
        if bar is not None:
            bar.close()
    result.shutdown_s = getattr(executor, "shutdown_s", 0.0)
    result.rows = [rows[u] for u in units if u in rows]
    if result.failed:
        logger.error("%d of %d unit(s) failed: %s", len(result.failed), len(units),
                     ", ".join(f"{f['model']}/{f['fold']}" for f in result.failed))


def _fit_score(name: str, context: MultimodalContext, fold) -> dict:
    config, feats, va, available = context.config, context.feats, context.va, set(context.available)
    train, test = list(fold.train), list(fold.test)
    _, _, task = MODALITY_MODELS[name]
    mods = resolve_modalities(name, available)
    params = dict(config.model_params.get(name, {}), modalities=mods)
    row: dict[str, Any] = {"model": name, "modality": modality_of(name, available), "subject": _plain(fold.subject),
                           "session": _plain(fold.session), "fold": fold.name}
    row.update({m: None for m in RUN_METRICS})
    train = [j for j in train if feats[j].n_frames]
    test = [j for j in test if feats[j].n_frames]
    if not train or not test:
        return row
    xtr, xte = _stack(train, feats, mods), _stack(test, feats, mods)
    steps_tr = [feats[j].n_frames for j in train]
    steps_te = [feats[j].n_frames for j in test]
    if task == "regression":  # frames without a target (outside an annotation's span) are left out
        ytr, yte = np.concatenate([va[j] for j in train]), np.concatenate([va[j] for j in test])
        ok_tr, ok_te = np.isfinite(ytr).all(axis=1), np.isfinite(yte).all(axis=1)
        if ok_tr.sum() < 2 or not ok_te.any():
            return row
        model = make_model(name, **params).fit({m: x[ok_tr] for m, x in xtr.items()}, ytr[ok_tr], seed=config.seed)
        row.update(regression_metrics(yte[ok_te], model.predict({m: x[ok_te] for m, x in xte.items()})))
        return row
    for prefix, labels in context.labels.items():
        ytr = np.repeat(labels[train], steps_tr)
        yte = np.repeat(labels[test], steps_te)
        model = make_model(name, **params).fit(xtr, ytr, seed=config.seed, groups=np.repeat(train, steps_tr))
        with warnings.catch_warnings():  # a test fold may hold one class only (k-fold within a subject)
            warnings.filterwarnings("ignore", message="A single label was found")
            m = classification_metrics(yte, model.predict(xte))
        if prefix:
            row[f"{prefix}_accuracy"], row[f"{prefix}_f1"] = m["accuracy"], m["macro_f1"]
        else:
            row.update(m)
    return row


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
