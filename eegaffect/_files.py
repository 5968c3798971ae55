"""Small file helpers: model files (weights with the usual file mode, checksums) and the output-folder check shared
by the commands that write a user's results.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["default_file_mode", "new_session_dir", "output_dir", "save_safetensors", "sha256_file"]


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


def output_dir(out: str | Path | None, outputs: Sequence[str], *, overwrite: bool = False,
               default_prefix: str | None = None, option: str = "--out") -> Path:
    """Where a command writes a user's results: never over an earlier run unless asked to.

    Every command that writes results into a folder (``live --out``, ``demo --out``, ``train --out``,
    ``datasets synth-faces``) goes through this one check, like ``record`` does for its file.

    Parameters
    ----------
    out : str | Path | None
        The folder the user named; None: a new dated folder ``{default_prefix}-YYYYmmdd-HHMMSS`` in the working
        directory (with ``-2``, ``-3``, ... when that name is taken).
    outputs : sequence of str
        Names of the files and folders the command writes inside ``out``; a folder holding any of them holds an
        earlier run.
    overwrite : bool
        Replace an earlier run on purpose: its ``outputs`` are deleted first, so none of the earlier run's files
        is left beside the new ones (e.g. ``session.h5`` of a run with ``--record`` under a run without).
    default_prefix : str | None
        Name stem of the dated folder when ``out`` is None (required then).
    option : str
        How the user names the folder, for the messages (``"--out"``, ``"OUT"``).

    Returns
    -------
    out : Path
        The folder (not created here: a command that fails before writing leaves nothing behind).

    Raises
    ------
    FileExistsError
        ``out`` holds an earlier run and ``overwrite`` is false.
    NotADirectoryError
        ``out`` is an existing file.
    """
    if out is None:
        if default_prefix is None:
            raise ValueError("output_dir: out is None and no default_prefix was given")
        return _new_dated_dir(default_prefix)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{option} {out} is a file, expected a folder")
    found = [name for name in outputs if (out / name).exists() or (out / name).is_symlink()]
    if not found:
        return out
    if not overwrite:
        raise FileExistsError(f"{option} {out} already holds an earlier run ({', '.join(found)}); pass --overwrite "
                              f"to replace it, or choose a new {option}")
    _remove_outputs(out, found)
    return out


def _numbered(base: Path) -> Iterator[Path]:
    """The names a new dated folder may take: ``base``, then ``base-2``, ``base-3``, ..."""
    yield base
    k = 2
    while True:
        yield base.with_name(f"{base.name}-{k}")
        k += 1


def _new_dated_dir(prefix: str) -> Path:
    """``{prefix}-YYYYmmdd-HHMMSS``, or that name with ``-2``, ``-3``, ... when it exists."""
    import time

    return next(p for p in _numbered(Path(f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}")) if not p.exists())


def new_session_dir(parent: str | Path, now: float | None = None) -> Path:
    """Create and return a new dated folder ``parent/YYYY-MM-DD_HHMMSS`` for one recorded session.

    The folder is created here, atomically, so that two sessions started in the same second (or an earlier
    session's folder) are never written into twice: a name already taken gets ``-2``, ``-3``, ... instead.

    Parameters
    ----------
    parent : str | Path
        Folder holding the sessions (created when missing); a relative path is relative to the working directory.
    now : float | None
        The session's start as seconds since the epoch (local time names the folder); None: now.

    Returns
    -------
    folder : Path
        The new, empty folder.

    Raises
    ------
    NotADirectoryError
        ``parent`` is an existing file.
    """
    import time

    parent = Path(parent)
    if parent.exists() and not parent.is_dir():
        raise NotADirectoryError(f"sessions folder {parent} is a file, expected a folder")
    parent.mkdir(parents=True, exist_ok=True)
    for path in _numbered(parent / time.strftime("%Y-%m-%d_%H%M%S", time.localtime(now))):
        try:
            path.mkdir()  # atomic: a name another session took meanwhile raises instead of being shared
        except FileExistsError:
            continue
        return path


def _remove_outputs(out: Path, names: Sequence[str]) -> None:
    """Delete the earlier run's outputs ``names`` from ``out`` (files, links or folders)."""
    import logging
    import shutil

    logging.getLogger("eegaffect").info("--overwrite: replacing the earlier run in %s (%s)", out, ", ".join(names))
    for name in names:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
