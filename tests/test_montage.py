"""Electrode positions: every known channel set resolves, SEED's CB1/CB2 sit below O1/O2."""

from __future__ import annotations

import numpy as np
import pytest
from eegaffect.acquisition.channels import CHANNEL_SETS, SEED_CHANNELS

from eegaffect.montage import channel_positions, create_info, make_montage


@pytest.mark.parametrize("name", sorted(CHANNEL_SETS))
def test_channel_sets_have_positions(name):
    pos = channel_positions(CHANNEL_SETS[name])
    assert pos.shape == (len(CHANNEL_SETS[name]), 3)
    assert np.all(np.isfinite(pos))
    assert len({tuple(p) for p in pos}) == len(pos), "two channels share a position"


def test_cerebellar_channels_below_occipital():
    pos = dict(zip(SEED_CHANNELS, channel_positions(SEED_CHANNELS)))
    for cb, o in (("CB1", "O1"), ("CB2", "O2")):
        assert pos[cb][2] < pos[o][2] - 0.01  # lower
        assert pos[cb][1] < 0  # posterior
        assert np.sign(pos[cb][0]) == np.sign(pos[o][0])  # same side


def test_info_carries_montage_with_original_spelling():
    info = create_info(SEED_CHANNELS, 200.0)
    assert info.ch_names == list(SEED_CHANNELS)
    assert info.get_montage() is not None
    assert make_montage(["Fp1", "CZ"]).ch_names == ["Fp1", "CZ"]


def test_unknown_channel_is_named():
    with pytest.raises(ValueError, match=r"\['EXG1'\]"):
        channel_positions(["Cz", "EXG1"])
