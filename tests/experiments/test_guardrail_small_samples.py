"""Guardrail bounds use the estimate's t reference: non-inferiority is not declared too often in small samples."""

from __future__ import annotations

import numpy as np
from scipy import stats

from recsys_causal.estimate import Estimate
from recsys_causal.experiments import Guardrail


def _welch(rng, runs: int, n: int, shift: float):
    """Welch difference (treatment − control), its SE and Welch–Satterthwaite df for ``runs`` normal datasets."""
    t = rng.normal(loc=shift, size=(runs, n))
    c = rng.normal(size=(runs, n))
    vt, vc = t.var(axis=1, ddof=1) / n, c.var(axis=1, ddof=1) / n
    df = (vt + vc) ** 2 / (vt**2 / (n - 1) + vc**2 / (n - 1))
    return t.mean(axis=1) - c.mean(axis=1), np.sqrt(vt + vc), df


def test_bounds_use_student_t_with_the_estimates_df():
    g = Guardrail("latency", direction="increase_is_bad", margin=0.1, relative=False, alpha=0.05)
    est = Estimate(name="x", value=0.02, se=0.03, ci_low=-1.0, ci_high=1.0, p_value=0.5, n=12, method="welch",
                   details={"df": 7.5})
    h, lo, hi = g.harm_bounds(est)
    q = stats.t.ppf(0.95, 7.5)  # closed form: h ± t_{0.95, 7.5} · se
    assert (h, lo, hi) == (0.02, 0.02 - q * 0.03, 0.02 + q * 0.03)
    p = g.evaluate(est).details["p_noninferiority"]
    assert p == stats.t.cdf((0.02 - 0.1) / 0.03, 7.5)
    no_df = Estimate(name="x", value=0.02, se=0.03, ci_low=-1.0, ci_high=1.0, p_value=0.5, n=12, method="z")
    assert g.harm_bounds(no_df)[2] == 0.02 + stats.norm.ppf(0.95) * 0.03


def test_non_inferiority_is_not_declared_too_often_at_the_margin_with_5_units_per_arm():
    """True harm exactly at the margin: 'ok' must be at most alpha (+2 MC SE). With the normal quantile the
    rate is about 7% (t with ~8 df); 6,000 datasets give an MC SE of 0.28 points."""
    rng = np.random.default_rng(7)
    margin, runs = 0.5, 6000
    diff, se, df = _welch(rng, runs, 5, shift=margin)  # increase is bad, harm = margin exactly
    g = Guardrail("m", direction="increase_is_bad", margin=margin, relative=False, alpha=0.05)
    ok = [g.verdict(Estimate(name="m", value=d, se=s, ci_low=d, ci_high=d, p_value=1.0, n=10, method="welch",
                             details={"df": f})) == "ok" for d, s, f in zip(diff, se, df, strict=True)]
    rate, mc_se = np.mean(ok), np.sqrt(0.05 * 0.95 / runs)
    assert rate <= 0.05 + 2 * mc_se, rate
    normal_rate = np.mean(diff + stats.norm.ppf(0.95) * se < margin)  # what the normal quantile gave
    assert normal_rate > 0.05 + 2 * mc_se, normal_rate
