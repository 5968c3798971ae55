"""Training (determinism, resume, stages), bundles and the Predictor, benchmark registration, CLI, DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from eegaffect.config import load_config
from eegaffect.models.bundle import BundleError, save_bundle
from eegaffect.models.predictor import Predictor
from eegaffect.models.training import (
    Sequences,
    TrainConfig,
    check_checkpoints,
    fit_chain,
)

TINY = ["vqvae.steps=12", "vqvae.n_codes=6", "vqvae.d_model=8", "vqvae.dilations=[1, 2]", "vqvae.batch_size=4",
        "vqvae.crop=12", "transformer.d_model=8", "transformer.n_heads=2", "transformer.n_layers=1",
        "transformer.context=4", "transformer.pretrain_steps=6", "transformer.finetune_steps=10",
        "transformer.batch_size=4", "transformer.crop=12", "sac.total_steps=60", "sac.learning_starts=20",
        "sac.batch_size=8", "sac.net_arch=[8]", "sac.episode_len=8", "sac.refit_steps=4", "checkpoint_every=5",
        "device=cpu", "vqvae.quantize=true", "transformer.mask_pretrain=true", "sac.enabled=true"]
# (every part on: the defaults leave three off)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def tiny_config(*extra: str) -> TrainConfig:
    return load_config(TrainConfig, None, [*TINY, *extra], default="train")


def tiny_sequences(n_trials=5, n_steps=20, n_chans=4, n_bands=5, seed=0) -> Sequences:
    rng = np.random.default_rng(seed)
    w = np.random.default_rng(99).standard_normal((2, n_chans, n_bands))
    feats, vas = [], []
    for i in range(n_trials):
        t = np.arange(n_steps)
        va = 0.8 * np.stack([np.sin(t / 5 + i), np.cos(t / 7 + 2 * i)], 1)
        feats.append(np.einsum("nk,kcf->ncf", va, w) + 0.3 * rng.standard_normal((n_steps, n_chans, n_bands)) + 2)
        vas.append(va)
    return Sequences(feats, vas, np.arange(n_trials) % 3, 3)


def _outputs(chain, seqs):
    return [chain.run(f) for f in seqs.features]


def test_seeded_training_repeats_exactly():
    seqs = tiny_sequences()
    runs = [fit_chain(seqs, tiny_config(), progress_bar=False) for _ in range(2)]
    for a, b in zip(_outputs(runs[0][0], seqs), _outputs(runs[1][0], seqs)):
        for key in ("va", "base_va", "confidence", "code", "label"):
            np.testing.assert_array_equal(a[key], b[key])
    report = runs[0][1]
    assert report["codebook"]["n_codes"] == 6 and report["codebook"]["used_codes"] >= 2
    assert report["codebook"]["perplexity"] > 1.5
    assert report["holdout_trials"]  # SAC trains on held-out trials


def test_resume_continues_exactly(tmp_path):
    seqs = tiny_sequences()
    full, _ = fit_chain(seqs, tiny_config(), checkpoint_dir=tmp_path / "a", progress_bar=False)
    # an "interrupted" run: the VQ-VAE stopped after 5 of 12 steps (its checkpoint), then resumed
    fit_chain(seqs, tiny_config("vqvae.steps=5", "sac.enabled=false"), checkpoint_dir=tmp_path / "b",
              stages=["vqvae"], progress_bar=False)
    state = torch.load(tmp_path / "b" / "vqvae.pt", weights_only=False)
    assert state["step"] == 5
    resumed, _ = fit_chain(seqs, tiny_config(), checkpoint_dir=tmp_path / "b", resume=True, progress_bar=False)
    assert torch.load(tmp_path / "b" / "vqvae.pt", weights_only=False)["step"] == 12
    for a, b in zip(_outputs(full, seqs), _outputs(resumed, seqs)):
        np.testing.assert_array_equal(a["va"], b["va"])
        np.testing.assert_array_equal(a["code"], b["code"])


def test_single_stage_needs_earlier_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="stage 'vqvae' is not being run and has no checkpoint"):
        fit_chain(tiny_sequences(), tiny_config(), stages=["transformer"], checkpoint_dir=tmp_path,
                  progress_bar=False)
    with pytest.raises(ValueError, match="unknown stage"):
        fit_chain(tiny_sequences(), tiny_config(), stages=["warmup"])


def test_checkpoints_trained_with_another_config_are_named_not_loaded(tmp_path):
    seqs = tiny_sequences()
    fit_chain(seqs, tiny_config("sac.enabled=false"), checkpoint_dir=tmp_path, stages=["vqvae"], progress_bar=False)
    # keys of the stage being rerun may change; keys of the stages loaded from checkpoints may not
    check_checkpoints(tmp_path, tiny_config("transformer.finetune_steps=3"), ["transformer"])
    with pytest.raises(ValueError, match=r"vqvae\.n_codes: checkpoint 6, config 7; vqvae\.steps: checkpoint 12, "
                                         r"config 13"):
        fit_chain(seqs, tiny_config("vqvae.n_codes=7", "vqvae.steps=13"), checkpoint_dir=tmp_path,
                  stages=["transformer"], progress_bar=False)
    # resuming may extend a stage's steps but not change the weights' shapes
    check_checkpoints(tmp_path, tiny_config("vqvae.steps=20"), ["vqvae"], resume=True)
    with pytest.raises(ValueError, match=r"vqvae\.d_model: checkpoint 8, config 12"):
        check_checkpoints(tmp_path, tiny_config("vqvae.d_model=12"), ["vqvae"], resume=True)
    # checkpoints without a recorded config (older runs): a clear error instead of torch's size-mismatch list
    (tmp_path / "train_config.json").unlink()
    with pytest.raises(ValueError, match="does not fit the model of the current config"):
        fit_chain(seqs, tiny_config("vqvae.d_model=12"), checkpoint_dir=tmp_path, stages=["transformer"],
                  progress_bar=False)


def test_ablation_switches():
    seqs = tiny_sequences(n_trials=3)
    chain, report = fit_chain(seqs, tiny_config("vqvae.quantize=false", "transformer.mask_pretrain=false",
                                                "sac.enabled=false", "transformer.smooth_s=0"), progress_bar=False)
    assert chain.model.vqvae.quantizer is None and chain.optimizer is None and chain.alpha == 1.0
    assert "pretrain_loss" not in report and "codebook" not in report
    out = chain.run(seqs.features[0])
    assert np.all(out["code"] == -1)
    np.testing.assert_array_equal(out["va"], out["base_va"])  # no SAC, no smoothing: the transformer's output


def test_defaults_are_the_measured_design_and_stream_equals_run():
    """configs/train.yaml: heads on the continuous latent, no quantiser, no masked pretraining, no SAC, smoothed
    output with a trend term and smoothed class probabilities (issue 18); the smoothed live stream equals the
    offline run (V/A and labels)."""
    config = load_config(TrainConfig, None, ["device=cpu"], default="train")
    t = config.transformer
    assert (config.vqvae.quantize, config.vqvae.head_input, config.sac.enabled, t.smooth_s, t.smooth_trend_s,
            t.smooth_labels, t.mask_pretrain) == (False, "continuous", False, 2.5, 4.0, True, False)
    seqs = tiny_sequences()
    chain, _ = fit_chain(seqs, load_config(TrainConfig, None, [*TINY, "vqvae.quantize=false", "sac.enabled=false"],
                                           default="train"), progress_bar=False)
    assert chain.alpha == pytest.approx(1 - np.exp(-1 / 2.5)) and chain.optimizer is None
    assert chain.smoother.beta == pytest.approx(1 - np.exp(-1 / 4.0)) and chain.smooth_labels
    f = seqs.features[0]
    run = chain.run(f)
    stream = chain.stream()
    parts = [stream.step(f[:7]), stream.step(f[7:8]), stream.step(f[8:])]
    for key in ("va", "class_prob"):
        np.testing.assert_allclose(np.concatenate([p[key] for p in parts]), run[key], rtol=0, atol=1e-5)
    np.testing.assert_array_equal(np.concatenate([p["label"] for p in parts]), run["label"])
    np.testing.assert_array_equal(run["label"], run["class_prob"].argmax(-1))
    assert np.abs(np.diff(run["va"], axis=0)).mean() < np.abs(np.diff(run["base_va"], axis=0)).mean()


def test_mixed_precision_runs_and_learns():
    seqs = tiny_sequences(n_trials=3)
    chain, report = fit_chain(seqs, tiny_config("amp=true", "sac.enabled=false", "transformer.finetune_steps=30"),
                              progress_bar=False)
    assert np.isfinite(report["finetune_loss"]).all() and report["finetune_loss"][1] < report["finetune_loss"][0]
    assert np.all(np.isfinite(chain.run(seqs.features[0])["va"]))


def test_sequences_validation():
    with pytest.raises(ValueError, match="at least one training sequence"):
        Sequences([], [])
    with pytest.raises(ValueError, match=r"sequence 0: expected features"):
        Sequences([np.zeros((5, 4, 5))], [np.zeros((4, 2))])


# ---------------------------------------------------------------------------------------------------------------
# bundles and the Predictor


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    """A small bundle for 4 channels at 100 Hz whose chain was trained on features from the real pipeline."""
    from eegaffect.pipeline import SignalPipeline

    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    config = load_config(TrainConfig, None, [*TINY, "pipeline.sfreq=100", "pipeline.filters.lowpass_hz=45",
                                             "pipeline.filters.line_hz=null",
                                             "pipeline.features.bands=[{name: theta, low_hz: 4, high_hz: 8}, "
                                             "{name: alpha, low_hz: 8, high_hz: 13}, "
                                             "{name: beta, low_hz: 13, high_hz: 30}]"], default="train")
    feats, vas = [], []
    for _ in range(4):
        x = rng.standard_normal((100 * 24, 4)) * (1 + np.arange(4))
        f = SignalPipeline(config.pipeline, n_chans=4, sfreq_in=100.0).process(x)
        feats.append(np.asarray(f))
        vas.append(np.clip(rng.standard_normal((len(f), 2)) * 0.3, -1, 1))
    chain, report = fit_chain(Sequences(feats, vas), config, progress_bar=False)
    out = tmp_path_factory.mktemp("bundle") / "b"
    save_bundle(out, chain, config=config, ch_names=["C3", "C4", "Pz", "Oz"], sfreq=100.0, report=report)
    return out


def test_bundle_layout_and_round_trip(bundle_dir, rng):
    import shutil

    doc = json.loads((bundle_dir / "bundle.json").read_text())
    assert doc["format_version"] == 1 and doc["ch_names"] == ["C3", "C4", "Pz", "Oz"] and doc["sfreq"] == 100.0
    assert [b["name"] for b in doc["bands"]] == ["theta", "alpha", "beta"]
    assert np.asarray(doc["normalisation"]["mean"]).shape == (4, 3)
    assert set(doc["files"]) == {"weights.safetensors", "sac_policy.zip"}
    a, b = Predictor.load(bundle_dir), Predictor.load(bundle_dir)
    for (ka, va), (kb, vb) in zip(a.chain.model.state_dict().items(), b.chain.model.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    # the output smoother as trained (configs/train.yaml's); a bundle from before the trend term loads as it was
    assert (doc["model"]["smooth_s"], doc["model"]["smooth_trend_s"], doc["model"]["smooth_labels"]) == (2.5, 4.0,
                                                                                                         True)
    assert (a.chain.smooth_s, a.chain.trend_s, a.chain.smooth_labels) == (2.5, 4.0, True)
    # save the loaded chain again: identical weights and identical predictions
    resaved = bundle_dir.parent / "again"
    save_bundle(resaved, a.chain, config=TrainConfig.model_validate(doc["config"]), ch_names=doc["ch_names"],
                sfreq=100.0)
    c = Predictor.load(resaved)
    x = rng.standard_normal((100 * 12, 4))
    pa, pc = a.predict(x), c.predict(x)
    np.testing.assert_array_equal(pa.va, pc.va)
    np.testing.assert_array_equal(pa.code, pc.code)
    assert json.loads((resaved / "bundle.json").read_text())["files"]["weights.safetensors"] == \
        doc["files"]["weights.safetensors"]
    old = bundle_dir.parent / "old"
    shutil.copytree(bundle_dir, old)
    old_doc = json.loads((old / "bundle.json").read_text())
    del old_doc["model"]["smooth_trend_s"], old_doc["model"]["smooth_labels"]
    (old / "bundle.json").write_text(json.dumps(old_doc))
    o = Predictor.load(old)
    assert (o.chain.smooth_s, o.chain.trend_s, o.chain.smooth_labels, o.chain.smoother.beta) == (2.5, 0.0, False, 0.0)


def test_predict_equals_live_step_for_any_chunking(bundle_dir, rng):
    pred = Predictor.load(bundle_dir, ch_names=["c3", "C4", "PZ", "Oz"])
    x = rng.standard_normal((100 * 15 + 37, 4))
    offline = pred.predict(x)
    assert len(offline) == 15 and offline.va.shape == (15, 2)
    np.testing.assert_allclose(offline.time_s, np.arange(1, 16))
    assert np.all((offline.confidence > 0) & (offline.confidence <= 1))
    assert np.all(np.abs(offline.va) <= 1) and not np.array_equal(offline.va, offline.base_va)  # SAC acts
    for _ in range(2):
        pred.reset()
        cuts = np.sort(rng.choice(np.arange(1, len(x)), size=9, replace=False))
        parts = [pred.step(c) for c in np.split(x, cuts)]
        parts.append(pred.step(np.zeros((0, 4))))
        live = parts[0].concatenate(parts)
        for field in ("time_s", "va", "base_va", "confidence", "code"):
            np.testing.assert_array_equal(getattr(live, field), getattr(offline, field))
    # the streaming chain equals the full-sequence forward to rounding
    frames = pred._new_pipeline().process(x)
    run = pred.chain.run(np.asarray(frames))
    np.testing.assert_allclose(run["base_va"], offline.base_va, atol=1e-5)


def test_predictor_errors(bundle_dir, tmp_path):
    import shutil

    with pytest.raises(BundleError, match="does not exist"):
        Predictor.load(tmp_path / "nope")
    with pytest.raises(BundleError, match=r"expected 4 channels matching the bundle, got 3 \(missing: \['Oz'\]"):
        Predictor.load(bundle_dir, ch_names=["C3", "C4", "Pz"])
    with pytest.raises(BundleError, match="channel order differs"):
        Predictor.load(bundle_dir, ch_names=["C4", "C3", "Pz", "Oz"])
    with pytest.raises(BundleError, match=r"expected shape \(n_times, 4\)"):
        Predictor.load(bundle_dir).step(np.zeros((10, 5)))
    bad = tmp_path / "bad"
    shutil.copytree(bundle_dir, bad)
    doc = json.loads((bad / "bundle.json").read_text())
    doc["format_version"] = 99
    (bad / "bundle.json").write_text(json.dumps(doc))
    with pytest.raises(BundleError, match="format version 99 is not supported"):
        Predictor.load(bad)
    doc["format_version"] = 1
    (bad / "bundle.json").write_text(json.dumps(doc))
    with open(bad / "weights.safetensors", "r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(BundleError, match="checksum mismatch for weights.safetensors"):
        Predictor.load(bad)
    shutil.copy(bundle_dir / "weights.safetensors", bad / "weights.safetensors")
    Predictor.load(bad)  # intact again
    (bad / "sac_policy.zip").unlink()
    with pytest.raises(BundleError, match="file sac_policy.zip is missing"):
        Predictor.load(bad)
    (bad / "bundle.json").unlink()
    with pytest.raises(BundleError, match="bundle.json is missing"):
        Predictor.load(bad)


# ---------------------------------------------------------------------------------------------------------------
# benchmark registration


def test_eegdancer_models_are_registered_and_run():
    from eegaffect.benchmark.interface import SplitData
    from eegaffect.benchmark.registry import available_models, get_model

    assert {"eegdancer", "eegdancer-novq", "eegdancer-nomask", "eegdancer-nosac", "eegdancer-vq",
            "eegdancer-vq-quantised", "eegdancer-sac", "eegdancer-nosmooth", "eegdancer-legacy",
            "eegdancer-mask"} <= set(available_models())
    seqs = tiny_sequences(n_trials=4)
    infos = list(range(4))
    train = SplitData(infos[:3], seqs.labels[:3], seqs.va[:3], features=seqs.features[:3],
                      class_names=["negative", "neutral", "positive"])
    test = SplitData(infos[3:], seqs.labels[3:], seqs.va[3:], features=seqs.features[3:],
                     class_names=["negative", "neutral", "positive"])
    model = get_model("eegdancer-novq", overrides=TINY)
    assert model.name == "eegdancer-novq" and model.input_kind == "features"
    model.fit(train, seed=0)
    assert model.chain.model.vqvae.quantizer is None  # the variant wins over TINY's quantize=true
    pred = model.predict(test).check(test)
    assert pred.va[0].shape == (20, 2) and pred.labels[0].shape == (20,)


# ---------------------------------------------------------------------------------------------------------------
# CLI, distributed


@pytest.mark.slow
def test_cli_train_on_synthetic_seed_and_stage_rerun(tmp_path, capsys):
    from eegaffect.cli import main
    from eegaffect.datasets.synth import write_synthetic_seed

    data = tmp_path / "synth"
    write_synthetic_seed(data, subjects=1, sessions=1, trial_seconds=12, seed=1, show_progress=False)
    sets = [a for s in TINY for a in ("--set", s)]
    out = tmp_path / "bundle"
    assert main(["train", "--data", str(data), "--out", str(out), *sets, "--set", "data.trials=[1, 2, 3, 4, 5]"]) == 0
    text = capsys.readouterr().out
    assert "codebook:" in text and "codes used" in text
    first = json.loads((out / "bundle.json").read_text())
    assert len(first["ch_names"]) == 62 and first["sfreq"] == 200.0 and first["unit"] == "uV"  # SEED holds µV
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [
        "finetune.pt", "pretrain.pt", "refit.pt", "sac_policy.zip", "train_config.json", "vqvae.pt"]
    # redo only the SAC stage (earlier stages from checkpoints; SAC seeds itself): the same bundle again
    (out / "checkpoints" / "sac_policy.zip").unlink()
    assert main(["train", "--data", str(data), "--out", str(out), *sets, "--set", "data.trials=[1, 2, 3, 4, 5]",
                 "--stage", "sac"]) == 0
    second = json.loads((out / "bundle.json").read_text())
    assert second["files"]["weights.safetensors"] == first["files"]["weights.safetensors"]
    pred = Predictor.load(out)
    x = np.random.default_rng(0).standard_normal((200 * 5, 62)) * 1e-5
    assert len(pred.predict(x)) == 5
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(out)]) == 2
    capsys.readouterr()
    # a stage rerun with a config that differs from the checkpoints': one line naming every differing key
    assert main(["train", "--data", str(data), "--out", str(out), *sets, "--set", "data.trials=[1, 2, 3, 4, 5]",
                 "--set", "vqvae.residual_dim=4", "--set", "transformer.n_layers=2", "--stage", "sac"]) == 2
    err = capsys.readouterr().err
    assert "vqvae.residual_dim: checkpoint 16, config 4" in err and "transformer.n_layers: checkpoint 1, config 2" \
        in err and "size mismatch" not in err
    # a missing earlier checkpoint is reported before the dataset is read (this folder holds no dataset at all)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "--data", str(empty), "--out", str(tmp_path / "fresh"), *sets, "--stage", "sac"]) == 2
    assert "stage 'vqvae' is not being run and has no checkpoint" in capsys.readouterr().err


_DDP_SCRIPT = textwrap.dedent("""
    import sys, torch, numpy as np
    sys.path.insert(0, {tests!r})
    from test_models_training import tiny_config, tiny_sequences
    from eegaffect.models.training import fit_chain
    torch.set_num_threads(1)
    chain, report = fit_chain(tiny_sequences(), tiny_config("sac.enabled=false"), progress_bar=False)
    rank = torch.distributed.get_rank()
    torch.save({{k: v.clone() for k, v in chain.model.state_dict().items()}}, {out!r} + f"/rank{{rank}}.pt")
    torch.distributed.destroy_process_group()
