"""The inference kernel: every analysis ends here, turning sufficient statistics or influence values into
:class:`~recsys_causal.estimate.Estimate` rows.

* :mod:`~.moments` — count, sums and cross-products (optionally per cluster); linear-combination standard errors.
* :mod:`~.influence` — per-unit influence values → standard error → ``Estimate``; :class:`Linearized`.
* :mod:`~.arm_moments` — per-arm centred moments and the mean / ratio arm summaries built from them.
* :mod:`~.contrast` — two-arm contrasts: Welch df, absolute and relative lift (:func:`delta_ratio`, Fieller).
* :mod:`~.cuped` — CUPED from moments (pooled within-arm slope), and per-unit adjusted values.
* :mod:`~.multiplicity` — adjusted p-values (Holm, Benjamini–Hochberg) and their attachment to estimates.
* :mod:`~.guardrail` — the non-inferiority evaluation of a guardrail (:func:`noninferiority`).

>>> import numpy as np
>>> from recsys_causal.kernel import ArmMean, lift_from_arms
>>> lift_from_arms(ArmMean(2.0, 0.01, 100), ArmMean(1.0, 0.01, 100), name="x").value
1.0
"""

from recsys_causal.kernel.arm_moments import ArmMoments, linearized_ratio, mean_arm, ratio_arm
from recsys_causal.kernel.contrast import (
    MIN_UNITS_PER_ARM,
    ArmMean,
    arm_mean,
    delta_ratio,
    fieller_bounds,
    fieller_interval,
    lift_from_arms,
    ratio,
    reference_quantile,
    relative_lift,
    small_sample_warning,
    welch_df,
)
from recsys_causal.kernel.cuped import cuped_adjust, cuped_details, cuped_from_moments, pooled_slope
from recsys_causal.kernel.guardrail import GuardrailResult, noninferiority, verdict_from_pvalues
from recsys_causal.kernel.influence import (
    Linearized,
    covariance,
    group_mean,
    influence_estimate,
    influence_se,
)
from recsys_causal.kernel.moments import Moments
from recsys_causal.kernel.multiplicity import adjust, adjust_by_hypothesis, adjust_pvalues

__all__ = [
    "MIN_UNITS_PER_ARM",
    "ArmMean",
    "ArmMoments",
    "GuardrailResult",
    "Linearized",
    "Moments",
    "adjust",
    "adjust_by_hypothesis",
    "adjust_pvalues",
    "arm_mean",
    "covariance",
    "cuped_adjust",
    "cuped_details",
    "cuped_from_moments",
    "delta_ratio",
    "fieller_bounds",
    "fieller_interval",
    "group_mean",
    "influence_estimate",
    "influence_se",
    "lift_from_arms",
    "linearized_ratio",
    "mean_arm",
    "noninferiority",
    "pooled_slope",
    "ratio",
    "ratio_arm",
    "reference_quantile",
    "relative_lift",
    "small_sample_warning",
    "verdict_from_pvalues",
    "welch_df",
]
