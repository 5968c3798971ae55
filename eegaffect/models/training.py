"""Staged, seeded, resumable training of the chain, and bundles from datasets or the simulator.

Stages (each one checkpointed to ``{out}/checkpoints/``, resumable with ``resume=True``):

1. ``vqvae``: the causal VQ-VAE on random crops of normalised feature sequences (reconstruction + commitment);
2. ``transformer``: masked-step pretraining on the frozen VQ-VAE latents (skipped when
   ``transformer.mask_pretrain`` is false), then V/A (+ class) fine-tuning;
3. ``sac``: the SAC trajectory optimiser on held-out training trials (``sac.holdout_fraction`` of the training
   trials are kept out of fine-tuning so the policy learns to correct the transformer's *generalisation*
   errors, not its near-perfect fit on the trials it was trained on); then (``sac.refit_steps``) the transformer
   continues fine-tuning on all training trials at a lower learning rate, so the held-out trials are not lost to
   it (the policy then sees slightly drifted contexts); skipped when ``sac.enabled`` is false.

Everything is seeded (torch, crop sampling, SAC) and, with ``deterministic: true`` on CPU, runs under
``torch.use_deterministic_algorithms``: a seeded run repeats exactly. The device is CUDA when present
(``device: auto``); ``amp: true`` runs the forward passes under bfloat16 autocast. Under ``torchrun`` (or any
initialised ``torch.distributed`` group) the VQ-VAE and transformer train with DistributedDataParallel: every
rank samples its own crops (seed + rank), gradients are averaged, the EMA codebook statistics are all-reduced;
rank 0 trains SAC and writes checkpoints and the bundle.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Sequence

import numpy as np
from pydantic import Field

from eegaffect._logging import logger
from eegaffect._progress import progress
from eegaffect.config import ConfigModel
from eegaffect.pipeline import PipelineConfig

__all__ = ["VQVAEConfig", "TransformerConfig", "SACConfig", "DataConfig", "TrainConfig", "Sequences",
           "fit_chain", "check_checkpoints", "load_sequences", "train_bundle", "train_demo_bundle", "demo_config",
           "demo_sessions", "DEMO_RECIPE", "STAGES"]

#: Stage names accepted by ``eegaffect train --stage``.
STAGES = ("all", "vqvae", "transformer", "sac")


class VQVAEConfig(ConfigModel):
    """Causal VQ-VAE sizes and its training stage."""

    quantize: bool = Field(True, description="false = 'no quantiser' ablation (plain causal autoencoder)")
    d_model: int = Field(32, ge=2)
    band_filters: int = Field(4, ge=1)
    kernel_size: int = Field(3, ge=1)
    dilations: list[int] = Field(default_factory=lambda: [1, 2, 4], min_length=1)
    n_codes: int = Field(32, ge=2)
    residual_dim: int = Field(16, ge=0, description="width of the continuous residual (latent = code + residual)")
    commitment: float = Field(0.25, ge=0)
    decay: float = Field(0.9, gt=0, lt=1)
    dead_threshold: float = Field(0.05, ge=0)
    kmeans_init: bool = True
    drop_prob: float = Field(0.1, ge=0, lt=1)
    steps: int = Field(300, ge=0, description="gradient steps")
    lr: float = Field(2e-3, gt=0)
    batch_size: int = Field(16, ge=1)
    crop: int = Field(32, ge=2, description="steps per training crop")


class TransformerConfig(ConfigModel):
    """Masked temporal transformer sizes and its two training phases."""

    d_model: int = Field(32, ge=2)
    n_heads: int = Field(4, ge=1)
    n_layers: int = Field(2, ge=1)
    context: int = Field(16, ge=1, description="attention window in steps")
    drop_prob: float = Field(0.1, ge=0, lt=1)
    class_head: bool = True
    class_weight: float = Field(0.2, ge=0)
    mask_pretrain: bool = Field(True, description="false = 'no masking pretraining' ablation")
    mask_prob: float = Field(0.3, gt=0, lt=1)
    pretrain_steps: int = Field(200, ge=0)
    finetune_steps: int = Field(400, ge=0)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-2, ge=0)
    batch_size: int = Field(16, ge=1)
    crop: int = Field(48, ge=2)


class SACConfig(ConfigModel):
    """SAC trajectory optimiser (see :mod:`eegaffect.models.sac` for the environment and reward)."""

    enabled: bool = Field(True, description="false = 'no SAC' ablation")
    total_steps: int = Field(3000, ge=1)
    action_scale: float = Field(0.15, gt=0, le=2)
    w_error: float = Field(1.0, ge=0)
    w_smooth: float = Field(2.0, ge=0)
    w_ccc: float = Field(1.0, ge=0)
    episode_len: int | None = Field(32, ge=1, description="steps per episode segment")
    episode_segments: int = Field(4, ge=1, description="segments from random trials per episode")
    w_action: float = Field(0.5, ge=0, description="penalty on the correction's size")
    net_arch: list[int] = Field(default_factory=lambda: [64, 64], min_length=1)
    learning_starts: int = Field(300, ge=0)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    holdout_fraction: float = Field(0.25, ge=0, lt=1)
    refit_steps: int = Field(150, ge=0, description="after SAC, fine-tuning steps of the transformer on all "
                             "training trials (held-out ones included); 0 keeps the held-out trials unseen")
    refit_lr_factor: float = Field(0.5, gt=0, description="learning rate of that refit relative to transformer.lr")


class DataConfig(ConfigModel):
    """Which part of a dataset trains the bundle."""

    dataset: Literal["seed", "seed-iv", "dreamer"] = "seed"
    subjects: list[int] | None = None
    sessions: list[int] | None = None
    trials: list[int] | None = Field(None, description="trial numbers used for training (null: all)")


class TrainConfig(ConfigModel):
    """Everything ``eegaffect train`` needs (``configs/train.yaml``)."""

    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool = Field(False, description="bfloat16 autocast in forward passes")
    deterministic: bool = Field(True, description="torch.use_deterministic_algorithms during training")
    checkpoint_every: int = Field(100, ge=1, description="gradient steps between checkpoints")
    num_threads: int | None = Field(1, ge=1, description="torch intra-op CPU threads while training (the models "
                                    "are small: one thread is fastest, and robust on a busy machine); null keeps "
                                    "torch's setting")
    data: DataConfig = Field(default_factory=DataConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    vqvae: VQVAEConfig = Field(default_factory=VQVAEConfig)
    transformer: TransformerConfig = Field(default_factory=TransformerConfig)
    sac: SACConfig = Field(default_factory=SACConfig)


@dataclass
class Sequences:
    """Training sequences kept per trial.

    Attributes
    ----------
    features : list of ndarray, shape (n_steps_i, n_chans, n_bands)
    va : list of ndarray, shape (n_steps_i, 2)
    labels : ndarray of int, shape (n_trials,)
        Class per trial (-1 when unknown).
    n_classes : int
        Number of classes (0: no class head).
    """

    features: list[np.ndarray]
    va: list[np.ndarray]
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_classes: int = 0

    def __post_init__(self) -> None:
        if not self.features:
            raise ValueError("expected at least one training sequence, got none")
        if len(self.labels) == 0:
            self.labels = np.full(len(self.features), -1, np.int64)
        self.labels = np.asarray(self.labels, np.int64)
        if not (len(self.features) == len(self.va) == len(self.labels)):
            raise ValueError(f"expected as many va arrays and labels as feature sequences ({len(self.features)}), "
                             f"got {len(self.va)} and {len(self.labels)}")
        shape = self.features[0].shape[1:]
        for i, (f, v) in enumerate(zip(self.features, self.va)):
            if f.ndim != 3 or f.shape[1:] != shape or v.shape != (f.shape[0], 2) or f.shape[0] < 2:
                raise ValueError(f"sequence {i}: expected features (n_steps >= 2, {shape[0]}, {shape[1]}) and va "
                                 f"(n_steps, 2), got {f.shape} and {v.shape}")

    def subset(self, idx: Sequence[int]) -> "Sequences":
        return Sequences([self.features[i] for i in idx], [self.va[i] for i in idx], self.labels[list(idx)],
                         self.n_classes)


# ----------------------------------------------------------------------------------------------------------------
# fitting


@dataclass
class _Ctx:
    config: TrainConfig
    device: object
    rank: int
    world: int
    ckpt_dir: Path | None
    resume: bool
    progress: bool
    report: dict


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

    from eegaffect.models.chain import EEGDancer, EEGDancerChain

    rank, world = _dist_rank_world()
    device = _pick_device(config.device)
    last = max(STAGES[1:].index(s) for s in stages)  # later stages are not run (nor loaded)
    ctx = _Ctx(config, device, rank, world, ckpt_dir, resume, progress_bar and rank == 0, {})
    if ckpt_dir is not None and rank == 0:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        _write_checkpoint_config(ckpt_dir, config)
    feats = np.concatenate(train.features, axis=0)
    mean, std = feats.mean(0), feats.std(0)
    std = np.where(std > 1e-6, std, 1.0)
    n_classes = train.n_classes if (config.transformer.class_head and train.n_classes > 1) else None
    torch.manual_seed(config.seed)
    model = _build_model(config, train.features[0].shape[1], train.features[0].shape[2], n_classes).to(device)
    chain = EEGDancerChain(model.cpu(), mean, std)
    norm = [chain.normalise(f) for f in train.features]
    model.to(device)
    t0 = time.perf_counter()
    with _deterministic(config.deterministic and device.type == "cpu"), _threads(config.num_threads):
        _stage_vqvae(model, norm, ctx, run="vqvae" in stages)
        holdout, fit_idx = _holdout_split(train, config)
        if last >= 1:
            latents, codes = _encode_all(model, norm, device)
            _stage_transformer(model, latents, codes, train, fit_idx, ctx, run="transformer" in stages)
    model.cpu().eval()
    chain = EEGDancerChain(model, mean, std)
    if config.sac.enabled and last >= 2:
        with _threads(config.num_threads):
            chain.optimizer = _stage_sac(chain, train, holdout if holdout else fit_idx, ctx, run="sac" in stages)
        if holdout and config.sac.refit_steps:
            model.to(device)
            with _deterministic(config.deterministic and device.type == "cpu"), _threads(config.num_threads):
                _stage_refit(model, latents, train, ctx, run="sac" in stages)
            model.cpu().eval()
    if world > 1:
        torch.distributed.barrier()
    ctx.report["train_seconds"] = time.perf_counter() - t0
    if model.vqvae.quantizer is not None:
        ctx.report["codebook"] = model.vqvae.quantizer.codebook_stats()
    ctx.report["holdout_trials"] = holdout
    return chain, ctx.report


#: Config file written beside the stage checkpoints: the config they were trained with.
CHECKPOINT_CONFIG = "train_config.json"
#: Dotted config keys that decide each stage's result (a stage loaded from its checkpoint must agree on them).
_STAGE_KEYS = {"vqvae": ("seed", "data", "pipeline", "vqvae"),
               "transformer": ("transformer", "sac.enabled", "sac.holdout_fraction"),
               "sac": ("sac",)}
#: Keys that decide the shapes of the weights (a resumed stage must agree on them).
_SHAPE_KEYS = ("pipeline.features.bands", "vqvae.quantize", "vqvae.d_model", "vqvae.band_filters",
               "vqvae.kernel_size", "vqvae.dilations", "vqvae.n_codes", "vqvae.residual_dim", "transformer.d_model",
               "transformer.n_heads", "transformer.n_layers", "transformer.class_head")
#: The checkpoint each stage is loaded from when it is not run.
_STAGE_CHECKPOINT = {"vqvae": "vqvae.pt", "transformer": "finetune.pt"}


def check_checkpoints(checkpoint_dir: str | Path, config: TrainConfig, stages: Sequence[str],
                      resume: bool = False) -> None:
    """Check, before any data is loaded, that the checkpoints a run needs exist and match ``config``.

    Stages before the first one in ``stages`` are loaded from their checkpoints: they must exist, and the keys
    that decide them (their config sections, the seed, data and pipeline) must equal the ones they were trained
    with (``train_config.json`` beside the checkpoints). With ``resume`` the stages being continued must also
    agree on the keys that decide the weights' shapes.

    Parameters
    ----------
    checkpoint_dir : str | Path
        Folder of the stage checkpoints.
    config : TrainConfig
        The config of the run about to start.
    stages : sequence of str
        Stages that will run.
    resume : bool
        Whether run stages continue from their checkpoints.

    Raises
    ------
    FileNotFoundError
        An earlier stage has no checkpoint.
    ValueError
        The checkpoints were trained with a config that differs on keys that matter (all of them are named).
    """
    ckpt_dir = Path(checkpoint_dir)
    first = min(STAGES[1:].index(s) for s in stages)
    earlier = list(STAGES[1:first + 1])
    for name in earlier:
        path = ckpt_dir / _STAGE_CHECKPOINT[name]
        if not path.is_file():
            raise FileNotFoundError(f"stage {name!r} is not being run and has no checkpoint at {path}; run it "
                                    "first (--stage all, or the earlier stage)")
    keys = [k for name in earlier for k in _STAGE_KEYS[name]] + (list(_SHAPE_KEYS) if resume else [])
    saved_path = ckpt_dir / CHECKPOINT_CONFIG
    if not keys or not saved_path.is_file():
        return
    try:
        saved = json.loads(saved_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{saved_path}: not valid JSON ({exc}); rerun all stages (--stage all)") from None
    diffs = _config_diffs(saved, config.model_dump(mode="json"), keys)
    if diffs:
        listed = "; ".join(f"{k}: checkpoint {a!r}, config {b!r}" for k, a, b in diffs)
        what = f"stage(s) {earlier}" if earlier else "the stages being resumed"
        raise ValueError(f"the checkpoints in {ckpt_dir} ({what}) were trained with a different config: {listed}. "
                         "Use the checkpoints' values, or retrain from the first differing stage "
                         "(--stage all)")


def _config_diffs(saved: dict, current: dict, keys: Sequence[str]) -> list[tuple[str, object, object]]:
    """(dotted key, saved value, current value) for every leaf under ``keys`` that differs."""
    flat_saved, flat_now = _flatten(saved), _flatten(current)
    out = []
    for key in sorted(set(flat_saved) | set(flat_now)):
        if any(key == k or key.startswith(k + ".") for k in keys):
            a, b = flat_saved.get(key, "<absent>"), flat_now.get(key, "<absent>")
            if a != b:
                out.append((key, a, b))
    return out


def _flatten(doc: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _write_checkpoint_config(ckpt_dir: Path, config: TrainConfig) -> None:
    tmp = ckpt_dir / (CHECKPOINT_CONFIG + ".tmp")
    tmp.write_text(json.dumps(config.model_dump(mode="json"), indent=2), encoding="utf-8")
    os.replace(tmp, ckpt_dir / CHECKPOINT_CONFIG)


def _load_state(module, state: dict, ckpt: Path) -> None:
    """``module.load_state_dict`` with an error that names the checkpoint instead of torch's size-mismatch list."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise ValueError(f"checkpoint {ckpt} does not fit the model of the current config ({first}); it was "
                         "trained with other model sizes: use that config, or retrain from this stage") from None


