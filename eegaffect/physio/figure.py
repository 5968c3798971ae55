"""The figure of ``eegaffect physio``: a recording with its detected events and the stage's continuous outputs.

Heart signals (ECG, PPG) get the signal with its beats, the tachogram (corrected and measured intervals) and the
Poincare plot; the other kinds get the signal with its events, then their continuous outputs in panels of one unit
(EDA: skin conductance with its tonic level, then the phasic part with each response's onset and peak;
respiration: the cleaned belt signal with its breaths, then the rate; skin temperature: the smoothed level on the
signal, then the frames' slope; EMG: the high-passed signal with its RMS envelope). A stage class the layout does
not know gets one panel per continuous output. Flagged samples (NaN, flat, clipped) are shaded in every panel; the
last ``decision_delay`` of the recording is greyed on the signal: events there may not be decided when it ends.
"""

from __future__ import annotations

import numpy as np

from eegaffect._docs import fill_doc

__all__ = ["physio_figure", "PANELS", "LABELS"]

#: Kind -> panels below the signal: each a tuple of continuous outputs drawn together (same unit). A name
#: ``"frames:FEATURE"`` draws a window feature at its frames' end times. Kinds not listed: one panel per output.
PANELS: dict[str, tuple[tuple[str, ...], ...]] = {
    "eda": (("eda_clean", "eda_tonic"), ("eda_phasic",)),
    "resp": (("resp_clean",), ("resp_rate",)),
    "temp": (("frames:temp_slope",),),
    "emg": (("emg_filtered", "emg_envelope"),),
}
#: Continuous outputs drawn on the signal's own panel (same unit as the input).
ON_SIGNAL: dict[str, tuple[str, ...]] = {"temp": ("temp_smooth",)}
#: Output / feature name -> axis or legend label.
LABELS = {
    "eda_clean": "skin conductance (uS)", "eda_tonic": "tonic level (uS)", "eda_phasic": "phasic (uS)",
    "resp_clean": "cleaned (band-passed)", "resp_rate": "rate (breaths/min)",
    "temp_smooth": "smoothed", "temp_slope": "slope (degC/min)",
    "emg_filtered": "high-passed", "emg_envelope": "RMS envelope",
}
#: Kind -> the panel (output name) on which events are marked besides the signal.
EVENT_PANEL = {"eda": "eda_phasic", "resp": "resp_clean"}


@fill_doc
def physio_figure(signal: np.ndarray, sfreq: float, result, stage, kind: str, label: str):
    """Draw one recording and what its stage found.

    Parameters
    ----------
    signal : ndarray, shape (n_times,)
        The input as read (NaN where missing).
    sfreq : float
        Its rate in Hz.
    result : PhysioResult
        :meth:`~eegaffect.physio.PhysioPipeline.run` over ``signal``.
    stage : PhysioStage
        The pipeline's stage (names of outputs, event type).
    kind : str
        Signal kind.
    label : str
        ``file:channel``, for the title.

    Returns
    -------
    %(fig)s
    """
    import matplotlib.pyplot as plt

    out = result.output
    cont = np.asarray(out.continuous).reshape(len(signal), -1)
    names = tuple(stage.continuous_names)
    t = np.arange(len(signal)) / sfreq
    heart = kind in ("ecg", "ppg") and "ibi_s" in (out.events.dtype.names or ())
    if heart:
        fig = plt.figure(figsize=(12, 7))
        grid = fig.add_gridspec(2, 3)
        ax_sig = fig.add_subplot(grid[0, :])
        _heart_panels(fig.add_subplot(grid[1, :2]), fig.add_subplot(grid[1, 2]), out.events, sfreq)
        axes = [ax_sig]
    else:
        panels = PANELS.get(kind, tuple((name,) for name in names))
        panels = tuple(p for p in panels if all(n in names or n.startswith("frames:") for n in p)) or \
            tuple((name,) for name in names)  # a stage class with other outputs than the kind's own
        fig, grid = plt.subplots(1 + len(panels), 1, figsize=(12, 2.6 + 2.2 * len(panels)), sharex=True,
                                 squeeze=False)
        axes = list(grid[:, 0])
        ax_sig = axes[0]
        for ax, panel in zip(axes[1:], panels):
            for name in panel:
                if name.startswith("frames:"):
                    _feature_line(ax, result, stage, name.split(":", 1)[1])
                else:
                    ax.plot(t, cont[:, names.index(name)], lw=0.8, label=LABELS.get(name, name))
            ax.set_ylabel(LABELS.get(panel[0].split(":")[-1], panel[0]) if len(panel) == 1 else "")
            if len(panel) > 1:
                ax.legend(loc="upper right", fontsize=8)
            if EVENT_PANEL.get(kind) in panel:
                _events(ax, out.events, cont[:, names.index(EVENT_PANEL[kind])], sfreq, stage.event_type)
        axes[-1].set_xlabel("time (s)")
    ax_sig.plot(t, signal, lw=0.6, color="0.3", label=label)
    for name in ON_SIGNAL.get(kind, ()):
        if name in names:
            ax_sig.plot(t, cont[:, names.index(name)], lw=1.0, label=LABELS.get(name, name))
    _events(ax_sig, out.events, signal, sfreq, stage.event_type, legend=True)
    delay = int(getattr(stage, "decision_delay", 0))
    if delay > 0 and len(signal) > 1:  # events there happened but are not decided when the recording ends
        ax_sig.axvspan(max(0.0, (len(signal) - delay) / sfreq), (len(signal) - 1) / sfreq, color="0.85", zorder=0,
                       label=f"last {delay / sfreq:.2g} s (decision delay): events may be missing")
    bad = np.asarray(out.quality) != 0
    for k, ax in enumerate(axes):
        if bad.any():
            ax.fill_between(t, 0, 1, where=bad, color="tab:orange", alpha=0.3, transform=ax.get_xaxis_transform(),
                            label="flagged (nan/flat/clipped)" if k == 0 else None)
    if heart:
        ax_sig.set_xlabel("time (s)")
    ax_sig.set_title(f"{label} ({kind}, {sfreq:g} Hz)")
    ax_sig.legend(loc="best" if len(signal) <= 200_000 else "upper right", fontsize=8)  # "best" is slow on long data
    fig.tight_layout()
    return fig


