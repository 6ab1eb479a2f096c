"""Relative lift: one hypothesis per metric (the absolute contrast's p-value), Fieller intervals, t references.

A/A simulations (the null is exactly true) check the false-positive rate of the relative-lift decision at
2 to 1000 units per arm against alpha + 2 Monte Carlo standard errors; scipy's Welch test is the reference for
the p-values, and Fieller's interval is checked against hand-worked numbers and its defining property.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from recsys_causal.experiments.cuped import cuped_lift
from recsys_causal.experiments.means import MIN_UNITS_PER_ARM, ArmMean, mean_lift, relative_lift
from recsys_causal.experiments.ratio import ratio_lift
from recsys_causal.experiments.readout import Metric, analyze_ab
from recsys_causal.kernel import fieller_bounds

ALPHA = 0.05


def _limit(runs: int) -> float:
    """alpha plus two Monte Carlo standard errors."""
    return ALPHA + 2 * math.sqrt(ALPHA * (1 - ALPHA) / runs)


def _aa(rng: np.random.Generator, runs: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``runs`` A/A datasets of ``n`` units per arm: right-skewed outcomes (lognormal), same law in both arms."""
    return rng.lognormal(1.0, 0.8, (runs, n)), rng.lognormal(1.0, 0.8, (runs, n))


@pytest.mark.parametrize("n", [2, 5, 10, 30, 1000])
def test_aa_relative_lift_false_positives_vectorised(n):
    """4,000 A/A datasets per size: the relative decision (Fieller interval at the Welch t quantile excludes 0)
    rejects at most alpha + 2 MC SE, and, wherever the interval is bounded, exactly when scipy's Welch test
    rejects (an unbounded interval, reported as (-inf, inf), never rejects; the p-value still does)."""
    runs = 4000 if n < 1000 else 1000
    t, c = _aa(np.random.default_rng(n), runs, n)
    mt, mc = t.mean(1), c.mean(1)
    vt, vc = t.var(1, ddof=1) / n, c.var(1, ddof=1) / n
    df = (vt + vc) ** 2 / (vt**2 / (n - 1) + vc**2 / (n - 1))  # Welch–Satterthwaite, by hand
    lo, hi = fieller_bounds(mt, mc, vt, vc, 0.0, stats.t.ppf(1 - ALPHA / 2, df))
    rejects = (lo > 1) | (hi < 1)  # the interval for mean_t / mean_c excludes 1: relative lift excludes 0
    ref = stats.ttest_ind(t, c, axis=1, equal_var=False).pvalue < ALPHA
    bounded = np.isfinite(lo)
    np.testing.assert_array_equal(rejects[bounded], ref[bounded])
    assert not rejects[~bounded].any()
    assert rejects.mean() <= _limit(runs), (n, rejects.mean())
    assert ref.mean() <= _limit(runs), (n, ref.mean())


@pytest.mark.parametrize("n", [2, 5, 10, 30])
def test_aa_relative_lift_false_positives_through_mean_lift(n):
    """The public path: ``mean_lift(relative=True)`` on 600 A/A datasets per size. Its p-value is scipy's Welch
    p-value, its interval excludes 0 exactly when p < alpha, and the false-positive rate is within alpha + 2 MC
    SE (the normal delta-method p-value gave about 21%, 17%, 12% and 9% at 2, 5, 10 and 30 units per arm)."""
    runs = 600
    t, c = _aa(np.random.default_rng(100 + n), runs, n)
    ref = stats.ttest_ind(t, c, axis=1, equal_var=False).pvalue
    p = np.empty(runs)
    excludes, warned, flagged = (np.empty(runs, dtype=bool) for _ in range(3))
    for i in range(runs):
        e = mean_lift(t[i], c[i], relative=True)
        p[i], excludes[i] = e.p_value, e.ci_low > 0 or e.ci_high < 0
        warned[i] = any("small sample" in w for w in e.warnings)
        flagged[i] = np.isfinite(e.ci_low) or any("unbounded" in w for w in e.warnings)
    assert np.mean(p < ALPHA) <= _limit(runs), (n, np.mean(p < ALPHA))
    np.testing.assert_allclose(p, ref, rtol=1e-9)
    assert np.all(excludes <= (p < ALPHA))  # an interval excluding 0 always comes with p < alpha
    assert np.all(warned == (n < MIN_UNITS_PER_ARM)) and flagged.all()


