"""Synthetic peripheral physiology driven by a valence/arousal trajectory (the simulator's physiological side).

:func:`simulate_physiology` generates ECG, PPG, EDA, respiration, skin temperature, EMG (zygomaticus, trapezius),
EOG and acceleration at any rates, for one stretch of time, from the same kind of trajectory that drives
:class:`~eegaffect.acquisition.simulator.SimulatedEEG` (``times_s -> (n, 2)`` valence/arousal in [-1, 1]). It is
what ``eegaffect datasets synth-deap | synth-amigos | synth-wesad`` write beside the simulated EEG. Pure NumPy.

Signal model
------------
- **Heart**: instantaneous heart rate ``HR(t) = HR0 + dHR * arousal`` plus respiratory sinus arrhythmia (in phase
  with the breathing signal), a 0.1-Hz Mayer wave and a slow random walk; beats are the integer crossings of the
  integrated rate. The ECG is a sum of five Gaussian waves per beat (P, Q, R, S, T) at the angles and relative
  amplitudes of ECGSYN (McSharry et al. 2003), scaled to an R wave of ~1 mV, plus baseline wander and noise (mV).
  The PPG is a systolic and a dicrotic Gaussian per beat, 0.25 s after the R wave (pulse transit time), a.u.
- **EDA** (uS): tonic level ``SCL0 + dSCL * arousal`` with a slow drift, plus skin-conductance responses as a
  Poisson process of rate ``r0 * exp(k * arousal)`` with bi-exponential shapes (rise 0.7 s, decay 3 s,
  log-normal amplitudes ~0.2 uS).
- **Respiration** (a.u.): a sinusoid-like belt signal whose rate is ``f0 + df * arousal`` (breaths per minute),
  with breath-to-breath amplitude and rate variability.
- **Skin temperature** (degC): ``T0`` minus a slow (60-s time constant) drop with arousal (peripheral
  vasoconstriction), plus drift and sensor noise.
- **EMG** (a.u. / mV): band-limited noise whose amplitude envelope is ``A0 * exp(k * x)``: zygomaticus with
  positive valence only (``x = max(valence, 0)``), trapezius with arousal (muscle tone).
- **EOG**: slow gaze drift and blinks (a.u.); **ACC**: gravity on z plus small movement noise (g).

Affect couplings (per unit of valence/arousal in [-1, 1], before the subject's reactivity 0.6-1.4 and
``effect_scale``; ``effect_scale=0`` removes every dependence on the trajectory: a null control)

======================  =====================  ==========================================================
signal                  effect                 source
======================  =====================  ==========================================================
heart rate              +6 bpm per arousal     Kreibig 2010 (review: HR rises in most high-arousal
                                               emotions); Bradley & Lang 2000
SCR rate                x exp(0.9 * arousal)   Boucsein 2012; Dawson, Schell & Filion 2007 (1-3
                        (base 2/min)           non-specific SCRs/min at rest, more when aroused)
skin-conductance level  +1.0 uS per arousal    Boucsein 2012; Kreibig 2010
respiration rate        +3 breaths/min per     Boiten, Frijda & Wientjes 1994; Kreibig 2010
                        arousal (base 15)
skin temperature        -0.4 degC per arousal  Kistler, Mariauzouls & von Berlepsch 1998; Vinkers et al.
                        (60-s lag)             2013 (stress lowers finger temperature)
trapezius EMG           x exp(0.5 * arousal)   Lundberg et al. 1994 (mental stress raises trapezius tone)
zygomaticus EMG         x exp(1.2 * valence+)  Larsen, Norris & Cacioppo 2003; Cacioppo et al. 1986
                                               (zygomaticus tracks positive valence)
======================  =====================  ==========================================================

The sizes sit at the upper end of reported effects so that short synthetic datasets are learnable (as for the EEG
table of the simulator). Subject traits (resting HR 60-80 bpm, SCL 2-8 uS, breathing 12-18/min, skin temperature
31-34 degC, EMG levels, reactivity) come from ``subject``; the noise from ``seed``: the same arguments give the
same signals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

__all__ = ["PhysioTraits", "PHYSIO_SIGNALS", "PHYSIO_EFFECTS", "simulate_physiology"]

#: Signals :func:`simulate_physiology` can generate -> (channels, unit).
PHYSIO_SIGNALS: dict[str, tuple[int, str]] = {
    "ecg": (1, "mV"), "ppg": (1, "a.u."), "eda": (1, "uS"), "resp": (1, "a.u."), "temp": (1, "degC"),
    "emg_zygomaticus": (1, "a.u."), "emg_trapezius": (1, "a.u."), "eog": (2, "a.u."), "acc": (3, "g"),
}
#: Coupling per unit valence/arousal (see the module docstring).
PHYSIO_EFFECTS: dict[str, float] = {
    "hr_bpm_per_arousal": 6.0, "scr_log_rate_per_arousal": 0.9, "scl_us_per_arousal": 1.0,
    "resp_bpm_per_arousal": 3.0, "temp_c_per_arousal": -0.4, "trapezius_log_per_arousal": 0.5,
    "zygomaticus_log_per_valence": 1.2,
}
_CONTROL_HZ = 32.0  # slow signals (rates, levels) are built on this grid and interpolated
# ECGSYN (McSharry et al. 2003): angle (rad), amplitude, width (rad) of P, Q, R, S, T
_ECG_WAVES = np.array([[-np.pi / 3, 1.2, 0.25], [-np.pi / 12, -5.0, 0.1], [0.0, 30.0, 0.1],
                       [np.pi / 12, -7.5, 0.1], [np.pi / 2, 0.75, 0.4]])
_TAG_TRAITS, _TAG_NOISE = 201, 202


@dataclass(frozen=True)
class PhysioTraits:
    """A simulated person's physiology (drawn from ``subject``)."""

    hr0: float
    scl0: float
    scr_rate0: float
    resp_bpm0: float
    temp0: float
    zygomaticus0: float
    trapezius0: float
    reactivity: float

    @classmethod
    def draw(cls, subject: int) -> "PhysioTraits":
        """Traits of subject ``subject`` (deterministic)."""
        rng = np.random.default_rng([_TAG_TRAITS, int(subject)])
        return cls(hr0=float(rng.uniform(60, 80)), scl0=float(rng.uniform(2, 8)),
                   scr_rate0=float(rng.uniform(1.5, 3.0)), resp_bpm0=float(rng.uniform(12, 18)),
                   temp0=float(rng.uniform(31, 34)), zygomaticus0=float(rng.uniform(2, 6)),
                   trapezius0=float(rng.uniform(3, 8)), reactivity=float(rng.uniform(0.6, 1.4)))


