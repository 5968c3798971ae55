"""The shared physiological-stage contract: quality flags against a plain-Python reference, chunk invariance."""

from __future__ import annotations

import numpy as np
import pytest
from eegaffect.kernels.physio_base import (
    QUALITY_CLIPPED,
    QUALITY_FLAT,
    QUALITY_NAN,
    SignalQuality,
    check_signal,
    quality_names,
    stage_class,
)
from kernel_helpers import run_chunked


def _naive_quality(x, sfreq, flat_s, eps, low, high):
    flat_len = max(2, int(round(flat_s * sfreq)))
    out = np.zeros(len(x), dtype=np.uint8)
    run, prev = 0, np.nan
    for i, v in enumerate(x):
        if not np.isfinite(v):
            out[i] |= QUALITY_NAN
            run, prev = 0, np.nan
            continue
        if (low is not None and v <= low) or (high is not None and v >= high):
            out[i] |= QUALITY_CLIPPED
        run = run + 1 if np.isfinite(prev) and abs(v - prev) <= eps else 0
        prev = v
        if run + 1 >= flat_len:
            out[i] |= QUALITY_FLAT
    return out


def _signal(rng):
    x = rng.normal(size=600)
    x[100:180] = 0.25           # flat line (a disconnected lead)
    x[250:255] = np.nan         # dropped samples
    x[300:320] = 4.0            # saturated at the range's top, also flat
    x[400] = -np.inf
    return x


def test_quality_matches_reference(rng):
    x = _signal(rng)
    got = SignalQuality(50.0, flat_s=0.5, eps=1e-9, low=-4.0, high=4.0).step(x)
    np.testing.assert_array_equal(got, _naive_quality(x, 50.0, 0.5, 1e-9, -4.0, 4.0))
    assert got[100:125].tolist() == [0] * 24 + [QUALITY_FLAT]     # flagged once the run reaches 0.5 s
    assert (got[250:255] == QUALITY_NAN).all()
    assert (got[300:320] & QUALITY_CLIPPED).all()


@pytest.mark.parametrize("sizes", [[1], [0, 7, 1], [64, 3]])
def test_quality_is_chunk_invariant(rng, sizes):
    x = _signal(rng)
    whole = SignalQuality(50.0, flat_s=0.5, low=-4.0, high=4.0).step(x)
    stage = SignalQuality(50.0, flat_s=0.5, low=-4.0, high=4.0)
    chunked = run_chunked(stage, x, sizes)
    np.testing.assert_array_equal(chunked, whole)


def test_bad_input_names_what_was_expected():
    with pytest.raises(ValueError, match=r"expected one channel.*got shape \(4, 2\)"):
        check_signal(np.zeros((4, 2)), "ECG stage")
    with pytest.raises(TypeError, match="expected real numbers"):
        check_signal(np.array(["a"]), "ECG stage")
    with pytest.raises(ValueError, match="low < high"):
        SignalQuality(10.0, low=1.0, high=0.0)
    with pytest.raises(ValueError, match="unknown physiological signal kind 'eeg'"):
        stage_class("eeg")
    assert quality_names(QUALITY_NAN | QUALITY_CLIPPED) == ["nan", "clipped"]
