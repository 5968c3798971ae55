"""Benchmark models by name: the built-in models (imported here, registering themselves) and any registered since.

Importing this module imports :mod:`eegaffect.benchmark.baselines` (DE + scikit-learn, braindecode) and
:mod:`eegaffect.models.benchmark` (the chain and its ablations); both import only
:mod:`eegaffect.benchmark.interface` and call :func:`~eegaffect.benchmark.interface.register_model` on import, so the
registry has no import cycle and no module named by string.
"""

from __future__ import annotations

from typing import Any, Sequence

import eegaffect.benchmark.baselines  # noqa: F401  (registers de-svm, de-logreg, de-ridge, eegnet, shallow)
import eegaffect.models.benchmark  # noqa: F401  (registers eegdancer and its ablations)
from eegaffect.benchmark.interface import MODEL_FACTORIES, BenchmarkModel

__all__ = ["available_models", "get_model", "requested_models"]


def available_models() -> list[str]:
    """Names of all registered models, sorted.

    Returns
    -------
    names : list of str
        Registered model names.
    """
    return sorted(MODEL_FACTORIES)


def get_model(name: str, **kwargs: Any) -> BenchmarkModel:
    """Build a fresh model by registered name.

    Parameters
    ----------
    name : str
        Registered name (see :func:`available_models`).
    **kwargs
        Passed to the factory (model hyper-parameters).

    Returns
    -------
    model : BenchmarkModel
        A new, unfitted model.
    """
    if name not in MODEL_FACTORIES:
        raise ValueError(f"unknown benchmark model {name!r}; available: {sorted(MODEL_FACTORIES)}")
    model = MODEL_FACTORIES[name](**kwargs)
    _check_model(name, model)
    return model


def _check_model(name: str, model: Any) -> None:
    missing = [a for a in ("name", "input_kind", "task", "fit", "predict") if not hasattr(model, a)]
    if missing:
        raise TypeError(f"factory of model {name!r} returned {type(model).__name__}, which lacks {missing}")
    if model.input_kind not in ("features", "raw"):
        raise ValueError(f"model {name!r}: input_kind must be 'features' or 'raw', got {model.input_kind!r}")
    if model.task not in ("classification", "regression", "both"):
        raise ValueError(f"model {name!r}: task must be 'classification', 'regression' or 'both', "
                         f"got {model.task!r}")


def requested_models(names: Sequence[str]) -> list[str]:
    """Validate a list of model names against the registry and return it (order kept, duplicates dropped).

    Parameters
    ----------
    names : sequence of str
        Model names.

    Returns
    -------
    names : list of str
        The same names, each once.

    Raises
    ------
    ValueError
        A name is not registered.
    """
    unknown = [n for n in names if n not in MODEL_FACTORIES]
    if unknown:
        raise ValueError(f"unknown benchmark model(s) {unknown}; available: {sorted(MODEL_FACTORIES)}")
    return list(dict.fromkeys(names))
