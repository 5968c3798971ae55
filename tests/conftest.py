"""Shared pytest setup.

- Warnings are errors (``filterwarnings`` in pyproject.toml holds the commented ignore list).
- Every test has a timeout (pyproject ``timeout``); live tests set a tighter one with ``@pytest.mark.timeout``.
- LSL discovery stays on this machine, in a session private to this test process (and the subprocesses it
  starts), configured before any other LSL call.
- Figures are closed after each test; torch/BLAS use one thread per test process (xdist gives one per core).
- The legacy global ``np.random`` functions are banned in eegaffect and test code: use
  ``np.random.default_rng(seed)``. (Third-party libraries such as stable-baselines3 seed the global state
  themselves; calls from their modules are let through.)
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid

import numpy as np
import pytest

os.environ.setdefault("EEGAFFECT_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS/OpenMP thread per test process: `make test` runs two xdist workers on two cores, and oversubscribed
# torch threads made small trainings ~30x slower here.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "eegaffect-numba-cache"))

from eegaffect.acquisition.lsl_config import use_local_lsl  # noqa: E402

LSL_SESSION_ID = f"eegaffect-test-{uuid.uuid4().hex[:12]}"
LSL_CONFIG_PATH = use_local_lsl(LSL_SESSION_ID)

_BANNED_RANDOM = ["seed", "rand", "randn", "randint", "random", "random_sample", "normal", "uniform", "choice",
                  "permutation", "shuffle", "standard_normal", "integers"]


def _ban_from_our_code(name: str, original):
    def guarded(*args, **kwargs):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith(("eegaffect", "test_", "tests", "conftest")):
            raise RuntimeError(f"np.random.{name} (global random state) is banned in eegaffect and its tests; "
                               "use a seeded np.random.default_rng(seed) Generator")
        return original(*args, **kwargs)

    guarded.__wrapped__ = original
    return guarded


@pytest.fixture(autouse=True)
def _no_global_numpy_random(monkeypatch):
    for name in _BANNED_RANDOM:
        original = getattr(np.random, name, None)
        if original is not None:
            monkeypatch.setattr(np.random, name, _ban_from_our_code(name, original))
    yield


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def torch_one_thread():
    """torch on one thread for the test (tiny models train faster and reproducibly), restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


#: ECG features of the tests' fused bundle over the last 10 s (not 60 s): a dropped ECG is finite again within a
#: short session, and 30 s of calibration hold whole windows
FUSED_ECG_PHYSIO = {"ecg": {"lookback_s": 10.0}}


def train_tiny_ecg_bundle(out, **fusion):
    """Train a tiny fused EEG (DREAMER's 14 channels, 200 Hz, volts) + ECG bundle on the simulated person into
    ``out``; ``fusion``: further :class:`~eegaffect.models.config.FusionConfig` settings (e.g. routing, or a
    ``physio_config`` instead of :data:`FUSED_ECG_PHYSIO`).
    """
    import torch
    from eegaffect.acquisition.channels import DREAMER_CHANNELS

    from eegaffect.models.bundle import save_bundle
    from eegaffect.models.config import FusionConfig, TrainConfig, TransformerConfig, VQVAEConfig
    from eegaffect.models.fit import fit_chain
    from eegaffect.models.fused_data import simulated_sequences

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = TrainConfig(seed=0, device="cpu",
                             vqvae=VQVAEConfig(steps=10, d_model=8, dilations=[1, 2], batch_size=4),
                             transformer=TransformerConfig(d_model=8, n_heads=2, n_layers=1, context=4,
                                                           finetune_steps=30, batch_size=4, crop=16,
                                                           class_head=False),
                             fusion=FusionConfig(**{"physio": ["ecg"], "hidden": 8, "physio_config": FUSED_ECG_PHYSIO,
                                                    **fusion}))
        train = simulated_sequences([11, 12], 5, config, kinds=["ecg"], ch_names=DREAMER_CHANNELS, session_s=60.0,
                                    trial_s=30.0)
        chain, report = fit_chain(train, config, progress_bar=False)
    finally:
        torch.set_num_threads(before)
    return save_bundle(out, chain, config=config, ch_names=DREAMER_CHANNELS, sfreq=200.0, unit="V", report=report)


@pytest.fixture(scope="session")
def ecg_bundle(tmp_path_factory):
    """A tiny fused EEG (DREAMER's 14 channels, 200 Hz, volts) + ECG bundle trained on the simulated person."""
    return train_tiny_ecg_bundle(tmp_path_factory.mktemp("fused_ecg") / "bundle")


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded Generator, fresh for each test."""
    return np.random.default_rng(20261125)


@pytest.fixture(scope="session")
def lsl_session_id() -> str:
    """The private LSL session of this test process (subprocesses inherit it through ``LSLAPICFG``)."""
    return LSL_SESSION_ID


@pytest.fixture
def unique_name(request) -> str:
    """A stream name / source_id unique to this test invocation."""
    return f"{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
