"""Which schema validates each packaged config (``configs/{name}.yaml``).

Values are zero-argument callables returning the schema class, so importing this module stays light.
"""

from __future__ import annotations

from typing import Callable

from eegaffect.config import ConfigModel


def _pipeline() -> type[ConfigModel]:
    from eegaffect.pipeline import PipelineConfig

    return PipelineConfig


#: config name -> callable returning its schema class.
SCHEMAS: dict[str, Callable[[], type[ConfigModel]]] = {
    "pipeline": _pipeline,
    "live": lambda: __import__("eegaffect.live.session", fromlist=["LiveConfig"]).LiveConfig,
    "calibrate": lambda: __import__("eegaffect.calibration", fromlist=["CalibrateConfig"]).CalibrateConfig,
    "demo": lambda: __import__("eegaffect.live.demo", fromlist=["DemoConfig"]).DemoConfig,
    "synth_seed": lambda: __import__("eegaffect.datasets.synth", fromlist=["SynthSeedConfig"]).SynthSeedConfig,
    "train": lambda: __import__("eegaffect.models.training", fromlist=["TrainConfig"]).TrainConfig,
    "bench_model": lambda: __import__("eegaffect.commands.bench_model", fromlist=["BenchModelConfig"]).BenchModelConfig,
    "bench_seed": lambda: __import__("eegaffect.benchmark.runner", fromlist=["BenchSeedConfig"]).BenchSeedConfig,
    "labels": lambda: __import__("eegaffect.datasets.labels", fromlist=["LabelMapConfig"]).LabelMapConfig,
    "acquisition": lambda: __import__("eegaffect.acquisition_config", fromlist=["AcquisitionConfig"]).AcquisitionConfig,
    "teacher": lambda: __import__("eegaffect.distill.teacher", fromlist=["TeacherConfig"]).TeacherConfig,
    "distil": lambda: __import__("eegaffect.distill.student", fromlist=["DistilConfig"]).DistilConfig,
    "bench_kernels": lambda: __import__("eegaffect.commands.bench_kernels", fromlist=["BenchKernelsConfig"]).BenchKernelsConfig,
}
