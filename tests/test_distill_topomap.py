"""Topographic maps: the precomputed matrix reproduces MNE's own topomap interpolation on the same positions."""

from __future__ import annotations

import numpy as np
import pytest
from eegaffect.acquisition.channels import DREAMER_CHANNELS, SEED_CHANNELS

from eegaffect.distill.topomap import TopomapInterpolator, project_positions
from eegaffect.montage import channel_positions, create_info

_SPHERE = np.array([0.0, 0.0, 0.0, 0.095])


def _mne_reference(ch_names, method, grid_size, values):
    """MNE's plot_topomap path: 2-D coords, head outlines, _setup_interp / _GridData, evaluated on its grid."""
    from mne.channels.layout import _find_topomap_coords
    from mne.viz.topomap import _make_head_outlines, _setup_interp

    pos = _find_topomap_coords(create_info(ch_names, 200.0), picks=None, sphere=_SPHERE)
    outlines = _make_head_outlines(_SPHERE, pos, "head", (0.0, 0.0))
    _, xi, yi, interp = _setup_interp(pos, grid_size, method, "head", outlines, "mean")
    images = np.stack([interp.set_values(v).set_locations(xi, yi)() for v in values])
    return pos, xi[0], yi[:, 0], images


@pytest.mark.parametrize("ch_names", [SEED_CHANNELS, DREAMER_CHANNELS], ids=["seed62", "dreamer14"])
@pytest.mark.parametrize("method, atol", [("cubic", 1e-6), ("linear", 1e-12)])
def test_matches_mne_topomap_interpolation(ch_names, method, atol, rng):
    values = rng.standard_normal((3, len(ch_names)))
    interp = TopomapInterpolator(ch_names, grid_size=32, method=method)
    pos, xi, yi, ref = _mne_reference(ch_names, method, 32, values)
    np.testing.assert_allclose(interp.pos2d, pos, atol=1e-12)
    np.testing.assert_allclose(interp.xi, xi, atol=1e-12)
    np.testing.assert_allclose(interp.yi, yi, atol=1e-12)
    maps = interp.transform(values)
    assert maps.shape == (3, 32, 32)
    assert np.isfinite(ref[:, interp.mask]).all()
    np.testing.assert_allclose(maps[:, interp.mask], ref[:, interp.mask], atol=atol)
    assert (maps[:, ~interp.mask] == 0).all()


def test_frames_layout_and_dtype(rng):
    interp = TopomapInterpolator(DREAMER_CHANNELS, grid_size=16)
    feats = rng.standard_normal((4, 14, 5)).astype(np.float32)
    maps = interp.frames(feats)
    assert maps.shape == (4, 5, 16, 16) and maps.dtype == np.float32
    one = interp.transform(feats[2, :, 3].astype(np.float64))
    np.testing.assert_allclose(maps[2, 3], one, rtol=1e-5, atol=1e-5)
    # a constant field stays constant inside the head (interpolation weights sum to one there)
    flat = interp.transform(np.full(14, 2.5))
    np.testing.assert_allclose(flat[interp.mask], 2.5, atol=1e-6)


def test_explicit_positions_equal_channel_names():
    pos = channel_positions(DREAMER_CHANNELS)
    a = TopomapInterpolator(DREAMER_CHANNELS, grid_size=12, method="linear")
    b = TopomapInterpolator(pos=pos, grid_size=12, method="linear")
    np.testing.assert_array_equal(a.matrix, b.matrix)
    np.testing.assert_allclose(project_positions(pos), a.pos2d)


@pytest.mark.parametrize("kwargs, match", [
    ({"ch_names": ["Cz", "Pz", "Nope", "Fz"]}, "Nope"),
    ({"ch_names": ["Cz", "Pz", "Fz"]}, "at least 4"),
    ({"ch_names": DREAMER_CHANNELS, "grid_size": 2}, "grid_size"),
    ({"ch_names": DREAMER_CHANNELS, "method": "spline"}, "cubic"),
    ({"pos": np.zeros((5, 2))}, r"\(n_chans, 3\)"),
    ({}, "exactly one"),
])
def test_bad_input_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TopomapInterpolator(**kwargs)


def test_wrong_channel_count_in_transform(rng):
    interp = TopomapInterpolator(DREAMER_CHANNELS, grid_size=8)
    with pytest.raises(ValueError, match="14 channels"):
        interp.transform(rng.standard_normal((2, 13)))
    with pytest.raises(ValueError, match=r"\(n_windows, 14, n_bands\)"):
        interp.frames(rng.standard_normal((2, 5, 14)))
