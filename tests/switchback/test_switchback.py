"""Switchback analysis against hand-worked cases, statsmodels, and simulations with known effect and carryover."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from recsys_causal.simulate import simulate_switchback
from recsys_causal.switchback import (
    ScheduleError,
    SwitchbackDesign,
    aggregate_events,
    analyze_switchback,
    design_based_estimate,
    make_schedule,
    minimax_coins,
    randomization_test,
    regression_estimate,
    validate_schedule,
)
from recsys_causal.switchback.schedule import draw_assignments, window_probabilities

BERN = SwitchbackDesign()


def blocks_of(sb, burn_in=0.0, design=BERN):
    return aggregate_events(sb.events, validate_schedule(sb.schedule, design), burn_in_minutes=burn_in)[0]


def tiny_blocks(treated, y):
    sched = make_schedule(1, len(treated), seed=0)
    sched["treated"] = treated
    sched["y"] = y
    return sched


def test_hand_worked_design_based_estimates():
    w = [True, False, True, True, False, False]
    y = [5.0, 1.0, 4.0, 6.0, 2.0, 3.0]
    b = tiny_blocks(w, y)
    # m = 0: Hajek = mean(5, 4, 6) - mean(1, 2, 3); HT = mean over t of y/0.5 (treated) or -y/0.5 (control)
    assert design_based_estimate(b, BERN, 0).value == pytest.approx(5.0 - 2.0)
    assert design_based_estimate(b, BERN, 0, normalized=False).value == pytest.approx(
        (2 * 5 - 2 * 1 + 2 * 4 + 2 * 6 - 2 * 2 - 2 * 3) / 6)
    # m = 1: periods 1..5; all-treated windows end at t=3 (blocks 2,3); all-control at t=5 (blocks 4,5)
    # window probabilities 0.25 each -> Hajek = 6 - 3; HT = (6/0.25 - 3/0.25) / 5
    assert design_based_estimate(b, BERN, 1).value == pytest.approx(6.0 - 3.0)
    assert design_based_estimate(b, BERN, 1, normalized=False).value == pytest.approx((24 - 12) / 5)


def test_window_probabilities_are_exact_for_each_design():
    """Empirical frequencies of all-treated windows under redraws match the exact probabilities."""
    rng = np.random.default_rng(0)
    for design in (SwitchbackDesign("bernoulli", p=0.3), SwitchbackDesign("balanced", p=0.5),
                   SwitchbackDesign("minimax", carryover_order=2)):
        sched = make_schedule(2, 12, design=design, seed=1)
        p1, p0 = window_probabilities(sched, design, 2)
        draws = draw_assignments(sched, design, 40_000, rng)
        from recsys_causal.switchback.estimators import window_indicators

        a1, a0, elig = window_indicators(draws, sched["period"].to_numpy(), 2)
        np.testing.assert_allclose(a1.mean(axis=0)[elig], p1[elig], atol=4 * np.sqrt(0.25 / 40_000))
        np.testing.assert_allclose(a0.mean(axis=0)[elig], p0[elig], atol=4 * np.sqrt(0.25 / 40_000))
        if design.kind == "balanced":
            assert (draws[:, :12].sum(axis=1) == 6).all()


def test_minimax_randomisation_points():
    # T = 12, m = 3: n = 4, points {1, 7}; T = 15: n = 5, points {1, 7, 10}
    assert minimax_coins(12, 3).tolist() == [0] * 6 + [1] * 6
    assert minimax_coins(15, 3).tolist() == [0] * 6 + [1] * 3 + [2] * 6


def test_burn_in_exclusion_hand_worked():
    sched = make_schedule(1, 3, seed=0)
    sched["treated"] = [False, True, True]  # a switch at block 1 only
    start = sched["block_start"]
    events = pd.DataFrame({
        "cluster": "region_0",
        "event_time": [start[0] + pd.Timedelta(minutes=2), start[1] + pd.Timedelta(minutes=2),
                       start[1] + pd.Timedelta(minutes=20), start[2] + pd.Timedelta(minutes=2),
                       start[2] + pd.Timedelta(hours=5)],
        "value": [1.0, 100.0, 3.0, 4.0, 9.0],
    })
    blocks, counts = aggregate_events(events, sched, burn_in_minutes=10)
    assert counts == {"read": 5, "used": 3, "burn_in": 1, "outside_schedule": 1, "missing_value": 0}
    assert blocks["y"].tolist() == [1.0, 3.0, 4.0]


def test_regression_agrees_with_statsmodels_cluster_robust_ols():
    sb = simulate_switchback(n_clusters=3, n_blocks=72, direct_effect=0.4, carryover_effect=0.2, seed=8)
    blocks = blocks_of(sb)
    est, _ = regression_estimate(blocks, lags=1)
    # independent construction of the same model: dummies by hand, clusters = runs of equal assignment
    d = blocks.sort_values(["cluster", "period"]).reset_index(drop=True)
    d["lag"] = d.groupby("cluster")["treated"].shift(1)
    run = (d["treated"] != d.groupby("cluster")["treated"].shift(1)) | (d["period"] == 0)
    d["run"] = run.cumsum()
    d = d[d["period"] >= 1]
    hours = pd.get_dummies(pd.DatetimeIndex(d["block_start"]).hour, prefix="h", drop_first=True).to_numpy(float)
    days = pd.get_dummies(pd.DatetimeIndex(d["block_start"]).day_of_week, prefix="d", drop_first=True).to_numpy(float)
    clus = pd.get_dummies(d["cluster"], drop_first=True).to_numpy(float)
    X = np.column_stack([np.ones(len(d)), d["treated"].astype(float), d["lag"].astype(float), hours, days, clus])
    fit = sm.OLS(d["y"].to_numpy(), X).fit(cov_type="cluster", cov_kwds={"groups": d["run"].to_numpy()})
    c = np.zeros(X.shape[1])
    c[[1, 2]] = 1
    assert est.value == pytest.approx(fit.params[1] + fit.params[2], rel=1e-9)
    assert est.se == pytest.approx(float(np.sqrt(c @ fit.cov_params() @ c)), rel=1e-9)


def test_m_aware_estimators_recover_truth_and_naive_ones_are_biased():
    runs, truth = 400, 0.3 + 0.4
    est = {k: [] for k in ("hajek m0", "hajek m1", "reg 0", "reg 1")}
    hits = dict.fromkeys(est, 0)
    for s in range(runs):
        sb = simulate_switchback(n_clusters=3, n_blocks=96, direct_effect=0.3, carryover_effect=0.4, seed=100 + s)
        b = blocks_of(sb)
        for k, e in (("hajek m0", design_based_estimate(b, BERN, 0)), ("hajek m1", design_based_estimate(b, BERN, 1)),
                     ("reg 0", regression_estimate(b, 0)[0]), ("reg 1", regression_estimate(b, 1)[0])):
            est[k].append(e.value)
            hits[k] += e.ci_low <= truth <= e.ci_high
    for k in ("hajek m1", "reg 1"):
        v = np.array(est[k])
        assert abs(v.mean() - truth) < 3 * v.std(ddof=1) / np.sqrt(runs), k
        assert 0.91 <= hits[k] / runs <= 0.99, (k, hits[k] / runs)
    for k in ("hajek m0", "reg 0"):  # ignore carryover: biased towards the direct effect
        v = np.array(est[k])
        assert v.mean() - truth < -10 * v.std(ddof=1) / np.sqrt(runs), k


def test_randomization_p_values_uniform_under_null_and_interval_coverage():
    ps, hits = [], 0
    for s in range(200):
        sb = simulate_switchback(n_clusters=2, n_blocks=72, direct_effect=0.0, seed=900 + s)
        r = randomization_test(blocks_of(sb), BERN, n_draws=1000, seed=s)
        ps.append(r.p_value)
        hits += r.ci_low <= 0.0 <= r.ci_high
    assert stats.kstest(ps, "uniform").pvalue > 0.01
    assert 0.91 <= hits / 200 <= 0.99


def test_schedule_errors():
    sched = make_schedule(2, 6, seed=0)
    overlap = sched.copy()
    overlap.loc[1, "block_start"] -= pd.Timedelta(minutes=10)
    with pytest.raises(ScheduleError, match="1 blocks overlap"):
        validate_schedule(overlap, BERN)
    gap = sched.drop(index=2)
    with pytest.raises(ScheduleError, match="gap") as err:
        validate_schedule(gap, BERN)
    assert "region_0@" in str(err.value)
    unbalanced = sched.copy()
    unbalanced["treated"] = [True] * 5 + [False] + [True, False] * 3
    with pytest.raises(ScheduleError, match="round"):
        validate_schedule(unbalanced, SwitchbackDesign("balanced"))
    mm = make_schedule(1, 12, design=SwitchbackDesign("minimax", carryover_order=3), seed=0)
    mm.loc[0, "treated"] = not mm.loc[1, "treated"]
    with pytest.raises(ScheduleError, match="minimax"):
        validate_schedule(mm, SwitchbackDesign("minimax", carryover_order=3))
    declared = sched.assign(p_treat=0.3)
    with pytest.raises(ScheduleError, match="p_treat"):
        validate_schedule(declared, BERN)


def test_block_without_outcomes_is_an_error():
    sb = simulate_switchback(n_clusters=2, n_blocks=12, seed=0)
    first = sb.schedule["block_start"].iloc[3]
    events = sb.events[~((sb.events["cluster"] == "region_0") & (sb.events["event_time"] >= first)
                         & (sb.events["event_time"] < first + pd.Timedelta(hours=1)))]
    with pytest.raises(ScheduleError, match="1 blocks have no outcome events"):
        analyze_switchback(sb.schedule, events, n_draws=100)


def test_readout_end_to_end():
    sb = simulate_switchback(n_clusters=3, n_blocks=96, direct_effect=0.5, carryover_effect=0.2, seed=2)
    r = analyze_switchback(sb.schedule, sb.events, carryover_order=1, burn_in_minutes=5, n_draws=2000)
    c = r.counts
    assert c["read"] == c["used"] + c["burn_in"] + c["outside_schedule"] + c["missing_value"] and c["burn_in"] > 0
    assert len(r.carryover) == 6 and "randomization test" in repr(r)
    # the randomization statistic is the m-aware Hajek estimate itself
    assert r.randomization.statistic == pytest.approx(r.estimates[0].value, rel=1e-12)
    assert {"name", "value", "ci_low"} <= set(r.to_frame().columns) and "<table" in r._repr_html_()


def test_m0_single_cluster_hajek_is_welch():
    rng = np.random.default_rng(3)
    w = rng.random(40) < 0.5
    y = rng.normal(size=40) + w
    e = design_based_estimate(tiny_blocks(w, y), BERN, 0)
    welch = stats.ttest_ind(y[w], y[~w], equal_var=False)
    assert e.value == pytest.approx(y[w].mean() - y[~w].mean())
    assert e.value / e.se == pytest.approx(welch.statistic, rel=1e-12)


@pytest.mark.slow
def test_coverage_1000_runs():
    truth, hits = 0.7, np.zeros(2)
    for s in range(1000):
        sb = simulate_switchback(n_clusters=3, n_blocks=96, direct_effect=0.3, carryover_effect=0.4, seed=20_000 + s)
        b = blocks_of(sb)
        for i, e in enumerate((design_based_estimate(b, BERN, 1), regression_estimate(b, 1)[0])):
            hits[i] += e.ci_low <= truth <= e.ci_high
    # measured: Hajek m=1 93.6% with the small-sample corrected variance and t reference (92.8% before it),
    # regression with one lag 93.7%; on 2,000 further seeds Hajek covers 95.6% (see docs/switchback.md)
    assert np.all((hits / 1000 >= 0.92) & (hits / 1000 <= 0.97)), hits / 1000


def test_ratio_metric_and_guardrails():
    from recsys_causal.switchback import SwitchbackGuardrail

    sb = simulate_switchback(n_clusters=4, n_blocks=168, direct_effect=0.5, seed=12)
    ev = sb.events.copy()
    rng = np.random.default_rng(0)
    ev["impressions"] = rng.integers(1, 4, len(ev)).astype(float)
    ev["clicks"] = ev["value"] * ev["impressions"]  # per-impression value: the ratio equals the mean of value
    ev["latency"] = 100 + rng.normal(0, 5, len(ev))  # untouched by the treatment
    sched = validate_schedule(sb.schedule, BERN)
    blocks, _ = aggregate_events(ev, sched, value_col="clicks", aggregate="ratio", denominator_col="impressions")
    by_hand = ev.assign(block_start=ev["event_time"].dt.floor("60min")).groupby(["cluster", "block_start"])
    expected = (by_hand["clicks"].sum() / by_hand["impressions"].sum()).to_numpy()
    np.testing.assert_allclose(blocks["y"].to_numpy(), expected, rtol=1e-12)
    r = analyze_switchback(sb.schedule, ev, value_col="clicks", aggregate="ratio", denominator_col="impressions",
                           guardrails=[SwitchbackGuardrail("latency", "increase_is_bad", margin=2.0),
                                       SwitchbackGuardrail("value", "decrease_is_bad", margin=0.0),
                                       SwitchbackGuardrail("value", "increase_is_bad", margin=0.1)], n_draws=500)
    assert r.estimates[0].ci_low < 0.5 < r.estimates[0].ci_high
    verdicts = [g.details["verdict"] for g in r.guardrails]
    assert verdicts == ["ok", "ok", "violated"]
