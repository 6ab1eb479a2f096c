"""Simulation with known truth: interval coverage of mean, ratio, CUPED and quantile lifts; SRM uniformity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from recsys_causal.experiments.cuped import cuped_lift
from recsys_causal.experiments.means import mean_lift
from recsys_causal.experiments.quantiles import quantile_lift
from recsys_causal.experiments.ratio import linearize, ratio_lift
from recsys_causal.experiments.srm import srm_from_counts
from recsys_causal.simulate.ab import simulate_ab


def _coverage(n_experiments: int, n_units: int, seed0: int) -> dict[str, float]:
    hits: dict[str, list[bool]] = {}

    def hit(key: str, est, truth: float) -> None:
        hits.setdefault(key, []).append(est.ci_low <= truth <= est.ci_high)

    for i in range(n_experiments):
        sim = simulate_ab(n_units=n_units, seed=seed0 + i, latency_shift=0.05)
        u, truth = sim.units, sim.truth["treatment"]
        t = (u["variant"] == "treatment").to_numpy()
        rev = u["revenue"].to_numpy()
        hit("mean_abs", mean_lift(rev[t], rev[~t]), truth["revenue"]["absolute"])
        hit("mean_rel", mean_lift(rev[t], rev[~t], relative=True), truth["revenue"]["relative"])
        clk, imp = u["clicks"].to_numpy(), u["impressions"].to_numpy()
        hit("ratio_abs", ratio_lift(clk[t], imp[t], clk[~t], imp[~t]), truth["ctr"]["absolute"])
        hit("ratio_rel", ratio_lift(clk[t], imp[t], clk[~t], imp[~t], relative=True), truth["ctr"]["relative"])
        hit("cuped_rel", cuped_lift(rev, u["pre_revenue"].to_numpy(), t, relative=True),
            truth["revenue"]["relative"])
        lin = np.empty(len(u))
        lin[t], lin[~t] = linearize(clk[t], imp[t]), linearize(clk[~t], imp[~t])
        x = u[["pre_clicks", "pre_impressions"]].to_numpy()
        hit("cuped_ratio_abs", cuped_lift(lin, x, t), truth["ctr"]["absolute"])
        lat = u["latency_ms"].to_numpy()
        for q in (0.5, 0.95):
            key = f"latency_p{round(100 * q)}"
            hit(f"quantile_p{round(100 * q)}", quantile_lift(lat[t], lat[~t], q=q), truth[key]["absolute"])
    return {k: float(np.mean(v)) for k, v in hits.items()}


def test_interval_coverage_200_experiments():
    cov = _coverage(200, 2000, seed0=1000)
    for key, rate in cov.items():
        assert 0.91 <= rate <= 0.99, (key, rate)


@pytest.mark.slow
def test_interval_coverage_1000_experiments():
    cov = _coverage(1000, 5000, seed0=50_000)
    for key, rate in cov.items():
        assert 0.925 <= rate <= 0.975, (key, rate)


def test_srm_p_values_uniform_under_correct_split():
    rng = np.random.default_rng(7)
    counts = rng.multinomial(10_000, [0.5, 0.3, 0.2], size=500)
    p = np.array([srm_from_counts({"a": c[0], "b": c[1], "c": c[2]}, {"a": 5, "b": 3, "c": 2}).p_value
                  for c in counts])
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert np.mean(p < 0.001) < 0.01


def test_srm_injection_is_flagged():
    from recsys_causal.experiments.srm import srm_test

    sim = simulate_ab(n_units=50_000, srm_drop=0.03, seed=1)
    assert srm_test(sim.units, expected_split={"control": 0.5, "treatment": 0.5}).flagged
    ok = simulate_ab(n_units=50_000, seed=1)
    assert not srm_test(ok.units, expected_split={"control": 0.5, "treatment": 0.5}).flagged


def test_clustered_quantile_coverage_request_level():
    """Request-level latency with user randomisation: clustered intervals cover, naive ones under-cover."""
    from recsys_causal.simulate.ab import simulate_ab_log

    clustered, naive = [], []
    for i in range(200):
        req, _, truth = simulate_ab_log(n_users=600, latency_shift=0.05, user_latency_sd=0.45, slate_size=1,
                                        seed=7000 + i)
        lat = req["latency_ms"].to_numpy()
        users = req["user_id"].to_numpy()
        t = (req["variant"] == "treatment").to_numpy()
        target = truth["latency_p50"]["absolute"]
        e = quantile_lift(lat[t], lat[~t], q=0.5, clusters_treatment=users[t], clusters_control=users[~t])
        clustered.append(e.ci_low <= target <= e.ci_high)
        e0 = quantile_lift(lat[t], lat[~t], q=0.5)
        naive.append(e0.ci_low <= target <= e0.ci_high)
    assert 0.91 <= np.mean(clustered) <= 0.99
    assert np.mean(naive) < np.mean(clustered) - 0.1
