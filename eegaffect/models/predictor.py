"""The :class:`Predictor`, the one way to run a trained chain: raw EEG in, per-step valence/arousal out.

``Predictor.predict(recording)`` (offline) and ``Predictor.step(chunk)`` (live) run raw EEG ``(n_times, n_chans)``
through the same :class:`~eegaffect.pipeline.SignalPipeline` and the same frame-by-frame chain, so they return
identical outputs for the same samples, however the live stream is chunked. Outputs are stamped at the end of
their feature window (:meth:`SignalPipeline.frame_times <eegaffect.pipeline.SignalPipeline.frame_times>`), the
time the training targets were taken at (:func:`eegaffect.targets.frame_targets`).

A fused bundle (:mod:`eegaffect.models.fusion`) also takes physiological frames: :attr:`Predictor.modalities`
says which (``["eeg", "ecg", ...]``). Live, ``step(chunk, physio={kind: frame})`` hands on, per kind, the frames
that became available (``(time_s, features)``, ``time_s`` the end of the EEG frame it belongs to on this
predictor's clock, or a list of them) or a missing marker (``None``, or a frame without a finite feature);
offline, ``predict(recording, physio={kind: ...})`` takes each kind's whole frame sequence on the EEG frame clock
(or its raw signal and rate, featurised by the bundle's own physiological pipeline). Both pair frames with EEG
frames by the bundle's as-of rule (EEG frame ``k`` uses physiological frame ``k - lag``), so they agree for any
chunking when the live frames arrive within the lag. A kind that is missing enters as its learned missing
embedding; no value is made up.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from eegaffect.models.bundle import BundleError, load_chain, read_bundle

__all__ = ["Predictor", "Prediction"]


@dataclass
class Prediction:
    """Per-step outputs of a :class:`Predictor`.

    Attributes
    ----------
    time_s : ndarray, shape (n_steps,)
        End time of each feature frame's window in seconds since the start of the stream/recording
        (:func:`eegaffect.pipeline.frame_times`, the time its training target was taken at).
    va : ndarray, shape (n_steps, 2)
        Valence, arousal in [-1, 1] (after the SAC optimiser when the bundle has one).
    base_va : ndarray, shape (n_steps, 2)
        The transformer's valence/arousal before SAC.
    confidence : ndarray, shape (n_steps,)
        ``1 / (1 + sigma)`` from the transformer's variance head, in (0, 1].
    code : ndarray of int, shape (n_steps,)
        The VQ-VAE code ("emotional prototype") of each step; -1 without a quantiser.
    """

    time_s: np.ndarray
    va: np.ndarray
    base_va: np.ndarray
    confidence: np.ndarray
    code: np.ndarray

    def __len__(self) -> int:
        return len(self.time_s)

    @classmethod
    def concatenate(cls, parts: Sequence["Prediction"]) -> "Prediction":
        """Join predictions of consecutive chunks."""
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                     ("time_s", "va", "base_va", "confidence", "code")))


class Predictor:
    """A loaded bundle: raw EEG in, per-step valence/arousal out, offline or live.

    Build it with :meth:`load`.
    """

    def __init__(self, chain, pipeline_config, ch_names: Sequence[str], sfreq: float, meta: dict):
        self.chain = chain
        self.pipeline_config = pipeline_config
        self.ch_names = list(ch_names)
        self.sfreq = float(sfreq)
        self.meta = meta
        self.reset()

    @property
    def modalities(self) -> list[str]:
        """The modalities the bundle reads: ``["eeg"]`` for an EEG-only bundle, ``["eeg", "ecg", ...]`` for a fused
        one (``[kinds...]`` without ``"eeg"`` for a physiology-only one, which still takes the EEG chunks for its
        frame clock).
        """
        spec = self.chain.physio
        if spec is None:
            return ["eeg"]
        return (["eeg"] if spec.use_eeg else []) + spec.kinds

    @property
    def physio_kinds(self) -> list[str]:
        """The physiological kinds the bundle expects (empty for an EEG-only bundle)."""
        return self.chain.kinds

    def physio_feature_names(self, kind: str) -> list[str]:
        """Feature names of the frames of ``kind`` the bundle expects."""
        return list(self._spec(kind).feature_names)

    def _spec(self, kind: str):
        if kind not in self.physio_kinds:
            raise BundleError(f"this bundle expects physiological kinds {self.physio_kinds}, not {kind!r}")
        return self.chain.physio.modality(kind)

    @property
    def n_chans(self) -> int:
        """Number of input channels."""
        return len(self.ch_names)

    @property
    def band_names(self) -> list[str]:
        """Band names of the feature frames."""
        return [b.name for b in self.pipeline_config.features.bands]

    @classmethod
    def load(cls, path: str | Path, ch_names: Sequence[str] | None = None,
             sfreq: float | None = None) -> "Predictor":
        """Load and validate a bundle.

        Parameters
        ----------
        path : str | Path
            Bundle directory.
        ch_names : sequence of str | None
            Channel names of the data that will be fed (e.g. the LSL stream's); checked against the bundle's,
            case-insensitively and in order.
        sfreq : float | None
            Sampling rate of the data that will be fed; the pipeline resamples it to the bundle's processing rate.
            None: the bundle's training input rate.

        Returns
        -------
        predictor : Predictor

        Raises
        ------
        BundleError
            Missing directory or file, wrong format or version, checksum mismatch, channel mismatch.
        """
        path = Path(path)
        doc = read_bundle(path, ch_names)
        if sfreq is not None and not float(sfreq) > 0:
            raise BundleError(f"sfreq must be positive, got {sfreq}")
        top = max((float(b["high_hz"]) for b in doc["bands"] if isinstance(b, dict) and "high_hz" in b), default=0.0)
        if sfreq is not None and float(sfreq) / 2 < top:  # resampling up cannot create the missing band
            raise BundleError(f"a stream at {float(sfreq):g} Hz carries frequencies up to {float(sfreq) / 2:g} Hz, "
                              f"but the model in {path} uses bands up to {top:g} Hz (trained at {doc['sfreq']:g} "
                              f"Hz): it needs a stream at {2 * top:g} Hz or more, or a model trained on lower bands")
        return cls._build(path, doc, float(sfreq) if sfreq is not None else float(doc["sfreq"]))

    @classmethod
    def _build(cls, path: Path, doc: dict, sfreq: float) -> "Predictor":
        chain, config = load_chain(path, doc)
        return cls(chain, config.pipeline, doc["ch_names"], sfreq, doc)

    def _new_pipeline(self):
        from eegaffect.pipeline import SignalPipeline

        return SignalPipeline(self.pipeline_config, n_chans=self.n_chans, sfreq_in=self.sfreq)

    def reset(self) -> None:
        """Start a new live stream (fresh filters, feature windows, model state, no physiological frames)."""
        from eegaffect.models.fusion import AsOfBuffer

        self._pipeline = self._new_pipeline()
        self._stream = self.chain.stream()
        self._n_frames = 0
        spec = self.chain.physio
        self._asof = {} if spec is None else {
            m.kind: AsOfBuffer(m.lag, spec.max_late_frames, spec.hop_s, m.n_features) for m in spec.modalities}

    def _check(self, x: np.ndarray, what: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_chans:
            raise BundleError(f"{what}: expected shape (n_times, {self.n_chans}) with the bundle's channels "
                              f"{self.ch_names[:3]}..., got {x.shape}")
        return np.ascontiguousarray(x, dtype=np.float64)

    def _frames_to_prediction(self, frames: np.ndarray, stream, first: int, physio=None, drop=()) -> Prediction:
        frames = np.asarray(frames).reshape(-1, self.chain.n_chans, self.chain.n_bands)
        # the pipeline owns frame times (window ends); frames first.. of this stream
        time_s = self._pipeline.frame_times(len(frames), first=first)
        if callable(physio):  # live: each frame's physiological rows from the as-of buffers
            physio = physio(time_s)
        out = stream.step(frames, physio, drop) if (physio is not None or drop) else stream.step(frames)
        return Prediction(time_s=time_s, va=out["va"], base_va=out["base_va"],
                          confidence=out["confidence"], code=out["code"])

    def step(self, chunk: np.ndarray, physio: Mapping | None = None) -> Prediction:
        """Live: feed the next raw samples; returns the steps completed by this chunk (possibly none).

        Parameters
        ----------
        chunk : ndarray, shape (n_times, n_chans)
            Next samples at ``sfreq``, channels in the bundle's order.
        physio : mapping of str to frame | None
            Fused bundles: per expected kind (:attr:`physio_kinds`), what became available since the last call:
            a frame ``(time_s, features)`` (``time_s``: end of the EEG frame it belongs to, in seconds on this
            predictor's clock, as :attr:`Prediction.time_s`; ``features``: shape (n_features,); one without a
            finite feature makes the EEG frames that use it miss the kind), a list of frames, or a missing marker
            (``None`` or an all-NaN array without a time: the kind is missing from now on, until a newer frame
            comes). A kind left out: nothing new. The EEG frames of this chunk use the frames by
            the as-of rule (module docstring); a kind without a usable frame enters as its missing embedding.

        Returns
        -------
        prediction : Prediction
            One row per feature frame completed by this chunk.
        """
        chunk = self._check(chunk, "step(chunk)")
        if physio is not None:
            self._take_physio(physio)
        frames = self._pipeline.step(chunk)
        rows = (lambda times: {k: np.stack([b.row_for(t) for t in times]) if len(times) else
                               np.zeros((0, b.n_features)) for k, b in self._asof.items()}) if self._asof else None
        pred = self._frames_to_prediction(frames, self._stream, self._n_frames, rows)
        self._n_frames += len(pred)
        return pred

    def _take_physio(self, physio: Mapping) -> None:
        if not isinstance(physio, Mapping):
            raise BundleError(f"physio: expected a mapping kind -> frame(s), got {type(physio).__name__}")
        if not self._asof and physio:
            raise BundleError(f"this bundle is EEG-only; got physiological frames for {sorted(physio)}")
        for kind, value in physio.items():
            self._spec(kind)
            buf = self._asof[kind]
            for frame in _frames_of(kind, value, buf.n_features):
                if frame is None:
                    buf.clear()
                else:
                    buf.add(*frame)

    def predict(self, recording: np.ndarray, physio: Mapping | None = None, drop: Sequence[str] = ()) -> Prediction:
        """Offline: a whole recording through the same pipeline and frame-by-frame chain as :meth:`step`.

        Parameters
        ----------
        recording : ndarray, shape (n_times, n_chans)
        physio : mapping of str to ndarray | tuple | None
            Fused bundles: per expected kind, its frames on the EEG frame clock, shape (n_frames, n_features)
            (row ``j`` ends where EEG frame ``j`` ends; NaN rows: missing), or its raw signal as
            ``(samples (n_times,), sfreq)`` starting with the recording, featurised by the bundle's physiological
            pipeline (:meth:`physio_frames`). A kind left out is missing throughout.
        drop : sequence of str
            Modalities forced missing (``"eeg"`` or kinds; the test-time ablation).

        Returns
        -------
        prediction : Prediction
            Identical to concatenating :meth:`step` over any chunking of the same samples from a fresh start
            (with the same physiological frames handed on by the time the as-of rule needs them).
        """
        recording = self._check(recording, "predict(recording)")
        frames = self._new_pipeline().process(recording)
        return self._frames_to_prediction(frames, self.chain.stream(), 0, self._asof_rows(physio, len(frames)),
                                          tuple(drop))

    def predict_features(self, features: np.ndarray, physio: Mapping | None = None,
                         drop: Sequence[str] = ()) -> Prediction:
        """Offline from precomputed feature frames (n_steps, n_chans, n_bands) through the same chain (``physio``,
        ``drop``: as in :meth:`predict`).
        """
        n = np.asarray(features).shape[0]
        return self._frames_to_prediction(features, self.chain.stream(), 0, self._asof_rows(physio, n), tuple(drop))

    def physio_frames(self, kind: str, samples: np.ndarray, sfreq: float) -> np.ndarray:
        """Frames of a raw physiological signal by the bundle's own physiological pipeline (the live stage
        settings, on the EEG frame clock), shape (n_frames, n_features).
        """
        from eegaffect.physio import PhysioPipeline
        from eegaffect.physio.config import FrameConfig, PhysioConfig

        self._spec(kind)
        f = self.pipeline_config.features
        config = PhysioConfig.model_validate(self.chain.physio.physio_config).model_copy(
            update={"frames": FrameConfig(window_s=f.window_s, hop_s=f.hop_s)})
        pipe = PhysioPipeline(config, kind, float(sfreq))
        names = list(pipe.feature_names)
        if names != self.physio_feature_names(kind):
            raise BundleError(f"{kind}: the physiological pipeline gives features {names}, the bundle expects "
                              f"{self.physio_feature_names(kind)}")
        return pipe.process(np.asarray(samples, np.float64).reshape(-1))

    def _asof_rows(self, physio: Mapping | None, n_steps: int):
        from eegaffect.models.fusion import asof_rows

        if not self._asof:
            if physio:
                raise BundleError(f"this bundle is EEG-only; got physiological frames for {sorted(physio)}")
            return None
        rows = {}
        for kind, value in (physio or {}).items():
            spec = self._spec(kind)
            if isinstance(value, tuple):
                frames = self.physio_frames(kind, value[0], value[1])
            else:
                frames = np.asarray(value, np.float64)
                if frames.ndim != 2 or frames.shape[1] != spec.n_features:
                    raise BundleError(f"physio[{kind!r}]: expected frames of shape (n_frames, {spec.n_features}) "
                                      f"or (samples, sfreq), got shape {frames.shape}")
            rows[kind] = asof_rows(frames, n_steps, spec.lag)
        return rows


def _frames_of(kind: str, value, n_features: int) -> list:
    """``(time_s, row)`` frames or None (missing) of one kind's ``step(physio=...)`` value."""
    if value is None:
        return [None]
    if isinstance(value, np.ndarray) and value.ndim == 1:
        if not np.isfinite(value).any():
            return [None]
        raise BundleError(f"physio[{kind!r}]: a frame needs its time: give (time_s, features) (time_s: the end of "
                          "the EEG frame it belongs to, on the predictor's clock), or None / a NaN frame for missing")
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if item is None:
            out.append(None)
            continue
        if not (isinstance(item, tuple) and len(item) == 2):
            raise BundleError(f"physio[{kind!r}]: expected (time_s, features) frames, got {type(item).__name__}")
        t, row = float(item[0]), np.asarray(item[1], np.float64).reshape(-1)
        if row.shape != (n_features,):
            raise BundleError(f"physio[{kind!r}]: expected {n_features} features per frame, got {row.shape[0]}")
        out.append((t, row))  # a frame without a finite feature is kept: the EEG frames that use it miss the kind
    return out
