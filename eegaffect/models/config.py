"""Schemas of ``eegaffect train`` (``configs/train.yaml``) and the model keyword arguments derived from them.

Light on purpose: validating a training config, or reading a bundle's, imports pydantic and the pipeline's schema,
never torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from eegaffect.config import ConfigModel
from eegaffect.pipeline import PipelineConfig

__all__ = ["STAGES", "VQVAEConfig", "TransformerConfig", "SACConfig", "DataConfig", "FusionConfig", "TrainConfig",
           "model_vqvae_kwargs", "model_transformer_kwargs"]

#: Stage names accepted by ``eegaffect train --stage``.
STAGES = ("all", "vqvae", "transformer", "sac")


class VQVAEConfig(ConfigModel):
    """Causal VQ-VAE sizes and its training stage."""

    quantize: bool = Field(False, description="the vector quantiser (off by default: docs/chain_stages.md); false = "
                           "plain causal autoencoder")
    d_model: int = Field(32, ge=2)
    band_filters: int = Field(4, ge=1)
    kernel_size: int = Field(3, ge=1)
    dilations: list[int] = Field(default_factory=lambda: [1, 2, 4], min_length=1)
    n_codes: int = Field(32, ge=2)
    residual_dim: int = Field(16, ge=0, description="width of the continuous residual (latent = code + residual)")
    head_input: Literal["continuous", "quantised"] = Field(
        "continuous", description="what the transformer and its heads read: the continuous encoder output, or the "
        "quantised latent (code + residual) of the decoder (docs/chain_stages.md)")
    commitment: float = Field(0.25, ge=0)
    decay: float = Field(0.9, gt=0, lt=1)
    dead_threshold: float = Field(0.05, ge=0)
    kmeans_init: bool = True
    drop_prob: float = Field(0.1, ge=0, lt=1)
    steps: int = Field(300, ge=0, description="gradient steps")
    lr: float = Field(2e-3, gt=0)
    batch_size: int = Field(16, ge=1)
    crop: int = Field(32, ge=2, description="steps per training crop")


class TransformerConfig(ConfigModel):
    """Masked temporal transformer sizes and its two training phases."""

    d_model: int = Field(32, ge=2)
    n_heads: int = Field(4, ge=1)
    n_layers: int = Field(2, ge=1)
    context: int = Field(16, ge=1, description="attention window in steps")
    drop_prob: float = Field(0.1, ge=0, lt=1)
    class_head: bool = True
    class_weight: float = Field(0.2, ge=0)
    mask_pretrain: bool = Field(False, description="masked pretraining before fine-tuning (off by default: it did "
                                "not help on held-out data, docs/chain_stages.md)")
    mask_prob: float = Field(0.3, gt=0, lt=1)
    pretrain_steps: int = Field(200, ge=0)
    finetune_steps: int = Field(400, ge=0)
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-2, ge=0)
    batch_size: int = Field(16, ge=1)
    crop: int = Field(48, ge=2)
    smooth_s: float = Field(2.5, ge=0, description="time constant in seconds of the causal exponential smoothing "
                            "of the V/A output (0 = none); see docs/chain_stages.md")
    smooth_trend_s: float = Field(4.0, ge=0, description="time constant in seconds of the smoother's trend term, "
                                  "which takes the lag out of a moving output (0 = plain exponential smoothing)")
    smooth_labels: bool = Field(True, description="smooth the class probabilities with smooth_s too; the label is "
                                "their argmax (fewer label flips within one state)")


class SACConfig(ConfigModel):
    """SAC trajectory optimiser (see :mod:`eegaffect.models.sac` for the environment and reward)."""

    enabled: bool = Field(False, description="the SAC trajectory optimiser (off by default: docs/chain_stages.md)")
    total_steps: int = Field(3000, ge=1)
    action_scale: float = Field(0.15, gt=0, le=2)
    w_error: float = Field(1.0, ge=0)
    w_smooth: float = Field(2.0, ge=0)
    w_ccc: float = Field(1.0, ge=0)
    episode_len: int | None = Field(32, ge=1, description="steps per episode segment")
    episode_segments: int = Field(4, ge=1, description="segments from random trials per episode")
    w_action: float = Field(0.5, ge=0, description="penalty on the correction's size")
    net_arch: list[int] = Field(default_factory=lambda: [64, 64], min_length=1)
    learning_starts: int = Field(300, ge=0)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    holdout_fraction: float = Field(0.25, ge=0, lt=1)
    refit_steps: int = Field(150, ge=0, description="after SAC, fine-tuning steps of the transformer on all "
                             "training trials (held-out ones included); 0 keeps the held-out trials unseen")
    refit_lr_factor: float = Field(0.5, gt=0, description="learning rate of that refit relative to transformer.lr")


class DataConfig(ConfigModel):
    """Which part of a dataset trains the bundle."""

    dataset: Literal["seed", "seed-iv", "dreamer", "deap", "amigos"] = Field(
        "seed", description="the reader (eegaffect.datasets); a fused model (fusion.physio) needs a multimodal one: "
        "deap (ppg, eda, resp, temp), amigos (ecg, eda) or dreamer (ecg). WESAD has no EEG, the chain's input")
    subjects: list[int] | None = None
    sessions: list[int] | None = None
    trials: list[int] | None = Field(None, description="trial numbers used for training (null: all)")
    bad_channels: Literal["error", "interpolate"] = Field(
        "error", description="a dead, flat or non-finite channel in a trial: error (naming file, trial and channel) "
                             "or interpolate it from the others (listed in the bundle's report)")


class FusionConfig(ConfigModel):
    """The fused model's physiological inputs (:mod:`eegaffect.models.fusion`); no ``physio`` kinds: EEG only."""

    physio: list[Literal["ecg", "ppg", "eda", "resp", "temp"]] = Field(
        default_factory=list, description="physiological kinds fused with the EEG (each a per-frame feature vector "
        "of eegaffect.physio); empty: an EEG-only model")
    use_eeg: bool = Field(True, description="false: a physiology-only model (the EEG always enters as its missing "
                          "embedding)")
    hidden: int = Field(32, ge=1, description="hidden units of each physiological encoder's MLP")
    modality_dropout: float = Field(0.6, ge=0, lt=1, description="probability, per training crop and modality, "
                                    "that the modality is dropped (whole crop or from a random step on; never all); "
                                    "0.6 rather than 0.3: docs/fusion.md")
    asof_margin_s: float = Field(0.5, ge=0, description="margin of the as-of rule: EEG frame k uses physiological "
                                 "frame k - ceil((decision delay + margin) / hop)")
    max_late_frames: int = Field(2, ge=0, description="live: how many frames later than the as-of rule a "
                                 "physiological frame may be before the modality counts as missing")
    physio_config: dict = Field(default_factory=dict, description="the physiological signal path (keys of "
                                "configs/physio.yaml); its frame window/hop are the EEG pipeline's")
    eeg_pass_outputs: list[Literal["valence", "arousal"]] = Field(
        default_factory=list, description="outputs taken from the model's EEG pass (every physiological kind "
        "missing, as modality dropout trains it) instead of the fused pass, offline, live and in calibration "
        "(eegaffect.models.fusion, 'Per-output routing'); empty: all from the fused pass")

    @model_validator(mode="after")
    def _check(self) -> "FusionConfig":
        if len(set(self.physio)) != len(self.physio):
            raise ValueError(f"fusion.physio lists a kind twice: {self.physio}")
        if not self.use_eeg and not self.physio:
            raise ValueError("fusion.use_eeg: false needs at least one fusion.physio kind (a model needs an input)")
        if self.eeg_pass_outputs and not (self.physio and self.use_eeg):
            raise ValueError("fusion.eeg_pass_outputs needs a fused model that reads the EEG (fusion.physio kinds "
                             "and use_eeg: true)")
        if len(set(self.eeg_pass_outputs)) != len(self.eeg_pass_outputs):
            raise ValueError(f"fusion.eeg_pass_outputs lists an output twice: {self.eeg_pass_outputs}")
        if self.physio_config:
            from eegaffect.physio.config import PhysioConfig

            PhysioConfig.model_validate(self.physio_config)
        return self

    def physio_pipeline_config(self, window_s: float, hop_s: float):
        """The :class:`~eegaffect.physio.config.PhysioConfig` of ``physio_config`` on the EEG's frame clock."""
        from eegaffect.physio.config import FrameConfig, PhysioConfig

        config = PhysioConfig.model_validate(self.physio_config)
        return config.model_copy(update={"frames": FrameConfig(window_s=window_s, hop_s=hop_s)})


