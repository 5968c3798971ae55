"""The signal path shared by the live session, dataset featurisation and the demo: its configuration
(:class:`PipelineConfig`) and the object that runs it (:class:`SignalPipeline`).

The path is: (resample to ``sfreq``) -> band-pass / notch filters -> filter bank -> windowed band features
(differential entropy, band power or SEED-style PSD-DE) -> optional LDS smoothing. Every stage is a stateful
kernel object from :mod:`eegaffect.kernels` with ``step(chunk)``, so the same code runs live and offline.

Examples
--------
>>> pipe = SignalPipeline(PipelineConfig(), n_chans=62, sfreq_in=1000.0)
>>> frames = pipe.step(chunk)  # chunk: (n_times, 62) at 1 kHz -> (n_windows, 62, 5)  # doctest: +SKIP
>>> features = SignalPipeline(PipelineConfig(), n_chans=62).process(recording)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import numbers
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from eegaffect.config import ConfigModel

__all__ = ["BandConfig", "FilterConfig", "FeatureConfig", "PipelineConfig", "DEFAULT_BANDS", "SignalPipeline",
           "frame_times", "window_hop", "window_hop_samples"]


class BandConfig(ConfigModel):
    """One frequency band, ``[low_hz, high_hz]``."""

    name: str
    low_hz: float = Field(gt=0)
    high_hz: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "BandConfig":
        if self.low_hz >= self.high_hz:
            raise ValueError(f"band {self.name!r}: low_hz must be below high_hz, got {self.low_hz} >= {self.high_hz}")
        return self


#: The five EEG bands used by default (Hz): delta 1-4, theta 4-8, alpha 8-14, beta 14-31, gamma 31-50.
DEFAULT_BANDS = [
    BandConfig(name="delta", low_hz=1.0, high_hz=4.0),
    BandConfig(name="theta", low_hz=4.0, high_hz=8.0),
    BandConfig(name="alpha", low_hz=8.0, high_hz=14.0),
    BandConfig(name="beta", low_hz=14.0, high_hz=31.0),
    BandConfig(name="gamma", low_hz=31.0, high_hz=50.0),
]


class FilterConfig(ConfigModel):
    """Causal pre-filtering: Butterworth band-pass (either edge may be off) and a notch at the line frequency."""

    highpass_hz: float | None = Field(0.5, gt=0, description="high-pass edge in Hz; null disables")
    lowpass_hz: float | None = Field(75.0, gt=0, description="low-pass edge in Hz; null disables")
    order: int = Field(4, ge=1, le=12, description="Butterworth order")
    line_hz: float | None = Field(50.0, gt=0, description="line frequency for the notch; null disables")
    notch_harmonics: int = Field(1, ge=1, le=10, description="number of line harmonics notched (1 = fundamental)")
    notch_q: float = Field(30.0, gt=0, description="quality factor of each notch")
    init: Literal["zeros", "steady"] = Field("steady", description="initial filter state")


class FeatureConfig(ConfigModel):
    """Windowed band features computed per channel and band."""

    kind: Literal["de", "band_power", "psd_de"] = "de"
    bands: list[BandConfig] = Field(default_factory=lambda: [b.model_copy() for b in DEFAULT_BANDS], min_length=1)
    filter_order: int = Field(4, ge=1, le=12, description="Butterworth order of each filter-bank band")
    window_s: float = Field(1.0, gt=0)
    hop_s: float = Field(1.0, gt=0)
    smoothing: Literal["none", "kalman", "rts"] = Field("none", description="LDS smoothing of feature sequences")
    smoothing_process_var: float = Field(0.01, gt=0, description="LDS: variance of a feature's step per window")
    smoothing_obs_var: float = Field(1.0, gt=0, description="LDS: observation noise variance (smaller ratio: smoother)")
    standardize: Literal["none", "ems"] = Field(
        "none", description="causal per-session standardisation of the feature frames: none or ems "
                            "(exponential moving standardisation of every channel x band feature)")
    standardize_factor_new: float = Field(1.0 / 60.0, gt=0, le=1,
                                          description="ems: weight of the newest frame in the moving mean/variance")
    standardize_init_frames: int = Field(
        0, ge=0, description="ems: first frames standardised as one block with their own mean/std; they are held "
                             "back until the block is complete (0 = none: output from the first frame)")


class PipelineConfig(ConfigModel):
    """The whole signal path."""

    sfreq: float = Field(200.0, gt=0, description="processing rate in Hz (input is resampled to it)")
    filters: FilterConfig = Field(default_factory=FilterConfig)
    features: FeatureConfig = Field(default_factory=FeatureConfig)

    @model_validator(mode="after")
    def _below_nyquist(self) -> "PipelineConfig":
        nyq = self.sfreq / 2
        for band in self.features.bands:
            if band.high_hz >= nyq:
                raise ValueError(f"band {band.name!r} reaches {band.high_hz} Hz, at or above Nyquist ({nyq} Hz)")
        if self.filters.lowpass_hz is not None and self.filters.lowpass_hz >= nyq:
            raise ValueError(f"filters.lowpass_hz {self.filters.lowpass_hz} must be below Nyquist ({nyq} Hz)")
        return self


class SignalPipeline:
    """The signal path of one stream: (resample) -> band-pass/notch -> band features -> (LDS smoothing).

    Every stage is a stateful kernel object, so :meth:`step` processes a live stream chunk by chunk and
    :meth:`process` runs the very same stages over a whole recording: for any chunking, the concatenated
    outputs of :meth:`step` equal :meth:`process` of the concatenated input.

    Parameters
    ----------
    config : PipelineConfig
        The signal path (``sfreq``, ``filters``, ``features``).
    n_chans : int
        Number of channels of the input.
    sfreq_in : float | None
        Rate of the input in Hz; when it differs from ``config.sfreq`` a causal
        :class:`~eegaffect.kernels.resample.StreamingResampler` converts it first. ``None`` means the input is
        already at ``config.sfreq``.

    Notes
    -----
    Stages, in order:

    1. resampling ``sfreq_in -> config.sfreq`` (only when the rates differ; it delays the signal by the
       resampler's ``delay_samples``);
    2. :class:`~eegaffect.kernels.filtering.SOSFilter` with a Butterworth band-pass (``highpass_hz`` to
       ``lowpass_hz``; a high- or low-pass when one edge is ``null``) and a notch at ``line_hz`` and its
       harmonics below Nyquist (skipped when ``line_hz`` is ``null`` or not below Nyquist), initial state
       ``filters.init``; no filter when everything is off;
    3. windowed band features of ``features.kind``: ``"de"`` / ``"band_power"`` through
       :class:`~eegaffect.kernels.features.BandFeatures` (band-pass filter bank of ``filter_order``, initial state
       ``filters.init``), ``"psd_de"`` through :class:`~eegaffect.kernels.features.PSDFeatures` (SEED's Hann
       window, FFT of the window length); ``window = round(window_s * sfreq)``, ``hop = round(hop_s * sfreq)``
       samples at ``config.sfreq``; window ``k`` covers samples ``[k * hop, k * hop + window)`` of the
       (resampled) stream;
    4. smoothing of every (channel, band) feature sequence: ``"kalman"`` with
       :class:`~eegaffect.kernels.smoothing.KalmanSmoother` (causal, live and offline), ``"rts"`` with
       :func:`~eegaffect.kernels.smoothing.rts_smooth` (uses future windows, so only :meth:`process` allows it),
       both with ``smoothing_process_var`` / ``smoothing_obs_var`` and a diffuse prior;
    5. standardisation (``features.standardize="ems"``): every (channel, band) feature sequence, after smoothing,
       through :class:`~eegaffect.kernels.standardize.ExponentialMovingStandardizer` (causal exponential moving
       mean/variance, weight ``standardize_factor_new`` per frame), removing per-session offsets and scales.
       With ``standardize_init_frames = 0`` (default) a frame comes out for every window from the first one; the
       first frames are then standardised with few frames of statistics (the very first is all zeros), a warm-up
       of roughly ``1 / standardize_factor_new`` frames. With ``standardize_init_frames = k > 0`` the first ``k``
       frames are held back and emitted together, standardised with their own mean and std, when the ``k``-th
       window completes: :meth:`step` returns no frames before that, and :meth:`process` of a recording shorter
       than ``k`` windows returns none.

    Inputs must be finite (NaN/inf raise a ``ValueError`` and leave the state unchanged).
    """

    def __init__(self, config: PipelineConfig, n_chans: int, sfreq_in: float | None = None):
        if not isinstance(config, PipelineConfig):
            raise TypeError(f"config must be a PipelineConfig, got {type(config).__name__}")
        if isinstance(n_chans, bool) or not isinstance(n_chans, numbers.Integral) or n_chans < 1:
            raise ValueError(f"n_chans must be an integer >= 1, got {n_chans!r}")
        if sfreq_in is not None and (isinstance(sfreq_in, bool) or not isinstance(sfreq_in, numbers.Real)
                                     or not np.isfinite(sfreq_in) or sfreq_in <= 0):
            raise ValueError(f"sfreq_in must be a finite number > 0 (Hz) or None, got {sfreq_in!r}")
        self.config = config
        self.n_chans = int(n_chans)
        self.sfreq = float(config.sfreq)
        self.sfreq_in = self.sfreq if sfreq_in is None else float(sfreq_in)
        self._window, self._hop = window_hop(config)
        self._stages = _build_stages(config, self.n_chans, self.sfreq_in, self._window, self._hop)

    @property
    def band_names(self) -> list[str]:
        """Names of the bands, in feature order."""
        return [band.name for band in self.config.features.bands]

    @property
    def n_bands(self) -> int:
        """Number of bands."""
        return len(self.config.features.bands)

    @property
    def window(self) -> int:
        """Window length in samples at ``sfreq``."""
        return self._window

    @property
    def hop(self) -> int:
        """Samples at ``sfreq`` between window starts."""
        return self._hop

    def frame_times(self, n_frames: int, t0: float = 0.0, first: int = 0) -> np.ndarray:
        """Time stamps of this pipeline's frames ``first, ..., first + n_frames - 1`` (see :func:`frame_times`).

        Parameters
        ----------
        n_frames : int
            Number of frames.
        t0 : float
            Time in seconds of the first processed sample.
        first : int
            Index of the first frame (a live stream's frames so far).

        Returns
        -------
        times : ndarray, shape (n_frames,)
            End time of each frame's window in seconds.
        """
        return frame_times(n_frames, self._window, self._hop, self.sfreq, t0, first)

    @property
    def resampler(self):
        """The :class:`~eegaffect.kernels.resample.StreamingResampler`, or ``None`` when the rates agree."""
        return self._stages["resampler"]

    @property
    def prefilter_sos(self) -> np.ndarray | None:
        """The band-pass/notch sections of stage 2, shape (n_sections, 6), or ``None`` when no filter is on."""
        filt = self._stages["prefilter"]
        return None if filt is None else filt.sos.copy()

    def reset(self) -> "SignalPipeline":
        """Start a new stream: every stage forgets its state. Returns ``self``."""
        for stage in self._stages.values():
            if stage is not None:
                stage.reset()
        return self

    def step(self, chunk) -> np.ndarray:
        """Process the next chunk of the stream.

        Parameters
        ----------
        chunk : ndarray, shape (n_times, n_chans)
            Float32 or float64 samples at ``sfreq_in``, finite; ``n_times`` may be 0.

        Returns
        -------
        features : ndarray, shape (n_windows, n_chans, n_bands)
            Float64 features of the windows completed by this chunk (often 0 windows).
        """
        if self.config.features.smoothing == "rts":
            raise RuntimeError("features.smoothing='rts' (Rauch-Tung-Striebel) uses future windows and only works "
                               "offline with SignalPipeline.process(); use smoothing='kalman' for streaming")
        return _run_stages(self._stages, self._check(chunk))

    def process(self, x) -> np.ndarray:
        """Process a whole recording with fresh stages (this object's streaming state is left as it is).

        Parameters
        ----------
        x : ndarray, shape (n_times, n_chans)
            Float32 or float64 samples at ``sfreq_in``, finite.

        Returns
        -------
        features : ndarray, shape (n_windows, n_chans, n_bands)
            Float64 features; equal to the concatenated :meth:`step` outputs of a new stream fed ``x`` in any
            chunks (with ``"rts"`` smoothing, the smoothed sequence).
        """
        x = self._check(x)
        stages = _build_stages(self.config, self.n_chans, self.sfreq_in, self._window, self._hop)
        if self.config.features.smoothing != "rts":
            return _run_stages(stages, x)
        from eegaffect.kernels.smoothing import rts_smooth

        # the smoother runs on the whole sequence, so the standardisation (stage 5) comes after it here
        standardizer = stages.pop("standardizer")
        feats = _run_stages({**stages, "standardizer": None}, x)
        f = self.config.features
        flat = feats.reshape(feats.shape[0], feats.shape[1] * feats.shape[2])
        feats = rts_smooth(flat, f.smoothing_process_var, f.smoothing_obs_var).reshape(feats.shape)
        return _standardize(standardizer, feats)

    def _check(self, x) -> np.ndarray:
        from eegaffect.kernels._checks import check_chunk

        return check_chunk(x, self.n_chans, np.float64)

    def __repr__(self) -> str:
        f = self.config.features
        return (f"SignalPipeline(n_chans={self.n_chans}, sfreq_in={self.sfreq_in:g}, sfreq={self.sfreq:g}, "
                f"kind={f.kind!r}, bands={self.band_names}, window={self.window}, hop={self.hop}, "
                f"smoothing={f.smoothing!r}, standardize={f.standardize!r})")


def frame_times(n_frames: int, window: int, hop: int, sfreq: float, t0: float = 0.0, first: int = 0) -> np.ndarray:
    """Time stamp of every feature frame: the END of its window.

    The one frame-timing rule of eegaffect. Frame ``k`` covers the processed samples ``[k * hop, k * hop +
    window)`` and is stamped when it becomes available, at its window's end: ``t0 + (k * hop + window) / sfreq``
    seconds. Training targets, benchmark targets, the teacher's targets and the :class:`Predictor`'s outputs all
    use this stamp (pair frames with targets through :func:`eegaffect.targets.frame_targets`), so a model is
    trained and scored on what was true when its frame completed, with no half-window lag between them.

    Parameters
    ----------
    n_frames : int
        Number of frames (>= 0).
    window : int
        Window length in samples at ``sfreq`` (>= 1).
    hop : int
        Samples between window starts at ``sfreq`` (>= 1).
    sfreq : float
        Rate in Hz of the samples the windows are counted in.
    t0 : float
        Time in seconds of the first sample (sample 0).
    first : int
        Index ``k`` of the first frame wanted (>= 0): the frames ``first, ..., first + n_frames - 1``.

    Returns
    -------
    times : ndarray, shape (n_frames,)
        Float64 end times in seconds.

    Examples
    --------
    >>> frame_times(3, window=200, hop=100, sfreq=200.0)
    array([1. , 1.5, 2. ])
    """
    for name, value, low in (("n_frames", n_frames, 0), ("window", window, 1), ("hop", hop, 1), ("first", first, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(sfreq, bool) or not isinstance(sfreq, numbers.Real) or not np.isfinite(sfreq) or sfreq <= 0:
        raise ValueError(f"sfreq must be a finite number > 0 (Hz), got {sfreq!r}")
    if not np.isfinite(t0):
        raise ValueError(f"t0 must be finite, got {t0!r}")
    k = np.arange(int(first), int(first) + int(n_frames), dtype=np.float64)
    return float(t0) + (k * int(hop) + int(window)) / float(sfreq)


def window_hop(config: PipelineConfig) -> tuple[int, int]:
    """Window and hop in samples at ``config.sfreq`` (rounded to the nearest sample).

    Parameters
    ----------
    config : PipelineConfig
        The signal path (``sfreq``, ``features.window_s``, ``features.hop_s``).

    Returns
    -------
    window, hop : int
        Window length and hop in samples, both >= 1.
    """
    return window_hop_samples(config.features.window_s, config.features.hop_s, config.sfreq)


def window_hop_samples(window_s: float, hop_s: float, sfreq: float) -> tuple[int, int]:
    """Window and hop in samples at ``sfreq``, each rounded to the nearest sample.

    Parameters
    ----------
    window_s, hop_s : float
        Window length and hop in seconds.
    sfreq : float
        Rate in Hz the samples are counted at.

    Returns
    -------
    window, hop : int
        Both >= 1.
    """
    window = int(round(window_s * sfreq))
    hop = int(round(hop_s * sfreq))
    if window < 1 or hop < 1:
        raise ValueError(f"features.window_s and features.hop_s must span at least one sample at {sfreq} Hz, got "
                         f"window_s={window_s}, hop_s={hop_s}")
    return window, hop


def _prefilter_sos(config: PipelineConfig) -> np.ndarray | None:
    """Band-pass (or high-/low-pass) then notch sections of ``config.filters`` at ``config.sfreq`` (a copy)."""
    f = config.filters
    sos = _prefilter_sos_cached(float(config.sfreq), f.highpass_hz, f.lowpass_hz, f.order, f.line_hz,
                                f.notch_harmonics, f.notch_q)
    return None if sos is None else sos.copy()


@functools.lru_cache(maxsize=32)
def _prefilter_sos_cached(sfreq: float, highpass_hz, lowpass_hz, order: int, line_hz, notch_harmonics: int,
                          notch_q: float) -> np.ndarray | None:
    # scipy's design costs milliseconds per filter; pipelines built per trial or stream share it
    from eegaffect.kernels.filtering import cascade, design_bandpass, design_highpass, design_lowpass, design_notch

    parts = []
    if highpass_hz is not None and lowpass_hz is not None:
        parts.append(design_bandpass(highpass_hz, lowpass_hz, sfreq, order))
    elif highpass_hz is not None:
        parts.append(design_highpass(highpass_hz, sfreq, order))
    elif lowpass_hz is not None:
        parts.append(design_lowpass(lowpass_hz, sfreq, order))
    if line_hz is not None and line_hz < sfreq / 2:
        parts.append(design_notch(line_hz, sfreq, notch_harmonics, notch_q))
    if not parts:
        return None
    sos = cascade(*parts)
    sos.flags.writeable = False
    return sos


def _build_stages(config: PipelineConfig, n_chans: int, sfreq_in: float, window: int, hop: int) -> dict:
    from eegaffect.kernels.features import BandFeatures, PSDFeatures
    from eegaffect.kernels.filtering import SOSFilter
    from eegaffect.kernels.smoothing import KalmanSmoother

    sfreq = float(config.sfreq)
    resampler = None
    if not np.isclose(sfreq_in, sfreq, rtol=0, atol=1e-9):
        from eegaffect.kernels.resample import StreamingResampler

        resampler = StreamingResampler(sfreq_in, sfreq, n_chans)
    sos = _prefilter_sos(config)
    prefilter = None if sos is None else SOSFilter(sos, n_chans, init=config.filters.init)
    f = config.features
    bands = [(b.low_hz, b.high_hz) for b in f.bands]
    if f.kind == "psd_de":
        features = PSDFeatures(bands, sfreq, n_chans, window, hop, kind="de")
    else:
        features = BandFeatures(bands, sfreq, n_chans, window, hop, kind=f.kind, order=f.filter_order,
                                init=config.filters.init)
    smoother = None
    if f.smoothing == "kalman":
        smoother = KalmanSmoother(n_chans * len(bands), f.smoothing_process_var, f.smoothing_obs_var)
    standardizer = None
    if f.standardize == "ems":
        from eegaffect.kernels.standardize import ExponentialMovingStandardizer

        standardizer = ExponentialMovingStandardizer(n_chans * len(bands), factor_new=f.standardize_factor_new,
                                                     init_block_size=f.standardize_init_frames or None)
    return {"resampler": resampler, "prefilter": prefilter, "features": features, "smoother": smoother,
            "standardizer": standardizer}


def _run_stages(stages: dict, x: np.ndarray) -> np.ndarray:
    if stages["resampler"] is not None:
        x = stages["resampler"].step(x)
    if stages["prefilter"] is not None:
        x = stages["prefilter"].step(x)
    feats = stages["features"].step(x)
    if stages["smoother"] is not None:
        flat = feats.reshape(feats.shape[0], feats.shape[1] * feats.shape[2])
        feats = stages["smoother"].step(flat).reshape(feats.shape)
    return _standardize(stages["standardizer"], feats)


def _standardize(standardizer, feats: np.ndarray) -> np.ndarray:
    """Stage 5 on frames (n_windows, n_chans, n_bands); the standardiser may hold back frames of its init block."""
    if standardizer is None:
        return feats
    n_chans, n_bands = feats.shape[1:]
    flat = feats.reshape(feats.shape[0], n_chans * n_bands)
    return standardizer.step(flat).reshape(-1, n_chans, n_bands)
