"""Hyper-parameter search of the EEGDancer chain with Ray Tune (ASHA), on validation folds carved from training data.

``eegaffect tune`` scores each sampled config of the chain (VQ-VAE -> masked transformer -> SAC,
``configs/train.yaml``) like the benchmark would, without ever touching a test trial:

1. the protocol's outer folds are made as ``bench seed`` makes them (the first ``max_folds`` of them are used);
2. inside each outer fold's *training* trials, a validation fold is carved by the same protocol (subject-dependent:
   the last third of the session's training trials; loso: one training subject held out; cross-session: one
   training session; kfold: the first of 3 folds), falling back to 3-fold by trial where the protocol cannot
   split the training side again;
3. a trial (one sampled config) fits the chain on the inner training trials and scores the inner validation
   trials, outer fold after outer fold, reporting the running mean after each; ASHA stops the poor ones early.

Only the training sides' features are shipped to the trainable (through Ray's object store); the outer folds'
test trials are never part of what it receives. The best config, with the packaged ``train.yaml`` as its base and
the overrides given, is written as a YAML that ``eegaffect train --config`` accepts.

The search space (:data:`SEARCH_SPACE`, replaceable with ``--space FILE``) is, per dotted key of
:class:`~eegaffect.models.training.TrainConfig`:

=========================== ==========================================
key                         distribution
=========================== ==========================================
``vqvae.lr``                log-uniform 5e-4 .. 5e-3
``vqvae.n_codes``           one of 16, 32, 64
``vqvae.commitment``        uniform 0.1 .. 0.5
``transformer.lr``          log-uniform 5e-4 .. 5e-3
``transformer.d_model``     one of 16, 32, 64
``transformer.context``     one of 8, 16, 32
``transformer.drop_prob``   uniform 0 .. 0.3
``transformer.mask_prob``   uniform 0.15 .. 0.5
``sac.action_scale``        uniform 0.05 .. 0.3
=========================== ==========================================

A space file maps the same keys to ``{type: loguniform|uniform, low, high}``, ``{type: randint, low, high}`` or
``{type: choice, values: [...]}``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from eegaffect._logging import logger

__all__ = ["SEARCH_SPACE", "TUNE_METRICS", "TuneResult", "tune_chain", "inner_splits", "load_space",
           "config_overrides"]

#: The documented default search space (dotted TrainConfig key -> distribution).
SEARCH_SPACE: dict[str, dict[str, Any]] = {
    "vqvae.lr": {"type": "loguniform", "low": 5e-4, "high": 5e-3},
    "vqvae.n_codes": {"type": "choice", "values": [16, 32, 64]},
    "vqvae.commitment": {"type": "uniform", "low": 0.1, "high": 0.5},
    "transformer.lr": {"type": "loguniform", "low": 5e-4, "high": 5e-3},
    "transformer.d_model": {"type": "choice", "values": [16, 32, 64]},
    "transformer.context": {"type": "choice", "values": [8, 16, 32]},
    "transformer.drop_prob": {"type": "uniform", "low": 0.0, "high": 0.3},
    "transformer.mask_prob": {"type": "uniform", "low": 0.15, "high": 0.5},
    "sac.action_scale": {"type": "uniform", "low": 0.05, "high": 0.3},
}

#: What a trial can be scored by (all maximised; ``va_ccc`` = mean of valence and arousal CCC).
TUNE_METRICS = ("va_ccc", "valence_ccc", "arousal_ccc", "accuracy", "macro_f1", "balanced_accuracy")

_DISTRIBUTIONS = ("loguniform", "uniform", "randint", "choice")


@dataclass
class TuneResult:
    """What :func:`tune_chain` found.

    Attributes
    ----------
    best_overrides : dict
        The best trial's sampled values (dotted key -> value).
    best_score : float
        Its mean validation score over the outer folds it completed.
    config_path : Path
        The written best config (``OUT/best_config.yaml``).
    trials : list of dict
        Every trial: ``overrides``, ``score``, ``folds_done``.
    data_trials : list of tuple
        ``(subject, session, trial)`` of every trial shipped to the trainable (training sides only).
    seen_by_trainable : list of tuple
        ``(subject, session, trial)`` of the trials the trainables report having fitted or scored.
    """

    best_overrides: dict
    best_score: float
    config_path: Path
    trials: list[dict] = field(default_factory=list)
    data_trials: list[tuple] = field(default_factory=list)
    seen_by_trainable: list[tuple] = field(default_factory=list)


def load_space(path: str | Path | None) -> dict[str, dict[str, Any]]:
    """Read a search-space YAML (or return :data:`SEARCH_SPACE` for None) and validate it.

    Parameters
    ----------
    path : str | Path | None
        YAML mapping dotted TrainConfig keys to distributions.

    Returns
    -------
    space : dict
        Dotted key -> distribution dict.
    """
    if path is None:
        return {k: dict(v) for k, v in SEARCH_SPACE.items()}
    import yaml

    from eegaffect.errors import UserInputError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"search space file {path} does not exist")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not doc:
        raise UserInputError(f"{path}: expected a mapping of dotted config keys to distributions, got "
                             f"{type(doc).__name__}")
    _check_space(doc, str(path))
    return doc


def _check_space(space: dict, where: str) -> None:
    from eegaffect.errors import UserInputError

    for key, dist in space.items():
        if not isinstance(dist, dict) or dist.get("type") not in _DISTRIBUTIONS:
            raise UserInputError(f"{where}: {key}: expected {{type: one of {list(_DISTRIBUTIONS)}, ...}}, got {dist!r}")
        if dist["type"] == "choice":
            if not isinstance(dist.get("values"), list) or not dist["values"]:
                raise UserInputError(f"{where}: {key}: a choice needs a non-empty 'values' list, got {dist!r}")
        elif not all(isinstance(dist.get(b), (int, float)) for b in ("low", "high")) or dist["low"] >= dist["high"]:
            raise UserInputError(f"{where}: {key}: expected numbers low < high, got {dist!r}")
        elif dist["type"] == "loguniform" and dist["low"] <= 0:
            raise UserInputError(f"{where}: {key}: a log-uniform range needs low > 0, got {dist!r}")
    # every key must be a real TrainConfig key with a value of the sampled kind
    _train_config([f"{k}={_yaml_value(_example(d))}" for k, d in space.items()], where=where)


def _example(dist: dict) -> Any:
    return dist["values"][0] if dist["type"] == "choice" else dist["low"]


def config_overrides(config) -> list[str]:
    """Every leaf of a train config as ``key=value`` overrides (a base config for :func:`tune_chain`).

    Parameters
    ----------
    config : TrainConfig
        A validated config.

    Returns
    -------
    overrides : list of str
        ``"vqvae.lr=0.002"``-style items, lists and nulls in YAML flow syntax.
    """
    def walk(doc: dict, prefix: str) -> list[str]:
        items = []
        for key, value in doc.items():
            if isinstance(value, dict):
                items += walk(value, f"{prefix}{key}.")
            else:
                items.append(f"{prefix}{key}={_yaml_value(value)}")
        return items

    return walk(config.model_dump(mode="json"), "")


def inner_splits(infos: Sequence[Any], folds: Sequence[Any], protocol: str, *, k: int = 3,
                 seed: int = 0) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Carve a validation fold out of each outer fold's training trials.

    Parameters
    ----------
    infos : sequence of TrialInfo
        All trials (the folds' indices point into it).
    folds : sequence of Fold
        Outer folds.
    protocol : str
        The outer protocol; the inner split uses it again on the training trials (see the module docstring).
    k : int
        Folds of the by-trial fallback.
    seed : int
        Seed of the by-trial fallback's shuffle.

    Returns
    -------
    splits : list of (train, val)
        Per outer fold, indices (into ``infos``) of the inner training and validation trials; both are subsets
        of the outer fold's training side.
    """
    from eegaffect.benchmark.protocols import make_folds

    splits = []
    for fold in folds:
        train = list(fold.train)
        sub = [infos[j] for j in train]
        n_train = max(1, math.ceil(2 * len(sub) / 3)) if protocol == "subject-dependent" else None
        try:
            inner = make_folds(sub, protocol, n_train=n_train, k=k, seed=seed)[0]
        except ValueError:
            inner = make_folds(sub, "kfold", k=k, seed=seed)[0]
        if not inner.train or not inner.test:
            raise ValueError(f"outer fold {fold.name}: cannot carve a validation fold from its "
                             f"{len(train)} training trial(s)")
        splits.append((tuple(train[i] for i in inner.train), tuple(train[i] for i in inner.test)))
    return splits


