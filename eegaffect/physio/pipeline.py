"""The signal path of one physiological stream: a :class:`~eegaffect.kernels.physio_base.PhysioStage` and its
windowed features on the EEG frame clock (:class:`PhysioPipeline`).

Examples
--------
>>> pipe = PhysioPipeline(PhysioConfig(), "ecg", sfreq=1000.0)
>>> frames = pipe.step(chunk)        # (n_frames, n_features), often 0 frames  # doctest: +SKIP
>>> frames = pipe.process(recording)  # the whole recording, flushed at its end  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import importlib
import numbers
from typing import NamedTuple

import numpy as np

from eegaffect.errors import UserInputError
from eegaffect.physio.config import KINDS, PhysioConfig

__all__ = ["PhysioPipeline", "PhysioResult", "StageUnavailableError", "load_stage_class"]


class StageUnavailableError(UserInputError):
    """The stage of a signal kind is not part of this installation (its kernel module is missing)."""


class PhysioResult(NamedTuple):
    """Everything :meth:`PhysioPipeline.run` computes over one recording.

    Attributes
    ----------
    frames : ndarray, shape (n_frames, n_features)
    times : ndarray, shape (n_frames,)
        End time of each frame's window in seconds from the first sample.
    output : StageOutput
        The stage's continuous outputs (n_times, n_continuous), events and quality flags of the whole recording.
    nan_reasons : collections.Counter
        ``"feature: reason"`` -> number of NaN values.
    feature_names : tuple of str
        The stage's names of the columns of ``frames`` (the selected features, :attr:`PhysioPipeline.selected`).
    """

    frames: np.ndarray
    times: np.ndarray
    output: tuple
    nan_reasons: collections.Counter
    feature_names: tuple = ()


def load_stage_class(kind: str):
    """The stage class of ``kind``, or a :class:`StageUnavailableError` naming the missing module.

    Parameters
    ----------
    kind : str
        One of ``ecg, ppg, eda, resp, temp, emg``.

    Returns
    -------
    cls : type of PhysioStage
    """
    from eegaffect.kernels.physio_base import STAGE_MODULES, stage_class

    if kind not in KINDS:
        raise UserInputError(f"unknown physiological signal kind {kind!r}; expected one of {list(KINDS)}")
    module = f"eegaffect.kernels.{STAGE_MODULES[kind]}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        raise StageUnavailableError(f"the {kind!r} stage is not available in this installation: module {module} "
                                    f"(kernels/{STAGE_MODULES[kind]}.py) is missing") from None
    try:
        return stage_class(kind)
    except LookupError as exc:
        raise StageUnavailableError(str(exc)) from None


class PhysioPipeline:
    """One physiological stream: its stage, then its features on the EEG frame clock.

    Frame ``k`` ends at ``t_k = k * hop_s + window_s`` seconds from the stream's first sample (the EEG pipeline's
    frame ends for the same ``window_s`` / ``hop_s``), i.e. at sample ``e_k = round(t_k * sfreq)``; its features
    are computed over samples ``[max(0, e_k - L), e_k)`` with ``L = round(max(window_s, lookback_s) * sfreq)``
    (with ``lookback_s`` null, exactly the frame's window ``[k * hop_s, k * hop_s + window_s)``). The kind's
    ``features`` (config) selects the columns, in the stage's order (null: all of the stage's features). It is emitted
    by the :meth:`step` that brings the stream to ``e_k + decision_delay`` samples, so every event of the window
    has been decided. :meth:`flush` emits the frames whose window the stream has reached but whose decision
    delay has not passed (the end of a recording); :meth:`process` is a fresh stream, one step and a flush, so it
    gives as many frames as :class:`~eegaffect.pipeline.SignalPipeline` over the same duration, and equals the
    concatenated outputs of :meth:`step` + :meth:`flush` on any chunking.

    Parameters
    ----------
    config : PhysioConfig
        Frame clock and per-kind stage settings.
    kind : str
        Signal kind (``ecg``, ``ppg``, ``eda``, ``resp``, ``temp``, ``emg``).
    sfreq : float
        Rate of the stream in Hz.
    stage_cls : type of PhysioStage | None
        The stage class; None takes the kind's registered class
        (:func:`~eegaffect.kernels.physio_base.stage_class`). Any class honouring the contract works.

    Attributes
    ----------
    stage : PhysioStage
        The stage.
    nan_reasons : collections.Counter
        ``"feature: reason"`` -> number of NaN feature values emitted for that reason.
    """

    def __init__(self, config: PhysioConfig, kind: str, sfreq: float, stage_cls=None):
        if not isinstance(config, PhysioConfig):
            raise TypeError(f"config must be a PhysioConfig, got {type(config).__name__}")
        if isinstance(sfreq, bool) or not isinstance(sfreq, numbers.Real) or not np.isfinite(sfreq) or sfreq <= 0:
            raise ValueError(f"sfreq must be a finite number > 0 (Hz), got {sfreq!r}")
        self.config = config
        self.kind = kind
        self.sfreq = float(sfreq)
        if stage_cls is None:
            stage_cls = load_stage_class(kind)
        elif kind not in KINDS:
            raise UserInputError(f"unknown physiological signal kind {kind!r}; expected one of {list(KINDS)}")
        self._cls = stage_cls
        section = config.stage(kind)
        self._params = dict(section.params)
        self.stage = self._make_stage()
        self._columns = self._select(section.features)
        self.window_s = float(config.frames.window_s)
        self.hop_s = float(config.frames.hop_s)
        self.lookback_s = max(self.window_s, section.lookback_s or 0.0)
        self._lookback = max(1, int(round(self.lookback_s * self.sfreq)))
        self._n_cont = len(self._cls.continuous_names)
        self.reset()

    def _make_stage(self):
        from eegaffect.config import ConfigError

        try:
            return self._cls(self.sfreq, **self._params)
        except TypeError as exc:
            raise ConfigError(f"physio config {self.kind}.params does not fit {self._cls.__name__}: {exc}") from None
        except ValueError as exc:  # a parameter value, or the rate, outside what the stage accepts
            given = f" and {self.kind}.params {self._params}" if self._params else ""
            raise ConfigError(f"cannot build {self._cls.__name__} at {self.sfreq:g} Hz{given}: {exc}") from None

    def _select(self, features: list[str] | None) -> np.ndarray:
        """Indices into the stage's features of the selected ones (``features``: stage or column names)."""
        from eegaffect.config import ConfigError

        names = tuple(self.stage.feature_names)  # the instance's: a stage parameter may add features (EDA slope)
        if features is None:
            return np.arange(len(names))
        columns = self._column_names(names)
        unknown = [f for f in features if f not in names and f not in columns]
        if unknown:
            raise ConfigError(f"physio config {self.kind}.features: unknown {unknown}; the {self.kind} stage "
                              f"({self._cls.__name__}"
                              f"{f' with params {self._params}' if self._params else ''}) has {list(names)} (a stage "
                              f"parameter may add features: EDA params slope: true adds scl_slope)")
        wanted = {names.index(f) if f in names else columns.index(f) for f in features}
        if len(wanted) < len(features):
            raise ConfigError(f"physio config {self.kind}.features names a feature twice: {features}")
        return np.array(sorted(wanted), dtype=np.intp)

    def _column_names(self, names) -> tuple[str, ...]:
        prefix = f"{self.kind}_"
        return tuple(name if name.startswith(prefix) else prefix + name for name in names)

    # ------------------------------------------------------------------------------------------------------------
    @property
    def selected(self) -> tuple[str, ...]:
        """The stage's names of the computed features (the kind's ``features``, in the stage's order)."""
        names = self.stage.feature_names
        return tuple(names[i] for i in self._columns)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the feature columns, ``{kind}_{feature}`` (a name that already starts with ``{kind}_`` is kept):
        the selected features (config ``features``) in the stage's order.
        """
        return self._column_names(self.selected)

    @property
    def decision_delay(self) -> int:
        """The stage's decision delay in samples."""
        return int(self.stage.decision_delay)

    @property
    def n_frames(self) -> int:
        """Frames emitted since the last reset."""
        return self._next_frame

    @property
    def frame_times(self) -> np.ndarray:
        """End times (s) of the frames emitted since the last reset, shape (n_frames,)."""
        return self._frame_end_s(np.arange(self._next_frame))

    def _frame_end_s(self, k):
        return np.asarray(k) * self.hop_s + self.window_s

    def _frame_end(self, k: int) -> int:
        return int(round((k * self.hop_s + self.window_s) * self.sfreq))

    def reset(self) -> "PhysioPipeline":
        """Start a new stream. Returns ``self``."""
        self.stage.reset()
        self.nan_reasons: collections.Counter = collections.Counter()
        self._n_seen = 0
        self._next_frame = 0
        self._buf_start = 0  # absolute index of row 0 of the buffers
        self._buf_len = 0
        self._cont = np.empty((0, self._n_cont))
        self._qual = np.empty(0, np.uint8)
        self._events = np.empty(0, self._cls.event_dtype)
        return self

    def step(self, chunk) -> np.ndarray:
        """Process the next chunk; return the frames it completes.

        Parameters
        ----------
        chunk : array-like, shape (n_times,) or (n_times, 1)
            Samples at ``sfreq`` (NaN marks missing samples); may be empty.

        Returns
        -------
        frames : ndarray, shape (n_frames, n_features)
            float64, NaN where a feature cannot be computed (reasons counted in :attr:`nan_reasons`).
        """
        out = self.stage.step(chunk)
        self._append(out)
        return self._emit(self._n_seen - self.decision_delay)

    def flush(self) -> np.ndarray:
        """Emit the frames whose window the stream has reached, without waiting for the decision delay (the end
        of a recording: beats of the last ``decision_delay`` samples are not decided and do not count).

        Returns
        -------
        frames : ndarray, shape (n_frames, n_features)
        """
        return self._emit(self._n_seen)

    def process(self, x) -> np.ndarray:
        """Features of a whole recording (a fresh stream, one step, a flush; this object's state is unchanged).

        Parameters
        ----------
        x : array-like, shape (n_times,) or (n_times, 1)

        Returns
        -------
        frames : ndarray, shape (n_frames, n_features)
        """
        return self.run(x).frames

    def run(self, x) -> PhysioResult:
        """Like :meth:`process`, also returning the frame times and the stage's outputs.

        Parameters
        ----------
        x : array-like, shape (n_times,) or (n_times, 1)

        Returns
        -------
        result : PhysioResult
        """
        fresh = PhysioPipeline(self.config, self.kind, self.sfreq, self._cls)
        out = fresh.stage.process(x)
        fresh._append(out, keep_all=True)
        frames = np.concatenate([fresh._emit(fresh._n_seen - fresh.decision_delay), fresh.flush()])
        return PhysioResult(frames, fresh.frame_times, out, fresh.nan_reasons, fresh.selected)

    # ------------------------------------------------------------------------------------------------------------
    def _append(self, out, keep_all: bool = False) -> None:
        cont = np.asarray(out.continuous, dtype=np.float64).reshape(-1, self._n_cont)
        n = cont.shape[0]
        end = self._buf_len + n
        if end > self._cont.shape[0]:
            # drop what no future frame needs, then grow geometrically (amortised O(1) per sample)
            keep_from = self._frame_end(self._next_frame) - self._lookback
            drop = 0 if keep_all else min(max(0, keep_from - self._buf_start), self._buf_len)
            live = self._buf_len - drop
            cap = max(2 * (live + n), 1024)
            cont_buf = np.empty((cap, self._n_cont))
            qual_buf = np.empty(cap, np.uint8)
            cont_buf[:live] = self._cont[drop: self._buf_len]
            qual_buf[:live] = self._qual[drop: self._buf_len]
            self._cont, self._qual = cont_buf, qual_buf
            self._buf_start += drop
            self._buf_len = live
            end = live + n
            if len(self._events):
                self._events = self._events[self._events["sample"] >= self._buf_start]
        self._cont[self._buf_len: end] = cont
        self._qual[self._buf_len: end] = out.quality
        self._buf_len = end
        self._n_seen += n
        if len(out.events):
            self._events = np.concatenate([self._events, out.events])

    def _emit(self, reached: int) -> np.ndarray:
        rows = []
        names, columns = self.selected, self._columns
        while True:
            end = self._frame_end(self._next_frame)
            if end > reached or end > self._n_seen:
                break
            start = max(0, end - self._lookback)
            lo, hi = start - self._buf_start, end - self._buf_start
            ev = self._events
            ev = ev[(ev["sample"] >= start) & (ev["sample"] < end)] if len(ev) else ev
            feats = self.stage.window_features(ev, self._cont[lo:hi], self._qual[lo:hi], start, end)
            values = np.asarray(feats.values, dtype=np.float64)[columns]
            reasons = [feats.reasons[i] for i in columns]
            for name, value, reason in zip(names, values, reasons):
                if not np.isfinite(value):
                    self.nan_reasons[f"{name}: {reason or 'not computable'}"] += 1
            rows.append(values)
            self._next_frame += 1
        if not rows:
            return np.empty((0, len(names)))
        return np.vstack(rows)

    def __repr__(self) -> str:
        return (f"PhysioPipeline(kind={self.kind!r}, sfreq={self.sfreq:g}, window_s={self.window_s:g}, "
                f"hop_s={self.hop_s:g}, lookback_s={self.lookback_s:g}, decision_delay={self.decision_delay})")
