"""Masked temporal transformer over the VQ-VAE latent sequence, with valence/arousal heads.

Attention is causal and local: the query at step t attends to keys ``t - context + 1 .. t`` (a sliding window of
``context`` steps), with a learned relative-position bias per head and distance (no absolute positions, so
the model handles sessions of any length). Stacking ``n_layers`` such layers gives a receptive field of
``n_layers * (context - 1) + 1`` steps.

Streaming (:meth:`MaskedTemporalTransformer.step`) keeps a key/value cache per layer holding the last
``context - 1`` steps (a bounded KV cache): every cached key/value was computed from exactly the inputs the full
forward uses, so step-by-step outputs equal the full-sequence forward (to float rounding), at a constant cost
per step however long the session runs.

Pretraining (:meth:`MaskedTemporalTransformer.pretrain_loss`): a random subset of steps is replaced by a learned
mask token; from the causal context the model predicts each masked step's code (cross-entropy, when the
VQ-VAE quantises) and its latent vector (MSE). Fine-tuning (:meth:`MaskedTemporalTransformer.regression_loss`):
per-step valence/arousal (tanh, in [-1, 1]) by MSE + (1 - CCC), a log-variance head by Gaussian NLL on the
detached mean (it gives the confidence), and an optional class head by cross-entropy.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from eegaffect._docs import fill_doc

__all__ = ["MaskedTemporalTransformer", "ccc_loss", "route_outputs"]


def route_outputs(fused: dict, eeg: dict, columns) -> dict:
    """A fused chain's per-output routing (:mod:`eegaffect.models.fusion`, "Per-output routing"): the fused pass's
    head outputs with the V/A ``columns`` (and their log-variance) taken from the EEG pass.

    Parameters
    ----------
    fused, eeg : dict
        Head outputs of the two passes (``va`` and ``logvar``, shape (..., n_outputs), and the rest).
    columns : sequence of int
        Output columns taken from ``eeg``.

    Returns
    -------
    out : dict
        ``fused`` with new ``va`` and ``logvar`` tensors (the inputs are not modified).
    """
    cols = list(columns)
    out = dict(fused)
    for key in ("va", "logvar"):
        mixed = fused[key].clone()
        mixed[..., cols] = eeg[key][..., cols]
        out[key] = mixed
    return out


def ccc_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - CCC`` averaged over the outputs, differentiable.

    The formula of :func:`eegaffect.benchmark.metrics.ccc` (population moments) in torch, tested against it; a
    ``1e-8`` in the denominator keeps the gradient finite where CCC is undefined (both constant and equal), so
    the loss is 1 there instead of NaN.

    Parameters
    ----------
    pred, target : Tensor, shape (n, n_outputs)

    Returns
    -------
    loss : Tensor, shape ()
    """
    pm, tm = pred.mean(0), target.mean(0)
    pv, tv = pred.var(0, unbiased=False), target.var(0, unbiased=False)
    cov = ((pred - pm) * (target - tm)).mean(0)
    ccc = 2 * cov / (pv + tv + (pm - tm) ** 2 + 1e-8)
    return (1 - ccc).mean()


