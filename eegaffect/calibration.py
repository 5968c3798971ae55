"""Per-user calibration of a trained bundle: a few minutes of labelled EEG adapt it to one person and session.

Affect models transfer poorly across people and sessions (electrode gains, alpha frequency, how strongly a person
reacts). Calibration keeps what the chain learned (the VQ-VAE's prototypes, the transformer's temporal model, the
SAC policy) and re-fits the two parts that carry the person-specific scale:

1. **normalisation statistics**: the per-(channel, band) mean and standard deviation of the feature frames are
   recomputed on the calibration frames (per-subject feature normalisation), so the network sees the new
   person's features on the scale it was trained on;
2. **the readout**: the transformer's valence/arousal and log-variance heads are fitted on the calibration frames
   by the training loss (MSE + (1 - CCC) + Gaussian NLL), from the parent's weights and pulled back towards them
   by an L2 anchor, while the trunk is frozen. With ``full=True`` every weight of the VQ-VAE encoder and the
   transformer is fine-tuned instead (the codebook is kept; small learning rate, same anchor).

Calibration data are raw EEG with a valence/arousal label track (``time_s, valence, arousal``), from a live LSL
stream (:func:`collect_live`; labels from the simulator's ``{name}-truth`` stream, another stream of type
``AffectTruth`` or a CSV) or a recording (:func:`collect_recording`; labels from the recording's ground-truth
stream, a CSV beside it or a CSV given). They go through the bundle's own :class:`~eegaffect.pipeline.SignalPipeline`
and are paired with labels at the time stamps the :class:`~eegaffect.models.predictor.Predictor` gives its outputs,
so calibration sees exactly what a live session will feed the model.

:func:`calibrate_bundle` writes a **new** bundle (it refuses an existing non-empty folder) whose ``bundle.json``
has a ``calibration`` record: source, labels, duration, frames used, date, the parent bundle's path and the
sha256 of its ``bundle.json`` (which pins the parent's weight checksums), what was adapted, and the CCC on the
calibration frames before and after. The benchmark's ``loso-calibrated`` protocol calls the same
:func:`calibrate_chain` (see :mod:`eegaffect.benchmark.protocols`).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import Field

from eegaffect._logging import logger
from eegaffect.config import ConfigModel
from eegaffect.errors import UserInputError

__all__ = [
    "DEFAULT_LR",
    "DEFAULT_STEPS",
    "MIN_FRAMES",
    "CalibrateConfig",
    "CalibrationData",
    "CalibrationError",
    "calibrate_bundle",
    "calibrate_chain",
    "collect_live",
    "collect_recording",
    "frames_with_labels",
    "score_recording",
]

#: Gradient steps and learning rates of the two modes when not given. Chosen on leave-one-subject-out folds of a
#: synthetic SEED (4 subjects, 3 calibration trials): more steps overfit the few calibration trials (the fit on
#: them keeps improving while held-out trials get worse; see docs/calibration.md).
DEFAULT_STEPS = {"readout": 30, "full": 100}
DEFAULT_LR = {"readout": 1e-3, "full": 3e-4}
#: Fewest labelled frames calibration accepts (normalisation statistics from fewer are too noisy).
MIN_FRAMES = 20


class CalibrateConfig(ConfigModel):
    """Settings of ``eegaffect calibrate`` (``configs/calibrate.yaml``)."""

    full: bool = Field(False, description="fine-tune every network weight (VQ-VAE encoder + transformer; the "
                       "codebook is kept), not only the readout")
    steps: int | None = Field(None, ge=0, description="gradient steps (full batch over the calibration frames); "
                              "null: 30 (readout), 100 (full); 0: normalisation statistics only")
    lr: float | None = Field(None, gt=0, description="learning rate; null: 1e-3 (readout), 3e-4 (full)")
    anchor: float = Field(1e-2, ge=0, description="L2 pull of the adapted weights back to the parent's")
    seed: int = Field(0, ge=0)
    interpolate: int = Field(0, ge=0, le=8, description="most missing model channels interpolated (0: error)")
    ignore_channels: list[str] = Field(default_factory=list, description="data channels never to use")
    rename: dict[str, str] = Field(default_factory=dict, description="explicit data channel -> model channel names")
    unit: str | None = Field(None, description="unit of the samples when the stream/file does not say")
    timeout_s: float = Field(10.0, gt=0, description="seconds to wait for the live streams")


class CalibrationError(UserInputError):
    """Calibration data or settings are unusable (too few labelled frames, labels that do not cover the EEG...)."""


@dataclass
class CalibrationData:
    """Labelled feature frames to calibrate on, kept per segment (trial or recording).

    Attributes
    ----------
    features : list of ndarray, shape (n_frames_i, n_chans, n_bands)
        Feature frames of each segment, from the bundle's pipeline.
    va : list of ndarray, shape (n_frames_i, 2)
        Valence/arousal label of each frame.
    source : str
        Where the EEG came from (``"lsl:NAME"``, a recording path...).
    labels : str
        Where the labels came from.
    duration_s : float
        Seconds of EEG used.
    """

    features: list[np.ndarray]
    va: list[np.ndarray]
    source: str = ""
    labels: str = ""
    duration_s: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        """Labelled frames over all segments."""
        return int(sum(len(v) for v in self.va))


# ----------------------------------------------------------------------------------------------------------------
# the adaptation itself


def calibrate_chain(chain, features: Sequence[np.ndarray], va: Sequence[np.ndarray], *, full: bool = False,
                    steps: int | None = None, lr: float | None = None, anchor: float = 1e-2, seed: int = 0):
    """Adapt a trained chain to one person: normalisation statistics and readout (or everything with ``full``).

    Parameters
    ----------
    chain : EEGDancerChain
        The trained chain (not modified; a calibrated copy is returned).
    features : sequence of ndarray, shape (n_frames_i, n_chans, n_bands)
        Calibration feature frames per segment (raw band features, not normalised).
    va : sequence of ndarray, shape (n_frames_i, 2)
        Valence/arousal label per frame, in [-1, 1].
    full : bool
        Fine-tune every weight of the VQ-VAE encoder and the transformer, not only the readout.
    steps : int | None
        Gradient steps (full-batch over the calibration frames); 0 adapts the normalisation statistics only.
        None: :data:`DEFAULT_STEPS` (few steps are the regularisation: see the notes).
    lr : float | None
        Learning rate (None: :data:`DEFAULT_LR`).
    anchor : float
        Weight of the L2 pull of the adapted weights back to the parent's (per weight, mean squared difference).
    seed : int
        Seed of torch's generator during fitting (the fit itself uses no dropout).

    Returns
    -------
    chain : EEGDancerChain
        The calibrated copy (same SAC policy object).
    report : dict
        ``n_frames``, ``adapted``, ``steps``, ``loss`` (first, last), and ``before``/``after`` CCC and RMSE of the
        transformer output on the calibration frames.

    Raises
    ------
    CalibrationError
        Fewer than :data:`MIN_FRAMES` labelled frames, shapes that do not fit the chain, non-finite labels.
    """
    features = [np.asarray(f, dtype=np.float64) for f in features]
    va = [np.asarray(v, dtype=np.float64) for v in va]
    if len(features) != len(va) or not features:
        raise CalibrationError(f"expected one label array per feature segment (at least one), got {len(features)} "
                               f"feature and {len(va)} label arrays")
    shape = (chain.n_chans, chain.n_bands)
    for i, (f, v) in enumerate(zip(features, va)):
        if f.ndim != 3 or f.shape[1:] != shape or v.shape != (f.shape[0], 2):
            raise CalibrationError(f"segment {i}: expected features (n_frames, {shape[0]}, {shape[1]}) and labels "
                                   f"(n_frames, 2), got {f.shape} and {v.shape}")
        if not np.all(np.isfinite(v)):
            raise CalibrationError(f"segment {i}: labels must be finite, got {int((~np.isfinite(v)).sum())} "
                                   "NaN/inf values")
    n = sum(len(v) for v in va)
    if n < MIN_FRAMES:
        raise CalibrationError(f"expected at least {MIN_FRAMES} labelled frames to calibrate on, got {n} (record "
                               "longer: one frame per hop_s second)")
    mode = "full" if full else "readout"
    steps = DEFAULT_STEPS[mode] if steps is None else steps
    lr = DEFAULT_LR[mode] if lr is None else lr
    if steps < 0 or anchor < 0 or not lr > 0:
        raise ValueError(f"expected steps >= 0, anchor >= 0 and lr > 0, got {steps}, {anchor}, {lr}")
    return _calibrate(chain, features, va, bool(full), int(steps), float(lr), float(anchor), int(seed))


def _norm_stats(features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.concatenate(features, axis=0)
    stacked = np.where(np.isfinite(stacked), stacked, np.nan)
    mean = np.nanmean(stacked, axis=0)
    std = np.nanstd(stacked, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 1e-6), std, 1.0)
    return mean, std


def _calibrate(chain, features, va, full, steps, lr, anchor, seed):
    import torch

    from eegaffect.models.chain import EEGDancerChain

    mean, std = _norm_stats(features)
    model = copy.deepcopy(chain.model).eval()
    new = EEGDancerChain(model, mean, std, chain.optimizer)
    before = _fit_scores(chain, features, va)
    norm = [torch.from_numpy(new.normalise(f)).permute(1, 2, 0)[None] for f in features]
    targets = [torch.as_tensor(v, dtype=torch.float32)[None] for v in va]
    tr = model.transformer
    for p in model.parameters():
        p.requires_grad_(False)
    trainable = (list(model.vqvae.parameters()) + list(tr.parameters())) if full else \
        list(tr.va_head.parameters()) + list(tr.logvar_head.parameters())
    for p in trainable:
        p.requires_grad_(True)
    if model.vqvae.quantizer is not None:
        for p in model.vqvae.quantizer.parameters():  # the codebook (the learned prototypes) is kept
            p.requires_grad_(False)
        trainable = [p for p in trainable if p.requires_grad]
    parent = [p.detach().clone() for p in trainable]
    history: list[float] = []
    gen_state = torch.get_rng_state()
    torch.manual_seed(seed)
    try:
        with torch.no_grad():  # frozen trunk: its latents (readout only) are computed once
            latents = None if full else [model.vqvae.encode(x)["latent"] for x in norm]
        opt = torch.optim.Adam(trainable, lr=lr)
        for _ in range(steps):
            lat = [model.vqvae.encode(x)["latent"] for x in norm] if full else latents
            loss = sum(tr.regression_loss(z, y) * y.shape[1] for z, y in zip(lat, targets)) / sum(
                y.shape[1] for y in targets)
            loss = loss + anchor * sum(((p - p0) ** 2).mean() for p, p0 in zip(trainable, parent))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history.append(float(loss.detach()))
    finally:
        torch.set_rng_state(gen_state)
        for p in model.parameters():
            p.requires_grad_(False)
        model.eval()
    after = _fit_scores(new, features, va)
    report = {"n_frames": int(sum(len(v) for v in va)), "n_segments": len(va),
              "adapted": ["normalisation", "network" if full else "readout"], "steps": steps, "lr": lr,
              "anchor": anchor, "loss": [history[0], history[-1]] if history else None,
              "before": before, "after": after}
    logger.info("calibrated on %d frames: valence CCC %s -> %s, arousal CCC %s -> %s (calibration data, "
                "transformer output)", report["n_frames"], _fmt(before["valence_ccc"]), _fmt(after["valence_ccc"]),
                _fmt(before["arousal_ccc"]), _fmt(after["arousal_ccc"]))
    return new, report


def _fit_scores(chain, features, va) -> dict:
    from eegaffect.benchmark.metrics import ccc, rmse

    pred = np.concatenate([chain.run(f)["base_va"] for f in features]).astype(np.float64)
    true = np.concatenate(va)
    out = {}
    for k, name in enumerate(("valence", "arousal")):
        c = ccc(true[:, k], pred[:, k])
        out[f"{name}_ccc"] = float(c) if np.isfinite(c) else None
        out[f"{name}_rmse"] = float(rmse(true[:, k], pred[:, k]))
    return out


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


# ----------------------------------------------------------------------------------------------------------------
# writing the calibrated bundle


def calibrate_bundle(bundle: str | Path, out: str | Path, data: CalibrationData, *, full: bool = False,
                     steps: int | None = None, seed: int = 0, lr: float | None = None,
                     anchor: float = 1e-2) -> Path:
    """Calibrate a bundle on labelled frames and write the result as a new bundle.

    Parameters
    ----------
    bundle : str | Path
        The parent bundle (read with :meth:`~eegaffect.models.predictor.Predictor.load`; never modified).
    out : str | Path
        The new bundle's folder; must not exist or be empty.
    data : CalibrationData
        Labelled frames computed with the parent's pipeline (:func:`collect_recording`, :func:`collect_live`).
    full : bool
        Fine-tune the whole network (see :func:`calibrate_chain`).
    steps : int | None
        Gradient steps (None: :data:`DEFAULT_STEPS`).
    seed : int
        Seed.
    lr, anchor : float
        See :func:`calibrate_chain`.

    Returns
    -------
    out : Path
        The new bundle.

    Raises
    ------
    FileExistsError
        ``out`` exists and is not an empty folder (a calibrated bundle is never overwritten).
    CalibrationError
        Unusable calibration data.
    """
    bundle, out = Path(bundle), Path(out)
    check_out(out, bundle)
    from eegaffect.models.predictor import Predictor

    predictor = Predictor.load(bundle)
    chain, report = calibrate_chain(predictor.chain, data.features, data.va, full=full, steps=steps, seed=seed,
                                    lr=lr, anchor=anchor)
    return _write(predictor, bundle, out, chain, report, data)


def check_out(out: Path, bundle: Path | None = None) -> None:
    """Refuse an output folder that exists and is not empty, or that is the parent bundle itself."""
    out = Path(out)
    if bundle is not None and out.exists() and Path(bundle).exists() and out.resolve() == Path(bundle).resolve():
        raise FileExistsError(f"--out {out} is the parent bundle; a calibrated bundle goes to a new folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} already exists and is not an empty folder; a calibrated bundle is never "
                              "written over an existing one: choose a new --out")


def parent_checksum(bundle: str | Path) -> str:
    """sha256 of a bundle's ``bundle.json`` (which lists the sha256 of its weight files)."""
    from eegaffect._files import sha256_file

    return sha256_file(Path(bundle) / "bundle.json")


