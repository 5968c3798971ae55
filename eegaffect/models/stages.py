"""The training stages: VQ-VAE, transformer (masked pretraining + fine-tuning), SAC, and the refit after SAC.

See :mod:`eegaffect.models.training` for what each stage does and how they chain.
"""

from __future__ import annotations

import time

import numpy as np

from eegaffect._logging import logger
from eegaffect.models.config import TrainConfig, model_transformer_kwargs, model_vqvae_kwargs
from eegaffect.models.data import Sequences
from eegaffect.models.loop import TrainContext, load_stage, optimise, random_crops
from eegaffect.models.runtime import deterministic_algorithms

__all__ = ["build_model", "fit_physio_spec", "holdout_split", "encode_all", "stage_vqvae", "stage_transformer",
           "stage_refit", "stage_sac"]


def build_model(config: TrainConfig, n_chans: int, n_bands: int, n_classes: int | None, chs_info=None,
                n_features: list[int] | None = None):
    """The untrained :class:`~eegaffect.models.chain.EEGDancer` of ``config`` (``n_features``: per
    ``fusion.physio`` kind, for a fused model).
    """
    from eegaffect.models.chain import EEGDancer

    v, t = config.vqvae, config.transformer
    fusion = None
    if config.fusion.physio:
        fusion = {"kinds": list(config.fusion.physio), "n_features": list(n_features), "hidden": config.fusion.hidden}
    return EEGDancer(n_chans, n_bands, n_outputs=2, sfreq=1.0 / config.pipeline.features.hop_s, chs_info=chs_info,
                     n_classes=n_classes, vqvae=model_vqvae_kwargs(v, config.seed),
                     transformer=model_transformer_kwargs(t), fusion=fusion)


