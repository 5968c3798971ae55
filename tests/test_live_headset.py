"""Issue 17: the demo's simulated-headset child never outlives its parent (SIGKILL gives the parent no chance to
stop it) and has a duration of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from lsl_helpers import reap, wait_until

_PARENT = """
import sys, time
from eegaffect.live.headset import HeadsetProcess
h = HeadsetProcess(sys.argv[1], montage="dreamer14", sfreq=128.0, index_channel=False).start(timeout=60)
print(h.process.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie (exited, not yet reaped by init) is gone too
        return fh.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.timeout(120)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_headset_child_exits_when_its_parent_is_killed(unique_name):
    from eegaffect.acquisition.lsl import StreamNotFoundError, resolve_streams

    parent = subprocess.Popen([sys.executable, "-c", _PARENT, unique_name], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert wait_until(lambda: not _alive(child), timeout=10), "the headset child outlived its parent"
        with pytest.raises(StreamNotFoundError):
            resolve_streams(name=unique_name, timeout=1.0)
    finally:
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)
        reap(parent)


def test_demo_headset_has_a_duration(monkeypatch, tmp_path):
    import eegaffect.live.headset as headset_module
    from eegaffect.live.demo import HEADSET_MARGIN_S, DemoConfig, run_demo

    seen = {}

    class Spy:
        def __init__(self, name, **kwargs):
            seen.update(kwargs)
            raise RuntimeError("stop here")

    monkeypatch.setattr(headset_module, "HeadsetProcess", Spy)
    with pytest.raises(RuntimeError, match="stop here"):
        run_demo(DemoConfig(duration_s=12.0, bundle=str(tmp_path), calibrate_s=0), out_dir=tmp_path / "out",
                 show=False)
    assert seen["duration"] == 12.0 + HEADSET_MARGIN_S
    with pytest.raises(RuntimeError, match="stop here"):  # the calibration phase (default 30 s) comes first
        run_demo(DemoConfig(duration_s=12.0, bundle=str(tmp_path)), out_dir=tmp_path / "out", show=False)
    assert seen["duration"] == 30.0 + 12.0 + HEADSET_MARGIN_S
