"""Small-sample switchback intervals: the overlap variance, its correction and degrees of freedom against hand-worked
values, dense linear algebra and scipy's Welch test, and coverage of short minimax designs in simulation."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recsys_causal.simulate.switchback import switchback_block_outcomes
from recsys_causal.switchback import SwitchbackDesign, design_based_estimate, make_schedule
from recsys_causal.switchback.schedule import draw_assignments
from recsys_causal.switchback.variance import arm_terms, overlap_masks

BERN = SwitchbackDesign()


def tiny(treated, y):
    sched = make_schedule(1, len(treated), seed=0)
    return sched.assign(treated=np.asarray(treated, bool), y=np.asarray(y, float))


def test_hand_worked_hajek_variance_and_df():
    # m = 1, Bernoulli(1/2): windows (t-1, t) for t = 1..9, each all-treated or all-control with probability 1/4
    b = tiny([1, 1, 1, 0, 0, 0, 1, 1, 0, 0], [5, 6, 4, 1, 2, 3, 7, 9, 1, 2])
    e = design_based_estimate(b, BERN, 1)
    # all-treated windows end at t = 1, 2, 7 (y = 6, 4, 9); all-control at t = 4, 5, 9 (y = 2, 3, 2); weights 4.
    # Windows t and t+1 share a block, so {1, 2} and {4, 5} are dependent pairs.
    # Treated: mean 19/3, residuals (-1/3, -7/3, 8/3) x 4; V = (-32/3)^2 + (32/3)^2 = 2048/9.
    #   correction tr(D)/tr(QᵀMQD) = 3 / (3 - 1ᵀM1/3) = 3 / (3 - 5/3) = 9/4; contribution 9/4 * V / 12^2 = 32/9.
    #   QᵀMQ = (2/9) v vᵀ with v = (1, 1, -2): rank one, so 1 degree of freedom.
    # Control: mean 7/3, residuals (-1/3, 2/3, -1/3) x 4; V = (4/3)^2 + (4/3)^2 = 32/9; contribution 1/18; 1 df.
    var = 32 / 9 + 1 / 18
    df = var**2 / ((32 / 9) ** 2 + (1 / 18) ** 2)  # Welch–Satterthwaite = 4225/4097
    assert e.value == pytest.approx(4.0)
    assert e.se == pytest.approx(np.sqrt(65 / 18), rel=1e-12)
    assert e.details["df"] == pytest.approx(4225 / 4097, rel=1e-12)
    q = stats.t(df).ppf(0.975)
    assert (e.ci_low, e.ci_high) == pytest.approx((4 - q * np.sqrt(var), 4 + q * np.sqrt(var)), rel=1e-12)
    assert e.details["reference"] == "student_t" and "Student t with 1.0 df" in e.method
    assert (e.details["windows_treated"], e.details["windows_control"]) == (3, 3)


def test_hand_worked_ht_variance_against_dense_matrices():
    y = np.array([5, 6, 4, 1, 2, 3, 7, 9, 1, 2], float)
    w = np.array([1, 1, 1, 0, 0, 0, 1, 1, 0, 0], bool)
    e = design_based_estimate(tiny(w, y), BERN, 1, normalized=False)
    # contributions on the 9 complete windows: +4y (all treated), -4y (all control), 0 (mixed)
    phi = np.array([24, 16, 0, -8, -12, 0, 36, 0, -8], float)
    assert e.value == pytest.approx(phi.mean())
    n = 9
    M = (np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1).astype(float)  # windows sharing a block
    Q = np.eye(n) - np.ones((n, n)) / n
    A = Q @ M @ Q
    x = phi - phi.mean()
    assert np.trace(A) == pytest.approx(n - 25 / n)  # 1ᵀM1 = 9 + 2·8 = 25
    var = (n / np.trace(A)) * (x @ M @ x) / n**2
    assert e.se == pytest.approx(np.sqrt(var), rel=1e-12)
    assert e.details["df"] == pytest.approx(np.trace(A) ** 2 / np.trace(A @ A), rel=1e-12)


def test_variance_terms_match_dense_algebra_on_a_minimax_design():
    """Closed-form sums against dense Q, M, D built from the coin sets of each window (two clusters, m = 2)."""
    design = SwitchbackDesign("minimax", carryover_order=2)
    s = make_schedule(2, 20, design=design, seed=3)
    m, rng = 2, np.random.default_rng(0)
    codes = pd.factorize(s["cluster"])[0]
    coin, period = s["coin"].to_numpy(), s["period"].to_numpy()
    masks = overlap_masks(coin, period, codes, m, max_lag=6)
    arm = (period >= m) & (rng.random(len(s)) < 0.6)
    w = np.where(arm, rng.choice([2.0, 4.0], len(s)), 0.0)
    z = np.where(arm, rng.normal(size=len(s)), 0.0)
    got = arm_terms(w, z, masks, np.eye(2)[codes])
    for c in (0, 1):
        idx = np.nonzero(arm & (codes == c))[0]
        sets = [set(coin[t - m:t + 1]) for t in idx]
        M = np.array([[float(bool(a & b)) for b in sets] for a in sets])
        wc, S = w[idx], w[idx].sum()
        Q = np.eye(idx.size) - np.outer(wc, np.ones(idx.size)) / S
        AD = Q.T @ M @ Q @ np.diag(wc**2)
        r = z[idx]
        assert got["V"][c] == pytest.approx(r @ M @ r, rel=1e-10)
        assert got["trAD"][c] == pytest.approx(np.trace(AD), rel=1e-10)
        assert got["trADAD"][c] == pytest.approx(np.trace(AD @ AD), rel=1e-10)


def test_m0_hajek_interval_is_welch():
    rng = np.random.default_rng(11)
    w = rng.random(30) < 0.5
    y = rng.normal(size=30) + 0.8 * w
    e = design_based_estimate(tiny(w, y), BERN, 0)
    welch = stats.ttest_ind(y[w], y[~w], equal_var=False)
    ci = welch.confidence_interval(0.95)
    assert e.p_value == pytest.approx(welch.pvalue, rel=1e-10)
    assert (e.ci_low, e.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert e.details["df"] == pytest.approx(welch.df, rel=1e-10)


def test_short_minimax_design_coverage():
    """400 minimax designs of 120 periods, m = 2, direct effect 0.3 and carryover 0.4 then 0.2 (truth 0.9):
    both design-based intervals cover at least 93.5% up to two Monte Carlo standard errors (1.2 points)."""
    runs, truth = 400, 0.9
    design = SwitchbackDesign("minimax", carryover_order=2)
    s = make_schedule(1, 120, design=design, seed=0)
    w = draw_assignments(s, design, runs, np.random.default_rng(7))
    y = switchback_block_outcomes(w, s["period"].to_numpy(), np.zeros(len(s), int), effects=(0.3, 0.4, 0.2),
                                  seed=8)
    hits = np.zeros(2)
    for i in range(runs):
        b = s.assign(treated=w[i], y=y[i])
        for k, norm in enumerate((False, True)):
            e = design_based_estimate(b, design, 2, normalized=norm)
            hits[k] += e.ci_low <= truth <= e.ci_high
    floor = 0.935 - 2 * np.sqrt(0.935 * 0.065 / runs)
    assert np.all(hits / runs >= floor), (hits / runs, floor)
