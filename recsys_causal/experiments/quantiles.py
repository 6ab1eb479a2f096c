"""Quantile metrics (p50/p95/p99) with intervals that are cluster-robust by randomisation unit.

The interval for a quantile ``Q_q`` of one arm maps a confidence interval for the proportion of values below
it back through the order statistics (Deng, Knoblich & Lu 2018): with ``sigma`` the (cluster-robust) standard
error of the indicator mean ``1{y <= Q_q}``, the bounds are the empirical quantiles at ``q ± z sigma``, and
``se = (upper - lower) / (2 z)``. Lifts combine the two arms as independent normal estimates.

>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> e = quantile_lift(rng.normal(1, 1, 4000), rng.normal(0, 1, 4000), q=0.5)
>>> abs(e.value - 1) < 0.1
True
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from recsys_causal.estimate import Estimate
from recsys_causal.experiments.means import ArmMean, lift_from_arms
from recsys_causal.inference import influence_se


def arm_quantile(values: np.ndarray, q: float, clusters: np.ndarray | None = None, alpha: float = 0.05) -> ArmMean:
    """Quantile of one arm and the variance of that estimate (cluster-robust when ``clusters`` given)."""
    y = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(y)
    y = y[ok]
    c = None if clusters is None else np.asarray(clusters)[ok]
    qhat = float(np.quantile(y, q))
    ind = (y <= qhat).astype(np.float64)
    sigma = influence_se(ind - ind.mean(), c)
    z = float(stats.norm.ppf(1 - alpha / 2))
    lo, hi = np.quantile(y, [max(q - z * sigma, 0.0), min(q + z * sigma, 1.0)])
    se = (hi - lo) / (2 * z)
    n = int(y.size) if c is None else int(np.unique(c).size)
    return ArmMean(qhat, float(se**2), n, clustered=c is not None)


def quantile_lift(
    treatment: np.ndarray, control: np.ndarray, *, q: float, name: str = "lift", relative: bool = False,
    alpha: float = 0.05, clusters_treatment: np.ndarray | None = None, clusters_control: np.ndarray | None = None,
) -> Estimate:
    """Difference (or relative lift) of the ``q`` quantile between two arms."""
    t = arm_quantile(treatment, q, clusters_treatment, alpha)
    c = arm_quantile(control, q, clusters_control, alpha)
    method = f"quantile p{round(100 * q):d} (order-statistic CI" + (", clustered)" if t.clustered else ")")
    return lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method=method, details={"q": q})
