"""The assembled chain: normalisation -> causal VQ-VAE -> masked temporal transformer -> SAC optimiser.

:class:`EEGDancer` is the torch part (VQ-VAE encoder + transformer) with braindecode's conventions
(``n_chans, n_outputs, n_times, sfreq, chs_info``; input ``(batch, n_chans, n_bands, n_times)`` of feature
frames). :class:`EEGDancerChain` adds the normalisation statistics (fitted on training data) and the optional
SAC :class:`~eegaffect.models.sac.TrajectoryOptimizer`, and runs the chain offline (:meth:`~EEGDancerChain.run`,
whole sequences) or live (:meth:`~EEGDancerChain.stream` then :meth:`ChainStream.step`, frame by frame with
carried state). The final V/A passes a causal level + trend exponential smoother, and optionally the class
probabilities a plain one (:class:`~eegaffect.models.smoothing.OutputSmoother`: time constants ``smooth_s`` and
``trend_s`` seconds, 0 = none; the same recursion offline and live, restarted with each sequence/stream).
Confidence per step is ``1 / (1 + mean_d sigma_d)`` with ``sigma`` from the transformer's log-variance head, in
(0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from eegaffect._docs import fill_doc
from eegaffect.models.transformer import MaskedTemporalTransformer, route_outputs
from eegaffect.models.vqvae import CausalVQVAE

__all__ = ["EEGDancer", "EEGDancerChain", "ChainStream"]


@fill_doc
class EEGDancer(nn.Module):
    """Causal VQ-VAE encoder followed by the masked temporal transformer.

    Parameters
    ----------
    n_chans, n_bands : int
        Feature frame shape.
    %(n_outputs)s
    sfreq : float
        Frame rate in Hz.
    chs_info : list of dict | None
        MNE-style channel descriptions.
    %(n_classes)s
    vqvae : dict
        Keyword arguments of :class:`CausalVQVAE` (``quantize=False`` for the ablation).
    transformer : dict
        Keyword arguments of :class:`MaskedTemporalTransformer` (``d_model, n_heads, n_layers, context,
        drop_prob``).
    """

    def __init__(self, n_chans: int, n_bands: int, n_outputs: int = 2, sfreq: float = 1.0,
                 chs_info: list | None = None, n_classes: int | None = None, vqvae: dict | None = None,
                 transformer: dict | None = None, fusion: dict | None = None):
        super().__init__()
        self.n_chans, self.n_bands, self.n_outputs, self.sfreq = n_chans, n_bands, n_outputs, sfreq
        self.chs_info = chs_info
        self.vqvae = CausalVQVAE(n_chans, n_bands, sfreq=sfreq, chs_info=chs_info, **(vqvae or {}))
        self.transformer = MaskedTemporalTransformer(
            d_in=self.vqvae.d_model, n_outputs=n_outputs,
            n_codes=self.vqvae.n_codes if self.vqvae.quantize else None, n_classes=n_classes,
            **(transformer or {}))
        #: the physiological encoders and missing embeddings (None: an EEG-only model, weights as before)
        self.fusion = None
        if fusion:
            from eegaffect.models.fusion_modules import ModalityFusion

            self.fusion = ModalityFusion(self.vqvae.d_model, **fusion)

    def _fuse(self, head: torch.Tensor, physio) -> torch.Tensor:
        if self.fusion is None:
            if physio is not None:
                raise ValueError("this model has no physiological inputs; got physio")
            return head
        if physio is None:
            raise ValueError(f"this model fuses {self.fusion.kinds}: expected physio=(x, mask, present)")
        return self.fusion(head, *physio)

    def forward(self, x: torch.Tensor, physio=None) -> dict:
        """Transformer outputs plus ``codes`` of ``x``: Tensor, shape (batch, n_chans, n_bands, n_times), normalised;
        ``physio``: ``(x, mask, present)`` tensors of shape (batch, n_times, ...) for a fused model
        (:meth:`~eegaffect.models.fusion.PhysioSpec.prepare`).
        """
        enc = self.vqvae.encode(x)
        out = self.transformer(self._fuse(enc["head"], physio))
        out["codes"] = enc["codes"]
        return out

    def init_state(self, batch: int = 1) -> dict:
        """Streaming state of both parts."""
        return {"vq": self.vqvae.init_state(batch), "tr": self.transformer.init_cache(batch)}

    def step(self, frame: torch.Tensor, state: dict, physio=None) -> tuple[dict, dict]:
        """One streaming step of ``frame``, shape (batch, n_chans, n_bands) -> (outputs of this step, new state);
        ``physio`` as in :meth:`forward` without the time axis.
        """
        latent, codes, vq_state = self.vqvae.step(frame, state["vq"])  # the latent the heads read
        out, cache = self.transformer.step(self._fuse(latent, physio), state["tr"])
        out["codes"] = codes
        return out, {"vq": vq_state, "tr": cache}


class EEGDancerChain:
    """A trained chain ready for inference (offline and live give the same outputs).

    Parameters
    ----------
    model : EEGDancer
        The torch part (put in eval mode).
    mean, std : ndarray, shape (n_chans, n_bands)
        Feature normalisation fitted on the training data.
    optimizer : TrajectoryOptimizer | None
        The SAC trajectory optimiser, or None (the "no SAC" ablation).
    smooth_s : float
        Time constant in seconds of the causal exponential smoothing of the final V/A (0: none).
    hop_s : float
        Seconds between steps (the feature hop).
    trend_s : float
        Time constant in seconds of the smoother's trend term (0: plain exponential smoothing).
    smooth_labels : bool
        Smooth the class probabilities with the same time constant; the label is their argmax.
    physio : PhysioSpec | None
        The physiological inputs of a fused model (:mod:`eegaffect.models.fusion`); None for an EEG-only one.
    """

    def __init__(self, model: EEGDancer, mean: np.ndarray, std: np.ndarray, optimizer=None, smooth_s: float = 0.0,
                 hop_s: float = 1.0, trend_s: float = 0.0, smooth_labels: bool = False, physio=None):
        from eegaffect.models.smoothing import OutputSmoother

        shape = (model.n_chans, model.n_bands)
        mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
        if mean.shape != shape or std.shape != shape:
            raise ValueError(f"expected normalisation statistics of shape {shape}, got {mean.shape} and {std.shape}")
        bad = np.argwhere(~(np.isfinite(mean) & np.isfinite(std)))
        if len(bad):  # a dead or flat channel (log band power -inf) must never become a bundle's statistics
            raise ValueError(f"normalisation statistics must be finite; they are not at (channel, band) "
                             f"{[tuple(int(v) for v in b) for b in bad[:5]]}{' ...' if len(bad) > 5 else ''}: the "
                             "training features there are not finite (a dead or flat channel, or NaN/Inf samples)")
        if not np.all(std > 0):
            raise ValueError("normalisation std must be positive everywhere")
        if (physio is None) != (model.fusion is None) or (physio is not None and physio.kinds != model.fusion.kinds):
            raise ValueError(f"expected a physio spec for exactly the model's physiological kinds "
                             f"{None if model.fusion is None else model.fusion.kinds}, got "
                             f"{None if physio is None else physio.kinds}")
        self.physio = physio
        self.model = model.eval()
        self.mean, self.std = mean, std
        self._scale = (1.0 / std).astype(np.float32)
        self._shift = mean.astype(np.float32)
        self.optimizer = optimizer
        #: the causal output smoother (raises on negative time constants or hop)
        self.smoother = OutputSmoother(smooth_s, trend_s, hop_s, labels=smooth_labels)
        self.smooth_s, self.hop_s = float(smooth_s), float(hop_s)
        self.trend_s, self.smooth_labels = float(trend_s), bool(smooth_labels)
        #: weight of the new value in the smoother's level; 1 = no smoothing
        self.alpha = self.smoother.alpha

    @property
    def n_chans(self) -> int:
        """Number of EEG channels the model expects."""
        return self.model.n_chans

    @property
    def n_bands(self) -> int:
        """Number of frequency bands per channel the model expects."""
        return self.model.n_bands

    def normalise(self, features: np.ndarray) -> np.ndarray:
        """(…, n_chans, n_bands) features -> float32 normalised, non-finite values replaced by 0."""
        z = (np.asarray(features, np.float32) - self._shift) * self._scale
        return np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)

    def _check(self, features: np.ndarray) -> np.ndarray:
        features = np.asarray(features)
        if features.ndim != 3 or features.shape[1:] != (self.n_chans, self.n_bands):
            raise ValueError(f"expected features of shape (n_steps, {self.n_chans}, {self.n_bands}), "
                             f"got {features.shape}")
        return features

    @property
    def kinds(self) -> list[str]:
        """Physiological kinds the model fuses (empty for an EEG-only model)."""
        return [] if self.physio is None else self.physio.kinds

    @property
    def eeg_pass_columns(self) -> list[int]:
        """Output columns taken from the EEG pass (:attr:`~eegaffect.models.fusion.PhysioSpec.eeg_pass_outputs`;
        empty for an EEG-only model or a fused one without routing).
        """
        return [] if self.physio is None else self.physio.eeg_pass_columns

    def _eeg_pass_drop(self, drop=()) -> tuple:
        """What the EEG pass drops: every physiological kind, and whatever ``drop`` forces missing."""
        return tuple(dict.fromkeys((*drop, *self.kinds)))

    def _route(self, fused: dict, eeg: dict) -> dict:
        """The fused pass's outputs with the routed V/A columns (and their log-variance) from the EEG pass."""
        return route_outputs(fused, eeg, self.eeg_pass_columns)

    def physio_inputs(self, physio, n_steps: int, drop=()):
        """Tensors ``(x, mask, present)`` of per-step physiological frames (None for an EEG-only model).

        Parameters
        ----------
        physio : mapping of str to ndarray, shape (n_steps, n_features_k) | None
            Per kind, the frame each step uses (already paired by the as-of rule; NaN rows or absent kinds:
            missing).
        n_steps : int
        drop : sequence of str
            Modalities forced missing (``"eeg"`` or kinds).
        """
        if self.physio is None:
            if physio:
                raise ValueError(f"this chain is EEG-only; got physiological frames for {sorted(physio)}")
            if drop:
                raise ValueError("an EEG-only chain cannot drop modalities")
            return None
        unknown = sorted(set(physio or {}) - set(self.kinds)) + sorted(set(drop) - set(self.kinds) - {"eeg"})
        if unknown:
            raise ValueError(f"unknown modalities {unknown}; this chain fuses eeg and {self.kinds}")
        x, mask, present = self.physio.prepare(physio or {}, n_steps, drop)
        return torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(present)

    def run(self, features: np.ndarray, physio=None, drop=()) -> dict:
        """Whole sequence through the full-sequence forward (fast offline path).

        Parameters
        ----------
        features : ndarray, shape (n_steps, n_chans, n_bands)
        physio : mapping of str to ndarray, shape (n_steps, n_features_k) | None
            A fused model's physiological frames per step (see :meth:`physio_inputs`).
        drop : sequence of str
            Modalities forced missing (the test-time ablation).

        Returns
        -------
        out : dict
            ``va`` (n_steps, 2) final output, ``base_va`` (n_steps, 2) transformer output, ``confidence``
            (n_steps,), ``code`` (n_steps,) int (-1 without quantiser), ``label`` (n_steps,) class
            index (-1 without class head; the argmax of ``class_prob``), ``class_prob`` (n_steps, n_classes)
            class probabilities (smoothed with ``smooth_labels``; n_classes = 0 without class head),
            ``context`` (n_steps, d_model).
        """
        features = self._check(features)
        x = torch.from_numpy(self.normalise(features)).permute(1, 2, 0)[None]
        phys = self.physio_inputs(physio, features.shape[0], drop)
        with torch.no_grad():
            if self.eeg_pass_columns:  # the fused pass and the EEG pass as rows 0 and 1 of one batch, as ChainStream
                eeg = self.physio_inputs(physio, features.shape[0], self._eeg_pass_drop(drop))
                both = self.model(torch.cat([x, x]), tuple(torch.stack([a, b]) for a, b in zip(phys, eeg)))
                out = self._route(*(_batch_row(both, r) for r in (0, 1)))
            else:
                out = self.model(x, None if phys is None else tuple(t[None] for t in phys))
        res = self._collect({k: (v[0] if v is not None else None) for k, v in out.items()})
        if self.optimizer is not None:
            res["va"] = self.optimizer.run(res["context"], res["base_va"])
        self._smooth(res, None)
        return res

    def smooth(self, va: np.ndarray) -> np.ndarray:
        """The output smoother over one whole sequence of (n, 2) V/A (as :meth:`run` applies it)."""
        return self.smoother.apply(va)[0]

    def _smooth(self, res: dict, state):
        """Smooth ``res["va"]`` and ``res["class_prob"]`` in place (labels from the smoothed probabilities);
        returns the smoother's state.
        """
        has_probs = res["class_prob"].shape[1] > 0
        res["va"], probs, state = self.smoother.apply(res["va"], res["class_prob"] if has_probs else None, state)
        if has_probs:
            res["class_prob"] = probs
            res["label"] = probs.argmax(-1).astype(np.int64)
        return state

    def stream(self) -> "ChainStream":
        """A new live stream with its own state (see :class:`ChainStream`)."""
        return ChainStream(self)

    @staticmethod
    def _collect(out: dict) -> dict:
        va = out["va"].float().numpy()
        sigma = torch.exp(0.5 * out["logvar"].float()).mean(-1).numpy()
        codes = out.get("codes")
        code = codes.numpy().astype(np.int64) if codes is not None else np.full(va.shape[0], -1, np.int64)
        logits = out.get("class_logits")
        label = (logits.argmax(-1).numpy().astype(np.int64) if logits is not None
                 else np.full(va.shape[0], -1, np.int64))
        probs = (torch.softmax(logits.float(), -1).numpy() if logits is not None
                 else np.zeros((va.shape[0], 0), np.float32))
        return {"va": va.copy(), "base_va": va, "confidence": (1.0 / (1.0 + sigma)).astype(np.float32),
                "code": code, "label": label, "class_prob": probs, "context": out["context"].float().numpy()}


