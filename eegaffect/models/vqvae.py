"""Causal spatiotemporal VQ-VAE over sequences of feature frames.

Input layout (braindecode's ``(batch, n_chans, n_times)`` with a band axis): ``x`` of shape
``(batch, n_chans, n_bands, n_times)`` where ``n_times`` counts feature frames (e.g. 1-s DE frames at
``sfreq = 1`` Hz). The model is

1. a spatial-spectral encoder applied to every frame on its own: a band mixer shared by all electrodes
   (``n_bands -> band_filters``) followed by an electrode mixer (``n_chans * band_filters -> d_model``);
2. causal dilated temporal convolutions (left padding only) with residual connections;
3. a vector quantiser (:class:`EMAVectorQuantizer`: EMA codebook, dead-code restart, commitment loss, optional
   k-means initialisation, usage and perplexity tracking);
4. the latent at step t = its code vector (discrete prototype) plus a low-dimensional continuous residual
   (``z_e - code`` squeezed through ``residual_dim`` units and projected back);
5. a causal decoder (the same kind of temporal convolutions, then a linear map back to electrodes x bands).

What the transformer's heads read is ``head_input``: ``"continuous"`` (the encoder output ``z_e``; the codes are
still computed, for the masked code targets and the prototypes) or ``"quantised"`` (the decoder's latent, code +
residual). On held-out data the code carries no affect signal and switches at most steps, and passing it to the
heads made the output jump at every switch (docs/chain_stages.md), so training configs read the continuous
latent; the class default stays ``"quantised"`` so bundles saved before the option load as they were trained.

Every temporal operation is causal, so outputs at step t depend only on frames ``<= t``. :meth:`CausalVQVAE.step`
encodes one frame at a time with per-layer convolution buffers (initialised to zeros, which is exactly what the
left zero padding of the full forward does), so streaming and full-sequence encoding agree.

With ``quantize=False`` (the "no quantiser" ablation) the model is a plain causal autoencoder whose latent is the
continuous encoder output.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from eegaffect._docs import fill_doc

__all__ = ["CausalConv1d", "EMAVectorQuantizer", "CausalVQVAE"]


class CausalConv1d(nn.Conv1d):
    """A 1-D convolution padded on the left only, with a streaming :meth:`step`.

    Parameters
    ----------
    in_channels, out_channels : int
        Feature sizes.
    kernel_size : int
        Taps.
    dilation : int
        Dilation; the receptive field is ``(kernel_size - 1) * dilation + 1`` steps.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation, padding=0)
        self.left_pad = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Causal convolution of ``x``, shape (batch, in_channels, n_times) -> (batch, out_channels, n_times)."""
        return super().forward(F.pad(x, (self.left_pad, 0)))

    def init_state(self, batch: int, device=None, dtype=None) -> torch.Tensor:
        """Zero buffer of the last ``left_pad`` inputs, shape (batch, in_channels, left_pad)."""
        return torch.zeros(batch, self.in_channels, self.left_pad, device=device, dtype=dtype)

    def step(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: x_t shape (batch, in_channels) -> (y_t (batch, out_channels), new state)."""
        buf = torch.cat([state, x_t.unsqueeze(-1)], dim=-1)
        # the taps of the last output, as one small matmul (cheaper than conv1d's setup for a single step)
        taps = buf[..., :: self.dilation[0]]  # (batch, in_channels, kernel_size)
        y = F.linear(taps.reshape(taps.shape[0], -1), self.weight.reshape(self.out_channels, -1), self.bias)
        return y, buf[..., 1:]


