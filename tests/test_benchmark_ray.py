"""Benchmark units on a real local Ray instance: same rows as the sequential run, resume, a killed worker retried,
a failing unit isolated, features shipped through the object store; and the options of ``bench seed``."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import ray_helpers  # noqa: F401  (registers sleep-once and always-fails)
from test_feature_cache import write_tiny_seed

from eegaffect.benchmark.execution import Execution, make_executor
from eegaffect.benchmark.runner import BenchSeedConfig, run_benchmark
from eegaffect.benchmark.units import Unit, make_units
from eegaffect.cli import main

TESTS = Path(__file__).resolve().parent
TINY_NETS = {"eegnet": {"epochs": 1, "batch_size": 16, "model_kwargs": {"F1": 4, "D": 1}}}


@pytest.fixture(scope="module")
def tiny_seed(tmp_path_factory) -> Path:
    return write_tiny_seed(tmp_path_factory.mktemp("seed"), n_subjects=2, n_sessions=1, seconds=4.0, seed=5)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory, tiny_seed) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance (2 CPUs) for the module's tests; the executors reuse it and leave it running.

    Its workers get this folder on their PYTHONPATH so they can unpickle the test models of ``ray_helpers``.
    """
    import ray

    assert not ray.is_initialized(), "an earlier test left Ray running"
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), before) if p)
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    try:
        yield ray
    finally:
        ray.shutdown()
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def _config(cache_dir, models, **kw) -> BenchSeedConfig:
    base = dict(cache_dir=str(cache_dir), plots=False, models=models, model_params=dict(TINY_NETS))
    base.update(kw)
    return BenchSeedConfig(**base)


def _rows(out: Path) -> list[dict]:
    return json.loads((out / "results.json").read_text())["rows"]


def _predictions(out: Path) -> dict[str, dict[str, np.ndarray]]:
    found = {}
    for path in sorted((out / "partial").glob("*/pred-*.npz")):
        with np.load(path) as z:
            found[path.name] = {k: z[k] for k in z.files}
    return found


def test_units_have_stable_keys_in_sequential_order():
    from eegaffect.benchmark.protocols import Fold

    folds = [Fold("loso", f"loso-s{s}", s, None, 0, (), ()) for s in (1, 2)]
    units = make_units(folds, ["a", "b"], [0, 7])
    assert [u.key for u in units[:4]] == ["a/loso-s1/seed0", "a/loso-s1/seed7", "b/loso-s1/seed0",
                                          "b/loso-s1/seed7"]
    assert len(units) == 8 and len(set(units)) == 8 and Unit("a", "loso-s2", 7) in units
    with pytest.raises(ValueError, match="at least one fold"):
        make_units([], ["a"], [0])
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        Execution(workers=0)
    assert make_executor(None).name == "sequential" and make_executor(Execution(workers=3)).name == "ray"


def test_units_declare_torch_threads_and_gpus_from_the_model():
    from types import SimpleNamespace

    from eegaffect.benchmark.registry import get_model
    from eegaffect.benchmark.units import uses_torch, wants_gpu

    assert uses_torch(get_model("eegnet")) and uses_torch(get_model("eegdancer"))
    assert not uses_torch(get_model("de-svm"))
    assert not any(wants_gpu(get_model(n)) for n in ("eegnet", "eegdancer", "de-svm"))  # they train on the CPU
    assert wants_gpu(SimpleNamespace(input_kind="raw", uses_gpu=True))


