"""Guardrails of a screen: a reward whose harm must stay below a margin, tested for non-inferiority.

The harm is the lift in the bad direction (``sign · lift``, ``sign = +1`` when an increase is bad). With one-sided
level ``alpha`` (``z = Φ⁻¹(1 − alpha)``) a guardrail is **ok** when ``H0: harm ≥ margin`` is rejected, **violated**
when ``H0: harm ≤ margin`` is rejected, else **inconclusive**; the p-values are adjusted across the guardrails
of a candidate (``multiplicity``). :func:`guardrail_rows` is the one evaluation the screen calls.

>>> from recsys_causal.estimate import Estimate
>>> e = Estimate.from_normal(name="hide", value=-0.1, se=0.05, n=1000, method="DR", alpha=0.1)
>>> row = guardrail_rows([e], [Guardrail("hide", "increase_is_bad", 0.05)], alpha=0.05, multiplicity="holm")[0]
>>> row["verdict"], round(row["p_noninferiority"], 6)
('ok', 0.00135)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from recsys_causal.errors import ConfigError
from recsys_causal.estimate import Estimate
from recsys_causal.gate.results import json_number
from recsys_causal.kernel.guardrail import DIRECTIONS, noninferiority, verdict_from_pvalues
from recsys_causal.kernel.multiplicity import adjust_pvalues
from recsys_causal.ope.evaluate import reward_label


@dataclass(frozen=True)
class Guardrail:
    """A guardrail of the screen: ``reward`` (column or weighted composite), ``direction``
    (``increase_is_bad`` / ``decrease_is_bad``), ``margin`` of tolerated harm, on the ``relative`` lift."""

    reward: str | Mapping[str, float]
    direction: str  # increase_is_bad | decrease_is_bad
    margin: float
    relative: bool = True

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"guardrail {self.label!r}: direction {self.direction!r} is not one of "
                              "'increase_is_bad', 'decrease_is_bad'", column="direction")
        if not (isinstance(self.margin, int | float) and math.isfinite(self.margin) and self.margin >= 0):
            raise ConfigError(f"guardrail {self.label!r}: margin must be a finite number >= 0, got {self.margin!r}",
                              column="margin", fix="e.g. margin=0.05 (a 5% relative harm is tolerated)")

    @property
    def label(self) -> str:
        return reward_label(self.reward)


def guardrail_rows(lifts: Sequence[Estimate], guardrails: Sequence[Guardrail], *, alpha: float,
                   multiplicity: str) -> list[dict]:
    """The non-inferiority test of each guardrail from its lift estimate (value and standard error), adjusted
    for multiplicity across the guardrails: one JSON-ready row per guardrail (the test is the kernel's
    :func:`~recsys_causal.kernel.guardrail.noninferiority`, normal reference)."""
    rows = []
    for e, g in zip(lifts, guardrails, strict=True):
        r = noninferiority(e, direction=g.direction, margin=g.margin, alpha=alpha)
        rows.append({"reward": g.label, "direction": g.direction, "margin": g.margin, "relative": g.relative,
                     "harm": json_number(r.harm), "harm_lower": json_number(r.harm_lower),
                     "harm_upper": json_number(r.harm_upper), "p_noninferiority": r.p_noninferiority,
                     "p_violation": r.p_violation})
    if rows:
        adj_ni = adjust([r["p_noninferiority"] for r in rows], multiplicity)
        adj_v = adjust([r["p_violation"] for r in rows], multiplicity)
        for r, a, b in zip(rows, adj_ni, adj_v, strict=True):
            r["p_noninferiority_adjusted"], r["p_violation_adjusted"] = float(a), float(b)
            r["verdict"] = verdict_from_pvalues(a, b, alpha)
    return rows


def adjust(p_values: list[float], multiplicity: str) -> np.ndarray:
    """P-values adjusted across a family (``"none"`` leaves them as they are)."""
    p = np.asarray(p_values, dtype=float)
    return p if multiplicity == "none" else adjust_pvalues(p, multiplicity)
