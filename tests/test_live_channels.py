"""Channel matching of live streams to a model's montage, and spline interpolation against MNE."""

from __future__ import annotations

import numpy as np
import pytest
from eegaffect.acquisition.channels import SEED_CHANNELS, STANDARD_32

from eegaffect.live.channels import ChannelMismatchError, match_channels, spline_interpolation_matrix


def test_identity_and_case_insensitive_reorder(rng):
    model = ["Fp1", "Fz", "Cz", "Pz"]
    stream = ["PZ", "cz", "FP1", "fz"]
    cmap = match_channels(stream, model)
    x = rng.standard_normal((7, 4)).astype(np.float32)
    out = cmap.apply(x)
    assert out.dtype == np.float64 and out.shape == (7, 4)
    np.testing.assert_array_equal(out, x[:, [2, 3, 1, 0]].astype(np.float64))
    assert not cmap.is_identity
    assert match_channels(model, model).is_identity


def test_extra_channels_are_dropped_and_missing_ones_named():
    model = ["Fp1", "Fz", "Cz", "Pz"]
    cmap = match_channels(model + ["EXG1", "TRIGGER"], model)  # a trigger or EXG channel is not an error
    assert cmap.dropped == ["EXG1", "TRIGGER"] and "2 stream channel(s) not used: EXG1, TRIGGER" in cmap.describe()
    with pytest.raises(ChannelMismatchError, match=r"not in the model: \['EXG1'\]"):
        match_channels(model + ["EXG1"], model, on_extra="raise")
    with pytest.raises(ChannelMismatchError, match=r"missing: \['Pz'\].*--interpolate.*--rename"):
        match_channels(model[:3] + ["EXG1"], model)
    with pytest.raises(ChannelMismatchError, match="duplicates"):
        match_channels(["Fz", "FZ", "Cz"], model)
    with pytest.raises(ChannelMismatchError, match="duplicates"):
        match_channels(["T3", "T7", "Fz", "Cz"], ["T7", "Fz", "Cz"])  # two spellings of one electrode


def test_ignore_drops_channels_and_scale_converts(rng):
    model = ["Fp1", "Fz"]
    cmap = match_channels(["TRIG", "fz", "fp1", "sample_index"], model, ignore=["trig", "sample_index"], scale=1e-6)
    assert cmap.dropped == ["TRIG", "sample_index"]
    x = rng.standard_normal((5, 4))
    np.testing.assert_allclose(cmap.apply(x), x[:, [2, 1]] * 1e-6)


def test_interpolation_matches_mne_interpolate_bads(rng):
    """Missing channels are estimated exactly like MNE's spherical-spline interpolate_bads (same origin)."""
    import mne

    from eegaffect.montage import create_info

    model = list(STANDARD_32)
    missing = ["C3", "Pz"]
    stream = [c for c in model if c not in missing]
    cmap = match_channels(stream, model, max_interpolated=2)
    assert cmap.interpolated == missing
    x = rng.standard_normal((50, len(stream)))
    ours = cmap.apply(x)

    full = np.zeros((len(model), 50))
    for k, name in enumerate(stream):
        full[model.index(name)] = x[:, k]
    raw = mne.io.RawArray(full, create_info(model, 200.0), verbose="error")
    raw.info["bads"] = missing
    raw.interpolate_bads(origin=(0.0, 0.0, 0.0), method={"eeg": "spline"}, verbose="error")
    np.testing.assert_allclose(ours, raw.get_data().T, rtol=1e-7, atol=1e-10)
    # present channels are passed through untouched
    keep = [model.index(c) for c in stream]
    np.testing.assert_array_equal(ours[:, keep], x)


def test_interpolation_limits():
    model = list(SEED_CHANNELS)
    with pytest.raises(ChannelMismatchError, match="missing"):
        match_channels(model[3:], model, max_interpolated=2)
    with pytest.raises(ChannelMismatchError, match="no electrode position"):
        match_channels(["Fz", "Cz", "Pz"], ["Fz", "Cz", "Pz", "NOPE"], max_interpolated=1)
    with pytest.raises(ValueError, match="max_interpolated"):
        match_channels(model, model, max_interpolated=-1)


def test_spline_matrix_reproduces_constant_field():
    """The spline system includes a constant term: a flat potential is interpolated exactly."""
    from eegaffect.montage import channel_positions

    pos = channel_positions(STANDARD_32)
    w = spline_interpolation_matrix(pos[2:], pos[:2])
    np.testing.assert_allclose(w @ np.full(len(pos) - 2, 3.5), [3.5, 3.5], rtol=1e-6)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        spline_interpolation_matrix(pos[:, :2], pos[:2])


#: The 64 channels of PhysioNet's EEG Motor Movement/Imagery EDF files, spelled as the files spell them.
EEGMMI = ["Fc5.", "Fc3.", "Fc1.", "Fcz.", "Fc2.", "Fc4.", "Fc6.", "C5..", "C3..", "C1..", "Cz..", "C2..", "C4..",
          "C6..", "Cp5.", "Cp3.", "Cp1.", "Cpz.", "Cp2.", "Cp4.", "Cp6.", "Fp1.", "Fpz.", "Fp2.", "Af7.", "Af3.",
          "Afz.", "Af4.", "Af8.", "F7..", "F5..", "F3..", "F1..", "Fz..", "F2..", "F4..", "F6..", "F8..", "Ft7.",
          "Ft8.", "T7..", "T8..", "T9..", "T10.", "Tp7.", "Tp8.", "P7..", "P5..", "P3..", "P1..", "Pz..", "P2..",
          "P4..", "P6..", "P8..", "Po7.", "Po3.", "Poz.", "Po4.", "Po8.", "O1..", "Oz..", "O2..", "Iz.."]


