"""The dashboard's physiology panels, headless (Agg): the real stages on simulated physiology, their outputs carried
by :class:`~eegaffect.live.physio_view.PhysioView` chunk by chunk into a :class:`DashboardState`, and the rendered
panels hold exactly what the stages found (beats, SCRs, breaths, rates), NaN where the signal was missing."""

from __future__ import annotations

import numpy as np
import pytest
from eegaffect.acquisition.channels import DREAMER_CHANNELS
from eegaffect.acquisition.sim.physiology import simulate_physiology
from eegaffect.kernels.ibi import FLAG_EXTRA, FLAG_INSERTED

from eegaffect.live.dashboard_state import DashboardState
from eegaffect.live.physio_frames import FramedPhysioPipeline
from eegaffect.live.physio_view import VIEW_SERIES, PhysioView
from eegaffect.physio import PhysioConfig
from eegaffect.pipeline import PipelineConfig
from eegaffect.viz.panels import plot_eda, plot_heart_rate, plot_heart_signal, plot_respiration

RATES = {"ecg": 256.0, "ppg": 64.0, "eda": 4.0, "resp": 32.0}
DURATION_S = 45.0
UPDATE_S = 0.25
TRAIL_S = 30.0


def _trajectory(t):
    t = np.asarray(t, float)
    return np.column_stack([0.5 * np.sin(2 * np.pi * t / 40), 0.6 * np.cos(2 * np.pi * t / 30)])


@pytest.fixture(scope="module")
def signals():
    sig = simulate_physiology(RATES, DURATION_S, _trajectory, seed=3)
    return {k: np.asarray(v[:, 0], float) for k, v in sig.items()}


def _session(signals, kinds, missing=None):
    """Feed each kind's stage chunk by chunk (one session update per 0.25 s), drain its view into a dashboard
    message per update and fold the messages into a DashboardState; return the state and the offline outputs."""
    config = PhysioConfig()
    pipes, views, offline = {}, {}, {}
    for kind in kinds:
        x = signals[kind].copy()
        if missing is not None and kind in missing:
            a, b = missing[kind]
            x[int(a * RATES[kind]): int(b * RATES[kind])] = np.nan
        signals = {**signals, kind: x}
        pipe = FramedPhysioPipeline(config, kind, RATES[kind])
        view = PhysioView(kind, RATES[kind])

        def tap(out, pipe=pipe, view=view, sfreq=RATES[kind]):
            n = len(out.quality)
            start = pipe.n_seen - n
            view.add(out, start, (start + np.arange(n)) / sfreq, lambda s, sfreq=sfreq: np.asarray(s) / sfreq,
                     pipe.continuous_at)

        pipe.tap = tap
        pipes[kind], views[kind] = pipe, view
        offline[kind] = FramedPhysioPipeline(config, kind, RATES[kind]).stage.process(x)
    state = DashboardState({"ch_names": list(DREAMER_CHANNELS), "sfreq": 200.0,
                            "pipeline": PipelineConfig().model_dump(mode="json"), "n_codes": 0,
                            "trail_s": TRAIL_S, "stream": "sim",
                            "physio": {k: {"name": f"sim-{k}", "sfreq": RATES[k]} for k in kinds}})
    n_updates = int(DURATION_S / UPDATE_S)
    for u in range(1, n_updates + 1):
        t_now = u * UPDATE_S
        for kind, pipe in pipes.items():
            a, b = int(round((t_now - UPDATE_S) * RATES[kind])), int(round(t_now * RATES[kind]))
            pipe.step(signals[kind][a:b])
        gone = {k: "missing 0 lost" if missing and k in missing and missing[k][0] <= t_now < missing[k][1] + 5
                else "ok 0 lost" for k in kinds}
        state.ingest({"time": t_now, "eeg": None, "va": None, "code": None, "status": 0, "latency_ms": None,
                      "health": {"received": 0, "devices": gone},
                      "physio": {k: v.drain() for k, v in views.items()}})
    return state, offline


def _render(state):
    dash = state.make_figure()
    dash.render(state)
    return dash


def _xy(line, now):
    x, y = line.get_data()
    return np.asarray(x, float) + now, np.asarray(y, float)