def _build_model(config: TrainConfig, n_chans: int, n_bands: int, n_classes: int | None, chs_info=None):
    from eegaffect.models.chain import EEGDancer

    v, t = config.vqvae, config.transformer
    return EEGDancer(n_chans, n_bands, n_outputs=2, sfreq=1.0 / config.pipeline.features.hop_s, chs_info=chs_info,
                     n_classes=n_classes, vqvae=model_vqvae_kwargs(v, config.seed),
                     transformer=model_transformer_kwargs(t))


def model_vqvae_kwargs(v: VQVAEConfig, seed: int) -> dict:
    """Keyword arguments of :class:`~eegaffect.models.vqvae.CausalVQVAE` from the config."""
    return dict(d_model=v.d_model, band_filters=v.band_filters, kernel_size=v.kernel_size,
                dilations=tuple(v.dilations), n_codes=v.n_codes, residual_dim=v.residual_dim, quantize=v.quantize,
                commitment=v.commitment, decay=v.decay, dead_threshold=v.dead_threshold,
                kmeans_init=v.kmeans_init, drop_prob=v.drop_prob, seed=seed)


def model_transformer_kwargs(t: TransformerConfig) -> dict:
    """Keyword arguments of :class:`~eegaffect.models.transformer.MaskedTemporalTransformer` from the config."""
    return dict(d_model=t.d_model, n_heads=t.n_heads, n_layers=t.n_layers, context=t.context,
                drop_prob=t.drop_prob)


