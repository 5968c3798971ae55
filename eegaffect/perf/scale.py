"""``eegaffect bench scale``: the dataset benchmark run one unit at a time vs. on a local Ray with 2 workers.

Cases (the shared bench JSON shape, ``ratio > 1`` = the Ray run is faster):

- ``workers-2``: wall seconds of ``eegaffect bench seed --workers 2`` (a local Ray instance started and stopped by
  the command: start-up and shut-down included) on the largest unit count; reference = the fastest of the
  sequential runs (``--workers 1``, today's behaviour) at the torch thread settings of ``sequential_threads``;
  ratio = sequential / Ray.
- ``workers-2-{n}units``: the same at each unit count of ``--units`` (default 8, 16, 32), to show how the ratio
  grows once Ray's fixed costs (start-up, every worker's imports, shut-down) are spread over more work.

The benchmark is a synthetic SEED (written once in a temporary folder, 2 sessions per subject), the
subject-dependent protocol, and two torch models (``eegnet``, ``shallow``) at ``bench seed``'s own training
settings (20 epochs, batches of 64), so one unit is a (model, session) fit of 2-4 s of CPU on short trials; ``n``
units take ``n / 4`` subjects. (At 2 epochs a unit is 0.1-0.3 s, and the bench would time Ray's fixed costs
only.) Every run is timed end to end as its own ``eegaffect`` process (interpreter start, imports, Ray start-up,
the fits, the report); the feature cache is built before the timings and shared by all runs.

Which sequential run is the reference matters on a 2-core machine: with torch's default threads (2 here, today's
behaviour) every unit is already partly parallel; with 1 thread the comparison is unit parallelism alone. Both
are timed (``sequential_threads``, default ``[null, 1]``) and the faster one is the reference. Ray's workers run
each unit on one torch thread (``OMP_NUM_THREADS=1`` from Ray, ``torch.set_num_threads(1)`` from the unit).

Beside the wall times, the details give per run the 1-minute load average before and after, Ray's start-up and
shut-down seconds, per model the median wall and CPU seconds of a unit (from ``run.json``, measured in the process
that ran it), and the cores the units used (their CPU seconds over the span from the first unit's start to the last
one's end). On a shared machine the wall time also measures the share of the cores a run won, the CPU seconds per
unit much less: equal CPU per unit in both modes means Ray adds no work per unit (no oversubscribed or spinning
threads), and ``cores_used`` shows how much of the machine a run got. (On Linux with autogroup scheduling, as on a
shared desktop or VM, every session gets an equal share whatever its processes' niceness: two workers cannot use
more than their session's share, and then the ratio stays near that share over one core.)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import Field, field_validator

from eegaffect.config import ConfigModel

__all__ = ["BenchScaleConfig", "MODELS", "run_bench", "summary_lines"]

MODELS = ("eegnet", "shallow")


class BenchScaleConfig(ConfigModel):
    """Settings of ``eegaffect bench scale`` (``configs/bench_scale.yaml``)."""

    units: list[int] = Field(default_factory=lambda: [8, 16, 32], min_length=1,
                             description="unit counts timed, multiples of 4 (2 models x 2 sessions per subject)")
    epochs: int = Field(20, ge=1, description="epochs of every unit's fit (bench seed's default: 20)")
    batch_size: int = Field(64, ge=2, description="windows per optimiser step (bench seed's default: 64)")
    trial_seconds: float = Field(6.0, ge=4, description="length of every synthetic trial")
    sequential_threads: list[int | None] = Field(
        default_factory=lambda: [None, 1], min_length=1,
        description="torch/BLAS threads of each sequential reference run (OMP_NUM_THREADS); null = torch's "
                    "default, today's behaviour; the fastest sequential run is the reference")
    repeat: int = Field(1, ge=1, description="timings per run and unit count, alternating the runs; the fastest of "
                        "each counts (a shared machine's noise only ever slows a run down)")

    @field_validator("units")
    @classmethod
    def _multiples_of_4(cls, units: list[int]) -> list[int]:
        if any(n < 4 or n % 4 for n in units):
            raise ValueError(f"expected multiples of 4 (2 models x 2 sessions per subject), got {units}")
        return sorted(set(units))

    @field_validator("sequential_threads")
    @classmethod
    def _distinct_threads(cls, threads: list[int | None]) -> list[int | None]:
        if any(t is not None and t < 1 for t in threads) or len(set(threads)) != len(threads):
            raise ValueError(f"expected distinct thread counts >= 1 (or null for torch's default), got {threads}")
        return threads


def run_bench(units: list[int], *, epochs: int = 20, batch_size: int = 64, trial_seconds: float = 6.0,
              repeat: int = 1, sequential_threads: list[int | None] | None = None,
              workdir: str | Path | None = None):
    """Time the sequential runs and the 2-worker Ray run at each unit count.

    Parameters
    ----------
    units : list of int
        Unit counts (multiples of 4).
    epochs : int
        Epochs of every fit.
    batch_size : int
        Windows per optimiser step.
    trial_seconds : float
        Length of every synthetic trial.
    repeat : int
        Timings of each run (all runs of a unit count alternating); the fastest of each counts.
    sequential_threads : list of (int | None) | None
        ``OMP_NUM_THREADS`` of each sequential reference run; None in the list leaves torch's default (today's
        behaviour); None for the list means ``[None, 1]``. The Ray workers always use one thread per unit.
    workdir : str | Path | None
        Folder for the dataset, cache and outputs; None uses a temporary one.

    Returns
    -------
    cases : list of BenchCase
        ``workers-2`` (largest count) then ``workers-2-{n}units`` per count.
    details : dict
        Per count: every run's wall times, load averages, Ray start-up and shut-down, per-unit wall and CPU
        medians, the ratio against each sequential run, whether the rows matched; machine and settings.
    """
    from eegaffect.perf import BenchCase

    threads_list = [None, 1] if sequential_threads is None else list(sequential_threads)
    with tempfile.TemporaryDirectory(prefix="eegaffect-scale-") if workdir is None else _Keep(workdir) as tmp:
        tmp = Path(tmp)
        root, cache = _prepare(tmp, max(units) // 4, trial_seconds)
        load_before = os.getloadavg()
        rows, cases = [], []
        for n in units:
            subjects = ",".join(str(s) for s in range(1, n // 4 + 1))
            runs = {_label(t): _Runs() for t in threads_list}
            runs["ray"] = _Runs()
            for k in range(repeat):
                for t in threads_list:
                    runs[_label(t)].add(*_timed(root, cache, tmp / f"seq{t or 'd'}-{n}-{k}", subjects, epochs,
                                                batch_size, workers=1, threads=t))
                runs["ray"].add(*_timed(root, cache, tmp / f"ray-{n}-{k}", subjects, epochs, batch_size, workers=2))
            for name, r in runs.items():
                if any(run["folds_run"] != n for run in r.infos):
                    raise RuntimeError(f"expected {n} units in every {name} run, got "
                                       f"{[run['folds_run'] for run in r.infos]}")
            ray = runs.pop("ray")
            reference = min(runs, key=lambda name: runs[name].best)
            rows.append({"units": n, "reference": reference,
                         "ratio": round(runs[reference].best / ray.best, 3),
                         "ratio_vs": {name: round(r.best / ray.best, 3) for name, r in runs.items()},
                         "sequential": {name: r.summary() for name, r in runs.items()},
                         "ray": ray.summary(ray=True),
                         "rows_equal": {name: r.rows == ray.rows for name, r in runs.items()}})
            cases.append(BenchCase.duration(f"workers-2-{n}units", "s", ray.best, runs[reference].best,
                                            f"bench seed --workers 1, {reference} ({n} units)"))
        main = cases[-1]
        cases.insert(0, BenchCase.duration("workers-2", "s", main.ours, main.reference, main.reference_name))
        details = {"runs": rows, "models": list(MODELS), "epochs": epochs, "batch_size": batch_size,
                   "trial_seconds": trial_seconds, "repeat": repeat,
                   "sequential_threads": [_label(t) for t in threads_list],
                   "ray_startup_s": rows[-1]["ray"]["startup_s"], "ray_shutdown_s": rows[-1]["ray"]["shutdown_s"],
                   "cpu_count": os.cpu_count(), "torch_default_threads": _torch_default_threads(),
                   "load_average_before": [round(v, 2) for v in load_before],
                   "load_average_after": [round(v, 2) for v in os.getloadavg()]}
    return cases, details


def summary_lines(details: dict) -> list[str]:
    """Readable lines of :func:`run_bench`'s details: per unit count every run's fastest wall time, the load
    averages it ran under, Ray's start-up and shut-down, per-unit wall/CPU medians and the ratios.

    Parameters
    ----------
    details : dict
        The details returned by :func:`run_bench`.

    Returns
    -------
    lines : list of str
        One header, then per unit count one line per run and one line of ratios.
    """
    lines = [f"{details['models']} at {details['epochs']} epochs, batches of {details['batch_size']}, "
             f"{details['trial_seconds']:g}-s trials; {details['cpu_count']} CPUs, torch default threads "
             f"{details['torch_default_threads']}; fastest of {details['repeat']} timing(s) per run"]

    def run_line(name: str, r: dict) -> str:
        loads = ", ".join(f"{a:.1f}->{b:.1f}" for a, b in r["load_1min_before_after"])
        medians = ", ".join(f"{m} {r['unit_wall_median_s'][m]} s wall / {r['unit_cpu_median_s'][m]} s CPU"
                            for m in r["unit_cpu_median_s"])
        return (f"  {name:<34} {r['wall_s']:7.1f} s (all: {', '.join(f'{w:.1f}' for w in r['walls_s'])}; load "
                f"{loads}); per unit median: {medians}; units used {r['cores_used']} cores")

    for row in details["runs"]:
        lines.append(f"{row['units']} units:")
        for name, r in row["sequential"].items():
            lines.append(run_line(f"sequential, {name}", r))
        ray = row["ray"]
        lines.append(run_line("ray, 2 workers x 1 thread", ray)
                     + f"; start-up {ray['startup_s']} s, shut-down {ray['shutdown_s']} s")
        lines.append("  ratio " + ", ".join(f"vs {name}: {v:.2f}" for name, v in row["ratio_vs"].items())
                     + f" (reference: {row['reference']}); rows equal to the Ray run's: {row['rows_equal']}")
    lines.append(f"load average (1, 5, 15 min) before {details['load_average_before']}, after "
                 f"{details['load_average_after']}")
    return lines


def _label(threads: int | None) -> str:
    return "torch-default-threads" if threads is None else f"{threads}-thread" + ("s" if threads > 1 else "")


class _Runs:
    """Timings of one kind of run at one unit count (repeats)."""

    def __init__(self):
        self.walls: list[float] = []
        self.loads: list[tuple[float, float]] = []
        self.infos: list[dict] = []
        self.rows = None
        self.best_info: dict = {}

    @property
    def best(self) -> float:
        return min(self.walls)

    def add(self, wall: float, info: dict, rows: list, loads: tuple[float, float]) -> None:
        if not self.walls or wall < self.best:
            self.best_info = info
        self.walls.append(wall)
        self.infos.append(info)
        self.loads.append(loads)
        self.rows = rows if self.rows is None else self.rows

    def summary(self, ray: bool = False) -> dict:
        """Fastest wall, every wall with its load averages (before, after), per-unit medians of the fastest run."""
        timings = self.best_info.get("unit_timings", [])
        by_model = {m: [u for u in timings if u["unit"].startswith(f"{m}/")] for m in MODELS}
        cpu = sum(u["cpu_seconds"] for u in timings)
        span = (max(u["started"] + u["seconds"] for u in timings) - min(u["started"] for u in timings)) \
            if timings else 0.0
        out = {"wall_s": round(self.best, 2), "walls_s": [round(w, 2) for w in self.walls],
               "load_1min_before_after": [[round(a, 2), round(b, 2)] for a, b in self.loads],
               "unit_wall_median_s": {m: _median([u["seconds"] for u in us]) for m, us in by_model.items()},
               "unit_cpu_median_s": {m: _median([u["cpu_seconds"] for u in us]) for m, us in by_model.items()},
               "unit_cpu_total_s": round(cpu, 2), "units_span_s": round(span, 2),
               "cores_used": round(cpu / span, 2) if span > 0 else None}
        if ray:
            out.update(startup_s=round(self.best_info.get("executor_startup_s", 0.0), 2),
                       shutdown_s=round(self.best_info.get("executor_shutdown_s", 0.0), 2),
                       workers=_worker_use(timings))
        return out


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _worker_use(timings: list[dict]) -> dict:
    """Per worker process: units run, their wall and CPU seconds, and the busy fraction of the span between the
    first unit's start and the last unit's end over all workers.
    """
    if not timings:
        return {}
    t0 = min(u["started"] for u in timings)
    t1 = max(u["started"] + u["seconds"] for u in timings)
    span = max(t1 - t0, 1e-9)
    out = {}
    for pid in sorted({u["pid"] for u in timings}):
        mine = [u for u in timings if u["pid"] == pid]
        wall = sum(u["seconds"] for u in mine)
        out[str(pid)] = {"units": len(mine), "wall_s": round(wall, 2),
                         "cpu_s": round(sum(u["cpu_seconds"] for u in mine), 2), "busy": round(wall / span, 3)}
    return out


def _torch_default_threads() -> int:
    import torch

    return torch.get_num_threads()


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


def _timed(root: Path, cache: Path, out: Path, subjects: str, epochs: int, batch_size: int, workers: int,
           threads: int | None = None):
    """Run ``eegaffect bench seed`` as its own process; (wall seconds, run.json, result rows, load averages)."""
    cmd = [sys.executable, "-m", "eegaffect", "--log-level", "warning", "bench", "seed", "--root", str(root),
           "--out", str(out), "--cache", str(cache), "--models", ",".join(MODELS), "--subjects", subjects,
           "--no-plots", "--workers", str(workers)]
    for model in MODELS:
        cmd += ["--set", f"model_params.{model}.epochs={epochs}",
                "--set", f"model_params.{model}.batch_size={batch_size}"]
    env = dict(os.environ, EEGAFFECT_PROGRESS="0")
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(cmd[:8])} ... exited with {proc.returncode}:\n{tail}")
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    rows = json.loads((out / "results.json").read_text(encoding="utf-8"))["rows"]
    return wall, run, rows, (load, os.getloadavg()[0])


class _Keep:
    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    def __exit__(self, *exc) -> bool:
        return False