class _Attention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, context: int, drop_prob: float):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.n_heads, self.d_head, self.context = n_heads, d_model // n_heads, context
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.rel_bias = nn.Parameter(torch.zeros(n_heads, context))
        self.drop = nn.Dropout(drop_prob)

    def _split(self, x: torch.Tensor):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_heads, self.d_head).permute(2, 0, 3, 1, 4)
        return q, k, v  # each (B, H, T, dh)

    def _attend(self, q, k, v, bias):
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d_head) + bias
        w = self.drop(torch.softmax(scores, dim=-1))
        o = w @ v  # (B, H, Tq, dh)
        return self.out(o.transpose(1, 2).reshape(o.shape[0], o.shape[2], -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        q, k, v = self._split(x)
        pos = torch.arange(t, device=x.device)
        dist = pos[:, None] - pos[None, :]
        allowed = (dist >= 0) & (dist < self.context)
        bias = self.rel_bias[:, dist.clamp(0, self.context - 1)]  # (H, T, T)
        bias = bias.masked_fill(~allowed, float("-inf"))
        return self._attend(q, k, v, bias)

    def step(self, x_t: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor]):
        q, k, v = self._split(x_t[:, None, :])
        k = torch.cat([cache[0], k], dim=2)
        v = torch.cat([cache[1], v], dim=2)
        n = k.shape[2]
        bias = self.rel_bias[:, torch.arange(n - 1, -1, -1, device=x_t.device)][:, None, :]  # (H, 1, n)
        y = self._attend(q, k, v, bias)[:, 0]
        start = max(0, n - (self.context - 1))
        return y, (k[:, :, start:], v[:, :, start:])


class _Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, context: int, drop_prob: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = _Attention(d_model, n_heads, context, drop_prob)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.GELU(), nn.Linear(2 * d_model, d_model))
        self.drop = nn.Dropout(drop_prob)

    def forward(self, x):
        x = x + self.drop(self.attn(self.norm1(x)))
        return x + self.drop(self.mlp(self.norm2(x)))

    def step(self, x_t, cache):
        a, cache = self.attn.step(self.norm1(x_t), cache)
        x_t = x_t + a
        return x_t + self.mlp(self.norm2(x_t)), cache


