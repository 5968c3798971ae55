"""Label tables: packaged YAML, circumplex points, rating scale, and the SEED-IV table against DATA_FORMATS.md."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dataset_fixtures import SEED_IV_LABELS  # noqa: E402

from eegaffect.config import ConfigError, load_config  # noqa: E402
from eegaffect.config_schemas import SCHEMAS  # noqa: E402
from eegaffect.datasets.labels import (  # noqa: E402
    SEED_IV_SESSION_LABELS,
    LabelMapConfig,
    RatingScale,
    resolve_label_map,
)


def test_packaged_yaml_is_registered_and_equals_defaults():
    assert SCHEMAS["labels"] is LabelMapConfig
    assert resolve_label_map(None) == load_config(LabelMapConfig, default="labels") == LabelMapConfig()


def test_points_follow_the_documented_table():
    labels = LabelMapConfig()
    assert [labels.point("seed", c) for c in ("negative", "neutral", "positive")] == [(-1, 0.5), (0, 0), (1, 0.5)]
    happy, sad, fear, neutral = (labels.point("seed-iv", c) for c in ("happy", "sad", "fear", "neutral"))
    assert happy[0] > 0 and happy[1] > 0 and sad[0] < 0 and sad[1] < 0 and fear[0] < 0 and fear[1] > sad[1]
    assert neutral == (0, 0)
    with pytest.raises(ValueError, match="unknown class 'angry'"):
        labels.point("seed-iv", "angry")
    with pytest.raises(ValueError, match="no class table for dataset 'dreamer'"):
        labels.point("dreamer", "high")


def test_rating_scale():
    scale = RatingScale()
    assert [scale.to_unit(s) for s in (1, 2, 3, 4, 5)] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert RatingScale(score_min=1, score_max=9).to_unit(7) == 0.5
    with pytest.raises(ValueError, match=r"rating 0 outside the scale \[1, 5\]"):
        scale.to_unit(0)
    with pytest.raises(ConfigError, match="score_min must be below score_max"):
        resolve_label_map({"dreamer": {"score_min": 5, "score_max": 1}})


def test_seed_iv_table_matches_data_formats():
    assert {k: list(v) for k, v in SEED_IV_SESSION_LABELS.items()} == SEED_IV_LABELS


def test_resolve_label_map_inputs(tmp_path):
    custom = LabelMapConfig(seed={"negative": {"valence": -1, "arousal": 0}, "neutral": {"valence": 0, "arousal": 0},
                                  "positive": {"valence": 1, "arousal": 0}})
    assert resolve_label_map(custom) is custom
    path = tmp_path / "l.yaml"
    path.write_text("dreamer: {score_min: 0, score_max: 10}\n")
    assert resolve_label_map(path).dreamer.to_unit(10) == 1.0
    path.write_text("deap: {}\n")
    with pytest.raises(ConfigError, match="unknown key 'deap'"):
        resolve_label_map(str(path))
    with pytest.raises(ConfigError, match=r"seed_iv: expected exactly the classes.*unknown \['angry'\]"):
        resolve_label_map({"seed_iv": {c: {"valence": 0, "arousal": 0}
                                       for c in ("neutral", "sad", "fear", "happy", "angry")}})
    with pytest.raises(TypeError, match="label_map must be"):
        resolve_label_map(3)
