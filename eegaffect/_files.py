"""Small file helpers shared by the modules that save and check model files (weights, bundles)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["save_safetensors", "default_file_mode", "sha256_file"]


def sha256_file(path: str | Path) -> str:
    """Hex sha256 digest of a file, read in 1 MiB blocks.

    Parameters
    ----------
    path : str | Path
        The file.

    Returns
    -------
    digest : str
        64 hex characters.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def default_file_mode() -> int:
    """The permission bits a new file gets from ``open()``: ``0o666`` masked by the process umask.

    Returns
    -------
    mode : int
        E.g. ``0o644`` under the usual umask ``022``.
    """
    try:  # Linux: read the umask without changing it (os.umask would briefly change it for every thread)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def save_safetensors(tensors: dict, path: str | Path) -> Path:
    """Write torch tensors with :func:`safetensors.torch.save_file`, with the permissions of any other output.

    safetensors >= 0.8 writes through a temporary file renamed into place, which keeps the temporary file's
    mode ``0600`` (safetensors issue #782): other users could not read a saved model. This resets the mode to
    :func:`default_file_mode`.

    Parameters
    ----------
    tensors : dict of str to torch.Tensor
        Contiguous tensors by name.
    path : str | Path
        The ``.safetensors`` file.

    Returns
    -------
    path : Path
        The written file.
    """
    from safetensors.torch import save_file

    path = Path(path)
    save_file(tensors, str(path))
    os.chmod(path, default_file_mode())
    return path