def test_fieller_hand_worked():
    # (2 - r)^2 <= 1.96^2 (0.01 + 0.01 r^2), i.e. 0.961584 r^2 - 4 r + 3.961584 <= 0
    lo, hi = fieller_bounds(2.0, 1.0, 0.01, 0.01, 0.0, 1.96)
    a, c = 1 - 1.96**2 * 0.01, 4 - 1.96**2 * 0.01
    assert (lo, hi) == pytest.approx(((4 - math.sqrt(16 - 4 * a * c)) / (2 * a),
                                      (4 + math.sqrt(16 - 4 * a * c)) / (2 * a)), rel=1e-12)
    assert (lo, hi) == pytest.approx((1.625877, 2.533926), abs=1e-6)
    # the relative lift of two arms with means 2 and 1 is the same interval minus 1 (normal quantile)
    v, se, rlo, rhi = relative_lift(ArmMean(2.0, 0.01, 500), ArmMean(1.0, 0.01, 500), df=None)
    z = stats.norm.ppf(0.975)
    a, c = 1 - z**2 * 0.01, 4 - z**2 * 0.01
    root = math.sqrt(16 - 4 * a * c)
    assert (v, rlo, rhi) == pytest.approx((1.0, (4 - root) / (2 * a) - 1, (4 + root) / (2 * a) - 1), rel=1e-12)
    assert se == pytest.approx(math.sqrt(0.01 / 1 + 4 * 0.01 / 1))  # delta method: v_t/m_c^2 + m_t^2 v_c/m_c^4


def test_fieller_bounds_invert_the_linear_contrast_test():
    """At each bound r, the t-statistic of ``num - r den`` is exactly the quantile (with a covariance too)."""
    num, den, vn, vd, cov, q = 0.3, 2.0, 0.004, 0.01, 0.002, 2.2
    lo, hi = fieller_bounds(num, den, vn, vd, cov, q)
    for r in (lo, hi):
        assert abs(num - r * den) / math.sqrt(vn - 2 * r * cov + r * r * vd) == pytest.approx(q, rel=1e-10)
    inside = (lo + hi) / 2
    assert abs(num - inside * den) / math.sqrt(vn - 2 * inside * cov + inside**2 * vd) < q
    # a denominator not distinguishable from 0 (|den| / se < q) gives an unbounded interval
    assert fieller_bounds(1.0, 0.1, 0.01, 0.01, 0.0, 1.96) == (-math.inf, math.inf)


def test_fieller_matches_delta_method_at_large_n():
    rng = np.random.default_rng(5)
    t, c = rng.lognormal(1.05, 0.8, 200_000), rng.lognormal(1.0, 0.8, 200_000)
    e = mean_lift(t, c, relative=True)
    z = stats.norm.ppf(0.975)
    width = 2 * z * e.se
    assert e.ci_low == pytest.approx(e.value - z * e.se, abs=0.01 * width)
    assert e.ci_high == pytest.approx(e.value + z * e.se, abs=0.01 * width)
    assert not e.warnings


def test_unbounded_interval_is_reported_with_a_warning():
    e = mean_lift(np.array([0.5, 3.0]), np.array([-1.0, 2.0]), relative=True)
    assert (e.ci_low, e.ci_high) == (-math.inf, math.inf)
    assert any("unbounded" in w for w in e.warnings)
    assert e.p_value == pytest.approx(stats.ttest_ind([0.5, 3.0], [-1.0, 2.0], equal_var=False).pvalue)


def test_single_comparisons_share_p_value_with_t_reference():
    rng = np.random.default_rng(6)
    n = 40
    num_t, num_c = rng.poisson(3, n).astype(float), rng.poisson(3, n).astype(float)
    den_t, den_c = num_t + rng.poisson(20, n) + 1, num_c + rng.poisson(20, n) + 1
    x = rng.normal(size=2 * n)
    y = x + rng.normal(size=2 * n)
    treated = np.arange(2 * n) < n
    pairs = [(ratio_lift(num_t, den_t, num_c, den_c), ratio_lift(num_t, den_t, num_c, den_c, relative=True)),
             (cuped_lift(y, x, treated), cuped_lift(y, x, treated, relative=True))]
    for a, r in pairs:
        assert r.p_value == a.p_value
        assert a.details["df"] is not None and a.details["df"] < 2 * n  # t reference, not normal
        assert (r.ci_low > 0 or r.ci_high < 0) == (a.p_value < ALPHA)
    # CUPED: the residual degrees of freedom are N - 2 - k when the arms are alike (k = 1 covariate here)
    cu = pairs[1][0]
    assert cu.p_value == pytest.approx(2 * stats.t.sf(abs(cu.value / cu.se), cu.details["df"]))
    assert cu.details["df"] <= 2 * n - 3 + 1e-9


