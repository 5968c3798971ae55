"""liblsl's configuration: discovery kept on this machine (tests, local demos) and liblsl's own log lines.

liblsl reads its configuration once, at the first call that needs it, so :func:`use_local_lsl` and
:func:`quiet_lsl_logging` must run before any other LSL call in the process. Both set ``LSLAPICFG`` so
subprocesses (players, simulators, recorders) started afterwards use the same configuration.

liblsl writes INFO lines to stderr (``Configuration loaded from ...``, its git build) in every process that uses
it. The CLI calls :func:`quiet_lsl_logging` first: unless the user has an LSL configuration of their own
(``LSLAPICFG``, ``./lsl_api.cfg``, ``~/lsl_api/lsl_api.cfg``, ``/etc/lsl_api/lsl_api.cfg``, which then decides),
liblsl gets a configuration whose ``[log] level`` keeps only its warnings and errors; ``--log-level debug`` keeps
its INFO lines too.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

__all__ = ["LOCAL_PORT_RANGE", "LSL_LOG_LEVEL_QUIET", "LSL_LOG_LEVEL_VERBOSE", "local_lsl_config_text",
           "quiet_lsl_logging", "use_local_lsl", "user_lsl_config"]

#: Ports (from liblsl's base port 16572) an outlet may take and a machine-local query asks. With liblsl's default
#: of 32, the 33rd outlet alive on the machine gets a random port outside the range, and another process resolving
#: through ``KnownPeers`` alone never sees it (a test suite on two workers beside a demo's five outlets and a bench
#: reaches 33 outlets): 512 keeps every outlet of a busy machine visible.
LOCAL_PORT_RANGE = 512
#: liblsl (loguru) verbosity that keeps warnings and errors only.
LSL_LOG_LEVEL_QUIET = -1
#: liblsl verbosity that also shows its INFO lines.
LSL_LOG_LEVEL_VERBOSE = 0


def local_lsl_config_text(session_id: str, log_level: int = LSL_LOG_LEVEL_QUIET) -> str:
    """Return an ``lsl_api.cfg`` text that keeps discovery on this machine within one session.

    Parameters
    ----------
    session_id : str
        LSL ``SessionID``; only streams of the same session see each other.
    log_level : int
        liblsl's stderr verbosity (``[log] level``: 0 INFO, -1 warnings, -2 errors only).

    Returns
    -------
    text : str
        Contents for an ``lsl_api.cfg`` file.
    """
    return (
        "[ports]\n"
        "IPv6 = disable\n"
        f"PortRange = {LOCAL_PORT_RANGE}\n"
        "[multicast]\n"
        "ResolveScope = machine\n"
        "[lab]\n"
        "KnownPeers = {127.0.0.1}\n"
        f"SessionID = {session_id}\n"
        "[log]\n"
        f"level = {int(log_level)}\n"
    )


def use_local_lsl(session_id: str | None = None, directory: str | Path | None = None,
                  log_level: int = LSL_LOG_LEVEL_QUIET) -> Path:
    """Write a machine-local LSL config, point ``LSLAPICFG`` at it and hand it to liblsl.

    Parameters
    ----------
    session_id : str | None
        LSL session; a fresh unique one when None.
    directory : str | Path | None
        Where to write ``lsl_api.cfg`` (a new temporary directory when None).
    log_level : int
        liblsl's stderr verbosity (see :func:`local_lsl_config_text`).

    Returns
    -------
    path : Path
        The written config file.
    """
    session_id = session_id or f"eegaffect-{uuid.uuid4().hex[:12]}"
    directory = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="eegaffect-lsl-"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "lsl_api.cfg"
    path.write_text(local_lsl_config_text(session_id, log_level), encoding="utf-8")
    os.environ["LSLAPICFG"] = str(path)
    import pylsl

    pylsl.set_config_filename(str(path))
    return path


def user_lsl_config() -> Path | None:
    """The LSL configuration the user set up, if any: ``LSLAPICFG``, else the first file liblsl looks for.

    Returns
    -------
    path : Path | None
        ``$LSLAPICFG`` when set, else the first existing of ``./lsl_api.cfg``, ``~/lsl_api/lsl_api.cfg`` and
        ``/etc/lsl_api/lsl_api.cfg``; None when there is none (liblsl then runs on its defaults).
    """
    env = os.environ.get("LSLAPICFG")
    if env:
        return Path(env)
    for path in (Path.cwd() / "lsl_api.cfg", Path.home() / "lsl_api" / "lsl_api.cfg",
                 Path("/etc/lsl_api/lsl_api.cfg")):
        if path.is_file():
            return path
    return None


def quiet_lsl_logging(verbose: bool = False, directory: str | Path | None = None) -> Path | None:
    """Keep liblsl's INFO lines off stderr (unless ``verbose``) when the user has no LSL configuration.

    Parameters
    ----------
    verbose : bool
        Keep liblsl's INFO lines (``--log-level debug``).
    directory : str | Path | None
        Where the configuration file goes (default: a per-user folder in the temporary directory).

    Returns
    -------
    path : Path | None
        The configuration now in ``LSLAPICFG``; None when the user's own configuration
        (:func:`user_lsl_config`) was left in charge.
    """
    if user_lsl_config() is not None:
        return None
    level = LSL_LOG_LEVEL_VERBOSE if verbose else LSL_LOG_LEVEL_QUIET
    if directory is None:
        user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
        directory = Path(tempfile.gettempdir()) / f"eegaffect-lsl-{user}"
    directory = Path(directory)
    path = directory / f"lsl_api_log{level}.cfg"
    text = "; written by eegaffect: liblsl's own log lines at this verbosity, everything else default\n" \
           f"[log]\nlevel = {level}\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    os.environ["LSLAPICFG"] = str(path)
    return path