def _holdout_split(train: Sequences, config: TrainConfig) -> tuple[list[int], list[int]]:
    n = len(train.features)
    if not config.sac.enabled or config.sac.holdout_fraction == 0 or n < 2:
        return [], list(range(n))
    k = min(n - 1, max(1, int(round(config.sac.holdout_fraction * n))))
    perm = np.random.default_rng(config.seed).permutation(n)
    holdout = sorted(int(i) for i in perm[:k])
    return holdout, [i for i in range(n) if i not in holdout]


def _crops(seqs, batch: int, crop: int, gen, extra=None):
    """Random crops (seeded by ``gen``): stacked (batch, crop, ...) arrays of the sequences (and extras)."""
    import torch

    crop = min(crop, min(s.shape[0] for s in seqs))
    idx = torch.randint(len(seqs), (batch,), generator=gen).tolist()
    starts = [int(torch.randint(seqs[i].shape[0] - crop + 1, (1,), generator=gen)) for i in idx]
    out = [np.stack([seqs[i][s:s + crop] for i, s in zip(idx, starts)])]
    for arrays in extra or ():
        out.append(np.stack([arrays[i][s:s + crop] for i, s in zip(idx, starts)]))
    return out


def _loss_module(module, method: str):
    """Wrap ``module.<method>`` as the forward of an nn.Module, so DistributedDataParallel sees the call."""
    import torch

    class _Loss(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = module

        def forward(self, *args):
            return getattr(self.inner, method)(*args)

    return _Loss()


def _optimise(name: str, module, loss_method: str, make_batch: Callable, n_steps: int, lr: float, ctx: _Ctx,
              weight_decay: float = 0.0, extra_state=None) -> list[float]:
    """Seeded, checkpointed optimisation loop shared by the stages; returns the loss history."""
    import torch

    cfg = ctx.config
    wrapped = _loss_module(module, loss_method)
    if ctx.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        wrapped = DistributedDataParallel(wrapped, find_unused_parameters=True,
                                          device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed * 1009 + ctx.rank * 7919 + sum(map(ord, name)))
    ckpt = ctx.ckpt_dir / f"{name}.pt" if ctx.ckpt_dir is not None else None
    start, history = 0, []
    if ctx.resume and ckpt is not None and ckpt.is_file():
        state = torch.load(ckpt, map_location=ctx.device, weights_only=False)
        _load_state(module, state["model"], ckpt)
        opt.load_state_dict(state["optim"])
        gen.set_state(state["gen"])
        torch.set_rng_state(state["torch_rng"])
        if extra_state is not None:
            extra_state[1](state.get("extra"))
        start, history = state["step"], state["history"]
        logger.info("resuming stage %s at step %d/%d", name, start, n_steps)
    module.train()
    amp = (torch.autocast(ctx.device.type, dtype=torch.bfloat16) if cfg.amp else contextlib.nullcontext())
    bar = progress(total=n_steps, desc=f"train {name}", unit="step") if ctx.progress else None
    if bar is not None:
        bar.update(start)
    for step in range(start, n_steps):
        batch = [torch.as_tensor(b).to(ctx.device) for b in make_batch(gen)]
        with amp:
            loss = wrapped(*batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        history.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]:.4f}", refresh=False)
        if ckpt is not None and ctx.rank == 0 and ((step + 1) % cfg.checkpoint_every == 0 or step + 1 == n_steps):
            _atomic_save({"model": module.state_dict(), "optim": opt.state_dict(), "gen": gen.get_state(),
                          "torch_rng": torch.get_rng_state(), "step": step + 1, "history": history,
                          "extra": extra_state[0]() if extra_state is not None else None}, ckpt)
    if bar is not None:
        bar.close()
    module.eval()
    return history


