"""The benchmark's work as independent units: one (model, fold, seed) each, runnable anywhere.

A :class:`Unit` is what an executor (:mod:`eegaffect.benchmark.execution`) schedules: fit one fresh model on one
fold's training trials, predict its test trials and score them. Everything a unit needs travels with it, so the
same :func:`run_unit` runs in the benchmark's own process, in a local Ray worker or on another machine of a Ray
cluster:

- :class:`UnitSpec` (per unit): the unit's key, the fresh unfitted model, the fold's train and test indices;
- :class:`UnitContext` (per run, shipped once): the trials' metadata and continuous annotations, the run's config,
  and where the features are (:class:`CachedViews`, the HDF5 feature cache on a path every worker can read, or
  arrays shipped through Ray's object store, :class:`ArrayViews`).

A unit never raises: :func:`run_unit` returns a :class:`UnitOutcome` holding the scored row and the predictions,
or the traceback of what failed, so one bad unit never stops the others.

The unit key ``"{model}/{fold}/seed{seed}"`` is stable across runs and processes (resuming and the progress bar
use it).
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["Unit", "UnitSpec", "UnitContext", "UnitOutcome", "TrialStub", "CachedViews", "ArrayViews",
           "make_units", "run_unit", "prediction_payload", "trial_id", "uses_torch", "wants_gpu"]


@dataclass(frozen=True, order=True)
class Unit:
    """One independent piece of benchmark work.

    Attributes
    ----------
    model : str
        Registered model name.
    fold : str
        Fold name (:attr:`eegaffect.benchmark.protocols.Fold.name`).
    seed : int
        Seed of the fit.
    """

    model: str
    fold: str
    seed: int

    @property
    def key(self) -> str:
        """Stable id, e.g. ``"de-svm/s1-sess2/seed0"``."""
        return f"{self.model}/{self.fold}/seed{self.seed}"


def make_units(folds: Sequence[Any], names: Sequence[str], seeds: Sequence[int]) -> list[Unit]:
    """Every (fold, model, seed) combination, folds outermost (the sequential run's order).

    Parameters
    ----------
    folds : sequence of Fold
        The protocol's folds.
    names : sequence of str
        Model names.
    seeds : sequence of int
        Seeds.

    Returns
    -------
    units : list of Unit
        ``len(folds) * len(names) * len(seeds)`` units.
    """
    if not folds or not names or not seeds:
        raise ValueError(f"make_units: expected at least one fold, model and seed, got {len(folds)} fold(s), "
                         f"{len(names)} model(s), {len(seeds)} seed(s)")
    return [Unit(name, fold.name, int(seed)) for fold in folds for name in names for seed in seeds]


@dataclass
class TrialStub:
    """What a worker needs of a trial: its metadata and its continuous annotation (read by the driver).

    Stands in for :class:`eegaffect.datasets.base.Trial` in the runner's split code without the signal reader,
    so a worker never opens the dataset files.
    """

    info: Any
    targets: np.ndarray | None = None

    def continuous_targets(self) -> np.ndarray | None:
        """The annotation ``(n, 3)`` (time_s, valence, arousal), or None."""
        return self.targets


@dataclass
class CachedViews:
    """Features read from the HDF5 feature cache by each worker (a path every worker can read).

    Attributes
    ----------
    files : dict of str to dict of str to str
        view (``"features"``/``"raw"``) -> trial key (``info.key`` + source) -> cache file.
    """

    files: dict[str, dict[str, str]]

    def loader(self, kind: str) -> "_H5Loader":
        """A loader of view ``kind``'s trials from the cache files."""
        return _H5Loader(self.files[kind])


@dataclass
class ArrayViews:
    """Features held in memory (shipped through Ray's object store when no shared path exists).

    Attributes
    ----------
    arrays : dict of str to dict of str to ndarray
        view -> trial id -> array ``(n_steps, n_chans, n_bands or n_times)``.
    """

    arrays: dict[str, dict[str, np.ndarray]]

    def loader(self, kind: str) -> "_ArrayLoader":
        """A loader of view ``kind``'s trials from the arrays in memory."""
        return _ArrayLoader(self.arrays[kind])


def trial_id(info: Any) -> str:
    """Key of a trial within a run's views: its source file and its key inside it."""
    return f"{info.source}::{info.key}"


class _H5Loader:
    def __init__(self, files: dict[str, str]):
        self.files = files

    def load(self, trial) -> np.ndarray:
        import h5py

        info = getattr(trial, "info", trial)
        path = self.files[trial_id(info)]
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: feature cache file missing on {socket.gethostname()}; on a cluster "
                                    "--cache must be a folder every node can read (or leave --cache out to ship "
                                    "the features through Ray's object store)")
        with h5py.File(path, "r") as h5:
            return h5[info.key][()]


