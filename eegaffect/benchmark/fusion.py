"""The models of the multimodal benchmark (``eegaffect bench run``): one modality, or several fused.

Models (``--models``; names say their modality):

==================== ======== ============================================================================
name                 input    model
==================== ======== ============================================================================
eeg-de-svm           eeg      median imputer + StandardScaler + linear SVM
eeg-de-logreg        eeg      ... + logistic regression (L2)
eeg-de-ridge         eeg      ... + ridge regression of valence/arousal
physio-svm           physio   as eeg-de-svm on the physiological features
physio-logreg        physio   as eeg-de-logreg
physio-ridge         physio   as eeg-de-ridge
fusion-early-logreg  both     concatenated features, imputer + scaler + univariate selection (ANOVA F, the
                              ``k_best`` best columns) + L2 logistic regression, all fitted on the training
                              fold only
fusion-early-ridge   both     the same with ridge regression
fusion-late          both     one logistic regression per modality; class probabilities averaged
fusion-stack         both     one logistic regression per modality, stacked by a logistic regression on their
                              out-of-fold log-odds (inner 3-fold split by trial inside the training fold)
physio-chest-logreg  physio   logistic regression on the chest sensors' features (two-device datasets)
physio-wrist-logreg  physio   ... on the wrist band's features (WESAD's Empatica E4)
==================== ======== ============================================================================

On a dataset without EEG whose physiology comes from two devices (WESAD: chest RespiBAN, wrist E4) the fusion
models fuse the devices instead (chest + wrist), and are compared with the single-device models; the
``physio-*`` models over all physiological features are then themselves a fusion of devices (modality
``"physio (all devices)"``) and are not counted as a single modality.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MODALITY_MODELS", "FeatureModel", "make_model", "resolve_modalities", "modality_of"]

#: model name -> (modalities, kind, task); kind: estimator or "late".
MODALITY_MODELS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "eeg-de-svm": (("eeg",), "svm", "classification"),
    "eeg-de-logreg": (("eeg",), "logreg", "classification"),
    "eeg-de-ridge": (("eeg",), "ridge", "regression"),
    "physio-svm": (("physio",), "svm", "classification"),
    "physio-logreg": (("physio",), "logreg", "classification"),
    "physio-ridge": (("physio",), "ridge", "regression"),
    "fusion-early-logreg": (("eeg", "physio"), "logreg", "classification"),
    "fusion-early-ridge": (("eeg", "physio"), "ridge", "regression"),
    "fusion-late": (("eeg", "physio"), "late", "classification"),
    "fusion-stack": (("eeg", "physio"), "stack", "classification"),
    "physio-chest-logreg": (("physio.chest",), "logreg", "classification"),
    "physio-wrist-logreg": (("physio.wrist",), "logreg", "classification"),
}


class FeatureModel:
    """A scikit-learn model over the concatenated features of some modalities (see the module table).

    Every statistic (imputation medians, scaling, feature selection, the estimator) is fitted on the training
    fold only, inside one sklearn Pipeline.
    """

    def __init__(self, name: str, modalities: tuple[str, ...], kind: str, task: str, *, C: float = 1.0,
                 alpha: float = 1.0, k_best: int | None = None, max_iter: int = 2000):
        if C <= 0 or alpha < 0 or max_iter < 1 or (k_best is not None and k_best < 1):
            raise ValueError(f"{name}: expected C > 0, alpha >= 0, max_iter >= 1, k_best >= 1 or None, got "
                             f"C={C}, alpha={alpha}, max_iter={max_iter}, k_best={k_best}")
        self.name, self.modalities, self.kind, self.task = name, modalities, kind, task
        self.C, self.alpha, self.k_best, self.max_iter = float(C), float(alpha), k_best, int(max_iter)
        self.pipelines_: list = []
        self.constant_: Any = None
        self.meta_ = None

    def _pipeline(self, seed: int, n_features: int):
        from sklearn.feature_selection import (
            SelectKBest,
            VarianceThreshold,
            f_classif,
            f_regression,
        )
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import LinearSVC

        steps: list = [SimpleImputer(strategy="median"), VarianceThreshold(0.0), StandardScaler()]
        if self.k_best and len(self.modalities) > 1:
            steps.append(SelectKBest(f_regression if self.task == "regression" else f_classif,
                                     k=min(self.k_best, n_features)))
        if self.kind == "svm":
            steps.append(LinearSVC(C=self.C, max_iter=self.max_iter, random_state=seed))
        elif self.kind in ("logreg", "late", "stack"):
            steps.append(LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=seed))
        else:
            steps.append(Ridge(alpha=self.alpha))
        return make_pipeline(*steps)

    def fit(self, xs: dict[str, np.ndarray], y: np.ndarray, *, seed: int,
            groups: np.ndarray | None = None) -> "FeatureModel":
        """Fit on training frames.

        Parameters
        ----------
        xs : dict of str to ndarray, shape (n_frames, n_features_m)
            Training features per modality.
        y : ndarray, shape (n_frames,) or (n_frames, 2)
            Class per frame, or valence/arousal per frame.
        seed : int
            Seed of the estimators.
        groups : ndarray, shape (n_frames,) | None
            Trial of each frame; the stacking model's inner folds split by it (never inside a trial).

        Returns
        -------
        self : FeatureModel
        """
        from eegaffect.benchmark.baselines import _quiet_convergence

        self.pipelines_, self.constant_, self.meta_ = [], None, None
        if self.task == "classification" and np.unique(y).size < 2:
            self.constant_ = int(y[0])  # a fold whose training side has one class: predict it
            return self
        if self.kind == "stack":
            with _quiet_convergence():
                return self._fit_stack(xs, y, seed, groups)
        blocks = [[m] for m in self.modalities] if self.kind == "late" else [list(self.modalities)]
        # regression: one pipeline per target column (valence, arousal), so feature selection scores each
        targets = [y[:, c] for c in range(y.shape[1])] if self.task == "regression" else [y]
        with _quiet_convergence():
            for mods in blocks:
                x = np.concatenate([xs[m] for m in mods], axis=1)
                for target in targets:
                    pipe = self._pipeline(seed, x.shape[1])
                    pipe.fit(x, target)
                    self.pipelines_.append((mods, pipe))
        return self

    def _fit_stack(self, xs, y, seed: int, groups) -> "FeatureModel":
        """Per-modality logistic regressions, then a logistic regression on their out-of-fold log-odds (inner
        folds by trial, inside the training fold: the meta-model never sees a prediction on its own training
        frames).
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import GroupKFold

        groups = np.arange(y.size) if groups is None else np.asarray(groups)
        classes = np.unique(y)
        n_inner = min(3, np.unique(groups).size)
        oof = []
        for m in self.modalities:
            col = np.tile(np.mean(y[:, None] == classes[None, :], axis=0), (y.size, 1))  # prior where unfit
            if n_inner >= 2:
                for tr, te in GroupKFold(n_splits=n_inner).split(xs[m], y, groups):
                    if np.unique(y[tr]).size == classes.size:
                        inner = self._pipeline(seed, xs[m].shape[1]).fit(xs[m][tr], y[tr])
                        col[te] = inner.predict_proba(xs[m][te])
            oof.append(col)
            self.pipelines_.append(([m], self._pipeline(seed, xs[m].shape[1]).fit(xs[m], y)))
        self.meta_ = LogisticRegression(C=1.0, max_iter=self.max_iter, random_state=seed).fit(_logit(oof), y)
        return self

    def predict(self, xs: dict[str, np.ndarray]) -> np.ndarray:
        """Predicted class (n_frames,) or valence/arousal (n_frames, 2)."""
        n = next(iter(xs.values())).shape[0]
        if self.constant_ is not None:
            return np.full(n, self.constant_, dtype=np.int64)
        if self.kind == "stack":
            probs = [pipe.predict_proba(xs[mods[0]]) for mods, pipe in self.pipelines_]
            return self.meta_.predict(_logit(probs)).astype(np.int64)
        if self.kind == "late":
            probs = [pipe.predict_proba(np.concatenate([xs[m] for m in mods], axis=1))
                     for mods, pipe in self.pipelines_]
            classes = self.pipelines_[0][1].classes_
            return classes[np.mean(probs, axis=0).argmax(axis=1)].astype(np.int64)
        outs = [pipe.predict(np.concatenate([xs[m] for m in mods], axis=1)) for mods, pipe in self.pipelines_]
        if self.task == "regression":
            return np.column_stack(outs).astype(np.float64)
        return np.asarray(outs[0], dtype=np.int64)


