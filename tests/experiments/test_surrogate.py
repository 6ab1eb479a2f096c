"""The surrogate index: point estimate and out-of-fold R² against numpy least squares worked by hand, the
experiment-only row against scipy's Welch test, the bootstrap standard error against the statsmodels sandwich plus
Welch variance, unbiasedness when surrogacy holds and the closed-form bias when it does not (Monte Carlo with the
MC standard error stated)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recsys_causal.experiments.surrogate import WeakSurrogateWarning, estimate_surrogate_index
from recsys_causal.simulate.longterm import simulate_longterm

S, X = ["sessions_7d", "purchases_7d"], ["pre_sessions", "tenure"]
LIFT, REL, KNOWN = ("long-term lift (surrogate index)", "long-term relative lift (surrogate index)",
                    "long-term lift (experiment-only SE)")
GAP = "validation gap (surrogate − realised)"


def _tiny():
    hist = pd.DataFrame({"s": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                         "x": [0.5, -1.0, 2.0, 0.0, 1.0, -0.5, 1.5, 0.2],
                         "y": [3.1, 3.0, 8.2, 6.9, 10.1, 9.8, 14.7, 13.3]})
    exp = pd.DataFrame({"variant": ["control", "treatment"] * 4, "s": [1.5, 2.5, 2.0, 4.0, 3.0, 5.5, 1.0, 3.5],
                        "x": [0.1, 0.3, -0.2, 0.4, 1.0, 0.0, 0.6, -0.3]})
    return hist, exp


def _design(frame):
    return np.column_stack([np.ones(len(frame)), frame["s"], frame["x"]])


def _fit(hist, exp, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WeakSurrogateWarning)
        return estimate_surrogate_index(hist, exp, long_term="y", surrogates=["s"], covariates=["x"], n_boot=50, **kw)


def test_point_estimate_equals_numpy_least_squares_by_hand():
    hist, exp = _tiny()
    coef = np.linalg.lstsq(_design(hist), hist["y"].to_numpy(), rcond=None)[0]
    pred = _design(exp) @ coef
    t = (exp["variant"] == "treatment").to_numpy()
    r = _fit(hist, exp, folds=2)
    assert r.lift.value == pytest.approx(pred[t].mean() - pred[~t].mean(), abs=1e-12)
    assert r.relative_lift.value == pytest.approx(pred[t].mean() / pred[~t].mean() - 1, abs=1e-12)
    np.testing.assert_allclose(r.index, pred, atol=1e-12)


def test_out_of_fold_r2_equals_cross_fit_by_hand():
    hist, exp = _tiny()
    folds = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    z, y, oof = _design(hist), hist["y"].to_numpy(), np.empty(8)
    for k in range(3):
        held = folds == k
        oof[held] = z[held] @ np.linalg.lstsq(z[~held], y[~held], rcond=None)[0]
    r2 = 1 - np.sum((y - oof) ** 2) / np.sum((y - y.mean()) ** 2)
    assert _fit(hist, exp, folds=folds).r2_out_of_fold == pytest.approx(r2, abs=1e-12)


def test_experiment_only_row_is_welch_on_the_index():
    hist, exp = _tiny()
    r = _fit(hist, exp, folds=2)
    t = (exp["variant"] == "treatment").to_numpy()
    ref = stats.ttest_ind(r.index[t], r.index[~t], equal_var=False)
    row = r[KNOWN]
    assert row.value / row.se == pytest.approx(ref.statistic, rel=1e-10)
    assert row.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert any("understates" in w for w in row.warnings)


def test_sklearn_learner_gives_the_same_index_and_bootstrap_as_the_default():
    from sklearn.linear_model import LinearRegression

    sim = simulate_longterm(n_historical=400, n_experiment=300, seed=3)
    kw = {"long_term": "long_term", "surrogates": S, "covariates": X, "n_boot": 50, "seed": 7}
    a = estimate_surrogate_index(sim.historical, sim.experiment, **kw)
    b = estimate_surrogate_index(sim.historical, sim.experiment, learner=LinearRegression(), **kw)
    for name in (LIFT, REL):
        assert b[name].value == pytest.approx(a[name].value, abs=1e-9)
        assert b[name].se == pytest.approx(a[name].se, rel=1e-8)
    assert b.settings["learner"] == "LinearRegression"


def test_bootstrap_se_matches_sandwich_plus_welch_variance():
    """For least squares the estimate is ``d'β̂`` with ``d`` the arm difference of the mean design rows: its
    variance is ``d'V(β̂)d`` (statsmodels HC0 sandwich, historical sample) plus the Welch variance of the index
    (experiment). The bootstrap over both samples agrees within its Monte Carlo error (n_boot = 1000: about 2.3%
    relative, tolerance 8%); the experiment-only row misses the first part."""
    import statsmodels.api as sm

    sim = simulate_longterm(n_historical=150, n_experiment=4000, surrogate_effects=(1.0, 0.5), seed=11)
    r = estimate_surrogate_index(sim.historical, sim.experiment, long_term="long_term", surrogates=S,
                                 covariates=X, n_boot=1000, seed=1)
    h, e = sim.historical, sim.experiment
    ols = sm.OLS(h["long_term"].to_numpy(), sm.add_constant(h[S + X].to_numpy())).fit(cov_type="HC0")
    t = (e["variant"] == "treatment").to_numpy()
    d = np.r_[0.0, e.loc[t, S + X].mean().to_numpy() - e.loc[~t, S + X].mean().to_numpy()]
    idx = sm.add_constant(e[S + X].to_numpy()) @ ols.params
    welch = idx[t].var(ddof=1) / t.sum() + idx[~t].var(ddof=1) / (~t).sum()
    analytic = np.sqrt(d @ ols.cov_params() @ d + welch)
    assert r.lift.value == pytest.approx(d @ ols.params, abs=1e-10)
    assert r.lift.se == pytest.approx(analytic, rel=0.08)
    assert r[KNOWN].se == pytest.approx(np.sqrt(welch), rel=1e-8)
    assert r[KNOWN].se < 0.85 * analytic  # the experiment-only standard error understates here


def _monte_carlo(runs: int, **sim_kw):
    values, gaps, sim = [], [], None
    for s in range(runs):
        sim = simulate_longterm(n_historical=800, n_experiment=1500, seed=500 + s, **sim_kw)
        r = estimate_surrogate_index(sim.historical, sim.experiment, long_term="long_term", surrogates=S,
                                     covariates=X, n_boot=50, seed=s, validate=True)
        values.append(r.lift.value)
        gaps.append(r.gap.value)
    v, g = np.array(values), np.array(gaps)
    return v.mean(), v.std(ddof=1) / np.sqrt(runs), g.mean(), g.std(ddof=1) / np.sqrt(runs), sim


def test_unbiased_when_surrogacy_holds():
    mean, mc, gap, gap_mc, sim = _monte_carlo(40)
    truth = 2.0 * 0.3 + 2.0 * 0.1  # gamma'tau with the simulator's defaults, by hand
    assert sim.true_effect == pytest.approx(truth, abs=1e-12)
    assert abs(mean - truth) < 3 * mc, (mean, truth, mc)
    assert abs(gap) < 3 * gap_mc, (gap, gap_mc)


def test_bias_when_surrogacy_is_violated_equals_the_closed_form():
    """Direct path theta = 0.4 and a historical sample that treated half its units: the bias of the linear index
    is ``-theta / (1 + v tau'Σ⁻¹tau)`` (Sherman–Morrison, v = 1/4), here about -0.383; the estimates match it within
    3 MC SE and are far from the true effect."""
    theta, tau, sd = 0.4, np.array([0.3, 0.1]), np.array([1.0, 0.5])
    closed = -theta / (1 + 0.25 * np.sum(tau**2 / sd**2))
    mean, mc, gap, gap_mc, sim = _monte_carlo(40, direct_effect=theta, historical_treated_share=0.5)
    assert sim.bias == pytest.approx(closed, abs=1e-12)
    assert abs((mean - sim.true_effect) - closed) < 3 * mc, (mean - sim.true_effect, closed, mc)
    assert abs(gap - closed) < 3 * gap_mc, (gap, closed, gap_mc)
    assert abs(mean - sim.true_effect) > 5 * mc  # the bias is real, not noise


def test_simulator_estimand_is_the_large_sample_least_squares_limit():
    """The closed-form surrogate coefficients ``gamma + theta beta`` against least squares on 400,000 units."""
    sim = simulate_longterm(n_historical=400_000, n_experiment=10, direct_effect=0.5, historical_treated_share=0.3,
                            seed=2)
    h = sim.historical
    coef = np.linalg.lstsq(np.column_stack([np.ones(len(h)), h[S + X]]), h["long_term"].to_numpy(), rcond=None)[0]
    assert coef[1:3] @ sim.surrogate_effects == pytest.approx(sim.surrogate_estimand, abs=0.01)


def test_relative_interval_excludes_zero_exactly_when_the_lift_test_rejects():
    for seed, effects in ((0, (0.05, 0.0)), (1, (0.02, 0.01)), (2, (0.3, 0.1)), (3, (0.0, 0.0))):
        sim = simulate_longterm(n_historical=300, n_experiment=600, surrogate_effects=effects, seed=seed)
        r = estimate_surrogate_index(sim.historical, sim.experiment, long_term="long_term", surrogates=S,
                                     covariates=X, n_boot=100, seed=seed)
        rel = r.relative_lift
        assert (rel.ci_low > 0 or rel.ci_high < 0) == (r.lift.p_value < 0.05)
        assert rel.p_value == r.lift.p_value


def test_any_sklearn_regressor_is_fitted_on_the_historical_sample():
    """A gradient-boosting index: the point estimate is that regressor, fitted by hand on every historical unit,
    predicting the experiment; the out-of-fold R² is sklearn's cross_val_predict on the same folds."""
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.model_selection import PredefinedSplit, cross_val_predict

    sim = simulate_longterm(n_historical=150, n_experiment=100, seed=5)
    h, e = sim.historical, sim.experiment
    gbr = GradientBoostingRegressor(n_estimators=10, max_depth=2, random_state=0)
    folds = np.arange(len(h)) % 3
    r = estimate_surrogate_index(h, e, long_term="long_term", surrogates=S, covariates=X, learner=gbr,
                                 folds=folds, n_boot=50, seed=0)
    pred = gbr.fit(h[S + X].to_numpy(), h["long_term"].to_numpy()).predict(e[S + X].to_numpy())
    t = (e["variant"] == "treatment").to_numpy()
    assert r.lift.value == pytest.approx(pred[t].mean() - pred[~t].mean(), abs=1e-12)
    oof = cross_val_predict(gbr, h[S + X].to_numpy(), h["long_term"].to_numpy(), cv=PredefinedSplit(folds))
    y = h["long_term"].to_numpy()
    assert r.r2_out_of_fold == pytest.approx(1 - np.sum((y - oof) ** 2) / np.sum((y - y.mean()) ** 2), abs=1e-12)
    assert r.settings["learner"] == "GradientBoostingRegressor"
