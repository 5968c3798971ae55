"""Physiological signals (ECG, PPG/BVP, EDA, respiration, skin temperature, EMG): the configuration
(:class:`PhysioConfig`, ``configs/physio.yaml``), the per-stream signal path (:class:`PhysioPipeline`) whose
features share the EEG pipeline's frame clock, and the figure of one recording (:mod:`eegaffect.physio.figure`). The
stages themselves are kernels (``eegaffect.kernels.heart`` and the other modules named in
:data:`eegaffect.kernels.physio_base.STAGE_MODULES`)."""

from eegaffect.physio.config import KINDS, FrameConfig, PhysioConfig, StageConfig
from eegaffect.physio.pipeline import PhysioPipeline, PhysioResult, StageUnavailableError, load_stage_class

__all__ = ["KINDS", "FrameConfig", "PhysioConfig", "StageConfig", "PhysioPipeline", "PhysioResult",
           "StageUnavailableError", "load_stage_class"]
