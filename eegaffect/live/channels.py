"""Map a stream's channels onto a model's montage by name, optionally interpolating a few missing electrodes.

Names are compared through the project's one rule, :func:`eegaffect.montage.channel_key`, the way MNE matches
names to a montage (case-insensitive, with aliases): case is ignored, the decorations devices and file formats add
are stripped (PhysioNet's padding dots ``Fc5.``/``C3..``, ``EEG Fp1``, ``Fp1-REF``, ``Fp1-A1``) and old 10-20 names
take their 10-10 names (T3/T4/T5/T6 -> T7/T8/P7/P8). What the names cannot tell, an explicit mapping does:
``rename`` (``--rename FILE``, YAML or CSV, :func:`read_rename_file`) renames stream channels first.

- Stream channels the model does not use (a trigger, EXG or sample-index channel, extra electrodes) are dropped
  and listed in :attr:`ChannelMap.dropped`; ``on_extra="raise"`` makes them an error instead.
- Model channels missing from the stream are an error naming them, unless ``max_interpolated`` allows up to that
  many to be estimated from the others by spherical spline interpolation (Perrin et al., 1989) on the template
  electrode positions of :mod:`eegaffect.montage` -- the same interpolation as MNE's ``interpolate_bads`` for
  EEG, expressed as one fixed matrix so a live chunk costs a single matrix product.

:meth:`ChannelMap.describe` says in one line which stream channel went to which model channel (the live session
logs it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from eegaffect.errors import UserInputError
from eegaffect.montage import channel_key

__all__ = ["ChannelMap", "ChannelMismatchError", "NonNumericStreamError", "match_channels", "read_rename_file",
           "spline_interpolation_matrix"]


class ChannelMismatchError(UserInputError):
    """The stream's channels cannot be mapped onto the model's montage; the message names missing and extra ones."""


class NonNumericStreamError(ChannelMismatchError):
    """A string-format stream sends text that is not a number; the message names the value and the channel."""


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
        Stream channels that are not used (listed in ``ignore``, or extra channels the model does not know).
    interp_matrix : ndarray, shape (n_interpolated, n_present) | None
        Spline weights from the present model channels (in model order) to the interpolated ones.
    scale : float
        Factor applied to every sample (unit conversion, e.g. 1e-6 from microvolts to volts).
    stream_ch_names : list of str
        The stream's channel names, in column order, as the stream spells them.
    renamed : dict of str to str
        Stream channel -> new name, from the explicit ``rename`` mapping.
    """

    model_ch_names: list[str]
    picks: np.ndarray
    interpolated: list[str]
    dropped: list[str]
    interp_matrix: np.ndarray | None
    scale: float = 1.0
    stream_ch_names: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """One line: how many model channels were found, each stream channel whose name differs from its model
        channel's (``Fc5. -> FC5``), the interpolated ones and the dropped ones.
        """
        pairs = [(self.stream_ch_names[p], m) for m, p in zip(self.model_ch_names, self.picks)
                 if p >= 0 and p < len(self.stream_ch_names)]
        differ = [f"{s} -> {m}" for s, m in pairs if s != m]
        n = len(pairs)
        parts = [f"{n} of {self.n_chans} model channels from the stream"
                 + (f" ({len(differ)} by another spelling: {', '.join(differ)})" if differ else " (same names)")]
        if self.renamed:
            parts.append("renamed by the mapping: " + ", ".join(f"{a} -> {b}" for a, b in self.renamed.items()))
        if self.interpolated:
            parts.append(f"{len(self.interpolated)} interpolated: {', '.join(self.interpolated)}")
        if self.dropped:
            parts.append(f"{len(self.dropped)} stream channel(s) not used: {', '.join(self.dropped)}")
        return "channels: " + "; ".join(parts)

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
        if chunk.dtype.kind in "OUS":  # a string-format stream: its samples must be numbers written as text
            chunk = _as_numbers(self, chunk)
        return _apply(self, chunk)


