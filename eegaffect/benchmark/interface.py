"""The small interface every model of the offline benchmark implements, and the model registry.

A benchmark model sees one fold at a time: :meth:`BenchmarkModel.fit` gets the training :class:`SplitData`
(and fits *every* statistic it needs, normalisation included, on it alone), :meth:`BenchmarkModel.predict` gets
the test :class:`SplitData` and returns :class:`Predictions` per step. Data are kept per trial, so sequence
models see whole trajectories; the protocols split by trial or subject only, never inside a trial.

A *step* is one feature window (1 s by default). For ``input_kind="features"`` a trial is an array
``(n_steps, n_chans, n_bands)`` of band features; for ``input_kind="raw"`` it is ``(n_steps, n_chans, n_times)``
of filtered raw windows cut with the same window/hop, so step ``i`` of both views covers the same samples and
shares the same targets.

A model module registers its models when it is imported (this module imports no model)::

    from eegaffect.benchmark.interface import register_model

    register_model("eegdancer", lambda **kw: EEGDancerBenchmarkModel(**kw))

:mod:`eegaffect.benchmark.registry` imports the built-in model modules and builds models by name; a model of
another package registers itself the same way once imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "SplitData",
    "Predictions",
    "BenchmarkModel",
    "register_model",
    "MODEL_FACTORIES",
]

InputKind = Literal["features", "raw"]
Task = Literal["classification", "regression", "both"]


@dataclass
class SplitData:
    """The trials of one side (train or test) of one fold, kept per trial.

    Attributes
    ----------
    trial_infos : list of TrialInfo
        Metadata of each trial (``dataset, subject, session, trial, label, valence, arousal, sfreq, ch_names``).
    labels : ndarray of int, shape (n_trials,)
        Class label of each trial (0..n_classes-1), or -1 where a trial has none.
    va : list of ndarray, shape (n_steps_i, 2)
        Valence/arousal target at every step of each trial (column 0 valence, 1 arousal).
    features : list of ndarray, shape (n_steps_i, n_chans, n_bands) | None
        Band features per trial, when the models asked for them.
    windows : list of ndarray, shape (n_steps_i, n_chans, n_times) | None
        Filtered raw windows per trial, when the models asked for them.
    sfreq : float
        Sampling frequency of ``windows`` in Hz.
    ch_names : list of str
        Channel names (the ``n_chans`` axis).
    band_names : list of str
        Band names (the ``n_bands`` axis of ``features``).
    class_names : list of str
        Name of each class index.
    """

    trial_infos: list[Any]
    labels: np.ndarray
    va: list[np.ndarray]
    features: list[np.ndarray] | None = None
    windows: list[np.ndarray] | None = None
    sfreq: float = 200.0
    ch_names: list[str] = field(default_factory=list)
    band_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64).reshape(-1)
        n = len(self.trial_infos)
        if self.labels.shape[0] != n or len(self.va) != n:
            raise ValueError(f"SplitData: expected one label and one va array per trial ({n} trials), got "
                             f"{self.labels.shape[0]} labels and {len(self.va)} va arrays")
        if self.features is None and self.windows is None:
            raise ValueError("SplitData: expected features, windows or both, got neither")
        for name in ("features", "windows"):
            seqs = getattr(self, name)
            if seqs is None:
                continue
            if len(seqs) != n:
                raise ValueError(f"SplitData: expected {n} {name} arrays (one per trial), got {len(seqs)}")
            for i, (seq, va) in enumerate(zip(seqs, self.va)):
                if seq.ndim != 3 or seq.shape[0] != va.shape[0] or va.shape[1:] != (2,):
                    raise ValueError(f"SplitData: trial {i}: expected {name} (n_steps, n_chans, n) and va "
                                     f"(n_steps, 2) with equal n_steps, got {seq.shape} and {va.shape}")

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return len(self.trial_infos)

    @property
    def n_classes(self) -> int:
        """Number of classes (``len(class_names)``)."""
        return len(self.class_names)

    @property
    def n_steps(self) -> np.ndarray:
        """Steps per trial, shape (n_trials,)."""
        return np.array([v.shape[0] for v in self.va], dtype=np.int64)

    def step_labels(self) -> np.ndarray:
        """Trial labels repeated over each trial's steps, shape (sum(n_steps),)."""
        return np.repeat(self.labels, self.n_steps)

    def step_va(self) -> np.ndarray:
        """All steps' valence/arousal targets concatenated, shape (sum(n_steps), 2)."""
        if not self.va:
            return np.zeros((0, 2))
        return np.concatenate(self.va, axis=0)

    def stacked(self, kind: InputKind) -> np.ndarray:
        """All steps of ``features`` or ``windows`` concatenated over trials.

        Parameters
        ----------
        kind : {"features", "raw"}
            Which view.

        Returns
        -------
        x : ndarray, shape (sum(n_steps), n_chans, n_bands or n_times)
            The stacked steps.
        """
        seqs = self.features if kind == "features" else self.windows
        if seqs is None:
            raise ValueError(f"SplitData has no {'features' if kind == 'features' else 'raw windows'}; "
                             "the runner provides what each model's input_kind asks for")
        return np.concatenate(seqs, axis=0)

    def split_steps(self, values: np.ndarray) -> list[np.ndarray]:
        """Split an array over all steps back into one array per trial (inverse of concatenation)."""
        return list(np.split(np.asarray(values), np.cumsum(self.n_steps)[:-1]))


