"""A physiological device's clock mapped onto the live session's (:class:`ClockAligner`).

Clocks
------
Every inlet is opened with liblsl's clock synchronisation (``time_correction`` applied to every timestamp, so a
device on another machine lands on this machine's clock) and the package's dejitter (a regular stream's stamps
become the line ``b + k / sfreq``). :class:`ClockAligner` then maps each device's stamps onto the session clock:

- ``"lsl"`` (default): the identity; liblsl's ``time_correction`` is the whole correction (the offsets it
  measured are kept in the summary and in the recording);
- ``"arrival"``: additionally estimates a residual offset and drift of the device's stamps against the time the
  samples arrive here, for devices that stamp with their own clock where ``time_correction`` cannot see it (a
  bridge forwarding a wrist band's clock; ``eegaffect simulate --clock-offset``, since on one machine
  ``time_correction`` is zero). The lowest ``arrival - stamp`` of each ``bin_s`` stretch of stamps is taken
  (the newest sample of each read), and a line is fitted through the last ``n_bins`` minima. The estimate
  carries the device's smallest transport delay (for a 4-Hz device pushed with the EEG's 50-ms chunks, up to
  one chunk), and it would wrongly "correct" a device that already back-dates its samples by a known delay:
  use it only for devices whose clock is not this machine's.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ClockAligner"]


class ClockAligner:
    """Map a device's stamps onto the session clock (see the module docstring).

    Parameters
    ----------
    mode : {"lsl", "arrival"}
        ``"lsl"``: identity (liblsl's time_correction is already applied); ``"arrival"``: also the residual
        offset and drift estimated from arrival times.
    bin_s : float
        Stretch of stamps over which the lowest ``arrival - stamp`` is kept.
    n_bins : int
        Bins the line is fitted through (the newest ones).
    """

    def __init__(self, mode: str = "lsl", bin_s: float = 2.0, n_bins: int = 30):
        if mode not in ("lsl", "arrival"):
            raise ValueError(f"expected clock mode 'lsl' or 'arrival', got {mode!r}")
        if not bin_s > 0 or int(n_bins) < 2:
            raise ValueError(f"expected bin_s > 0 and n_bins >= 2, got {bin_s} and {n_bins}")
        self.mode = mode
        self._bin_s = float(bin_s)
        self._n_bins = int(n_bins)
        self._min_span_s = 0.5 * self._bin_s * self._n_bins
        self._bins: dict[int, tuple[float, float]] = {}  # bin -> (stamp, lowest lag)
        self._a = 0.0  # correction at stamp _ref: session = stamp + a + b * (stamp - ref)
        self._b = 0.0
        self._ref = 0.0

    @property
    def ready(self) -> bool:
        """Whether the map can be used: always in ``"lsl"`` mode; in ``"arrival"`` mode once three bins of
        stamps were seen (the first reads of a session, delayed by its start, would misplace its first frames).
        """
        return self.mode == "lsl" or len(self._bins) >= 3

    @property
    def offset_s(self) -> float:
        """Current estimate of ``device stamp - session time`` at the newest bin (0 in ``"lsl"`` mode)."""
        return -self._a

    @property
    def drift_ppm(self) -> float:
        """Current estimate of how much faster the device's clock runs, ppm (0 in ``"lsl"`` mode)."""
        return -self._b / (1 + self._b) * 1e6

    def observe(self, stamp: float, arrival: float) -> None:
        """One observation: the newest sample of a read, its stamp and the session time it was read."""
        if self.mode == "lsl" or not np.isfinite(stamp):
            return
        lag = float(arrival) - float(stamp)
        key = int(np.floor(stamp / self._bin_s))
        old = self._bins.get(key)
        if old is None or lag < old[1]:
            self._bins[key] = (float(stamp), lag)
        if len(self._bins) > self._n_bins:
            for k in sorted(self._bins)[:-self._n_bins]:
                del self._bins[k]
        self._fit()

    def _fit(self) -> None:
        pts = np.array(list(self._bins.values()))
        self._ref = float(pts[:, 0].max())
        x = pts[:, 0] - self._ref
        b = 0.0
        if np.ptp(x) >= self._min_span_s:  # a drift needs a long baseline; before it, an offset only
            b = float(np.polyfit(x, pts[:, 1], 1)[0])
        # the lower envelope: the line through the lowest lag (a loaded machine only ever adds delay)
        self._a, self._b = float(np.min(pts[:, 1] - b * x)), b

    def to_session(self, stamps) -> np.ndarray:
        """Session times of device stamps, shape like ``stamps``."""
        stamps = np.asarray(stamps, dtype=np.float64)
        return stamps + self._a + self._b * (stamps - self._ref)

    def to_device(self, times) -> np.ndarray:
        """Device stamps of session times (inverse of :meth:`to_session`)."""
        times = np.asarray(times, dtype=np.float64)
        return (times - self._a + self._b * self._ref) / (1.0 + self._b)
