"""Topographic maps: per-channel band features interpolated onto a square scalp grid.

The interpolation follows MNE's ``plot_topomap`` (``mne.viz.topomap._GridData`` with ``extrapolate="head"``,
``border="mean"``), so a map here matches the image MNE draws for the same positions:

1. 3-D electrode positions (MNE head frame, metres) are projected to 2-D with MNE's azimuthal equidistant
   projection about the head sphere (origin ``(0, 0, 0)``, radius 0.095 m by default): a point at polar angle
   ``theta`` from the vertex and azimuth ``phi`` lands at ``theta * r / (pi / 2) * (cos phi, sin phi)``.
2. Extra points are placed on a circle of radius ``1.1 * radius + d`` (``d`` = median Delaunay edge length between
   electrodes); each takes the mean of its real-electrode neighbours in the Delaunay triangulation.
3. Values are interpolated with a Clough-Tocher (``"cubic"``, MNE's default) or piecewise linear (``"linear"``)
   interpolant over that triangulation, on a ``grid_size x grid_size`` square covering the head circle (enlarged
   like MNE's clip circle when electrodes lie outside it). Grid pixels outside the circle are masked (set to 0).

All three steps are linear in the channel values, so the whole map is a fixed matrix ``(H * W, n_chans)``: it is
computed once per montage (by interpolating the identity, one column per channel) and a frame is a matrix product.
(The Clough-Tocher gradients come from scipy's iterative solver, so "linear" holds to its tolerance, ~1e-6.)
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from eegaffect._logging import logger
from eegaffect.montage import channel_key

__all__ = ["project_positions", "TopomapInterpolator", "HEAD_RADIUS"]

#: MNE's default head-sphere radius (metres), ``mne.defaults.HEAD_SIZE_DEFAULT``.
HEAD_RADIUS = 0.095


def project_positions(pos: np.ndarray, origin: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """Project 3-D electrode positions to the 2-D topomap plane like MNE does.

    Parameters
    ----------
    pos : ndarray, shape (n_chans, 3)
        Positions in metres (MNE head frame).
    origin : sequence of float, shape (3,)
        Centre of the head sphere.

    Returns
    -------
    pos2d : ndarray, shape (n_chans, 2)
        Azimuthal equidistant projection about ``origin`` (metres on the scalp from the vertex).
    """
    pos = np.asarray(pos, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"expected positions of shape (n_chans, 3), got {pos.shape}")
    if not np.isfinite(pos).all():
        raise ValueError("electrode positions contain NaN or inf")
    origin = np.asarray(origin, dtype=float)
    if origin.shape != (3,):
        raise ValueError(f"expected a 3-element origin, got shape {origin.shape}")
    return _project(pos - origin) + origin[:2]


def _project(rel: np.ndarray) -> np.ndarray:
    r = np.linalg.norm(rel, axis=1)
    safe = np.where(r > 0, r, 1.0)
    polar = np.arccos(np.clip(rel[:, 2] / safe, -1.0, 1.0))
    azimuth = np.arctan2(rel[:, 1], rel[:, 0])
    rho = polar * r / (np.pi / 2.0)
    return np.stack([rho * np.cos(azimuth), rho * np.sin(azimuth)], axis=1)


class TopomapInterpolator:
    """Fixed interpolation from a channel set onto a square scalp grid.

    Parameters
    ----------
    ch_names : sequence of str | None
        Channel names; positions come from :func:`eegaffect.montage.channel_positions`. Give either this or
        ``pos``.
    pos : ndarray, shape (n_chans, 3) | None
        Explicit 3-D positions in metres (MNE head frame).
    grid_size : int
        Side of the square grid (pixels), default 32.
    method : ``"cubic"`` | ``"linear"``
        Clough-Tocher (MNE's default) or piecewise-linear interpolation.
    radius : float
        Head-sphere radius in metres (MNE's default 0.095).

    Attributes
    ----------
    matrix : ndarray, shape (grid_size * grid_size, n_chans)
        Interpolation weights; masked pixels have all-zero rows.
    mask : ndarray of bool, shape (grid_size, grid_size)
        True inside the head circle.
    xi, yi : ndarray, shape (grid_size,)
        Grid coordinates (metres) along x (left to right) and y (back to front); row ``k`` of a map is ``yi[k]``.
    pos2d : ndarray, shape (n_chans, 2)
        Projected electrode positions.
    """

    def __init__(self, ch_names: Sequence[str] | None = None, pos: np.ndarray | None = None, *,
                 grid_size: int = 32, method: Literal["cubic", "linear"] = "cubic", radius: float = HEAD_RADIUS):
        if (ch_names is None) == (pos is None):
            raise ValueError("give exactly one of ch_names or pos")
        if ch_names is not None:
            from eegaffect.montage import channel_positions

            ch_names = list(ch_names)
            pos = channel_positions(ch_names)
        pos = np.asarray(pos, dtype=float)
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise ValueError(f"expected positions of shape (n_chans, 3), got {pos.shape}")
        if pos.shape[0] < 4:
            raise ValueError(f"a topomap needs at least 4 electrodes, got {pos.shape[0]}")
        if ch_names is not None and len(set(channel_key(c) for c in ch_names)) != len(ch_names):
            raise ValueError(f"duplicate channel names in {ch_names}")
        if not isinstance(grid_size, (int, np.integer)) or grid_size < 4:
            raise ValueError(f"grid_size must be an integer >= 4, got {grid_size!r}")
        if method not in ("cubic", "linear"):
            raise ValueError(f"method must be 'cubic' or 'linear', got {method!r}")
        if not radius > 0:
            raise ValueError(f"radius must be positive, got {radius}")
        self.ch_names = ch_names
        self.grid_size = int(grid_size)
        self.method = method
        self.radius = float(radius)
        self.pos2d = project_positions(pos)
        self.matrix, self.mask, self.xi, self.yi = _build_matrix(self.pos2d, self.grid_size, method, self.radius)
        logger.debug("topomap interpolator: %d channels -> %dx%d grid (%s)", pos.shape[0], grid_size, grid_size,
                     method)

    @property
    def n_chans(self) -> int:
        """Number of input channels."""
        return self.matrix.shape[1]

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Interpolate channel values onto the grid.

        Parameters
        ----------
        values : ndarray, shape (..., n_chans)
            Any leading shape; the last axis is the channels in the interpolator's order.

        Returns
        -------
        maps : ndarray, shape (..., grid_size, grid_size)
            Maps (float32 if ``values`` is float32, else float64); pixels outside the head are 0.
        """
        values = np.asarray(values)
        if values.ndim < 1 or values.shape[-1] != self.n_chans:
            raise ValueError(f"expected the last axis to hold {self.n_chans} channels, got shape {values.shape}")
        if not np.issubdtype(values.dtype, np.floating):
            values = values.astype(float)
        matrix = self.matrix.astype(values.dtype, copy=False)
        flat = values.reshape(-1, self.n_chans) @ matrix.T
        return flat.reshape(*values.shape[:-1], self.grid_size, self.grid_size)

    def frames(self, features: np.ndarray) -> np.ndarray:
        """Band-feature windows to topomap frames.

        Parameters
        ----------
        features : ndarray, shape (n_windows, n_chans, n_bands)
            Band features per window (the layout of :func:`eegaffect.kernels.features.band_features`).

        Returns
        -------
        maps : ndarray, shape (n_windows, n_bands, grid_size, grid_size)
            One map per window and band.
        """
        features = np.asarray(features)
        if features.ndim != 3 or features.shape[1] != self.n_chans:
            raise ValueError(f"expected features of shape (n_windows, {self.n_chans}, n_bands), "
                             f"got {features.shape}")
        return self.transform(np.swapaxes(features, 1, 2))


def _grid(pos2d: np.ndarray, grid_size: int, radius: float):
    # MNE's clip circle: the head circle, enlarged to hold every electrode (1 % margin).
    scale = max(1.0, float(np.linalg.norm(pos2d, axis=1).max()) * 1.01 / radius)
    clip = radius * scale
    xi = np.linspace(-clip, clip, grid_size)
    yi = np.linspace(-clip, clip, grid_size)
    xx, yy = np.meshgrid(xi, yi)
    mask = xx ** 2 + yy ** 2 <= clip ** 2
    return xi, yi, xx, yy, mask, clip


def _extra_points(pos2d: np.ndarray, clip: float):
    from scipy.spatial import Delaunay

    tri = Delaunay(pos2d, incremental=True)
    i1, i2, i3 = tri.simplices.T
    edges = np.concatenate([np.linalg.norm(pos2d[a] - pos2d[b], axis=1) for a, b in ((i1, i2), (i2, i3))])
    distance = float(np.median(edges))
    angle = np.arcsin(min(distance / clip, 1.0))
    n_points = max(12, int(np.round(2 * np.pi / angle)))
    theta = np.linspace(0, 2 * np.pi, n_points, endpoint=False)
    ring = clip * 1.1 + distance
    extra = np.stack([np.cos(theta) * ring, np.sin(theta) * ring], axis=1)
    tri.add_points(extra)
    tri.close()
    return extra, tri


def _border_matrix(tri, n_chans: int, n_extra: int) -> np.ndarray:
    """(n_extra, n_chans): each extra point = mean of its real-electrode Delaunay neighbours."""
    indptr, indices = tri.vertex_neighbor_vertices
    out = np.zeros((n_extra, n_chans))
    used = np.zeros(n_extra, bool)
    for k in range(n_extra):
        ngb = indices[indptr[n_chans + k]:indptr[n_chans + k + 1]]
        ngb = ngb[ngb < n_chans]
        if len(ngb):
            out[k, ngb] = 1.0 / len(ngb)
            used[k] = True
    if not used.all() and used.any():
        out[~used] = out[used].mean(axis=0)
    return out


def _build_matrix(pos2d: np.ndarray, grid_size: int, method: str, radius: float):
    from scipy.interpolate import CloughTocher2DInterpolator, LinearNDInterpolator

    n_chans = pos2d.shape[0]
    xi, yi, xx, yy, mask, clip = _grid(pos2d, grid_size, radius)
    extra, tri = _extra_points(pos2d, clip)
    basis = np.concatenate([np.eye(n_chans), _border_matrix(tri, n_chans, len(extra))], axis=0)
    cls = CloughTocher2DInterpolator if method == "cubic" else LinearNDInterpolator
    weights = cls(tri, basis)(xx.ravel(), yy.ravel())  # (H * W, n_chans)
    weights = np.nan_to_num(weights, nan=0.0)
    weights[~mask.ravel()] = 0.0
    return weights, mask, xi, yi
