"""Commands that publish refuse a stream name a visible stream already serves (real LSL on loopback).

Two outlets of one name make every inlet that resolves by name get an arbitrary one of them, so ``eegaffect
simulate`` (EEG and ``{name}-truth``) and ``eegaffect play`` (``{name}`` and ``{name}-markers``) check every name
they would open, through :func:`eegaffect.acquisition.outlet.check_names_free`.
"""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest
from dataset_fixtures import write_eegaffect_h5
from eegaffect.acquisition.lsl import resolve_streams
from eegaffect.acquisition.outlet import Outlet, StreamNameInUseError, check_names_free

from eegaffect.cli import main

pytestmark = pytest.mark.live

#: a short, light simulation (32 channels at 250 Hz)
_SIM = ["simulate", "--montage", "standard32", "--sfreq", "250"]


def _refused(capsys, argv: list[str], command: str) -> str:
    """Run ``main(argv)``: exit code 2 and one error line ``eegaffect <command>: ...``; return that line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip() and not re.match(r"^\d{4}-\d\d-\d\d |^\d\d:\d\d:\d\d ",
                                                                        ln.strip())]
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith(f"eegaffect {command}: "), err
    return lines[0]


@pytest.mark.timeout(20)
def test_check_names_free_names_the_stream_and_who_serves_it(unique_name):
    with Outlet(unique_name, "EEG", ["a", "b"], 100.0, source_id=f"{unique_name}-src"):
        host = resolve_streams(name=unique_name, timeout=5)[0].hostname
        check_names_free([f"{unique_name}-free", f"{unique_name}-free-truth"], timeout=0.5)  # no error
        with pytest.raises(StreamNameInUseError) as info:
            check_names_free([f"{unique_name}-free", unique_name], timeout=0.5)
    message = str(info.value)
    assert (f"a stream named {unique_name!r} is already visible, served by source_id '{unique_name}-src' on host "
            f"{host!r} (type 'EEG', 2 ch, 100 Hz)") in message
    assert f"{unique_name}-free" not in message
    with pytest.raises(TypeError, match="sequence of stream names"):
        check_names_free(unique_name)
    with pytest.raises(ValueError, match="non-empty stream names"):
        check_names_free([])
    with pytest.raises(ValueError, match="timeout > 0"):
        check_names_free([unique_name], timeout=0)


@pytest.mark.timeout(30)
def test_second_simulator_of_one_name_is_refused(capsys, unique_name):
    """The defect: two simulators of one name both started. Now the second is refused while the first runs."""
    done, result = threading.Event(), {}

    def first():
        try:
            result["rc"] = main([*_SIM, "--name", unique_name, "--source-id", f"{unique_name}-first",
                                 "--duration", "4"])
        finally:
            done.set()

    worker = threading.Thread(target=first)
    worker.start()
    try:
        resolve_streams(name=f"{unique_name}-truth", timeout=10)  # the first one is publishing both streams
        line = _refused(capsys, [*_SIM, "--name", unique_name, "--duration", "1"], "simulate")
        assert f"a stream named {unique_name!r} is already visible, served by source_id '{unique_name}-first'" in line
        assert (f"a stream named '{unique_name}-truth' is already visible, served by source_id "
                f"'{unique_name}-first-truth'") in line
        assert "--name NEW" in line and "--allow-duplicate-name" in line
    finally:
        assert done.wait(15)
        worker.join()
    assert result["rc"] == 0 and "pushed 1000 samples" in capsys.readouterr().out  # 4 s at 250 Hz


@pytest.mark.timeout(20)
def test_simulate_refuses_a_taken_truth_name_and_starts_when_free_or_allowed(capsys, unique_name):
    with Outlet(f"{unique_name}-truth", "AffectTruth", ["valence", "arousal"], 250.0,
                source_id=f"{unique_name}-other"):
        line = _refused(capsys, [*_SIM, "--name", unique_name, "--duration", "0.2"], "simulate")
        assert (f"a stream named '{unique_name}-truth' is already visible, served by source_id "
                f"'{unique_name}-other'") in line
        assert f"named {unique_name!r}" not in line  # the EEG name itself is free
        # the explicit override publishes anyway
        assert main([*_SIM, "--name", unique_name, "--duration", "0.2", "--allow-duplicate-name"]) == 0
        assert "pushed 50 samples" in capsys.readouterr().out
    # both names free: starts, after the check
    assert main([*_SIM, "--name", f"{unique_name}-2", "--duration", "0.2"]) == 0
    assert "pushed 50 samples" in capsys.readouterr().out


@pytest.mark.timeout(20)
def test_play_refuses_a_taken_markers_name_even_with_an_explicit_name(tmp_path, capsys, rng, unique_name):
    path = tmp_path / "rec.h5"
    write_eegaffect_h5(path, [
        {"name": "eeg", "type": "EEG", "sfreq": 100.0, "data": rng.standard_normal((50, 2)).astype(np.float32),
         "ch_names": ["a", "b"], "ch_types": ["eeg", "eeg"]},
        {"name": "events", "type": "Markers", "sfreq": 0.0, "data": ["start", "stop"]},
    ])
    with Outlet(f"{unique_name}-markers", "Markers", ["marker"], 0.0, channel_format="string",
                source_id=f"{unique_name}-other"):
        line = _refused(capsys, ["play", str(path), "--name", unique_name, "--duration", "0.2"], "play")
    assert (f"a stream named '{unique_name}-markers' is already visible, served by source_id "
            f"'{unique_name}-other' on host") in line and "irregular" in line
