"""A holdout experiment as a decision log: treated units see the module's slate, holdout units' slates are
logged as suppressed (ghost exposures), so exposure and ghost exposure come from the log itself.

Units and their true effect follow :func:`~recsys_causal.simulate.holdout.simulate_holdout` (a unit that
reaches the module converts ``effect_on_exposed`` more often when shown it). Every unit makes one ``browse``
request on day 0–2 (one item shown, not the module); a unit that reaches the module also makes a ``home``
request the same day, where the ranker
logs a slate of ``slate_size`` items: shown for treated units, ``suppressed`` (not shown) for holdout units.
The unit's conversion is logged as ``orders`` on its browse request. ``pre_conversions`` is in ``pre_period``.

>>> sim = simulate_holdout_log(n_units=500, seed=0)
>>> sim.log.n_requests > 500, sorted(sim.log.requests["surface"].unique())
(True, ['browse', 'home'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys_causal.logs.model import DecisionLog
from recsys_causal.simulate.holdout import SimulatedHoldout, simulate_holdout

START = pd.Timestamp("2026-05-01", tz="UTC")


@dataclass(frozen=True)
class SimulatedHoldoutLog:
    """The log, the pre-period table (``user_id``, ``pre_conversions``), the simulated holdout it encodes (its
    unit table and exact effects) and the ``as_of`` that closes every 7-day window."""

    log: DecisionLog
    pre_period: pd.DataFrame
    holdout: SimulatedHoldout
    as_of: pd.Timestamp

    @property
    def effect_on_exposed(self) -> float:
        return self.holdout.effect_on_exposed

    @property
    def true_itt(self) -> float:
        return self.holdout.true_itt


def simulate_holdout_log(
    n_units: int = 20_000, *, holdout_share: float = 0.1, exposure_rate: float = 0.3, base_rate: float = 0.05,
    effect_on_exposed: float = 0.02, slate_size: int = 3, seed: int = 0,
) -> SimulatedHoldoutLog:
    """Simulate the holdout's decision log (see the module docstring); ``as_of`` closes every 7-day window."""
    h = simulate_holdout(n_units, holdout_share=holdout_share, exposure_rate=exposure_rate, base_rate=base_rate,
                         effect_on_exposed=effect_on_exposed, seed=seed)
    u = h.units
    rng = np.random.default_rng(seed + 1)
    day = pd.to_timedelta(rng.integers(0, 3, n_units), unit="D") + pd.to_timedelta(
        rng.integers(0, 36_000, n_units), unit="s")
    reach = (u["exposed"] | u["ghost_exposed"]).to_numpy()
    browse = pd.DataFrame({"request_id": np.char.add("b", np.arange(n_units).astype(str)),
                           "decision_time": START + day, "user_id": u["unit_id"], "variant": u["group"],
                           "surface": "browse", "orders": u["converted"]})
    home_units = np.nonzero(reach)[0]
    home = pd.DataFrame({"request_id": np.char.add("h", home_units.astype(str)),
                         "decision_time": START + day[home_units] + pd.Timedelta(minutes=5),
                         "user_id": u["unit_id"].to_numpy()[home_units], "variant": u["group"].to_numpy()[home_units],
                         "surface": "home", "orders": 0.0})
    requests = pd.concat([browse, home], ignore_index=True)
    held = (u["group"].to_numpy() == "holdout")[home_units]
    rid = np.concatenate([browse["request_id"].to_numpy(), np.repeat(home["request_id"].to_numpy(), slate_size)])
    shown = np.concatenate([np.ones(n_units, dtype=bool), np.repeat(~held, slate_size)])
    k = np.concatenate([np.ones(n_units), np.tile(np.arange(1.0, slate_size + 1), home_units.size)])
    start = np.repeat(rng.integers(0, 500, n_units + home_units.size),
                      np.concatenate([np.ones(n_units, dtype=int), np.full(home_units.size, slate_size)]))
    item = (start + k.astype(int) - 1) % 500  # consecutive items from a random start: unique within a request
    candidates = pd.DataFrame({"request_id": rid, "item_id": np.char.add("i", item.astype(str)),
                               "shown": shown, "suppressed": np.concatenate([np.zeros(n_units, dtype=bool),
                                                                             np.repeat(held, slate_size)]),
                               "position": k, "propensity": 1.0})
    log = DecisionLog.from_frames(requests, candidates, reward_columns=(), source="simulated holdout log")
    pre_period = u[["unit_id", "pre_conversions"]].rename(columns={"unit_id": "user_id"})
    return SimulatedHoldoutLog(log, pre_period, h, START + pd.Timedelta(days=10))
