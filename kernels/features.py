"""Filter bank and windowed band features: band power and differential entropy (DE) of band-passed signals.

Definitions (per window, channel and band):

- the band signal ``y`` is the input filtered causally by a Butterworth band-pass (second-order sections, direct
  form II transposed, state carried across chunks), one filter per band, all bands in one pass;
- ``band_power = mean(y**2)`` over the window (signal power of the band, in input units squared);
- ``de = 0.5 * ln(2 * pi * e * var(y))`` with the **natural** logarithm and the population variance
  (``ddof=0``) over the window. This is the differential entropy of a Gaussian with that variance, in nats.
  TorchEEG's ``BandDifferentialEntropy`` uses ``log2`` (bits): ``de_bits = de_nats / ln 2``. A window whose band
  signal is exactly constant has ``var = 0`` and gives ``-inf``.

SEED's spectral variant, DE from the Hann-windowed PSD (``psd_de``, :class:`PSDFeatures`), is in
:mod:`eegaffect.kernels.psd` (re-exported here).

Windows: window ``k`` covers samples ``[k * hop, k * hop + window)`` of the stream and is emitted by the
``step`` call in which its last sample arrives; a partial window is carried to the next call. Offline functions
run the same objects over the whole array, so streaming and offline results are identical.

NaN policy: inputs must be finite; a chunk holding NaN or inf is rejected with a ``ValueError`` (naming the first
bad sample) before any state changes, because a NaN in an IIR state would poison every later output.
"""

from __future__ import annotations

import functools

import numpy as np

from ._checks import check_bands, check_chunk, check_dtype, check_int, check_option, check_positive
from ._jit import jit
from .filter_design import design_bandpass
from .filtering import CHANNEL_PAD
from .psd import PSDFeatures, psd_de, seed_hann

# PSDFeatures, psd_de and seed_hann live in .psd; importable from here as before

__all__ = ["FilterBank", "BandFeatures", "PSDFeatures", "band_features", "psd_de", "seed_hann", "warmup"]

_KINDS = ("de", "band_power")
_INITS = ("zeros", "steady")


# --------------------------------------------------------------------------------------------------------------
# numba kernels (no validation)
# --------------------------------------------------------------------------------------------------------------
_BLOCK = 64  # samples filtered per band before moving to the next band (keeps the block in L1 cache)


@jit
def _bank_block(x, t0, m, sos, zi, tmp):  # pragma: no cover - compiled
    """Filter samples ``x[t0:t0 + m]`` through every band into ``tmp[:, :m]`` (shape (n_bands, block, n_pad)).

    Section by section over the block, channels innermost: each biquad's coefficients stay in registers and the
    channel loop vectorises over the padded width without a remainder (``tmp`` and ``zi`` are zero in the
    padding, which therefore stays zero). Measured in this call path: reading ``x`` directly in the first section
    instead of copying it, or FMA contraction, made the shipped kernel up to 2x slower (vectorisation lost).
    """
    n_chans = x.shape[1]
    n_bands, n_sec, n_pad = sos.shape[0], sos.shape[1], zi.shape[3]
    for b in range(n_bands):
        blk = tmp[b]
        for s in range(n_sec):
            b0 = sos[b, s, 0]
            b1 = sos[b, s, 1]
            b2 = sos[b, s, 2]
            a1 = sos[b, s, 4]
            a2 = sos[b, s, 5]
            z0 = zi[b, s, 0]
            z1 = zi[b, s, 1]
            if s == 0:
                for t in range(m):
                    for c in range(n_chans):
                        blk[t, c] = x[t0 + t, c]
            for t in range(m):
                row = blk[t]
                for c in range(n_pad):
                    xi = row[c]
                    y = b0 * xi + z0[c]
                    z0[c] = b1 * xi - a1 * y + z1[c]
                    z1[c] = b2 * xi - a2 * y
                    row[c] = y


@jit
def _filter_bank_kernel(x, sos, zi, tmp, out):  # pragma: no cover - compiled
    """Filter ``x`` (n_times, n_chans) through every band's SOS cascade; ``out`` is (n_times, n_chans, n_bands).

    ``tmp`` is the bank's scratch block (n_bands, _BLOCK, n_pad), zero in the channel padding.
    """
    n_times, n_chans = x.shape
    n_bands = sos.shape[0]
    for t0 in range(0, n_times, _BLOCK):
        m = min(_BLOCK, n_times - t0)
        _bank_block(x, t0, m, sos, zi, tmp)
        for t in range(m):
            dst = out[t0 + t]
            for b in range(n_bands):
                src = tmp[b, t]
                for c in range(n_chans):
                    dst[c, b] = src[c]


