"""Benchmark models that misbehave on purpose, for the Ray execution tests (importable by Ray workers: the tests
put this folder on the workers' PYTHONPATH).

- ``sleep-once``: the first fit of the whole run writes its process id to ``pid_file`` and sleeps until the test
  kills that process; every later fit (Ray's retry included) is a plain ridge regression and records its pid.
- ``always-fails``: every fit raises.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from eegaffect.benchmark.baselines import SklearnFeatureModel
from eegaffect.benchmark.interface import register_model


class SleepOnceRidge(SklearnFeatureModel):
    """Ridge regression whose first fit (across all processes) blocks until its process is killed."""

    def __init__(self, marker: str, pid_file: str, attempts_dir: str):
        super().__init__("sleep-once", "ridge", alpha=10.0)
        self.marker, self.pid_file, self.attempts_dir = marker, pid_file, attempts_dir

    def fit(self, train, *, seed: int) -> None:
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            (Path(self.attempts_dir) / f"fit-{os.getpid()}-{time.monotonic_ns()}").write_text("")
            super().fit(train, seed=seed)
            return
        os.close(fd)
        tmp = Path(self.pid_file + ".tmp")
        tmp.write_text(str(os.getpid()))
        tmp.replace(self.pid_file)
        time.sleep(120)  # the test kills this process long before
        raise RuntimeError("sleep-once: the test did not kill this worker")


class AlwaysFails(SklearnFeatureModel):
    """A model whose fit always raises."""

    def __init__(self):
        super().__init__("always-fails", "ridge")

    def fit(self, train, *, seed: int) -> None:
        raise RuntimeError("always-fails: deliberate failure for the test")


register_model("sleep-once", lambda **kw: SleepOnceRidge(**kw), overwrite=True)
register_model("always-fails", lambda **kw: AlwaysFails(**kw), overwrite=True)
