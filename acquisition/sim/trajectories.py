"""Valence/arousal trajectories that drive the simulated EEG: piecewise-linear, scripted, from a CSV, or a seeded
random walk.

A trajectory is a callable mapping sample times in seconds, shape ``(n,)``, to ``(valence, arousal)``, shape
``(n, 2)``, each in [-1, 1]. Time 0 is the first sample a :class:`~eegaffect.acquisition.sim.SimulatedEEG`
generates.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from eegaffect.acquisition.sim._common import _TAG_WALK, _check_seed, _check_va

__all__ = ["Trajectory", "RandomWalkTrajectory", "random_walk_trajectory", "scripted_trajectory",
           "trajectory_from_csv"]


class Trajectory:
    """Valence and arousal as a piecewise-linear function of time, held constant outside its knots.

    Parameters
    ----------
    times_s : array_like, shape (n_knots,)
        Strictly increasing knot times in seconds.
    values : array_like, shape (n_knots, 2)
        Valence (column 0) and arousal (column 1) at the knots, each in [-1, 1].

    Notes
    -----
    Calling the object with sample times returns the interpolated values, shape ``(n_times, 2)``. Time 0 is the
    first sample a :class:`~eegaffect.acquisition.sim.SimulatedEEG` generates.
    """

    def __init__(self, times_s, values):
        times = np.asarray(times_s, dtype=float).reshape(-1)
        vals = np.asarray(values, dtype=float)
        if vals.ndim != 2 or vals.shape[1] != 2 or vals.shape[0] != times.shape[0]:
            raise ValueError(f"expected values of shape ({times.shape[0]}, 2) (valence, arousal per knot), "
                             f"got {vals.shape}")
        if times.size == 0:
            raise ValueError("expected at least one trajectory knot, got none")
        _check_va(vals, "trajectory values")
        if not np.all(np.isfinite(times)):
            raise ValueError("trajectory knot times must be finite")
        if np.any(np.diff(times) <= 0):
            bad = int(np.flatnonzero(np.diff(times) <= 0)[0])
            raise ValueError(f"trajectory knot times must be strictly increasing; knot {bad + 1} at "
                             f"{times[bad + 1]} s does not come after {times[bad]} s")
        self._times = times
        self._values = vals

    @property
    def times_s(self) -> np.ndarray:
        """Knot times in seconds, shape (n_knots,) (a copy)."""
        return self._times.copy()

    @property
    def values(self) -> np.ndarray:
        """Knot values (valence, arousal), shape (n_knots, 2) (a copy)."""
        return self._values.copy()

    @property
    def duration_s(self) -> float:
        """Time of the last knot in seconds."""
        return float(self._times[-1])

    def __call__(self, t_s) -> np.ndarray:
        """Valence and arousal at times ``t_s``.

        Parameters
        ----------
        t_s : float | array-like, shape (n_times,)
            Times in seconds.

        Returns
        -------
        va : ndarray, shape (n_times, 2)
            Valence and arousal, interpolated between the knots.
        """
        t = np.asarray(t_s, dtype=float).reshape(-1)
        return self._interp(t)

    def _interp(self, t: np.ndarray) -> np.ndarray:
        out = np.empty((t.shape[0], 2))
        out[:, 0] = np.interp(t, self._times, self._values[:, 0])
        out[:, 1] = np.interp(t, self._times, self._values[:, 1])
        return out

    def to_csv(self, path: str | Path) -> Path:
        """Write the knots as a CSV with columns ``time_s, valence, arousal`` (the format
        :func:`trajectory_from_csv` reads).

        Parameters
        ----------
        path : str | Path
            Output file.

        Returns
        -------
        path : Path
            The written file.
        """
        path = Path(path)
        _write_va_csv(path, self._times, self._values)
        return path

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_knots={self._times.size}, duration_s={self.duration_s:g})"


class RandomWalkTrajectory(Trajectory):
    """A smooth, bounded, seeded random walk of valence and arousal, generated lazily (endless if no duration).

    Each dimension is a mean-reverting (Ornstein-Uhlenbeck) process with time constant ``time_constant_s``,
    smoothed by a first-order low-pass of ``smooth_s`` and squashed with ``tanh`` into (-1, 1). Knots are
    ``step_s`` apart; values between knots are linear. The value at a given time depends only on the seed and
    the walk parameters, never on ``duration_s`` or on how far the walk was evaluated before.

    Parameters
    ----------
    seed : int
        Seed (non-negative).
    duration_s : float | None
        Length of the walk; after it the last value is held. ``None`` extends the walk as far as it is asked.
    step_s : float
        Knot spacing in seconds.
    time_constant_s : float
        Mean-reversion time constant: how long a mood lasts.
    smooth_s : float
        Time constant of the smoothing low-pass (removes the walk's jitter).
    spread : float
        Standard deviation of the walk before ``tanh``; 0.8 keeps most values within ±0.85.
    centre : tuple of float
        Value (valence, arousal) the walk reverts to, each in (-1, 1).
    """

    _BLOCK = 1024

    def __init__(self, seed: int = 0, duration_s: float | None = None, *, step_s: float = 0.1,
                 time_constant_s: float = 20.0, smooth_s: float = 2.0, spread: float = 0.8,
                 centre: tuple[float, float] = (0.0, 0.0)):
        seed = _check_seed(seed, "seed")
        for name, value in (("step_s", step_s), ("time_constant_s", time_constant_s), ("smooth_s", smooth_s)):
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"expected {name} > 0, got {value!r}")
        if not (np.isfinite(spread) and spread >= 0):
            raise ValueError(f"expected spread >= 0, got {spread!r}")
        if duration_s is not None and not (np.isfinite(duration_s) and duration_s >= 0):
            raise ValueError(f"expected duration_s >= 0 or None, got {duration_s!r}")
        centre_arr = np.asarray(centre, dtype=float).reshape(-1)
        if centre_arr.shape != (2,) or np.any(np.abs(centre_arr) >= 1):
            raise ValueError(f"expected centre = (valence, arousal) inside (-1, 1), got {centre!r}")
        self.seed = seed
        self.step_s = float(step_s)
        self.time_constant_s = float(time_constant_s)
        self.smooth_s = float(smooth_s)
        self.spread = float(spread)
        self.centre = (float(centre_arr[0]), float(centre_arr[1]))
        self._limit_s = None if duration_s is None else float(duration_s)
        self._rho = math.exp(-self.step_s / self.time_constant_s)
        self._rho_smooth = math.exp(-self.step_s / self.smooth_s)
        self._offset = np.arctanh(centre_arr)
        self._state: np.ndarray | None = None  # (x, y) per dimension after the last generated knot
        self._latent = np.empty((0, 2))
        self._n_blocks = 0
        n_knots = 1 if duration_s is None else int(math.floor(self._limit_s / self.step_s + 1e-9)) + 1
        self._extend_to(n_knots)
        super().__init__(*self._knots(n_knots))

    @property
    def duration_s(self) -> float:
        """The walk's length, or ``inf`` for an endless walk."""
        return math.inf if self._limit_s is None else self._limit_s

    def _knots(self, n_knots: int) -> tuple[np.ndarray, np.ndarray]:
        times = np.arange(n_knots) * self.step_s
        values = np.tanh(self._offset + self.spread * self._latent[:n_knots])
        return times, values

    def _extend_to(self, n_knots: int) -> None:
        while self._latent.shape[0] < n_knots:
            rng = np.random.default_rng([_TAG_WALK, self.seed, self._n_blocks])
            noise = rng.standard_normal((self._BLOCK, 2))
            if self._state is None:
                x = noise[0].copy()
                y = x.copy()
                noise = noise[1:]
                out = [y.copy()]
            else:
                x, y = self._state
                out = []
            innov = math.sqrt(1.0 - self._rho ** 2)
            for e in noise:
                x = self._rho * x + innov * e
                y = self._rho_smooth * y + (1.0 - self._rho_smooth) * x
                out.append(y.copy())
            self._state = (x, y)
            self._latent = np.concatenate([self._latent, np.asarray(out)])
            self._n_blocks += 1

    def __call__(self, t_s) -> np.ndarray:
        """Valence and arousal at times ``t_s``, extending the walk as far as needed.

        Parameters
        ----------
        t_s : float | array-like, shape (n_times,)
            Times in seconds. Without a duration limit, knots are drawn up to ``max(t_s)`` (the same seed gives
            the same walk however far it is extended).

        Returns
        -------
        va : ndarray, shape (n_times, 2)
            Valence and arousal, interpolated between the knots.
        """
        t = np.asarray(t_s, dtype=float).reshape(-1)
        if self._limit_s is None and t.size:
            needed = int(math.ceil(float(np.max(t)) / self.step_s)) + 2
            if needed > self._times.size:
                self._extend_to(needed)
                self._times, self._values = self._knots(needed)
        return self._interp(t)


def random_walk_trajectory(duration_s: float | None, seed: int = 0, **kwargs) -> RandomWalkTrajectory:
    """A smooth, bounded, seeded random walk of valence and arousal.

    Parameters
    ----------
    duration_s : float | None
        Length in seconds (the last value is held after it); ``None`` for an endless walk.
    seed : int
        Seed; the same seed gives the same walk.
    **kwargs
        ``step_s``, ``time_constant_s``, ``smooth_s``, ``spread``, ``centre`` of :class:`RandomWalkTrajectory`.

    Returns
    -------
    trajectory : RandomWalkTrajectory
        Callable mapping times (s) to values, shape (n_times, 2), in (-1, 1).
    """
    return RandomWalkTrajectory(seed, duration_s, **kwargs)


def scripted_trajectory(points) -> Trajectory:
    """A trajectory through given points, linear in between and held outside.

    Parameters
    ----------
    points : array_like, shape (n_points, 3)
        Rows of ``(time_s, valence, arousal)``; times strictly increasing, values in [-1, 1].

    Returns
    -------
    trajectory : Trajectory
        The piecewise-linear trajectory.

    Examples
    --------
    >>> traj = scripted_trajectory([(0, -0.5, 0.0), (30, 0.8, 0.5), (60, 0.0, -0.5)])
    >>> traj([15.0]).round(2).tolist()
    [[0.15, 0.25]]
    """
    arr = np.asarray(points, dtype=float)
    if arr.ndim == 1 and arr.size == 3:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"expected points of shape (n_points, 3) as rows of (time_s, valence, arousal), "
                         f"got shape {arr.shape}")
    return Trajectory(arr[:, 0], arr[:, 1:])


