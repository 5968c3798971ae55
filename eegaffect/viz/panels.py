"""The panels of the live dashboard (matplotlib), each a plot of its own: EEG traces, band topomaps, the
valence/arousal circumplex, the code timeline, the latency histogram, stream health, and the physiology panels
(heart signal with its beats, heart rate, EDA with its SCRs, respiration; the series of
:mod:`eegaffect.live.physio_view`).

Every ``plot_*`` function takes data and an optional ``ax`` (or ``axes``/``fig``), draws, and returns the
:class:`matplotlib.figure.Figure`. New figures are plain :class:`matplotlib.figure.Figure` objects (not pyplot
figures), so they can be drawn in any thread and saved with ``fig.savefig`` without a display. The private
helpers (scale bar, topomaps, circumplex frame, health text) are shared with
:class:`~eegaffect.viz.live.LiveDashboard`, which lays the panels out in one figure and updates them in place.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = ["plot_eeg_traces", "plot_band_topomaps", "plot_circumplex", "plot_code_timeline",
           "plot_latency_histogram", "plot_stream_health", "CIRCUMPLEX_LABELS", "feature_quantity",
           "physio_panels", "plot_heart_signal", "plot_heart_rate", "plot_eda", "plot_respiration", "HEART_TITLES",
           "PHYSIO_COLORS"]

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
    indented lines of its own, wrapped, never cut.
    """
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


# -- physiology (eegaffect.live.physio_view's series) ------------------------------------------------------------
#: Kind -> the heart signal panel's title (the beats a detector of that signal finds).
HEART_TITLES = {"ecg": "ECG with R peaks", "ppg": "PPG with pulse peaks"}
#: Colour of each physiological kind's lines.
PHYSIO_COLORS = {"ecg": "tab:red", "ppg": "tab:purple", "eda": "tab:olive", "resp": "tab:cyan"}


def physio_panels(kinds: Sequence[str]) -> list[str]:
    """The physiology panels a session with devices of ``kinds`` gets, in layout order: ``heart`` (the ECG, else
    the PPG, with its beats), ``hr`` (heart rate of every heart device with its beats), ``eda`` (skin conductance
    with its SCRs), ``resp`` (respiration with its breaths and rate). Kinds without a panel (temperature, EMG)
    add none.
    """
    kinds = set(kinds)
    heart = bool(kinds & {"ecg", "ppg"})
    return [p for p, have in (("heart", heart), ("hr", heart), ("eda", "eda" in kinds), ("resp", "resp" in kinds))
            if have]


def _physio_limits(values, step: float, floor: float | None = None, margin: float = 0.1):
    """Y limits around the finite ``values``, widened by ``margin`` of their range and rounded out to ``step``
    (None when there is no finite value).
    """
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    lo, hi = float(v.min()), float(v.max())
    pad = max((hi - lo) * margin, step / 2)
    lo, hi = np.floor((lo - pad) / step) * step, np.ceil((hi + pad) / step) * step
    if floor is not None:
        lo = max(lo, floor)
    return (float(lo), float(hi)) if hi > lo else (float(lo), float(lo + step))


def _nice_step(values) -> float:
    """A round step for limits of ``values`` (about a tenth of their range)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    span = float(np.ptp(v)) if v.size else 0.0
    return _nice_below(span / 5) if span > 0 else (abs(float(v[0])) * 0.1 or 1.0) if v.size else 1.0


def plot_heart_signal(times, signal, beat_times, beat_values, kind: str = "ecg", ax=None):
    """The cleaned heart signal (ECG or PPG) with its detected beats (R peaks / pulse peaks) marked.

    Parameters
    ----------
    times, signal : ndarray, shape (n,)
        Seconds and the stage's cleaned signal (NaN where the device sent nothing).
    beat_times, beat_values : ndarray, shape (n_beats,)
        The detected beats: time and the cleaned signal's value there.
    kind : {"ecg", "ppg"}
    ax : matplotlib.axes.Axes | None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    fig, ax = _new_axes(ax, (6, 2.5))
    color = PHYSIO_COLORS.get(kind, "k")
    ax.plot(times, signal, lw=0.7, color=color)
    ax.plot(beat_times, beat_values, "v", ms=5, color="k", label=f"beats ({len(beat_times)})")
    ax.set_xlabel("time (s)")
    ax.set_title(HEART_TITLES.get(kind, kind))
    ax.legend(loc="lower left", fontsize=7)
    return fig


