"""The simulated EEG generator: :class:`SimulatedEEG` produces multichannel EEG sample by sample together with
the valence/arousal value that drove each sample.

It is what ``eegaffect simulate`` streams over LSL (through :class:`~eegaffect.acquisition.sim.SimulatedHeadset`)
and what ``eegaffect datasets synth-seed`` writes into the SEED layout. Pure NumPy (plus the packaged electrode
table), so it runs inside acquisition threads and stays light to import. The signal model (background, rhythm
sources and their affect effects, artifacts, subject and session traits) is described in
:mod:`~eegaffect.acquisition.sim.sources`.

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

Electrode positions come from the packaged table of :func:`~eegaffect.acquisition.channels.electrode_positions`
(MNE's 10-05 template plus SEED's CB1/CB2), or from ``ch_pos`` for channels the table lacks.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from eegaffect.acquisition.channels import SEED_CHANNELS, _position_table, electrode_positions
from eegaffect.acquisition.sim._common import (_TAG_BLINK, _TAG_BLOCK, _TAG_DRIFT, _TAG_INIT, _TAG_MUSCLE,
                                               _TAG_SACCADE, _check_seed, _check_va)
from eegaffect.acquisition.sim.sources import RHYTHM_SOURCES, SessionTraits, SubjectTraits
from eegaffect.acquisition.sim.trajectories import RandomWalkTrajectory

__all__ = ["SimulatedEEG"]

_MIN_SFREQ = 100.0
_DRIFT_KNOT_S = 5.0


class SimulatedEEG:
    """Streaming synthetic EEG driven by a valence/arousal trajectory (the model: :mod:`.sources`).

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


def _site_centre(sites: Sequence[str]) -> np.ndarray:
    table = _position_table()
    return np.mean([table[s] for s in sites], axis=0)

