"""Featurise a dataset through the signal pipeline, with a resumable, crash-safe HDF5 feature cache.

Two views of every trial, both cut into the same windows (``features.window_s`` / ``features.hop_s`` of the
:class:`~eegaffect.pipeline.PipelineConfig`), so step ``k`` of both covers samples
``[k * hop, k * hop + window)``:

- ``kind="features"``: band features ``(n_steps, n_chans, n_bands)`` computed by
  :class:`eegaffect.pipeline.SignalPipeline` — the very object the live session runs, so offline features equal
  live ones;
- ``kind="raw"``: the pre-filtered signal (the pipeline's causal band-pass and notch) cut into windows
  ``(n_steps, n_chans, n_times)``, float32, for end-to-end models such as EEGNet.

The cache
---------
``FeatureCache(dataset, config, kind)`` lives in ``cache_dir / "{dataset}-{kind}-{key}"`` where ``key`` hashes the
dataset's files (resolved path, size and modification time of every source file) together with the pipeline
config and the view, so editing a file or a setting gives a new cache and never a stale one.

- One HDF5 file per *source* file (a SEED session file holds 15 trials). :meth:`FeatureCache.build` featurises
  the source files that are missing, one at a time (only one trial's signal is in memory at once), with a
  progress bar.
- Each file is written to a temporary name (``.NAME.partial-PID-RAND``), flushed and fsync-ed, marked complete,
  then atomically renamed. An interrupted build (Ctrl-C, a killed process, a full disk) therefore never leaves a
  file under its final name that is not whole; leftover partial files of dead processes are removed by the next
  build, which resumes with the files still missing. A final file that cannot be read is rebuilt.
- Nothing is rebuilt when everything is present: the next run reuses the files.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal, Sequence

import numpy as np

from eegaffect._docs import fill_doc
from eegaffect._logging import logger
from eegaffect.pipeline import window_hop

__all__ = ["FEATURE_KINDS", "CACHE_FORMAT", "SEED_TRIAL_SAMPLES", "featurise_trial", "window_starts", "FeatureCache",
           "CacheStats", "default_cache_dir", "measure_session"]

FEATURE_KINDS = ("features", "raw")
#: Bumped whenever the on-disk layout or the featurisation changes meaning.
CACHE_FORMAT = 1
_PARTIAL = ".partial-"

Kind = Literal["features", "raw"]

#: Samples of SEED's 15 trials at 200 Hz (one full session: 3394 s).
SEED_TRIAL_SAMPLES = (47001, 46601, 41201, 47601, 37001, 39001, 47401, 43201, 53001, 47401, 47001, 46601, 47001,
                      47601, 41201)


def default_cache_dir() -> Path:
    """The user cache folder for features (``$EEGAFFECT_CACHE_DIR`` or the platform's user cache dir).

    Returns
    -------
    path : Path
        ``.../eegaffect/features``.
    """
    env = os.environ.get("EEGAFFECT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("eegaffect")) / "features"


def window_starts(n_times: int, config) -> np.ndarray:
    """Start sample (at the pipeline rate) of every window of a signal of ``n_times`` samples.

    Parameters
    ----------
    n_times : int
        Samples at ``config.sfreq``.
    config : PipelineConfig
        Gives the window and hop.

    Returns
    -------
    starts : ndarray of int, shape (n_steps,)
        ``k * hop`` for every window ``[k * hop, k * hop + window)`` that fits.
    """
    window, hop = window_hop(config)
    n = 0 if n_times < window else (n_times - window) // hop + 1
    return np.arange(n, dtype=np.int64) * hop


@fill_doc
def featurise_trial(x: np.ndarray, sfreq: float, config, kind: Kind = "features") -> np.ndarray:
    """Featurise one trial offline, through the same objects as the live path.

    Parameters
    ----------
    x : ndarray, shape (n_times, n_chans)
        The trial's signal (finite).
    sfreq : float
        Its sampling frequency in Hz.
    %(pipeline_config)s
    kind : {"features", "raw"}
        Band features or filtered raw windows (see the module docstring).

    Returns
    -------
    out : ndarray, shape (n_steps, n_chans, n_bands) float64 or (n_steps, n_chans, n_window_times) float32
        One row per window.
    """
    from eegaffect.pipeline import PipelineConfig

    if kind not in FEATURE_KINDS:
        raise ValueError(f"kind must be one of {list(FEATURE_KINDS)}, got {kind!r}")
    if not isinstance(config, PipelineConfig):
        raise TypeError(f"config must be a PipelineConfig, got {type(config).__name__}")
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"x must have shape (n_times, n_chans), got {x.shape}")
    if not sfreq > 0:
        raise ValueError(f"sfreq must be positive, got {sfreq}")
    return _featurise(np.ascontiguousarray(x, dtype=np.float64), float(sfreq), config, kind)


def _featurise(x: np.ndarray, sfreq: float, config, kind: str) -> np.ndarray:
    return _Featuriser(config, kind)(x, sfreq)


class _Featuriser:
    """Featurises trial after trial, reusing one :class:`~eegaffect.pipeline.SignalPipeline` per input shape.

    Designing the filters costs more than filtering a short trial, so the pipeline is built once and
    :meth:`~eegaffect.pipeline.SignalPipeline.reset` before each trial: ``reset().step(x)`` equals
    ``process(x)`` (the pipeline's chunk-invariance contract); RTS smoothing, which needs the whole sequence,
    goes through ``process``.
    """

    def __init__(self, config, kind: str):
        self.config, self.kind = config, kind
        self._pipes: dict = {}

    def _pipe(self, n_chans: int, sfreq: float):
        from eegaffect.pipeline import SignalPipeline

        key = (n_chans, sfreq)
        if key not in self._pipes:
            self._pipes[key] = SignalPipeline(self.config, n_chans=n_chans, sfreq_in=sfreq)
        return self._pipes[key].reset()

    def __call__(self, x: np.ndarray, sfreq: float) -> np.ndarray:
        pipe = self._pipe(x.shape[1], float(sfreq))
        if self.kind == "features":
            out = pipe.process(x) if self.config.features.smoothing == "rts" else pipe.step(x)
            return np.asarray(out, dtype=np.float64)
        filtered = _prefilter(pipe, x)
        window, _ = window_hop(self.config)
        starts = window_starts(filtered.shape[0], self.config)
        idx = starts[:, None] + np.arange(window)[None, :]
        # (n_steps, window, n_chans) -> (n_steps, n_chans, window)
        return np.ascontiguousarray(filtered[idx].transpose(0, 2, 1), dtype=np.float32)


def _prefilter(pipe, x: np.ndarray) -> np.ndarray:
    """Stages 1-2 of a freshly reset :class:`~eegaffect.pipeline.SignalPipeline` over a whole trial: its causal
    resampler (when the rates differ) and its band-pass/notch sections, with the pipeline's initial state."""
    from eegaffect.kernels.filtering import sosfilt

    if pipe.resampler is not None:
        x = pipe.resampler.step(x)
    sos = pipe.prefilter_sos
    if sos is None:
        return x
    return sosfilt(sos, np.ascontiguousarray(x), init=pipe.config.filters.init)


def measure_session(config=None, kind: Kind = "features", n_chans: int = 62, sfreq: float = 200.0,
                    trial_samples: Sequence[int] = SEED_TRIAL_SAMPLES, seed: int = 0) -> dict:
    """Time the featurisation of one full-length synthetic session (SEED: 62 channels, 3394 s at 200 Hz).

    Each trial is generated (white noise, seeded) just before it is featurised, so memory stays at one trial;
    only the featurisation is timed, after a warm-up call that compiles the kernels.

    Parameters
    ----------
    config : PipelineConfig | None
        The signal path; None uses the defaults.
    kind : {"features", "raw"}
        Which view to time.
    n_chans : int
        Channels.
    sfreq : float
        Sampling rate of the synthetic trials in Hz.
    trial_samples : sequence of int
        Samples per trial (default SEED's 15 trials).
    seed : int
        Seed of the synthetic signal.

    Returns
    -------
    figures : dict
        ``{"eeg_seconds", "wall_s", "cpu_s", "throughput", "n_windows", "peak_mb"}``: throughput in seconds of
        EEG per wall-clock second, ``cpu_s`` the process CPU time (less sensitive to other load on the machine),
        ``peak_mb`` the traced peak during featurisation.
    """
    import tracemalloc

    from eegaffect.pipeline import PipelineConfig

    config = PipelineConfig() if config is None else config
    if kind not in FEATURE_KINDS:
        raise ValueError(f"kind must be one of {list(FEATURE_KINDS)}, got {kind!r}")
    if not trial_samples or min(trial_samples) < 1:
        raise ValueError(f"trial_samples must be positive sample counts, got {trial_samples!r}")
    rng = np.random.default_rng(seed)
    featurise = _Featuriser(config, kind)
    featurise(rng.normal(size=(int(sfreq) * 2, n_chans)), sfreq)  # compile / warm up
    wall, cpu, windows = 0.0, 0.0, 0
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    for n in trial_samples:
        x = rng.normal(size=(int(n), n_chans))
        t0, c0 = time.perf_counter(), time.process_time()
        windows += featurise(x, sfreq).shape[0]
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        del x
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    if not tracing:
        tracemalloc.stop()
    seconds = sum(trial_samples) / sfreq
    return {"eeg_seconds": seconds, "wall_s": wall, "cpu_s": cpu, "throughput": seconds / wall,
            "n_windows": windows, "peak_mb": peak}


@dataclass
class CacheStats:
    """What one :meth:`FeatureCache.build` did.

    Attributes
    ----------
    files_built, files_reused : int
        Source files featurised now / found complete in the cache.
    eeg_seconds : float
        Seconds of EEG featurised now.
    wall_s : float
        Wall time spent featurising (reading the source files included).
    """

    files_built: int = 0
    files_reused: int = 0
    eeg_seconds: float = 0.0
    wall_s: float = 0.0

    @property
    def throughput(self) -> float:
        """Seconds of EEG featurised per second of wall time (NaN when nothing was built)."""
        return self.eeg_seconds / self.wall_s if self.wall_s > 0 else float("nan")


@fill_doc
class FeatureCache:
    """The HDF5 feature cache of one dataset, pipeline config and view.

    Parameters
    ----------
    dataset : EEGDataset
        The dataset (all of it: its source files define the cache key, whatever subset is built).
    %(pipeline_config)s
    kind : {"features", "raw"}
        Band features or filtered raw windows.
    cache_dir : str | Path | None
        Root folder of caches; None uses :func:`default_cache_dir`.
    """

    def __init__(self, dataset, config, kind: Kind = "features", cache_dir: str | Path | None = None):
        from eegaffect.datasets.base import EEGDataset
        from eegaffect.pipeline import PipelineConfig

        if not isinstance(dataset, EEGDataset):
            raise TypeError(f"dataset must be an EEGDataset, got {type(dataset).__name__}")
        if not isinstance(config, PipelineConfig):
            raise TypeError(f"config must be a PipelineConfig, got {type(config).__name__}")
        if kind not in FEATURE_KINDS:
            raise ValueError(f"kind must be one of {list(FEATURE_KINDS)}, got {kind!r}")
        if len(dataset) == 0:
            raise ValueError(f"dataset {dataset.name!r} has no trials to featurise")
        self.dataset = dataset
        self.config = config
        self.kind = kind
        self.key = _cache_key(dataset, config, kind)
        root = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
        self.path = root / f"{dataset.name}-{kind}-{self.key[:16]}"

    def __repr__(self) -> str:
        return f"<FeatureCache {self.kind} of {self.dataset.name} at {self.path}>"

    def file_for(self, source: str | Path) -> Path:
        """The cache file of one source file."""
        source = Path(source)
        tag = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:8]
        return self.path / f"{source.stem}-{tag}.h5"

    def is_complete(self, source: str | Path) -> bool:
        """Whether the cache file of ``source`` exists, is readable and holds every trial of it."""
        return _complete(self.file_for(source), [t.info.key for t in self.dataset.trials_in(source)])

    def build(self, trials: Iterable | None = None, *, show_progress: bool = True) -> CacheStats:
        """Featurise every source file holding ``trials`` that is not in the cache yet.

        Parameters
        ----------
        trials : iterable of Trial | None
            Which trials are needed (their whole source files are built); None builds the whole dataset.
        show_progress : bool
            Show a progress bar (also switched off by ``EEGAFFECT_PROGRESS=0``).

        Returns
        -------
        stats : CacheStats
            Files built and reused, seconds of EEG and wall time.
        """
        from eegaffect._progress import progress

        needed = self._sources(trials)
        self.path.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(self.path)
        self._write_manifest()
        stats = CacheStats()
        todo = []
        for source in needed:
            if self.is_complete(source):
                stats.files_reused += 1
            else:
                todo.append(source)
        if stats.files_reused:
            logger.info("feature cache %s: reusing %d of %d file(s)", self.path, stats.files_reused, len(needed))
        if not todo:
            return stats
        self._warm_up(todo[0])
        bar = progress(todo, desc=f"featurising {self.dataset.name} ({self.kind})", unit="file") \
            if show_progress else todo
        for source in bar:
            t0 = time.perf_counter()
            stats.eeg_seconds += self._build_file(source)
            stats.wall_s += time.perf_counter() - t0
            stats.files_built += 1
        logger.info("feature cache %s: built %d file(s), %.0f s of EEG at %.0f s/s", self.path,
                    stats.files_built, stats.eeg_seconds, stats.throughput)
        return stats

    def load(self, trial) -> np.ndarray:
        """The cached features (or raw windows) of one trial.

        Parameters
        ----------
        trial : Trial | TrialInfo
            A trial of the dataset whose source file was built.

        Returns
        -------
        out : ndarray, shape (n_steps, n_chans, n_bands or n_window_times)
            As written by :func:`featurise_trial`.
        """
        import h5py

        info = getattr(trial, "info", trial)
        path = self.file_for(info.source)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no cache file for {info.source}; call build() first")
        with h5py.File(path, "r") as h5:
            if info.key not in h5:
                raise KeyError(f"{path}: no entry {info.key!r} for trial {info.trial} of {info.source}")
            return h5[info.key][()]

    # ------------------------------------------------------------------------------------------------------------
    def _sources(self, trials) -> list[Path]:
        if trials is None:
            return self.dataset.source_files()
        known = set(self.dataset.source_files())
        wanted = list(dict.fromkeys(getattr(t, "info", t).source for t in trials))
        unknown = [str(s) for s in wanted if s not in known]
        if unknown:
            raise ValueError(f"trials from files outside dataset {self.dataset.name!r}: {unknown[:3]}")
        return wanted

    def _write_manifest(self) -> None:
        manifest = self.path / "manifest.json"
        if manifest.is_file():
            return
        doc = {"format": CACHE_FORMAT, "key": self.key, "dataset": self.dataset.name, "kind": self.kind,
               "config": self.config.model_dump(mode="json"),
               "files": [str(p) for p in self.dataset.source_files()]}
        _atomic_write_bytes(manifest, json.dumps(doc, indent=2).encode())

    def _warm_up(self, source: Path) -> None:
        """Compile (or load from numba's cache) the kernels for this input shape, outside the timed build."""
        info = self.dataset.trials_in(source)[0].info
        n = int(round(2 * max(self.config.features.window_s, 1.0) * info.sfreq)) + 1
        dummy = np.random.default_rng(0).normal(size=(n, info.n_chans))
        _Featuriser(self.config, self.kind)(dummy, float(info.sfreq))

    def _build_file(self, source: Path) -> float:
        import h5py

        final = self.file_for(source)
        tmp = final.with_name(f".{final.name}{_PARTIAL}{os.getpid()}-{uuid.uuid4().hex[:8]}")
        seconds = 0.0
        featurise = _Featuriser(self.config, self.kind)
        trials = self.dataset.trials_in(source)
        try:
            # one reader thread loads (decompresses) trial k + 1 while trial k is featurised: both release the
            # GIL (zlib, nogil kernels), and at most two trials are in memory
            with h5py.File(tmp, "w") as h5, ThreadPoolExecutor(1, thread_name_prefix="eegaffect-load") as pool:
                h5.attrs["complete"] = False
                pending = pool.submit(trials[0].load)
                for i, trial in enumerate(trials):
                    info = trial.info
                    x = pending.result()
                    if i + 1 < len(trials):
                        pending = pool.submit(trials[i + 1].load)
                    out = featurise(x, float(info.sfreq))
                    del x
                    ds = h5.create_dataset(info.key, data=out)
                    ds.attrs["subject"], ds.attrs["session"], ds.attrs["trial"] = info.subject, info.session, \
                        info.trial
                    seconds += info.n_times / info.sfreq
                h5.attrs.update({"complete": True, "format": CACHE_FORMAT, "source": str(source),
                                 "kind": self.kind, "key": self.key})
                h5.flush()
            _fsync_path(tmp)
            os.replace(tmp, final)
            _fsync_path(final.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return seconds


def _cache_key(dataset, config, kind: str) -> str:
    files = []
    for path in dataset.source_files():
        st = Path(path).stat()
        files.append([str(Path(path).resolve()), st.st_size, st.st_mtime_ns])
    doc = {"format": CACHE_FORMAT, "dataset": dataset.name, "kind": kind,
           "config": config.model_dump(mode="json"), "files": files}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _complete(path: Path, keys: Sequence[str]) -> bool:
    import h5py

    if not path.is_file():
        return False
    try:
        with h5py.File(path, "r") as h5:
            ok = bool(h5.attrs.get("complete", False)) and int(h5.attrs.get("format", -1)) == CACHE_FORMAT
            return ok and all(k in h5 for k in keys)
    except (OSError, ValueError) as exc:
        logger.warning("feature cache file %s is unreadable (%s); rebuilding it", path, exc)
        path.unlink(missing_ok=True)
        return False


def _remove_stale_partials(folder: Path) -> None:
    import psutil

    for path in folder.glob(f".*{_PARTIAL}*"):
        try:
            pid = int(path.name.rsplit(_PARTIAL, 1)[1].split("-")[0])
        except (IndexError, ValueError):
            pid = -1
        if pid == os.getpid() or pid < 0 or not psutil.pid_exists(pid):
            logger.debug("removing partial cache file %s left by an interrupted build", path)
            path.unlink(missing_ok=True)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}{_PARTIAL}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