def tune_chain(root: str | Path, out: str | Path, *, dataset: str = "seed", model: str = "eegdancer",
               protocol: str = "subject-dependent", trials: int = 8, max_folds: int = 3, metric: str = "va_ccc",
               space: dict | None = None, overrides: Sequence[str] = (), seed: int = 0,
               subjects: Sequence[int] | None = None, cache_dir: str | Path | None = None, execution=None,
               show_progress: bool = True) -> TuneResult:
    """Search the chain's config with Ray Tune (ASHA) and write the best one as a train config YAML.

    Parameters
    ----------
    root : str | Path
        Dataset folder.
    out : str | Path
        Output folder: ``best_config.yaml``, ``trials.json`` and Ray Tune's own records (``ray_results/``).
    dataset : {"seed", "seed-iv", "dreamer"}
        Dataset layout.
    model : str
        ``eegdancer`` or one of its ablations (:data:`eegaffect.models.benchmark.VARIANTS`).
    protocol : str
        Outer protocol (:data:`eegaffect.benchmark.protocols.PROTOCOLS`).
    trials : int
        Sampled configs.
    max_folds : int
        Outer folds used (the first ones, in the protocol's order).
    metric : str
        One of :data:`TUNE_METRICS` (maximised).
    space : dict | None
        Search space; None uses :data:`SEARCH_SPACE`.
    overrides : sequence of str
        ``key=value`` overrides of the packaged ``train.yaml`` applied to every trial (and to the written
        config), e.g. fewer steps; :func:`config_overrides` turns a whole base config into them.
    seed : int
        Seed of the sampler, the folds and every fit.
    subjects : sequence of int | None
        Subjects to use; None = all.
    cache_dir : str | Path | None
        Feature cache folder (None: the user cache folder).
    execution : Execution | None
        Where trials run: a local Ray instance with ``workers`` CPUs (one trial per CPU), or the cluster at
        ``address``; None = a local instance with every core. A Ray instance this process is already connected to
        is used as is.
    show_progress : bool
        Show Ray Tune's progress table.

    Returns
    -------
    result : TuneResult
        Best overrides and score, the written config, every trial.
    """
    from eegaffect.benchmark.protocols import PROTOCOLS
    from eegaffect.models.benchmark import VARIANTS

    if model not in VARIANTS:
        raise ValueError(f"model must be one of {sorted(VARIANTS)}, got {model!r}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")
    if metric not in TUNE_METRICS:
        raise ValueError(f"metric must be one of {list(TUNE_METRICS)}, got {metric!r}")
    if trials < 1 or max_folds < 1:
        raise ValueError(f"expected trials >= 1 and max_folds >= 1, got {trials} and {max_folds}")
    space = {k: dict(v) for k, v in (space or SEARCH_SPACE).items()}
    _check_space(space, "search space")
    overrides = [*overrides, *VARIANTS[model]]  # the ablation's switch wins over the base config
    _train_config(overrides, where="--set")
    root, out = Path(root), Path(out)
    if not root.exists():
        raise FileNotFoundError(f"dataset root {root} does not exist")
    return _tune(root, out, dataset, protocol, trials, max_folds, metric, space, overrides, seed,
                 list(subjects) if subjects else None, cache_dir, execution, show_progress)


