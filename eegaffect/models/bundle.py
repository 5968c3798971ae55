"""The trained-model bundle format: writing it (:func:`save_bundle`) and reading it back (:func:`read_bundle`,
:func:`load_chain`). The :class:`~eegaffect.models.predictor.Predictor` (re-exported here) is the one way to run one.

A bundle is a directory::

    bundle.json            format name + version, training config, ch_names, sfreq (input rate), bands,
                           model sizes, normalisation statistics (fitted on the training data), class names,
                           sha256 checksums of the other files, training report (losses, codebook health)
    weights.safetensors    VQ-VAE + transformer state (safetensors)
    sac_policy.zip         the SAC policy (stable-baselines3 zip), when the chain has one

A fused bundle (format version 2) also has ``modalities``: whether the EEG is used, per physiological kind its
feature names, normalisation, device rate, decision delay and as-of lag, the as-of rule's margin and
``max_late_frames``, and the physiological signal path's config (:meth:`~eegaffect.models.fusion.PhysioSpec.to_json`),
and ``model.fusion`` (the encoders' sizes). EEG-only bundles have neither and keep format version 1.

:meth:`Predictor.load` validates all of it (format and version, missing files, checksums, channels) with errors
that say what was expected and what was found. ``Predictor.predict(recording)`` (offline) and
``Predictor.step(chunk)`` (live) run raw EEG ``(n_times, n_chans)`` through the same
:class:`~eegaffect.pipeline.SignalPipeline` and the same frame-by-frame chain, so they return identical outputs
for the same samples, however the live stream is chunked.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from eegaffect import __version__
from eegaffect._files import sha256_file
from eegaffect.errors import UserInputError
from eegaffect.models.config import TrainConfig, model_transformer_kwargs, model_vqvae_kwargs
from eegaffect.montage import channel_key

__all__ = ["BUNDLE_FORMAT", "BUNDLE_VERSION", "FUSED_BUNDLE_VERSION", "BundleError", "save_bundle", "read_bundle",
           "load_chain", "check_channels"]

BUNDLE_FORMAT = "eegaffect-bundle"
#: Format version of an EEG-only bundle (unchanged since the first one, so older eegaffect versions read it).
BUNDLE_VERSION = 1
#: Format version of a fused bundle (expects physiological modalities: ``modalities`` and ``model.fusion``); the
#: version is the oldest reader that understands a bundle, so an older eegaffect refuses it with a clear message.
FUSED_BUNDLE_VERSION = 2
_SUPPORTED_VERSIONS = (BUNDLE_VERSION, FUSED_BUNDLE_VERSION)
_WEIGHTS = "weights.safetensors"
_POLICY = "sac_policy.zip"


class BundleError(UserInputError):
    """A bundle is missing, corrupt, of another version, or does not match the data it is given."""


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

    if len(ch_names) != chain.n_chans:
        raise ValueError(f"expected {chain.n_chans} channel names (the model's n_chans), got {len(ch_names)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in chain.model.state_dict().items()}
    save_safetensors(state, out / _WEIGHTS)
    files = {_WEIGHTS: sha256_file(out / _WEIGHTS)}
    if chain.optimizer is not None:
        chain.optimizer.save(out / _POLICY)
        files[_POLICY] = sha256_file(out / _POLICY)
    elif (out / _POLICY).exists():
        (out / _POLICY).unlink()
    model = chain.model
    fused = getattr(chain, "physio", None) is not None
    doc = {
        "format": BUNDLE_FORMAT,
        "format_version": FUSED_BUNDLE_VERSION if fused else BUNDLE_VERSION,
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
                  "transformer": model_transformer_kwargs(config.transformer),
                  "smooth_s": chain.smooth_s, "hop_s": chain.hop_s, "smooth_trend_s": chain.trend_s,
                  "smooth_labels": chain.smooth_labels},
        "normalisation": {"mean": chain.mean.tolist(), "std": chain.std.tolist()},
        "sac": ({"action_scale": chain.optimizer.action_scale, "obs_clip": chain.optimizer.obs_clip}
                if chain.optimizer is not None else None),
        "files": files,
        "report": _jsonable(report or {}),
    }
    if fused:
        doc["model"]["fusion"] = {"kinds": list(model.fusion.kinds), "n_features": list(model.fusion.n_features),
                                  "hidden": model.fusion.hidden}
        doc["modalities"] = _jsonable(chain.physio.to_json())
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


def read_bundle(path: str | Path, ch_names: Sequence[str] | None = None) -> dict:
    """Read and validate a bundle's ``bundle.json`` and its files.

    Parameters
    ----------
    path : str | Path
        Bundle directory.
    ch_names : sequence of str | None
        Channel names of the data that will be fed, checked against the bundle's (:func:`check_channels`).

    Returns
    -------
    doc : dict
        The parsed ``bundle.json``.

    Raises
    ------
    BundleError
        Missing directory or file, wrong format or version, checksum mismatch, channel mismatch.
    """
    path = Path(path)
    doc = _read_bundle_json(path)
    _check_files(path, doc)
    if ch_names is not None:
        check_channels(doc["ch_names"], ch_names)
    return doc


def load_chain(path: str | Path, doc: dict):
    """Build the trained chain a validated bundle describes (weights, normalisation, SAC policy).

    Parameters
    ----------
    path : str | Path
        Bundle directory.
    doc : dict
        Its ``bundle.json`` from :func:`read_bundle`.

    Returns
    -------
    chain : EEGDancerChain
    config : TrainConfig
        The config it was trained with.
    """
    from safetensors.torch import load_file

    from eegaffect.models.chain import EEGDancer, EEGDancerChain

    path = Path(path)
    config = TrainConfig.model_validate(doc["config"])
    m = doc["model"]
    vq_kwargs = dict(m["vqvae"])
    vq_kwargs["dilations"] = tuple(vq_kwargs["dilations"])
    model = EEGDancer(m["n_chans"], m["n_bands"], n_outputs=m["n_outputs"], sfreq=m["sfreq"],
                      n_classes=m["n_classes"], vqvae=vq_kwargs, transformer=m["transformer"],
                      fusion=m.get("fusion"))
    physio = None
    if m.get("fusion"):
        from eegaffect.models.fusion import PhysioSpec

        try:
            physio = PhysioSpec.from_json(doc["modalities"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{path / 'bundle.json'}: the 'modalities' section of a fused bundle is missing or "
                              f"malformed ({type(exc).__name__}: {exc})") from None
        if physio.kinds != list(m["fusion"]["kinds"]):
            raise BundleError(f"{path / 'bundle.json'}: modalities {physio.kinds} do not match the model's fused kinds "
                              f"{m['fusion']['kinds']}")
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
                           np.asarray(doc["normalisation"]["std"]), optimizer,
                           smooth_s=float(m.get("smooth_s", 0.0)), hop_s=float(m.get("hop_s", 1.0)),
                           trend_s=float(m.get("smooth_trend_s", 0.0)),
                           smooth_labels=bool(m.get("smooth_labels", False)), physio=physio)
    return chain, config


def __getattr__(name: str):
    # Predictor and Prediction live in eegaffect.models.predictor (which imports this module): still importable
    # from here, lazily, so neither module imports the other at module level
    if name in ("Predictor", "Prediction"):
        from eegaffect.models import predictor

        return getattr(predictor, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        got = doc.get("format") if isinstance(doc, dict) else doc
        raise BundleError(f"{jp}: expected format {BUNDLE_FORMAT!r}, got {got!r}")
    if doc.get("format_version") not in _SUPPORTED_VERSIONS:
        raise BundleError(f"{jp}: bundle format version {doc.get('format_version')!r} is not supported by "
                          f"eegaffect {__version__} (expected one of {list(_SUPPORTED_VERSIONS)}); retrain or use a "
                          "matching eegaffect version")
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
        got = sha256_file(f)
        if got != digest:
            raise BundleError(f"bundle {path}: checksum mismatch for {name}: expected sha256 {digest[:16]}..., "
                              f"got {got[:16]}... (file changed or corrupt)")


def check_channels(expected: Sequence[str], got: Sequence[str]) -> None:
    """Check that ``got`` names the bundle's channels ``expected``, in order (names compared by
    :func:`eegaffect.montage.channel_key`).

    Raises
    ------
    BundleError
        Naming the missing and extra channels, or the order when only it differs.
    """
    exp_u, got_u = [channel_key(c) for c in expected], [channel_key(c) for c in got]
    if exp_u == got_u:
        return
    missing = [c for c, u in zip(expected, exp_u) if u not in got_u]
    extra = [c for c, u in zip(got, got_u) if u not in exp_u]
    if not missing and not extra:
        raise BundleError(f"channel order differs from the bundle's: expected {list(expected)}, got {list(got)}")
    raise BundleError(f"expected {len(expected)} channels matching the bundle, got {len(got)} "
                      f"(missing: {missing[:10]}, extra: {extra[:10]})")
