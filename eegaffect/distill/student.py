r"""The face student: a torchvision ResNet with a projection head into the prototype space, and its losses.

The student maps a grey face image to 8 class logits ``z`` and a unit-norm embedding ``e`` in the space of the
EEG prototypes. Each emotion ``k`` has a point ``(v_k, a_k)`` on the valence/arousal circumplex
(``class_va`` in the config); its *class prototype* ``P_k`` is the prototype grid interpolated bilinearly at that
point (:func:`eegaffect.distill.prototypes.interpolate_prototypes`). ``C = P P^T`` holds the cosines between
class prototypes: the EEG teacher's view of how similar two emotions are.

Losses (each has ``enabled`` and ``weight`` in the config; the total is the weighted sum of the enabled ones).
The public NeuroGaze-Distill configuration gives the paper's weights; the formulas are ours. The defaults changed
with issue 19 (KD and D-Geo off, Proto-KD with V/A soft targets at weight 1.0 faded in); docs/distillation.md has
the measurements.

- **CE**: cross-entropy of ``z`` with label smoothing ``eps`` (0.055).
- **KD** (logit MSE; paper 0.30, off by default): the prototypes act as teacher logits. For a sample of class
  ``y`` the teacher logit vector is ``s * C[y]`` (``s`` = ``kd.scale``, default 5), and
  ``L_KD = mean_i mean_k (z_ik - s C[y_i, k])^2``. Its target depends on the label only and caps the margin
  between emotions whose prototypes are close.
- **Proto-KD** (cosine; temperature ``T`` = 5.0, ``tau`` = 0.90): the student's prototype distribution
  ``q_i = softmax_k(T cos(e_i, P_k))`` (cosines lie in [-1, 1], so ``T`` multiplies them like a logit scale) is
  trained by cross-entropy towards ``t_i = tau onehot(y_i) + (1 - tau) s_i``: mostly the true class's prototype,
  with the rest of the mass ``s_i`` spread either by the teacher's prototype geometry,
  ``softmax_k(T C[y_i, k])`` (``soft_target="teacher"``, the paper's), or by the labels' V/A points,
  ``softmax_k(-|va_{y_i} - va_k|^2 / (2 va_sigma^2))`` (``"class_va"``, the default). Its weight (paper 0.12,
  default 1.0) is faded in by the cosine ramp ``r`` between ``ramp_start`` and ``ramp_end`` (``ramp_end = 0``:
  no fade-in). Two options for experiments (issue 19; off by default): ``bootstrap = b > 0`` mixes the student's
  own detached distribution into the target, ``t'_i = (1 - b) t_i + b q_i`` (soft bootstrapping against label
  noise); ``head = "classifier"`` trains the class logits, ``q_i = softmax(z_i)``, towards the same target
  instead of the projection head (a structured label smoothing with no prototype involved).
- **D-Geo** (paper 0.012 with a cosine ramp between epochs 20 and 60, positive classes happiness and surprise;
  off by default): a geometric prior. The grid defines a valence axis ``u_v`` (mean prototype of the
  highest-valence row minus that of the lowest, normalised) and an arousal axis ``u_a`` (same over columns). For
  samples of the positive classes (``["all"]``: every class), ``L_DGeo = mean_i ||U e_i - c_i||^2`` with
  ``U = [u_v; u_a]`` and ``c_i = U P_{y_i}`` (``target="prototype"``) or the label's point ``(v_{y_i}, a_{y_i})``
  (``"class_va"``). Its weight is ``w * r(epoch)`` with ``r = 0`` before ``ramp_start``, ``1`` after
  ``ramp_end`` and ``(1 - cos(pi (epoch - start) / (end - start))) / 2`` between (epochs count from 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from eegaffect._logging import logger
from eegaffect.distill.config import (  # noqa: F401 (re-exported: schemas live in distill.config)
    CEConfig,
    DGeoConfig,
    DistilConfig,
    KDConfig,
    LossesConfig,
    ProtoKDConfig,
    StudentConfig,
    StudentTrainConfig,
    SynthFacesConfig,
)
from eegaffect.distill.faces import EMOTIONS, FaceDataError, FaceDataset, label_index
from eegaffect.distill.prototypes import PrototypeGrid, interpolate_prototypes

__all__ = ["CEConfig", "KDConfig", "ProtoKDConfig", "DGeoConfig", "LossesConfig", "StudentConfig",
           "StudentTrainConfig", "SynthFacesConfig", "DistilConfig", "FaceStudent", "PrototypeTargets",
           "distillation_losses", "dgeo_ramp", "face_metrics", "train_student", "StudentResult",
           "run_distillation", "FaceSplitError"]


class FaceSplitError(FaceDataError):
    """Too few face images to split into a train and a test part; the message gives the counts expected and found
    and how to fix it.
    """


# -------------------------------------------------------------------------------------------------------- model

class FaceStudent(nn.Module):
    """ResNet over grey faces with a classifier and a projection head into the prototype space.

    Parameters
    ----------
    n_outputs : int
        Number of classes (8).
    embedding_dim : int
        Dimension D of the prototype space.
    arch : ``"resnet18"`` | ``"resnet50"``
        torchvision backbone (random init, ``weights=None``); its first convolution takes 1 channel.
    projection_hidden : int
        Width of the projection MLP.

    Notes
    -----
    Input ``(batch, 1, height, width)`` float in [0, 1]; output ``(logits (batch, n_outputs),
    embedding (batch, embedding_dim))`` with unit-norm embeddings.
    """

    def __init__(self, n_outputs: int = 8, embedding_dim: int = 64, arch: str = "resnet18",
                 projection_hidden: int = 256):
        super().__init__()
        import torchvision

        if arch not in ("resnet18", "resnet50"):
            raise ValueError(f"arch must be 'resnet18' or 'resnet50', got {arch!r}")
        backbone = getattr(torchvision.models, arch)(weights=None)
        backbone.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        n_features = backbone.fc.in_features
        backbone.fc = nn.Identity()
        self.backbone = backbone
        self.classifier = nn.Linear(n_features, n_outputs)
        self.projection = nn.Sequential(nn.Linear(n_features, projection_hidden), nn.ReLU(inplace=True),
                                        nn.Linear(projection_hidden, embedding_dim))
        self.register_buffer("mean", torch.tensor(0.5))
        self.register_buffer("std", torch.tensor(0.25))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits and unit-norm projection of a batch of images.

        Parameters
        ----------
        x : Tensor, shape (batch, 1, height, width)
            Grey images in [0, 1] (normalised here with the stored ``mean``/``std``).

        Returns
        -------
        logits : Tensor, shape (batch, n_outputs)
            Class scores.
        embedding : Tensor, shape (batch, embedding_dim)
            L2-normalised projection, compared with the teacher's prototypes.
        """
        h = self.backbone((x - self.mean) / self.std)
        return self.classifier(h), F.normalize(self.projection(h), dim=1)