class ChainStream:
    """Frame-by-frame inference with carried state (VQ-VAE conv buffers, transformer KV cache, previous output).

    Parameters
    ----------
    chain : EEGDancerChain
        The trained chain (shared, not copied).
    """

    def __init__(self, chain: EEGDancerChain):
        self.chain = chain
        self.reset()

    def reset(self) -> None:
        """Start a new sequence."""
        #: a routed fused chain (fusion, "Per-output routing") steps its fused pass and its EEG pass together, as
        #: rows 0 and 1 of one batch: one model call per frame instead of two (the step is mostly per-call
        #: overhead: ~0.75 ms for one row or two on one core, against ~1.5 ms for two calls)
        self._routed = bool(self.chain.eeg_pass_columns)
        self._state = self.chain.model.init_state(2 if self._routed else 1)
        self._prev: np.ndarray | None = None
        self._smoothed = None  # the output smoother's state

    def step(self, features: np.ndarray, physio=None, drop=()) -> dict:
        """Process frames (n, n_chans, n_bands) one at a time; returns the same dict as
        :meth:`EEGDancerChain.run` for these ``n`` steps (``physio``, ``drop``: as there, for these steps).
        """
        chain = self.chain
        features = chain._check(features)
        outs = []
        z = torch.from_numpy(chain.normalise(features))
        phys = chain.physio_inputs(physio, features.shape[0], drop)
        eeg = chain.physio_inputs(physio, features.shape[0], chain._eeg_pass_drop(drop)) if self._routed else None
        with torch.inference_mode():
            for i in range(features.shape[0]):
                # each step's inputs in fresh (aligned) memory: a row's offset in the chunk sets its alignment, and
                # the CPU kernels' results differ in the last bits with it, so chunkings would not agree exactly
                if eeg is None:
                    p = None if phys is None else tuple(t[i:i + 1].clone() for t in phys)
                    out, self._state = chain.model.step(z[i:i + 1].clone(), self._state, p)
                else:  # row 0 the fused pass, row 1 the EEG pass
                    p = tuple(torch.cat([a[i:i + 1], b[i:i + 1]]) for a, b in zip(phys, eeg))
                    both, self._state = chain.model.step(torch.cat([z[i:i + 1], z[i:i + 1]]), self._state, p)
                    out = chain._route(*(_batch_row(both, r) for r in (0, 1)))
                res = chain._collect(out)
                if chain.optimizer is not None:
                    self._prev = chain.optimizer.act(res["context"][0], res["base_va"][0], self._prev)
                    res["va"] = self._prev[None].copy()
                self._smoothed = chain._smooth(res, self._smoothed)
                outs.append(res)
        if not outs:
            d = chain.model.transformer.d_model
            return {"va": np.zeros((0, 2), np.float32), "base_va": np.zeros((0, 2), np.float32),
                    "confidence": np.zeros(0, np.float32), "code": np.zeros(0, np.int64),
                    "label": np.zeros(0, np.int64),
                    "class_prob": np.zeros((0, chain.model.transformer.n_classes or 0), np.float32),
                    "context": np.zeros((0, d), np.float32)}
        return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}


def _batch_row(out: dict, row: int) -> dict:
    """Row ``row`` of a batched model step's outputs, keeping the batch axis (entries that are None stay None)."""
    return {k: (v[row:row + 1] if isinstance(v, torch.Tensor) and v.ndim else v) for k, v in out.items()}
