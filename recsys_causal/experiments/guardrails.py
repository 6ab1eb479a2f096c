"""Guardrail metrics: non-inferiority tests with a three-way verdict (the rule is
:func:`recsys_causal.kernel.guardrail.noninferiority`).

A guardrail names a metric, which direction is harmful, and a tolerated margin ``m >= 0`` (absolute, or
relative to the control mean). It is **ok** when the one-sided ``1 - alpha`` upper bound of the harm is below
``m``, **violated** when the lower bound is above ``m``, and **inconclusive** otherwise. Each guardrail is
tested at ``alpha`` without multiplicity correction: a launch needs *every* guardrail ok, an
intersection–union test whose error of wrongly passing is at most alpha.

>>> from recsys_causal.estimate import Estimate, reference_distribution
>>> g = Guardrail("latency", direction="increase_is_bad", margin=0.02)
>>> g.verdict(Estimate.from_normal(name="x", value=0.001, se=0.005, n=100, method="m"))
'ok'
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate
from recsys_causal.kernel.guardrail import DIRECTIONS, GuardrailResult, check_direction, noninferiority

__all__ = ["DIRECTIONS", "Guardrail"]


@dataclass(frozen=True)
class Guardrail:
    """A guardrail on ``metric`` (a name from the metrics list or a column of the unit table).

    ``relative=True`` means the margin and the test are on relative lift (fraction of the control mean).
    """

    metric: str
    direction: str = "decrease_is_bad"
    margin: float = 0.0
    relative: bool = True
    alpha: float = 0.05

    def __post_init__(self) -> None:
        check_direction(self.direction, f"guardrail {self.metric!r}")
        if not np.isfinite(self.margin) or not 0 < self.alpha < 1:
            raise ConfigError(f"guardrail {self.metric!r}: margin must be finite and alpha in (0, 1), got margin "
                              f"{self.margin}, alpha {self.alpha}", fix="give a finite margin and a level such as 0.05")
        if self.margin < 0:
            raise ConfigError(f"guardrail {self.metric!r}: margin must be >= 0 (a tolerated harm), got {self.margin}",
                              fix="give the margin as a positive amount of tolerated harm")

    def result(self, est: Estimate) -> GuardrailResult:
        """The kernel's non-inferiority evaluation of one lift estimate."""
        return noninferiority(est, direction=self.direction, margin=self.margin, alpha=self.alpha)

    def harm_bounds(self, est: Estimate) -> tuple[float, float, float]:
        """(harm estimate, one-sided lower bound, one-sided upper bound) of the harmful-direction effect (Student
        t with the estimate's ``details["df"]`` when it has them, else normal)."""
        r = self.result(est)
        return r.harm, r.harm_lower, r.harm_upper

    def verdict(self, est: Estimate) -> str:
        """'ok', 'violated' or 'inconclusive' for one lift estimate (see the module docstring for the rule)."""
        return self.result(est).verdict

    def evaluate(self, est: Estimate) -> Estimate:
        """The estimate with the verdict, margin, non-inferiority p-value and bounds in ``details``."""
        r = self.result(est)
        return replace(est, details={
            **est.details, "guardrail": self.metric, "direction": self.direction, "margin": self.margin,
            "margin_scale": "relative" if self.relative else "absolute", "harm": r.harm, "harm_lower": r.harm_lower,
            "harm_upper": r.harm_upper, "p_noninferiority": r.p_noninferiority, "verdict": r.verdict})
