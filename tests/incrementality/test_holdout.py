"""Holdout readout checked against hand-worked numbers, scipy, statsmodels and simulations with known truth."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from statsmodels.sandbox.regression.gmm import IV2SLS
from statsmodels.stats.power import NormalIndPower

from recsys_causal import DataValidationError, EstimationError
from recsys_causal.incrementality import analyze_holdout, holdout_mde, holdout_units_needed
from recsys_causal.simulate import simulate_holdout


@pytest.fixture
def tiny():
    return pd.DataFrame({
        "unit_id": [f"u{i}" for i in range(10)],
        "group": ["treated"] * 6 + ["holdout"] * 4,
        "exposed": [1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
        "ghost_exposed": [0, 0, 0, 0, 0, 0, 1, 1, 0, 0],
        "converted": [1, 0, 1, 1, 0, 0, 0, 1, 0, 0],
        "attributed": [1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
    })


def test_hand_worked_itt_wald_ghost(tiny):
    r = analyze_holdout(tiny, attributed_col="attributed")
    itt = r["ITT lift (absolute)"]
    # treated mean 3/6 = 0.5, holdout mean 1/4 = 0.25; Welch variance 0.3/6 + 0.25/4 = 0.1125
    assert itt.value == pytest.approx(0.25)
    assert itt.se == pytest.approx(np.sqrt(0.1125))
    welch = stats.ttest_ind(tiny.converted[:6], tiny.converted[6:], equal_var=False)
    assert itt.value / itt.se == pytest.approx(welch.statistic)
    assert r["ITT lift (relative)"].value == pytest.approx(0.25 / 0.25)
    # exposure rate 3/6 in treated, 0 in holdout -> effect on exposed 0.25 / 0.5
    assert r["effect on exposed (Wald)"].value == pytest.approx(0.5)
    # exposed treated: 2/3 converted; ghost-exposed holdout: 1/2
    assert r["effect on exposed (ghost)"].value == pytest.approx(2 / 3 - 1 / 2)
    # attributed per treated unit 2/6; incremental per treated unit 0.25 -> over-credit (1/3) / 0.25
    assert r["attribution over-credit (attributed / incremental)"].value == pytest.approx((2 / 6) / 0.25)
    assert r["incremental conversions (treated population)"].value == pytest.approx(0.25 * 6)


def test_wald_agrees_with_statsmodels_two_stage_least_squares():
    h = simulate_holdout(n_units=200_000, holdout_share=0.3, seed=5)
    u = h.units
    r = analyze_holdout(u)
    z = (u.group == "treated").to_numpy(float)
    d = u.exposed.to_numpy(float)
    iv = IV2SLS(u.converted.to_numpy(float), sm.add_constant(d), sm.add_constant(z)).fit()
    wald = r["effect on exposed (Wald)"]
    assert wald.value == pytest.approx(iv.params[1], rel=1e-9)
    # ours is heteroskedasticity-robust, statsmodels' IV2SLS is not; with a rare binary outcome they nearly agree
    assert wald.se == pytest.approx(iv.bse[1], rel=0.03)


def test_cuped_itt_equals_ancova_coefficient():
    h = simulate_holdout(n_units=50_000, seed=2)
    u = h.units
    r = analyze_holdout(u, covariates=["pre_conversions"])
    t = (u.group == "treated").to_numpy(float)
    x = u.pre_conversions.to_numpy() - u.pre_conversions.mean()
    ols = sm.OLS(u.converted.to_numpy(float), sm.add_constant(np.column_stack([t, x]))).fit(cov_type="HC2")
    itt = r["ITT lift (absolute)"]
    assert itt.value == pytest.approx(ols.params[1], rel=1e-9)
    assert itt.se == pytest.approx(ols.bse[1], rel=0.01)
    plain = analyze_holdout(u)["ITT lift (absolute)"]
    assert itt.se < plain.se  # the covariate predicts conversion


def test_coverage_of_itt_wald_ghost_and_over_credit():
    """200 simulated holdouts with known effects: 95% intervals cover the truth 91–99% of the time."""
    names = ["ITT lift (absolute)", "effect on exposed (Wald)", "effect on exposed (ghost)",
             "attribution over-credit (attributed / incremental)"]
    hits = {n: 0 for n in names}
    runs = 200
    for seed in range(runs):
        h = simulate_holdout(n_units=20_000, holdout_share=0.5, exposure_rate=0.3, effect_on_exposed=0.03, seed=seed)
        r = analyze_holdout(h.units, attributed_col="attributed")
        # E[attributed per treated unit] = exposure rate × (1.6 × base + effect); ITT = effect × exposure rate
        truths = [h.true_itt, 0.03, 0.03, (0.3 * (1.6 * 0.05 + 0.03)) / h.true_itt]
        for n, truth in zip(names, truths, strict=True):
            hits[n] += r[n].ci_low <= truth <= r[n].ci_high
    for n in names:
        assert 0.91 <= hits[n] / runs <= 0.99, (n, hits[n] / runs)


def test_ghost_interval_is_narrower_than_wald_when_exposure_is_low():
    ratios = []
    for seed in range(20):
        h = simulate_holdout(n_units=50_000, exposure_rate=0.1, seed=seed)
        r = analyze_holdout(h.units)
        ratios.append(r["effect on exposed (ghost)"].se / r["effect on exposed (Wald)"].se)
    assert max(ratios) < 1.0


def test_holdout_leak_is_an_error_with_counts(tiny):
    tiny.loc[7, "exposed"] = 1
    with pytest.raises(DataValidationError) as err:
        analyze_holdout(tiny)
    assert "1 holdout units are recorded as exposed" in str(err.value) and "'u7'" in str(err.value)
    r = analyze_holdout(tiny, allow_holdout_exposure=True)
    assert r.counts["holdout_exposed"] == 1
    # two-sided non-compliance: exposure difference 0.5 - 0.25
    assert r["effect on exposed (Wald)"].value == pytest.approx(0.25 / 0.25)


def test_no_exposure_variation(tiny):
    tiny["exposed"] = 0
    with pytest.raises(EstimationError, match="not identified"):
        analyze_holdout(tiny)


def test_attributed_above_conversions(tiny):
    tiny.loc[1, "attributed"] = 1
    with pytest.raises(DataValidationError) as err:
        analyze_holdout(tiny, attributed_col="attributed")
    assert "1 units have more attributed conversions than conversions" in str(err.value) and "'u1'" in str(err.value)


def test_unknown_group_and_missing_outcomes(tiny):
    tiny.loc[0, "group"] = "control"
    with pytest.raises(DataValidationError, match="unknown group"):
        analyze_holdout(tiny)
    tiny.loc[0, "group"] = "treated"
    tiny["converted"] = tiny["converted"].astype(float)
    tiny.loc[5, "converted"] = np.nan
    r = analyze_holdout(tiny)
    assert r.counts["missing_outcome"] == 1 and r.counts["used"] == 9
    assert "not counted as 0" in r.warnings[0]


def test_planning_matches_statsmodels_power():
    n, h, e, p = 400_000, 0.2, 0.3, 0.04
    mde = holdout_mde(n, h, e, p)
    sd = np.sqrt(p * (1 - p))
    power = NormalIndPower().power(effect_size=mde["mde_itt_absolute"] / sd, nobs1=n * h, ratio=(1 - h) / h,
                                   alpha=0.05)
    assert power == pytest.approx(0.8, abs=1e-3)
    assert mde["mde_exposed_absolute"] == pytest.approx(mde["mde_itt_absolute"] / e)
    needed = holdout_units_needed(mde["mde_exposed_absolute"], h, e, p)
    assert abs(needed - n) <= 1


def test_readout_repr_frame_html(tiny):
    r = analyze_holdout(tiny)
    assert "ITT lift" in repr(r) and "Exclusion" in r._repr_html_()
    assert {"name", "value", "ci_low", "ci_high"} <= set(r.to_frame().columns)


@pytest.mark.slow
@pytest.mark.parametrize("exposure_rate", [0.1, 0.5])
def test_coverage_1000_runs(exposure_rate):
    hits = np.zeros(3)
    for seed in range(1000):
        h = simulate_holdout(n_units=20_000, holdout_share=0.3, exposure_rate=exposure_rate, seed=10_000 + seed)
        r = analyze_holdout(h.units, covariates=["pre_conversions"])
        for i, (name, truth) in enumerate([("ITT lift (absolute)", h.true_itt), ("effect on exposed (Wald)", 0.02),
                                           ("effect on exposed (ghost)", 0.02)]):
            hits[i] += r[name].ci_low <= truth <= r[name].ci_high
    assert np.all((hits / 1000 >= 0.935) & (hits / 1000 <= 0.965)), hits / 1000
