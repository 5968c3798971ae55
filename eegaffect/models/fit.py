"""Fitting the chain on training sequences, stage after stage, and writing the bundle (see
:mod:`eegaffect.models.training` for the stages, seeding, devices and DDP).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np

from eegaffect._logging import logger
from eegaffect.models.checkpoints import check_checkpoints, write_checkpoint_config
from eegaffect.models.config import STAGES, TrainConfig
from eegaffect.models.data import Sequences
from eegaffect.models.loop import TrainContext
from eegaffect.models.runtime import deterministic_algorithms, pick_device, rank_world, torch_threads
from eegaffect.models.stages import (
    build_model,
    encode_all,
    fit_physio_spec,
    holdout_split,
    stage_refit,
    stage_sac,
    stage_transformer,
    stage_vqvae,
)

__all__ = ["fit_chain", "train_and_save", "stage_list"]


def fit_chain(train: Sequences, config: TrainConfig, *, stages: Sequence[str] = ("vqvae", "transformer", "sac"),
              checkpoint_dir: str | Path | None = None, resume: bool = False, progress_bar: bool = True):
    """Fit normalisation, VQ-VAE, transformer and SAC on training sequences.

    Parameters
    ----------
    train : Sequences
        Training trials (features, per-step V/A, trial labels).
    config : TrainConfig
        Sizes, steps and seeds.
    stages : sequence of str
        Stages to run now ("vqvae", "transformer", "sac"); earlier stages not listed are loaded from
        ``checkpoint_dir`` (which must then hold them), later ones are left untrained.
    checkpoint_dir : str | Path | None
        Where stage checkpoints go (None: none are written).
    resume : bool
        Continue from checkpoints in ``checkpoint_dir`` instead of starting over.
    progress_bar : bool
        Show progress bars.

    Returns
    -------
    chain : EEGDancerChain
        The trained chain.
    report : dict
        Losses, codebook health, timings.
    """
    if not isinstance(train, Sequences):
        raise TypeError(f"train must be Sequences, got {type(train).__name__}")
    bad = [s for s in stages if s not in STAGES[1:]]
    if bad:
        raise ValueError(f"unknown stage(s) {bad}; allowed: {list(STAGES[1:])}")
    if checkpoint_dir is None and list(stages) != ["vqvae", "transformer", "sac"]:
        raise ValueError("running only some stages needs a checkpoint_dir holding the earlier ones")
    if checkpoint_dir is not None:
        check_checkpoints(checkpoint_dir, config, stages, resume)
    return _fit_chain(train, config, list(stages), None if checkpoint_dir is None else Path(checkpoint_dir),
                      resume, progress_bar)


def _fit_chain(train, config, stages, ckpt_dir, resume, progress_bar):
    import torch

    from eegaffect.models.chain import EEGDancerChain

    rank, world = rank_world()
    device = pick_device(config.device)
    last = max(STAGES[1:].index(s) for s in stages)  # later stages are not run (nor loaded)
    ctx = TrainContext(config, device, rank, world, ckpt_dir, resume, progress_bar and rank == 0, {})
    if ckpt_dir is not None and rank == 0:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        write_checkpoint_config(ckpt_dir, config)
    feats = np.concatenate(train.features, axis=0)
    mean, std = feats.mean(0), feats.std(0)
    std = np.where(std > 1e-6, std, 1.0)
    n_classes = train.n_classes if (config.transformer.class_head and train.n_classes > 1) else None
    spec = fit_physio_spec(train, config) if config.fusion.physio else None
    torch.manual_seed(config.seed)
    model = build_model(config, train.features[0].shape[1], train.features[0].shape[2], n_classes,
                        n_features=None if spec is None else spec.n_features).to(device)
    chain = EEGDancerChain(model.cpu(), mean, std, physio=spec)
    norm = [chain.normalise(f) for f in train.features]
    physio = None
    if spec is not None:  # the model's physiological inputs per trial: (x, mask, present)
        physio = [spec.prepare(p, len(f)) for p, f in zip(train.physio, train.features)]
    model.to(device)
    t0 = time.perf_counter()
    det = config.deterministic and device.type == "cpu"
    with deterministic_algorithms(det), torch_threads(config.num_threads):
        stage_vqvae(model, norm, ctx, run="vqvae" in stages)
        holdout, fit_idx = holdout_split(train, config)
        if last >= 1:
            latents, codes = encode_all(model, norm, device)
            stage_transformer(model, latents, codes, train, fit_idx, ctx, run="transformer" in stages,
                              physio=physio)
    model.cpu().eval()
    chain = EEGDancerChain(model, mean, std, physio=spec)  # SAC trains on the unsmoothed outputs (base_va)
    if config.sac.enabled and last >= 2:
        with torch_threads(config.num_threads):
            chain.optimizer = stage_sac(chain, train, holdout if holdout else fit_idx, ctx, run="sac" in stages)
        if holdout and config.sac.refit_steps:
            model.to(device)
            with deterministic_algorithms(det), torch_threads(config.num_threads):
                stage_refit(model, latents, train, ctx, run="sac" in stages, physio=physio)
            model.cpu().eval()
    if world > 1:
        torch.distributed.barrier()
    t = config.transformer
    chain = EEGDancerChain(model, mean, std, chain.optimizer, smooth_s=t.smooth_s,
                           hop_s=config.pipeline.features.hop_s, trend_s=t.smooth_trend_s,
                           smooth_labels=t.smooth_labels, physio=spec)
    ctx.report["train_seconds"] = time.perf_counter() - t0
    if model.vqvae.quantizer is not None:
        ctx.report["codebook"] = model.vqvae.quantizer.codebook_stats()
    ctx.report["holdout_trials"] = holdout
    return chain, ctx.report


def stage_list(stage: str) -> list[str]:
    """The stages ``--stage`` runs (``"all"``: every one, in order)."""
    return list(STAGES[1:]) if stage == "all" else [stage]


def train_and_save(train, meta, config, out: Path, stage: str, resume: bool, progress_bar: bool) -> Path:
    """Run ``stage`` of :func:`fit_chain` on ``train`` and write the bundle once the last stage is done (rank 0).

    ``meta`` holds ``ch_names``, ``sfreq`` and optionally ``class_names`` and ``unit`` (see :func:`load_sequences`).
    """
    from eegaffect.models.bundle import save_bundle

    stages = stage_list(stage)
    chain, report = fit_chain(train, config, stages=stages, checkpoint_dir=out / "checkpoints", resume=resume,
                              progress_bar=progress_bar)
    rank, _ = rank_world()
    if rank == 0 and (stage in ("all", "sac") or (stage == "transformer" and not config.sac.enabled)):
        save_bundle(out, chain, config=config, ch_names=meta["ch_names"], sfreq=meta["sfreq"],
                    class_names=meta.get("class_names", []), unit=meta.get("unit"),
                    report={**report, "interpolated_channels": meta.get("interpolated_channels", {})})
        logger.info("bundle written to %s", out)
    return out
