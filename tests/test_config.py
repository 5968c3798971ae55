"""Config loading: every packaged config validates, and bad input names the file, key and what is allowed."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import Field

from eegaffect.config import (ConfigError, ConfigModel, apply_overrides, load_config, packaged_config_names,
                              validate_update)


class _Inner(ConfigModel):
    window_s: float = Field(1.0, gt=0)
    bands: list[float] = [1.0, 4.0]


class _Schema(ConfigModel):
    name: str = "x"
    mode: Literal["fast", "exact"] = "fast"
    n: int = Field(3, ge=1, le=10)
    features: _Inner = _Inner()


def test_defaults_when_no_file():
    cfg = load_config(_Schema)
    assert cfg.n == 3 and cfg.features.window_s == 1.0


def test_file_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("n: 4\nfeatures:\n  window_s: 2.5\n")
    cfg = load_config(_Schema, path, ["features.bands=[8, 13]", "mode=exact"])
    assert cfg.n == 4 and cfg.features.window_s == 2.5 and cfg.features.bands == [8, 13] and cfg.mode == "exact"


def test_unknown_key_names_file_key_and_allowed(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("features:\n  windw_s: 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(_Schema, path)
    msg = str(info.value)
    assert str(path) in msg and "features.windw_s" in msg and "['bands', 'window_s']" in msg


@pytest.mark.parametrize("text, key, hint", [
    ("n: many\n", "'n'", "valid integer"),
    ("n: 11\n", "'n'", "less than or equal to 10"),
    ("mode: slow\n", "'mode'", "'fast' or 'exact'"),
    ("features:\n  window_s: -1\n", "'features.window_s'", "greater than 0"),
])
def test_wrong_type_or_range(tmp_path, text, key, hint):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(_Schema, path)
    msg = str(info.value)
    assert str(path) in msg and key in msg and hint in msg


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(_Schema, tmp_path / "nope.yaml")
    path = tmp_path / "broken.yaml"
    path.write_text("n: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_Schema, path)
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(_Schema, path)


def test_errors_blame_the_override_that_caused_them(tmp_path):
    """An unknown or bad key given with --set names that override, not the file; the file's own errors still
    name the file."""
    path = tmp_path / "c.yaml"
    path.write_text("n: 11\nfeatures:\n  window_s: 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(_Schema, path, ["featurez.window_s=2", "features.window_s=-1", "mode=exact"])
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert any(ln.startswith(f"{path}: key 'n'") for ln in lines)  # from the file, untouched by --set
    assert any(ln.startswith("--set featurez.window_s=2: unknown key 'featurez'") for ln in lines)
    assert any(ln.startswith("--set features.window_s=-1: key 'features.window_s'") for ln in lines)
    assert str(path) not in " ".join(ln for ln in lines if ln.startswith("--set"))


def test_validate_update_names_the_option():
    cfg = load_config(_Schema)
    assert validate_update(cfg, {"n": 5, "mode": None}).n == 5 and cfg.n == 3
    with pytest.raises(ConfigError, match=r"^--count 11: config key 'n': Input should be less than or equal to 10"):
        validate_update(cfg, {"n": 11}, {"n": "--count"})
    with pytest.raises(ConfigError, match="unknown key"):
        validate_update(cfg, {"nope": 1})


def test_override_errors():
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_overrides({}, ["novalue"])
    with pytest.raises(ConfigError, match="not a mapping"):
        apply_overrides({"n": 3}, ["n.x=1"])
    assert apply_overrides({"a": {"b": 1}}, ["a.c=null"]) == {"a": {"b": 1, "c": None}}


def test_unknown_packaged_config():
    with pytest.raises(ConfigError, match="no packaged config named 'nope'"):
        load_config(_Schema, default="nope")


def test_every_packaged_config_validates():
    """Each configs/NAME.yaml validates against the schema its command registers."""
    from eegaffect.config_schemas import SCHEMAS

    names = packaged_config_names()
    assert set(names) == set(SCHEMAS), "every packaged config needs a schema and vice versa"
    for name in names:
        load_config(SCHEMAS[name], default=name)


def test_validating_configs_does_not_import_torch():
    """Schemas live in light modules: loading every packaged config (and a bundle's training config) in a fresh
    interpreter imports no model library."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from eegaffect.config import load_config, packaged_config_names\n"
        "from eegaffect.config_schemas import SCHEMAS\n"
        "import eegaffect.models.bundle\n"
        "for name in packaged_config_names():\n"
        "    load_config(SCHEMAS[name], default=name)\n"
        "heavy = [m for m in ('torch', 'stable_baselines3', 'torchvision', 'mne', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('ok', len(packaged_config_names()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ok ")
