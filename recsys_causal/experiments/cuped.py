"""CUPED: variance reduction with one or more pre-period covariates (also for ratio metrics).

The adjustment uses the pooled within-arm slope ``theta`` (regression of the metric on the covariates with a
separate intercept per arm), so the adjusted difference equals the treatment coefficient of the ANCOVA
``y ~ 1 + T + (x - mean(x))``. Each arm's adjusted mean is ``mean(y) - theta' (mean_arm(x) - mean_all(x))``
and its variance is the variance of the residuals ``y - theta' x`` over ``n`` (heteroskedasticity-robust).
Covariates must be measured before a unit's first exposure; :func:`check_pre_treatment` rejects those that
are not.
The slope and the adjusted arm means are computed by the kernel (:mod:`recsys_causal.kernel.cuped`).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=400); t = np.arange(400) % 2 == 1; y = x + 0.5 * t + rng.normal(0, 0.1, 400)
>>> e = cuped_lift(y, x, t)
>>> abs(e.value - 0.5) < 0.05, e.se < 0.02
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recsys_causal.estimate import Estimate
from recsys_causal.experiments.covariate_checks import refuse_collinear
from recsys_causal.experiments.pretreatment import check_pre_treatment
from recsys_causal.kernel.arm_moments import ArmMoments
from recsys_causal.kernel.contrast import ArmMean, lift_from_arms, welch_df
from recsys_causal.kernel.cuped import cuped_details, cuped_from_moments, unit_slope
from recsys_causal.kernel.influence import influence_se


def cuped_theta(y: np.ndarray, x: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Pooled within-arm OLS slope of ``y`` on ``x`` (shape ``(k,)``), by the kernel's
    :func:`~recsys_causal.kernel.cuped.pooled_slope`."""
    return unit_slope(y, x, np.asarray(treated, dtype=bool))


def cuped_arms(
    y: np.ndarray, x: np.ndarray, treated: np.ndarray, clusters: np.ndarray | None = None,
) -> tuple[ArmMean, ArmMean, np.ndarray, float]:
    """Adjusted arm means (treatment, control), the slope used, and the unadjusted variance of the difference.

    Works from per-arm sufficient statistics (:func:`~recsys_causal.experiments.arm_moments.cuped_from_moments`
    on means and centred cross-products), so the cost is one pass per arm; with ``clusters`` the residuals are
    formed explicitly for cluster-robust variances.
    """
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    treated = np.asarray(treated, dtype=bool)
    names = tuple(f"x{j}" for j in range(x.shape[1]))
    moments = [ArmMoments.from_array(np.column_stack([x[m], y[m]]), (*names, "y")) for m in (treated, ~treated)]
    t, c, theta, raw = cuped_from_moments(moments[0], moments[1], "y", names)
    if clusters is None:
        return t, c, theta, raw
    arms, raw = [], 0.0
    for adjusted, m in zip((t, c), (treated, ~treated), strict=True):
        cl = np.asarray(clusters)[m]
        resid = y[m] - x[m] @ theta
        arms.append(ArmMean(adjusted.mean, influence_se(resid - resid.mean(), cl) ** 2, int(np.unique(cl).size),
                            clustered=True))
        raw += influence_se(y[m] - y[m].mean(), cl) ** 2
    return arms[0], arms[1], theta, float(raw)


def cuped_lift(
    y: np.ndarray, x: np.ndarray, treated: np.ndarray, *, name: str = "lift", relative: bool = False,
    alpha: float = 0.05, details: Mapping | None = None, clusters: np.ndarray | None = None,
) -> Estimate:
    """CUPED-adjusted absolute or relative (Fieller interval) lift, t reference with Welch–Satterthwaite degrees
    of freedom on the residuals (``n - 1 - k/2`` per arm for ``k`` covariates; normal when clustered).

    ``y`` is the per-unit metric (for a ratio metric pass :func:`~recsys_causal.experiments.ratio.linearize`
    values computed per arm), ``x`` one covariate or an ``(n, k)`` matrix, ``treated`` a boolean mask.
    """
    t, c, det = cuped_summary(y, x, treated, clusters=clusters)
    return lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method="cuped", df=welch_df(t, c),
                          details={**det, **dict(details or {})})


def cuped_summary(
    y: np.ndarray, x: np.ndarray, treated: np.ndarray, *, clusters: np.ndarray | None = None,
) -> tuple[ArmMean, ArmMean, dict]:
    """Adjusted arm summaries plus details (``theta``, ``variance_reduction``); rows with NaN are dropped."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(len(y), -1)
    treated = np.asarray(treated, dtype=bool)
    ok = np.isfinite(y) & np.all(np.isfinite(x), axis=1)
    if not ok.all():
        y, x, treated = y[ok], x[ok], treated[ok]
        clusters = None if clusters is None else np.asarray(clusters)[ok]
    refuse_collinear(y, x, treated)
    t, c, theta, raw_var = cuped_arms(y, x, treated, clusters)
    return t, c, cuped_details(t, c, theta, raw_var)


__all__ = ["check_pre_treatment", "cuped_arms", "cuped_lift", "cuped_summary", "cuped_theta"]
