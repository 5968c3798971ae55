"""Staged, seeded, resumable training of the chain, and bundles from datasets or the simulator.

Stages (each one checkpointed to ``{out}/checkpoints/``, resumable with ``resume=True``):

1. ``vqvae``: the causal VQ-VAE on random crops of normalised feature sequences (reconstruction + commitment);
2. ``transformer``: masked-step pretraining on the frozen VQ-VAE latents (skipped when
   ``transformer.mask_pretrain`` is false), then V/A (+ class) fine-tuning;
3. ``sac``: the SAC trajectory optimiser on held-out training trials (``sac.holdout_fraction`` of the training
   trials are kept out of fine-tuning so the policy learns to correct the transformer's *generalisation*
   errors, not its near-perfect fit on the trials it was trained on); then (``sac.refit_steps``) the transformer
   continues fine-tuning on all training trials at a lower learning rate, so the held-out trials are not lost to
   it (the policy then sees slightly drifted contexts); skipped when ``sac.enabled`` is false.

Everything is seeded (torch, crop sampling, SAC) and, with ``deterministic: true`` on CPU, runs under
``torch.use_deterministic_algorithms``: a seeded run repeats exactly. The device is CUDA when present
(``device: auto``); ``amp: true`` runs the forward passes under bfloat16 autocast. Under ``torchrun`` (or any
initialised ``torch.distributed`` group) the VQ-VAE and transformer train with DistributedDataParallel: every
rank samples its own crops (seed + rank), gradients are averaged, the EMA codebook statistics are all-reduced;
rank 0 trains SAC and writes checkpoints and the bundle.

Per-step targets are paired with frames by the project's one rule (:func:`eegaffect.targets.frame_targets` at
:func:`eegaffect.pipeline.frame_times`, the window END), the time the :class:`~eegaffect.models.predictor.Predictor`
stamps its outputs with.

Layout: schemas in :mod:`~eegaffect.models.config` (light, no torch), data and targets in
:mod:`~eegaffect.models.data`, the loop in :mod:`~eegaffect.models.loop`, checkpoints in
:mod:`~eegaffect.models.checkpoints`, the stages in :mod:`~eegaffect.models.stages`, DDP/device/threads in
:mod:`~eegaffect.models.runtime`, the demo recipe in :mod:`~eegaffect.models.demo`, fitting the chain in
:mod:`~eegaffect.models.fit`. This module holds :func:`train_bundle` (dataset in, bundle out) and re-exports
the public names of the others.
"""

from __future__ import annotations

from pathlib import Path

from eegaffect.models.checkpoints import CHECKPOINT_CONFIG, check_checkpoints
from eegaffect.models.config import (
    STAGES,
    DataConfig,
    SACConfig,
    TrainConfig,
    TransformerConfig,
    VQVAEConfig,
    model_transformer_kwargs,
    model_vqvae_kwargs,
)
from eegaffect.models.data import Sequences, frame_targets, load_sequences, trial_targets
from eegaffect.models.demo import DEMO_RECIPE, demo_config, demo_sessions, train_demo_bundle
from eegaffect.models.fit import fit_chain, stage_list, train_and_save

__all__ = ["VQVAEConfig", "TransformerConfig", "SACConfig", "DataConfig", "TrainConfig", "Sequences",
           "fit_chain", "check_checkpoints", "load_sequences", "train_bundle", "train_demo_bundle", "demo_config",
           "demo_sessions", "DEMO_RECIPE", "STAGES", "CHECKPOINT_CONFIG", "model_vqvae_kwargs",
           "model_transformer_kwargs", "trial_targets", "frame_targets", "train_and_save"]


def train_bundle(data_dir: str | Path, out: str | Path, config: TrainConfig | None = None, stage: str = "all",
                 resume: bool = False, progress_bar: bool = True) -> Path:
    """Train on a dataset and write a bundle (see :mod:`eegaffect.models.bundle`); with ``fusion.physio`` a fused
    bundle from a multimodal dataset's EEG and physiological signals (:func:`load_sequences`).

    Parameters
    ----------
    data_dir : str | Path
        Dataset root.
    out : str | Path
        Bundle directory (checkpoints go to ``out/checkpoints``).
    config : TrainConfig | None
        Training config (None: the packaged ``configs/train.yaml``).
    stage : {"all", "vqvae", "transformer", "sac"}
        Stage to run; a single stage needs the earlier ones' checkpoints. The bundle is written once the last
        stage is available.
    resume : bool
        Continue from the checkpoints in ``out/checkpoints``.
    progress_bar : bool
        Show progress bars.

    Returns
    -------
    out : Path
        The bundle directory.
    """
    from eegaffect.config import load_config

    if stage not in STAGES:
        raise ValueError(f"stage must be one of {list(STAGES)}, got {stage!r}")
    config = config if config is not None else load_config(TrainConfig, default="train")
    out = Path(out)
    if stage != "all" or resume:  # missing or mismatched checkpoints: say so before featurising the dataset
        check_checkpoints(out / "checkpoints", config, stage_list(stage), resume)
    train, meta = load_sequences(data_dir, config, progress_bar)
    return train_and_save(train, meta, config, out, stage, resume, progress_bar)
