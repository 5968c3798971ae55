"""Executors of benchmark units: in this process one after the other, or as tasks on Ray (local or a cluster).

:func:`make_executor` picks one from :class:`Execution` (what ``--workers``, ``--address`` and ``--cache`` say):

============================ ==================================================================================
``--workers 1`` (default)     :class:`SequentialExecutor`: the units run here, in order (no Ray involved)
``--workers N`` (N > 1)       :class:`RayExecutor` on a local Ray instance with N CPUs that it starts and stops
``--address HOST:PORT|ray://`` :class:`RayExecutor` on an existing cluster (it connects and disconnects only)
============================ ==================================================================================

With ``--workers N`` or ``--address``, if this process is already connected to Ray (``ray.init`` called before),
that instance is used and left running.

Where the features come from on Ray: with a local instance, or a cluster and ``--cache DIR`` (a folder every node
can read), each worker reads its trials from the HDF5 feature cache; on a cluster without ``--cache``, the driver
puts the features once into Ray's object store and every task receives a reference (each node fetches them once).

A local instance runs its workers at the command's own priority (Ray's default would lower them to nice 15, so
on a busy machine the Ray run would get a fraction of the CPU the one-process run gets); a cluster keeps its own
setting.

Each unit is a Ray task declaring its resources (``cpus_per_unit`` CPUs, and ``gpus_per_unit`` GPUs for models
that train on a GPU, when the cluster has GPUs); torch uses ``cpus_per_unit`` threads inside it (and Ray sets
``OMP_NUM_THREADS`` to the same), so N workers never oversubscribe the cores. A worker that dies (killed, out of
memory) is retried by Ray (``max_retries``); a unit that raises is not retried: it comes back as failed with its
traceback, and the others go on.

Results reach the caller through ``on_outcome(outcome)`` as each unit finishes (the runner writes them to disk
there, atomically), so a crash loses at most the units that were running.

What a unit is comes from the caller: ``run(..., fn=...)`` runs ``fn(spec, context)`` per unit, by default
:func:`~eegaffect.benchmark.units.run_unit` (``bench seed``); ``bench run`` passes
:func:`~eegaffect.benchmark.multimodal.run_multimodal_unit`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

from eegaffect._logging import logger
from eegaffect.benchmark.units import UnitContext, UnitOutcome, UnitSpec, run_unit, wants_gpu

__all__ = ["Execution", "SequentialExecutor", "RayExecutor", "make_executor", "UnitProgress", "UnitFn", "note_outcome"]

DataMode = Literal["auto", "files", "object-store"]
#: What runs one unit: ``fn(spec, context) -> UnitOutcome``, never raising (a module-level function, so Ray workers
#: import it by name). :func:`~eegaffect.benchmark.units.run_unit` for ``bench seed``.
UnitFn = Callable[[Any, Any], UnitOutcome]


@dataclass(frozen=True)
class Execution:
    """How to run a benchmark's units.

    Attributes
    ----------
    workers : int
        1 runs in this process; N > 1 starts a local Ray instance with N CPUs (ignored with ``address``).
    address : str | None
        An existing Ray cluster (``HOST:PORT`` or ``ray://HOST:PORT``), or None.
    data : {"auto", "files", "object-store"}
        How workers get the features: ``files`` read the feature cache (it must be on a path every worker can
        read), ``object-store`` ships them through Ray's object store; ``auto`` reads files locally and on a
        cluster when a shared cache folder was given (``shared_cache``), else ships them.
    shared_cache : bool
        Whether the cache folder was given explicitly (``--cache``), i.e. is meant to be shared by the nodes.
    cpus_per_unit : float
        CPUs each unit declares (and torch threads inside it, rounded, at least 1).
    gpus_per_unit : float
        GPUs each unit of a model that trains on a GPU (:func:`~eegaffect.benchmark.units.wants_gpu`) declares
        when the cluster has GPUs (0: never ask for one).
    max_retries : int
        Retries of a unit whose worker process died.
    """

    workers: int = 1
    address: str | None = None
    data: DataMode = "auto"
    shared_cache: bool = False
    cpus_per_unit: float = 1.0
    gpus_per_unit: float = 1.0
    max_retries: int = 3

    def __post_init__(self) -> None:
        if not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be an integer >= 1, got {self.workers!r}")
        if self.address is not None and (not isinstance(self.address, str) or not self.address.strip()):
            raise ValueError(f"address must be HOST:PORT or ray://HOST:PORT, got {self.address!r}")
        if self.data not in ("auto", "files", "object-store"):
            raise ValueError(f"data must be 'auto', 'files' or 'object-store', got {self.data!r}")
        if self.cpus_per_unit <= 0 or self.gpus_per_unit < 0 or self.max_retries < 0:
            raise ValueError(f"expected cpus_per_unit > 0, gpus_per_unit >= 0, max_retries >= 0, got "
                             f"{self.cpus_per_unit}, {self.gpus_per_unit}, {self.max_retries}")

    @property
    def uses_ray(self) -> bool:
        """Whether the units run as Ray tasks."""
        return self.address is not None or self.workers > 1

    def ships_arrays(self) -> bool:
        """Whether the features go through Ray's object store (else workers read the cache files)."""
        if self.data != "auto":
            return self.data == "object-store"
        return self.address is not None and not self.shared_cache


class UnitProgress:
    """One progress bar over all units: done / running / failed.

    Parameters
    ----------
    total : int
        Units of the run (finished ones from an earlier run included).
    done : int
        Units already finished before this run.
    desc : str
        Bar label.
    show : bool
        Show the bar (else only count).
    """

    def __init__(self, total: int, done: int = 0, desc: str = "units", show: bool = True):
        from eegaffect._progress import progress

        self.done, self.running, self.failed = done, 0, 0
        self.bar = progress(total=total, desc=desc, unit="unit") if show else None
        if self.bar is not None:
            self.bar.update(done)
            self._postfix()

    def set_running(self, n: int) -> None:
        """Show ``n`` units as running now."""
        self.running = n
        self._postfix()

    def finished(self, failed: bool) -> None:
        """Count one more unit as done (and as failed when ``failed``)."""
        self.done += 1
        self.failed += int(failed)
        if self.bar is not None:
            self.bar.update(1)
        self._postfix()

    def _postfix(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"running {self.running}, failed {self.failed}", refresh=False)

    def close(self) -> None:
        """Close the progress bar."""
        if self.bar is not None:
            self.bar.close()


class SequentialExecutor:
    """Run the units in this process, one after the other (``--workers 1``)."""

    name = "sequential"

    def __enter__(self) -> "SequentialExecutor":
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def prepare(self, context: UnitContext) -> UnitContext:
        """The context as the units will see it (unchanged here)."""
        return context

    def run(self, specs: Sequence[UnitSpec], context: UnitContext, on_outcome: Callable[[UnitOutcome], None],
            progress: UnitProgress, fn: UnitFn = run_unit) -> None:
        """Run every unit (``fn(spec, context)``) and hand each outcome to ``on_outcome`` as soon as it is ready."""
        for spec in specs:
            progress.set_running(1)
            outcome = fn(spec, context)
            progress.set_running(0)
            on_outcome(outcome)
            progress.finished(outcome.failed)


class RayExecutor:
    """Run the units as Ray tasks, on a local instance it starts or on an existing cluster.

    Use as a context manager: entering connects to (or starts) Ray, leaving shuts down what it started.

    Parameters
    ----------
    execution : Execution
        Workers, address, resources per unit and retries.
    """

    name = "ray"

    def __init__(self, execution: Execution):
        self.execution = execution
        self.started_here = False
        self.startup_s = 0.0
        self.shutdown_s = 0.0
        self._context_ref = None

    # -- lifetime ------------------------------------------------------------------------------------------------
    def __enter__(self) -> "RayExecutor":
        ray = _import_ray()
        t0 = time.perf_counter()
        if ray.is_initialized():
            logger.info("ray: using the Ray instance this process is already connected to")
        elif self.execution.address is not None:
            logger.info("ray: connecting to the cluster at %s", self.execution.address)
            _use_token_auth_if_available()
            try:
                ray.init(address=self.execution.address, logging_level=logging.WARNING)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                from eegaffect.errors import UserInputError

                raise UserInputError(f"--address {self.execution.address}: could not connect to a Ray cluster "
                                     f"({exc}); start one with 'ray start --head' and give its address (a cluster "
                                     f"with token authentication also needs its token here: ~/.ray/auth_token or "
                                     f"RAY_AUTH_TOKEN)") from exc
            self.started_here = True
        else:
            logger.info("ray: starting a local instance with %d CPUs", self.execution.workers)
            # address="local": a new instance even when a cluster runs on this machine (ray.init() would join it).
            # worker_niceness 0: Ray starts its workers at nice 15 by default (to keep a cluster's own daemons
            # responsive); here they are this command's workers, so they run at its priority, as its units would
            # in one process (at nice 15 a busy machine gives them a fraction of what it gives the command itself)
            ray.init(address="local", num_cpus=self.execution.workers, include_dashboard=False,
                     logging_level=logging.WARNING, configure_logging=True, log_to_driver=True,
                     _system_config={"worker_niceness": 0})
            self.started_here = True
        self.startup_s = time.perf_counter() - t0
        return self

    def __exit__(self, *exc) -> bool:
        self._context_ref = None
        if self.started_here:
            t0 = time.perf_counter()
            _import_ray().shutdown()
            self.shutdown_s = time.perf_counter() - t0
            self.started_here = False
        return False

    # -- running -------------------------------------------------------------------------------------------------
    def prepare(self, context: UnitContext) -> UnitContext:
        """Put the run's shared data into the object store once (the features too in ``object-store`` mode)."""
        self._context_ref = _import_ray().put(context)
        return context

    def run(self, specs: Sequence[UnitSpec], context: UnitContext, on_outcome: Callable[[UnitOutcome], None],
            progress: UnitProgress, fn: UnitFn = run_unit) -> None:
        """Submit the units as tasks ``fn(spec, context)`` (at most as many as can run at once, so ``running`` is
        honest and the object store holds few pending tasks) and hand each outcome to ``on_outcome`` as it finishes.
        """
        ray = _import_ray()
        if self._context_ref is None:
            self.prepare(context)
        has_gpu = ray.cluster_resources().get("GPU", 0) > 0
        task = ray.remote(fn)  # a module-level function: workers import it (``context`` arrives resolved)
        pending = list(specs)[::-1]
        running: dict = {}
        while pending or running:
            slots = self._slots()
            while pending and len(running) < slots:
                spec = pending.pop()
                gpus = self.execution.gpus_per_unit if has_gpu and wants_gpu(getattr(spec, "model", None)) else 0
                ref = task.options(num_cpus=self.execution.cpus_per_unit, num_gpus=gpus,
                                   max_retries=self.execution.max_retries, retry_exceptions=False,
                                   name=f"eegaffect-unit:{spec.unit.key}").remote(spec, self._context_ref)
                running[ref] = spec
            progress.set_running(len(running))
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in ready:
                spec = running.pop(ref)
                outcome = _collect(ray, ref, spec)
                on_outcome(outcome)
                progress.finished(outcome.failed)
            progress.set_running(len(running))

    def _slots(self) -> int:
        cpus = _import_ray().cluster_resources().get("CPU", 1.0)
        return max(1, int(cpus // self.execution.cpus_per_unit))


def note_outcome(result, outcome, log: logging.Logger) -> bool:
    """Record one finished unit's timing in ``result.unit_timings`` and, when it failed, log its traceback once
    and list it in ``result.failed``.

    Parameters
    ----------
    result : object
        A run result with ``unit_timings`` and ``failed`` lists (``BenchmarkResult``, ``MultimodalResult``).
    outcome : UnitOutcome
        The unit's outcome.
    log : logging.Logger
        Where the failure goes.

    Returns
    -------
    ok : bool
        False when the unit failed (the caller stores nothing for it).
    """
    result.unit_timings.append({"unit": outcome.unit.key, "started": round(outcome.started, 3),
                                "seconds": round(outcome.seconds, 3), "cpu_seconds": round(outcome.cpu_seconds, 3),
                                "nice": outcome.niceness, "pid": outcome.pid, "host": outcome.host,
                                "failed": outcome.failed})
    if outcome.failed:
        log.error("unit %s failed (pid %d on %s), the others go on:\n%s", outcome.unit.key, outcome.pid,
                  outcome.host or "?", outcome.error.rstrip())
        result.failed.append({"model": outcome.unit.model, "fold": outcome.unit.fold, "seed": outcome.unit.seed,
                              "error": outcome.error.strip().splitlines()[-1]})
    return not outcome.failed


def make_executor(execution: Execution | None) -> SequentialExecutor | RayExecutor:
    """The executor for ``execution`` (None: sequential)."""
    if execution is None or not execution.uses_ray:
        return SequentialExecutor()
    return RayExecutor(execution)


# ----------------------------------------------------------------------------------------------------------------
def _collect(ray, ref, spec: UnitSpec) -> UnitOutcome:
    """The outcome of a finished task; a task Ray gave up on (worker died more than ``max_retries`` times, node
    lost) becomes a failed outcome too.
    """
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        return UnitOutcome(spec.unit, None, {}, f"{type(exc).__name__}: {exc}")


def _use_token_auth_if_available() -> None:
    """Connect with Ray's token authentication when this machine holds a token and the mode is not set.

    ``ray start`` turns token authentication on by default (Ray >= 2.5x) and keeps the token in
    ``~/.ray/auth_token``; a driver connecting by address sends it only in token mode. This does what Ray's own CLI
    does before connecting (Ray's helper when this Ray has it, else ``RAY_AUTH_MODE=token`` before Ray reads its
    config). An explicit ``RAY_AUTH_MODE`` is left alone.
    """
    import os
    from pathlib import Path

    if "RAY_AUTH_MODE" in os.environ:
        return
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # pragma: no cover - a Ray without token authentication
        token = Path(os.environ.get("RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token"))
        if os.environ.get("RAY_AUTH_TOKEN") or token.is_file():
            os.environ["RAY_AUTH_MODE"] = "token"
        return
    if maybe_enable_token_auth_if_token_available(warn_if_disabled=False):
        logger.debug("ray: connecting with token authentication")


def _import_ray():
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - ray is a dependency
        raise ImportError("running benchmark units on Ray needs the 'ray[tune]' package: pip install 'ray[tune]'") \
            from exc
    return ray
