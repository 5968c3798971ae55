"""The contract every physiological stage follows, and the causal signal-quality check they share.

A physiological signal (ECG, PPG/BVP, EDA, respiration, skin temperature, EMG) is one channel at its own rate. Its
stage is a :class:`PhysioStage`: causal and stateful, ``step(chunk)`` with carried state, ``process(x)`` the same
code over a whole recording, identical outputs on any chunking. A stage returns a :class:`StageOutput` per call:

- ``continuous``: per-sample outputs, shape ``(n_times, n_continuous)``, named by ``continuous_names`` (e.g. the
  cleaned signal, the instantaneous heart rate, EDA tonic/phasic, the EMG envelope), aligned sample for sample
  with the input (row ``i`` of a call belongs to the ``i``-th input sample of that call);
- ``events``: a structured array (dtype ``event_dtype``) of the events *decided* during this call, each with the
  absolute ``sample`` index (since the last reset) at which it happened. An event detector decides an event at most
  ``decision_delay`` samples after it happened, a fixed number documented per stage: the event at sample ``i`` is
  in the output of the call that delivers sample ``i + decision_delay`` (or earlier);
- ``quality``: per-sample bit flags (:data:`QUALITY_NAN`, :data:`QUALITY_FLAT`, :data:`QUALITY_CLIPPED`), so a
  disconnected electrode is reported, never turned into a heart rate.

Windowed features come from :meth:`PhysioStage.window_features`, a pure function of the events and continuous
outputs that fall in one window: it returns a :class:`WindowFeatures` whose values are NaN, each with a reason,
where the window is too short or too poor for a feature. Reasons are a small fixed vocabulary
(:data:`NAN_REASONS`), so counting them over a recording gives a few keys per feature; the numbers behind a reason
(the window's length, how many beats it held) go to the ``eegaffect`` logger at debug level.
The frame clock (which windows) is not the stage's business: the pipeline asks for the same window ends as the EEG
pipeline's frames.
"""

from __future__ import annotations

import abc
import importlib
from typing import ClassVar, NamedTuple

import numpy as np

from ._checks import check_positive
from ._jit import jit

__all__ = ["QUALITY_NAN", "QUALITY_FLAT", "QUALITY_CLIPPED", "QUALITY_NAMES", "REASON_FLAGGED",
           "REASON_FEW_SAMPLES", "REASON_SHORT_WINDOW", "REASON_FEW_BEATS", "REASON_FEW_BREATHS",
           "REASON_NO_VARIATION", "REASON_NO_HF_POWER", "NAN_REASONS", "StageOutput", "WindowFeatures",
           "PhysioStage", "SignalQuality", "STAGE_MODULES", "stage_class", "quality_names", "warmup"]

#: Quality flag: the sample is NaN or infinite (missing data, a dropped packet written as NaN).
QUALITY_NAN = np.uint8(1)
#: Quality flag: the sample belongs to a flat line at least ``flat_s`` long (a disconnected electrode or sensor).
QUALITY_FLAT = np.uint8(2)
#: Quality flag: the sample is at or beyond the sensor's range (clipping / amplifier saturation).
QUALITY_CLIPPED = np.uint8(4)
#: Flag bit -> name, for reports.
QUALITY_NAMES = {int(QUALITY_NAN): "nan", int(QUALITY_FLAT): "flat", int(QUALITY_CLIPPED): "clipped"}

#: NaN reason: more of the window than the stage allows is flagged (nan/flat/clipped), or the window is empty.
REASON_FLAGGED = "signal flagged (nan/flat/clipped)"
#: NaN reason: too few valid (unflagged, finite) samples for the feature, e.g. too short a span for a slope.
REASON_FEW_SAMPLES = "too few valid samples"
#: NaN reason: the window is shorter than the feature needs (e.g. two cycles of a band's lower edge).
REASON_SHORT_WINDOW = "window too short"
#: NaN reason: too few heart beats (intervals) in the window.
REASON_FEW_BEATS = "too few beats"
#: NaN reason: too few breaths in the window.
REASON_FEW_BREATHS = "too few breaths"
#: NaN reason: the values the feature is computed from do not vary (e.g. identical intervals for a spectrum).
REASON_NO_VARIATION = "no variation"
#: NaN reason: a ratio's denominator, the HRV high-frequency power, is zero.
REASON_NO_HF_POWER = "no HF power"
#: Every NaN reason a stage of this package gives (``WindowFeatures.reasons`` holds these or ``None``).
NAN_REASONS = (REASON_FLAGGED, REASON_FEW_SAMPLES, REASON_SHORT_WINDOW, REASON_FEW_BEATS, REASON_FEW_BREATHS,
               REASON_NO_VARIATION, REASON_NO_HF_POWER)

