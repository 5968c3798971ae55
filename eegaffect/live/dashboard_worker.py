"""Dashboard workers: the live session hands them one message per update and never waits for them.

- :class:`DashboardState` turns the messages into what the figure shows: display-filtered EEG of a few channels
  (its own causal band-pass/notch, the pipeline's settings), band features of every channel through the very
  :class:`~eegaffect.pipeline.SignalPipeline` the model uses, the valence/arousal and ground-truth trails, the
  active code, latencies and stream health, and the physiological devices' series (heart signal and beats, heart
  rate, EDA and SCRs, respiration and breaths: :mod:`eegaffect.live.physio_view`).
- :class:`ProcessDashboard`: a child process folds the messages into the state and, when a display is available,
  owns a matplotlib window and redraws it at ``fps`` (default 15); headless (``window=False``, what
  :func:`make_dashboard` gives without a display) it renders :class:`~eegaffect.viz.live.LiveDashboard` once at
  the end. Either way it saves the last frame as PNG. The child runs at a lower priority (``nice``, default +10),
  so its work (the band features of every channel, drawing) never takes the interpreter lock or a core from
  the session's predict path: in a thread of the session's process it did (the demo's p99 rose by 3-6 ms on a
  loaded 2-core machine, in the stages where the session's thread waited for the lock: predict, push).
- :class:`ThreadDashboard`: the same state folded by a daemon thread of the caller's process, rendered once at
  :meth:`~ThreadDashboard.close` (tests and callers that want to inspect the state in-process).

Both put messages into a bounded queue with ``put_nowait`` and drop them when it is full (counted in ``dropped``),
so a slow screen can never stall acquisition or prediction.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

__all__ = ["DashboardState", "ThreadDashboard", "ProcessDashboard", "make_dashboard", "display_available"]

logger = logging.getLogger("eegaffect.live.dashboard")

_STOP = "__stop__"


def display_available() -> bool:
    """Whether a window can be shown: macOS/Windows, or ``$DISPLAY``/``$WAYLAND_DISPLAY`` set, and matplotlib's
    backend (``$MPLBACKEND``, or the one it picks) an interactive one.
    """
    files_only = {"agg", "pdf", "svg", "ps", "cairo", "template", "pgf"}
    backend = os.environ.get("MPLBACKEND", "").lower()
    if backend in files_only or backend.startswith("module://matplotlib_inline"):
        return False
    if sys.platform not in ("darwin", "win32") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    import matplotlib

    # with a display but no GUI toolkit installed, matplotlib falls back to Agg: then there is no window to show
    return matplotlib.get_backend().lower() not in files_only


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


class ThreadDashboard:
    """Headless dashboard: a thread folds messages into a :class:`DashboardState`; :meth:`close` saves the PNG.

    Parameters
    ----------
    png_path : str | Path
        Where the final figure goes.
    maxsize : int
        Queue length; messages beyond it are dropped.
    """

    def __init__(self, png_path: str | Path, maxsize: int = 256):
        self.png_path = Path(png_path)
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._thread: threading.Thread | None = None
        self.state: DashboardState | None = None
        self.dropped = 0
        self.error: BaseException | None = None

    def start(self, init: dict) -> None:
        """Create the state and start the worker thread."""
        self.state = DashboardState(init)
        self._thread = threading.Thread(target=self._run, name="eegaffect-dashboard", daemon=True)
        self._thread.start()

    def submit(self, message: dict) -> None:
        """Queue a message without waiting (dropped when the queue is full)."""
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            msg = self._queue.get()
            if isinstance(msg, str) and msg == _STOP:
                return
            try:
                self.state.ingest(msg)
            except Exception as exc:  # keep the session running; report at close
                self.error = exc
                logger.error("dashboard stopped updating: %s", exc)
                return

    def close(self) -> str | None:
        """Stop the thread, render the figure, save it; return the PNG path (None when nothing was shown)."""
        if self._thread is None:
            return None
        while True:
            try:
                self._queue.put(_STOP, timeout=1.0)
                break
            except queue.Full:
                continue
        self._thread.join()
        self._thread = None
        if self.state is None or self.state.n_messages == 0:
            return None
        dash = self.state.make_figure()
        dash.render(self.state)
        self.png_path.parent.mkdir(parents=True, exist_ok=True)
        dash.fig.savefig(self.png_path, dpi=80)
        if self.dropped:
            logger.warning("dashboard dropped %d messages (queue full)", self.dropped)
        return str(self.png_path)


class ProcessDashboard:
    """Dashboard in a child process: a window redrawn at ``fps`` from the session's messages, or headless.

    Parameters
    ----------
    png_path : str | Path | None
        Where the last frame is saved when the session ends (None: not saved; required without a window).
    fps : float
        Target frames per second of the window.
    maxsize : int
        Queue length; messages beyond it are dropped.
    window : bool
        Show a window; False: fold the messages and render the PNG once at the end.
    nice : int
        Added to the child's nice value (lower priority than the session's process; 0: the same), from its first
        line on: its start-up (imports, the first frame) does not compete with the session's first updates either.
    """

    def __init__(self, png_path: str | Path | None, fps: float = 15.0, maxsize: int = 256, *, window: bool = True,
                 nice: int = 10):
        import multiprocessing as mp

        if not window and png_path is None:
            raise ValueError("a headless dashboard (window=False) needs png_path: it has nothing else to show")
        if not 0 <= int(nice) <= 19:
            raise ValueError(f"nice must be in 0..19, got {nice}")
        self.png_path = None if png_path is None else Path(png_path)
        self.fps = float(fps)
        self.window = bool(window)
        self.nice = int(nice)
        self._ctx = mp.get_context("spawn")
        self._queue = self._ctx.Queue(maxsize=maxsize)
        self._result = self._ctx.Queue()
        self._ready = self._ctx.Event()
        self._process = None
        self.dropped = 0
        self.frames: dict | None = None

    def start(self, init: dict) -> None:
        """Start the child process (messages submitted before it is ready wait in the queue)."""
        self._process = self._ctx.Process(target=_window_main, name="eegaffect-dashboard", daemon=True,
                                          args=(self._queue, self._result, init, self.png_path, self.fps,
                                                self._ready, self.window, self.nice))
        self._process.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the window has drawn its first frame; return whether it has."""
        return self._ready.wait(timeout)

    def submit(self, message: dict) -> None:
        """Queue a message without waiting (dropped when the queue is full)."""
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 60.0) -> str | None:
        """Ask the child to save its last frame and exit; return the PNG path (None when none was saved)."""
        if self._process is None:
            return None
        try:
            self._queue.put(_STOP, timeout=2.0)
        except queue.Full:
            pass
        try:
            self.frames = self._result.get(timeout=timeout)
        except queue.Empty:
            self.frames = None
        self._process.join(5.0)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5.0)
        self._process = None
        if self.frames and self.window:
            logger.info("dashboard: %d frames at %.1f frames/s", self.frames["frames"], self.frames["fps"])
        if self.frames and self.frames.get("error"):
            logger.error("dashboard stopped updating: %s", self.frames["error"])
        if self.dropped:
            logger.warning("dashboard dropped %d messages (queue full)", self.dropped)
        return None if not self.frames or not self.frames.get("png") else self.frames["png"]


