"""``eegaffect bench scale``: the dataset benchmark run one unit at a time vs. on a local Ray with 2 workers.

Cases (the shared bench JSON shape, ``ratio > 1`` = the Ray run is faster):

- ``workers-2``: wall seconds of ``eegaffect bench seed --workers 2`` (a local Ray instance started and stopped by
  the command: start-up included) on the largest unit count; reference = the same command with ``--workers 1``
  (today's sequential run); ratio = sequential / Ray.
- ``workers-2-{n}units``: the same at each unit count of ``--units`` (default 8, 16, 32), to show how the ratio
  grows once Ray's fixed start-up is spread over more work.

The benchmark is a synthetic SEED (written once in a temporary folder, 2 sessions per subject), the
subject-dependent protocol, and two small torch models (``eegnet``, ``shallow``) with ``--epochs`` epochs, so one
unit is a (model, session) fit of a few seconds; ``n`` units take ``n / 4`` subjects. Both runs are timed end to
end as separate ``eegaffect`` processes (interpreter start, imports, Ray start-up, the fits, the report); the
feature cache is built before the timings and shared by both. Ray's start-up (``ray.init`` until the instance
takes tasks) is reported separately; the units' own import of torch in each fresh Ray worker is part of the Ray
time, as a user would see it.

What the ratio measures depends on the sequential run's torch threads (``--sequential-threads``): by default it
uses torch's default (every core, today's behaviour), which for these small models is slow, and pathologically so
on a busy machine (the threads wait for each other); with one thread the comparison is unit parallelism alone.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import Field, field_validator

from eegaffect.config import ConfigModel

MODELS = ("eegnet", "shallow")


class BenchScaleConfig(ConfigModel):
    """Settings of ``eegaffect bench scale`` (``configs/bench_scale.yaml``)."""

    units: list[int] = Field(default_factory=lambda: [8, 16, 32], min_length=1,
                             description="unit counts timed, multiples of 4 (2 models x 2 sessions per subject)")
    epochs: int = Field(2, ge=1, description="epochs of every unit's fit")
    trial_seconds: float = Field(6.0, ge=4, description="length of every synthetic trial")
    sequential_threads: int | None = Field(None, ge=1, description="torch/BLAS threads of the sequential run "
                                           "(OMP_NUM_THREADS); null = torch's default, today's behaviour")
    repeat: int = Field(1, ge=1, description="timings per run and unit count, alternating sequential and Ray; the "
                        "fastest of each counts (a shared machine's noise only ever slows a run down)")

    @field_validator("units")
    @classmethod
    def _multiples_of_4(cls, units: list[int]) -> list[int]:
        if any(n < 4 or n % 4 for n in units):
            raise ValueError(f"expected multiples of 4 (2 models x 2 sessions per subject), got {units}")
        return sorted(set(units))


def run_bench(units: list[int], *, epochs: int = 2, trial_seconds: float = 6.0, repeat: int = 1,
              sequential_threads: int | None = None, workdir: str | Path | None = None):
    """Time the sequential and the 2-worker Ray run at each unit count.

    Parameters
    ----------
    units : list of int
        Unit counts (multiples of 4).
    epochs : int
        Epochs of every fit.
    trial_seconds : float
        Length of every synthetic trial.
    repeat : int
        Timings of each run (sequential and Ray alternating); the fastest of each counts.
    sequential_threads : int | None
        ``OMP_NUM_THREADS`` of the sequential run; None leaves torch's default (today's behaviour). The Ray
        workers always use one thread per unit.
    workdir : str | Path | None
        Folder for the dataset, cache and outputs; None uses a temporary one.

    Returns
    -------
    cases : list of BenchCase
        ``workers-2`` (largest count) then ``workers-2-{n}units`` per count.
    details : dict
        Per count: both wall times, Ray start-up, units run, whether the rows matched; machine load.
    """
    from eegaffect.perf import BenchCase

    with tempfile.TemporaryDirectory(prefix="eegaffect-scale-") if workdir is None else _Keep(workdir) as tmp:
        tmp = Path(tmp)
        root, cache = _prepare(tmp, max(units) // 4, trial_seconds)
        load_before = os.getloadavg()
        rows, cases = [], []
        for n in units:
            subjects = ",".join(str(s) for s in range(1, n // 4 + 1))
            seq_s = ray_s = math.inf
            for k in range(repeat):
                t, seq_run, seq_rows = _timed(root, cache, tmp / f"seq-{n}-{k}", subjects, epochs, workers=1,
                                              threads=sequential_threads)
                seq_s = min(seq_s, t)
                t, ray_run, ray_rows = _timed(root, cache, tmp / f"ray-{n}-{k}", subjects, epochs, workers=2)
                if t < ray_s:
                    ray_s, startup = t, ray_run["executor_startup_s"]
            done = seq_run["folds_run"]
            if done != n or ray_run["folds_run"] != n:
                raise RuntimeError(f"expected {n} units in both runs, got {done} and {ray_run['folds_run']}")
            rows.append({"units": n, "sequential_s": round(seq_s, 2), "ray_s": round(ray_s, 2),
                         "ray_startup_s": round(startup, 2),
                         "ratio": round(seq_s / ray_s, 3), "rows_equal": seq_rows == ray_rows})
            cases.append(BenchCase.duration(f"workers-2-{n}units", "s", ray_s, seq_s,
                                            f"bench seed --workers 1 ({n} units)"))
        main = cases[-1]
        cases.insert(0, BenchCase.duration("workers-2", "s", main.ours, main.reference,
                                           f"bench seed --workers 1 ({max(units)} units)"))
        details = {"runs": rows, "models": list(MODELS), "epochs": epochs, "trial_seconds": trial_seconds,
                   "repeat": repeat, "sequential_threads": sequential_threads or "torch default",
                   "ray_startup_s": rows[-1]["ray_startup_s"], "cpu_count": os.cpu_count(),
                   "load_average_before": [round(v, 2) for v in load_before],
                   "load_average_after": [round(v, 2) for v in os.getloadavg()]}
    return cases, details


def _prepare(tmp: Path, subjects: int, trial_seconds: float) -> tuple[Path, Path]:
    """Write the synthetic SEED and build its raw-window cache (outside the timings)."""
    from eegaffect.benchmark.runner import BenchSeedConfig
    from eegaffect.config import load_config
    from eegaffect.datasets import load_dataset
    from eegaffect.datasets.features import FeatureCache
    from eegaffect.datasets.synth import write_synthetic_seed

    root, cache = tmp / "synth", tmp / "cache"
    write_synthetic_seed(root, subjects=subjects, sessions=2, trial_seconds=trial_seconds, seed=0, features=False,
                         show_progress=False)
    config = load_config(BenchSeedConfig, None, [], default="bench_seed")
    FeatureCache(load_dataset(root, "seed"), config.pipeline, "raw", cache_dir=cache).build(show_progress=False)
    return root, cache


def _timed(root: Path, cache: Path, out: Path, subjects: str, epochs: int, workers: int, threads: int | None = None):
    """Run ``eegaffect bench seed`` as its own process; (wall seconds, run.json, result rows)."""
    cmd = [sys.executable, "-m", "eegaffect", "--log-level", "warning", "bench", "seed", "--root", str(root),
           "--out", str(out), "--cache", str(cache), "--models", ",".join(MODELS), "--subjects", subjects,
           "--no-plots", "--workers", str(workers)]
    for model in MODELS:
        cmd += ["--set", f"model_params.{model}.epochs={epochs}", "--set", f"model_params.{model}.batch_size=32"]
    env = dict(os.environ, EEGAFFECT_PROGRESS="0")
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(cmd[:8])} ... exited with {proc.returncode}:\n{tail}")
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    rows = json.loads((out / "results.json").read_text(encoding="utf-8"))["rows"]
    return wall, run, rows


class _Keep:
    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    def __exit__(self, *exc) -> bool:
        return False