@jit
def _window_stats(ring, kind, out_row):  # pragma: no cover - compiled
    """Write the DE (kind 0) or band power (kind 1) of the ``ring`` window (window, n_bands, n_chans) into
    ``out_row`` (n_chans, n_bands).
    """
    window, n_bands, n_chans = ring.shape
    acc = np.empty(n_chans, dtype=np.float64)
    mean = np.empty(n_chans, dtype=np.float64)
    log_2pie = np.log(2.0 * np.pi * np.e)
    for b in range(n_bands):
        for c in range(n_chans):
            acc[c] = 0.0
        if kind == 0:
            # two-pass population variance, as numpy.var
            for k in range(window):
                row = ring[k, b]
                for c in range(n_chans):
                    acc[c] += row[c]
            for c in range(n_chans):
                mean[c] = acc[c] / window
                acc[c] = 0.0
            for k in range(window):
                row = ring[k, b]
                for c in range(n_chans):
                    d = row[c] - mean[c]
                    acc[c] += d * d
            for c in range(n_chans):
                var = acc[c] / window
                # explicit -inf for a constant window (same value as log(0), without a warning in pure Python)
                out_row[c, b] = 0.5 * (log_2pie + np.log(var)) if var > 0.0 else -np.inf
        else:
            for k in range(window):
                row = ring[k, b]
                for c in range(n_chans):
                    v = np.float64(row[c])
                    acc[c] += v * v
            for c in range(n_chans):
                out_row[c, b] = acc[c] / window