def _tune(root, out, dataset, protocol, n_trials, max_folds, metric, space, overrides, seed, subjects, cache_dir,
          execution, show_progress) -> TuneResult:
    from eegaffect.benchmark.execution import Execution, RayExecutor

    payload = _payload(root, dataset, protocol, max_folds, seed, subjects, cache_dir, metric, overrides)
    out.mkdir(parents=True, exist_ok=True)
    if execution is None:
        import os

        execution = Execution(workers=os.cpu_count() or 1)
    with RayExecutor(execution) as ray_exec:
        logger.info("tune: Ray ready in %.1f s; %d trial(s) over %d outer fold(s), %d training trial(s) shipped",
                    ray_exec.startup_s, n_trials, len(payload["splits"]), len(payload["keys"]))
        grid = _run_tuner(payload, space, n_trials, seed, out, show_progress)
    rows, seen = [], set()
    for res in grid:
        seen.update(tuple(k) for k in json.loads((res.metrics or {}).get("data_trials", "[]")))
        if res.error is not None or not res.metrics:
            rows.append({"overrides": _sampled(res.config, space), "score": None, "folds_done": 0,
                         "error": str(res.error)})
            continue
        rows.append({"overrides": _sampled(res.config, space), "score": _finite(res.metrics.get("score")),
                     "folds_done": int(res.metrics.get("folds_done", 0))})
    scored = [r for r in rows if r["score"] is not None]
    if not scored:
        errors = "; ".join(r.get("error", "") for r in rows)[:500]
        raise RuntimeError(f"tune: no trial produced a score ({errors})")
    best = max(scored, key=lambda r: (r["folds_done"], r["score"]))
    config = _train_config([*overrides, f"seed={seed}", f"data.dataset={dataset}",
                            *(f"{k}={_yaml_value(v)}" for k, v in best["overrides"].items())], where="best config")
    path = _write_config(out / "best_config.yaml", config, best, metric, protocol, len(payload["splits"]), rows)
    (out / "trials.json").write_text(json.dumps({"metric": metric, "protocol": protocol, "trials": rows,
                                                 "data_trials": payload["keys"]}, indent=2), encoding="utf-8")
    return TuneResult(best["overrides"], best["score"], path, rows, [tuple(k) for k in payload["keys"]],
                      sorted(seen))


