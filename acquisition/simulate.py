"""The simulated headset's LSL side; moved to :mod:`eegaffect.acquisition.sim` (this module re-exports it)."""

from __future__ import annotations

from eegaffect.acquisition.sim.headset import TRUTH_CHANNELS, TRUTH_TYPE, EEGSource, SimulatedHeadset

__all__ = ["SimulatedHeadset", "EEGSource", "TRUTH_TYPE", "TRUTH_CHANNELS"]
