"""The valence x arousal prototype grid: consolidation of teacher embeddings, export and validated loading.

File contract (format version 1), identical in HDF5 and ``.npz``:

============================ ======================= =====================================================
key                          shape / dtype           meaning
============================ ======================= =====================================================
``prototypes``               (G_v, G_a, D) float32   L2-normalised prototype of each (valence, arousal) cell
``counts``                   (G_v, G_a) int64        held-out windows that fell in each cell
``valence_edges``            (G_v + 1,) float64      bin edges along valence (axis 0)
``arousal_edges``            (G_a + 1,) float64      bin edges along arousal (axis 1)
============================ ======================= =====================================================

Attributes (HDF5 file attributes; in ``.npz`` one extra key ``attrs`` holding them as a JSON string):
``format_version`` (int), ``teacher_checksum`` (sha256 of the teacher weights), ``source_datasets`` (list of
str), ``embedding_dim`` (int), ``created`` (ISO-8601 UTC), ``eegaffect_version``, ``min_count`` and
``fill_sigma`` (the sparse-cell rule below), ``centered`` (whether the embeddings' global mean was subtracted
before binning) and ``data_sha256`` (sha256 over the four arrays, checked on load).

Centring (``center=True``, the export default): teacher embeddings share a large common component (after L2
normalisation they sit in a narrow cone, pairwise cosines ~0.95), so cell means would differ little in
direction. Subtracting the mean over all held-out windows first makes each prototype's direction say how that
valence/arousal cell differs from the average state.

Empty or sparse cells: a cell with at least ``min_count`` samples is the mean of its own embeddings. A cell with
fewer (including none) borrows from the grid: its prototype is the normalised sum of every cell's embedding sum
``S_j`` weighted by ``exp(-d_ij^2 / (2 sigma^2))``, ``d_ij`` the distance between cell centres in cell units
(``sigma = fill_sigma``, default 1 cell), so a sparse cell keeps its own few samples and leans on its neighbours.
``counts`` always holds the raw counts, so ``counts < min_count`` tells which cells were filled.

The file is frozen: :func:`load_prototypes` returns read-only arrays and nothing in eegaffect writes to an
existing prototype file.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from eegaffect._logging import logger
from eegaffect.errors import UserInputError

__all__ = ["FORMAT_VERSION", "PrototypeGrid", "PrototypeFileError", "build_prototypes", "save_prototypes",
           "load_prototypes", "interpolate_prototypes"]

#: Version of the prototype file layout written by :func:`save_prototypes`.
FORMAT_VERSION = 1

_ARRAYS = ("prototypes", "counts", "valence_edges", "arousal_edges")
_REQUIRED_ATTRS = ("format_version", "teacher_checksum", "source_datasets", "embedding_dim", "created",
                   "eegaffect_version", "min_count", "fill_sigma", "centered", "data_sha256")


class PrototypeFileError(UserInputError):
    """A prototype file is missing keys, has the wrong version or shapes, or fails its checksum."""


@dataclass
class PrototypeGrid:
    """A valence x arousal grid of unit-norm prototypes.

    Attributes
    ----------
    prototypes : ndarray, shape (n_valence, n_arousal, embedding_dim), float32
        L2-normalised prototypes; axis 0 is valence (low to high), axis 1 arousal.
    counts : ndarray, shape (n_valence, n_arousal), int64
        Samples per cell.
    valence_edges : ndarray, shape (n_valence + 1,)
        Bin edges along valence.
    arousal_edges : ndarray, shape (n_arousal + 1,)
        Bin edges along arousal.
    attrs : dict
        Metadata (see the module docstring).
    """

    prototypes: np.ndarray
    counts: np.ndarray
    valence_edges: np.ndarray
    arousal_edges: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def embedding_dim(self) -> int:
        """Dimension D of the prototype space."""
        return int(self.prototypes.shape[-1])

    @property
    def shape(self) -> tuple[int, int]:
        """(n_valence, n_arousal)."""
        return tuple(self.prototypes.shape[:2])

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell centres along valence and arousal.

        Returns
        -------
        valence : ndarray, shape (n_valence,)
        arousal : ndarray, shape (n_arousal,)
        """
        v, a = self.valence_edges, self.arousal_edges
        return (v[:-1] + v[1:]) / 2, (a[:-1] + a[1:]) / 2


