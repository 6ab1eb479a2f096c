"""Shared final step of every estimator: per-unit influence values → standard error → :class:`Estimate`.

Estimators compute per-unit contributions (vectorised); the variance of the estimate is the variance of the mean
of the influence values, optionally summed within clusters first (cluster-robust, e.g. by user).
:class:`Linearized` carries a statistic with influence values already scaled so that ``Var = Σ ψ²`` (group
means with the ``n / (n - 1)`` correction, so a plain difference matches Welch's standard error exactly).

>>> import numpy as np
>>> x = np.array([1.0, 2.0, 3.0, 4.0])
>>> e = influence_estimate(name="mean", value=x.mean(), influence=x - x.mean(), method="mean")
>>> round(e.se, 6) == round(float(np.std(x, ddof=1) / 2), 6)
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recsys_causal.estimate import Estimate


def influence_se(influence: np.ndarray, clusters: np.ndarray | None = None) -> float:
    """Standard error of a mean-type estimate from its per-unit influence values.

    Without clusters: ``sd(influence, ddof=1) / sqrt(n)``. With clusters: influence values are summed per
    cluster and ``sqrt(G / (G - 1) * sum(S_g^2)) / n`` is returned (the usual small-sample factor).
    """
    psi = np.asarray(influence, dtype=np.float64)
    n = psi.size
    if n < 2:
        return float("nan")
    if clusters is None:
        return float(np.std(psi, ddof=1) / np.sqrt(n))
    codes, _ = pd.factorize(np.asarray(clusters), use_na_sentinel=False)
    sums = np.bincount(codes, weights=psi - psi.mean())
    g = sums.size
    if g < 2:
        return float("nan")
    return float(np.sqrt(g / (g - 1) * np.sum(sums**2)) / n)


def influence_estimate(
    *,
    name: str,
    value: float,
    influence: np.ndarray,
    method: str,
    clusters: np.ndarray | None = None,
    alpha: float = 0.05,
    null: float | None = None,
    warnings: Iterable[str] = (),
    details: Mapping[str, Any] | None = None,
) -> Estimate:
    """An :class:`Estimate` with a normal interval whose standard error comes from ``influence``."""
    psi = np.asarray(influence, dtype=np.float64)
    n = int(psi.size) if clusters is None else int(pd.Series(clusters).nunique())
    return Estimate.from_normal(
        name=name, value=float(value), se=influence_se(psi, clusters), n=n, method=method, alpha=alpha,
        null=null, warnings=warnings, details=details,
    )


@dataclass(frozen=True)
class Linearized:
    """A statistic and its per-unit influence values (aligned with the unit table), ``Var = Σ ψ²``.

    >>> y = np.array([1.0, 2.0, 3.0, 4.0]); g = np.array([True, True, False, False])
    >>> m = group_mean(y, g)
    >>> float(m.value), round(m.se, 6) == round(float(np.std([1, 2], ddof=1) / np.sqrt(2)), 6)
    (1.5, True)
    """

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


def covariance(a: Linearized, b: Linearized) -> float:
    """``Σ ψ_a ψ_b``: the covariance of two linearised statistics of the same units."""
    return float(np.sum(a.psi * b.psi))
