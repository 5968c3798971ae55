"""Typed, validated configuration loaded from the YAML files in ``configs/``.

Every command has a pydantic schema (a subclass of :class:`ConfigModel`) and a packaged default YAML file
(``configs/{name}.yaml``, reachable with :mod:`importlib.resources`). :func:`load_config` reads a file (or the
packaged default), applies ``key.sub=value`` overrides, and validates. Any problem raises :class:`ConfigError`
naming the file, the dotted key and what is allowed, e.g.::

    configs/live.yaml: key 'filters.notch_hz': Input should be greater than 0 (got -50)
    my.yaml: unknown key 'features.bandz'; allowed keys here: ['bands', 'window_s', 'hop_s']
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "ConfigError",
    "ConfigModel",
    "load_config",
    "packaged_config_names",
    "packaged_config_text",
    "apply_overrides",
]

T = TypeVar("T", bound="ConfigModel")


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message names the source, the key and what is allowed."""


class ConfigModel(BaseModel):
    """Base class of every config schema: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def packaged_config_names() -> list[str]:
    """Names (without ``.yaml``) of the configs shipped in ``eegaffect.configs``.

    Returns
    -------
    names : list of str
        Sorted config names, e.g. ``["demo", "live", ...]``.
    """
    root = resources.files("eegaffect.configs")
    return sorted(p.name[: -len(".yaml")] for p in root.iterdir() if p.name.endswith(".yaml"))


def packaged_config_text(name: str) -> str:
    """Return the text of the packaged config ``configs/{name}.yaml``.

    Parameters
    ----------
    name : str
        Config name without extension.

    Returns
    -------
    text : str
        The YAML text.
    """
    names = packaged_config_names()
    if name not in names:
        raise ConfigError(f"no packaged config named {name!r}; available: {names}")
    return resources.files("eegaffect.configs").joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], source: str = "--set") -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides to a nested mapping and return a new mapping.

    Values are parsed as YAML scalars/flow collections, so ``n=3`` gives an int, ``bands=[1, 4]`` a list and
    ``name=null`` None.

    Parameters
    ----------
    data : dict
        The mapping read from the YAML file.
    overrides : iterable of str
        Each ``"dotted.key=value"``.
    source : str
        Name used in error messages.

    Returns
    -------
    data : dict
        A deep copy with the overrides applied.
    """
    out = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"{source}: override {item!r} must look like 'key.sub=value'")
        dotted, raw = item.split("=", 1)
        keys = [k for k in dotted.strip().split(".")]
        if not all(keys):
            raise ConfigError(f"{source}: override {item!r} has an empty key segment")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: cannot parse the value of {dotted!r}: {exc}") from None
        node = out
        for depth, key in enumerate(keys[:-1]):
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                where = ".".join(keys[: depth + 1])
                raise ConfigError(f"{source}: cannot set {dotted!r}: {where!r} is a {type(child).__name__}, "
                                  "not a mapping")
            node = child
        node[keys[-1]] = value
    return out


def load_config(schema: type[T], path: str | Path | None = None, overrides: Iterable[str] = (),
                *, default: str | None = None) -> T:
    """Load, override and validate a config.

    Parameters
    ----------
    schema : type of ConfigModel
        The pydantic schema to validate against.
    path : str | Path | None
        A YAML file. ``None`` loads the packaged default ``configs/{default}.yaml`` (or, with no default, the
        schema's own defaults).
    overrides : iterable of str
        ``"dotted.key=value"`` overrides applied after reading the file.
    default : str | None
        Name of the packaged config used when ``path`` is None.

    Returns
    -------
    config : ConfigModel
        The validated config object.

    Raises
    ------
    ConfigError
        When the file is missing or not YAML, or a key is unknown, of the wrong type or out of range.
    """
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise ConfigError(f"config file {source} does not exist (expected a YAML file)")
        text = path.read_text(encoding="utf-8")
    elif default is not None:
        source = f"configs/{default}.yaml"
        text = packaged_config_text(default)
    else:
        source, text = f"<defaults of {schema.__name__}>", ""
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys at the top level, got {type(data).__name__}")
    data = apply_overrides(data, overrides, source=f"{source} (--set)")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, schema, source)) from None


def _format_validation_error(exc: ValidationError, schema: type[BaseModel], source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        key = ".".join(loc)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(schema, err["loc"][:-1])
            lines.append(f"{source}: unknown key {key!r}; allowed keys here: {allowed}")
        else:
            got = err.get("input")
            got_text = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"{source}: key {key!r}: {err['msg']}{got_text}")
    return "\n".join(lines)


def _allowed_keys(schema: type[BaseModel], loc: tuple) -> list[str]:
    model: Any = schema
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return sorted(getattr(model, "model_fields", {}))


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None