def _window_main(q, result, init: dict, png_path, fps: float, ready, window: bool = True,
                 nice: int = 0) -> None:  # pragma: no cover - child process
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the session stops us
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    if not window:
        _headless_main(q, result, init, png_path, ready)
        return
    import matplotlib.pyplot as plt

    state = DashboardState(init)
    fig = plt.figure(figsize=(14, 11.0 if state.physio else 8.5))
    fig.canvas.manager.set_window_title(f"eegaffect live - {init.get('stream', '')}")
    dash = state.make_figure(fig)
    plt.show(block=False)
    period = 1.0 / fps
    frames, t0, stop, png, draw_s = 0, time.perf_counter(), False, None, []
    t_first = t0
    while not stop:
        t_frame = time.perf_counter()
        while True:
            try:
                msg = q.get_nowait()
            except queue.Empty:
                break
            if isinstance(msg, str) and msg == _STOP:
                stop = True
                break
            state.ingest(msg)
        if stop:
            break
        if not plt.fignum_exists(fig.number):  # window closed by the user: keep draining, stop drawing
            time.sleep(period)
            continue
        t_draw = time.perf_counter()
        dash.draw_frame(state)
        fig.canvas.flush_events()
        draw_s.append(time.perf_counter() - t_draw)
        frames += 1
        if frames == 1:
            t_first = time.perf_counter()  # the first frame pays for imports, fonts and the first full draw
            ready.set()
        time.sleep(max(0.0, period - (time.perf_counter() - t_frame)))
    steady = time.perf_counter() - t_first
    draw = np.asarray(draw_s) * 1e3 if draw_s else np.full(1, np.nan)
    if png_path is not None and state.n_messages:
        Path(png_path).parent.mkdir(parents=True, exist_ok=True)
        dash.render(state)
        fig.savefig(png_path, dpi=80)
        png = str(png_path)
    result.put({"frames": frames, "fps": (frames - 1) / steady if frames > 1 and steady > 0 else 0.0, "png": png,
                "draw_ms_p50": float(np.median(draw)), "draw_ms_p90": float(np.percentile(draw, 90)),
                "draw_ms_max": float(draw.max())})
    plt.close(fig)


def _headless_main(q, result, init: dict, png_path, ready) -> None:  # pragma: no cover - child process
    """Fold the messages into a state until the stop message, then render the figure once and save it."""
    state = DashboardState(init)
    ready.set()
    error = None
    while True:
        msg = q.get()
        if isinstance(msg, str) and msg == _STOP:
            break
        if error is None:
            try:
                state.ingest(msg)
            except Exception as exc:  # keep draining (the session never waits); report at the end
                error = f"{type(exc).__name__}: {exc}"
    png = None
    if state.n_messages:
        import matplotlib

        matplotlib.use("Agg")
        dash = state.make_figure()
        dash.render(state)
        Path(png_path).parent.mkdir(parents=True, exist_ok=True)
        dash.fig.savefig(png_path, dpi=80)
        png = str(png_path)
    result.put({"frames": 1 if png else 0, "fps": 0.0, "png": png, "messages": state.n_messages, "error": error})


def make_dashboard(png_path: str | Path | None, show: bool | None = None, fps: float = 15.0):
    """The right dashboard for this machine.

    Parameters
    ----------
    png_path : str | Path | None
        Where the final figure goes (required when no window is shown).
    show : bool | None
        True: a window (:class:`ProcessDashboard`); False: headless (:class:`ThreadDashboard`); None: a window
        when :func:`display_available`.
    fps : float
        Frames per second of the window.

    Returns
    -------
    dashboard : ProcessDashboard | None
        A window, or headless (``window=False``); None when headless and ``png_path`` is None (nothing to show or
        save).
    """
    show = display_available() if show is None else bool(show)
    if show:
        return ProcessDashboard(png_path, fps=fps)
    if png_path is None:
        return None
    return ProcessDashboard(png_path, fps=fps, window=False)
