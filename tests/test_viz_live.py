"""Live plots and the dashboard, headless (Agg): the expected axes exist and hold the data."""

from __future__ import annotations

import numpy as np
import pytest
from eegaffect.acquisition.channels import DREAMER_CHANNELS
from matplotlib.figure import Figure

from eegaffect.live.dashboard_state import DashboardState
from eegaffect.live.dashboard_worker import ThreadDashboard, display_available, make_dashboard
from eegaffect.pipeline import PipelineConfig
from eegaffect.viz.live import (
    LiveDashboard,
    plot_band_topomaps,
    plot_circumplex,
    plot_code_timeline,
    plot_eeg_traces,
    plot_latency_histogram,
    plot_stream_health,
)

CH = list(DREAMER_CHANNELS)
BANDS = ["delta", "theta", "alpha", "beta", "gamma"]


def test_eeg_traces_hold_the_data(rng):
    t = np.arange(100) / 100
    x = rng.standard_normal((100, 3))
    fig = plot_eeg_traces(t, x, ["Fz", "Cz", "Pz"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    for k, line in enumerate(ax.lines):  # each trace is the channel, centred, at its offset
        y = line.get_ydata()
        np.testing.assert_allclose(np.diff(y), np.diff(x[:, k]))
    assert [tl.get_text() for tl in ax.get_yticklabels()] == ["Fz", "Cz", "Pz"]
    with pytest.raises(ValueError, match="expected data of shape"):
        plot_eeg_traces(t, x[:, :2], ["Fz", "Cz", "Pz"])


def test_band_topomaps_one_image_per_band(rng):
    values = rng.standard_normal((len(CH), len(BANDS)))
    fig = plot_band_topomaps(values, CH, BANDS)
    assert len(fig.axes) == len(BANDS)
    for ax, name in zip(fig.axes, BANDS):
        assert ax.get_title() == name
        assert len(ax.images) == 1
    # the map's range is the data's range (colour limits = the band's min/max)
    assert fig.axes[2].images[0].get_clim() == pytest.approx((values[:, 2].min(), values[:, 2].max()))
    with pytest.raises(ValueError, match="n_chans, n_bands"):
        plot_band_topomaps(values.T, CH, BANDS)


def test_circumplex_trail_point_truth_and_prototypes(rng):
    va = rng.uniform(-1, 1, (20, 2))
    truth = rng.uniform(-1, 1, (20, 2))
    protos = rng.uniform(-1, 1, (4, 2))
    fig = plot_circumplex(va, truth, prototypes=protos)
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    np.testing.assert_array_equal(np.column_stack(lines["predicted"].get_data()), va)
    np.testing.assert_array_equal(np.column_stack(lines["truth"].get_data()), truth)
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), protos)
    assert ax.get_xlabel() == "valence" and ax.get_ylabel() == "arousal"


def test_code_timeline_latency_histogram_and_health(rng):
    t = np.arange(10.0)
    codes = np.array([3, 3, -1, 5, 5, 5, 1, -1, 2, 2])
    fig = plot_code_timeline(t, codes, n_codes=8)
    x, y = fig.axes[0].lines[0].get_data()
    np.testing.assert_array_equal(y, codes[codes >= 0])
    assert fig.axes[0].get_ylim() == (-0.5, 7.5)

    lat = rng.gamma(2.0, 1.0, 200)
    fig = plot_latency_histogram(lat)
    ax = fig.axes[0]
    assert sum(p.get_height() for p in ax.patches) == 200
    labels = [line.get_label() for line in ax.lines]
    assert f"p99 {np.percentile(lat, 99):.2f} ms" in labels

    fig = plot_stream_health({"rate (Hz)": 199.5, "lost": 3})
    text = fig.axes[0].texts[0].get_text()
    assert "199.50" in text and "lost" in text


def _feed(state: DashboardState, rng, n: int, sfreq: float = 200.0) -> None:
    for k in range(n):
        state.ingest({"time": (k + 1) * 0.25, "eeg": rng.standard_normal((int(sfreq / 4), len(CH))) * 1e-5,
                      "va": rng.uniform(-1, 1, 2), "truth": rng.uniform(-1, 1, 2), "code": int(k % 4),
                      "status": 0, "latency_ms": float(rng.uniform(1, 3)),
                      "health": {"rate_hz": sfreq, "received": k * 50, "lost": 0, "gaps": 0, "reconnects": 0}})


