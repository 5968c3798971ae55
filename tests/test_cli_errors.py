"""Bad input at the command line ends with one line ``eegaffect <command>: <message>`` and exit code 2.

Every test goes through :func:`eegaffect.cli.main` with real files, real datasets and real LSL streams.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import numpy as np
import pytest
from dataset_fixtures import write_eegaffect_h5, write_seed

from eegaffect.cli import build_parser, main
from eegaffect.errors import UserInputError, user_error_types


def _one_line_error(capsys, argv, command: str) -> str:
    """Run ``main(argv)``, check exit code 2 and one error line naming ``command`` (a message may continue on
    indented lines, e.g. the list of visible streams); return that line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip() and not _is_log_line(ln)]
    assert "Traceback" not in err
    assert lines and lines[0].startswith(f"eegaffect {command}: "), err
    assert all(ln.startswith(" ") for ln in lines[1:]), err
    return lines[0]


def _is_log_line(line: str) -> bool:
    """liblsl's own log lines and the package's log lines (timestamped) are not the error message."""
    return bool(re.match(r"^\d{4}-\d\d-\d\d |^\d\d:\d\d:\d\d ", line.strip()))


@pytest.fixture(scope="module")
def seed_root(tmp_path_factory):
    """A miniature SEED copy: 2 subjects, 1 session each."""
    return write_seed(tmp_path_factory.mktemp("seed"), n_subjects=2, n_sessions=1, strays=False, features=False)


# -- dataset and path errors (bench seed) ---------------------------------------------------------------------
def test_bench_seed_missing_root_leaves_no_out_folder(tmp_path, capsys):
    out = tmp_path / "out"
    line = _one_line_error(capsys, ["bench", "seed", "--root", str(tmp_path / "nope"), "--out", str(out)],
                           "bench seed")
    assert "does not exist" in line and "nope" in line
    assert not out.exists()


def test_bench_seed_empty_root_is_a_dataset_format_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    line = _one_line_error(capsys, ["bench", "seed", "--root", str(tmp_path / "empty"), "--out", str(out)],
                           "bench seed")
    assert "Preprocessed_EEG" in line
    assert not out.exists()


def test_bench_seed_garbage_mat_file(tmp_path, capsys, seed_root):
    bad = tmp_path / "bad" / "Preprocessed_EEG"
    bad.mkdir(parents=True)
    for f in (seed_root / "Preprocessed_EEG").iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    victim = sorted(bad.glob("1_*.mat"))[0]
    victim.write_bytes(b"garbage" + victim.read_bytes()[7:])
    line = _one_line_error(capsys, ["bench", "seed", "--root", str(tmp_path / "bad"), "--out",
                                    str(tmp_path / "out")], "bench seed")
    assert victim.name in line and "MAT" in line


@pytest.mark.parametrize("option, expected", [
    (["--models", "de-foo"], "--models: unknown benchmark model(s) ['de-foo']"),
    (["--subjects", "5"], "--subjects: seed: no subject [5]; available: [1, 2]"),
    (["--protocol", "cross-session"], "has 1 session(s), expected at least 2"),
    (["--seed", "-1"], "--seed -1: config key 'seed'"),
])
def test_bench_seed_bad_options(tmp_path, capsys, seed_root, option, expected):
    out = tmp_path / "out"
    line = _one_line_error(capsys, ["bench", "seed", "--root", str(seed_root), "--out", str(out), *option],
                           "bench seed")
    assert expected in line
    assert not out.exists()


