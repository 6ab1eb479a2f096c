"""econml CATE path: IHDP surface A (constant effect 4), BLP / GATES on data with a known CATE, honest tree."""

import numpy as np
import pandas as pd
import pytest

from recsys_causal import DataValidationError
from recsys_causal.hte import KnownPropensity, calibration_test, fit_cate, segment_tree


def test_ihdp_surface_a_average_effect_interval_covers_4():
    from econml.data.dgps import ihdp_surface_A

    y, t, X, true_te = ihdp_surface_A(random_state=0)
    assert np.all(true_te == 4)
    cols = [f"x{i}" for i in range(1, X.shape[1])]  # drop econml's intercept column
    df = pd.DataFrame(X[:, 1:], columns=cols).assign(y=y, t=t)
    fit = fit_cate(df, outcome="y", treatment="t", covariates=cols, treatment_probability=None, method="linear",
                   seed=0)
    assert fit.ate.ci_low <= 4.0 <= fit.ate.ci_high
    assert "fitted propensity" in fit.ate.method


def heterogeneous(n=6000, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n),
                       "t": rng.random(n) < 0.5})
    df["tau"] = 1.0 + 1.5 * df.x1
    df["y"] = df.x2 + df.tau * df.t + rng.normal(size=n)
    return df


def test_blp_detects_heterogeneity_and_gates_are_ordered():
    df = heterogeneous()
    cal = calibration_test(df, outcome="y", treatment="t", covariates=["x1", "x2", "x3"], treatment_probability=0.5)
    assert cal.blp_heterogeneity.p_value < 0.001
    assert cal.blp_heterogeneity.ci_low <= 1.0 <= cal.blp_heterogeneity.ci_high  # well calibrated
    gates = [g.value for g in cal.gates]
    assert all(b > a for a, b in zip(gates, gates[1:], strict=False))
    assert cal.top_minus_bottom.ci_low > 0
    assert cal.blp_ate.ci_low <= 1.0 <= cal.blp_ate.ci_high


@pytest.mark.slow
def test_blp_keeps_its_size_without_heterogeneity():
    rejections = 0
    for s in range(100):
        df = heterogeneous(n=3000, seed=100 + s)
        df["y"] = df.x2 + 1.0 * df.t + np.random.default_rng(s).normal(size=len(df))
        cal = calibration_test(df, outcome="y", treatment="t", covariates=["x1", "x2", "x3"],
                               treatment_probability=0.5, seed=s)
        rejections += cal.blp_heterogeneity.p_value < 0.05
    assert rejections <= 8  # at most 8% at alpha 5%


def test_forest_cate_tracks_truth_and_tree_finds_the_split():
    df = heterogeneous(seed=1)
    fit = fit_cate(df, outcome="y", treatment="t", covariates=["x1", "x2", "x3"], treatment_probability=0.5,
                   method="forest", n_estimators=100)
    assert np.corrcoef(fit.effects, df.tau)[0, 1] > 0.9
    assert fit.ate.ci_low <= df.tau.mean() + 0.1 and fit.ate.ci_high >= df.tau.mean() - 0.1
    leaves = segment_tree(df, fit, outcome="y", treatment="t", max_depth=1)
    assert len(leaves) == 2 and all("x1" in e.name for e in leaves)
    low, high = sorted(leaves, key=lambda e: e.value)
    assert high.ci_low > low.ci_high  # honest leaf effects separate
    assert "exploratory" in low.warnings[0]


def test_known_propensity_is_used_and_errors():
    kp = KnownPropensity(0.3).fit(np.zeros((4, 1)), np.array([0, 1, 0, 1]))
    np.testing.assert_allclose(kp.predict_proba(np.zeros((2, 1))), [[0.7, 0.3], [0.7, 0.3]])
    df = heterogeneous(n=500)
    df["c"] = 2.0
    with pytest.raises(DataValidationError, match="constant"):
        fit_cate(df, outcome="y", treatment="t", covariates=["x1", "c"], treatment_probability=0.5)
    with pytest.raises(DataValidationError, match="outcome itself"):
        fit_cate(df, outcome="y", treatment="t", covariates=["x1", "y"], treatment_probability=0.5)