def _state(**extra) -> DashboardState:
    return DashboardState({"ch_names": CH, "sfreq": 200.0, "pipeline": PipelineConfig().model_dump(mode="json"),
                           "n_codes": 4, "trail_s": 30.0, "stream": "sim", **extra})


def test_dashboard_without_a_quantiser_shows_the_estimate_over_time(rng):
    """The default model has no quantiser (code -1 always): the bottom-left panel then shows predicted and true
    valence/arousal against time instead of an empty code timeline."""
    state = _state()
    _feed(state, rng, 40)
    dash = LiveDashboard(state.ch_names, state.band_names, state.eeg_ch_names, 0)
    dash.render(state)
    ax = dash.axes["code"]
    assert ax.get_title() == "valence / arousal over time"
    lines = {line.get_label(): line for line in ax.lines}
    t, va = state.va_trail()
    np.testing.assert_allclose(lines["valence"].get_xdata(), t - state.last_time)
    np.testing.assert_array_equal(lines["arousal"].get_ydata(), va[:, 1])
    tt, tr = state.truth_trail()
    np.testing.assert_array_equal(lines["truth valence"].get_ydata(), tr[:, 0])
    dash.draw_frame(state)
    assert lines["valence"].get_animated()


def test_dashboard_state_uses_the_pipeline_features(rng):
    from eegaffect.pipeline import SignalPipeline

    state = _state()
    chunks = [rng.standard_normal((50, len(CH))) for _ in range(12)]
    for k, c in enumerate(chunks):
        state.ingest({"time": k * 0.25, "eeg": c, "va": None, "code": None, "status": 2, "latency_ms": None})
    expected = SignalPipeline(PipelineConfig(), len(CH), 200.0).process(np.concatenate(chunks))
    np.testing.assert_allclose(state.band_values, expected[-1])
    assert state.features_version == len(expected)
    t, tr = state.eeg_traces()
    assert tr.shape == (len(t), len(state.eeg_idx)) and len(t) == 600
    _, va = state.va_trail()
    assert va.shape == (12, 2) and np.all(np.isnan(va))


def test_live_dashboard_panels_hold_the_state(rng):
    state = _state()
    _feed(state, rng, 40)
    dash = LiveDashboard(state.ch_names, state.band_names, state.eeg_ch_names, 4)
    fig = dash.render(state)
    axes = dash.axes
    assert len(axes["topo"]) == 5 and all(len(ax.images) == 1 for ax in axes["topo"])
    _, va = state.va_trail()
    pred = next(line for line in axes["va"].lines if line.get_label() == "predicted")
    np.testing.assert_array_equal(np.column_stack(pred.get_data()), va)
    t, traces = state.eeg_traces()
    np.testing.assert_allclose(axes["eeg"].lines[0].get_xdata(), t - state.last_time)
    assert sum(p.get_height() for p in axes["latency"].patches) == len(state.latencies_ms())
    assert "received" in axes["health"].texts[0].get_text()
    c_t, codes = state.code_trail()
    np.testing.assert_array_equal(axes["code"].lines[0].get_ydata(), codes)
    # a window frame (blitting) works on the same figure and keeps the moving artists out of the background
    dash.draw_frame(state)
    assert dash._background is not None and pred.get_animated()
    dash.render(state)
    assert not pred.get_animated()
    assert fig is dash.fig


def test_thread_dashboard_saves_png(rng, tmp_path):
    dash = ThreadDashboard(tmp_path / "dash.png")
    dash.start({"ch_names": CH, "sfreq": 200.0, "pipeline": PipelineConfig().model_dump(mode="json"),
                "n_codes": 4, "trail_s": 30.0})
    for k in range(12):
        dash.submit({"time": k * 0.25, "eeg": rng.standard_normal((50, len(CH))), "va": rng.uniform(-1, 1, 2),
                     "truth": None, "code": 1, "status": 0, "latency_ms": 2.0, "health": {}})
    path = dash.close()
    assert path == str(tmp_path / "dash.png")
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    assert img.shape[0] > 400 and img.shape[1] > 800
    assert dash.state.n_messages == 12 and dash.error is None