# ------------------------------------------------------------------------------------------------------- losses

@dataclass
class PrototypeTargets:
    """What the losses need from the prototype grid.

    Attributes
    ----------
    class_protos : Tensor, shape (n_classes, D)
        Unit-norm class prototypes ``P``.
    cosines : Tensor, shape (n_classes, n_classes)
        ``C = P P^T``.
    axes : Tensor, shape (2, D)
        Valence and arousal axes ``U`` of the grid.
    positive : Tensor of bool, shape (n_classes,)
        D-Geo's positive classes.
    class_va : Tensor, shape (n_classes, 2) | None
        The classes' (valence, arousal) points (for the ``class_va`` targets).
    """

    class_protos: torch.Tensor
    cosines: torch.Tensor
    axes: torch.Tensor
    positive: torch.Tensor
    class_va: torch.Tensor | None = None

    @classmethod
    def from_grid(cls, grid: PrototypeGrid, class_va: dict[str, tuple[float, float]],
                  positive_classes: list[str]) -> "PrototypeTargets":
        """Class prototypes at the circumplex points, their cosines, the grid's V/A axes.

        Parameters
        ----------
        grid : PrototypeGrid
            The frozen grid.
        class_va : dict of str to (float, float)
            (valence, arousal) of every emotion.
        positive_classes : list of str
            D-Geo's classes.

        Returns
        -------
        targets : PrototypeTargets
        """
        va = np.array([class_va[e] for e in EMOTIONS], dtype=float)
        protos = interpolate_prototypes(grid, va[:, 0], va[:, 1]).astype(np.float64)
        p = np.asarray(grid.prototypes, dtype=np.float64)
        u_v = p[-1].mean(axis=0) - p[0].mean(axis=0)
        u_a = p[:, -1].mean(axis=0) - p[:, 0].mean(axis=0)
        axes = np.stack([u_v / max(np.linalg.norm(u_v), 1e-12), u_a / max(np.linalg.norm(u_a), 1e-12)])
        positive = np.zeros(len(EMOTIONS), bool)
        if list(positive_classes) == ["all"]:
            positive[:] = True
        else:
            positive[[label_index(c) for c in positive_classes]] = True
        t = torch.as_tensor
        return cls(t(protos, dtype=torch.float32), t(protos @ protos.T, dtype=torch.float32),
                   t(axes, dtype=torch.float32), t(positive), t(va, dtype=torch.float32))


