"""The live dashboard and its building blocks (matplotlib).

Every ``plot_*`` function takes data and an optional ``ax`` (or ``axes``/``fig``), draws, and returns the
:class:`matplotlib.figure.Figure`. New figures are plain :class:`matplotlib.figure.Figure` objects (not pyplot
figures), so they can be drawn in any thread and saved with ``fig.savefig`` without a display.

:class:`LiveDashboard` lays them out in one figure — scrolling filtered EEG, band-power topomaps on the real
electrode positions, the valence/arousal point with its trail on the circumplex (and the ground truth), the active
latent code over time, the latency histogram and stream health — and updates the artists in place from a
:class:`~eegaffect.live.dashboard_worker.DashboardState`, so a frame costs one canvas draw (topomaps are redrawn
only when a new feature window arrived).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = ["plot_eeg_traces", "plot_band_topomaps", "plot_circumplex", "plot_code_timeline",
           "plot_latency_histogram", "plot_stream_health", "LiveDashboard", "CIRCUMPLEX_LABELS", "feature_quantity"]

#: Emotion words placed around the valence/arousal circumplex (Russell, 1980), at (valence, arousal).
CIRCUMPLEX_LABELS = {"excited": (0.7, 0.7), "calm": (0.7, -0.7), "sad": (-0.7, -0.7), "tense": (-0.7, 0.7)}


def _new_axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def feature_quantity(kind: str, unit: str | None = None, standardize: str = "none") -> str:
    """Label of a band feature's quantity and unit, e.g. ``"DE (nats)"``, ``"band power (V²)"`` or
    ``"DE (z-score)"`` (standardised features have no unit).

    Parameters
    ----------
    kind : str
        ``features.kind`` of the pipeline: ``"de"``, ``"psd_de"`` (natural log: nats) or ``"band_power"``.
    unit : str | None
        Unit of the signal (band power is in its square); None: unknown.
    standardize : str
        ``features.standardize`` of the pipeline: ``"none"`` or ``"ems"`` (moving z-scores).

    Returns
    -------
    label : str
    """
    if standardize != "none" and kind in ("de", "psd_de", "band_power"):
        return f"{'DE' if kind != 'band_power' else 'band power'} (z-score)"
    if kind in ("de", "psd_de"):
        return "DE (nats)"
    if kind == "band_power":
        return f"band power ({_unit_label(unit)}²)" if unit else "band power (signal unit²)"
    raise ValueError(f"expected a feature kind 'de', 'psd_de' or 'band_power', got {kind!r}")


def _unit_label(unit: str | None) -> str:
    return {"uv": "µV", "microvolts": "µV", "v": "V", "volts": "V", "mv": "mV", "millivolts": "mV",
            "nv": "nV", "nanovolts": "nV"}.get(str(unit).lower(), str(unit))


def _microvolts_per_unit(unit: str | None) -> float | None:
    """µV in one ``unit`` (None when the unit is unknown)."""
    from eegaffect.live.session import UNIT_SCALES

    scale = UNIT_SCALES.get(str(unit).lower()) if unit else None
    return None if scale is None else scale / 1e-6


def _nice_below(x: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``x`` (``x`` > 0)."""
    p = 10.0 ** np.floor(np.log10(x))
    return float(max(m * p for m in (1.0, 2.0, 5.0) if m * p <= x * (1 + 1e-9)))


def _scale_bar_value(spacing: float, unit: str | None) -> tuple[float, str]:
    """A round amplitude not above ``spacing`` (data units): ``(length in data units, label)``."""
    per = _microvolts_per_unit(unit)
    factor, name = (per, "µV") if per is not None else (1.0, _unit_label(unit) if unit else "(signal units)")
    value = _nice_below(spacing * factor) if spacing > 0 and np.isfinite(spacing) else 1.0
    return value / factor, f"{value:g} {name}"


def _add_scale_bar(ax):
    """A vertical amplitude scale bar right of ``ax`` (x in axes coordinates, y in data): (bar, label)."""
    from matplotlib.collections import LineCollection
    from matplotlib.transforms import blended_transform_factory

    trans = blended_transform_factory(ax.transAxes, ax.transData)
    bar = LineCollection([[(1.02, 0.0), (1.02, 0.0)]], colors="k", linewidths=2, transform=trans, clip_on=False)
    ax.add_collection(bar, autolim=False)
    label = ax.text(1.04, 0.0, "", transform=trans, rotation=90, va="center", ha="left", fontsize=7, clip_on=False)
    return bar, label


def _set_scale_bar(bar, label, y0: float, length: float, text: str) -> None:
    bar.set_segments([[(1.02, y0), (1.02, y0 + length)]])
    label.set_position((1.04, y0 + length / 2))
    label.set_text(text)


