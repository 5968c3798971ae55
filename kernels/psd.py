"""SEED-style spectral band features: differential entropy (DE) from the Hann-windowed power spectral density.

Definition (per window, channel and band): each window is multiplied by SEED's Hann window
``w[n] = 0.5 - 0.5 * cos(2 * pi * (n + 1) / (window + 1))`` (MATLAB ``hanning``, no zero end points), its one-sided
power spectral density ``P(f_k) = 2 |FFT_nfft(w * x)[k]|**2 / (sfreq * sum(w**2))`` (V²/Hz, as
``scipy.signal.periodogram(..., scaling="density")``) is averaged over the bins with ``low_hz <= f_k < high_hz``,
and ``psd_de = 0.5 * ln(2 * pi * e * P_band)`` (natural log; a band with zero power gives ``-inf``). The widely
copied ``DE_PSD`` script of the SEED community (and TorchEEG's ``BandDifferentialEntropyV1``) returns
``log2(100 * mean |FFT|**2)`` over its bins instead: the same log-power up to a per-band affine map (scale
``1 / ln 2`` and an offset).

This is the feature SEED's published data come with; the time-domain band power and DE of band-passed signals
(a causal filter bank, no FFT) are in :mod:`eegaffect.kernels.features`, which re-exports this module's public
names. Windows: window ``k`` covers samples ``[k * hop, k * hop + window)`` and is emitted by the ``step`` call in
which its last sample arrives; :func:`psd_de` runs the same object over the whole array. Plain NumPy (one
``rfft`` per window): no compiled kernel, nothing to warm up. Inputs must be finite: a chunk holding NaN or inf
is rejected with a ``ValueError`` before any sample is buffered.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_bands, check_chunk, check_int, check_option, check_positive

__all__ = ["PSDFeatures", "psd_de", "seed_hann"]

_LOG_2PIE = float(np.log(2 * np.pi * np.e))


def seed_hann(window: int) -> np.ndarray:
    """SEED's Hann taper (MATLAB ``hanning``): ``0.5 - 0.5 cos(2 pi n / (window + 1))`` for ``n = 1..window``.

    Parameters
    ----------
    window : int
        Window length in samples.

    Returns
    -------
    taper : ndarray, shape (window,)
        Strictly positive taper (no zero end points), float64.
    """
    window = check_int(window, "window")
    return _seed_hann(window)


def _seed_hann(window: int) -> np.ndarray:
    n = np.arange(1, window + 1, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2 * np.pi * n / (window + 1))


class PSDFeatures:
    """Streaming SEED-style PSD features: Hann-windowed FFT per window, mean PSD per band, optionally as DE.

    Parameters
    ----------
    bands : sequence of (float, float)
        ``(low_hz, high_hz)``; a band averages the FFT bins with ``low_hz <= f < high_hz``.
    sfreq : float
        Sampling frequency in Hz.
    n_chans : int
        Number of channels.
    window : int
        Window length in samples.
    hop : int | None
        Samples between window starts; ``None`` means ``window`` (SEED's non-overlapping windows).
    nfft : int | None
        FFT length (``>= window``, zero padding); ``None`` means ``window``.
    kind : ``"de"`` | ``"psd"``
        ``"de"``: ``0.5 * ln(2 pi e P_band)`` (natural log); ``"psd"``: ``P_band`` in V²/Hz.

    Notes
    -----
    Raw samples of the pending window are buffered (at most ``window - 1`` plus one chunk); every completed
    window is transformed with :func:`numpy.fft.rfft`. See the module docstring for the exact definition.
    """

    def __init__(self, bands, sfreq, n_chans, window, hop=None, nfft=None, kind="de"):
        self.sfreq = check_positive(sfreq, "sfreq")
        self.bands = check_bands(bands, self.sfreq)
        self.n_chans = check_int(n_chans, "n_chans")
        self.window = check_int(window, "window")
        self.hop = self.window if hop is None else check_int(hop, "hop")
        self.nfft = self.window if nfft is None else check_int(nfft, "nfft")
        if self.nfft < self.window:
            raise ValueError(f"nfft must be >= window ({self.window}), got {self.nfft}")
        self.kind = check_option(kind, "kind", ("de", "psd"))
        freqs = np.fft.rfftfreq(self.nfft, d=1.0 / self.sfreq)
        self._bins = []
        for k, (low, high) in enumerate(self.bands):
            idx = np.flatnonzero((freqs >= low) & (freqs < high))
            if idx.size == 0:
                raise ValueError(f"band {k} ({low}-{high} Hz) holds no FFT bin at resolution "
                                 f"{self.sfreq / self.nfft:g} Hz (window={self.window}, nfft={self.nfft}); "
                                 "widen the band or raise nfft")
            self._bins.append(idx)
        taper = _seed_hann(self.window)
        self._taper = taper
        self._scale = 2.0 / (self.sfreq * np.sum(taper**2))
        self._buf = np.empty((0, self.n_chans), dtype=np.float64)
        self._skip = 0

    @property
    def n_bands(self) -> int:
        """Number of bands."""
        return len(self.bands)

    def reset(self) -> "PSDFeatures":
        """Forget buffered samples; returns ``self``."""
        self._buf = np.empty((0, self.n_chans), dtype=np.float64)
        self._skip = 0
        return self

    def step(self, x) -> np.ndarray:
        """Buffer the next chunk and return the features of every window completed by it.

        Parameters
        ----------
        x : ndarray, shape (n_times, n_chans)
            Float32 or float64 samples, finite.

        Returns
        -------
        features : ndarray, shape (n_windows, n_chans, n_bands)
            Float64 features.
        """
        x = check_chunk(x, self.n_chans, np.float64)
        if self._skip:
            drop = min(self._skip, x.shape[0])
            x = x[drop:]
            self._skip -= drop
        data = np.concatenate([self._buf, x]) if self._buf.shape[0] else x
        n_avail = data.shape[0]
        n_win = 0 if n_avail < self.window else (n_avail - self.window) // self.hop + 1
        out = self._features(data, n_win)
        next_start = n_win * self.hop
        if next_start <= n_avail:
            self._buf = data[next_start:].copy()
        else:
            self._buf = np.empty((0, self.n_chans), dtype=np.float64)
            self._skip = next_start - n_avail
        return out

    def _features(self, data: np.ndarray, n_win: int) -> np.ndarray:
        out = np.empty((n_win, self.n_chans, self.n_bands), dtype=np.float64)
        if n_win == 0:
            return out
        frames = np.lib.stride_tricks.sliding_window_view(data, self.window, axis=0)[:: self.hop][:n_win]
        # frames: (n_win, n_chans, window) -> taper along time
        spectrum = np.fft.rfft(frames * self._taper, n=self.nfft, axis=-1)
        power = (spectrum.real**2 + spectrum.imag**2) * self._scale
        for b, idx in enumerate(self._bins):
            out[:, :, b] = power[:, :, idx].mean(axis=-1)
        if self.kind == "de":
            with np.errstate(divide="ignore"):  # zero power in a band (a flat window) gives -inf, as BandFeatures
                out = 0.5 * (_LOG_2PIE + np.log(out))
        return out


def psd_de(x, bands, sfreq, window, hop=None, nfft=None) -> np.ndarray:
    """SEED-style PSD-based differential entropy of a whole recording (see the module docstring).

    Parameters
    ----------
    x : ndarray, shape (n_times, n_chans)
        Float32 or float64 samples, finite.
    bands : sequence of (float, float)
        ``(low_hz, high_hz)`` per band (bins with ``low_hz <= f < high_hz``).
    sfreq : float
        Sampling frequency in Hz.
    window : int
        Window length in samples (SEED: ``sfreq``, 1 s).
    hop : int | None
        Samples between window starts; ``None`` means ``window``.
    nfft : int | None
        FFT length; ``None`` means ``window``.

    Returns
    -------
    de : ndarray, shape (n_windows, n_chans, n_bands)
        ``0.5 * ln(2 pi e P_band)`` with ``P_band`` the mean one-sided PSD (V²/Hz) in the band, float64.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n_times, n_chans), got shape {x.shape}")
    return PSDFeatures(bands, sfreq, x.shape[1], window, hop=hop, nfft=nfft, kind="de").step(x)
