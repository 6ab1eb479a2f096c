"""The built-in moment-based A/B metrics: :class:`Mean`, :class:`Proportion` and :class:`Ratio`.

``Mean`` and ``Proportion`` are the arm mean of one column with variance ``s² / n`` (Welch; a proportion is the
mean of 0/1 values, the one proportion formula of the package). ``Ratio`` is ``Σ num / Σ den`` per arm,
linearised per arm as ``y = R + (num - R·den) / mean(den)`` — a linear transform of the ``(num, den)``
columns, so its moments (and its cross-products with covariates, for CUPED) follow from the moments of
``num``, ``den`` and the covariates (:func:`~recsys_causal.kernel.arm_moments.linearized_ratio`).

>>> import numpy as np
>>> from recsys_causal.kernel.arm_moments import ArmMoments
>>> arm = ArmMoments.from_array(np.array([[1.0, 10.0], [3.0, 10.0], [2.0, 20.0]]), ("num", "den"))
>>> m = Ratio("ctr", numerator="num", denominator="den")
>>> t, c, method, _ = m.summaries(arm, arm, ())
>>> round(t.mean, 4), method
(0.15, 'ratio delta')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recsys_causal.errors import ConfigError
from recsys_causal.experiments.means import PROPORTION_METHOD
from recsys_causal.experiments.metric_base import Metric
from recsys_causal.kernel.arm_moments import RATIO_COLUMN, ArmMoments, linearized_ratio


@dataclass(frozen=True, kw_only=True)
class Mean(Metric, kind="mean"):
    """Mean of ``column`` (default: the metric's name), Welch t with Welch–Satterthwaite degrees of freedom."""

    column: str | None = None

    @property
    def columns(self) -> list[str]:
        return [self.column or self.name]


@dataclass(frozen=True, kw_only=True)
class Proportion(Mean, kind="proportion"):
    """Share of units with ``column`` = 1 (the mean of 0/1 values; ``s² / n`` variance, Welch reference)."""

    method = PROPORTION_METHOD


@dataclass(frozen=True, kw_only=True)
class Ratio(Metric, kind="ratio"):
    """``Σ numerator / Σ denominator`` per arm (e.g. CTR = clicks / impressions), delta method."""

    method = "ratio delta"
    numerator: str | None = None
    denominator: str | None = None

    def validate(self) -> None:
        if not (self.numerator and self.denominator):
            raise ConfigError(f"ratio metric {self.name!r} needs numerator and denominator columns")

    @property
    def columns(self) -> list[str]:
        return [self.numerator, self.denominator]

    def outcome(self, arm: ArmMoments) -> tuple[ArmMoments, str]:
        return linearized_ratio(arm, self.numerator, self.denominator, RATIO_COLUMN), RATIO_COLUMN

    def unit_outcome(self, values: Mapping[str, np.ndarray], arms: Sequence[np.ndarray]) -> np.ndarray:
        from recsys_causal.experiments.ratio import linearize

        num, den = values[self.numerator], values[self.denominator]
        y = np.full(len(num), np.nan)
        for m in arms:
            if m.any() and den[m].sum() != 0:
                y[m] = linearize(num[m], den[m])
        return y


__all__ = ["Mean", "Proportion", "Ratio"]
