"""What the dashboard shows of a physiological device, taken from its stage's outputs as they are computed.

The physiological stages already compute everything the dashboard's panels need: the cleaned signal, the heart
rate, the beats (R peaks, pulse peaks), the skin-conductance responses (onset and peak), the breaths and the
breathing rate (:mod:`eegaffect.kernels.physio_base`'s ``StageOutput``). A :class:`PhysioView` is handed each
:class:`~eegaffect.kernels.physio_base.StageOutput` of its device by the device's pipeline, together with the
session times of the samples, and keeps a small, decimated copy of it until the session drains it into the next
dashboard message (:meth:`PhysioView.drain`). Nothing is computed for the dashboard that the stage did not
compute: a missing stretch (NaN-filled by :class:`~eegaffect.live.physio_inputs.PhysioInput`, flagged by the stage)
is NaN in every series, including the stage's filtered signal and rates (which run on through a gap on a held
value), and an event is shown only when the stage decided it (so beats appear after the stage's decision delay,
at their time).

What is kept, per kind (:data:`VIEW_SERIES`): ``name -> (times, values)`` in session seconds

- ``ecg`` / ``ppg``: ``signal`` (the stage's cleaned signal, at most ``signal_hz``), ``hr`` (its instantaneous
  heart rate, bpm, at ``rate_hz``), ``beat`` (each detected beat at the cleaned signal's value; beats the interval
  correction inserted or removed are not detections and are left out) and ``beat_hr`` (each beat at ``60 /
  interval``);
- ``eda``: ``signal`` (cleaned skin conductance, µS), ``tonic``, ``scr_onset`` and ``scr_peak`` (at the cleaned
  conductance);
- ``resp``: ``signal`` (the cleaned belt signal, at most ``slow_hz``), ``rate`` (breaths/min, at ``rate_hz``)
  and ``breath`` (each breath's peak on the signal).

Other kinds (temperature, EMG) have no panel and no view. Decimation keeps every ``d``-th sample of the stream
(by absolute sample index, so chunking does not change which), a display choice: the events are placed at their
own sample's time and value, not on the decimated trace.
"""

from __future__ import annotations

import numpy as np

from eegaffect.kernels.physio_base import QUALITY_NAN

__all__ = ["PhysioView", "VIEW_SERIES", "VIEW_KINDS"]

#: Kind -> the series a view of it carries (see the module docstring).
VIEW_SERIES: dict[str, tuple[str, ...]] = {
    "ecg": ("signal", "hr", "beat", "beat_hr"),
    "ppg": ("signal", "hr", "beat", "beat_hr"),
    "eda": ("signal", "tonic", "scr_onset", "scr_peak"),
    "resp": ("signal", "rate", "breath"),
}
#: Kinds with a dashboard panel.
VIEW_KINDS = tuple(VIEW_SERIES)