""")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_torchrun_ddp_two_cpu_processes(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(_DDP_SCRIPT.format(tests=os.path.dirname(__file__), out=str(tmp_path)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "EEGAFFECT_PROGRESS": "0"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script)], capture_output=True, text=True, timeout=220, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in range(2))
    assert r0.keys() == r1.keys()
    for key in r0:  # gradients averaged, codebook statistics all-reduced: replicas stay identical
        assert torch.equal(r0[key], r1[key]), key
    # and the replicas really trained on different crops than a single process would (the run is distributed)
    single, _ = fit_chain(tiny_sequences(), tiny_config("sac.enabled=false"), progress_bar=False)
    assert any(not torch.equal(v, r0[k]) for k, v in single.model.state_dict().items() if v.is_floating_point())


@pytest.mark.slow
def test_demo_bundle_from_the_simulator(tmp_path):
    from eegaffect.acquisition.channels import SEED_CHANNELS
    from eegaffect.acquisition.simulator import SimulatedEEG

    from eegaffect.models.training import train_demo_bundle

    out = train_demo_bundle(tmp_path / "demo", seed=0, progress=False, n_sessions=2, session_s=60)
    doc = json.loads((out / "bundle.json").read_text())
    # SAC is off by default since issue 18 (docs/chain_stages.md); the output is smoothed (2.5 s, 4-s trend)
    assert doc["ch_names"] == list(SEED_CHANNELS) and doc["sfreq"] == 200.0 and doc["sac"] is None
    assert (doc["model"]["smooth_s"], doc["model"]["smooth_trend_s"], doc["model"]["smooth_labels"]) == (2.5, 4.0,
                                                                                                         True)
    pred = Predictor.load(out, ch_names=SEED_CHANNELS, sfreq=200.0)
    eeg, _ = SimulatedEEG(SEED_CHANNELS, 200.0, seed=5).generate(200 * 6)
    p = pred.predict(eeg)
    # no quantiser by default (issue 18): the code is -1 ("none") at every step
    assert len(p) == 6 and np.all(np.isfinite(p.va)) and np.all(p.code == -1)


def test_bundle_records_the_input_unit_so_a_live_stream_in_another_unit_is_converted(tmp_path):
    """A demo bundle is trained on simulated volts: bundle.json says so, and a microvolt stream is scaled by 1e-6."""
    import json

    from eegaffect.live.session import LiveConfig, _stream_scale
    from eegaffect.models.training import train_demo_bundle

    bundle = train_demo_bundle(tmp_path / "demo", seed=0, progress=False, n_sessions=1, session_s=60.0)
    meta = json.loads((bundle / "bundle.json").read_text())
    assert meta["unit"] == "V"
    assert _stream_scale(LiveConfig(), ["microvolts"], meta) == pytest.approx(1e-6)
    assert _stream_scale(LiveConfig(), ["volts"], meta) == 1.0


def test_names_stay_importable_from_their_old_modules():
    """The split of training.py and bundle.py keeps the old import paths (re-exports) for callers."""
    from eegaffect.models import bundle, config, data, demo, fit, predictor, training

    assert bundle.Predictor is predictor.Predictor and bundle.Prediction is predictor.Prediction
    assert training.TrainConfig is config.TrainConfig and training.Sequences is data.Sequences
    assert training.fit_chain is fit.fit_chain and training.train_demo_bundle is demo.train_demo_bundle
    assert training.DEMO_RECIPE is demo.DEMO_RECIPE and training.model_vqvae_kwargs is config.model_vqvae_kwargs
