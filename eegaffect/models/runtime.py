"""Where training runs: torch.distributed rank and world size, the device, CPU threads, deterministic algorithms.

Under ``torchrun`` (or any initialised ``torch.distributed`` group) the stages train with DistributedDataParallel;
:func:`rank_world` joins the group from the environment when ``WORLD_SIZE > 1``.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["rank_world", "pick_device", "torch_threads", "deterministic_algorithms"]


def rank_world() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) outside torch.distributed."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and dist.is_available():
        import torch

        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def pick_device(name: str):
    """The torch device of ``device: auto | cpu | cuda`` (this rank's GPU under torchrun)."""
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but CUDA is not available; use 'auto' or 'cpu'")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and int(os.environ.get("LOCAL_RANK", "-1")) >= 0:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device(name)


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run with ``n`` torch intra-op threads (None: unchanged), restored afterwards."""
    import torch

    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def deterministic_algorithms(enabled: bool):
    """Run under ``torch.use_deterministic_algorithms`` when enabled (or already on), restored afterwards."""
    import torch

    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(enabled or before)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)
