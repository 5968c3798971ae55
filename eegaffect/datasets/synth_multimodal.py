"""Synthetic DEAP, AMIGOS and WESAD copies in the providers' exact layouts (EEG + peripheral physiology).

``eegaffect datasets synth-deap | synth-amigos | synth-wesad DIR`` call :func:`write_synthetic_deap`,
:func:`write_synthetic_amigos` and :func:`write_synthetic_wesad`. The EEG comes from the simulated headset
(:class:`~eegaffect.acquisition.simulator.SimulatedEEG`, its documented effect table), the peripheral signals from
:func:`eegaffect.acquisition.sim.physiology.simulate_physiology` (its documented coupling table), both driven by the
same valence/arousal trajectory, so EEG and physiology carry the affect signal together and a fusion benchmark has
something to fuse. ``effect_scale=0`` removes the affect signal from both (a null control).

How trials are made
-------------------
- DEAP / AMIGOS: each trial draws an *experienced* point (valence, arousal) uniformly in [-0.8, 0.8]^2 (per
  subject and trial, seeded). The trajectory rests near (0, 0) during DEAP's 3-s baseline, then approaches the
  point with a time constant of 4-12 s, plus a smooth random walk (SD 0.15). The self-reported ratings are the
  point mapped to 1..9 (``5 + 4 x``) plus rating noise (SD 0.7 points), clipped to [1, 9]: reports are noisy,
  as real ones are. AMIGOS' external annotations are the trajectory's mean over each 20-s segment.
- WESAD: one session per subject, conditions in WESAD's order (baseline, then stress and amusement in an order
  that alternates between subjects, each followed by meditation), separated by 10-s transients (label 0). Each
  condition has a circumplex point (:data:`WESAD_CONDITION_VA`) that the trajectory approaches with a 20-s time
  constant; the questionnaire's SAM rows are those points mapped to 1..9 plus rating noise, rounded.

Files are written to a temporary name and renamed when complete. A non-empty ``DIR`` is refused (writing beside
another dataset would mix them), as ``synth-seed`` does.
"""

from __future__ import annotations

import logging
import os
import pickle
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
from pydantic import Field

from eegaffect.config import ConfigModel
from eegaffect.datasets.amigos import EEG_CHANNELS as AMIGOS_EEG
from eegaffect.datasets.deap import EEG_CHANNELS as DEAP_EEG

__all__ = ["SynthDeapConfig", "SynthAmigosConfig", "SynthWesadConfig", "SynthSummary", "write_synthetic_deap",
           "write_synthetic_amigos", "write_synthetic_wesad", "WESAD_CONDITION_VA", "WESAD_SUBJECTS",
           "affect_trajectory"]

logger = logging.getLogger("eegaffect.datasets.synth")

#: WESAD's subject numbers (S1 and S12 were discarded by the providers).
WESAD_SUBJECTS: tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17)
#: Condition code -> (valence, arousal) the synthetic session approaches.
WESAD_CONDITION_VA: dict[int, tuple[float, float]] = {0: (0.0, 0.0), 1: (0.1, -0.2), 2: (-0.5, 0.7),
                                                      3: (0.6, 0.4), 4: (0.2, -0.6)}
_WESAD_QUEST_NAMES = {1: "Base", 2: "TSST", 3: "Fun"}
_TRANSIENT_S = 10.0
_TAG_DEAP, _TAG_AMIGOS, _TAG_WESAD = 11, 12, 13


class SynthDeapConfig(ConfigModel):
    """Settings of ``eegaffect datasets synth-deap``."""

    subjects: int = Field(3, ge=1, le=99)
    trials: int = Field(40, ge=1, le=200)
    trial_seconds: float = Field(60.0, gt=0, le=3600, description="stimulus length after the 3-s baseline")
    seed: int = Field(0, ge=0)
    effect_scale: float = Field(1.0, ge=0, le=5, description="0 = a null control")


