"""Facial-expression data for the student: FERPlus, image folders, CSV manifests and synthetic faces.

Every loader returns a :class:`FaceDataset` of grey images over the 8 FERPlus emotions (:data:`EMOTIONS`, in
FERPlus column order). Folder and manifest class names are matched case-insensitively, with common aliases
(``happy``, ``sad``, ``angry``, ``surprised``, ``fearful``, ``disgusted``); anything else is an error naming the
allowed names.

FERPlus label rule: for each row of ``fer2013new.csv`` the winner is the column with the most votes among the 8
emotions plus ``unknown`` and ``NF``; rows whose winner is ``unknown``/``NF``, whose top count is tied, or that have
no votes or no image name are dropped. ``Usage`` gives the split (Training -> train, PublicTest -> val,
PrivateTest -> test).

Synthetic faces (:func:`synth_faces`): each emotion has a point on the valence/arousal circumplex
(:data:`EMOTION_VA`); a drawn face's mouth curvature follows valence, its mouth opening and eye opening follow
arousal, and its brows tilt with valence and rise with arousal (with a per-class inner-brow cue separating
anger from fear, which sit close on the circumplex). Per-sample jitter of V/A, position, size, contrast and noise
makes the task non-trivial.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from eegaffect._logging import logger
from eegaffect.errors import UserInputError

__all__ = ["EMOTIONS", "EMOTION_VA", "FaceDataError", "FaceDataset", "load_faces", "load_ferplus", "load_image_folder",
           "load_manifest", "synth_faces", "write_synth_faces"]

class FaceDataError(UserInputError):
    """A face dataset (FERPlus files, class folders, manifest, image) is not as expected; the message names the
    file (and the manifest line) and what was expected versus found.
    """


#: The 8 FERPlus emotions, in the column order of ``fer2013new.csv``; labels are indices into this tuple.
EMOTIONS: tuple[str, ...] = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                             "contempt")

#: Default (valence, arousal) of each emotion on the circumplex, in [-1, 1] (after Russell's circumplex).
EMOTION_VA: dict[str, tuple[float, float]] = {
    "neutral": (0.0, 0.0),
    "happiness": (0.8, 0.5),
    "surprise": (0.3, 0.85),
    "sadness": (-0.7, -0.45),
    "anger": (-0.65, 0.7),
    "disgust": (-0.7, 0.25),
    "fear": (-0.45, 0.85),
    "contempt": (-0.45, -0.1),
}

_ALIASES = {"happy": "happiness", "sad": "sadness", "angry": "anger", "surprised": "surprise",
            "fearful": "fear", "disgusted": "disgust", "neutrality": "neutral", "contemptuous": "contempt"}
_FERPLUS_VOTES = (*EMOTIONS, "unknown", "NF")
_SPLITS = {"training": "train", "publictest": "val", "privatetest": "test"}
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp")


@dataclass
class FaceDataset:
    """Grey face images with emotion labels.

    Attributes
    ----------
    images : ndarray, shape (n_images, height, width), uint8
        Grey images.
    labels : ndarray, shape (n_images,), int64
        Indices into :data:`EMOTIONS`.
    split : ndarray, shape (n_images,) of str | None
        ``"train"``/``"val"``/``"test"`` per image when the source defines splits.
    source : str
        Where the data came from.
    """

    images: np.ndarray
    labels: np.ndarray
    split: np.ndarray | None = None
    source: str = ""

    @property
    def class_names(self) -> tuple[str, ...]:
        """The label names (always the 8 :data:`EMOTIONS`)."""
        return EMOTIONS

    def __len__(self) -> int:
        return len(self.labels)


def label_index(name: str | int) -> int:
    """Index of an emotion given by name (any case, aliases allowed) or id.

    Parameters
    ----------
    name : str | int
        ``"happiness"``, ``"Happy"``, ``1`` or ``"1"``.

    Returns
    -------
    index : int
        Index into :data:`EMOTIONS`.
    """
    text = str(name).strip()
    if text.lstrip("-").isdigit():
        idx = int(text)
        if not 0 <= idx < len(EMOTIONS):
            raise ValueError(f"label id {idx} out of range; expected 0..{len(EMOTIONS) - 1} for {list(EMOTIONS)}")
        return idx
    key = _ALIASES.get(text.lower(), text.lower())
    if key not in EMOTIONS:
        raise ValueError(f"unknown emotion {name!r}; expected one of {list(EMOTIONS)} (or aliases "
                         f"{sorted(_ALIASES)}) or an id 0..{len(EMOTIONS) - 1}")
    return EMOTIONS.index(key)


def load_faces(path: str | Path, *, image_size: int = 48) -> FaceDataset:
    """Load faces from a FERPlus folder, an image folder per class or a CSV manifest.

    Parameters
    ----------
    path : str | Path
        A folder holding ``fer2013.csv`` and ``fer2013new.csv`` (FERPlus), a folder of class folders, or a
        ``.csv`` manifest.
    image_size : int
        Images are resized to ``image_size x image_size``.

    Returns
    -------
    faces : FaceDataset
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return load_manifest(path, image_size=image_size)
    if path.is_dir():
        if (path / "fer2013.csv").is_file() and (path / "fer2013new.csv").is_file():
            return load_ferplus(path, image_size=image_size)
        return load_image_folder(path, image_size=image_size)
    raise FileNotFoundError(f"{path}: expected a FERPlus folder (fer2013.csv + fer2013new.csv), a folder of class "
                            "folders, or a .csv manifest")


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    if img.shape == (size, size):
        return img
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((size, size), Image.BILINEAR), dtype=np.uint8)


