"""liblsl's own INFO lines stay off stderr unless ``--log-level debug``; a user's LSL configuration is respected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from eegaffect.acquisition.lsl_config import (
    LSL_LOG_LEVEL_QUIET,
    LSL_LOG_LEVEL_VERBOSE,
    local_lsl_config_text,
    quiet_lsl_logging,
)

NO_SYSTEM_CONFIG = not Path("/etc/lsl_api/lsl_api.cfg").is_file()


@pytest.fixture
def no_user_config(tmp_path, monkeypatch):
    if not NO_SYSTEM_CONFIG:
        pytest.skip("this machine has /etc/lsl_api/lsl_api.cfg, which liblsl would read")
    monkeypatch.delenv("LSLAPICFG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_quiet_config_is_written_only_without_a_user_config(no_user_config, tmp_path):
    path = quiet_lsl_logging(directory=tmp_path / "cfg")
    assert os.environ["LSLAPICFG"] == str(path)
    assert f"[log]\nlevel = {LSL_LOG_LEVEL_QUIET}\n" in path.read_text()
    # now LSLAPICFG is set: whatever it names decides, nothing is rewritten
    assert quiet_lsl_logging(verbose=True, directory=tmp_path / "cfg") is None
    os.environ.pop("LSLAPICFG")
    verbose = quiet_lsl_logging(verbose=True, directory=tmp_path / "cfg")
    assert f"level = {LSL_LOG_LEVEL_VERBOSE}\n" in verbose.read_text() and verbose != path
    os.environ.pop("LSLAPICFG")
    (no_user_config / "lsl_api.cfg").write_text("[ports]\nIPv6 = disable\n")  # the user's own file in the cwd
    assert quiet_lsl_logging(directory=tmp_path / "cfg") is None and "LSLAPICFG" not in os.environ


def test_the_test_sessions_config_is_quiet_too():
    assert "[log]\nlevel = -1\n" in local_lsl_config_text("s")
    assert "level = 0\n" in local_lsl_config_text("s", log_level=LSL_LOG_LEVEL_VERBOSE)


@pytest.mark.timeout(60)
@pytest.mark.skipif(not NO_SYSTEM_CONFIG, reason="a system-wide LSL config decides liblsl's log level here")
def test_cli_shows_liblsl_info_lines_only_at_debug(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    env["HOME"] = str(tmp_path)
    env["TMPDIR"] = str(tmp_path)
    runs = {}
    for level in ("info", "debug"):
        proc = subprocess.run([sys.executable, "-m", "eegaffect", "--log-level", level, "streams", "--timeout", "0.3",
                               "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=50)
        assert proc.returncode == 0, proc.stderr
        runs[level] = proc.stderr
    assert "INFO|" not in runs["info"], runs["info"]
    assert "INFO|" in runs["debug"] and "Configuration loaded from" in runs["debug"], runs["debug"]
