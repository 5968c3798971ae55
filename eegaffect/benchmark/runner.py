"""Run the offline benchmark: featurise (cached), split by protocol, fit/predict every model per fold, score.

:func:`run_benchmark` is what ``eegaffect bench seed`` calls. It is seeded and resumable: every finished
``(model, fold)`` is appended to ``OUTDIR/partial/{signature}/rows.jsonl`` (with its predictions in
``pred-*.npz`` beside it) as soon as it is scored, and a rerun skips those. The signature is *per model*: it
hashes what changes that model's results (the dataset files and pipeline through the feature cache key of its own
view, the protocol, seed, subjects and split settings, its name and hyper-parameters), so adding or removing other
models reuses every finished fold, while a run with other settings for a model never mixes with the old one (the
folder name hashes only the settings shared by all models). Results go to ``results.csv``, ``results.json``,
``results.md`` and ``plots/`` (see :mod:`eegaffect.benchmark.report`), and ``run.json`` records the featurisation
(per view: files built and reused, seconds of EEG, wall time; throughput over all views), peak memory, folds
resumed and the full config.

The work is a list of independent units, one per (model, fold, seed) (:mod:`eegaffect.benchmark.units`), run
by an executor (:mod:`eegaffect.benchmark.execution`): here one after the other by default, or as Ray tasks on a
local instance or a cluster; the feature cache is built once, here, before any unit runs. A unit that fails is
logged with its traceback, listed under ``failed`` in ``results.json`` and retried by the next run; the others go
on.

Targets per step (:func:`eegaffect.targets.trial_frame_targets`, the rule training and the live predictor share):
where a trial has a continuous annotation (``Trial.continuous_targets()``), the valence/arousal of step ``k`` is
the annotation at the END of window ``k`` (:func:`eegaffect.pipeline.frame_times`; NaN outside the annotation's
span); otherwise the trial's label-derived valence/arousal repeated over its steps (NaN where it has none).
"""

from __future__ import annotations

import contextlib
import logging
import math
import resource
import sys
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from eegaffect._logging import logger
from eegaffect.benchmark.metrics import JITTER_METRICS, METRIC_NAMES, jitter_metrics, summarise
from eegaffect.benchmark.protocols import CALIBRATED_PROTOCOLS, CALIBRATED_SUFFIX, PROTOCOLS, make_folds
from eegaffect.benchmark.resume import _model_signature, _PartialStore, _run_signature, _targets_key
from eegaffect.config import ConfigModel
from eegaffect.pipeline import PipelineConfig

__all__ = ["BenchSeedConfig", "BenchmarkResult", "run_benchmark", "ROW_KEYS", "DEFAULT_MODELS", "CALIBRATED_SUFFIX"]

DEFAULT_MODELS = ["de-svm", "de-logreg", "de-ridge", "eegnet", "shallow"]
#: Keys of every row of ``results.json`` / columns of ``results.csv``, in order.
ROW_KEYS = ("model", "subject", "session", "fold") + METRIC_NAMES


def _default_model_params() -> dict[str, dict[str, Any]]:
    return {
        "de-svm": {"C": 0.01},
        "de-logreg": {"C": 0.1},
        "de-ridge": {"alpha": 10.0},
        "eegnet": {"epochs": 20, "batch_size": 64, "lr": 1e-3},
        "shallow": {"epochs": 20, "batch_size": 64, "lr": 1e-3},
    }


class BenchSeedConfig(ConfigModel):
    """Settings of ``eegaffect bench seed`` (``configs/bench_seed.yaml``)."""

    dataset: Literal["seed", "seed-iv", "dreamer"] = "seed"
    protocol: Literal["subject-dependent", "loso", "cross-session", "kfold", "loso-calibrated"] = \
        "subject-dependent"
    models: list[str] = Field(default_factory=lambda: list(DEFAULT_MODELS), min_length=1)
    subjects: list[int] | None = Field(None, description="subject numbers to include; null = all")
    seed: int = Field(0, ge=0)
    n_train: int | None = Field(None, ge=1, description="subject-dependent training trials per session; "
                                                          "null = the dataset's standard (SEED 9, SEED-IV 16)")
    k: int = Field(5, ge=2, description="folds of the kfold protocol (and the DREAMER subject-dependent fallback)")
    n_calibration: int = Field(3, ge=1, description="loso-calibrated: the held-out subject's first trials that "
                               "calibrate the model (never scored); models with a calibrate() method are scored "
                               "on the same test trials before (NAME) and after (NAME+cal) calibration")
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    cache_dir: str | None = Field(None, description="feature cache root; null = the user cache folder")
    model_params: dict[str, dict[str, Any]] = Field(default_factory=_default_model_params)
    plots: bool = True
    trajectory_plots: int = Field(3, ge=0, description="predicted-vs-true trajectory plots per regression model")