def _atomic_save(obj, path: Path) -> None:
    import torch

    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _load_done(ctx: _Ctx, name: str, module) -> None:
    import torch

    ckpt = ctx.ckpt_dir / f"{name}.pt" if ctx.ckpt_dir is not None else None
    if ckpt is None or not ckpt.is_file():
        raise FileNotFoundError(f"stage {name!r} is not being run and has no checkpoint at {ckpt}; run it first "
                                "(--stage all, or the earlier stage)")
    state = torch.load(ckpt, map_location=ctx.device, weights_only=False)
    _load_state(module, state["model"], ckpt)
    if state.get("extra") is not None and hasattr(module, "quantizer") and module.quantizer is not None:
        module.quantizer._generator.set_state(state["extra"])
    module.eval()


def _stage_vqvae(model, norm: list[np.ndarray], ctx: _Ctx, run: bool) -> None:
    v = ctx.config.vqvae
    vq = model.vqvae
    q = vq.quantizer
    extra = (lambda: q._generator.get_state(), lambda s: s is not None and q._generator.set_state(s)) if q else None
    if not run:
        _load_done(ctx, "vqvae", vq)
        return
    # frames as (n_steps, n_chans, n_bands); model wants (batch, n_chans, n_bands, n_times)
    make = lambda gen: [_crops(norm, v.batch_size, v.crop, gen)[0].transpose(0, 2, 3, 1).copy()]
    hist = _optimise("vqvae", vq, "loss_only", make, v.steps, v.lr, ctx, extra_state=extra)
    ctx.report["vqvae_loss"] = [hist[0], hist[-1]] if hist else None


