"""``eegaffect train`` of fused bundles from a multimodal dataset (synthetic DEAP), with and without the SAC stage:
the physiological frames of each trial (paired by the as-of rule, as ``bench fusion`` pairs them), the bundle,
the Predictor offline and live, and the errors for a kind the dataset lacks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eegaffect.cli import main
from eegaffect.models.bundle import FUSED_BUNDLE_VERSION
from eegaffect.models.predictor import Predictor

KINDS = ["ppg", "eda", "resp", "temp"]
#: the smallest chain that trains end to end in a few seconds (sizes as in test_models_fusion's tiny_config)
TINY = ["device=cpu", "fusion.hidden=8", "vqvae.steps=10", "vqvae.d_model=8", "vqvae.dilations=[1,2]",
        "vqvae.batch_size=4", "vqvae.crop=8", "transformer.d_model=8", "transformer.n_heads=2",
        "transformer.n_layers=1", "transformer.context=4", "transformer.finetune_steps=20",
        "transformer.batch_size=4", "transformer.crop=8", "transformer.class_head=false"]
#: a real stable-baselines3 SAC stage, a few steps long
SAC = ["sac.enabled=true", "sac.total_steps=60", "sac.learning_starts=20", "sac.batch_size=16", "sac.net_arch=[16]",
       "sac.episode_len=8", "sac.refit_steps=5"]

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def deap_root(tmp_path_factory):
    """Synthetic DEAP (``eegaffect datasets synth-deap``'s writer): one subject, four 20-s trials."""
    from eegaffect.datasets.synth_multimodal import write_synthetic_deap

    root = tmp_path_factory.mktemp("synth") / "deap"
    write_synthetic_deap(root, subjects=1, trials=4, trial_seconds=20.0)
    return root


def _train(root, out, *sets) -> int:
    args = ["train", "--data", str(root), "--out", str(out), "--set", "data.dataset=deap"]
    for s in (*TINY, *sets):
        args += ["--set", s]
    return main(args)


@pytest.fixture(scope="module")
def fused_bundle(deap_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("fused") / "bundle"
    assert _train(deap_root, out, f"fusion.physio=[{','.join(KINDS)}]") == 0
    return out


@pytest.fixture(scope="module")
def fused_sac_bundle(deap_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("fused_sac") / "bundle"
    assert _train(deap_root, out, f"fusion.physio=[{','.join(KINDS)}]", *SAC) == 0
    return out


def _trial(root, number: int = 1):
    """EEG (n, 32) and per kind (samples, rate) of one DEAP trial."""
    from eegaffect.datasets import load_dataset

    trial = next(t for t in load_dataset(root, "deap") if t.info.trial == number)
    return trial.load(), {k: (trial.load_group(k)[:, 0], trial.groups[k].sfreq) for k in KINDS}


def test_load_sequences_pairs_each_trials_physiology_like_the_fusion_benchmark(deap_root):
    from eegaffect.models.config import FusionConfig, TrainConfig
    from eegaffect.models.data import load_sequences
    from eegaffect.models.fused_data import deap_sequences

    config = TrainConfig(data={"dataset": "deap"}, fusion=FusionConfig(physio=KINDS))
    train, meta = load_sequences(deap_root, config, progress_bar=False)
    bench, numbers = deap_sequences(deap_root, config, 1, kinds=KINDS)
    assert meta["trials"] == [f"s1/sess1/t{n}" for n in numbers] and meta["unit"] == "uV"
    assert train.physio_meta == bench.physio_meta and sorted(train.physio_meta) == sorted(KINDS)
    for mine, theirs, f, va, va_b in zip(train.physio, bench.physio, train.features, train.va, bench.va):
        np.testing.assert_array_equal(va, va_b)  # DEAP's one rating per trial: every frame has its target
        for kind in KINDS:
            assert mine[kind].shape == (len(f), len(train.physio_meta[kind]["feature_names"]))
            np.testing.assert_array_equal(mine[kind], theirs[kind])  # NaN rows (missing) in the same places
        assert np.isfinite(mine["eda"][-1]).all()  # not all missing: the signal is featurised


def test_train_cli_writes_a_fused_bundle_the_predictor_runs(fused_bundle, deap_root):
    doc = json.loads((fused_bundle / "bundle.json").read_text(encoding="utf-8"))
    assert doc["format_version"] == FUSED_BUNDLE_VERSION and doc["sac"] is None
    assert [m["kind"] for m in doc["modalities"]["physio"]] == KINDS
    assert doc["model"]["fusion"]["kinds"] == KINDS and doc["unit"] == "uV"
    pred = Predictor.load(fused_bundle)
    assert pred.modalities == ["eeg", *KINDS]
    eeg, raw = _trial(deap_root, 2)
    out = pred.predict(eeg, physio=raw)
    assert len(out) == 20 and np.isfinite(out.va).all() and np.isfinite(out.confidence).all()
    # the physiology enters the estimate: without it (all missing) the outputs differ
    assert not np.allclose(pred.predict(eeg).va, out.va)


def _live(pred: Predictor, eeg: np.ndarray, raw: dict, sfreq: float, rng) -> list:
    """Predictions of ``eeg`` fed in random chunks, each kind's frames handed on once a live device has them (its
    frame ending at EEG frame end t_j once the stream reached t_j + its decision delay)."""
    f = pred.pipeline_config.features
    events = {}
    for k, (x, fs) in raw.items():
        frames = pred.physio_frames(k, x, fs)
        t = f.window_s + f.hop_s * np.arange(len(frames))
        events[k] = [(tj + pred.chain.physio.modality(k).decision_delay_s, tj, row) for tj, row in zip(t, frames)]
    pred.reset()
    cuts = np.sort(rng.choice(np.arange(1, len(eeg)), size=10, replace=False))
    parts, pos, given = [], 0, {k: 0 for k in raw}
    for chunk in np.split(eeg, cuts):
        now = (pos + len(chunk)) / sfreq
        physio = {}
        for k in raw:
            ready = [e for e in events[k][given[k]:] if e[0] <= now]
            given[k] += len(ready)
            if ready:
                physio[k] = [(tj, row) for _, tj, row in ready]
        parts.append(pred.step(chunk, physio=physio))
        pos += len(chunk)
    return parts


def test_fused_sac_bundle_offline_equals_live(fused_sac_bundle, deap_root, rng):
    doc = json.loads((fused_sac_bundle / "bundle.json").read_text(encoding="utf-8"))
    assert doc["format_version"] == FUSED_BUNDLE_VERSION and doc["sac"] is not None
    assert "sac_policy.zip" in doc["files"] and doc["report"]["sac_seconds"] > 0
    assert doc["report"]["refit_loss"] is not None  # the fused head's refit after SAC ran
    pred = Predictor.load(fused_sac_bundle)
    assert pred.chain.optimizer is not None and pred.modalities == ["eeg", *KINDS]
    eeg, raw = _trial(deap_root, 3)
    offline = pred.predict(eeg, physio=raw)
    assert np.isfinite(offline.va).all()
    # the policy acts on the fused model's outputs: without it the same chain gives other values
    optimizer, pred.chain.optimizer = pred.chain.optimizer, None
    try:
        assert not np.allclose(pred.predict(eeg, physio=raw).va, offline.va)
    finally:
        pred.chain.optimizer = optimizer
    for _ in range(2):
        parts = _live(pred, eeg, raw, doc["sfreq"], rng)
        live = parts[0].concatenate(parts)
        for field in ("time_s", "va", "base_va", "confidence"):
            np.testing.assert_array_equal(getattr(live, field), getattr(offline, field))


def test_train_refuses_a_kind_the_dataset_lacks(deap_root, tmp_path, capsys):
    assert _train(deap_root, tmp_path / "b", "fusion.physio=[eda,ecg]") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'ecg'" in err[0] and "s1/sess1/t1" in err[0] and "drop 'ecg'" in err[0]
    assert not (tmp_path / "b" / "bundle.json").exists()


def test_train_refuses_fusion_on_an_eeg_only_dataset(tmp_path, capsys):
    from dataset_fixtures import write_seed

    root = write_seed(tmp_path / "seed", n_subjects=1, n_sessions=1, n_trials=2, features=False, strays=False)
    assert main(["train", "--data", str(root), "--out", str(tmp_path / "b"), "--set", "fusion.physio=[ecg]"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no physiological signals to fuse" in err[0] and "s1/sess1/t1" in err[0]


def test_sac_stage_observes_the_fused_models_outputs(deap_root, monkeypatch):
    """The SAC environment replays the fused model's outputs on the held-out trials' physiology, not the outputs
    of a model whose physiology is all missing."""
    from eegaffect.config import load_config
    from eegaffect.models import sac
    from eegaffect.models.config import TrainConfig
    from eegaffect.models.data import load_sequences
    from eegaffect.models.fit import fit_chain

    seen = {}

    class Recording(sac.TrajectoryEnv):
        def __init__(self, contexts, base, targets, **kwargs):
            seen.update(contexts=contexts, base=base)
            super().__init__(contexts, base, targets, **kwargs)

    monkeypatch.setattr(sac, "TrajectoryEnv", Recording)
    config = load_config(TrainConfig, overrides=[*TINY, *SAC, "sac.refit_steps=0", "data.dataset=deap",
                                                 f"fusion.physio=[{','.join(KINDS)}]"], default="train")
    train, _ = load_sequences(deap_root, config, progress_bar=False)
    chain, report = fit_chain(train, config, progress_bar=False)
    held = report["holdout_trials"]
    assert held and len(seen["base"]) == len(held) and chain.optimizer is not None
    for i, ctx, base in zip(held, seen["contexts"], seen["base"]):
        want = chain.run(train.features[i], train.physio[i])  # no refit: the model SAC saw is the final one
        np.testing.assert_allclose(base, want["base_va"], atol=1e-6)
        np.testing.assert_allclose(ctx, want["context"], atol=1e-6)
        assert not np.allclose(base, chain.run(train.features[i])["base_va"])  # physiology missing: other outputs


def test_physiology_is_cut_with_the_eeg_frames_that_have_targets(deap_root, monkeypatch):
    """Frames without a target are cut from the EEG and the physiological rows alike, after the pairing on the
    whole trial (the as-of rule looks back)."""
    from eegaffect.datasets import load_dataset
    from eegaffect.models import data
    from eegaffect.models.config import FusionConfig, TrainConfig
    from eegaffect.models.fused_data import trial_physio

    def gappy(trial, n_steps, pipeline):  # a target from frame 5 to 3 frames before the end
        va = np.full((n_steps, 2), np.nan)
        va[5:n_steps - 3] = 0.25
        return va

    monkeypatch.setattr(data, "trial_targets", gappy)
    config = TrainConfig(data={"dataset": "deap", "trials": [1, 2]}, fusion=FusionConfig(physio=KINDS))
    train, _ = data.load_sequences(deap_root, config, progress_bar=False)
    for trial, f, rows in zip(load_dataset(deap_root, "deap"), train.features, train.physio):
        assert len(f) == 20 - 5 - 3
        whole, _ = trial_physio(trial, KINDS, 20, config)
        for kind in KINDS:
            np.testing.assert_array_equal(rows[kind], whole[kind][5:17])


def test_amigos_trains_a_fused_bundle_with_ecg_and_eda(tmp_path):
    from eegaffect.datasets import load_dataset
    from eegaffect.datasets.synth_multimodal import write_synthetic_amigos

    root = tmp_path / "amigos"
    write_synthetic_amigos(root, subjects=1, short_seconds=40.0, long_seconds=40.0)
    args = ["train", "--data", str(root), "--out", str(tmp_path / "b"), "--set", "data.dataset=amigos",
            "--set", "data.trials=[1,2,3]", "--set", "fusion.physio=[ecg,eda]"]
    for s in TINY:
        args += ["--set", s]
    assert main(args) == 0
    pred = Predictor.load(tmp_path / "b")
    assert pred.modalities == ["eeg", "ecg", "eda"]
    trial = next(iter(load_dataset(root, "amigos")))
    raw = {k: (trial.load_group(k)[:, 0], trial.groups[k].sfreq) for k in ("ecg", "eda")}
    out = pred.predict(trial.load(), physio=raw)
    assert len(out) == 40 and np.isfinite(out.va).all()


def test_dreamer_ecg_is_read_when_fusion_asks_for_it(tmp_path):
    """DREAMER's ECG is opt-in for its reader (``ecg=True``); training switches it on for ``fusion.physio: [ecg]``."""
    import scipy.io
    from dataset_fixtures import dreamer_struct

    from eegaffect.models.config import FusionConfig, TrainConfig
    from eegaffect.models.data import load_sequences

    mdict, _ = dreamer_struct(1, n_clips=18)
    scipy.io.savemat(tmp_path / "DREAMER.mat", mdict, do_compression=True)
    config = TrainConfig(data={"dataset": "dreamer", "trials": [17, 18]}, fusion=FusionConfig(physio=["ecg"]))
    train, meta = load_sequences(tmp_path / "DREAMER.mat", config, progress_bar=False)
    assert meta["trials"] == ["s1/sess1/t17", "s1/sess1/t18"] and train.physio_meta["ecg"]["sfreq"] == 256.0
    n_features = len(train.physio_meta["ecg"]["feature_names"])
    assert [p["ecg"].shape for p in train.physio] == [(len(f), n_features) for f in train.features]
    eeg_only, _ = load_sequences(tmp_path / "DREAMER.mat", config.model_copy(update={"fusion": FusionConfig()}),
                                 progress_bar=False)
    assert eeg_only.physio is None