def _write(predictor, bundle: Path, out: Path, chain, report: dict, data: CalibrationData) -> Path:
    from eegaffect.models.bundle import save_bundle
    from eegaffect.models.config import TrainConfig

    meta = predictor.meta
    record = {"source": data.source, "labels": data.labels, "duration_s": float(data.duration_s),
              "n_frames": data.n_frames, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "parent": {"path": str(bundle.resolve()), "sha256": parent_checksum(bundle),
                         "calibration": meta.get("calibration")},
              **report, **data.extra}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_bundle(out, chain, config=TrainConfig.model_validate(meta["config"]), ch_names=meta["ch_names"],
                sfreq=float(meta["sfreq"]), class_names=meta.get("class_names", []), report=meta.get("report"),
                unit=meta.get("unit"), calibration=record)
    logger.info("calibrated bundle written to %s", out)
    return out


# ----------------------------------------------------------------------------------------------------------------
# calibration data: raw EEG + a label track -> labelled frames


def frames_with_labels(predictor, eeg: np.ndarray, sfreq: float, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feature frames of raw EEG (the bundle's pipeline) paired with labels by the project's one rule.

    Frames are stamped at their window's end (:func:`eegaffect.pipeline.frame_times`, the Predictor's stamps)
    and take the label track's value there (:func:`eegaffect.targets.frame_targets`); frames outside the track's
    span are left out.

    Parameters
    ----------
    predictor : Predictor
        The parent bundle, loaded.
    eeg : ndarray, shape (n_times, n_chans)
        Raw EEG in the bundle's channel order and unit, at ``sfreq``.
    sfreq : float
        Sampling rate of ``eeg``.
    labels : ndarray, shape (n_labels, 3)
        ``time_s, valence, arousal`` with ``time_s`` in seconds from the first sample of ``eeg``.

    Returns
    -------
    features : ndarray, shape (n_frames, n_chans, n_bands)
        Frames with a label.
    va : ndarray, shape (n_frames, 2)
        Their labels.
    """
    from eegaffect.pipeline import SignalPipeline
    from eegaffect.targets import frame_targets

    labels = np.asarray(labels, dtype=np.float64)
    if labels.ndim != 2 or labels.shape[1] != 3 or len(labels) < 2:
        raise CalibrationError(f"expected a label track of shape (n >= 2, 3) (time_s, valence, arousal), got "
                               f"{labels.shape}")
    labels = labels[np.argsort(labels[:, 0], kind="stable")]
    if np.any(np.diff(labels[:, 0]) <= 0) or not np.all(np.isfinite(labels[:, 0])):
        raise CalibrationError("label times (time_s) must be finite and strictly increasing")
    pipe = SignalPipeline(predictor.pipeline_config, n_chans=predictor.n_chans, sfreq_in=float(sfreq))
    frames = np.asarray(pipe.process(np.ascontiguousarray(eeg, dtype=np.float64)))
    frames = frames.reshape(-1, predictor.chain.n_chans, predictor.chain.n_bands)
    va = frame_targets(pipe.frame_times(len(frames)), labels[:, 0], labels[:, 1:3])
    keep = np.all(np.isfinite(va), axis=1)
    return frames[keep], va[keep]


def read_labels_csv(path: str | Path) -> np.ndarray:
    """A ``time_s, valence, arousal`` CSV as an array (n, 3) (the annotation format of the datasets)."""
    from eegaffect.datasets.base import DatasetFormatError, read_annotation_csv

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels file {path} does not exist")
    try:
        return np.asarray(read_annotation_csv(path), dtype=np.float64)
    except DatasetFormatError as exc:
        raise CalibrationError(str(exc)) from None


def _map_channels(ch_names, ch_units, meta, interpolate: int, ignore: Sequence[str], unit: str | None,
                  rename: dict | None = None):
    """The live session's channel map: by name, then the unit of the channels used (dropped ones may differ)."""
    import dataclasses

    from eegaffect.live.channels import match_channels
    from eegaffect.live.session import UNIT_SCALES

    cmap = match_channels(ch_names, meta["ch_names"], ignore=list(ignore), max_interpolated=interpolate,
                          rename=rename)
    want, have = meta.get("unit"), unit
    if have is None:
        units = {str(ch_units[p]).lower() for p in cmap.picks if 0 <= p < len(ch_units) and ch_units[p]}
        have = units.pop() if len(units) == 1 else None
    if want is not None and have is not None and str(want).lower() in UNIT_SCALES \
            and str(have).lower() in UNIT_SCALES:
        cmap = dataclasses.replace(cmap, scale=UNIT_SCALES[str(have).lower()] / UNIT_SCALES[str(want).lower()])
    logger.log(logging.WARNING if cmap.interpolated else logging.INFO, "%s", cmap.describe())
    return cmap


def collect_recording(bundle: str | Path, path: str | Path, labels: str | Path | None = None, *,
                      duration: float | None = None, interpolate: int = 0, ignore: Sequence[str] = (),
                      unit: str | None = None, stream: str | None = None,
                      rename: dict | None = None) -> CalibrationData:
    """Labelled frames from a recording file (HDF5, XDF, EDF, ...).

    Parameters
    ----------
    bundle : str | Path
        The parent bundle.
    path : str | Path
        The recording.
    labels : str | Path | None
        A ``time_s, valence, arousal`` CSV (times from the recording's first EEG sample); None: the recording's
        own annotation (its ground-truth stream, or the CSV beside it; see :mod:`eegaffect.datasets.recording`).
    duration : float | None
        Use only the first ``duration`` seconds (None: all).
    interpolate : int
        Most missing model channels interpolated.
    ignore : sequence of str
        Recording channels to drop.
    unit : str | None
        Unit of the samples when the file does not say.
    stream : str | None
        Stream to read from an HDF5/XDF file (None: its EEG stream).
    rename : dict | None
        Explicit recording channel -> model channel names.

    Returns
    -------
    data : CalibrationData
    """
    from eegaffect.datasets import load_dataset
    from eegaffect.models.predictor import Predictor
    from eegaffect.recordings import open_recording

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"recording {path} does not exist")
    if duration is not None and not duration > 0:
        raise CalibrationError(f"--duration must be > 0 seconds, got {duration}")
    predictor = Predictor.load(bundle)
    ds = load_dataset(path, "recording", stream=stream) if stream else load_dataset(path, "recording")
    trial = ds.trials[0]
    info = trial.info
    header = open_recording(path)
    units = _units_of(header, info)
    if labels is not None:
        track, label_src = read_labels_csv(labels), str(labels)
    else:
        track = trial.continuous_targets()
        if track is None:
            raise CalibrationError(f"{path} has no ground-truth stream (type AffectTruth) and no annotation CSV "
                                   "beside it; give the labels with --labels FILE.csv (time_s, valence, arousal)")
        label_src = f"{path} (recorded ground truth)"
    cmap = _map_channels(info.ch_names, units, predictor.meta, interpolate, ignore, unit, rename)
    raw = trial.load()
    if duration is not None:
        raw = raw[: round(duration * info.sfreq)]
    eeg = cmap.apply(raw)
    features, va = frames_with_labels(predictor, eeg, info.sfreq, track)
    return CalibrationData([features], [va], source=str(path), labels=label_src,
                           duration_s=len(eeg) / float(info.sfreq),
                           extra={"interpolated": list(cmap.interpolated)})