def dgeo_ramp(epoch: int, start: int, end: int) -> float:
    """Cosine ramp of the D-Geo weight: 0 before ``start``, 1 from ``end``, half-cosine between.

    Parameters
    ----------
    epoch : int
        Current epoch (from 0).
    start, end : int
        Ramp bounds.

    Returns
    -------
    factor : float
        In [0, 1].
    """
    if epoch < start:
        return 0.0
    if epoch >= end:
        return 1.0
    return 0.5 * (1.0 - math.cos(math.pi * (epoch - start) / (end - start)))


def distillation_losses(logits: torch.Tensor, embedding: torch.Tensor, labels: torch.Tensor,
                        targets: PrototypeTargets, config: LossesConfig, epoch: int) -> dict[str, torch.Tensor]:
    """The student's weighted losses (formulas in the module docstring).

    Parameters
    ----------
    logits : Tensor, shape (batch, n_classes)
        Classifier outputs.
    embedding : Tensor, shape (batch, D)
        Unit-norm embeddings.
    labels : Tensor, shape (batch,), int64
        True classes.
    targets : PrototypeTargets
        From the prototype grid.
    config : LossesConfig
        Weights and switches.
    epoch : int
        Current epoch (for the D-Geo ramp).

    Returns
    -------
    losses : dict of str to Tensor
        Weighted scalar per enabled loss (``ce``, ``kd``, ``proto_kd``, ``dgeo``) and their sum ``total``.
    """
    out: dict[str, torch.Tensor] = {}
    if config.ce.enabled:
        out["ce"] = config.ce.weight * F.cross_entropy(logits, labels, label_smoothing=config.ce.label_smoothing)
    if config.kd.enabled:
        out["kd"] = config.kd.weight * F.mse_loss(logits, config.kd.scale * targets.cosines[labels])
    if config.proto_kd.enabled:
        pk = config.proto_kd
        t, tau = pk.temperature, pk.tau
        if pk.head == "classifier":
            log_q = F.log_softmax(logits, dim=1)
        else:
            log_q = F.log_softmax(t * embedding @ targets.class_protos.T, dim=1)
        if pk.soft_target == "class_va":
            d2 = ((targets.class_va[labels][:, None, :] - targets.class_va[None, :, :]) ** 2).sum(dim=2)
            soft = F.softmax(-d2 / (2 * pk.va_sigma ** 2), dim=1)
        else:
            soft = F.softmax(t * targets.cosines[labels], dim=1)
        target = tau * F.one_hot(labels, logits.shape[1]).to(soft.dtype) + (1 - tau) * soft
        if pk.bootstrap > 0:
            target = (1 - pk.bootstrap) * target + pk.bootstrap * log_q.detach().exp()
        factor = dgeo_ramp(epoch, pk.ramp_start, pk.ramp_end) if pk.ramp_end > 0 else 1.0
        out["proto_kd"] = pk.weight * factor * -(target * log_q).sum(dim=1).mean()
    if config.dgeo.enabled:
        factor = dgeo_ramp(epoch, config.dgeo.ramp_start, config.dgeo.ramp_end)
        pos = targets.positive[labels]
        if pos.any() and factor > 0:
            if config.dgeo.target == "class_va":
                diff = embedding[pos] @ targets.axes.T - targets.class_va[labels[pos]]
            else:
                diff = (embedding[pos] - targets.class_protos[labels[pos]]) @ targets.axes.T
            out["dgeo"] = config.dgeo.weight * factor * (diff ** 2).sum(dim=1).mean()
        else:
            out["dgeo"] = embedding.sum() * 0.0
    out["total"] = sum(out.values())
    return out