def test_debug_log_level_adds_the_traceback(tmp_path, capsys):
    assert main(["--log-level", "debug", "bench", "seed", "--root", str(tmp_path / "nope"), "--out",
                 str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "FileNotFoundError" in err
    assert err.rstrip().splitlines()[-1].startswith("eegaffect bench seed: dataset root")


def test_plain_value_errors_are_not_user_errors():
    """Only the project's input-error classes are reported as one line; any other error (a bug) keeps its trace."""
    types = user_error_types()
    assert not isinstance(ValueError("x"), types) and not isinstance(RuntimeError("x"), types)
    assert isinstance(UserInputError("x"), types) and isinstance(FileNotFoundError("x"), types)
    from eegaffect.config import ConfigError

    assert isinstance(ConfigError("x"), types) and isinstance(ConfigError("x"), ValueError)


def test_domain_errors_are_user_input_errors():
    """Each module's user-facing error subclasses UserInputError (no list of names to keep in sync)."""
    from eegaffect.datasets.base import DatasetFormatError
    from eegaffect.distill.prototypes import PrototypeFileError
    from eegaffect.live.channels import ChannelMismatchError
    from eegaffect.models.bundle import BundleError
    from eegaffect.viz.report import ReportError

    for cls in (DatasetFormatError, PrototypeFileError, ChannelMismatchError, BundleError, ReportError):
        assert issubclass(cls, UserInputError) and issubclass(cls, ValueError), cls
        assert isinstance(cls("x"), user_error_types())


# -- config errors --------------------------------------------------------------------------------------------
def test_unknown_set_key_blames_set_and_names_the_full_command(tmp_path, capsys):
    line = _one_line_error(capsys, ["datasets", "synth-seed", str(tmp_path / "d"), "--set", "features.window_s=2"],
                           "datasets synth-seed")
    assert "configuration error" in line and "--set" in line and "configs/synth_seed.yaml" not in line
    line = _one_line_error(capsys, ["bench", "seed", "--root", str(tmp_path), "--out", str(tmp_path / "o"),
                                    "--set", "features.window_s=2"], "bench seed")
    assert "--set features.window_s=2: unknown key 'features'" in line
    assert "bench_seed.yaml" not in line


def test_live_options_are_validated_like_the_config(tmp_path, capsys):
    line = _one_line_error(capsys, ["live", "--stream", "x", "--model", str(tmp_path), "--interpolate", "30"],
                           "live")
    assert "--interpolate 30" in line and "'interpolate'" in line and "8" in line
    line = _one_line_error(capsys, ["live", "--stream", "x", "--model", str(tmp_path), "--update-hz", "0"], "live")
    assert "--update-hz 0" in line and "'update_hz'" in line and "greater than 0" in line


@pytest.mark.parametrize("argv, command, expected", [
    (["simulate", "--sfreq", "-5"], "simulate", "--sfreq -5.0: config key 'sfreq'"),
    (["bench", "model", "--updates", "0"], "bench model", "--updates 0: config key 'updates'"),
])
def test_other_command_options_are_validated_like_the_config(capsys, argv, command, expected):
    assert expected in _one_line_error(capsys, argv, command)


def test_live_help_states_the_schema_limits():
    from eegaffect.live.session import LiveConfig

    live = _leaf_parsers()["eegaffect live"]
    helps = {a.dest: a.help for a in live._actions}
    interp = {type(m).__name__: m for m in LiveConfig.model_fields["interpolate"].metadata}
    rate = {type(m).__name__: m for m in LiveConfig.model_fields["update_hz"].metadata}
    assert f"<= N <= {interp['Le'].le}" in helps["interpolate"]
    assert f"0 < HZ <= {rate['Le'].le:g}" in helps["update_hz"] and rate["Gt"].gt == 0


# -- recordings and LSL ---------------------------------------------------------------------------------------
def _recording(path, name: str, rng) -> None:
    write_eegaffect_h5(path, [{"name": name, "type": "EEG", "sfreq": 100.0,
                               "data": rng.standard_normal((50, 2)).astype(np.float32), "ch_names": ["a", "b"],
                               "ch_types": ["eeg", "eeg"]}])


def test_play_missing_file_and_unknown_stream(tmp_path, capsys, rng, unique_name):
    line = _one_line_error(capsys, ["play", str(tmp_path / "missing.h5")], "play")
    assert "missing.h5" in line and "does not exist" in line
    path = tmp_path / "rec.h5"
    _recording(path, unique_name, rng)
    line = _one_line_error(capsys, ["play", str(path), "--stream", "nope"], "play")
    assert "no stream 'nope'" in line and unique_name in line
    other = tmp_path / "notes.json"
    other.write_text("{}")
    line = _one_line_error(capsys, ["play", str(other)], "play")
    assert "notes.json" in line and "not a recording format" in line
    line = _one_line_error(capsys, ["play", str(path), "--speed", "0"], "play")
    assert "--speed 0" in line and "'speed'" in line


def test_play_refuses_a_name_already_visible(tmp_path, capsys, rng, unique_name):
    from eegaffect.acquisition.outlet import Outlet

    path = tmp_path / "rec.h5"
    _recording(path, unique_name, rng)
    with Outlet(unique_name, "EEG", ["a", "b"], 100.0):
        line = _one_line_error(capsys, ["play", str(path), "--duration", "0.2"], "play")
        assert f"a stream named {unique_name!r} is already visible" in line and "--name" in line
        # an explicit --name is the user's choice
        assert main(["play", str(path), "--name", f"{unique_name}-2", "--speed", "10", "--duration", "2"]) == 0
    assert "pushed 50 samples" in capsys.readouterr().out


def test_record_missing_stream_and_existing_file(tmp_path, capsys, unique_name):
    existing = tmp_path / "x.h5"
    existing.write_bytes(b"")
    line = _one_line_error(capsys, ["record", "--stream", unique_name, "--out", str(existing)], "record")
    assert "already exists" in line and "--overwrite" in line
    line = _one_line_error(capsys, ["record", "--stream", unique_name, "--out", str(tmp_path / "y.h5"),
                                    "--set", "lsl.resolve_timeout_s=0.5"], "record")
    assert unique_name in line
    assert not (tmp_path / "y.h5").exists()


@pytest.mark.timeout(90)
def test_record_reports_what_it_wrote(tmp_path, unique_name):
    """Every sample counted as received is in the file (the inlet stops before the last write)."""
    from eegaffect.acquisition.player import Player
    from eegaffect.acquisition.recorder import load_recording

    out = tmp_path / "rec.h5"
    with Player(np.zeros((500, 2), np.float32), 500.0, ["a", "b"], name=unique_name, loop=True,
                chunk_size=10) as player:
        player.start()
        proc = subprocess.run([sys.executable, "-m", "eegaffect", "record", "--stream", unique_name, "--out",
                               str(out), "--duration", "1.5", "--set", "record.flush_interval_s=0.2"],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    m = re.search(rf"{re.escape(unique_name)}: (\d+) samples written, (\d+) samples received", proc.stdout)
    assert m, proc.stdout
    written, received = int(m.group(1)), int(m.group(2))
    stored = load_recording(out)[unique_name].n_times
    assert written == stored == received > 0
    assert "WARNING" not in proc.stdout


# -- teacher, distil, help texts, configs, file modes ---------------------------------------------------------
def test_teacher_train_refuses_to_overwrite(tmp_path, capsys, seed_root):
    out = tmp_path / "teacher"
    out.mkdir()
    (out / "teacher.json").write_text("{}")
    line = _one_line_error(capsys, ["teacher", "train", "--data", str(seed_root), "--out", str(out)],
                           "teacher train")
    assert "already holds a teacher bundle" in line and "--overwrite" in line
    assert (out / "teacher.json").read_text() == "{}"
    line = _one_line_error(capsys, ["teacher", "train", "--data", str(tmp_path / "missing"), "--out",
                                    str(tmp_path / "t2")], "teacher train")
    assert "missing" in line and "does not exist" in line


def _warn_for(config, caplog) -> str:
    from eegaffect.commands.distil import _warn_if_dgeo_never_starts

    caplog.clear()
    _warn_if_dgeo_never_starts(config)
    text = caplog.text
    caplog.clear()
    return text


def test_distil_warns_when_dgeo_never_starts(caplog):
    import logging

    from eegaffect.commands.distil import _warn_if_dgeo_never_starts
    from eegaffect.config import load_config
    from eegaffect.distill.student import DistilConfig

    logger = logging.getLogger("eegaffect")
    logger.addHandler(caplog.handler)
    try:
        # D-Geo is off by default (docs/distillation.md); the warning concerns a user who turns it on
        assert "D-Geo" not in _warn_for(load_config(DistilConfig, overrides=["train.epochs=3"], default="distil"),
                                        caplog)
        _warn_if_dgeo_never_starts(load_config(DistilConfig, overrides=["train.epochs=3", "losses.dgeo.enabled=true"],
                                               default="distil"))
        assert "D-Geo is enabled but never acts" in caplog.text
        caplog.clear()
        _warn_if_dgeo_never_starts(load_config(DistilConfig, overrides=["train.epochs=3", "losses.dgeo.enabled=true",
                                                                        "losses.dgeo.ramp_start=0",
                                                                        "losses.dgeo.ramp_end=1"],
                                               default="distil"))
        assert "D-Geo" not in caplog.text
    finally:
        logger.removeHandler(caplog.handler)


def _leaf_parsers() -> dict:
    import argparse

    leaves = {}

    def walk(parser):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    leaves[sub.prog] = sub
                    walk(sub)

    walk(build_parser())
    return leaves


def test_set_help_example_is_valid_for_each_command():
    """The ``--set`` example in each command's help is accepted by that command's config."""
    from eegaffect.config import load_config
    from eegaffect.config_schemas import SCHEMAS

    checked = 0
    for prog, parser in _leaf_parsers().items():
        action = next((a for a in parser._actions if a.dest == "overrides"), None)
        if action is None:
            continue
        default = parser.get_default("config_default")
        m = re.search(r"e\.g\. --set (\S+)", action.help)
        if default is None:
            assert m is None, f"{prog}: an example without a packaged config"
            continue
        assert m, f"{prog}: no --set example"
        load_config(SCHEMAS[default], overrides=[m.group(1)], default=default)
        checked += 1
    assert checked >= 10


def test_bench_help_is_plain_text():
    leaves = _leaf_parsers()
    for prog in ("eegaffect bench live", "eegaffect bench model"):
        text = leaves[prog].format_help()
        assert "``" not in text and ":data:`" not in text, prog


def test_configs_lists_every_packaged_yaml(capsys):
    from importlib import resources

    files = sorted(p.name[:-5] for p in resources.files("eegaffect.configs").iterdir() if p.name.endswith(".yaml"))
    assert main(["configs"]) == 0
    out = capsys.readouterr().out
    listed = [ln.split()[0] for ln in out.splitlines() if ln and not ln.startswith("without")]
    assert listed == files
    assert "eegaffect bench seed" in out and "eegaffect report" in out


def test_safetensors_get_the_umask_mode(tmp_path):
    import torch
    from safetensors.torch import load_file

    from eegaffect._files import save_safetensors

    path = save_safetensors({"w": torch.arange(4.0)}, tmp_path / "w.safetensors")
    sibling = tmp_path / "meta.json"
    sibling.write_text("{}")
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(os.stat(sibling).st_mode)
    torch.testing.assert_close(load_file(str(path))["w"], torch.arange(4.0))