class PhysioView:
    """A decimated copy of one device's stage outputs for the dashboard.

    Parameters
    ----------
    kind : str
        One of :data:`VIEW_KINDS`.
    sfreq : float
        The device's rate in Hz.
    signal_hz : float
        Highest rate of the heart signal kept (ECG/PPG ``signal``).
    slow_hz : float
        Highest rate of the EDA and respiration signals kept.
    rate_hz : float
        Rate at which the heart and breathing rates are kept.
    max_points : int
        Most points a series holds between two drains (the oldest go first): a bound for a dashboard that stopped
        draining.
    """

    def __init__(self, kind: str, sfreq: float, *, signal_hz: float = 128.0, slow_hz: float = 8.0,
                 rate_hz: float = 4.0, max_points: int = 20_000):
        if kind not in VIEW_SERIES:
            raise ValueError(f"expected a kind with a dashboard panel, one of {list(VIEW_KINDS)}; got {kind!r}")
        if not sfreq > 0:
            raise ValueError(f"expected sfreq > 0 Hz, got {sfreq!r}")
        self.kind = kind
        self.sfreq = float(sfreq)
        fast = signal_hz if kind in ("ecg", "ppg") else slow_hz
        self._d_signal = max(1, int(np.floor(self.sfreq / fast)))
        self._d_rate = max(1, int(np.floor(self.sfreq / rate_hz)))
        self._max = int(max_points)
        self._pending: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {name: [] for name in VIEW_SERIES[kind]}
        self._n_pending = dict.fromkeys(VIEW_SERIES[kind], 0)

    @property
    def series(self) -> tuple[str, ...]:
        """Names of the series this view carries."""
        return VIEW_SERIES[self.kind]

    def add(self, out, start: int, times: np.ndarray, event_time, event_value) -> None:
        """Take one stage output.

        Parameters
        ----------
        out : StageOutput
            The stage's output for samples ``start .. start + n - 1`` (``n = len(times)``).
        start : int
            Absolute index of the output's first sample.
        times : ndarray, shape (n,)
            Session times of those samples (s).
        event_time : callable
            ``samples (ndarray of int) -> session times`` (NaN where unknown) of earlier samples.
        event_value : callable
            ``(samples, column) -> the stage's continuous output`` at earlier samples (NaN where no longer kept).
        """
        n = len(times)
        if not n and not len(out.events):  # the pipeline's empty steps (frame ends given): nothing to show
            return
        cont = np.asarray(out.continuous, dtype=np.float64)
        cont = cont.reshape(n, -1) if n else cont.reshape(0, max(1, cont.shape[-1] if cont.ndim == 2 else 1))
        if n:
            # a missing sample (NaN in, the stage's NaN flag) is shown as missing: the stage's filters run on through
            # a gap on a held value, and what they output there is not the person's signal
            missing = (np.asarray(out.quality) & QUALITY_NAN) != 0
            if missing.any():
                cont = cont.copy()
                cont[missing] = np.nan
            idx = start + np.arange(n)
            keep = idx % self._d_signal == 0
            self._put("signal", times[keep], cont[keep, 0])
            if self.kind == "eda":
                self._put("tonic", times[keep], cont[keep, 1])
            else:
                keep = idx % self._d_rate == 0
                self._put("hr" if self.kind in ("ecg", "ppg") else "rate", times[keep], cont[keep, 1])
        events = out.events
        if len(events):
            self._add_events(events, event_time, event_value)

    def _add_events(self, events: np.ndarray, event_time, event_value) -> None:
        if self.kind in ("ecg", "ppg"):
            from eegaffect.kernels.ibi import FLAG_EXTRA, FLAG_INSERTED

            detected = events[(events["flag"] & (FLAG_EXTRA | FLAG_INSERTED)) == 0]
            s = detected["sample"]
            t = event_time(s)
            self._put("beat", t, event_value(s, 0))
            ibi = detected["ibi_s"]
            with np.errstate(divide="ignore", invalid="ignore"):
                self._put("beat_hr", t, np.where(ibi > 0, 60.0 / ibi, np.nan))
        elif self.kind == "eda":
            for name, field in (("scr_onset", "onset_sample"), ("scr_peak", "sample")):
                s = events[field]
                self._put(name, event_time(s), event_value(s, 0))
        else:
            s = events["sample"]
            self._put("breath", event_time(s), event_value(s, 0))

    def _put(self, name: str, t: np.ndarray, y: np.ndarray) -> None:
        if not len(t):
            return
        pending = self._pending[name]
        pending.append((np.asarray(t, np.float64), np.asarray(y, np.float64)))
        self._n_pending[name] += len(t)
        while self._n_pending[name] > self._max and len(pending) > 1:
            self._n_pending[name] -= len(pending.pop(0)[0])

    def drain(self, shift: float = 0.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """What was added since the last drain, and forget it.

        Parameters
        ----------
        shift : float
            Added to every time (e.g. to turn session LSL times into the dashboard's seconds since the start).

        Returns
        -------
        series : dict of str to (ndarray, ndarray)
            ``name -> (times (n,), values (n,))`` for the series with new points (float64; times ascending
            within a series' signal, events in decision order).
        """
        out = {}
        for name, parts in self._pending.items():
            if parts:
                t = np.concatenate([p[0] for p in parts]) + shift
                y = np.concatenate([p[1] for p in parts])
                out[name] = (t, y)
                parts.clear()
                self._n_pending[name] = 0
        return out