# ------------------------------------------------------------------------------------------------------ metrics

def face_metrics(y_true: np.ndarray, logits: np.ndarray, n_classes: int = len(EMOTIONS),
                 class_names=EMOTIONS) -> dict:
    """8-way and present-only accuracy, macro-F1 and balanced accuracy.

    *8-way*: predictions are the argmax over all classes; macro-F1 and balanced accuracy average over all
    ``n_classes`` classes, a class absent from ``y_true`` counting 0. *Present-only*: predictions are the argmax
    over the classes present in ``y_true`` only, and the averages run over those classes.

    Parameters
    ----------
    y_true : ndarray, shape (n_samples,)
        True labels.
    logits : ndarray, shape (n_samples, n_classes)
        Scores.
    n_classes : int
        Number of classes.
    class_names : sequence of str
        Names, for ``present_names``.

    Returns
    -------
    metrics : dict
        ``{"8way": {"acc", "macro_f1", "bacc"}, "present_only": {"acc", "macro_f1", "bacc", "present_names"}}``.
    """
    y_true = np.asarray(y_true)
    logits = np.asarray(logits)
    if logits.ndim != 2 or logits.shape != (len(y_true), n_classes) or len(y_true) == 0:
        raise ValueError(f"expected logits of shape ({len(y_true)}, {n_classes}) with at least one sample, got "
                         f"{logits.shape}")
    present = np.unique(y_true)
    pred_all = logits.argmax(axis=1)
    pred_present = present[logits[:, present].argmax(axis=1)]
    return {"8way": _scores(y_true, pred_all, np.arange(n_classes)),
            "present_only": {**_scores(y_true, pred_present, present),
                             "present_names": [class_names[k] for k in present]}}


def _scores(y_true, y_pred, labels) -> dict:
    from sklearn.metrics import f1_score, recall_score

    recall = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {"acc": float(np.mean(y_true == y_pred)),
            "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
            "bacc": float(np.mean(recall))}


# ----------------------------------------------------------------------------------------------------- training

@dataclass
class StudentResult:
    """A trained student and its evaluation.

    Attributes
    ----------
    model : FaceStudent
        In eval mode.
    metrics : dict
        ``metrics.json`` content.
    confusion : ndarray, shape (n_classes, n_classes)
        Rows = true class, columns = 8-way prediction.
    history : list of dict
        Mean weighted losses per epoch.
    test_images : ndarray, shape (n_test, 1, size, size), float32
        The evaluation inputs (for the ONNX check).
    """

    model: FaceStudent
    metrics: dict
    confusion: np.ndarray
    history: list[dict] = field(default_factory=list)
    test_images: np.ndarray | None = None