def _as_numbers(cmap: ChannelMap, chunk: np.ndarray) -> np.ndarray:
    """The used columns of a text chunk as float64; :class:`NonNumericStreamError` naming the first bad value."""
    used = np.unique(cmap.picks[cmap.picks >= 0])
    out = np.zeros(chunk.shape, dtype=np.float64)
    try:
        out[:, used] = chunk[:, used].astype(np.float64)
        return out
    except (TypeError, ValueError):
        pass
    for col in used:
        for row, value in enumerate(chunk[:, col]):
            try:
                float(value)
            except (TypeError, ValueError):
                name = cmap.model_ch_names[int(np.flatnonzero(cmap.picks == col)[0])]
                raise NonNumericStreamError(
                    f"the stream sends text that is not a number: {value!r} in channel {name!r} (stream column "
                    f"{int(col)}, sample {row} of the chunk); live needs numeric EEG samples (a string-format "
                    "stream must carry numbers as text)") from None
    raise NonNumericStreamError("the stream sends text that does not convert to numbers; live needs numeric EEG "
                                "samples")  # pragma: no cover - every value converts alone but not as a block


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
                   ignore: Sequence[str] = (), max_interpolated: int = 0, scale: float = 1.0,
                   rename: Mapping[str, str] | None = None,
                   on_extra: Literal["drop", "raise"] = "drop") -> ChannelMap:
    """Map stream channels onto the model's channels by name.

    Parameters
    ----------
    stream_ch_names : sequence of str
        The stream's channels, in column order.
    model_ch_names : sequence of str
        The model's channels, in its input order.
    ignore : sequence of str
        Stream channels that are never used (e.g. a ``sample_index`` counter), even if a name matched.
    max_interpolated : int
        Most model channels allowed to be missing from the stream; they are interpolated (0: none allowed).
    scale : float
        Factor applied to every sample (unit conversion).
    rename : mapping of str to str | None
        Explicit stream name -> model name, applied before matching (keys compared by
        :func:`~eegaffect.montage.channel_key` when not found verbatim).
    on_extra : {"drop", "raise"}
        What stream channels the model does not know do: dropped (listed in ``dropped``) or an error.

    Returns
    -------
    channel_map : ChannelMap

    Raises
    ------
    ChannelMismatchError
        Duplicate names, a ``rename`` entry naming no stream channel, extra stream channels with
        ``on_extra="raise"``, or more missing channels than ``max_interpolated`` (or missing channels without a
        known electrode position).
    """
    stream = [str(c) for c in stream_ch_names]
    model = [str(c) for c in model_ch_names]
    if not model:
        raise ChannelMismatchError("expected at least one model channel, got none")
    if int(max_interpolated) < 0:
        raise ValueError(f"max_interpolated must be >= 0, got {max_interpolated}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale}")
    if on_extra not in ("drop", "raise"):
        raise ValueError(f"on_extra must be 'drop' or 'raise', got {on_extra!r}")
    renamed = _renames(stream, dict(rename or {}))
    named = [renamed.get(n, n) for n in stream]
    ignored = {channel_key(c) for c in ignore}
    for label, names in (("stream", [n for n in named if channel_key(n) not in ignored]), ("model", model)):
        keys = [channel_key(n) for n in names]
        dup = sorted({n for n, u in zip(names, keys) if keys.count(u) > 1})
        if dup:
            raise ChannelMismatchError(f"{label} channel names must be unique once case and decorations are ignored "
                                       f"(see eegaffect.montage.channel_key), got duplicates {dup}; rename them "
                                       "with a mapping file (--rename FILE)")
    return _match(stream, named, model, ignored, int(max_interpolated), float(scale), renamed, on_extra)


def _renames(stream: list[str], rename: dict[str, str]) -> dict[str, str]:
    """The ``rename`` mapping keyed by the stream's own spelling (exact key first, then by channel_key)."""
    by_key = {channel_key(n): n for n in stream}
    out, unknown = {}, []
    for src, dst in rename.items():
        name = src if src in stream else by_key.get(channel_key(src))
        if name is None:
            unknown.append(src)
        else:
            out[name] = str(dst)
    if unknown:
        raise ChannelMismatchError(f"the channel mapping names {unknown} but the stream has no such channel; "
                                   f"expected names among {stream[:16]}{' ...' if len(stream) > 16 else ''}")
    return out


