"""Experiments with imperfect take-up and known complier heterogeneity.

Units are randomly assigned (``assigned``); only some of the assigned take the feature up (``taken_up``: they
open the widget, join the programme, see the module). Each unit has a compliance type drawn from a latent
``U ~ Uniform(0, 1)``: complier when ``U < π(segment, active)``, always-taker when the next ``always_taker_rate``
of the unit interval holds ``U``, never-taker otherwise. Compliers have a higher baseline outcome, so comparing
takers with non-takers is confounded; assignment is a valid instrument.

The unit effect of take-up is ``τ(X) = segment_effect[segment] + slope_x1 · x1 + effect_active · active`` and
depends on covariates only, so the conditional complier effect equals ``τ(X)`` and every target is exact:

- complier effect in segment ``s``: ``segment_effect[s] + effect_active · P(active | complier, s)`` with
  ``P(active | complier, s) = q π(s, 1) / (q π(s, 1) + (1 − q) π(s, 0))`` (``x1`` is independent of type);
- complier average: the segment effects weighted by ``share_s · P(complier | s)``.

>>> sim = simulate_takeup(n_units=1000, seed=0)
>>> sorted(sim.units.columns)[:4]
['active', 'assigned', 'outcome', 'pre_spend']
>>> round(sim.true_segment_effects["new"], 4)  # 0.5 + 0.5 × 0.3 / 0.45
0.8333
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SimulatedTakeup:
    """Unit table (``unit_id, segment, active, x1, pre_spend, assigned, taken_up, outcome, true_effect``) and
    the exact complier effects by segment and overall."""

    units: pd.DataFrame
    true_segment_effects: dict[str, float]
    true_complier_effect: float
    complier_share: float

    def true_difference(self, segment: str, reference: str) -> float:
        """Exact difference of two segments' complier effects."""
        return self.true_segment_effects[segment] - self.true_segment_effects[reference]


def simulate_takeup(
    n_units: int = 5000,
    *,
    assignment_share: float = 0.5,
    segments: Sequence[str] = ("new", "casual", "loyal"),
    segment_shares: Sequence[float] = (0.3, 0.4, 0.3),
    segment_effects: Sequence[float] = (0.5, 1.0, 2.0),
    takeup: Sequence[tuple[float, float]] = ((0.3, 0.6), (0.4, 0.7), (0.5, 0.8)),
    active_share: float = 0.5,
    effect_active: float = 0.5,
    slope_x1: float = 1.0,
    always_taker_rate: float = 0.0,
    selection: float = 1.0,
    noise: float = 1.0,
    seed: int = 0,
) -> SimulatedTakeup:
    """Simulate ``n_units`` units; ``takeup[k] = (π(segment k, inactive), π(segment k, active))`` are the complier
    shares. ``selection`` is the baseline gap of compliers over the others (the confounding of take-up)."""
    pi = np.asarray(takeup, dtype=float)
    shares = np.asarray(segment_shares, dtype=float)
    if pi.shape != (len(segments), 2) or len(shares) != len(segments) or len(segment_effects) != len(segments):
        raise ValueError("segments, segment_shares, segment_effects and takeup must have one entry per segment")
    if np.any(pi + always_taker_rate > 1) or np.any(pi < 0) or not np.isclose(shares.sum(), 1):
        raise ValueError("complier shares plus always_taker_rate must lie in [0, 1]; segment_shares must sum to 1")
    rng = np.random.default_rng([seed, 20])  # a stream of its own: not the analysis's default_rng(seed)
    seg = rng.choice(len(segments), size=n_units, p=shares)
    active = (rng.random(n_units) < active_share).astype(int)
    x1 = rng.normal(size=n_units)
    u = rng.random(n_units)
    p_c = pi[seg, active]
    complier, always = u < p_c, (u >= p_c) & (u < p_c + always_taker_rate)
    assigned = rng.random(n_units) < assignment_share
    taken = (complier & assigned) | always
    latent = rng.normal(size=n_units)
    pre_spend = latent + 0.5 * rng.normal(size=n_units)
    tau = np.asarray(segment_effects, float)[seg] + slope_x1 * x1 + effect_active * active
    y0 = 1.0 + latent + 0.3 * active + selection * complier + noise * rng.normal(size=n_units)
    units = pd.DataFrame({
        "unit_id": np.char.add("u", np.arange(n_units).astype(str)),
        "segment": np.asarray(segments, dtype=object)[seg],
        "active": active, "x1": x1, "pre_spend": pre_spend,
        "assigned": assigned, "taken_up": taken, "outcome": y0 + tau * taken, "true_effect": tau,
    })
    by_seg, overall, share = _truth(pi, shares, segment_effects, active_share, effect_active)
    return SimulatedTakeup(units, dict(zip(segments, by_seg, strict=True)), overall, share)


def _truth(pi: np.ndarray, shares: np.ndarray, effects: Sequence[float], q: float,
           effect_active: float) -> tuple[list[float], float, float]:
    """Exact complier effects by segment, the complier average and the complier share."""
    c = q * pi[:, 1] + (1 - q) * pi[:, 0]  # P(complier | segment)
    p_active = np.divide(q * pi[:, 1], c, out=np.zeros_like(c), where=c > 0)
    by_seg = np.asarray(effects, float) + effect_active * p_active
    w = shares * c
    return [float(v) for v in by_seg], float(np.sum(w * by_seg) / w.sum()), float(w.sum())