def _split(faces: FaceDataset, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if faces.split is not None:
        train = np.flatnonzero(faces.split == "train")
        test = np.flatnonzero(faces.split == "test")
        if len(test) == 0:
            test = np.flatnonzero(faces.split == "val")
        if len(train) and len(test):
            return train, test
        logger.warning("the face data's split has no train or no test part; drawing a stratified split")
    train, test = [], []
    for k in np.unique(faces.labels):
        idx = rng.permutation(np.flatnonzero(faces.labels == k))
        n_test = int(round(test_fraction * len(idx))) if len(idx) > 1 else 0
        test.extend(idx[:n_test])
        train.extend(idx[n_test:])
    if not test or not train:
        counts = np.unique(faces.labels, return_counts=True)[1]
        need = next(n for n in range(2, 1_000_000) if int(round(test_fraction * n)) >= 1)
        raise FaceSplitError(
            f"cannot split {len(faces)} face images into train and test: expected at least 1 image in each, found "
            f"{len(train)} train and {len(test)} test (a stratified split with test_fraction {test_fraction:g} "
            f"gives a class test images from {need} images of it on, and the largest of the {len(counts)} "
            f"class(es) has {int(counts.max())}); add images, or give the data a split (train and test rows in a "
            "manifest's split column)")
    return np.sort(train), np.sort(test)


def _to_tensor(images: np.ndarray, size: int) -> torch.Tensor:
    x = torch.from_numpy(images.astype(np.float32) / 255.0)[:, None]
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    flip = torch.rand(x.shape[0], generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    pad = max(1, x.shape[-1] // 16)
    padded = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    dx, dy = (int(v) for v in torch.randint(0, 2 * pad + 1, (2,), generator=gen))
    return padded[..., dy:dy + x.shape[-2], dx:dx + x.shape[-1]]


def train_student(faces: FaceDataset, grid: PrototypeGrid, config: DistilConfig, *,
                  on_epoch=None) -> StudentResult:
    """Train the face student against a frozen prototype grid and evaluate it.

    Parameters
    ----------
    faces : FaceDataset
        Faces with labels (its ``split`` is used when it has train and test parts).
    grid : PrototypeGrid
        Prototype grid (read only).
    config : DistilConfig
        Student, training and loss settings.
    on_epoch : callable | None
        Called after every epoch as ``on_epoch(epoch, model, history_row)`` (the model is in train mode; the
        callback may switch it to eval and must not step the optimiser). For learning curves and diagnostics.

    Returns
    -------
    result : StudentResult

    Raises
    ------
    FaceSplitError
        Fewer than 2 images, or too few to draw a train and a test part when the data has no split.
    """
    if len(faces) < 2:
        raise FaceSplitError(f"expected at least 2 face images (one to train on, one to test on), found "
                             f"{len(faces)}")
    if on_epoch is not None and not callable(on_epoch):
        raise ValueError(f"on_epoch must be callable or None, got {type(on_epoch).__name__}")
    return _train(faces, grid, config, on_epoch)


def _train(faces: FaceDataset, grid: PrototypeGrid, config: DistilConfig, on_epoch=None) -> StudentResult:
    from eegaffect._progress import progress

    tc, sc = config.train, config.student
    rng = np.random.default_rng(tc.seed)
    torch.manual_seed(tc.seed)
    gen = torch.Generator().manual_seed(tc.seed)
    train_idx, test_idx = _split(faces, tc.test_fraction, rng)
    x_train = _to_tensor(faces.images[train_idx], sc.image_size)
    y_train = torch.from_numpy(faces.labels[train_idx])
    x_test = _to_tensor(faces.images[test_idx], sc.image_size)
    y_test = faces.labels[test_idx]
    targets = PrototypeTargets.from_grid(grid, config.class_va, config.losses.dgeo.positive_classes)
    model = FaceStudent(len(EMOTIONS), grid.embedding_dim, sc.arch, sc.projection_hidden)
    optim = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=tc.epochs)
    logger.info("student %s: %d train / %d test images, %d epochs, losses %s", sc.arch, len(train_idx),
                len(test_idx), tc.epochs, [k for k in ("ce", "kd", "proto_kd", "dgeo")
                                           if getattr(config.losses, k).enabled])
    history = []
    for epoch in progress(range(tc.epochs), desc="student", unit="epoch"):
        model.train()
        order = torch.randperm(len(y_train), generator=gen)
        sums: dict[str, float] = {}
        n_batches = 0
        for start in range(0, len(order), tc.batch_size):
            batch = order[start:start + tc.batch_size]
            if len(batch) < 2 and len(order) > 1:
                continue  # batch norm needs more than one sample
            x = x_train[batch]
            if tc.augment:
                x = _augment(x, gen)
            logits, emb = model(x)
            losses = distillation_losses(logits, emb, y_train[batch], targets, config.losses, epoch)
            optim.zero_grad()
            losses["total"].backward()
            optim.step()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach())
            n_batches += 1
        sched.step()
        history.append({k: v / max(n_batches, 1) for k, v in sums.items()})
        if on_epoch is not None:
            on_epoch(epoch, model, history[-1])
    model.eval()
    logits_test = _predict(model, x_test)
    metrics = face_metrics(y_test, logits_test)
    metrics["losses"] = config.losses.model_dump()
    metrics["seed"] = int(tc.seed)
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=np.int64)
    np.add.at(confusion, (y_test, logits_test.argmax(axis=1)), 1)
    logger.info("student test: 8-way acc %.3f macro-F1 %.3f bacc %.3f", metrics["8way"]["acc"],
                metrics["8way"]["macro_f1"], metrics["8way"]["bacc"])
    return StudentResult(model, metrics, confusion, history, x_test.numpy())