def _logit(probs: list[np.ndarray]) -> np.ndarray:
    p = np.clip(np.concatenate(probs, axis=1), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def make_model(name: str, modalities: tuple[str, ...] | None = None, **params) -> FeatureModel:
    """A fresh model of :data:`MODALITY_MODELS` by name (``modalities`` overrides its inputs, see
    :func:`resolve_modalities`).
    """
    if name not in MODALITY_MODELS:
        raise ValueError(f"unknown model {name!r} for bench run; available: {sorted(MODALITY_MODELS)}")
    mods, kind, task = MODALITY_MODELS[name]
    return FeatureModel(name, tuple(modalities or mods), kind, task, **params)


def resolve_modalities(name: str, available) -> tuple[str, ...]:
    """The inputs of model ``name`` on a dataset with the ``available`` modalities: fusion models fuse EEG and
    physiology, or, on a dataset without EEG whose physiology comes from two devices (WESAD), chest and wrist.
    """
    mods = MODALITY_MODELS[name][0]
    if len(mods) > 1 and "eeg" not in available and {"physio.chest", "physio.wrist"} <= set(available):
        return ("physio.chest", "physio.wrist")
    return mods


def modality_of(name: str, available=("eeg", "physio")) -> str:
    """``"eeg"``, ``"physio"``, ``"physio-chest"``, ``"physio-wrist"``, ``"physio (all devices)"`` (every
    physiological feature of a two-device dataset: itself a fusion of devices) or ``"fusion"``.
    """
    mods = resolve_modalities(name, available)
    if len(mods) > 1:
        return "fusion"
    if mods[0] == "physio" and {"physio.chest", "physio.wrist"} <= set(available):
        return "physio (all devices)"
    return mods[0].replace(".", "-")