def _payload(root, dataset, protocol, max_folds, seed, subjects, cache_dir, metric, overrides) -> dict:
    """The data a trial receives: the inner splits and the features/targets of the outer training sides only."""
    from eegaffect.benchmark.protocols import make_folds, trial_key
    from eegaffect.benchmark.runner import BenchSeedConfig
    from eegaffect.benchmark.units import ArrayViews, TrialStub, trial_id
    from eegaffect.config import load_config
    from eegaffect.datasets import load_dataset
    from eegaffect.datasets.features import FeatureCache

    bench = load_config(BenchSeedConfig, None, [f"dataset={dataset}", f"protocol={protocol}", f"seed={seed}"],
                        default="bench_seed")
    full = load_dataset(root, dataset)
    data = full.select(subjects=subjects) if subjects else full
    infos = [t.info for t in data.trials]
    folds = make_folds(infos, protocol, dataset=full.name, n_train=bench.n_train, k=bench.k, seed=seed)[:max_folds]
    splits = inner_splits(infos, folds, protocol, seed=seed)
    used = sorted({j for tr, va in splits for j in (*tr, *va)})
    test_sides = {j for f in folds for j in f.test}
    for fold, (tr, va) in zip(folds, splits):  # inner_splits guarantees it; a change there must not leak silently
        leaked = (set(tr) | set(va)) & set(fold.test)
        if leaked:
            raise RuntimeError(f"outer fold {fold.name}: test trial(s) {sorted(leaked)} would reach the search")
    cache = FeatureCache(full, bench.pipeline, "features", cache_dir=cache_dir or bench.cache_dir)
    shipped = [data.trials[j] for j in used]
    cache.build(shipped, show_progress=False)
    local = {j: i for i, j in enumerate(used)}
    stubs = [TrialStub(t.info, t.continuous_targets()) for t in shipped]
    views = ArrayViews({"features": {trial_id(t.info): cache.load(t) for t in shipped}})
    logger.info("tune: %d outer fold(s); %d of %d trials shipped (%d outer test trials left out of the search)",
                len(folds), len(used), len(infos), len(test_sides - set(used)))
    return {"splits": [(tuple(local[j] for j in tr), tuple(local[j] for j in va)) for tr, va in splits],
            "fold_names": [f.name for f in folds], "trials": stubs, "views": views,
            "class_names": list(data.class_names), "bench": bench, "metric": metric, "overrides": list(overrides),
            "seed": seed, "keys": [list(trial_key(t.info)) for t in shipped]}


def _run_tuner(payload: dict, space: dict, n_trials: int, seed: int, out: Path, show_progress: bool):
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator

    n_folds = len(payload["splits"])
    scheduler = ASHAScheduler(time_attr="training_iteration", max_t=n_folds, grace_period=1, reduction_factor=2)
    trainable = tune.with_resources(tune.with_parameters(_trainable, payload=payload), {"cpu": 1})
    tuner = tune.Tuner(
        trainable, param_space={k: _distribution(d) for k, d in space.items()},
        tune_config=tune.TuneConfig(metric="score", mode="max", num_samples=n_trials, scheduler=scheduler,
                                    search_alg=BasicVariantGenerator(random_state=seed)),
        run_config=tune.RunConfig(name="tune", storage_path=str((out / "ray_results").resolve()),
                                  verbose=1 if show_progress else 0))
    return tuner.fit()


