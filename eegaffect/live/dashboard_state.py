"""What the live dashboard shows, folded from the session's messages (:class:`DashboardState`).

The state is independent of where it is folded: :mod:`eegaffect.live.dashboard_worker` folds it in a child
process (the window or headless) or in a thread (:class:`~eegaffect.live.dashboard_worker.ThreadDashboard`).
It holds display-filtered EEG of a few channels (its own causal band-pass/notch, the pipeline's settings), band
features of every channel through the very :class:`~eegaffect.pipeline.SignalPipeline` the model uses, the
valence/arousal and ground-truth trails, the active code, latencies and stream health, and the physiological
devices' series (:mod:`eegaffect.live.physio_view`).
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

__all__ = ["DashboardState"]

def _pick_eeg_channels(ch_names: list[str], n: int) -> list[int]:
    """Up to ``n`` channels spread over the list (the first, the last and evenly between)."""
    if len(ch_names) <= n:
        return list(range(len(ch_names)))
    return sorted({int(round(k)) for k in np.linspace(0, len(ch_names) - 1, n)})


class DashboardState:
    """What the dashboard shows, folded from the session's messages.

    Parameters
    ----------
    init : dict
        ``ch_names``, ``sfreq`` (of the EEG in the messages), ``pipeline`` (a PipelineConfig as dict),
        ``n_codes``, ``trail_s``; optional ``eeg_window_s`` (default 5), ``n_eeg`` (channels shown, default 8) and
        ``physio`` (``kind -> {"name", "sfreq"}`` of the physiological devices with a panel; their messages'
        ``physio`` entries are ``kind -> {series: (times, values)}`` of :mod:`eegaffect.live.physio_view`).
    """

    def __init__(self, init: dict):
        from eegaffect.kernels.filtering import SOSFilter
        from eegaffect.pipeline import PipelineConfig, SignalPipeline

        self.ch_names = list(init["ch_names"])
        self.sfreq = float(init["sfreq"])
        self.n_codes = int(init.get("n_codes", 0))
        self.trail_s = float(init.get("trail_s", 30.0))
        self.stream = str(init.get("stream", ""))
        self.unit = init.get("unit")
        config = PipelineConfig.model_validate(init["pipeline"])
        self.band_names = [b.name for b in config.features.bands]
        self.feature_kind = config.features.kind
        self.feature_standardize = getattr(config.features, "standardize", "none")
        self.eeg_idx = _pick_eeg_channels(self.ch_names, int(init.get("n_eeg", 8)))
        self.eeg_ch_names = [self.ch_names[i] for i in self.eeg_idx]
        # display filter: the pipeline's band-pass/notch designed at the stream's own rate; the low-pass is dropped
        # when the stream's Nyquist is below it *before* the settings are validated (at 128 Hz the default 75-Hz
        # low-pass is invalid, and validating first crashed every stream below 150 Hz)
        display = config.model_dump()
        display["sfreq"] = self.sfreq
        lowpass = display["filters"]["lowpass_hz"]
        if lowpass is not None and lowpass >= 0.45 * self.sfreq:
            display["filters"]["lowpass_hz"] = None
        try:
            sos = SignalPipeline(PipelineConfig.model_validate(display), n_chans=1).prefilter_sos
        except ValueError:  # the pipeline's bands do not fit this rate: show the raw signal
            sos = None
        self._filter = None if sos is None else SOSFilter(sos, len(self.eeg_idx), init=config.filters.init)
        self._pipeline = SignalPipeline(config, n_chans=len(self.ch_names), sfreq_in=self.sfreq)
        self._decim = max(1, int(self.sfreq // 200))
        self.eeg_window_s = float(init.get("eeg_window_s", 5.0))
        n_keep = int(self.eeg_window_s * self.sfreq / self._decim)
        self._eeg = deque(maxlen=max(n_keep, 2))
        self._eeg_t = deque(maxlen=max(n_keep, 2))
        self._n_eeg = 0
        n_trail = 4096
        self._va = deque(maxlen=n_trail)
        self._truth = deque(maxlen=n_trail)
        self._codes = deque(maxlen=n_trail)
        self._lat = deque(maxlen=2000)
        self.rate_window_s = float(init.get("rate_window_s", 10.0))
        self._received = deque()  # (time, samples received) of the last rate_window_s seconds
        self.band_values: np.ndarray | None = None
        self.features_version = 0
        self.health: dict = {}
        self.last_time = 0.0
        self._ingested_at = time.perf_counter()
        self.n_messages = 0
        self.status = None
        # physiological devices with a panel: kind -> {"name", "sfreq"}; their series (eegaffect.live.physio_view)
        self.physio: dict = dict(init.get("physio") or {})
        self._physio: dict[str, dict[str, deque]] = {}
        for kind in self.physio:
            from eegaffect.live.physio_view import VIEW_SERIES

            self._physio[kind] = {name: deque(maxlen=self._physio_points(kind, name))
                                  for name in VIEW_SERIES.get(kind, ())}

    def ingest(self, msg: dict) -> None:
        """Fold one session message into the state."""
        t = float(msg["time"])
        self.last_time = t
        self._ingested_at = time.perf_counter()
        self.n_messages += 1
        eeg = msg.get("eeg")
        if eeg is not None and len(eeg):
            eeg = np.asarray(eeg, dtype=np.float64)
            if np.all(np.isfinite(eeg)):
                feats = self._pipeline.step(eeg)
                if len(feats):
                    self.band_values = np.asarray(feats[-1])
                    self.features_version += 1
                shown = np.ascontiguousarray(eeg[:, self.eeg_idx])
                if self._filter is not None:
                    shown = self._filter.step(shown)
                k0 = self._n_eeg
                self._n_eeg += len(shown)
                keep = np.arange(len(shown))[(k0 + np.arange(len(shown))) % self._decim == 0]
                times = t - (len(shown) - 1 - keep) / self.sfreq
                self._eeg.extend(shown[keep])
                self._eeg_t.extend(times)
        va = msg.get("va")
        self._va.append((t, *(np.asarray(va, float) if va is not None else (np.nan, np.nan))))
        truth = msg.get("truth")
        if truth is not None:
            self._truth.append((t, float(truth[0]), float(truth[1])))
        code = msg.get("code")
        self._codes.append((t, -1 if code is None else int(code)))
        lat = msg.get("latency_ms")
        if lat is not None and np.isfinite(lat):
            self._lat.append(float(lat))
        self.status = msg.get("status")
        self.health = dict(msg.get("health") or {})
        for kind, series in (msg.get("physio") or {}).items():
            store = self._physio.get(kind)
            if store is None:
                continue
            for name, (times, values) in series.items():
                if name in store:
                    store[name].extend(zip(np.asarray(times, float), np.asarray(values, float)))
        if "received" in self.health:
            self._received.append((t, float(self.health["received"])))
            while len(self._received) > 2 and self._received[1][0] <= t - self.rate_window_s:
                self._received.popleft()

    # -- views for the figure --------------------------------------------------------------------------------
    def display_time(self, max_ahead_s: float = 0.5) -> float:
        """Session time to show now: the last message's time plus the wall time since it (at most
        ``max_ahead_s``), so traces scroll smoothly between the session's updates.
        """
        return self.last_time + min(time.perf_counter() - self._ingested_at, max_ahead_s)

    def eeg_traces(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times (n,), data (n, n_eeg))`` of the scrolling EEG panel."""
        if not self._eeg:
            return np.zeros(0), np.zeros((0, len(self.eeg_idx)))
        return np.asarray(self._eeg_t), np.asarray(self._eeg)

    def _trail(self, rows: deque, width: int) -> tuple[np.ndarray, np.ndarray]:
        arr = np.asarray(rows, float).reshape(-1, width + 1)
        arr = arr[arr[:, 0] >= self.last_time - self.trail_s]
        return arr[:, 0], arr[:, 1:]

    def va_trail(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times, va (n, 2))`` of the last ``trail_s`` seconds."""
        return self._trail(self._va, 2)

    def truth_trail(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times, truth (n, 2))`` of the last ``trail_s`` seconds."""
        return self._trail(self._truth, 2)

    def code_trail(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times, codes)`` of the last ``trail_s`` seconds (codes as int)."""
        t, c = self._trail(self._codes, 1)
        return t, c[:, 0].astype(int)

    def physio_window_s(self, kind: str, name: str) -> float:
        """Seconds of a physiological series the dashboard shows: the heart signal as long as the EEG traces
        (``eeg_window_s``), the rest over ``trail_s``.
        """
        return self.eeg_window_s if kind in ("ecg", "ppg") and name in ("signal", "beat") else self.trail_s

    def _physio_points(self, kind: str, name: str) -> int:
        # points per second at most: the heart signal 128 (physio_view's signal_hz), any other series 10
        rate = 130.0 if kind in ("ecg", "ppg") and name == "signal" else 10.0
        return int(1.5 * self.physio_window_s(kind, name) * rate) + 64

    def physio_series(self, kind: str, name: str, window_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(times (n,), values (n,))`` of one series of a device's panel data (see
        :mod:`eegaffect.live.physio_view`) over the last ``window_s`` seconds (default
        :meth:`physio_window_s`), in session
        seconds (the dashboard's time), oldest first; empty when the session has no such device.
        """
        rows = self._physio.get(kind, {}).get(name)
        if not rows:
            return np.zeros(0), np.zeros(0)
        arr = np.asarray(rows, float).reshape(-1, 2)
        window = self.physio_window_s(kind, name) if window_s is None else float(window_s)
        arr = arr[arr[:, 0] >= self.last_time - window]
        arr = arr[np.argsort(arr[:, 0], kind="stable")]
        return arr[:, 0], arr[:, 1]

    def device_missing(self, kind: str) -> bool:
        """Whether the session's newest health row says the device of ``kind`` is missing."""
        row = (self.health.get("devices") or {}).get(kind)
        return isinstance(row, str) and row.startswith("missing")

    def latencies_ms(self) -> np.ndarray:
        """The last 2000 update latencies in ms."""
        return np.asarray(self._lat, float)

    def measured_rate(self) -> float | None:
        """Samples received per second over the last ``rate_window_s`` seconds of messages (differences between
        messages, so a backlog read with the first one does not count); None before 1 s of messages (or the
        session's ``rate_hz`` when its messages carry no ``received`` count).
        """
        if len(self._received) >= 2:
            (t0, n0), (t1, n1) = self._received[0], self._received[-1]
            if t1 - t0 >= 1.0:
                return (n1 - n0) / (t1 - t0)
            return None
        rate = self.health.get("rate_hz")
        return None if rate is None else float(rate)

    def health_table(self) -> dict:
        """Rows of the health panel (values formatted as they are shown)."""
        table = {"stream": self.stream, "time (s)": f"{self.last_time:.1f}", "nominal (Hz)": f"{self.sfreq:.1f}"}
        rate = self.measured_rate()
        table["measured (Hz)"] = "-" if rate is None else f"{rate:.1f}"
        names = {"received": "received", "lost": "lost", "gaps": "gaps", "stalls": "stalls",
                 "no_data_s": "no data (s)", "reconnects": "reconnects"}
        for key, label in names.items():
            if key in self.health:
                value = self.health[key]
                table[label] = f"{value:.1f}" if isinstance(value, float) else value
        base = None if self.status is None else int(self.status) % 16  # the modality mask: the device rows
        table["status"] = {0: "ok", 1: "invalid", 2: "gap"}.get(base, "-")
        for kind, row in (self.health.get("devices") or {}).items():  # physiological devices, one row each
            table[kind] = row
        return table

    def make_figure(self, fig=None):
        """A :class:`~eegaffect.viz.live.LiveDashboard` for this state (drawn into ``fig`` when given)."""
        from eegaffect.viz.live import LiveDashboard, feature_quantity

        return LiveDashboard(self.ch_names, self.band_names, self.eeg_ch_names, self.n_codes, fig=fig,
                             eeg_window_s=self.eeg_window_s, trail_s=self.trail_s, unit=self.unit,
                             quantity=feature_quantity(self.feature_kind, self.unit, self.feature_standardize),
                             physio_kinds=list(self.physio))