class _ArrayLoader:
    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays

    def load(self, trial) -> np.ndarray:
        return self.arrays[trial_id(getattr(trial, "info", trial))]


@dataclass
class UnitContext:
    """Everything the units of one run share (shipped once per run, not per unit).

    Attributes
    ----------
    trials : list of TrialStub
        The run's trials, indexed like the folds' indices.
    class_names : list of str
        The dataset's class names.
    config : BenchSeedConfig
        The run's config (pipeline settings for the step targets).
    views : CachedViews | ArrayViews
        Where each trial's features are.
    """

    trials: list[TrialStub]
    class_names: list[str]
    config: Any
    views: CachedViews | ArrayViews


@dataclass
class UnitSpec:
    """One unit ready to run.

    Attributes
    ----------
    unit : Unit
        Its identity.
    model : BenchmarkModel
        A fresh, unfitted model.
    train, test : tuple of int
        Indices into :attr:`UnitContext.trials`.
    fold : Fold
        The fold (subject/session of the row).
    threads : int | None
        torch intra-op threads while the unit runs; None leaves torch's setting.
    show_progress : bool
        Let models with long fits show their own bar (sequential runs only).
    calibration : tuple of int
        Calibration trials (``loso-calibrated``): after its fitted row, the model is calibrated on them
        (``model.calibrate``) and scored again on the same test trials as ``calibrated_name``. Empty: no
        calibration. They are never scored.
    calibrated_name : str | None
        Model name of the calibrated row (``NAME+cal``).
    """

    unit: Unit
    model: Any
    train: tuple[int, ...]
    test: tuple[int, ...]
    fold: Any
    threads: int | None = None
    show_progress: bool = False
    calibration: tuple[int, ...] = ()
    calibrated_name: str | None = None


