"""Pairing feature frames with valence/arousal targets: the one rule every caller uses.

A frame is stamped at its window's END (:func:`eegaffect.pipeline.frame_times`); its target is the target
series' value at that time (:func:`frame_targets`). Training (:mod:`eegaffect.models.training`), the benchmark
(:mod:`eegaffect.benchmark.runner`), the distillation teacher, the demo recipe and ``bench live`` all pair frames
with targets here, and the :class:`~eegaffect.models.predictor.Predictor` stamps its outputs at the same times,
so what a model is trained on, scored against and what it outputs live refer to the same moment.
"""

from __future__ import annotations

import numpy as np

__all__ = ["frame_targets", "trial_frame_targets", "sample_times"]


def frame_targets(frame_times, target_times, target_values) -> np.ndarray:
    """The target value at each frame's time stamp.

    Rule: linear interpolation between target points. A target series sampled every ``dt`` seconds (the median
    spacing of ``target_times``) spans ``[target_times[0], target_times[-1] + dt]``: its last point stands for
    one sampling period, as a sample does, so a frame ending exactly at the end of a trial whose annotation's
    last row is one period earlier still has a target (the last value, held). Outside that span the target is
    unknown and the result is NaN (never an extrapolated or made-up value). A single target point has ``dt = 0``.

    Parameters
    ----------
    frame_times : array-like, shape (n_frames,)
        Frame time stamps in seconds (:func:`eegaffect.pipeline.frame_times`: window ends), on the same clock as
        ``target_times``.
    target_times : array-like, shape (n_points,)
        Times of the target points in seconds, strictly increasing, finite.
    target_values : array-like, shape (n_points,) or (n_points, n_targets)
        Target values (NaN allowed: it propagates to the frames next to it).

    Returns
    -------
    targets : ndarray, shape (n_frames, n_targets)
        Float64; ``n_targets = 1`` for one-dimensional ``target_values``.

    Examples
    --------
    >>> frame_targets([0.5, 1.0, 2.5], [0.0, 1.0, 2.0], [0.0, 1.0, 0.0])[:, 0]
    array([0.5, 1. , nan])
    """
    ft = np.asarray(frame_times, dtype=np.float64)
    tt = np.asarray(target_times, dtype=np.float64)
    tv = np.asarray(target_values, dtype=np.float64)
    if ft.ndim != 1:
        raise ValueError(f"frame_times must have shape (n_frames,), got {ft.shape}")
    if tt.ndim != 1 or tt.size == 0:
        raise ValueError(f"target_times must have shape (n_points,) with n_points >= 1, got {tt.shape}")
    if tv.ndim == 1:
        tv = tv[:, None]
    if tv.ndim != 2 or tv.shape[0] != tt.size:
        raise ValueError(f"target_values must have shape ({tt.size},) or ({tt.size}, n_targets) to match "
                         f"target_times, got {np.shape(target_values)}")
    if not np.all(np.isfinite(tt)) or np.any(np.diff(tt) <= 0):
        raise ValueError("target_times must be finite and strictly increasing")
    return _frame_targets(ft, tt, tv)


def _frame_targets(ft: np.ndarray, tt: np.ndarray, tv: np.ndarray) -> np.ndarray:
    dt = float(np.median(np.diff(tt))) if tt.size > 1 else 0.0
    # relative tolerance: t_last + dt in floating point (59.9 + 0.1) may land a few ulps below a frame's 60.0
    end = tt[-1] + dt + 1e-9 * max(dt, abs(tt[-1]), 1.0)
    out = np.column_stack([np.interp(ft, tt, tv[:, k]) for k in range(tv.shape[1])]) if ft.size else \
        np.zeros((0, tv.shape[1]))
    out[(ft < tt[0]) | (ft > end)] = np.nan
    return out


def sample_times(n_times: int, sfreq: float, t0: float = 0.0) -> np.ndarray:
    """Times of ``n_times`` regular samples: sample ``i`` is at ``t0 + i / sfreq`` seconds.

    Parameters
    ----------
    n_times : int
        Number of samples.
    sfreq : float
        Sampling rate in Hz.
    t0 : float
        Time of sample 0 in seconds.

    Returns
    -------
    times : ndarray, shape (n_times,)
    """
    if not float(sfreq) > 0:
        raise ValueError(f"sfreq must be > 0 (Hz), got {sfreq!r}")
    return float(t0) + np.arange(int(n_times), dtype=np.float64) / float(sfreq)


def trial_frame_targets(trial, frame_times) -> np.ndarray:
    """Per-frame valence/arousal of a dataset trial: its continuous annotation, else its label point.

    Parameters
    ----------
    trial : eegaffect.datasets.base.Trial
        A dataset trial (``continuous_targets()``, ``info.valence``, ``info.arousal``).
    frame_times : array-like, shape (n_frames,)
        Frame time stamps in seconds from the trial's first sample (:func:`eegaffect.pipeline.frame_times`).

    Returns
    -------
    va : ndarray, shape (n_frames, 2)
        With a continuous annotation (``time_s, valence, arousal``): :func:`frame_targets` of it (NaN outside its
        span). Without one: the trial's valence/arousal repeated, NaN where the trial has none.
    """
    ft = np.asarray(frame_times, dtype=np.float64)
    ann = trial.continuous_targets()
    if ann is not None:
        return frame_targets(ft, ann[:, 0], ann[:, 1:3])
    v = np.nan if trial.info.valence is None else float(trial.info.valence)
    a = np.nan if trial.info.arousal is None else float(trial.info.arousal)
    return np.tile(np.array([v, a], dtype=np.float64), (ft.size, 1))
