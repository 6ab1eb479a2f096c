"""Quantile metrics (p50/p95/p99) with intervals that are cluster-robust by randomisation unit.

The interval for a quantile ``Q_q`` of one arm maps a confidence interval for the proportion of values below
it back through the order statistics (Deng, Knoblich & Lu 2018): with ``sigma`` the (cluster-robust) standard
error of the indicator mean ``1{y <= Q_q}``, the bounds are the empirical quantiles at ``q ± z sigma``, and
``se = (upper - lower) / (2 z)``. Lifts combine the two arms as independent normal estimates.

When the quantile falls inside a point mass (e.g. the p95 of a metric that is 0 for 97% of units), every order
statistic in that rank interval is the same value: the interval has zero width although nothing about the
quantile's sensitivity is known (any bootstrap interval degenerates the same way). Such an arm is flagged
(:func:`quantile_arms`); when both arms are degenerate the lift is **not estimable**: its standard error,
interval and p-value are NaN and a warning (``details["degenerate"]``) says why and what to use instead.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> e = quantile_lift(rng.normal(1, 1, 4000), rng.normal(0, 1, 4000), q=0.5)
>>> abs(e.value - 1) < 0.1
True
>>> z = np.r_[np.zeros(970), np.arange(1.0, 31.0)]
>>> d = quantile_lift(z, z.copy(), q=0.95)
>>> d.value, bool(np.isnan(d.ci_low)), "not estimable" in d.warnings[0]
(0.0, True, True)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import stats

from recsys_causal.estimate import Estimate
from recsys_causal.kernel.contrast import ArmMean, lift_from_arms
from recsys_causal.kernel.influence import influence_se


def arm_quantile(values: np.ndarray, q: float, clusters: np.ndarray | None = None, alpha: float = 0.05) -> ArmMean:
    """Quantile of one arm and the variance of that estimate (cluster-robust when ``clusters`` given)."""
    y = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(y)
    y = y[ok]
    c = None if clusters is None else np.asarray(clusters)[ok]
    qhat = float(np.quantile(y, q))
    ind = (y <= qhat).astype(np.float64)
    lo_q, hi_q, z = rank_band(q, influence_se(ind - ind.mean(), c), alpha)
    lo, hi = np.quantile(y, [lo_q, hi_q])
    n = int(y.size) if c is None else int(np.unique(c).size)
    return order_statistic_arm(qhat, lo, hi, z, n, clustered=c is not None)


def rank_band(q: float, sigma: float, alpha: float) -> tuple[float, float, float]:
    """The levels ``q ± z σ`` (clipped to [0, 1]) whose empirical quantiles bound ``Q_q``, and ``z``."""
    z = float(stats.norm.ppf(1 - alpha / 2))
    return max(q - z * sigma, 0.0), min(q + z * sigma, 1.0), z


def order_statistic_arm(qhat: float, lo: float, hi: float, z: float, n: int, *, clustered: bool = False) -> ArmMean:
    """An arm's quantile with ``se = (upper - lower) / (2 z)`` from the quantiles at the :func:`rank_band`."""
    se = (hi - lo) / (2 * z)
    return ArmMean(float(qhat), float(se**2), int(n), clustered=clustered)


def quantile_arms(
    treatment: np.ndarray, control: np.ndarray, q: float, *, clusters_treatment: np.ndarray | None = None,
    clusters_control: np.ndarray | None = None, alpha: float = 0.05,
) -> tuple[ArmMean, ArmMean, str, dict]:
    """Both arms' quantiles (:func:`arm_quantile`), the method label and details; ``details["degenerate"]``
    (a message) when the quantile of an arm sits in a point mass, and NaN arm variances when both do."""
    t = arm_quantile(treatment, q, clusters_treatment, alpha)
    c = arm_quantile(control, q, clusters_control, alpha)
    atoms = {arm: _atom(values, arm_.mean, arm_.var_mean) for arm, values, arm_ in
             (("treatment", treatment, t), ("control", control, c))}
    return label_quantile_arms(t, c, q, atoms)


def label_quantile_arms(t: ArmMean, c: ArmMean, q: float,
                        atoms: dict[str, float | None]) -> tuple[ArmMean, ArmMean, str, dict]:
    """Method label and details of two quantile arms; ``atoms`` maps ``treatment`` / ``control`` to the share
    of units equal to a zero-width arm's quantile (``None``: the arm's interval has width)."""
    method = f"quantile p{round(100 * q):d} (order-statistic CI" + (", clustered)" if t.clustered else ")")
    details: dict = {"q": q}
    flagged = {arm: share for arm, share in atoms.items() if share is not None}
    if not flagged:
        return t, c, method, details
    where = ", ".join(f"{arm} {share:.1%} of units equal to {(t if arm == 'treatment' else c).mean:.4g}"
                      for arm, share in flagged.items())
    label = f"p{round(100 * q):d}"
    if len(flagged) == 2:
        details["degenerate"] = (f"{label} is not estimable: it falls in a point mass in both arms ({where}), so "
                                 "its interval degenerates to a point and it cannot register changes outside that "
                                 "mass; report a mean, a proportion above a threshold, or a quantile outside the "
                                 "point mass")
        t = ArmMean(t.mean, float("nan"), t.n, t.clustered)
        c = ArmMean(c.mean, float("nan"), c.n, c.clustered)
    else:
        details["degenerate"] = (f"{label} falls in a point mass in one arm ({where}): that arm's interval has zero "
                                 "width and the lift's interval reflects only the other arm")
    return t, c, method, details


def _atom(values: np.ndarray, qhat: float, var_mean: float) -> float | None:
    """Share of units equal to the arm's quantile when its order-statistic interval has zero width."""
    if not (var_mean == 0):
        return None
    y = np.asarray(values, dtype=np.float64)
    y = y[np.isfinite(y)]
    return float(np.mean(y == qhat)) if y.size else None


def quantile_lift(
    treatment: np.ndarray, control: np.ndarray, *, q: float, name: str = "lift", relative: bool = False,
    alpha: float = 0.05, clusters_treatment: np.ndarray | None = None, clusters_control: np.ndarray | None = None,
) -> Estimate:
    """Difference (or relative lift) of the ``q`` quantile between two arms."""
    t, c, method, details = quantile_arms(treatment, control, q, clusters_treatment=clusters_treatment,
                                          clusters_control=clusters_control, alpha=alpha)
    est = lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method=method, details=details)
    return with_degenerate_warning(est)


def with_degenerate_warning(est: Estimate) -> Estimate:
    """``est`` with ``details["degenerate"]`` (if any) also among its warnings."""
    msg = est.details.get("degenerate")
    return replace(est, warnings=(*est.warnings, msg)) if msg and msg not in est.warnings else est
