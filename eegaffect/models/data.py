"""Training data: :class:`Sequences` (per-trial feature frames and V/A targets) and loading them from a dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from eegaffect._logging import logger
from eegaffect._progress import progress
from eegaffect.models.config import TrainConfig
from eegaffect.pipeline import PipelineConfig, frame_times, window_hop
from eegaffect.targets import trial_frame_targets

__all__ = ["Sequences", "load_sequences", "trial_targets"]


@dataclass
class Sequences:
    """Training sequences kept per trial.

    Attributes
    ----------
    features : list of ndarray, shape (n_steps_i, n_chans, n_bands)
    va : list of ndarray, shape (n_steps_i, 2)
    labels : ndarray of int, shape (n_trials,)
        Class per trial (-1 when unknown).
    n_classes : int
        Number of classes (0: no class head).
    physio : list of dict of str to ndarray, shape (n_steps_i, n_features_k) | None
        For a fused model: per trial and physiological kind, the frame each EEG step uses, already paired by
        the as-of rule (:func:`eegaffect.models.fusion.asof_rows`; NaN rows: missing). None: EEG only.
    physio_meta : dict of str to dict
        Per kind: ``feature_names``, ``sfreq`` (device rate), ``decision_delay_s`` and ``lag`` (frames of the
        as-of rule the rows were paired with).
    """

    features: list[np.ndarray]
    va: list[np.ndarray]
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_classes: int = 0
    physio: list[dict[str, np.ndarray]] | None = None
    physio_meta: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.features:
            raise ValueError("expected at least one training sequence, got none")
        if len(self.labels) == 0:
            self.labels = np.full(len(self.features), -1, np.int64)
        self.labels = np.asarray(self.labels, np.int64)
        if not (len(self.features) == len(self.va) == len(self.labels)):
            raise ValueError(f"expected as many va arrays and labels as feature sequences ({len(self.features)}), "
                             f"got {len(self.va)} and {len(self.labels)}")
        shape = self.features[0].shape[1:]
        for i, (f, v) in enumerate(zip(self.features, self.va)):
            if f.ndim != 3 or f.shape[1:] != shape or v.shape != (f.shape[0], 2) or f.shape[0] < 2:
                raise ValueError(f"sequence {i}: expected features (n_steps >= 2, {shape[0]}, {shape[1]}) and va "
                                 f"(n_steps, 2), got {f.shape} and {v.shape}")
        if self.physio is not None:
            if len(self.physio) != len(self.features):
                raise ValueError(f"expected physiological frames for each of the {len(self.features)} sequences, "
                                 f"got {len(self.physio)}")
            for i, (f, rows) in enumerate(zip(self.features, self.physio)):
                for kind, meta in self.physio_meta.items():
                    r = rows.get(kind)
                    want = (f.shape[0], len(meta["feature_names"]))
                    if r is None or np.shape(r) != want:
                        raise ValueError(f"sequence {i}: expected {kind} frames of shape {want}, got "
                                         f"{None if r is None else np.shape(r)}")

    def subset(self, idx: Sequence[int]) -> "Sequences":
        """The trials ``idx`` as new :class:`Sequences`."""
        return Sequences([self.features[i] for i in idx], [self.va[i] for i in idx], self.labels[list(idx)],
                         self.n_classes, None if self.physio is None else [self.physio[i] for i in idx],
                         self.physio_meta)


def load_sequences(root: str | Path, config: TrainConfig, progress_bar: bool = True):
    """Featurise the configured trials of a dataset through :class:`~eegaffect.pipeline.SignalPipeline`.

    Targets per step come from :func:`trial_targets`: the continuous annotation (``Trial.continuous_targets``) at
    each frame's END (:func:`eegaffect.pipeline.frame_times`, the time the live :class:`Predictor` stamps its
    output with; the benchmark scores against the same targets) when there is one, else the trial's
    valence/arousal from the label table. Frames without a target (outside the annotation's span, or a trial with
    no valence/arousal) are not made up: each trial keeps its longest run of frames with targets, and a trial left
    with fewer than 2 frames is skipped with a warning.

    With ``fusion.physio`` (a fused model), each trial's signals of those kinds are featurised by the physiological
    pipeline on the same frame clock and paired with the EEG frames by the as-of rule
    (:func:`eegaffect.models.fused_data.trial_physio`, as ``eegaffect bench fusion`` and the live session do), then
    cut to the same run of frames; every selected trial must have every kind (checked before any featurising).

    Returns
    -------
    train : Sequences
    meta : dict
        ``ch_names``, ``sfreq`` (input rate), ``unit`` (of the samples, or None), ``band_names``, ``class_names``,
        ``trials``, ``interpolated_channels`` (trial -> channels interpolated with ``data.bad_channels=
        interpolate``; saved in the bundle's report).

    Raises
    ------
    ConfigError
        When a selected trial lacks a ``fusion.physio`` kind (naming the kind and the trial).
    """
    from eegaffect.datasets import load_dataset
    from eegaffect.datasets.base import load_interpolated
    from eegaffect.datasets.features import featurise_trial
    from eegaffect.models.fused_data import trial_physio

    d, kinds = config.data, list(config.fusion.physio)
    options = {"ecg": True} if d.dataset == "dreamer" and "ecg" in kinds else {}  # DREAMER's ECG is opt-in
    ds = load_dataset(root, d.dataset, **options).select(subjects=d.subjects, sessions=d.sessions)
    trials = [t for t in ds if d.trials is None or t.info.trial in d.trials]
    if not trials:
        raise ValueError(f"no trials of {root} match subjects={d.subjects}, sessions={d.sessions}, "
                         f"trials={d.trials}")
    if kinds:
        _check_physio_kinds(trials, kinds)
    feats, vas, labels, kept, skipped, interpolated, physio, physio_meta = [], [], [], [], [], {}, [], {}
    for trial in progress(trials, desc="featurise", unit="trial", leave=False) if progress_bar else trials:
        name = _trial_name(trial)
        if d.bad_channels == "interpolate":  # the explicit alternative to Trial.load's error on a dead channel
            x, bad = load_interpolated(trial)
            if bad:
                interpolated[name] = bad
        else:
            x = trial.load()
        f = featurise_trial(x, trial.info.sfreq, config.pipeline, "features")
        va = trial_targets(trial, len(f), config.pipeline)
        run = _known_run(np.all(np.isfinite(va), axis=1))
        if run.stop - run.start < 2:
            skipped.append(name)
            continue
        if kinds:  # paired on the whole trial (the as-of rule looks back), then cut like the EEG frames
            rows, physio_meta = trial_physio(trial, kinds, len(f), config, f"{name} ({trial.info.source})")
            physio.append({k: r[run] for k, r in rows.items()})
        feats.append(f[run])
        vas.append(va[run])
        labels.append(-1 if trial.info.label is None else int(trial.info.label))
        kept.append(name)
    if skipped:
        logger.warning("%d trial(s) without valence/arousal targets on 2 or more frames skipped: %s", len(skipped),
                       skipped[:5])
    if interpolated:
        logger.warning("interpolated channels without signal (data.bad_channels=interpolate) in %d trial(s): %s",
                       len(interpolated), dict(list(interpolated.items())[:5]))
    if not kept:
        raise ValueError(f"none of the {len(trials)} selected trials of {root} has valence/arousal targets (a "
                         "continuous annotation or label-table valence/arousal); nothing to train on")
    info = trials[0].info
    # SEED, SEED-IV and DREAMER files (and synthetic SEED) hold microvolts, and the DEAP and AMIGOS readers give
    # the EEG in microvolts; generic recordings keep the unit they were recorded in, which the reader does not
    # report, so it stays unknown there
    unit = "uV" if getattr(ds, "name", None) in ("seed", "seed-iv", "dreamer", "deap", "amigos") else None
    meta = {"ch_names": list(info.ch_names), "sfreq": float(info.sfreq), "unit": unit,
            "band_names": [b.name for b in config.pipeline.features.bands],
            "class_names": list(getattr(ds, "class_names", [])), "trials": kept,
            "interpolated_channels": interpolated}
    if kinds:
        logger.info("fused training data: %d trial(s), EEG frames paired with %s frames (as-of lags %s)", len(kept),
                    kinds, {k: m["lag"] for k, m in physio_meta.items()})
    return Sequences(feats, vas, np.asarray(labels), len(meta["class_names"]), physio if kinds else None,
                     physio_meta), meta


def _trial_name(trial) -> str:
    """How training names a dataset trial (``s{subject}/sess{session}/t{trial}``)."""
    return f"s{trial.info.subject}/sess{trial.info.session}/t{trial.info.trial}"


def _check_physio_kinds(trials, kinds: Sequence[str]) -> None:
    """Every trial has every kind (:func:`eegaffect.models.fused_data.check_trial_kinds`, metadata only): the
    error comes before anything is featurised.
    """
    from eegaffect.models.fused_data import check_trial_kinds

    for trial in trials:
        check_trial_kinds(trial, kinds, f"{_trial_name(trial)} ({trial.info.source})")


def trial_targets(trial, n_steps: int, pipeline: PipelineConfig) -> np.ndarray:
    """Per-frame V/A targets of a dataset trial featurised by ``pipeline``.

    Parameters
    ----------
    trial : eegaffect.datasets.base.Trial
        The trial.
    n_steps : int
        Number of feature frames of the trial.
    pipeline : PipelineConfig
        The signal path that made the frames (its window, hop and rate time-stamp them).

    Returns
    -------
    va : ndarray, shape (n_steps, 2)
        :func:`eegaffect.targets.trial_frame_targets` at :func:`eegaffect.pipeline.frame_times` (window ends);
        NaN where the trial has no target.
    """
    window, hop = window_hop(pipeline)
    return trial_frame_targets(trial, frame_times(n_steps, window, hop, pipeline.sfreq))


#: The old name of :func:`trial_targets`.
frame_targets = trial_targets


def _known_run(known: np.ndarray) -> slice:
    """The longest run of True in ``known`` as a slice (empty slice when there is none)."""
    best, start = slice(0, 0), None
    for i, ok in enumerate(np.append(known, False)):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            if i - start > best.stop - best.start:
                best = slice(start, i)
            start = None
    return best
