"""Live step latency and training time of the continuous emotion model (``eegaffect bench model``).

Cases (the shared bench JSON shape, ``ratio > 1`` = eegaffect better):

- ``train-subject-session``: seconds to featurise and train a bundle (all stages, packaged ``configs/train.yaml``)
  on one synthetic SEED subject-session (15 trials of ``--trial-seconds``, 62 ch at 200 Hz); reference = the
  5-minute target, ratio = 300 s / ours.
- ``step-p99-62ch``: p99 in ms of ``Predictor.step`` per 1 Hz update (one 1-s chunk of 62 x 200 raw samples in,
  one valence/arousal step out: filters, DE features, VQ-VAE + transformer streaming step, SAC); reference = the
  same update through the plain modules without streaming state (the same pipeline step, then a full forward of
  the VQ-VAE + transformer over the receptive field's worth of past frames, keeping the last output, then SAC);
  ratio = reference / ours. Medians are reported beside them.

Torch runs on one intra-op thread here (the models are small; one thread gives the steadiest latency).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

from pydantic import Field

from eegaffect.config import ConfigModel

__all__ = ["BenchModelConfig", "run_bench", "train_case", "step_case"]


class BenchModelConfig(ConfigModel):
    """Settings of ``eegaffect bench model`` (``configs/bench_model.yaml``)."""

    trial_seconds: float = Field(60.0, gt=1, description="length of each synthetic trial (training case)")
    updates: int = Field(300, ge=10, description="timed live updates (latency case)")
    seed: int = 0


def run_bench(trial_seconds: float = 60.0, updates: int = 300, seed: int = 0, workdir: str | Path | None = None):
    """Run both cases: ``step-p99-62ch`` and ``train-subject-session``.

    Parameters
    ----------
    trial_seconds : float
        Length of each synthetic trial of the training case.
    updates : int
        Timed live updates of the latency case.
    seed : int
        Seed of the synthetic data and of training.
    workdir : str | Path | None
        Folder for the synthetic data and the bundle (``None``: a temporary folder, removed afterwards).

    Returns
    -------
    cases : list of BenchCase
        The two rows.
    details : dict
        Medians and p99s of both sides, the training time and the receptive field.
    """
    import torch

    from eegaffect.perf import BenchCase

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() if workdir is None else contextlib.nullcontext(workdir) as tmp:
            bundle, train_s = train_case(Path(tmp), trial_seconds, seed)
            ours, ref, details = step_case(bundle, updates, seed)
    finally:
        torch.set_num_threads(threads)
    cases = [
        BenchCase.duration("step-p99-62ch", "ms", ours, ref,
                           "plain modules, full forward over the receptive field per update"),
        BenchCase.duration("train-subject-session", "s", train_s, 300.0, "5-minute target"),
    ]
    details["train_seconds"] = round(train_s, 2)
    details["trial_seconds"] = trial_seconds
    return cases, details


def train_case(tmp: Path, trial_seconds: float, seed: int) -> tuple[Path, float]:
    """Write one synthetic SEED subject-session under ``tmp`` and time training a bundle on it.

    Parameters
    ----------
    tmp : Path
        Working folder (``tmp/synth``, ``tmp/bundle``).
    trial_seconds : float
        Length of each of the 15 trials.
    seed : int
        Seed of the data and of training.

    Returns
    -------
    bundle : Path
        The trained bundle.
    seconds : float
        Featurisation and training time (writing the data excluded).
    """
    from eegaffect.config import load_config
    from eegaffect.datasets.synth import write_synthetic_seed
    from eegaffect.models.training import TrainConfig, train_bundle

    data = tmp / "synth"
    write_synthetic_seed(data, subjects=1, sessions=1, trial_seconds=trial_seconds, seed=seed,
                         show_progress=False)
    config = load_config(TrainConfig, default="train", overrides=[f"seed={seed}", "device=cpu"])
    t0 = time.perf_counter()
    bundle = train_bundle(data, tmp / "bundle", config, progress_bar=False)
    return bundle, time.perf_counter() - t0


def step_case(bundle: Path, updates: int, seed: int) -> tuple[float, float, dict]:
    """p99 latency of ``Predictor.step`` per 1-s update against a stateless full forward of the plain modules.

    Parameters
    ----------
    bundle : Path
        A trained bundle with a 1-s hop.
    updates : int
        Timed updates (after 40 untimed ones).
    seed : int
        Seed of the random input chunks.

    Returns
    -------
    ours_p99_ms, reference_p99_ms : float
        p99 latencies in ms.
    details : dict
        Medians and p99s of both sides, the receptive field and ``updates``.
    """
    import numpy as np
    import torch

    from eegaffect.models.predictor import Predictor

    pred = Predictor.load(bundle)
    rng = np.random.default_rng(seed)
    sfreq, n_chans = int(pred.sfreq), pred.n_chans
    chunks = [rng.standard_normal((sfreq, n_chans)) * 1e-5 for _ in range(updates + 40)]
    # ours: the streaming Predictor
    for c in chunks[:40]:
        pred.step(c)
    ours = []
    for c in chunks[40:]:
        t0 = time.perf_counter()
        out = pred.step(c)
        ours.append(time.perf_counter() - t0)
        if len(out) != 1:
            raise RuntimeError(f"expected one step per 1-s chunk, got {len(out)} (check the bundle's hop_s)")
    # reference: same pipeline step, then a stateless full forward over the receptive field of frames
    chain = pred.chain
    model = chain.model
    rf = model.vqvae.receptive_field + model.transformer.receptive_field - 1
    pipe = pred._new_pipeline()
    frames: list[np.ndarray] = []
    ref, prev = [], None
    for i, c in enumerate(chunks):
        t0 = time.perf_counter()
        new = pipe.step(c)
        frames.extend(np.asarray(new))
        window = np.stack(frames[-rf:])
        x = torch.from_numpy(chain.normalise(window)).permute(1, 2, 0)[None]
        with torch.no_grad():
            out = model(x)
        res = chain._collect({k: (v[0, -1:] if v is not None else None) for k, v in out.items()})
        if chain.optimizer is not None:
            prev = chain.optimizer.act(res["context"][0], res["base_va"][0], prev)
        if i >= 40:
            ref.append(time.perf_counter() - t0)
        del frames[:-rf]
    ours_ms, ref_ms = np.asarray(ours) * 1e3, np.asarray(ref) * 1e3
    details = {"step_median_ms": round(float(np.median(ours_ms)), 3),
               "step_p99_ms": round(float(np.percentile(ours_ms, 99)), 3),
               "reference_median_ms": round(float(np.median(ref_ms)), 3),
               "reference_p99_ms": round(float(np.percentile(ref_ms, 99)), 3),
               "receptive_field_frames": rf, "updates": updates}
    return float(np.percentile(ours_ms, 99)), float(np.percentile(ref_ms, 99)), details
