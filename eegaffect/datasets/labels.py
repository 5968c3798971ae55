"""Discrete labels and ratings as valence/arousal targets, and the datasets' label tables.

Continuous models need a valence/arousal target for every trial. Datasets with discrete classes get one from a
configurable table that puts each class on Russell's circumplex (valence horizontal, arousal vertical, both in
[-1, 1]); rating datasets are rescaled linearly. The packaged defaults (``configs/labels.yaml``) are:

SEED (film clips chosen to be positive, neutral or negative)
    ``positive -> (+1, 0.5)``, ``neutral -> (0, 0)``, ``negative -> (-1, 0.5)``. Valence is the class. SEED has no
    arousal rating; the emotional clips are assigned a moderate arousal of 0.5 and the neutral clips 0, i.e.
    arousal is a proxy for emotional intensity, not a measured quantity.
SEED-IV (happy, sad, fear, neutral clips)
    Points in the circumplex quadrants of the four emotions: ``happy -> (0.8, 0.5)`` (pleasant, activated),
    ``sad -> (-0.7, -0.5)`` (unpleasant, deactivated), ``fear -> (-0.7, 0.8)`` (unpleasant, highly activated),
    ``neutral -> (0, 0)``. Again no per-trial rating exists; the points are documented conventions.
DREAMER (self-assessment manikin ratings 1..5)
    ``value = (score - 3) / 2``, so 1 -> -1, 3 -> 0, 5 -> +1 (``score_min``/``score_max`` configurable).

Override any point with a YAML file of the same shape (``load_dataset(..., label_map="my_labels.yaml")``) or a
dict. The dataset class codes are fixed by the providers and live here too: SEED's ``label.mat`` codes
``-1/0/1`` (negative/neutral/positive) and SEED-IV's ``0/1/2/3`` (neutral/sad/fear/happy) with the per-session
trial labels published in SEED-IV's ReadMe (which is prose, so the table is built in).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from eegaffect.config import ConfigError, ConfigModel, load_config

__all__ = [
    "CircumplexPoint",
    "RatingScale",
    "LabelMapConfig",
    "resolve_label_map",
    "SEED_CLASS_CODES",
    "SEED_CLASS_NAMES",
    "SEED_IV_CLASS_NAMES",
    "SEED_IV_SESSION_LABELS",
]

#: SEED ``label.mat`` code -> class name.
SEED_CLASS_CODES: dict[int, str] = {-1: "negative", 0: "neutral", 1: "positive"}
#: SEED class names in label-index order (label index = code + 1).
SEED_CLASS_NAMES: tuple[str, ...] = ("negative", "neutral", "positive")
#: SEED-IV class names indexed by the dataset's own code (0 neutral, 1 sad, 2 fear, 3 happy).
SEED_IV_CLASS_NAMES: tuple[str, ...] = ("neutral", "sad", "fear", "happy")
#: SEED-IV trial labels (codes) per session, trials 1..24, from the dataset's ReadMe.
SEED_IV_SESSION_LABELS: dict[int, tuple[int, ...]] = {
    1: (1, 2, 3, 0, 2, 0, 0, 1, 0, 1, 2, 1, 1, 1, 2, 3, 2, 2, 3, 3, 0, 3, 0, 3),
    2: (2, 1, 3, 0, 0, 2, 0, 2, 3, 3, 2, 3, 2, 0, 1, 1, 2, 1, 0, 3, 0, 1, 3, 1),
    3: (1, 2, 2, 1, 3, 3, 3, 1, 1, 2, 1, 0, 2, 3, 3, 0, 2, 3, 0, 0, 2, 0, 1, 0),
}


class CircumplexPoint(ConfigModel):
    """A class's position on the valence/arousal plane."""

    valence: float = Field(ge=-1.0, le=1.0)
    arousal: float = Field(ge=-1.0, le=1.0)