class TrainConfig(ConfigModel):
    """Everything ``eegaffect train`` needs (``configs/train.yaml``)."""

    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool = Field(False, description="bfloat16 autocast in forward passes")
    deterministic: bool = Field(True, description="torch.use_deterministic_algorithms during training")
    checkpoint_every: int = Field(100, ge=1, description="gradient steps between checkpoints")
    num_threads: int | None = Field(1, ge=1, description="torch intra-op CPU threads while training (the models "
                                    "are small: one thread is fastest, and robust on a busy machine); null keeps "
                                    "torch's setting")
    data: DataConfig = Field(default_factory=DataConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    vqvae: VQVAEConfig = Field(default_factory=VQVAEConfig)
    transformer: TransformerConfig = Field(default_factory=TransformerConfig)
    sac: SACConfig = Field(default_factory=SACConfig)
    fusion: FusionConfig = Field(default_factory=FusionConfig)


def model_vqvae_kwargs(v: VQVAEConfig, seed: int) -> dict:
    """Keyword arguments of :class:`~eegaffect.models.vqvae.CausalVQVAE` from the config."""
    return dict(d_model=v.d_model, band_filters=v.band_filters, kernel_size=v.kernel_size,
                dilations=tuple(v.dilations), n_codes=v.n_codes, residual_dim=v.residual_dim, quantize=v.quantize,
                commitment=v.commitment, decay=v.decay, dead_threshold=v.dead_threshold,
                kmeans_init=v.kmeans_init, drop_prob=v.drop_prob, seed=seed, head_input=v.head_input)


def model_transformer_kwargs(t: TransformerConfig) -> dict:
    """Keyword arguments of :class:`~eegaffect.models.transformer.MaskedTemporalTransformer` from the config."""
    return dict(d_model=t.d_model, n_heads=t.n_heads, n_layers=t.n_layers, context=t.context,
                drop_prob=t.drop_prob)