def plot_heart_rate(series: Mapping[str, tuple], ax=None):
    """Heart rate over time of every heart device, each beat marked at its instantaneous rate (60 / interval).

    Parameters
    ----------
    series : mapping of str to (times, hr, beat_times, beat_hr)
        Kind (``ecg``, ``ppg``) -> the stage's heart rate (bpm, NaN where undecided or missing) and the beats.
    ax : matplotlib.axes.Axes | None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    fig, ax = _new_axes(ax, (6, 2.5))
    for kind, (t, hr, bt, bhr) in series.items():
        color = PHYSIO_COLORS.get(kind, "k")
        ax.plot(t, hr, lw=1.0, color=color, label=f"{kind.upper()} heart rate")
        ax.plot(bt, bhr, ".", ms=4, color=color)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("bpm")
    ax.set_title("heart rate and beats")
    ax.legend(loc="lower left", fontsize=7)
    return fig


def plot_eda(times, conductance, tonic, onset_times, onset_values, peak_times, peak_values, ax=None):
    """Skin conductance with its tonic level and each skin-conductance response's onset and peak.

    Parameters
    ----------
    times, conductance, tonic : ndarray, shape (n,)
        Seconds, the cleaned conductance and its tonic level (µS).
    onset_times, onset_values, peak_times, peak_values : ndarray, shape (n_scr,)
        Each SCR's onset and peak (time, conductance).
    ax : matplotlib.axes.Axes | None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    fig, ax = _new_axes(ax, (6, 2.5))
    ax.plot(times, conductance, lw=1.0, color=PHYSIO_COLORS["eda"], label="conductance")
    ax.plot(times, tonic, lw=0.8, ls="--", color="0.4", label="tonic")
    ax.plot(onset_times, onset_values, "^", ms=5, color="tab:green", label="SCR onset")
    ax.plot(peak_times, peak_values, "o", ms=4, color="tab:red", label=f"SCR peak ({len(peak_times)})")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("µS")
    ax.set_title("EDA with SCRs")
    ax.legend(loc="lower left", fontsize=7, ncol=2)
    return fig


def plot_respiration(times, signal, breath_times, breath_values, rate_times=None, rate=None, ax=None):
    """The cleaned respiration signal with each breath marked and the newest breathing rate in the title.

    Parameters
    ----------
    times, signal : ndarray, shape (n,)
        Seconds and the cleaned belt signal.
    breath_times, breath_values : ndarray, shape (n_breaths,)
        Each breath (its peak on the signal).
    rate_times, rate : ndarray, shape (n_rate,) | None
        The stage's breathing rate (breaths/min).
    ax : matplotlib.axes.Axes | None

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    fig, ax = _new_axes(ax, (6, 2.5))
    ax.plot(times, signal, lw=1.0, color=PHYSIO_COLORS["resp"])
    ax.plot(breath_times, breath_values, "o", ms=4, color="k", label=f"breaths ({len(breath_times)})")
    ax.set_xlabel("time (s)")
    ax.set_title(f"respiration{_rate_text(rate)}")
    ax.legend(loc="lower left", fontsize=7)
    return fig


def _rate_text(rate, unit: str = "breaths/min") -> str:
    """``", 14.2 breaths/min"`` for the newest finite value of ``rate`` ("" when none)."""
    if rate is None:
        return ""
    r = np.asarray(rate, float)
    r = r[np.isfinite(r)]
    return f", {r[-1]:.1f} {unit}" if r.size else ""
