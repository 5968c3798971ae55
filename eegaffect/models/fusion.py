"""The fused model's physiological side: per-modality encoders into the shared latent, missing embeddings, the
as-of rule that pairs physiological frames with EEG frames, and modality dropout.

Design
------
Every physiological kind the bundle expects (``ecg``, ``ppg``, ``eda``, ``resp``, ``temp``) has a frame of
features on the EEG frame clock (:class:`~eegaffect.physio.PhysioPipeline`, the live path's code). Its encoder
normalises the frame with training statistics (z-scores clipped to +-5), zeroes the non-finite features and
appends their presence mask, then maps ``[z, mask]`` through a two-layer MLP to the transformer's input size
(the VQ-VAE latent size). A frame with no finite feature, or no frame at all, is *missing*: the modality then
contributes a learned **missing embedding** instead (nothing is made up from neighbouring frames). The EEG keeps
its causal VQ-VAE encoder and gets a missing embedding too.

**Fusion is a sum** of the per-modality vectors (EEG latent or its missing embedding, plus each physiological
encoding or its missing embedding) before the temporal transformer. Because every encoder ends in a linear layer,
the sum is exactly "concatenate, then one linear layer" with the concatenation's weight split per modality, so
concat+linear adds nothing but parameters; the sum keeps the transformer's input size, makes an absent modality
one swapped vector, and leaves the EEG path of an EEG-only model untouched (it is the special case with no
physiological terms: EEG-only bundles keep their weights and outputs).

**Modality dropout** (training only): per training crop and modality, with probability ``modality_dropout``
the modality is dropped, for the whole crop (half the time) or from a random step to the end of the crop (a
device dropping out mid-session); steps where every modality would be dropped keep one of them (chosen per
crop), so the model always has something to read. A modality dropped at test time then degrades the estimate
to what the other modalities say instead of breaking it.

The as-of rule
--------------
Live, a physiological frame ``j`` (ending at the EEG frame end ``T_j``) is emitted only once the device's
decision delay has passed, and the session hands it on at a later update. The EEG frame ``k`` therefore uses
the physiological frame ``k - lag`` with ``lag = ceil((decision_delay_s + margin_s) / hop_s)`` frames
(``margin_s`` covers the update period and transport), or, when that frame has not come yet (live only), the
newest older one up to ``max_late_frames`` frames late; otherwise, or when that frame has no finite feature, the
modality is missing. :func:`asof_rows` applies the rule to whole recordings (training and
``Predictor.predict``), :class:`AsOfBuffer` to frames arriving one by one (``Predictor.step``): both pick the same
frame whenever the live frames arrive within the lag, so offline and live agree.

Per-output routing
------------------
A fused bundle may take some outputs from its **EEG pass** instead of the fused one
(:attr:`PhysioSpec.eeg_pass_outputs`, ``fusion.eeg_pass_outputs`` of the training config, recorded in the bundle):
the same model run a second time with every physiological kind missing (what modality dropout trained it for),
and that pass's valence (or arousal) replaces the fused pass's before the output smoother. Offline
(``EEGDancerChain.run``), live (``ChainStream.step``, with a state of its own for the second pass) and the
calibration's readout (``eegaffect.calibration``) all honour it. Use: an output the physiology does not carry
(the simulated person's physiology carries arousal, not valence: ``docs/fusion.md``, "The demo").

The torch modules (``ModalityFusion``, ``FusedHead``) are in :mod:`eegaffect.models.fusion_modules`; this module
stays free of torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

__all__ = ["PHYSIO_KINDS", "OUTPUT_NAMES", "PhysioSpec", "ModalitySpec", "asof_lag", "asof_rows", "AsOfBuffer",
           "modality_dropout_masks"]

#: Physiological kinds a fused bundle can expect (the live session's device kinds).
PHYSIO_KINDS = ("ecg", "ppg", "eda", "resp", "temp")
#: The chain's outputs, in column order (what :attr:`PhysioSpec.eeg_pass_outputs` names).
OUTPUT_NAMES = ("valence", "arousal")
_CLIP = 5.0


def asof_lag(decision_delay_s: float, hop_s: float, margin_s: float) -> int:
    """Frames between an EEG frame and the physiological frame it uses: ``ceil((delay + margin) / hop)``, >= 1
    when ``delay + margin > 0``.
    """
    if hop_s <= 0 or decision_delay_s < 0 or margin_s < 0:
        raise ValueError(f"expected hop_s > 0, decision_delay_s >= 0 and margin_s >= 0, got {hop_s}, "
                         f"{decision_delay_s} and {margin_s}")
    return int(math.ceil((decision_delay_s + margin_s) / hop_s - 1e-9))


@dataclass
class ModalitySpec:
    """One physiological modality of a fused bundle.

    Attributes
    ----------
    kind : str
        ``ecg``, ``ppg``, ``eda``, ``resp`` or ``temp``.
    feature_names : list of str
        Columns of its frames (:attr:`PhysioPipeline.feature_names`).
    mean, std : ndarray, shape (n_features,)
        Normalisation fitted on the training frames (finite values only; 0 / 1 for a feature never finite).
    sfreq : float
        Device rate the training data had (its decision delay depends on it).
    decision_delay_s : float
        The stage's decision delay at ``sfreq``.
    lag : int
        Frames of the as-of rule (:func:`asof_lag`).
    """

    kind: str
    feature_names: list[str]
    mean: np.ndarray
    std: np.ndarray
    sfreq: float
    decision_delay_s: float
    lag: int

    def __post_init__(self):
        self.mean = np.asarray(self.mean, np.float64)
        self.std = np.asarray(self.std, np.float64)
        n = len(self.feature_names)
        if self.kind not in PHYSIO_KINDS:
            raise ValueError(f"expected a physiological kind among {list(PHYSIO_KINDS)}, got {self.kind!r}")
        if self.mean.shape != (n,) or self.std.shape != (n,):
            raise ValueError(f"{self.kind}: expected mean and std of shape ({n},), got {self.mean.shape} and "
                             f"{self.std.shape}")
        if not (np.all(np.isfinite(self.mean)) and np.all(np.isfinite(self.std)) and np.all(self.std > 0)):
            raise ValueError(f"{self.kind}: normalisation must be finite with std > 0")
        if int(self.lag) < 0:
            raise ValueError(f"{self.kind}: lag must be >= 0 frames, got {self.lag}")
        self.lag = int(self.lag)

    @property
    def n_features(self) -> int:
        """Number of features per frame."""
        return len(self.feature_names)

    def to_json(self) -> dict:
        """The bundle.json entry."""
        return {"kind": self.kind, "feature_names": list(self.feature_names), "mean": self.mean.tolist(),
                "std": self.std.tolist(), "sfreq": float(self.sfreq), "decision_delay_s": float(self.decision_delay_s),
                "lag_frames": self.lag}

    @classmethod
    def from_json(cls, doc: Mapping) -> "ModalitySpec":
        """Inverse of :meth:`to_json`."""
        return cls(doc["kind"], list(doc["feature_names"]), doc["mean"], doc["std"], float(doc["sfreq"]),
                   float(doc["decision_delay_s"]), int(doc["lag_frames"]))


@dataclass
class PhysioSpec:
    """Everything a fused chain needs about its physiological inputs.

    Attributes
    ----------
    modalities : list of ModalitySpec
        In input order.
    hop_s : float
        The frame hop (EEG and physiology share it).
    margin_s : float
        Margin of the as-of rule (:func:`asof_lag`).
    max_late_frames : int
        How much older than ``lag`` a frame may be, live, before the modality counts as missing.
    use_eeg : bool
        False for a physiology-only model (the EEG always enters as its missing embedding).
    physio_config : dict
        The :class:`~eegaffect.physio.config.PhysioConfig` (JSON) the training features were computed with.
    eeg_pass_outputs : list of str
        Outputs (of :data:`OUTPUT_NAMES`) taken from the EEG pass, the model with every physiological kind
        missing, instead of the fused pass (module docstring, "Per-output routing"); empty: all fused.
    """

    modalities: list[ModalitySpec]
    hop_s: float
    margin_s: float = 0.5
    max_late_frames: int = 2
    use_eeg: bool = True
    physio_config: dict = field(default_factory=dict)
    eeg_pass_outputs: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.eeg_pass_outputs = list(self.eeg_pass_outputs)
        bad = [o for o in self.eeg_pass_outputs if o not in OUTPUT_NAMES]
        if bad or len(set(self.eeg_pass_outputs)) != len(self.eeg_pass_outputs):
            raise ValueError(f"eeg_pass_outputs must name distinct outputs among {list(OUTPUT_NAMES)}, got "
                             f"{self.eeg_pass_outputs}")
        if self.eeg_pass_outputs and not self.use_eeg:
            raise ValueError("eeg_pass_outputs needs a model that reads the EEG (use_eeg)")

    @property
    def eeg_pass_columns(self) -> list[int]:
        """Output columns taken from the EEG pass (sorted)."""
        return sorted(OUTPUT_NAMES.index(o) for o in self.eeg_pass_outputs)

    @property
    def kinds(self) -> list[str]:
        """Physiological kinds, in input order."""
        return [m.kind for m in self.modalities]

    @property
    def n_features(self) -> list[int]:
        """Features per kind."""
        return [m.n_features for m in self.modalities]

    def modality(self, kind: str) -> ModalitySpec:
        """The spec of ``kind``."""
        for m in self.modalities:
            if m.kind == kind:
                return m
        raise KeyError(kind)

    def prepare(self, rows: Mapping[str, np.ndarray], n_steps: int, drop: Sequence[str] = ()):
        """Model inputs of per-step physiological frames already paired with the EEG steps.

        Parameters
        ----------
        rows : mapping of str to ndarray, shape (n_steps, n_features_k)
            Per kind, the frame each EEG step uses (NaN rows: missing); a kind not in ``rows`` is missing.
        n_steps : int
            Number of EEG steps.
        drop : sequence of str
            Modalities (``"eeg"`` or kinds) forced missing (the test-time ablation).

        Returns
        -------
        x : ndarray, shape (n_steps, sum n_features), float32
            Clipped z-scores, 0 where not finite.
        mask : ndarray, shape (n_steps, sum n_features), float32
            1 where the feature is finite.
        present : ndarray, shape (n_steps, 1 + n_kinds), bool
            Whether the EEG and each kind is there (a frame with a finite feature) at each step.
        """
        xs, ms, pres = [], [], [np.full(n_steps, self.use_eeg and "eeg" not in drop)]
        for m in self.modalities:
            r = rows.get(m.kind)
            r = np.full((n_steps, m.n_features), np.nan) if r is None else np.asarray(r, np.float64)
            if r.shape != (n_steps, m.n_features):
                raise ValueError(f"{m.kind}: expected frames of shape ({n_steps}, {m.n_features}), got {r.shape}")
            finite = np.isfinite(r)
            z = np.clip((np.where(finite, r, m.mean) - m.mean) / m.std, -_CLIP, _CLIP)
            xs.append(np.where(finite, z, 0.0))
            ms.append(finite.astype(np.float64))
            pres.append(finite.any(axis=1) & (m.kind not in drop))
        x = np.concatenate(xs, axis=1) if xs else np.zeros((n_steps, 0))
        mask = np.concatenate(ms, axis=1) if ms else np.zeros((n_steps, 0))
        return x.astype(np.float32), mask.astype(np.float32), np.stack(pres, axis=1)

    def to_json(self) -> dict:
        """The bundle.json ``modalities`` section (besides ``eeg``)."""
        return {"eeg": self.use_eeg,
                "physio": [m.to_json() for m in self.modalities],
                "hop_s": self.hop_s,
                "asof": {"rule": "EEG frame k uses physiological frame k - lag_frames (lag_frames = "
                                 "ceil((decision_delay_s + margin_s) / hop_s)); live, when it has not come yet, the "
                                 "newest older frame up to max_late_frames later; else (or without a finite "
                                 "feature) the modality is missing",
                         "margin_s": self.margin_s, "max_late_frames": self.max_late_frames},
                "physio_config": self.physio_config,
                **({"eeg_pass_outputs": list(self.eeg_pass_outputs)} if self.eeg_pass_outputs else {})}

    @classmethod
    def from_json(cls, doc: Mapping) -> "PhysioSpec":
        """Inverse of :meth:`to_json`."""
        return cls([ModalitySpec.from_json(m) for m in doc["physio"]], float(doc["hop_s"]),
                   float(doc["asof"]["margin_s"]), int(doc["asof"]["max_late_frames"]), bool(doc.get("eeg", True)),
                   dict(doc.get("physio_config", {})), list(doc.get("eeg_pass_outputs", [])))


def asof_rows(frames: np.ndarray, n_steps: int, lag: int) -> np.ndarray:
    """Offline as-of rule: the frame EEG step ``k`` uses is ``frames[k - lag]`` (NaN before the first).

    Parameters
    ----------
    frames : ndarray, shape (n_frames, n_features)
        Physiological frames on the EEG frame clock (row ``j`` ends at EEG frame ``j``'s end).
    n_steps : int
        Number of EEG steps.
    lag : int
        Frames of the rule.

    Returns
    -------
    rows : ndarray, shape (n_steps, n_features)
    """
    frames = np.asarray(frames, np.float64)
    if frames.ndim != 2:
        raise ValueError(f"expected frames of shape (n_frames, n_features), got {frames.shape}")
    out = np.full((n_steps, frames.shape[1]), np.nan)
    k = np.arange(n_steps) - lag
    ok = (k >= 0) & (k < frames.shape[0])
    out[ok] = frames[k[ok]]
    return out


class AsOfBuffer:
    """Live as-of rule of one kind: the physiological frames handed on so far, and the one an EEG frame uses.

    Parameters
    ----------
    lag : int
        Frames of the rule.
    max_late : int
        Frames a late frame may be older than ``lag`` before the modality counts as missing.
    hop_s : float
        Frame hop in seconds.
    n_features : int
        Features per frame.
    """

    def __init__(self, lag: int, max_late: int, hop_s: float, n_features: int):
        self.lag, self.max_late, self.hop_s, self.n_features = int(lag), int(max_late), float(hop_s), int(n_features)
        self._times: list[float] = []
        self._rows: list[np.ndarray] = []

    def clear(self) -> None:
        """Forget every frame (a missing marker, or a new stream)."""
        self._times, self._rows = [], []

    def add(self, time_s: float, row: np.ndarray) -> None:
        """A frame ending at ``time_s`` (seconds on the predictor's clock: the end of the EEG frame it belongs to)."""
        row = np.asarray(row, np.float64).reshape(-1)
        if row.shape != (self.n_features,):
            raise ValueError(f"expected a frame of {self.n_features} features, got shape {row.shape}")
        if self._times and time_s <= self._times[-1] - 0.5 * self.hop_s:
            return  # older than one already given: frames come in order, a repeat changes nothing
        if self._times and abs(time_s - self._times[-1]) < 0.5 * self.hop_s:
            self._times[-1], self._rows[-1] = float(time_s), row
        else:
            self._times.append(float(time_s))
            self._rows.append(row)
        keep = self.lag + self.max_late + 4
        if len(self._times) > keep:
            del self._times[:-keep], self._rows[:-keep]

    def row_for(self, t_end: float) -> np.ndarray:
        """The frame the EEG frame ending at ``t_end`` uses (NaN row: missing)."""
        newest_ok = t_end - (self.lag - 0.5) * self.hop_s
        for t, row in zip(reversed(self._times), reversed(self._rows)):
            if t <= newest_ok:
                if t_end - t <= (self.lag + self.max_late + 0.5) * self.hop_s:
                    return row
                break
        return np.full(self.n_features, np.nan)


def modality_dropout_masks(n_batch: int, n_steps: int, n_modalities: int, p: float, gen) -> np.ndarray:
    """Keep-masks of modality dropout (see the module docstring), seeded by the torch generator ``gen``.

    Returns
    -------
    keep : ndarray of bool, shape (n_batch, n_steps, n_modalities)
    """
    import torch

    keep = np.ones((n_batch, n_steps, n_modalities), bool)
    if p <= 0 or n_modalities < 2:
        return keep
    u = torch.rand((n_batch, n_modalities, 3), generator=gen).numpy()
    for b in range(n_batch):
        for m in range(n_modalities):
            if u[b, m, 0] >= p:
                continue
            start = 0 if u[b, m, 1] < 0.5 else int(u[b, m, 2] * n_steps)
            keep[b, start:, m] = False
        none = ~keep[b].any(axis=1)
        if none.any():
            keep[b, none, int(torch.randint(n_modalities, (1,), generator=gen))] = True
    return keep
