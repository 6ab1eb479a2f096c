"""Difference in means (Welch t), proportions, and relative lift (Fieller interval); optionally cluster-robust.

Absolute lift ``mean_t - mean_c`` uses the Welch standard error ``sqrt(s_t^2/n_t + s_c^2/n_c)`` with
Welch–Satterthwaite degrees of freedom (Student t reference). Relative lift ``mean_t / mean_c - 1`` is the same
hypothesis on another scale: it carries the p-value of the absolute contrast, and its interval is Fieller's
interval for ``mean_t / mean_c`` (minus 1) with the same reference quantile, so the interval excludes 0 exactly
when the absolute test rejects. Its ``se`` is the delta-method ``sqrt(v_t / m_c^2 + m_t^2 v_c / m_c^4)`` where
``v`` are the variances of the arm means. When the analysis unit is finer than the randomisation unit (e.g.
requests of randomised users), pass ``clusters_*`` and the arm variances become cluster-robust (normal
reference). With fewer than :data:`MIN_UNITS_PER_ARM` units (or clusters) in an arm every lift carries a warning.

>>> import numpy as np
>>> e = mean_lift(np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0]), name="x")
>>> e.value, round(e.se, 4)
(2.0, 1.291)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from recsys_causal.contrast import fieller_bounds
from recsys_causal.estimate import Estimate, reference_distribution
from recsys_causal.inference import influence_se

#: Below this many units (clusters) in an arm, lifts carry a small-sample warning.
MIN_UNITS_PER_ARM = 30


@dataclass(frozen=True)
class ArmMean:
    """Mean of one arm with the variance of that mean and its size. ``dof`` is the degrees of freedom of
    ``var_mean`` for the Welch–Satterthwaite approximation (``None``: ``n - 1``; ``inf``: normal reference)."""

    mean: float
    var_mean: float
    n: int
    clustered: bool = False
    dof: float | None = None


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
    """Welch–Satterthwaite degrees of freedom (``None`` → normal reference: clustered arms, or both arms
    declared with infinite ``dof``)."""
    if t.clustered or c.clustered:
        return None
    num = (t.var_mean + c.var_mean) ** 2
    den = sum(a.var_mean**2 / (a.n - 1 if a.dof is None else a.dof) for a in (t, c))
    return float(num / den) if den > 0 and np.isfinite(den) else None


def reference_quantile(alpha: float, df: float | None) -> float:
    """Two-sided ``1 - alpha`` quantile of Student t with ``df`` degrees of freedom (normal when ``None``)."""
    return float(reference_distribution(df).ppf(1 - alpha / 2))


def small_sample_warning(t: ArmMean, c: ArmMean) -> str | None:
    """A warning when an arm has fewer than :data:`MIN_UNITS_PER_ARM` units (clusters)."""
    if min(t.n, c.n) >= MIN_UNITS_PER_ARM:
        return None
    unit = "clusters" if t.clustered or c.clustered else "units"
    return (f"small sample: {t.n} treatment and {c.n} control {unit} (fewer than {MIN_UNITS_PER_ARM} per arm); "
            "the t reference and the Fieller interval assume roughly normal arm means, which may not hold")


def relative_lift(t: ArmMean, c: ArmMean, *, alpha: float = 0.05, df: float | None = None,
                  ) -> tuple[float, float, float, float]:
    """``(value, delta-method se, ci_low, ci_high)`` of ``mean_t / mean_c - 1`` with Fieller's interval at the
    reference quantile of ``df`` (arms independent). The one relative-lift computation of the A/B readouts.

    >>> v, se, lo, hi = relative_lift(ArmMean(2.0, 0.01, 100), ArmMean(1.0, 0.01, 100), df=None)
    >>> round(v, 2), round(lo, 4), round(hi, 4)
    (1.0, 0.6259, 1.5339)
    """
    if c.mean == 0:
        return (math.nan,) * 4
    value = t.mean / c.mean - 1
    se = math.sqrt(t.var_mean / c.mean**2 + t.mean**2 * c.var_mean / c.mean**4)
    lo, hi = fieller_bounds(t.mean, c.mean, t.var_mean, c.var_mean, 0.0, reference_quantile(alpha, df))
    return float(value), float(se), float(lo) - 1, float(hi) - 1


def lift_from_arms(
    t: ArmMean, c: ArmMean, *, name: str, relative: bool = False, alpha: float = 0.05, method: str = "welch",
    df: float | None = None, details: dict | None = None,
) -> Estimate:
    """Absolute or relative lift from two arm summaries (``df``: t reference, ``None`` normal).

    Both share the p-value of the absolute contrast (one hypothesis, two scales); the relative interval is
    Fieller's.
    """
    det = {"mean_treatment": t.mean, "mean_control": c.mean, "n_treatment": t.n, "n_control": c.n,
           "lift": "relative" if relative else "absolute", "df": df, **(details or {})}
    warnings = [w for w in (small_sample_warning(t, c),) if w]
    absolute = Estimate.from_normal(name=name, value=t.mean - c.mean, se=float(np.sqrt(t.var_mean + c.var_mean)),
                                    n=t.n + c.n, method=method, alpha=alpha, df=df, warnings=warnings, details=det)
    if not relative:
        return absolute
    value, se, lo, hi = relative_lift(t, c, alpha=alpha, df=df)
    if c.mean == 0:
        warnings.append("control mean is 0; relative lift undefined")
    elif not (np.isfinite(lo) and np.isfinite(hi)):
        warnings.append("the control mean is not distinguishable from 0 at this level, so the relative-lift "
                        "interval (Fieller) is unbounded; read the absolute lift")
    return Estimate(name=name, value=value, se=se, ci_low=lo, ci_high=hi, n=t.n + c.n, method=method + "+fieller",
                    alpha=alpha, p_value=absolute.p_value if c.mean != 0 else None,
                    null=0.0 if c.mean != 0 else None, warnings=tuple(warnings), details=det)


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
    return lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method=method, df=welch_df(t, c))


def proportion_lift(
    treatment: np.ndarray, control: np.ndarray, *, name: str = "lift", relative: bool = False, alpha: float = 0.05,
) -> Estimate:
    """Difference (or relative lift, Fieller) of two proportions with the unpooled normal reference.

    >>> import numpy as np
    >>> e = proportion_lift(np.r_[np.ones(30), np.zeros(70)], np.r_[np.ones(20), np.zeros(80)])
    >>> round(e.value, 2), round(e.se, 4)
    (0.1, 0.0608)
    """
    def arm(x: np.ndarray) -> ArmMean:
        x = np.asarray(x, dtype=np.float64)
        x = x[np.isfinite(x)]
        p = x.mean()
        return ArmMean(float(p), float(p * (1 - p) / x.size), int(x.size), dof=math.inf)

    return lift_from_arms(arm(treatment), arm(control), name=name, relative=relative, alpha=alpha,
                          method="two-proportion z")
