"""Re-export of the kernel's contrasts of linearised statistics (deprecated: import from :mod:`recsys_causal.kernel`; kept for one release): influence values
(:mod:`recsys_causal.kernel.influence`), the delta-method ratio and Fieller's interval
(:mod:`recsys_causal.kernel.contrast`) and CUPED-adjusted unit values (:mod:`recsys_causal.kernel.cuped`)."""

import warnings

from recsys_causal.kernel.contrast import fieller_bounds, fieller_interval, ratio
from recsys_causal.kernel.cuped import cuped_adjust
from recsys_causal.kernel.influence import Linearized, covariance, group_mean

__all__ = ["Linearized", "covariance", "cuped_adjust", "fieller_bounds", "fieller_interval", "group_mean", "ratio"]

warnings.warn("recsys_causal.contrast is deprecated and will be removed in the next minor release; import from recsys_causal.kernel",
              DeprecationWarning, stacklevel=2)