#: Signal kind -> kernel module (relative to this package) that defines its stage class.
STAGE_MODULES: dict[str, str] = {
    "ecg": "heart",
    "ppg": "heart",
    "eda": "eda",
    "resp": "respiration",
    "temp": "temperature",
    "emg": "emg",
}


class StageOutput(NamedTuple):
    """What one call of :meth:`PhysioStage.step` returns.

    Attributes
    ----------
    continuous : ndarray, shape (n_times, n_continuous)
        Per-sample outputs (float64), one row per input sample of the call.
    events : ndarray, shape (n_events,)
        Structured array of the events decided in this call (dtype: the stage's ``event_dtype``; field ``sample``,
        int64, is the absolute sample index of each event).
    quality : ndarray, shape (n_times,)
        uint8 bit flags per input sample (0 = good).
    """

    continuous: np.ndarray
    events: np.ndarray
    quality: np.ndarray


class WindowFeatures(NamedTuple):
    """Features of one window.

    Attributes
    ----------
    values : ndarray, shape (n_features,)
        float64, NaN where a feature cannot be computed.
    reasons : tuple of (str or None)
        One per feature: ``None`` when the value is valid, else why it is NaN, one of :data:`NAN_REASONS`
        (e.g. ``"too few beats"``).
    """

    values: np.ndarray
    reasons: tuple


class PhysioStage(abc.ABC):
    """A causal, stateful processing stage for one physiological channel.

    Parameters
    ----------
    sfreq : float
        Sampling rate of the input in Hz.

    Notes
    -----
    Subclasses set the class attributes and implement :meth:`_step`, :meth:`reset` and :meth:`window_features`;
    :meth:`step` validates the chunk, and :meth:`process` is ``reset()`` then one ``step``.
    """

    #: Signal kind, one of :data:`STAGE_MODULES`.
    kind: ClassVar[str]
    #: Names of the columns of ``StageOutput.continuous``.
    continuous_names: ClassVar[tuple[str, ...]]
    #: Structured dtype of the events (must have an int64 field ``sample``).
    event_dtype: ClassVar[np.dtype]
    #: Name written in the ``type`` column of an events table for this stage's events (e.g. ``"beat"``).
    event_type: ClassVar[str]
    #: Names of the values returned by :meth:`window_features`.
    feature_names: ClassVar[tuple[str, ...]]

    def __init__(self, sfreq: float):
        self.sfreq = check_positive(sfreq, "sfreq")

    @property
    def decision_delay(self) -> int:
        """Samples after an event's own sample by which the event is decided (0 for stages without events)."""
        return 0

    @property
    def decision_delay_s(self) -> float:
        """:attr:`decision_delay` in seconds."""
        return self.decision_delay / self.sfreq

    def step(self, chunk) -> StageOutput:
        """Process the next chunk of the stream.

        Parameters
        ----------
        chunk : array-like, shape (n_times,) or (n_times, 1)
            The next samples (any real dtype; converted to float64). NaN marks missing samples. An empty chunk is
            allowed.

        Returns
        -------
        out : StageOutput
            Continuous outputs for these samples, events decided now, and quality flags.
        """
        return self._step(check_signal(chunk, type(self).__name__))

    def process(self, x) -> StageOutput:
        """Reset and run the stage over a whole recording (identical to concatenated :meth:`step` outputs)."""
        self.reset()
        return self.step(x)

    @abc.abstractmethod
    def reset(self) -> "PhysioStage":
        """Forget all state (the next sample is sample 0)."""

    @abc.abstractmethod
    def _step(self, x: np.ndarray) -> StageOutput:
        """Process validated float64 samples of shape (n_times,)."""

    @abc.abstractmethod
    def window_features(self, events: np.ndarray, continuous: np.ndarray, quality: np.ndarray,
                        start: int, stop: int) -> WindowFeatures:
        """Features of the window of samples ``[start, stop)``.

        Parameters
        ----------
        events : ndarray, shape (n_events,)
            Events (``event_dtype``) whose ``sample`` lies in ``[start, stop)``.
        continuous : ndarray, shape (stop - start, n_continuous)
            Continuous outputs of the window's samples.
        quality : ndarray, shape (stop - start,)
            Quality flags of the window's samples.
        start, stop : int
            Absolute sample indices of the window.

        Returns
        -------
        features : WindowFeatures
            ``len(feature_names)`` values, NaN with a reason of :data:`NAN_REASONS` where a feature cannot be
            computed.
        """


