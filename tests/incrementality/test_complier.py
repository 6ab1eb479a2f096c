"""Complier effects by segment: equal to a hand-written 2SLS interaction (projection form, HC1 sandwich written
out), to the per-segment Wald ratio with its delta-method variance, and to statsmodels' IV2SLS point estimates;
the heterogeneity chi-square equals the hand computation; bad input is refused or counted."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recsys_causal.errors import DataValidationError, EstimationError
from recsys_causal.incrementality.complier import complier_effects
from recsys_causal.simulate.takeup import simulate_takeup


def experiment(n=6000, seed=11, **kw):
    """A public-style experiment table: unit id, segment, assignment, take-up, outcome, pre-period covariates."""
    return simulate_takeup(n, always_taker_rate=0.1, seed=seed, **kw)


def hand_2sls(y, X, Z):
    """2SLS in projection form, β = (X̂'X̂)⁻¹X̂'y with X̂ = P_Z X, and the HC1 sandwich with the structural
    residuals y − Xβ."""
    Xh = Z @ np.linalg.lstsq(Z, X, rcond=None)[0]
    bread = np.linalg.inv(Xh.T @ Xh)
    beta = bread @ Xh.T @ y
    e = y - X @ beta
    meat = (Xh * e[:, None] ** 2).T @ Xh
    n, k = X.shape
    return beta, bread @ meat @ bread * n / (n - k)


def test_segment_effects_differences_and_chi2_equal_a_hand_written_2sls_interaction():
    u = experiment().units
    r = complier_effects(u, outcome="outcome", takeup="taken_up", assignment="assigned", segment="segment",
                         covariates=["pre_spend", "active"], reference="new")
    levels = sorted(u.segment.unique())
    S = pd.get_dummies(u.segment)[levels].to_numpy(float)
    W = u[["pre_spend", "active"]].to_numpy(float)
    d, z, y = u.taken_up.to_numpy(float), u.assigned.to_numpy(float), u.outcome.to_numpy(float)
    beta, V = hand_2sls(y, np.hstack([S, W, S * d[:, None]]), np.hstack([S, W, S * z[:, None]]))
    b, Vb = beta[-3:], V[-3:, -3:]  # the take-up × segment coefficients
    for i, lv in enumerate(levels):
        e = r.estimates[f"complier effect: {lv}"]
        assert e.value == pytest.approx(b[i], abs=1e-9) and e.se == pytest.approx(np.sqrt(Vb[i, i]), abs=1e-9)
    ref = levels.index("new")
    for i, lv in enumerate(levels):
        if lv != "new":
            e = r.estimates[f"difference: {lv} − new"]
            assert e.value == pytest.approx(b[i] - b[ref], abs=1e-9)
            assert e.se == pytest.approx(np.sqrt(Vb[i, i] + Vb[ref, ref] - 2 * Vb[i, ref]), abs=1e-9)
    R = np.array([[-1.0, 1, 0], [-1, 0, 1]])
    chi2 = float((R @ b) @ np.linalg.solve(R @ Vb @ R.T, R @ b))
    h = r.heterogeneity.iloc[0]
    assert h.chi2 == pytest.approx(chi2, abs=1e-9) and h.df == 2
    assert h.p_value == pytest.approx(stats.chi2.sf(chi2, 2), abs=1e-12)
    # the overall complier effect: 2SLS of y on (1, W, d) instrumented by (1, W, z)
    one = np.ones((len(y), 1))
    beta0, V0 = hand_2sls(y, np.hstack([one, W, d[:, None]]), np.hstack([one, W, z[:, None]]))
    overall = r.estimates["complier effect (all units)"]
    assert overall.value == pytest.approx(beta0[-1], abs=1e-9) and overall.se == pytest.approx(np.sqrt(V0[-1, -1]),
                                                                                                abs=1e-9)


def test_without_covariates_each_segment_is_its_wald_ratio_with_the_delta_method_variance():
    u = experiment(n=3000, seed=4).units
    r = complier_effects(u, outcome="outcome", takeup="taken_up", assignment="assigned", segment="segment")
    n, k = len(u), 2 * u.segment.nunique()
    for lv, g in u.groupby("segment"):
        a, c = g[g.assigned], g[~g.assigned]
        fs = a.taken_up.mean() - c.taken_up.mean()
        wald = (a.outcome.mean() - c.outcome.mean()) / fs
        # delta method with population (1/n) variances of the linearised residual y − β d in each arm
        var = sum(np.var(arm.outcome - wald * arm.taken_up) / len(arm) for arm in (a, c)) / fs ** 2
        e = r.estimates[f"complier effect: {lv}"]
        assert e.value == pytest.approx(wald, abs=1e-9)
        assert e.se == pytest.approx(np.sqrt(var * n / (n - k)), abs=1e-9)  # HC1 = HC0 × n / (n − k)
        row = r.first_stage.set_index("segment").loc[lv]
        assert row.first_stage == pytest.approx(fs, abs=1e-12)


def test_point_estimates_equal_statsmodels_iv2sls():
    from statsmodels.sandbox.regression.gmm import IV2SLS

    u = experiment(n=2000, seed=5).units
    r = complier_effects(u, outcome="outcome", takeup="taken_up", assignment="assigned", segment="segment",
                         covariates=["pre_spend"])
    levels = sorted(u.segment.unique())
    S = pd.get_dummies(u.segment)[levels].to_numpy(float)
    w = u[["pre_spend"]].to_numpy(float)
    d, z = u.taken_up.to_numpy(float)[:, None], u.assigned.to_numpy(float)[:, None]
    res = IV2SLS(u.outcome.to_numpy(float), np.hstack([S, w, S * d]), np.hstack([S, w, S * z])).fit()
    got = [r.estimates[f"complier effect: {lv}"].value for lv in levels]
    np.testing.assert_allclose(got, res.params[-3:], rtol=0, atol=1e-9)


def test_truth_is_inside_the_intervals_and_take_up_as_treatment_is_confounded():
    sim = experiment(n=40_000, seed=8)
    r = complier_effects(sim.units, outcome="outcome", takeup="taken_up", assignment="assigned",
                         segment="segment", covariates=["pre_spend"], alpha=0.001)  # 4 checks, each fails 0.1%
    for lv, truth in sim.true_segment_effects.items():
        e = r.estimates[f"complier effect: {lv}"]
        assert e.ci_low < truth < e.ci_high
    u = sim.units
    naive = u[u.taken_up].outcome.mean() - u[~u.taken_up].outcome.mean()
    overall = r.estimates["complier effect (all units)"]
    assert overall.ci_low < sim.true_complier_effect < overall.ci_high < naive  # takers differ anyway


def test_counts_reconcile_and_bad_input_is_refused():
    u = experiment(n=1000, seed=1).units.copy()
    u.loc[:4, "outcome"] = np.nan
    u.loc[5:6, "segment"] = None
    r = complier_effects(u, outcome="outcome", takeup="taken_up", assignment="assigned", segment="segment")
    c = r.counts
    assert (c["missing_outcome"], c["missing_segment"]) == (5, 2)
    assert c["rows_read"] == c["used"] + c["missing_outcome"] + c["missing_takeup"] + c["missing_segment"]
    assert any("missing outcome excluded" in w for w in r.warnings)
    nullable = u.assign(taken_up=u.taken_up.astype("boolean").mask(u.index.isin([10, 11, 12])))
    m = complier_effects(nullable, outcome="outcome", takeup="taken_up", assignment="assigned")
    assert m.counts["missing_takeup"] == 3 and m.counts["used"] == 1000 - 5 - 3
    text = u.assign(taken_up=u.taken_up.map({True: "yes", False: "no"}))
    with pytest.raises(DataValidationError, match="taken_up values that are not 0/1"):
        complier_effects(text, outcome="outcome", takeup="taken_up", assignment="assigned")
    bad = u.assign(assigned=u.assigned.astype(int).where(u.index != 9, 2))
    with pytest.raises(DataValidationError, match=r"assigned.*u9") as err:
        complier_effects(bad, outcome="outcome", takeup="taken_up", assignment="assigned")
    assert err.value.column == "assigned" and err.value.count == 1
    grp = u.assign(group=np.where(u.assigned, "treated", "holdout"))
    by_label = complier_effects(grp, outcome="outcome", takeup="taken_up", assignment="group",
                                labels=("treated", "holdout"))
    plain = complier_effects(u, outcome="outcome", takeup="taken_up", assignment="assigned")
    assert by_label.estimates[0].value == pytest.approx(plain.estimates[0].value, abs=1e-12)
    assert plain.counts["used"] == 995  # without a segment only the missing outcomes are excluded
    none = u.assign(taken_up=False)
    with pytest.raises(EstimationError, match="singular first stage"):
        complier_effects(none, outcome="outcome", takeup="taken_up", assignment="assigned")


def test_weak_first_stage_is_warned():
    sim = simulate_takeup(3000, takeup=((0.02, 0.02), (0.4, 0.7), (0.5, 0.8)), seed=2)
    r = complier_effects(sim.units, outcome="outcome", takeup="taken_up", assignment="assigned", segment="segment")
    assert any("weak first stage" in w and "new" in w for w in r.warnings)
    assert r.first_stage.set_index("segment").loc["new", "F"] < 10


def test_simulator_truth_by_hand_and_by_the_compliers_themselves():
    """Defaults: P(complier | segment) = 0.45, 0.55, 0.65 and P(active | complier) = 0.3/0.45, 0.35/0.55,
    0.4/0.65; without always-takers the assigned takers are exactly the assigned compliers, whose mean unit
    effect estimates each segment's complier effect (4 standard errors)."""
    sim = simulate_takeup(200_000, seed=9)
    hand = {"new": 0.5 + 0.5 * 0.3 / 0.45, "casual": 1.0 + 0.5 * 0.35 / 0.55, "loyal": 2.0 + 0.5 * 0.4 / 0.65}
    for k, v in hand.items():
        assert sim.true_segment_effects[k] == pytest.approx(v, abs=1e-12)
    weights = {"new": 0.3 * 0.45, "casual": 0.4 * 0.55, "loyal": 0.3 * 0.65}
    overall = sum(weights[k] * hand[k] for k in hand) / sum(weights.values())
    assert sim.true_complier_effect == pytest.approx(overall, abs=1e-12) and sim.complier_share == pytest.approx(0.55)
    u = sim.units
    for k, g in u[u.assigned & u.taken_up].groupby("segment"):
        assert abs(g.true_effect.mean() - hand[k]) < 4 * g.true_effect.std() / np.sqrt(len(g))
