"""Holdout planning: the smallest effect a holdout can detect.

For a conversion rate ``p``, ``n`` units of which a share ``h`` is held out, the minimum detectable ITT effect
at two-sided level ``alpha`` and power ``1 - beta`` is ``(z_{1-alpha/2} + z_{1-beta}) · sqrt(p(1-p)(1/(n h) +
1/(n (1-h))))``; on the exposed it is that divided by the exposure rate.

>>> r = holdout_mde(n_units=1_000_000, holdout_share=0.1, exposure_rate=0.3, baseline_rate=0.05)
>>> round(r["mde_itt_absolute"], 5)
0.00204
"""

from __future__ import annotations

import math

from scipy import stats

from recsys_causal.errors import ConfigError


def holdout_mde(n_units: int, holdout_share: float, exposure_rate: float, baseline_rate: float, *,
                alpha: float = 0.05, power: float = 0.8) -> dict[str, float]:
    """Minimum detectable effects (absolute and relative; ITT and on the exposed)."""
    itt = _detectable_itt_per_unit(holdout_share, exposure_rate, baseline_rate, alpha, power) / math.sqrt(n_units)
    return {
        "mde_itt_absolute": itt,
        "mde_itt_relative": itt / baseline_rate,
        "mde_exposed_absolute": itt / exposure_rate,
        "mde_exposed_relative": itt / exposure_rate / baseline_rate,
    }


def holdout_units_needed(mde_exposed_absolute: float, holdout_share: float, exposure_rate: float,
                         baseline_rate: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units needed to detect ``mde_exposed_absolute`` on the exposed (the inverse of :func:`holdout_mde`).

    >>> holdout_units_needed(0.0064, 0.1, 0.3, 0.05) > 900_000
    True
    """
    itt = mde_exposed_absolute * exposure_rate
    return math.ceil((_detectable_itt_per_unit(holdout_share, exposure_rate, baseline_rate, alpha, power) / itt) ** 2)


def _detectable_itt_per_unit(holdout_share: float, exposure_rate: float, baseline_rate: float, alpha: float,
                             power: float) -> float:
    """``(z_{1-alpha/2} + z_power) · sqrt(p(1-p)(1/h + 1/(1-h)))``: the detectable ITT with one unit in all, so
    that ``n`` units detect this divided by ``sqrt(n)``."""
    if not (0 < holdout_share < 1 and 0 < exposure_rate <= 1 and 0 < baseline_rate < 1):
        raise ConfigError(f"holdout_share and baseline_rate must be in (0, 1), exposure_rate in (0, 1]; got "
                          f"{holdout_share!r}, {baseline_rate!r} and {exposure_rate!r}",
                          fix="give shares and rates as fractions, e.g. holdout_share=0.1, baseline_rate=0.05")
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return z * math.sqrt(baseline_rate * (1 - baseline_rate) * (1 / holdout_share + 1 / (1 - holdout_share)))
