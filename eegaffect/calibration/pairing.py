"""Calibration frames: raw EEG (and a fused bundle's devices) turned into feature frames by the bundle's own
pipelines and paired with a label track by the project's one rule (see :mod:`eegaffect.calibration`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from eegaffect.calibration.base import CalibrationError

__all__ = ["device_signal", "frames_with_labels", "paired_frames"]


def frames_with_labels(predictor, eeg: np.ndarray, sfreq: float, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feature frames of raw EEG (the bundle's pipeline) paired with labels by the project's one rule.

    Frames are stamped at their window's end (:func:`eegaffect.pipeline.frame_times`, the Predictor's stamps)
    and take the label track's value there (:func:`eegaffect.targets.frame_targets`); frames outside the track's
    span are left out. A fused bundle's physiological frames come with :func:`paired_frames`.

    Parameters
    ----------
    predictor : Predictor
        The parent bundle, loaded.
    eeg : ndarray, shape (n_times, n_chans)
        Raw EEG in the bundle's channel order and unit, at ``sfreq``.
    sfreq : float
        Sampling rate of ``eeg``.
    labels : ndarray, shape (n_labels, 3)
        ``time_s, valence, arousal`` with ``time_s`` in seconds from the first sample of ``eeg``.

    Returns
    -------
    features : ndarray, shape (n_frames, n_chans, n_bands)
        Frames with a label.
    va : ndarray, shape (n_frames, 2)
        Their labels.
    """
    features, va, _ = paired_frames(predictor, eeg, sfreq, labels)
    return features, va


def paired_frames(predictor, eeg: np.ndarray, sfreq: float, labels: np.ndarray,
                  physio: Mapping[str, tuple[np.ndarray, float]] | None = None):
    """:func:`frames_with_labels` plus, for a fused bundle, the physiological frame each labelled EEG frame uses.

    Each device's raw signal goes through the bundle's own physiological pipeline
    (:meth:`~eegaffect.models.predictor.Predictor.physio_frames`, the live stage on the EEG frame clock) and its
    frames are paired with the EEG frames by the bundle's as-of rule (:func:`eegaffect.models.fusion.asof_rows`:
    EEG frame ``k`` uses frame ``k - lag``), exactly as :meth:`~eegaffect.models.predictor.Predictor.predict`
    pairs them.

    Parameters
    ----------
    predictor, eeg, sfreq, labels
        As for :func:`frames_with_labels`.
    physio : mapping of str to (ndarray, shape (n_samples,), float) | None
        Per physiological kind, its raw samples starting with the first EEG sample (NaN: no sample) and their
        rate. A kind the bundle expects but not given is missing throughout.

    Returns
    -------
    features : ndarray, shape (n_frames, n_chans, n_bands)
    va : ndarray, shape (n_frames, 2)
    rows : dict of str to ndarray, shape (n_frames, n_features_k) | None
        Per kind given, the physiological frame each labelled EEG frame uses (NaN rows: missing); None for an
        EEG-only bundle.
    """
    from eegaffect.models.fusion import asof_rows
    from eegaffect.pipeline import SignalPipeline
    from eegaffect.targets import frame_targets

    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim != 2 or labels.shape[1] != 3 or len(labels) < 2:
        raise CalibrationError(f"expected a label track of shape (n >= 2, 3) (time_s, valence, arousal), got "
                               f"{labels.shape}")
    labels = labels[np.argsort(labels[:, 0], kind="stable")]
    if np.any(np.diff(labels[:, 0]) <= 0) or not np.all(np.isfinite(labels[:, 0])):
        raise CalibrationError("label times (time_s) must be finite and strictly increasing")
    kinds = list(predictor.physio_kinds)
    if physio and not kinds:
        raise CalibrationError(f"this bundle is EEG-only; got physiological signals for {sorted(physio)}")
    unknown = sorted(set(physio or {}) - set(kinds))
    if unknown:
        raise CalibrationError(f"this bundle fuses {kinds}; got physiological signals for {unknown} too")
    pipe = SignalPipeline(predictor.pipeline_config, n_chans=predictor.n_chans, sfreq_in=float(sfreq))
    frames = np.asarray(pipe.process(np.ascontiguousarray(eeg, dtype=np.float64)))
    frames = frames.reshape(-1, predictor.chain.n_chans, predictor.chain.n_bands)
    va = frame_targets(pipe.frame_times(len(frames)), labels[:, 0], labels[:, 1:3])
    keep = np.all(np.isfinite(va), axis=1)
    rows = None
    if kinds:
        rows = {}
        for kind, (samples, rate) in (physio or {}).items():
            lag = predictor.chain.physio.modality(kind).lag
            rows[kind] = asof_rows(predictor.physio_frames(kind, samples, rate), len(frames), lag)[keep]
    return frames[keep], va[keep], rows


def device_signal(samples: np.ndarray, times_s: np.ndarray, sfreq: float) -> np.ndarray:
    """A device's samples as a signal starting with the first EEG sample (what :func:`paired_frames` takes).

    Each sample goes to the slot its time gives at the device's nominal rate (``round(time_s * sfreq)``); slots no
    sample reached (the device started after the EEG, lost samples, a stall) are NaN, the physiological stages'
    missing-sample marker, so nothing is made up and the samples after a gap keep their time. Samples before the
    EEG's first sample are dropped.

    Parameters
    ----------
    samples : ndarray, shape (n_samples,)
        The device's samples, in order.
    times_s : ndarray, shape (n_samples,)
        Their times in seconds from the first EEG sample (NaN: not placeable, dropped).
    sfreq : float
        The device's nominal rate.

    Returns
    -------
    signal : ndarray, shape (n,)
    """
    x = np.asarray(samples, np.float64).reshape(-1)
    t = np.asarray(times_s, np.float64).reshape(-1)
    if x.shape != t.shape or not sfreq > 0:
        raise ValueError(f"expected samples and times of one shape and sfreq > 0, got {x.shape}, {t.shape} and "
                         f"{sfreq}")
    slot = np.round(np.where(np.isfinite(t), t, -1.0) * sfreq)
    keep = slot >= 0
    if not keep.any():
        return np.zeros(0)
    slot = slot[keep].astype(np.int64)
    out = np.full(int(slot.max()) + 1, np.nan)
    out[slot] = x[keep]  # a repeated slot keeps the later sample
    return out