@jit
def _band_features_kernel(x, sos, zi, tmp, ring, pos, until, hop, kind, out):  # pragma: no cover - compiled
    """Filter ``x`` through the bank and emit one feature row per completed window.

    ``ring`` (window, n_bands, n_chans) holds the last ``window`` band samples, ``pos`` is the next write slot,
    ``until`` the number of samples still needed before the next window completes. Returns the new
    ``(pos, until, n_emitted)``. ``kind`` 0 = DE (natural log), 1 = band power (mean square). ``tmp`` is the
    bank's scratch block.
    """
    n_times, n_chans = x.shape
    n_bands = sos.shape[0]
    window = ring.shape[0]
    n_out = 0
    for t0 in range(0, n_times, _BLOCK):
        m = min(_BLOCK, n_times - t0)
        _bank_block(x, t0, m, sos, zi, tmp)
        for t in range(m):
            for b in range(n_bands):
                src = tmp[b, t]
                dst = ring[pos, b]
                for c in range(n_chans):
                    dst[c] = src[c]
            pos += 1
            if pos == window:
                pos = 0
            until -= 1
            if until == 0:
                until = hop
                _window_stats(ring, kind, out[n_out])
                n_out += 1
    return pos, until, n_out


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------
def _design_bank(bands: np.ndarray, sfreq: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Butterworth band-pass SOS of every band and their unit-step steady states (read-only, cached).

    Returns ``sos`` of shape (n_bands, order, 6) and ``zi_unit`` of shape (n_bands, order, 2), float64. The
    design costs milliseconds per band in scipy (``zpk2sos``), so banks built per trial or per stream share it.
    """
    key = tuple((float(low), float(high)) for low, high in bands)
    return _design_bank_cached(key, float(sfreq), int(order))


@functools.lru_cache(maxsize=64)
def _design_bank_cached(bands: tuple, sfreq: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import sosfilt_zi

    sos = np.stack([design_bandpass(low, high, sfreq, order) for low, high in bands])
    zi_unit = np.stack([sosfilt_zi(band_sos) for band_sos in sos])
    sos.flags.writeable = False
    zi_unit.flags.writeable = False
    return sos, zi_unit


def _n_emitted(n_times: int, until: int, hop: int) -> int:
    """Number of windows completed by ``n_times`` new samples when ``until`` samples are still missing."""
    return 0 if n_times < until else 1 + (n_times - until) // hop


# --------------------------------------------------------------------------------------------------------------
# public objects
# --------------------------------------------------------------------------------------------------------------
class FilterBank:
    """Causal Butterworth band-pass filter bank, all bands in one pass over the input.

    Parameters
    ----------
    bands : sequence of (float, float)
        ``(low_hz, high_hz)`` per band, ``0 < low_hz < high_hz < sfreq / 2``.
    sfreq : float
        Sampling frequency in Hz.
    n_chans : int
        Number of channels of every chunk.
    order : int
        Butterworth order of each band-pass (``order`` second-order sections per band).
    dtype : float32 | float64
        Dtype of the arithmetic, the filter state and the output; inputs are converted to it. float32 is faster
        but its narrowest bands (delta at 200 Hz) carry a relative error of up to about 2e-5.
    init : ``"zeros"`` | ``"steady"``
        Initial state: zeros, or scipy's steady-state ``sosfilt_zi`` scaled per channel by the first sample
        received after construction or :meth:`reset`.

    Notes
    -----
    The input is filtered in blocks of 64 samples, band by band and section by section. Each section is a direct
    form II transposed biquad; channels are the innermost (SIMD) loop. Inputs must be finite (see the module's NaN
    policy). Results equal ``scipy.signal.sosfilt`` per band to rounding, for any chunking.
    """

    def __init__(self, bands, sfreq, n_chans, order=4, dtype=np.float64, init="zeros"):
        self.sfreq = check_positive(sfreq, "sfreq")
        self.bands = check_bands(bands, self.sfreq)
        self.n_chans = check_int(n_chans, "n_chans")
        self.order = check_int(order, "order")
        self.dtype = check_dtype(dtype)
        self.init = check_option(init, "init", _INITS)
        sos, self._zi_unit = _design_bank(self.bands, self.sfreq, self.order)
        self._sos = np.array(sos, dtype=self.dtype, order="C")  # own writable copy for the kernels
        # channel axis of the state padded to a multiple of CHANNEL_PAD: the vector loop has no scalar remainder
        n_pad = -(-self.n_chans // CHANNEL_PAD) * CHANNEL_PAD
        self._zi = np.zeros((len(self.bands), sos.shape[1], 2, n_pad), dtype=self.dtype)
        # scratch block of the kernels, allocated once (the padding lanes must stay zero)
        self._tmp = np.zeros((len(self.bands), _BLOCK, n_pad), dtype=self.dtype)
        self._primed = False

    @property
    def n_bands(self) -> int:
        """Number of bands."""
        return len(self.bands)

    @property
    def sos(self) -> np.ndarray:
        """The band-pass sections, shape (n_bands, order, 6) (a copy)."""
        return self._sos.copy()

    def reset(self) -> "FilterBank":
        """Forget the filter state (the next chunk starts a new stream); returns ``self``."""
        self._zi[...] = 0
        self._primed = False
        return self

    def _prime(self, first: np.ndarray) -> None:
        if not self._primed:
            if self.init == "steady":
                self._zi[..., : self.n_chans] = self._zi_unit[:, :, :, None] * first[None, None, None, :]
            self._primed = True

    def step(self, x) -> np.ndarray:
        """Filter the next chunk through every band.

        Parameters
        ----------
        x : ndarray, shape (n_times, n_chans)
            Float32 or float64 samples, finite; ``n_times`` may be 0.

        Returns
        -------
        y : ndarray, shape (n_times, n_chans, n_bands)
            Band signals in ``dtype``.
        """
        x = check_chunk(x, self.n_chans, self.dtype)
        out = np.empty((x.shape[0], self.n_chans, self.n_bands), dtype=self.dtype)
        if x.shape[0]:
            self._prime(x[0])
            _filter_bank_kernel(x, self._sos, self._zi, self._tmp, out)
        return out


class BandFeatures:
    """Streaming windowed band features (differential entropy or band power) per channel and band.

    Parameters
    ----------
    bands : sequence of (float, float)
        ``(low_hz, high_hz)`` per band.
    sfreq : float
        Sampling frequency in Hz.
    n_chans : int
        Number of channels.
    window : int
        Window length in samples.
    hop : int
        Samples between window starts (``hop < window`` overlaps, ``hop > window`` skips samples).
    kind : ``"de"`` | ``"band_power"``
        ``"de"``: ``0.5 * ln(2 pi e var)`` (natural log, population variance); ``"band_power"``: mean square.
    order : int
        Butterworth order of each band-pass.
    dtype : float32 | float64
        Dtype of the filtering; features are always float64.
    init : ``"zeros"`` | ``"steady"``
        Initial filter state (see :class:`FilterBank`).

    Notes
    -----
    The filtered samples of the current window live in a ring buffer, so a window that straddles several
    ``step`` calls gives exactly the value it would give in one call. Filtering and window statistics run in a
    single compiled pass; the band signals are never materialised for the whole chunk.
    """

    def __init__(self, bands, sfreq, n_chans, window, hop, kind="de", order=4, dtype=np.float64, init="zeros"):
        self.kind = check_option(kind, "kind", _KINDS)
        self.window = check_int(window, "window")
        self.hop = check_int(hop, "hop")
        self._bank = FilterBank(bands, sfreq, n_chans, order=order, dtype=dtype, init=init)
        self._ring = np.zeros((self.window, self._bank.n_bands, self._bank.n_chans), dtype=self._bank.dtype)
        self._pos = 0
        self._until = self.window

    sfreq = property(lambda self: self._bank.sfreq, doc="Sampling frequency in Hz.")
    bands = property(lambda self: self._bank.bands, doc="Bands, shape (n_bands, 2).")
    n_chans = property(lambda self: self._bank.n_chans, doc="Number of channels.")
    n_bands = property(lambda self: self._bank.n_bands, doc="Number of bands.")
    order = property(lambda self: self._bank.order, doc="Butterworth order per band.")
    dtype = property(lambda self: self._bank.dtype, doc="Filtering dtype.")

    def reset(self) -> "BandFeatures":
        """Forget filter state and the partial window; returns ``self``."""
        self._bank.reset()
        self._ring[...] = 0
        self._pos = 0
        self._until = self.window
        return self

    def n_windows(self, n_times: int) -> int:
        """Number of windows the next ``step`` with ``n_times`` samples will return."""
        return _n_emitted(check_int(n_times, "n_times", minimum=0), self._until, self.hop)

    def step(self, x) -> np.ndarray:
        """Process the next chunk and return the features of every window completed by it.

        Parameters
        ----------
        x : ndarray, shape (n_times, n_chans)
            Float32 or float64 samples, finite; ``n_times`` may be 0.

        Returns
        -------
        features : ndarray, shape (n_windows, n_chans, n_bands)
            Float64 features of the windows completed in this chunk (``n_windows`` may be 0).
        """
        x = check_chunk(x, self.n_chans, self.dtype)
        n_out = _n_emitted(x.shape[0], self._until, self.hop)
        out = np.empty((n_out, self.n_chans, self.n_bands), dtype=np.float64)
        if x.shape[0]:
            bank = self._bank
            bank._prime(x[0])
            pos, until, n_done = _band_features_kernel(x, bank._sos, bank._zi, bank._tmp, self._ring, self._pos,
                                                        self._until, self.hop, _KINDS.index(self.kind), out)
            self._pos, self._until = int(pos), int(until)
            assert n_done == n_out
        return out


# --------------------------------------------------------------------------------------------------------------
# offline functions
# --------------------------------------------------------------------------------------------------------------
def band_features(x, bands, sfreq, window, hop, kind="de", order=4, dtype=np.float64, init="zeros") -> np.ndarray:
    """Windowed band features of a whole recording (the streaming :class:`BandFeatures` run in one call).

    Parameters
    ----------
    x : ndarray, shape (n_times, n_chans)
        Float32 or float64 samples, finite.
    bands : sequence of (float, float)
        ``(low_hz, high_hz)`` per band.
    sfreq : float
        Sampling frequency in Hz.
    window : int
        Window length in samples.
    hop : int
        Samples between window starts.
    kind : ``"de"`` | ``"band_power"``
        Feature (see :class:`BandFeatures`).
    order : int
        Butterworth order per band.
    dtype : float32 | float64
        Filtering dtype.
    init : ``"zeros"`` | ``"steady"``
        Initial filter state.

    Returns
    -------
    features : ndarray, shape (n_windows, n_chans, n_bands)
        ``n_windows = (n_times - window) // hop + 1`` (0 if ``n_times < window``), float64.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n_times, n_chans), got shape {x.shape}")
    return BandFeatures(bands, sfreq, x.shape[1], window, hop, kind=kind, order=order, dtype=dtype,
                        init=init).step(x)


def warmup() -> None:
    """Compile the feature kernels for float32 and float64 on tiny inputs."""
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        x = rng.standard_normal((24, 2)).astype(dtype)
        FilterBank([(2.0, 8.0)], 50.0, 2, order=2, dtype=dtype).step(x)
        for kind in _KINDS:
            BandFeatures([(2.0, 8.0)], 50.0, 2, window=8, hop=4, kind=kind, order=2, dtype=dtype).step(x)