def _events(ax, events: np.ndarray, y: np.ndarray, sfreq: float, event_type: str, legend: bool = False) -> None:
    """Mark each event at its sample on ``y``; an event with an ``onset_sample`` (an SCR) also gets its onset."""
    if not len(events):
        return
    n = len(y)
    idx = np.clip(events["sample"], 0, n - 1)
    ax.plot(idx / sfreq, y[idx], "o", ms=3, color="tab:red",
            label=f"{event_type.replace('_', ' ')} ({len(events)})" if legend else None)
    if "onset_sample" in (events.dtype.names or ()):
        on = np.clip(events["onset_sample"], 0, n - 1)
        onset = event_type[: -len("_peak")] + " onset" if event_type.endswith("_peak") else "onset"
        ax.plot(on / sfreq, y[on], "^", ms=4, color="tab:green", label=onset if legend else None)


def _feature_line(ax, result, stage, feature: str) -> None:
    """One window feature at its frames' end times (steps: each value holds until the next frame)."""
    names = list(result.feature_names or stage.feature_names)  # the selected features' columns
    if feature not in names or not len(result.times):
        return
    values = np.asarray(result.frames)[:, names.index(feature)]
    ax.step(result.times, values, where="post", lw=0.9, label=LABELS.get(feature, feature))


def _heart_panels(ax_tach, ax_poin, events: np.ndarray, sfreq: float) -> None:
    """Tachogram (corrected intervals, measured ones where corrected) and Poincare plot."""
    from eegaffect.kernels.ibi import FLAG_EXTRA

    keep = (events["flag"] & FLAG_EXTRA) == 0  # removed extra detections are not beats
    beats, ibi = events["sample"][keep] / sfreq, events["ibi_s"][keep] * 1000
    raw = events["raw_ibi_s"][keep] * 1000
    fixed = events["corrected"][keep]
    ax_tach.plot(beats, ibi, ".-", ms=3, lw=0.8, label="IBI (corrected)")
    if fixed.any():
        ax_tach.plot(beats[fixed], raw[fixed], "x", color="tab:red", label="measured, corrected")
    ax_tach.set_xlabel("time (s)")
    ax_tach.set_ylabel("inter-beat interval (ms)")
    ax_tach.set_title("tachogram")
    ax_tach.legend(fontsize=8)
    ok = np.isfinite(ibi[:-1]) & np.isfinite(ibi[1:])
    ax_poin.plot(ibi[:-1][ok], ibi[1:][ok], ".", ms=4)
    finite = ibi[np.isfinite(ibi)]
    lims = [finite.min(), finite.max()] if finite.size else [0.0, 1.0]
    ax_poin.plot(lims, lims, "--", color="0.6", lw=0.8)
    ax_poin.set_xlabel("IBI n (ms)")
    ax_poin.set_ylabel("IBI n+1 (ms)")
    ax_poin.set_title("Poincare plot")