def test_make_dashboard_respects_headless(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert not display_available()
    from eegaffect.live.dashboard_worker import ProcessDashboard

    headless = make_dashboard(tmp_path / "x.png")  # its own process, without a window
    assert isinstance(headless, ProcessDashboard) and not headless.window and headless.nice > 0
    assert make_dashboard(None, show=False) is None


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_process_dashboard_draws_frames_and_saves_png(rng, tmp_path):
    """The window worker runs in its own process (here on Agg): it draws frames and saves the last one."""
    import time

    from eegaffect.live.dashboard_worker import ProcessDashboard

    dash = ProcessDashboard(tmp_path / "win.png", fps=20)
    dash.start({"ch_names": CH, "sfreq": 200.0, "pipeline": PipelineConfig().model_dump(mode="json"),
                "n_codes": 4, "trail_s": 30.0, "stream": "sim"})
    assert dash.wait_ready(90)
    for k in range(16):
        dash.submit({"time": k * 0.25, "eeg": rng.standard_normal((50, len(CH))), "va": rng.uniform(-1, 1, 2),
                     "truth": rng.uniform(-1, 1, 2), "code": k % 4, "status": 0, "latency_ms": 2.0,
                     "health": {"rate_hz": 200.0}})
        time.sleep(0.05)
    time.sleep(1.0)
    path = dash.close(timeout=60)
    assert path == str(tmp_path / "win.png") and (tmp_path / "win.png").stat().st_size > 10_000
    assert dash.frames["frames"] >= 2 and dash.frames["fps"] > 0 and dash.frames["draw_ms_p50"] > 0


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_headless_process_dashboard_folds_messages_and_saves_png(rng, tmp_path):
    """Headless, the dashboard still runs in its own process (never the session's interpreter), at a lower
    priority, and renders the PNG once at the end."""
    import os

    from eegaffect.live.dashboard_worker import ProcessDashboard

    with pytest.raises(ValueError, match="needs png_path"):
        ProcessDashboard(None, window=False)
    dash = ProcessDashboard(tmp_path / "headless.png", window=False)
    dash.start({"ch_names": CH, "sfreq": 200.0, "pipeline": PipelineConfig().model_dump(mode="json"),
                "n_codes": 0, "trail_s": 30.0, "stream": "sim"})
    assert dash.wait_ready(90)
    assert os.getpriority(os.PRIO_PROCESS, dash._process.pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    for k in range(12):
        dash.submit({"time": k * 0.25, "eeg": rng.standard_normal((50, len(CH))), "va": rng.uniform(-1, 1, 2),
                     "truth": None, "code": -1, "status": 0, "latency_ms": 2.0, "health": {}})
    path = dash.close(timeout=60)
    assert path == str(tmp_path / "headless.png") and (tmp_path / "headless.png").stat().st_size > 10_000
    assert dash.frames["messages"] == 12 and dash.frames["error"] is None


def test_topomaps_have_a_colour_bar_with_the_quantity(rng):
    from eegaffect.viz.live import feature_quantity

    values = rng.standard_normal((len(CH), len(BANDS)))
    fig = plot_band_topomaps(values, CH, BANDS, quantity=feature_quantity("de"))
    for k, ax in enumerate(fig.axes):
        (cax,) = ax.child_axes  # the colour bar: an inset below the map, spanning the map's colour range
        assert cax.get_xlabel() == "DE (nats)"
        assert cax.get_xlim() == pytest.approx((values[:, k].min(), values[:, k].max()))
    assert feature_quantity("band_power", "uV") == "band power (µV²)"
    assert feature_quantity("de", "V", standardize="ems") == "DE (z-score)"
    with pytest.raises(ValueError, match="feature kind"):
        feature_quantity("psd")
    assert all(not ax.child_axes for ax in plot_band_topomaps(values, CH, BANDS, colorbar=False).axes)


def test_eeg_traces_have_a_scale_bar_in_microvolts(rng):
    t = np.arange(200) / 200
    x = rng.standard_normal((200, 3)) * 1e-5  # volts: traces 4 SD = ~40 µV apart
    ax = plot_eeg_traces(t, x, ["Fz", "Cz", "Pz"], unit="V").axes[0]
    (bar,) = ax.collections
    (y0, y1) = bar.get_segments()[0][:, 1]
    label = next(tx.get_text() for tx in ax.texts if tx.get_text().endswith("µV"))
    value = float(label.split()[0])
    assert (y1 - y0) == pytest.approx(value * 1e-6)  # the bar is as long as its label says, in the data's unit
    spacing = 4 * np.median(x.std(axis=0))
    assert spacing / 2.5 <= (y1 - y0) <= spacing  # a round value no longer than the distance between traces
    assert value in (1, 2, 5, 10, 20, 50, 100)


def test_health_panel_wraps_the_stream_name_and_shows_both_rates(rng):
    name = "a-rather-long-stream-name-from-a-headset-1234"
    state = _state(stream=name, unit="V")
    for k in range(60):  # 15 s at 4 updates/s; the first message carries a 110-sample backlog
        state.ingest({"time": (k + 1) * 0.25, "eeg": None, "va": None, "code": None, "status": 0,
                      "latency_ms": None, "health": {"received": 110 + k * 49.5, "lost": 0, "gaps": 0,
                                                     "reconnects": 0, "stalls": 1, "no_data_s": 2.5}})
    table = state.health_table()
    assert table["nominal (Hz)"] == "200.0" and table["measured (Hz)"] == "198.0"  # over the last 10 s
    assert table["stalls"] == 1 and table["no data (s)"] == "2.5"
    dash = LiveDashboard(state.ch_names, state.band_names, state.eeg_ch_names, 4, unit="V")
    dash.render(state)
    text = dash.axes["health"].texts[0].get_text()
    assert name.replace("-", "") in text.replace("\n", "").replace(" ", "").replace("-", "")  # all of it
    assert max(len(line) for line in text.splitlines()) <= 22
    assert "200.0" in text and "198.0" in text and "stalls" in text
    # the whole panel text lies inside the figure
    fig_box = dash.fig.bbox
    box = dash.axes["health"].texts[0].get_window_extent(dash.fig.canvas.get_renderer())
    assert fig_box.x0 <= box.x0 and box.x1 <= fig_box.x1 and fig_box.y0 <= box.y0


def test_health_panel_has_a_row_per_physiological_device():
    state = _state(unit="V")
    state.ingest({"time": 0.25, "eeg": None, "va": None, "code": None, "status": 16 * 8, "latency_ms": None,
                  "health": {"received": 50, "lost": 0, "gaps": 0, "reconnects": 0, "stalls": 0, "no_data_s": 0.0,
                             "devices": {"ecg": "ok 0 lost", "eda": "missing 24 lost"}}})
    table = state.health_table()
    assert table["ecg"] == "ok 0 lost" and table["eda"] == "missing 24 lost"
    assert table["status"] == "ok"  # 128 = ok with EDA missing (the modality mask is in the device rows)
    dash = LiveDashboard(state.ch_names, state.band_names, state.eeg_ch_names, 4, unit="V")
    dash.render(state)
    text = dash.axes["health"].texts[0].get_text()
    assert "missing 24 lost" in text and max(len(line) for line in text.splitlines()) <= 22


def test_dashboard_scale_bar_and_topomap_colour_bars_in_frames(rng):
    state = _state(unit="V")
    _feed(state, rng, 40)
    dash = LiveDashboard(state.ch_names, state.band_names, state.eeg_ch_names, 4, unit="V",
                         quantity="DE (nats)")
    dash.render(state)
    assert all(ax.child_axes and ax.child_axes[0].get_xlabel() == "DE (nats)" for ax in dash.axes["topo"])
    # the state names what its pipeline computes
    ems = PipelineConfig()
    ems.features.standardize = "ems"
    assert state.make_figure().quantity == "DE (nats)"
    assert _state(pipeline=ems.model_dump(mode="json")).make_figure().quantity == "DE (z-score)"
    label = dash._scale_label.get_text()
    assert label.endswith("µV")
    _, traces = state.eeg_traces()
    spacing = 4 * np.median(traces.std(axis=0))
    y0, y1 = dash._scale_bar.get_segments()[0][:, 1]
    # traces are drawn at 0.8 axis units per spacing: the bar's value at that scale
    assert (y1 - y0) == pytest.approx(float(label.split()[0]) * 1e-6 / spacing * 0.8, rel=1e-6)
    # blitting with new topomaps: drawn over the clean background (no old colour bar ticks left)
    dash.draw_frame(state)
    assert dash._clean is not None and all(ax.get_animated() for ax in dash.axes["topo"])
    state.ingest({"time": 12.0, "eeg": rng.standard_normal((400, len(CH))) * 1e-5, "va": None, "code": None,
                  "status": 0, "latency_ms": 1.0, "health": {}})
    dash.draw_frame(state)
    dash.render(state)
    assert not any(ax.get_animated() for ax in dash.axes["topo"])
