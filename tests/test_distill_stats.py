"""The paired-difference helper against scipy.stats."""

import numpy as np
import pytest
from scipy import stats

from eegaffect.distill.stats import paired_difference


@pytest.mark.parametrize("n, confidence", [(3, 0.95), (5, 0.95), (12, 0.9)])
def test_paired_difference_matches_scipy_ttest_rel(n, confidence):
    rng = np.random.default_rng(n)
    a = rng.uniform(0.4, 0.9, n)
    b = a - rng.normal(0.03, 0.02, n)
    got = paired_difference(a, b, confidence)
    ref = stats.ttest_rel(a, b).confidence_interval(confidence)
    assert got.mean == pytest.approx(np.mean(a - b), abs=1e-12)
    assert (got.low, got.high) == pytest.approx((ref.low, ref.high), abs=1e-12)
    assert got.sd == pytest.approx(np.std(a - b, ddof=1)) and got.n == n
    # the same interval from the one-sample t interval of the differences
    lo, hi = stats.t.interval(confidence, n - 1, loc=np.mean(a - b), scale=stats.sem(a - b))
    assert (got.low, got.high) == pytest.approx((lo, hi), abs=1e-12)


def test_paired_difference_single_pair_and_errors():
    one = paired_difference([0.7], [0.6])
    assert one.mean == pytest.approx(0.1) and np.isnan(one.low) and np.isnan(one.high) and one.n == 1
    with pytest.raises(ValueError, match="equal non-zero length"):
        paired_difference([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="confidence must be in"):
        paired_difference([0.1, 0.2], [0.1, 0.3], confidence=1.0)
    with pytest.raises(ValueError, match="finite"):
        paired_difference([0.1, np.nan], [0.1, 0.3])