@dataclass
class Predictions:
    """A model's output on a test split, per trial.

    Attributes
    ----------
    labels : list of ndarray of int, shape (n_steps_i,) | None
        Predicted class per step, or None for regression-only models.
    va : list of ndarray, shape (n_steps_i, 2) | None
        Predicted valence/arousal per step, or None for classification-only models.
    """

    labels: list[np.ndarray] | None = None
    va: list[np.ndarray] | None = None

    def check(self, test: SplitData) -> "Predictions":
        """Validate against the test split (one array per trial, matching step counts) and return self."""
        if self.labels is None and self.va is None:
            raise ValueError("Predictions: expected labels, va or both, got neither")
        steps = test.n_steps
        for name, seqs, tail in (("labels", self.labels, ()), ("va", self.va, (2,))):
            if seqs is None:
                continue
            if len(seqs) != test.n_trials:
                raise ValueError(f"Predictions.{name}: expected {test.n_trials} arrays (one per test trial), "
                                 f"got {len(seqs)}")
            for i, (seq, n) in enumerate(zip(seqs, steps)):
                if np.shape(seq) != (n, *tail):
                    raise ValueError(f"Predictions.{name}[{i}]: expected shape {(int(n), *tail)}, "
                                     f"got {np.shape(seq)}")
        return self


@runtime_checkable
class BenchmarkModel(Protocol):
    """What the benchmark runner needs from a model.

    Attributes
    ----------
    name : str
        Registered name, e.g. ``"de-svm"``.
    input_kind : {"features", "raw"}
        Which view of the data :meth:`fit` and :meth:`predict` use.
    task : {"classification", "regression", "both"}
        Which predictions the model makes (class labels, valence/arousal, or both).
    """

    name: str
    input_kind: InputKind
    task: Task

    def fit(self, train: SplitData, *, seed: int) -> None:
        """Fit on the training split only (normalisation statistics included), reproducibly for ``seed``."""

    def predict(self, test: SplitData) -> Predictions:
        """Predict every step of every test trial."""


#: The registry: model name -> factory returning a fresh, unfitted :class:`BenchmarkModel`. Filled by
#: :func:`register_model`; read through :mod:`eegaffect.benchmark.registry`, which imports the built-in models.
MODEL_FACTORIES: dict[str, Callable[..., BenchmarkModel]] = {}


def register_model(name: str, factory: Callable[..., BenchmarkModel], *, overwrite: bool = False) -> None:
    """Register a model factory under ``name``.

    Parameters
    ----------
    name : str
        Name used on the command line (``--models name``).
    factory : callable
        Called as ``factory(**kwargs)``; returns a fresh, unfitted :class:`BenchmarkModel`.
    overwrite : bool
        Replace an existing registration instead of raising.
    """
    if not isinstance(name, str) or not name or "," in name:
        raise ValueError(f"model name must be a non-empty string without commas, got {name!r}")
    if not callable(factory):
        raise TypeError(f"factory for model {name!r} must be callable, got {type(factory).__name__}")
    if name in MODEL_FACTORIES and not overwrite and MODEL_FACTORIES[name] is not factory:
        raise ValueError(f"a model named {name!r} is already registered; pass overwrite=True to replace it")
    MODEL_FACTORIES[name] = factory
