"""The :class:`Predictor`, the one way to run a trained chain: raw EEG in, per-step valence/arousal out.

``Predictor.predict(recording)`` (offline) and ``Predictor.step(chunk)`` (live) run raw EEG ``(n_times, n_chans)``
through the same :class:`~eegaffect.pipeline.SignalPipeline` and the same frame-by-frame chain, so they return
identical outputs for the same samples, however the live stream is chunked. Outputs are stamped at the end of
their feature window (:meth:`SignalPipeline.frame_times <eegaffect.pipeline.SignalPipeline.frame_times>`), the
time the training targets were taken at (:func:`eegaffect.targets.frame_targets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

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
        return cls._build(path, doc, float(sfreq) if sfreq is not None else float(doc["sfreq"]))

    @classmethod
    def _build(cls, path: Path, doc: dict, sfreq: float) -> "Predictor":
        chain, config = load_chain(path, doc)
        return cls(chain, config.pipeline, doc["ch_names"], sfreq, doc)

    def _new_pipeline(self):
        from eegaffect.pipeline import SignalPipeline

        return SignalPipeline(self.pipeline_config, n_chans=self.n_chans, sfreq_in=self.sfreq)

    def reset(self) -> None:
        """Start a new live stream (fresh filters, feature windows, model state)."""
        self._pipeline = self._new_pipeline()
        self._stream = self.chain.stream()
        self._n_frames = 0

    def _check(self, x: np.ndarray, what: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_chans:
            raise BundleError(f"{what}: expected shape (n_times, {self.n_chans}) with the bundle's channels "
                              f"{self.ch_names[:3]}..., got {x.shape}")
        return np.ascontiguousarray(x, dtype=np.float64)

    def _frames_to_prediction(self, frames: np.ndarray, stream, first: int) -> Prediction:
        frames = np.asarray(frames).reshape(-1, self.chain.n_chans, self.chain.n_bands)
        out = stream.step(frames)
        # the pipeline owns frame times (window ends); frames first.. of this stream
        time_s = self._pipeline.frame_times(len(frames), first=first)
        return Prediction(time_s=time_s, va=out["va"], base_va=out["base_va"],
                          confidence=out["confidence"], code=out["code"])

    def step(self, chunk: np.ndarray) -> Prediction:
        """Live: feed the next raw samples; returns the steps completed by this chunk (possibly none).

        Parameters
        ----------
        chunk : ndarray, shape (n_times, n_chans)
            Next samples at ``sfreq``, channels in the bundle's order.

        Returns
        -------
        prediction : Prediction
            One row per feature frame completed by this chunk.
        """
        chunk = self._check(chunk, "step(chunk)")
        frames = self._pipeline.step(chunk)
        pred = self._frames_to_prediction(frames, self._stream, self._n_frames)
        self._n_frames += len(pred)
        return pred

    def predict(self, recording: np.ndarray) -> Prediction:
        """Offline: a whole recording through the same pipeline and frame-by-frame chain as :meth:`step`.

        Parameters
        ----------
        recording : ndarray, shape (n_times, n_chans)

        Returns
        -------
        prediction : Prediction
            Identical to concatenating :meth:`step` over any chunking of the same samples from a fresh start.
        """
        recording = self._check(recording, "predict(recording)")
        frames = self._new_pipeline().process(recording)
        return self._frames_to_prediction(frames, self.chain.stream(), 0)

    def predict_features(self, features: np.ndarray) -> Prediction:
        """Offline from precomputed feature frames (n_steps, n_chans, n_bands) through the same chain."""
        return self._frames_to_prediction(features, self.chain.stream(), 0)
