"""A physiological device's features on frame ends given by the live session (:class:`FramedPhysioPipeline`).

Frames
------
:class:`~eegaffect.live.physio_inputs.PhysioInput` feeds its samples to a :class:`~eegaffect.physio.PhysioPipeline`
in order, on the device's own (dejittered) stamps.
Lost samples (a step of the stamps beyond the stream's gap rule) and a silent device (no sample for
``stall_s``) are filled with NaN, the stages' missing-sample marker, so the device's sample count stays on its
clock; NaN samples flag the windows they fall in, whose features come out NaN with a reason. Nothing is made up,
and samples that arrive for time already filled are dropped and counted (``late``). Frame ``k`` of every device
ends at the EEG's ``T_k``: at the last device sample whose session time is at or before ``T_k`` (so a device's
frames end within one of its sample periods of the EEG's), and is emitted once the device's decision delay has
passed.
"""

from __future__ import annotations

import numpy as np

from eegaffect.physio.pipeline import PhysioPipeline

__all__ = ["FramedPhysioPipeline"]


class FramedPhysioPipeline(PhysioPipeline):
    """A :class:`~eegaffect.physio.PhysioPipeline` whose frame ends are given (sample indices), not computed from
    the frame clock: frame ``k`` ends at ``ends[k]`` once :meth:`add_end` gave it.

    Parameters
    ----------
    config, kind, sfreq
        As :class:`~eegaffect.physio.PhysioPipeline`.
    margin_s : float
        Seconds of samples (besides the lookback) kept for frame ends given late.
    """

    def __init__(self, config, kind, sfreq, margin_s: float = 30.0):
        self._ends: list[int] = []
        self._emitting = False
        #: called with every stage output after it is buffered (``tap(out)``; the dashboard's view), or None
        self.tap = None
        super().__init__(config, kind, sfreq)
        self._margin = int(round(margin_s * self.sfreq))

    def _append(self, out, keep_all: bool = False) -> None:
        super()._append(out, keep_all)
        if self.tap is not None:
            self.tap(out)

    def continuous_at(self, samples, column: int) -> np.ndarray:
        """The stage's continuous output ``column`` at absolute ``samples`` (NaN where no longer buffered)."""
        samples = np.asarray(samples, dtype=np.int64)
        i = samples - self._buf_start
        ok = (i >= 0) & (i < self._buf_len)
        values = np.full(samples.shape, np.nan)
        values[ok] = self._cont[i[ok], column]
        return values

    def reset(self):
        """Forget all state, the frame ends assigned so far included."""
        super().reset()
        self._ends = []
        return self

    @property
    def n_seen(self) -> int:
        """Samples fed so far."""
        return self._n_seen

    @property
    def oldest_kept(self) -> int:
        """Index of the oldest sample still buffered (a frame must not start before it)."""
        return self._buf_start

    @property
    def ends(self) -> list[int]:
        """The frame ends given so far (sample indices, exclusive)."""
        return list(self._ends)

    def add_end(self, end: int) -> None:
        """The end (sample index, exclusive) of the next frame."""
        self._ends.append(int(end))

    def _frame_end(self, k: int) -> int:
        if k < len(self._ends):
            return self._ends[k]
        if self._emitting:  # not given yet: nothing to emit
            return np.iinfo(np.int64).max
        return max(0, self._n_seen - self._margin)  # trimming keeps margin + lookback samples

    def _emit(self, reached: int) -> np.ndarray:
        self._emitting = True
        try:
            return super()._emit(reached)
        finally:
            self._emitting = False