def _encode_all(model, norm: list[np.ndarray], device):
    import torch

    latents, codes = [], []
    with torch.no_grad():
        for f in norm:
            enc = model.vqvae.encode(torch.as_tensor(f).permute(1, 2, 0)[None].to(device))
            latents.append(enc["latent"][0].float().cpu().numpy())
            codes.append(None if enc["codes"] is None else enc["codes"][0].cpu().numpy())
    return latents, codes


def _stage_transformer(model, latents, codes, train: Sequences, fit_idx: list[int], ctx: _Ctx, run: bool) -> None:
    t = ctx.config.transformer
    tr = model.transformer
    tr.class_weight = t.class_weight
    if not run:
        _load_done(ctx, "finetune", tr)
        return
    for p in model.vqvae.parameters():
        p.requires_grad_(False)
    has_codes = codes[0] is not None
    if t.mask_pretrain and t.pretrain_steps:
        def make_pre(gen):
            import torch

            extra = [codes] if has_codes else []
            out = _crops(latents, t.batch_size, t.crop, gen, extra)
            mask = (torch.rand(out[0].shape[:2], generator=gen) < t.mask_prob).numpy()
            return [out[0], out[1] if has_codes else None, mask] if has_codes else [out[0], mask]

        method = "pretrain_loss" if has_codes else "pretrain_loss_nocodes"
        hist = _optimise("pretrain", tr, method, make_pre, t.pretrain_steps, t.lr, ctx, t.weight_decay)
        ctx.report["pretrain_loss"] = [hist[0], hist[-1]]
    _finetune(tr, latents, train, fit_idx, ctx, "finetune", t.finetune_steps, t.lr)
    for p in model.vqvae.parameters():
        p.requires_grad_(True)


