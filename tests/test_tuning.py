"""``eegaffect tune``: a real Ray Tune search (2 trials, tiny space) whose best config trains, and that never sees
a test trial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_feature_cache import write_tiny_seed

from eegaffect.benchmark.protocols import make_folds, trial_key
from eegaffect.benchmark.tuning import SEARCH_SPACE, inner_splits, load_space
from eegaffect.cli import main
from eegaffect.config import load_config
from eegaffect.errors import UserInputError
from eegaffect.models.training import TrainConfig

#: a chain small enough to fit in a second or two per outer fold
TINY_CHAIN = ["vqvae.steps=4", "vqvae.d_model=8", "vqvae.n_codes=8", "vqvae.kmeans_init=false",
              "transformer.d_model=8", "transformer.n_heads=2", "transformer.pretrain_steps=4",
              "transformer.finetune_steps=4", "sac.enabled=false", "sac.refit_steps=0"]


@pytest.fixture(scope="module")
def tiny_seed(tmp_path_factory) -> Path:
    return write_tiny_seed(tmp_path_factory.mktemp("seed"), n_subjects=3, n_sessions=1, seconds=4.0, seed=9)


def _infos(root):
    from eegaffect.datasets import load_dataset

    return [t.info for t in load_dataset(root, "seed").trials]


@pytest.mark.parametrize("protocol", ["subject-dependent", "loso", "kfold"])
def test_validation_folds_come_from_the_training_side_only(tiny_seed, protocol):
    infos = _infos(tiny_seed)
    folds = make_folds(infos, protocol, dataset="seed", k=3)
    splits = inner_splits(infos, folds, protocol)
    assert len(splits) == len(folds)
    for fold, (train, val) in zip(folds, splits):
        assert train and val and not set(train) & set(val)
        assert set(train) | set(val) <= set(fold.train)
        assert not (set(train) | set(val)) & set(fold.test)
    if protocol == "subject-dependent":  # 9 training trials: 6 fit, the last 3 validate
        train, val = splits[0]
        assert [infos[j].trial for j in train] == [1, 2, 3, 4, 5, 6] and [infos[j].trial for j in val] == [7, 8, 9]
    if protocol == "loso":  # the held-out subject's trials are validation, never mixed with training subjects
        train, val = splits[0]
        assert len({infos[j].subject for j in val}) == 1 and not {infos[j].subject for j in val} & \
            {infos[j].subject for j in train}


def test_search_space_is_checked_against_the_train_config(tmp_path):
    assert set(load_space(None)) == set(SEARCH_SPACE)
    bad_key = tmp_path / "bad-key.yaml"
    bad_key.write_text("vqvae.nope: {type: uniform, low: 0, high: 1}\n")
    with pytest.raises(UserInputError, match="nope"):
        load_space(bad_key)
    bad_range = tmp_path / "bad-range.yaml"
    bad_range.write_text("vqvae.lr: {type: loguniform, low: 0, high: 1}\n")
    with pytest.raises(UserInputError, match="low > 0"):
        load_space(bad_range)


@pytest.mark.slow  # a Ray instance, Ray Tune and two chain fits per trial: 30-60 s on two busy cores
def test_tune_two_trials_writes_a_train_config_and_never_sees_test_trials(tiny_seed, tmp_path, capsys):
    import ray

    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump({"transformer.lr": {"type": "loguniform", "low": 1e-3, "high": 1e-2},
                                     "transformer.context": {"type": "choice", "values": [4, 8]}}))
    args = ["tune", "--root", str(tiny_seed), "--model", "eegdancer", "--protocol", "subject-dependent",
            "--trials", "2", "--max-folds", "2", "--space", str(space), "--workers", "2",
            "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    for item in TINY_CHAIN:
        args += ["--set", item]
    assert main(args) == 0
    assert not ray.is_initialized()
    printed = capsys.readouterr().out
    assert "2 of 2 trial(s) scored" in printed and "best_config.yaml" in printed

    # the written config goes through the train command's validation and keeps the fixed overrides
    config = load_config(TrainConfig, tmp_path / "out" / "best_config.yaml")
    assert config.vqvae.steps == 4 and config.sac.enabled is False and config.data.dataset == "seed"
    assert config.transformer.context in (4, 8) and 1e-3 <= config.transformer.lr <= 1e-2
    doc = json.loads((tmp_path / "out" / "trials.json").read_text())
    assert len(doc["trials"]) == 2 and all(t["folds_done"] >= 1 for t in doc["trials"])
    best = max(doc["trials"], key=lambda t: (t["folds_done"], t["score"]))
    assert config.transformer.lr == pytest.approx(best["overrides"]["transformer.lr"])

    # and it trains: eegaffect train --config accepts it as it is
    bundle = tmp_path / "bundle"
    assert main(["train", "--config", str(tmp_path / "out" / "best_config.yaml"), "--data", str(tiny_seed),
                 "--out", str(bundle)]) == 0
    assert json.loads((bundle / "bundle.json").read_text())["config"]["transformer"]["lr"] == config.transformer.lr

    # leakage: the protocol's test trials (10-15 of each session) were never shipped to, nor used by, a trainable
    infos = _infos(tiny_seed)
    test_keys = {trial_key(infos[j]) for f in make_folds(infos, "subject-dependent", dataset="seed") for j in f.test}
    shipped = {tuple(k) for k in doc["data_trials"]}
    assert shipped and not shipped & test_keys and {k[2] for k in shipped} == set(range(1, 10))
    seen = set()
    for trial_dir in (tmp_path / "out" / "ray_results" / "tune").iterdir():
        for line in (trial_dir / "result.json").read_text().splitlines() if trial_dir.is_dir() else []:
            seen |= {tuple(k) for k in json.loads(json.loads(line)["data_trials"])}
    assert seen and seen <= shipped and not seen & test_keys


def test_tune_input_errors_are_one_line(tiny_seed, tmp_path, capsys):
    assert main(["tune", "--root", str(tiny_seed), "--model", "eegnet", "--out", str(tmp_path / "o")]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["tune", "--root", str(tiny_seed), "--set", "vqvae.nope=1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and err.startswith("eegaffect tune: configuration error")


def test_a_base_config_round_trips_through_overrides():
    from eegaffect.benchmark.tuning import config_overrides

    base = load_config(TrainConfig, None, ["vqvae.dilations=[1, 3]", "sac.enabled=false", "data.subjects=null",
                                           "transformer.lr=0.00123"], default="train")
    again = load_config(TrainConfig, None, config_overrides(base), default="train")
    assert again == base
