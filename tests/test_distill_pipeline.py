"""The distillation path end to end on synthetic data: synthetic SEED -> teacher -> prototypes -> synthetic faces
-> student (metrics.json, confusion matrix, ONNX checked against onnxruntime), all through the CLI."""

from __future__ import annotations

import hashlib
import json

import h5py
import numpy as np
import pytest
import torch

from eegaffect.cli import main
from eegaffect.distill.teacher import (
    TeacherConfig,
    TopomapData,
    dataset_topomaps,
    load_teacher,
    save_teacher,
    train_teacher,
    trial_id,
)

_TINY_TEACHER = ["topomap.grid_size=16", "model.channels=[8, 16]", "model.embedding_dim=16", "train.epochs=3"]

@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One intra-op thread: on the shared 2-core CI machines torch's thread pool slows small nets ~30x."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)



def _sets(items):
    out = []
    for item in items:
        out += ["--set", item]
    return out


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_eeg_to_face_student_through_the_cli(tmp_path, capsys):
    from eegaffect.datasets import load_dataset
    from eegaffect.datasets.synth import write_synthetic_seed
    from eegaffect.distill.prototypes import load_prototypes

    seed_dir, teacher_dir = tmp_path / "seed", tmp_path / "teacher"
    write_synthetic_seed(seed_dir, subjects=2, sessions=1, trial_seconds=4, seed=0, features=False,
                         show_progress=False)
    assert main(["teacher", "train", "--data", str(seed_dir), "--out", str(teacher_dir), *_sets(_TINY_TEACHER)]) == 0
    meta = json.loads((teacher_dir / "teacher.json").read_text())
    assert meta["checksum"] == _sha(teacher_dir / "teacher.safetensors")
    assert not set(meta["train_trials"]) & set(meta["val_trials"]) and len(meta["val_trials"]) == 6

    h5, npz = tmp_path / "protos.h5", tmp_path / "protos.npz"
    assert main(["prototypes", "export", "--teacher", str(teacher_dir), "--data", str(seed_dir), "--out", str(h5),
                 "--npz", str(npz)]) == 0
    a, b = load_prototypes(h5), load_prototypes(npz)
    for name in ("prototypes", "counts", "valence_edges", "arousal_edges"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.attrs == b.attrs and a.attrs["teacher_checksum"] == meta["checksum"]
    assert a.prototypes.shape == (5, 5, 16) and a.attrs["source_datasets"] == ["seed"]
    # only the teacher's held-out trials were embedded: 6 trials x 4 one-second windows
    held_out = [t for t in load_dataset(seed_dir, "seed") if trial_id(t.info) in meta["val_trials"]]
    assert len(held_out) == 6 and int(a.counts.sum()) == 6 * 4

    assert main(["datasets", "synth-faces", str(tmp_path / "faces"), "--n-per-class", "4", "--image-size", "32"]) == 0
    manifest = tmp_path / "faces" / "manifest.csv"

    # window targets: the continuous annotation at window ends, 1..4 s ('auto'), or the trial's label point ('trial')
    trials = list(load_dataset(seed_dir, "seed"))[:2]
    small = TeacherConfig.model_validate({"topomap": {"grid_size": 8}})
    cont = dataset_topomaps(trials, small)
    label = dataset_topomaps(trials, small.model_copy(update={"targets": "trial"}))
    ann = trials[1].continuous_targets()
    np.testing.assert_allclose(cont.valence[4:], np.interp(np.arange(4) + 1.0, ann[:, 0], ann[:, 1]))
    np.testing.assert_allclose(cont.arousal[4:], np.interp(np.arange(4) + 1.0, ann[:, 0], ann[:, 2]))
    np.testing.assert_array_equal(label.valence[4:], trials[1].info.valence)
    np.testing.assert_array_equal(cont.maps, label.maps)
    before = _sha(h5)
    out = tmp_path / "student"
    capsys.readouterr()
    assert main(["distil", "--faces", str(manifest), "--prototypes", str(h5), "--out", str(out),
                 *_sets(["student.image_size=32", "train.epochs=2", "train.batch_size=16",
                         "losses.dgeo.ramp_start=0", "losses.dgeo.ramp_end=1", "train.seed=3"])]) == 0
    assert json.loads(capsys.readouterr().out)["seed"] == 3
    assert _sha(h5) == before, "distillation must never change the prototype file"
    assert main(["prototypes", "export", "--teacher", str(teacher_dir), "--data", str(seed_dir), "--out",
                 str(h5)]) == 1
    assert "frozen" in capsys.readouterr().err and _sha(h5) == before
    broken = tmp_path / "broken.h5"
    broken.write_bytes(h5.read_bytes())
    with h5py.File(broken, "r+") as f:
        f["counts"][0, 0] += 1
    assert main(["distil", "--faces", str(manifest), "--prototypes", str(broken), "--out", str(tmp_path / "x")]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"8way", "present_only", "losses", "seed"}
    assert set(metrics["8way"]) == {"acc", "macro_f1", "bacc"}
    assert set(metrics["present_only"]) == {"acc", "macro_f1", "bacc", "present_names"}
    assert metrics["present_only"]["present_names"] == ["neutral", "happiness", "surprise", "sadness", "anger",
                                                        "disgust", "fear", "contempt"]
    assert metrics["seed"] == 3 and metrics["losses"]["dgeo"]["ramp_end"] == 1
    # issue 19: no term earned its place on the synthetic faces, so the default student is cross-entropy alone
    assert metrics["losses"]["ce"] == {"enabled": True, "weight": 1.0, "label_smoothing": 0.0}
    assert metrics["losses"]["proto_kd"] == {"enabled": False, "weight": 1.0, "temperature": 5.0, "tau": 0.9,
                                             "soft_target": "class_va", "va_sigma": 0.35, "ramp_start": 20,
                                             "ramp_end": 60, "bootstrap": 0.0, "head": "projection"}
    assert all(0.0 <= metrics["8way"][k] <= 1.0 for k in ("acc", "macro_f1", "bacc"))
    assert (out / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    student = json.loads((out / "student.json").read_text())
    assert student["onnx"]["max_abs_diff_vs_torch"] < 1e-4 and (out / "student.onnx").stat().st_size > 0
    assert student["prototypes_data_sha256"] == a.attrs["data_sha256"]
    assert set(student["history"][0]) == {"ce", "total"}  # KD, Proto-KD and D-Geo are off by default


def _asymmetry_data(rng, n_trials=40, per_trial=6, grid=16):
    """Maps whose left/right band-2 asymmetry encodes valence and overall band-0 level encodes arousal."""
    yy, xx = np.mgrid[0:grid, 0:grid] / (grid - 1) * 2 - 1
    mask = xx ** 2 + yy ** 2 <= 1
    val = rng.uniform(-1, 1, n_trials).round(1)
    aro = rng.uniform(-1, 1, n_trials).round(1)
    maps = rng.normal(0, 0.3, (n_trials * per_trial, 3, grid, grid)).astype(np.float32)
    v, a = np.repeat(val, per_trial), np.repeat(aro, per_trial)
    maps[:, 2] += (v[:, None, None] * xx)
    maps[:, 0] += a[:, None, None]
    maps *= mask
    return TopomapData(maps, v, a, np.repeat(np.arange(n_trials), per_trial),
                       [f"synthetic/x.mat/t{i}" for i in range(n_trials)], mask, [["Cz"]], ["synthetic"])


@pytest.mark.slow
def test_teacher_learns_valence_and_arousal_and_bundle_round_trips(tmp_path, rng):
    data = _asymmetry_data(rng)
    cfg = TeacherConfig.model_validate({
        "features": {"bands": [{"name": n, "low_hz": lo, "high_hz": hi} for n, lo, hi in
                               (("a", 1, 4), ("b", 4, 8), ("c", 8, 14))]},
        "topomap": {"grid_size": 16}, "model": {"channels": [8, 16], "embedding_dim": 8, "drop_prob": 0.0},
        "train": {"epochs": 25, "batch_size": 32, "lr": 3e-3, "val_fraction": 0.25}})
    bundle = train_teacher(data, cfg)
    val_ids = set(bundle.meta["val_trials"])
    held = np.isin(np.array(data.trial_ids)[data.trial_index], list(val_ids))
    va, emb = bundle.predict(data.maps[held], data.mask)
    target = np.stack([data.valence[held], data.arousal[held]], axis=1)
    baseline = ((target - target.mean(axis=0)) ** 2).mean()
    assert ((va - target) ** 2).mean() < 0.3 * baseline
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)

    save_teacher(bundle, tmp_path / "t")
    loaded = load_teacher(tmp_path / "t")
    va2, emb2 = loaded.predict(data.maps[held], data.mask)
    np.testing.assert_array_equal(va2, va)
    np.testing.assert_array_equal(emb2, emb)
    weights = tmp_path / "t" / "teacher.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_teacher(tmp_path / "t")
    with pytest.raises(FileNotFoundError, match="not a teacher bundle"):
        load_teacher(tmp_path)


def test_topomaps_mix_channel_sets_on_one_grid(rng, tmp_path):
    """Trials of different montages (SEED's 62 at 200 Hz, DREAMER's 14 at 128 Hz) land on the same grid."""
    from functools import partial

    from eegaffect.acquisition.channels import DREAMER_CHANNELS, SEED_CHANNELS
    from eegaffect.kernels.features import band_features

    from eegaffect.datasets import Trial, TrialInfo
    from eegaffect.distill.topomap import TopomapInterpolator

    trials = []
    for k, (chs, sfreq) in enumerate([(SEED_CHANNELS, 200.0), (DREAMER_CHANNELS, 128.0)]):
        data = rng.standard_normal((int(3 * sfreq), len(chs)))
        info = TrialInfo("seed" if k == 0 else "dreamer", 1, 1, k + 1, None, None, 0.5, -0.5, sfreq, tuple(chs),
                         len(data), tmp_path / f"f{k}.mat", f"t{k}")
        trials.append(Trial(info, partial(np.copy, data)))
    cfg = TeacherConfig.model_validate({"topomap": {"grid_size": 12}})
    out = dataset_topomaps(trials, cfg)
    assert out.maps.shape == (6, 5, 12, 12) and out.ch_sets == [list(SEED_CHANNELS), list(DREAMER_CHANNELS)]
    assert out.datasets == ["dreamer", "seed"] and out.trial_index.tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_array_equal(out.valence, 0.5)
    bands = [(b.low_hz, b.high_hz) for b in cfg.features.bands]
    ref = TopomapInterpolator(DREAMER_CHANNELS, grid_size=12).frames(
        band_features(trials[1].load(), bands, 128.0, 128, 128, kind="de"))
    np.testing.assert_allclose(out.maps[3:], ref, rtol=1e-5, atol=1e-6)
