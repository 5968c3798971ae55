"""The simulated headset: synthetic EEG whose band powers follow a valence/arousal trajectory, streamed over LSL.

- :mod:`~eegaffect.acquisition.sim.trajectories`: valence/arousal trajectories (:class:`Trajectory`,
  :func:`random_walk_trajectory`, :func:`scripted_trajectory`, :func:`trajectory_from_csv`);
- :mod:`~eegaffect.acquisition.sim.sources`: the source/effect model (:data:`RHYTHM_SOURCES` and their affect
  effects, :class:`SubjectTraits`, :class:`SessionTraits`), with the model's description and references;
- :mod:`~eegaffect.acquisition.sim.generator`: :class:`SimulatedEEG`, the streaming, deterministic generator;
- :mod:`~eegaffect.acquisition.sim.headset`: :class:`SimulatedHeadset`, which pushes a generator's EEG and its
  ground truth on two LSL outlets (a :class:`~eegaffect.acquisition.pusher.PacedPusher`, as the players are);
- :mod:`~eegaffect.acquisition.sim.physiology`: ECG, PPG, EDA, respiration, skin temperature and EMG driven by
  the same valence/arousal trajectory (:func:`simulate_physiology`, its coupling table and sources);
- :mod:`~eegaffect.acquisition.sim.devices`: :class:`SimulatedPerson`, the headset plus one outlet per
  physiological device (:class:`DeviceSpec`: rate, content type, clock offset and drift, dropouts).

Electrode positions live beside the channel tables (:func:`~eegaffect.acquisition.channels.electrode_positions`).
"""

from __future__ import annotations

from eegaffect.acquisition.channels import electrode_positions
from eegaffect.acquisition.sim.devices import PHYSIO_DEVICES, DeviceSpec, SimulatedPerson
from eegaffect.acquisition.sim.generator import SimulatedEEG
from eegaffect.acquisition.sim.headset import TRUTH_CHANNELS, TRUTH_TYPE, EEGSource, SimulatedHeadset
from eegaffect.acquisition.sim.sources import RHYTHM_SOURCES, RhythmSource, SessionTraits, SubjectTraits
from eegaffect.acquisition.sim.trajectories import (
                                                    RandomWalkTrajectory,
                                                    Trajectory,
                                                    random_walk_trajectory,
                                                    scripted_trajectory,
                                                    trajectory_from_csv,
)

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
    "SimulatedHeadset",
    "EEGSource",
    "TRUTH_TYPE",
    "TRUTH_CHANNELS",
    "SimulatedPerson",
    "DeviceSpec",
    "PHYSIO_DEVICES",
]
