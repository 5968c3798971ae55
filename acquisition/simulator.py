"""Synthetic EEG whose band powers follow a valence/arousal trajectory: the simulated headset's signal generator.

:class:`SimulatedEEG` produces multichannel EEG sample by sample (``generate(n_samples)``) together with the
valence/arousal value that drove each sample. It is what ``eegaffect simulate`` streams over LSL and what
``eegaffect datasets synth-seed`` writes into the SEED layout. Pure NumPy (plus the packaged electrode table), so
it runs inside acquisition threads and stays light to import.

Signal model
------------
Every sample is the sum of (all amplitudes in µV; the output is in volts unless ``unit="uV"``)

- **aperiodic background**: per-channel 1/f^beta noise (beta per subject, 1.5-2.2, knee at 1 Hz, 10-18 µV RMS),
  spatially smoothed with a Gaussian kernel over electrode distance (3 cm) so neighbouring electrodes correlate;
- **rhythms**: narrow-band sources (Gaussian spectral peaks) with Gaussian scalp topographies around the sites in
  the table below; alpha sits at the subject's individual alpha frequency (IAF, 9-11.5 Hz). Their amplitudes are
  modulated sample by sample by the valence/arousal trajectory;
- **artifacts**: eye blinks (frontopolar, 60-150 µV, a fast-rise/slow-fall wave of 0.25-0.45 s, Poisson events
  at a rate x exp(0.4 * arousal)), muscle bursts (temporal sites, broadband high-frequency noise with a Hann
  envelope of 0.2-1.2 s, rate x exp(0.7 * arousal) -- so EMG contaminates gamma exactly where the affect
  effects are, as in real recordings), horizontal eye movements (saccades to N(0, 1) gaze targets, 0.3-1 per
  second, 30-ms raised-cosine steps held between saccades, opposite signs at F7/F8, 15-45 µV per unit gaze at
  F8), line noise (``line_hz``, per-channel amplitude and phase, plus the third harmonic below Nyquist), slow
  drift (per-channel Catmull-Rom spline through random knots every 5 s) and white sensor noise;
- **subject traits** (from ``subject``): IAF, 1/f exponent, background level, per-source gains and topography
  shifts (up to ~1 cm), affect reactivity (0.5-1.3, scales every effect below), blink, saccade and muscle rates
  and sizes, sensor noise level. **Session traits** (from ``session``): per-channel electrode gains (±10 %),
  day-to-day factors on each rhythm (±15 %) and on the background (±10 %), line-noise amplitude and phase,
  drift size.

Affect effects
--------------
Band-power change in dB of each source per unit of valence and arousal (both in [-1, 1]), before the subject's
reactivity factor and ``effect_scale``. A change of 1 dB is a 26 % power change; frontal alpha asymmetry
(ln right - ln left alpha power at F4/F3) therefore moves by 2 dB = 0.46 ln units per unit valence at the
sources, less at the electrodes (background and neighbouring sources dilute it).

======================  =========  =======  =====  =======  =======  =======
source                  peak (Hz)  sites    µV     valence  arousal  L-R r
======================  =========  =======  =====  =======  =======  =======
delta-posterior         2          PZ POZ   8.0    -1.5     +0.0     -
theta-frontal-midline   6          FZ FCZ   6.0    +1.0     +1.0     -
alpha-occipital-left    IAF        O1 PO7   14.0   +0.0     -2.0     -
alpha-occipital-right   IAF+0.3    O2 PO8   14.0   +0.0     -2.0     0.8
alpha-frontal-left      IAF-0.5    F3 F5    6.0    -1.0     -1.0     -
alpha-frontal-right     IAF-0.5    F4 F6    6.0    +1.0     -1.0     0.9
mu-left                 IAF+1.0    C3       5.0    +0.0     +0.0     -
mu-right                IAF+1.0    C4       5.0    +0.0     +0.0     0.6
beta-frontocentral      20         FZ FCZ   4.5    +0.0     +1.5     -
beta-temporal-left      22         T7 TP7   4.0    +1.0     +1.0     -
beta-temporal-right     22         T8 TP8   4.0    +1.0     +1.0     0.5
gamma-temporal-left     38         T7 FT7   3.0    +1.5     +1.5     -
gamma-temporal-right    38         T8 FT8   3.0    +1.5     +1.5     0.3
gamma-prefrontal        35         FP1 FP2  2.5    -1.0     +1.0     -
======================  =========  =======  =====  =======  =======  =======

``L-R r``: correlation of a right-hemisphere source's time course with its left partner (bilateral rhythms are
largely coherent, so asymmetry indices cancel most of their shared fluctuation, as in real recordings).

At the electrodes the effects are smaller, because the background and neighbouring sources share each band.
Measured by ``scripts/simulator_effects.py`` (10 minutes of a fast random walk per subject, all artifacts on,
Welch band power of 2-s windows regressed on valence and arousal, mean of four subjects), per unit valence /
arousal: F4-F3 alpha asymmetry +1.4 / -0.2 dB, O1/O2/PO7/PO8
alpha -0.0 / -1.6 dB, FZ/FCZ/CZ beta -0.0 / +0.8 dB, temporal beta +0.6 / +0.6 dB, temporal gamma +0.7 / +0.8 dB,
frontopolar gamma -0.3 / +0.4 dB, FZ/FCZ theta +0.3 / +0.5 dB, PZ/POZ delta -0.5 / -0.1 dB; per 2-s window these
features correlate with the driving value at r = 0.1-0.5, so single windows are weak evidence and trials need many.

Where the numbers come from: frontal alpha asymmetry tracks approach/positive affect (Davidson 1992;
Harmon-Jones et al. 2010; reported condition differences of ~0.1-0.3 ln units); alpha power drops with arousal
(alpha desynchronisation, Barry et al. 2007); beta and gamma power rise with arousal (Ray & Cole 1985;
Keil et al. 2001); SEED itself shows more lateral-temporal beta/gamma for positive clips, more parietal/occipital
delta and prefrontal gamma for negative ones and more posterior alpha for neutral (low-arousal) clips (Zheng & Lu
2015); frontal-midline theta rises with pleasant stimuli (Sammler et al. 2007) and emotional arousal
(Aftanas & Golocheikine 2001). The sizes sit at the upper end of reported effects so that short synthetic
datasets are learnable; ``effect_scale=0.3`` gives literature-typical sizes and ``effect_scale=0`` removes the
affect signal altogether (a null control). The mu rhythms carry no effect (a distractor).

Streaming and determinism
-------------------------
The generator works internally in fixed blocks of ``block_s`` seconds, each drawn from its own
``np.random.default_rng`` keyed by (stream, seed, block index) -- one stream for the noise and one per artifact
type, so switching an artifact off leaves the rest of the signal unchanged -- with filter histories, saccade
ramps and artifact tails carried from block to block. ``generate`` serves samples from these blocks, so
consecutive calls continue one signal and any chunking of N samples gives bit-identical output. The same
arguments give the same signal on every run.
Cost (one core, busy 2-core machine): ~3 ms of CPU per second of 62-channel EEG at 200 Hz (~350x real time),
~13 ms per second at 64 channels / 1 kHz (~75x), so a live simulated headset uses 1-2 % of a core.

Electrode positions come from ``electrode_positions.csv`` beside this module (MNE's 10-05 template plus SEED's
CB1/CB2, written by ``scripts/make_electrode_positions.py`` from :mod:`eegaffect.montage`, and tested to agree
with it), or from ``ch_pos`` for channels the table lacks.
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

import numpy as np

from eegaffect.acquisition.channels import SEED_CHANNELS

__all__ = [
    "RhythmSource",
    "RHYTHM_SOURCES",
    "SubjectTraits",
    "SessionTraits",
    "SimulatedEEG",
    "Trajectory",
    "RandomWalkTrajectory",
    "random_walk_trajectory",
    "scripted_trajectory",
    "trajectory_from_csv",
    "electrode_positions",
]

logger = logging.getLogger("eegaffect.acquisition.simulator")

_POSITIONS_FILE = Path(__file__).with_name("electrode_positions.csv")

# Tags that separate the independent random streams (first entry of every SeedSequence entropy list).
_TAG_SUBJECT, _TAG_SESSION, _TAG_BLOCK, _TAG_INIT, _TAG_DRIFT, _TAG_WALK = 101, 102, 103, 104, 105, 106
_TAG_BLINK, _TAG_MUSCLE, _TAG_SACCADE = 107, 108, 109

_MIN_SFREQ = 100.0
_DRIFT_KNOT_S = 5.0


# ---------------------------------------------------------------------------------------------------------------
# Electrode positions
# ---------------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _position_table() -> dict[str, np.ndarray]:
    table: dict[str, np.ndarray] = {}
    with _POSITIONS_FILE.open(encoding="utf-8") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        for row in rows:
            table[row["name"].upper()] = np.array([float(row["x"]), float(row["y"]), float(row["z"])])
    return table


def electrode_positions(ch_names: Sequence[str]) -> np.ndarray:
    """Positions of the given channels from the packaged table (MNE 10-05 template plus CB1/CB2).

    Parameters
    ----------
    ch_names : sequence of str
        Channel names, any case (``FPZ`` and ``Fpz`` are the same site).

    Returns
    -------
    pos : ndarray, shape (n_chans, 3)
        xyz in metres, MNE head frame (x right, y anterior, z up).

    Raises
    ------
    ValueError
        Naming every channel the table does not know.
    """
    table = _position_table()
    missing = [ch for ch in ch_names if str(ch).upper() not in table]
    if missing:
        raise ValueError(f"no electrode position known for {len(missing)} channel(s): {missing}; expected 10-05 "
                         "names (e.g. 'Fp1', 'Cz', 'PO7') or SEED's CB1/CB2, or pass ch_pos")
    return np.stack([table[str(ch).upper()] for ch in ch_names])


def _site_centre(sites: Sequence[str]) -> np.ndarray:
    table = _position_table()
    return np.mean([table[s] for s in sites], axis=0)


# ---------------------------------------------------------------------------------------------------------------
# Valence/arousal trajectories
# ---------------------------------------------------------------------------------------------------------------

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
    first sample a :class:`SimulatedEEG` generates.
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


def _check_va(values: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what} must be finite, got NaN or inf")
    if values.size and np.max(np.abs(values)) > 1.0 + 1e-9:
        raise ValueError(f"{what} must lie in [-1, 1], got values from {values.min():.3g} to {values.max():.3g}")


def _check_seed(value, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"expected {name} to be a non-negative int, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------------------------------------------
# Sources, traits
# ---------------------------------------------------------------------------------------------------------------

class RhythmSource(NamedTuple):
    """One narrow-band source of the signal model (a row of the module docstring's table).

    Attributes
    ----------
    name : str
        Source name.
    peak_hz : float
        Centre frequency in Hz; relative to the subject's IAF when ``relative_to_iaf``.
    relative_to_iaf : bool
        Whether ``peak_hz`` is an offset from the individual alpha frequency.
    width_hz : float
        Standard deviation of the Gaussian spectral peak in Hz.
    sites : tuple of str
        Electrodes whose mean position is the topography's centre.
    spread_m : float
        Standard deviation of the Gaussian topography in metres.
    amplitude_uv : float
        RMS amplitude in µV at the centre for a neutral state (valence = arousal = 0).
    valence_db : float
        Band-power change in dB per unit valence.
    arousal_db : float
        Band-power change in dB per unit arousal.
    partner : str | None
        An earlier source (the homologous one of the other hemisphere) this one shares its time course with.
    coupling : float
        Correlation of the driving noise with the partner's (bilateral rhythms are largely coherent, so
        asymmetry indices such as frontal alpha asymmetry cancel most of their common fluctuation).
    """

    name: str
    peak_hz: float
    relative_to_iaf: bool
    width_hz: float
    sites: tuple[str, ...]
    spread_m: float
    amplitude_uv: float
    valence_db: float
    arousal_db: float
    partner: str | None = None
    coupling: float = 0.0


#: The rhythm sources of the signal model, in the order of the module docstring's table.
RHYTHM_SOURCES: tuple[RhythmSource, ...] = (
    RhythmSource("delta-posterior", 2.0, False, 1.0, ("PZ", "POZ"), 0.05, 8.0, -1.5, 0.0),
    RhythmSource("theta-frontal-midline", 6.0, False, 1.0, ("FZ", "FCZ"), 0.04, 6.0, 1.0, 1.0),
    RhythmSource("alpha-occipital-left", 0.0, True, 0.8, ("O1", "PO7"), 0.04, 14.0, 0.0, -2.0),
    RhythmSource("alpha-occipital-right", 0.3, True, 0.8, ("O2", "PO8"), 0.04, 14.0, 0.0, -2.0,
                 "alpha-occipital-left", 0.8),
    RhythmSource("alpha-frontal-left", -0.5, True, 0.8, ("F3", "F5"), 0.03, 6.0, -1.0, -1.0),
    RhythmSource("alpha-frontal-right", -0.5, True, 0.8, ("F4", "F6"), 0.03, 6.0, 1.0, -1.0,
                 "alpha-frontal-left", 0.9),
    RhythmSource("mu-left", 1.0, True, 0.7, ("C3",), 0.03, 5.0, 0.0, 0.0),
    RhythmSource("mu-right", 1.0, True, 0.7, ("C4",), 0.03, 5.0, 0.0, 0.0, "mu-left", 0.6),
    RhythmSource("beta-frontocentral", 20.0, False, 4.0, ("FZ", "FCZ"), 0.05, 4.5, 0.0, 1.5),
    RhythmSource("beta-temporal-left", 22.0, False, 5.0, ("T7", "TP7"), 0.035, 4.0, 1.0, 1.0),
    RhythmSource("beta-temporal-right", 22.0, False, 5.0, ("T8", "TP8"), 0.035, 4.0, 1.0, 1.0,
                 "beta-temporal-left", 0.5),
    RhythmSource("gamma-temporal-left", 38.0, False, 7.0, ("T7", "FT7"), 0.035, 3.0, 1.5, 1.5),
    RhythmSource("gamma-temporal-right", 38.0, False, 7.0, ("T8", "FT8"), 0.035, 3.0, 1.5, 1.5,
                 "gamma-temporal-left", 0.3),
    RhythmSource("gamma-prefrontal", 35.0, False, 7.0, ("FP1", "FP2"), 0.035, 2.5, -1.0, 1.0),
)


@dataclass(frozen=True)
class SubjectTraits:
    """What makes one simulated person differ from another (drawn from the ``subject`` seed).

    Attributes
    ----------
    iaf_hz : float
        Individual alpha frequency.
    aperiodic_exponent : float
        beta of the 1/f^beta background power spectrum.
    background_uv : float
        RMS of the aperiodic background in µV.
    source_gain : ndarray, shape (n_sources,)
        Amplitude factor of each rhythm source.
    source_shift_m : ndarray, shape (n_sources, 3)
        Shift of each source's topography centre in metres.
    reactivity : float
        Factor on every affect effect (dB).
    blink_rate_hz, blink_uv : float
        Blink rate at arousal 0 and blink peak amplitude at the frontopolar sites.
    muscle_rate_hz, muscle_uv : float
        Muscle-burst rate at arousal 0 and burst RMS amplitude at the temporal sites.
    sensor_noise_uv : float
        White sensor-noise RMS.
    saccade_rate_hz, saccade_uv : float
        Rate of horizontal saccades and the horizontal EOG at F8 (µV) per unit of gaze (gaze ~ N(0, 1)).
    """

    iaf_hz: float
    aperiodic_exponent: float
    background_uv: float
    source_gain: np.ndarray
    source_shift_m: np.ndarray
    reactivity: float
    blink_rate_hz: float
    blink_uv: float
    muscle_rate_hz: float
    muscle_uv: float
    sensor_noise_uv: float
    saccade_rate_hz: float
    saccade_uv: float

    @classmethod
    def draw(cls, key: int) -> "SubjectTraits":
        """Draw the traits of subject ``key`` (deterministic)."""
        rng = np.random.default_rng([_TAG_SUBJECT, key])
        n = len(RHYTHM_SOURCES)
        return cls(
            iaf_hz=float(rng.uniform(9.0, 11.5)),
            aperiodic_exponent=float(rng.uniform(1.5, 2.2)),
            background_uv=float(rng.uniform(10.0, 18.0)),
            source_gain=np.exp(rng.normal(0.0, 0.25, n)),
            source_shift_m=rng.normal(0.0, 0.006, (n, 3)),
            reactivity=float(rng.uniform(0.5, 1.3)),
            blink_rate_hz=float(rng.uniform(0.1, 0.4)),
            blink_uv=float(rng.uniform(60.0, 150.0)),
            muscle_rate_hz=float(rng.uniform(0.03, 0.15)),
            muscle_uv=float(rng.uniform(5.0, 25.0)),
            sensor_noise_uv=float(rng.uniform(0.5, 2.0)),
            saccade_rate_hz=float(rng.uniform(0.3, 1.0)),
            saccade_uv=float(rng.uniform(15.0, 45.0)),
        )


@dataclass(frozen=True)
class SessionTraits:
    """What differs between two recordings of the same person (drawn from the ``session`` seed).

    Attributes
    ----------
    channel_gain : ndarray, shape (n_chans,)
        Electrode coupling gain on the brain signal.
    line_uv : ndarray, shape (n_chans,)
        Line-noise amplitude per channel in µV.
    line_phase : ndarray, shape (n_chans,)
        Line-noise phase per channel in radians.
    drift_uv : float
        Standard deviation of the slow drift in µV.
    source_gain : ndarray, shape (n_sources,)
        Day-to-day factor on each rhythm's amplitude (state, vigilance; ±15 %).
    background_gain : float
        Day-to-day factor on the background level (±10 %).
    """

    channel_gain: np.ndarray
    line_uv: np.ndarray
    line_phase: np.ndarray
    drift_uv: float
    source_gain: np.ndarray
    background_gain: float

    @classmethod
    def draw(cls, key: int, n_chans: int) -> "SessionTraits":
        """Draw the traits of session ``key`` for ``n_chans`` channels (deterministic)."""
        rng = np.random.default_rng([_TAG_SESSION, key])
        level = rng.uniform(0.5, 3.0)
        return cls(
            channel_gain=np.exp(rng.normal(0.0, 0.1, n_chans)),
            line_uv=level * np.exp(rng.normal(0.0, 0.4, n_chans)),
            line_phase=rng.normal(0.0, 0.3, n_chans),
            drift_uv=float(rng.uniform(5.0, 20.0)),
            source_gain=np.exp(rng.normal(0.0, 0.15, len(RHYTHM_SOURCES))),
            background_gain=float(np.exp(rng.normal(0.0, 0.1))),
        )


# ---------------------------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------------------------

class SimulatedEEG:
    """Streaming synthetic EEG driven by a valence/arousal trajectory (see the module docstring for the model).

    Parameters
    ----------
    ch_names : sequence of str
        Channel names (default: the 62 SEED channels). Each needs a position: from the packaged 10-05 table or
        ``ch_pos``.
    sfreq : float
        Sampling rate in Hz (at least 100).
    seed : int
        Seed of the noise, events and (when ``trajectory`` is None) the random-walk trajectory.
    trajectory : callable | None
        Maps sample times in seconds, shape (n,), to (valence, arousal), shape (n, 2), in [-1, 1]: a
        :class:`Trajectory`, :func:`random_walk_trajectory`, :func:`scripted_trajectory` or
        :func:`trajectory_from_csv`. ``None``: an endless random walk seeded with ``seed``.
    subject : int | None
        Seed of the person (:class:`SubjectTraits`); ``None`` uses ``seed``. Two generators with the same
        ``subject`` and different ``seed`` are the same person with different noise.
    session : int | None
        Seed of the session (:class:`SessionTraits`: electrode gains, line noise, drift); ``None`` uses ``seed``.
    ch_pos : mapping of str to array_like | ndarray, shape (n_chans, 3) | None
        Electrode positions in metres (MNE head frame), for channels missing from the table or to override it.
    unit : {"V", "uV"}
        Unit of the generated EEG: volts (MNE's convention) or microvolts (SEED's files, many LSL devices).
    effect_scale : float
        Factor on every affect effect in dB and on the arousal dependence of blink and muscle-burst rates
        (1 = the table, 0 = the EEG carries no affect information at all).
    blinks, eye_movements, muscle, drift : bool
        Include eye blinks, horizontal eye movements (saccades), muscle bursts, slow drift.
    line_hz : float | None
        Line frequency (50 or 60 Hz); ``None`` disables line noise.
    block_s : float
        Internal block length in seconds (determinism is per block length).

    Attributes
    ----------
    ch_names : list of str
        Channel names.
    sfreq : float
        Sampling rate in Hz.
    n_chans : int
        Number of channels.
    unit : str
        ``"V"`` or ``"uV"``.
    subject_traits : SubjectTraits
        The simulated person.
    session_traits : SessionTraits
        The simulated session.
    n_generated : int
        Samples returned so far.

    Examples
    --------
    >>> sim = SimulatedEEG(sfreq=200.0, seed=1)
    >>> eeg, va = sim.generate(400)
    >>> eeg.shape, va.shape
    ((400, 62), (400, 2))
    """

    def __init__(self, ch_names: Sequence[str] = SEED_CHANNELS, sfreq: float = 200.0, seed: int = 0,
                 trajectory: Callable[[np.ndarray], np.ndarray] | None = None, subject: int | None = None, *,
                 session: int | None = None, ch_pos: Mapping[str, Iterable[float]] | np.ndarray | None = None,
                 unit: str = "V", effect_scale: float = 1.0, blinks: bool = True, eye_movements: bool = True,
                 muscle: bool = True, line_hz: float | None = 50.0, drift: bool = True, block_s: float = 1.0):
        ch_names = [str(ch) for ch in ch_names]
        if not ch_names:
            raise ValueError("expected at least one channel name, got none")
        upper = [ch.upper() for ch in ch_names]
        dupes = sorted({ch for ch in upper if upper.count(ch) > 1})
        if dupes:
            raise ValueError(f"channel names must be unique (case-insensitive); duplicated: {dupes}")
        sfreq = float(sfreq)
        if not (np.isfinite(sfreq) and sfreq >= _MIN_SFREQ):
            raise ValueError(f"expected sfreq >= {_MIN_SFREQ:g} Hz (the model has rhythms up to ~50 Hz), "
                             f"got {sfreq!r}")
        seed = _check_seed(seed, "seed")
        subject = seed if subject is None else _check_seed(subject, "subject")
        session = seed if session is None else _check_seed(session, "session")
        if trajectory is None:
            trajectory = RandomWalkTrajectory(seed)
        elif not callable(trajectory):
            raise TypeError(f"expected trajectory to be callable (times_s -> (n, 2) values) or None, "
                            f"got {type(trajectory).__name__}")
        if unit in ("µV", "uv"):
            unit = "uV"
        if unit not in ("V", "uV"):
            raise ValueError(f"expected unit 'V' or 'uV', got {unit!r}")
        if not np.isfinite(effect_scale):
            raise ValueError(f"expected a finite effect_scale, got {effect_scale!r}")
        if line_hz is not None and not (0 < float(line_hz) < sfreq / 2):
            raise ValueError(f"expected line_hz between 0 and Nyquist ({sfreq / 2:g} Hz) or None, got {line_hz!r}")
        block = int(round(float(block_s) * sfreq))
        if block < 1:
            raise ValueError(f"expected block_s of at least one sample (1/sfreq = {1 / sfreq:g} s), got {block_s!r}")
        pos = _resolve_positions(ch_names, ch_pos)

        self.ch_names = ch_names
        self.sfreq = sfreq
        self.n_chans = len(ch_names)
        self.unit = unit
        self.seed = seed
        self.subject = subject
        self.session = session
        self.trajectory = trajectory
        self.effect_scale = float(effect_scale)
        self.line_hz = None if line_hz is None else float(line_hz)
        self.blinks, self.muscle, self.drift = bool(blinks), bool(muscle), bool(drift)
        self.eye_movements = bool(eye_movements)
        self.block_size = block
        self.subject_traits = SubjectTraits.draw(subject)
        self.session_traits = SessionTraits.draw(session, self.n_chans)
        self.n_generated = 0
        self._model = _Model(pos, sfreq, self.subject_traits, self.session_traits, block)
        self._block_index = 0
        self._hist = self._model.couple(np.random.default_rng([_TAG_INIT, seed]).standard_normal(
            (self._model.n_taps - 1, self._model.n_cols)))
        self._carry = np.zeros((block + self._model.max_event, self.n_chans))
        self._gaze = 0.0  # horizontal gaze once every finished saccade is applied
        self._gaze_target = 0.0  # where the last saccade goes
        self._saccades: list[tuple[int, float]] = []  # (first sample, gaze change) of saccades still moving
        self._pending_eeg = np.empty((0, self.n_chans))
        self._pending_va = np.empty((0, 2))

    def generate(self, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Generate the next ``n_samples`` samples, continuing the signal of earlier calls.

        Parameters
        ----------
        n_samples : int
            Number of samples (>= 0).

        Returns
        -------
        eeg : ndarray, shape (n_samples, n_chans)
            float64 EEG in :attr:`unit`.
        va : ndarray, shape (n_samples, 2)
            float64 valence and arousal in [-1, 1] that drove each sample.
        """
        if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, (int, np.integer)) \
                or n_samples < 0:
            raise ValueError(f"expected n_samples to be a non-negative int, got {n_samples!r}")
        n_samples = int(n_samples)
        if self._pending_eeg.shape[0] < n_samples:
            n_blocks = -(-(n_samples - self._pending_eeg.shape[0]) // self.block_size)
            parts = [self._next_block() for _ in range(n_blocks)]
            self._pending_eeg = np.concatenate([self._pending_eeg, *(p[0] for p in parts)])
            self._pending_va = np.concatenate([self._pending_va, *(p[1] for p in parts)])
        eeg = self._pending_eeg[:n_samples].copy()
        va = self._pending_va[:n_samples].copy()
        self._pending_eeg = self._pending_eeg[n_samples:]
        self._pending_va = self._pending_va[n_samples:]
        self.n_generated += n_samples
        if self.unit == "V":
            eeg *= 1e-6
        return eeg, va

    def _next_block(self) -> tuple[np.ndarray, np.ndarray]:
        model, st = self._model, self.session_traits
        b, n0 = self.block_size, self._block_index * self.block_size
        rng = self._rng(_TAG_BLOCK)
        idx = n0 + np.arange(b)
        t = idx / self.sfreq
        va = np.asarray(self.trajectory(t), dtype=float)
        if va.shape != (b, 2):
            raise ValueError(f"trajectory returned shape {va.shape} for {b} sample times; expected ({b}, 2)")
        _check_va(va, "trajectory values")

        white = model.couple(rng.standard_normal((b, model.n_cols)))
        filtered, self._hist = model.filter(self._hist, white)
        brain = model.background(filtered) + model.rhythms(filtered, va, self.effect_scale)
        brain *= st.channel_gain
        brain += self.subject_traits.sensor_noise_uv * rng.standard_normal((b, self.n_chans))

        carry = self._carry
        # Each artifact draws from its own stream, so switching one off leaves the others unchanged.
        if self.blinks:
            model.add_blinks(carry, self._rng(_TAG_BLINK), b, self.effect_scale * va[0, 1])
        if self.muscle:
            model.add_muscle(carry, self._rng(_TAG_MUSCLE), b, self.effect_scale * va[0, 1])
        out = brain + carry[:b]
        carry[:-b] = carry[b:].copy()
        carry[-b:] = 0.0
        if self.line_hz is not None:
            out += model.line_noise(idx, self.line_hz, st)
        if self.drift:
            out += model.drift(t, self.seed, st.drift_uv)
        if self.eye_movements:
            out += self._eye_movements(self._rng(_TAG_SACCADE), idx)
        self._block_index += 1
        return out, va

    def _rng(self, tag: int) -> np.random.Generator:
        return np.random.default_rng([tag, self.seed, self._block_index])

    def _eye_movements(self, rng: np.random.Generator, idx: np.ndarray) -> np.ndarray:
        """Horizontal EOG: gaze jumps to N(0, 1) targets in raised-cosine saccades, held in between."""
        traits, model = self.subject_traits, self._model
        n = rng.poisson(traits.saccade_rate_hz * idx.size / self.sfreq)
        onsets = np.sort(rng.integers(0, idx.size, n)) + idx[0]
        for onset, target in zip(onsets, rng.normal(0.0, 1.0, n)):
            self._saccades.append((int(onset), float(target) - self._gaze_target))
            self._gaze_target = float(target)
        level = np.full(idx.size, self._gaze)
        moving = []
        for start, delta in self._saccades:
            u = np.clip((idx - start + 1) / model.saccade_len, 0.0, 1.0)
            level += delta * (0.5 - 0.5 * np.cos(np.pi * u))
            if start + model.saccade_len - 1 <= idx[-1]:
                self._gaze += delta
            else:
                moving.append((start, delta))
        self._saccades = moving
        return (traits.saccade_uv * level)[:, None] * model.heog_topo

    def __repr__(self) -> str:
        return (f"SimulatedEEG(n_chans={self.n_chans}, sfreq={self.sfreq:g}, seed={self.seed}, "
                f"subject={self.subject}, session={self.session}, unit={self.unit!r})")


def _resolve_positions(ch_names: list[str], ch_pos) -> np.ndarray:
    if ch_pos is None:
        return electrode_positions(ch_names)
    if isinstance(ch_pos, Mapping):
        given = {str(k).upper(): np.asarray(v, dtype=float).reshape(-1) for k, v in ch_pos.items()}
        bad = [k for k, v in given.items() if v.shape != (3,) or not np.all(np.isfinite(v))]
        if bad:
            raise ValueError(f"ch_pos entries must be finite xyz triples in metres; bad: {bad}")
        table = _position_table()
        missing = [ch for ch in ch_names if ch.upper() not in given and ch.upper() not in table]
        if missing:
            raise ValueError(f"no electrode position for {missing}: not in ch_pos and not in the 10-05 table")
        return np.stack([given.get(ch.upper(), table.get(ch.upper())) for ch in ch_names])
    arr = np.asarray(ch_pos, dtype=float)
    if arr.shape != (len(ch_names), 3) or not np.all(np.isfinite(arr)):
        raise ValueError(f"expected ch_pos of shape ({len(ch_names)}, 3) with finite metres, got {arr.shape}")
    return arr.copy()


class _Model:
    """Fixed parts of the signal model for one montage, rate and subject (filters, topographies)."""

    def __init__(self, pos: np.ndarray, sfreq: float, traits: SubjectTraits, session: SessionTraits, block: int):
        self.sfreq = sfreq
        self.n_chans = pos.shape[0]
        n_src = len(RHYTHM_SOURCES)
        self.n_cols = self.n_chans + n_src
        self.n_taps = int(2 ** math.ceil(math.log2(2.0 * sfreq)))  # >= 2 s: resolves the 1 Hz knee
        self.n_fft = int(2 ** math.ceil(math.log2(block + self.n_taps - 1)))
        self.max_event = int(math.ceil(1.3 * sfreq))

        # Frequency responses of the FIR filters (zero-phase designs made causal by a half-length delay).
        freqs = np.fft.rfftfreq(self.n_taps, 1.0 / sfreq)
        pink = (freqs ** 2 + 1.0) ** (-traits.aperiodic_exponent / 4.0)
        kernels = [_fir_from_response(pink)]
        self.peaks_hz = []
        for src in RHYTHM_SOURCES:
            peak = src.peak_hz + (traits.iaf_hz if src.relative_to_iaf else 0.0)
            self.peaks_hz.append(peak)
            kernels.append(_fir_from_response(np.exp(-0.5 * ((freqs - peak) / src.width_hz) ** 2)))
        spectra = np.fft.rfft(np.stack(kernels, axis=1), self.n_fft, axis=0)
        self._spectra = np.concatenate([np.repeat(spectra[:, :1], self.n_chans, axis=1), spectra[:, 1:]], axis=1)

        # Spatial smoothing of the background: each channel keeps unit variance.
        dist2 = np.sum((pos[:, None, :] - pos[None, :, :]) ** 2, axis=-1)
        mix = np.exp(-dist2 / (2 * 0.03 ** 2))
        mix[mix < 1e-6] = 0.0  # negligible far-field weights only cost time
        mix /= np.sqrt(np.sum(mix ** 2, axis=1, keepdims=True))
        level = traits.background_uv * session.background_gain
        self._background_mix = np.ascontiguousarray(level * mix.T)  # (n_chans in, n_chans out)

        # Rhythm topographies (peak RMS at the centre = amplitude * subject and session gains).
        topo = np.empty((n_src, self.n_chans))
        for i, src in enumerate(RHYTHM_SOURCES):
            centre = _site_centre(src.sites) + traits.source_shift_m[i]
            d2 = np.sum((pos - centre) ** 2, axis=1)
            weight = np.exp(-d2 / (2 * src.spread_m ** 2))
            weight[weight < 1e-6] = 0.0  # negligible far-field weights only cost time
            topo[i] = src.amplitude_uv * traits.source_gain[i] * session.source_gain[i] * weight
        self._topo = topo
        # Bilateral coupling: a coupled source's driving noise is sqrt(c) * partner + sqrt(1 - c) * own.
        names = [src.name for src in RHYTHM_SOURCES]
        self._coupled = [(self.n_chans + i, self.n_chans + names.index(src.partner), src.coupling)
                         for i, src in enumerate(RHYTHM_SOURCES) if src.partner is not None]
        self._effects_db = traits.reactivity * np.array([[s.valence_db, s.arousal_db] for s in RHYTHM_SOURCES])

        # Artifact topographies.
        table = _position_table()
        eye = table["FPZ"] + np.array([0.0, 0.015, -0.03])
        d_eye = np.linalg.norm(pos - eye, axis=1) - np.linalg.norm(table["FPZ"] - eye)
        self._blink_topo = np.minimum(np.exp(-d_eye / 0.03), 1.5)
        # Horizontal EOG: the eyes' dipoles project with opposite signs left and right, 1 at F8.
        d_from_eye = np.linalg.norm(pos - eye, axis=1) - np.linalg.norm(table["F8"] - eye)
        self.heog_topo = np.clip(pos[:, 0] / table["F8"][0] * np.exp(-d_from_eye / 0.04), -1.5, 1.5)
        self.saccade_len = max(2, int(round(0.03 * sfreq)))
        self._muscle_topo = np.stack([
            np.exp(-np.sum((pos - _site_centre(sites)) ** 2, axis=1) / (2 * 0.03 ** 2))
            for sites in (("T7", "FT7", "TP7"), ("T8", "FT8", "TP8"))
        ])
        self._traits = traits
        self._drift_knots: dict[int, np.ndarray] = {}

    def couple(self, white: np.ndarray) -> np.ndarray:
        """Mix each coupled source's driving noise with its partner's (in place; partners come first)."""
        for col, partner, c in self._coupled:
            white[:, col] = math.sqrt(c) * white[:, partner] + math.sqrt(1.0 - c) * white[:, col]
        return white

    def filter(self, hist: np.ndarray, white: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Overlap-save FIR filtering of one block; returns the filtered block and the new history."""
        x = np.concatenate([hist, white])
        y = np.fft.irfft(np.fft.rfft(x, self.n_fft, axis=0) * self._spectra, self.n_fft, axis=0)
        start = hist.shape[0]
        return y[start:start + white.shape[0]], x[-hist.shape[0]:]

    def background(self, filtered: np.ndarray) -> np.ndarray:
        return _matmul(np.ascontiguousarray(filtered[:, :self.n_chans]), self._background_mix)

    def rhythms(self, filtered: np.ndarray, va: np.ndarray, effect_scale: float) -> np.ndarray:
        gain_db = effect_scale * (va @ self._effects_db.T)  # (n, n_src)
        amp = 10.0 ** (gain_db / 20.0)
        return _matmul(filtered[:, self.n_chans:] * amp, self._topo)

    def add_blinks(self, carry: np.ndarray, rng: np.random.Generator, block: int, arousal: float) -> None:
        rate = self._traits.blink_rate_hz * math.exp(0.4 * arousal)
        n = rng.poisson(rate * block / self.sfreq)
        onsets = rng.integers(0, block, n)
        durations = rng.uniform(0.25, 0.45, n)
        sizes = self._traits.blink_uv * rng.uniform(0.7, 1.3, n)
        for onset, dur, size in zip(onsets, durations, sizes):
            length = max(2, int(round(dur * self.sfreq)))
            u = np.arange(length) / length
            wave = u ** 1.5 * (1.0 - u) ** 3
            wave *= size / wave.max()
            carry[onset:onset + length] += wave[:, None] * self._blink_topo

    def add_muscle(self, carry: np.ndarray, rng: np.random.Generator, block: int, arousal: float) -> None:
        rate = self._traits.muscle_rate_hz * math.exp(0.7 * arousal)
        n = rng.poisson(rate * block / self.sfreq)
        onsets = rng.integers(0, block, n)
        durations = rng.uniform(0.2, 1.2, n)
        sides = rng.integers(0, 3, n)  # 0 left, 1 right, 2 both
        sizes = self._traits.muscle_uv * rng.uniform(0.5, 1.5, n)
        smooth = max(1, int(round(self.sfreq / 300.0)))
        for onset, dur, side, size in zip(onsets, durations, sides, sizes):
            length = max(4, int(round(dur * self.sfreq)))
            noise = np.diff(rng.standard_normal((length + smooth, self.n_chans)), axis=0) / math.sqrt(2.0)
            if smooth > 1:
                kernel = np.ones(smooth) / math.sqrt(smooth)
                noise = np.apply_along_axis(np.convolve, 0, noise, kernel, mode="valid")
            noise = noise[:length]
            envelope = np.hanning(length + 2)[1:-1] * math.sqrt(2.0)
            topo = self._muscle_topo[side] if side < 2 else self._muscle_topo.max(axis=0)
            carry[onset:onset + length] += size * noise * envelope[:, None] * topo

    def line_noise(self, idx: np.ndarray, line_hz: float, st: SessionTraits) -> np.ndarray:
        cycles = np.mod(idx * (line_hz / self.sfreq), 1.0)[:, None]
        out = st.line_uv * np.sin(2 * np.pi * cycles + st.line_phase)
        if 3 * line_hz < self.sfreq / 2:
            cycles3 = np.mod(idx * (3 * line_hz / self.sfreq), 1.0)[:, None]
            out += 0.2 * st.line_uv * np.sin(2 * np.pi * cycles3 + 3 * st.line_phase)
        return out

    def drift(self, t: np.ndarray, seed: int, drift_uv: float) -> np.ndarray:
        pos = t / _DRIFT_KNOT_S
        k0 = int(math.floor(pos[0])) - 1
        k1 = int(math.floor(pos[-1])) + 2
        cache = self._drift_knots
        for k in [k for k in cache if k < k0]:
            del cache[k]
        for k in range(k0, k1 + 1):
            if k not in cache:
                cache[k] = _drift_knot(seed, k, self.n_chans)
        knots = np.stack([cache[k] for k in range(k0, k1 + 1)])  # (n_knots, n_chans)
        i = np.floor(pos).astype(int) - k0  # index of the knot at or before each time
        u = (pos - np.floor(pos))[:, None]
        p0, p1, p2, p3 = knots[i - 1], knots[i], knots[i + 1], knots[i + 2]
        # Catmull-Rom spline: C1-smooth, passes through the knots.
        out = 0.5 * (2 * p1 + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u ** 2
                     + (-p0 + 3 * p1 - 3 * p2 + p3) * u ** 3)
        return drift_uv * out


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` in row slices small enough that OpenBLAS stays single-threaded.

    Above ~262k multiply-adds OpenBLAS spreads a product over threads; for these small products that costs about
    three times the CPU on a busy machine (measured: 3.8 s vs 1.25 s of CPU for 10 min of 62-channel EEG), which
    matters in an acquisition thread beside other work.
    """
    k, n = b.shape
    rows = max(1, 200_000 // max(1, k * n))
    if a.shape[0] <= rows:
        return a @ b
    out = np.empty((a.shape[0], n))
    for i in range(0, a.shape[0], rows):
        np.matmul(a[i:i + rows], b, out=out[i:i + rows])
    return out


def _drift_knot(seed: int, k: int, n_chans: int) -> np.ndarray:
    rng = np.random.default_rng([_TAG_DRIFT, seed, k + 1_000_000])
    common = rng.standard_normal()
    return math.sqrt(0.5) * (common + rng.standard_normal(n_chans))


def _fir_from_response(amplitude: np.ndarray) -> np.ndarray:
    """Unit-energy, linear-phase FIR (Hann-windowed) with the given amplitude response on an rfft grid."""
    n_taps = 2 * (amplitude.shape[0] - 1)
    h = np.fft.fftshift(np.fft.irfft(amplitude, n_taps)) * np.hanning(n_taps)
    return h / np.sqrt(np.sum(h ** 2))