def plot_eeg_traces(times: np.ndarray, data: np.ndarray, ch_names: Sequence[str], ax=None,
                    spacing: float | None = None, unit: str | None = None):
    """Stacked EEG traces (one offset line per channel, first channel on top) with an amplitude scale bar.

    Parameters
    ----------
    times : ndarray, shape (n_times,)
        Seconds.
    data : ndarray, shape (n_times, n_chans)
        Samples.
    ch_names : sequence of str
        One per column.
    ax : matplotlib.axes.Axes | None
        Target axes; a new figure when None.
    spacing : float | None
        Vertical distance between traces; default 4 median standard deviations.
    unit : str | None
        Unit of ``data`` (``"V"``, ``"uV"``, ...): the scale bar right of the traces is labelled in µV; None: in
        signal units.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    times, data = np.asarray(times, float), np.asarray(data, float)
    if data.ndim != 2 or data.shape[0] != times.shape[0] or data.shape[1] != len(ch_names):
        raise ValueError(f"expected data of shape ({times.shape[0]}, {len(ch_names)}) matching times and ch_names, "
                         f"got {data.shape}")
    fig, ax = _new_axes(ax, (8, 4))
    spacing = _trace_spacing(data) if spacing is None else float(spacing)
    offsets = -np.arange(data.shape[1]) * spacing
    for k in range(data.shape[1]):
        ax.plot(times, data[:, k] - _center(data[:, k]) + offsets[k], lw=0.7, color="k")
    ax.set_yticks(offsets, list(ch_names))
    ax.set_xlabel("time (s)")
    ax.set_title("filtered EEG")
    if data.shape[1]:
        ax.set_ylim(offsets[-1] - spacing, spacing)
        length, text = _scale_bar_value(spacing, unit)
        _set_scale_bar(*_add_scale_bar(ax), offsets[-1] - 0.5 * length, length, text)
    return fig


def _center(x: np.ndarray) -> float:
    finite = x[np.isfinite(x)]
    return float(np.median(finite)) if finite.size else 0.0


def _trace_spacing(data: np.ndarray) -> float:
    sd = np.nanstd(data, axis=0) if data.size else np.zeros(1)
    sd = sd[np.isfinite(sd) & (sd > 0)]
    return float(4 * np.median(sd)) if sd.size else 1.0


def plot_band_topomaps(values: np.ndarray, ch_names: Sequence[str], band_names: Sequence[str], axes=None,
                       fig=None, vlim: tuple[float, float] | None = None, quantity: str | None = "DE (nats)",
                       colorbar: bool = True):
    """One scalp map per band on the channels' template positions (:func:`mne.viz.plot_topomap`), each with a
    colour bar below it labelled with the quantity.

    Parameters
    ----------
    values : ndarray, shape (n_chans, n_bands)
        Band power (or differential entropy) per channel and band.
    ch_names : sequence of str
        Channel names (positions from :mod:`eegaffect.montage`).
    band_names : sequence of str
        Band titles.
    axes : sequence of matplotlib.axes.Axes | None
        One per band.
    fig : matplotlib.figure.Figure | None
        Figure to add a row of axes to when ``axes`` is None (a new figure when both are None).
    vlim : (float, float) | None
        Colour limits shared by all bands; default each band's own range.
    quantity : str | None
        What the values are, with unit (label of the colour bars; see :func:`feature_quantity`).
    colorbar : bool
        Draw a colour bar (an inset below each map, so ``fig.axes`` holds only the maps).

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    values = np.asarray(values, float)
    if values.shape != (len(ch_names), len(band_names)):
        raise ValueError(f"expected values of shape ({len(ch_names)}, {len(band_names)}) (n_chans, n_bands), got "
                         f"{values.shape}")
    if axes is None:
        if fig is None:
            from matplotlib.figure import Figure

            fig = Figure(figsize=(2.2 * len(band_names), 3.0 if colorbar else 2.4), layout="constrained")
            fig.get_layout_engine().set(h_pad=0.3 if colorbar else 0.04)
        axes = fig.subplots(1, len(band_names), squeeze=False)[0]
    _draw_topomaps(values, _topomap_info(tuple(ch_names)), band_names, axes, vlim,
                   quantity=quantity if colorbar else None, colorbar=colorbar)
    return axes[0].figure


def _topomap_info(ch_names: tuple[str, ...]):
    from eegaffect.montage import create_info

    return create_info(list(ch_names), 100.0)


