"""Re-export of the per-arm moments of :mod:`recsys_causal.kernel.arm_moments` and CUPED from moments
(:mod:`recsys_causal.kernel.cuped`), kept for existing imports."""

from recsys_causal.kernel.arm_moments import RATIO_COLUMN, ArmMoments, linearized_ratio, mean_arm, ratio_arm
from recsys_causal.kernel.cuped import cuped_details, cuped_from_moments

__all__ = ["RATIO_COLUMN", "ArmMoments", "cuped_details", "cuped_from_moments", "linearized_ratio", "mean_arm",
           "ratio_arm"]