def build_prototypes(embeddings: np.ndarray, valence: np.ndarray, arousal: np.ndarray, *, grid_size: int = 5,
                     value_range: tuple[float, float] = (-1.0, 1.0), min_count: int = 3, fill_sigma: float = 1.0,
                     center: bool = False, teacher_checksum: str = "",
                     source_datasets: Sequence[str] = ()) -> PrototypeGrid:
    """Consolidate embeddings into a valence x arousal prototype grid.

    Parameters
    ----------
    embeddings : ndarray, shape (n_samples, embedding_dim)
        Teacher embeddings of held-out windows.
    valence, arousal : ndarray, shape (n_samples,)
        Targets of those windows; values outside ``value_range`` go to the edge bins.
    grid_size : int
        Bins per axis (5 gives the 5x5 grid).
    value_range : (float, float)
        Range covered by the bins (``[-1, 1]`` for eegaffect's normalised targets).
    min_count : int
        Cells with fewer samples are filled by the neighbour rule (module docstring).
    fill_sigma : float
        Width (in cells) of the Gaussian neighbour weights of the fill rule.
    center : bool
        Subtract the mean of all embeddings before binning (recorded in the ``centered`` attribute).
    teacher_checksum : str
        Checksum of the teacher bundle that produced the embeddings.
    source_datasets : sequence of str
        Names of the datasets the embeddings came from.

    Returns
    -------
    grid : PrototypeGrid
        The grid, with its metadata attributes set.
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    val = np.asarray(valence, dtype=np.float64)
    aro = np.asarray(arousal, dtype=np.float64)
    if emb.ndim != 2 or emb.shape[0] == 0 or emb.shape[1] == 0:
        raise ValueError(f"expected embeddings of shape (n_samples, embedding_dim) with n_samples >= 1, got "
                         f"{emb.shape}")
    if val.shape != (emb.shape[0],) or aro.shape != (emb.shape[0],):
        raise ValueError(f"expected valence and arousal of shape ({emb.shape[0]},), got {val.shape} and "
                         f"{aro.shape}")
    if not (np.isfinite(emb).all() and np.isfinite(val).all() and np.isfinite(aro).all()):
        raise ValueError("embeddings, valence and arousal must be finite")
    if not isinstance(grid_size, (int, np.integer)) or grid_size < 1:
        raise ValueError(f"grid_size must be a positive integer, got {grid_size!r}")
    lo, hi = float(value_range[0]), float(value_range[1])
    if not lo < hi:
        raise ValueError(f"value_range must be increasing, got {value_range}")
    if min_count < 1 or not fill_sigma > 0:
        raise ValueError(f"min_count must be >= 1 and fill_sigma > 0, got {min_count} and {fill_sigma}")
    edges = np.linspace(lo, hi, grid_size + 1)
    if center:
        emb = emb - emb.mean(axis=0)
    protos, counts = _consolidate(emb, _bin(val, edges), _bin(aro, edges), grid_size, min_count, fill_sigma)
    attrs = {
        "format_version": FORMAT_VERSION,
        "teacher_checksum": str(teacher_checksum),
        "source_datasets": [str(s) for s in source_datasets],
        "embedding_dim": int(emb.shape[1]),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "eegaffect_version": _version(),
        "min_count": int(min_count),
        "fill_sigma": float(fill_sigma),
        "centered": bool(center),
    }
    grid = PrototypeGrid(protos, counts, edges.copy(), edges.copy(), attrs)
    grid.attrs["data_sha256"] = _data_checksum(grid)
    n_filled = int((counts < min_count).sum())
    logger.info("prototype grid %dx%d from %d samples (%d sparse cells filled from neighbours)", grid_size,
                grid_size, emb.shape[0], n_filled)
    return grid


def _version() -> str:
    from eegaffect import __version__

    return __version__


def _bin(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(edges, values, side="right") - 1
    return np.clip(idx, 0, len(edges) - 2)


def _consolidate(emb, iv, ia, g, min_count, sigma):
    d = emb.shape[1]
    sums = np.zeros((g, g, d))
    counts = np.zeros((g, g), dtype=np.int64)
    np.add.at(sums, (iv, ia), emb)
    np.add.at(counts, (iv, ia), 1)
    cv, ca = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    cells = np.stack([cv.ravel(), ca.ravel()], axis=1).astype(float)
    dist2 = ((cells[:, None, :] - cells[None, :, :]) ** 2).sum(-1)
    flat_sums = sums.reshape(g * g, d)
    populated = counts.ravel() > 0
    # Subtracting each row's distance to the nearest populated cell rescales that row only (the prototype is
    # normalised afterwards) and keeps far-away cells of large grids from underflowing to all-zero weights.
    dist2 = dist2 - dist2[:, populated].min(axis=1, keepdims=True)
    weights = np.exp(-dist2 / (2 * sigma ** 2))  # (g*g, g*g)
    dense = (counts >= min_count).ravel()
    protos = np.where(dense[:, None], flat_sums / np.maximum(counts.ravel(), 1)[:, None], weights @ flat_sums)
    norms = np.linalg.norm(protos, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("a prototype has zero norm (embeddings cancel out); cannot L2-normalise the grid")
    return (protos / norms).reshape(g, g, d).astype(np.float32), counts


def _data_checksum(grid: PrototypeGrid) -> str:
    h = hashlib.sha256()
    for name in _ARRAYS:
        arr = np.ascontiguousarray(getattr(grid, name))
        h.update(name.encode())
        h.update(str(arr.dtype.str).encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _canonical(grid: PrototypeGrid) -> PrototypeGrid:
    """Validate a grid before writing and cast to the file dtypes."""
    out = PrototypeGrid(np.asarray(grid.prototypes, dtype=np.float32), np.asarray(grid.counts, dtype=np.int64),
                        np.asarray(grid.valence_edges, dtype=np.float64),
                        np.asarray(grid.arousal_edges, dtype=np.float64), dict(grid.attrs))
    missing = [k for k in _REQUIRED_ATTRS if k not in out.attrs and k != "data_sha256"]
    if missing:
        raise ValueError(f"prototype grid lacks attributes {missing}; build it with build_prototypes()")
    _check_arrays(out, "grid")
    out.attrs["data_sha256"] = _data_checksum(out)
    return out


def save_prototypes(grid: PrototypeGrid, path: str | Path, *, npz: str | Path | None = None,
                    overwrite: bool = False) -> Path:
    """Write the grid to HDF5 (and optionally ``.npz``) in the format-1 layout.

    Parameters
    ----------
    grid : PrototypeGrid
        From :func:`build_prototypes`.
    path : str | Path
        The HDF5 file to create.
    npz : str | Path | None
        Also write a NumPy archive with the same keys (attributes under the ``attrs`` key as JSON).
    overwrite : bool
        Replace existing files (off by default: exported grids are frozen artefacts).

    Returns
    -------
    path : Path
        The HDF5 path written.
    """
    import h5py

    path = Path(path)
    targets = [path] + ([Path(npz)] if npz is not None else [])
    for target in targets:
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} exists; prototype files are frozen (pass overwrite=True to replace)")
    grid = _canonical(grid)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for name in _ARRAYS:
            f.create_dataset(name, data=getattr(grid, name))
        for key, value in grid.attrs.items():
            f.attrs[key] = json.dumps(value) if isinstance(value, (list, dict)) else value
    if npz is not None:
        npz = Path(npz)
        npz.parent.mkdir(parents=True, exist_ok=True)
        with open(npz, "wb") as fh:
            np.savez(fh, **{name: getattr(grid, name) for name in _ARRAYS}, attrs=np.array(json.dumps(grid.attrs)))
    logger.info("wrote prototype grid %s to %s", grid.prototypes.shape, ", ".join(map(str, targets)))
    return path


def load_prototypes(path: str | Path, *, teacher_checksum: str | None = None) -> PrototypeGrid:
    """Read and validate a prototype file (HDF5 or ``.npz``, chosen by content).

    Parameters
    ----------
    path : str | Path
        File written by :func:`save_prototypes`.
    teacher_checksum : str | None
        When given, the file's ``teacher_checksum`` must equal it.

    Returns
    -------
    grid : PrototypeGrid
        With read-only arrays.

    Raises
    ------
    PrototypeFileError
        On a missing key or attribute, an unsupported version, inconsistent shapes or a checksum mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prototype file {path} does not exist")
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic == b"\x89HDF\r\n\x1a\n":
        grid = _read_h5(path)
    elif magic[:2] == b"PK":
        grid = _read_npz(path)
    else:
        raise PrototypeFileError(f"{path}: neither an HDF5 file nor a .npz archive (first bytes {magic!r})")
    _validate_loaded(grid, path, teacher_checksum)
    for name in _ARRAYS:
        getattr(grid, name).flags.writeable = False
    return grid


