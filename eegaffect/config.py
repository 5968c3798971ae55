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

from eegaffect.errors import UserInputError

__all__ = [
    "ConfigError",
    "ConfigModel",
    "load_config",
    "packaged_config_names",
    "packaged_config_text",
    "apply_overrides",
    "validate_update",
]

T = TypeVar("T", bound="ConfigModel")


class ConfigError(UserInputError):
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
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"config file {source} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it "
                              "as UTF-8 YAML") from None
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
    overrides = list(overrides)
    merged = apply_overrides(data, overrides, source="--set")
    try:
        return schema.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, schema, source, data, merged, overrides)) from None


def validate_update(config: T, updates: dict[str, Any], options: dict[str, str] | None = None) -> T:
    """Return a copy of ``config`` with top-level ``updates`` applied and validated.

    Commands use it for options that set a config key (``live --update-hz``), so a bad value is a
    :class:`ConfigError` naming the option, the key and what is allowed, like a bad ``--set``.

    Parameters
    ----------
    config : ConfigModel
        A validated config.
    updates : dict
        Top-level key -> new value; ``None`` values are skipped (the option was not given).
    options : dict | None
        Key -> the command-line option that set it (e.g. ``{"update_hz": "--update-hz"}``), used in messages.

    Returns
    -------
    config : ConfigModel
        A new validated config of the same schema (``config`` itself is unchanged).

    Raises
    ------
    ConfigError
        When a key is not in the schema or a value is of the wrong type or out of range.
    """
    schema = type(config)
    options = options or {}
    given = {k: v for k, v in updates.items() if v is not None}
    unknown = sorted(set(given) - set(schema.model_fields))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} of {schema.__name__}; allowed keys: "
                          f"{sorted(schema.model_fields)}")
    try:
        return schema.model_validate({**config.model_dump(), **given})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            top = str(err["loc"][0]) if err["loc"] else ""
            where = f"{options[top]} {given[top]}" if top in options and top in given else "option"
            got = err.get("input")
            got_text = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"{where}: config key {key!r}: {err['msg']}{got_text}")
        raise ConfigError("\n".join(lines)) from None


_MISSING = object()


def _at(data: Any, loc: tuple) -> Any:
    """The value at ``loc`` in a nested mapping/list, or ``_MISSING``."""
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return node


def _format_validation_error(exc: ValidationError, schema: type[BaseModel], source: str,
                             data: dict | None = None, merged: dict | None = None,
                             overrides: list[str] = ()) -> str:
    """One line per error, blaming ``--set KEY=VALUE`` when an override changed the offending key."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        key = ".".join(loc)
        where = _origin(tuple(err["loc"]), source, data, merged, overrides)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(schema, err["loc"][:-1])
            lines.append(f"{where}: unknown key {key!r}; allowed keys here: {allowed}")
        else:
            got = err.get("input")
            got_text = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"{where}: key {key!r}: {err['msg']}{got_text}")
    return "\n".join(lines)


def _origin(loc: tuple, source: str, data: dict | None, merged: dict | None, overrides: list[str]) -> str:
    """``source``, or ``"--set ITEM"`` when the value at ``loc`` was set or changed by an override."""
    if data is None or merged is None or not overrides:
        return source
    if _at(data, loc) is not _MISSING and _at(data, loc) == _at(merged, loc):
        return source
    parts = [str(p) for p in loc]
    for item in reversed(overrides):  # the last override of a key wins, so blame it
        keys = item.split("=", 1)[0].strip().split(".")
        n = min(len(keys), len(parts))
        if keys[:n] == parts[:n]:
            return f"--set {item}"
    return source


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
