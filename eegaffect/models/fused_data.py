"""Training sequences for the fused model: EEG feature frames, physiological frames paired with them by the
as-of rule, and per-frame valence/arousal targets, from the simulated person, a DEAP-layout dataset, or any
multimodal dataset trial (:func:`trial_physio`, which ``eegaffect train``'s
:func:`~eegaffect.models.data.load_sequences` uses).

Every frame follows the project's one rule: the EEG pipeline's frames end at
:func:`eegaffect.pipeline.frame_times` (window ends), the targets are taken there
(:func:`eegaffect.targets.frame_targets`), and each physiological kind's frames come from its
:class:`~eegaffect.physio.PhysioPipeline` (the live path's code) on the same frame clock, so row ``j`` of a
kind ends where EEG frame ``j`` ends, as :class:`~eegaffect.live.physio_inputs.PhysioInputs` makes them live. EEG
frame ``k`` then gets the kind's frame ``k - lag`` (:func:`eegaffect.models.fusion.asof_rows`), the frame a live
session has by then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from eegaffect.models.config import TrainConfig
from eegaffect.models.data import Sequences
from eegaffect.models.fusion import asof_lag, asof_rows

__all__ = ["physio_frames", "paired_physio", "check_trial_kinds", "trial_signals", "trial_physio",
           "simulated_sequences", "deap_sequences"]


def physio_frames(kind: str, x: np.ndarray, sfreq: float, config: TrainConfig):
    """Frames of one physiological signal on the EEG frame clock.

    Parameters
    ----------
    kind : str
        Signal kind.
    x : ndarray, shape (n_times,)
        The signal, starting with the EEG.
    sfreq : float
        Its rate.
    config : TrainConfig
        ``pipeline.features`` (the frame clock) and ``fusion.physio_config`` (the stages).

    Returns
    -------
    frames : ndarray, shape (n_frames, n_features)
    meta : dict
        ``feature_names``, ``sfreq``, ``decision_delay_s`` and ``lag`` (frames of the as-of rule).
    """
    from eegaffect.physio import PhysioPipeline

    f = config.pipeline.features
    pipe = PhysioPipeline(config.fusion.physio_pipeline_config(f.window_s, f.hop_s), kind, float(sfreq))
    delay_s = pipe.decision_delay / pipe.sfreq
    frames = pipe.process(np.asarray(x, np.float64).reshape(-1))
    return frames, {"feature_names": list(pipe.feature_names), "sfreq": float(sfreq), "decision_delay_s": delay_s,
                    "lag": asof_lag(delay_s, f.hop_s, config.fusion.asof_margin_s)}


def paired_physio(signals: Mapping[str, tuple[np.ndarray, float]], n_steps: int, config: TrainConfig):
    """Per kind, the physiological frame each of ``n_steps`` EEG frames uses (as-of rule), and the kinds' meta.

    Parameters
    ----------
    signals : mapping of str to (ndarray, float)
        Kind -> (samples, rate), each starting with the EEG.
    n_steps : int
        EEG frames.
    config : TrainConfig

    Returns
    -------
    rows : dict of str to ndarray, shape (n_steps, n_features_k)
    meta : dict of str to dict
        See :func:`physio_frames`.
    """
    rows, meta = {}, {}
    for kind, (x, fs) in signals.items():
        frames, meta[kind] = physio_frames(kind, x, fs, config)
        rows[kind] = asof_rows(frames, n_steps, meta[kind]["lag"])
    return rows, meta


def check_trial_kinds(trial, kinds: Sequence[str], where: str = "") -> None:
    """Check, from a dataset trial's metadata only, that it has a signal of each of ``kinds``.

    Parameters
    ----------
    trial : eegaffect.datasets.base.Trial
        A trial of a multimodal reader (DEAP, AMIGOS, DREAMER with ``ecg=True``, ...).
    kinds : sequence of str
        Physiological kinds (``fusion.physio``).
    where : str
        How to name the trial in an error (default: its source file and key).

    Raises
    ------
    ConfigError
        When the trial has no signal of a kind, naming the kind, the trial and the kinds it has.
    """
    from eegaffect.config import ConfigError

    where = where or f"{trial.info.source}:{trial.info.key}"
    dataset = trial.info.dataset
    groups_of_kind = getattr(trial, "groups_of_kind", None)
    if groups_of_kind is None:
        raise ConfigError(f"fusion.physio asks for {list(kinds)}, but trial {where} of {dataset} has no "
                          "physiological signals to fuse (EEG only); train fused models on a multimodal dataset "
                          "(deap, amigos) or set fusion.physio: []")
    for kind in kinds:
        if not groups_of_kind(kind):
            has = sorted({g.kind for g in trial.groups.values()} - {"eeg"})
            raise ConfigError(f"fusion.physio asks for {kind!r}, but trial {where} of {dataset} has no {kind} "
                              f"signal (its physiological kinds: {has}); drop {kind!r} from fusion.physio")


def trial_signals(trial, kinds: Sequence[str], where: str = "") -> dict[str, tuple[np.ndarray, float]]:
    """The raw physiological signals of ``kinds`` in a dataset trial: per kind, the first channel of the trial's
    first group of that kind (:meth:`~eegaffect.datasets.multimodal.MultimodalTrial.groups_of_kind`; WESAD's chest
    group before its wrist one), each starting with the EEG (the trial's stimulus part).

    Parameters
    ----------
    trial, kinds, where
        As in :func:`check_trial_kinds` (which raises first when the trial lacks a kind).

    Returns
    -------
    signals : dict of str to (ndarray, float)
        Kind -> (samples ``(n_times,)``, rate in Hz), as :func:`paired_physio` takes them.
    """
    check_trial_kinds(trial, kinds, where)
    signals = {}
    for kind in kinds:
        group = trial.groups_of_kind(kind)[0]
        signals[kind] = (trial.load_group(group.name)[:, 0], float(group.sfreq))
    return signals


def trial_physio(trial, kinds: Sequence[str], n_steps: int, config: TrainConfig, where: str = ""):
    """Per kind, the physiological frame each of the ``n_steps`` EEG frames of a dataset trial uses (as-of rule).

    :func:`trial_signals` then :func:`paired_physio`: the same frame clock and pairing as the live path.

    Returns
    -------
    rows : dict of str to ndarray, shape (n_steps, n_features_k)
    meta : dict of str to dict
        See :func:`physio_frames`.
    """
    return paired_physio(trial_signals(trial, kinds, where), n_steps, config)


def simulated_sequences(sessions: Sequence[int], subject: int, config: TrainConfig, *, kinds: Sequence[str] = (),
                        ch_names: Sequence[str] | None = None, sfreq: float = 200.0, session_s: float = 120.0,
                        trial_s: float = 60.0, rates: Mapping[str, float] | None = None,
                        effect_scale: float = 1.0, progress_bar: bool = False) -> Sequences:
    """Sessions of one simulated person: EEG (:class:`~eegaffect.acquisition.sim.SimulatedEEG`) and physiology
    (:func:`~eegaffect.acquisition.sim.physiology.simulate_physiology`) driven by the session's one trajectory, as
    :class:`~eegaffect.acquisition.sim.devices.SimulatedPerson` streams them live.

    Each session is featurised whole (EEG and every kind; the live pipelines run through a session too) and cut
    into ``trial_s`` pseudo-trials of frames. Targets: the simulated truth at each frame's end.

    Parameters
    ----------
    sessions : sequence of int
        Session seeds (EEG noise, trajectory, physiological noise).
    subject : int
        The person (EEG and physiological traits).
    config : TrainConfig
        Pipeline (frame clock) and fusion settings.
    kinds : sequence of str
        Physiological kinds to simulate (none: EEG-only sequences).
    ch_names : sequence of str | None
        EEG channels (default: SEED's 62).
    sfreq : float
        EEG rate.
    session_s, trial_s : float
        Session and pseudo-trial lengths in seconds.
    rates : mapping of str to float | None
        Device rates (default: the simulated devices', :data:`~eegaffect.acquisition.sim.devices.PHYSIO_DEVICES`).
    effect_scale : float
        Factor on the physiology's affect couplings (0: null control).
    progress_bar : bool
        Show a progress bar.

    Returns
    -------
    sequences : Sequences
    """
    from eegaffect._progress import progress
    from eegaffect.acquisition.channels import SEED_CHANNELS
    from eegaffect.acquisition.sim import SimulatedEEG
    from eegaffect.acquisition.sim.devices import PHYSIO_DEVICES
    from eegaffect.acquisition.sim.physiology import simulate_physiology
    from eegaffect.pipeline import SignalPipeline
    from eegaffect.targets import frame_targets, sample_times

    if trial_s > session_s:
        raise ValueError(f"trial_s ({trial_s}) must not exceed session_s ({session_s})")
    ch_names = list(SEED_CHANNELS if ch_names is None else ch_names)
    hop = config.pipeline.features.hop_s
    per_trial = int(round(trial_s / hop))
    if abs(per_trial * hop - trial_s) > 1e-9:
        raise ValueError(f"trial_s ({trial_s}) must be a whole number of hops ({hop} s)")
    rates = {k: float((rates or {}).get(k, PHYSIO_DEVICES[k][1])) for k in kinds}
    feats, vas, physio, meta = [], [], [], {}
    items = progress(list(sessions), desc="simulate", unit="session", leave=False) if progress_bar else sessions
    for session in items:
        src = SimulatedEEG(ch_names, sfreq, seed=int(session), subject=int(subject))
        n = int(round(session_s * sfreq))
        eeg, va = src.generate(n)
        pipe = SignalPipeline(config.pipeline, n_chans=len(ch_names), sfreq_in=sfreq)
        f = np.asarray(pipe.process(eeg))
        target = frame_targets(pipe.frame_times(len(f)), sample_times(n, sfreq), va)
        rows = {}
        if kinds:
            sig = simulate_physiology(rates, session_s, src.trajectory, seed=int(session), subject=int(subject),
                                      effect_scale=effect_scale)
            rows, meta = paired_physio({k: (sig[k][:, 0], rates[k]) for k in kinds}, len(f), config)
        for a in range(0, len(f) - per_trial + 1, per_trial):
            feats.append(f[a:a + per_trial])
            vas.append(target[a:a + per_trial])
            physio.append({k: r[a:a + per_trial] for k, r in rows.items()})
    return Sequences(feats, vas, physio=physio if kinds else None, physio_meta=meta)


def deap_sequences(root: str | Path, config: TrainConfig, subject: int, *, kinds: Sequence[str] = (),
                   trials: Sequence[int] | None = None) -> tuple[Sequences, list[int]]:
    """One subject of a DEAP-layout dataset (the real one or ``eegaffect datasets synth-deap``): the stimulus part
    of each trial (EEG and the peripheral groups of ``kinds``) featurised from its first sample, targets from
    the ratings (:func:`eegaffect.targets.trial_frame_targets`: DEAP has one rating per trial).

    Parameters
    ----------
    root : str | Path
        Dataset folder.
    config : TrainConfig
        Pipeline and fusion settings.
    subject : int
        Subject number.
    kinds : sequence of str
        Peripheral kinds (DEAP has ``ppg``, ``eda``, ``resp``, ``temp``; no ECG).
    trials : sequence of int | None
        Trial numbers (None: all).

    Returns
    -------
    sequences : Sequences
    numbers : list of int
        The trial number of each sequence (for splitting).
    """
    from eegaffect.datasets.deap import read_dataset
    from eegaffect.pipeline import SignalPipeline, frame_times, window_hop
    from eegaffect.targets import trial_frame_targets

    ds = read_dataset(Path(root))
    picked = [t for t in ds.trials if t.info.subject == subject and (trials is None or t.info.trial in trials)]
    if not picked:
        raise ValueError(f"no trials of subject {subject} (trials {trials}) in {root}")
    window, hop = window_hop(config.pipeline)
    feats, vas, physio, meta, numbers = [], [], [], {}, []
    pipe = None
    for trial in picked:
        x = trial.load()
        if pipe is None:
            pipe = SignalPipeline(config.pipeline, n_chans=x.shape[1], sfreq_in=trial.info.sfreq)
        f = np.asarray(pipe.process(x))
        va = trial_frame_targets(trial, frame_times(len(f), window, hop, config.pipeline.sfreq))
        rows = {}
        if kinds:
            rows, meta = trial_physio(trial, kinds, len(f), config, f"s{subject}/t{trial.info.trial} ({root})")
        feats.append(f)
        vas.append(va)
        physio.append(rows)
        numbers.append(trial.info.trial)
    return Sequences(feats, vas, physio=physio if kinds else None, physio_meta=meta), numbers
