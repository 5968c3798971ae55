"""Which schema validates each packaged config (``configs/{name}.yaml``).

Every schema lives next to its domain in a light module (pydantic and numpy, never torch), so this module
imports them directly and validating any config never loads a model library (``tests/test_config.py`` checks it).
"""

from __future__ import annotations

from eegaffect.acquisition_config import AcquisitionConfig
from eegaffect.benchmark.runner import BenchSeedConfig
from eegaffect.calibration import CalibrateConfig
from eegaffect.config import ConfigModel
from eegaffect.datasets.labels import LabelMapConfig
from eegaffect.datasets.synth import SynthSeedConfig
from eegaffect.distill.config import DistilConfig, TeacherConfig
from eegaffect.live.demo import DemoConfig
from eegaffect.live.session import LiveConfig
from eegaffect.models.config import TrainConfig
from eegaffect.perf.kernels import BenchKernelsConfig
from eegaffect.perf.model import BenchModelConfig
from eegaffect.perf.scale import BenchScaleConfig
from eegaffect.physio.config import PhysioConfig
from eegaffect.pipeline import PipelineConfig

__all__ = ["SCHEMAS"]

#: config name -> its schema class.
SCHEMAS: dict[str, type[ConfigModel]] = {
    "pipeline": PipelineConfig,
    "live": LiveConfig,
    "calibrate": CalibrateConfig,
    "demo": DemoConfig,
    "synth_seed": SynthSeedConfig,
    "train": TrainConfig,
    "bench_model": BenchModelConfig,
    "bench_scale": BenchScaleConfig,
    "bench_seed": BenchSeedConfig,
    "labels": LabelMapConfig,
    "acquisition": AcquisitionConfig,
    "teacher": TeacherConfig,
    "distil": DistilConfig,
    "physio": PhysioConfig,
    "bench_kernels": BenchKernelsConfig,
}
