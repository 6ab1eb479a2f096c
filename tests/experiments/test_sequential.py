"""Confidence sequences keep the false-positive rate under alpha across 20 peeks and across 200 looks with the
table rebuilt at every look (tuned to a plan fixed in advance); O'Brien–Fleming bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recsys_causal.errors import ConfigError
from recsys_causal.experiments.sequential import (
    MonitoringPlan,
    cs_radius,
    cs_rho2,
    cs_z_boundary,
    cumulative_looks,
    monitoring_table,
    obf_spending,
    obrien_fleming_bounds,
)
from recsys_causal.simulate.monitoring import simulate_aa_looks


def _null_paths(n_sims: int, looks: int, per_look: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative Welch estimates and standard errors at each look, vectorised over experiments."""
    rng = np.random.default_rng(seed)
    yt = rng.exponential(1.0, (n_sims, looks, per_look))  # skewed, same mean in both arms (null true)
    yc = rng.exponential(1.0, (n_sims, looks, per_look))
    n = per_look * np.arange(1, looks + 1)

    def cum(y):
        s1 = np.cumsum(y.sum(2), axis=1)
        s2 = np.cumsum((y**2).sum(2), axis=1)
        m = s1 / n
        return m, (s2 - n * m**2) / (n - 1) / n

    mt, vt = cum(yt)
    mc, vc = cum(yc)
    return mt - mc, np.sqrt(vt + vc)


def test_confidence_sequence_controls_error_under_20_peeks_where_fixed_tests_do_not():
    est, se = _null_paths(2000, 20, 100, seed=0)
    alpha = 0.05
    rho2 = cs_rho2(1 / se[:, -1:] ** 2, alpha)
    rad = cs_radius(se, alpha=alpha, rho2=rho2)
    cs_fp = np.mean(np.any(np.abs(est) > rad, axis=1))
    fixed_fp = np.mean(np.any(np.abs(est / se) > stats.norm.ppf(1 - alpha / 2), axis=1))
    assert cs_fp <= alpha
    assert fixed_fp > 2 * alpha  # peeking with fixed-horizon tests inflates the error (about 0.2-0.25 here)
    bounds = obrien_fleming_bounds(np.arange(1, 21) / 20, alpha)
    gs_fp = np.mean(np.any(np.abs(est / se) > bounds, axis=1))
    assert gs_fp <= alpha + 0.015


def test_cs_radius_hand_worked():
    # I = 1/se^2 = 100, rho^2 = 0.01 -> v = 2: radius = sqrt(2 log(2/alpha^2)) / (100 * 0.1)
    r = cs_radius(0.1, alpha=0.05, rho2=0.01)
    assert r == pytest.approx(np.sqrt(2 * np.log(2 / 0.05**2)) / 10)
    assert r > 1.96 * 0.1  # wider than the fixed-horizon interval


def test_obf_bounds_match_published_values():
    # Lan–DeMets O'Brien–Fleming, 4 equally spaced looks, two-sided alpha 0.05 (gsDesign / ldbounds)
    b = obrien_fleming_bounds([0.25, 0.5, 0.75, 1.0], alpha=0.05)
    assert b == pytest.approx([4.3326, 2.9631, 2.3590, 2.0141], abs=2e-3)
    # one look: the fixed-horizon critical value; spending reaches alpha at t = 1
    assert obrien_fleming_bounds([1.0])[0] == pytest.approx(1.95996, abs=1e-4)
    assert obf_spending(1.0) == pytest.approx(0.05)


def test_group_sequential_spends_alpha_exactly_by_simulation():
    rng = np.random.default_rng(1)
    t = np.array([0.2, 0.4, 0.6, 0.8, 1.0])
    incr = rng.normal(0, 1, (200_000, 5)) * np.sqrt(np.diff(np.r_[0, t]))
    z = np.cumsum(incr, axis=1) / np.sqrt(t)
    rate = np.mean(np.any(np.abs(z) > obrien_fleming_bounds(t), axis=1))
    assert rate == pytest.approx(0.05, abs=0.003)


def test_monitoring_table_and_cumulative_looks():
    rng = np.random.default_rng(2)
    n = 20_000
    df = pd.DataFrame({"variant": np.where(rng.random(n) < 0.5, "treatment", "control"),
                       "t": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 20, n), unit="D")})
    df["y"] = rng.normal(0, 1, n) + 0.1 * (df["variant"] == "treatment")
    looks = cumulative_looks(df, metric="y", time_col="t", n_looks=10)
    last = looks.iloc[-1]
    t = df.loc[df.variant == "treatment", "y"]
    c = df.loc[df.variant == "control", "y"]
    assert last["estimate"] == pytest.approx(t.mean() - c.mean())
    assert last["se"] == pytest.approx(np.sqrt(t.var() / t.size + c.var() / c.size))
    n_looks = looks["n_treatment"] + looks["n_control"]
    tab = monitoring_table(looks["estimate"], looks["se"], plan=MonitoringPlan(planned_n=n), n=n_looks)
    assert tab["information_fraction"].iloc[-1] == pytest.approx(1.0)
    assert tab.attrs["warnings"] == []
    assert len(tab) == 10
    assert tab["cs_reject"].iloc[-1] and tab["gs_reject"].iloc[-1]
    assert np.all(tab["cs_high"] - tab["cs_low"] >= tab["ci_high"] - tab["ci_low"])
    assert np.all(np.diff(tab["cs_high"] - tab["cs_low"]) <= 1e-12)  # running intersection only shrinks