class SynthAmigosConfig(ConfigModel):
    """Settings of ``eegaffect datasets synth-amigos``."""

    subjects: int = Field(3, ge=1, le=99)
    short_seconds: float = Field(40.0, ge=20, le=3600)
    long_seconds: float = Field(120.0, ge=20, le=7200)
    seed: int = Field(0, ge=0)
    effect_scale: float = Field(1.0, ge=0, le=5)
    missing_long: int = Field(0, ge=0, le=4, description="empty long-video cells of the last participant")


class SynthWesadConfig(ConfigModel):
    """Settings of ``eegaffect datasets synth-wesad``."""

    subjects: int = Field(3, ge=1, le=15)
    baseline_seconds: float = Field(120.0, ge=10)
    stress_seconds: float = Field(90.0, ge=10)
    amusement_seconds: float = Field(60.0, ge=10)
    meditation_seconds: float = Field(60.0, ge=10)
    seed: int = Field(0, ge=0)
    effect_scale: float = Field(1.0, ge=0, le=5)


@dataclass
class SynthSummary:
    """What a synthetic writer produced.

    Attributes
    ----------
    root : Path
        The dataset folder.
    files : list of Path
        The subject files written (``sXX.dat``, ``Data_Preprocessed_PXX.mat``, ``SX/SX.pkl``).
    seconds : float
        Seconds of recording written (summed over subjects).
    extra : list of Path
        Side files (ratings CSV, questionnaires, readmes).
    """

    root: Path
    files: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    extra: list[Path] = field(default_factory=list)


def _key(*parts: int) -> int:
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1, dtype=np.uint32)[0])


def affect_trajectory(target: tuple[float, float], duration_s: float, *, seed: int, onset_s: float = 0.0,
                      tau_s: float = 8.0, walk_sd: float = 0.15, start: tuple[float, float] = (0.0, 0.0)):
    """A trajectory resting at ``start`` until ``onset_s``, then approaching ``target`` (time constant ``tau_s``),
    plus a smooth random walk; values clipped to [-0.95, 0.95].

    Returns
    -------
    trajectory : Trajectory
        The simulator's piecewise-linear trajectory (knots every 0.25 s).
    """
    from eegaffect.acquisition.simulator import Trajectory

    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration_s + 0.5, 0.25)
    w = np.exp(-(np.maximum(t - onset_s, 0.0)) / tau_s)
    base = np.asarray(start)[None, :] * w[:, None] + np.asarray(target)[None, :] * (1 - w[:, None])
    a = np.exp(-0.25 / 5.0)
    walk = np.zeros((t.size, 2))
    noise = rng.standard_normal((t.size, 2)) * walk_sd * np.sqrt(1 - a * a)
    for i in range(1, t.size):
        walk[i] = a * walk[i - 1] + noise[i]
    return Trajectory(t, np.clip(base + walk, -0.95, 0.95))


def _check_out(out: Path) -> Path:
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder; writing a synthetic dataset there would mix "
                              "it with what is already there. Choose a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _check_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"expected {name} to be an int >= {low}, got {value!r}")
    return int(value)


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    tmp = path.with_name(path.name + ".partial")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _eeg(channels, sfreq: float, n: int, trajectory, seed: int, subject: int, effect_scale: float,
         line_hz: float | None) -> np.ndarray:
    from eegaffect.acquisition.simulator import SimulatedEEG

    sim = SimulatedEEG(channels, sfreq, seed=seed, trajectory=trajectory, subject=subject, session=subject,
                       unit="uV", effect_scale=effect_scale, line_hz=line_hz)
    return sim.generate(n)[0]


def _rating(x: float, rng: np.random.Generator, sd: float = 0.7) -> float:
    return float(np.clip(5.0 + 4.0 * x + rng.normal(0.0, sd), 1.0, 9.0))


