"""Incrementality holdouts: a module (recommendation widget, email, push) withheld from a random holdout.

Each unit has a latent propensity to reach the module. Treated units that reach it are exposed; holdout units
that would have reached it are logged as ghost exposures. Exposure lifts conversion probability by
``effect_on_exposed`` (absolute), so the effect on the exposed is known exactly and the intent-to-treat effect
is ``effect_on_exposed × exposure rate``. Attribution credits every conversion of an exposed unit (last-touch
style), which over-credits the module by design.

>>> h = simulate_holdout(n_units=1000, seed=0)
>>> set(h.units["group"]) == {"holdout", "treated"}
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SimulatedHoldout:
    units: pd.DataFrame  # unit_id, group, exposed, ghost_exposed, converted, revenue, attributed, pre_conversions
    effect_on_exposed: float
    exposure_rate: float  # expected share of units that reach the module
    revenue_per_conversion: float

    @property
    def true_itt(self) -> float:
        return self.effect_on_exposed * self.exposure_rate


def simulate_holdout(
    n_units: int = 100_000, *, holdout_share: float = 0.1, exposure_rate: float = 0.3, base_rate: float = 0.05,
    effect_on_exposed: float = 0.02, revenue_per_conversion: float = 40.0, cost_per_exposure: float = 0.1,
    seed: int = 0,
) -> SimulatedHoldout:
    """Simulate a holdout with partial exposure and logged ghost exposures."""
    rng = np.random.default_rng(seed)
    holdout = rng.random(n_units) < holdout_share
    reach = rng.random(n_units) < exposure_rate
    # units that reach the module convert more often anyway (selection), which is why exposed-vs-unexposed lies
    baseline = np.clip(base_rate * np.where(reach, 1.6, 1.0 - 0.6 * exposure_rate / (1 - exposure_rate)), 0, 1)
    exposed = reach & ~holdout
    p = np.clip(baseline + effect_on_exposed * exposed, 0, 1)
    converted = (rng.random(n_units) < p).astype(float)
    pre = rng.poisson(baseline * 20)
    units = pd.DataFrame({
        "unit_id": np.char.add("u", np.arange(n_units).astype(str)),
        "group": np.where(holdout, "holdout", "treated"),
        "exposed": exposed,
        "ghost_exposed": reach & holdout,
        "converted": converted,
        "revenue": converted * revenue_per_conversion,
        "attributed": converted * exposed,
        "cost": exposed * cost_per_exposure,
        "pre_conversions": pre.astype(float),
    })
    return SimulatedHoldout(units, effect_on_exposed, exposure_rate, revenue_per_conversion)