@pytest.mark.parametrize("spelled, model", [
    ("Fc5.", "FC5"), ("C3..", "C3"), ("Fp1.", "FP1"), ("EEG Fp1-REF", "Fp1"), ("Fp1-A1", "FP1"), ("EEG Fp1", "Fp1"),
    ("FP1", "Fp1"), ("fpz", "FPZ"), ("T3", "T7"), ("T4", "T8"), ("T5", "P7"), ("t6", "P8"), ("EEG T3-REF", "T7"),
    ("Cz-LE", "Cz"), ("EEG:Cz", "Cz"), (" Cz ", "CZ"), ("Iz..", "Iz"),
])
def test_decorated_and_old_names_match(spelled, model):
    from eegaffect.montage import channel_key

    assert channel_key(spelled) == channel_key(model)
    cmap = match_channels([spelled, "Oz", "Pz"], [model, "Pz", "Oz"])
    np.testing.assert_array_equal(cmap.picks, [0, 2, 1])


def test_bipolar_derivations_are_not_single_electrodes():
    from eegaffect.montage import channel_key

    assert channel_key("Fp1-F7") != channel_key("Fp1") and channel_key("EEG Fpz-Cz") != channel_key("Fpz")
    with pytest.raises(ChannelMismatchError, match="missing"):
        match_channels(["Fp1-F7", "F7-T7", "Cz"], ["Fp1", "F7", "Cz"])


def test_physionet_eegmmi_onto_seed_montage(rng):
    """58 of SEED's 62 channels are in the EEGMMI files under other spellings; PO5, PO6, CB1, CB2 are not."""
    cmap = match_channels(EEGMMI, SEED_CHANNELS, max_interpolated=4)
    assert cmap.interpolated == ["PO5", "PO6", "CB1", "CB2"]
    assert sorted(cmap.dropped) == sorted(["Af7.", "Afz.", "Af8.", "T9..", "T10.", "Iz.."])
    present = cmap.picks >= 0
    assert present.sum() == 58
    assert all(EEGMMI[p].rstrip(".").upper() == m for m, p in zip(SEED_CHANNELS, cmap.picks) if p >= 0)
    line = cmap.describe()
    assert "\n" not in line and line.startswith("channels: 58 of 62 model channels from the stream")
    assert "Fc5. -> FC5" in line and "C3.. -> C3" in line and "4 interpolated: PO5, PO6, CB1, CB2" in line
    x = rng.standard_normal((3, 64))
    out = cmap.apply(x)
    np.testing.assert_array_equal(out[:, present], x[:, cmap.picks[present]])
    with pytest.raises(ChannelMismatchError, match=r"missing: \['PO5', 'PO6', 'CB1', 'CB2'\]"):
        match_channels(EEGMMI, SEED_CHANNELS)


def test_rename_mapping_from_yaml_and_csv(tmp_path):
    from eegaffect.live.channels import read_rename_file

    model = ["Fp1", "Fz", "Cz", "Pz"]
    stream = ["E1", "E2", "Cz", "Pz", "Status"]
    yml = tmp_path / "map.yaml"
    yml.write_text("E1: Fp1\nE2: Fz\n", encoding="utf-8")
    csv = tmp_path / "map.csv"
    csv.write_text("stream,model\n# a comment\nE1,Fp1\ne2,FZ\n", encoding="utf-8")
    nested = tmp_path / "nested.yml"
    nested.write_text("rename:\n  E1: Fp1\n  E2: Fz\n", encoding="utf-8")
    for path in (yml, csv, nested):
        cmap = match_channels(stream, model, rename=read_rename_file(path))
        np.testing.assert_array_equal(cmap.picks, [0, 1, 2, 3])
        assert cmap.dropped == ["Status"] and "renamed by the mapping: E1 -> Fp1" in cmap.describe()
    with pytest.raises(ChannelMismatchError, match=r"names \['E9'\] but the stream has no such channel"):
        match_channels(stream, model, rename={"E9": "Fp1"})


@pytest.mark.parametrize("name, text, match", [
    ("a.yaml", "- E1\n- Fp1\n", "expected a mapping"),
    ("a.yaml", "E1: [Fp1\n", "not valid YAML"),
    ("a.csv", "E1,Fp1,extra\n", "row 1"),
    ("a.csv", "E1,Fp1\nE2,FP1\n", "same model channel"),
    ("a.csv", "E1,Fp1\nE1,Fz\n", "mapped twice"),
    ("a.txt", "E1,Fp1\n", ".yaml, .yml or .csv"),
])
def test_bad_rename_files_are_named(tmp_path, name, text, match):
    from eegaffect.live.channels import read_rename_file

    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ChannelMismatchError, match=match):
        read_rename_file(path)
    with pytest.raises(FileNotFoundError):
        read_rename_file(tmp_path / "missing.yaml")


@pytest.mark.parametrize("name, text, match", [("missing.yaml", None, "does not exist"),
                                               ("bad.csv", "a,b,c\n", "expected CSV rows")])
def test_live_rename_file_errors_are_one_line_exit_2(tmp_path, capsys, name, text, match):
    from eegaffect.cli import main

    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    assert main(["live", "--stream", "x", "--model", str(tmp_path), "--rename", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("eegaffect live: ") and match in err[0], err