def _units(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variant = np.where(np.arange(2 * n) % 2 == 0, "control", "treatment")
    pre = rng.gamma(2.0, 1.0, 2 * n)
    users = np.arange(2 * n)
    return pd.DataFrame({
        "unit_id": users, "variant": variant, "pre": pre,
        "revenue": pre + rng.gamma(1.0, 1.0, 2 * n) + 0.15 * (variant == "treatment"),
        "converted": (rng.random(2 * n) < 0.3 + 0.03 * (variant == "treatment")).astype(float),
        "clicks": rng.poisson(2, 2 * n).astype(float), "impressions": rng.poisson(20, 2 * n) + 1.0,
        "latency": rng.lognormal(3, 0.5, 2 * n)})


def _check_rows_agree(readout) -> None:
    rows: dict[tuple, dict] = {}
    for e in readout.metrics:
        rows.setdefault((e.details["metric"], e.details["variant"]), {})[e.details["lift"]] = e
    for key, pair in rows.items():
        a, r = pair["absolute"], pair["relative"]
        assert r.p_value == a.p_value, key
        assert r.details["p_adjusted"] == a.details["p_adjusted"], key
        assert r.details["significant"] == a.details["significant"], key
        assert (r.ci_low > 0 or r.ci_high < 0) == (a.ci_low > 0 or a.ci_high < 0), key


@pytest.mark.parametrize("covariates", [None, ["pre"]])
def test_relative_and_absolute_rows_share_p_value_and_decision(covariates):
    """Every metric type (mean, proportion, ratio, quantile; with and without CUPED): the two rows of a metric
    are one hypothesis. Holm (primary) and BH (secondary) count one p-value per metric, as statsmodels does on
    the absolute p-values alone."""
    u = _units(60, seed=1)
    metrics = ["revenue", Metric.proportion("converted"), Metric.ratio("ctr", "clicks", "impressions"),
               Metric.quantile("latency", 0.5), Metric.mean("pre", name="pre_mean", role="secondary", covariates=()),
               Metric.mean("clicks", role="secondary")]
    r = analyze_ab(u, metrics=metrics, covariates=covariates, unit_col="unit_id")
    _check_rows_agree(r)
    for role, method in (("primary", "holm"), ("secondary", "fdr_bh")):
        ab = [e for e in r.metrics if e.details["role"] == role and e.details["lift"] == "absolute"]
        expect = multipletests([e.p_value for e in ab], method=method)[1]
        assert [e.details["p_adjusted"] for e in ab] == pytest.approx(expect, rel=1e-12)
    mean_abs = r.lift("revenue", relative=False)
    if covariates is None:  # the mean row equals scipy's Welch test exactly
        ref = stats.ttest_ind(u.revenue[u.variant == "treatment"], u.revenue[u.variant == "control"],
                              equal_var=False)
        assert mean_abs.p_value == pytest.approx(ref.pvalue, rel=1e-10)
    assert any("small sample" in w for w in mean_abs.warnings) == (60 < MIN_UNITS_PER_ARM)


def test_rows_agree_with_clusters():
    u = _units(80, seed=2)
    u = pd.concat([u, u.assign(revenue=u.revenue + 0.3)], ignore_index=True)  # two requests per user
    r = analyze_ab(u, metrics=["revenue", Metric.ratio("ctr", "clicks", "impressions")], cluster_col="unit_id")
    _check_rows_agree(r)
    assert r.lift("revenue", relative=False).details["df"] is None  # clustered: normal reference


def test_small_sample_warning_below_minimum():
    u = _units(10, seed=3)
    r = analyze_ab(u, metrics=["revenue"], unit_col="unit_id")
    for e in r.metrics:
        assert any("fewer than 30 per arm" in w for w in e.warnings)


def test_two_units_per_arm_report_does_not_contradict_the_absolute_lift(tmp_path):
    """Treatment near-constant and low, control spread out: the normal delta-method relative p-value was about
    1e-100 ("do not ship") while Welch's absolute p-value is about 0.5."""
    from recsys_causal.report.cli import build_report

    pd.DataFrame({"user_id": ["a", "b", "c", "d"], "variant": ["control", "control", "treatment", "treatment"],
                  "revenue": [0.0, 20.0, 0.1, 0.12]}).to_csv(tmp_path / "units.csv", index=False)
    (tmp_path / "exp.yaml").write_text(
        "experiment: {name: tiny, design: ab, unit: user_id}\n"
        "data: {units: units.csv}\n"
        "variants: {control: control, expected_split: {control: 0.5, treatment: 0.5}}\n"
        "metrics: {primary: [{name: revenue, kind: mean}]}\n"
        "output: {html: out/r.html, json: out/r.json}\n")
    _, _, result = build_report(tmp_path / "exp.yaml")
    rows = {m["lift"]: m for m in result["metrics"]}
    ref = stats.ttest_ind([0.1, 0.12], [0.0, 20.0], equal_var=False).pvalue
    assert ref > 0.3
    assert rows["relative"]["p_value"] == pytest.approx(ref, rel=1e-9)
    assert rows["absolute"]["p_value"] == pytest.approx(ref, rel=1e-9)
    assert result["decision"]["verdict"] != "do not ship"
    assert any("small sample" in w for w in rows["relative"]["warnings"].split("; "))
    assert any(w.startswith("small sample") for w in result["warnings"])  # shown on the page
    assert any("revenue treatment rel" in w and "unbounded" in w for w in result["warnings"])