def fit_physio_spec(train: Sequences, config: TrainConfig):
    """The :class:`~eegaffect.models.fusion.PhysioSpec` of a fused model: the training frames' normalisation per
    feature (finite values only), the kinds' features, rates, decision delays and as-of lags.
    """
    from eegaffect.models.fusion import ModalitySpec, PhysioSpec

    f = config.fusion
    missing = [k for k in f.physio if k not in train.physio_meta]
    if train.physio is None or missing:
        raise ValueError(f"fusion.physio asks for {f.physio}, but the training sequences have physiological frames "
                         f"of {sorted(train.physio_meta)} only (missing: {missing or f.physio})")
    mods = []
    for kind in f.physio:
        meta = train.physio_meta[kind]
        rows = np.concatenate([p[kind] for p in train.physio], axis=0)
        finite = np.isfinite(rows)
        n = finite.sum(0)
        mean = np.where(n > 0, np.nansum(np.where(finite, rows, 0.0), 0) / np.maximum(n, 1), 0.0)
        var = np.where(n > 0, np.nansum(np.where(finite, (rows - mean) ** 2, 0.0), 0) / np.maximum(n, 1), 1.0)
        std = np.sqrt(var)
        std = np.where(std > 1e-9 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        if (n == 0).any():
            logger.warning("fusion: %s features %s are never finite in the training data (always masked)", kind,
                           [nm for nm, c in zip(meta["feature_names"], n) if c == 0])
        mods.append(ModalitySpec(kind, list(meta["feature_names"]), mean, std, float(meta["sfreq"]),
                                 float(meta["decision_delay_s"]), int(meta["lag"])))
    return PhysioSpec(mods, config.pipeline.features.hop_s, f.asof_margin_s, f.max_late_frames, f.use_eeg,
                      dict(f.physio_config), list(f.eeg_pass_outputs))


def holdout_split(train: Sequences, config: TrainConfig) -> tuple[list[int], list[int]]:
    """(held-out trials for SAC, trials the transformer fine-tunes on), seeded."""
    n = len(train.features)
    if not config.sac.enabled or config.sac.holdout_fraction == 0 or n < 2:
        return [], list(range(n))
    k = min(n - 1, max(1, int(round(config.sac.holdout_fraction * n))))
    perm = np.random.default_rng(config.seed).permutation(n)
    holdout = sorted(int(i) for i in perm[:k])
    return holdout, [i for i in range(n) if i not in holdout]


def stage_vqvae(model, norm: list[np.ndarray], ctx: TrainContext, run: bool) -> None:
    """Stage 1: the VQ-VAE on random crops (or loaded from its checkpoint when not run)."""
    v = ctx.config.vqvae
    vq = model.vqvae
    q = vq.quantizer
    extra = (lambda: q._generator.get_state(), lambda s: s is not None and q._generator.set_state(s)) if q else None
    if not run:
        load_stage(ctx, "vqvae", vq)
        return
    # frames as (n_steps, n_chans, n_bands); model wants (batch, n_chans, n_bands, n_times)
    def make(gen):
        return [random_crops(norm, v.batch_size, v.crop, gen)[0].transpose(0, 2, 3, 1).copy()]

    hist = optimise("vqvae", vq, "loss_only", make, v.steps, v.lr, ctx, extra_state=extra)
    ctx.report["vqvae_loss"] = [hist[0], hist[-1]] if hist else None


def encode_all(model, norm: list[np.ndarray], device):
    """The latents the heads read (``head_input``) and the codes of every normalised sequence."""
    import torch

    latents, codes = [], []
    with torch.no_grad():
        for f in norm:
            enc = model.vqvae.encode(torch.as_tensor(f).permute(1, 2, 0)[None].to(device))
            latents.append(enc["head"][0].float().cpu().numpy())
            codes.append(None if enc["codes"] is None else enc["codes"][0].cpu().numpy())
    return latents, codes


def stage_transformer(model, latents, codes, train: Sequences, fit_idx: list[int], ctx: TrainContext,
                      run: bool, physio: list | None = None) -> None:
    """Stage 2: masked pretraining then V/A (+ class) fine-tuning of the transformer on frozen latents (for a
    fused model, the fusion is fine-tuned with it on ``physio``: per trial ``(x, mask, present)`` of
    :meth:`~eegaffect.models.fusion.PhysioSpec.prepare`, with modality dropout).
    """
    t = ctx.config.transformer
    tr = model.transformer
    tr.class_weight = t.class_weight
    if not run:
        load_stage(ctx, "finetune", _head(model))
        return
    for p in model.vqvae.parameters():
        p.requires_grad_(False)
    has_codes = codes[0] is not None
    if t.mask_pretrain and t.pretrain_steps:
        def make_pre(gen):
            import torch

            extra = [codes] if has_codes else []
            out = random_crops(latents, t.batch_size, t.crop, gen, extra)
            mask = (torch.rand(out[0].shape[:2], generator=gen) < t.mask_prob).numpy()
            return [out[0], out[1] if has_codes else None, mask] if has_codes else [out[0], mask]

        method = "pretrain_loss" if has_codes else "pretrain_loss_nocodes"
        hist = optimise("pretrain", tr, method, make_pre, t.pretrain_steps, t.lr, ctx, t.weight_decay)
        ctx.report["pretrain_loss"] = [hist[0], hist[-1]]
    if model.fusion is not None:
        _finetune_fused(model, latents, physio, train, fit_idx, ctx, "finetune", t.finetune_steps, t.lr)
    else:
        _finetune(tr, latents, train, fit_idx, ctx, "finetune", t.finetune_steps, t.lr)
    for p in model.vqvae.parameters():
        p.requires_grad_(True)


def _head(model):
    """What the transformer stage trains and checkpoints: the transformer, or the fusion + transformer."""
    if model.fusion is None:
        return model.transformer
    from eegaffect.models.fusion_modules import FusedHead

    return FusedHead(model.fusion, model.transformer)


def _finetune(tr, latents, train: Sequences, idx: list[int], ctx: TrainContext, name: str, steps: int,
              lr: float) -> None:
    t = ctx.config.transformer
    lat = [latents[i] for i in idx]
    va = [train.va[i].astype(np.float32) for i in idx]
    use_cls = tr.class_head is not None
    lab = [np.full(len(train.va[i]), train.labels[i], np.int64) for i in idx]

    def make_ft(gen):
        return random_crops(lat, t.batch_size, t.crop, gen, [va, lab] if use_cls else [va])

    hist = optimise(name, tr, "finetune_loss", make_ft, steps, lr, ctx, t.weight_decay)
    ctx.report[f"{name}_loss"] = [hist[0], hist[-1]] if hist else None


def _finetune_fused(model, latents, physio, train: Sequences, idx: list[int], ctx: TrainContext, name: str,
                    steps: int, lr: float) -> None:
    from eegaffect.models.fusion import modality_dropout_masks

    t, f = ctx.config.transformer, ctx.config.fusion
    head = _head(model)
    lat = [latents[i] for i in idx]
    xs, ms, pres = ([physio[i][j] for i in idx] for j in range(3))
    va = [train.va[i].astype(np.float32) for i in idx]
    use_cls = model.transformer.class_head is not None
    lab = [np.full(len(train.va[i]), train.labels[i], np.int64) for i in idx]

    def make_ft(gen):
        out = random_crops(lat, t.batch_size, t.crop, gen, [xs, ms, pres, va] + ([lab] if use_cls else []))
        keep = modality_dropout_masks(out[3].shape[0], out[3].shape[1], out[3].shape[2], f.modality_dropout, gen)
        out[3] = out[3] & keep
        return out

    hist = optimise(name, head, "finetune_loss", make_ft, steps, lr, ctx, t.weight_decay)
    ctx.report[f"{name}_loss"] = [hist[0], hist[-1]] if hist else None


def stage_refit(model, latents, train: Sequences, ctx: TrainContext, run: bool, physio: list | None = None) -> None:
    """After SAC: continue fine-tuning the transformer (a fused model: the fusion + transformer, on ``physio`` as in
    :func:`stage_transformer`) on all training trials (held-out ones included).
    """
    if not run:
        load_stage(ctx, "refit", _head(model))
        return
    s, t = ctx.config.sac, ctx.config.transformer
    every = list(range(len(train.features)))
    if model.fusion is not None:
        _finetune_fused(model, latents, physio, train, every, ctx, "refit", s.refit_steps, t.lr * s.refit_lr_factor)
    else:
        _finetune(model.transformer, latents, train, every, ctx, "refit", s.refit_steps, t.lr * s.refit_lr_factor)


def stage_sac(chain, train: Sequences, idx: list[int], ctx: TrainContext, run: bool):
    """Stage 3: SAC on the trials ``idx``; returns the :class:`~eegaffect.models.sac.TrajectoryOptimizer`.

    The environment replays the chain's own outputs (``context``, ``base_va``) on those trials; for a fused chain
    they come from the fused model on the trials' physiological frames (``train.physio``, all modalities present
    where the data has them), the inputs :meth:`~eegaffect.models.chain.ChainStream.step` gives the policy live.
    """
    from eegaffect.models.sac import TrajectoryEnv, TrajectoryOptimizer, train_sac

    s = ctx.config.sac
    path = ctx.ckpt_dir / "sac_policy.zip" if ctx.ckpt_dir is not None else None
    if not run:
        if path is None or not path.is_file():
            raise FileNotFoundError(f"stage 'sac' has no checkpoint at {path}; run it first")
        return TrajectoryOptimizer.load(path, s.action_scale)
    if ctx.resume and path is not None and path.is_file():
        logger.info("stage sac already done (%s); reusing it", path)
        return TrajectoryOptimizer.load(path, s.action_scale)
    if ctx.rank != 0:
        return None
    runs = [chain.run(train.features[i], None if train.physio is None else train.physio[i]) for i in idx]
    env = TrajectoryEnv([r["context"] for r in runs], [r["base_va"] for r in runs], [train.va[i] for i in idx],
                        episode_len=s.episode_len, action_scale=s.action_scale, w_error=s.w_error,
                        w_smooth=s.w_smooth, w_ccc=s.w_ccc, episode_segments=s.episode_segments,
                        w_action=s.w_action)
    t0 = time.perf_counter()
    with deterministic_algorithms(ctx.config.deterministic):
        model = train_sac(env, s.total_steps, seed=ctx.config.seed, net_arch=s.net_arch,
                          learning_starts=s.learning_starts, batch_size=s.batch_size, learning_rate=s.lr,
                          device="cpu", progress=ctx.progress)
    ctx.report["sac_seconds"] = time.perf_counter() - t0
    opt = TrajectoryOptimizer(model, s.action_scale)
    if path is not None:
        opt.save(path)
    return opt
