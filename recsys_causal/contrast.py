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


def fieller_interval(num: Linearized, den: Linearized, z: float) -> tuple[float, float]:
    """Fieller's interval for ``num / den``; unbounded (±inf) when ``den`` is not distinguishable from 0."""
    a, d = num.value, den.value
    vaa, vdd, vad = covariance(num, num), covariance(den, den), covariance(num, den)
    qa = d * d - z * z * vdd
    qb = -2 * (a * d - z * z * vad)
    qc = a * a - z * z * vaa
    disc = qb * qb - 4 * qa * qc
    if qa <= 0 or disc < 0:
        return (-np.inf, np.inf)
    root = np.sqrt(disc)
    lo, hi = sorted(((-qb - root) / (2 * qa), (-qb + root) / (2 * qa)))
    return (float(lo), float(hi))


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
