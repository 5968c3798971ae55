"""Adapting a trained chain to one person (normalisation statistics, then the readout or every weight),
and writing the calibrated bundle with its ``calibration`` record (see :mod:`eegaffect.calibration`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
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

__all__ = ["SMOOTH_FACTORS", "calibrate_chain", "calibrate_bundle", "check_out", "parent_checksum"]


# ----------------------------------------------------------------------------------------------------------------
# the adaptation itself


def calibrate_chain(chain, features: Sequence[np.ndarray], va: Sequence[np.ndarray], *, full: bool = False,
                    steps: int | None = None, lr: float | None = None, anchor: float = 1e-2, seed: int = 0,
                    physio: Sequence[Mapping[str, np.ndarray]] | None = None, match_rate: float | None = 1.5,
                    rescale: bool = True, physio_rescale: bool = False):
    """Adapt a trained chain to one person: normalisation statistics and readout (or everything with ``full``),
    then the output smoother's time constants.

    A fused chain (:mod:`eegaffect.models.fusion`) is adapted the same way on its fused latent (the sum of the EEG
    latent and the physiological encodings that the transformer reads): the EEG statistics and, per physiological
    feature, the mean of its finite calibration values (the person's offset: resting heart rate, skin-conductance
    level; with ``physio_rescale`` the standard deviation too) are recomputed, and the readout is fitted on the
    fused latents; the encoders and the missing embeddings are kept (``full`` fine-tunes them with the rest). A
    fused chain that takes some outputs from its EEG pass (``PhysioSpec.eeg_pass_outputs``) has those outputs'
    readout fitted on the EEG pass's latents (every physiological kind missing), as it predicts them.

    The refitted readout passes more frame-to-frame noise than the parent's, so after the fit the smoother's
    level and trend time constants (kept in their ratio) are scaled by the smallest factor of
    :data:`SMOOTH_FACTORS` whose output on the calibration frames moves at most ``match_rate`` times as fast as
    the calibration labels (mean ``|change|`` per second, valence and arousal); the parent's constants when they
    already do, the largest factor when none does. Only calibration data are used.

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
    physio : sequence of mapping of str to ndarray, shape (n_frames_i, n_features_k) | None
        A fused chain's physiological frames per segment, already paired with the EEG frames by the as-of rule
        (:attr:`CalibrationData.physio`); required for a fused chain, refused for an EEG-only one.
    match_rate : float | None
        Most output rate, as a multiple of the labels' rate, the smoother's time constants are chosen for
        (None: keep the parent's smoother).
    rescale : bool
        Recompute the EEG normalisation's scales (standard deviations) with its means; False: only the means
        (offsets: an electrode's gain), the parent's scales are kept.
    physio_rescale : bool
        The same for a fused chain's physiological features. Off by default: within a few minutes the slow
        features (heart rate, skin-conductance level over 10-s windows) spread much less than across sessions,
        and their calibration scales inflate the z-scores (``docs/calibration.md``).

    Returns
    -------
    chain : EEGDancerChain
        The calibrated copy (same SAC policy object).
    report : dict
        ``n_frames``, ``adapted``, ``steps``, ``loss`` (first, last), ``before``/``after`` CCC and RMSE of the
        transformer output on the calibration frames, ``smoother`` (the time constants chosen, the output's and
        the labels' rate on the calibration frames) and, for a fused chain, ``physio_normalisation`` (per kind,
        the features whose statistics came from the calibration data).

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
    fused = getattr(chain, "physio", None) is not None
    if fused and physio is None:
        raise CalibrationError(f"this bundle fuses EEG with {chain.physio.kinds}: calibrating it needs their "
                               "frames beside the EEG's (collect the device streams with the EEG)")
    if not fused and physio is not None:
        raise CalibrationError("this bundle is EEG-only; it takes no physiological calibration frames")
    if fused:
        physio = [dict(p) for p in physio]
        if len(physio) != len(va):
            raise CalibrationError(f"expected physiological frames per segment ({len(va)}), got {len(physio)}")
        for i, (p, v) in enumerate(zip(physio, va)):
            for kind, rows in p.items():
                if kind not in chain.physio.kinds:
                    raise CalibrationError(f"segment {i}: this bundle fuses {chain.physio.kinds}, not {kind!r}")
                want = (len(v), chain.physio.modality(kind).n_features)
                if np.shape(rows) != want:
                    raise CalibrationError(f"segment {i}: expected {kind} frames of shape {want}, got "
                                           f"{np.shape(rows)}")
    if match_rate is not None and not match_rate > 0:
        raise ValueError(f"expected match_rate > 0 or None, got {match_rate}")
    mode = "full" if full else "readout"
    steps = DEFAULT_STEPS[mode] if steps is None else steps
    lr = DEFAULT_LR[mode] if lr is None else lr
    if steps < 0 or anchor < 0 or not lr > 0:
        raise ValueError(f"expected steps >= 0, anchor >= 0 and lr > 0, got {steps}, {anchor}, {lr}")
    return _calibrate(chain, features, va, physio, bool(full), int(steps), float(lr), float(anchor), int(seed),
                      match_rate, bool(rescale), bool(physio_rescale))


def _norm_stats(features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.concatenate(features, axis=0)
    stacked = np.where(np.isfinite(stacked), stacked, np.nan)
    mean = np.nanmean(stacked, axis=0)
    std = np.nanstd(stacked, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 1e-6), std, 1.0)
    return mean, std


def _physio_stats(spec, physio: list[dict], rescale: bool = False):
    """The physiological spec with each feature's mean (and with ``rescale`` its standard deviation) from its
    finite calibration values (at least :data:`MIN_FRAMES` of them with a positive spread; otherwise the
    parent's), and which features changed.
    """
    import dataclasses

    from eegaffect.models.fusion import PhysioSpec

    mods, adapted = [], {}
    for m in spec.modalities:
        rows = [np.asarray(p[m.kind], np.float64) for p in physio if m.kind in p]
        stacked = np.concatenate(rows) if rows else np.zeros((0, m.n_features))
        mean, std = m.mean.copy(), m.std.copy()
        names = []
        for j, name in enumerate(m.feature_names):
            col = stacked[:, j][np.isfinite(stacked[:, j])]
            if len(col) >= MIN_FRAMES and np.std(col) > 1e-6 * max(1.0, abs(float(np.mean(col)))):
                mean[j] = float(np.mean(col))
                if rescale:
                    std[j] = float(np.std(col))
                names.append(name)
        adapted[m.kind] = names
        mods.append(dataclasses.replace(m, mean=mean, std=std))
    return PhysioSpec(mods, spec.hop_s, spec.margin_s, spec.max_late_frames, spec.use_eeg,
                      dict(spec.physio_config), list(spec.eeg_pass_outputs)), adapted


#: Factors the smoother's time constants may be scaled by after a calibration (see :func:`calibrate_chain`).
SMOOTH_FACTORS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0)


def _rate(va: list[np.ndarray], hop_s: float) -> np.ndarray:
    """Mean |change| per second of each column over consecutive frames of every segment, shape (2,)
    (:func:`eegaffect.benchmark.metrics.jitter` per frame, over the frame hop).
    """
    from eegaffect.benchmark.metrics import jitter

    return jitter(np.concatenate(va), lengths=[len(v) for v in va]) / hop_s


def _choose_smoother(chain, features, va, physio, match_rate):
    """Scale of the smoother's time constants: the smallest of :data:`SMOOTH_FACTORS` whose output on the
    calibration frames moves at most ``match_rate`` times as fast as the labels (see :func:`calibrate_chain`).
    """
    from eegaffect.models.smoothing import OutputSmoother

    truth = _rate(va, chain.hop_s)
    raw = [_run(chain, f, p, smooth=False) for f, p in zip(features, physio)]
    tried = []
    for factor in SMOOTH_FACTORS:
        sm = OutputSmoother(chain.smooth_s * factor, chain.trend_s * factor, chain.hop_s)
        rate = _rate([sm.apply(r)[0] for r in raw], chain.hop_s)
        tried.append({"factor": factor, "rate_per_s": rate.tolist()})
        if np.all(rate <= match_rate * truth):
            break
    return factor, {"factor": factor, "smooth_s": chain.smooth_s * factor, "trend_s": chain.trend_s * factor,
                    "parent_smooth_s": chain.smooth_s, "parent_trend_s": chain.trend_s, "match_rate": match_rate,
                    "labels_rate_per_s": truth.tolist(), "output_rate_per_s": tried[-1]["rate_per_s"],
                    "tried": tried}


def _run(chain, features, physio, smooth: bool = True) -> np.ndarray:
    """The chain's V/A output over one segment, with or without its smoother."""
    if smooth:
        return chain.run(features, physio)["va"]
    plain = copy.copy(chain)
    from eegaffect.models.smoothing import OutputSmoother

    plain.smoother = OutputSmoother(0.0, 0.0, chain.hop_s)
    return plain.run(features, physio)["va"]


def _calibrate(chain, features, va, physio, full, steps, lr, anchor, seed, match_rate, rescale=True,
               physio_rescale=False):
    import torch

    from eegaffect.models.chain import EEGDancerChain

    fused = physio is not None
    segs = physio if fused else [None] * len(features)
    mean, std = _norm_stats(features)
    if not rescale:
        std = chain.std.copy()
    spec, physio_adapted = _physio_stats(chain.physio, physio, physio_rescale) if fused else (None, None)
    model = copy.deepcopy(chain.model).eval()
    new = EEGDancerChain(model, mean, std, chain.optimizer, smooth_s=chain.smooth_s, hop_s=chain.hop_s,
                         trend_s=chain.trend_s, smooth_labels=chain.smooth_labels, physio=spec)
    before = _fit_scores(chain, features, va, segs)
    norm = [torch.from_numpy(new.normalise(f)).permute(1, 2, 0)[None] for f in features]
    phys = [None if p is None else tuple(t[None] for t in new.physio_inputs(p, len(f)))
            for f, p in zip(features, segs)]
    cols = new.eeg_pass_columns  # a routed fused chain: those outputs' readout is fitted on its EEG pass
    eeg_phys = [tuple(t[None] for t in new.physio_inputs(p, len(f), new._eeg_pass_drop()))
                for f, p in zip(features, segs)] if cols else None
    targets = [torch.as_tensor(v, dtype=torch.float32)[None] for v in va]
    tr = model.transformer
    for p in model.parameters():
        p.requires_grad_(False)
    trainable = (list(model.vqvae.parameters()) + list(tr.parameters())
                 + (list(model.fusion.parameters()) if model.fusion is not None else [])) if full else \
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

    def latents():  # what the transformer reads, per sequence: the fused pass and (routed) the EEG pass, one encoding
        out = []
        for x, ph, eph in zip(norm, phys, eeg_phys or [None] * len(norm)):
            head = model.vqvae.encode(x)["head"]
            out.append((model._fuse(head, ph), None if eph is None else model._fuse(head, eph)))
        return out

    try:
        with torch.no_grad():  # frozen trunk: its (fused) latents (readout only) are computed once
            frozen = None if full else latents()
        opt = torch.optim.Adam(trainable, lr=lr)
        for _ in range(steps):
            lat = latents() if full else frozen
            loss = sum(tr.regression_loss(z, y, routed=None if z_eeg is None else (z_eeg, cols)) * y.shape[1]
                       for (z, z_eeg), y in zip(lat, targets)) / sum(y.shape[1] for y in targets)
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
    adapted = ["normalisation"] + (["physio-normalisation"] if fused else []) + ["network" if full else "readout"]
    smoother = None
    if match_rate is not None and new.smoother.active:
        factor, smoother = _choose_smoother(new, features, va, segs, match_rate)
        if factor != 1.0:
            new = EEGDancerChain(model, mean, std, chain.optimizer, smooth_s=smoother["smooth_s"], hop_s=chain.hop_s,
                                 trend_s=smoother["trend_s"], smooth_labels=chain.smooth_labels, physio=spec)
            adapted.append("smoother")
    after = _fit_scores(new, features, va, segs)
    report = {"n_frames": int(sum(len(v) for v in va)), "n_segments": len(va),
              "adapted": adapted, "steps": steps, "lr": lr,
              "anchor": anchor, "loss": [history[0], history[-1]] if history else None,
              "before": before, "after": after, "smoother": smoother}
    if fused:
        report["physio_normalisation"] = physio_adapted
    logger.info("calibrated on %d frames: valence CCC %s -> %s, arousal CCC %s -> %s (calibration data, "
                "transformer output)%s", report["n_frames"], _fmt(before["valence_ccc"]), _fmt(after["valence_ccc"]),
                _fmt(before["arousal_ccc"]), _fmt(after["arousal_ccc"]),
                "" if smoother is None else f"; smoother x{smoother['factor']:g} "
                f"({smoother['smooth_s']:.2g} s level, {smoother['trend_s']:.2g} s trend)")
    return new, report


def _fit_scores(chain, features, va, physio) -> dict:
    from eegaffect.benchmark.metrics import ccc, rmse

    pred = np.concatenate([chain.run(f, p)["base_va"] for f, p in zip(features, physio)]).astype(np.float64)
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
                     anchor: float = 1e-2, match_rate: float | None = 1.5, rescale: bool = True,
                     physio_rescale: bool = False) -> Path:
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
    match_rate, rescale, physio_rescale
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
                                    lr=lr, anchor=anchor, physio=data.physio, match_rate=match_rate,
                                    rescale=rescale, physio_rescale=physio_rescale)
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