@dataclass
class BenchmarkResult:
    """What :func:`run_benchmark` produced.

    Attributes
    ----------
    dataset, protocol : str
        What was run.
    rows : list of dict
        One row per (model, fold) with :data:`ROW_KEYS`.
    summary : list of dict
        Mean ± std per model (see :func:`eegaffect.benchmark.metrics.summarise`).
    files : dict of str to Path
        Written outputs (``csv``, ``json``, ``markdown``, plots...).
    feature_seconds : float
        Seconds of EEG featurised in this run, summed over the views built (0 when the cache held everything).
    feature_wall_s : float
        Wall time of that featurisation.
    feature_views : dict of str to dict
        Per view (``"features"``, ``"raw"``) what this run did: ``files_built``, ``files_reused``,
        ``eeg_seconds``, ``wall_s``.
    feature_peak_mb : float
        Peak traced memory (MiB) during featurisation.
    peak_rss_mb : float
        Peak resident memory of the process (MiB) at the end.
    folds_run, folds_skipped : int
        (model, fold) pairs computed now / reused from a previous partial run.
    failed : list of dict
        Units that failed in this run: ``model``, ``fold``, ``seed`` and the last line of the ``error`` (the full
        traceback is in the log); rerunning retries them.
    executor : str
        ``"sequential"`` or ``"ray"`` (``"none"`` when every unit was resumed).
    startup_s : float
        Seconds spent starting or connecting to Ray (0 for sequential runs).
    shutdown_s : float
        Seconds spent stopping or disconnecting from Ray (0 for sequential runs).
    unit_timings : list of dict
        Per unit run now, in the order they finished: ``unit`` (key), ``started`` (``time.time()`` where it ran),
        ``seconds`` (wall), ``cpu_seconds`` (CPU of its process over the same span), ``nice`` (its process's
        niceness), ``pid``, ``host``, ``failed``.
    """

    dataset: str
    protocol: str
    rows: list[dict]
    summary: list[dict]
    files: dict[str, Path] = field(default_factory=dict)
    feature_seconds: float = 0.0
    feature_wall_s: float = 0.0
    feature_views: dict[str, dict] = field(default_factory=dict)
    feature_peak_mb: float = 0.0
    peak_rss_mb: float = 0.0
    folds_run: int = 0
    folds_skipped: int = 0
    failed: list[dict] = field(default_factory=list)
    executor: str = "none"
    startup_s: float = 0.0
    shutdown_s: float = 0.0
    unit_timings: list[dict] = field(default_factory=list)

    @property
    def feature_throughput(self) -> float:
        """Seconds of EEG featurised per second of wall time (NaN when nothing was featurised)."""
        return self.feature_seconds / self.feature_wall_s if self.feature_wall_s > 0 else math.nan