def _draw_topomaps(values, info, band_names, axes, vlim, res: int = 64, quantity: str | None = None,
                   colorbar: bool = True) -> None:
    import mne
    from matplotlib.ticker import MaxNLocator

    for k, ax in enumerate(axes[: len(band_names)]):
        ax.clear()  # also removes the previous colour bar (an inset axes of this one)
        v = values[:, k]
        if np.all(np.isfinite(v)):
            lim = vlim if vlim is not None else (float(v.min()), float(v.max()) if v.max() > v.min()
                                                 else float(v.min()) + 1e-12)
            im, _ = mne.viz.plot_topomap(v, info, axes=ax, show=False, contours=0, sensors=True, cmap="RdBu_r",
                                         vlim=lim, res=res)
            if colorbar:
                cb = ax.figure.colorbar(im, cax=ax.inset_axes([0.12, -0.1, 0.76, 0.06]), orientation="horizontal")
                cb.locator = MaxNLocator(3)
                cb.update_ticks()
                cb.ax.tick_params(labelsize=6, length=2, pad=1)
                if quantity:
                    cb.set_label(quantity, fontsize=7, labelpad=1)
        else:
            ax.set_axis_off()
        ax.set_title(band_names[k], fontsize=9)


def _draw_circumplex_frame(ax) -> None:
    theta = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(theta), np.sin(theta), color="0.7", lw=0.8)
    ax.axhline(0, color="0.8", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8)
    for word, (v, a) in CIRCUMPLEX_LABELS.items():
        ax.text(v, a, word, ha="center", va="center", fontsize=8, color="0.5")
    ax.set_xlim(-1.1, 1.1)
    ax.set_ylim(-1.1, 1.1)
    ax.set_aspect("equal")
    ax.set_xlabel("valence")
    ax.set_ylabel("arousal")


def plot_circumplex(va: np.ndarray, truth: np.ndarray | None = None, ax=None, prototypes: np.ndarray | None = None,
                    title: str = "valence / arousal"):
    """A valence/arousal trail with its current (last) point on the circumplex, and the ground truth.

    Parameters
    ----------
    va : ndarray, shape (n_times, 2)
        Predicted valence and arousal (NaN rows are gaps).
    truth : ndarray, shape (n_times_true, 2) | None
        Ground-truth trail.
    ax : matplotlib.axes.Axes | None
        Target axes.
    prototypes : ndarray, shape (n_codes, 2) | None
        Points to mark as prototypes (e.g. codebook entries placed on the plane), labelled by index.
    title : str
        Axes title.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    va = np.asarray(va, float).reshape(-1, 2)
    fig, ax = _new_axes(ax, (4.5, 4.5))
    _draw_circumplex_frame(ax)
    if truth is not None:
        truth = np.asarray(truth, float).reshape(-1, 2)
        ax.plot(truth[:, 0], truth[:, 1], color="tab:green", lw=1, alpha=0.6, label="truth")
        if len(truth):
            ax.plot(*truth[-1], "s", color="tab:green", ms=7)
    if len(va):
        ax.plot(va[:, 0], va[:, 1], color="tab:blue", lw=1, alpha=0.6, label="predicted")
    if len(va) and np.all(np.isfinite(va[-1])):
        ax.plot(*va[-1], "o", color="tab:blue", ms=9)
    if prototypes is not None:
        prototypes = np.asarray(prototypes, float).reshape(-1, 2)
        ax.scatter(prototypes[:, 0], prototypes[:, 1], marker="x", color="tab:red", label="prototypes")
        for k, (v, a) in enumerate(prototypes):
            if np.isfinite(v) and np.isfinite(a):
                ax.annotate(str(k), (v, a), fontsize=7, color="tab:red", xytext=(3, 3), textcoords="offset points")
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title(title)
    return fig


def plot_code_timeline(times: np.ndarray, codes: np.ndarray, n_codes: int | None = None, ax=None):
    """The active latent code (prototype index) over time; -1 (no code) is left out.

    Parameters
    ----------
    times : ndarray, shape (n,)
        Seconds.
    codes : ndarray of int, shape (n,)
        Code per time.
    n_codes : int | None
        Codebook size (sets the y range).
    ax : matplotlib.axes.Axes | None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    times, codes = np.asarray(times, float), np.asarray(codes)
    if times.shape != codes.shape:
        raise ValueError(f"expected times and codes of equal shape, got {times.shape} and {codes.shape}")
    fig, ax = _new_axes(ax, (6, 2.5))
    ok = codes >= 0
    ax.step(times[ok], codes[ok], where="post", color="tab:purple", lw=1)
    ax.plot(times[ok], codes[ok], ".", color="tab:purple", ms=3)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("code")
    if n_codes:
        ax.set_ylim(-0.5, n_codes - 0.5)
    ax.set_title("active latent code")
    return fig