class RatingScale(ConfigModel):
    """A linear rating scale mapped onto [-1, 1]: ``(score - mid) / half_range``."""

    score_min: float = 1.0
    score_max: float = 5.0

    @model_validator(mode="after")
    def _ordered(self) -> "RatingScale":
        if self.score_min >= self.score_max:
            raise ValueError(f"score_min must be below score_max, got {self.score_min} >= {self.score_max}")
        return self

    def to_unit(self, score: float) -> float:
        """Map a rating onto [-1, 1] (ratings outside the scale are an error)."""
        score = float(score)
        if not self.score_min <= score <= self.score_max:
            raise ValueError(f"rating {score:g} outside the scale [{self.score_min:g}, {self.score_max:g}]")
        mid = (self.score_min + self.score_max) / 2
        return (score - mid) / ((self.score_max - self.score_min) / 2)


def _points(**kw: tuple[float, float]) -> dict[str, CircumplexPoint]:
    return {k: CircumplexPoint(valence=v, arousal=a) for k, (v, a) in kw.items()}


class LabelMapConfig(ConfigModel):
    """Label -> valence/arousal tables for every dataset (``configs/labels.yaml``)."""

    seed: dict[str, CircumplexPoint] = Field(
        default_factory=lambda: _points(negative=(-1.0, 0.5), neutral=(0.0, 0.0), positive=(1.0, 0.5)),
        description="SEED class name -> point; needs negative, neutral, positive")
    seed_iv: dict[str, CircumplexPoint] = Field(
        default_factory=lambda: _points(neutral=(0.0, 0.0), sad=(-0.7, -0.5), fear=(-0.7, 0.8), happy=(0.8, 0.5)),
        description="SEED-IV class name -> point; needs neutral, sad, fear, happy")
    dreamer: RatingScale = Field(default_factory=RatingScale, description="DREAMER rating scale (1..5)")

    @model_validator(mode="after")
    def _complete(self) -> "LabelMapConfig":
        for key, names in (("seed", SEED_CLASS_NAMES), ("seed_iv", SEED_IV_CLASS_NAMES)):
            table = getattr(self, key)
            missing = [n for n in names if n not in table]
            extra = [n for n in table if n not in names]
            if missing or extra:
                raise ValueError(f"{key}: expected exactly the classes {list(names)}, missing {missing}, "
                                 f"unknown {extra}")
        return self

    def point(self, dataset: str, class_name: str) -> tuple[float, float]:
        """Valence and arousal of a class.

        Parameters
        ----------
        dataset : {"seed", "seed-iv"}
            Dataset name.
        class_name : str
            Class name, e.g. ``"positive"``.

        Returns
        -------
        valence, arousal : float
        """
        table = {"seed": self.seed, "seed-iv": self.seed_iv}.get(dataset)
        if table is None:
            raise ValueError(f"no class table for dataset {dataset!r}; tables exist for 'seed' and 'seed-iv'")
        if class_name not in table:
            raise ValueError(f"{dataset}: unknown class {class_name!r}; expected one of {sorted(table)}")
        p = table[class_name]
        return p.valence, p.arousal


def resolve_label_map(label_map: Any = None) -> LabelMapConfig:
    """Turn the ``label_map`` argument of the readers into a :class:`LabelMapConfig`.

    Parameters
    ----------
    label_map : LabelMapConfig | dict | str | Path | None
        A config object, a mapping with the same keys, a YAML file, or None for the packaged
        ``configs/labels.yaml``.

    Returns
    -------
    config : LabelMapConfig
    """
    if label_map is None:
        return load_config(LabelMapConfig, default="labels")
    if isinstance(label_map, LabelMapConfig):
        return label_map
    if isinstance(label_map, (str, Path)):
        return load_config(LabelMapConfig, Path(label_map))
    if isinstance(label_map, dict):
        try:
            return LabelMapConfig.model_validate(label_map)
        except ValueError as exc:
            raise ConfigError(f"label_map: {exc}") from None
    raise TypeError(f"label_map must be a LabelMapConfig, a dict, a YAML path or None, got {type(label_map).__name__}")
