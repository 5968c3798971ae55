"""Issue 17: a dead, flat or non-finite channel is refused at featurisation with one line naming file, trial and
channel, by every command that featurises a dataset (never a bundle with non-finite normalisation statistics, an
sklearn traceback or a kernel error that names no file)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.io

from dataset_fixtures import write_seed
from eegaffect.cli import main


def _damaged_seed(root, how: str):
    """A 2-subject SEED copy whose subject 1, trial 3 has channel 7 damaged (``how``)."""
    write_seed(root, n_subjects=2, n_sessions=1, features=False, strays=False)
    path = sorted((root / "Preprocessed_EEG").glob("1_*.mat"))[0]
    arrays = {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    key = next(k for k in arrays if k.endswith("_eeg3"))
    x = arrays[key]
    if how == "dead":
        x[7] = 0.0
    elif how == "flat":
        x[7] = 12.5
    elif how == "nan":
        x[7, 50] = np.nan
    else:
        x[7, 60:] = np.inf
    scipy.io.savemat(path, arrays, do_compression=True)
    return path, key


def _one_line(capsys, argv, command):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("eegaffect ")]
    assert len(lines) == 1 and lines[0].startswith(f"eegaffect {command}: "), err
    return lines[0]


@pytest.mark.parametrize("how, expected", [
    ("dead", r"dead \(all zero\): \['F3'\]"),
    ("flat", r"flat \(constant\): \['F3 \(= 12.5\)'\]"),
    ("nan", r"1 non-finite sample\(s\) \(NaN/Inf\) in channel\(s\) \['F3'\], the first at sample 50 \(0.250 s\)"),
    ("inf", r"non-finite sample\(s\) \(NaN/Inf\) in channel\(s\) \['F3'\], the first at sample 60"),
])
def test_every_featurising_command_names_file_trial_and_channel(tmp_path, capsys, how, expected):
    root = tmp_path / "seed"
    path, key = _damaged_seed(root, how)
    where = f"{path}: trial {key!r} (subject 1, session 1, trial 3)"
    for argv, command in [
        (["train", "--data", str(root), "--out", str(tmp_path / "bundle")], "train"),
        (["teacher", "train", "--data", str(root), "--out", str(tmp_path / "teacher")], "teacher train"),
        (["bench", "seed", "--root", str(root), "--out", str(tmp_path / "bench"), "--models", "de-logreg",
          "--set", f"cache_dir={tmp_path / 'cache'}"], "bench seed"),
    ]:
        line = _one_line(capsys, argv, command)
        assert where in line and re.search(expected, line), line
    assert not (tmp_path / "bundle" / "bundle.json").exists()
    assert not (tmp_path / "teacher").exists()
    assert not (tmp_path / "bench").exists(), "a failed bench seed left its empty --out folder behind"
