"""The demo model's recipe: a small chain trained on simulated sessions of one simulated person.

:func:`train_demo_bundle` is what ``eegaffect demo`` trains (and caches, see :mod:`eegaffect.live.demo`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from eegaffect._progress import progress
from eegaffect.models.config import FusionConfig, SACConfig, TrainConfig, TransformerConfig, VQVAEConfig
from eegaffect.models.data import Sequences
from eegaffect.models.fit import train_and_save
from eegaffect.models.fusion import PHYSIO_KINDS

__all__ = ["DEMO_RECIPE", "DEMO_PHYSIO_LOOKBACKS", "DEMO_EEG_PASS_OUTPUTS", "DEMO_FUSED_KINDS", "demo_sessions",
           "train_demo_bundle", "demo_config"]


#: Recipe of :func:`train_demo_bundle` (part of the demo cache key: change it and cached demo bundles retrain).
#: ``targets`` names the frame/target pairing rule (:func:`eegaffect.targets.frame_targets` at the window end),
#: so bundles trained with the old window-centre targets are not reused; ``chain`` names the chain's design (since
#: issue 18: heads on the continuous latent, no quantiser, no masked pretraining, no SAC, 2-s output smoothing),
#: so older bundles retrain.
DEMO_RECIPE = {"sfreq": 200.0, "n_sessions": 8, "session_s": 120.0, "trial_s": 60.0, "session_seed_step": 1000,
               "targets": "window-end", "chain": "issue18-continuous-heads-smooth2s-no-vq-no-mask-no-sac"}


#: Physiological stages of the fused demo: heart rate over the last 3 s (a few beats) and the skin-conductance level
#: and its slope over the last 3 s instead of 60 s. The simulated level follows arousal with a 10-s time constant
#: and the packaged 60-s (then 10-s) windows added their own delay, so the fused arousal came ~10 s late; heart rate
#: over a few beats and the level's slope react at once (docs/fusion.md, "The demo's fused recipe"). Only these
#: features are computed (``features``): the others of the stages (HRV, SCR rate and amplitudes) are never finite
#: over 3 s and were always-masked inputs.
DEMO_PHYSIO_LOOKBACKS = {"ecg": {"lookback_s": 3.0, "features": ["hr_mean_bpm"]},
                         "ppg": {"lookback_s": 3.0, "features": ["hr_mean_bpm"]},
                         "eda": {"lookback_s": 3.0, "params": {"slope": True}, "features": ["scl", "scl_slope"]}}

#: Outputs the fused demo bundle takes from its EEG pass (``fusion.eeg_pass_outputs``: every physiological kind
#: missing; :mod:`eegaffect.models.fusion`, "Per-output routing"): the simulated physiology carries arousal, not
#: valence, and with it in the sum the fused valence readout loses what the EEG pass keeps.
DEMO_EEG_PASS_OUTPUTS: tuple[str, ...] = ("valence",)

#: Physiological kinds the fused demo recipe fuses, of the session's devices (the others are read and shown only):
#: not respiration (its rate needs >= 20 s of signal, a delay the arousal output cannot afford) nor temperature
#: (a 60-s time constant).
DEMO_FUSED_KINDS: tuple[str, ...] = ("ecg", "ppg", "eda")


def demo_sessions(seed: int = 0, n_sessions: int = DEMO_RECIPE["n_sessions"]) -> list[int]:
    """Seeds of the simulated sessions the demo model trains on: ``seed`` and ``seed + 1000 k``.

    The demo headset streams session ``seed + 1`` of the same person, which is never one of these.
    """
    step = DEMO_RECIPE["session_seed_step"]
    return [int(seed)] + [int(seed) + step * k for k in range(1, n_sessions)]


def train_demo_bundle(out_dir: str | Path, seed: int = 0, progress: bool = True,
                      n_sessions: int = DEMO_RECIPE["n_sessions"],
                      session_s: float = DEMO_RECIPE["session_s"], physio: Sequence[str] = ()) -> Path:
    """Train a small demo bundle on the simulated headset (SEED 62 ch @ 200 Hz), in well under 2 minutes.

    The simulator (:class:`eegaffect.acquisition.simulator.SimulatedEEG`) generates ``n_sessions`` sessions of
    ``session_s`` seconds of simulated person ``seed`` (session seeds from :func:`demo_sessions`), each with its own
    seeded random-walk valence/arousal trajectory, electrode gains, noise and artifacts; each is cut into 60-s
    pseudo-trials, featurised through :class:`~eegaffect.pipeline.SignalPipeline` (the live path) and a small chain
    is trained on them (:func:`demo_config`). Several short sessions instead of one long one: trained on a single
    session the model learns that session's trajectory and electrode gains and its output on a new session
    collapses to a near-constant value (valence CCC ~0 on the demo's stream).

    Parameters
    ----------
    out_dir : str | Path
        Bundle directory.
    seed : int
        Seed of the simulated person, the sessions and the training.
    progress : bool
        Show progress bars.
    n_sessions : int
        Simulated sessions.
    session_s : float
        Seconds per session (at least one 60-s pseudo-trial).
    physio : sequence of str
        Physiological kinds of a fused demo bundle (e.g. ``("ecg", "eda", "resp")``; :mod:`eegaffect.models.fusion`):
        the same sessions' simulated physiology (:func:`~eegaffect.models.fused_data.simulated_sequences`, the
        person's devices at their default rates, the physiological features of the live path) is fused with the
        EEG. Each session is then featurised whole, as a live session runs, and cut into the pseudo-trials.
        Empty: the EEG-only demo bundle, as before.

    Returns
    -------
    out_dir : Path
    """
    if n_sessions < 1:
        raise ValueError(f"n_sessions must be >= 1, got {n_sessions}")
    if not session_s >= DEMO_RECIPE["trial_s"]:
        raise ValueError(f"session_s must be at least one {DEMO_RECIPE['trial_s']:g}-s trial, got {session_s}")
    config = demo_config(seed, physio)
    if physio:
        from eegaffect.models.fused_data import simulated_sequences

        train = simulated_sequences(demo_sessions(int(seed), int(n_sessions)), int(seed), config,
                                    kinds=list(config.fusion.physio), ch_names=_seed_channels(),
                                    sfreq=DEMO_RECIPE["sfreq"], session_s=float(session_s),
                                    trial_s=DEMO_RECIPE["trial_s"], progress_bar=progress)
    else:
        train = _demo_sequences(int(seed), int(n_sessions), float(session_s), config, progress)
    meta = {"ch_names": list(_seed_channels()), "sfreq": DEMO_RECIPE["sfreq"], "class_names": [], "unit": "V"}
    return train_and_save(train, meta, config, Path(out_dir), "all", False, progress)


def _seed_channels() -> list[str]:
    from eegaffect.acquisition.channels import SEED_CHANNELS

    return list(SEED_CHANNELS)


def _demo_sequences(seed: int, n_sessions: int, session_s: float, config: TrainConfig, progress_bar: bool):
    from eegaffect.acquisition.simulator import SimulatedEEG
    from eegaffect.pipeline import SignalPipeline
    from eegaffect.targets import frame_targets, sample_times

    sfreq = DEMO_RECIPE["sfreq"]
    ch_names = _seed_channels()
    per = int(DEMO_RECIPE["trial_s"] * sfreq)
    feats, vas = [], []
    sessions = demo_sessions(seed, n_sessions)
    for session in progress(sessions, desc="simulate", unit="session", leave=False) if progress_bar else sessions:
        eeg, va = SimulatedEEG(ch_names, sfreq, seed=session, subject=seed).generate(int(session_s * sfreq))
        for k in range(0, eeg.shape[0] - per + 1, per):
            pipe = SignalPipeline(config.pipeline, n_chans=len(ch_names), sfreq_in=sfreq)
            f = pipe.process(eeg[k:k + per])
            feats.append(np.asarray(f))
            # the simulated truth of every sample from the pseudo-trial's start on, at each frame's end time
            vas.append(frame_targets(pipe.frame_times(len(f)), sample_times(len(va) - k, sfreq), va[k:]))
    return Sequences(feats, vas)


def demo_config(seed: int = 0, physio: Sequence[str] = ()) -> TrainConfig:
    """The small, fast config of :func:`train_demo_bundle` (``physio``: the fused demo's kinds)."""
    unknown = [k for k in physio if k not in PHYSIO_KINDS]
    if unknown:
        raise ValueError(f"unknown physiological kinds {unknown}; expected some of {list(PHYSIO_KINDS)}")
    return TrainConfig(seed=seed, device="cpu", vqvae=VQVAEConfig(steps=120, n_codes=16, batch_size=8),
                       transformer=TransformerConfig(pretrain_steps=60, finetune_steps=200, batch_size=8,
                                                     class_head=False),
                       sac=SACConfig(total_steps=600, learning_starts=100, net_arch=[32, 32]),
                       fusion=FusionConfig(physio=list(physio),
                                           physio_config=DEMO_PHYSIO_LOOKBACKS if physio else {},
                                           eeg_pass_outputs=list(DEMO_EEG_PASS_OUTPUTS) if physio else []))

