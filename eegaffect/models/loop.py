"""The seeded, checkpointed, resumable optimisation loop shared by the training stages (DDP-aware)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from eegaffect._logging import logger
from eegaffect._progress import progress
from eegaffect.models.checkpoints import atomic_save, load_state
from eegaffect.models.config import TrainConfig

__all__ = ["TrainContext", "optimise", "random_crops", "load_stage"]


@dataclass
class TrainContext:
    """What every stage of one training run shares: config, device, rank/world, checkpoints, report."""

    config: TrainConfig
    device: object
    rank: int
    world: int
    ckpt_dir: Path | None
    resume: bool
    progress: bool
    report: dict


def random_crops(seqs, batch: int, crop: int, gen, extra=None):
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


def optimise(name: str, module, loss_method: str, make_batch: Callable, n_steps: int, lr: float, ctx: TrainContext,
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
        load_state(module, state["model"], ckpt)
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
            atomic_save({"model": module.state_dict(), "optim": opt.state_dict(), "gen": gen.get_state(),
                          "torch_rng": torch.get_rng_state(), "step": step + 1, "history": history,
                          "extra": extra_state[0]() if extra_state is not None else None}, ckpt)
    if bar is not None:
        bar.close()
    module.eval()
    return history


def load_stage(ctx: TrainContext, name: str, module) -> None:
    """Load a stage that is not run from its checkpoint ``{name}.pt``."""
    import torch

    ckpt = ctx.ckpt_dir / f"{name}.pt" if ctx.ckpt_dir is not None else None
    if ckpt is None or not ckpt.is_file():
        raise FileNotFoundError(f"stage {name!r} is not being run and has no checkpoint at {ckpt}; run it first "
                                "(--stage all, or the earlier stage)")
    state = torch.load(ckpt, map_location=ctx.device, weights_only=False)
    load_state(module, state["model"], ckpt)
    if state.get("extra") is not None and hasattr(module, "quantizer") and module.quantizer is not None:
        module.quantizer._generator.set_state(state["extra"])
    module.eval()
