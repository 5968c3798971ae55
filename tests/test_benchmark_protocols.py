"""Protocols split by trial or subject only, and models fit normalisation on training data only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from eegaffect.benchmark.interface import SplitData
from eegaffect.benchmark.protocols import PROTOCOLS, Fold, check_folds, make_folds, trial_key
from eegaffect.benchmark.registry import get_model


@dataclass(frozen=True)
class Info:
    subject: int
    session: int
    trial: int
    label: int


SEED_LABELS = [1, 0, -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 0, 1, -1]


def seed_like(n_subjects=3, n_sessions=3):
    return [Info(s, ses, t, SEED_LABELS[t - 1] + 1) for s in range(1, n_subjects + 1)
            for ses in range(1, n_sessions + 1) for t in range(1, 16)]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_no_trial_or_subject_on_both_sides(protocol):
    infos = seed_like()
    folds = make_folds(infos, protocol, dataset="seed", k=3, seed=1)
    assert folds
    for fold in folds:
        train = {trial_key(infos[j]) for j in fold.train}
        test = {trial_key(infos[j]) for j in fold.test}
        assert train and test and not train & test
        if protocol in ("loso", "loso-calibrated"):
            assert not {infos[j].subject for j in fold.train} & {infos[j].subject for j in fold.test}
        if protocol in ("subject-dependent", "cross-session", "kfold"):
            # within-subject protocols never train on another subject
            assert {infos[j].subject for j in fold.train + fold.test} == {fold.subject}
    if protocol in ("loso", "cross-session", "kfold"):
        # every trial is tested exactly once
        tested = sorted(j for f in folds for j in f.test)
        assert tested == list(range(len(infos)))


def test_subject_dependent_standard_splits():
    infos = seed_like(2, 3)
    folds = make_folds(list(reversed(infos)), "subject-dependent", dataset="seed")
    assert len(folds) == 6
    rev = list(reversed(infos))
    for fold in folds:
        assert sorted(rev[j].trial for j in fold.train) == list(range(1, 10))
        assert sorted(rev[j].trial for j in fold.test) == list(range(10, 16))
    iv = [Info(1, 1, t, t % 4) for t in range(1, 25)]
    (fold,) = make_folds(iv, "subject-dependent", dataset="seed-iv")
    assert len(fold.train) == 16 and len(fold.test) == 8
    # DREAMER: no standard split -> k-fold by trial inside each subject
    dreamer = [Info(s, 1, t, t % 2) for s in (1, 2) for t in range(1, 19)]
    folds = make_folds(dreamer, "subject-dependent", dataset="dreamer", k=6)
    assert len(folds) == 12 and all(len(f.test) == 3 for f in folds)


def test_kfold_is_seeded_and_stratified():
    infos = seed_like(1, 3)
    a = make_folds(infos, "kfold", k=5, seed=3)
    b = make_folds(infos, "kfold", k=5, seed=3)
    c = make_folds(infos, "kfold", k=5, seed=4)
    assert a == b and a != c
    for fold in a:
        labels = [infos[j].label for j in fold.test]
        assert sorted(set(labels)) == [0, 1, 2]


def test_protocol_errors():
    with pytest.raises(ValueError, match="protocol must be one of"):
        make_folds(seed_like(1, 1), "random-windows")
    with pytest.raises(ValueError, match="at least 2 subjects"):
        make_folds(seed_like(1, 1), "loso")
    with pytest.raises(ValueError, match="at least 2"):
        make_folds(seed_like(2, 1), "cross-session")
    with pytest.raises(ValueError, match="duplicates"):
        make_folds(seed_like(1, 1) * 2, "kfold")
    with pytest.raises(ValueError, match="n_train=15"):
        make_folds(seed_like(1, 1), "subject-dependent", n_train=15)


def test_check_folds_catches_leaks():
    infos = seed_like(2, 1)
    with pytest.raises(AssertionError, match="in train and test"):
        check_folds([Fold("kfold", "x", 1, None, 0, (0, 1), (1, 2))], infos)
    with pytest.raises(AssertionError, match="subjects"):
        check_folds([Fold("loso", "x", 1, None, 0, (0, 1), (2, 16))], infos)


def _split(infos, idx, rng, shift=0.0):
    labels = np.array([infos[j].label for j in idx])
    feats = [rng.normal(size=(4, 3, 5)) + labels[i] + shift for i in range(len(idx))]
    wins = [rng.normal(size=(4, 3, 32)) + shift for _ in idx]
    va = [np.tile([labels[i] - 1.0, 0.2 * labels[i]], (4, 1)) for i in range(len(idx))]
    return SplitData([infos[j] for j in idx], labels, va, feats, wins, sfreq=32.0, class_names=["n", "z", "p"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("model_name", ["de-svm", "de-logreg", "de-ridge"])
def test_normalisation_statistics_come_from_training_data_only(protocol, model_name):
    infos = seed_like(3, 2)
    fold = make_folds(infos, protocol, dataset="seed", k=3, seed=0)[0]
    train = _split(infos, fold.train, np.random.default_rng(0))
    model = get_model(model_name)
    model.fit(train, seed=0)
    x = train.stacked("features").reshape(sum(train.n_steps), -1)
    np.testing.assert_allclose(model.scaler_.mean_, x.mean(axis=0))
    np.testing.assert_allclose(model.scaler_.scale_, x.std(axis=0))
    before = model.scaler_.mean_.copy()
    # wildly shifted test data: predicting on it must not touch the fitted statistics
    model.predict(_split(infos, fold.test, np.random.default_rng(1), shift=1000.0)).check(
        _split(infos, fold.test, np.random.default_rng(1)))
    np.testing.assert_array_equal(model.scaler_.mean_, before)


def test_raw_model_standardises_with_training_statistics():
    infos = seed_like(2, 1)
    fold = make_folds(infos, "loso")[0]
    train = _split(infos, fold.train, np.random.default_rng(0))
    model = get_model("shallow", epochs=1, batch_size=16)
    model.fit(train, seed=0)
    x = train.stacked("raw")
    np.testing.assert_allclose(model.mean_, x.mean(axis=(0, 2)))
    np.testing.assert_allclose(model.std_, x.std(axis=(0, 2)))
    test = _split(infos, fold.test, np.random.default_rng(1), shift=500.0)
    model.predict(test).check(test)
    np.testing.assert_allclose(model.mean_, x.mean(axis=(0, 2)))


def test_model_registry_plain_registration_point():
    """Models register through interface.register_model; the interface imports no model, the registry imports
    the built-in ones, and a model registered later is built by name like them."""
    import subprocess
    import sys

    from eegaffect.benchmark.interface import MODEL_FACTORIES, register_model
    from eegaffect.benchmark.registry import available_models, requested_models

    models = ("eegaffect.models.benchmark", "eegaffect.benchmark.baselines")
    code = f"import sys, eegaffect.benchmark.interface; print(sorted(m for m in sys.modules if m in {models!r}))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"
    assert {"de-svm", "eegnet", "eegdancer", "eegdancer-nosac"} <= set(available_models())

    class Constant:
        name, input_kind, task = "constant-test", "features", "regression"

        def fit(self, train, *, seed):
            pass

        def predict(self, test):
            return None

    register_model("constant-test", Constant)
    try:
        assert isinstance(get_model("constant-test"), Constant)
        assert requested_models(["constant-test", "de-svm", "constant-test"]) == ["constant-test", "de-svm"]
        with pytest.raises(ValueError, match="already registered"):
            register_model("constant-test", lambda: Constant())
        with pytest.raises(ValueError, match=r"unknown benchmark model\(s\) \['nope'\]"):
            requested_models(["nope"])
    finally:
        del MODEL_FACTORIES["constant-test"]


@pytest.mark.parametrize("k", [1, 3, 5])
def test_loso_calibrated_calibrates_on_the_first_k_trials_and_never_tests_them(k):
    infos = seed_like(3, 2)
    folds = make_folds(list(reversed(infos)), "loso-calibrated", n_calibration=k)
    rev = list(reversed(infos))
    assert [f.subject for f in folds] == [1, 2, 3]
    for fold in folds:
        cal = [(rev[j].session, rev[j].trial) for j in fold.calibration]
        assert sorted(cal) == [(1, t) for t in range(1, k + 1)]  # the first k trials of the first session
        tested = {(rev[j].subject, rev[j].session, rev[j].trial) for j in fold.test}
        assert len(tested) == 30 - k and all(s == fold.subject for s, _, _ in tested)
        assert not tested & {(fold.subject, *c) for c in cal}
        assert fold.subject not in {rev[j].subject for j in fold.train} and len(fold.train) == 60
    # with the default, three trials calibrate
    assert all(len(f.calibration) == 3 for f in make_folds(infos, "loso-calibrated"))
    with pytest.raises(ValueError, match="n_calibration=30"):
        make_folds(infos, "loso-calibrated", n_calibration=30)
    with pytest.raises(ValueError, match="n_calibration must be >= 1"):
        make_folds(infos, "loso-calibrated", n_calibration=0)


def test_check_folds_catches_calibration_leaks():
    infos = seed_like(2, 1)
    fold = make_folds(infos, "loso-calibrated")[0]
    with pytest.raises(AssertionError, match="also trained on or tested"):
        check_folds([Fold(**{**fold.__dict__, "calibration": fold.calibration + fold.test[:1]})], infos)
    other = [j for j in fold.train][:1]
    with pytest.raises(AssertionError, match="also trained on or tested"):
        check_folds([Fold(**{**fold.__dict__, "calibration": tuple(other)})], infos)
    with pytest.raises(AssertionError, match="needs calibration trials"):
        check_folds([Fold(**{**fold.__dict__, "calibration": ()})], infos)
    foreign = Fold(**{**fold.__dict__, "train": tuple(j for j in fold.train if j != other[0]),
                      "calibration": tuple(other)})
    with pytest.raises(AssertionError, match="not tested"):
        check_folds([foreign], infos)