def _match(stream: list[str], named: list[str], model: list[str], ignore: set[str], max_interp: int, scale: float,
           renamed: dict[str, str], on_extra: str) -> ChannelMap:
    index = {channel_key(n): i for i, n in enumerate(named) if channel_key(n) not in ignore}
    model_u = {channel_key(n) for n in model}
    picks = np.array([index.get(channel_key(n), -1) for n in model], dtype=np.int64)
    missing = [n for n, p in zip(model, picks) if p < 0]
    unused = [i for i, n in enumerate(named) if channel_key(n) not in model_u or channel_key(n) in ignore]
    extra = [stream[i] for i in unused if channel_key(named[i]) not in ignore]
    if (extra and on_extra == "raise") or len(missing) > max_interp:
        hint = []
        if extra and on_extra == "raise":
            hint.append("drop extra channels (ignore=[...], --ignore-channel)")
        if missing:
            hint.append(f"allow interpolation of up to a few missing channels (--interpolate N; now {max_interp})")
            hint.append("map differently named channels with --rename FILE (YAML or CSV: stream name, model name)")
        raise ChannelMismatchError(
            f"expected the stream's channels to match the model's {len(model)} channels, got {len(stream)} "
            f"(missing: {missing[:12]}{' ...' if len(missing) > 12 else ''}, not in the model: {extra[:12]}"
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
    return ChannelMap(model_ch_names=list(model), picks=picks, interpolated=missing,
                      dropped=[stream[i] for i in unused], interp_matrix=matrix, scale=scale,
                      stream_ch_names=list(stream), renamed=renamed)


def read_rename_file(path: str | Path) -> dict[str, str]:
    """Read an explicit channel mapping: stream channel name -> model channel name.

    Parameters
    ----------
    path : str | Path
        A YAML file holding one mapping (``{"EEG 1": "Fp1", ...}``, or under a top-level ``rename:`` key), or a
        CSV file with two columns ``stream,model`` (a header row with those names is optional; ``#`` starts a
        comment line).

    Returns
    -------
    rename : dict of str to str

    Raises
    ------
    ChannelMismatchError
        The file is not one of these layouts (the message says what was found).
    FileNotFoundError
        No such file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"channel mapping file {path} does not exist")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return _rename_csv(path, text)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise ChannelMismatchError(f"{path}: expected a channel mapping file ending in .yaml, .yml or .csv, got "
                                   f"{path.suffix or 'no suffix'!r}")
    return _rename_yaml(path, text)


def _rename_yaml(path: Path, text: str) -> dict[str, str]:
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ChannelMismatchError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if isinstance(doc, dict) and set(doc) == {"rename"}:
        doc = doc["rename"]
    if not isinstance(doc, dict) or not doc or not all(isinstance(k, (str, int)) and isinstance(v, (str, int))
                                                      for k, v in doc.items()):
        raise ChannelMismatchError(f"{path}: expected a mapping of stream channel names to model channel names "
                                   f"(e.g. 'EEG 1: Fp1'), got {type(doc).__name__}: {str(doc)[:80]}")
    return _checked_targets(path, {str(k): str(v) for k, v in doc.items()})


def _rename_csv(path: Path, text: str) -> dict[str, str]:
    import csv
    import io

    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)
            and not r[0].lstrip().startswith("#")]
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["stream", "model"]:
        rows = rows[1:]
    bad = [i for i, r in enumerate(rows) if len(r) != 2 or not r[0].strip() or not r[1].strip()]
    if not rows or bad:
        raise ChannelMismatchError(f"{path}: expected CSV rows 'stream name,model name' (header 'stream,model' "
                                   f"optional), got {'no rows' if not rows else f'row {bad[0] + 1}: {rows[bad[0]]}'}")
    mapping = {}
    for src, dst in rows:
        if src.strip() in mapping:
            raise ChannelMismatchError(f"{path}: stream channel {src.strip()!r} is mapped twice")
        mapping[src.strip()] = dst.strip()
    return _checked_targets(path, mapping)


def _checked_targets(path: Path, mapping: dict[str, str]) -> dict[str, str]:
    targets = [channel_key(v) for v in mapping.values()]
    dup = sorted({v for v, k in zip(mapping.values(), targets) if targets.count(k) > 1})
    if dup:
        raise ChannelMismatchError(f"{path}: several stream channels are mapped to the same model channel {dup}")
    return mapping


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
