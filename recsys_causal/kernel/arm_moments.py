"""Per-arm sufficient statistics and the arm summaries built from them (mean, proportion, ratio).

One arm of an experiment is summarised by its number of units ``n``, the means of the unit-level columns and
their centred cross-product matrix ``Σ (z - z̄)(z - z̄)ᵀ``. The Welch mean, the proportion, the delta-method
ratio and the CUPED-adjusted mean of :func:`~recsys_causal.experiments.analyze_ab` are functions of these
numbers only (CUPED: :mod:`recsys_causal.kernel.cuped`). The in-memory path computes them with numpy in two passes (:meth:`ArmMoments.from_frame`); DuckDB
and Spark compute the raw sums ``Σ z`` and ``Σ z zᵀ`` in one ``GROUP BY`` and convert them with
:meth:`ArmMoments.from_moments` (centring raw sums costs about ``(mean / sd)²`` machine epsilons of relative
precision in a variance, negligible for per-unit metrics). Everything after that is this module, whichever
engine summed.

A ratio metric is linearised per arm, ``y = R + (num - R·den) / mean(den)`` with ``R = Σ num / Σ den``: a
linear transform of the ``(num, den)`` columns, so its moments (and its cross-products with covariates, for
CUPED) follow from the moments of ``num``, ``den`` and the covariates (:meth:`ArmMoments.with_linear`).

>>> import numpy as np
>>> arm = ArmMoments.from_array(np.array([[1.0, 10.0], [3.0, 10.0], [2.0, 20.0]]), ("num", "den"))
>>> round(ratio_arm(arm, "num", "den").mean, 4), mean_arm(arm, "num").mean
(0.15, 2.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_causal.kernel.contrast import ArmMean
from recsys_causal.kernel.moments import Moments

RATIO_COLUMN = "_linearised_ratio"


@dataclass(frozen=True)
class ArmMoments:
    """``n`` units of one arm; ``mean[j]`` the mean of column ``names[j]``; ``cross`` the centred
    cross-products ``Σ (z_j - z̄_j)(z_k - z̄_k)``."""

    names: tuple[str, ...]
    n: int
    mean: np.ndarray
    cross: np.ndarray

    @classmethod
    def from_array(cls, values: np.ndarray, names: Sequence[str]) -> ArmMoments:
        """Moments of the rows of an ``(n, k)`` array (two-pass: means first, then centred products)."""
        z = np.asarray(values, dtype=np.float64).reshape(len(values), len(names))
        if len(z) == 0:
            return cls(tuple(names), 0, np.full(len(names), np.nan), np.zeros((len(names), len(names))))
        mean = z.mean(axis=0)
        zc = z - mean
        return cls(tuple(names), len(z), mean, zc.T @ zc)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, columns: Sequence[str], mask: np.ndarray | None = None) -> ArmMoments:
        """Moments of ``columns`` over the rows in ``mask`` where every one of them is finite."""
        z = np.column_stack([df[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in columns])
        if mask is not None:
            z = z[np.asarray(mask, dtype=bool)]
        return cls.from_array(z[np.isfinite(z).all(axis=1)], columns)

    @classmethod
    def from_moments(cls, moments: Moments, names: Sequence[str] | None = None) -> ArmMoments:
        """Centred moments from raw sums (e.g. computed by a SQL engine): ``cross = Σ z zᵀ - n z̄ z̄ᵀ``."""
        names = tuple(k for k in (names or moments.names) if k != "one")
        n = moments.n
        if n == 0:
            return cls(names, 0, np.full(len(names), np.nan), np.zeros((len(names), len(names))))
        mean = np.array([moments.mean(k) for k in names])
        return cls(names, n, mean, moments.centered(names))

    def index(self, name: str) -> int:
        return self.names.index(name)

    def select(self, names: Sequence[str]) -> ArmMoments:
        """The moments of a subset of the columns (same units)."""
        idx = [self.index(k) for k in names]
        return ArmMoments(tuple(names), self.n, self.mean[idx], self.cross[np.ix_(idx, idx)])

    def with_linear(self, name: str, coef: Mapping[str, float], constant: float = 0.0) -> ArmMoments:
        """These moments plus a derived column ``constant + Σ_j coef_j z_j`` (mean, variance, cross-products)."""
        w = np.zeros(len(self.names))
        for k, v in coef.items():
            w[self.index(k)] += v
        row = self.cross @ w
        cross = np.block([[self.cross, row[:, None]], [row[None, :], np.array([[w @ row]])]])
        return ArmMoments((*self.names, name), self.n, np.append(self.mean, constant + w @ self.mean), cross)


def var_of_mean(sum_of_squares: float, n: int) -> float:
    """Variance of a mean, ``s² / n``, from a centred sum of squares (NaN below two units)."""
    return float(sum_of_squares / (n - 1) / n) if n > 1 else float("nan")


def mean_arm(m: ArmMoments, column: str) -> ArmMean:
    """Mean of ``column`` and the variance of that mean, ``s² / n`` (as :func:`~recsys_causal.kernel.contrast.arm_mean`)."""
    j = m.index(column)
    return ArmMean(float(m.mean[j]), var_of_mean(m.cross[j, j], m.n), int(m.n))


def linearized_ratio(m: ArmMoments, numerator: str, denominator: str, name: str = RATIO_COLUMN) -> ArmMoments:
    """Add the delta-method linearisation of ``Σ num / Σ den`` (as :func:`~recsys_causal.experiments.ratio.linearize`) as column ``name``;
    its mean is the ratio."""
    dbar = m.mean[m.index(denominator)]
    r = m.mean[m.index(numerator)] / dbar
    return m.with_linear(name, {numerator: float(1.0 / dbar), denominator: float(-r / dbar)}, constant=float(r))


def ratio_arm(m: ArmMoments, numerator: str, denominator: str) -> ArmMean:
    """Ratio of sums of one arm with its delta-method variance (as :func:`~recsys_causal.experiments.ratio.arm_ratio`)."""
    return mean_arm(linearized_ratio(m, numerator, denominator), RATIO_COLUMN)
