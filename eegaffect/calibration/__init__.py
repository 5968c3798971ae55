"""Per-user calibration of a trained bundle: a few minutes of labelled EEG adapt it to one person and session.

Affect models transfer poorly across people and sessions (electrode gains, alpha frequency, how strongly a person
reacts). Calibration keeps what the chain learned (the VQ-VAE's prototypes, the transformer's temporal model, the
SAC policy) and re-fits the parts that carry the person-specific scale:

1. **normalisation statistics**: the per-(channel, band) mean and standard deviation of the feature frames are
   recomputed on the calibration frames (per-subject feature normalisation), so the network sees the new
   person's features on the scale it was trained on;
2. **the readout**: the transformer's valence/arousal and log-variance heads are fitted on the calibration frames
   by the training loss (MSE + (1 - CCC) + Gaussian NLL), from the parent's weights and pulled back towards them
   by an L2 anchor, while the trunk is frozen. With ``full=True`` every weight of the VQ-VAE encoder and the
   transformer is fine-tuned instead (the codebook is kept; small learning rate, same anchor);
3. **the output smoother's time constants**: scaled until the output on the calibration frames moves at most
   ``match_rate`` times as fast as the labels (the refitted readout can pass more frame-to-frame noise).

A **fused** bundle (EEG + physiological devices, :mod:`eegaffect.models.fusion`) is calibrated on its devices too:
their streams are collected with the EEG, featurised by the bundle's physiological pipeline and paired with the EEG
frames by its as-of rule (:func:`paired_frames`); the physiological features' means come from the calibration
data as well, and the readout is fitted on the fused latent. The result stays a fused bundle (format 2).

Calibration data are raw EEG with a valence/arousal label track (``time_s, valence, arousal``), from a live LSL
stream (:func:`collect_live`; labels from the simulator's ``{name}-truth`` stream, another stream of type
``AffectTruth`` or a CSV) or a recording (:func:`collect_recording`; labels from the recording's ground-truth
stream, a CSV beside it or a CSV given). They go through the bundle's own :class:`~eegaffect.pipeline.SignalPipeline`
and are paired with labels at the time stamps the :class:`~eegaffect.models.predictor.Predictor` gives its outputs,
so calibration sees exactly what a live session will feed the model.

:func:`calibrate_bundle` writes a **new** bundle (it refuses an existing non-empty folder) whose ``bundle.json``
has a ``calibration`` record: source, labels, duration, frames used, date, the parent bundle's path and the
sha256 of its ``bundle.json`` (which pins the parent's weight checksums), what was adapted, and the CCC on the
calibration frames before and after. The benchmark's ``loso-calibrated`` protocol calls the same
:func:`calibrate_chain` (see :mod:`eegaffect.benchmark.protocols`).

The package: :mod:`~eegaffect.calibration.base` (settings, data, error), :mod:`~eegaffect.calibration.adapt`
(the adaptation and the calibrated bundle) and :mod:`~eegaffect.calibration.pairing` (raw signals and a label track
to labelled frames), :mod:`~eegaffect.calibration.collect` (the calibration data from a recording or a live stream,
and scoring on a recording); every name is importable from here.
"""


from __future__ import annotations

from eegaffect.calibration.adapt import (
    SMOOTH_FACTORS,
    calibrate_bundle,
    calibrate_chain,
    check_out,
    parent_checksum,
)
from eegaffect.calibration.base import (
    DEFAULT_LR,
    DEFAULT_STEPS,
    MIN_FRAMES,
    CalibrateConfig,
    CalibrationData,
    CalibrationError,
)
from eegaffect.calibration.collect import (
    _map_channels,  # noqa: F401 - importable from here as before the split (tests)
    collect_live,
    collect_recording,
    read_labels_csv,
    recorded_devices,
    score_recording,
)
from eegaffect.calibration.pairing import device_signal, frames_with_labels, paired_frames

__all__ = [
    "DEFAULT_LR",
    "DEFAULT_STEPS",
    "MIN_FRAMES",
    "SMOOTH_FACTORS",
    "CalibrateConfig",
    "CalibrationData",
    "CalibrationError",
    "calibrate_bundle",
    "calibrate_chain",
    "collect_live",
    "collect_recording",
    "device_signal",
    "frames_with_labels",
    "paired_frames",
    "recorded_devices",
    "score_recording",
    "check_out",
    "parent_checksum",
    "read_labels_csv",
]
