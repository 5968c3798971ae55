"""The simulated headset's signal generator; moved to :mod:`eegaffect.acquisition.sim` (this module re-exports it).

The generator is :mod:`eegaffect.acquisition.sim.generator`, its source/effect model
:mod:`eegaffect.acquisition.sim.sources`, the trajectories :mod:`eegaffect.acquisition.sim.trajectories`, and the
electrode positions :func:`eegaffect.acquisition.channels.electrode_positions`.
"""

from __future__ import annotations

from eegaffect.acquisition.channels import electrode_positions
from eegaffect.acquisition.sim.generator import SimulatedEEG
from eegaffect.acquisition.sim.sources import RHYTHM_SOURCES, RhythmSource, SessionTraits, SubjectTraits
from eegaffect.acquisition.sim.trajectories import (RandomWalkTrajectory, Trajectory, random_walk_trajectory,
                                                    scripted_trajectory, trajectory_from_csv)

__all__ = [
    "RhythmSource",
    "RHYTHM_SOURCES",
    "SubjectTraits",
    "SessionTraits",
    "SimulatedEEG",
    "Trajectory",
    "RandomWalkTrajectory",
    "random_walk_trajectory",
    "scripted_trajectory",
    "trajectory_from_csv",
    "electrode_positions",
]
