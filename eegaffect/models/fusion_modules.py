"""The fused model's torch modules: per-modality encoders with missing embeddings, summed into the transformer's
input (:class:`ModalityFusion`), and the fused transformer stage's trainable part (:class:`FusedHead`). The design
is in :mod:`eegaffect.models.fusion`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["ModalityFusion", "FusedHead"]


class ModalityFusion(nn.Module):
    """Per-modality encoders and missing embeddings, summed into the shared latent.

    Parameters
    ----------
    d_model : int
        Size of the shared latent (the VQ-VAE latent, the transformer's ``d_in``).
    kinds : sequence of str
        Physiological kinds, in input order.
    n_features : sequence of int
        Features per kind.
    hidden : int
        Hidden units of each encoder's MLP (``[z, mask] -> hidden -> d_model``).
    """

    def __init__(self, d_model: int, kinds: Sequence[str], n_features: Sequence[int], hidden: int = 32):
        super().__init__()
        if len(kinds) != len(n_features) or not len(kinds):
            raise ValueError(f"expected one feature count per kind (at least one kind), got kinds {list(kinds)} and "
                             f"n_features {list(n_features)}")
        self.d_model, self.kinds, self.n_features = int(d_model), list(kinds), [int(n) for n in n_features]
        self.hidden = int(hidden)
        self.encoders = nn.ModuleDict({k: nn.Sequential(nn.Linear(2 * n, self.hidden), nn.GELU(),
                                                        nn.Linear(self.hidden, self.d_model))
                                       for k, n in zip(self.kinds, self.n_features)})
        #: row 0: the EEG's missing embedding; row 1 + i: kind i's
        self.missing = nn.Parameter(torch.randn(1 + len(self.kinds), self.d_model) * 0.1)
        self._bounds = [int(v) for v in np.cumsum([0] + self.n_features)]

    def forward(self, eeg: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Fused latents.

        Parameters
        ----------
        eeg : Tensor, shape (..., d_model)
            EEG latents (what the heads read).
        x, mask : Tensor, shape (..., sum n_features)
            Physiological inputs of :meth:`~eegaffect.models.fusion.PhysioSpec.prepare`.
        present : Tensor of bool, shape (..., 1 + n_kinds)
            Which modalities are there (EEG first).

        Returns
        -------
        fused : Tensor, shape (..., d_model)
        """
        pres = present.to(eeg.dtype).unsqueeze(-1)
        miss = self.missing.to(eeg.dtype)
        out = pres[..., 0, :] * eeg + (1 - pres[..., 0, :]) * miss[0]
        for i, k in enumerate(self.kinds):
            a, b = self._bounds[i], self._bounds[i + 1]
            h = self.encoders[k](torch.cat([x[..., a:b], mask[..., a:b]], dim=-1).to(eeg.dtype))
            p = pres[..., i + 1, :]
            out = out + p * h + (1 - p) * miss[i + 1]
        return out


class FusedHead(nn.Module):
    """The fusion and the transformer, trained together on frozen EEG latents (the fused transformer stage).

    Parameters
    ----------
    fusion : ModalityFusion
    transformer : MaskedTemporalTransformer
    """

    def __init__(self, fusion: ModalityFusion, transformer):
        super().__init__()
        self.fusion, self.transformer = fusion, transformer

    def finetune_loss(self, latents, x, mask, present, va, labels=None):
        """The transformer's fine-tuning loss (:meth:`MaskedTemporalTransformer.regression_loss`) on fused inputs;
        ``present`` already holds the modality dropout.
        """
        fused = self.fusion(latents, x, mask, present)
        return self.transformer.regression_loss(fused, va, labels, self.transformer.class_weight)
