"""Map a stream's channels onto a model's montage by name, optionally interpolating a few missing electrodes.

Names are compared case-insensitively (SEED writes ``FPZ``, most caps ``Fpz``). A stream with channels the model
does not know, or lacking channels the model needs, is an error that names them both ways, unless

- ``ignore`` lists the stream's extra channels to drop (e.g. ``EXG1``, ``TRIGGER``), and
- ``max_interpolated`` allows up to that many missing model channels to be estimated from the others by spherical
  spline interpolation (Perrin et al., 1989) on the template electrode positions of :mod:`eegaffect.montage` —
  the same interpolation as MNE's ``interpolate_bads`` for EEG, expressed as one fixed matrix so a live chunk
  costs a single matrix product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from eegaffect.errors import UserInputError
from eegaffect.montage import channel_key

__all__ = ["ChannelMismatchError", "ChannelMap", "match_channels", "spline_interpolation_matrix"]


class ChannelMismatchError(UserInputError):
    """The stream's channels cannot be mapped onto the model's montage; the message names missing and extra ones."""


@dataclass(frozen=True)
class ChannelMap:
    """How to turn a stream chunk into the model's channel order.

    Attributes
    ----------
    model_ch_names : list of str
        The model's channels, in its order.
    picks : ndarray of int, shape (n_model_chans,)
        Stream column of each model channel, -1 for an interpolated one.
    interpolated : list of str
        Model channels estimated by interpolation (empty when every channel is present).
    dropped : list of str
        Stream channels that are not used (listed in ``ignore``).
    interp_matrix : ndarray, shape (n_interpolated, n_present) | None
        Spline weights from the present model channels (in model order) to the interpolated ones.
    scale : float
        Factor applied to every sample (unit conversion, e.g. 1e-6 from microvolts to volts).
    """

    model_ch_names: list[str]
    picks: np.ndarray
    interpolated: list[str]
    dropped: list[str]
    interp_matrix: np.ndarray | None
    scale: float = 1.0

    @property
    def n_chans(self) -> int:
        """Number of model channels produced by :meth:`apply`."""
        return len(self.model_ch_names)

    @property
    def is_identity(self) -> bool:
        """Whether :meth:`apply` only converts the dtype (same channels, same order, no scaling)."""
        return (not self.interpolated and self.scale == 1.0
                and np.array_equal(self.picks, np.arange(len(self.picks))))

    def apply(self, chunk: np.ndarray) -> np.ndarray:
        """Reorder, scale and complete one chunk.

        Parameters
        ----------
        chunk : ndarray, shape (n_times, n_stream_chans)
            Samples as read from the stream (all its columns, including ignored ones).

        Returns
        -------
        out : ndarray, shape (n_times, n_model_chans)
            Float64 samples in the model's channel order.
        """
        chunk = np.asarray(chunk)
        n_stream = int(self.picks.max()) + 1 if (self.picks >= 0).any() else 0
        if chunk.ndim != 2 or chunk.shape[1] < n_stream:
            raise ValueError(f"expected a chunk of shape (n_times, >= {n_stream}) from the mapped stream, got "
                             f"{chunk.shape}")
        return _apply(self, chunk)


def _apply(cmap: ChannelMap, chunk: np.ndarray) -> np.ndarray:
    present = cmap.picks >= 0
    out = np.empty((chunk.shape[0], cmap.n_chans), dtype=np.float64)
    out[:, present] = chunk[:, cmap.picks[present]]
    if cmap.interp_matrix is not None:
        out[:, ~present] = out[:, present] @ cmap.interp_matrix.T
    if cmap.scale != 1.0:
        out *= cmap.scale
    return out


def match_channels(stream_ch_names: Sequence[str], model_ch_names: Sequence[str], *,
                   ignore: Sequence[str] = (), max_interpolated: int = 0, scale: float = 1.0) -> ChannelMap:
    """Map stream channels onto the model's channels by name.

    Parameters
    ----------
    stream_ch_names : sequence of str
        The stream's channels, in column order (a ``sample_index`` counter channel belongs in ``ignore``).
    model_ch_names : sequence of str
        The model's channels, in its input order.
    ignore : sequence of str
        Stream channels that are not EEG for the model and are dropped without error.
    max_interpolated : int
        Most model channels allowed to be missing from the stream; they are interpolated (0: none allowed).
    scale : float
        Factor applied to every sample (unit conversion).

    Returns
    -------
    channel_map : ChannelMap

    Raises
    ------
    ChannelMismatchError
        Duplicate names, extra stream channels not in ``ignore``, or more missing channels than
        ``max_interpolated`` (or missing channels without a known electrode position).
    """
    stream = [str(c) for c in stream_ch_names]
    model = [str(c) for c in model_ch_names]
    if not model:
        raise ChannelMismatchError("expected at least one model channel, got none")
    if int(max_interpolated) < 0:
        raise ValueError(f"max_interpolated must be >= 0, got {max_interpolated}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale}")
    for label, names in (("stream", stream), ("model", model)):
        upper = [channel_key(n) for n in names]
        dup = sorted({n for n, u in zip(names, upper) if upper.count(u) > 1})
        if dup:
            raise ChannelMismatchError(f"{label} channel names must be unique (case-insensitively), got duplicates "
                                       f"{dup}")
    return _match(stream, model, {channel_key(c) for c in ignore}, int(max_interpolated), float(scale))


def _match(stream: list[str], model: list[str], ignore: set[str], max_interp: int, scale: float) -> ChannelMap:
    index = {channel_key(n): i for i, n in enumerate(stream)}
    model_u = {channel_key(n) for n in model}
    picks = np.array([index.get(channel_key(n), -1) for n in model], dtype=np.int64)
    missing = [n for n, p in zip(model, picks) if p < 0]
    extra = [n for n in stream if channel_key(n) not in model_u and channel_key(n) not in ignore]
    dropped = [n for n in stream if channel_key(n) not in model_u and channel_key(n) in ignore]
    if extra or len(missing) > max_interp:
        hint = []
        if extra:
            hint.append("drop extra channels with ignore=[...] (--ignore-channel)")
        if missing:
            hint.append(f"allow interpolation of up to a few missing channels (--interpolate N; now {max_interp})")
        raise ChannelMismatchError(
            f"expected the stream's channels to match the model's {len(model)} channels, got {len(stream)} "
            f"(missing: {missing[:12]}{' ...' if len(missing) > 12 else ''}, extra: {extra[:12]}"
            f"{' ...' if len(extra) > 12 else ''}); {' or '.join(hint)}")
    matrix = None
    if missing:
        present = [n for n, p in zip(model, picks) if p >= 0]
        if len(present) < 3:
            raise ChannelMismatchError(f"cannot interpolate {missing}: expected at least 3 present channels, got "
                                       f"{len(present)}")
        from eegaffect.montage import channel_positions

        try:
            pos_from, pos_to = channel_positions(present), channel_positions(missing)
        except ValueError as exc:
            raise ChannelMismatchError(f"cannot interpolate missing channels: {exc}") from None
        matrix = spline_interpolation_matrix(pos_from, pos_to)
    return ChannelMap(model_ch_names=list(model), picks=picks, interpolated=missing, dropped=dropped,
                      interp_matrix=matrix, scale=scale)


def spline_interpolation_matrix(pos_from: np.ndarray, pos_to: np.ndarray, origin=(0.0, 0.0, 0.0),
                                alpha: float = 1e-5) -> np.ndarray:
    """Spherical spline interpolation weights (Perrin et al., 1989), as MNE computes them for EEG.

    Parameters
    ----------
    pos_from : ndarray, shape (n_from, 3)
        Positions of the channels that are present (metres).
    pos_to : ndarray, shape (n_to, 3)
        Positions of the channels to estimate.
    origin : array-like, shape (3,)
        Centre of the sphere the positions are projected onto.
    alpha : float
        Regularisation added to the diagonal of the spline system.

    Returns
    -------
    matrix : ndarray, shape (n_to, n_from)
        ``x_to = matrix @ x_from`` for each time sample.
    """
    pos_from = np.asarray(pos_from, dtype=np.float64)
    pos_to = np.asarray(pos_to, dtype=np.float64)
    if pos_from.ndim != 2 or pos_from.shape[1] != 3 or pos_to.ndim != 2 or pos_to.shape[1] != 3:
        raise ValueError(f"expected positions of shape (n, 3), got {pos_from.shape} and {pos_to.shape}")
    return _spline_matrix(pos_from - np.asarray(origin, float), pos_to - np.asarray(origin, float), float(alpha))


def _unit(pos: np.ndarray) -> np.ndarray:
    return pos / np.linalg.norm(pos, axis=1, keepdims=True)


def _legendre_g(cosang: np.ndarray, stiffness: int = 4, n_terms: int = 50) -> np.ndarray:
    from numpy.polynomial.legendre import legval

    n = np.arange(1, n_terms + 1, dtype=np.float64)
    factors = np.concatenate([[0.0], (2 * n + 1) / (n ** stiffness * (n + 1) ** stiffness * 4 * np.pi)])
    return legval(np.clip(cosang, -1.0, 1.0), factors)


def _spline_matrix(pos_from: np.ndarray, pos_to: np.ndarray, alpha: float) -> np.ndarray:
    u_from, u_to = _unit(pos_from), _unit(pos_to)
    n_from = len(u_from)
    g_from = _legendre_g(u_from @ u_from.T)
    g_from.flat[::n_from + 1] += alpha
    g_to = _legendre_g(u_to @ u_from.T)
    system = np.zeros((n_from + 1, n_from + 1))
    system[:n_from, :n_from] = g_from
    system[:n_from, n_from] = 1.0
    system[n_from, :n_from] = 1.0
    inv = np.linalg.pinv(system)
    rhs = np.hstack([g_to, np.ones((len(u_to), 1))])
    return rhs @ inv[:, :n_from]
