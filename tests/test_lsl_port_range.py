"""Every outlet alive on the machine stays visible to another process of the same machine-local LSL session.

liblsl's default ``PortRange`` (32) gives the 33rd outlet on a machine a random port that a ``KnownPeers`` query
never asks, so a busy machine (two test workers, a demo's five outlets, a bench) lost streams at random.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from eegaffect.acquisition.lsl import resolve_streams
from eegaffect.acquisition.lsl_config import LOCAL_PORT_RANGE, local_lsl_config_text

N_OUTLETS = 40  # more than liblsl's default range of 32 ports


def test_local_config_widens_the_port_range():
    assert f"PortRange = {LOCAL_PORT_RANGE}\n" in local_lsl_config_text("s") and LOCAL_PORT_RANGE > N_OUTLETS


@pytest.mark.timeout(120)
def test_outlets_beyond_liblsls_default_range_are_found_from_another_process(unique_name):
    # the child inherits this test session's LSL configuration through LSLAPICFG
    code = textwrap.dedent(f"""
        import sys, pylsl
        outs = [pylsl.StreamOutlet(pylsl.StreamInfo(f"{unique_name}-{{i}}", "Misc", 1, 10.0, "float32",
                                                    f"{unique_name}-{{i}}")) for i in range({N_OUTLETS})]
        print("ready", flush=True)
        sys.stdin.read()
    """)
    with subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True) as child:
        try:
            assert child.stdout.readline().strip() == "ready"
            for i in range(N_OUTLETS - 8, N_OUTLETS):  # the last ones created: beyond 32 ports whatever else runs
                found = resolve_streams(name=f"{unique_name}-{i}", timeout=10.0)
                assert [d.source_id for d in found] == [f"{unique_name}-{i}"]
        finally:
            child.stdin.close()
            child.wait(10)