def test_physio_panels_hold_the_stages_beats_scrs_breaths_and_rates(signals):
    state, offline = _session(signals, ["ecg", "ppg", "eda", "resp"])
    dash = _render(state)
    now = state.last_time
    axes = dash.axes
    assert [k for k in ("heart", "hr", "eda", "resp") if k in axes] == ["heart", "hr", "eda", "resp"]
    assert axes["heart"].get_title() == "ECG with R peaks" and axes["hr"].get_title() == "heart rate and beats"
    assert axes["eda"].get_title() == "EDA with SCRs" and axes["resp"].get_title() == "respiration"
    assert dash.fig.get_size_inches()[1] > 10  # a fourth row

    # the heart signal panel: the ECG's R peaks of the last eeg_window_s, at the stage's own samples
    ev = offline["ecg"].events
    det = ev[(ev["flag"] & (FLAG_EXTRA | FLAG_INSERTED)) == 0]
    beat_t = det["sample"] / RATES["ecg"]
    lines = {ln.get_label(): ln for ln in axes["heart"].lines}
    t, y = _xy(lines["beats"], now)
    decided = beat_t[beat_t >= now - state.eeg_window_s]
    # beats of the last decision delay are not decided yet when the session stops
    delay = FramedPhysioPipeline(PhysioConfig(), "ecg", RATES["ecg"]).decision_delay / RATES["ecg"]
    expected = decided[decided < now - delay]
    assert len(t) >= 3
    np.testing.assert_allclose(np.sort(t)[: len(expected)], expected, atol=1e-9)
    clean = offline["ecg"].continuous[:, 0]
    np.testing.assert_allclose(y, clean[np.round(t * RATES["ecg"]).astype(int)])
    # ... which are the signal's local maxima (R peaks): a beat stands out from the trace around it
    trace_t, trace = _xy(lines["_child0"], now)
    trace = trace[trace_t < now - delay]  # where the beats are decided
    assert np.nanmax(trace) <= 1.05 * np.max(y) and np.median(y) > np.nanpercentile(trace, 95)

    # heart rate: every beat of the trail at 60 / interval, the stage's heart rate at 4 Hz
    hr_lines = {ln.get_label(): ln for ln in axes["hr"].lines}
    t, bhr = _xy(hr_lines["_child1"], now)
    in_trail = det[(beat_t >= now - TRAIL_S)]
    assert len(t) == len(in_trail) and len(t) >= 0.5 * TRAIL_S  # >= 30 bpm over the trail
    np.testing.assert_allclose(bhr, 60.0 / in_trail["ibi_s"])
    t, hr = _xy(hr_lines["ECG"], now)
    idx = np.round(t * RATES["ecg"]).astype(int)
    assert np.all(idx % 64 == 0) and len(t) == pytest.approx(TRAIL_S * 4, abs=2)
    np.testing.assert_allclose(hr, offline["ecg"].continuous[idx, 1])
    assert 40 < np.nanmedian(hr) < 140 and hr_lines["PPG"].get_xydata().size
    assert "ECG" in axes["hr"].texts[0].get_text() and "bpm" in axes["hr"].texts[0].get_text()
    lo, hi = axes["hr"].get_ylim()
    assert lo <= np.nanmin(bhr) and np.nanmax(bhr) <= hi  # the y range holds the data

    # EDA: each SCR's onset and peak on the conductance, the tonic level
    eda = {ln.get_label(): ln for ln in axes["eda"].lines}
    scr = offline["eda"].events
    for label, field in (("SCR peak", "sample"), ("SCR onset", "onset_sample")):
        t, y = _xy(eda[label], now)
        s = scr[field]
        want = s[(s / RATES["eda"] >= now - TRAIL_S)] / RATES["eda"]
        np.testing.assert_allclose(np.sort(t), np.sort(want), atol=1e-9)
        np.testing.assert_allclose(y, offline["eda"].continuous[np.round(t * RATES["eda"]).astype(int), 0])
    assert len(_xy(eda["SCR peak"], now)[0]) >= 1
    t, sc = _xy(eda["conductance"], now)
    assert len(t) == pytest.approx(TRAIL_S * RATES["eda"], abs=2)
    np.testing.assert_allclose(sc, offline["eda"].continuous[np.round(t * RATES["eda"]).astype(int), 0])
    assert eda["tonic"].get_xydata().size and "µS" in axes["eda"].texts[0].get_text()

    # respiration: the breaths on the cleaned signal (8 Hz), the newest rate in the corner
    resp = {ln.get_label(): ln for ln in axes["resp"].lines}
    t, _ = _xy(resp["breaths"], now)
    b = offline["resp"].events["sample"] / RATES["resp"]
    np.testing.assert_allclose(np.sort(t), np.sort(b[b >= now - TRAIL_S]), atol=1e-9)
    assert len(t) >= 4  # >= 8 breaths/min over the trail
    t, _ = _xy(resp["_child0"], now)
    assert np.all(np.round(t * RATES["resp"]).astype(int) % 4 == 0)
    rate = offline["resp"].continuous[:, 1]
    assert f"{rate[np.isfinite(rate)][-1]:.1f} breaths/min" in axes["resp"].texts[0].get_text()


