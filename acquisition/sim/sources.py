"""The source/effect model of the simulated EEG: rhythm sources, their affect effects, subject and session traits.

:class:`~eegaffect.acquisition.sim.SimulatedEEG` produces multichannel EEG sample by sample
(``generate(n_samples)``) together with the valence/arousal value that drove each sample; this module holds what
the signal is made of.

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

How the signal is assembled from these parts, block by block, is in :mod:`~eegaffect.acquisition.sim.generator`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from eegaffect.acquisition.sim._common import _TAG_SESSION, _TAG_SUBJECT

__all__ = ["RhythmSource", "RHYTHM_SOURCES", "SubjectTraits", "SessionTraits"]


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
