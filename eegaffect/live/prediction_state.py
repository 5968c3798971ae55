"""The live session's predictor state between updates (:class:`PredictionState`) and the gap rule on timestamps
(:func:`split_gaps`).

A gap shorter than ``reset_after_gap_s`` leaves the predictor's filters and context running but marks every frame
whose window reaches back before it as not valid (nothing computed across a gap is pushed); a longer one restarts the
predictor. A fused model's device frames are taken at each step and placed on the predictor's own clock.
"""

from __future__ import annotations

import numpy as np

from eegaffect.live.record import _Record

__all__ = ["PredictionState", "split_gaps"]


class PredictionState:
    """The session's predictor between updates: which samples are clean since the last gap, the newest frame's
    estimate, and the devices' frames for a fused model.

    Parameters
    ----------
    predictor : Predictor
        The loaded model (:class:`~eegaffect.models.predictor.Predictor`).
    sfreq_in : float
        The stream's sampling rate in Hz.
    reset_after_s : float
        A gap at least this long restarts the predictor; a shorter one only invalidates the frames that span it.
    physio : PhysioInputs or None
        The devices (:class:`~eegaffect.live.physio_inputs.PhysioInputs`) a fused model reads; ignored by an
        EEG-only model.
    """

    def __init__(self, predictor, sfreq_in: float, reset_after_s: float, physio=None):
        self.predictor = predictor
        #: the devices whose frames a fused model reads (None: an EEG-only model)
        self.physio = physio if predictor.physio_kinds else None
        self.sfreq_in = sfreq_in
        self.reset_after_s = reset_after_s
        f = predictor.pipeline_config.features
        self.window_s = f.window_s
        self.n_fed = 0  # samples fed since the last reset
        self.clean_from = 0  # first fed sample after the last short gap
        self.current: tuple | None = None  # ("ok", va, confidence, code) / ("invalid",) of the newest frame
        self.n_resets = 0

    def reset(self) -> None:
        """Restart the predictor (filters, windows, model context) and forget the newest frame."""
        self.predictor.reset()
        self.n_fed = 0
        self.clean_from = 0
        self.current = None
        self.n_resets += 1

    def gap(self, seconds: float) -> None:
        """A gap of ``seconds`` in the samples: restart when it is at least ``reset_after_s``, else invalidate every
        frame whose window reaches back before it.
        """
        self.current = None
        if seconds >= self.reset_after_s:
            self.reset()
        else:
            self.clean_from = self.n_fed

    def feed(self, x: np.ndarray, ts: np.ndarray, record: _Record) -> bool:
        """Feed samples; return whether a new frame was produced.

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_chans)
            New samples in the model's channel order.
        ts : ndarray, shape (n_samples,)
            Their LSL timestamps in seconds.
        record : _Record
            The session's record: each valid frame's stamp and estimate are appended to it.

        Returns
        -------
        new_frame : bool
        """
        before = self.n_fed
        if self.physio is None:
            pred = self.predictor.step(x)
        else:
            pred = self.predictor.step(x, physio=self._physio_frames(ts, record))
        self.n_fed += len(x)
        if len(pred) == 0:
            return False
        for k in range(len(pred)):
            end = pred.time_s[k] * self.sfreq_in  # in samples since the reset
            start = end - self.window_s * self.sfreq_in
            va = np.asarray(pred.va[k], dtype=np.float64)
            conf, code = float(pred.confidence[k]), int(pred.code[k])
            if start < self.clean_from:
                self.current = None
                continue
            if not (np.all(np.isfinite(va)) and np.isfinite(conf)):
                self.current = ("invalid",)
                continue
            self.current = ("ok", va, float(np.clip(conf, 0.0, 1.0)), code)
            idx = int(np.clip(round(end) - 1 - before, 0, len(ts) - 1))
            record.frame_ts.append(float(ts[idx]))
            record.frame_va.append(va)
        return True


    def _physio_frames(self, ts: np.ndarray, record: _Record) -> dict:
        """The devices' new frames on the predictor's clock: a frame stamped ``T`` (the session time of its EEG
        frame end, the stamp of that frame's last sample) is at ``T - anchor + 1 / sfreq`` seconds, ``anchor``
        the stamp of the predictor's sample 0 as the newest samples place it (after a short gap the predictor's
        clock counts samples, the devices' true time: anchoring on the newest samples keeps recent frames right).
        """
        anchor = float(ts[0]) - self.n_fed / self.sfreq_in
        new = self.physio.take_new(self.predictor.physio_kinds)
        for kind, rows in new.items():
            record.physio_in[kind] = record.physio_in.get(kind, 0) + len(rows)
        return {k: [(t - anchor + 1.0 / self.sfreq_in, row) for t, row in rows] for k, rows in new.items()}


def split_gaps(ts: np.ndarray, last_ts: float, sfreq: float, tol: float) -> list[tuple[int, float]]:
    """Positions in ``ts`` preceded by a gap (:func:`~eegaffect.acquisition.lsl.health.gap_limit`, the rule
    :class:`~eegaffect.acquisition.lsl.Stream` counts losses by), with the gap's length in seconds.

    Parameters
    ----------
    ts : ndarray, shape (n_samples,)
        Timestamps of the new samples, seconds.
    last_ts : float
        Timestamp of the sample before them (NaN at the start).
    sfreq : float
        Nominal rate in Hz.
    tol : float
        Timestamp jitter tolerated, seconds.

    Returns
    -------
    gaps : list of (int, float)
        (index in ``ts`` of the first sample after the gap, the gap's length in seconds).
    """
    from eegaffect.acquisition.lsl.health import gap_limit

    prev = np.concatenate([[last_ts if np.isfinite(last_ts) else ts[0] - 1.0 / sfreq], ts[:-1]])
    steps = ts - prev
    limit = gap_limit(sfreq, tol)
    where = np.flatnonzero(steps > limit)
    return [(int(i), float(steps[i] - 1.0 / sfreq)) for i in where]
