"""What an inconclusive lift would need: the minimum detectable effect (MDE) at the current sample, and the
units (and days, at the enrolment rate seen so far) for the planned power to detect the planned effect.

Normal approximation with the standard error of the readout itself: ``MDE = (z_{1-alpha/2} + z_power) * se``;
the standard error falls as ``1 / sqrt(n)`` when the experiment keeps running with the same split, so
``n_needed = n * (MDE / planned_effect)^2``.

>>> round(mde(0.01, alpha=0.05, power=0.8), 6)
0.028016
>>> units_needed(n=1000, se=0.01, effect=0.014, alpha=0.05, power=0.8)
4005
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats


def mde(se: float, *, alpha: float, power: float = 0.8) -> float:
    """Smallest true effect a two-sided test at ``alpha`` with standard error ``se`` detects with ``power``."""
    return float((stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)) * se)


def units_needed(*, n: int, se: float, effect: float, alpha: float, power: float = 0.8) -> int:
    """Units in total (same split) for the test to detect ``effect`` with ``power``, from ``n`` units now and
    their standard error ``se``."""
    return int(math.ceil(round(n * (mde(se, alpha=alpha, power=power) / abs(effect)) ** 2, 6)))


def daily_rate(first_exposure: pd.Series) -> float | None:
    """Units enrolled per day: the number of units over the days between the first and the last first exposure
    (``None`` when they span less than a day, so no rate can be read).

    >>> daily_rate(pd.Series(pd.to_datetime(["2026-06-01", "2026-06-03", "2026-06-05"])))
    0.75
    """
    t = pd.to_datetime(first_exposure.dropna())
    if t.empty:
        return None
    days = (t.max() - t.min()) / pd.Timedelta(days=1)
    return None if days < 1 else float(len(t) / days)


def plan_row(row: dict, *, alpha: float, power: float, effect: float | None, rate: float | None) -> dict:
    """The sample-size entry of one inconclusive metric row (its ``se`` and ``n``): MDE now and, with a planned
    ``effect``, units and days still needed (0 when the sample already suffices)."""
    n, se = int(row["n"]), float(row["se"])
    out = {"metric": row.get("metric"), "variant": row.get("variant"), "lift": row.get("lift"), "n": n, "se": se,
           "power": power, "alpha": alpha, "mde": mde(se, alpha=alpha, power=power), "planned_effect": effect,
           "units_needed": None, "more_units": None, "units_per_day": rate, "more_days": None}
    if effect:
        need = units_needed(n=n, se=se, effect=effect, alpha=alpha, power=power)
        more = max(0, need - n)
        out.update(units_needed=need, more_units=more,
                   more_days=None if rate is None else int(math.ceil(round(more / rate, 6))))
    return out