def _units_of(header, info) -> list[str]:
    stream = header.streams.get(info.key) if info.key is not None else None
    if stream is None:
        return []
    units = list(getattr(stream, "ch_units", []) or [])
    keep = set(info.ch_names)
    names = list(stream.ch_names)
    return [u for n, u in zip(names, units) if n in keep] if len(units) == len(names) else units


def collect_live(bundle: str | Path, stream: str, labels: str | Path | None, duration: float, *,
                 interpolate: int = 0, ignore: Sequence[str] = (), unit: str | None = None,
                 timeout: float = 10.0, rename: dict | None = None) -> CalibrationData:
    """Record ``duration`` seconds of a live EEG stream with its labels, then return labelled frames.

    Parameters
    ----------
    bundle : str | Path
        The parent bundle.
    stream : str
        Name of the EEG stream.
    labels : str | Path | None
        ``"truth"`` or None: the stream ``{stream}-truth`` (type ``AffectTruth``, what ``eegaffect simulate``
        publishes); a path ending in ``.csv``: ``time_s, valence, arousal`` with ``time_s`` in seconds from the
        first calibration sample (the stimulus schedule); any other text: the name of an ``AffectTruth`` stream.
    duration : float
        Seconds of EEG to collect.
    interpolate, ignore, unit, rename
        As for ``eegaffect live``.
    timeout : float
        Seconds to wait for the streams.

    Returns
    -------
    data : CalibrationData
    """
    from eegaffect.acquisition.lsl import INDEX_CHANNEL_NAME, Stream
    from eegaffect.models.predictor import Predictor

    if not duration > 0:
        raise CalibrationError(f"--duration must be > 0 seconds, got {duration}")
    predictor = Predictor.load(bundle)
    csv_track = None
    truth_name = f"{stream}-truth"
    if labels is not None and str(labels) != "truth":
        if str(labels).lower().endswith(".csv"):
            csv_track = read_labels_csv(labels)
        else:
            truth_name = str(labels)
    eeg = Stream(name=stream, timeout=timeout, bufsize=max(30.0, duration + 10.0), require_regular=True,
                 index_channel="auto", dejitter=False)
    truth = None
    eeg.connect()
    try:
        if csv_track is None:
            truth = Stream(name=truth_name, type="AffectTruth", timeout=timeout, bufsize=max(30.0, duration + 10.0),
                           index_channel=None, dejitter=False).connect()
        ignore = list(ignore) + ([eeg.ch_names[eeg.index_channel]] if eeg.index_channel is not None
                                 else [INDEX_CHANNEL_NAME])
        units = list(eeg.ch_units)  # aligned with eeg.ch_names, which the channel map indexes
        cmap = _map_channels(eeg.ch_names, units, predictor.meta, interpolate, ignore, unit, rename)
        eeg.skip_start_burst(1.0)
        if truth is not None:
            truth.read_new()
        logger.info("calibration: collecting %.0f s of %r with labels from %s", duration, stream,
                    "a CSV" if truth is None else repr(truth.name))
        data, ts, t_data, t_ts = _collect(eeg, truth, duration, eeg.sfreq)
    finally:
        eeg.disconnect()
        if truth is not None:
            truth.disconnect()
    if len(ts) < 2:
        raise CalibrationError(f"stream {stream!r} delivered {len(ts)} samples in {duration:g} s; expected a "
                               "flowing EEG stream")
    if truth is not None:
        if len(t_ts) < 2:
            raise CalibrationError(f"label stream {truth_name!r} delivered {len(t_ts)} samples in {duration:g} s")
        # label times as seconds of EEG since the first sample, through the EEG's own stamps (so a replay faster
        # or slower than real time pairs labels with the samples they were pushed with)
        pos = np.interp(t_ts, ts, np.arange(len(ts), dtype=np.float64), left=np.nan, right=np.nan)
        keep = np.isfinite(pos)
        track = np.column_stack([pos[keep] / eeg.sfreq, np.asarray(t_data, np.float64)[keep, :2]])
        label_src = f"lsl:{truth_name}"
    else:
        track, label_src = csv_track, str(labels)
    x = cmap.apply(data)
    features, va = frames_with_labels(predictor, x, eeg.sfreq, track)
    return CalibrationData([features], [va], source=f"lsl:{stream}", labels=label_src,
                           duration_s=len(x) / float(eeg.sfreq), extra={"interpolated": list(cmap.interpolated)})