@fill_doc
class MaskedTemporalTransformer(nn.Module):
    """Causal sliding-window transformer over latents with V/A (and optional class) heads.

    Parameters
    ----------
    d_in : int
        Size of the input latents.
    %(n_outputs)s
    n_codes : int | None
        Codebook size for the masked code-prediction head (None when the latents are not quantised).
    %(n_classes)s
    d_model, n_heads, n_layers : int
        Transformer sizes.
    context : int
        Attention window in steps (see the module docstring).
    %(drop_prob)s
    """

    def __init__(self, d_in: int, n_outputs: int = 2, n_codes: int | None = None, n_classes: int | None = None,
                 d_model: int = 64, n_heads: int = 4, n_layers: int = 2, context: int = 32, drop_prob: float = 0.1):
        super().__init__()
        if context < 1:
            raise ValueError(f"context must be >= 1 step, got {context}")
        self.d_in, self.n_outputs, self.n_codes, self.n_classes = d_in, n_outputs, n_codes, n_classes
        self.d_model, self.context = d_model, context
        self.class_weight = 0.2
        self.mask_token = nn.Parameter(torch.zeros(d_in))
        self.inp = nn.Linear(d_in, d_model)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, context, drop_prob) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.va_head = nn.Linear(d_model, n_outputs)
        self.logvar_head = nn.Linear(d_model, n_outputs)
        self.class_head = nn.Linear(d_model, n_classes) if n_classes else None
        self.code_head = nn.Linear(d_model, n_codes) if n_codes else None
        self.latent_head = nn.Linear(d_model, d_in)

    @property
    def receptive_field(self) -> int:
        """Steps that influence one output."""
        return len(self.blocks) * (self.context - 1) + 1

    def _heads(self, h: torch.Tensor) -> dict:
        out = {"context": h, "va": torch.tanh(self.va_head(h)), "logvar": self.logvar_head(h).clamp(-10, 5)}
        if self.class_head is not None:
            out["class_logits"] = self.class_head(h)
        return out

    def forward(self, latents: torch.Tensor, mask: torch.Tensor | None = None) -> dict:
        """Full-sequence forward.

        Parameters
        ----------
        latents : Tensor, shape (batch, n_times, d_in)
        mask : Tensor of bool, shape (batch, n_times) | None
            Steps replaced by the mask token.

        Returns
        -------
        out : dict
            ``context`` (batch, n_times, d_model), ``va`` and ``logvar`` (batch, n_times, n_outputs),
            ``class_logits`` when there is a class head.
        """
        if latents.ndim != 3 or latents.shape[-1] != self.d_in:
            raise ValueError(f"expected latents of shape (batch, n_times, {self.d_in}), got {tuple(latents.shape)}")
        if mask is not None:
            latents = torch.where(mask[..., None], self.mask_token.to(latents.dtype), latents)
        h = self.inp(latents)
        for block in self.blocks:
            h = block(h)
        return self._heads(self.norm(h))

    def init_cache(self, batch: int = 1) -> list:
        """Empty per-layer key/value caches for :meth:`step`."""
        p = self.inp.weight
        dh = self.d_model // self.blocks[0].attn.n_heads if len(self.blocks) else 1
        nh = self.blocks[0].attn.n_heads if len(self.blocks) else 1
        empty = torch.zeros(batch, nh, 0, dh, device=p.device, dtype=p.dtype)
        return [(empty, empty) for _ in self.blocks]

    def step(self, latent_t: torch.Tensor, cache: list) -> tuple[dict, list]:
        """One streaming step.

        Parameters
        ----------
        latent_t : Tensor, shape (batch, d_in)
        cache : list
            From :meth:`init_cache` or the previous call.

        Returns
        -------
        out : dict
            Like :meth:`forward` for this step (shapes without the time axis).
        cache : list
        """
        if latent_t.ndim != 2 or latent_t.shape[-1] != self.d_in:
            raise ValueError(f"expected a latent of shape (batch, {self.d_in}), got {tuple(latent_t.shape)}")
        h = self.inp(latent_t)
        new = []
        for block, c in zip(self.blocks, cache):
            h, c = block.step(h, c)
            new.append(c)
        return self._heads(self.norm(h)), new

    def pretrain_loss(self, latents: torch.Tensor, codes: torch.Tensor | None, mask: torch.Tensor) -> torch.Tensor:
        """Masked-step loss: code cross-entropy (when codes are given) + latent MSE at masked steps."""
        out = self.forward(latents, mask)
        h = out["context"][mask]
        if h.shape[0] == 0:
            return latents.sum() * 0.0
        loss = F.mse_loss(self.latent_head(h), latents[mask].detach())
        if codes is not None and self.code_head is not None:
            loss = loss + F.cross_entropy(self.code_head(h), codes[mask])
        return loss

    def pretrain_loss_nocodes(self, latents: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """:meth:`pretrain_loss` without code targets (latents that are not quantised)."""
        return self.pretrain_loss(latents, None, mask)

    def finetune_loss(self, latents: torch.Tensor, va: torch.Tensor, labels: torch.Tensor | None = None):
        """:meth:`regression_loss` with the class weight in ``self.class_weight`` (set by the trainer)."""
        return self.regression_loss(latents, va, labels, self.class_weight)

    def regression_loss(self, latents: torch.Tensor, va: torch.Tensor, labels: torch.Tensor | None = None,
                        class_weight: float = 0.2, routed: tuple | None = None) -> torch.Tensor:
        """MSE + (1 - CCC) on V/A, Gaussian NLL of the log-variance head, optional class cross-entropy.

        Parameters
        ----------
        latents : Tensor, shape (batch, n_times, d_in)
        va : Tensor, shape (batch, n_times, n_outputs)
        labels : Tensor of int64, shape (batch, n_times) | None
            Class indices (negative entries are ignored).
        routed : (Tensor, sequence of int) | None
            A fused chain's per-output routing (:mod:`eegaffect.models.fusion`, "Per-output routing"): the latents
            of its EEG pass, same shape as ``latents``, and the output columns whose V/A and log-variance come
            from them.
        """
        out = self.forward(latents)
        if routed is not None and len(routed[1]):
            out = route_outputs(out, self.forward(routed[0]), routed[1])
        pred, logvar = out["va"].reshape(-1, self.n_outputs), out["logvar"].reshape(-1, self.n_outputs)
        target = va.reshape(-1, self.n_outputs)
        loss = F.mse_loss(pred, target) + ccc_loss(pred, target)
        loss = loss + 0.1 * F.gaussian_nll_loss(pred.detach(), target, logvar.exp())
        if labels is not None and self.class_head is not None:
            loss = loss + class_weight * F.cross_entropy(out["class_logits"].reshape(-1, self.n_classes),
                                                         labels.reshape(-1), ignore_index=-1)
        return loss
