"""Confidence sequences keep the false-positive rate under alpha across 20 peeks; O'Brien–Fleming bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recsys_causal.experiments.sequential import (
    cs_radius,
    cs_rho2,
    cumulative_looks,
    monitoring_table,
    obf_spending,
    obrien_fleming_bounds,
)


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
    tab = monitoring_table(looks["estimate"], looks["se"])
    assert len(tab) == 10
    assert tab["cs_reject"].iloc[-1] and tab["gs_reject"].iloc[-1]
    assert np.all(tab["cs_high"] - tab["cs_low"] >= tab["ci_high"] - tab["ci_low"])
    assert np.all(np.diff(tab["cs_high"] - tab["cs_low"]) <= 1e-12)  # running intersection only shrinks
