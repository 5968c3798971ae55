"""The live dashboard (matplotlib): :class:`LiveDashboard` lays the panels of :mod:`eegaffect.viz.panels` out in
one figure — scrolling filtered EEG, band-power topomaps on the real electrode positions, the valence/arousal point
with its trail on the circumplex (and the ground truth), the active latent code over time, the latency histogram
and stream health, and with physiological devices a row of physiology panels (heart signal with its beats, heart
rate, EDA with its SCRs, respiration) — and updates the artists in place from a
:class:`~eegaffect.live.dashboard_state.DashboardState`, so a frame costs one canvas draw (topomaps are redrawn
only when a new feature window arrived).

The panel functions (``plot_*``, :func:`feature_quantity`, :data:`CIRCUMPLEX_LABELS`) are defined in
:mod:`eegaffect.viz.panels` and re-exported here, where they were defined before.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from eegaffect.viz.panels import (
    CIRCUMPLEX_LABELS,
    HEART_TITLES,
    PHYSIO_COLORS,
    _add_scale_bar,
    _center,
    _draw_circumplex_frame,
    _draw_topomaps,
    _health_text,
    _nice_step,
    _physio_limits,
    _scale_bar_value,
    _set_scale_bar,
    _topomap_info,
    _trace_spacing,
    feature_quantity,
    physio_panels,
    plot_band_topomaps,
    plot_circumplex,
    plot_code_timeline,
    plot_eeg_traces,
    plot_latency_histogram,
    plot_stream_health,
)
from eegaffect.viz.panels import _new_axes as _new_axes  # re-export: eegaffect.viz.report imports it from here

__all__ = ["plot_eeg_traces", "plot_band_topomaps", "plot_circumplex", "plot_code_timeline",
           "plot_latency_histogram", "plot_stream_health", "LiveDashboard", "CIRCUMPLEX_LABELS", "feature_quantity"]


class LiveDashboard:
    """The live figure; call :meth:`draw_frame` (windows) or :meth:`render` (files) with a dashboard state.

    Time axes run in seconds before now (-window .. 0), so they do not move: the static parts (axes, ticks,
    topomaps, latency histogram) are redrawn only when they change (at most every ``static_every_s``), and a frame
    in between only restores the saved background and redraws the moving artists (blitting).

    Parameters
    ----------
    ch_names : sequence of str
        Model channels (all shown on the topomaps).
    band_names : sequence of str
        Feature bands (one topomap each).
    eeg_ch_names : sequence of str
        Channels shown as traces.
    n_codes : int
        Codebook size.
    fig : matplotlib.figure.Figure | None
        Figure to draw into (e.g. a pyplot window's); a new plain Figure with an Agg canvas when None.
    eeg_window_s, trail_s : float
        Seconds shown by the EEG and the code panels.
    static_every_s : float
        Least seconds (of stream time) between redraws of topomaps and latency histogram.
    unit : str | None
        Unit of the EEG (the amplitude scale bar is labelled in µV when it is known).
    quantity : str | None
        What the topomaps show, with unit (colour bar label; see :func:`feature_quantity`).
    physio_kinds : sequence of str
        The session's physiological devices with a panel (``ecg``, ``ppg``, ``eda``, ``resp``): a fourth row gets
        the panels of :func:`~eegaffect.viz.panels.physio_panels` (none without devices).
    """

    def __init__(self, ch_names: Sequence[str], band_names: Sequence[str], eeg_ch_names: Sequence[str],
                 n_codes: int = 0, fig=None, *, eeg_window_s: float = 5.0, trail_s: float = 30.0,
                 static_every_s: float = 2.0, unit: str | None = None, quantity: str | None = "DE (nats)",
                 physio_kinds: Sequence[str] = ()):
        self.physio_kinds = [k for k in ("ecg", "ppg", "eda", "resp") if k in set(physio_kinds)]
        self.physio_panels = physio_panels(self.physio_kinds)
        if fig is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure(figsize=(14, 11.0 if self.physio_panels else 8.5))
            FigureCanvasAgg(fig)
        self.fig = fig
        self.ch_names = list(ch_names)
        self.band_names = list(band_names)
        self.eeg_ch_names = list(eeg_ch_names)
        self.n_codes = int(n_codes)
        self.eeg_window_s = float(eeg_window_s)
        self.trail_s = float(trail_s)
        self.static_every_s = float(static_every_s)
        self.unit = unit
        self.quantity = quantity
        self._clean = None
        self._info = _topomap_info(tuple(self.ch_names))
        self._features_version = -1
        self._static_time = -np.inf
        self._latency_time = -np.inf
        self._background = None
        self._bg_size = None
        self._build()

    def _build(self) -> None:
        fig = self.fig
        n_b = len(self.band_names)
        n_col = max(n_b, 4)
        if self.physio_panels:
            grid = fig.add_gridspec(4, n_col, height_ratios=[1.2, 0.8, 1.0, 0.9], hspace=0.5, wspace=0.35)
        else:
            grid = fig.add_gridspec(3, n_col, height_ratios=[1.2, 0.8, 1.0], hspace=0.45, wspace=0.35)
        half = n_col // 2
        self.ax_eeg = fig.add_subplot(grid[0, :half + 1])
        self.ax_va = fig.add_subplot(grid[0, half + 1:])
        self.ax_topo = [fig.add_subplot(grid[1, k]) for k in range(n_b)]
        self.ax_code = fig.add_subplot(grid[2, :half])
        self.ax_lat = fig.add_subplot(grid[2, half:n_col - 1] if n_col - half > 1 else grid[2, half:])
        self.ax_health = fig.add_subplot(grid[2, n_col - 1])
        n_e = len(self.eeg_ch_names)
        self._eeg_lines = [self.ax_eeg.plot([], [], lw=0.6, color="k")[0] for _ in range(n_e)]
        self.ax_eeg.set_yticks(-np.arange(n_e, dtype=float), self.eeg_ch_names, fontsize=7)
        self.ax_eeg.set_ylim(-n_e, 1)
        self.ax_eeg.set_xlim(-self.eeg_window_s, 0)
        self.ax_eeg.set_xlabel("seconds before now")
        self.ax_eeg.set_title("filtered EEG")
        self._scale_bar, self._scale_label = _add_scale_bar(self.ax_eeg)
        _draw_circumplex_frame(self.ax_va)
        self._truth_line, = self.ax_va.plot([], [], color="tab:green", lw=1, alpha=0.6, label="truth")
        self._truth_dot, = self.ax_va.plot([], [], "s", color="tab:green", ms=7)
        self._va_line, = self.ax_va.plot([], [], color="tab:blue", lw=1, alpha=0.6, label="predicted")
        self._va_dot, = self.ax_va.plot([], [], "o", color="tab:blue", ms=9)
        self.ax_va.legend(loc="lower left", fontsize=7)
        self.ax_va.set_title("valence / arousal")
        self.ax_code.set_xlim(-self.trail_s, 0)
        self.ax_code.set_xlabel("seconds before now")
        if self.n_codes > 0:  # a model with a quantiser: its active code over time
            self._code_line, = self.ax_code.step([], [], where="post", color="tab:purple", lw=1)
            self.ax_code.set_ylim(-0.5, self.n_codes - 0.5)
            self.ax_code.set_ylabel("code")
            self.ax_code.set_title("active latent code")
            self._time_lines = []
        else:  # no quantiser (the default model): the estimate and the truth over time instead
            self._code_line = None
            self._time_lines = [self.ax_code.plot([], [], color=color, ls=ls, lw=1.2 if ls == "-" else 1.0,
                                                  label=label)[0]
                                for color, ls, label in (("tab:blue", "-", "valence"), ("tab:red", "-", "arousal"),
                                                         ("tab:blue", ":", "truth valence"),
                                                         ("tab:red", ":", "truth arousal"))]
            self.ax_code.set_ylim(-1.1, 1.1)
            self.ax_code.axhline(0.0, color="0.8", lw=0.8)
            self.ax_code.legend(loc="lower left", fontsize=6, ncol=2)
            self.ax_code.set_title("valence / arousal over time")
        self.ax_lat.set_title("latency")
        self.ax_lat.set_xlabel("newest sample -> push (ms)")
        self.ax_health.set_axis_off()
        self.ax_health.set_title("stream health")
        self._health_text = self.ax_health.text(0.0, 1.0, "", va="top", family="monospace", fontsize=7.5,
                                                transform=self.ax_health.transAxes)
        for ax in self.ax_topo:
            ax.set_axis_off()
        self._dynamic = [*self._eeg_lines, self._scale_bar, self._scale_label, self._truth_line, self._truth_dot,
                         self._va_line, self._va_dot, *([self._code_line] if self._code_line is not None else []),
                         *self._time_lines, self._health_text]
        self._build_physio(grid[3, :] if self.physio_panels else None)

    def _build_physio(self, row) -> None:
        """The physiology panels (a row of their own) and their moving artists."""
        self.ax_physio: dict = {}
        self._ph: dict = {}  # (panel, what) -> artist
        if row is None:
            return
        sub = row.subgridspec(1, len(self.physio_panels), wspace=0.3)
        heart = [k for k in self.physio_kinds if k in ("ecg", "ppg")]
        self._heart_kind = heart[0] if heart else None
        for k, panel in enumerate(self.physio_panels):
            ax = self.ax_physio[panel] = self.fig.add_subplot(sub[0, k])
            ax.set_xlabel("seconds before now", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.set_xlim(-(self.eeg_window_s if panel == "heart" else self.trail_s), 0)
            if panel == "heart":
                kind = self._heart_kind
                self._ph["heart", "line"], = ax.plot([], [], lw=0.7, color=PHYSIO_COLORS[kind])
                self._ph["heart", "beats"], = ax.plot([], [], "v", ms=5, color="k", label="beats")
                ax.set_title(HEART_TITLES[kind], fontsize=9)
            elif panel == "hr":
                for kind in heart:
                    color = PHYSIO_COLORS[kind]
                    self._ph["hr", kind], = ax.plot([], [], lw=1.0, color=color, label=f"{kind.upper()}")
                    self._ph["hr", kind + "_beats"], = ax.plot([], [], ".", ms=4, color=color)
                ax.set_ylabel("bpm", fontsize=8)
                ax.set_title("heart rate and beats", fontsize=9)
            elif panel == "eda":
                self._ph["eda", "line"], = ax.plot([], [], lw=1.0, color=PHYSIO_COLORS["eda"], label="conductance")
                self._ph["eda", "tonic"], = ax.plot([], [], lw=0.8, ls="--", color="0.4", label="tonic")
                self._ph["eda", "onset"], = ax.plot([], [], "^", ms=5, color="tab:green", label="SCR onset")
                self._ph["eda", "peak"], = ax.plot([], [], "o", ms=4, color="tab:red", label="SCR peak")
                ax.set_ylabel("µS", fontsize=8)
                ax.set_title("EDA with SCRs", fontsize=9)
            else:
                self._ph["resp", "line"], = ax.plot([], [], lw=1.0, color=PHYSIO_COLORS["resp"])
                self._ph["resp", "breaths"], = ax.plot([], [], "o", ms=4, color="k", label="breaths")
                ax.set_title("respiration", fontsize=9)
            ax.legend(loc="lower left", fontsize=6, ncol=2)
            self._ph[panel, "text"] = ax.text(0.98, 0.95, "", ha="right", va="top", fontsize=8,
                                              transform=ax.transAxes)
        self._dynamic.extend(self._ph.values())

    @property
    def axes(self) -> dict:
        """The panels by name (``eeg``, ``va``, ``topo`` (list), ``code``, ``latency``, ``health``, and the
        physiology panels the session has: ``heart``, ``hr``, ``eda``, ``resp``).
        """
        return {"eeg": self.ax_eeg, "va": self.ax_va, "topo": list(self.ax_topo), "code": self.ax_code,
                "latency": self.ax_lat, "health": self.ax_health, **self.ax_physio}

    def _update_physio(self, state, now: float) -> bool:
        """Move the physiology artists to ``state``'s series; return whether a panel's y range changed."""
        relimit = False

        def show(key, series, kind=None):
            t, y = series
            self._ph[key].set_data(t - now, y)
            return y

        for panel, ax in self.ax_physio.items():
            text = ""
            if panel == "heart":
                kind = self._heart_kind
                y = show(("heart", "line"), state.physio_series(kind, "signal"))
                show(("heart", "beats"), state.physio_series(kind, "beat"))
                limits = _physio_limits(y, _nice_step(y))
                missing = [kind] if state.device_missing(kind) else []
            elif panel == "hr":
                values, missing = [], []
                for kind in (k for k in self.physio_kinds if k in ("ecg", "ppg")):
                    hr = show(("hr", kind), state.physio_series(kind, "hr"))
                    beats = show(("hr", kind + "_beats"), state.physio_series(kind, "beat_hr"))
                    values.extend([hr, beats])
                    finite = hr[np.isfinite(hr)]
                    if state.device_missing(kind):
                        missing.append(kind)
                    elif finite.size:
                        text += f"{kind.upper()} {finite[-1]:.0f} bpm  "
                limits = _physio_limits(np.concatenate(values) if values else [], 10.0, floor=0.0)
            elif panel == "eda":
                y = show(("eda", "line"), state.physio_series("eda", "signal"))
                show(("eda", "tonic"), state.physio_series("eda", "tonic"))
                show(("eda", "onset"), state.physio_series("eda", "scr_onset"))
                show(("eda", "peak"), state.physio_series("eda", "scr_peak"))
                finite = y[np.isfinite(y)]
                text = f"{finite[-1]:.2f} µS" if finite.size else ""
                limits = _physio_limits(y, _nice_step(y))
                missing = ["eda"] if state.device_missing("eda") else []
            else:
                y = show(("resp", "line"), state.physio_series("resp", "signal"))
                show(("resp", "breaths"), state.physio_series("resp", "breath"))
                _, rate = state.physio_series("resp", "rate")
                finite = rate[np.isfinite(rate)]
                text = f"{finite[-1]:.1f} breaths/min" if finite.size else ""
                limits = _physio_limits(y, _nice_step(y))
                missing = ["resp"] if state.device_missing("resp") else []
            if missing:
                text = " ".join(f"{k.upper()} missing" for k in missing) + ("  " + text if text else "")
            self._ph[panel, "text"].set_text(text.strip())
            self._ph[panel, "text"].set_color("tab:red" if missing else "k")
            relimit |= _relimit(ax, limits)
        return relimit

    def update(self, state, force_static: bool = False, scroll: bool = False) -> set:
        """Update every panel from ``state`` (a :class:`~eegaffect.live.dashboard_state.DashboardState`).

        Moving artists change every call; the topomaps when a new feature window arrived (at most every
        ``static_every_s``), the latency histogram at most every ``5 * static_every_s``. With ``scroll`` the time
        axes follow the wall clock between updates (``state.display_time()``), so the traces move smoothly.

        Returns
        -------
        changed : set of str
            Static panels redrawn: ``"topo"``, ``"latency"`` and/or ``"physio"`` (a physiology panel's y range).
        """
        now = float(state.display_time()) if scroll else float(state.last_time)
        t, traces = state.eeg_traces()
        if t.size:
            spacing = _trace_spacing(traces)
            for k, line in enumerate(self._eeg_lines):
                line.set_data(t - now, (traces[:, k] - _center(traces[:, k])) / spacing * 0.8 - k)
            # traces are drawn at 0.8 / spacing axis units per signal unit: a bar of a round amplitude
            length, text = _scale_bar_value(spacing / 0.8, self.unit)
            n_e = len(self._eeg_lines)
            _set_scale_bar(self._scale_bar, self._scale_label, -(n_e - 1) - 0.5, length / spacing * 0.8, text)
        _, va = state.va_trail()
        self._va_line.set_data(va[:, 0], va[:, 1])
        last = va[-1] if len(va) and np.all(np.isfinite(va[-1])) else (np.nan, np.nan)
        self._va_dot.set_data([last[0]], [last[1]])
        _, tr = state.truth_trail()
        self._truth_line.set_data(tr[:, 0], tr[:, 1])
        tlast = tr[-1] if len(tr) else (np.nan, np.nan)
        self._truth_dot.set_data([tlast[0]], [tlast[1]])
        if self._code_line is not None:
            c_t, codes = state.code_trail()
            ok = codes >= 0
            self._code_line.set_data(c_t[ok] - now, codes[ok])
        else:
            va_t, va_all = state.va_trail()
            tr_t, tr_all = state.truth_trail()
            for k, (times, values) in enumerate(((va_t, va_all), (va_t, va_all), (tr_t, tr_all), (tr_t, tr_all))):
                self._time_lines[k].set_data(times - now, values[:, k % 2])
        self._health_text.set_text(_health_text(state.health_table()))
        changed = set()
        if self.ax_physio and self._update_physio(state, now):
            changed.add("physio")
        if (state.band_values is not None and state.features_version != self._features_version
                and (force_static or state.last_time - self._static_time >= self.static_every_s)):
            self._features_version = state.features_version
            self._static_time = state.last_time
            # 32x32 interpolation: a fraction of the cost of MNE's default 64, still smooth at dashboard size
            _draw_topomaps(state.band_values, self._info, self.band_names, self.ax_topo, None, res=32,
                           quantity=self.quantity)
            changed.add("topo")
        lat = state.latencies_ms()
        if lat.size and (force_static or state.last_time - self._latency_time >= 5 * self.static_every_s):
            self._latency_time = state.last_time
            self.ax_lat.clear()
            plot_latency_histogram(lat, ax=self.ax_lat, target_ms=10.0)
            self.ax_lat.set_title("latency", fontsize=9)
            changed.add("latency")
        return changed

    def draw_frame(self, state) -> None:
        """One window frame: update, then blit the moving artists over the saved background.

        A full draw saves a clean background without topomaps; new topomaps (with their colour bars, whose tick
        labels change) are drawn over that clean background, so only a new latency histogram (moving tick labels)
        or a resized window costs a full canvas draw.
        """
        changed = self.update(state, scroll=True)
        canvas = self.fig.canvas
        size = tuple(canvas.get_width_height())
        if changed & {"latency", "physio"} or self._background is None or size != self._bg_size:
            for artist in [*self._dynamic, *self.ax_topo]:
                artist.set_animated(True)
            canvas.draw()
            self._clean = canvas.copy_from_bbox(self.fig.bbox)
            for ax in self.ax_topo:
                self.fig.draw_artist(ax)
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self._bg_size = size
        elif "topo" in changed:
            canvas.restore_region(self._clean)
            for ax in self.ax_topo:
                self.fig.draw_artist(ax)
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._dynamic:
            self.fig.draw_artist(artist)
        canvas.blit(self.fig.bbox)

    def render(self, state=None):
        """Update from ``state`` (when given, static panels included), draw the whole canvas, return the figure."""
        for artist in [*self._dynamic, *self.ax_topo]:
            artist.set_animated(False)
        self._background = self._clean = None
        if state is not None:
            self.update(state, force_static=True)
        self.fig.canvas.draw()
        return self.fig


def _relimit(ax, limits) -> bool:
    """Set ``ax``'s y range to ``limits`` widened by a quarter of their span on each side when the data left the
    current range or fill less than a third of it (so the range, and the window's saved background, change
    rarely: each change costs a full redraw); return whether it changed.
    """
    if limits is None:
        return False
    lo, hi = ax.get_ylim()
    new_lo, new_hi = limits
    if new_lo >= lo and new_hi <= hi and (new_hi - new_lo) * 3 >= hi - lo:
        return False
    pad = 0.25 * (new_hi - new_lo)  # head room: growing data (a session's first seconds) relimit a few times only
    ax.set_ylim(new_lo - pad, new_hi + pad)
    return True