@pytest.mark.slow  # two benchmark runs with a torch model, one starting Ray: 20-50 s on two busy cores
def test_cli_workers_2_gives_the_sequential_rows_and_stops_its_ray(tiny_seed, cache_dir, tmp_path, capsys):
    import ray

    def bench(out: str, workers: str) -> int:
        return main(["bench", "seed", "--root", str(tiny_seed), "--models", "de-svm,de-ridge,eegnet", "--no-plots",
                     "--cache", str(cache_dir), "--out", str(tmp_path / out), "--workers", workers,
                     "--set", "model_params.eegnet.epochs=1", "--set", "model_params.eegnet.batch_size=16",
                     "--set", "model_params.eegnet.model_kwargs={F1: 4, D: 1}"])

    assert bench("seq", "1") == 0
    assert "ran on Ray" not in capsys.readouterr().out
    assert not ray.is_initialized()
    assert bench("ray", "2") == 0
    printed = capsys.readouterr().out
    assert "ran on Ray (local, 2 workers); start-up" in printed
    assert not ray.is_initialized()  # the command stopped the instance it started
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "seq")
    ours, theirs = _predictions(tmp_path / "ray"), _predictions(tmp_path / "seq")
    assert ours.keys() == theirs.keys() and len(ours) == 6
    for name in ours:
        for key in theirs[name]:
            np.testing.assert_array_equal(ours[name][key], theirs[name][key], err_msg=f"{name}:{key}")
    run = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert run["executor"] == "ray" and run["executor_startup_s"] > 0 and run["units_failed"] == []
    # the workers ran at this process's priority (Ray's own default would be nice 15), in other processes
    assert {t["nice"] for t in run["unit_timings"]} == {os.nice(0)} and len(run["unit_timings"]) == 6
    assert os.getpid() not in {t["pid"] for t in run["unit_timings"]}


@pytest.fixture
def ray_head():
    """A Ray cluster head started like a user would (``ray start --head``), in its own temp folder so no other
    process on this machine joins it by accident; stopped (with every process it started) afterwards."""
    import psutil

    auth_mode = os.environ.pop("RAY_AUTH_MODE", None)  # the executor picks the token mode itself
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    temp = tempfile.mkdtemp(prefix="eegaffect-ray-")  # short: Ray's socket paths live below it
    log = Path(temp) / "head.log"
    with log.open("w") as fh:
        head = subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
                                 "--port", str(port), "--num-cpus", "2", "--include-dashboard", "false",
                                 "--disable-usage-stats", "--temp-dir", temp], stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "Ray runtime started" not in log.read_text() and head.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "Ray runtime started" in log.read_text(), log.read_text()[-2000:]
        children = psutil.Process(head.pid).children(recursive=True)
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()
        head.wait(30)
        gone, alive = psutil.wait_procs(locals().get("children", []), timeout=20)
        for proc in alive:
            proc.kill()
        import shutil

        shutil.rmtree(temp, ignore_errors=True)
        if auth_mode is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = auth_mode


@pytest.mark.slow  # a cluster head plus two jobs whose fresh workers import the models: 20-40 s on two busy cores
def test_cli_address_runs_on_an_existing_cluster(ray_head, tiny_seed, cache_dir, tmp_path, capsys):
    """--address with --cache (workers read the shared cache files) and without (features through the object
    store): the rows of the one-process run; the second job shows the first left the cluster running."""
    import ray

    def bench(out: str, *extra: str) -> int:
        return main(["bench", "seed", "--root", str(tiny_seed), "--models", "de-svm,de-ridge", "--no-plots",
                     "--out", str(tmp_path / out), *extra])

    assert bench("seq", "--cache", str(cache_dir)) == 0
    assert bench("files", "--cache", str(cache_dir), "--address", ray_head) == 0
    assert f"ran on Ray ({ray_head})" in capsys.readouterr().out
    assert not ray.is_initialized()  # disconnected
    assert bench("shipped", "--address", ray_head, "--set", f"cache_dir={tmp_path / 'driver-only-cache'}") == 0
    assert _rows(tmp_path / "files") == _rows(tmp_path / "seq") == _rows(tmp_path / "shipped")