def _trainable(config: dict, payload: dict) -> None:
    """One Tune trial: fit the chain with the sampled config on each outer fold's inner training trials, score
    its inner validation trials, and report the running mean after every outer fold.
    """
    from ray import tune

    from eegaffect.benchmark.splits import split_data
    from eegaffect.benchmark.units import _Trials
    from eegaffect.models.benchmark import EEGDancerBenchmarkModel

    data = _Trials(payload["trials"], payload["class_names"])
    loaders = {"features": payload["views"].loader("features")}
    sampled = [f"{k}={_yaml_value(v)}" for k, v in config.items()]
    scores = []
    va_cache: dict[int, np.ndarray] = {}
    seen = sorted({tuple(payload["keys"][j]) for tr, va in payload["splits"] for j in (*tr, *va)})
    for i, (tr, va) in enumerate(payload["splits"]):
        train = split_data(data, tr, loaders, va_cache, payload["bench"])
        val = split_data(data, va, loaders, va_cache, payload["bench"])
        model = EEGDancerBenchmarkModel("eegdancer", overrides=[*payload["overrides"], *sampled])
        model.fit(train, seed=payload["seed"])
        pred = model.predict(val).check(val)
        score = _score(payload["metric"], val, pred)
        scores.append(score)
        tune.report({"score": float(np.mean(scores)), "fold_score": score, "folds_done": i + 1,
                     "fold": payload["fold_names"][i], "data_trials": json.dumps(seen)})


def _score(metric: str, val, pred) -> float:
    from eegaffect.benchmark.metrics import classification_metrics, regression_metrics

    found: dict[str, float | None] = {}
    if pred.va is not None:
        found.update(regression_metrics(val.step_va(), np.concatenate(pred.va)))
    if pred.labels is not None and np.all(val.labels >= 0):
        found.update(classification_metrics(val.step_labels(), np.concatenate(pred.labels),
                                            n_classes=val.n_classes or None))
    if metric == "va_ccc":
        parts = [found.get("valence_ccc"), found.get("arousal_ccc")]
        parts = [p for p in parts if p is not None and math.isfinite(p)]
        value = float(np.mean(parts)) if parts else None
    else:
        value = found.get(metric)
    if value is None or not math.isfinite(value):
        return -1.0  # the metric does not apply or is undefined (constant prediction): the worst CCC
    return float(value)


def _distribution(dist: dict):
    from ray import tune

    kind = dist["type"]
    if kind == "choice":
        return tune.choice(list(dist["values"]))
    if kind == "loguniform":
        return tune.loguniform(float(dist["low"]), float(dist["high"]))
    if kind == "uniform":
        return tune.uniform(float(dist["low"]), float(dist["high"]))
    return tune.randint(int(dist["low"]), int(dist["high"]))


def _sampled(config: dict, space: dict) -> dict:
    return {k: _plain(config[k]) for k in space if k in config}


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _yaml_value(value) -> str:
    """A value in ``--set`` syntax (YAML flow)."""
    import yaml

    return yaml.safe_dump(_plain(value), default_flow_style=True).strip().removesuffix("\n...").strip()


def _train_config(overrides: Sequence[str], where: str):
    from eegaffect.config import ConfigError, load_config
    from eegaffect.errors import UserInputError
    from eegaffect.models.training import TrainConfig

    try:
        return load_config(TrainConfig, None, list(overrides), default="train")
    except ConfigError as exc:
        raise UserInputError(f"{where}: {exc}") from exc


def _write_config(path: Path, config, best: dict, metric: str, protocol: str, n_folds: int, rows: list) -> Path:
    import yaml

    header = [
        "# eegaffect train config found by `eegaffect tune` (Ray Tune, ASHA); train with:",
        f"#   eegaffect train --config {path.name} --data DATASET --out BUNDLE",
        f"# best of {len(rows)} trial(s): mean validation {metric} {best['score']:.4f} over {best['folds_done']} of "
        f"{n_folds} outer {protocol} fold(s)",
        "# (validation folds carved from the outer folds' training trials; their test trials were never used)",
        f"# tuned: {json.dumps(best['overrides'])}",
    ]
    body = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(header) + "\n" + body, encoding="utf-8")
    tmp.replace(path)
    return path