def check_signal(chunk, what: str) -> np.ndarray:
    """Return ``chunk`` as a C-contiguous float64 array of shape (n_times,).

    Accepts shape ``(n_times,)`` or ``(n_times, 1)``; NaN and inf are allowed (they are flagged, not rejected).
    """
    arr = np.asarray(chunk)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{what}: expected one channel, shape (n_times,) or (n_times, 1), got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def stage_class(kind: str) -> type[PhysioStage]:
    """The stage class of a signal kind (``"ecg"``, ``"ppg"``, ``"eda"``, ``"resp"``, ``"temp"``, ``"emg"``)."""
    if kind not in STAGE_MODULES:
        raise ValueError(f"unknown physiological signal kind {kind!r}; expected one of {sorted(STAGE_MODULES)}")
    module = importlib.import_module(f"{__package__}.{STAGE_MODULES[kind]}")
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, PhysioStage) and not getattr(obj, "__abstractmethods__", None) \
                and getattr(obj, "kind", None) == kind:
            return obj
    raise LookupError(f"module {module.__name__} defines no PhysioStage for kind {kind!r}")


def quality_names(flags: int) -> list[str]:
    """Names of the bits set in ``flags`` (e.g. ``["nan", "flat"]``)."""
    return [name for bit, name in QUALITY_NAMES.items() if int(flags) & bit]


@jit
def _quality_kernel(x, lo, hi, flat_len, eps, state, out):  # pragma: no cover - compiled
    # state: [previous value, current run length of |dx| <= eps, run already flagged (0/1)]
    prev = state[0]
    run = state[1]
    for i in range(x.shape[0]):
        v = x[i]
        flag = np.uint8(0)
        if not np.isfinite(v):
            flag |= QUALITY_NAN
            run = 0.0
            prev = np.nan
        else:
            if v <= lo or v >= hi:
                flag |= QUALITY_CLIPPED
            if np.isfinite(prev) and abs(v - prev) <= eps:
                run += 1.0
            else:
                run = 0.0
            prev = v
            if run + 1.0 >= flat_len:
                flag |= QUALITY_FLAT
        out[i] = flag
    state[0] = prev
    state[1] = run


class SignalQuality:
    """Causal per-sample quality flags: NaN/inf, flat line, clipping.

    A flat line is a run of at least ``flat_s`` seconds in which consecutive samples differ by at most ``eps``;
    the flag is set from the sample that completes the run onwards (causal: the run's earlier samples were already
    emitted unflagged, and the pipeline's windows see the flag from the moment the run is long enough). Clipping
    is a sample at or beyond ``[low, high]`` (the sensor's range; ``None`` = unbounded).

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    flat_s : float
        Shortest flat run, in seconds, that counts as a flat line.
    eps : float
        Largest sample-to-sample change that counts as flat.
    low, high : float or None
        Sensor range; samples at or beyond it are flagged as clipped.
    """

    def __init__(self, sfreq: float, flat_s: float = 1.0, eps: float = 0.0, low: float | None = None,
                 high: float | None = None):
        self.sfreq = check_positive(sfreq, "sfreq")
        self.flat_len = max(2, int(round(check_positive(flat_s, "flat_s") * self.sfreq)))
        if not np.isfinite(eps) or eps < 0:
            raise ValueError(f"eps must be a finite number >= 0, got {eps}")
        self.eps = float(eps)
        self.low = -np.inf if low is None else float(low)
        self.high = np.inf if high is None else float(high)
        if not self.low < self.high:
            raise ValueError(f"sensor range must satisfy low < high, got low={low}, high={high}")
        self._state = np.empty(2)
        self.reset()

    def reset(self) -> "SignalQuality":
        """Forget the previous sample and the current flat run."""
        self._state[:] = (np.nan, 0.0)
        return self

    def step(self, x) -> np.ndarray:
        """Flags of the next samples.

        Parameters
        ----------
        x : ndarray, shape (n_times,)
            float64 samples.

        Returns
        -------
        flags : ndarray of uint8, shape (n_times,)
        """
        x = check_signal(x, "SignalQuality")
        out = np.empty(x.shape[0], dtype=np.uint8)
        _quality_kernel(x, self.low, self.high, float(self.flat_len), self.eps, self._state, out)
        return out


def warmup() -> None:
    """Compile the quality kernel."""
    SignalQuality(100.0).step(np.array([0.0, 1.0, np.nan, 1.0]))