def _finetune(tr, latents, train: Sequences, idx: list[int], ctx: _Ctx, name: str, steps: int, lr: float) -> None:
    t = ctx.config.transformer
    lat = [latents[i] for i in idx]
    va = [train.va[i].astype(np.float32) for i in idx]
    use_cls = tr.class_head is not None
    lab = [np.full(len(train.va[i]), train.labels[i], np.int64) for i in idx]

    def make_ft(gen):
        return _crops(lat, t.batch_size, t.crop, gen, [va, lab] if use_cls else [va])

    hist = _optimise(name, tr, "finetune_loss", make_ft, steps, lr, ctx, t.weight_decay)
    ctx.report[f"{name}_loss"] = [hist[0], hist[-1]] if hist else None


def _stage_refit(model, latents, train: Sequences, ctx: _Ctx, run: bool) -> None:
    """After SAC: continue fine-tuning the transformer on all training trials (held-out ones included)."""
    if not run:
        _load_done(ctx, "refit", model.transformer)
        return
    s, t = ctx.config.sac, ctx.config.transformer
    _finetune(model.transformer, latents, train, list(range(len(train.features))), ctx, "refit", s.refit_steps,
              t.lr * s.refit_lr_factor)


def _stage_sac(chain, train: Sequences, idx: list[int], ctx: _Ctx, run: bool):
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
    runs = [chain.run(train.features[i]) for i in idx]
    env = TrajectoryEnv([r["context"] for r in runs], [r["base_va"] for r in runs], [train.va[i] for i in idx],
                        episode_len=s.episode_len, action_scale=s.action_scale, w_error=s.w_error,
                        w_smooth=s.w_smooth, w_ccc=s.w_ccc, episode_segments=s.episode_segments,
                        w_action=s.w_action)
    t0 = time.perf_counter()
    with _deterministic(ctx.config.deterministic):
        model = train_sac(env, s.total_steps, seed=ctx.config.seed, net_arch=s.net_arch,
                          learning_starts=s.learning_starts, batch_size=s.batch_size, learning_rate=s.lr,
                          device="cpu", progress=ctx.progress)
    ctx.report["sac_seconds"] = time.perf_counter() - t0
    opt = TrajectoryOptimizer(model, s.action_scale)
    if path is not None:
        opt.save(path)
    return opt


# ----------------------------------------------------------------------------------------------------------------
# environment helpers


def _dist_rank_world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and dist.is_available():
        import torch

        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _pick_device(name: str):
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but CUDA is not available; use 'auto' or 'cpu'")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and int(os.environ.get("LOCAL_RANK", "-1")) >= 0:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device(name)


@contextlib.contextmanager
def _threads(n: int | None):
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _deterministic(enabled: bool):
    import torch

    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(enabled or before)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


# ----------------------------------------------------------------------------------------------------------------
# data, bundles