def _collect(eeg, truth, duration: float, sfreq: float):
    need = round(duration * sfreq)
    parts, stamps, t_parts, t_stamps = [], [], [], []
    got = 0
    deadline = time.monotonic() + duration + 10.0
    while got < need and time.monotonic() < deadline:
        eeg.wait(timeout=0.5, n_samples=1)
        d, ts = eeg.read_new()
        if len(ts):
            parts.append(np.asarray(d, np.float64))
            stamps.append(np.asarray(ts, np.float64))
            got += len(ts)
        if truth is not None:
            td, tts = truth.read_new()
            if len(tts):
                t_parts.append(np.asarray(td, np.float64))
                t_stamps.append(np.asarray(tts, np.float64))
    if truth is not None:
        td, tts = truth.read_new()
        if len(tts):
            t_parts.append(np.asarray(td, np.float64))
            t_stamps.append(np.asarray(tts, np.float64))
    data = np.concatenate(parts)[:need] if parts else np.zeros((0, eeg.n_chans))
    ts = np.concatenate(stamps)[:need] if stamps else np.zeros(0)
    t_data = np.concatenate(t_parts) if t_parts else np.zeros((0, 2))
    t_ts = np.concatenate(t_stamps) if t_stamps else np.zeros(0)
    return data, ts, t_data, t_ts


