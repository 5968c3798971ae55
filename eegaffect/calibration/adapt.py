"""Adapting a trained chain to one person (normalisation statistics, then the readout or every weight),
and writing the calibrated bundle with its ``calibration`` record (see :mod:`eegaffect.calibration`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eegaffect._logging import logger
from eegaffect.calibration.base import (
    DEFAULT_LR,
    DEFAULT_STEPS,
    MIN_FRAMES,
    CalibrationData,
    CalibrationError,
)

__all__ = ["calibrate_chain", "calibrate_bundle", "check_out", "parent_checksum"]


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
