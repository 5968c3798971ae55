"""Resuming a benchmark run: the partial-results store and the signatures that decide what may be reused.

Every finished ``(model, fold)`` of :func:`eegaffect.benchmark.runner.run_benchmark` is appended to
``OUTDIR/partial/{run signature}/rows.jsonl`` (with its predictions in ``pred-*.npz`` beside it) by
:class:`_PartialStore`; a rerun reuses a line only when its signature is the model's current one
(:func:`_model_signature`), and only when its predictions file reads back whole (:func:`_readable_npz`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from eegaffect._logging import logger
from eegaffect.benchmark.protocols import CALIBRATED_PROTOCOLS, CALIBRATED_SUFFIX

if TYPE_CHECKING:
    from eegaffect.benchmark.runner import BenchSeedConfig

__all__: list[str] = []


def _hash(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _run_signature(config: BenchSeedConfig, dataset: str) -> str:
    """Name of the partial-results folder: the settings every model of a run shares (not the model list)."""
    doc = {"dataset": dataset, "protocol": config.protocol, "seed": config.seed, "n_train": config.n_train,
           "k": config.k, "subjects": config.subjects}
    if config.protocol in CALIBRATED_PROTOCOLS:
        doc["n_calibration"] = config.n_calibration
    return _hash(doc)


def _model_signature(config: BenchSeedConfig, dataset: str, name: str, cache, targets: str = "",
                     probe=None) -> str:
    """What one model's fold results depend on: its data view (dataset files + pipeline + view, through the
    cache key), the trials' targets (:func:`_targets_key`), the protocol and split settings, the seed, its name,
    its hyper-parameters and, for models that read a config of their own (``probe.config_signature()``, e.g. the
    chain's ``configs/train.yaml``), that resolved config.
    """
    own = getattr(probe, "config_signature", None)
    return _hash({"run": _run_signature(config, dataset), "model": name,
                  "params": config.model_params.get(name.removesuffix(CALIBRATED_SUFFIX), {}), "cache": cache.key,
                  "targets": targets, "model_config": own() if callable(own) else None})

def _targets_key(data) -> str:
    """Hash of what the folds' targets depend on besides the EEG files: the class names, every trial's label,
    class name and valence/arousal (from ``label.mat`` through the label tables) and the content of its continuous
    annotation CSV (a ground-truth stream inside a recording is covered by the EEG file's cache key).
    """
    rows = []
    for t in data.trials:
        i = t.info
        ann = t.annotation
        digest = hashlib.sha256(ann.read_bytes()).hexdigest() if ann is not None and ann.is_file() else None
        rows.append([str(i.source), i.key, i.label, i.label_name, i.valence, i.arousal, digest])
    return _hash({"classes": list(data.class_names), "trials": rows})


def _readable_npz(path: Path) -> bool:
    """Whether ``path`` is a whole ``.npz`` archive (every array reads back)."""
    import zipfile

    if not path.is_file():
        return False
    try:
        with open(path, "rb") as fh, np.load(fh) as z:  # our handle: np.load leaks its own on a bad archive
            for key in z.files:
                z[key]
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        logger.warning("partial result %s is damaged; its fold is fitted again", path)
        return False
    return True


class _PartialStore:
    """Append-only record of finished (model, fold) results, for resuming.

    ``rows.jsonl`` holds one ``{"signature", "row"}`` line per finished (model, fold). Only lines whose
    signature is the model's current one (:func:`_model_signature`) are reused: another seed, protocol or
    subject set gives another folder, another feature config or hyper-parameters of a model another signature,
    so results never mix; the other models of a run play no part, so adding one reuses the rest.
    """

    def __init__(self, folder: Path, run_signature: str, signatures: dict[str, str]):
        self.folder = folder / run_signature
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rows_path = self.folder / "rows.jsonl"
        self.signatures = dict(signatures)
        self._rows: dict[tuple[str, str], dict] = {}
        if self.rows_path.is_file():
            for line in self.rows_path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:  # a line cut short by an interruption
                    continue
                if not isinstance(entry, dict) or not isinstance(entry.get("row"), dict):
                    continue  # a line of an older layout
                row = entry["row"]
                model, fold = row.get("model"), row.get("fold")
                if entry.get("signature") == self.signatures.get(model) and _readable_npz(self.pred_path(model, fold)):
                    self._rows[(model, fold)] = row  # a missing or damaged prediction file: the fold is refitted

    def pred_path(self, model: str, fold: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{model}__{fold}")
        return self.folder / f"pred-{self.signatures[model][:8]}-{safe}.npz"

    def has(self, model: str, fold: str) -> bool:
        return (model, fold) in self._rows

    def add(self, row: dict, payload: dict[str, np.ndarray]) -> None:
        """Record one finished unit: its predictions file (written atomically), then its line in ``rows.jsonl``
        (a line cut short by a crash is skipped when reading).
        """
        path = self.pred_path(row["model"], row["fold"])
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **payload)
        tmp.replace(path)
        with self.rows_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"signature": self.signatures[row["model"]], "row": row}) + "\n")
            fh.flush()
        self._rows[(row["model"], row["fold"])] = row

    def rows(self) -> list[dict]:
        return list(self._rows.values())

    def predictions(self, model: str, fold: str) -> dict[str, np.ndarray]:
        with np.load(self.pred_path(model, fold)) as z:
            return {k: z[k] for k in z.files}