def _howard_radius(se: np.ndarray, planned_info: np.ndarray, alpha: float) -> np.ndarray:
    """Normal-mixture boundary of Howard et al. (2021), written out: I = 1/se^2, rho^2 tuned at I*."""
    la = -2 * np.log(alpha)
    rho2 = (la + np.log(la + 1)) / planned_info
    info = 1 / se**2
    return np.sqrt((info * rho2 + 1) / (info**2 * rho2) * np.log((info * rho2 + 1) / alpha**2))


def test_monitoring_table_refuses_without_a_plan():
    with pytest.raises(ConfigError, match="MonitoringPlan"):
        monitoring_table([0.5, 0.4], [0.3, 0.2])
    tab = monitoring_table([0.5, 0.4], [0.3, 0.2], retrospective=True)
    assert "retrospective" in tab.attrs["warnings"][0] and tab.attrs["plan"] is None
    with pytest.raises(ConfigError, match="exactly one"):
        MonitoringPlan()
    with pytest.raises(ConfigError, match="exactly one"):
        MonitoringPlan(planned_n=100, final_se=0.1)
    for bad in (0, -5, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="positive finite"):
            MonitoringPlan(planned_n=bad)
    with pytest.raises(ConfigError, match="alpha"):
        MonitoringPlan(planned_n=100, alpha=1.5)
    with pytest.raises(ConfigError, match="units at each look"):
        monitoring_table([0.5, 0.4], [0.3, 0.2], plan=MonitoringPlan(planned_n=100))
    with pytest.raises(ConfigError, match="alpha"):
        monitoring_table([0.5], [0.3], plan=MonitoringPlan(final_se=0.1), alpha=0.1)
    # target_se is shorthand for a plan by final standard error
    a = monitoring_table([0.5, 0.4], [0.3, 0.2], target_se=0.1)
    b = monitoring_table([0.5, 0.4], [0.3, 0.2], plan=MonitoringPlan(final_se=0.1))
    pd.testing.assert_frame_equal(a, b)


def test_rebuilt_tables_are_prefixes_of_the_final_table_and_match_howard():
    """Tuned to a plan, the table rebuilt at look k equals the first k rows of the final table (CS and
    group-sequential columns), and the CS radius is Howard et al.'s normal-mixture boundary."""
    z, se, n = simulate_aa_looks(2, 200, 3, seed=9)
    plan = MonitoringPlan(planned_n=n[-1])
    for i in range(2):
        final = monitoring_table(z[i] * se[i], se[i], plan=plan, n=n, group_sequential=False)
        # planned information at look k: the per-unit variance seen at k, scaled to the planned sample size
        radius = _howard_radius(se[i], planned_info=n[-1] / n / se[i] ** 2, alpha=0.05)
        np.testing.assert_allclose(final["cs_high"].to_numpy()[:1] - final["estimate"].to_numpy()[:1],
                                   radius[:1], rtol=1e-12)
        np.testing.assert_allclose(cs_z_boundary(n / n[-1]) * se[i], radius, rtol=1e-12)
        for k in range(1, 201):
            part = monitoring_table(z[i, :k] * se[i, :k], se[i, :k], plan=plan, n=n[:k], group_sequential=False)
            cols = ["cs_low", "cs_high", "cs_reject", "information_fraction"]
            pd.testing.assert_frame_equal(part[cols], final[cols].iloc[:k])
    small = np.arange(1, 21) * 30
    gs_final = monitoring_table(z[0, :20] * se[0, :20], se[0, :20], plan=MonitoringPlan(planned_n=600), n=small)
    for k in (3, 10, 19):
        part = monitoring_table(z[0, :k] * se[0, :k], se[0, :k], plan=MonitoringPlan(planned_n=600), n=small[:k])
        np.testing.assert_allclose(part["gs_bound"], gs_final["gs_bound"].iloc[:k], rtol=1e-12)
    np.testing.assert_allclose(gs_final["gs_bound"], obrien_fleming_bounds(small / 600), rtol=1e-12)


def test_confidence_sequence_rebuilt_at_each_of_200_looks_controls_false_positives():
    """2,000 A/A experiments, 3 new units per arm at each of 200 looks, the table rebuilt at every look. With the
    plan fixed in advance a rebuilt table is a prefix of the final one (previous test), so the experiment ever
    rejects iff some look crosses the planned boundary: at most alpha + 2 MC SE (5.97%). Tuned to each rebuild's
    last look (``retrospective=True``, the old default) the same experiments reject far more often."""
    runs, looks = 2000, 200
    z, se, n = simulate_aa_looks(runs, looks, 3, seed=2024)
    limit = 0.05 + 2 * np.sqrt(0.05 * 0.95 / runs)
    plan = MonitoringPlan(planned_n=n[-1])
    planned = np.any(np.abs(z) * se > _howard_radius(se, n[-1] / n / se**2, 0.05), axis=1)
    np.testing.assert_array_equal(planned, np.any(np.abs(z) > cs_z_boundary(plan.fractions(se, n)), axis=1))
    assert planned.mean() <= limit, planned.mean()
    # the old default, rebuilt at look k: tuned to se_k, fractions (se_k / se_j)^2 for j <= k
    old = np.zeros(runs, dtype=bool)
    for k in range(looks):
        old |= np.any(np.abs(z[:, : k + 1]) > cs_z_boundary((se[:, k : k + 1] / se[:, : k + 1]) ** 2), axis=1)
    assert old.mean() > limit, old.mean()
    # the vectorised old rule is what monitoring_table(retrospective=True) gives when rebuilt at every look
    for i in (*np.flatnonzero(old)[:2], np.flatnonzero(~old)[0]):
        ever = any(monitoring_table(z[i, :k] * se[i, :k], se[i, :k], retrospective=True,
                                    group_sequential=False)["cs_reject"].iloc[-1] for k in range(1, looks + 1))
        assert ever == old[i]
