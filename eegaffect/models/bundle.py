"""Trained-model bundles and the :class:`Predictor`, the one way to run a trained chain.

A bundle is a directory::

    bundle.json            format name + version, training config, ch_names, sfreq (input rate), bands,
                           model sizes, normalisation statistics (fitted on the training data), class names,
                           sha256 checksums of the other files, training report (losses, codebook health)
    weights.safetensors    VQ-VAE + transformer state (safetensors)
    sac_policy.zip         the SAC policy (stable-baselines3 zip), when the chain has one

:meth:`Predictor.load` validates all of it (format and version, missing files, checksums, channels) with errors
that say what was expected and what was found. ``Predictor.predict(recording)`` (offline) and
``Predictor.step(chunk)`` (live) run raw EEG ``(n_times, n_chans)`` through the same
:class:`~eegaffect.pipeline.SignalPipeline` and the same frame-by-frame chain, so they return identical outputs
for the same samples, however the live stream is chunked.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from eegaffect import __version__

__all__ = ["BUNDLE_FORMAT", "BUNDLE_VERSION", "BundleError", "save_bundle", "Predictor", "Prediction"]

BUNDLE_FORMAT = "eegaffect-bundle"
BUNDLE_VERSION = 1
_WEIGHTS = "weights.safetensors"
_POLICY = "sac_policy.zip"


class BundleError(ValueError):
    """A bundle is missing, corrupt, of another version, or does not match the data it is given."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_bundle(out: str | Path, chain, *, config, ch_names: Sequence[str], sfreq: float,
                class_names: Sequence[str] = (), report: dict | None = None, unit: str | None = None,
                calibration: dict | None = None) -> Path:
    """Write a trained chain as a bundle directory.

    Parameters
    ----------
    out : str | Path
        Bundle directory (created; existing bundle files are replaced).
    chain : EEGDancerChain
        The trained chain.
    config : TrainConfig
        The config it was trained with.
    ch_names : sequence of str
        Input channel names, in column order (``n_chans`` of the model).
    sfreq : float
        Sampling rate in Hz of the raw input the bundle expects.
    class_names : sequence of str
        Names of the class head's classes.
    report : dict | None
        Training report stored for reference.
    unit : str | None
        Unit of the raw input samples the model was trained on (``"uV"``, ``"V"``...), stored as ``"unit"`` so a
        live session can convert a stream given in another unit; None when unknown.
    calibration : dict | None
        What a per-user calibration adapted and on what (see :mod:`eegaffect.calibration`), stored as
        ``"calibration"``; None for a bundle straight from training.

    Returns
    -------
    out : Path
    """
    from eegaffect._files import save_safetensors
    from eegaffect.models.training import model_transformer_kwargs, model_vqvae_kwargs

    if len(ch_names) != chain.n_chans:
        raise ValueError(f"expected {chain.n_chans} channel names (the model's n_chans), got {len(ch_names)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in chain.model.state_dict().items()}
    save_safetensors(state, out / _WEIGHTS)
    files = {_WEIGHTS: _sha256(out / _WEIGHTS)}
    if chain.optimizer is not None:
        chain.optimizer.save(out / _POLICY)
        files[_POLICY] = _sha256(out / _POLICY)
    elif (out / _POLICY).exists():
        (out / _POLICY).unlink()
    model = chain.model
    doc = {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_VERSION,
        "eegaffect_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": config.model_dump(mode="json"),
        "ch_names": list(ch_names),
        "sfreq": float(sfreq),
        "unit": unit,
        "bands": [b.model_dump(mode="json") for b in config.pipeline.features.bands],
        "class_names": list(class_names),
        "model": {"n_chans": model.n_chans, "n_bands": model.n_bands, "n_outputs": model.n_outputs,
                  "sfreq": model.sfreq,
                  "n_classes": model.transformer.n_classes,
                  "vqvae": {**model_vqvae_kwargs(config.vqvae, config.seed),
                            "dilations": list(config.vqvae.dilations)},
                  "transformer": model_transformer_kwargs(config.transformer)},
        "normalisation": {"mean": chain.mean.tolist(), "std": chain.std.tolist()},
        "sac": ({"action_scale": chain.optimizer.action_scale, "obs_clip": chain.optimizer.obs_clip}
                if chain.optimizer is not None else None),
        "files": files,
        "report": _jsonable(report or {}),
    }
    if calibration is not None:
        doc["calibration"] = _jsonable(calibration)
    tmp = out / "bundle.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    tmp.replace(out / "bundle.json")
    return out


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if isinstance(obj, (int, float, str, bool)) or obj is None:
        return obj
    return str(obj)


@dataclass
class Prediction:
    """Per-step outputs of a :class:`Predictor`.

    Attributes
    ----------
    time_s : ndarray, shape (n_steps,)
        End time of each feature frame in seconds since the start of the stream/recording.
    va : ndarray, shape (n_steps, 2)
        Valence, arousal in [-1, 1] (after the SAC optimiser when the bundle has one).
    base_va : ndarray, shape (n_steps, 2)
        The transformer's valence/arousal before SAC.
    confidence : ndarray, shape (n_steps,)
        ``1 / (1 + sigma)`` from the transformer's variance head, in (0, 1].
    code : ndarray of int, shape (n_steps,)
        The VQ-VAE code ("emotional prototype") of each step; -1 without a quantiser.
    """

    time_s: np.ndarray
    va: np.ndarray
    base_va: np.ndarray
    confidence: np.ndarray
    code: np.ndarray

    def __len__(self) -> int:
        return len(self.time_s)

    @classmethod
    def concatenate(cls, parts: Sequence["Prediction"]) -> "Prediction":
        """Join predictions of consecutive chunks."""
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                     ("time_s", "va", "base_va", "confidence", "code")))