def test_physio_panels_only_for_the_kinds_the_session_has(signals):
    state, _ = _session(signals, ["eda"])
    dash = _render(state)
    assert "eda" in dash.axes and not {"heart", "hr", "resp"} & set(dash.axes)
    bare = DashboardState({"ch_names": list(DREAMER_CHANNELS), "sfreq": 200.0,
                           "pipeline": PipelineConfig().model_dump(mode="json"), "n_codes": 0, "stream": "sim"})
    plain = bare.make_figure()
    assert not {"heart", "hr", "eda", "resp"} & set(plain.axes)
    assert len(plain.fig.axes) < len(dash.fig.axes) and plain.fig.get_size_inches()[1] < 10


def test_a_missing_device_shows_nan_and_no_beats(signals):
    """ECG missing from 20 s to 30 s (NaN samples, as the live session fills a dropped device): no beat and no
    heart rate inside the gap, the panel says the device is missing while it is."""
    state, offline = _session(signals, ["ecg", "eda"], missing={"ecg": (20.0, 30.0)})
    dash = _render(state)
    now = state.last_time
    hr_lines = {ln.get_label(): ln for ln in dash.axes["hr"].lines}
    t, hr = _xy(hr_lines["ECG"], now)
    gap = (t >= 20.0) & (t < 30.0)  # the stage holds its rate a while after the last beat: not shown in a gap
    assert gap.sum() >= 39 and np.isnan(hr[gap]).all() and np.isfinite(hr[(t > 15.0) & (t < 20.0)]).any()
    assert np.isfinite(hr[t > 38.0]).any()  # back once beats are decided again
    bt, _ = _xy(hr_lines["_child1"], now)
    assert not ((bt > 20.0) & (bt < 30.0)).any()
    # missing in the last update's health row -> the text says so (the session ends 15 s after the gap here)
    state.health = {"devices": {"ecg": "missing 2560 lost", "eda": "ok 0 lost"}}
    dash.render(state)
    assert "ECG missing" in dash.axes["hr"].texts[0].get_text()
    assert dash.axes["hr"].texts[0].get_color() == "tab:red"


def test_view_is_chunk_invariant_and_bounded(signals):
    """The view's decimation and events do not depend on how the stream is chunked, and a view nobody drains
    keeps at most max_points per series."""
    x = signals["ecg"][: int(20 * RATES["ecg"])]
    results = []
    for sizes in ([64], [1, 7, 300, 13]):
        pipe = FramedPhysioPipeline(PhysioConfig(), "ecg", RATES["ecg"])
        view = PhysioView("ecg", RATES["ecg"])
        pipe.tap = lambda out, pipe=pipe, view=view: view.add(
            out, pipe.n_seen - len(out.quality), (pipe.n_seen - len(out.quality) + np.arange(len(out.quality)))
            / RATES["ecg"], lambda s: np.asarray(s) / RATES["ecg"], pipe.continuous_at)
        a, k = 0, 0
        while a < len(x):
            b = min(len(x), a + sizes[k % len(sizes)])
            pipe.step(x[a:b])
            a, k = b, k + 1
        results.append(view.drain())
    assert set(results[0]) == set(VIEW_SERIES["ecg"])
    for name in VIEW_SERIES["ecg"]:
        np.testing.assert_array_equal(results[0][name][0], results[1][name][0])
        np.testing.assert_array_equal(results[0][name][1], results[1][name][1])
    assert len(results[0]["signal"][0]) == pytest.approx(20 * 128, abs=1)
    small = PhysioView("ecg", RATES["ecg"], max_points=100)
    pipe = FramedPhysioPipeline(PhysioConfig(), "ecg", RATES["ecg"])
    pipe.tap = lambda out: small.add(out, pipe.n_seen - len(out.quality), np.arange(len(out.quality), dtype=float),
                                     lambda s: np.asarray(s, float), pipe.continuous_at)
    for a in range(0, len(x), 64):
        pipe.step(x[a:a + 64])
    assert len(small.drain()["signal"][0]) <= 100 + 32
    with pytest.raises(ValueError, match="dashboard panel"):
        PhysioView("temp", 4.0)


def test_standalone_physiology_plots(rng):
    t = np.arange(100) / 10
    y = rng.standard_normal(100)
    fig = plot_heart_signal(t, y, t[::10], y[::10], "ppg")
    assert fig.axes[0].get_title() == "PPG with pulse peaks"
    assert fig.axes[0].lines[1].get_xydata().shape == (10, 2)
    fig = plot_heart_rate({"ecg": (t, 60 + y, t[::10], 60 + y[::10])})
    assert fig.axes[0].get_ylabel() == "bpm" and len(fig.axes[0].lines) == 2
    fig = plot_eda(t, 5 + y, 5 + 0 * y, t[:2], y[:2], t[2:4], y[2:4])
    assert [ln.get_label() for ln in fig.axes[0].lines][2:] == ["SCR onset", "SCR peak (2)"]
    fig = plot_respiration(t, y, t[::20], y[::20], t, np.full(100, 15.0))
    assert fig.axes[0].get_title() == "respiration, 15.0 breaths/min"
