"""``eegaffect bench seed`` end to end on a real-layout SEED miniature: outputs, schema, resume, determinism."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from test_feature_cache import write_tiny_seed

from eegaffect.benchmark.metrics import JITTER_METRICS, METRIC_NAMES
from eegaffect.benchmark.runner import ROW_KEYS, BenchSeedConfig, run_benchmark
from eegaffect.cli import main

CLASSIFICATION = {"accuracy", "macro_f1", "balanced_accuracy"}
RATIOS = {"valence_jitter_ratio", "arousal_jitter_ratio"}


@pytest.fixture(scope="module")
def tiny_seed(tmp_path_factory) -> Path:
    return write_tiny_seed(tmp_path_factory.mktemp("seed"), n_subjects=2, n_sessions=2, seconds=6.0, seed=3)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """One feature cache for the module's runs (keyed, so runs with other settings never collide)."""
    return tmp_path_factory.mktemp("cache")


def test_cli_writes_every_output_with_the_documented_schema(tiny_seed, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["bench", "seed", "--root", str(tiny_seed), "--models", "de-svm,de-logreg,de-ridge",
                 "--cache-dir", str(tmp_path / "cache"), "--out", str(out)])  # its own cache: built and timed
    assert code == 0
    printed = capsys.readouterr().out
    assert "s of EEG per second" in printed and "peak" in printed
    assert "| de-svm |" in printed

    doc = json.loads((out / "results.json").read_text())
    assert set(doc) == {"dataset", "protocol", "rows", "summary"}
    assert doc["dataset"] == "seed" and doc["protocol"] == "subject-dependent"
    assert len(doc["rows"]) == 3 * 4  # models x (subject, session) folds
    for row in doc["rows"]:
        assert tuple(row) == ROW_KEYS
        assert row["subject"] in (1, 2) and row["session"] in (1, 2)
        if row["model"] == "de-ridge":
            assert all(row[m] is None for m in CLASSIFICATION)
            assert row["valence_rmse"] is not None and row["valence_ccc"] is not None
            assert all(row[m] is not None for m in METRIC_NAMES if m not in CLASSIFICATION | RATIOS)
            # SEED's targets are one label-derived value per trial: the truth does not move, no ratio
            assert row["valence_jitter"] >= 0 and all(row[m] is None for m in RATIOS)
        else:
            assert all(row[m] is not None for m in CLASSIFICATION)
            assert all(row[m] is None for m in METRIC_NAMES if m not in CLASSIFICATION)
    by_model = {s["model"]: s for s in doc["summary"]}
    assert set(by_model) == {"de-svm", "de-logreg", "de-ridge"}
    for m in METRIC_NAMES:
        assert f"{m}_mean" in by_model["de-svm"] and f"{m}_std" in by_model["de-svm"]
    # the classes differ in alpha power: DE features separate them far above chance (1/3)
    assert by_model["de-logreg"]["accuracy_mean"] > 0.8
    assert by_model["de-ridge"]["valence_ccc_mean"] > 0.5

    with (out / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["model"] for r in rows] == [r["model"] for r in doc["rows"]]
    assert rows[0]["valence_ccc"] == "" and float(rows[0]["accuracy"]) == pytest.approx(doc["rows"][0]["accuracy"])
    assert "valence_jitter" in rows[0] and rows[0]["valence_jitter_ratio"] == ""
    md = (out / "results.md").read_text()
    assert md.startswith("# Benchmark: seed, subject-dependent")
    # the jitter has a table of its own, for the models that predict valence/arousal, not columns of the first
    main_table, jitter_table = md.split("## Output jitter")
    assert "jitter" not in main_table.split("## ")[0]
    assert "| de-ridge |" in jitter_table.split("## ")[0] and "| de-svm |" not in jitter_table.split("## ")[0]
    run = json.loads((out / "run.json").read_text())
    assert run["feature_eeg_seconds"] == pytest.approx(4 * 15 * 1201 / 200) and run["feature_throughput"] > 0
    assert run["folds_run"] == 12 and run["config"]["models"] == ["de-svm", "de-logreg", "de-ridge"]
    plots = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert "subjects-accuracy.png" in plots and "subjects-valence_ccc.png" in plots
    assert "confusion-de-svm.png" in plots and any(p.startswith("trajectory-de-ridge") for p in plots)


