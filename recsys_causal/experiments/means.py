"""Difference in means (Welch t), proportions, and relative lift (Fieller interval); optionally cluster-robust.

The arithmetic lives in the inference kernel (:mod:`recsys_causal.kernel.contrast`, whose names are re-exported
here): absolute lift with the Welch standard error and Welch–Satterthwaite degrees of freedom, relative lift
``mean_t / mean_c - 1`` with the p-value of the absolute contrast, the delta-method ``se`` and Fieller's
interval. When the analysis unit is finer than the randomisation unit (e.g. requests of randomised users),
pass ``clusters_*`` and the arm variances become cluster-robust (normal reference). With fewer than
:data:`MIN_UNITS_PER_ARM` units (or clusters) in an arm every lift carries a warning.

>>> import numpy as np
>>> e = mean_lift(np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0]), name="x")
>>> e.value, round(e.se, 4)
(2.0, 1.291)
"""

from __future__ import annotations

import numpy as np

from recsys_causal.estimate import Estimate
from recsys_causal.kernel.contrast import (
    MIN_UNITS_PER_ARM,
    ArmMean,
    arm_mean,
    lift_from_arms,
    reference_quantile,
    relative_lift,
    small_sample_warning,
    welch_df,
)

#: Method label of a proportion lift (the one proportion formula, shared with ``analyze_ab``).
PROPORTION_METHOD = "proportion (welch)"


def mean_lift(
    treatment: np.ndarray, control: np.ndarray, *, name: str = "lift", relative: bool = False, alpha: float = 0.05,
    clusters_treatment: np.ndarray | None = None, clusters_control: np.ndarray | None = None,
) -> Estimate:
    """Welch difference in means (or relative lift) between two arms.

    >>> import numpy as np
    >>> round(mean_lift(np.array([2.0, 4.0]), np.array([1.0, 3.0]), relative=True).value, 3)
    0.5
    """
    t = arm_mean(treatment, clusters_treatment)
    c = arm_mean(control, clusters_control)
    method = "welch" if clusters_treatment is None else "cluster-robust"
    return lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method=method, df=welch_df(t, c))


def proportion_lift(
    treatment: np.ndarray, control: np.ndarray, *, name: str = "lift", relative: bool = False, alpha: float = 0.05,
) -> Estimate:
    """Difference (or relative lift, Fieller) of two proportions of 0/1 values.

    The one proportion formula of the package, that of ``analyze_ab``'s proportion metrics: each arm's
    variance of the mean is ``s² / n`` with the sample variance ``s² = n p (1 - p) / (n - 1)`` (not the
    ``p (1 - p) / n`` of the textbook z-test), and the reference is Student t with Welch–Satterthwaite degrees
    of freedom — the Welch test on the 0/1 values. The two differ by the factor ``n / (n - 1)`` in each arm's
    variance, negligible at experiment sizes.

    >>> import numpy as np
    >>> e = proportion_lift(np.r_[np.ones(30), np.zeros(70)], np.r_[np.ones(20), np.zeros(80)])
    >>> round(e.value, 2), round(e.se, 4), e.method
    (0.1, 0.0611, 'proportion (welch)')
    """
    t, c = arm_mean(treatment), arm_mean(control)
    return lift_from_arms(t, c, name=name, relative=relative, alpha=alpha, method=PROPORTION_METHOD,
                          df=welch_df(t, c))


__all__ = ["MIN_UNITS_PER_ARM", "PROPORTION_METHOD", "ArmMean", "arm_mean", "lift_from_arms", "mean_lift",
           "proportion_lift", "reference_quantile", "relative_lift", "small_sample_warning", "welch_df"]
