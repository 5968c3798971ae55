"""Standard baselines of the offline benchmark, registered in :mod:`eegaffect.benchmark.interface`.

========== =========== ============== ==================================================================
name       input       task           model
========== =========== ============== ==================================================================
de-svm     features    classification StandardScaler + linear SVM on flattened DE (n_chans * n_bands)
de-logreg  features    classification StandardScaler + logistic regression on flattened DE
de-ridge   features    regression     StandardScaler + ridge regression of valence/arousal on flattened DE
eegnet     raw         classification braindecode ``EEGNet`` on filtered raw windows
shallow    raw         classification braindecode ``ShallowFBCSPNet`` on filtered raw windows
========== =========== ============== ==================================================================

Every statistic (the scalers, the per-channel standardisation of raw windows) is fitted in ``fit`` on the
training split only. The torch models are seeded (``torch.manual_seed`` and a seeded batch order) and run with
deterministic algorithms, so a seeded run repeats exactly on CPU.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from eegaffect._logging import logger
from eegaffect.benchmark.interface import Predictions, SplitData, register_model

__all__ = ["SklearnFeatureModel", "BraindecodeModel"]


def _flat(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.reshape(x.shape[0], -1), dtype=np.float64)


def _check_train(train: SplitData, kind: str, name: str, need_labels: bool) -> None:
    if not isinstance(train, SplitData):
        raise TypeError(f"{name}.fit expects a SplitData, got {type(train).__name__}")
    if train.n_trials == 0:
        raise ValueError(f"{name}.fit: the training split has no trials")
    if need_labels:
        if np.any(train.labels < 0):
            raise ValueError(f"{name}: every training trial needs a class label (0..n_classes-1), got "
                             f"{int(np.sum(train.labels < 0))} trial(s) without one")
        if np.unique(train.labels).size < 2:
            raise ValueError(f"{name}: the training split must hold at least 2 classes, got "
                             f"{np.unique(train.labels).tolist()}")
    train.stacked(kind)[:0]  # raises a clear error when the view is missing


class SklearnFeatureModel:
    """A scikit-learn estimator behind a StandardScaler, on flattened band features.

    Parameters
    ----------
    name : str
        Registered name.
    estimator : {"svm", "logreg", "ridge"}
        The final estimator: ``LinearSVC``, ``LogisticRegression`` (classification) or ``Ridge`` (valence and
        arousal jointly).
    C : float
        Inverse regularisation of the SVM / logistic regression.
    alpha : float
        Ridge penalty.
    max_iter : int
        Iteration cap of the SVM / logistic regression solvers.
    """

    input_kind = "features"

    def __init__(self, name: str, estimator: str, *, C: float = 1.0, alpha: float = 1.0, max_iter: int = 2000):
        if estimator not in ("svm", "logreg", "ridge"):
            raise ValueError(f"estimator must be 'svm', 'logreg' or 'ridge', got {estimator!r}")
        if C <= 0 or alpha < 0 or max_iter < 1:
            raise ValueError(f"expected C > 0, alpha >= 0 and max_iter >= 1, got C={C}, alpha={alpha}, "
                             f"max_iter={max_iter}")
        self.name = name
        self.estimator = estimator
        self.task = "regression" if estimator == "ridge" else "classification"
        self.C, self.alpha, self.max_iter = float(C), float(alpha), int(max_iter)
        self.pipeline_ = None

    @property
    def scaler_(self):
        """The fitted StandardScaler (its ``mean_``/``scale_`` come from the training split only)."""
        if self.pipeline_ is None:
            raise RuntimeError(f"{self.name} is not fitted yet")
        return self.pipeline_.steps[0][1]

    def fit(self, train: SplitData, *, seed: int) -> None:
        """Fit scaler and linear model on the training split's band features, reproducibly for ``seed``."""
        _check_train(train, "features", self.name, need_labels=self.task == "classification")
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import LinearSVC

        x = _flat(train.stacked("features"))
        if self.estimator == "svm":
            est = LinearSVC(C=self.C, max_iter=self.max_iter, random_state=seed)
            y = train.step_labels()
        elif self.estimator == "logreg":
            est = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=seed)
            y = train.step_labels()
        else:
            est = Ridge(alpha=self.alpha)
            y = train.step_va()
        self.pipeline_ = make_pipeline(StandardScaler(), est)
        with _quiet_convergence():
            self.pipeline_.fit(x, y)

    def predict(self, test: SplitData) -> Predictions:
        """Predict every step of every test trial from its band features."""
        if self.pipeline_ is None:
            raise RuntimeError(f"{self.name}.predict called before fit")
        out = self.pipeline_.predict(_flat(test.stacked("features")))
        if self.task == "regression":
            return Predictions(va=test.split_steps(np.asarray(out, dtype=np.float64)))
        return Predictions(labels=test.split_steps(np.asarray(out, dtype=np.int64)))


