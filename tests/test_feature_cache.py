"""The HDF5 feature cache: equals direct featurisation, reused, keyed, crash-safe and resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy.io import savemat

from eegaffect.datasets import EEGDataset, Trial, load_dataset
from eegaffect.datasets.features import FeatureCache, featurise_trial, window_starts
from eegaffect.pipeline import PipelineConfig

SEED_LABELS = [1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]


def write_tiny_seed(root: Path, n_subjects: int = 2, n_sessions: int = 2, seconds: float = 4.0,
                    seed: int = 0) -> Path:
    """A miniature SEED copy in the real layout (Preprocessed_EEG/{subject}_{date}.mat, label.mat).

    The alpha-band amplitude of every trial depends on its class, so the classes are learnable.
    """
    rng = np.random.default_rng(seed)
    folder = root / "Preprocessed_EEG"
    folder.mkdir(parents=True)
    savemat(folder / "label.mat", {"label": np.array([SEED_LABELS])}, do_compression=True)
    n_times = int(200 * seconds) + 1
    t = np.arange(n_times) / 200.0
    for subject in range(1, n_subjects + 1):
        for session in range(1, n_sessions + 1):
            trials = {}
            for k, code in enumerate(SEED_LABELS, start=1):
                alpha = (2.0 + 1.5 * code) * np.sin(2 * np.pi * 10.0 * t + rng.uniform(0, 2 * np.pi))
                x = rng.normal(scale=1.0, size=(62, n_times)) + alpha[None, :] * rng.uniform(0.5, 1.0, (62, 1))
                trials[f"sub{subject}_eeg{k}"] = x
            savemat(folder / f"{subject}_2013{session:02d}{10 + subject:02d}.mat", trials, do_compression=True)
    return root


@pytest.fixture(scope="module")
def tiny_seed(tmp_path_factory) -> Path:
    return write_tiny_seed(tmp_path_factory.mktemp("seed"))


def _files(cache: FeatureCache) -> list[Path]:
    return sorted(cache.path.glob("*.h5"))


def test_cache_equals_direct_featurisation_and_is_reused(tiny_seed, tmp_path):
    ds = load_dataset(tiny_seed, "seed")
    config = PipelineConfig()
    cache = FeatureCache(ds, config, "features", cache_dir=tmp_path)
    stats = cache.build(show_progress=False)
    assert (stats.files_built, stats.files_reused) == (4, 0)
    assert stats.eeg_seconds == pytest.approx(4 * 15 * 801 / 200)
    assert len(_files(cache)) == 4
    for trial in ds.trials[::7]:
        expected = featurise_trial(trial.load(), trial.info.sfreq, config, "features")
        got = cache.load(trial)
        assert got.shape == (4, 62, 5)
        np.testing.assert_array_equal(got, expected)
    mtimes = [p.stat().st_mtime_ns for p in _files(cache)]
    again = FeatureCache(load_dataset(tiny_seed, "seed"), config, "features", cache_dir=tmp_path)
    assert again.path == cache.path
    stats = again.build(show_progress=False)
    assert (stats.files_built, stats.files_reused) == (0, 4)
    assert [p.stat().st_mtime_ns for p in _files(again)] == mtimes


def test_raw_windows_are_the_filtered_signal_cut_like_the_features(tiny_seed, tmp_path):
    ds = load_dataset(tiny_seed, "seed").select(subjects=[1], sessions=[1])
    config = PipelineConfig.model_validate({"features": {"window_s": 1.0, "hop_s": 0.5}})
    cache = FeatureCache(ds, config, "raw", cache_dir=tmp_path)
    cache.build(show_progress=False)
    trial = ds.trials[0]
    windows = cache.load(trial)
    feats = featurise_trial(trial.load(), 200.0, config, "features")
    starts = window_starts(trial.info.n_times, config)
    assert windows.dtype == np.float32 and windows.shape == (len(starts), 62, 200)
    assert feats.shape[0] == len(starts) == 7  # (801 - 200) // 100 + 1
    # the two halves of window 1 are the second half of window 0 and the first half of window 2
    np.testing.assert_array_equal(windows[1, :, :100], windows[0, :, 100:])
    np.testing.assert_array_equal(windows[1, :, 100:], windows[2, :, :100])


def test_cache_key_follows_files_and_config(tiny_seed, tmp_path):
    ds = load_dataset(tiny_seed, "seed")
    base = FeatureCache(ds, PipelineConfig(), "features", cache_dir=tmp_path)
    other_cfg = FeatureCache(ds, PipelineConfig.model_validate({"features": {"window_s": 2.0, "hop_s": 2.0}}),
                             "features", cache_dir=tmp_path)
    raw = FeatureCache(ds, PipelineConfig(), "raw", cache_dir=tmp_path)
    assert len({base.key, other_cfg.key, raw.key}) == 3
    path = ds.source_files()[0]
    st = path.stat()
    try:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        touched = FeatureCache(load_dataset(tiny_seed, "seed"), PipelineConfig(), "features", cache_dir=tmp_path)
        assert touched.key != base.key
    finally:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert FeatureCache(load_dataset(tiny_seed, "seed"), PipelineConfig(), cache_dir=tmp_path).key == base.key


class _Interrupt:
    """Loads trials through the real reader; the n-th load raises or hangs (a user pressing Ctrl-C / a crash)."""

    def __init__(self, trial: Trial, counter: list, at: int, action: str):
        self.trial, self.counter, self.at, self.action = trial, counter, at, action

    def __call__(self):
        self.counter[0] += 1
        if self.counter[0] == self.at:
            if self.action == "raise":
                raise KeyboardInterrupt
            print("HANGING", flush=True)
            time.sleep(600)
        return self.trial.load()


def _interruptible(ds: EEGDataset, at: int, action: str = "raise") -> EEGDataset:
    counter = [0]
    return EEGDataset(ds.name, [Trial(t.info, _Interrupt(t, counter, at, action)) for t in ds.trials],
                      ds.class_names, ds.root)


def _assert_all_complete(cache: FeatureCache) -> None:
    for path in _files(cache):
        with h5py.File(path, "r") as h5:
            assert h5.attrs["complete"]
            assert len(h5.keys()) == 15


def test_ctrl_c_leaves_nothing_corrupt_and_next_build_resumes(tiny_seed, tmp_path):
    ds = load_dataset(tiny_seed, "seed")
    config = PipelineConfig()
    cache = FeatureCache(_interruptible(ds, at=20), config, cache_dir=tmp_path)  # file 2, trial 5
    with pytest.raises(KeyboardInterrupt):
        cache.build(show_progress=False)
    assert [p.name for p in cache.path.iterdir() if ".partial-" in p.name] == []
    assert len(_files(cache)) == 1
    _assert_all_complete(cache)
    resumed = FeatureCache(ds, config, cache_dir=tmp_path)
    stats = resumed.build(show_progress=False)
    assert (stats.files_built, stats.files_reused) == (3, 1)
    _assert_all_complete(resumed)
    fresh = FeatureCache(ds, config, cache_dir=tmp_path / "fresh")
    fresh.build(show_progress=False)
    for trial in ds.trials:
        np.testing.assert_array_equal(resumed.load(trial), fresh.load(trial))


@pytest.mark.timeout(120)
def test_killed_build_leaves_no_corrupt_file_and_resumes(tiny_seed, tmp_path):
    """A build killed with SIGKILL half-way through a file: the final names hold only whole files."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_feature_cache import _interruptible
        from eegaffect.datasets import load_dataset
        from eegaffect.datasets.features import FeatureCache
        from eegaffect.pipeline import PipelineConfig
        ds = _interruptible(load_dataset({str(tiny_seed)!r}, "seed"), at=35, action="hang")
        FeatureCache(ds, PipelineConfig(), cache_dir={str(tmp_path)!r}).build(show_progress=False)
    """)
    env = {**os.environ, "EEGAFFECT_PROGRESS": "0"}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "HANGING", proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    ds = load_dataset(tiny_seed, "seed")
    cache = FeatureCache(ds, PipelineConfig(), cache_dir=tmp_path)
    partials = [p for p in cache.path.iterdir() if ".partial-" in p.name]
    assert len(partials) == 1  # the file being written when the process died, never under its final name
    assert len(_files(cache)) == 2
    _assert_all_complete(cache)
    stats = cache.build(show_progress=False)
    assert (stats.files_built, stats.files_reused) == (2, 2)
    assert not [p for p in cache.path.iterdir() if ".partial-" in p.name]
    _assert_all_complete(cache)


def test_unreadable_cache_file_is_rebuilt(tiny_seed, tmp_path):
    ds = load_dataset(tiny_seed, "seed").select(subjects=[2])
    cache = FeatureCache(ds, PipelineConfig(), cache_dir=tmp_path)
    cache.build(show_progress=False)
    victim = _files(cache)[0]
    victim.write_bytes(b"not an HDF5 file")
    stats = cache.build(show_progress=False)
    assert (stats.files_built, stats.files_reused) == (1, 1)
    _assert_all_complete(cache)


def test_build_only_the_requested_sessions(tiny_seed, tmp_path):
    ds = load_dataset(tiny_seed, "seed")
    cache = FeatureCache(ds, PipelineConfig(), cache_dir=tmp_path)
    wanted = ds.select(subjects=[1], sessions=[2]).trials
    stats = cache.build(wanted, show_progress=False)
    assert stats.files_built == 1 and len(_files(cache)) == 1
    assert cache.load(wanted[3]).shape == (4, 62, 5)
    with pytest.raises(FileNotFoundError, match="build"):
        cache.load(ds.select(subjects=[2]).trials[0])


def test_featurise_trial_errors():
    with pytest.raises(ValueError, match="kind"):
        featurise_trial(np.zeros((400, 2)), 200.0, PipelineConfig(), "psd")
    with pytest.raises(ValueError, match=r"\(n_times, n_chans\)"):
        featurise_trial(np.zeros(400), 200.0, PipelineConfig())
    with pytest.raises(TypeError, match="PipelineConfig"):
        featurise_trial(np.zeros((400, 2)), 200.0, {"sfreq": 200})


def test_measure_session_reports_consistent_figures():
    from eegaffect.datasets.features import SEED_TRIAL_SAMPLES, measure_session

    assert sum(SEED_TRIAL_SAMPLES) == 3394 * 200 + 15  # one full session, N = 200 T + 1 per trial
    m = measure_session(n_chans=4, trial_samples=(401, 601), seed=1)
    assert m["n_windows"] == 2 + 3 and m["eeg_seconds"] == pytest.approx(1002 / 200)
    assert m["wall_s"] > 0 and m["throughput"] == pytest.approx(m["eeg_seconds"] / m["wall_s"])
    with pytest.raises(ValueError, match="kind"):
        measure_session(kind="psd")
