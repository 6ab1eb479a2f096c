"""Difference in means (Welch t), proportions, and relative lift by the delta method; optionally cluster-robust.

Absolute lift ``mean_t - mean_c`` uses the Welch standard error ``sqrt(s_t^2/n_t + s_c^2/n_c)`` with
Welch–Satterthwaite degrees of freedom. Relative lift ``mean_t / mean_c - 1`` uses the delta method:
``var = v_t / m_c^2 + m_t^2 v_c / m_c^4`` where ``v`` are the variances of the arm means. When the analysis
unit is finer than the randomisation unit (e.g. requests of randomised users), pass ``clusters_*`` and the arm
variances become cluster-robust (normal reference).

>>> import numpy as np
>>> e = mean_lift(np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0]), name="x")
>>> e.value, round(e.se, 4)
(2.0, 1.291)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys_causal.estimate import Estimate
from recsys_causal.inference import influence_se


@dataclass(frozen=True)
class ArmMean:
    """Mean of one arm with the variance of that mean, its size and (for Welch) its degrees of freedom part."""

    mean: float
    var_mean: float
    n: int
    clustered: bool = False


def arm_mean(values: np.ndarray, clusters: np.ndarray | None = None) -> ArmMean:
    """Mean and variance of the mean of one arm (NaN values dropped); cluster-robust when ``clusters`` given."""
    y = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(y)
    y = y[ok]
    if clusters is None:
        return ArmMean(float(y.mean()), float(y.var(ddof=1) / y.size) if y.size > 1 else np.nan, int(y.size))
    c = np.asarray(clusters)[ok]
    se = influence_se(y - y.mean(), c)
    return ArmMean(float(y.mean()), se**2, int(np.unique(c).size), clustered=True)


def welch_df(t: ArmMean, c: ArmMean) -> float | None:
    """Welch–Satterthwaite degrees of freedom (``None`` → normal reference, used for clustered arms)."""
    if t.clustered or c.clustered:
        return None
    num = (t.var_mean + c.var_mean) ** 2
    den = t.var_mean**2 / (t.n - 1) + c.var_mean**2 / (c.n - 1)
    return float(num / den) if den > 0 else None


def lift_from_arms(
    t: ArmMean, c: ArmMean, *, name: str, relative: bool = False, alpha: float = 0.05, method: str = "welch",
    df: float | None = None, details: dict | None = None,
) -> Estimate:
    """Absolute or relative (delta-method) lift from two arm summaries."""
    det = {"mean_treatment": t.mean, "mean_control": c.mean, "n_treatment": t.n, "n_control": c.n,
           "lift": "relative" if relative else "absolute", **(details or {})}
    warnings: list[str] = []
    if relative:
        if c.mean == 0:
            warnings.append("control mean is 0; relative lift undefined")
            return Estimate(name=name, value=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan, n=t.n + c.n,
                            method=method + "+delta", alpha=alpha, warnings=tuple(warnings), details=det)
        value = t.mean / c.mean - 1
        var = t.var_mean / c.mean**2 + t.mean**2 * c.var_mean / c.mean**4
        return Estimate.from_normal(name=name, value=value, se=float(np.sqrt(var)), n=t.n + c.n,
                                    method=method + "+delta", alpha=alpha, df=df, details=det)
    value = t.mean - c.mean
    se = float(np.sqrt(t.var_mean + c.var_mean))
    return Estimate.from_normal(name=name, value=value, se=se, n=t.n + c.n, method=method, alpha=alpha, df=df,
                                details=det)


def mean_lift(
    treatment: np.ndarray, control: np.ndarray, *, name: str = "lift", relative: bool = False, alpha: float = 0.05,
    clusters_treatment: np.ndarray | None = None, clusters_control: np.ndarray | None = None,
) -> Estimate:
    """Welch difference in means (or relative lift) between two arms.

    >>> import numpy as np
    >>> round(mean_lift(np.array([2.0, 4.0]), np.array([1.0, 3.0]), relative=True).value, 3)
    0.5
    """
    t = arm_mean(treatment, clusters_treatment)
    c = arm_mean(control, clusters_control)
    method = "welch" if clusters_treatment is None else "cluster-robust"
    return lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method=method,
                          df=None if relative else welch_df(t, c))


def proportion_lift(
    treatment: np.ndarray, control: np.ndarray, *, name: str = "lift", relative: bool = False, alpha: float = 0.05,
) -> Estimate:
    """Difference (or relative lift) of two proportions with the unpooled normal interval.

    >>> import numpy as np
    >>> e = proportion_lift(np.r_[np.ones(30), np.zeros(70)], np.r_[np.ones(20), np.zeros(80)])
    >>> round(e.value, 2), round(e.se, 4)
    (0.1, 0.0608)
    """
    def arm(x: np.ndarray) -> ArmMean:
        x = np.asarray(x, dtype=np.float64)
        x = x[np.isfinite(x)]
        p = x.mean()
        return ArmMean(float(p), float(p * (1 - p) / x.size), int(x.size))

    return lift_from_arms(arm(treatment), arm(control), name=name, relative=relative, alpha=alpha,
                          method="two-proportion z")
