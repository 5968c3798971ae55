"""The simulated headset: synthetic EEG on an LSL outlet, with its valence/arousal ground truth on a second one.

:class:`SimulatedHeadset` takes a *source* — normally
:class:`~eegaffect.acquisition.sim.SimulatedEEG`, any object with ``ch_names``, ``sfreq`` and a streaming
``generate(n_samples) -> (eeg (n, n_chans), va (n, 2))`` works — and pushes, at real-time pace (or ``speed``
times faster) in chunks:

- an ``EEG`` stream named ``name`` with the source's channel names (type ``eeg``; unit ``microvolts``, or
  ``volts`` when the source says ``unit == "V"``) and, on request, a ``sample_index`` channel;
- an ``AffectTruth`` stream named ``{name}-truth`` with channels ``valence`` and ``arousal`` at the same rate and
  with the same timestamps, so every EEG sample has its ground truth.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np
from eegaffect.acquisition.channels import INDEX_CHANNEL_NAME
from eegaffect.acquisition.outlet import Outlet
from eegaffect.acquisition.pusher import PacedPusher

__all__ = ["SimulatedHeadset", "EEGSource", "TRUTH_TYPE", "TRUTH_CHANNELS"]

#: LSL type and channels of the ground-truth stream.
TRUTH_TYPE = "AffectTruth"
TRUTH_CHANNELS = ("valence", "arousal")


class EEGSource(Protocol):
    """What :class:`SimulatedHeadset` needs from a signal generator."""

    ch_names: Sequence[str]
    sfreq: float

    def generate(self, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``n_samples``: ``eeg`` (n, n_chans) and ``va`` (n, 2); consecutive calls continue."""


class SimulatedHeadset(PacedPusher):
    """Push a signal source's EEG and its valence/arousal trajectory as two LSL outlets.

    Parameters
    ----------
    source : EEGSource
        Generator of EEG and ground truth (e.g. ``SimulatedEEG(SEED_CHANNELS, 200.0, seed=0)``).
    name : str
        Name of the EEG stream; the ground truth is ``{name}-truth``.
    chunk_size : int | None
        Samples per push (default: 1/20 s worth, at least 1).
    speed : float
        1 = real time.
    index_channel : bool
        Append a ``sample_index`` channel to the EEG stream.
    source_id : str | None
        Source id of the EEG outlet (unique when None); the truth outlet uses ``{source_id}-truth``.
    duration : float | None
        Stop after this many seconds of signal (None: until :meth:`stop`).
    """

    def __init__(self, source: EEGSource, *, name: str = "eegaffect-sim", chunk_size: int | None = None,
                 speed: float = 1.0, index_channel: bool = False, source_id: str | None = None,
                 duration: float | None = None):
        super().__init__(speed)
        for attr in ("ch_names", "sfreq", "generate"):
            if not hasattr(source, attr):
                raise TypeError(f"source must have ch_names, sfreq and generate(n); {type(source).__name__} "
                                f"lacks {attr!r}")
        sfreq = float(source.sfreq)
        if not sfreq > 0:
            raise ValueError(f"source sfreq must be > 0, got {sfreq}")
        ch_names = [str(c) for c in source.ch_names]
        if index_channel and INDEX_CHANNEL_NAME in ch_names:
            raise ValueError(f"source already has a {INDEX_CHANNEL_NAME!r} channel")
        chunk_size = max(1, int(round(sfreq / 20))) if chunk_size is None else int(chunk_size)
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        if duration is not None and not duration > 0:
            raise ValueError(f"duration must be > 0 seconds, got {duration}")
        self._source = source
        self._sfreq = sfreq
        self._n_chans = len(ch_names)
        self._chunk = chunk_size
        self._index = bool(index_channel)
        self._n_total = None if duration is None else int(round(duration * sfreq))
        names = ch_names + ([INDEX_CHANNEL_NAME] if index_channel else [])
        types = ["eeg"] * len(ch_names) + (["misc"] if index_channel else [])
        unit = {"V": "volts", "uV": "microvolts", "µV": "microvolts"}.get(getattr(source, "unit", "uV"), "unknown")
        units = [unit] * len(ch_names) + (["samples"] if index_channel else [])
        self.eeg_outlet = Outlet(name, "EEG", names, sfreq, ch_types=types, ch_units=units, source_id=source_id,
                                 channel_format="float64" if index_channel else "float32",
                                 desc={"manufacturer": "eegaffect", "model": "SimulatedHeadset"})
        self.truth_outlet = Outlet(f"{name}-truth", TRUTH_TYPE, TRUTH_CHANNELS, sfreq,
                                   ch_types=["valence", "arousal"], ch_units=["a.u.", "a.u."],
                                   source_id=f"{self.eeg_outlet.source_id}-truth",
                                   desc={"manufacturer": "eegaffect", "model": "SimulatedHeadset"})

    @property
    def name(self) -> str:
        """Stream name of the simulated EEG outlet."""
        return self.eeg_outlet.name

    @property
    def source_id(self) -> str:
        """Source id of the simulated EEG outlet."""
        return self.eeg_outlet.source_id

    @property
    def sfreq(self) -> float:
        """EEG sampling rate in Hz."""
        return self._sfreq

    def _plan(self, i: int):
        m = self._chunk if self._n_total is None else min(self._chunk, self._n_total - i)
        if m <= 0:
            return None
        return m, (i + np.arange(m)) / self._sfreq

    def _prepare(self, i: int, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Generate samples ``i .. i + m - 1`` ahead of their due time: ``(eeg (m, n_chans [+ 1]), va (m, 2))``."""
        eeg, va = self._source.generate(m)
        eeg, va = np.asarray(eeg), np.asarray(va)
        if eeg.shape != (m, self._n_chans) or va.shape != (m, 2):
            raise ValueError(f"source.generate({m}) must return eeg of shape ({m}, {self._n_chans}) and va of "
                             f"shape ({m}, 2), got {eeg.shape} and {va.shape}")
        if self._index:
            eeg = np.column_stack([eeg, np.arange(i, i + m, dtype=np.float64)])
        return eeg, va

    def _emit(self, i: int, m: int, timestamps: np.ndarray, prepared=None) -> None:
        eeg, va = self._prepare(i, m) if prepared is None else prepared
        self.eeg_outlet.push(eeg, timestamps)
        self.truth_outlet.push(va, timestamps)

    def _wait_consumers(self, timeout: float) -> None:
        self.eeg_outlet.wait_for_consumers(timeout)

    def _close_outlets(self) -> None:
        self.eeg_outlet.close()
        self.truth_outlet.close()
