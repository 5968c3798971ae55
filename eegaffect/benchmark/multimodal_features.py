"""Features of the multimodal benchmark (``eegaffect bench run``): EEG and physiology on one frame clock, the
trial's own baseline correction, and the per-subject feature files.

Features per trial, one row per frame (``pipeline.features.window_s`` / ``hop_s``, the EEG frame clock):

- ``eeg``: differential entropy per channel and band from the signal pipeline (the offline twin of the live path,
  :class:`~eegaffect.pipeline.SignalPipeline`), flattened to ``n_chans * n_bands`` columns;
- ``physio``: for every signal group of a physiological kind (ECG, PPG, EDA, respiration, temperature, EMG) and
  each of its channels, the features of a physiological pipeline (HRV, SCL/SCR, breathing, temperature, EMG
  level; :class:`eegaffect.physio.PhysioPipeline`), named ``{group}.{channel}.{feature}``. NaN where a window is
  too short (imputed inside each model with the training fold's median).

Where a trial has its own pre-stimulus baseline (DEAP's first 3 s, DREAMER's baseline clip), each feature column
of the trial is corrected by subtracting the mean of that column over the frames of *the same trial's* baseline
(``baseline_correction``); nothing is pooled across trials, so no statistic of a test trial reaches the training
side and vice versa. Modalities whose frame counts differ by a frame (rounding at the trial end) are cut to the
shorter.

Features are computed subject file by subject file (one subject's signals in memory) and kept per trial (a few
hundred floats per frame); with ``cache_dir`` they are also written per subject file (``.npz``, atomically) and
reused while the dataset files and settings are unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:
    from eegaffect.benchmark.multimodal import BenchRunConfig, MultimodalResult

__all__ = ["TrialFeatures", "PhysioFn", "pipeline_physio_features", "extract_features"]

logger = logging.getLogger("eegaffect")

_FORMAT = 1


@dataclass
class TrialFeatures:
    """Per-trial features of every modality, on one frame clock.

    Attributes
    ----------
    arrays : dict of str to ndarray, shape (n_frames, n_features_m)
        ``"eeg"`` and/or ``"physio"``.
    names : dict of str to list of str
        Column names per modality.
    """

    arrays: dict[str, np.ndarray]
    names: dict[str, list[str]]

    @property
    def n_frames(self) -> int:
        """Number of frames common to all modalities (0 without any)."""
        return min(a.shape[0] for a in self.arrays.values()) if self.arrays else 0


# ---------------------------------------------------------------------------------------------------- features
PhysioFn = Callable[[str, np.ndarray, float, float, float], tuple[np.ndarray, list[str]]]


def pipeline_physio_features(kind: str, x: np.ndarray, sfreq: float, window_s: float,
                             hop_s: float) -> tuple[np.ndarray, list[str]]:
    """Frame features of one physiological channel from :class:`eegaffect.physio.PhysioPipeline`.

    Parameters
    ----------
    kind : {"ecg", "ppg", "eda", "resp", "temp", "emg"}
        Signal kind.
    x : ndarray, shape (n_times,)
        The channel.
    sfreq : float
        Its rate in Hz.
    window_s, hop_s : float
        The frame clock (the EEG pipeline's).

    Returns
    -------
    frames : ndarray, shape (n_frames, n_features)
    names : list of str
    """
    try:
        from eegaffect.physio import PhysioPipeline
        from eegaffect.physio.config import FrameConfig, PhysioConfig
    except ImportError as exc:
        from eegaffect.errors import UserInputError

        raise UserInputError(f"physiological features need eegaffect.physio (the physiological pipeline), which "
                             f"is not importable here ({exc}); run the EEG models only") from None
    from eegaffect.physio.pipeline import StageUnavailableError

    key = (kind, float(sfreq), float(window_s), float(hop_s))
    pipe = _PIPES.get(key)
    if pipe is None:
        config = PhysioConfig(frames=FrameConfig(window_s=window_s, hop_s=hop_s))
        try:
            pipe = _PIPES[key] = PhysioPipeline(config, kind, sfreq)
        except StageUnavailableError as exc:
            if kind not in _UNAVAILABLE:
                _UNAVAILABLE.add(kind)
                logger.warning("no %s features: %s", kind, exc)
            n = 0 if x.shape[0] < round(window_s * sfreq) else int((x.shape[0] / sfreq - window_s) // hop_s) + 1
            return np.zeros((n, 0)), []
    # reset + one step + flush is a fresh stream over the whole recording: equal to pipe.process(x) (the
    # pipeline's chunk-invariance contract), without building a new pipeline for every channel of every trial
    pipe.reset()
    frames = np.concatenate([pipe.step(x), pipe.flush()])
    return np.asarray(frames, dtype=np.float64), list(pipe.feature_names)


_UNAVAILABLE: set[str] = set()  # signal kinds already reported as lacking a stage
_PIPES: dict = {}  # (kind, sfreq, window_s, hop_s) -> PhysioPipeline, reset before each recording


def extract_features(trial, config: BenchRunConfig, physio_fn: PhysioFn | None, modalities=("eeg", "physio"),
                     eeg_featuriser=None) -> TrialFeatures:
    """Features of one trial (see the module docstring).

    Parameters
    ----------
    trial : Trial | MultimodalTrial
        The trial.
    config : BenchRunConfig
        Pipeline, frame clock and baseline correction.
    physio_fn : callable | None
        ``(kind, x, sfreq, window_s, hop_s) -> (frames, names)``; None skips physiology.
    modalities : iterable of str
        Which modalities to compute.
    eeg_featuriser : callable | None
        ``(x, sfreq) -> (n_frames, n_chans, n_bands)`` reused across trials (one filter design for a whole
        subject); None builds the signal pipeline for this trial.

    Returns
    -------
    features : TrialFeatures
        ``arrays["eeg"]`` (n_frames, n_chans * n_bands) where the trial has EEG, ``arrays["physio"]``
        (n_frames, n_physio) where it has physiological groups (and ``physio.chest`` / ``physio.wrist`` subsets
        when they come from two devices), all cut to the same number of frames.
    """
    from eegaffect.datasets.multimodal import PHYSIO_KINDS

    arrays: dict[str, np.ndarray] = {}
    names: dict[str, list[str]] = {}
    groups = getattr(trial, "groups", None)
    has_eeg = groups is None or "eeg" in groups
    if "eeg" in modalities and has_eeg:
        feat = _eeg_frames(trial.load(), trial.info.sfreq, config, eeg_featuriser)
        if config.baseline_correction and trial.has_baseline:
            feat = _correct(feat, _eeg_frames(trial.load_baseline(), trial.info.sfreq, config, eeg_featuriser))
        arrays["eeg"] = feat
        bands = [b.name for b in config.pipeline.features.bands]
        names["eeg"] = [f"{ch}.{b}" for ch in trial.info.ch_names for b in bands]
    if "physio" in modalities and physio_fn is not None and groups is not None:
        blocks, cols, devices = [], [], []
        win, hop = config.pipeline.features.window_s, config.pipeline.features.hop_s
        for group in groups.values():
            if group.kind not in PHYSIO_KINDS:
                continue
            x = trial.load_group(group.name)
            base = trial.load_group_baseline(group.name) if config.baseline_correction else None
            base_s = 0.0 if base is None else base.shape[0] / group.sfreq
            k0 = base_s / hop
            joined = base_s >= win and abs(k0 - round(k0)) < 1e-9
            for c, ch in enumerate(group.ch_names):
                if joined:
                    # one stream: baseline then stimulus (the stimulus frames keep the baseline as causal
                    # context); frames ending inside the baseline correct those after it
                    both, fnames = physio_fn(group.kind, np.concatenate([base[:, c], x[:, c]]), group.sfreq, win,
                                             hop)
                    n_base = int(np.floor((base_s - win) / hop + 1e-9)) + 1
                    frames = _correct(both[int(round(k0)):], both[:n_base])
                else:
                    frames, fnames = physio_fn(group.kind, x[:, c], group.sfreq, win, hop)
                    if base is not None and base.shape[0]:
                        frames = _correct(frames, physio_fn(group.kind, base[:, c], group.sfreq, win, hop)[0])
                blocks.append(frames)
                cols += [f"{group.name}.{ch}.{n}" for n in fnames]
                devices += [_device(group.name)] * len(fnames)
        if blocks:
            n = min(b.shape[0] for b in blocks)
            arrays["physio"] = np.concatenate([b[:n] for b in blocks], axis=1)
            names["physio"] = cols
            if len(set(devices)) > 1:  # WESAD: chest and wrist, each also a modality of its own
                for dev in sorted(set(devices)):
                    keep = np.array([d == dev for d in devices])
                    arrays[f"physio.{dev}"] = arrays["physio"][:, keep]
                    names[f"physio.{dev}"] = [c for c, k in zip(cols, keep) if k]
    if arrays:
        n = min(a.shape[0] for a in arrays.values())
        longest = max(a.shape[0] for a in arrays.values())
        if longest - n > 1:
            logger.warning("%s: modalities give %d..%d frames; cut to %d", trial.info.key, n, longest, n)
        arrays = {k: np.ascontiguousarray(a[:n]) for k, a in arrays.items()}
    return TrialFeatures(arrays, names)


def _device(group_name: str) -> str:
    """Which device a signal group comes from: ``wrist_*`` groups the wrist band (WESAD's E4), others the chest
    / body sensors.
    """
    return "wrist" if group_name.startswith("wrist_") else "chest"


def _eeg_frames(x: np.ndarray, sfreq: float, config: BenchRunConfig, featuriser) -> np.ndarray:
    from eegaffect.datasets.features import featurise_trial

    if featuriser is not None:
        out = featuriser(np.ascontiguousarray(x, dtype=np.float64), float(sfreq))
    else:
        out = featurise_trial(x, sfreq, config.pipeline, "features")
    return np.asarray(out, dtype=np.float64).reshape(out.shape[0], -1)


def _correct(frames: np.ndarray, baseline_frames: np.ndarray) -> np.ndarray:
    """Subtract the trial's own baseline mean per column (columns without a finite baseline value are kept)."""
    if baseline_frames.shape[0] == 0:
        return frames
    with np.errstate(all="ignore"):
        finite = np.isfinite(baseline_frames)
        count = finite.sum(axis=0)
        mean = np.where(count > 0, np.where(finite, baseline_frames, 0.0).sum(axis=0) / np.maximum(count, 1), 0.0)
    return frames - mean[None, :]


def _featurise(data, config: BenchRunConfig, physio_fn, needed, result: MultimodalResult) -> list[TrialFeatures]:
    from eegaffect.datasets.features import _Featuriser

    featuriser = _Featuriser(config.pipeline, "features")
    cache = _FeatureFiles(data, config, physio_fn) if config.cache_dir else None
    _warm_up(data.trials[0], config, physio_fn, needed, featuriser)
    out: dict[int, TrialFeatures] = {}
    t_all = time.perf_counter()
    for source in data.source_files():
        trials = [(i, t) for i, t in enumerate(data.trials) if t.info.source == source]
        cached = cache.load(source, [t for _, t in trials]) if cache else None
        if cached is not None:
            out.update({i: f for (i, _), f in zip(trials, cached)})
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        feats = [extract_features(t, config, physio_fn, needed, featuriser) for _, t in trials]
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        subject = trials[0][1].info.subject
        result.subject_seconds[subject] = result.subject_seconds.get(subject, 0.0) + elapsed
        result.subject_cpu_s[subject] = result.subject_cpu_s.get(subject, 0.0) + cpu
        logger.info("featurised %s (%d trials) in %.2f s wall, %.2f s CPU", source.name, len(trials), elapsed, cpu)
        if cache:
            cache.save(source, [t for _, t in trials], feats)
        out.update({i: f for (i, _), f in zip(trials, feats)})
        for _, t in trials:  # drop the reader's one-subject store before the next subject
            store = getattr(getattr(t, "_group_loader", None), "store", None)
            if store is not None and hasattr(store, "clear"):
                store.clear()
    result.feature_wall_s = time.perf_counter() - t_all
    return [out[i] for i in range(len(data.trials))]


def _warm_up(trial, config: BenchRunConfig, physio_fn, needed, featuriser) -> None:
    """Compile the kernels (or load numba's cache) and design the filters on a few seconds of noise, so the timed
    featurisation measures the work, not the compilation.
    """
    from eegaffect.datasets.multimodal import PHYSIO_KINDS

    rng = np.random.default_rng(0)
    info = trial.info
    if "eeg" in needed and getattr(trial, "groups", {"eeg": None}).get("eeg", True) is not None:
        featuriser(rng.normal(size=(int(2 * info.sfreq) + 1, info.n_chans)), float(info.sfreq))
    if "physio" in needed and physio_fn is not None:
        win, hop = config.pipeline.features.window_s, config.pipeline.features.hop_s
        for group in getattr(trial, "groups", {}).values():
            if group.kind in PHYSIO_KINDS:
                physio_fn(group.kind, rng.normal(size=int(4 * max(win, 1.0) * group.sfreq) + 1), group.sfreq, win,
                          hop)


def _physio_defaults() -> dict | None:
    """The physiological pipeline's default settings (part of the feature-file key), None when not installed."""
    try:
        from eegaffect.physio.config import PhysioConfig
    except ImportError:
        return None
    return PhysioConfig().model_dump(mode="json")


class _FeatureFiles:
    """Per-source-file ``.npz`` of the features, keyed by the dataset files and every setting that changes them."""

    def __init__(self, data, config: BenchRunConfig, physio_fn):
        files = []
        for path in data.source_files():
            st = Path(path).stat()
            files.append([str(Path(path).resolve()), st.st_size, st.st_mtime_ns])
        fn = None if physio_fn is None else f"{physio_fn.__module__}.{getattr(physio_fn, '__qualname__', '')}"
        doc = {"format": _FORMAT, "dataset": data.name, "pipeline": config.pipeline.model_dump(mode="json"),
               "baseline": config.baseline_correction, "physio": fn, "physio_config": _physio_defaults(),
               "files": files}
        key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
        self.folder = Path(config.cache_dir).expanduser() / f"multimodal-{data.name}-{key}"

    def _path(self, source: Path) -> Path:
        return self.folder / f"{Path(source).name}.npz"

    def load(self, source: Path, trials) -> list[TrialFeatures] | None:
        path = self._path(source)
        if not path.is_file():
            return None
        out = []
        with np.load(path, allow_pickle=False) as z:
            for t in trials:
                arrays = {m: z[f"{t.info.key}|{m}"] for m in ("eeg", "physio") if f"{t.info.key}|{m}" in z.files}
                names = {m: list(z[f"names|{m}"]) for m in arrays if f"names|{m}" in z.files}
                out.append(TrialFeatures(arrays, names))
        return out

    def save(self, source: Path, trials, feats: list[TrialFeatures]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        payload: dict[str, np.ndarray] = {}
        for t, f in zip(trials, feats):
            for m, a in f.arrays.items():
                payload[f"{t.info.key}|{m}"] = a
                payload[f"names|{m}"] = np.asarray(f.names.get(m, []))
        path = self._path(source)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npz")
        np.savez(tmp, **payload)
        os.replace(tmp, path)