def trajectory_from_csv(path: str | Path) -> Trajectory:
    """Read a trajectory from a CSV with columns ``time_s, valence, arousal`` (any order; others ignored).

    Lines starting with ``#`` are comments. Values between rows are interpolated linearly.

    Parameters
    ----------
    path : str | Path
        The CSV file.

    Returns
    -------
    trajectory : Trajectory
        The trajectory through the rows.

    Raises
    ------
    ValueError
        If a column is missing, a value is not a number, times do not increase or values leave [-1, 1]; the
        message names the file and the row.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"trajectory CSV {path} does not exist")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(line for line in fh if not line.lstrip().startswith("#"))
        fields = [f.strip() for f in (reader.fieldnames or [])]
        need = ["time_s", "valence", "arousal"]
        missing = [c for c in need if c not in fields]
        if missing:
            raise ValueError(f"{path}: expected columns {need}, missing {missing} (found {fields})")
        rows = []
        for i, row in enumerate(reader, start=2):
            row = {k.strip(): v for k, v in row.items() if k is not None}
            try:
                rows.append([float(row[c]) for c in need])
            except (TypeError, ValueError):
                raise ValueError(f"{path}: row {i}: expected numbers in {need}, got "
                                 f"{[row.get(c) for c in need]}") from None
    if not rows:
        raise ValueError(f"{path}: expected at least one data row, found none")
    arr = np.asarray(rows)
    try:
        return Trajectory(arr[:, 0], arr[:, 1:])
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _write_va_csv(path: Path, times: np.ndarray, values: np.ndarray) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("time_s,valence,arousal\n")
        for t, (v, a) in zip(times, values):
            fh.write(f"{t:.6f},{v:.6f},{a:.6f}\n")

