"""Re-export of the per-arm moments of :mod:`recsys_causal.kernel.arm_moments` and CUPED from moments
(:mod:`recsys_causal.kernel.cuped`), deprecated: import from :mod:`recsys_causal.kernel`; kept for one release."""

import warnings

from recsys_causal.kernel.arm_moments import RATIO_COLUMN, ArmMoments, linearized_ratio, mean_arm, ratio_arm
from recsys_causal.kernel.cuped import cuped_details, cuped_from_moments

__all__ = ["RATIO_COLUMN", "ArmMoments", "cuped_details", "cuped_from_moments", "linearized_ratio", "mean_arm",
           "ratio_arm"]

warnings.warn("recsys_causal.experiments.arm_moments is deprecated and will be removed in the next minor release; import from recsys_causal.kernel",
              DeprecationWarning, stacklevel=2)