class Predictor:
    """A loaded bundle: raw EEG in, per-step valence/arousal out, offline or live.

    Build it with :meth:`load`.
    """

    def __init__(self, chain, pipeline_config, ch_names: Sequence[str], sfreq: float, meta: dict):
        self.chain = chain
        self.pipeline_config = pipeline_config
        self.ch_names = list(ch_names)
        self.sfreq = float(sfreq)
        self.meta = meta
        self._frame_hop_s = pipeline_config.features.hop_s
        self._frame_win_s = pipeline_config.features.window_s
        self.reset()

    @property
    def n_chans(self) -> int:
        """Number of input channels."""
        return len(self.ch_names)

    @property
    def band_names(self) -> list[str]:
        """Band names of the feature frames."""
        return [b.name for b in self.pipeline_config.features.bands]

    @classmethod
    def load(cls, path: str | Path, ch_names: Sequence[str] | None = None,
             sfreq: float | None = None) -> "Predictor":
        """Load and validate a bundle.

        Parameters
        ----------
        path : str | Path
            Bundle directory.
        ch_names : sequence of str | None
            Channel names of the data that will be fed (e.g. the LSL stream's); checked against the bundle's,
            case-insensitively and in order.
        sfreq : float | None
            Sampling rate of the data that will be fed; the pipeline resamples it to the bundle's processing rate.
            None: the bundle's training input rate.

        Returns
        -------
        predictor : Predictor

        Raises
        ------
        BundleError
            Missing directory or file, wrong format or version, checksum mismatch, channel mismatch.
        """
        path = Path(path)
        doc = _read_bundle_json(path)
        _check_files(path, doc)
        if ch_names is not None:
            _check_channels(doc["ch_names"], ch_names)
        if sfreq is not None and not float(sfreq) > 0:
            raise BundleError(f"sfreq must be positive, got {sfreq}")
        return cls._build(path, doc, float(sfreq) if sfreq is not None else float(doc["sfreq"]))

    @classmethod
    def _build(cls, path: Path, doc: dict, sfreq: float) -> "Predictor":
        from safetensors.torch import load_file

        from eegaffect.models.chain import EEGDancer, EEGDancerChain
        from eegaffect.models.training import TrainConfig

        config = TrainConfig.model_validate(doc["config"])
        m = doc["model"]
        vq_kwargs = dict(m["vqvae"])
        vq_kwargs["dilations"] = tuple(vq_kwargs["dilations"])
        model = EEGDancer(m["n_chans"], m["n_bands"], n_outputs=m["n_outputs"], sfreq=m["sfreq"],
                          n_classes=m["n_classes"], vqvae=vq_kwargs, transformer=m["transformer"])
        state = load_file(str(path / _WEIGHTS))
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise BundleError(f"{path / _WEIGHTS}: weights do not match the model described in bundle.json: "
                              f"{exc}") from None
        if model.vqvae.quantizer is not None:
            model.vqvae.quantizer.initialised.fill_(True)
        optimizer = None
        if doc.get("sac"):
            from eegaffect.models.sac import TrajectoryOptimizer

            optimizer = TrajectoryOptimizer.load(path / _POLICY, doc["sac"]["action_scale"], doc["sac"]["obs_clip"])
        chain = EEGDancerChain(model, np.asarray(doc["normalisation"]["mean"]),
                               np.asarray(doc["normalisation"]["std"]), optimizer)
        return cls(chain, config.pipeline, doc["ch_names"], sfreq, doc)

    def _new_pipeline(self):
        from eegaffect.pipeline import SignalPipeline

        return SignalPipeline(self.pipeline_config, n_chans=self.n_chans, sfreq_in=self.sfreq)

    def reset(self) -> None:
        """Start a new live stream (fresh filters, feature windows, model state)."""
        self._pipeline = self._new_pipeline()
        self._stream = self.chain.stream()
        self._n_frames = 0

    def _check(self, x: np.ndarray, what: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_chans:
            raise BundleError(f"{what}: expected shape (n_times, {self.n_chans}) with the bundle's channels "
                              f"{self.ch_names[:3]}..., got {x.shape}")
        return np.ascontiguousarray(x, dtype=np.float64)

    def _frames_to_prediction(self, frames: np.ndarray, stream, first: int) -> Prediction:
        frames = np.asarray(frames).reshape(-1, self.chain.n_chans, self.chain.n_bands)
        out = stream.step(frames)
        k = np.arange(first, first + len(frames))
        return Prediction(time_s=k * self._frame_hop_s + self._frame_win_s, va=out["va"], base_va=out["base_va"],
                          confidence=out["confidence"], code=out["code"])

    def step(self, chunk: np.ndarray) -> Prediction:
        """Live: feed the next raw samples; returns the steps completed by this chunk (possibly none).

        Parameters
        ----------
        chunk : ndarray, shape (n_times, n_chans)
            Next samples at ``sfreq``, channels in the bundle's order.

        Returns
        -------
        prediction : Prediction
            One row per feature frame completed by this chunk.
        """
        chunk = self._check(chunk, "step(chunk)")
        frames = self._pipeline.step(chunk)
        pred = self._frames_to_prediction(frames, self._stream, self._n_frames)
        self._n_frames += len(pred)
        return pred

    def predict(self, recording: np.ndarray) -> Prediction:
        """Offline: a whole recording through the same pipeline and frame-by-frame chain as :meth:`step`.

        Parameters
        ----------
        recording : ndarray, shape (n_times, n_chans)

        Returns
        -------
        prediction : Prediction
            Identical to concatenating :meth:`step` over any chunking of the same samples from a fresh start.
        """
        recording = self._check(recording, "predict(recording)")
        frames = self._new_pipeline().process(recording)
        return self._frames_to_prediction(frames, self.chain.stream(), 0)

    def predict_features(self, features: np.ndarray) -> Prediction:
        """Offline from precomputed feature frames (n_steps, n_chans, n_bands) through the same chain."""
        return self._frames_to_prediction(features, self.chain.stream(), 0)


def _read_bundle_json(path: Path) -> dict:
    if not path.is_dir():
        raise BundleError(f"bundle directory {path} does not exist")
    jp = path / "bundle.json"
    if not jp.is_file():
        raise BundleError(f"{path} is not a bundle: bundle.json is missing (expected bundle.json, {_WEIGHTS}"
                          f"[, {_POLICY}])")
    try:
        doc = json.loads(jp.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BundleError(f"{jp}: not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{jp}: expected format {BUNDLE_FORMAT!r}, got {doc.get('format') if isinstance(doc, dict) else doc!r}")
    if doc.get("format_version") != BUNDLE_VERSION:
        raise BundleError(f"{jp}: bundle format version {doc.get('format_version')!r} is not supported by "
                          f"eegaffect {__version__} (expected version {BUNDLE_VERSION}); retrain or use a matching "
                          "eegaffect version")
    missing = [k for k in ("config", "ch_names", "sfreq", "bands", "model", "normalisation", "files") if k not in doc]
    if missing:
        raise BundleError(f"{jp}: missing keys {missing}")
    return doc


def _check_files(path: Path, doc: dict) -> None:
    expected = dict(doc["files"])
    if _WEIGHTS not in expected:
        raise BundleError(f"{path / 'bundle.json'}: lists no {_WEIGHTS}")
    if doc.get("sac") and _POLICY not in expected:
        raise BundleError(f"{path / 'bundle.json'}: has a SAC section but lists no {_POLICY}")
    for name, digest in expected.items():
        f = path / name
        if not f.is_file():
            raise BundleError(f"bundle {path}: file {name} is missing (listed in bundle.json)")
        got = _sha256(f)
        if got != digest:
            raise BundleError(f"bundle {path}: checksum mismatch for {name}: expected sha256 {digest[:16]}..., "
                              f"got {got[:16]}... (file changed or corrupt)")


def _check_channels(expected: Sequence[str], got: Sequence[str]) -> None:
    exp_u, got_u = [c.upper() for c in expected], [str(c).upper() for c in got]
    if exp_u == got_u:
        return
    missing = [c for c, u in zip(expected, exp_u) if u not in got_u]
    extra = [c for c, u in zip(got, got_u) if u not in exp_u]
    if not missing and not extra:
        raise BundleError(f"channel order differs from the bundle's: expected {list(expected)}, got {list(got)}")
    raise BundleError(f"expected {len(expected)} channels matching the bundle, got {len(got)} "
                      f"(missing: {missing[:10]}, extra: {extra[:10]})")
