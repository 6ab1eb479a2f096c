"""Re-export of :mod:`recsys_causal.kernel.multiplicity` (Holm across primary comparisons, Benjamini–Hochberg
across secondary ones; deprecated: import from :mod:`recsys_causal.kernel`; kept for one release)."""

import warnings

from recsys_causal.kernel.multiplicity import METHODS, adjust, adjust_by_hypothesis

__all__ = ["METHODS", "adjust", "adjust_by_hypothesis"]

warnings.warn("recsys_causal.experiments.multiplicity is deprecated and will be removed in the next minor release; import from recsys_causal.kernel",
              DeprecationWarning, stacklevel=2)