# ------------------------------------------------------------------------------------------------------------ DEAP
def write_synthetic_deap(out: str | Path, subjects: int = 3, trials: int = 40, trial_seconds: float = 60.0,
                         seed: int = 0, *, effect_scale: float = 1.0, baseline_s: float = 3.0) -> SynthSummary:
    """Write ``out/data_preprocessed_python/sXX.dat`` (DEAP's Python release) plus ``participant_ratings.csv``.

    Parameters
    ----------
    out : str | Path
        New or empty folder.
    subjects : int
        Subjects s01..
    trials : int
        Trials per subject (DEAP: 40).
    trial_seconds : float
        Stimulus length (DEAP: 60 s; each trial is ``baseline_s + trial_seconds`` long at 128 Hz).
    seed : int
        Dataset seed.
    effect_scale : float
        Factor on the EEG and physiological affect effects (0 = null control).
    baseline_s : float
        Pre-trial baseline at the start of each trial (DEAP: 3 s).

    Returns
    -------
    summary : SynthSummary
    """
    subjects, trials, seed = _check_int("subjects", subjects, 1), _check_int("trials", trials, 1), \
        _check_int("seed", seed, 0)
    if not (np.isfinite(trial_seconds) and trial_seconds > 0):
        raise ValueError(f"expected trial_seconds > 0, got {trial_seconds!r}")
    out = _check_out(out)
    from eegaffect.acquisition.sim.physiology import simulate_physiology

    fs = 128.0
    n = int(round((baseline_s + trial_seconds) * fs))
    folder = out / "data_preprocessed_python"
    folder.mkdir()
    summary = SynthSummary(out)
    rows = ["Participant_id,Trial,Experiment_id,Start_time,Valence,Arousal,Dominance,Liking,Familiarity"]
    for s in range(1, subjects + 1):
        person = _key(_TAG_DEAP, seed, s)
        rng = np.random.default_rng(_key(_TAG_DEAP, seed, s, 0))
        data = np.empty((trials, 40, n), dtype=np.float32)
        labels = np.empty((trials, 4))
        for t in range(trials):
            point = rng.uniform(-0.8, 0.8, 2)
            trial_seed = _key(_TAG_DEAP, seed, s, t + 1)
            traj = affect_trajectory(tuple(point), baseline_s + trial_seconds, seed=trial_seed, onset_s=baseline_s,
                                     tau_s=float(rng.uniform(4, 12)))
            data[t, :32] = _eeg(DEAP_EEG, fs, n, traj, trial_seed, person, effect_scale, None).T
            phys = simulate_physiology({"eog": fs, "emg_zygomaticus": fs, "emg_trapezius": fs, "eda": fs,
                                        "resp": fs, "ppg": fs, "temp": fs}, n / fs, traj, seed=trial_seed,
                                       subject=person, effect_scale=effect_scale)
            data[t, 32:34] = phys["eog"].T
            data[t, 34] = phys["emg_zygomaticus"][:, 0]
            data[t, 35] = phys["emg_trapezius"][:, 0]
            data[t, 36] = 1e6 / phys["eda"][:, 0]  # DEAP stores skin resistance in Ohm
            data[t, 37] = phys["resp"][:, 0]
            data[t, 38] = phys["ppg"][:, 0]
            data[t, 39] = phys["temp"][:, 0]
            labels[t] = [_rating(point[0], rng), _rating(point[1], rng), _rating(0.0, rng, 1.5),
                         _rating(point[0] * 0.5, rng, 1.0)]
            rows.append(f"{s},{t + 1},{t + 1},0,{labels[t, 0]:.2f},{labels[t, 1]:.2f},{labels[t, 2]:.2f},"
                        f"{labels[t, 3]:.2f},1")
        path = folder / f"s{s:02d}.dat"
        summary.files.append(_atomic(path, partial(_dump_pickle, {"data": data, "labels": labels})))
        summary.seconds += trials * n / fs
        del data
    (out / "participant_ratings.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (out / "readme.txt").write_text(_readme("DEAP", subjects, seed, effect_scale), encoding="utf-8")
    summary.extra += [out / "participant_ratings.csv", out / "readme.txt"]
    return summary


# ---------------------------------------------------------------------------------------------------------- AMIGOS
def write_synthetic_amigos(out: str | Path, subjects: int = 3, short_seconds: float = 40.0,
                           long_seconds: float = 120.0, seed: int = 0, *, effect_scale: float = 1.0,
                           missing_long: int = 0) -> SynthSummary:
    """Write ``out/Data_Preprocessed_PXX.mat`` (AMIGOS' preprocessed MATLAB release).

    Parameters
    ----------
    out : str | Path
        New or empty folder.
    subjects : int
        Participants P01..
    short_seconds, long_seconds : float
        Length of the 16 short and the 4 long videos.
    seed : int
        Dataset seed.
    effect_scale : float
        Factor on the affect effects (0 = null control).
    missing_long : int
        Leave the last ``missing_long`` long-video cells of the last participant empty (0x0), as in AMIGOS.

    Returns
    -------
    summary : SynthSummary
    """
    import scipy.io

    subjects, seed = _check_int("subjects", subjects, 1), _check_int("seed", seed, 0)
    missing_long = _check_int("missing_long", missing_long, 0)
    for name, v in (("short_seconds", short_seconds), ("long_seconds", long_seconds)):
        if not (np.isfinite(v) and v >= 20):
            raise ValueError(f"expected {name} >= 20 (one 20-s annotation segment), got {v!r}")
    out = _check_out(out)
    from eegaffect.acquisition.sim.physiology import simulate_physiology

    fs = 128.0
    summary = SynthSummary(out)
    for s in range(1, subjects + 1):
        person = _key(_TAG_AMIGOS, seed, s)
        rng = np.random.default_rng(_key(_TAG_AMIGOS, seed, s, 0))
        cells = {k: np.empty((1, 20), dtype=object) for k in ("VideoIDs", "joined_data", "labels_selfassessment",
                                                              "labels_ext_annotation")}
        for t in range(20):
            seconds = short_seconds if t < 16 else long_seconds
            n = int(round(seconds * fs))
            point = rng.uniform(-0.8, 0.8, 2)
            trial_seed = _key(_TAG_AMIGOS, seed, s, t + 1)
            traj = affect_trajectory(tuple(point), seconds, seed=trial_seed, tau_s=float(rng.uniform(4, 12)))
            sa = np.concatenate([[_rating(point[1], rng), _rating(point[0], rng), _rating(0.0, rng, 1.5),
                                  _rating(point[0] * 0.5, rng, 1.0), _rating(0.0, rng, 2.0)],
                                 (rng.uniform(size=7) < 0.2).astype(float)])
            cells["labels_selfassessment"][0, t] = sa.reshape(1, 12)  # AROUSAL before VALENCE
            cells["VideoIDs"][0, t] = f"{'S' if t < 16 else 'L'}{t + 1}"
            n_seg = int(np.ceil(seconds / 20.0))
            va = traj(np.arange(n) / fs)
            ext = [[k + 1, *va[int(k * 20 * fs):int((k + 1) * 20 * fs)].mean(axis=0)] for k in range(n_seg)]
            cells["labels_ext_annotation"][0, t] = np.asarray(ext)
            if s == subjects and t >= 20 - missing_long:
                cells["joined_data"][0, t] = np.zeros((0, 0))
                continue
            eeg = _eeg(AMIGOS_EEG, fs, n, traj, trial_seed, person, effect_scale, 50.0)
            phys = simulate_physiology({"ecg": fs, "eda": fs}, seconds, traj, seed=trial_seed, subject=person,
                                       effect_scale=effect_scale)
            ecg = phys["ecg"][:, 0]
            lead2 = -0.8 * ecg + 0.02 * np.random.default_rng(trial_seed).standard_normal(n)
            cells["joined_data"][0, t] = np.column_stack([eeg, ecg, lead2, phys["eda"][:, 0]])
            summary.seconds += seconds
        path = out / f"Data_Preprocessed_P{s:02d}.mat"
        summary.files.append(_atomic(path, lambda p, c=cells: scipy.io.savemat(p, c, do_compression=True,
                                                                               format="5")))
    (out / "readme.txt").write_text(_readme("AMIGOS", subjects, seed, effect_scale), encoding="utf-8")
    summary.extra.append(out / "readme.txt")
    return summary


# ----------------------------------------------------------------------------------------------------------- WESAD
def write_synthetic_wesad(out: str | Path, subjects: int = 3, baseline_seconds: float = 120.0,
                          stress_seconds: float = 90.0, amusement_seconds: float = 60.0,
                          meditation_seconds: float = 60.0, seed: int = 0, *,
                          effect_scale: float = 1.0) -> SynthSummary:
    """Write ``out/S<k>/S<k>.pkl`` with ``S<k>_quest.csv`` and ``S<k>_readme.txt`` (WESAD's layout).

    Parameters
    ----------
    out : str | Path
        New or empty folder.
    subjects : int
        Number of subjects, numbered as WESAD's (S2, S3, ... without S12; at most 15).
    baseline_seconds, stress_seconds, amusement_seconds, meditation_seconds : float
        Condition lengths (WESAD: ~20, ~10, ~6.5 and 2 x ~7 minutes).
    seed : int
        Dataset seed.
    effect_scale : float
        Factor on the physiological affect effects (0 = null control).

    Returns
    -------
    summary : SynthSummary
    """
    from eegaffect.acquisition.sim.physiology import simulate_physiology

    subjects, seed = _check_int("subjects", subjects, 1), _check_int("seed", seed, 0)
    if subjects > len(WESAD_SUBJECTS):
        raise ValueError(f"WESAD has {len(WESAD_SUBJECTS)} subjects, got subjects={subjects}")
    lengths = {1: baseline_seconds, 2: stress_seconds, 3: amusement_seconds, 4: meditation_seconds}
    bad = {k: v for k, v in lengths.items() if not (np.isfinite(v) and v >= 10)}
    if bad:
        raise ValueError(f"condition lengths must be >= 10 s, got {bad}")
    out = _check_out(out)
    summary = SynthSummary(out)
    for i, k in enumerate(WESAD_SUBJECTS[:subjects]):
        person = _key(_TAG_WESAD, seed, k)
        rng = np.random.default_rng(_key(_TAG_WESAD, seed, k, 0))
        order = [1, 2, 4, 3, 4] if i % 2 == 0 else [1, 3, 4, 2, 4]
        plan = [(0, _TRANSIENT_S)]
        for code in order:
            plan += [(code, lengths[code]), (0, _TRANSIENT_S)]
        label = np.concatenate([np.full(int(round(sec * 700)), code, dtype=np.int32) for code, sec in plan])
        duration = label.size / 700.0
        knots, t = [], 0.0
        for code, sec in plan:
            knots.append((t, code))
            t += sec
        traj = _condition_trajectory(knots, duration, _key(_TAG_WESAD, seed, k, 1))
        chest = simulate_physiology({"acc": 700.0, "ecg": 700.0, "emg_trapezius": 700.0, "eda": 700.0,
                                     "temp": 700.0, "resp": 700.0}, duration, traj, seed=person, subject=person,
                                    effect_scale=effect_scale)
        wrist = simulate_physiology({"acc": 32.0, "ppg": 64.0, "eda": 4.0, "temp": 4.0}, duration, traj,
                                    seed=_key(person, 2), subject=person, effect_scale=effect_scale)
        content = {"signal": {"chest": {"ACC": chest["acc"], "ECG": chest["ecg"], "EMG": chest["emg_trapezius"] / 1e3,
                                        "EDA": chest["eda"], "Temp": chest["temp"], "Resp": chest["resp"] * 5.0},
                              "wrist": {"ACC": np.round(wrist["acc"] * 64.0), "BVP": wrist["ppg"],
                                        "EDA": wrist["eda"], "TEMP": wrist["temp"]}},
                   "label": label, "subject": f"S{k}"}
        folder = out / f"S{k}"
        folder.mkdir()

        summary.files.append(_atomic(folder / f"S{k}.pkl", partial(_dump_pickle, content)))
        summary.seconds += duration
        quest = folder / f"S{k}_quest.csv"
        quest.write_text(_quest(k, order, rng), encoding="utf-8")
        readme = folder / f"S{k}_readme.txt"
        readme.write_text("### Personal information ###\nAge: 27\n\n### Additional notes ###\nsynthetic subject "
                          f"written by eegaffect (seed {seed}, effect_scale {effect_scale:g})\n", encoding="utf-8")
        summary.extra += [quest, readme]
    return summary


def _dump_pickle(content: dict, path: Path) -> None:
    """Protocol 2, as the providers' Python-2 pickles (numpy arrays and plain containers only)."""
    with open(path, "wb") as fh:
        pickle.dump(content, fh, protocol=2)


def _condition_trajectory(knots: list[tuple[float, int]], duration: float, seed: int):
    """Approach each condition's point with a 20-s time constant, plus a slow random walk."""
    from eegaffect.acquisition.simulator import Trajectory

    rng = np.random.default_rng(seed)
    t = np.arange(0.0, duration + 1.0, 0.5)
    target = np.zeros((t.size, 2))
    for start, code in knots:
        target[t >= start] = WESAD_CONDITION_VA[code]
    a = np.exp(-0.5 / 20.0)
    value = np.zeros((t.size, 2))
    for i in range(1, t.size):
        value[i] = a * value[i - 1] + (1 - a) * target[i]
    b = np.exp(-0.5 / 10.0)
    walk = np.zeros((t.size, 2))
    noise = rng.standard_normal((t.size, 2)) * 0.1 * np.sqrt(1 - b * b)
    for i in range(1, t.size):
        walk[i] = b * walk[i - 1] + noise[i]
    return Trajectory(t, np.clip(value + walk, -0.95, 0.95))


def _quest(k: int, order: list[int], rng: np.random.Generator) -> str:
    names, meditation = [], 0
    for code in order:
        if code == 4:
            meditation += 1
            names.append(f"Medi {meditation}")
        else:
            names.append(_WESAD_QUEST_NAMES[code])
    dims = []
    for code in order:
        v, a = WESAD_CONDITION_VA[code]
        dims.append(f"# DIM;{int(round(_rating(v, rng, 0.5)))};{int(round(_rating(a, rng, 0.5)))};;;;")
    lines = [f"# Subj;S{k};;;;;", "# ORDER;" + ";".join(names) + ";sRead;fRead",
             "# START;" + ";".join("0" for _ in names) + ";;", "# END;" + ";".join("0" for _ in names) + ";;",
             ";;;;;;", *[f"# PANAS;{';'.join(str(int(x)) for x in rng.integers(1, 6, 20))}" for _ in names],
             ";;;;;;", *[f"# STAI;{';'.join(str(int(x)) for x in rng.integers(1, 5, 6))}" for _ in names],
             ";;;;;;", *dims, ";;;;;;", f"# SSSQ;{';'.join(str(int(x)) for x in rng.integers(1, 6, 6))}"]
    return "\n".join(lines) + "\n"


def _readme(dataset: str, subjects: int, seed: int, effect_scale: float) -> str:
    return (f"Synthetic {dataset} copy written by eegaffect (eegaffect datasets synth-{dataset.lower()}): {subjects} "
            f"subject(s), seed {seed}, effect_scale {effect_scale:g}.\nEEG from eegaffect.acquisition.simulator, "
            "physiology from eegaffect.acquisition.sim.physiology, both driven by one valence/arousal trajectory per "
            "trial. Not real data.\n")
