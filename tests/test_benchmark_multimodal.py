"""The multimodal benchmark (bench run): features per modality, per-trial baseline correction, leakage-free folds,
early/late fusion, results.json shape. Physiological features come from a tiny stand-in function defined HERE
(tests only), so the protocol and fusion machinery is tested without the physiological pipeline."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from eegaffect.benchmark.multimodal import (
    BenchRunConfig,
    FeatureModel,
    extract_features,
    make_model,
    run_multimodal_benchmark,
)
from eegaffect.datasets import load_dataset
from eegaffect.datasets.synth_multimodal import (
    write_synthetic_deap,
    write_synthetic_wesad,
)


def standin_physio(kind, x, sfreq, window_s, hop_s):
    """Stand-in physiological features: per frame, mean, SD and mean |first difference| of the trailing 10 s."""
    hop, win = int(round(hop_s * sfreq)), int(round(window_s * sfreq))
    look = int(round(max(window_s, 10.0) * sfreq))
    n = 0 if x.size < win else (x.size - win) // hop + 1
    out = np.full((n, 3), np.nan)
    for k in range(n):
        seg = x[max(0, k * hop + win - look):k * hop + win]
        out[k] = [seg.mean(), seg.std(), np.abs(np.diff(seg)).mean() if seg.size > 1 else np.nan]
    return out, ["mean", "sd", "absdiff"]


@pytest.fixture(scope="module")
def deap(tmp_path_factory):
    root = tmp_path_factory.mktemp("deap")
    write_synthetic_deap(root / "d", subjects=2, trials=6, trial_seconds=8, seed=3)
    return root / "d"


def test_deap_run_results_shape_and_modalities(deap, tmp_path):
    config = BenchRunConfig(k=3, plots=False, cache_dir=str(tmp_path / "cache"))
    result = run_multimodal_benchmark(deap, config, tmp_path / "out", physio_fn=standin_physio)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["dataset"] == "deap" and doc["protocol"] == "subject-dependent"
    # the single-device models need two devices (WESAD): skipped on DEAP
    assert {r["model"] for r in doc["rows"]} == set(config.models) - {"physio-chest-logreg", "physio-wrist-logreg"}
    assert len(doc["rows"]) == 10 * 2 * 3
    by = {s["model"]: s for s in doc["summary"]}
    for name in ("eeg-de-svm", "physio-logreg", "fusion-early-logreg", "fusion-late"):
        assert 0 <= by[name]["valence_accuracy_mean"] <= 1 and by[name]["arousal_f1_mean"] is not None
        assert by[name]["valence_ccc_mean"] is None
    assert by["physio-ridge"]["valence_ccc_mean"] is not None and by["physio-ridge"]["modality"] == "physio"
    assert by["fusion-late"]["modality"] == "fusion" and by["eeg-de-ridge"]["modality"] == "eeg"
    table = (tmp_path / "out" / "results.md").read_text()
    assert "| fusion-early-logreg | fusion |" in table and "best single modality" in table
    assert doc["fusion_vs_best_single"] and set(result.subject_seconds) == {1, 2}
    again = run_multimodal_benchmark(deap, config, tmp_path / "out2", physio_fn=standin_physio)
    assert again.subject_seconds == {}  # features came from the cache
    assert again.rows == result.rows


def test_baseline_correction_uses_only_the_trials_own_baseline(deap):
    ds = load_dataset(deap, "deap")
    config = BenchRunConfig()
    a, b = ds[0], ds[1]
    fa = extract_features(a, config, standin_physio)
    raw = extract_features(a, BenchRunConfig(baseline_correction=False), standin_physio)
    base = extract_features.__globals__["_eeg_frames"](a.load_baseline(), 128.0, config, None)
    np.testing.assert_allclose(fa.arrays["eeg"], raw.arrays["eeg"] - base.mean(axis=0))
    # zEMG, tEMG, EDA, respiration, PPG, temperature
    assert fa.arrays["physio"].shape[1] == len(fa.names["physio"]) == 6 * 3
    assert fa.names["physio"][0].startswith("emg.zEMG.")
    # physiology: baseline + stimulus as one stream; the 3 frames inside the baseline correct the stimulus frames
    ppg = np.concatenate([a.load_group_baseline("ppg")[:, 0], a.load_group("ppg")[:, 0]])
    both, _ = standin_physio("ppg", ppg, 128.0, 1.0, 1.0)
    cols = [i for i, n in enumerate(fa.names["physio"]) if n.startswith("ppg.")]
    np.testing.assert_allclose(fa.arrays["physio"][:, cols], both[3:] - np.nanmean(both[:3], axis=0))

    class Swapped:  # trial b's baseline replaced by a's: only b's features may change, never a's
        def __init__(self, trial, baseline_from):
            self.t, self.other = trial, baseline_from
            self.info, self.groups, self.has_baseline = trial.info, trial.groups, True

        def load(self):
            return self.t.load()

        def load_baseline(self):
            return self.other.load_baseline()

        def load_group(self, name):
            return self.t.load_group(name)

        def load_group_baseline(self, name):
            return self.other.load_group_baseline(name)

    fb = extract_features(b, config, standin_physio)
    fb_swapped = extract_features(Swapped(b, a), config, standin_physio)
    assert not np.allclose(fb.arrays["eeg"], fb_swapped.arrays["eeg"])
    np.testing.assert_array_equal(extract_features(a, config, standin_physio).arrays["eeg"], fa.arrays["eeg"])


def test_statistics_come_from_the_training_fold_only():
    rng = np.random.default_rng(0)
    xtr = {"eeg": rng.normal(5, 2, (60, 4)), "physio": rng.normal(-3, 1, (60, 3))}
    xtr["physio"][::7, 1] = np.nan
    ytr = (xtr["eeg"][:, 0] > 5).astype(int)
    xte = {"eeg": rng.normal(50, 9, (20, 4)), "physio": rng.normal(40, 9, (20, 3))}
    model = make_model("fusion-early-logreg", C=1.0, k_best=5).fit(xtr, ytr, seed=0)
    (_, pipe), = model.pipelines_
    x = np.concatenate([xtr["eeg"], xtr["physio"]], axis=1)
    np.testing.assert_allclose(pipe.named_steps["simpleimputer"].statistics_, np.nanmedian(x, axis=0))
    filled = np.where(np.isnan(x), np.nanmedian(x, axis=0), x)
    np.testing.assert_allclose(pipe.named_steps["standardscaler"].mean_, filled.mean(axis=0))
    assert pipe.named_steps["selectkbest"].get_support().sum() == 5
    model.predict(xte)  # predicting does not refit anything
    np.testing.assert_allclose(pipe.named_steps["standardscaler"].mean_, filled.mean(axis=0))


def test_late_fusion_averages_the_modalities_probabilities():
    rng = np.random.default_rng(1)
    xs = {"eeg": rng.normal(size=(80, 3)), "physio": rng.normal(size=(80, 2))}
    y = (xs["eeg"][:, 0] + xs["physio"][:, 0] > 0).astype(int)
    late = make_model("fusion-late", C=1.0).fit(xs, y, seed=0)
    probs = [pipe.predict_proba(xs[mods[0]]) for mods, pipe in late.pipelines_]
    np.testing.assert_array_equal(late.predict(xs), np.mean(probs, axis=0).argmax(axis=1))
    single = FeatureModel("x", ("eeg",), "logreg", "classification").fit(xs, np.zeros(80, int), seed=0)
    assert np.all(single.predict(xs) == 0)  # one class in the training fold: predicts it


def test_stacking_meta_model_sees_only_out_of_fold_predictions():
    rng = np.random.default_rng(2)
    trials = np.repeat(np.arange(40), 5)
    y = np.repeat(rng.integers(0, 2, 40), 5)
    # "eeg": 300 noise columns, enough to fit the training frames perfectly; "physio": one weakly informative column
    xs = {"eeg": rng.normal(size=(200, 300)), "physio": (y + rng.normal(0, 1.0, 200))[:, None]}
    model = make_model("fusion-stack", C=10.0).fit(xs, y, seed=0, groups=trials)
    in_sample = model.pipelines_[0][1].score(xs["eeg"], y)
    assert in_sample > 0.95  # in-sample, the noise modality looks perfect ...
    coef = np.abs(model.meta_.coef_[0])  # columns: eeg p(0), eeg p(1), physio p(0), physio p(1)
    assert coef[2:].sum() > 3 * coef[:2].sum()  # ... but the meta-model, fitted out of fold, trusts physiology


def test_wesad_loso_tasks(tmp_path):
    write_synthetic_wesad(tmp_path / "w", subjects=3, baseline_seconds=20, stress_seconds=15, amusement_seconds=15,
                          meditation_seconds=10, seed=1)
    config = BenchRunConfig(protocol="wesad-loso", models=["physio-logreg", "fusion-late", "physio-ridge"],
                            plots=False)
    result = run_multimodal_benchmark(tmp_path / "w", config, tmp_path / "out", physio_fn=standin_physio)
    rows = [r for r in result.rows if r["model"] == "physio-logreg"]
    assert [r["fold"] for r in rows] == ["loso-s2", "loso-s3", "loso-s4"]
    assert all(r["accuracy"] is not None and r["stress_accuracy"] is not None for r in rows)
    # no EEG: fusion fuses the chest and wrist devices; the all-device physio model is itself a device fusion
    assert result.modalities == {"physio-logreg": "physio (all devices)", "fusion-late": "fusion",
                                 "physio-ridge": "physio (all devices)"}
    late = [r for r in result.rows if r["model"] == "fusion-late"]
    assert len(late) == 3 and all(r["accuracy"] is not None for r in late)
    with pytest.raises(ValueError, match="wesad-loso"):
        run_multimodal_benchmark(tmp_path / "w", BenchRunConfig(protocol="wesad-loso", dataset="deap"),
                                 tmp_path / "o2", physio_fn=standin_physio)


def test_cli_bench_run_eeg_only_and_errors(deap, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "eegaffect", "bench", "run", "--root", str(deap), "--out",
                           str(tmp_path / "o"), "--models", "eeg-de-logreg,eeg-de-ridge", "--k", "3", "--no-plots"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "| eeg-de-logreg | eeg |" in proc.stdout and "valence accuracy" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "eegaffect", "bench", "run", "--root", str(deap), "--out",
                           str(tmp_path / "o"), "--models", "eegnet"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "unknown model" in proc.stderr


def test_dreamer_ecg_and_baseline_clip(tmp_path):
    import scipy.io

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from dataset_fixtures import dreamer_struct

    mdict, _ = dreamer_struct(2, rng=np.random.default_rng(5))
    scipy.io.savemat(tmp_path / "DREAMER.mat", mdict, do_compression=True)
    ds = load_dataset(tmp_path, "dreamer", ecg=True, baseline=True)
    f = extract_features(ds[3], BenchRunConfig(), standin_physio)
    assert f.names["physio"][:3] == ["ecg.ECG1.mean", "ecg.ECG1.sd", "ecg.ECG1.absdiff"]
    raw = extract_features(ds[3], BenchRunConfig(baseline_correction=False), standin_physio)
    assert not np.allclose(f.arrays["eeg"], raw.arrays["eeg"])  # corrected by the clip's own baseline
    config = BenchRunConfig(k=3, models=["eeg-de-logreg", "physio-logreg", "fusion-late"], plots=False)
    result = run_multimodal_benchmark(tmp_path, config, tmp_path / "out", physio_fn=standin_physio)
    assert all(r["valence_accuracy"] is not None and r["accuracy"] is None for r in result.rows)


def test_physio_pipeline_features_on_the_eeg_frame_clock(deap):
    """The physiological pipeline's frames line up with the EEG frames of the same trial."""
    from eegaffect.benchmark.multimodal import pipeline_physio_features
    from eegaffect.physio import PhysioPipeline
    from eegaffect.physio.config import FrameConfig, PhysioConfig

    trial = load_dataset(deap, "deap")[0]
    ppg = trial.load_group("ppg")[:, 0]
    frames, names = pipeline_physio_features("ppg", ppg, 128.0, 1.0, 1.0)
    expected = PhysioPipeline(PhysioConfig(frames=FrameConfig(window_s=1.0, hop_s=1.0)), "ppg", 128.0).process(ppg)
    np.testing.assert_array_equal(frames, expected)
    assert names and all(n.startswith("ppg_") for n in names)
    f = extract_features(trial, BenchRunConfig(), pipeline_physio_features)
    assert f.arrays["eeg"].shape[0] == f.arrays["physio"].shape[0] == 8  # 8-s stimulus, 1-s frames