def score_recording(bundle: str | Path, path: str | Path, stream: str | None = None) -> dict:
    """CCC and RMSE of a bundle run offline over a recording, against the recording's ground truth.

    The recording is read as :func:`collect_recording` reads it (the EEG stream, its ground-truth stream or
    annotation CSV), its channels mapped by name as a live session maps them, and the bundle run from a fresh
    start with :meth:`~eegaffect.models.predictor.Predictor.predict`; each output is paired with the truth at its
    stamp.

    Parameters
    ----------
    bundle : str | Path
        The bundle to score.
    path : str | Path
        A recording with a ground truth (e.g. the ``session.h5`` of ``eegaffect live --record``).
    stream : str | None
        Name of its EEG stream (None: its one stream of type EEG).

    Returns
    -------
    scores : dict
        ``valence_ccc``, ``arousal_ccc`` (None where undefined), ``valence_rmse``, ``arousal_rmse``,
        ``n_frames``.
    """
    from eegaffect.benchmark.metrics import ccc, rmse
    from eegaffect.datasets import load_dataset
    from eegaffect.live.channels import match_channels
    from eegaffect.models.predictor import Predictor
    from eegaffect.targets import frame_targets

    trial = (load_dataset(path, "recording", stream=stream) if stream else load_dataset(path, "recording")).trials[0]
    track = trial.continuous_targets()
    if track is None:
        raise CalibrationError(f"{path} has no ground truth to score against")
    parent = Predictor.load(bundle)
    cmap = match_channels(trial.info.ch_names, parent.meta["ch_names"], max_interpolated=8)
    pred = Predictor.load(bundle, sfreq=trial.info.sfreq).predict(cmap.apply(trial.load()))
    true = frame_targets(pred.time_s, track[:, 0], track[:, 1:3])
    keep = np.all(np.isfinite(true), axis=1) & np.all(np.isfinite(pred.va), axis=1)
    out: dict = {"n_frames": int(keep.sum())}
    for k, name in enumerate(("valence", "arousal")):
        c = ccc(true[keep, k], pred.va[keep, k]) if keep.sum() > 1 else float("nan")
        out[f"{name}_ccc"] = float(c) if np.isfinite(c) else None
        out[f"{name}_rmse"] = float(rmse(true[keep, k], pred.va[keep, k])) if keep.any() else None
    return out