@dataclass
class UnitOutcome:
    """What running a unit produced.

    Attributes
    ----------
    unit : Unit
        Which unit.
    row : dict | None
        The scored row (:data:`eegaffect.benchmark.runner.ROW_KEYS`), None when it failed.
    payload : dict of str to ndarray
        Test targets and predictions (the partial store's ``pred-*.npz``), empty when it failed.
    error : str | None
        The traceback when it failed.
    seconds : float
        Wall time of fit + predict + score.
    cpu_seconds : float
        CPU time of the process that ran it (all its threads) over the same span: on a busy machine the wall time
        also measures the share of the cores the unit won, its CPU time much less.
    started : float
        When it started (``time.time()`` of the machine that ran it).
    niceness : int
        Scheduling priority of the process that ran it (``os.nice(0)``; Ray's workers default to 15).
    pid : int
        Process that ran it.
    host : str
        Machine that ran it.
    calibrated : list of (dict, dict)
        The row and payload after per-user calibration, when the unit had calibration trials.
    """

    unit: Unit
    row: dict | None
    payload: dict[str, np.ndarray] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    started: float = 0.0
    niceness: int = 0
    pid: int = 0
    host: str = ""
    calibrated: list = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Whether the unit ended with an error."""
        return self.error is not None


def uses_torch(model: Any) -> bool:
    """Whether a benchmark model trains with torch (it gets a GPU where the cluster has one).

    A model says so with a ``uses_torch`` attribute; without one, models on raw windows (braindecode) and the
    EEGDancer chain (which holds a ``chain``) count as torch models.
    """
    flag = getattr(model, "uses_torch", None)
    if flag is not None:
        return bool(flag)
    return getattr(model, "input_kind", None) == "raw" or hasattr(model, "chain")


def wants_gpu(model: Any) -> bool:
    """Whether a benchmark model trains on a GPU when it gets one (``uses_gpu = True`` on the model).

    Ray hands a GPU only to such units (``CUDA_VISIBLE_DEVICES`` names it inside the unit). Today's adapters
    (braindecode baselines, the EEGDancer chain run with ``device=cpu``) train on the CPU, so they do not ask: a GPU
    they would hold without using would only serialise them.
    """
    return bool(getattr(model, "uses_gpu", False))


def prediction_payload(test, pred) -> dict[str, np.ndarray]:
    """The arrays stored per finished unit: step counts, trial ids, true and predicted targets.

    Parameters
    ----------
    test : SplitData
        The fold's test side.
    pred : Predictions
        The model's checked predictions on it.

    Returns
    -------
    payload : dict of str to ndarray
        ``n_steps``, ``trials`` (subject, session, trial), ``true_labels``, ``true_va`` and ``pred_labels`` /
        ``pred_va`` where the model predicts them.
    """
    payload: dict[str, np.ndarray] = {
        "n_steps": test.n_steps,
        "trials": np.array([[i.subject, i.session, i.trial] for i in test.trial_infos], dtype=np.int64),
        "true_labels": test.labels,
        "true_va": test.step_va(),
    }
    if pred.labels is not None:
        payload["pred_labels"] = np.concatenate(pred.labels).astype(np.int64)
    if pred.va is not None:
        payload["pred_va"] = np.concatenate(pred.va).astype(np.float64)
    return payload


def run_unit(spec: UnitSpec, context: UnitContext) -> UnitOutcome:
    """Fit, predict and score one unit; never raises (a failure is returned with its traceback).

    Parameters
    ----------
    spec : UnitSpec
        The unit.
    context : UnitContext
        The run's shared data.

    Returns
    -------
    outcome : UnitOutcome
        The row and predictions, or the error.
    """
    started, t0, cpu0 = time.time(), time.perf_counter(), time.process_time()
    calibrated: list = []
    try:
        row, payload = _run(spec, context, calibrated)
        error = None
    except Exception:  # noqa: BLE001 - any failure of one unit is reported, the others go on
        row, payload, error, calibrated = None, {}, traceback.format_exc(), []
    return UnitOutcome(spec.unit, row, payload, error, time.perf_counter() - t0, time.process_time() - cpu0,
                       started, os.nice(0), os.getpid(), socket.gethostname(), calibrated)


def _run(spec: UnitSpec, context: UnitContext, calibrated: list) -> tuple[dict, dict]:
    from eegaffect.benchmark.splits import score_row, split_data

    model = spec.model
    if hasattr(model, "show_progress"):  # models with long fits show a bar over their epochs
        model.show_progress = spec.show_progress
    need = {model.input_kind: context.views.loader(model.input_kind)}
    data = _Trials(context.trials, context.class_names)
    va_cache: dict[int, np.ndarray] = {}
    with _torch_threads(spec.threads if uses_torch(model) else None):
        train = split_data(data, spec.train, need, va_cache, context.config)
        test = split_data(data, spec.test, need, va_cache, context.config)
        model.fit(train, seed=spec.unit.seed)
        pred = model.predict(test).check(test)
        row = score_row(spec.unit.model, model, spec.fold, test, pred)
        payload = prediction_payload(test, pred)
        if spec.calibration:
            model.calibrate(split_data(data, spec.calibration, need, va_cache, context.config), seed=spec.unit.seed)
            cal_pred = model.predict(test).check(test)
            calibrated.append((score_row(spec.calibrated_name, model, spec.fold, test, cal_pred),
                               prediction_payload(test, cal_pred)))
    return row, payload


@dataclass
class _Trials:
    """The part of a dataset the runner's split code reads: ``trials`` and ``class_names``."""

    trials: list[TrialStub]
    class_names: list[str]


class _torch_threads:
    """Set torch's intra-op threads for the duration of a unit (no-op for ``None``)."""

    def __init__(self, n: int | None):
        self.n, self.before = n, None

    def __enter__(self):
        if self.n is not None:
            import torch

            self.before = torch.get_num_threads()
            torch.set_num_threads(int(self.n))
        return self

    def __exit__(self, *exc):
        if self.before is not None:
            import torch

            torch.set_num_threads(self.before)
        return False
