"""The topographic-map teacher: a CNN over (bands, H, W) maps regressing valence/arousal, with an embedding.

Data path (:func:`dataset_topomaps`): each trial's EEG ``(n_times, n_chans)`` -> windowed band features
(:func:`eegaffect.kernels.features.band_features`, DE or log band power) -> one map per band per window
(:class:`~eegaffect.distill.topomap.TopomapInterpolator`, built once per channel set) -> ``(n_windows, n_bands,
H, W)``. Each window's valence/arousal target (in [-1, 1]) is the trial's continuous annotation at the window's
END (:func:`eegaffect.pipeline.frame_times`, :func:`eegaffect.targets.frame_targets`: the rule training, the
benchmark and the live predictor share; windows past the annotation's span are dropped) where the trial has one
(``targets: auto``/``continuous``), else the trial's label point (``targets: trial``). Splits are by trial, never
by window inside a trial.

Maps are standardised per band with the training maps' mean and standard deviation over head pixels (stored in the
bundle); pixels outside the head stay 0.

The network: ``len(channels)`` blocks of two 3x3 conv + batch norm + ELU and a 2x2 max pool, global average
pooling, a linear layer to the ``embedding_dim``-dimensional embedding, and a linear + tanh head to (valence,
arousal). :meth:`TopomapTeacher.embed` returns the L2-normalised embedding used for the prototypes.

Bundle (a folder): ``teacher.safetensors`` (weights) and ``teacher.json`` (format version, sha256 checksum of the
weights file, config, bands, channel sets, normalisation, training trials, validation scores, versions).
:func:`load_teacher` recomputes the checksum and refuses a mismatch.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from eegaffect._files import sha256_file
from eegaffect._logging import logger
from eegaffect.distill.config import (  # noqa: F401 (re-exported: schemas live in distill.config)
    PrototypeExportConfig,
    TeacherConfig,
    TeacherFeatureConfig,
    TeacherModelConfig,
    TeacherTrainConfig,
    TopomapConfig,
)
from eegaffect.pipeline import frame_times, window_hop_samples
from eegaffect.targets import frame_targets

__all__ = ["TopomapConfig", "TeacherFeatureConfig", "TeacherModelConfig", "TeacherTrainConfig",
           "PrototypeExportConfig", "TeacherConfig", "TopomapTeacher", "TopomapData", "TeacherBundle",
           "trial_id", "dataset_topomaps", "train_teacher", "save_teacher", "load_teacher", "teacher_prototypes",
           "TEACHER_FORMAT"]

#: Version of the teacher bundle layout.
TEACHER_FORMAT = 1
_WEIGHTS = "teacher.safetensors"
_META = "teacher.json"


# -------------------------------------------------------------------------------------------------------- model

class TopomapTeacher(nn.Module):
    """CNN over topographic maps with a valence/arousal head and an embedding.

    Parameters
    ----------
    n_bands : int
        Input maps per sample.
    grid_size : int
        Side of the maps.
    channels : sequence of int
        Conv channels per block (each block halves the grid).
    embedding_dim : int
        Embedding dimension D.
    drop_prob : float
        Dropout before the embedding layer.

    Notes
    -----
    Input ``(batch, n_bands, grid_size, grid_size)``; ``forward`` returns ``(va (batch, 2) in [-1, 1],
    embedding (batch, D))`` (embedding not normalised; :meth:`embed` normalises).
    """

    def __init__(self, n_bands: int, grid_size: int, channels: Sequence[int] = (16, 32, 64), embedding_dim: int = 64,
                 drop_prob: float = 0.25):
        super().__init__()
        if grid_size < 2 ** len(channels):
            raise ValueError(f"grid_size {grid_size} too small for {len(channels)} pooling blocks")
        blocks, c_in = [], n_bands
        for c in channels:
            blocks += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ELU(),
                       nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.ELU(), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*blocks)
        self.drop = nn.Dropout(drop_prob)
        self.embedding = nn.Linear(c_in, embedding_dim)
        self.head = nn.Linear(embedding_dim, 2)
        self.n_bands, self.grid_size = n_bands, grid_size

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Valence/arousal and embedding of a batch of topographic maps.

        Parameters
        ----------
        x : Tensor, shape (batch, n_bands, grid_size, grid_size)
            Topographic maps.

        Returns
        -------
        va : Tensor, shape (batch, 2)
            Valence and arousal in [-1, 1].
        embedding : Tensor, shape (batch, embedding_dim)
            Embedding the head reads (the prototype space), not normalised (:meth:`embed` normalises).
        """
        h = self.features(x).mean(dim=(2, 3))
        emb = self.embedding(self.drop(h))
        return torch.tanh(self.head(F.elu(emb))), emb

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Unit-norm embeddings, shape (batch, D) (eval mode assumed)."""
        return F.normalize(self.forward(x)[1], dim=1)


# --------------------------------------------------------------------------------------------------------- data

@dataclass
class TopomapData:
    """Topographic maps of a set of trials.

    Attributes
    ----------
    maps : ndarray, shape (n_windows, n_bands, H, W), float32
        Maps (not yet standardised).
    valence, arousal : ndarray, shape (n_windows,)
        Targets.
    trial_index : ndarray, shape (n_windows,), int
        Which entry of ``trial_ids`` each window comes from.
    trial_ids : list of str
        :func:`trial_id` of every trial used.
    mask : ndarray of bool, shape (H, W)
        Head mask.
    ch_sets : list of list of str
        Channel sets met.
    datasets : list of str
        Dataset names met.
    """

    maps: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    trial_index: np.ndarray
    trial_ids: list[str]
    mask: np.ndarray
    ch_sets: list[list[str]] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)


def trial_id(info) -> str:
    """A stable identifier of a trial, ``dataset/file/key``.

    Parameters
    ----------
    info : TrialInfo
        The trial's metadata.

    Returns
    -------
    id : str
    """
    return f"{info.dataset}/{Path(info.source).name}/{info.key}"


def dataset_topomaps(trials: Iterable, config: TeacherConfig, *, exclude: Iterable[str] = ()) -> TopomapData:
    """Band-feature topographic maps of every trial with a valence/arousal target.

    Parameters
    ----------
    trials : iterable of Trial
        Lazily loaded trials (:class:`eegaffect.datasets.Trial`).
    config : TeacherConfig
        Feature and grid settings.
    exclude : iterable of str
        :func:`trial_id` values to skip (e.g. the teacher's training trials).

    Returns
    -------
    data : TopomapData
    """
    from eegaffect._progress import progress
    from eegaffect.distill.topomap import TopomapInterpolator
    from eegaffect.kernels.features import band_features

    fc, tc = config.features, config.topomap
    exclude = set(exclude)
    bands = [(b.low_hz, b.high_hz) for b in fc.bands]
    interps: dict[tuple[str, ...], TopomapInterpolator] = {}
    maps, val, aro, index, ids, datasets = [], [], [], [], [], []
    skipped_no_target = 0
    trials = list(trials)
    for trial in progress(trials, desc="topomaps", unit="trial"):
        info = trial.info
        tid = trial_id(info)
        if tid in exclude:
            continue
        continuous = trial.continuous_targets() if config.targets != "trial" else None
        if continuous is None and (config.targets == "continuous" or info.valence is None
                                   or info.arousal is None):
            skipped_no_target += 1
            continue
        key = tuple(info.ch_names)
        if key not in interps:
            interps[key] = TopomapInterpolator(key, grid_size=tc.grid_size, method=tc.method)
        window, hop = window_hop_samples(fc.window_s, fc.hop_s, info.sfreq)
        nyq = info.sfreq / 2
        if any(high >= nyq for _, high in bands):
            raise ValueError(f"{tid}: band edges {bands} reach Nyquist ({nyq} Hz at sfreq {info.sfreq})")
        feats = band_features(trial.load(), bands, info.sfreq, window, hop, kind=fc.kind, order=fc.filter_order)
        if fc.kind == "band_power":
            feats = np.log(np.maximum(feats, 1e-12))
        if len(feats) == 0:
            continue
        maps.append(interps[key].frames(feats).astype(np.float32))
        if continuous is None:
            val.append(np.full(len(feats), info.valence))
            aro.append(np.full(len(feats), info.arousal))
        else:
            va = frame_targets(frame_times(len(feats), window, hop, info.sfreq), continuous[:, 0],
                               continuous[:, 1:3])
            known = np.all(np.isfinite(va), axis=1)  # frames past the annotation's span have no target
            if not known.all():
                maps[-1], feats, va = maps[-1][known], feats[known], va[known]
                if len(feats) == 0:
                    maps.pop()
                    skipped_no_target += 1
                    continue
            val.append(va[:, 0])
            aro.append(va[:, 1])
        index.append(np.full(len(feats), len(ids)))
        ids.append(tid)
        datasets.append(info.dataset)
    if skipped_no_target:
        logger.warning("skipped %d trial(s) without a valence/arousal target", skipped_no_target)
    if not maps:
        raise ValueError(f"no usable trials: {len(trials)} given, {len(exclude)} excluded, {skipped_no_target} "
                         "without valence/arousal targets")
    mask = next(iter(interps.values())).mask
    return TopomapData(np.concatenate(maps), np.concatenate(val), np.concatenate(aro), np.concatenate(index), ids,
                       mask, [list(k) for k in interps], sorted(set(datasets)))


# ----------------------------------------------------------------------------------------------------- training

@dataclass
class TeacherBundle:
    """A trained teacher with what is needed to apply it.

    Attributes
    ----------
    model : TopomapTeacher
        In eval mode.
    config : TeacherConfig
        The config it was trained with.
    band_mean, band_std : ndarray, shape (n_bands,)
        Map standardisation.
    meta : dict
        The ``teacher.json`` content (after saving/loading: includes ``checksum``).
    """

    model: TopomapTeacher
    config: TeacherConfig
    band_mean: np.ndarray
    band_std: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def checksum(self) -> str:
        """sha256 of the weights file ('' before saving)."""
        return self.meta.get("checksum", "")

    def standardise(self, maps: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Apply the per-band standardisation, keeping pixels outside the head at 0.

        Parameters
        ----------
        maps : ndarray, shape (n, n_bands, H, W)
        mask : ndarray of bool, shape (H, W)

        Returns
        -------
        maps : ndarray, shape (n, n_bands, H, W), float32
        """
        out = (maps - self.band_mean[None, :, None, None]) / self.band_std[None, :, None, None]
        return np.where(mask, out, 0.0).astype(np.float32)

    @torch.no_grad()
    def predict(self, maps: np.ndarray, mask: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """Valence/arousal and unit-norm embeddings of raw maps.

        Parameters
        ----------
        maps : ndarray, shape (n, n_bands, H, W)
        mask : ndarray of bool, shape (H, W)

        Returns
        -------
        va : ndarray, shape (n, 2)
        embedding : ndarray, shape (n, D)
        """
        self.model.eval()
        x = torch.from_numpy(self.standardise(maps, mask))
        va, emb = [], []
        for i in range(0, len(x), batch_size):
            out_va, out_emb = self.model(x[i:i + batch_size])
            va.append(out_va)
            emb.append(F.normalize(out_emb, dim=1))
        return torch.cat(va).numpy(), torch.cat(emb).numpy()


def train_teacher(data: TopomapData, config: TeacherConfig) -> TeacherBundle:
    """Train the teacher on maps with valence/arousal targets (validation split by trial).

    Parameters
    ----------
    data : TopomapData
        From :func:`dataset_topomaps`.
    config : TeacherConfig
        Model and training settings.

    Returns
    -------
    bundle : TeacherBundle
        With ``meta`` holding the training and validation trials and scores.
    """
    if data.maps.ndim != 4 or data.maps.shape[1] != len(config.features.bands):
        raise ValueError(f"expected maps of shape (n, {len(config.features.bands)}, H, W), got {data.maps.shape}")
    return _train_teacher(data, config)


def _train_teacher(data: TopomapData, config: TeacherConfig) -> TeacherBundle:
    from eegaffect._progress import progress

    tc, mc = config.train, config.model
    rng = np.random.default_rng(tc.seed)
    torch.manual_seed(tc.seed)
    gen = torch.Generator().manual_seed(tc.seed)
    n_trials = len(data.trial_ids)
    order = rng.permutation(n_trials)
    n_val = int(round(tc.val_fraction * n_trials)) if n_trials > 1 else 0
    val_trials = set(order[:n_val].tolist())
    is_val = np.isin(data.trial_index, list(val_trials))
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    head = data.maps[train_idx].transpose(1, 0, 2, 3)[:, :, data.mask]  # (n_bands, n, n_pix)
    band_mean = head.reshape(head.shape[0], -1).mean(axis=1, dtype=np.float64)
    band_std = np.maximum(head.reshape(head.shape[0], -1).std(axis=1, dtype=np.float64), 1e-8)
    bundle = TeacherBundle(TopomapTeacher(data.maps.shape[1], data.maps.shape[2], mc.channels, mc.embedding_dim,
                                          mc.drop_prob), config, band_mean, band_std)
    x = torch.from_numpy(bundle.standardise(data.maps, data.mask))
    y = torch.from_numpy(np.stack([data.valence, data.arousal], axis=1).astype(np.float32))
    model = bundle.model
    optim = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    best, best_state, history = np.inf, None, []
    logger.info("teacher: %d train / %d val windows from %d / %d trials", len(train_idx), len(val_idx),
                n_trials - n_val, n_val)
    train_t = torch.from_numpy(train_idx)
    for epoch in progress(range(tc.epochs), desc="teacher", unit="epoch"):
        model.train()
        perm = train_t[torch.randperm(len(train_t), generator=gen)]
        total = 0.0
        for start in range(0, len(perm), tc.batch_size):
            batch = perm[start:start + tc.batch_size]
            if len(batch) < 2:
                continue
            loss = F.mse_loss(model(x[batch])[0], y[batch])
            optim.zero_grad()
            loss.backward()
            optim.step()
            total += float(loss.detach()) * len(batch)
        train_mse = total / max(len(train_idx), 1)
        val_mse = _mse(model, x[val_idx], y[val_idx]) if len(val_idx) else train_mse
        history.append({"epoch": epoch, "train_mse": train_mse, "val_mse": val_mse})
        if val_mse < best:
            best = val_mse
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()
    bundle.meta = {
        "train_trials": [data.trial_ids[i] for i in range(n_trials) if i not in val_trials],
        "val_trials": [data.trial_ids[i] for i in sorted(val_trials)],
        "val_mse": float(best),
        "history": history,
        "ch_sets": data.ch_sets,
        "source_datasets": data.datasets,
        "mask_pixels": int(data.mask.sum()),
    }
    logger.info("teacher: best validation MSE %.4f", best)
    return bundle


@torch.no_grad()
def _mse(model: TopomapTeacher, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    out = torch.cat([model(x[i:i + 512])[0] for i in range(0, len(x), 512)])
    return float(F.mse_loss(out, y))


# ------------------------------------------------------------------------------------------------------- bundle

def save_teacher(bundle: TeacherBundle, out: str | Path) -> Path:
    """Write ``teacher.safetensors`` and ``teacher.json`` into the folder ``out``.

    Parameters
    ----------
    bundle : TeacherBundle
        From :func:`train_teacher`.
    out : str | Path
        Bundle folder (created).

    Returns
    -------
    out : Path
        The folder; ``bundle.meta`` now holds the weights checksum.
    """
    from eegaffect import __version__
    from eegaffect._files import save_safetensors

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / _WEIGHTS
    save_safetensors({k: v.contiguous() for k, v in bundle.model.state_dict().items()}, weights)
    meta = {
        **bundle.meta,
        "format_version": TEACHER_FORMAT,
        "checksum": sha256_file(weights),
        "weights": _WEIGHTS,
        "config": bundle.config.model_dump(mode="json"),
        "n_bands": bundle.model.n_bands,
        "grid_size": bundle.model.grid_size,
        "band_mean": bundle.band_mean.tolist(),
        "band_std": bundle.band_std.tolist(),
        "eegaffect_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    (out / _META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    bundle.meta = meta
    logger.info("saved teacher bundle to %s (sha256 %s...)", out, meta["checksum"][:12])
    return out


def load_teacher(path: str | Path) -> TeacherBundle:
    """Load a teacher bundle, checking its format version and weights checksum.

    Parameters
    ----------
    path : str | Path
        Bundle folder (or its ``teacher.json``).

    Returns
    -------
    bundle : TeacherBundle
        Model in eval mode.
    """
    from safetensors.torch import load_file

    path = Path(path)
    folder = path.parent if path.is_file() else path
    meta_path = folder / _META
    if not meta_path.is_file():
        raise FileNotFoundError(f"{folder}: not a teacher bundle (expected {_META} and {_WEIGHTS})")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format_version") != TEACHER_FORMAT:
        raise ValueError(f"{meta_path}: format_version {meta.get('format_version')!r} is not supported (expected "
                         f"{TEACHER_FORMAT})")
    weights = folder / meta.get("weights", _WEIGHTS)
    if not weights.is_file():
        raise FileNotFoundError(f"{folder}: weights file {weights.name} is missing")
    found = sha256_file(weights)
    if found != meta.get("checksum"):
        raise ValueError(f"{weights}: checksum mismatch (teacher.json says {str(meta.get('checksum'))[:12]}..., "
                         f"file has {found[:12]}...): the bundle was modified or corrupted")
    config = TeacherConfig.model_validate(meta["config"])
    mc = config.model
    model = TopomapTeacher(meta["n_bands"], meta["grid_size"], mc.channels, mc.embedding_dim, mc.drop_prob)
    model.load_state_dict(load_file(str(weights)))
    model.eval()
    return TeacherBundle(model, config, np.asarray(meta["band_mean"]), np.asarray(meta["band_std"]), meta)


# --------------------------------------------------------------------------------------------------- prototypes

def teacher_prototypes(bundle: TeacherBundle, trials: Iterable, config: PrototypeExportConfig | None = None):
    """Consolidate the teacher's embeddings of held-out trials into a valence x arousal prototype grid.

    Trials the teacher was trained on are skipped (unless ``include_training_trials``), so the grid reflects
    held-out data; its validation trials and any new data are used.

    Parameters
    ----------
    bundle : TeacherBundle
        A saved (checksummed) teacher.
    trials : iterable of Trial
        Trials with valence/arousal targets.
    config : PrototypeExportConfig | None
        Grid settings (default: the teacher config's ``prototypes`` section).

    Returns
    -------
    grid : PrototypeGrid
    """
    from eegaffect.distill.prototypes import build_prototypes

    if not bundle.checksum:
        raise ValueError("the teacher has no checksum; save it with save_teacher() (or load it) first")
    config = config or bundle.config.prototypes
    exclude = () if config.include_training_trials else bundle.meta.get("train_trials", ())
    data = dataset_topomaps(trials, bundle.config, exclude=exclude)
    if data.maps.shape[1:] != (bundle.model.n_bands, bundle.model.grid_size, bundle.model.grid_size):
        raise ValueError(f"maps of shape {data.maps.shape[1:]} do not fit the teacher "
                         f"({bundle.model.n_bands}, {bundle.model.grid_size}, {bundle.model.grid_size})")
    _, emb = bundle.predict(data.maps, data.mask)
    logger.info("prototypes from %d windows of %d held-out trial(s)", len(emb), len(data.trial_ids))
    return build_prototypes(emb, data.valence, data.arousal, grid_size=config.grid_size,
                            value_range=config.value_range, min_count=config.min_count,
                            fill_sigma=config.fill_sigma, center=config.center, teacher_checksum=bundle.checksum,
                            source_datasets=data.datasets)
