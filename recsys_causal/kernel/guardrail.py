"""The one guardrail evaluation: a non-inferiority test of a lift with a three-way verdict.

A guardrail names which direction of a lift is harmful and a tolerated margin ``m >= 0`` (on the scale of the
estimate: absolute, or relative to the control mean). Write the effect in the harmful direction,
``h = +lift`` if an increase is bad and ``h = -lift`` if a decrease is bad. With the one-sided ``1 - alpha``
bounds of ``h`` (Student t with the estimate's ``details["df"]`` when it has them, else normal):

* **ok** — the upper bound of ``h`` is below ``m`` (non-inferiority shown: ``H0: h >= m`` rejected at alpha);
* **violated** — the lower bound of ``h`` is above ``m`` (harm beyond the margin shown: ``H0: h <= m``
  rejected at alpha);
* **inconclusive** — otherwise (the interval contains the margin; collect more data).

``p_noninferiority`` and ``p_violation`` are the one-sided p-values of those two tests; a caller that adjusts
them across several guardrails decides with :func:`verdict_from_pvalues`. Every guardrail spec (the A/B
readout's :class:`~recsys_causal.experiments.Guardrail`, the pre-launch gate's) calls :func:`noninferiority`.

>>> from recsys_causal.estimate import Estimate
>>> r = noninferiority(Estimate.from_normal(name="x", value=0.001, se=0.005, n=100, method="m"),
...                    direction="increase_is_bad", margin=0.02, alpha=0.05)
>>> r.verdict, round(r.harm_upper, 6), round(r.p_noninferiority, 6)
('ok', 0.009224, 7.2e-05)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate, reference_distribution

DIRECTIONS = ("increase_is_bad", "decrease_is_bad")


@dataclass(frozen=True)
class GuardrailResult:
    """Harm ``h`` (the lift signed so that positive is harmful), its one-sided bounds, the one-sided p-values of
    non-inferiority (``H0: h >= margin``) and of violation (``H0: h <= margin``) and the verdict."""

    direction: str
    margin: float
    harm: float
    harm_lower: float
    harm_upper: float
    p_noninferiority: float
    p_violation: float
    verdict: str

    def to_dict(self) -> dict:
        return asdict(self)


def check_direction(direction: str, what: str = "guardrail") -> None:
    """Raise :class:`ConfigError` unless ``direction`` is one of :data:`DIRECTIONS`."""
    if direction not in DIRECTIONS:
        raise ConfigError(f"{what}: direction must be one of {DIRECTIONS}, got {direction!r}",
                          fix="use 'increase_is_bad' or 'decrease_is_bad'")


def verdict_from_pvalues(p_noninferiority: float, p_violation: float, alpha: float) -> str:
    """``ok`` when non-inferiority is shown at ``alpha``, ``violated`` when harm beyond the margin is, else
    ``inconclusive`` (for p-values adjusted across several guardrails)."""
    if p_noninferiority < alpha:
        return "ok"
    if p_violation < alpha:
        return "violated"
    return "inconclusive"


def noninferiority(estimate: Estimate, *, direction: str, margin: float, alpha: float = 0.05,
                   df: float | None = None) -> GuardrailResult:
    """Non-inferiority evaluation of one lift ``estimate`` (value and se on the margin's scale); ``df``
    overrides ``estimate.details["df"]`` (``None`` in both: normal reference). With ``se = 0`` the verdict and
    the p-values (0 or 1) follow the point estimate; a NaN estimate gives NaN p-values."""
    check_direction(direction)
    dist = reference_distribution(df if df is not None else estimate.details.get("df"))
    z = float(dist.ppf(1 - alpha))
    h = (1.0 if direction == "increase_is_bad" else -1.0) * estimate.value
    lo, hi = h - z * estimate.se, h + z * estimate.se
    stat = (h - margin) / estimate.se if estimate.se > 0 else (math.inf if h > margin else -math.inf)
    p_ni, p_v = (float(dist.cdf(stat)), float(dist.sf(stat))) if not math.isnan(stat) else (math.nan, math.nan)
    verdict = "ok" if hi < margin else "violated" if lo > margin else "inconclusive"
    return GuardrailResult(direction, float(margin), float(h), float(lo), float(hi), p_ni, p_v, verdict)


def harm_bounds(estimate: Estimate, *, direction: str, alpha: float) -> tuple[float, float, float]:
    """(harm, one-sided lower bound, one-sided upper bound) of :func:`noninferiority`."""
    r = noninferiority(estimate, direction=direction, margin=0.0, alpha=alpha)
    return r.harm, r.harm_lower, r.harm_upper


__all__ = ["DIRECTIONS", "GuardrailResult", "check_direction", "harm_bounds", "noninferiority",
           "verdict_from_pvalues"]