class _TemporalBlock(nn.Module):
    """Residual block: x + W_1x1(GELU(CausalConv(x)))."""

    def __init__(self, d_model: int, kernel_size: int, dilation: int, drop_prob: float):
        super().__init__()
        self.conv = CausalConv1d(d_model, d_model, kernel_size, dilation)
        self.point = nn.Conv1d(d_model, d_model, 1)
        self.drop = nn.Dropout(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.point(F.gelu(self.conv(x))))

    def step(self, x_t: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, state = self.conv.step(x_t, state)
        y = F.linear(F.gelu(h), self.point.weight[..., 0], self.point.bias)
        return x_t + y, state


class _TemporalStack(nn.Module):
    def __init__(self, d_model: int, kernel_size: int, dilations: Sequence[int], drop_prob: float):
        super().__init__()
        self.blocks = nn.ModuleList(_TemporalBlock(d_model, kernel_size, d, drop_prob) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x

    def init_state(self, batch: int, device=None, dtype=None) -> list[torch.Tensor]:
        return [b.conv.init_state(batch, device, dtype) for b in self.blocks]

    def step(self, x_t: torch.Tensor, states: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        new = []
        for block, state in zip(self.blocks, states):
            x_t, state = block.step(x_t, state)
            new.append(state)
        return x_t, new

    @property
    def receptive_field(self) -> int:
        return 1 + sum(b.conv.left_pad for b in self.blocks)


class EMAVectorQuantizer(nn.Module):
    """Vector quantiser with an exponential-moving-average codebook.

    In training mode each call assigns inputs to their nearest code, updates the EMA cluster sizes and sums
    (Laplace-smoothed, van den Oord et al. 2017 appendix), restarts dead codes (EMA cluster size below
    ``dead_threshold``) on randomly chosen inputs of the batch, and accumulates usage counts. The first training
    call initialises the codebook from the batch, by k-means (``kmeans_init=True``) or random inputs. Under
    ``torch.distributed`` the statistics are all-reduced and the codebook is broadcast from rank 0, so every
    replica keeps the same codebook.

    Parameters
    ----------
    n_codes : int
        Codebook size K.
    dim : int
        Code dimension D.
    decay : float
        EMA decay.
    commitment : float
        Weight beta of the commitment loss ``beta * ||z_e - sg(q)||^2``.
    dead_threshold : float
        EMA cluster size under which a code counts as dead and is restarted.
    kmeans_init : bool
        Initialise the codebook by k-means on the first training batch.
    kmeans_iters : int
        Lloyd iterations of that k-means.
    seed : int
        Seed of the generator used for initialisation and restarts.
    """

    def __init__(self, n_codes: int, dim: int, decay: float = 0.95, commitment: float = 0.25,
                 dead_threshold: float = 0.05, kmeans_init: bool = True, kmeans_iters: int = 10, seed: int = 0):
        super().__init__()
        if n_codes < 2:
            raise ValueError(f"n_codes must be >= 2, got {n_codes}")
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.n_codes, self.dim = int(n_codes), int(dim)
        self.decay, self.commitment, self.dead_threshold = float(decay), float(commitment), float(dead_threshold)
        self.kmeans_init, self.kmeans_iters = bool(kmeans_init), int(kmeans_iters)
        self._generator = torch.Generator().manual_seed(int(seed))
        self.register_buffer("codebook", torch.randn(n_codes, dim, generator=self._generator) * 0.1)
        self.register_buffer("ema_count", torch.ones(n_codes))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("usage", torch.zeros(n_codes, dtype=torch.float64))
        self.register_buffer("n_restarts", torch.zeros((), dtype=torch.long))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantise.

        Parameters
        ----------
        z : Tensor, shape (..., dim)
            Encoder outputs.

        Returns
        -------
        q : Tensor, shape (..., dim)
            The code vectors (no gradient path; use the straight-through estimator outside).
        codes : Tensor of int64, shape (...)
            Code indices.
        commit_loss : Tensor, shape ()
            ``commitment * mean ||z - sg(q)||^2``.
        perplexity : Tensor, shape ()
            ``exp(entropy)`` of the code distribution in this batch.
        """
        if z.shape[-1] != self.dim:
            raise ValueError(f"expected inputs with last dimension {self.dim}, got shape {tuple(z.shape)}")
        flat = z.reshape(-1, self.dim).float()
        if self.training and not bool(self.initialised):
            self._initialise(flat.detach())
        codes = self._assign(flat.detach())
        counts = torch.bincount(codes, minlength=self.n_codes).to(flat.dtype)
        if self.training:
            self._ema_update(flat.detach(), codes, counts)
        q = self.codebook[codes]
        commit = self.commitment * F.mse_loss(flat, q.detach())
        p = counts / counts.sum().clamp_min(1.0)
        perplexity = torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum())
        return q.reshape(z.shape).to(z.dtype), codes.reshape(z.shape[:-1]), commit, perplexity

    def _assign(self, flat: torch.Tensor) -> torch.Tensor:
        d = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.t()
             + self.codebook.pow(2).sum(1)[None, :])
        return d.argmin(dim=1)

    def _initialise(self, flat: torch.Tensor) -> None:
        n = flat.shape[0]
        idx = torch.randint(n, (self.n_codes,), generator=self._generator)
        centres = flat[idx].clone()
        if self.kmeans_init and n >= self.n_codes:
            centres = flat[torch.randperm(n, generator=self._generator)[: self.n_codes]].clone()
            for _ in range(self.kmeans_iters):
                d = torch.cdist(flat, centres)
                assign = d.argmin(1)
                counts = torch.bincount(assign, minlength=self.n_codes).float()
                sums = torch.zeros_like(centres).index_add_(0, assign, flat)
                alive = counts > 0
                centres[alive] = sums[alive] / counts[alive, None]
        self.codebook.copy_(centres)
        self.ema_sum.copy_(centres)
        self.ema_count.fill_(1.0)
        self._sync_from_rank0()
        self.initialised.fill_(True)

    def _ema_update(self, flat: torch.Tensor, codes: torch.Tensor, counts: torch.Tensor) -> None:
        sums = torch.zeros(self.n_codes, self.dim, dtype=flat.dtype, device=flat.device).index_add_(0, codes, flat)
        counts = counts.clone()
        if _dist_active():
            torch.distributed.all_reduce(counts)
            torch.distributed.all_reduce(sums)
        self.usage += counts.double()
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        total = self.ema_count.sum()
        smoothed = (self.ema_count + 1e-5) / (total + self.n_codes * 1e-5) * total
        self.codebook.copy_(self.ema_sum / smoothed[:, None])
        dead = self.ema_count < self.dead_threshold
        n_dead = int(dead.sum())
        if n_dead:
            picks = flat[torch.randint(flat.shape[0], (n_dead,), generator=self._generator)]
            self.codebook[dead] = picks
            self.ema_sum[dead] = picks
            self.ema_count[dead] = 1.0
            self.n_restarts += n_dead
            self._sync_from_rank0()

    def _sync_from_rank0(self) -> None:
        if _dist_active():
            for buf in (self.codebook, self.ema_sum, self.ema_count):
                torch.distributed.broadcast(buf, src=0)

    def reset_usage(self) -> None:
        """Zero the accumulated usage counts."""
        self.usage.zero_()

    def codebook_stats(self) -> dict:
        """Health of the codebook from the usage accumulated in training.

        Returns
        -------
        stats : dict
            ``used_codes`` (codes assigned at least once), ``n_codes``, ``perplexity`` (exp entropy of the usage
            distribution; equals ``n_codes`` for uniform use, 1 for collapse) and ``restarts``.
        """
        total = float(self.usage.sum())
        p = self.usage / max(total, 1.0)
        ent = float(-(p[p > 0] * torch.log(p[p > 0])).sum()) if total > 0 else 0.0
        return {"used_codes": int((self.usage > 0).sum()), "n_codes": self.n_codes,
                "perplexity": math.exp(ent), "restarts": int(self.n_restarts)}


def _dist_active() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


@fill_doc
class CausalVQVAE(nn.Module):
    """Causal spatiotemporal VQ-VAE over feature frames (see the module docstring).

    Parameters
    ----------
    n_chans : int
        Number of electrodes.
    n_bands : int
        Number of frequency bands per electrode.
    sfreq : float
        Frame rate in Hz (1.0 for 1-s frames); informational.
    chs_info : list of dict | None
        MNE-style channel descriptions (``{"ch_name": ...}``); must have ``n_chans`` entries when given.
    d_model : int
        Latent and hidden size D.
    band_filters : int
        Outputs of the per-electrode band mixer.
    kernel_size : int
        Taps of the temporal convolutions.
    dilations : sequence of int
        One residual causal block per dilation, in the encoder and in the decoder.
    n_codes : int
        Codebook size.
    residual_dim : int
        Width of the continuous residual bottleneck (0 disables the residual).
    quantize : bool
        False for the "no quantiser" ablation.
    head_input : {"continuous", "quantised"}
        Which latent :meth:`encode` (key ``"head"``) and :meth:`step` hand to the heads (see the module docstring).
    commitment, decay, dead_threshold, kmeans_init : see :class:`EMAVectorQuantizer`.
    %(drop_prob)s
    seed : int
        Seed of the quantiser's generator.
    """

    def __init__(self, n_chans: int, n_bands: int = 5, sfreq: float = 1.0, chs_info: list | None = None,
                 d_model: int = 64, band_filters: int = 4, kernel_size: int = 3,
                 dilations: Sequence[int] = (1, 2, 4), n_codes: int = 64, residual_dim: int = 8,
                 quantize: bool = True, commitment: float = 0.25, decay: float = 0.95,
                 dead_threshold: float = 0.05, kmeans_init: bool = True, drop_prob: float = 0.1, seed: int = 0,
                 head_input: str = "quantised"):
        super().__init__()
        if head_input not in ("continuous", "quantised"):
            raise ValueError(f"head_input must be 'continuous' or 'quantised', got {head_input!r}")
        self.head_input = head_input
        if chs_info is not None and len(chs_info) != n_chans:
            raise ValueError(f"chs_info has {len(chs_info)} entries but n_chans is {n_chans}")
        if n_chans < 1 or n_bands < 1:
            raise ValueError(f"n_chans and n_bands must be >= 1, got {n_chans} and {n_bands}")
        self.n_chans, self.n_bands, self.sfreq, self.chs_info = int(n_chans), int(n_bands), float(sfreq), chs_info
        self.d_model, self.quantize, self.n_codes = int(d_model), bool(quantize), int(n_codes)
        self.band_mix = nn.Linear(n_bands, band_filters)
        self.chan_mix = nn.Linear(n_chans * band_filters, d_model)
        self.enc_norm = nn.LayerNorm(d_model)
        self.encoder = _TemporalStack(d_model, kernel_size, dilations, drop_prob)
        self.quantizer = (EMAVectorQuantizer(n_codes, d_model, decay, commitment, dead_threshold, kmeans_init,
                                             seed=seed) if quantize else None)
        self.residual_dim = int(residual_dim) if quantize else 0
        if self.residual_dim:
            self.res_down = nn.Linear(d_model, self.residual_dim)
            self.res_up = nn.Linear(self.residual_dim, d_model)
        self.decoder = _TemporalStack(d_model, kernel_size, dilations, drop_prob)
        self.dec_out = nn.Linear(d_model, n_chans * n_bands)

    @property
    def receptive_field(self) -> int:
        """Frames seen by the encoder output at one step."""
        return self.encoder.receptive_field

    def _spatial(self, frames: torch.Tensor) -> torch.Tensor:
        # frames (..., n_chans, n_bands) -> (..., d_model)
        h = F.gelu(self.band_mix(frames))
        return self.enc_norm(self.chan_mix(h.flatten(-2)))

    def _latent(self, z_e: torch.Tensor, lean: bool = False):
        if self.quantizer is None:
            zero = z_e.new_zeros(())
            return z_e, None, zero, zero
        if lean:  # inference step: nearest code only, no statistics
            codes = self.quantizer._assign(z_e.reshape(-1, self.d_model).float()).reshape(z_e.shape[:-1])
            q, commit, perplexity = self.quantizer.codebook[codes].to(z_e.dtype), None, None
        else:
            q, codes, commit, perplexity = self.quantizer(z_e)
        latent = z_e + (q - z_e).detach()  # straight-through
        if self.residual_dim:
            latent = latent + self.res_up(self.res_down(z_e - q.detach()))
        return latent, codes, commit, perplexity

    def encode(self, x: torch.Tensor) -> dict:
        """Encode a sequence.

        Parameters
        ----------
        x : Tensor, shape (batch, n_chans, n_bands, n_times)
            Normalised feature frames.

        Returns
        -------
        out : dict
            ``z_e`` (batch, n_times, d_model), ``latent`` (batch, n_times, d_model; what the decoder reads),
            ``head`` (batch, n_times, d_model; what the heads read, see ``head_input``), ``codes``
            (batch, n_times) int64 or None, ``commit_loss`` and ``perplexity`` (scalars).
        """
        self._check_input(x)
        frames = x.permute(0, 3, 1, 2)  # (B, T, C, F)
        h = self._spatial(frames).transpose(1, 2)  # (B, D, T)
        z_e = self.encoder(h).transpose(1, 2)  # (B, T, D)
        latent, codes, commit, perplexity = self._latent(z_e)
        head = z_e if self.head_input == "continuous" else latent
        return {"z_e": z_e, "latent": latent, "head": head, "codes": codes, "commit_loss": commit,
                "perplexity": perplexity}

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Reconstruction, shape (batch, n_chans, n_bands, n_times), of ``latent``, shape (batch, n_times, d_model)."""
        h = self.decoder(latent.transpose(1, 2)).transpose(1, 2)
        out = self.dec_out(h)  # (B, T, C*F)
        return out.reshape(out.shape[0], out.shape[1], self.n_chans, self.n_bands).permute(0, 2, 3, 1)

    def forward(self, x: torch.Tensor) -> dict:
        """Encode, quantise and decode; returns :meth:`encode`'s dict plus ``recon`` shaped like ``x``."""
        out = self.encode(x)
        out["recon"] = self.decode(out["latent"])
        return out

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Reconstruction MSE + commitment loss, and the forward outputs."""
        out = self(x)
        rec = F.mse_loss(out["recon"], x)
        return rec + out["commit_loss"], {**out, "recon_loss": rec}

    def loss_only(self, x: torch.Tensor) -> torch.Tensor:
        """The training loss of :meth:`loss` alone."""
        return self.loss(x)[0]

    def init_state(self, batch: int = 1) -> list[torch.Tensor]:
        """Streaming state: zero buffers of every encoder convolution."""
        p = self.chan_mix.weight
        return self.encoder.init_state(batch, p.device, p.dtype)

    def step(self, frame: torch.Tensor, state: list[torch.Tensor]):
        """Encode one frame with carried state (eval mode: the codebook is not updated).

        Parameters
        ----------
        frame : Tensor, shape (batch, n_chans, n_bands)
            One normalised feature frame.
        state : list of Tensor
            From :meth:`init_state` or the previous call.

        Returns
        -------
        latent : Tensor, shape (batch, d_model)
            What the heads read (``head_input``).
        codes : Tensor of int64, shape (batch,) or None
        state : list of Tensor
        """
        if frame.ndim != 3 or frame.shape[1:] != (self.n_chans, self.n_bands):
            raise ValueError(f"expected a frame of shape (batch, {self.n_chans}, {self.n_bands}), "
                             f"got {tuple(frame.shape)}")
        z, state = self.encoder.step(self._spatial(frame), state)
        latent, codes, _, _ = self._latent(z, lean=not self.training)
        return (z if self.head_input == "continuous" else latent), codes, state

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1:3] != (self.n_chans, self.n_bands):
            raise ValueError(f"expected input of shape (batch, {self.n_chans}, {self.n_bands}, n_times), "
                             f"got {tuple(x.shape)}")
