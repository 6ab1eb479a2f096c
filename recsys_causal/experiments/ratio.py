"""Ratio metrics (e.g. CTR = clicks / impressions summed per arm) with delta-method intervals.

Per arm ``R = sum(num) / sum(den)`` over randomisation units. The delta method linearises each unit to
``num_i - R * den_i`` divided by ``mean(den)``; the variance of ``R`` is the variance of the mean of these
values. :func:`linearize` returns ``R + (num_i - R den_i) / mean(den)`` whose arm mean equals ``R`` exactly, so
the same values feed CUPED for ratio metrics.

>>> import numpy as np
>>> e = ratio_lift(np.array([2.0, 3.0]), np.array([10.0, 10.0]), np.array([1.0, 1.0]), np.array([10.0, 10.0]))
>>> round(e.value, 3)
0.15
"""

from __future__ import annotations

import numpy as np

from recsys_causal.estimate import Estimate
from recsys_causal.kernel.arm_moments import ArmMoments, ratio_arm
from recsys_causal.kernel.contrast import ArmMean, lift_from_arms, welch_df


def linearize(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Per-unit linearised ratio whose mean is ``sum(num) / sum(den)`` (units with NaN dropped by the caller)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    dbar = den.mean()
    r = num.sum() / den.sum()
    return r + (num - r * den) / dbar


def arm_ratio(num: np.ndarray, den: np.ndarray) -> ArmMean:
    """Ratio of sums of one arm with its delta-method variance (units with NaN dropped)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    ok = np.isfinite(num) & np.isfinite(den)
    return ratio_arm(ArmMoments.from_array(np.column_stack([num[ok], den[ok]]), ("num", "den")), "num", "den")


def ratio_lift(
    num_treatment: np.ndarray, den_treatment: np.ndarray, num_control: np.ndarray, den_control: np.ndarray, *,
    name: str = "lift", relative: bool = False, alpha: float = 0.05,
) -> Estimate:
    """Absolute or relative lift of a ratio-of-sums metric between two arms (delta method; t reference with
    Welch–Satterthwaite degrees of freedom on the linearised values; Fieller interval for the relative lift)."""
    t = arm_ratio(num_treatment, den_treatment)
    c = arm_ratio(num_control, den_control)
    return lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method="ratio delta", df=welch_df(t, c))