@torch.no_grad()
def _predict(model: FaceStudent, x: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    out = [model(x[i:i + batch_size])[0] for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy()


# ------------------------------------------------------------------------------------------------------ outputs

def run_distillation(faces: str | Path | FaceDataset, prototypes: str | Path, out: str | Path,
                     config: DistilConfig) -> dict:
    """Train the student and write ``metrics.json``, ``confusion_matrix.png``, weights and the ONNX model.

    Parameters
    ----------
    faces : str | Path | FaceDataset
        FERPlus folder, class-folder tree or CSV manifest (see :func:`eegaffect.distill.faces.load_faces`), or
        loaded faces.
    prototypes : str | Path
        Prototype file (HDF5 or .npz); it is only read.
    out : str | Path
        Output folder: ``metrics.json``, ``confusion_matrix.png``, ``student.safetensors``, ``student.json``
        and (with ``config.onnx``) ``student.onnx``.
    config : DistilConfig
        Settings.

    Returns
    -------
    metrics : dict
        The ``metrics.json`` content.
    """
    import json

    from eegaffect._files import save_safetensors
    from eegaffect.distill.faces import load_faces
    from eegaffect.distill.prototypes import load_prototypes

    grid = load_prototypes(prototypes)
    if not isinstance(faces, FaceDataset):
        faces = load_faces(faces, image_size=config.student.image_size)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = train_student(faces, grid, config)
    (out / "metrics.json").write_text(json.dumps(result.metrics, indent=2), encoding="utf-8")
    _save_confusion(result.confusion, out / "confusion_matrix.png",
                    f"student, 8-way acc {result.metrics['8way']['acc']:.3f}")
    save_safetensors({k: v.contiguous() for k, v in result.model.state_dict().items()}, out / "student.safetensors")
    meta = {"format_version": 1, "arch": config.student.arch, "image_size": config.student.image_size,
            "class_names": list(EMOTIONS), "embedding_dim": grid.embedding_dim,
            "prototypes_data_sha256": grid.attrs["data_sha256"], "teacher_checksum": grid.attrs["teacher_checksum"],
            "config": config.model_dump(mode="json"), "history": result.history}
    if config.onnx:
        from eegaffect.distill.onnx_export import check_onnx, export_onnx

        path = export_onnx(result.model, out / "student.onnx", config.student.image_size)
        meta["onnx"] = {"file": path.name, "max_abs_diff_vs_torch": check_onnx(path, result.model,
                                                                                result.test_images[:32])}
    (out / "student.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return result.metrics


def _save_confusion(cm: np.ndarray, path: Path, title: str) -> None:
    import matplotlib.pyplot as plt

    from eegaffect.viz.distill import plot_confusion_matrix

    fig = plot_confusion_matrix(cm, EMOTIONS, title=title)
    fig.savefig(path, dpi=100)
    plt.close(fig)
