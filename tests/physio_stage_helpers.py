"""Helpers shared by the tests of the physiological stages (EDA, respiration, temperature, EMG)."""

from __future__ import annotations

import numpy as np


def run_stage_chunked(stage, x: np.ndarray, sizes):
    """Feed ``x`` to ``stage.step`` in chunks of the given sizes (cycled; 0 allowed) from a reset.

    Returns
    -------
    continuous, events, quality : ndarray
        The concatenated outputs of every call.
    decided_at : ndarray of int, shape (n_events,)
        For each event, the number of samples delivered when it came out (so ``decided_at - 1`` is the index of
        the last sample of the call that decided it).
    """
    stage.reset()
    outs, decided, i, k = [], [], 0, 0
    while i < len(x) or k == 0:
        n = sizes[k % len(sizes)]
        out = stage.step(x[i: i + n])
        i = min(len(x), i + n)
        outs.append(out)
        decided.extend([i] * len(out.events))
        k += 1
    return (np.concatenate([o.continuous for o in outs]), np.concatenate([o.events for o in outs]),
            np.concatenate([o.quality for o in outs]), np.asarray(decided, dtype=np.int64))


def assert_same_output(a, b) -> None:
    """Two ``(continuous, events, quality)`` results are identical (NaN equal to NaN)."""
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1].dtype == b[1].dtype
    for name in a[1].dtype.names:
        np.testing.assert_array_equal(a[1][name], b[1][name], err_msg=f"event field {name!r}")
    np.testing.assert_array_equal(a[2], b[2])


def check_stage_contract(stage, x: np.ndarray) -> None:
    """What every :class:`~eegaffect.kernels.physio_base.PhysioStage` promises, checked on one input ``x``."""
    out = stage.process(x)
    n = len(x)
    assert out.continuous.shape == (n, len(stage.continuous_names)) and out.continuous.dtype == np.float64
    assert out.quality.shape == (n,) and out.quality.dtype == np.uint8
    assert out.events.dtype == stage.event_dtype and stage.event_dtype["sample"] == np.int64
    assert np.all((out.events["sample"] >= 0) & (out.events["sample"] < n))
    assert isinstance(stage.decision_delay, int) and stage.decision_delay >= 0
    assert isinstance(stage.event_type, str) and stage.event_type
    feats = stage.window_features(out.events, out.continuous, out.quality, 0, n)
    assert feats.values.shape == (len(stage.feature_names),) and feats.values.dtype == np.float64
    assert len(feats.reasons) == len(stage.feature_names)
    assert all((r is None) == np.isfinite(v) for v, r in zip(feats.values, feats.reasons))
    empty = stage.window_features(out.events[:0], out.continuous[:0], out.quality[:0], n, n)
    assert np.isnan(empty.values).all() and all(isinstance(r, str) and r for r in empty.reasons)
    # 2-D single-channel input is accepted and gives the same result
    again = stage.process(x[:, None])
    np.testing.assert_array_equal(again.continuous, out.continuous)