def _read_image(path: Path, size: int, where: str = "") -> np.ndarray:
    """The image as grey ``(size, size)`` uint8; :class:`FaceDataError` naming it (and ``where``, e.g. the manifest
    line) when it cannot be decoded.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            return _resize(np.asarray(im.convert("L"), dtype=np.uint8), size)
    except (OSError, ValueError, SyntaxError) as exc:  # PIL.UnidentifiedImageError is an OSError
        raise FaceDataError(f"{where}image {path} cannot be read as an image ({type(exc).__name__}: {exc})") \
            from None


def _label(name: str, where: str) -> int:
    """:func:`label_index` with an error that says where the label came from."""
    try:
        return label_index(name)
    except ValueError as exc:
        raise FaceDataError(f"{where}{exc}") from None


def _check_size(image_size: int) -> None:
    if not isinstance(image_size, (int, np.integer)) or image_size < 8:
        raise ValueError(f"image_size must be an integer >= 8, got {image_size!r}")


def load_ferplus(root: str | Path, *, image_size: int = 48) -> FaceDataset:
    """FERPlus: FER2013 pixels with the FERPlus majority-vote labels (rule in the module docstring).

    Parameters
    ----------
    root : str | Path
        Folder with ``fer2013.csv`` and ``fer2013new.csv``.
    image_size : int
        Output image side (FER images are 48x48).

    Returns
    -------
    faces : FaceDataset
        With ``split`` from the ``Usage`` column.
    """
    _check_size(image_size)
    root = Path(root)
    with open(root / "fer2013.csv", newline="", encoding="utf-8") as fh:
        fer = list(csv.DictReader(fh))
    with open(root / "fer2013new.csv", newline="", encoding="utf-8") as fh:
        new = list(csv.DictReader(fh))
    if len(fer) != len(new):
        raise FaceDataError(f"{root}: fer2013.csv has {len(fer)} rows but fer2013new.csv has {len(new)}; FERPlus "
                         "labels must align row by row")
    if fer and "pixels" not in fer[0]:
        raise FaceDataError(f"{root / 'fer2013.csv'}: expected columns emotion, pixels, Usage; got {list(fer[0])}")
    missing = [c for c in _FERPLUS_VOTES if new and c not in new[0]]
    if missing:
        raise FaceDataError(f"{root / 'fer2013new.csv'}: missing vote column(s) {missing}")
    images, labels, splits = [], [], []
    dropped = 0
    for row_old, row_new in zip(fer, new):
        votes = np.array([float(row_new[c] or 0) for c in _FERPLUS_VOTES])
        top = votes.max()
        if not (row_new.get("Image name") or "").strip() or top <= 0 or (votes == top).sum() > 1:
            dropped += 1
            continue
        winner = int(votes.argmax())
        if winner >= len(EMOTIONS):
            dropped += 1
            continue
        pixels = np.array(row_old["pixels"].split(), dtype=np.uint8)
        if pixels.size != 48 * 48:
            raise FaceDataError(f"{root / 'fer2013.csv'}: a row has {pixels.size} pixels, expected 2304 (48x48)")
        images.append(_resize(pixels.reshape(48, 48), image_size))
        labels.append(winner)
        usage = (row_new.get("Usage") or row_old.get("Usage") or "").strip().lower()
        splits.append(_SPLITS.get(usage, "train"))
    logger.info("FERPlus %s: %d images kept, %d dropped (unknown/NF/tied/no votes)", root, len(labels), dropped)
    return _pack(images, labels, splits, image_size, f"ferplus:{root}")


def load_image_folder(root: str | Path, *, image_size: int = 48) -> FaceDataset:
    """One sub-folder per class, ``root/{class_name}/*.png|jpg|jpeg|bmp``.

    Parameters
    ----------
    root : str | Path
        The folder.
    image_size : int
        Output image side.

    Returns
    -------
    faces : FaceDataset
    """
    _check_size(image_size)
    root = Path(root)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise FaceDataError(f"{root}: no class folders found; expected root/{{class_name}}/*.png (one folder per "
                            f"emotion of {list(EMOTIONS)}) or a .csv manifest")
    images, labels = [], []
    for folder in folders:
        idx = _label(folder.name, f"{root}: class folder {folder.name!r}: ")
        for file in sorted(folder.iterdir()):
            if file.suffix.lower() in _IMAGE_EXT:
                images.append(_read_image(file, image_size))
                labels.append(idx)
    if not images:
        raise FaceDataError(f"{root}: class folders hold no images ({', '.join(_IMAGE_EXT)})")
    return _pack(images, labels, None, image_size, f"folder:{root}")


def load_manifest(path: str | Path, *, image_size: int = 48) -> FaceDataset:
    """A CSV manifest with columns ``path`` and ``label`` (name or id), optionally ``split``.

    Relative paths are resolved against the manifest's folder.

    Parameters
    ----------
    path : str | Path
        The CSV file.
    image_size : int
        Output image side.

    Returns
    -------
    faces : FaceDataset
    """
    _check_size(image_size)
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = list(reader.fieldnames or [])
    except UnicodeDecodeError as exc:
        raise FaceDataError(f"{path}: the manifest is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not {"path", "label"} <= set(columns):
        raise FaceDataError(f"{path}: expected columns 'path' and 'label' (and optionally 'split'), got {columns}")
    if not rows:
        raise FaceDataError(f"{path}: the manifest has a header but no rows (expected one line per image)")
    images, labels, splits = [], [], []
    for n, row in enumerate(rows, start=2):
        where = f"{path}, line {n}: "
        if not (row["path"] or "").strip():
            raise FaceDataError(f"{where}no image path")
        file = Path(row["path"])
        file = file if file.is_absolute() else path.parent / file
        if not file.is_file():
            raise FileNotFoundError(f"{where}image {file} does not exist")
        labels.append(_label(row["label"] or "", where))
        images.append(_read_image(file, image_size, where))
        splits.append((row.get("split") or "").strip().lower())
    has_split = all(s in ("train", "val", "test") for s in splits)
    return _pack(images, labels, splits if has_split else None, image_size, f"manifest:{path}")


def _pack(images, labels, splits, size, source) -> FaceDataset:
    imgs = np.stack(images).astype(np.uint8) if images else np.zeros((0, size, size), np.uint8)
    return FaceDataset(imgs, np.asarray(labels, dtype=np.int64), None if splits is None else np.asarray(splits),
                       source)


# ----------------------------------------------------------------------------------------------- synthetic faces

#: Inner-brow cue per class (+ raised inner ends like fear/sadness/surprise, - lowered like anger/disgust).
_BROW_INNER = {"neutral": 0.0, "happiness": 0.1, "surprise": 0.5, "sadness": 0.6, "anger": -0.9,
               "disgust": -0.5, "fear": 0.9, "contempt": -0.1}


def synth_faces(n_per_class: int, *, image_size: int = 48, seed: int = 0, va_jitter: float = 0.12,
                noise: float = 12.0, classes: Sequence[str] = EMOTIONS) -> FaceDataset:
    """Draw synthetic expressive faces whose features follow valence/arousal.

    Parameters
    ----------
    n_per_class : int
        Images per class.
    image_size : int
        Side of the square grey images (48 or 64 are typical).
    seed : int
        Seed of the Generator (same seed, same images).
    va_jitter : float
        Standard deviation of the per-face valence/arousal jitter.
    noise : float
        Standard deviation of additive pixel noise (grey levels).
    classes : sequence of str
        Which emotions to draw.

    Returns
    -------
    faces : FaceDataset
        Images in class order (shuffle before training).
    """
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1, got {n_per_class}")
    _check_size(image_size)
    idx = [label_index(c) for c in classes]
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:image_size, 0:image_size].astype(float) / (image_size - 1) * 2 - 1  # [-1, 1]
    images, labels = [], []
    for k in idx:
        name = EMOTIONS[k]
        v0, a0 = EMOTION_VA[name]
        for _ in range(n_per_class):
            v = float(np.clip(v0 + rng.normal(0, va_jitter), -1, 1))
            a = float(np.clip(a0 + rng.normal(0, va_jitter), -1, 1))
            brow = _BROW_INNER[name] + rng.normal(0, 0.15)
            images.append(_draw_face(xx, yy, v, a, brow, rng, noise))
            labels.append(k)
    return FaceDataset(np.stack(images), np.asarray(labels, dtype=np.int64), None, f"synthetic(seed={seed})")


def _draw_face(xx, yy, v, a, brow_inner, rng, noise) -> np.ndarray:
    cx, cy = rng.normal(0, 0.05, size=2)
    s = rng.uniform(0.85, 1.0)
    x, y = (xx - cx) / s, (yy - cy) / s
    bg, skin, ink = rng.uniform(20, 70), rng.uniform(150, 210), rng.uniform(10, 50)
    img = np.full(xx.shape, bg)
    img[(x / 0.78) ** 2 + (y / 0.95) ** 2 <= 1] = skin
    # eyes: ellipses whose height grows with arousal
    eye_h = 0.05 + 0.09 * (a + 1) / 2
    for side in (-1, 1):
        ex, ey = side * 0.3, -0.22
        img[((x - ex) / 0.14) ** 2 + ((y - ey) / eye_h) ** 2 <= 1] = ink
        # brows: a thick line segment; outer end tilts with valence, inner end follows the class cue
        t = np.clip((x - ex) * side / 0.2, -1, 1)  # -1 inner .. +1 outer
        base = -0.42 - 0.08 * a
        inner = base - 0.08 * brow_inner
        outer = base + 0.06 * v
        line_y = inner + (outer - inner) * (t + 1) / 2
        on = (np.abs((x - ex) * side) <= 0.2) & (np.abs(y - line_y) <= 0.03)
        img[on] = ink
    # mouth: a parabola whose curvature follows valence and whose opening follows arousal
    half_w = 0.3
    u = x / half_w
    inside = np.abs(u) <= 1
    centre = 0.45
    bulge = np.clip(1 - u ** 2, 0, 1)
    curve = 0.18 * v * bulge  # image y grows downwards: a smile has its centre lower than its corners
    upper = centre + curve - 0.012
    lower = upper + 0.035 + 0.16 * max(a, 0.0) * np.sqrt(bulge)
    img[inside & (y >= upper) & (y <= lower)] = ink
    img = img + rng.normal(0, noise, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_synth_faces(out: str | Path, n_per_class: int, *, image_size: int = 48, seed: int = 0,
                      test_fraction: float = 0.25) -> Path:
    """Write synthetic faces as an image folder per class plus a CSV manifest with splits.

    Parameters
    ----------
    out : str | Path
        Output folder; gets ``{class}/NNNNN.png`` and ``manifest.csv`` (``path, label, split``).
    n_per_class : int
        Images per class.
    image_size : int
        Image side.
    seed : int
        Generator seed.
    test_fraction : float
        Fraction of each class marked ``test`` in the manifest (the rest ``train``).

    Returns
    -------
    manifest : Path
        Path of ``manifest.csv``.
    """
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    from PIL import Image

    faces = synth_faces(n_per_class, image_size=image_size, seed=seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    n_test = int(round(test_fraction * n_per_class))
    for i, (img, lab) in enumerate(zip(faces.images, faces.labels)):
        name = EMOTIONS[lab]
        (out / name).mkdir(exist_ok=True)
        rel = Path(name) / f"{i:05d}.png"
        Image.fromarray(img).save(out / rel)
        split = "test" if (i % n_per_class) < n_test else "train"
        rows.append((rel.as_posix(), name, split))
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "split"])
        writer.writerows(rows)
    logger.info("wrote %d synthetic faces (%dx%d) to %s", len(rows), image_size, image_size, out)
    return manifest
