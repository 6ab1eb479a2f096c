"""Guardrail metrics: non-inferiority tests with a three-way verdict.

A guardrail names a metric, which direction is harmful, and a tolerated margin ``m >= 0`` (absolute, or
relative to the control mean). Write the effect in the harmful direction, ``h = +lift`` if an increase is
bad and ``h = -lift`` if a decrease is bad. With the one-sided ``1 - alpha`` bounds of ``h``:

* **ok** — the upper bound of ``h`` is below ``m`` (non-inferiority shown: ``H0: h >= m`` rejected at alpha);
* **violated** — the lower bound of ``h`` is above ``m`` (harm beyond the margin shown: ``H0: h <= m``
  rejected at alpha);
* **inconclusive** — otherwise (the interval contains the margin; collect more data).

Each guardrail is tested at ``alpha`` without multiplicity correction: a launch needs *every* guardrail ok,
an intersection–union test whose error of wrongly passing is at most alpha.

>>> from recsys_causal.estimate import Estimate, reference_distribution
>>> g = Guardrail("latency", direction="increase_is_bad", margin=0.02)
>>> g.verdict(Estimate.from_normal(name="x", value=0.001, se=0.005, n=100, method="m"))
'ok'
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate, reference_distribution

DIRECTIONS = ("increase_is_bad", "decrease_is_bad")


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
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"guardrail {self.metric!r}: direction must be one of {DIRECTIONS}, got "
                              f"{self.direction!r}", fix="use 'increase_is_bad' or 'decrease_is_bad'")
        if not np.isfinite(self.margin) or not 0 < self.alpha < 1:
            raise ConfigError(f"guardrail {self.metric!r}: margin must be finite and alpha in (0, 1), got margin "
                              f"{self.margin}, alpha {self.alpha}", fix="give a finite margin and a level such as 0.05")
        if self.margin < 0:
            raise ConfigError(f"guardrail {self.metric!r}: margin must be >= 0 (a tolerated harm), got {self.margin}",
                              fix="give the margin as a positive amount of tolerated harm")

    def harm_bounds(self, est: Estimate) -> tuple[float, float, float]:
        """(harm estimate, one-sided lower bound, one-sided upper bound) of the harmful-direction effect.

        The bounds use Student's t with the estimate's degrees of freedom (``details["df"]``, e.g. Welch–
        Satterthwaite) when it has them, else the normal quantile.
        """
        sign = 1.0 if self.direction == "increase_is_bad" else -1.0
        z = float(reference_distribution(est.details.get("df")).ppf(1 - self.alpha))
        h = sign * est.value
        return h, h - z * est.se, h + z * est.se

    def verdict(self, est: Estimate) -> str:
        """'ok', 'violated' or 'inconclusive' for one lift estimate (see the module docstring for the rule)."""
        _, lo, hi = self.harm_bounds(est)
        if hi < self.margin:
            return "ok"
        if lo > self.margin:
            return "violated"
        return "inconclusive"

    def evaluate(self, est: Estimate) -> Estimate:
        """The estimate with the verdict, margin, non-inferiority p-value and bounds in ``details``."""
        h, lo, hi = self.harm_bounds(est)
        p_ni = float(reference_distribution(est.details.get("df")).cdf((h - self.margin) / est.se)) if est.se > 0 else float("nan")
        return replace(est, details={
            **est.details, "guardrail": self.metric, "direction": self.direction, "margin": self.margin,
            "margin_scale": "relative" if self.relative else "absolute", "harm": h, "harm_lower": lo,
            "harm_upper": hi, "p_noninferiority": p_ni, "verdict": self.verdict(est)})