def _config(cache_dir, **kw) -> BenchSeedConfig:
    base = dict(cache_dir=str(cache_dir), plots=False,
                model_params={"eegnet": {"epochs": 1, "batch_size": 16, "model_kwargs": {"F1": 4, "D": 1}},
                              "shallow": {"epochs": 1, "batch_size": 16,
                                          "model_kwargs": {"n_filters_time": 8, "n_filters_spat": 8}}})
    base.update(kw)
    return BenchSeedConfig(**base)


@pytest.mark.slow
def test_resume_skips_finished_folds_and_reproduces_the_rest(tiny_seed, tmp_path, cache_dir):
    config = _config(tmp_path / "own-cache", models=["de-svm", "de-ridge", "eegnet", "shallow"], subjects=[1])
    first = run_benchmark(tiny_seed, config, tmp_path / "out", show_progress=False)
    assert (first.folds_run, first.folds_skipped) == (8, 0)
    assert first.feature_seconds > 0 and first.feature_throughput > 0

    # an interrupted run: only the first three (model, fold) results reached the partial file
    (rows_file,) = (tmp_path / "out" / "partial").glob("*/rows.jsonl")
    lines = rows_file.read_text().splitlines()
    rows_file.write_text("\n".join(lines[:3]) + "\n" + lines[3][: len(lines[3]) // 2])
    second = run_benchmark(tiny_seed, config, tmp_path / "out", show_progress=False)
    assert (second.folds_run, second.folds_skipped) == (5, 3)
    assert second.feature_seconds == 0  # every feature file came from the cache
    # seeded: the refitted folds (torch models included) give exactly the first run's numbers
    assert second.rows == first.rows

    # another seed is another run: nothing is reused from the first
    third = run_benchmark(tiny_seed, config.model_copy(update={"seed": 1}), tmp_path / "out",
                          show_progress=False)
    assert third.folds_skipped == 0


def test_rows_carry_the_output_jitter_within_trials_by_hand():
    from types import SimpleNamespace

    from eegaffect.benchmark.interface import Predictions, SplitData
    from eegaffect.benchmark.splits import score_row

    # two test trials; valence ramps, arousal holds one value per trial (it jumps only across the trials)
    va = [np.array([[0.0, 0.1], [1.0, 0.1], [2.0, 0.1]]), np.array([[10.0, 0.9], [10.5, 0.9]])]
    test = SplitData(trial_infos=[None, None], labels=[0, 1], va=va, class_names=["a", "b"],
                     features=[np.zeros((3, 1, 1)), np.zeros((2, 1, 1))])
    fold = SimpleNamespace(subject=np.int64(1), session=None, name="f")
    pred = Predictions(va=[np.array([[0.0, 0.0], [2.0, 0.3], [0.0, 0.0]]),
                           np.array([[5.0, 0.5], [6.0, 0.4]])]).check(test)
    row = score_row("m", None, fold, test, pred)
    assert tuple(row) == ROW_KEYS
    # prediction |changes| within trials: valence 2, 2 | 1, arousal 0.3, 0.3 | 0.1 (the 0 -> 5 jump between the
    # trials is not one); the truth's: valence 1, 1 | 0.5, arousal 0, 0 | 0
    assert row["valence_jitter"] == pytest.approx(5 / 3) and row["valence_jitter_ratio"] == pytest.approx(2.0)
    assert row["arousal_jitter"] == pytest.approx(0.7 / 3) and row["arousal_jitter_ratio"] is None
    # a step without a target: no ratio (nor CCC), the prediction's own jitter stays
    va[1][0, 0] = np.nan
    row = score_row("m", None, fold, test, pred)
    assert row["valence_ccc"] is None and row["valence_jitter_ratio"] is None
    assert row["valence_jitter"] == pytest.approx(5 / 3)
    # a classifier predicts no valence/arousal: no jitter
    labels = Predictions(labels=[np.zeros(3, dtype=np.int64), np.ones(2, dtype=np.int64)]).check(test)
    assert all(score_row("c", None, fold, test, labels)[m] is None for m in JITTER_METRICS)


def test_rows_of_a_run_older_than_the_jitter_get_it_from_their_stored_predictions(tiny_seed, tmp_path, cache_dir):
    out = tmp_path / "out"
    config = _config(cache_dir, models=["de-ridge", "de-logreg"], subjects=[1])
    first = run_benchmark(tiny_seed, config, out, show_progress=False)
    assert all(r["valence_jitter"] > 0 for r in first.rows if r["model"] == "de-ridge")
    (rows_file,) = (out / "partial").glob("*/rows.jsonl")
    old = []
    for line in rows_file.read_text().splitlines():  # the layout before the jitter (and without macro_f1)
        entry = json.loads(line)
        entry["row"] = {k: v for k, v in entry["row"].items() if k not in JITTER_METRICS and k != "macro_f1"}
        old.append(json.dumps(entry))
    rows_file.write_text("\n".join(old) + "\n")
    second = run_benchmark(tiny_seed, config, out, show_progress=False)
    assert (second.folds_run, second.folds_skipped) == (0, 4)
    assert all(tuple(r) == ROW_KEYS for r in second.rows)
    # the jitter comes back from the predictions, a metric they cannot give is None
    assert [{k: r[k] for k in JITTER_METRICS} for r in second.rows] == \
        [{k: r[k] for k in JITTER_METRICS} for r in first.rows]
    assert all(r["macro_f1"] is None for r in second.rows)
    assert second.summary[0]["valence_jitter_mean"] == first.summary[0]["valence_jitter_mean"]


def test_loso_rows_are_per_held_out_subject(tiny_seed, tmp_path, cache_dir):
    config = _config(cache_dir, models=["de-logreg"], protocol="loso")
    result = run_benchmark(tiny_seed, config, tmp_path / "out", show_progress=False)
    assert [(r["subject"], r["session"], r["fold"]) for r in result.rows] == [(1, None, "loso-s1"),
                                                                            (2, None, "loso-s2")]
    assert all(r["accuracy"] is not None for r in result.rows)


def test_bad_requests_fail_clearly(tiny_seed, tmp_path, cache_dir, capsys):
    with pytest.raises(ValueError, match="unknown benchmark model"):
        run_benchmark(tiny_seed, _config(cache_dir, models=["nope"]), tmp_path / "o")
    with pytest.raises(ValueError, match="at least 2"):
        run_benchmark(tiny_seed, _config(cache_dir, models=["de-svm"], protocol="loso", subjects=[1]),
                      tmp_path / "o")
    assert main(["bench", "seed", "--root", str(tiny_seed), "--out", str(tmp_path / "o"),
                 "--set", "protocol=random"]) == 2
    assert "protocol" in capsys.readouterr().err


def test_step_targets_follow_continuous_annotations(tmp_path):
    from eegaffect.benchmark.splits import step_va
    from eegaffect.datasets import load_dataset

    root = write_tiny_seed(tmp_path / "seed", n_subjects=1, n_sessions=1, seconds=4.0)
    ds = load_dataset(root, "seed")
    trial = ds.trials[0]
    config = BenchSeedConfig()
    constant = step_va(trial, 4, config)
    assert constant.shape == (4, 2) and np.all(constant == [trial.info.valence, trial.info.arousal])
    # a continuous annotation beside the session file: linear ramps, sampled at the window ends (1, 2, 3, 4 s)
    csv_path = trial.info.source.with_name(f"{trial.info.source.stem}_{trial.info.key}.csv")
    csv_path.write_text("time_s,valence,arousal\n0,-1,0\n4,1,0.8\n")
    trial = load_dataset(root, "seed").trials[0]
    va = step_va(trial, 4, config)
    np.testing.assert_allclose(va[:, 0], [-0.5, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(va[:, 1], [0.2, 0.4, 0.6, 0.8])


def test_dreamer_and_seed_iv_layouts_run(tmp_path, cache_dir, caplog):
    """DREAMER (one .mat, 128 Hz, ratings, no classes) and SEED-IV (session folders, 24 trials) through the runner."""
    import scipy.io
    from dataset_fixtures import dreamer_struct, write_seed_iv

    mdict, _ = dreamer_struct(n_subjects=2, n_clips=18)
    scipy.io.savemat(tmp_path / "DREAMER.mat", mdict, do_compression=True)
    config = _config(cache_dir, dataset="dreamer", models=["de-ridge", "de-svm"], k=3)
    with caplog.at_level("WARNING", logger="eegaffect"):
        result = run_benchmark(tmp_path / "DREAMER.mat", config, tmp_path / "dreamer", show_progress=False)
    assert "skipping de-svm" in caplog.text  # no class labels without the optional low/high classes
    # no standard split for DREAMER: k-fold by trial inside each subject
    assert [r["fold"] for r in result.rows] == [f"s{s}-k{f}" for s in (1, 2) for f in range(3)]
    assert all(r["valence_rmse"] is not None and r["accuracy"] is None for r in result.rows)

    root = write_seed_iv(tmp_path / "seed_iv", n_subjects=1, sessions=(1, 2), n_times=401)
    config = _config(cache_dir, dataset="seed-iv", models=["de-logreg"])
    result = run_benchmark(root, config, tmp_path / "iv", show_progress=False)
    assert [(r["subject"], r["session"]) for r in result.rows] == [(1, 1), (1, 2)]
    (pred_file,) = [p for p in (tmp_path / "iv" / "partial").glob("*/pred-*s1-sess1.npz")]
    with np.load(pred_file) as z:
        assert sorted(z["trials"][:, 2].tolist()) == list(range(17, 25))  # SEED-IV's 16/8 split


def test_adding_a_model_reuses_the_finished_folds_of_the_others(tiny_seed, tmp_path, cache_dir):
    out = tmp_path / "out"
    first = run_benchmark(tiny_seed, _config(cache_dir, models=["de-ridge"], subjects=[1]), out,
                          show_progress=False)
    assert (first.folds_run, first.folds_skipped) == (2, 0)
    both = _config(cache_dir, models=["de-ridge", "de-logreg"], subjects=[1])
    second = run_benchmark(tiny_seed, both, out, show_progress=False)
    # de-ridge's two folds come from the first run, only de-logreg is fitted; one partial folder for both
    assert (second.folds_run, second.folds_skipped) == (2, 2)
    assert [r for r in second.rows if r["model"] == "de-ridge"] == first.rows
    assert len(list((out / "partial").iterdir())) == 1
    # dropping a model again reuses everything that is left
    third = run_benchmark(tiny_seed, _config(cache_dir, models=["de-logreg"], subjects=[1]), out,
                          show_progress=False)
    assert (third.folds_run, third.folds_skipped) == (0, 2)
    # another hyper-parameter of one model refits that model only
    params = dict(both.model_params, **{"de-ridge": {"alpha": 1000.0}})
    fourth = run_benchmark(tiny_seed, both.model_copy(update={"model_params": params}), out,
                           show_progress=False)
    assert (fourth.folds_run, fourth.folds_skipped) == (2, 2)
    assert {r["model"] for r in fourth.rows if r["fold"] == "s1-sess1"} == {"de-ridge", "de-logreg"}
    ridge_before = {r["fold"]: r["valence_rmse"] for r in first.rows}
    ridge_after = {r["fold"]: r["valence_rmse"] for r in fourth.rows if r["model"] == "de-ridge"}
    assert ridge_after.keys() == ridge_before.keys() and ridge_after != ridge_before
    # another pipeline setting is another feature cache key: nothing of either model is reused
    pipeline = both.pipeline.model_copy(update={"features": both.pipeline.features.model_copy(
        update={"hop_s": 0.5})})
    fifth = run_benchmark(tiny_seed, both.model_copy(update={"pipeline": pipeline}), out, show_progress=False)
    assert (fifth.folds_run, fifth.folds_skipped) == (4, 0)


def test_featurisation_is_reported_per_view_and_raw_windows_count(tiny_seed, tmp_path, monkeypatch, capsys):
    from eegaffect.benchmark.report import featurisation_lines

    own = tmp_path / "cache"
    out = tmp_path / "out"
    first = run_benchmark(tiny_seed, _config(own, models=["de-ridge"], subjects=[1]), out, show_progress=False)
    assert set(first.feature_views) == {"features"} and first.feature_views["features"]["files_built"] == 2
    # second run: the band features come from the cache, the raw windows (eegnet) are built now
    monkeypatch.setenv("EEGAFFECT_PROGRESS", "1")
    capsys.readouterr()
    second = run_benchmark(tiny_seed, _config(own, models=["de-ridge", "eegnet"], subjects=[1]), out,
                           show_progress=True)
    err = capsys.readouterr().err
    assert "eegnet fit" in err and "epoch" in err  # the bar over the fit's epochs
    views = second.feature_views
    assert views["features"] == {"files_built": 0, "files_reused": 2, "eeg_seconds": 0.0, "wall_s": 0.0}
    assert views["raw"]["files_built"] == 2 and views["raw"]["files_reused"] == 0
    assert views["raw"]["eeg_seconds"] == pytest.approx(2 * 15 * 1201 / 200)
    assert second.feature_seconds == pytest.approx(views["raw"]["eeg_seconds"])
    run = json.loads((out / "run.json").read_text())
    assert run["feature_throughput"] == pytest.approx(second.feature_throughput) and run["feature_throughput"] > 0
    assert run["feature_views"]["raw"]["files_built"] == 2
    lines = featurisation_lines(second)
    assert lines[0] == "feature extraction (band features): all 2 file(s) came from the cache"
    assert lines[1].startswith("feature extraction (raw windows): built 2 of 2 file(s) in this run: 180 s of EEG")
    assert "s of EEG per second" in lines[2]
    # a third run builds nothing: no throughput, and the report says so for both views
    third = run_benchmark(tiny_seed, _config(own, models=["de-ridge", "eegnet"], subjects=[1]), out,
                          show_progress=False)
    assert third.feature_seconds == 0 and json.loads((out / "run.json").read_text())["feature_throughput"] is None
    assert [line.endswith("came from the cache") for line in featurisation_lines(third)] == [True, True]


def test_log_lines_go_above_progress_bars_only_with_a_console_handler():
    import logging
    import sys

    from tqdm.contrib.logging import _TqdmLoggingHandler

    from eegaffect._logging import logger
    from eegaffect.benchmark.runner import _logs_above_bars

    saved = list(logger.handlers)  # the CLI tests may have attached the package's console handler
    logger.handlers = [h for h in saved if not isinstance(h, logging.StreamHandler)]
    try:
        before = list(logger.handlers)
        with _logs_above_bars(True):  # no console handler (library use): nothing changes
            assert logger.handlers == before
        console = logging.StreamHandler(sys.stderr)
        logger.addHandler(console)
        with _logs_above_bars(True):
            assert console not in logger.handlers
            assert any(isinstance(h, _TqdmLoggingHandler) for h in logger.handlers)
        assert console in logger.handlers and not any(isinstance(h, _TqdmLoggingHandler) for h in logger.handlers)
        with _logs_above_bars(False):  # no bars: the console handler stays
            assert console in logger.handlers
    finally:
        logger.handlers = saved


class _Spy:
    """A benchmark model that records every trial it is fitted on, calibrated on and asked to predict."""

    name, input_kind, task = "spy", "features", "regression"
    seen: ClassVar[dict] = {}

    def fit(self, train, *, seed):
        self.offset = 0.0
        _Spy.seen.setdefault("fit", []).append({(i.subject, i.session, i.trial) for i in train.trial_infos})

    def calibrate(self, calib, *, seed):
        self.offset = 0.5
        _Spy.seen.setdefault("calibrate", []).append([(i.subject, i.session, i.trial) for i in calib.trial_infos])

    def predict(self, test):
        from eegaffect.benchmark.interface import Predictions

        _Spy.seen.setdefault("predict", []).append({(i.subject, i.session, i.trial) for i in test.trial_infos})
        return Predictions(va=[np.clip(v + self.offset, -1, 1) for v in test.va])


@pytest.fixture
def spy_model():
    from eegaffect.benchmark.interface import MODEL_FACTORIES, register_model

    _Spy.seen = {}
    register_model("spy", _Spy)
    yield _Spy
    del MODEL_FACTORIES["spy"]


def test_loso_calibrated_scores_before_and_after_calibration_and_never_the_calibration_trials(
        tiny_seed, tmp_path, cache_dir, spy_model):
    config = _config(cache_dir, models=["spy", "de-ridge"], protocol="loso-calibrated", n_calibration=4)
    result = run_benchmark(tiny_seed, config, tmp_path / "out", show_progress=False)
    assert [(r["model"], r["fold"]) for r in result.rows] == [
        (m, f"loso-cal4-s{s}") for s in (1, 2) for m in ("spy", "spy+cal", "de-ridge")]
    cal = spy_model.seen["calibrate"]
    assert cal == [[(s, 1, t) for t in (1, 2, 3, 4)] for s in (1, 2)]  # the held-out subject's first 4 trials
    for fitted, calibrated, tested in zip(spy_model.seen["fit"], cal, spy_model.seen["predict"][::2]):
        subject = calibrated[0][0]
        assert {k[0] for k in fitted} == {3 - subject}  # trained on the other subject only
        assert len(tested) == 2 * 15 - 4 and not tested & set(calibrated)
    # the stored predictions of both rows cover exactly the same test trials, none of them a calibration trial
    import glob

    for path in glob.glob(str(tmp_path / "out" / "partial" / "*" / "pred-*.npz")):
        trials = {tuple(t) for t in np.load(path)["trials"].tolist()}
        assert len(trials) == 26 and all(t[2] > 4 or t[1] == 2 for t in trials), path
    by = {(r["model"], r["fold"]): r for r in result.rows}
    # the spy's calibration (an offset of 0.5) shows in the scores, so the +cal rows are the calibrated model's
    assert by[("spy", "loso-cal4-s1")]["valence_rmse"] == pytest.approx(0.0, abs=1e-12)
    assert by[("spy+cal", "loso-cal4-s1")]["valence_rmse"] > 0.1
    # resuming reuses both rows of every fold
    again = run_benchmark(tiny_seed, config, tmp_path / "out", show_progress=False)
    assert again.folds_run == 0 and again.rows == result.rows


def test_eegdancer_calibrates_in_loso_calibrated(tiny_seed, tmp_path, cache_dir):
    tiny = ["vqvae.steps=4", "transformer.pretrain_steps=2", "transformer.finetune_steps=4", "sac.enabled=false",
            "vqvae.batch_size=4", "transformer.batch_size=4", "vqvae.crop=4", "transformer.crop=4"]
    config = _config(cache_dir, models=["eegdancer"], protocol="loso-calibrated", n_calibration=5, subjects=None,
                     model_params={"eegdancer": {"overrides": tiny, "calibration": {"steps": 10}}})
    result = run_benchmark(tiny_seed, config, tmp_path / "out", show_progress=False)
    rows = {(r["model"], r["fold"]): r for r in result.rows}
    assert set(rows) == {(m, f"loso-cal5-s{s}") for m in ("eegdancer", "eegdancer+cal") for s in (1, 2)}
    for s in (1, 2):
        before, after = rows[("eegdancer", f"loso-cal5-s{s}")], rows[("eegdancer+cal", f"loso-cal5-s{s}")]
        assert before["valence_rmse"] != after["valence_rmse"]


def test_resume_signature_follows_the_chains_own_config(monkeypatch):
    """A benchmark resumed after the packaged train config changed refits the chain instead of reusing old folds:
    the model signature covers the model's resolved config (``config_signature``), not only its name and params."""
    from types import SimpleNamespace

    from eegaffect.benchmark.resume import _model_signature
    from eegaffect.benchmark.runner import BenchSeedConfig
    from eegaffect.models.benchmark import EEGDancerBenchmarkModel

    config = BenchSeedConfig(models=["eegdancer"])
    cache = SimpleNamespace(key="features-v1")
    model = EEGDancerBenchmarkModel("eegdancer")
    before = _model_signature(config, "seed", "eegdancer", cache, "t", model)
    assert before == _model_signature(config, "seed", "eegdancer", cache, "t", EEGDancerBenchmarkModel("eegdancer"))
    changed = EEGDancerBenchmarkModel("eegdancer", overrides=["transformer.smooth_s=0"])
    assert _model_signature(config, "seed", "eegdancer", cache, "t", changed) != before
    sac = EEGDancerBenchmarkModel("eegdancer-sac")
    assert sac.config_signature()["train"] != model.config_signature()["train"]
