"""Dashboard workers: the live session hands them one message per update and never waits for them.

- :class:`~eegaffect.live.dashboard_state.DashboardState` (its own module) turns the messages into what the
  figure shows.
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
from pathlib import Path

import numpy as np

from eegaffect.live.dashboard_state import DashboardState

__all__ = ["ThreadDashboard", "ProcessDashboard", "make_dashboard", "display_available"]

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
