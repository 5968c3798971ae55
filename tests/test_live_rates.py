"""Issue 17: ``live`` runs a model on streams at other rates than it was trained at (128 Hz: Emotiv, DEAP,
DREAMER; 250/256/500/512/1000 Hz: research amplifiers), resampling them, or says clearly why it cannot."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eegaffect.acquisition.channels import DREAMER_CHANNELS

RATES = [128.0, 250.0, 256.0, 500.0, 512.0, 1000.0]


@pytest.fixture(scope="module")
def bundle14(tmp_path_factory):
    """The demo architecture briefly trained on 14-channel simulated EEG at 200 Hz."""
    from eegaffect.commands.bench_live import bench_bundle

    return bench_bundle(DREAMER_CHANNELS, tmp_path_factory.mktemp("bundle14") / "bundle", seed=0)


@pytest.mark.parametrize("sfreq", RATES)
def test_dashboard_accepts_any_stream_rate(sfreq):
    """The display filter is adapted to the stream's Nyquist before it is validated (a 75-Hz low-pass at 128 Hz
    was a pydantic traceback)."""
    from eegaffect.live.dashboard_worker import DashboardState
    from eegaffect.pipeline import PipelineConfig

    state = DashboardState({"ch_names": list(DREAMER_CHANNELS), "sfreq": sfreq,
                            "pipeline": PipelineConfig().model_dump(mode="json")})
    assert state._filter is not None  # the band-pass/notch is shown, only the low-pass is dropped when too high


def test_model_runs_on_streams_at_other_rates(bundle14, rng):
    """Each rate is resampled to the model's 200 Hz: one finite frame per second, whatever the input rate."""
    from eegaffect.models.bundle import Predictor

    for sfreq in RATES:
        predictor = Predictor.load(bundle14, sfreq=sfreq)
        x = rng.standard_normal((int(6 * sfreq), len(DREAMER_CHANNELS))) * 1e-5
        live = [predictor.step(c) for c in np.array_split(x, 7)]
        offline = predictor.predict(x)
        assert len(offline) == 6, sfreq
        assert np.isfinite(offline.va).all(), sfreq
        np.testing.assert_allclose(np.concatenate([p.va for p in live]), offline.va, atol=1e-6)


def test_a_stream_too_slow_for_the_models_bands_is_refused(bundle14):
    from eegaffect.models.bundle import BundleError, Predictor

    with pytest.raises(BundleError, match=r"a stream at 64 Hz carries frequencies up to 32 Hz, but the model .* uses "
                                          r"bands up to 50 Hz \(trained at 200 Hz\): it needs a stream at 100 Hz"):
        Predictor.load(bundle14, sfreq=64.0)


@pytest.mark.timeout(120)
def test_live_cli_on_a_128_hz_stream(bundle14, tmp_path, unique_name, rng, capsys):
    from eegaffect.acquisition.player import Player
    from eegaffect.cli import main

    data = (rng.standard_normal((128 * 4, len(DREAMER_CHANNELS))) * 20e-6).astype(np.float32)
    with Player(data, 128.0, list(DREAMER_CHANNELS), name=unique_name, loop=True, chunk_size=8) as player:
        player.start()
        rc = main(["live", "--stream", unique_name, "--model", str(bundle14), "--out", str(tmp_path / "run"),
                   "--duration", "4", "--headless", "--set", "truth=false"])
    assert rc == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["updates"] > 0 and summary["samples_received"] > 128 * 2
