"""Two-arm contrasts: arm summaries, Welch degrees of freedom, absolute and relative lift (delta method and
Fieller's interval).

Absolute lift ``mean_t - mean_c`` uses the Welch standard error ``sqrt(s_t^2/n_t + s_c^2/n_c)`` with
Welch–Satterthwaite degrees of freedom (Student t reference). Relative lift ``mean_t / mean_c - 1`` is the same
hypothesis on another scale: it carries the p-value of the absolute contrast, and its interval is Fieller's
interval for ``mean_t / mean_c`` (minus 1) with the same reference quantile, so the interval excludes 0 exactly
when the absolute test rejects. Its ``se`` is the delta-method one of :func:`delta_ratio` — the one
relative-lift computation of the package: it takes linear representations of numerator and denominator
(per-unit influence values, coefficient vectors over moment columns, or per-arm standard deviations of
independent arms) and returns the ratio and its linearisation ``(ψ_num - r ψ_den) / den``.

>>> t, c = ArmMean(2.0, 0.01, 100), ArmMean(1.0, 0.01, 100)
>>> v, se, lo, hi = relative_lift(t, c)
>>> round(v, 2), round(se, 6) == round(float(np.sqrt(0.01 + 4 * 0.01)), 6), round(lo, 4), round(hi, 4)
(1.0, True, 0.6259, 1.5339)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from recsys_causal.estimate import Estimate, reference_distribution
from recsys_causal.kernel.influence import Linearized, covariance, influence_se

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
    """Mean and variance of the mean (``s² / n``) of one arm (NaN values dropped); cluster-robust when
    ``clusters`` given."""
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


def delta_ratio(num: float, den: float, num_linear: np.ndarray, den_linear: np.ndarray) -> tuple[float, np.ndarray]:
    """``r = num / den`` and its delta-method linearisation ``(num_linear - r · den_linear) / den``.

    ``*_linear`` are any linear representation of the two statistics on the same footing: per-unit influence
    values (paired estimates, e.g. an off-policy value over the logging value), coefficient vectors over
    moment columns (:meth:`~recsys_causal.kernel.moments.Moments.linear_se`), or, for independent arms,
    ``[sd_t, 0]`` and ``[0, sd_c]``. A relative lift is ``r - 1`` with the same linearisation.

    >>> r, lin = delta_ratio(3.0, 2.0, np.array([1.0, 0.0]), np.array([0.0, 0.5]))
    >>> r, lin.tolist()
    (1.5, [0.5, -0.375])
    """
    r = num / den
    return r, (np.asarray(num_linear, dtype=np.float64) - r * np.asarray(den_linear, dtype=np.float64)) / den


def ratio(num: Linearized, den: Linearized) -> Linearized:
    """``num / den`` by the delta method (:func:`delta_ratio` on influence values)."""
    return Linearized(*delta_ratio(num.value, den.value, num.psi, den.psi))


def fieller_bounds(num, den, var_num, var_den, cov, q):
    """Fieller's interval for ``num / den`` (vectorised): every ``r`` with
    ``(num - r den)² <= q² (var_num - 2 r cov + r² var_den)``.

    It is bounded only when ``den`` is distinguishable from 0 at this level (``den² > q² var_den``); otherwise the
    set is the whole line or the complement of an interval, and ``(-inf, inf)`` is returned. It excludes a value
    ``r0`` exactly when the Wald test of the linear contrast ``num - r0 den = 0`` (reference quantile ``q``)
    rejects, so the interval for a relative lift ``mean_t / mean_c - 1`` excludes 0 exactly when the test of
    ``mean_t = mean_c`` does.

    >>> lo, hi = fieller_bounds(2.0, 1.0, 0.01, 0.01, 0.0, 1.96)
    >>> round(float(lo), 4), round(float(hi), 4)
    (1.6259, 2.5339)
    """
    a, d = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    q2 = np.asarray(q, dtype=np.float64) ** 2
    qa = d * d - q2 * var_den
    qb = -2 * (a * d - q2 * cov)
    qc = a * a - q2 * var_num
    disc = qb * qb - 4 * qa * qc
    bounded = (qa > 0) & (disc >= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = np.sqrt(np.where(bounded, disc, 0.0))
        r1, r2 = (-qb - root) / (2 * qa), (-qb + root) / (2 * qa)
    lo = np.where(bounded, np.minimum(r1, r2), -np.inf)
    hi = np.where(bounded, np.maximum(r1, r2), np.inf)
    if lo.ndim == 0:
        return float(lo), float(hi)
    return lo, hi


def fieller_interval(num: Linearized, den: Linearized, z: float) -> tuple[float, float]:
    """Fieller's interval for ``num / den``; unbounded (±inf) when ``den`` is not distinguishable from 0."""
    lo, hi = fieller_bounds(num.value, den.value, covariance(num, num), covariance(den, den), covariance(num, den), z)
    return float(lo), float(hi)


def relative_lift(t: ArmMean, c: ArmMean, *, alpha: float = 0.05, df: float | None = None,
                  ) -> tuple[float, float, float, float]:
    """``(value, delta-method se, ci_low, ci_high)`` of ``mean_t / mean_c - 1`` for independent arms, with
    Fieller's interval at the reference quantile of ``df``: :func:`delta_ratio` on ``[sd_t, 0]`` and
    ``[0, sd_c]`` (``se = √(v_t + r² v_c) / |m_c|``) and :func:`fieller_bounds` with zero covariance."""
    if c.mean == 0:
        return (math.nan,) * 4
    sd_t, sd_c = np.sqrt(np.maximum([t.var_mean, c.var_mean], 0.0))  # a variance of 0 may round below 0
    r, lin = delta_ratio(t.mean, c.mean, np.array([sd_t, 0.0]), np.array([0.0, sd_c]))
    lo, hi = fieller_bounds(t.mean, c.mean, t.var_mean, c.var_mean, 0.0, reference_quantile(alpha, df))
    return float(r - 1), float(np.sqrt(np.sum(lin**2))), float(lo) - 1, float(hi) - 1


def lift_from_arms(
    t: ArmMean, c: ArmMean, *, name: str, relative: bool = False, alpha: float = 0.05, method: str = "welch",
    df: float | None = None, details: dict | None = None,
) -> Estimate:
    """Absolute or relative lift from two arm summaries (``df``: t reference, ``None`` normal).

    Both share the p-value of the absolute contrast (one hypothesis, two scales); the relative interval is
    Fieller's. ``details`` gain ``lift`` (``"absolute"`` / ``"relative"``) and ``quantity`` (``"lift"`` /
    ``"relative lift"``).

    >>> e = lift_from_arms(ArmMean(2.0, 0.01, 100), ArmMean(1.0, 0.01, 100), name="x", relative=True)
    >>> e.details["quantity"], round(e.ci_low, 4)
    ('relative lift', 0.6259)
    """
    det = {"mean_treatment": t.mean, "mean_control": c.mean, "n_treatment": t.n, "n_control": c.n,
           "lift": "relative" if relative else "absolute", "df": df, **(details or {}),
           "quantity": "relative lift" if relative else "lift"}
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
