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


def test_extra_and_missing_channels_are_named():
    model = ["Fp1", "Fz", "Cz", "Pz"]
    with pytest.raises(ChannelMismatchError, match=r"extra: \['EXG1'\]"):
        match_channels(model + ["EXG1"], model)
    with pytest.raises(ChannelMismatchError, match=r"missing: \['Pz'\].*--interpolate"):
        match_channels(model[:3], model)
    with pytest.raises(ChannelMismatchError, match="duplicates"):
        match_channels(["Fz", "FZ", "Cz"], model)


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
