"""Keep LSL discovery on this machine: the configuration that tests and local demos use.

liblsl reads its configuration once, at the first call that needs it, so :func:`use_local_lsl` must run before
any other LSL call in the process. It also sets ``LSLAPICFG`` so subprocesses (players, simulators, recorders)
started afterwards join the same private session.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

__all__ = ["local_lsl_config_text", "use_local_lsl"]


def local_lsl_config_text(session_id: str) -> str:
    """Return an ``lsl_api.cfg`` text that keeps discovery on this machine within one session.

    Parameters
    ----------
    session_id : str
        LSL ``SessionID``; only streams of the same session see each other.

    Returns
    -------
    text : str
        Contents for an ``lsl_api.cfg`` file.
    """
    return (
        "[ports]\n"
        "IPv6 = disable\n"
        "[multicast]\n"
        "ResolveScope = machine\n"
        "[lab]\n"
        "KnownPeers = {127.0.0.1}\n"
        f"SessionID = {session_id}\n"
    )


def use_local_lsl(session_id: str | None = None, directory: str | Path | None = None) -> Path:
    """Write a machine-local LSL config, point ``LSLAPICFG`` at it and hand it to liblsl.

    Parameters
    ----------
    session_id : str | None
        LSL session; a fresh unique one when None.
    directory : str | Path | None
        Where to write ``lsl_api.cfg`` (a new temporary directory when None).

    Returns
    -------
    path : Path
        The written config file.
    """
    session_id = session_id or f"eegaffect-{uuid.uuid4().hex[:12]}"
    directory = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="eegaffect-lsl-"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "lsl_api.cfg"
    path.write_text(local_lsl_config_text(session_id), encoding="utf-8")
    os.environ["LSLAPICFG"] = str(path)
    import pylsl

    pylsl.set_config_filename(str(path))
    return path
