"""Issue 17: a dead, flat or non-finite channel is refused at featurisation with one line naming file, trial and
channel, by every command that featurises a dataset (never a bundle with non-finite normalisation statistics, an
sklearn traceback or a kernel error that names no file)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.io
from dataset_fixtures import write_seed

from eegaffect.cli import main


def _damaged_seed(root, how: str):
    """A 2-subject SEED copy whose subject 1, trial 3 has channel 7 damaged (``how``)."""
    write_seed(root, n_subjects=2, n_sessions=1, features=False, strays=False)
    path = sorted((root / "Preprocessed_EEG").glob("1_*.mat"))[0]
    arrays = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    key = next(k for k in arrays if k.endswith("_eeg3"))
    x = arrays[key]
    if how == "dead":
        x[7] = 0.0
    elif how == "flat":
        x[7] = 12.5
    elif how == "nan":
        x[7, 50] = np.nan
    else:
        x[7, 60:] = np.inf
    scipy.io.savemat(path, arrays, do_compression=True)
    return path, key


def _one_line(capsys, argv, command):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("eegaffect ")]
    assert len(lines) == 1 and lines[0].startswith(f"eegaffect {command}: "), err
    return lines[0]


@pytest.mark.parametrize("how, expected", [
    ("dead", r"dead \(all zero\): \['F3'\]"),
    ("flat", r"flat \(constant\): \['F3 \(= 12.5\)'\]"),
    ("nan", r"1 non-finite sample\(s\) \(NaN/Inf\) in channel\(s\) \['F3'\], the first at sample 50 \(0.250 s\)"),
    ("inf", r"non-finite sample\(s\) \(NaN/Inf\) in channel\(s\) \['F3'\], the first at sample 60"),
])
def test_every_featurising_command_names_file_trial_and_channel(tmp_path, capsys, how, expected):
    root = tmp_path / "seed"
    path, key = _damaged_seed(root, how)
    where = f"{path}: trial {key!r} (subject 1, session 1, trial 3)"
    for argv, command in [
        (["train", "--data", str(root), "--out", str(tmp_path / "bundle")], "train"),
        (["teacher", "train", "--data", str(root), "--out", str(tmp_path / "teacher")], "teacher train"),
        (["bench", "seed", "--root", str(root), "--out", str(tmp_path / "bench"), "--models", "de-logreg",
          "--set", f"cache_dir={tmp_path / 'cache'}"], "bench seed"),
    ]:
        line = _one_line(capsys, argv, command)
        assert where in line and re.search(expected, line), line
    assert not (tmp_path / "bundle" / "bundle.json").exists()
    assert not (tmp_path / "teacher").exists()
    assert not (tmp_path / "bench").exists(), "a failed bench seed left its empty --out folder behind"
    import tracemalloc

    assert not tracemalloc.is_tracing(), "a failed bench seed left tracemalloc running"


def test_teacher_refuses_non_finite_maps_and_a_diverged_training(rng):
    """The teacher said ``TypeError: Expected state_dict to be dict-like`` when no epoch had a finite loss."""
    import torch

    from eegaffect.distill.teacher import TeacherConfig, TopomapData, train_teacher
    from eegaffect.errors import UserInputError

    mask = np.ones((8, 8), bool)
    maps = rng.normal(size=(24, 3, 8, 8)).astype(np.float32)
    cfg = TeacherConfig.model_validate({
        "features": {"bands": [{"name": n, "low_hz": lo, "high_hz": hi} for n, lo, hi in
                               (("a", 1, 4), ("b", 4, 8), ("c", 8, 14))]},
        "topomap": {"grid_size": 8}, "model": {"channels": [4], "embedding_dim": 4, "drop_prob": 0.0},
        "train": {"epochs": 2, "batch_size": 8, "val_fraction": 0.25}})
    ids = [f"seed/1_x.mat/t{i}" for i in range(6)]
    va = rng.uniform(-1, 1, 24)
    bad = maps.copy()
    bad[5, 1, 2, 2] = np.nan
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny net: more threads only slow it down on shared cores
    try:
        with pytest.raises(UserInputError, match=r"1 topographic map\(s\) of trial\(s\) \['seed/1_x.mat/t1'\] hold "
                                                 r"NaN"):
            train_teacher(TopomapData(bad, va, va, np.repeat(np.arange(6), 4), ids, mask), cfg)
        with pytest.raises(UserInputError, match="teacher training diverged: no finite validation MSE in 2 epoch"):
            train_teacher(TopomapData(maps, va, np.full(24, np.nan), np.repeat(np.arange(6), 4), ids, mask), cfg)
    finally:
        torch.set_num_threads(threads)


def test_a_trial_shorter_than_one_window_is_reported(tmp_path, capsys):
    """A 0.1-s trial gives no feature window: the run says so, naming it, instead of silently dropping it."""
    root = tmp_path / "seed"
    write_seed(root, n_subjects=2, n_sessions=1, features=False, strays=False)
    path = sorted((root / "Preprocessed_EEG").glob("1_*.mat"))[0]
    arrays = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    key = next(k for k in arrays if k.endswith("_eeg2"))
    arrays[key] = arrays[key][:, :20]  # 0.1 s at 200 Hz
    scipy.io.savemat(path, arrays, do_compression=True)
    for _ in range(2):  # built, then reused from the cache: said both times
        assert main(["bench", "seed", "--root", str(root), "--out", str(tmp_path / "bench"), "--models",
                     "de-logreg", "--no-plots", "--cache-dir", str(tmp_path / "cache")]) == 0
        err = capsys.readouterr().err
        assert (f"{path}: trial {key!r} (subject 1, session 1, trial 2) lasts 0.100 s, shorter than one feature "
                "window (1 s): it gives no window and takes no part in training or scoring") in err


def test_a_chain_never_takes_non_finite_normalisation_statistics():
    """The last guard: a model whose training features were -inf on a dead channel (mean -inf, std NaN, which
    the fit turned into std 1) is refused instead of saved with NaN/-Infinity in bundle.json."""
    from eegaffect.models.chain import EEGDancerChain
    from eegaffect.models.demo import demo_config
    from eegaffect.models.stages import build_model

    model = build_model(demo_config(0), 4, 5, None)
    mean, std = np.zeros((4, 5)), np.ones((4, 5))
    EEGDancerChain(model, mean, std)
    mean[2, :] = -np.inf
    with pytest.raises(ValueError, match=r"not at \(channel, band\) \[\(2, 0\), \(2, 1\), \(2, 2\), \(2, 3\), "
                                         r"\(2, 4\)\]: the training features there are not finite"):
        EEGDancerChain(model, mean, std)


def test_train_can_interpolate_a_dead_channel_on_request_and_says_so_in_the_bundle(tmp_path, capsys):
    import json

    from test_models_training import TINY

    root = tmp_path / "seed"
    _damaged_seed(root, "dead")
    sets = [a for s in [*TINY, "data.bad_channels=interpolate", "data.subjects=[1]", "data.trials=[2, 3, 4]"]
            for a in ("--set", s)]
    assert main(["train", "--data", str(root), "--out", str(tmp_path / "bundle"), *sets]) == 0
    assert "interpolated channels without signal (data.bad_channels=interpolate) in 1 trial(s): " \
           "{'s1/sess1/t3': ['F3']}" in capsys.readouterr().err
    doc = json.loads((tmp_path / "bundle" / "bundle.json").read_text())
    assert doc["report"]["interpolated_channels"] == {"s1/sess1/t3": ["F3"]}
    assert np.isfinite(doc["normalisation"]["mean"]).all() and np.isfinite(doc["normalisation"]["std"]).all()


def test_load_interpolated_matches_the_live_interpolation(tmp_path):
    """The repaired channel is the spline estimate from the others (the matrix the live path uses)."""
    from eegaffect.datasets import load_dataset
    from eegaffect.datasets.base import find_bad_channels, load_interpolated
    from eegaffect.live.channels import spline_interpolation_matrix
    from eegaffect.montage import channel_positions

    root = tmp_path / "seed"
    _damaged_seed(root, "nan")
    trial = next(t for t in load_dataset(root, "seed") if t.info.subject == 1 and t.info.trial == 3)
    x, bad = load_interpolated(trial)
    assert bad == ["F3"] and np.isfinite(x).all() and find_bad_channels(x, trial.info.ch_names) == []
    names = list(trial.info.ch_names)
    good = [c for c in names if c != "F3"]
    ref = x[:, [names.index(c) for c in good]] @ spline_interpolation_matrix(channel_positions(good),
                                                                             channel_positions(["F3"])).T
    np.testing.assert_allclose(x[:, names.index("F3")], ref[:, 0])
    other = next(t for t in load_dataset(root, "seed") if t.info.subject == 2)
    np.testing.assert_array_equal(load_interpolated(other)[0], other.load())  # healthy trials are untouched


def test_teacher_topomaps_name_a_trial_shorter_than_one_window(tmp_path, caplog):
    import logging

    from eegaffect.datasets import load_dataset
    from eegaffect.distill.teacher import TeacherConfig, dataset_topomaps

    root = tmp_path / "seed"
    write_seed(root, n_subjects=1, n_sessions=1, features=False, strays=False)
    path = sorted((root / "Preprocessed_EEG").glob("1_*.mat"))[0]
    arrays = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    key = next(k for k in arrays if k.endswith("_eeg2"))
    arrays[key] = arrays[key][:, :20]
    scipy.io.savemat(path, arrays, do_compression=True)
    caplog.set_level(logging.WARNING, logger="eegaffect")
    trials = list(load_dataset(root, "seed"))[:3]
    data = dataset_topomaps(trials, TeacherConfig.model_validate({"topomap": {"grid_size": 8}}))
    assert len(data.trial_ids) == 2
    assert "lasts 0.100 s, shorter than one feature window (1 s): it gives no map and takes no part" in caplog.text
