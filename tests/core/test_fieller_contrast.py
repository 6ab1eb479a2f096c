"""Fieller intervals of correlated linearised statistics, and the holdout's relative ITT that uses them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from recsys_causal.kernel import fieller_interval, group_mean, ratio


def test_fieller_interval_of_correlated_statistics_by_hand():
    # ITT = mean_t - mean_h over the holdout mean: numerator and denominator share the holdout arm
    y = np.array([3.0, 5.0, 4.0, 6.0, 1.0, 2.0, 2.0, 3.0])
    treated = np.arange(8) < 4
    itt = group_mean(y, treated) - group_mean(y, ~treated)
    base = group_mean(y, ~treated)
    # by hand: means 4.5 and 2; var of means 1.6667/4 and 0.6667/4; cov(ITT, base) = -var(base)
    v_t, v_h = (5 / 3) / 4, (2 / 3) / 4
    z = 1.96
    a_, b_, c_ = 2.0**2 - z**2 * v_h, -2 * (2.5 * 2.0 - z**2 * (-v_h)), 2.5**2 - z**2 * (v_t + v_h)
    root = math.sqrt(b_**2 - 4 * a_ * c_)
    expect = sorted(((-b_ - root) / (2 * a_), (-b_ + root) / (2 * a_)))
    assert fieller_interval(itt, base, z) == pytest.approx(expect, rel=1e-12)
    assert ratio(itt, base).value == pytest.approx(1.25)


def test_holdout_relative_itt_shares_the_itt_p_value():
    from recsys_causal.incrementality import analyze_holdout
    from recsys_causal.simulate import simulate_holdout

    for seed in range(4):
        h = simulate_holdout(n_units=3000, holdout_share=0.3, exposure_rate=0.3, seed=seed)
        r = analyze_holdout(h.units, covariates=["pre_conversions"])
        a, rel = r["ITT lift (absolute)"], r["ITT lift (relative)"]
        assert rel.p_value == a.p_value
        assert (rel.ci_low > 0 or rel.ci_high < 0) == (a.p_value < 0.05)
        assert stats.norm.ppf(0.975) * rel.se == pytest.approx((rel.ci_high - rel.ci_low) / 2, rel=0.2)
