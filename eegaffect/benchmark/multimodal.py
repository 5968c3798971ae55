"""The multimodal benchmark: EEG-only, physiology-only and fused baselines on one frame clock, by leakage-free
protocols (``eegaffect bench run``).

Features per trial, one row per frame (``pipeline.features.window_s`` / ``hop_s``, the EEG frame clock):

- ``eeg``: differential entropy per channel and band from the signal pipeline (the offline twin of the live path,
  :class:`~eegaffect.pipeline.SignalPipeline`), flattened to ``n_chans * n_bands`` columns;
- ``physio``: for every signal group of a physiological kind (ECG, PPG, EDA, respiration, temperature, EMG) and
  each of its channels, the features of a physiological pipeline (HRV, SCL/SCR, breathing, temperature, EMG
  level; :class:`eegaffect.physio.PhysioPipeline`), named ``{group}.{channel}.{feature}``. NaN where a window is
  too short (imputed inside each model with the training fold's median).

Where a trial has its own pre-stimulus baseline (DEAP's first 3 s, DREAMER's baseline clip), each feature column
of the trial is corrected by subtracting the mean of that column over the frames of *the same trial's* baseline
(``baseline_correction``); nothing is pooled across trials, so no statistic of a test trial reaches the training
side and vice versa. Modalities whose frame counts differ by a frame (rounding at the trial end) are cut to the
shorter.

Features are computed subject file by subject file (one subject's signals in memory) and kept per trial (a few
hundred floats per frame); with ``cache_dir`` they are also written per subject file (``.npz``, atomically) and
reused while the dataset files and settings are unchanged.

Models (``--models``; names say their modality):

==================== ======== ============================================================================
name                 input    model
==================== ======== ============================================================================
eeg-de-svm           eeg      median imputer + StandardScaler + linear SVM
eeg-de-logreg        eeg      ... + logistic regression (L2)
eeg-de-ridge         eeg      ... + ridge regression of valence/arousal
physio-svm           physio   as eeg-de-svm on the physiological features
physio-logreg        physio   as eeg-de-logreg
physio-ridge         physio   as eeg-de-ridge
fusion-early-logreg  both     concatenated features, imputer + scaler + univariate selection (ANOVA F, the
                              ``k_best`` best columns) + L2 logistic regression, all fitted on the training
                              fold only
fusion-early-ridge   both     the same with ridge regression
fusion-late          both     one logistic regression per modality; class probabilities averaged
fusion-stack         both     one logistic regression per modality, stacked by a logistic regression on their
                              out-of-fold log-odds (inner 3-fold split by trial inside the training fold)
physio-chest-logreg  physio   logistic regression on the chest sensors' features (two-device datasets)
physio-wrist-logreg  physio   ... on the wrist band's features (WESAD's Empatica E4)
==================== ======== ============================================================================

On a dataset without EEG whose physiology comes from two devices (WESAD: chest RespiBAN, wrist E4) the fusion
models fuse the devices instead (chest + wrist), and are compared with the single-device models; the
``physio-*`` models over all physiological features are then themselves a fusion of devices (modality
``"physio (all devices)"``) and are not counted as a single modality.

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

import hashlib
import json
import logging
import os
import resource
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
from pydantic import Field

from eegaffect.benchmark.metrics import (
    METRIC_NAMES,
    classification_metrics,
    regression_metrics,
    summarise,
)
from eegaffect.benchmark.protocols import make_folds
from eegaffect.config import ConfigModel
from eegaffect.pipeline import PipelineConfig

__all__ = ["BenchRunConfig", "MultimodalResult", "MODALITY_MODELS", "DEFAULT_RUN_MODELS", "RUN_METRICS",
           "TrialFeatures", "extract_features", "pipeline_physio_features", "run_multimodal_benchmark",
           "make_model"]

logger = logging.getLogger("eegaffect")

#: model name -> (modalities, kind, task); kind: estimator or "late".
MODALITY_MODELS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "eeg-de-svm": (("eeg",), "svm", "classification"),
    "eeg-de-logreg": (("eeg",), "logreg", "classification"),
    "eeg-de-ridge": (("eeg",), "ridge", "regression"),
    "physio-svm": (("physio",), "svm", "classification"),
    "physio-logreg": (("physio",), "logreg", "classification"),
    "physio-ridge": (("physio",), "ridge", "regression"),
    "fusion-early-logreg": (("eeg", "physio"), "logreg", "classification"),
    "fusion-early-ridge": (("eeg", "physio"), "ridge", "regression"),
    "fusion-late": (("eeg", "physio"), "late", "classification"),
    "fusion-stack": (("eeg", "physio"), "stack", "classification"),
    "physio-chest-logreg": (("physio.chest",), "logreg", "classification"),
    "physio-wrist-logreg": (("physio.wrist",), "logreg", "classification"),
}
DEFAULT_RUN_MODELS = ["eeg-de-svm", "eeg-de-logreg", "eeg-de-ridge", "physio-svm", "physio-logreg", "physio-ridge",
                      "fusion-early-logreg", "fusion-early-ridge", "fusion-late", "fusion-stack", "physio-chest-logreg",
                      "physio-wrist-logreg"]
_TASK_METRICS = tuple(f"{d}_{m}" for d in ("valence", "arousal", "stress") for m in ("accuracy", "f1"))
#: Every metric column of the multimodal ``results.json`` rows.
RUN_METRICS = METRIC_NAMES + _TASK_METRICS
ROW_KEYS = ("model", "modality", "subject", "session", "fold") + RUN_METRICS
_FORMAT = 1


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
class TrialFeatures:
    """Per-trial features of every modality, on one frame clock.

    Attributes
    ----------
    arrays : dict of str to ndarray, shape (n_frames, n_features_m)
        ``"eeg"`` and/or ``"physio"``.
    names : dict of str to list of str
        Column names per modality.
    """

    arrays: dict[str, np.ndarray]
    names: dict[str, list[str]]

    @property
    def n_frames(self) -> int:
        """Number of frames common to all modalities (0 without any)."""
        return min(a.shape[0] for a in self.arrays.values()) if self.arrays else 0


@dataclass
class MultimodalResult:
    """What :func:`run_multimodal_benchmark` produced (``rows``/``summary`` as in ``bench seed``)."""

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


# ---------------------------------------------------------------------------------------------------- features
PhysioFn = Callable[[str, np.ndarray, float, float, float], tuple[np.ndarray, list[str]]]


def pipeline_physio_features(kind: str, x: np.ndarray, sfreq: float, window_s: float,
                             hop_s: float) -> tuple[np.ndarray, list[str]]:
    """Frame features of one physiological channel from :class:`eegaffect.physio.PhysioPipeline`.

    Parameters
    ----------
    kind : {"ecg", "ppg", "eda", "resp", "temp", "emg"}
        Signal kind.
    x : ndarray, shape (n_times,)
        The channel.
    sfreq : float
        Its rate in Hz.
    window_s, hop_s : float
        The frame clock (the EEG pipeline's).

    Returns
    -------
    frames : ndarray, shape (n_frames, n_features)
    names : list of str
    """
    try:
        from eegaffect.physio import PhysioPipeline
        from eegaffect.physio.config import FrameConfig, PhysioConfig
    except ImportError as exc:
        from eegaffect.errors import UserInputError

        raise UserInputError(f"physiological features need eegaffect.physio (the physiological pipeline), which "
                             f"is not importable here ({exc}); run the EEG models only") from None
    from eegaffect.physio.pipeline import StageUnavailableError

    key = (kind, float(sfreq), float(window_s), float(hop_s))
    pipe = _PIPES.get(key)
    if pipe is None:
        config = PhysioConfig(frames=FrameConfig(window_s=window_s, hop_s=hop_s))
        try:
            pipe = _PIPES[key] = PhysioPipeline(config, kind, sfreq)
        except StageUnavailableError as exc:
            if kind not in _UNAVAILABLE:
                _UNAVAILABLE.add(kind)
                logger.warning("no %s features: %s", kind, exc)
            n = 0 if x.shape[0] < round(window_s * sfreq) else int((x.shape[0] / sfreq - window_s) // hop_s) + 1
            return np.zeros((n, 0)), []
    # reset + one step + flush is a fresh stream over the whole recording: equal to pipe.process(x) (the
    # pipeline's chunk-invariance contract), without building a new pipeline for every channel of every trial
    pipe.reset()
    frames = np.concatenate([pipe.step(x), pipe.flush()])
    return np.asarray(frames, dtype=np.float64), list(pipe.feature_names)


_UNAVAILABLE: set[str] = set()  # signal kinds already reported as lacking a stage
_PIPES: dict = {}  # (kind, sfreq, window_s, hop_s) -> PhysioPipeline, reset before each recording


def extract_features(trial, config: BenchRunConfig, physio_fn: PhysioFn | None, modalities=("eeg", "physio"),
                     eeg_featuriser=None) -> TrialFeatures:
    """Features of one trial (see the module docstring).

    Parameters
    ----------
    trial : Trial | MultimodalTrial
        The trial.
    config : BenchRunConfig
        Pipeline, frame clock and baseline correction.
    physio_fn : callable | None
        ``(kind, x, sfreq, window_s, hop_s) -> (frames, names)``; None skips physiology.
    modalities : iterable of str
        Which modalities to compute.
    eeg_featuriser : callable | None
        ``(x, sfreq) -> (n_frames, n_chans, n_bands)`` reused across trials (one filter design for a whole
        subject); None builds the signal pipeline for this trial.

    Returns
    -------
    features : TrialFeatures
        ``arrays["eeg"]`` (n_frames, n_chans * n_bands) where the trial has EEG, ``arrays["physio"]``
        (n_frames, n_physio) where it has physiological groups (and ``physio.chest`` / ``physio.wrist`` subsets
        when they come from two devices), all cut to the same number of frames.
    """
    from eegaffect.datasets.multimodal import PHYSIO_KINDS

    arrays: dict[str, np.ndarray] = {}
    names: dict[str, list[str]] = {}
    groups = getattr(trial, "groups", None)
    has_eeg = groups is None or "eeg" in groups
    if "eeg" in modalities and has_eeg:
        feat = _eeg_frames(trial.load(), trial.info.sfreq, config, eeg_featuriser)
        if config.baseline_correction and trial.has_baseline:
            feat = _correct(feat, _eeg_frames(trial.load_baseline(), trial.info.sfreq, config, eeg_featuriser))
        arrays["eeg"] = feat
        bands = [b.name for b in config.pipeline.features.bands]
        names["eeg"] = [f"{ch}.{b}" for ch in trial.info.ch_names for b in bands]
    if "physio" in modalities and physio_fn is not None and groups is not None:
        blocks, cols, devices = [], [], []
        win, hop = config.pipeline.features.window_s, config.pipeline.features.hop_s
        for group in groups.values():
            if group.kind not in PHYSIO_KINDS:
                continue
            x = trial.load_group(group.name)
            base = trial.load_group_baseline(group.name) if config.baseline_correction else None
            base_s = 0.0 if base is None else base.shape[0] / group.sfreq
            k0 = base_s / hop
            joined = base_s >= win and abs(k0 - round(k0)) < 1e-9
            for c, ch in enumerate(group.ch_names):
                if joined:
                    # one stream: baseline then stimulus (the stimulus frames keep the baseline as causal
                    # context); frames ending inside the baseline correct those after it
                    both, fnames = physio_fn(group.kind, np.concatenate([base[:, c], x[:, c]]), group.sfreq, win,
                                             hop)
                    n_base = int(np.floor((base_s - win) / hop + 1e-9)) + 1
                    frames = _correct(both[int(round(k0)):], both[:n_base])
                else:
                    frames, fnames = physio_fn(group.kind, x[:, c], group.sfreq, win, hop)
                    if base is not None and base.shape[0]:
                        frames = _correct(frames, physio_fn(group.kind, base[:, c], group.sfreq, win, hop)[0])
                blocks.append(frames)
                cols += [f"{group.name}.{ch}.{n}" for n in fnames]
                devices += [_device(group.name)] * len(fnames)
        if blocks:
            n = min(b.shape[0] for b in blocks)
            arrays["physio"] = np.concatenate([b[:n] for b in blocks], axis=1)
            names["physio"] = cols
            if len(set(devices)) > 1:  # WESAD: chest and wrist, each also a modality of its own
                for dev in sorted(set(devices)):
                    keep = np.array([d == dev for d in devices])
                    arrays[f"physio.{dev}"] = arrays["physio"][:, keep]
                    names[f"physio.{dev}"] = [c for c, k in zip(cols, keep) if k]
    if arrays:
        n = min(a.shape[0] for a in arrays.values())
        longest = max(a.shape[0] for a in arrays.values())
        if longest - n > 1:
            logger.warning("%s: modalities give %d..%d frames; cut to %d", trial.info.key, n, longest, n)
        arrays = {k: np.ascontiguousarray(a[:n]) for k, a in arrays.items()}
    return TrialFeatures(arrays, names)


def _device(group_name: str) -> str:
    """Which device a signal group comes from: ``wrist_*`` groups the wrist band (WESAD's E4), others the chest
    / body sensors."""
    return "wrist" if group_name.startswith("wrist_") else "chest"


def _eeg_frames(x: np.ndarray, sfreq: float, config: BenchRunConfig, featuriser) -> np.ndarray:
    from eegaffect.datasets.features import featurise_trial

    if featuriser is not None:
        out = featuriser(np.ascontiguousarray(x, dtype=np.float64), float(sfreq))
    else:
        out = featurise_trial(x, sfreq, config.pipeline, "features")
    return np.asarray(out, dtype=np.float64).reshape(out.shape[0], -1)


def _correct(frames: np.ndarray, baseline_frames: np.ndarray) -> np.ndarray:
    """Subtract the trial's own baseline mean per column (columns without a finite baseline value are kept)."""
    if baseline_frames.shape[0] == 0:
        return frames
    with np.errstate(all="ignore"):
        finite = np.isfinite(baseline_frames)
        count = finite.sum(axis=0)
        mean = np.where(count > 0, np.where(finite, baseline_frames, 0.0).sum(axis=0) / np.maximum(count, 1), 0.0)
    return frames - mean[None, :]


# ------------------------------------------------------------------------------------------------------ models
class FeatureModel:
    """A scikit-learn model over the concatenated features of some modalities (see the module table).

    Every statistic (imputation medians, scaling, feature selection, the estimator) is fitted on the training
    fold only, inside one sklearn Pipeline.
    """

    def __init__(self, name: str, modalities: tuple[str, ...], kind: str, task: str, *, C: float = 1.0,
                 alpha: float = 1.0, k_best: int | None = None, max_iter: int = 2000):
        if C <= 0 or alpha < 0 or max_iter < 1 or (k_best is not None and k_best < 1):
            raise ValueError(f"{name}: expected C > 0, alpha >= 0, max_iter >= 1, k_best >= 1 or None, got "
                             f"C={C}, alpha={alpha}, max_iter={max_iter}, k_best={k_best}")
        self.name, self.modalities, self.kind, self.task = name, modalities, kind, task
        self.C, self.alpha, self.k_best, self.max_iter = float(C), float(alpha), k_best, int(max_iter)
        self.pipelines_: list = []
        self.constant_: Any = None
        self.meta_ = None

    def _pipeline(self, seed: int, n_features: int):
        from sklearn.feature_selection import (
            SelectKBest,
            VarianceThreshold,
            f_classif,
            f_regression,
        )
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import LinearSVC

        steps: list = [SimpleImputer(strategy="median"), VarianceThreshold(0.0), StandardScaler()]
        if self.k_best and len(self.modalities) > 1:
            steps.append(SelectKBest(f_regression if self.task == "regression" else f_classif,
                                     k=min(self.k_best, n_features)))
        if self.kind == "svm":
            steps.append(LinearSVC(C=self.C, max_iter=self.max_iter, random_state=seed))
        elif self.kind in ("logreg", "late", "stack"):
            steps.append(LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=seed))
        else:
            steps.append(Ridge(alpha=self.alpha))
        return make_pipeline(*steps)

    def fit(self, xs: dict[str, np.ndarray], y: np.ndarray, *, seed: int,
            groups: np.ndarray | None = None) -> "FeatureModel":
        """Fit on training frames.

        Parameters
        ----------
        xs : dict of str to ndarray, shape (n_frames, n_features_m)
            Training features per modality.
        y : ndarray, shape (n_frames,) or (n_frames, 2)
            Class per frame, or valence/arousal per frame.
        seed : int
            Seed of the estimators.
        groups : ndarray, shape (n_frames,) | None
            Trial of each frame; the stacking model's inner folds split by it (never inside a trial).

        Returns
        -------
        self : FeatureModel
        """
        from eegaffect.benchmark.baselines import _quiet_convergence

        self.pipelines_, self.constant_, self.meta_ = [], None, None
        if self.task == "classification" and np.unique(y).size < 2:
            self.constant_ = int(y[0])  # a fold whose training side has one class: predict it
            return self
        if self.kind == "stack":
            with _quiet_convergence():
                return self._fit_stack(xs, y, seed, groups)
        blocks = [[m] for m in self.modalities] if self.kind == "late" else [list(self.modalities)]
        # regression: one pipeline per target column (valence, arousal), so feature selection scores each
        targets = [y[:, c] for c in range(y.shape[1])] if self.task == "regression" else [y]
        with _quiet_convergence():
            for mods in blocks:
                x = np.concatenate([xs[m] for m in mods], axis=1)
                for target in targets:
                    pipe = self._pipeline(seed, x.shape[1])
                    pipe.fit(x, target)
                    self.pipelines_.append((mods, pipe))
        return self

    def _fit_stack(self, xs, y, seed: int, groups) -> "FeatureModel":
        """Per-modality logistic regressions, then a logistic regression on their out-of-fold log-odds (inner
        folds by trial, inside the training fold: the meta-model never sees a prediction on its own training
        frames)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GroupKFold

        groups = np.arange(y.size) if groups is None else np.asarray(groups)
        classes = np.unique(y)
        n_inner = min(3, np.unique(groups).size)
        oof = []
        for m in self.modalities:
            col = np.tile(np.mean(y[:, None] == classes[None, :], axis=0), (y.size, 1))  # prior where unfit
            if n_inner >= 2:
                for tr, te in GroupKFold(n_splits=n_inner).split(xs[m], y, groups):
                    if np.unique(y[tr]).size == classes.size:
                        inner = self._pipeline(seed, xs[m].shape[1]).fit(xs[m][tr], y[tr])
                        col[te] = inner.predict_proba(xs[m][te])
            oof.append(col)
            self.pipelines_.append(([m], self._pipeline(seed, xs[m].shape[1]).fit(xs[m], y)))
        self.meta_ = LogisticRegression(C=1.0, max_iter=self.max_iter, random_state=seed).fit(_logit(oof), y)
        return self

    def predict(self, xs: dict[str, np.ndarray]) -> np.ndarray:
        """Predicted class (n_frames,) or valence/arousal (n_frames, 2)."""
        n = next(iter(xs.values())).shape[0]
        if self.constant_ is not None:
            return np.full(n, self.constant_, dtype=np.int64)
        if self.kind == "stack":
            probs = [pipe.predict_proba(xs[mods[0]]) for mods, pipe in self.pipelines_]
            return self.meta_.predict(_logit(probs)).astype(np.int64)
        if self.kind == "late":
            probs = [pipe.predict_proba(np.concatenate([xs[m] for m in mods], axis=1))
                     for mods, pipe in self.pipelines_]
            classes = self.pipelines_[0][1].classes_
            return classes[np.mean(probs, axis=0).argmax(axis=1)].astype(np.int64)
        outs = [pipe.predict(np.concatenate([xs[m] for m in mods], axis=1)) for mods, pipe in self.pipelines_]
        if self.task == "regression":
            return np.column_stack(outs).astype(np.float64)
        return np.asarray(outs[0], dtype=np.int64)


def _logit(probs: list[np.ndarray]) -> np.ndarray:
    p = np.clip(np.concatenate(probs, axis=1), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def make_model(name: str, modalities: tuple[str, ...] | None = None, **params) -> FeatureModel:
    """A fresh model of :data:`MODALITY_MODELS` by name (``modalities`` overrides its inputs, see
    :func:`resolve_modalities`)."""
    if name not in MODALITY_MODELS:
        raise ValueError(f"unknown model {name!r} for bench run; available: {sorted(MODALITY_MODELS)}")
    mods, kind, task = MODALITY_MODELS[name]
    return FeatureModel(name, tuple(modalities or mods), kind, task, **params)


def resolve_modalities(name: str, available) -> tuple[str, ...]:
    """The inputs of model ``name`` on a dataset with the ``available`` modalities: fusion models fuse EEG and
    physiology, or, on a dataset without EEG whose physiology comes from two devices (WESAD), chest and wrist."""
    mods = MODALITY_MODELS[name][0]
    if len(mods) > 1 and "eeg" not in available and {"physio.chest", "physio.wrist"} <= set(available):
        return ("physio.chest", "physio.wrist")
    return mods


def modality_of(name: str, available=("eeg", "physio")) -> str:
    """``"eeg"``, ``"physio"``, ``"physio-chest"``, ``"physio-wrist"``, ``"physio (all devices)"`` (every
    physiological feature of a two-device dataset: itself a fusion of devices) or ``"fusion"``."""
    mods = resolve_modalities(name, available)
    if len(mods) > 1:
        return "fusion"
    if mods[0] == "physio" and {"physio.chest", "physio.wrist"} <= set(available):
        return "physio (all devices)"
    return mods[0].replace(".", "-")


# ------------------------------------------------------------------------------------------------------ runner
def run_multimodal_benchmark(root: str | Path, config: BenchRunConfig, out_dir: str | Path, *,
                             physio_fn: PhysioFn | None = pipeline_physio_features, dataset=None,
                             reader_options: dict | None = None) -> MultimodalResult:
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

    Returns
    -------
    result : MultimodalResult
    """
    if not isinstance(config, BenchRunConfig):
        raise TypeError(f"config must be a BenchRunConfig, got {type(config).__name__}")
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
    va = [_frame_va(t, f.n_frames, config) for t, f in zip(data.trials, feats)]
    for fold in folds:
        train, test = list(fold.train), list(fold.test)
        for model_name in models:
            result.rows.append(_fit_score(model_name, config, fold, train, test, feats, va, tasks, data.trials,
                                          available))
            result.modalities[model_name] = modality_of(model_name, available)
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


def _featurise(data, config: BenchRunConfig, physio_fn, needed, result: MultimodalResult) -> list[TrialFeatures]:
    from eegaffect.datasets.features import _Featuriser

    featuriser = _Featuriser(config.pipeline, "features")
    cache = _FeatureFiles(data, config, physio_fn) if config.cache_dir else None
    _warm_up(data.trials[0], config, physio_fn, needed, featuriser)
    out: dict[int, TrialFeatures] = {}
    t_all = time.perf_counter()
    for source in data.source_files():
        trials = [(i, t) for i, t in enumerate(data.trials) if t.info.source == source]
        cached = cache.load(source, [t for _, t in trials]) if cache else None
        if cached is not None:
            out.update({i: f for (i, _), f in zip(trials, cached)})
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        feats = [extract_features(t, config, physio_fn, needed, featuriser) for _, t in trials]
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        subject = trials[0][1].info.subject
        result.subject_seconds[subject] = result.subject_seconds.get(subject, 0.0) + elapsed
        result.subject_cpu_s[subject] = result.subject_cpu_s.get(subject, 0.0) + cpu
        logger.info("featurised %s (%d trials) in %.2f s wall, %.2f s CPU", source.name, len(trials), elapsed, cpu)
        if cache:
            cache.save(source, [t for _, t in trials], feats)
        out.update({i: f for (i, _), f in zip(trials, feats)})
        for _, t in trials:  # drop the reader's one-subject store before the next subject
            store = getattr(getattr(t, "_group_loader", None), "store", None)
            if store is not None and hasattr(store, "clear"):
                store.clear()
    result.feature_wall_s = time.perf_counter() - t_all
    return [out[i] for i in range(len(data.trials))]


def _warm_up(trial, config: BenchRunConfig, physio_fn, needed, featuriser) -> None:
    """Compile the kernels (or load numba's cache) and design the filters on a few seconds of noise, so the timed
    featurisation measures the work, not the compilation."""
    from eegaffect.datasets.multimodal import PHYSIO_KINDS

    rng = np.random.default_rng(0)
    info = trial.info
    if "eeg" in needed and getattr(trial, "groups", {"eeg": None}).get("eeg", True) is not None:
        featuriser(rng.normal(size=(int(2 * info.sfreq) + 1, info.n_chans)), float(info.sfreq))
    if "physio" in needed and physio_fn is not None:
        win, hop = config.pipeline.features.window_s, config.pipeline.features.hop_s
        for group in getattr(trial, "groups", {}).values():
            if group.kind in PHYSIO_KINDS:
                physio_fn(group.kind, rng.normal(size=int(4 * max(win, 1.0) * group.sfreq) + 1), group.sfreq, win,
                          hop)


def _frame_va(trial, n_frames: int, config: BenchRunConfig) -> np.ndarray:
    """Per-frame valence/arousal: the project's one rule (:func:`eegaffect.targets.trial_frame_targets` at the
    frames' end times, :func:`eegaffect.pipeline.frame_times`); NaN where unknown."""
    from eegaffect.pipeline import frame_times, window_hop
    from eegaffect.targets import trial_frame_targets

    window, hop = window_hop(config.pipeline)
    return trial_frame_targets(trial, frame_times(n_frames, window, hop, config.pipeline.sfreq))


def _stack(idx, feats, mods) -> dict[str, np.ndarray]:
    return {m: np.concatenate([feats[j].arrays[m] for j in idx], axis=0) for m in mods}


def _fit_score(name, config: BenchRunConfig, fold, train, test, feats, va, tasks, trials, available) -> dict:
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
    for prefix, label_of in tasks:
        ytr = np.repeat([label_of(trials[j]) for j in train], steps_tr)
        yte = np.repeat([label_of(trials[j]) for j in test], steps_te)
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


def fusion_comparison(summary: list[dict]) -> list[str]:
    """Sentences comparing each fusion model with the best single-modality model, per primary metric."""
    lines = []
    for metric in ("valence_accuracy", "arousal_accuracy", "accuracy", "stress_accuracy", "valence_ccc",
                   "arousal_ccc"):
        have = [s for s in summary if s.get(f"{metric}_mean") is not None]
        single = [s for s in have if s["modality"] not in ("fusion", "physio (all devices)")]
        fused = [s for s in have if s["modality"] == "fusion"]
        if not single or not fused:
            continue
        best = max(single, key=lambda s: s[f"{metric}_mean"])
        for f in fused:
            diff = f[f"{metric}_mean"] - best[f"{metric}_mean"]
            verdict = "beats" if diff > 1e-12 else "only ties" if abs(diff) <= 1e-12 else "does NOT beat"
            lines.append(f"{metric}: {f['model']} {f[f'{metric}_mean']:.3f} {verdict} the best single modality "
                         f"({best['model']}, {best['modality']}) {best[f'{metric}_mean']:.3f} ({diff:+.3f})")
    return lines


# ------------------------------------------------------------------------------------------------------ output
def _write(result: MultimodalResult, out_dir: Path, config: BenchRunConfig) -> dict[str, Path]:
    from eegaffect.benchmark.report import _clean, write_results_json

    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    doc = {"dataset": result.dataset, "protocol": result.protocol,
           "rows": [{k: _clean(r.get(k)) for k in ROW_KEYS} for r in result.rows],
           "summary": [{k: _clean(v) for k, v in s.items()} for s in result.summary],
           "fusion_vs_best_single": result.comparison}
    files["json"] = write_results_json(out_dir / "results.json", doc)
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(ROW_KEYS)
    for r in result.rows:
        writer.writerow(["" if _clean(r.get(k)) is None else _clean(r.get(k)) for k in ROW_KEYS])
    files["csv"] = _atomic(out_dir / "results.csv", buf.getvalue())
    files["markdown"] = _atomic(out_dir / "results.md", modality_table(result))
    run = {"feature_wall_s": result.feature_wall_s, "subject_featurise_s": result.subject_seconds,
           "subject_featurise_cpu_s": result.subject_cpu_s,
           "peak_rss_mb": result.peak_rss_mb, "config": config.model_dump(mode="json")}
    files["run"] = write_results_json(out_dir / "run.json", run)
    if config.plots:
        files["plot:summary"] = _plot(result, out_dir / "plots")
    return files


def _atomic(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def modality_table(result: MultimodalResult) -> str:
    """Markdown: mean ± std over subjects per model, with its modality, for every metric that applies."""
    metrics = [m for m in RUN_METRICS if any(s.get(f"{m}_mean") is not None for s in result.summary)]
    lines = [f"# Benchmark: {result.dataset}, {result.protocol}", "",
             f"Mean ± std over subjects (each subject's folds averaged first); {len(result.rows)} fold results.", "",
             "| model | modality | subjects | " + " | ".join(m.replace("_", " ") for m in metrics) + " |",
             "|---|---|---:|" + "---:|" * len(metrics)]
    order = {"eeg": 0, "physio": 1, "fusion": 2}
    for s in sorted(result.summary, key=lambda s: order.get(s["modality"], 3)):
        cells = ["–" if s.get(f"{m}_mean") is None else f"{s[f'{m}_mean']:.3f} ± {s[f'{m}_std']:.3f}"
                 for m in metrics]
        lines.append(f"| {s['model']} | {s['modality']} | {s.get('n_subjects', '')} | " + " | ".join(cells) + " |")
    if result.comparison:
        lines += ["", "## Fusion against the best single modality", ""] + [f"- {c}" for c in result.comparison]
    return "\n".join(lines) + "\n"


def _plot(result: MultimodalResult, folder: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    metrics = [m for m in ("accuracy", "valence_accuracy", "arousal_accuracy", "stress_accuracy", "valence_ccc",
                           "arousal_ccc") if any(s.get(f"{m}_mean") is not None for s in result.summary)]
    colours = {"eeg": "tab:blue", "physio": "tab:orange", "fusion": "tab:green"}
    fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=(4 * max(1, len(metrics)), 3.5), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        have = [s for s in result.summary if s.get(f"{metric}_mean") is not None]
        ax.bar(range(len(have)), [s[f"{metric}_mean"] for s in have], yerr=[s[f"{metric}_std"] for s in have],
               color=[colours.get(s["modality"].split("-")[0].split(" ")[0], "grey") for s in have])
        ax.set_xticks(range(len(have)), [s["model"] for s in have], rotation=60, ha="right", fontsize=7)
        ax.set_title(metric.replace("_", " "), fontsize=9)
    fig.suptitle(f"{result.dataset}, {result.protocol} (blue EEG, orange physiology, green fusion)", fontsize=9)
    fig.tight_layout()
    path = folder / "summary.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _physio_defaults() -> dict | None:
    """The physiological pipeline's default settings (part of the feature-file key), None when not installed."""
    try:
        from eegaffect.physio.config import PhysioConfig
    except ImportError:
        return None
    return PhysioConfig().model_dump(mode="json")


class _FeatureFiles:
    """Per-source-file ``.npz`` of the features, keyed by the dataset files and every setting that changes them."""

    def __init__(self, data, config: BenchRunConfig, physio_fn):
        files = []
        for path in data.source_files():
            st = Path(path).stat()
            files.append([str(Path(path).resolve()), st.st_size, st.st_mtime_ns])
        fn = None if physio_fn is None else f"{physio_fn.__module__}.{getattr(physio_fn, '__qualname__', '')}"
        doc = {"format": _FORMAT, "dataset": data.name, "pipeline": config.pipeline.model_dump(mode="json"),
               "baseline": config.baseline_correction, "physio": fn, "physio_config": _physio_defaults(),
               "files": files}
        key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
        self.folder = Path(config.cache_dir).expanduser() / f"multimodal-{data.name}-{key}"

    def _path(self, source: Path) -> Path:
        return self.folder / f"{Path(source).name}.npz"

    def load(self, source: Path, trials) -> list[TrialFeatures] | None:
        path = self._path(source)
        if not path.is_file():
            return None
        out = []
        with np.load(path, allow_pickle=False) as z:
            for t in trials:
                arrays = {m: z[f"{t.info.key}|{m}"] for m in ("eeg", "physio") if f"{t.info.key}|{m}" in z.files}
                names = {m: list(z[f"names|{m}"]) for m in arrays if f"names|{m}" in z.files}
                out.append(TrialFeatures(arrays, names))
        return out

    def save(self, source: Path, trials, feats: list[TrialFeatures]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        payload: dict[str, np.ndarray] = {}
        for t, f in zip(trials, feats):
            for m, a in f.arrays.items():
                payload[f"{t.info.key}|{m}"] = a
                payload[f"names|{m}"] = np.asarray(f.names.get(m, []))
        path = self._path(source)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npz")
        np.savez(tmp, **payload)
        os.replace(tmp, path)
