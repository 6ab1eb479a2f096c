"""The inference kernel against hand computations and statsmodels: one delta-method ratio for every caller,
CUPED's pooled slope, the guardrail evaluation, the pre-treatment check and the re-export shims."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from recsys_causal.errors import DataValidationError
from recsys_causal.estimate import Estimate
from recsys_causal.kernel import (
    ArmMean,
    ArmMoments,
    Moments,
    delta_ratio,
    group_mean,
    noninferiority,
    pooled_slope,
    ratio,
    relative_lift,
    verdict_from_pvalues,
)
from recsys_causal.kernel.cuped import cuped_adjust


def test_relative_lift_of_independent_arms_is_the_textbook_delta_method():
    t, c = ArmMean(2.5, 0.04, 200), ArmMean(2.0, 0.01, 200)
    v, se, lo, hi = relative_lift(t, c)
    assert v == pytest.approx(0.25, rel=1e-15)
    # se² = v_t / m_c² + m_t² v_c / m_c⁴ = 0.04/4 + 6.25·0.01/16
    assert se == pytest.approx(math.sqrt(0.04 / 4 + 6.25 * 0.01 / 16), rel=1e-14)
    z = stats.norm.ppf(0.975)  # Fieller: (2.5 - 2r)² = z² (0.04 + 0.01 r²), solved by hand
    a, b, cc = 4 - z**2 * 0.01, -10.0, 6.25 - z**2 * 0.04
    roots = sorted(((-b - math.sqrt(b * b - 4 * a * cc)) / (2 * a), (-b + math.sqrt(b * b - 4 * a * cc)) / (2 * a)))
    assert (lo, hi) == pytest.approx((roots[0] - 1, roots[1] - 1), rel=1e-12)


def test_delta_ratio_serves_influence_values_and_moment_coefficients_alike():
    rng = np.random.default_rng(4)
    n = 500
    y1, y0 = rng.gamma(2.0, 1.5, n), rng.gamma(2.0, 1.2, n)  # paired per-unit values (e.g. two policies)
    v1, v0 = y1.mean(), y0.mean()
    r, psi = delta_ratio(v1, v0, (y1 - v1) / n, (y0 - v0) / n)
    # the gate's form psi1 / v0 - v1 psi0 / v0², written out
    assert np.allclose(psi, (y1 - v1) / n / v0 - v1 * (y0 - v0) / n / v0**2, rtol=1e-13, atol=0)
    # the same on moment coefficients: Moments.linear_se of the coefficient vector equals the influence SE
    mom = Moments.from_columns({"a": y1, "b": y0})
    _, coef = delta_ratio(v1, v0, mom.coefficients({"a": 1.0}), mom.coefficients({"b": 1.0}))
    se_psi = float(np.std(psi * n, ddof=1) / math.sqrt(n))
    assert mom.linear_se(coef) == pytest.approx(se_psi, rel=1e-10)
    # and on Linearized group means (the holdout's ratio)
    g = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    lin = ratio(group_mean(np.r_[y1, y0], g), group_mean(np.r_[y1, y0], ~g))
    assert lin.value == pytest.approx(r, rel=1e-14)
    assert lin.se == pytest.approx(math.sqrt(y1.var(ddof=1) / n / v0**2 + v1**2 * y0.var(ddof=1) / n / v0**4),
                                   rel=1e-12)


def test_pooled_slope_equals_the_ols_coefficient_with_group_intercepts():
    rng = np.random.default_rng(9)
    n = 900
    g = rng.integers(0, 3, n)
    x1, x2 = rng.normal(size=n) + g, rng.gamma(2.0, 1.0, n)
    y = 1.0 + 0.5 * g + 1.3 * x1 - 0.7 * x2 + rng.normal(size=n)
    fit = smf.ols("y ~ C(g) + x1 + x2", pd.DataFrame({"y": y, "g": g, "x1": x1, "x2": x2})).fit()
    arms = [ArmMoments.from_array(np.column_stack([x1[g == k], x2[g == k], y[g == k]]), ("x1", "x2", "y"))
            for k in range(3)]
    theta = pooled_slope(arms, "y", ["x1", "x2"])
    assert theta == pytest.approx([fit.params["x1"], fit.params["x2"]], rel=1e-10)
    adjusted = cuped_adjust(y, np.column_stack([x1, x2]), g)
    expected = y - np.column_stack([x1 - x1.mean(), x2 - x2.mean()]) @ fit.params[["x1", "x2"]].to_numpy()
    np.testing.assert_allclose(adjusted, expected, rtol=1e-10)
    from recsys_causal.contrast import cuped_adjust as shim

    assert shim is cuped_adjust


@pytest.mark.parametrize(("value", "verdict"), [(0.001, "ok"), (0.05, "violated"), (0.015, "inconclusive")])
def test_noninferiority_by_hand(value, verdict):
    df = 40.0
    e = Estimate.from_normal(name="x", value=value, se=0.005, n=100, method="m", df=df, details={"df": df})
    r = noninferiority(e, direction="increase_is_bad", margin=0.02, alpha=0.05)
    q = stats.t.ppf(0.95, df)
    assert (r.harm, r.harm_lower, r.harm_upper) == pytest.approx((value, value - q * 0.005, value + q * 0.005),
                                                                 rel=1e-12)
    assert r.p_noninferiority == pytest.approx(stats.t.cdf((value - 0.02) / 0.005, df), rel=1e-12)
    assert r.p_violation == pytest.approx(stats.t.sf((value - 0.02) / 0.005, df), rel=1e-12)
    assert r.verdict == verdict == verdict_from_pvalues(r.p_noninferiority, r.p_violation, 0.05)
    down = noninferiority(e, direction="decrease_is_bad", margin=0.02, alpha=0.05)
    assert down.harm == -value


def test_guardrail_class_evaluates_through_the_kernel():
    from recsys_causal.experiments import Guardrail

    e = Estimate.from_normal(name="x", value=-0.03, se=0.01, n=100, method="m")
    g = Guardrail("m", direction="decrease_is_bad", margin=0.01, relative=False)
    k = noninferiority(e, direction="decrease_is_bad", margin=0.01, alpha=0.05)
    d = g.evaluate(e).details
    assert (d["harm"], d["harm_lower"], d["harm_upper"], d["p_noninferiority"], d["verdict"]) == (
        k.harm, k.harm_lower, k.harm_upper, k.p_noninferiority, k.verdict) and k.verdict == "violated"


def test_pre_treatment_check_serves_the_hte_call():
    from recsys_causal.experiments.pretreatment import check_pre_treatment

    u = pd.DataFrame({"id": ["a", "b", "c"], "pre": [1.0, 2.0, 3.0], "y": [1.0, 0.0, 1.0],
                      "exposed_at": pd.to_datetime(["2026-03-02", "2026-03-02", "2026-03-01"], utc=True),
                      "measured": pd.to_datetime(["2026-03-01", "2026-03-01", "2026-03-01"], utc=True)})
    with pytest.raises(DataValidationError, match="outcome itself"):
        check_pre_treatment(u, ["y"], outcome="y")
    with pytest.raises(DataValidationError, match="after first exposure") as info:
        check_pre_treatment(u, ["pre"], first_exposure_col="exposed_at", covariate_times={"pre": "measured"},
                            unit_col="id", outcome="y")
    assert info.value.count == 1 and info.value.examples == ["c"]
    check_pre_treatment(u, ["pre"], first_exposure_col="exposed_at", covariate_times={"pre": "2026-02-01"})
    with pytest.warns(DeprecationWarning, match="'df'"):
        check_pre_treatment(df=u, covariates=["pre"])
    from recsys_causal.experiments.cuped import check_pre_treatment as old_path

    assert old_path is check_pre_treatment


def test_shims_keep_every_old_name():
    import recsys_causal.contrast as contrast
    import recsys_causal.experiments.arm_moments as arm_moments
    import recsys_causal.experiments.means as means
    import recsys_causal.experiments.multiplicity as multiplicity
    import recsys_causal.inference as inference
    import recsys_causal.moments as moments
    import recsys_causal.pvalues as pvalues

    names = {contrast: ["Linearized", "group_mean", "ratio", "covariance", "fieller_bounds", "fieller_interval",
                        "cuped_adjust"],
             inference: ["influence_se", "influence_estimate"], moments: ["Moments", "ONE"],
             pvalues: ["adjust_pvalues"], multiplicity: ["adjust", "adjust_by_hypothesis", "METHODS"],
             arm_moments: ["ArmMoments", "RATIO_COLUMN", "mean_arm", "linearized_ratio", "ratio_arm",
                           "cuped_from_moments", "cuped_details"],
             means: ["ArmMean", "arm_mean", "welch_df", "reference_quantile", "small_sample_warning",
                     "relative_lift", "lift_from_arms", "MIN_UNITS_PER_ARM", "mean_lift", "proportion_lift"]}
    for module, wanted in names.items():
        missing = [n for n in wanted if not hasattr(module, n)]
        assert not missing, (module.__name__, missing)


@pytest.mark.parametrize("module", ["recsys_causal.contrast", "recsys_causal.inference", "recsys_causal.moments",
                                    "recsys_causal.pvalues", "recsys_causal.experiments.arm_moments",
                                    "recsys_causal.experiments.multiplicity"])
def test_old_module_paths_warn_that_they_are_deprecated(module):
    import importlib

    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match="recsys_causal.kernel"):
        importlib.reload(mod)


def test_package_code_never_imports_a_deprecated_module_path():
    import ast
    from pathlib import Path

    old = {"recsys_causal.contrast", "recsys_causal.inference", "recsys_causal.moments", "recsys_causal.pvalues",
           "recsys_causal.experiments.arm_moments", "recsys_causal.experiments.multiplicity"}
    root = Path(__file__).resolve().parents[2] / "recsys_causal"
    found = [f"{p.relative_to(root)}: {n.module}" for p in root.rglob("*.py")
             for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, ast.ImportFrom) and n.module in old]
    assert found == []


def test_guardrail_with_zero_standard_error_follows_the_point_estimate():
    below = Estimate.from_normal(name="x", value=0.01, se=0.0, n=100, method="m")
    r = noninferiority(below, direction="increase_is_bad", margin=0.02, alpha=0.05)
    assert (r.verdict, r.p_noninferiority, r.p_violation) == ("ok", 0.0, 1.0)
    above = Estimate.from_normal(name="x", value=0.03, se=0.0, n=100, method="m")
    r = noninferiority(above, direction="increase_is_bad", margin=0.02, alpha=0.05)
    assert (r.verdict, r.p_noninferiority, r.p_violation) == ("violated", 1.0, 0.0)


def test_relative_lift_with_a_variance_rounded_below_zero():
    """A constant linearised ratio has variance 0, which the moments may round to -1e-18 (the A/A study at two
    units per arm hit this): the relative lift's se is that of the other arm, not a math domain error."""
    t, c = ArmMean(2.0, 0.01, 2), ArmMean(1.0, -1e-18, 2)
    value, se, lo, hi = relative_lift(t, c, df=None)
    assert value == 1.0 and se == pytest.approx(0.1, rel=1e-12)
    assert np.isnan(relative_lift(ArmMean(2.0, float("nan"), 2), ArmMean(1.0, 0.01, 2), df=None)[1])