def load_sequences(root: str | Path, config: TrainConfig, progress_bar: bool = True):
    """Featurise the configured trials of a dataset through :class:`~eegaffect.pipeline.SignalPipeline`.

    Targets per step are the continuous annotation (``Trial.continuous_targets``) interpolated at each frame's
    centre ``k * hop_s + window_s / 2`` (as the benchmark does) when there is one, else the trial's
    valence/arousal from the label table.

    Returns
    -------
    train : Sequences
    meta : dict
        ``ch_names``, ``sfreq`` (input rate), ``unit`` (of the samples, or None), ``band_names``, ``class_names``,
        ``trials``.
    """
    from eegaffect.datasets import load_dataset
    from eegaffect.datasets.features import featurise_trial

    d = config.data
    ds = load_dataset(root, d.dataset).select(subjects=d.subjects, sessions=d.sessions)
    trials = [t for t in ds if d.trials is None or t.info.trial in d.trials]
    if not trials:
        raise ValueError(f"no trials of {root} match subjects={d.subjects}, sessions={d.sessions}, "
                         f"trials={d.trials}")
    feats, vas, labels = [], [], []
    for trial in progress(trials, desc="featurise", unit="trial", leave=False) if progress_bar else trials:
        f = featurise_trial(trial.load(), trial.info.sfreq, config.pipeline, "features")
        feats.append(f)
        vas.append(frame_targets(trial, len(f), config.pipeline))
        labels.append(-1 if trial.info.label is None else int(trial.info.label))
    info = trials[0].info
    # SEED, SEED-IV and DREAMER files (and synthetic SEED) hold microvolts; generic recordings keep the unit they
    # were recorded in, which the reader does not report, so it stays unknown there
    unit = "uV" if getattr(ds, "name", None) in ("seed", "seed-iv", "dreamer") else None
    meta = {"ch_names": list(info.ch_names), "sfreq": float(info.sfreq), "unit": unit,
            "band_names": [b.name for b in config.pipeline.features.bands],
            "class_names": list(getattr(ds, "class_names", [])),
            "trials": [f"s{t.info.subject}/sess{t.info.session}/t{t.info.trial}" for t in trials]}
    return Sequences(feats, vas, np.asarray(labels), len(meta["class_names"])), meta


def frame_targets(trial, n_steps: int, pipeline: PipelineConfig) -> np.ndarray:
    """Per-frame V/A targets of a dataset trial, shape (n_steps, 2) (see :func:`load_sequences`)."""
    hop, win = pipeline.features.hop_s, pipeline.features.window_s
    centres = np.arange(n_steps) * hop + win / 2
    ann = trial.continuous_targets()
    if ann is not None:
        return np.stack([np.interp(centres, ann[:, 0], ann[:, 1]), np.interp(centres, ann[:, 0], ann[:, 2])], 1)
    v = 0.0 if trial.info.valence is None else trial.info.valence
    a = 0.0 if trial.info.arousal is None else trial.info.arousal
    return np.tile(np.array([v, a], float), (n_steps, 1))


def train_bundle(data_dir: str | Path, out: str | Path, config: TrainConfig | None = None, stage: str = "all",
                 resume: bool = False, progress_bar: bool = True) -> Path:
    """Train on a dataset and write a bundle (see :mod:`eegaffect.models.bundle`).

    Parameters
    ----------
    data_dir : str | Path
        Dataset root.
    out : str | Path
        Bundle directory (checkpoints go to ``out/checkpoints``).
    config : TrainConfig | None
        Training config (None: the packaged ``configs/train.yaml``).
    stage : {"all", "vqvae", "transformer", "sac"}
        Stage to run; a single stage needs the earlier ones' checkpoints. The bundle is written once the last
        stage is available.
    resume : bool
        Continue from the checkpoints in ``out/checkpoints``.
    progress_bar : bool
        Show progress bars.

    Returns
    -------
    out : Path
        The bundle directory.
    """
    from eegaffect.config import load_config

    if stage not in STAGES:
        raise ValueError(f"stage must be one of {list(STAGES)}, got {stage!r}")
    config = config if config is not None else load_config(TrainConfig, default="train")
    out = Path(out)
    if stage != "all" or resume:  # missing or mismatched checkpoints: say so before featurising the dataset
        check_checkpoints(out / "checkpoints", config, _stage_list(stage), resume)
    train, meta = load_sequences(data_dir, config, progress_bar)
    return _train_and_save(train, meta, config, out, stage, resume, progress_bar)


def _stage_list(stage: str) -> list[str]:
    return list(STAGES[1:]) if stage == "all" else [stage]


def _train_and_save(train, meta, config, out: Path, stage: str, resume: bool, progress_bar: bool) -> Path:
    from eegaffect.models.bundle import save_bundle

    stages = _stage_list(stage)
    chain, report = fit_chain(train, config, stages=stages, checkpoint_dir=out / "checkpoints", resume=resume,
                              progress_bar=progress_bar)
    rank, _ = _dist_rank_world()
    if rank == 0 and (stage in ("all", "sac") or (stage == "transformer" and not config.sac.enabled)):
        save_bundle(out, chain, config=config, ch_names=meta["ch_names"], sfreq=meta["sfreq"],
                    class_names=meta.get("class_names", []), report=report, unit=meta.get("unit"))
        logger.info("bundle written to %s", out)
    return out