def _read_h5(path: Path) -> PrototypeGrid:
    import h5py

    with h5py.File(path, "r") as f:
        missing = [k for k in _ARRAYS if k not in f]
        if missing:
            raise PrototypeFileError(f"{path}: missing dataset(s) {missing}; expected {list(_ARRAYS)}")
        arrays = {k: f[k][()] for k in _ARRAYS}
        attrs = {}
        for key, value in f.attrs.items():
            if isinstance(value, bytes):
                value = value.decode()
            if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
                value = value.item()
            if key == "source_datasets" and isinstance(value, str):
                value = json.loads(value)
            attrs[key] = value
    return PrototypeGrid(**arrays, attrs=attrs)


def _read_npz(path: Path) -> PrototypeGrid:
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in (*_ARRAYS, "attrs") if k not in data.files]
        if missing:
            raise PrototypeFileError(f"{path}: missing key(s) {missing}; expected {list(_ARRAYS) + ['attrs']}")
        arrays = {k: data[k] for k in _ARRAYS}
        try:
            attrs = json.loads(str(data["attrs"]))
        except json.JSONDecodeError as exc:
            raise PrototypeFileError(f"{path}: the 'attrs' key is not valid JSON: {exc}") from None
    return PrototypeGrid(**arrays, attrs=attrs)