def run_benchmark(root: str | Path, config: BenchSeedConfig, out_dir: str | Path, *,
                  show_progress: bool = True, execution=None) -> BenchmarkResult:
    """Run the benchmark and write its outputs.

    Parameters
    ----------
    root : str | Path
        Dataset folder (or ``DREAMER.mat``).
    config : BenchSeedConfig
        What to run.
    out_dir : str | Path
        Output folder (created); holds the partial results that make a rerun resume.
    show_progress : bool
        Show progress bars.
    execution : Execution | None
        Where the (model, fold, seed) units run (:class:`eegaffect.benchmark.execution.Execution`: in this
        process, on a local Ray instance, on a cluster); None runs them here, one after the other. The results
        do not depend on it (at equal torch threads per unit).

    Returns
    -------
    result : BenchmarkResult
        Rows, summary, written files and featurisation figures.
    """
    from eegaffect.benchmark.registry import get_model, requested_models
    from eegaffect.datasets import load_dataset

    if not isinstance(config, BenchSeedConfig):
        raise TypeError(f"config must be a BenchSeedConfig, got {type(config).__name__}")
    if execution is not None:
        from eegaffect.benchmark.execution import Execution

        if not isinstance(execution, Execution):
            raise TypeError(f"execution must be an Execution or None, got {type(execution).__name__}")
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"dataset root {root} does not exist")
    names = requested_models(config.models)
    if config.protocol not in PROTOCOLS:  # pragma: no cover - the schema already restricts it
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {config.protocol!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    full = load_dataset(root, config.dataset)
    data = full.select(subjects=config.subjects) if config.subjects else full
    if len(data) == 0:
        raise ValueError(f"{root}: no trials to benchmark in dataset {config.dataset!r}")
    probes = {n: get_model(n, **config.model_params.get(n, {})) for n in names}
    kinds = sorted({m.input_kind for m in probes.values()})
    names = _drop_inapplicable(names, probes, data)

    result = BenchmarkResult(dataset=full.name, protocol=config.protocol, rows=[], summary=[])
    with _logs_above_bars(show_progress):
        caches = _build_caches(full, data, config, kinds, result, show_progress)

        infos = [t.info for t in data.trials]
        folds = make_folds(infos, config.protocol, dataset=full.name, n_train=config.n_train, k=config.k,
                           seed=config.seed, n_calibration=config.n_calibration)
        targets = _targets_key(data)
        signatures = {n: _model_signature(config, full.name, n, caches[probes[n].input_kind], targets, probes[n])
                      for n in names}
        signatures.update({n + CALIBRATED_SUFFIX: _model_signature(config, full.name, n + CALIBRATED_SUFFIX,
                                                                   caches[probes[n].input_kind], targets, probes[n])
                           for n in _calibratable(names, probes, config)})
        store = _PartialStore(out_dir / "partial", _run_signature(config, full.name), signatures)
        _fit_folds(data, folds, names, probes, caches, store, config, result, show_progress, execution)

    row_names = [m for n in names for m in ([n, n + CALIBRATED_SUFFIX] if n in _calibratable(names, probes, config)
                                            else [n])]
    todo = [(fold, name) for fold in folds for name in row_names]
    result.rows = [_complete_row(r, store) for r in store.rows()
                   if r["model"] in row_names and r["fold"] in {f.name for f in folds}]
    order = {(n, f.name): i for i, (f, n) in enumerate(todo)}
    result.rows.sort(key=lambda r: order[(r["model"], r["fold"])])
    result.summary = summarise(result.rows)
    result.peak_rss_mb = _peak_rss_mb()

    from eegaffect.benchmark.report import write_report

    result.files = write_report(result, out_dir, store=store, class_names=list(full.class_names),
                                pipeline=config.pipeline, plots=config.plots,
                                trajectory_plots=config.trajectory_plots)
    result.files["run"] = _write_run_info(out_dir / "run.json", result, config)
    return result


def _write_run_info(path: Path, result: BenchmarkResult, config: BenchSeedConfig) -> Path:
    """``run.json``: how the run went (featurisation per view and overall, memory, folds resumed) and its full
    config.
    """
    from eegaffect.benchmark.report import write_results_json
    from eegaffect.perf import machine_info

    def finite(v: float) -> float | None:
        return float(v) if math.isfinite(v) else None

    doc = {"feature_eeg_seconds": result.feature_seconds, "feature_wall_s": result.feature_wall_s,
           "feature_throughput": finite(result.feature_throughput), "feature_views": result.feature_views,
           "feature_peak_mb": result.feature_peak_mb,
           "peak_rss_mb": result.peak_rss_mb, "folds_run": result.folds_run,
           "folds_skipped": result.folds_skipped, "units_failed": result.failed, "executor": result.executor,
           "executor_startup_s": result.startup_s, "executor_shutdown_s": result.shutdown_s,
           "unit_timings": result.unit_timings, "machine": machine_info(), "config": config.model_dump(mode="json")}
    return write_results_json(path, doc)


def _calibratable(names, probes, config: BenchSeedConfig) -> list[str]:
    """Models scored also after per-user calibration: those with ``calibrate()``, under a calibrated protocol."""
    if config.protocol not in CALIBRATED_PROTOCOLS:
        return []
    return [n for n in names if callable(getattr(probes[n], "calibrate", None))]


def _fit_folds(data, folds, names, probes, caches, store, config: BenchSeedConfig, result: BenchmarkResult,
               show_progress: bool, execution) -> None:
    """Run every (model, fold, seed) unit not in ``store`` yet on the executor ``execution`` asks for; each
    outcome is added to the store (or recorded as failed) as soon as it arrives.

    Under a calibrated protocol a model with ``calibrate(split, seed=...)`` is scored twice on the fold's test
    trials: as fitted (``NAME``) and after calibrating on the fold's calibration trials (``NAME+cal``); a model
    without it is scored as fitted only. Calibration trials are never scored.
    """
    from eegaffect.benchmark.execution import UnitProgress, make_executor, note_outcome
    from eegaffect.benchmark.registry import get_model
    from eegaffect.benchmark.units import UnitSpec, make_units

    calibrated = set(_calibratable(names, probes, config))
    if config.protocol in CALIBRATED_PROTOCOLS and set(names) - calibrated:
        logger.info("%s: %s cannot be calibrated (no calibrate()); scored as fitted on the same test trials",
                    config.protocol, sorted(set(names) - calibrated))
    units = make_units(folds, names, [config.seed])
    todo = [u for u in units if not store.has(u.model, u.fold)
            or (u.model in calibrated and not store.has(u.model + CALIBRATED_SUFFIX, u.fold))]
    result.folds_skipped = len(units) - len(todo)
    if not todo:
        return
    executor = make_executor(execution)
    result.executor = executor.name
    folds_by_name = {f.name: f for f in folds}

    def on_outcome(outcome) -> None:
        if not note_outcome(result, outcome, logger):
            return
        logger.info("%s %s: %s (%.2f s, %.2f s CPU, pid %d)", outcome.unit.model, outcome.unit.fold,
                    _brief(outcome.row), outcome.seconds, outcome.cpu_seconds, outcome.pid)
        store.add(outcome.row, outcome.payload)
        for row, payload in outcome.calibrated:
            logger.info("%s %s: %s after calibration on %d trial(s)", row["model"], row["fold"], _brief(row),
                        len(folds_by_name[row["fold"]].calibration))
            store.add(row, payload)
        result.folds_run += 1

    bar = None
    try:
        with executor:  # starts or connects to Ray (the bar comes after, so its time is the units' only)
            result.startup_s = getattr(executor, "startup_s", 0.0)
            sequential = executor.name == "sequential"
            threads = None if sequential else max(1, int(round(execution.cpus_per_unit)))
            need = sorted({probes[u.model].input_kind for u in todo})
            context = executor.prepare(_unit_context(data, {k: caches[k] for k in need}, config,
                                                     ship=not sequential and execution.ships_arrays()))
            specs = [UnitSpec(u, get_model(u.model, **config.model_params.get(u.model, {})),
                              folds_by_name[u.fold].train, folds_by_name[u.fold].test, folds_by_name[u.fold],
                              threads=threads, show_progress=show_progress and sequential,
                              calibration=tuple(folds_by_name[u.fold].calibration) if u.model in calibrated else (),
                              calibrated_name=u.model + CALIBRATED_SUFFIX if u.model in calibrated else None)
                     for u in todo]
            bar = UnitProgress(len(units), done=result.folds_skipped, desc=f"{config.protocol} units",
                               show=show_progress)
            executor.run(specs, context, on_outcome, bar)
    finally:
        if bar is not None:
            bar.close()
    result.shutdown_s = getattr(executor, "shutdown_s", 0.0)
    if result.failed:
        logger.error("%d of %d unit(s) failed: %s", len(result.failed), len(todo),
                     ", ".join(f"{f['model']}/{f['fold']}" for f in result.failed))


def _unit_context(data, caches: dict, config: BenchSeedConfig, ship: bool):
    """What every unit of the run shares: trial metadata and annotations, the config, and where the features
    are (the cache files, or the arrays themselves when they are shipped through Ray's object store).
    """
    from eegaffect.benchmark.units import ArrayViews, CachedViews, TrialStub, UnitContext, trial_id

    trials = [TrialStub(t.info, t.continuous_targets()) for t in data.trials]
    if ship:
        views = ArrayViews({k: {trial_id(t.info): c.load(t) for t in data.trials} for k, c in caches.items()})
    else:
        views = CachedViews({k: {trial_id(t.info): str(c.file_for(t.info.source)) for t in data.trials}
                             for k, c in caches.items()})
    return UnitContext(trials, list(data.class_names), config, views)


def _logs_above_bars(show_progress: bool):
    """Route the package's console log lines through ``tqdm.write`` while bars are shown, so a log line never
    lands inside a progress bar; a no-op when no console handler is attached (library use, tests).
    """
    console = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)
               and getattr(h, "stream", None) in (sys.stderr, sys.stdout)]
    if not show_progress or not console:
        return contextlib.nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm(loggers=[logger])


