"""The chain and its ablations as benchmark models of ``eegaffect bench seed``.

Registered names: ``eegdancer`` (the packaged ``configs/train.yaml``: causal encoder whose continuous output the
heads read -> temporal transformer -> causal output smoothing; quantiser, masked pretraining and SAC off, as
measured in docs/chain_stages.md), and variants that set one part explicitly: ``eegdancer-novq`` / ``eegdancer-vq``
(quantiser off / on, heads on the continuous latent), ``eegdancer-vq-quantised`` (quantiser on, heads on code +
residual: the former design), ``eegdancer-nomask`` / ``eegdancer-mask`` (masked pretraining off / on),
``eegdancer-nosac`` / ``eegdancer-sac`` (SAC off / on), ``eegdancer-nosmooth`` (no output smoothing) and
``eegdancer-legacy`` (the chain before issue 18: quantised heads, masked pretraining and SAC on, no smoothing). Each
is seeded per fold; normalisation statistics are fitted inside :meth:`EEGDancerBenchmarkModel.fit` on the training
split only.
:meth:`EEGDancerBenchmarkModel.calibrate` is the per-user calibration of
:func:`eegaffect.calibration.calibrate_chain` (the ``loso-calibrated`` protocol calls it with the held-out
subject's calibration trials).
"""

from __future__ import annotations

import numpy as np

from eegaffect.benchmark.interface import Predictions, SplitData, register_model

__all__ = ["EEGDancerBenchmarkModel", "VARIANTS"]

#: variant name -> config overrides (``--set`` syntax) relative to configs/train.yaml.
VARIANTS: dict[str, list[str]] = {
    "eegdancer": [],
    "eegdancer-novq": ["vqvae.quantize=false"],
    "eegdancer-nomask": ["transformer.mask_pretrain=false"],
    "eegdancer-nosac": ["sac.enabled=false"],
    "eegdancer-vq": ["vqvae.quantize=true", "vqvae.head_input=continuous"],
    "eegdancer-vq-quantised": ["vqvae.quantize=true", "vqvae.head_input=quantised"],
    "eegdancer-sac": ["sac.enabled=true"],
    "eegdancer-nosmooth": ["transformer.smooth_s=0"],
    "eegdancer-mask": ["transformer.mask_pretrain=true"],
    "eegdancer-legacy": ["vqvae.quantize=true", "vqvae.head_input=quantised", "transformer.mask_pretrain=true",
                         "sac.enabled=true", "transformer.smooth_s=0"],
}


class EEGDancerBenchmarkModel:
    """Adapter from :class:`~eegaffect.benchmark.interface.SplitData` to :func:`~eegaffect.models.training.fit_chain`.

    Parameters
    ----------
    variant : str
        One of :data:`VARIANTS`.
    overrides : list of str
        Extra ``key=value`` config overrides (e.g. fewer steps in tests); the variant's own settings are applied
        after them, so a variant is always what its name says.
    calibration : dict | None
        Keyword arguments of :func:`~eegaffect.calibration.calibrate_chain` (``steps``, ``full``, ``lr``,
        ``anchor``) used by :meth:`calibrate`.
    """

    input_kind = "features"
    task = "both"

    def __init__(self, variant: str = "eegdancer", overrides: list[str] | None = None,
                 calibration: dict | None = None):
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        self.name = variant
        self.overrides = [*(overrides or []), *VARIANTS[variant]]
        self.calibration = dict(calibration or {})
        bad = sorted(set(self.calibration) - {"steps", "full", "lr", "anchor"})
        if bad:
            raise ValueError(f"calibration accepts steps, full, lr and anchor, got {bad}")
        self.chain = None
        self.report: dict = {}

    def config_signature(self) -> dict:
        """What this model's results depend on beyond its name: the resolved training config (the packaged
        ``configs/train.yaml`` with the variant's and extra overrides; the seed is the run's) and the calibration
        settings, so a benchmark resumed after a default changed refits instead of reusing stale folds.
        """
        from eegaffect.config import load_config
        from eegaffect.models.training import TrainConfig

        config = load_config(TrainConfig, None, [*self.overrides, "seed=0", "device=cpu"], default="train")
        return {"train": config.model_dump(mode="json"), "calibration": self.calibration}

    def fit(self, train: SplitData, *, seed: int) -> None:
        """Train the model chain on the training split's band features, reproducibly for ``seed``."""
        from eegaffect.config import load_config
        from eegaffect.models.training import Sequences, TrainConfig, fit_chain

        if train.features is None:
            raise ValueError("eegdancer models need band features (input_kind='features')")
        config = load_config(TrainConfig, None, [*self.overrides, f"seed={int(seed)}", "device=cpu"],
                             default="train")
        seqs = Sequences([np.asarray(f, np.float64) for f in train.features],
                         [np.asarray(v, np.float32) for v in train.va], train.labels, train.n_classes)
        self.chain, self.report = fit_chain(seqs, config, progress_bar=False)

    def calibrate(self, calib: SplitData, *, seed: int) -> None:
        """Adapt the fitted chain to the held-out person: normalisation statistics and readout, on ``calib``."""
        from eegaffect.calibration import calibrate_chain

        if self.chain is None:
            raise RuntimeError(f"{self.name}: fit() must be called before calibrate()")
        if calib.features is None:
            raise ValueError("eegdancer models need band features (input_kind='features')")
        self.chain, self.report["calibration"] = calibrate_chain(
            self.chain, [np.asarray(f, np.float64) for f in calib.features],
            [np.asarray(v, np.float64) for v in calib.va], seed=seed, **self.calibration)

    def predict(self, test: SplitData) -> Predictions:
        """Run the fitted chain causally over every test trial and predict each step."""
        if self.chain is None:
            raise RuntimeError(f"{self.name}: fit() must be called before predict()")
        if test.features is None:
            raise ValueError("eegdancer models need band features (input_kind='features')")
        runs = [self.chain.run(f) for f in test.features]
        has_labels = self.chain.model.transformer.class_head is not None
        return Predictions(labels=[r["label"] for r in runs] if has_labels else None,
                           va=[r["va"].astype(np.float64) for r in runs])


for _name in VARIANTS:
    register_model(_name, lambda _n=_name, **kw: EEGDancerBenchmarkModel(_n, **kw))