@contextlib.contextmanager
def _quiet_convergence():
    """Turn sklearn's ConvergenceWarning into a debug log line (an iteration cap is a setting, not an error)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        yield
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            logger.debug("sklearn: %s", w.message)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _braindecode_models():
    """Import braindecode's EEGNet and ShallowFBCSPNet without the import-time notices of its other modules
    (a deprecated MNE montage name in ``eegpt``, a pandas deprecation in ``wfdb``) reaching our users."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Montage name 'standard_10", category=FutureWarning)
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.set_index")
        from braindecode.models import EEGNet, ShallowFBCSPNet
    return EEGNet, ShallowFBCSPNet


@contextlib.contextmanager
def _deterministic_torch(seed: int):
    import torch

    previous = torch.are_deterministic_algorithms_enabled()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


class BraindecodeModel:
    """A braindecode classifier trained on filtered raw windows ``(n_chans, n_times)``.

    Parameters
    ----------
    name : str
        Registered name.
    architecture : {"eegnet", "shallow"}
        ``braindecode.models.EEGNet`` or ``braindecode.models.ShallowFBCSPNet``.
    epochs : int
        Passes over the training windows.
    batch_size : int
        Windows per optimiser step.
    lr : float
        Adam learning rate.
    weight_decay : float
        Adam weight decay.
    model_kwargs : dict | None
        Extra keyword arguments of the braindecode model (e.g. ``{"F1": 4}``).

    Attributes
    ----------
    show_progress : bool
        Show a progress bar over the epochs of :meth:`fit` (the runner sets it from its own ``show_progress``;
        ``EEGAFFECT_PROGRESS=0`` also switches it off).
    """

    input_kind = "raw"
    task = "classification"

    def __init__(self, name: str, architecture: str, *, epochs: int = 10, batch_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 0.0, model_kwargs: dict | None = None):
        if architecture not in ("eegnet", "shallow"):
            raise ValueError(f"architecture must be 'eegnet' or 'shallow', got {architecture!r}")
        if epochs < 1 or batch_size < 1 or lr <= 0 or weight_decay < 0:
            raise ValueError(f"expected epochs >= 1, batch_size >= 1, lr > 0, weight_decay >= 0, got "
                             f"{epochs}, {batch_size}, {lr}, {weight_decay}")
        self.name = name
        self.architecture = architecture
        self.epochs, self.batch_size, self.lr, self.weight_decay = int(epochs), int(batch_size), float(lr), \
            float(weight_decay)
        self.model_kwargs = dict(model_kwargs or {})
        self.show_progress = True
        self.module_ = None
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def _build(self, n_chans: int, n_outputs: int, n_times: int, sfreq: float):
        EEGNet, ShallowFBCSPNet = _braindecode_models()

        cls = EEGNet if self.architecture == "eegnet" else ShallowFBCSPNet
        kwargs: dict[str, Any] = dict(self.model_kwargs)
        if self.architecture == "shallow":
            # the defaults assume 250 Hz / 4-s trials; scale the temporal kernels to the window length
            kwargs.setdefault("filter_time_length", max(3, min(25, n_times // 8)))
            kwargs.setdefault("pool_time_length", max(2, min(75, n_times // 4)))
            kwargs.setdefault("pool_time_stride", max(1, min(15, n_times // 16)))
        else:
            kwargs.setdefault("kernel_length", max(4, min(64, int(round(sfreq / 2)))))
            # the max-norm constrained linear classifier of the original EEGNet (the False default is deprecated)
            kwargs.setdefault("final_layer_with_constraint", True)
        return cls(n_chans=n_chans, n_outputs=n_outputs, n_times=n_times, sfreq=sfreq, **kwargs)

    def _standardise(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean_[None, :, None]) / self.std_[None, :, None]).astype(np.float32)

    def fit(self, train: SplitData, *, seed: int) -> None:
        """Train the network on the training split's raw windows (channel statistics from it only), seeded."""
        _check_train(train, "raw", self.name, need_labels=True)
        import torch

        from eegaffect._progress import progress

        x = train.stacked("raw")
        y = train.step_labels()
        n_classes = max(train.n_classes, int(y.max()) + 1)
        # per-channel statistics over all training windows and samples: the training split only
        self.mean_ = x.mean(axis=(0, 2))
        self.std_ = x.std(axis=(0, 2))
        self.std_[self.std_ == 0] = 1.0
        xt = torch.from_numpy(self._standardise(x))
        yt = torch.from_numpy(y.astype(np.int64))
        with _deterministic_torch(seed):
            module = self._build(x.shape[1], n_classes, x.shape[2], float(train.sfreq))
            optimiser = torch.optim.Adam(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            loss_fn = torch.nn.CrossEntropyLoss()
            gen = torch.Generator().manual_seed(seed)
            module.train()
            bar = progress(total=self.epochs, desc=f"{self.name} fit", unit="epoch", leave=False) \
                if self.show_progress else None
            for epoch in range(self.epochs):
                order = torch.randperm(len(xt), generator=gen)
                total = 0.0
                for start in range(0, len(order), self.batch_size):
                    idx = order[start:start + self.batch_size]
                    if len(idx) < 2:  # batch norm needs more than one sample
                        continue
                    optimiser.zero_grad()
                    loss = loss_fn(module(xt[idx]), yt[idx])
                    loss.backward()
                    optimiser.step()
                    total += float(loss.detach()) * len(idx)
                logger.debug("%s epoch %d/%d loss %.4f", self.name, epoch + 1, self.epochs, total / len(xt))
                if bar is not None:
                    bar.set_postfix(loss=f"{total / len(xt):.3f}", refresh=False)
                    bar.update(1)
            if bar is not None:
                bar.close()
        module.eval()
        self.module_ = module

    def predict(self, test: SplitData) -> Predictions:
        """Predict the class of every step of every test trial from its raw windows."""
        if self.module_ is None:
            raise RuntimeError(f"{self.name}.predict called before fit")
        import torch

        x = self._standardise(test.stacked("raw"))
        out = []
        with torch.no_grad():
            for start in range(0, len(x), 256):
                out.append(self.module_(torch.from_numpy(x[start:start + 256])).argmax(dim=1).numpy())
        pred = np.concatenate(out) if out else np.zeros(0, dtype=np.int64)
        return Predictions(labels=test.split_steps(pred.astype(np.int64)))


register_model("de-svm", lambda **kw: SklearnFeatureModel("de-svm", "svm", **kw))
register_model("de-logreg", lambda **kw: SklearnFeatureModel("de-logreg", "logreg", **kw))
register_model("de-ridge", lambda **kw: SklearnFeatureModel("de-ridge", "ridge", **kw))
register_model("eegnet", lambda **kw: BraindecodeModel("eegnet", "eegnet", **kw))
register_model("shallow", lambda **kw: BraindecodeModel("shallow", "shallow", **kw))
