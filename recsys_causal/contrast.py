"""Difference-in-means contrasts between two groups as per-unit influence values.

Every estimate here is a smooth function of group means, so its standard error follows from per-unit
influence values ``ψ`` with ``Var = Σ ψ²`` (delta method). Group means use the ``n / (n - 1)`` correction, so a
plain difference matches Welch's standard error exactly.

>>> import numpy as np
>>> y = np.array([1.0, 2.0, 3.0, 4.0]); g = np.array([True, True, False, False])
>>> m = group_mean(y, g)
>>> float(m.value), round(float(np.sqrt((m.psi ** 2).sum())), 6) == round(float(np.std([1, 2], ddof=1) / np.sqrt(2)), 6)
(1.5, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Linearized:
    """A statistic and its per-unit influence values (aligned with the unit table)."""

    value: float
    psi: np.ndarray

    @property
    def se(self) -> float:
        return float(np.sqrt(np.sum(self.psi**2)))

    def __sub__(self, other: Linearized) -> Linearized:
        return Linearized(self.value - other.value, self.psi - other.psi)

    def scale(self, factor: float) -> Linearized:
        return Linearized(self.value * factor, self.psi * factor)


def group_mean(y: np.ndarray, in_group: np.ndarray) -> Linearized:
    """Mean of ``y`` over units where ``in_group``; influence zero elsewhere."""
    n = int(in_group.sum())
    mean = float(y[in_group].mean())
    psi = np.zeros(y.size)
    psi[in_group] = (y[in_group] - mean) / n * np.sqrt(n / (n - 1))
    return Linearized(mean, psi)


def ratio(num: Linearized, den: Linearized) -> Linearized:
    """``num / den`` by the delta method."""
    r = num.value / den.value
    return Linearized(r, (num.psi - r * den.psi) / den.value)


def covariance(a: Linearized, b: Linearized) -> float:
    return float(np.sum(a.psi * b.psi))


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


def cuped_adjust(y: np.ndarray, covariates: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``y - θ'(x - x̄)`` with θ the pooled within-group regression slope (equals ANCOVA's adjustment)."""
    x = np.asarray(covariates, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    xc = x.copy()
    yc = y.astype(np.float64).copy()
    for g in np.unique(groups):
        m = groups == g
        xc[m] -= xc[m].mean(axis=0)
        yc[m] -= yc[m].mean()
    theta, *_ = np.linalg.lstsq(xc, yc, rcond=None)
    return y - (x - x.mean(axis=0)) @ theta