def _check_arrays(grid: PrototypeGrid, where: str) -> None:
    p, c, ve, ae = grid.prototypes, grid.counts, grid.valence_edges, grid.arousal_edges
    if p.ndim != 3:
        raise PrototypeFileError(f"{where}: 'prototypes' must be (n_valence, n_arousal, D), got shape {p.shape}")
    gv, ga, d = p.shape
    if c.shape != (gv, ga):
        raise PrototypeFileError(f"{where}: 'counts' must have shape {(gv, ga)} to match 'prototypes', got "
                                 f"{c.shape}")
    if ve.shape != (gv + 1,) or ae.shape != (ga + 1,):
        raise PrototypeFileError(f"{where}: edges must have shapes {(gv + 1,)} and {(ga + 1,)}, got {ve.shape} "
                                 f"and {ae.shape}")
    if not (np.all(np.diff(ve) > 0) and np.all(np.diff(ae) > 0)):
        raise PrototypeFileError(f"{where}: bin edges must be strictly increasing")
    if not np.isfinite(p).all():
        raise PrototypeFileError(f"{where}: 'prototypes' contains NaN or inf")
    if "embedding_dim" in grid.attrs and int(grid.attrs["embedding_dim"]) != d:
        raise PrototypeFileError(f"{where}: attribute embedding_dim={grid.attrs['embedding_dim']} but "
                                 f"'prototypes' has D={d}")


def _validate_loaded(grid: PrototypeGrid, path: Path, teacher_checksum: str | None) -> None:
    missing = [k for k in _REQUIRED_ATTRS if k not in grid.attrs]
    if missing:
        raise PrototypeFileError(f"{path}: missing attribute(s) {missing}")
    version = grid.attrs["format_version"]
    if version != FORMAT_VERSION:
        raise PrototypeFileError(f"{path}: format_version {version!r} is not supported (this eegaffect reads "
                                 f"version {FORMAT_VERSION})")
    _check_arrays(grid, str(path))
    found = _data_checksum(grid)
    if found != grid.attrs["data_sha256"]:
        raise PrototypeFileError(f"{path}: data checksum mismatch (stored {grid.attrs['data_sha256'][:12]}..., "
                                 f"computed {found[:12]}...): the file was modified or corrupted")
    norms = np.linalg.norm(grid.prototypes.astype(np.float64), axis=-1)
    if not np.allclose(norms, 1.0, atol=1e-4):
        raise PrototypeFileError(f"{path}: prototypes are not L2-normalised (norms in [{norms.min():.4f}, "
                                 f"{norms.max():.4f}])")
    if teacher_checksum is not None and grid.attrs["teacher_checksum"] != teacher_checksum:
        raise PrototypeFileError(f"{path}: made from teacher {grid.attrs['teacher_checksum'][:12]}..., expected "
                                 f"{teacher_checksum[:12]}...")


def interpolate_prototypes(grid: PrototypeGrid, valence: np.ndarray, arousal: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of the grid between cell centres, re-normalised.

    Parameters
    ----------
    grid : PrototypeGrid
        The grid.
    valence, arousal : ndarray, shape (n_points,)
        Query points; values beyond the outer cell centres take the edge cells.

    Returns
    -------
    points : ndarray, shape (n_points, embedding_dim), float32
        Unit-norm prototype at each point.
    """
    val = np.atleast_1d(np.asarray(valence, dtype=float))
    aro = np.atleast_1d(np.asarray(arousal, dtype=float))
    if val.shape != aro.shape or val.ndim != 1:
        raise ValueError(f"expected 1-D valence and arousal of equal length, got {val.shape} and {aro.shape}")
    cv, ca = grid.centres()
    p = grid.prototypes.astype(np.float64)
    fv, fa = _frac_index(cv, val), _frac_index(ca, aro)
    i0, j0 = np.floor(fv).astype(int), np.floor(fa).astype(int)
    i1, j1 = np.minimum(i0 + 1, len(cv) - 1), np.minimum(j0 + 1, len(ca) - 1)
    wv, wa = (fv - i0)[:, None], (fa - j0)[:, None]
    out = ((1 - wv) * (1 - wa) * p[i0, j0] + (1 - wv) * wa * p[i0, j1] + wv * (1 - wa) * p[i1, j0]
           + wv * wa * p[i1, j1])
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def _frac_index(centres: np.ndarray, x: np.ndarray) -> np.ndarray:
    if len(centres) == 1:
        return np.zeros_like(x)
    return np.interp(x, centres, np.arange(len(centres), dtype=float))