def test_object_store_shipping_and_resume(local_ray, tiny_seed, cache_dir, tmp_path):
    first = run_benchmark(tiny_seed, _config(cache_dir, ["de-svm"]), tmp_path / "out", show_progress=False)
    assert (first.folds_run, first.folds_skipped) == (2, 0)

    # the same output folder with one more model, on Ray, features shipped through the object store: only the
    # new model's units run, and the rows are those of a plain sequential run
    both = _config(cache_dir, ["de-svm", "de-ridge"])
    ray_run = run_benchmark(tiny_seed, both, tmp_path / "out", show_progress=False,
                            execution=Execution(workers=2, data="object-store"))
    assert (ray_run.folds_run, ray_run.folds_skipped, ray_run.executor) == (2, 2, "ray")
    (rows_file,) = (tmp_path / "out" / "partial").glob("*/rows.jsonl")
    assert len(rows_file.read_text().splitlines()) == 4  # finished units were not re-run
    seq = run_benchmark(tiny_seed, both, tmp_path / "seq", show_progress=False)
    assert ray_run.rows == seq.rows

    again = run_benchmark(tiny_seed, both, tmp_path / "out", show_progress=False, execution=Execution(workers=2))
    assert (again.folds_run, again.folds_skipped, again.executor) == (0, 4, "none")
    assert local_ray.is_initialized()  # an instance the executor did not start is left running


def test_a_killed_worker_is_retried_and_the_run_completes(local_ray, tiny_seed, cache_dir, tmp_path):
    pid_file, attempts = tmp_path / "pid", tmp_path / "attempts"
    attempts.mkdir()
    config = _config(cache_dir, ["sleep-once", "de-ridge"], model_params={
        "sleep-once": {"marker": str(tmp_path / "marker"), "pid_file": str(pid_file), "attempts_dir": str(attempts)},
        "de-ridge": {"alpha": 10.0}})
    killed: list[int] = []

    def kill_when_sleeping() -> None:
        deadline = time.monotonic() + 90
        while not pid_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_file.is_file():
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    killer = threading.Thread(target=kill_when_sleeping, daemon=True)
    killer.start()
    result = run_benchmark(tiny_seed, config, tmp_path / "out", show_progress=False,
                           execution=Execution(workers=2, max_retries=2))
    killer.join(5)
    assert killed and killed[0] != os.getpid()
    assert result.failed == [] and result.folds_run == 4
    retried = [int(p.name.split("-")[1]) for p in attempts.iterdir()]
    assert len(retried) == 2 and killed[0] not in retried  # both folds fitted by live workers, the killed one retried
    for fold in ("s1-sess1", "s2-sess1"):  # the retried fit is a plain ridge (alpha 10): the same numbers
        rows = {r["model"]: r for r in result.rows if r["fold"] == fold}
        assert {**rows["sleep-once"], "model": "de-ridge"} == rows["de-ridge"]


def test_a_failing_unit_is_marked_failed_and_the_others_finish(local_ray, tiny_seed, cache_dir, tmp_path, caplog):
    config = _config(cache_dir, ["always-fails", "de-ridge"])
    with caplog.at_level(logging.ERROR, logger="eegaffect"):
        result = run_benchmark(tiny_seed, config, tmp_path / "out", show_progress=False,
                               execution=Execution(workers=2))
    assert [r["model"] for r in result.rows] == ["de-ridge", "de-ridge"]
    assert sorted((f["model"], f["fold"]) for f in result.failed) == [("always-fails", "s1-sess1"),
                                                                       ("always-fails", "s2-sess1")]
    assert all("deliberate failure" in f["error"] for f in result.failed)
    tracebacks = [r for r in caplog.records if "Traceback" in r.getMessage()]
    assert len(tracebacks) == 2  # once per failed unit
    assert all("always-fails" in r.getMessage() and "deliberate failure" in r.getMessage() for r in tracebacks)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [f["model"] for f in doc["failed"]] == ["always-fails"] * 2 and len(doc["rows"]) == 2

    # the same isolation in this process (--workers 1), and a rerun retries only the failed units
    again = run_benchmark(tiny_seed, config, tmp_path / "out", show_progress=False)
    assert (again.folds_run, again.folds_skipped, len(again.failed)) == (0, 2, 2)


def test_bench_seed_options_fail_in_one_line(tiny_seed, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "seed", "--root", str(tiny_seed), "--out", str(tmp_path / "o"), "--workers", "0"])
    assert exit_info.value.code == 2 and "--workers: expected a positive integer, got 0" in capsys.readouterr().err
    assert main(["bench", "seed", "--root", str(tiny_seed), "--out", str(tmp_path / "o"), "--address", " "]) == 2
    err = capsys.readouterr().err
    assert "--address" in err and len(err.strip().splitlines()) == 1