#: Recipe of :func:`train_demo_bundle` (part of the demo cache key: change it and cached demo bundles retrain).
DEMO_RECIPE = {"sfreq": 200.0, "n_sessions": 8, "session_s": 120.0, "trial_s": 60.0, "session_seed_step": 1000}


def demo_sessions(seed: int = 0, n_sessions: int = DEMO_RECIPE["n_sessions"]) -> list[int]:
    """Seeds of the simulated sessions the demo model trains on: ``seed`` and ``seed + 1000 k``.

    The demo headset streams session ``seed + 1`` of the same person, which is never one of these.
    """
    step = DEMO_RECIPE["session_seed_step"]
    return [int(seed)] + [int(seed) + step * k for k in range(1, n_sessions)]


def train_demo_bundle(out_dir: str | Path, seed: int = 0, progress: bool = True,
                      n_sessions: int = DEMO_RECIPE["n_sessions"],
                      session_s: float = DEMO_RECIPE["session_s"]) -> Path:
    """Train a small demo bundle on the simulated headset (SEED 62 ch @ 200 Hz), in well under 2 minutes.

    The simulator (:class:`eegaffect.acquisition.simulator.SimulatedEEG`) generates ``n_sessions`` sessions of
    ``session_s`` seconds of simulated person ``seed`` (session seeds from :func:`demo_sessions`), each with its own
    seeded random-walk valence/arousal trajectory, electrode gains, noise and artifacts; each is cut into 60-s
    pseudo-trials, featurised through :class:`~eegaffect.pipeline.SignalPipeline` (the live path) and a small chain
    is trained on them (:func:`demo_config`). Several short sessions instead of one long one: trained on a single
    session the model learns that session's trajectory and electrode gains and its output on a new session
    collapses to a near-constant value (valence CCC ~0 on the demo's stream).

    Parameters
    ----------
    out_dir : str | Path
        Bundle directory.
    seed : int
        Seed of the simulated person, the sessions and the training.
    progress : bool
        Show progress bars.
    n_sessions : int
        Simulated sessions.
    session_s : float
        Seconds per session (at least one 60-s pseudo-trial).

    Returns
    -------
    out_dir : Path
    """
    if n_sessions < 1:
        raise ValueError(f"n_sessions must be >= 1, got {n_sessions}")
    if not session_s >= DEMO_RECIPE["trial_s"]:
        raise ValueError(f"session_s must be at least one {DEMO_RECIPE['trial_s']:g}-s trial, got {session_s}")
    train = _demo_sequences(int(seed), int(n_sessions), float(session_s), demo_config(seed), progress)
    meta = {"ch_names": list(_seed_channels()), "sfreq": DEMO_RECIPE["sfreq"], "class_names": [], "unit": "V"}
    return _train_and_save(train, meta, demo_config(seed), Path(out_dir), "all", False, progress)


def _seed_channels() -> list[str]:
    from eegaffect.acquisition.channels import SEED_CHANNELS

    return list(SEED_CHANNELS)


def _demo_sequences(seed: int, n_sessions: int, session_s: float, config: TrainConfig, progress_bar: bool):
    from eegaffect.acquisition.simulator import SimulatedEEG
    from eegaffect.pipeline import SignalPipeline

    sfreq = DEMO_RECIPE["sfreq"]
    ch_names = _seed_channels()
    per = int(DEMO_RECIPE["trial_s"] * sfreq)
    hop = int(round(config.pipeline.features.hop_s * sfreq))
    win = int(round(config.pipeline.features.window_s * sfreq))
    feats, vas = [], []
    sessions = demo_sessions(seed, n_sessions)
    for session in progress(sessions, desc="simulate", unit="session", leave=False) if progress_bar else sessions:
        eeg, va = SimulatedEEG(ch_names, sfreq, seed=session, subject=seed).generate(int(session_s * sfreq))
        for k in range(0, eeg.shape[0] - per + 1, per):
            f = SignalPipeline(config.pipeline, n_chans=len(ch_names), sfreq_in=sfreq).process(eeg[k:k + per])
            feats.append(np.asarray(f))
            vas.append(va[k + np.arange(len(f)) * hop + win // 2])
    return Sequences(feats, vas)


def demo_config(seed: int = 0) -> TrainConfig:
    """The small, fast config of :func:`train_demo_bundle`."""
    return TrainConfig(seed=seed, device="cpu", vqvae=VQVAEConfig(steps=120, n_codes=16, batch_size=8),
                       transformer=TransformerConfig(pretrain_steps=60, finetune_steps=200, batch_size=8,
                                                     class_head=False),
                       sac=SACConfig(total_steps=600, learning_starts=100, net_arch=[32, 32]))
