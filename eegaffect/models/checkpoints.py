"""Stage checkpoints: what each stage's checkpoint depends on, checking a run against them, atomic writes.

Each stage writes ``{out}/checkpoints/{name}.pt`` (model, optimiser, RNG states, step, loss history) and the run's
config as ``train_config.json`` beside them; a stage that is not run is loaded from its checkpoint, which must
have been trained with the same values of the keys that decide it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

from eegaffect.models.config import STAGES, TrainConfig

__all__ = ["CHECKPOINT_CONFIG", "check_checkpoints", "write_checkpoint_config", "load_state", "atomic_save"]


#: Config file written beside the stage checkpoints: the config they were trained with.
CHECKPOINT_CONFIG = "train_config.json"
#: Dotted config keys that decide each stage's result (a stage loaded from its checkpoint must agree on them).
_STAGE_KEYS = {"vqvae": ("seed", "data", "pipeline", "vqvae"),
               "transformer": ("transformer", "sac.enabled", "sac.holdout_fraction", "fusion"),
               "sac": ("sac",)}
#: Keys that decide the shapes of the weights (a resumed stage must agree on them).
_SHAPE_KEYS = ("pipeline.features.bands", "vqvae.quantize", "vqvae.d_model", "vqvae.band_filters",
               "vqvae.kernel_size", "vqvae.dilations", "vqvae.n_codes", "vqvae.residual_dim", "transformer.d_model",
               "transformer.n_heads", "transformer.n_layers", "transformer.class_head", "fusion.physio",
               "fusion.hidden")
#: The checkpoint each stage is loaded from when it is not run.
_STAGE_CHECKPOINT = {"vqvae": "vqvae.pt", "transformer": "finetune.pt"}


def check_checkpoints(checkpoint_dir: str | Path, config: TrainConfig, stages: Sequence[str],
                      resume: bool = False) -> None:
    """Check, before any data is loaded, that the checkpoints a run needs exist and match ``config``.

    Stages before the first one in ``stages`` are loaded from their checkpoints: they must exist, and the keys
    that decide them (their config sections, the seed, data and pipeline) must equal the ones they were trained
    with (``train_config.json`` beside the checkpoints). With ``resume`` the stages being continued must also
    agree on the keys that decide the weights' shapes.

    Parameters
    ----------
    checkpoint_dir : str | Path
        Folder of the stage checkpoints.
    config : TrainConfig
        The config of the run about to start.
    stages : sequence of str
        Stages that will run.
    resume : bool
        Whether run stages continue from their checkpoints.

    Raises
    ------
    FileNotFoundError
        An earlier stage has no checkpoint.
    ValueError
        The checkpoints were trained with a config that differs on keys that matter (all of them are named).
    """
    ckpt_dir = Path(checkpoint_dir)
    first = min(STAGES[1:].index(s) for s in stages)
    earlier = list(STAGES[1:first + 1])
    for name in earlier:
        path = ckpt_dir / _STAGE_CHECKPOINT[name]
        if not path.is_file():
            raise FileNotFoundError(f"stage {name!r} is not being run and has no checkpoint at {path}; run it "
                                    "first (--stage all, or the earlier stage)")
    keys = [k for name in earlier for k in _STAGE_KEYS[name]] + (list(_SHAPE_KEYS) if resume else [])
    saved_path = ckpt_dir / CHECKPOINT_CONFIG
    if not keys or not saved_path.is_file():
        return
    try:
        saved = json.loads(saved_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{saved_path}: not valid JSON ({exc}); rerun all stages (--stage all)") from None
    diffs = _config_diffs(saved, config.model_dump(mode="json"), keys)
    if diffs:
        listed = "; ".join(f"{k}: checkpoint {a!r}, config {b!r}" for k, a, b in diffs)
        what = f"stage(s) {earlier}" if earlier else "the stages being resumed"
        raise ValueError(f"the checkpoints in {ckpt_dir} ({what}) were trained with a different config: {listed}. "
                         "Use the checkpoints' values, or retrain from the first differing stage "
                         "(--stage all)")


def _config_diffs(saved: dict, current: dict, keys: Sequence[str]) -> list[tuple[str, object, object]]:
    """(dotted key, saved value, current value) for every leaf under ``keys`` that differs."""
    flat_saved, flat_now = _flatten(saved), _flatten(current)
    out = []
    for key in sorted(set(flat_saved) | set(flat_now)):
        if any(key == k or key.startswith(k + ".") for k in keys):
            a, b = flat_saved.get(key, "<absent>"), flat_now.get(key, "<absent>")
            if a != b:
                out.append((key, a, b))
    return out


def _flatten(doc: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in doc.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def write_checkpoint_config(ckpt_dir: Path, config: TrainConfig) -> None:
    """Write ``config`` as ``train_config.json`` in ``ckpt_dir`` (atomically)."""
    tmp = ckpt_dir / (CHECKPOINT_CONFIG + ".tmp")
    tmp.write_text(json.dumps(config.model_dump(mode="json"), indent=2), encoding="utf-8")
    os.replace(tmp, ckpt_dir / CHECKPOINT_CONFIG)


def load_state(module, state: dict, ckpt: Path) -> None:
    """``module.load_state_dict`` with an error that names the checkpoint instead of torch's size-mismatch list."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise ValueError(f"checkpoint {ckpt} does not fit the model of the current config ({first}); it was "
                         "trained with other model sizes: use that config, or retrain from this stage") from None


def atomic_save(obj, path: Path) -> None:
    """``torch.save`` to a temporary file renamed into place (a crash never leaves half a checkpoint)."""
    import torch

    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