def simulate_physiology(signals: Mapping[str, float], duration_s: float,
                        trajectory: Callable[[np.ndarray], np.ndarray], *, seed: int = 0, subject: int | None = None,
                        effect_scale: float = 1.0, t0_s: float = 0.0) -> dict[str, np.ndarray]:
    """Generate peripheral signals for ``duration_s`` seconds of a valence/arousal trajectory.

    Parameters
    ----------
    signals : mapping of str to float
        Signal name (a key of :data:`PHYSIO_SIGNALS`) -> sampling rate in Hz.
    duration_s : float
        Length in seconds; signal ``k`` gets ``round(duration_s * fs_k)`` samples.
    trajectory : callable
        ``times_s (n,) -> (n, 2)`` valence/arousal in [-1, 1] (e.g. a simulator
        :class:`~eegaffect.acquisition.simulator.Trajectory`); evaluated at ``t0_s + t``.
    seed : int
        Seed of the noise and events.
    subject : int | None
        Seed of the person (:class:`PhysioTraits`); None uses ``seed``.
    effect_scale : float
        Factor on every affect coupling (0 = no affect information: a null control).
    t0_s : float
        Trajectory time of the first sample.

    Returns
    -------
    out : dict of str to ndarray, shape (n_times_k, n_chans_k)
        float64 per requested signal, in the units of :data:`PHYSIO_SIGNALS`.
    """
    unknown = sorted(set(signals) - set(PHYSIO_SIGNALS))
    if unknown:
        raise ValueError(f"unknown signal(s) {unknown}; expected some of {sorted(PHYSIO_SIGNALS)}")
    rates = {k: float(v) for k, v in signals.items()}
    bad = {k: v for k, v in rates.items() if not (np.isfinite(v) and v > 0)}
    if bad:
        raise ValueError(f"sampling rates must be positive, got {bad}")
    if not (np.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s must be positive, got {duration_s!r}")
    if not callable(trajectory):
        raise TypeError(f"trajectory must be callable (times_s -> (n, 2)), got {type(trajectory).__name__}")
    if not np.isfinite(effect_scale) or effect_scale < 0:
        raise ValueError(f"effect_scale must be finite and >= 0, got {effect_scale!r}")
    traits = PhysioTraits.draw(seed if subject is None else subject)
    return _Generator(rates, float(duration_s), trajectory, int(seed), traits, float(effect_scale),
                      float(t0_s)).run()


class _Generator:
    def __init__(self, rates, duration, trajectory, seed, traits: PhysioTraits, effect_scale, t0):
        self.rates, self.duration, self.seed, self.traits, self.t0 = rates, duration, seed, traits, t0
        self.gain = effect_scale * traits.reactivity
        n_ctrl = int(np.ceil(duration * _CONTROL_HZ)) + 2
        self.tc = np.arange(n_ctrl) / _CONTROL_HZ
        va = np.asarray(trajectory(t0 + self.tc), dtype=np.float64).reshape(n_ctrl, 2)
        self.valence, self.arousal = np.clip(va[:, 0], -1, 1), np.clip(va[:, 1], -1, 1)
        self.resp_phase_c = self._resp_phase_control()

    def rng(self, tag: int) -> np.random.Generator:
        return np.random.default_rng([_TAG_NOISE, self.seed, tag])

    def times(self, fs: float) -> np.ndarray:
        return np.arange(int(round(self.duration * fs))) / fs

    def ctrl(self, values: np.ndarray, t: np.ndarray) -> np.ndarray:
        return np.interp(t, self.tc, values)

    def run(self) -> dict[str, np.ndarray]:
        out = {}
        for name, fs in self.rates.items():
            out[name] = np.ascontiguousarray(getattr(self, "_" + name)(fs)).reshape(-1, PHYSIO_SIGNALS[name][0])
        return out

    # -- slow drivers on the control grid ------------------------------------------------------------------------
    def _walk(self, tag: int, sd: float, tau_s: float) -> np.ndarray:
        """Ornstein-Uhlenbeck noise on the control grid, stationary SD ``sd``, time constant ``tau_s``."""
        rng = self.rng(tag)
        a = np.exp(-1 / (_CONTROL_HZ * tau_s))
        e = rng.standard_normal(self.tc.size) * sd * np.sqrt(1 - a * a)
        x = np.empty_like(e)
        x[0] = rng.standard_normal() * sd
        for i in range(1, e.size):  # n = 32 * duration: cheap
            x[i] = a * x[i - 1] + e[i]
        return x

    def _resp_phase_control(self) -> np.ndarray:
        bpm = self.traits.resp_bpm0 + PHYSIO_EFFECTS["resp_bpm_per_arousal"] * self.gain * self.arousal
        bpm = np.clip(bpm + self._walk(1, 1.0, 20.0), 6, 40)
        return np.cumsum(bpm / 60.0 / _CONTROL_HZ)

    def _beat_phase(self, t: np.ndarray) -> np.ndarray:
        hr = self.traits.hr0 + PHYSIO_EFFECTS["hr_bpm_per_arousal"] * self.gain * self.arousal
        hr = hr + self._walk(2, 2.0, 30.0) + 1.5 * np.sin(2 * np.pi * 0.1 * self.tc)  # slow HRV, Mayer wave
        hr = hr + 3.0 * np.sin(2 * np.pi * self.resp_phase_c)  # respiratory sinus arrhythmia
        phase_c = np.concatenate([[0.0], np.cumsum(np.clip(hr, 40, 180)[:-1] / 60.0 / _CONTROL_HZ)])
        return self.ctrl(phase_c, t) + self.rng(3).uniform()

    # -- signals -----------------------------------------------------------------------------------------------
    def _ecg(self, fs: float) -> np.ndarray:
        t = self.times(fs)
        theta = 2 * np.pi * (self._beat_phase(t) % 1.0)
        theta = np.where(theta > np.pi, theta - 2 * np.pi, theta)
        z = np.zeros_like(t)
        for angle, amp, width in _ECG_WAVES:
            d = np.angle(np.exp(1j * (theta - angle)))
            z += amp * np.exp(-d * d / (2 * width * width))
        rng = self.rng(4)
        wander = 0.05 * np.sin(2 * np.pi * self.ctrl(self.resp_phase_c, t))
        return z / 30.0 + wander + 0.02 * rng.standard_normal(t.size)

    def _ppg(self, fs: float) -> np.ndarray:
        t = self.times(fs)
        phi = self._beat_phase(t - 0.25) % 1.0
        wave = np.exp(-((phi - 0.2) / 0.08) ** 2 / 2) + 0.4 * np.exp(-((phi - 0.45) / 0.1) ** 2 / 2)
        rng = self.rng(5)
        return 100.0 * wave + 5 * np.sin(2 * np.pi * self.ctrl(self.resp_phase_c, t)) + rng.standard_normal(t.size)

    def _eda(self, fs: float) -> np.ndarray:
        rng = self.rng(6)
        dt = 1 / _CONTROL_HZ
        rate = self.traits.scr_rate0 / 60.0 * np.exp(PHYSIO_EFFECTS["scr_log_rate_per_arousal"] * self.gain
                                                     * self.arousal)
        events = rng.uniform(size=self.tc.size) < rate * dt
        amps = np.where(events, rng.lognormal(np.log(0.2), 0.5, self.tc.size), 0.0)
        k = np.arange(int(20 * _CONTROL_HZ)) * dt
        kernel = np.exp(-k / 3.0) - np.exp(-k / 0.7)
        kernel /= kernel.max()
        n = self.tc.size + kernel.size
        phasic = np.fft.irfft(np.fft.rfft(amps, n) * np.fft.rfft(kernel, n), n)[:self.tc.size]
        tonic = self.traits.scl0 + PHYSIO_EFFECTS["scl_us_per_arousal"] * self.gain * _lag(self.arousal, 10.0)
        tonic = tonic + _lag(self._walk(7, 0.3, 60.0), 5.0)  # slow drift, no fast wiggles that look like SCRs
        t = self.times(fs)
        return np.maximum(self.ctrl(tonic + phasic, t), 0.05) + 0.005 * self.rng(8).standard_normal(t.size)

    def _resp(self, fs: float) -> np.ndarray:
        t = self.times(fs)
        amp = 1.0 + self._walk(9, 0.15, 5.0)
        phase = self.ctrl(self.resp_phase_c, t)
        return self.ctrl(amp, t) * np.sin(2 * np.pi * phase) + 0.05 * self.rng(10).standard_normal(t.size)

    def _temp(self, fs: float) -> np.ndarray:
        t = self.times(fs)
        level = self.traits.temp0 + PHYSIO_EFFECTS["temp_c_per_arousal"] * self.gain * _lag(self.arousal, 60.0)
        level = level + self._walk(11, 0.1, 120.0)
        return self.ctrl(level, t) + 0.01 * self.rng(12).standard_normal(t.size)

    def _emg(self, fs: float, base: float, drive: np.ndarray, tag: int) -> np.ndarray:
        t = self.times(fs)
        env = base * np.exp(drive * self.gain + self._walk(tag, 0.15, 2.0))
        noise = np.diff(self.rng(tag + 1).standard_normal(t.size + 1))  # high-pass: EMG is broadband, no DC
        return self.ctrl(env, t) * noise

    def _emg_zygomaticus(self, fs: float) -> np.ndarray:
        drive = PHYSIO_EFFECTS["zygomaticus_log_per_valence"] * np.maximum(self.valence, 0.0)
        return self._emg(fs, self.traits.zygomaticus0, drive, 13)

    def _emg_trapezius(self, fs: float) -> np.ndarray:
        drive = PHYSIO_EFFECTS["trapezius_log_per_arousal"] * self.arousal
        return self._emg(fs, self.traits.trapezius0, drive, 15)

    def _eog(self, fs: float) -> np.ndarray:
        t = self.times(fs)
        rng = self.rng(17)
        gaze = self.ctrl(self._walk(18, 30.0, 3.0), t)
        blinks = np.zeros(t.size)
        onsets = np.flatnonzero(rng.uniform(size=t.size) < 0.3 / fs)
        width = max(1, int(0.3 * fs))
        shape = np.sin(np.linspace(0, np.pi, width)) * 150.0
        for i in onsets:
            blinks[i:i + width] += shape[:t.size - i]
        return np.column_stack([gaze, blinks + 0.2 * gaze]) + 2.0 * rng.standard_normal((t.size, 2))

    def _acc(self, fs: float) -> np.ndarray:
        t = self.times(fs)
        rng = self.rng(19)
        acc = 0.02 * rng.standard_normal((t.size, 3))
        acc[:, 2] += 1.0
        return acc


def _lag(x: np.ndarray, tau_s: float) -> np.ndarray:
    """First-order low-pass (time constant ``tau_s``) on the control grid, started at the first value."""
    a = np.exp(-1 / (_CONTROL_HZ * tau_s))
    y = np.empty_like(x)
    y[0] = x[0]
    for i in range(1, x.size):
        y[i] = a * y[i - 1] + (1 - a) * x[i]
    return y