def test_bench_scale_options_are_validated(capsys):
    assert main(["bench", "scale", "--units", "8,6"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("eegaffect bench scale: configuration error") and "multiples of 4" in err
    assert main(["bench", "scale", "--units", "eight"]) == 2
    assert "--units: expected comma-separated integers" in capsys.readouterr().err
    assert main(["bench", "scale", "--sequential-threads", "default,two"]) == 2
    assert "--sequential-threads: expected comma-separated integers or 'default'" in capsys.readouterr().err
    assert main(["bench", "scale", "--sequential-threads", "1,1"]) == 2
    assert "distinct thread counts" in capsys.readouterr().err


def test_bench_scale_worker_use_and_summary():
    from eegaffect.perf.scale import _worker_use, summary_lines

    timings = [{"pid": 7, "started": 100.0, "seconds": 4.0, "cpu_seconds": 3.0},
               {"pid": 7, "started": 104.0, "seconds": 4.0, "cpu_seconds": 3.5},
               {"pid": 8, "started": 100.0, "seconds": 2.0, "cpu_seconds": 2.0}]
    use = _worker_use(timings)  # span 100..108 s
    assert use == {"7": {"units": 2, "wall_s": 8.0, "cpu_s": 6.5, "busy": 1.0},
                   "8": {"units": 1, "wall_s": 2.0, "cpu_s": 2.0, "busy": 0.25}}
    from eegaffect.perf.scale import _Runs

    runs = _Runs()
    keys = ["eegnet/s1-sess1/seed0", "eegnet/s1-sess2/seed0", "shallow/s1-sess1/seed0"]
    info = {"unit_timings": [dict(t, unit=k) for t, k in zip(timings, keys)], "executor_startup_s": 2.04,
            "executor_shutdown_s": 1.0}
    runs.add(12.0, {}, [], (1.0, 1.5))
    runs.add(11.0, info, [], (1.5, 2.0))
    got = runs.summary(ray=True)
    assert got["wall_s"] == 11.0 and got["walls_s"] == [12.0, 11.0] and got["startup_s"] == 2.04
    assert got["unit_cpu_median_s"] == {"eegnet": 3.25, "shallow": 2.0} and got["unit_cpu_total_s"] == 8.5
    assert got["units_span_s"] == 8.0 and got["cores_used"] == round(8.5 / 8, 2) and len(got["workers"]) == 2
    run = {"wall_s": 10.0, "walls_s": [10.0, 12.0], "load_1min_before_after": [[1.0, 2.0], [2.0, 2.5]],
           "unit_wall_median_s": {"eegnet": 2.0}, "unit_cpu_median_s": {"eegnet": 1.9}, "cores_used": 0.95}
    details = {"models": ["eegnet"], "epochs": 20, "batch_size": 64, "trial_seconds": 6.0, "cpu_count": 2,
               "torch_default_threads": 2, "repeat": 2, "load_average_before": [1, 1, 1],
               "load_average_after": [2, 2, 2],
               "runs": [{"units": 8, "sequential": {"1-thread": run}, "ray": {**run, "wall_s": 5.0, "startup_s": 2.1,
                                                                              "shutdown_s": 1.0},
                         "ratio_vs": {"1-thread": 2.0}, "reference": "1-thread",
                         "rows_equal": {"1-thread": True}}]}
    text = "\n".join(summary_lines(details))
    assert "8 units:" in text and "vs 1-thread: 2.00" in text and "start-up 2.1 s, shut-down 1.0 s" in text
    assert "load 1.0->2.0, 2.0->2.5" in text and "eegnet 2.0 s wall / 1.9 s CPU; units used 0.95 cores" in text


# ------------------------------------------------------------------------------------------------- bench run
@pytest.fixture(scope="module")
def tiny_deap(tmp_path_factory) -> Path:
    from eegaffect.datasets.synth_multimodal import write_synthetic_deap

    root = tmp_path_factory.mktemp("deap") / "d"
    write_synthetic_deap(root, subjects=2, trials=6, trial_seconds=8, seed=3)
    return root


def _standin_physio(kind, x, sfreq, window_s, hop_s):
    """Physiological stand-in features (mean, SD of the trailing window): the units never call it, the driver
    featurises."""
    hop, win = int(round(hop_s * sfreq)), int(round(window_s * sfreq))
    n = 0 if x.size < win else (x.size - win) // hop + 1
    out = np.array([[x[k * hop:k * hop + win].mean(), x[k * hop:k * hop + win].std()] for k in range(n)])
    return out.reshape(n, 2), ["mean", "sd"]


def test_bench_run_units_on_ray_give_the_sequential_rows(local_ray, tiny_deap, tmp_path):
    from eegaffect.benchmark.multimodal import BenchRunConfig, run_multimodal_benchmark

    config = BenchRunConfig(k=3, plots=False, cache_dir=str(tmp_path / "cache"),
                            models=["eeg-de-svm", "physio-logreg", "physio-ridge", "fusion-early-logreg",
                                    "fusion-late", "fusion-stack"])
    seq = run_multimodal_benchmark(tiny_deap, config, tmp_path / "seq", physio_fn=_standin_physio)
    ray_run = run_multimodal_benchmark(tiny_deap, config, tmp_path / "ray", physio_fn=_standin_physio,
                                       execution=Execution(workers=2))
    assert (seq.executor, ray_run.executor) == ("sequential", "ray")
    assert len(seq.rows) == 6 * 2 * 3 and seq.failed == [] and ray_run.failed == []
    assert ray_run.rows == seq.rows  # same rows in the same (fold, model) order, whatever order the units finished
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "seq")
    assert len({t["pid"] for t in ray_run.unit_timings}) >= 1 and os.getpid() not in {t["pid"] for t in
                                                                                        ray_run.unit_timings}
    run = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert run["executor"] == "ray" and len(run["unit_timings"]) == 36 and run["units_failed"] == []


def test_bench_run_cli_workers_and_a_failing_unit(local_ray, tiny_deap, tmp_path, capsys, caplog):
    """--workers 2 on the CLI gives the one-process rows; a unit whose fit raises is logged once with its
    traceback and listed as failed, the other units finish, and the command exits 1."""
    def bench(out: str, *extra: str) -> int:
        return main(["bench", "run", "--root", str(tiny_deap), "--models", "eeg-de-svm,eeg-de-ridge", "--k", "3",
                     "--no-plots", "--cache", str(tmp_path / "cache"), "--out", str(tmp_path / out), *extra])

    assert bench("seq") == 0
    assert "ran on Ray" not in capsys.readouterr().out
    assert bench("ray", "--workers", "2") == 0
    assert "ran on Ray (local, 2 workers)" in capsys.readouterr().out
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "seq")

    with caplog.at_level(logging.ERROR, logger="eegaffect"):
        code = bench("bad", "--workers", "2", "--set", "model_params.eeg-de-svm.C=-1")
    assert code == 1
    assert "6 unit(s) failed" in capsys.readouterr().out
    doc = json.loads((tmp_path / "bad" / "results.json").read_text())
    assert {r["model"] for r in doc["rows"]} == {"eeg-de-ridge"} and len(doc["rows"]) == 6
    assert [f["model"] for f in doc["failed"]] == ["eeg-de-svm"] * 6
    tracebacks = [r for r in caplog.records if "Traceback" in r.getMessage()]
    assert len(tracebacks) == 6 and all("eeg-de-svm" in r.getMessage() for r in tracebacks)


def test_bench_run_hands_seed_models_over_to_bench_seed(tiny_seed, cache_dir, tmp_path, capsys):
    """bench run with only bench seed's models on SEED runs bench seed, with the execution options passed on."""
    assert main(["bench", "run", "--root", str(tiny_seed), "--models", "de-svm", "--no-plots", "--cache",
                 str(cache_dir), "--out", str(tmp_path / "o"), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "folds: 2 fitted" in out and "ran on Ray" not in out
    assert [r["model"] for r in _rows(tmp_path / "o")] == ["de-svm", "de-svm"]