# ----------------------------------------------------------------------------------------------------------------
def _drop_inapplicable(names: list[str], probes: dict, data) -> list[str]:
    has_labels = data.class_names and all(t.info.label is not None for t in data.trials)
    has_va = all(t.info.valence is not None and t.info.arousal is not None for t in data.trials)
    kept = []
    for name in names:
        task = probes[name].task
        if task == "classification" and not has_labels:
            logger.warning("skipping %s: dataset %s has no class labels for every trial", name, data.name)
        elif task == "regression" and not has_va:
            logger.warning("skipping %s: dataset %s lacks valence/arousal targets", name, data.name)
        else:
            kept.append(name)
    if not kept:
        raise ValueError(f"none of the models {names} applies to dataset {data.name!r} (labels: "
                         f"{bool(has_labels)}, valence/arousal: {has_va})")
    return kept


def _build_caches(full, data, config: BenchSeedConfig, kinds, result: BenchmarkResult, show_progress: bool):
    from eegaffect.datasets.features import FeatureCache

    caches = {}
    for kind in kinds:
        cache = FeatureCache(full, config.pipeline, kind, cache_dir=config.cache_dir)
        tracing = tracemalloc.is_tracing()
        if not tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        try:
            stats = cache.build(data.trials, show_progress=show_progress)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
        finally:  # also when featurisation fails (a dead channel): tracing left on slows the whole process
            if not tracing:
                tracemalloc.stop()
        result.feature_views[kind] = {"files_built": stats.files_built, "files_reused": stats.files_reused,
                                      "eeg_seconds": stats.eeg_seconds, "wall_s": stats.wall_s}
        result.feature_seconds += stats.eeg_seconds
        result.feature_wall_s += stats.wall_s
        result.feature_peak_mb = max(result.feature_peak_mb, peak)
        caches[kind] = cache
    return caches


def _complete_row(row: dict, store) -> dict:
    """A row with every :data:`ROW_KEYS` key: one resumed from a run older than a metric gets None for it, or, for
    the jitter metrics, their values from its stored predictions (so a summary never averages them over only the
    folds fitted since).
    """
    missing = [k for k in ROW_KEYS if k not in row]
    if not missing:
        return row
    filled = dict.fromkeys(missing)
    if any(k in JITTER_METRICS for k in missing):
        pred = store.predictions(row["model"], row["fold"])
        if "pred_va" in pred:
            filled.update({k: v for k, v in jitter_metrics(pred["true_va"], pred["pred_va"], pred["n_steps"]).items()
                           if k in filled})
    return {**{k: row.get(k, filled.get(k)) for k in ROW_KEYS}, **row}


def _brief(row: dict) -> str:
    shown = [f"{k}={row[k]:.3f}" for k in ("accuracy", "valence_ccc", "arousal_ccc") if row.get(k) is not None]
    return ", ".join(shown) or "no applicable metric"


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10

