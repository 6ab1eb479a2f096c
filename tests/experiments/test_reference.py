"""Numbers checked against independent references (scipy, statsmodels, bootstrap) and hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from recsys_causal.experiments.cuped import cuped_lift
from recsys_causal.experiments.means import mean_lift, proportion_lift
from recsys_causal.experiments.quantiles import quantile_lift
from recsys_causal.experiments.ratio import ratio_lift
from recsys_causal.experiments.srm import srm_from_counts


def test_welch_matches_scipy():
    rng = np.random.default_rng(0)
    t, c = rng.normal(1.1, 2.0, 300), rng.normal(1.0, 1.0, 500)
    e = mean_lift(t, c)
    ref = stats.ttest_ind(t, c, equal_var=False)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    ci = ref.confidence_interval(0.95)
    assert (e.ci_low, e.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_welch_hand_worked():
    # t = [2, 4, 6]: mean 4, var 4; c = [1, 2, 3]: mean 2, var 1 -> se = sqrt(4/3 + 1/3) = sqrt(5/3)
    e = mean_lift(np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0]))
    assert e.value == 2.0
    assert e.se == pytest.approx(math.sqrt(5 / 3))
    # Welch df = (5/3)^2 / ((4/3)^2/2 + (1/3)^2/2) = (25/9) / (17/18) = 50/17
    q = stats.t.ppf(0.975, 50 / 17)
    assert e.ci_high == pytest.approx(2 + q * math.sqrt(5 / 3))


def test_relative_lift_hand_worked():
    # means 4 and 2; var of means 4/3 and 1/3 -> var(rel) = (4/3)/4 + 16*(1/3)/16 = 1/3 + 1/3
    e = mean_lift(np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0]), relative=True)
    assert e.value == pytest.approx(1.0)
    assert e.se == pytest.approx(math.sqrt(2 / 3))


def test_proportion_hand_worked():
    # the one proportion formula (analyze_ab's): s^2/n per arm with s^2 = n p (1 - p) / (n - 1), Welch df
    t, c = np.r_[np.ones(30), np.zeros(70)], np.r_[np.ones(20), np.zeros(80)]
    e = proportion_lift(t, c)
    vt, vc = 0.3 * 0.7 / 99, 0.2 * 0.8 / 99
    assert e.se == pytest.approx(math.sqrt(vt + vc), rel=1e-12)
    df = (vt + vc) ** 2 / (vt**2 / 99 + vc**2 / 99)
    assert e.details["df"] == pytest.approx(df, rel=1e-12)
    assert e.p_value == pytest.approx(2 * stats.t.sf(0.1 / math.sqrt(vt + vc), df), rel=1e-10)
    ref = stats.ttest_ind(t, c, equal_var=False)  # the Welch test on the 0/1 values
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_proportion_lift_equals_analyze_ab_proportion_metric():
    from recsys_causal.experiments import Metric, analyze_ab

    rng = np.random.default_rng(7)
    units = pd.DataFrame({"variant": np.repeat(["control", "treatment"], [400, 300]),
                          "conv": np.r_[rng.random(400) < 0.2, rng.random(300) < 0.25].astype(float)})
    r = analyze_ab(units, metrics=[Metric.proportion("conv")], expected_split={"control": 4 / 7, "treatment": 3 / 7})
    for relative in (False, True):
        e = proportion_lift(units.conv[units.variant == "treatment"].to_numpy(),
                            units.conv[units.variant == "control"].to_numpy(), relative=relative)
        got = r.lift("conv", relative=relative)
        assert (e.value, e.se, e.ci_low, e.ci_high, e.p_value) == pytest.approx(
            (got.value, got.se, got.ci_low, got.ci_high, got.p_value), rel=1e-12)


def test_srm_matches_scipy_chisquare():
    res = srm_from_counts({"a": 5100, "b": 4950, "c": 10050}, {"a": 0.25, "b": 0.25, "c": 0.5})
    ref = stats.chisquare([5100, 4950, 10050], [5025, 5025, 10050])
    assert res.chi2 == pytest.approx(ref.statistic)
    assert res.p_value == pytest.approx(ref.pvalue)
    # by hand: (75^2 + 75^2) / 5025
    assert res.chi2 == pytest.approx(2 * 75**2 / 5025)


def test_cuped_equals_ancova_coefficient():
    rng = np.random.default_rng(1)
    n = 3000
    x1, x2 = rng.normal(size=n), rng.gamma(2, 1, n)
    treated = rng.random(n) < 0.4
    y = 2 + 0.3 * treated + 1.5 * x1 + 0.5 * x2 + rng.normal(0, 1, n) * (1 + 0.3 * treated)
    e = cuped_lift(y, np.column_stack([x1, x2]), treated)
    df = pd.DataFrame({"y": y, "t": treated.astype(float), "x1": x1 - x1.mean(), "x2": x2 - x2.mean()})
    fit = smf.ols("y ~ t + x1 + x2", df).fit(cov_type="HC2")
    assert e.value == pytest.approx(fit.params["t"], rel=1e-9)
    assert e.se == pytest.approx(fit.bse["t"], rel=0.02)
    assert e.details["variance_reduction"] > 0.5


def test_cuped_theta_within_arm_single_covariate_by_hand():
    # two arms, slope 2 exactly within each arm: theta = 2 and the adjusted diff removes the covariate imbalance
    x = np.array([0.0, 1.0, 2.0, 1.0, 2.0, 3.0])
    t = np.array([False, False, False, True, True, True])
    y = 2 * x + np.where(t, 1.0, 0.0) + np.array([0.1, -0.2, 0.1, -0.1, 0.2, -0.1])
    e = cuped_lift(y, x, t)
    # within-arm regression: y residuals [0.1,-0.2,0.1] and [-0.1,0.2,-0.1] are orthogonal to centred x
    # so theta = 2; raw diff = 1 + 2*(2-1) = 3; adjusted = 3 - 2*(2-1) = 1
    assert e.details["theta"][0] == pytest.approx(2.0)
    assert e.value == pytest.approx(1.0)


def test_cluster_robust_mean_matches_clustered_ols():
    rng = np.random.default_rng(2)
    users = 400
    treat_u = rng.random(users) < 0.5
    n_req = rng.integers(1, 12, users)
    user = np.repeat(np.arange(users), n_req)
    y = 1 + 0.2 * treat_u[user] + rng.normal(0, 1, users)[user] + rng.normal(0, 1, user.size)
    t = treat_u[user]
    e = mean_lift(y[t], y[~t], clusters_treatment=user[t], clusters_control=user[~t])
    fit = smf.ols("y ~ t", pd.DataFrame({"y": y, "t": t.astype(float)})).fit(
        cov_type="cluster", cov_kwds={"groups": user, "use_correction": False})
    assert e.value == pytest.approx(fit.params["t"])
    # per-arm G/(G-1) corrections vs one pooled correction: equal to within ~1%
    assert e.se == pytest.approx(fit.bse["t"], rel=0.01)
    naive = mean_lift(y[t], y[~t])
    assert naive.se < 0.7 * e.se


def test_ratio_delta_matches_bootstrap():
    rng = np.random.default_rng(3)
    n = 2000
    imp_t, imp_c = rng.poisson(30, n) + 1, rng.poisson(30, n) + 1
    clk_t = rng.binomial(imp_t, rng.beta(2, 30, n))
    clk_c = rng.binomial(imp_c, rng.beta(2, 32, n))
    e = ratio_lift(clk_t, imp_t, clk_c, imp_c)
    b = 2000
    it, ic = rng.integers(0, n, (b, n)), rng.integers(0, n, (b, n))
    boot = clk_t[it].sum(1) / imp_t[it].sum(1) - clk_c[ic].sum(1) / imp_c[ic].sum(1)
    assert e.value == pytest.approx(clk_t.sum() / imp_t.sum() - clk_c.sum() / imp_c.sum())
    assert e.se == pytest.approx(boot.std(ddof=1), rel=0.06)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    assert e.ci_low == pytest.approx(lo, abs=0.15 * e.se)
    assert e.ci_high == pytest.approx(hi, abs=0.15 * e.se)
    rel = ratio_lift(clk_t, imp_t, clk_c, imp_c, relative=True)
    boot_rel = (clk_t[it].sum(1) / imp_t[it].sum(1)) / (clk_c[ic].sum(1) / imp_c[ic].sum(1)) - 1
    assert rel.se == pytest.approx(boot_rel.std(ddof=1), rel=0.08)


def test_ratio_hand_worked():
    # arm t: num [2, 3], den [10, 10] -> R = 0.25; c: num [1, 1], den [10, 10] -> R = 0.1
    # linearised t: (num - 0.25 den) / 10 = [-0.05, 0.05] -> var = 0.005, var of mean = 0.0025
    e = ratio_lift(np.array([2.0, 3.0]), np.array([10.0, 10.0]), np.array([1.0, 1.0]), np.array([10.0, 10.0]))
    assert e.value == pytest.approx(0.15)
    assert e.se == pytest.approx(math.sqrt(0.0025))


def test_quantile_interval_matches_bootstrap():
    rng = np.random.default_rng(4)
    t, c = rng.lognormal(0.1, 0.6, 5000), rng.lognormal(0.0, 0.6, 5000)
    e = quantile_lift(t, c, q=0.95)
    b = 1000
    boot = (np.quantile(t[rng.integers(0, t.size, (b, t.size))], 0.95, axis=1)
            - np.quantile(c[rng.integers(0, c.size, (b, c.size))], 0.95, axis=1))
    assert e.value == pytest.approx(np.quantile(t, 0.95) - np.quantile(c, 0.95))
    assert e.se == pytest.approx(boot.std(ddof=1), rel=0.15)