def plot_latency_histogram(latency_ms: np.ndarray, ax=None, target_ms: float | None = 10.0):
    """Histogram of per-update latencies with p50/p99 marked.

    Parameters
    ----------
    latency_ms : ndarray, shape (n_updates,)
        Milliseconds (NaN ignored).
    ax : matplotlib.axes.Axes | None
    target_ms : float | None
        Target line (None: none).

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    lat = np.asarray(latency_ms, float).ravel()
    lat = lat[np.isfinite(lat)]
    fig, ax = _new_axes(ax, (5, 3))
    if lat.size:
        ax.hist(lat, bins=min(50, max(5, lat.size // 4)), color="tab:orange", alpha=0.8)
        for q, style in ((50, "-"), (99, "--")):
            v = float(np.percentile(lat, q))
            ax.axvline(v, color="k", ls=style, lw=1, label=f"p{q} {v:.2f} ms")
    if target_ms is not None:
        ax.axvline(target_ms, color="tab:red", lw=1, label=f"target {target_ms:g} ms")
    ax.set_xlabel("newest sample -> push (ms)")
    ax.set_ylabel("updates")
    ax.set_title("latency")
    ax.legend(fontsize=7)
    return fig


def plot_stream_health(health: Mapping[str, float], ax=None):
    """Stream health as a small table (rate, received, lost, gaps, reconnects, ...).

    Parameters
    ----------
    health : mapping of str to number
        Name -> value.
    ax : matplotlib.axes.Axes | None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    fig, ax = _new_axes(ax, (3, 2.5))
    ax.set_axis_off()
    ax.set_title("stream health")
    ax.text(0.02, 0.95, _health_text(health), va="top", family="monospace", fontsize=9, transform=ax.transAxes)
    return fig


def _health_text(health: Mapping[str, float], width: int = 22) -> str:
    """``key value`` lines ``width`` characters wide; a value too long for its line (a stream name) goes on
    indented lines of its own, wrapped, never cut."""
    import textwrap

    lines = []
    for key, value in health.items():
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
        if len(key) + 1 + len(text) <= width:
            lines.append(f"{key:<{width - len(text) - 1}} {text}")
        else:
            lines.append(key)
            lines.extend(textwrap.wrap(text, width - 2, initial_indent="  ", subsequent_indent="  ",
                                       break_on_hyphens=True) or ["  "])
    return "\n".join(lines)


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
    """

    def __init__(self, ch_names: Sequence[str], band_names: Sequence[str], eeg_ch_names: Sequence[str],
                 n_codes: int = 0, fig=None, *, eeg_window_s: float = 5.0, trail_s: float = 30.0,
                 static_every_s: float = 2.0, unit: str | None = None, quantity: str | None = "DE (nats)"):
        if fig is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure(figsize=(14, 8.5))
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
        self._code_line, = self.ax_code.step([], [], where="post", color="tab:purple", lw=1)
        self.ax_code.set_ylim(-0.5, max(self.n_codes, 1) - 0.5)
        self.ax_code.set_xlim(-self.trail_s, 0)
        self.ax_code.set_xlabel("seconds before now")
        self.ax_code.set_ylabel("code")
        self.ax_code.set_title("active latent code")
        self.ax_lat.set_title("latency")
        self.ax_lat.set_xlabel("newest sample -> push (ms)")
        self.ax_health.set_axis_off()
        self.ax_health.set_title("stream health")
        self._health_text = self.ax_health.text(0.0, 1.0, "", va="top", family="monospace", fontsize=7.5,
                                                transform=self.ax_health.transAxes)
        for ax in self.ax_topo:
            ax.set_axis_off()
        self._dynamic = [*self._eeg_lines, self._scale_bar, self._scale_label, self._truth_line, self._truth_dot,
                         self._va_line, self._va_dot, self._code_line, self._health_text]

    @property
    def axes(self) -> dict:
        """The panels by name (``eeg``, ``va``, ``topo`` (list), ``code``, ``latency``, ``health``)."""
        return {"eeg": self.ax_eeg, "va": self.ax_va, "topo": list(self.ax_topo), "code": self.ax_code,
                "latency": self.ax_lat, "health": self.ax_health}

    def update(self, state, force_static: bool = False, scroll: bool = False) -> set:
        """Update every panel from ``state`` (a :class:`~eegaffect.live.dashboard_worker.DashboardState`).

        Moving artists change every call; the topomaps when a new feature window arrived (at most every
        ``static_every_s``), the latency histogram at most every ``5 * static_every_s``. With ``scroll`` the time
        axes follow the wall clock between updates (``state.display_time()``), so the traces move smoothly.

        Returns
        -------
        changed : set of str
            Static panels redrawn: ``"topo"`` and/or ``"latency"``.
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
        c_t, codes = state.code_trail()
        ok = codes >= 0
        self._code_line.set_data(c_t[ok] - now, codes[ok])
        self._health_text.set_text(_health_text(state.health_table()))
        changed = set()
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
        if "latency" in changed or self._background is None or size != self._bg_size:
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
